//! Partial batch responses (Lambda's `ReportBatchItemFailures`).

use kcl_checkpoint::ExtendedSequenceNumber;

use crate::record::Record;

/// Returned by `process_records` (as its error) to say "every record before this one is done; resume
/// from this one". Read as such only with
/// [`ProcessingPolicyBuilder::report_batch_item_failures`](super::ProcessingPolicyBuilder::report_batch_item_failures)
/// on; otherwise it fails the whole batch like any other error.
///
/// ```
/// # use kcl_core::{BatchItemFailure, ProcessRecordsInput, ProcessorError};
/// fn handle(input: &ProcessRecordsInput) -> Result<(), ProcessorError> {
///     for record in &input.records {
///         if record.data.is_empty() {
///             return Err(BatchItemFailure::at(record).into());
///         }
///     }
///     Ok(())
/// }
/// ```
///
/// A position that is not one of the batch's records fails the whole batch, as in Lambda.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("batch item failure at {position}")]
pub struct BatchItemFailure {
    /// The first record that was not processed.
    pub position: ExtendedSequenceNumber,
    /// Why, if the processor says.
    pub reason: Option<String>,
}

impl BatchItemFailure {
    /// Processing failed at `record` (the records before it are done).
    pub fn at(record: &Record) -> Self {
        BatchItemFailure {
            position: record.extended_sequence_number(),
            reason: None,
        }
    }

    /// Adds the reason (builder style); it reaches the logs and the failure destination.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
}
