//! RestoreDeadLetterQueueRecords: puts received dead-letter records back on the normal side, visible at once
//! with their receive count reset. Results are per entry (`Successful` / `Failed`); see the `queue` module
//! for which receipt handles are accepted.
//!
//! Errors of the whole request: `ValidationException` (ARN, 1..=10 entries), `ResourceNotFoundException`
//! (unknown queue, or one that is not ACTIVE or UPDATING).

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::queue::shapes::{QueueEntriesOutput, ReceiptHandleEntry};
use crate::queue::{self, Outcome, Side};
use crate::state::Inner;

/// A RestoreDeadLetterQueueRecords request entry.
pub type RestoreDeadLetterQueueRecordsRequestEntry = ReceiptHandleEntry;

/// RestoreDeadLetterQueueRecords request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RestoreDeadLetterQueueRecordsInput {
    /// The queue's ARN.
    #[serde(rename = "QueueARN")]
    pub queue_arn: String,
    /// 1..=10 entries.
    pub entries: Vec<RestoreDeadLetterQueueRecordsRequestEntry>,
}

/// RestoreDeadLetterQueueRecords response: the entries that succeeded and those that failed.
pub type RestoreDeadLetterQueueRecordsOutput = QueueEntriesOutput;

impl crate::dispatch::Scoped for RestoreDeadLetterQueueRecordsInput {
    fn stream_hint(&self, _inner: &Inner) -> Option<String> {
        None
    }
}

pub(crate) async fn execute(
    inner: &Inner,
    input: RestoreDeadLetterQueueRecordsInput,
) -> Result<RestoreDeadLetterQueueRecordsOutput, KinesisError> {
    let entries = input
        .entries
        .into_iter()
        .map(|e| (e.receipt_handle, Outcome::Restore))
        .collect();
    queue::entries(inner, &input.queue_arn, Side::Dead, entries)
}
