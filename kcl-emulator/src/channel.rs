//! Channels: managed delivery of streams to S3 or S3 Tables, emulated as state only (nothing is
//! delivered). The shapes the channel operations share, the channel state (status with timed
//! transitions like streams: CREATING, UPDATING, DELETING), ARNs and lookup.
//!
//! A channel's ARN is `arn:aws:kinesis:REGION:ACCOUNT:channel/NAME`; its id is derived from the name and
//! creation time. Transitions use the emulator's configured delays (creating, updating, deleting) and are
//! applied lazily on access, as for streams.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::error::KinesisError;
use crate::shapes::{EncryptionType, Timestamp};
use crate::state::Inner;
use crate::validate;

// ---------------------------------------------------------------------------------------------------------
// Shapes
// ---------------------------------------------------------------------------------------------------------

/// The lifecycle state of a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChannelStatus {
    /// Being created.
    Creating,
    /// Delivering (in the emulator: ready for updates).
    Active,
    /// Being updated.
    Updating,
    /// Being deleted.
    Deleting,
    /// Failed (never entered by the emulator).
    Failed,
}

/// The format of the records a channel delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum RecordFormatType {
    /// JSON with a Glue Schema Registry schema.
    #[serde(rename = "GSR_JSON")]
    GsrJson,
    /// JSON.
    #[serde(rename = "JSON")]
    Json,
    /// Text.
    #[serde(rename = "STRING")]
    String,
    /// Opaque bytes.
    #[default]
    #[serde(rename = "BYTE_ARRAY")]
    ByteArray,
}

/// How a channel reads the records of one stream.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RecordConfiguration {
    /// Record format.
    pub record_format_type: RecordFormatType,
    /// Schema of GSR_JSON records.
    #[serde(rename = "GSRSchemaARN", skip_serializing_if = "Option::is_none", default)]
    pub gsr_schema_arn: Option<String>,
}

/// A stream a channel delivers (CreateChannel input).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ChannelStreamConfiguration {
    /// The stream.
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    /// How its records are read.
    pub record_configuration: RecordConfiguration,
}

/// A stream a channel delivers, as described.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChannelStreamDescription {
    /// The stream.
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    /// When the stream was created (identifies its incarnation).
    pub stream_creation_timestamp: Timestamp,
    /// How its records are read.
    pub record_configuration: RecordConfiguration,
}

/// A stream of a channel in ListChannels.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChannelStreamIdentifier {
    /// The stream.
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    /// When the stream was created.
    pub stream_creation_timestamp: Timestamp,
}

/// Where records that cannot be delivered go.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeadLetterQueueS3Configuration {
    /// `arn:aws:s3:::bucket`.
    #[serde(rename = "BucketARN")]
    pub bucket_arn: String,
    /// The bucket owner's account id.
    pub expected_bucket_owner: String,
    /// Key prefix of failed records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_output_prefix: Option<String>,
}

/// Where and how an S3 channel stores objects.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct S3StorageConfiguration {
    /// `arn:aws:s3:::bucket`.
    #[serde(rename = "BucketARN")]
    pub bucket_arn: String,
    /// The bucket owner's account id.
    pub expected_bucket_owner: String,
    /// Object key template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_key_template: Option<String>,
    /// `STANDARD`, `INTELLIGENT_TIERING` or `GLACIER_IR`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    /// `NONE`, `GZIP` or `ZSTD`.
    pub compression_type: String,
}

/// S3 destination of CreateChannel.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct S3DestinationConfiguration {
    /// Seconds records may wait before delivery.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_freshness_in_seconds: Option<i32>,
    /// Failed-record destination.
    #[serde(
        rename = "DeadLetterQueueS3Configuration",
        skip_serializing_if = "Option::is_none"
    )]
    pub dead_letter_queue_s3_configuration: Option<DeadLetterQueueS3Configuration>,
    /// Where objects go.
    pub storage_configuration: S3StorageConfiguration,
}

/// S3 destination as described.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct S3DestinationDescription {
    /// Seconds records may wait before delivery.
    pub data_freshness_in_seconds: i32,
    /// Failed-record destination.
    #[serde(
        rename = "DeadLetterQueueS3Configuration",
        skip_serializing_if = "Option::is_none"
    )]
    pub dead_letter_queue_s3_configuration: Option<DeadLetterQueueS3Configuration>,
    /// Where objects go.
    pub storage_configuration: S3StorageConfiguration,
}

/// One partition field of an S3 table.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PartitionField {
    /// `TIME_HOUR`.
    pub transform: String,
    /// The field partitioned by.
    pub source_name: String,
}

/// The partitioning of an S3 table.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PartitionSpec {
    /// 1..=10 fields.
    pub partition_fields: Vec<PartitionField>,
}

/// One table of an S3 Tables channel.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct S3TablesConfiguration {
    /// `arn:aws:s3tables:REGION:ACCOUNT:bucket/NAME`.
    #[serde(rename = "TableBucketARN")]
    pub table_bucket_arn: String,
    /// Namespace of the table.
    pub namespace: String,
    /// Table name.
    pub table_name: String,
    /// `NONE`, `ZSTD` or `SNAPPY`.
    pub compression_type: String,
    /// Partitioning.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition_spec: Option<PartitionSpec>,
}

/// S3 Tables destination of CreateChannel.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct S3TablesDestinationConfiguration {
    /// Seconds records may wait before delivery.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_freshness_in_seconds: Option<i32>,
    /// Failed-record destination.
    #[serde(rename = "DeadLetterQueueS3Configuration")]
    pub dead_letter_queue_s3_configuration: DeadLetterQueueS3Configuration,
    /// The tables.
    pub s3_tables_configuration_list: Vec<S3TablesConfiguration>,
}

/// S3 Tables destination as described.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct S3TablesDestinationDescription {
    /// Seconds records may wait before delivery.
    pub data_freshness_in_seconds: i32,
    /// Failed-record destination.
    #[serde(rename = "DeadLetterQueueS3Configuration")]
    pub dead_letter_queue_s3_configuration: DeadLetterQueueS3Configuration,
    /// The tables.
    pub s3_tables_configuration_list: Vec<S3TablesConfiguration>,
}

/// KMS encryption of a channel.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ChannelEncryptionConfiguration {
    /// KMS (the only value the API allows).
    pub encryption_type: EncryptionType,
    /// The KMS key.
    pub key_id: String,
}

/// CloudWatch Logs of a channel.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CloudWatchLogs {
    /// Whether delivery errors are logged.
    pub enabled: bool,
    /// Log group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_group_name: Option<String>,
    /// Log stream.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_stream_name: Option<String>,
}

/// Logging of a channel.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ChannelLoggingConfiguration {
    /// CloudWatch Logs.
    pub cloud_watch_logs: CloudWatchLogs,
}

/// A channel as CreateChannel, DescribeChannel and UpdateChannel report it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChannelDescription {
    /// Channel name.
    pub channel_name: String,
    /// `arn:aws:kinesis:REGION:ACCOUNT:channel/NAME`.
    #[serde(rename = "ChannelARN")]
    pub channel_arn: String,
    /// Channel id.
    pub channel_id: String,
    /// Lifecycle state.
    pub channel_status: ChannelStatus,
    /// Why it is FAILED.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub channel_status_reason: Option<String>,
    /// When it was created.
    pub channel_creation_timestamp: Timestamp,
    /// The role the service would deliver with.
    #[serde(rename = "ServiceExecutionRoleARN")]
    pub service_execution_role_arn: String,
    /// The streams it delivers.
    pub stream_configuration_list: Vec<ChannelStreamDescription>,
    /// S3 destination.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub s3_destination_configuration: Option<S3DestinationDescription>,
    /// S3 Tables destination.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub s3_tables_destination_configuration: Option<S3TablesDestinationDescription>,
    /// KMS encryption.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub encryption_configuration: Option<ChannelEncryptionConfiguration>,
    /// Logging.
    pub logging_configuration: ChannelLoggingConfiguration,
}

/// The destination kind of a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChannelDestinationType {
    /// S3 objects.
    #[serde(rename = "S3")]
    S3,
    /// S3 Tables.
    #[serde(rename = "S3_TABLES")]
    S3Tables,
}

/// One channel in a ListChannels page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChannelSummary {
    /// Channel name.
    pub channel_name: String,
    /// Channel ARN.
    #[serde(rename = "ChannelARN")]
    pub channel_arn: String,
    /// Channel id.
    pub channel_id: String,
    /// Lifecycle state.
    pub channel_status: ChannelStatus,
    /// Why it is FAILED.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub channel_status_reason: Option<String>,
    /// When it was created.
    pub channel_creation_timestamp: Timestamp,
    /// S3 or S3_TABLES.
    pub channel_destination_type: ChannelDestinationType,
    /// The streams it delivers.
    pub streams: Vec<ChannelStreamIdentifier>,
}

// ---------------------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------------------

/// A channel: its description (kept current), its pending transition, tags and policy.
#[derive(Debug, Clone)]
pub(crate) struct ChannelState {
    pub(crate) description: ChannelDescription,
    /// When the current transitional status ends.
    pub(crate) transition_until: Option<Instant>,
    pub(crate) tags: BTreeMap<String, String>,
    pub(crate) policy: Option<String>,
}

impl ChannelState {
    /// Applies a due transition; `false` once a deletion has completed (the channel is gone).
    fn settle(&mut self, now: Instant) -> bool {
        match self.transition_until {
            Some(until) if now >= until => {
                self.transition_until = None;
                if self.description.channel_status == ChannelStatus::Deleting {
                    return false;
                }
                self.description.channel_status = ChannelStatus::Active;
                true
            }
            _ => true,
        }
    }

    /// Enters `status` for `delay`; the next access after it settles the channel (ACTIVE, or gone after
    /// DELETING).
    pub(crate) fn begin(&mut self, status: ChannelStatus, delay: std::time::Duration) {
        self.description.channel_status = status;
        self.transition_until = Some(crate::state::deadline_after(delay));
    }

    pub(crate) fn summary(&self) -> ChannelSummary {
        let d = &self.description;
        ChannelSummary {
            channel_name: d.channel_name.clone(),
            channel_arn: d.channel_arn.clone(),
            channel_id: d.channel_id.clone(),
            channel_status: d.channel_status,
            channel_status_reason: d.channel_status_reason.clone(),
            channel_creation_timestamp: d.channel_creation_timestamp,
            channel_destination_type: if d.s3_tables_destination_configuration.is_some() {
                ChannelDestinationType::S3Tables
            } else {
                ChannelDestinationType::S3
            },
            streams: d
                .stream_configuration_list
                .iter()
                .map(|s| ChannelStreamIdentifier {
                    stream_arn: s.stream_arn.clone(),
                    stream_creation_timestamp: s.stream_creation_timestamp,
                })
                .collect(),
        }
    }
}

/// Applies due channel transitions, dropping channels that finished deleting.
pub(crate) fn settle_all(inner: &Inner) {
    let now = Instant::now();
    let mut channels = inner.channels.write();
    channels.retain(|_, c| c.settle(now));
}

/// `arn:aws:kinesis:REGION:ACCOUNT:channel/NAME`.
pub(crate) fn channel_arn(inner: &Inner, name: &str) -> String {
    format!(
        "arn:aws:kinesis:{}:{}:channel/{}",
        inner.config.region, inner.config.account_id, name
    )
}

/// A deterministic channel id from its name and creation time.
pub(crate) fn channel_id(inner: &Inner, name: &str, created: Timestamp) -> String {
    use md5::{Digest, Md5};
    let digest = Md5::digest(format!("{}#{}", channel_arn(inner, name), created.as_millis()).as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The channel name in a channel ARN.
///
/// # Errors
/// `ValidationException` when malformed; `ResourceNotFoundException` for another region or account.
pub(crate) fn name_from_arn(inner: &Inner, arn: &str) -> Result<String, KinesisError> {
    validate::length(arn, "channelARN", 1, 2048)?;
    let bad = || {
        validate::error(
            arn,
            "channelARN",
            "Member must satisfy regular expression pattern: arn:aws.*:kinesis:.*:\\d{12}:channel/\\S+",
        )
    };
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [scheme, partition, service, region, account, resource] = parts.as_slice() else {
        return Err(bad());
    };
    if *scheme != "arn" || !partition.starts_with("aws") || *service != "kinesis" {
        return Err(bad());
    }
    let name = resource.strip_prefix("channel/").ok_or_else(bad)?;
    validate::name(name, "channelARN", 128).map_err(|_| bad())?;
    if *region != inner.config.region || *account != inner.config.account_id {
        return Err(not_found(inner, name));
    }
    Ok(name.to_owned())
}

/// `ResourceNotFoundException` for channel `name`.
pub(crate) fn not_found(inner: &Inner, name: &str) -> KinesisError {
    KinesisError::not_found(format!(
        "Channel {name} under account {} not found.",
        inner.config.account_id
    ))
}

/// How many live channels deliver the stream with this ARN.
pub(crate) fn count_for_stream(inner: &Inner, stream_arn: &str) -> usize {
    settle_all(inner);
    inner
        .channels
        .read()
        .values()
        .filter(|c| {
            c.description
                .stream_configuration_list
                .iter()
                .any(|s| s.stream_arn == stream_arn)
        })
        .count()
}
