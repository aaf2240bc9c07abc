//! The shapes several operations (and the emulator's state) share: enumerations, shards, records, streams,
//! consumers. Each operation's own request and response live in its module under `ops/`; the public
//! [`types`](crate::types) module re-exports both.
//!
//! Field names serialize as AWS spells them (`StreamName`, `StreamARN`, `ShardIterator`, ...) so the server
//! face can (de)serialize wire bodies straight into these types. Optional fields are skipped when `None`.
//! Record data is [`Bytes`]: base64 in human-readable formats (JSON), a byte string otherwise (CBOR).
//! Timestamps are [`Timestamp`] (epoch milliseconds): epoch seconds in JSON, epoch milliseconds in CBOR.
//!
//! Required string fields are plain `String`s that default to empty, so a body that omits them still
//! deserializes and the operation itself answers with the AWS `ValidationException`.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

pub use crate::timestamp::Timestamp;

// ---------------------------------------------------------------------------------------------------------
// Enumerations
// ---------------------------------------------------------------------------------------------------------

/// The lifecycle state of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StreamStatus {
    /// Being created; not usable yet.
    Creating,
    /// Being deleted.
    Deleting,
    /// Ready for reads and writes.
    Active,
    /// Resharding, retention or mode change in progress; reads and writes continue.
    Updating,
}

/// Capacity mode of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StreamMode {
    /// Shards are managed by the caller.
    #[default]
    Provisioned,
    /// Capacity is managed by the service.
    OnDemand,
}

/// Wraps a [`StreamMode`] as AWS does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamModeDetails {
    /// The capacity mode.
    pub stream_mode: StreamMode,
}

/// Where a shard iterator starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ShardIteratorType {
    /// At the given sequence number.
    AtSequenceNumber,
    /// Just after the given sequence number.
    AfterSequenceNumber,
    /// At the oldest record still retained.
    #[default]
    TrimHorizon,
    /// Just after the newest record.
    Latest,
    /// At the first record that arrived at or after the given timestamp.
    AtTimestamp,
}

/// The kind of [`ShardFilter`](crate::types::ShardFilter) for ListShards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ShardFilterType {
    /// Shards after the given shard id.
    AfterShardId,
    /// Shards open at the trim horizon.
    AtTrimHorizon,
    /// All shards from the trim horizon on (the default listing).
    #[default]
    FromTrimHorizon,
    /// Open shards only.
    AtLatest,
    /// Shards open at the given timestamp.
    AtTimestamp,
    /// Shards open at or after the given timestamp.
    FromTimestamp,
}

/// Scaling type of UpdateShardCount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ScalingType {
    /// Even hash-key ranges across the target shard count.
    #[default]
    UniformScaling,
}

/// State of a registered stream consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConsumerStatus {
    /// Being registered.
    Creating,
    /// Being deregistered.
    Deleting,
    /// Ready for SubscribeToShard.
    Active,
}

/// Server-side encryption of a stream or record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EncryptionType {
    /// Not encrypted.
    #[default]
    None,
    /// Encrypted with a KMS key.
    Kms,
}

// ---------------------------------------------------------------------------------------------------------
// Shared shapes
// ---------------------------------------------------------------------------------------------------------

/// An inclusive range of 128-bit hash keys, as decimal strings.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HashKeyRange {
    /// First hash key of the range.
    pub starting_hash_key: String,
    /// Last hash key of the range (inclusive).
    pub ending_hash_key: String,
}

/// The sequence numbers a shard covers; `ending_sequence_number` is set once the shard is closed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SequenceNumberRange {
    /// Lower bound of the shard's sequence numbers.
    pub starting_sequence_number: String,
    /// Upper bound of the shard's sequence numbers (closed shards only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ending_sequence_number: Option<String>,
}

/// A shard as DescribeStream and ListShards report it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Shard {
    /// `shardId-000000000000`.
    pub shard_id: String,
    /// The shard this one was split from, or the first of the two merged into it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub parent_shard_id: Option<String>,
    /// The second parent of a merged shard.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub adjacent_parent_shard_id: Option<String>,
    /// The hash keys routed to this shard.
    pub hash_key_range: HashKeyRange,
    /// The sequence numbers of this shard.
    pub sequence_number_range: SequenceNumberRange,
}

/// A child of a closed shard, returned at the end of its parent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChildShard {
    /// The child's id.
    pub shard_id: String,
    /// The child's parents (one after a split, two after a merge).
    pub parent_shards: Vec<String>,
    /// The child's hash keys.
    pub hash_key_range: HashKeyRange,
}

/// A data record as GetRecords and SubscribeToShard return it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Record {
    /// Unique within the shard and increasing.
    pub sequence_number: String,
    /// When the record was accepted (emulator clock).
    pub approximate_arrival_timestamp: Timestamp,
    /// The payload.
    #[serde(with = "crate::blob")]
    pub data: Bytes,
    /// The partition key it was written with.
    pub partition_key: String,
    /// Encryption of the record.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub encryption_type: Option<EncryptionType>,
}

/// A key/value tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    /// Tag key.
    pub key: String,
    /// Tag value.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub value: Option<String>,
}

/// Shard-level metrics enabled on a stream (always empty in the emulator).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EnhancedMetrics {
    /// Enabled metric names.
    #[serde(default)]
    pub shard_level_metrics: Vec<String>,
}

// ---------------------------------------------------------------------------------------------------------
// Streams
// ---------------------------------------------------------------------------------------------------------

/// A stream as DescribeStream reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamDescription {
    /// Stream name.
    pub stream_name: String,
    /// Stream ARN.
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    /// Lifecycle state.
    pub stream_status: StreamStatus,
    /// Capacity mode.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stream_mode_details: Option<StreamModeDetails>,
    /// A page of the stream's shards.
    pub shards: Vec<Shard>,
    /// Whether more shards follow this page.
    pub has_more_shards: bool,
    /// Retention in hours.
    pub retention_period_hours: i32,
    /// When the stream was created.
    pub stream_creation_timestamp: Timestamp,
    /// Enabled shard-level metrics.
    pub enhanced_monitoring: Vec<EnhancedMetrics>,
    /// Server-side encryption.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub encryption_type: Option<EncryptionType>,
    /// KMS key id, when encrypted.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub key_id: Option<String>,
}

/// A stream without its shards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamDescriptionSummary {
    /// Stream name.
    pub stream_name: String,
    /// Stream ARN.
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    /// Lifecycle state.
    pub stream_status: StreamStatus,
    /// Capacity mode.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stream_mode_details: Option<StreamModeDetails>,
    /// Retention in hours.
    pub retention_period_hours: i32,
    /// When the stream was created.
    pub stream_creation_timestamp: Timestamp,
    /// Enabled shard-level metrics.
    pub enhanced_monitoring: Vec<EnhancedMetrics>,
    /// Server-side encryption.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub encryption_type: Option<EncryptionType>,
    /// KMS key id, when encrypted.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub key_id: Option<String>,
    /// Number of open shards.
    pub open_shard_count: i32,
    /// Number of registered consumers.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub consumer_count: Option<i32>,
    /// The stream's id (`[a-z0-9]{20}-[a-z0-9]{3}`, derived from its ARN and incarnation).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stream_id: Option<String>,
    /// Warm throughput (ON_DEMAND streams).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub warm_throughput: Option<WarmThroughputObject>,
    /// Largest record in KiB (1024..=10240).
    #[serde(
        rename = "MaxRecordSizeInKiB",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub max_record_size_in_kib: Option<i32>,
    /// Channels delivering this stream.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub channel_count: Option<i32>,
    /// Queues reading this stream.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub queue_count: Option<i32>,
    /// How records are spread over shards.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub record_distribution_strategy: Option<RecordDistributionStrategy>,
}

/// One stream in a ListStreams page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamSummary {
    /// Stream name.
    pub stream_name: String,
    /// Stream ARN.
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    /// Lifecycle state.
    pub stream_status: StreamStatus,
    /// Capacity mode.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stream_mode_details: Option<StreamModeDetails>,
    /// When the stream was created.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stream_creation_timestamp: Option<Timestamp>,
}

// ---------------------------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------------------
// Shards
// ---------------------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------------------
// Consumers (enhanced fan-out)
// ---------------------------------------------------------------------------------------------------------

/// A registered consumer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Consumer {
    /// Consumer name.
    pub consumer_name: String,
    /// `arn:aws:kinesis:REGION:ACCOUNT:stream/STREAM/consumer/NAME:EPOCHSECONDS`.
    #[serde(rename = "ConsumerARN")]
    pub consumer_arn: String,
    /// State.
    pub consumer_status: ConsumerStatus,
    /// Registration time.
    pub consumer_creation_timestamp: Timestamp,
}

/// A registered consumer with its stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConsumerDescription {
    /// Consumer name.
    pub consumer_name: String,
    /// Consumer ARN.
    #[serde(rename = "ConsumerARN")]
    pub consumer_arn: String,
    /// State.
    pub consumer_status: ConsumerStatus,
    /// Registration time.
    pub consumer_creation_timestamp: Timestamp,
    /// The stream it reads.
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
}

/// One event of a SubscribeToShard stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubscribeToShardEvent {
    /// Records since the previous event (possibly none: a heartbeat).
    pub records: Vec<Record>,
    /// Resume point for a new subscription; absent at the end of a closed shard.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub continuation_sequence_number: Option<String>,
    /// How far behind the newest record this event is (0 = caught up).
    pub millis_behind_latest: i64,
    /// The shard's children, at the end of a closed shard.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub child_shards: Option<Vec<ChildShard>>,
}

// ---------------------------------------------------------------------------------------------------------
// Stream and account settings (encryption, monitoring, record size, warm throughput, distribution)
// ---------------------------------------------------------------------------------------------------------

/// How a stream spreads records over its shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RecordDistributionStrategy {
    /// By the MD5 of the partition key (or the explicit hash key), the classic routing.
    #[default]
    UserPartitionKey,
    /// Evenly over the open shards, ignoring partition keys.
    Auto,
}

/// Warm throughput of an ON_DEMAND stream, in MiB/s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WarmThroughputObject {
    /// The throughput asked for.
    #[serde(rename = "TargetMiBps", skip_serializing_if = "Option::is_none", default)]
    pub target_mibps: Option<i32>,
    /// The throughput in place now.
    #[serde(rename = "CurrentMiBps", skip_serializing_if = "Option::is_none", default)]
    pub current_mibps: Option<i32>,
}

/// The status UpdateAccountSettings asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MinimumThroughputBillingCommitmentInputStatus {
    /// Start a commitment.
    #[default]
    Enabled,
    /// End the commitment (at its earliest allowed end at the soonest).
    Disabled,
}

/// The minimum throughput billing commitment UpdateAccountSettings asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MinimumThroughputBillingCommitmentInput {
    /// Enabled or disabled.
    pub status: MinimumThroughputBillingCommitmentInputStatus,
}

/// The state of the account's minimum throughput billing commitment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MinimumThroughputBillingCommitmentStatus {
    /// In force.
    Enabled,
    /// Not in force.
    #[default]
    Disabled,
    /// Disabled, but in force until its earliest allowed end.
    EnabledUntilEarliestAllowedEnd,
}

/// The account's minimum throughput billing commitment, as DescribeAccountSettings reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MinimumThroughputBillingCommitmentOutput {
    /// Its status.
    pub status: MinimumThroughputBillingCommitmentStatus,
    /// When it was enabled.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub started_at: Option<Timestamp>,
    /// When it ends or ended.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ended_at: Option<Timestamp>,
    /// The earliest time it may end.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub earliest_allowed_end_at: Option<Timestamp>,
}

/// EnableEnhancedMonitoring and DisableEnhancedMonitoring response.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EnhancedMonitoringOutput {
    /// Stream name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// The metrics enabled before the call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_shard_level_metrics: Option<Vec<String>>,
    /// The metrics enabled after it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desired_shard_level_metrics: Option<Vec<String>>,
    /// Stream ARN.
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
}
