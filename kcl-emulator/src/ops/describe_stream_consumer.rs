//! DescribeStreamConsumer: a consumer by ConsumerARN, or by StreamARN and ConsumerName.
//!
//! Errors: `InvalidArgumentException` (neither form given), `ValidationException`,
//! `ResourceNotFoundException`.

use crate::consumer;
use crate::error::KinesisError;
use crate::state::Inner;
use crate::types::{ConsumerDescription, DescribeStreamConsumerInput, DescribeStreamConsumerOutput};

impl crate::dispatch::Scoped for DescribeStreamConsumerInput {
    fn stream_hint(&self, inner: &Inner) -> Option<String> {
        consumer::stream_hint(inner, self.stream_arn.as_deref(), self.consumer_arn.as_deref())
    }
}

pub(crate) async fn execute(
    inner: &Inner,
    input: DescribeStreamConsumerInput,
) -> Result<DescribeStreamConsumerOutput, KinesisError> {
    let (stream, c) = consumer::find(
        inner,
        input.stream_arn.as_deref(),
        input.consumer_name.as_deref(),
        input.consumer_arn.as_deref(),
    )?;
    Ok(DescribeStreamConsumerOutput {
        consumer_description: ConsumerDescription {
            consumer_name: c.name,
            consumer_arn: c.arn,
            consumer_status: c.status,
            consumer_creation_timestamp: c.created,
            stream_arn: stream.arn.clone(),
        },
    })
}
