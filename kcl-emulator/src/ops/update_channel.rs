//! UpdateChannel: change a channel's data freshness or logging; it is UPDATING for the configured updating
//! delay, then ACTIVE.
//!
//! Errors: `ValidationException` (ARN), `InvalidArgumentException` (nothing to update, or a destination
//! the channel does not have), `ResourceNotFoundException`, `ResourceInUseException` (not ACTIVE).

use serde::{Deserialize, Serialize};

use crate::channel::{self, ChannelDescription, ChannelStatus, CloudWatchLogs};
use crate::error::KinesisError;
use crate::state::Inner;

/// A new data freshness for a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DestinationUpdateInput {
    /// Seconds records may wait before delivery.
    pub data_freshness_in_seconds: i32,
}

/// New logging of a channel.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ChannelLoggingUpdateInput {
    /// CloudWatch Logs.
    pub cloud_watch_logs: CloudWatchLogs,
}

/// UpdateChannel request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpdateChannelInput {
    /// The channel.
    #[serde(rename = "ChannelARN")]
    pub channel_arn: String,
    /// New S3 data freshness.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_destination_configuration: Option<DestinationUpdateInput>,
    /// New S3 Tables data freshness.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_tables_destination_configuration: Option<DestinationUpdateInput>,
    /// New logging.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging_configuration: Option<ChannelLoggingUpdateInput>,
}

/// UpdateChannel response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateChannelOutput {
    /// The channel after the update.
    pub channel_description: ChannelDescription,
}

impl crate::dispatch::Scoped for UpdateChannelInput {
    fn stream_hint(&self, _inner: &Inner) -> Option<String> {
        None
    }
}

pub(crate) async fn execute(
    inner: &Inner,
    input: UpdateChannelInput,
) -> Result<UpdateChannelOutput, KinesisError> {
    let name = channel::name_from_arn(inner, &input.channel_arn)?;
    if input.s3_destination_configuration.is_none()
        && input.s3_tables_destination_configuration.is_none()
        && input.logging_configuration.is_none()
    {
        return Err(KinesisError::invalid("UpdateChannel needs at least one change."));
    }
    channel::settle_all(inner);
    let mut channels = inner.channels.write();
    let c = channels
        .get_mut(&name)
        .ok_or_else(|| channel::not_found(inner, &name))?;
    if c.description.channel_status != ChannelStatus::Active {
        return Err(KinesisError::in_use(format!(
            "Channel {name} under account {} is not ACTIVE.",
            inner.config.account_id
        )));
    }
    let mut updated = c.description.clone();
    if let Some(u) = input.s3_destination_configuration {
        let d = updated
            .s3_destination_configuration
            .as_mut()
            .ok_or_else(|| KinesisError::invalid(format!("Channel {name} has no S3 destination.")))?;
        d.data_freshness_in_seconds = u.data_freshness_in_seconds;
    }
    if let Some(u) = input.s3_tables_destination_configuration {
        let d = updated
            .s3_tables_destination_configuration
            .as_mut()
            .ok_or_else(|| KinesisError::invalid(format!("Channel {name} has no S3 Tables destination.")))?;
        d.data_freshness_in_seconds = u.data_freshness_in_seconds;
    }
    if let Some(l) = input.logging_configuration {
        updated.logging_configuration.cloud_watch_logs = l.cloud_watch_logs;
    }
    c.description = updated;
    if !inner.config.updating_delay.is_zero() {
        c.begin(ChannelStatus::Updating, inner.config.updating_delay);
    }
    Ok(UpdateChannelOutput {
        channel_description: c.description.clone(),
    })
}
