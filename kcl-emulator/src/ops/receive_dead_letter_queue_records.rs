//! ReceiveDeadLetterQueueRecords: up to `Limit` visible dead-letter records of the queue, each with a new
//! receipt handle and invisible for the visibility timeout; waits up to `WaitTimeSeconds` for one to become
//! visible. See the `queue` module for the delivery semantics.
//!
//! Errors: `ValidationException` (ARN, `Limit` 1..=10, `WaitTimeSeconds` 1..=20,
//! `VisibilityTimeoutSeconds` 0..=43200), `ResourceNotFoundException` (unknown queue, or one that is
//! not ACTIVE or UPDATING).

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::queue::{self, shapes::QueueRecord, Side};
use crate::state::Inner;

/// ReceiveDeadLetterQueueRecords request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ReceiveDeadLetterQueueRecordsInput {
    /// The queue's ARN.
    #[serde(rename = "QueueARN")]
    pub queue_arn: String,
    /// Most records returned, 1..=10 (default 10).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i32>,
    /// How long to wait for a visible record, 1..=20 seconds (default 9).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_time_seconds: Option<i32>,
    /// Invisibility of the returned records, 0..=43200 seconds (default: the queue's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visibility_timeout_seconds: Option<i32>,
}

/// ReceiveDeadLetterQueueRecords response.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReceiveDeadLetterQueueRecordsOutput {
    /// The records received (empty when none became visible within the wait time).
    pub queue_records: Vec<QueueRecord>,
}

impl crate::dispatch::Scoped for ReceiveDeadLetterQueueRecordsInput {
    fn stream_hint(&self, _inner: &Inner) -> Option<String> {
        None
    }
}

pub(crate) async fn execute(
    inner: &Inner,
    input: ReceiveDeadLetterQueueRecordsInput,
) -> Result<ReceiveDeadLetterQueueRecordsOutput, KinesisError> {
    let queue_records = queue::receive(
        inner,
        &input.queue_arn,
        Side::Dead,
        input.limit,
        input.wait_time_seconds,
        input.visibility_timeout_seconds,
    )
    .await?;
    Ok(ReceiveDeadLetterQueueRecordsOutput { queue_records })
}
