//! DescribeChannel: a channel by ARN.
//!
//! Errors: `ValidationException` (ARN), `ResourceNotFoundException`.

use serde::{Deserialize, Serialize};

use crate::channel::{self, ChannelDescription};
use crate::error::KinesisError;
use crate::state::Inner;

/// DescribeChannel request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeChannelInput {
    /// The channel.
    #[serde(rename = "ChannelARN")]
    pub channel_arn: String,
}

/// DescribeChannel response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeChannelOutput {
    /// The channel.
    pub channel_description: ChannelDescription,
}

impl crate::dispatch::Scoped for DescribeChannelInput {
    fn stream_hint(&self, _inner: &Inner) -> Option<String> {
        None
    }
}

pub(crate) async fn execute(
    inner: &Inner,
    input: DescribeChannelInput,
) -> Result<DescribeChannelOutput, KinesisError> {
    let name = channel::name_from_arn(inner, &input.channel_arn)?;
    channel::settle_all(inner);
    let channels = inner.channels.read();
    let c = channels
        .get(&name)
        .ok_or_else(|| channel::not_found(inner, &name))?;
    Ok(DescribeChannelOutput {
        channel_description: c.description.clone(),
    })
}
