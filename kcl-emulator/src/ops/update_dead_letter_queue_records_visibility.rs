//! UpdateDeadLetterQueueRecordsVisibility: changes the visibility timeout of dead-letter records in flight,
//! from now (0: visible at once). Results are per entry (`Successful` / `Failed`); see the `queue` module for
//! which receipt handles are accepted.
//!
//! Errors of the whole request: `ValidationException` (ARN, 1..=10 entries), `ResourceNotFoundException`
//! (unknown queue, or one that is not ACTIVE or UPDATING).

use crate::error::KinesisError;
use crate::queue::shapes::{QueueEntriesOutput, VisibilityEntry, VisibilityInput};
use crate::queue::{self, Side};
use crate::state::Inner;

/// A UpdateDeadLetterQueueRecordsVisibility request entry.
pub type UpdateDeadLetterQueueRecordsVisibilityRequestEntry = VisibilityEntry;

/// UpdateDeadLetterQueueRecordsVisibility request.
pub type UpdateDeadLetterQueueRecordsVisibilityInput = VisibilityInput;

/// UpdateDeadLetterQueueRecordsVisibility response: the entries that succeeded and those that failed.
pub type UpdateDeadLetterQueueRecordsVisibilityOutput = QueueEntriesOutput;

pub(crate) async fn execute(
    inner: &Inner,
    input: UpdateDeadLetterQueueRecordsVisibilityInput,
) -> Result<UpdateDeadLetterQueueRecordsVisibilityOutput, KinesisError> {
    queue::update_visibility(inner, input, Side::Dead)
}
