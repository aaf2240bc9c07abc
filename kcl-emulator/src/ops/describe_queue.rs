//! DescribeQueue: the queue's status, streams with their (effective) starting positions, and every
//! attribute.
//!
//! Errors: `ValidationException` (ARN), `ResourceNotFoundException`.

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::queue;
use crate::queue::shapes::QueueDescription;
use crate::state::Inner;

/// DescribeQueue request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeQueueInput {
    /// The queue's ARN.
    #[serde(rename = "QueueARN")]
    pub queue_arn: String,
}

/// DescribeQueue response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeQueueOutput {
    /// The queue.
    pub queue_description: QueueDescription,
}

impl crate::dispatch::Scoped for DescribeQueueInput {
    fn stream_hint(&self, _inner: &Inner) -> Option<String> {
        None
    }
}

pub(crate) async fn execute(
    inner: &Inner,
    input: DescribeQueueInput,
) -> Result<DescribeQueueOutput, KinesisError> {
    let q = queue::resolve(inner, &input.queue_arn)?;
    let queue_description = q.describe(&q.data.lock());
    Ok(DescribeQueueOutput { queue_description })
}
