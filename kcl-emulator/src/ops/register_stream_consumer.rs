//! RegisterStreamConsumer: a named enhanced fan-out consumer of a stream (CREATING, then ACTIVE after
//! the configured consumer delay).
//!
//! Errors: `ValidationException` (ARN, name), `ResourceNotFoundException`, `ResourceInUseException`
//! (name taken), `LimitExceededException` (20 consumers per stream by default).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::lookup;
use crate::shapes::{Consumer, ConsumerStatus};
use crate::state::{ConsumerState, Inner};
use crate::validate;

/// RegisterStreamConsumer request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RegisterStreamConsumerInput {
    /// Stream ARN (required).
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    /// 1..=128 of `[a-zA-Z0-9_.-]`, unique per stream.
    pub consumer_name: String,
    /// Tags to attach.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
}

/// RegisterStreamConsumer response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RegisterStreamConsumerOutput {
    /// The new consumer (CREATING, or ACTIVE when the consumer delay is zero).
    pub consumer: Consumer,
}

impl crate::dispatch::Scoped for RegisterStreamConsumerInput {
    fn stream_hint(&self, inner: &Inner) -> Option<String> {
        lookup::hint(inner, None, Some(&self.stream_arn))
    }
}

pub(crate) async fn execute(
    inner: &Inner,
    input: RegisterStreamConsumerInput,
) -> Result<RegisterStreamConsumerOutput, KinesisError> {
    validate::name(&input.consumer_name, "consumerName", 128)?;
    let tags = input.tags.unwrap_or_default();
    crate::tags::validate(&tags)?;
    if tags.len() > crate::tags::MAX_TAGS {
        return Err(KinesisError::invalid(format!(
            "Failed to register consumer: a consumer cannot have more than {} tags.",
            crate::tags::MAX_TAGS
        )));
    }
    let stream = lookup::resolve(inner, None, Some(&input.stream_arn))?;
    lookup::require_usable(inner, &stream)?;
    let created = inner.clock.timestamp();
    // Queues on the stream count against the consumer limit (counted before the stream lock: queue
    // locks come first in the lock order).
    let queues = crate::queue::on_stream(inner, stream.epoch).len();
    let mut meta = stream.meta.write();
    if meta.consumers.contains_key(&input.consumer_name) {
        return Err(KinesisError::in_use(format!(
            "Consumer {} under stream {} already exists for account {}.",
            input.consumer_name, stream.name, inner.config.account_id
        )));
    }
    if meta.consumers.len() + queues >= inner.config.max_consumers_per_stream as usize {
        return Err(KinesisError::limit(format!(
            "Stream {} under account {} already has the maximum of {} registered consumers (queues \
             included).",
            stream.name, inner.config.account_id, inner.config.max_consumers_per_stream
        )));
    }
    let delay = inner.config.consumer_delay;
    let (status, transition_until) = if delay.is_zero() {
        (ConsumerStatus::Active, None)
    } else {
        stream.mark_pending();
        (
            ConsumerStatus::Creating,
            Some(crate::state::deadline_after(delay)),
        )
    };
    let consumer = ConsumerState {
        name: input.consumer_name.clone(),
        arn: format!(
            "{}/consumer/{}:{}",
            stream.arn,
            input.consumer_name,
            created.as_millis().div_euclid(1000)
        ),
        created,
        status,
        transition_until,
        tags,
        policy: None,
    };
    meta.consumers.insert(input.consumer_name, consumer.clone());
    Ok(RegisterStreamConsumerOutput {
        consumer: Consumer {
            consumer_name: consumer.name,
            consumer_arn: consumer.arn,
            consumer_status: consumer.status,
            consumer_creation_timestamp: consumer.created,
        },
    })
}
