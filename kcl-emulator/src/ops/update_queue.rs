//! UpdateQueue: changes the visibility timeout and/or the dead-letter handling of an ACTIVE queue
//! (members left out keep their value). The queue is UPDATING for the configured updating delay and
//! keeps delivering; the new attributes apply to receives from now on (records in flight keep their
//! deadline; a lower `MaxReceiveCount` applies when their visibility runs out).
//!
//! Errors: `ValidationException` (ARN, ranges), `ResourceNotFoundException`, `ResourceInUseException`
//! (not ACTIVE), `InvalidArgumentException` (no attribute given, inconsistent dead-letter
//! configuration).

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::queue;
use crate::queue::shapes::{QueueAttributes, QueueDescription, QueueStatus};
use crate::state::Inner;

/// UpdateQueue request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpdateQueueInput {
    /// The queue's ARN.
    #[serde(rename = "QueueARN")]
    pub queue_arn: String,
    /// The attributes to change.
    pub queue_attributes: QueueAttributes,
}

/// UpdateQueue response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateQueueOutput {
    /// The queue with its new attributes (UPDATING, or ACTIVE when the updating delay is zero).
    pub queue_description: QueueDescription,
}

impl crate::dispatch::Scoped for UpdateQueueInput {
    fn stream_hint(&self, _inner: &Inner) -> Option<String> {
        None
    }
}

pub(crate) async fn execute(
    inner: &Inner,
    input: UpdateQueueInput,
) -> Result<UpdateQueueOutput, KinesisError> {
    let q = queue::resolve(inner, &input.queue_arn)?;
    let attributes = &input.queue_attributes;
    if attributes.visibility_timeout_seconds.is_none() && attributes.dead_letter_configuration.is_none() {
        return Err(KinesisError::invalid(
            "QueueAttributes must specify VisibilityTimeoutSeconds or DeadLetterConfiguration.",
        ));
    }
    let mut data = q.data.lock();
    if data.status != QueueStatus::Active {
        return Err(KinesisError::in_use(format!(
            "Queue {} under account {} not ACTIVE, instead in state {}.",
            q.name,
            inner.config.account_id,
            queue::status_name(data.status)
        )));
    }
    let mut visibility_secs = data.visibility_secs;
    let mut max_receive_count = data.max_receive_count;
    queue::apply_attributes(attributes, &mut visibility_secs, &mut max_receive_count)?;
    data.visibility_secs = visibility_secs;
    data.max_receive_count = max_receive_count;
    data.begin_transition(QueueStatus::Updating, inner.config.updating_delay);
    let queue_description = q.describe(&data);
    Ok(UpdateQueueOutput { queue_description })
}
