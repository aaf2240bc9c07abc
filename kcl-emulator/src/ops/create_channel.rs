//! CreateChannel: a channel delivering streams to S3 or S3 Tables, as state only (nothing is delivered).
//! It is CREATING for the configured creating delay, then ACTIVE.
//!
//! Errors: `ValidationException` (name, role ARN, 1..=10000 streams, encryption not KMS),
//! `InvalidArgumentException` (neither or both destinations, tag characters or more than 50 tags),
//! `ResourceNotFoundException` (a stream does not exist), `ResourceInUseException` (name taken),
//! `LimitExceededException` (the account's channel limit).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::channel::{
    self, ChannelDescription, ChannelEncryptionConfiguration, ChannelLoggingConfiguration, ChannelState,
    ChannelStatus, ChannelStreamConfiguration, ChannelStreamDescription, S3DestinationConfiguration,
    S3DestinationDescription, S3TablesDestinationConfiguration, S3TablesDestinationDescription,
};
use crate::error::KinesisError;
use crate::lookup;
use crate::state::Inner;
use crate::{tags, validate};

/// Data freshness of a destination that does not set it, in seconds (the emulator's choice).
const DEFAULT_DATA_FRESHNESS_SECS: i32 = 300;

/// CreateChannel request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateChannelInput {
    /// Name of the new channel (1-128 of `[a-zA-Z0-9_.-]`).
    pub channel_name: String,
    /// The IAM role the service would deliver with.
    #[serde(rename = "ServiceExecutionRoleARN")]
    pub service_execution_role_arn: String,
    /// The streams to deliver.
    pub stream_configuration_list: Vec<ChannelStreamConfiguration>,
    /// S3 destination (or give `s3_tables_destination_configuration`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_destination_configuration: Option<S3DestinationConfiguration>,
    /// S3 Tables destination (or give `s3_destination_configuration`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_tables_destination_configuration: Option<S3TablesDestinationConfiguration>,
    /// KMS encryption.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_configuration: Option<ChannelEncryptionConfiguration>,
    /// Tags to attach.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    /// Logging.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging_configuration: Option<ChannelLoggingConfiguration>,
}

/// CreateChannel response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateChannelOutput {
    /// The new channel.
    pub channel_description: ChannelDescription,
}

impl crate::dispatch::Scoped for CreateChannelInput {
    fn stream_hint(&self, _inner: &Inner) -> Option<String> {
        None
    }
}

/// `arn:aws[-a-z0-9]*:iam::\d{12}:role/...`, checked loosely.
fn check_role_arn(arn: &str) -> Result<(), KinesisError> {
    validate::length(arn, "serviceExecutionRoleARN", 1, 512)?;
    let ok = arn.starts_with("arn:aws")
        && arn.contains(":iam::")
        && arn.split(":iam::").nth(1).is_some_and(|rest| {
            rest.len() > 18
                && rest[..12].bytes().all(|b| b.is_ascii_digit())
                && rest[12..].starts_with(":role/")
        });
    if ok {
        Ok(())
    } else {
        Err(validate::error(
            arn,
            "serviceExecutionRoleARN",
            "Member must satisfy regular expression pattern: \
             arn:aws[-a-z0-9]*:iam::\\d{12}:role/[a-zA-Z_0-9+=,.@\\-_/]+",
        ))
    }
}

pub(crate) async fn execute(
    inner: &Inner,
    input: CreateChannelInput,
) -> Result<CreateChannelOutput, KinesisError> {
    validate::name(&input.channel_name, "channelName", 128)?;
    check_role_arn(&input.service_execution_role_arn)?;
    if input.stream_configuration_list.is_empty() || input.stream_configuration_list.len() > 10_000 {
        return Err(validate::error(
            format!("{} streams", input.stream_configuration_list.len()),
            "streamConfigurationList",
            "Member must have length between 1 and 10000",
        ));
    }
    let (s3, s3_tables) = match (
        input.s3_destination_configuration,
        input.s3_tables_destination_configuration,
    ) {
        (Some(s3), None) => (
            Some(S3DestinationDescription {
                data_freshness_in_seconds: s3
                    .data_freshness_in_seconds
                    .unwrap_or(DEFAULT_DATA_FRESHNESS_SECS),
                dead_letter_queue_s3_configuration: s3.dead_letter_queue_s3_configuration,
                storage_configuration: s3.storage_configuration,
            }),
            None,
        ),
        (None, Some(t)) => (
            None,
            Some(S3TablesDestinationDescription {
                data_freshness_in_seconds: t.data_freshness_in_seconds.unwrap_or(DEFAULT_DATA_FRESHNESS_SECS),
                dead_letter_queue_s3_configuration: t.dead_letter_queue_s3_configuration,
                s3_tables_configuration_list: t.s3_tables_configuration_list,
            }),
        ),
        _ => {
            return Err(KinesisError::invalid(
                "Exactly one of S3DestinationConfiguration and S3TablesDestinationConfiguration must be \
                 provided.",
            ))
        }
    };
    if let Some(encryption) = &input.encryption_configuration {
        if encryption.encryption_type != crate::shapes::EncryptionType::Kms {
            return Err(validate::error(
                "NONE",
                "encryptionConfiguration.encryptionType",
                "Member must satisfy enum value set: [KMS]",
            ));
        }
        validate::length(&encryption.key_id, "encryptionConfiguration.keyId", 1, 2048)?;
    }
    let tags = input.tags.unwrap_or_default();
    tags::validate(&tags)?;
    if tags.len() > tags::MAX_TAGS {
        return Err(KinesisError::invalid(format!(
            "Failed to create channel: a channel cannot have more than {} tags.",
            tags::MAX_TAGS
        )));
    }
    let mut streams = Vec::with_capacity(input.stream_configuration_list.len());
    for s in input.stream_configuration_list {
        let stream = lookup::resolve(inner, None, Some(&s.stream_arn))?;
        streams.push(ChannelStreamDescription {
            stream_arn: stream.arn.clone(),
            stream_creation_timestamp: stream.created,
            record_configuration: s.record_configuration,
        });
    }
    channel::settle_all(inner);
    let created = inner.clock.timestamp();
    let mut channels = inner.channels.write();
    if channels.contains_key(&input.channel_name) {
        return Err(KinesisError::in_use(format!(
            "Channel {} under account {} already exists.",
            input.channel_name, inner.config.account_id
        )));
    }
    if channels.len() >= inner.config.channel_limit as usize {
        return Err(KinesisError::limit(format!(
            "Account {} already has the maximum of {} channels.",
            inner.config.account_id, inner.config.channel_limit
        )));
    }
    let mut state = ChannelState {
        description: ChannelDescription {
            channel_arn: channel::channel_arn(inner, &input.channel_name),
            channel_id: channel::channel_id(inner, &input.channel_name, created),
            channel_name: input.channel_name.clone(),
            channel_status: ChannelStatus::Active,
            channel_status_reason: None,
            channel_creation_timestamp: created,
            service_execution_role_arn: input.service_execution_role_arn,
            stream_configuration_list: streams,
            s3_destination_configuration: s3,
            s3_tables_destination_configuration: s3_tables,
            encryption_configuration: input.encryption_configuration,
            logging_configuration: input.logging_configuration.unwrap_or_default(),
        },
        transition_until: None,
        tags,
        policy: None,
    };
    if !inner.config.creating_delay.is_zero() {
        state.begin(ChannelStatus::Creating, inner.config.creating_delay);
    }
    let description = state.description.clone();
    channels.insert(input.channel_name, state);
    Ok(CreateChannelOutput {
        channel_description: description,
    })
}
