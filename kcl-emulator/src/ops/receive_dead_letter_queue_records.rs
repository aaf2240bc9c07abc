//! ReceiveDeadLetterQueueRecords: up to `Limit` visible dead-letter records of the queue, each with a new
//! receipt handle and invisible for the visibility timeout; waits up to `WaitTimeSeconds` for one to become
//! visible. See the `queue` module for the delivery semantics.
//!
//! Errors: `ValidationException` (ARN, `Limit` 1..=10, `WaitTimeSeconds` 1..=20,
//! `VisibilityTimeoutSeconds` 0..=43200), `ResourceNotFoundException` (unknown queue, or one that is
//! not ACTIVE or UPDATING).

use crate::error::KinesisError;
use crate::queue::shapes::{ReceiveInput, ReceiveOutput};
use crate::queue::{self, Side};
use crate::state::Inner;

/// ReceiveDeadLetterQueueRecords request.
pub type ReceiveDeadLetterQueueRecordsInput = ReceiveInput;

/// ReceiveDeadLetterQueueRecords response.
pub type ReceiveDeadLetterQueueRecordsOutput = ReceiveOutput;

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
    Ok(ReceiveOutput { queue_records })
}
