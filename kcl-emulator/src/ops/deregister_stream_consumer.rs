//! DeregisterStreamConsumer: a consumer by ConsumerARN, or by StreamARN and ConsumerName, goes DELETING
//! and disappears after the consumer delay; its subscriptions end with `ResourceNotFoundException`.
//!
//! Errors: `InvalidArgumentException` (neither form given), `ValidationException`,
//! `ResourceNotFoundException`.

use crate::error::KinesisError;
use crate::state::Inner;
use crate::types::{ConsumerStatus, DeregisterStreamConsumerInput, DeregisterStreamConsumerOutput};

use crate::consumer::{self, find};

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
