//! DescribeStreamConsumer: a consumer by ConsumerARN, or by StreamARN and ConsumerName.
//!
//! Errors: `InvalidArgumentException` (neither form given), `ValidationException`,
//! `ResourceNotFoundException`.

use serde::{Deserialize, Serialize};

use crate::consumer;
use crate::error::KinesisError;
use crate::shapes::ConsumerDescription;
use crate::state::Inner;

/// DescribeStreamConsumer request: a consumer ARN, or a stream ARN and consumer name.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeStreamConsumerInput {
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

/// DescribeStreamConsumer response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeStreamConsumerOutput {
    /// The consumer.
    pub consumer_description: ConsumerDescription,
}

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
