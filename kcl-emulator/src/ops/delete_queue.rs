//! DeleteQueue: the queue goes DELETING (receives fail from then on) and disappears after the
//! configured deleting delay, with its delivery state; its receipt handles never work again.
//!
//! Errors: `ValidationException` (ARN), `ResourceNotFoundException` (unknown or already DELETING).

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::queue;
use crate::queue::shapes::QueueStatus;
use crate::state::Inner;

/// DeleteQueue request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeleteQueueInput {
    /// The queue's ARN.
    #[serde(rename = "QueueARN")]
    pub queue_arn: String,
}

/// DeleteQueue response (empty).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeleteQueueOutput {}

impl crate::dispatch::Scoped for DeleteQueueInput {
    fn stream_hint(&self, _inner: &Inner) -> Option<String> {
        None
    }
}

pub(crate) async fn execute(
    inner: &Inner,
    input: DeleteQueueInput,
) -> Result<DeleteQueueOutput, KinesisError> {
    let q = queue::resolve(inner, &input.queue_arn)?;
    {
        let mut data = q.data.lock();
        if data.status == QueueStatus::Deleting {
            return Err(KinesisError::not_found(format!(
                "Queue {} under account {} not found.",
                q.name, inner.config.account_id
            )));
        }
        data.begin_transition(QueueStatus::Deleting, inner.config.deleting_delay);
    }
    // Settles (and removes) the queue at once when the delay is zero; waiting receives notice.
    let _ = queue::by_name(inner, &q.name);
    inner.queues.wake();
    Ok(DeleteQueueOutput {})
}
