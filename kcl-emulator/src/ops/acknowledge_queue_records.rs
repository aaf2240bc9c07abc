//! AcknowledgeQueueRecords: removes received records from the queue for good. Results are per entry
//! (`Successful` / `Failed`); see the `queue` module for which receipt handles are accepted.
//!
//! Errors of the whole request: `ValidationException` (ARN, 1..=10 entries), `ResourceNotFoundException`
//! (unknown queue, or one that is not ACTIVE or UPDATING).

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::queue::shapes::{QueueEntriesOutput, ReceiptHandleEntry};
use crate::queue::{self, Outcome, Side};
use crate::state::Inner;

/// A AcknowledgeQueueRecords request entry.
pub type AcknowledgeQueueRecordsRequestEntry = ReceiptHandleEntry;

/// AcknowledgeQueueRecords request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AcknowledgeQueueRecordsInput {
    /// The queue's ARN.
    #[serde(rename = "QueueARN")]
    pub queue_arn: String,
    /// 1..=10 entries.
    pub entries: Vec<AcknowledgeQueueRecordsRequestEntry>,
}

/// AcknowledgeQueueRecords response: the entries that succeeded and those that failed.
pub type AcknowledgeQueueRecordsOutput = QueueEntriesOutput;

impl crate::dispatch::Scoped for AcknowledgeQueueRecordsInput {
    fn stream_hint(&self, _inner: &Inner) -> Option<String> {
        None
    }
}

pub(crate) async fn execute(
    inner: &Inner,
    input: AcknowledgeQueueRecordsInput,
) -> Result<AcknowledgeQueueRecordsOutput, KinesisError> {
    let entries = input
        .entries
        .into_iter()
        .map(|e| (e.receipt_handle, Outcome::Acknowledge))
        .collect();
    queue::entries(inner, &input.queue_arn, Side::Main, entries)
}
