//! DeregisterStreamConsumer: a consumer by ConsumerARN, or by StreamARN and ConsumerName, goes DELETING
//! and disappears after the consumer delay; its subscriptions end with `ResourceNotFoundException`.
//!
//! Errors: `InvalidArgumentException` (neither form given), `ValidationException`,
//! `ResourceNotFoundException`.

use serde::{Deserialize, Serialize};

use crate::consumer::{self, find};
use crate::error::KinesisError;
use crate::shapes::ConsumerStatus;
use crate::state::Inner;

/// DeregisterStreamConsumer request: a consumer ARN, or a stream ARN and consumer name.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeregisterStreamConsumerInput {
    /// Stream ARN (with `consumer_name`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
    /// Consumer name (with `stream_arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumer_name: Option<String>,
    /// Consumer ARN.
    #[serde(rename = "ConsumerARN", skip_serializing_if = "Option::is_none")]
    pub consumer_arn: Option<String>,
}

/// DeregisterStreamConsumer response (empty).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeregisterStreamConsumerOutput {}

impl crate::dispatch::Scoped for DeregisterStreamConsumerInput {
    fn stream_hint(&self, inner: &Inner) -> Option<String> {
        consumer::stream_hint(inner, self.stream_arn.as_deref(), self.consumer_arn.as_deref())
    }
}

pub(crate) async fn execute(
    inner: &Inner,
    input: DeregisterStreamConsumerInput,
) -> Result<DeregisterStreamConsumerOutput, KinesisError> {
    let (stream, consumer) = find(
        inner,
        input.stream_arn.as_deref(),
        input.consumer_name.as_deref(),
        input.consumer_arn.as_deref(),
    )?;
    {
        let mut meta = stream.meta.write();
        let delay = inner.config.consumer_delay;
        if delay.is_zero() {
            meta.consumers.remove(&consumer.name);
        } else if let Some(c) = meta.consumers.get_mut(&consumer.name) {
            c.status = ConsumerStatus::Deleting;
            c.transition_until = Some(crate::state::deadline_after(delay));
            stream.mark_pending();
        }
    }
    crate::subscription::wake_consumer(inner, &consumer.arn);
    Ok(DeregisterStreamConsumerOutput {})
}
