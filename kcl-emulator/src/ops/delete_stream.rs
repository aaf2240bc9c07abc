//! DeleteStream: the stream goes DELETING, then disappears after the configured delay.
//!
//! Queues on the stream count as consumers: without `EnforceConsumerDeletion` they make the call fail,
//! with it they are deleted too.
//!
//! Errors: `ResourceNotFoundException`, `ResourceInUseException` (consumers or queues registered and
//! `EnforceConsumerDeletion` not set).

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::lookup;
use crate::shapes::StreamStatus;
use crate::state::Inner;

/// DeleteStream request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeleteStreamInput {
    /// Stream name (or give `stream_arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// Stream ARN (or give `stream_name`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
    /// Delete even if consumers are registered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enforce_consumer_deletion: Option<bool>,
}

/// DeleteStream response (empty).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeleteStreamOutput {}

crate::dispatch::named_stream!(DeleteStreamInput);

pub(crate) async fn execute(
    inner: &Inner,
    input: DeleteStreamInput,
) -> Result<DeleteStreamOutput, KinesisError> {
    let stream = lookup::resolve(inner, input.stream_name.as_deref(), input.stream_arn.as_deref())?;
    let enforce = input.enforce_consumer_deletion == Some(true);
    let has_queues = !crate::queue::on_stream(inner, stream.epoch).is_empty();
    {
        let mut meta = stream.meta.write();
        if meta.status == StreamStatus::Deleting {
            return Err(inner.stream_not_found(&stream.name));
        }
        if (has_queues || !meta.consumers.is_empty()) && !enforce {
            return Err(KinesisError::in_use(format!(
                "Stream {} under account {} has registered consumers or queues. Set \
                 EnforceConsumerDeletion to delete it with them.",
                stream.name, inner.config.account_id
            )));
        }
        meta.consumers.clear();
        stream.begin_transition(&mut meta, StreamStatus::Deleting, inner.config.deleting_delay);
    }
    if has_queues {
        crate::queue::remove_for_stream(inner, stream.epoch);
    }
    // Wake subscriptions so they notice the deletion.
    crate::subscription::wake_stream(inner, &stream);
    // Settles (and removes) the stream at once when the delay is zero.
    let _ = inner.stream(&stream.name);
    Ok(DeleteStreamOutput {})
}
