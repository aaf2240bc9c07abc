//! DeleteChannel: the channel is DELETING for the configured deleting delay, then gone.
//!
//! Errors: `ValidationException` (ARN), `ResourceNotFoundException` (no such channel, or already
//! DELETING), `ResourceInUseException` (CREATING or UPDATING).

use serde::{Deserialize, Serialize};

use crate::channel::{self, ChannelStatus};
use crate::error::KinesisError;
use crate::state::Inner;

/// DeleteChannel request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeleteChannelInput {
    /// The channel.
    #[serde(rename = "ChannelARN")]
    pub channel_arn: String,
}

/// DeleteChannel response (empty).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeleteChannelOutput {}

impl crate::dispatch::Scoped for DeleteChannelInput {
    fn stream_hint(&self, _inner: &Inner) -> Option<String> {
        None
    }
}

pub(crate) async fn execute(
    inner: &Inner,
    input: DeleteChannelInput,
) -> Result<DeleteChannelOutput, KinesisError> {
    let name = channel::name_from_arn(inner, &input.channel_arn)?;
    channel::settle_all(inner);
    let mut channels = inner.channels.write();
    let c = channels
        .get_mut(&name)
        .ok_or_else(|| channel::not_found(inner, &name))?;
    match c.description.channel_status {
        ChannelStatus::Deleting => return Err(channel::not_found(inner, &name)),
        ChannelStatus::Creating | ChannelStatus::Updating => {
            return Err(KinesisError::in_use(format!(
                "Channel {name} under account {} is not ACTIVE.",
                inner.config.account_id
            )))
        }
        ChannelStatus::Active | ChannelStatus::Failed => {}
    }
    if inner.config.deleting_delay.is_zero() {
        channels.remove(&name);
    } else {
        c.begin(ChannelStatus::Deleting, inner.config.deleting_delay);
    }
    Ok(DeleteChannelOutput {})
}
