//! Request and response shapes of the Kinesis API.
//!
//! Field names serialize as AWS spells them (`StreamName`, `StreamARN`, `ShardIterator`, ...) so the server
//! face can (de)serialize wire bodies straight into these types. Optional fields are skipped when `None`.
//! Record data is [`Bytes`]: base64 in human-readable formats (JSON), a byte string otherwise (CBOR).
//! Timestamps are [`Timestamp`] (epoch milliseconds): epoch seconds in JSON, epoch milliseconds in CBOR.
//!
//! Required string fields are plain `String`s that default to empty, so a body that omits them still
//! deserializes and the operation itself answers with the AWS `ValidationException`.

use std::collections::BTreeMap;

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

/// The kind of [`ShardFilter`] for ListShards.
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

/// CreateStream request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateStreamInput {
    /// Name of the new stream (1-128 of `[a-zA-Z0-9_.-]`).
    pub stream_name: String,
    /// Number of shards (PROVISIONED mode; 1 or more).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard_count: Option<i32>,
    /// Capacity mode (default PROVISIONED).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_mode_details: Option<StreamModeDetails>,
    /// Tags to attach.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
}

/// CreateStream response (empty).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CreateStreamOutput {}

/// DeleteStream request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeleteStreamInput {
    /// Stream name (or give `stream_arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// Stream ARN (or give `stream_name`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
    /// Delete even if consumers are registered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enforce_consumer_deletion: Option<bool>,
}

/// DeleteStream response (empty).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeleteStreamOutput {}

/// DescribeStream request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeStreamInput {
    /// Stream name (or give `stream_arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// Stream ARN (or give `stream_name`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
    /// Maximum shards returned, 1..=10000 (default 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i32>,
    /// List shards after this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclusive_start_shard_id: Option<String>,
}

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

/// DescribeStream response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeStreamOutput {
    /// The stream.
    pub stream_description: StreamDescription,
}

/// DescribeStreamSummary request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeStreamSummaryInput {
    /// Stream name (or give `stream_arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// Stream ARN (or give `stream_name`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
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
}

/// DescribeStreamSummary response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeStreamSummaryOutput {
    /// The stream.
    pub stream_description_summary: StreamDescriptionSummary,
}

/// ListStreams request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListStreamsInput {
    /// Maximum names returned, 1..=10000 (default 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i32>,
    /// List streams after this name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclusive_start_stream_name: Option<String>,
    /// Token from a previous page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
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

/// ListStreams response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListStreamsOutput {
    /// Names in this page, sorted.
    pub stream_names: Vec<String>,
    /// Whether more streams follow.
    pub has_more_streams: bool,
    /// Token for the next page.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub next_token: Option<String>,
    /// Summaries of the streams in this page.
    #[serde(default)]
    pub stream_summaries: Vec<StreamSummary>,
}

/// AddTagsToStream request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AddTagsToStreamInput {
    /// Stream name (or give `stream_arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// Stream ARN (or give `stream_name`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
    /// Tags to add or overwrite (1..=50).
    pub tags: BTreeMap<String, String>,
}

/// AddTagsToStream response (empty).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AddTagsToStreamOutput {}

/// RemoveTagsFromStream request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RemoveTagsFromStreamInput {
    /// Stream name (or give `stream_arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// Stream ARN (or give `stream_name`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
    /// Keys to remove (1..=50).
    pub tag_keys: Vec<String>,
}

/// RemoveTagsFromStream response (empty).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RemoveTagsFromStreamOutput {}

/// ListTagsForStream request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListTagsForStreamInput {
    /// Stream name (or give `stream_arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// Stream ARN (or give `stream_name`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
    /// List tags after this key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclusive_start_tag_key: Option<String>,
    /// Maximum tags returned, 1..=50 (default 50).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i32>,
}

/// ListTagsForStream response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsForStreamOutput {
    /// Tags in this page, sorted by key.
    pub tags: Vec<Tag>,
    /// Whether more tags follow.
    pub has_more_tags: bool,
}

/// IncreaseStreamRetentionPeriod request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct IncreaseStreamRetentionPeriodInput {
    /// Stream name (or give `stream_arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// Stream ARN (or give `stream_name`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
    /// New retention, 24..=8760 hours, not below the current one.
    pub retention_period_hours: i32,
}

/// IncreaseStreamRetentionPeriod response (empty).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IncreaseStreamRetentionPeriodOutput {}

/// DecreaseStreamRetentionPeriod request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DecreaseStreamRetentionPeriodInput {
    /// Stream name (or give `stream_arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// Stream ARN (or give `stream_name`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
    /// New retention, 24..=8760 hours, not above the current one.
    pub retention_period_hours: i32,
}

/// DecreaseStreamRetentionPeriod response (empty).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DecreaseStreamRetentionPeriodOutput {}

/// UpdateStreamMode request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpdateStreamModeInput {
    /// Stream ARN (required, as in AWS).
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    /// The new capacity mode.
    pub stream_mode_details: StreamModeDetails,
}

/// UpdateStreamMode response (empty).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UpdateStreamModeOutput {}

// ---------------------------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------------------------

/// PutRecord request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PutRecordInput {
    /// Stream name (or give `stream_arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// Stream ARN (or give `stream_name`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
    /// The payload; with the partition key at most 1 MiB.
    #[serde(with = "crate::blob")]
    pub data: Bytes,
    /// 1..=256 characters; its MD5 picks the shard.
    pub partition_key: String,
    /// A decimal 128-bit hash key that overrides the partition key's hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explicit_hash_key: Option<String>,
    /// Ordering hint: the sequence number of the previous record of this producer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence_number_for_ordering: Option<String>,
}

/// PutRecord response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordOutput {
    /// Shard that took the record.
    pub shard_id: String,
    /// Its sequence number.
    pub sequence_number: String,
    /// Encryption applied.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub encryption_type: Option<EncryptionType>,
}

/// One record of a PutRecords request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PutRecordsRequestEntry {
    /// The payload; with the partition key at most 1 MiB.
    #[serde(with = "crate::blob")]
    pub data: Bytes,
    /// A decimal 128-bit hash key that overrides the partition key's hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explicit_hash_key: Option<String>,
    /// 1..=256 characters; its MD5 picks the shard.
    pub partition_key: String,
}

/// PutRecords request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PutRecordsInput {
    /// 1..=500 records, at most 5 MiB in total.
    pub records: Vec<PutRecordsRequestEntry>,
    /// Stream name (or give `stream_arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// Stream ARN (or give `stream_name`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
}

/// The outcome of one PutRecords record: a sequence number and shard, or an error code and message.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PutRecordsResultEntry {
    /// Sequence number on success.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<String>,
    /// Shard on success.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard_id: Option<String>,
    /// `ProvisionedThroughputExceededException` or `InternalFailure` on failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Failure detail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

impl PutRecordsResultEntry {
    /// Whether this record was rejected.
    pub fn is_failure(&self) -> bool {
        self.error_code.is_some()
    }
}

/// PutRecords response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordsOutput {
    /// Number of rejected records.
    pub failed_record_count: i32,
    /// One result per request record, in request order.
    pub records: Vec<PutRecordsResultEntry>,
    /// Encryption applied.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub encryption_type: Option<EncryptionType>,
}

/// GetShardIterator request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct GetShardIteratorInput {
    /// Stream name (or give `stream_arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// Stream ARN (or give `stream_name`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
    /// The shard to read.
    pub shard_id: String,
    /// Where to start.
    pub shard_iterator_type: ShardIteratorType,
    /// For AT_/AFTER_SEQUENCE_NUMBER.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starting_sequence_number: Option<String>,
    /// For AT_TIMESTAMP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
}

/// GetShardIterator response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetShardIteratorOutput {
    /// An opaque token valid for five minutes.
    pub shard_iterator: String,
}

/// GetRecords request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct GetRecordsInput {
    /// Token from GetShardIterator or a previous GetRecords.
    pub shard_iterator: String,
    /// Maximum records, 1..=10000 (default 10000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i32>,
    /// Stream ARN (optional; must match the iterator's stream when given).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
}

/// GetRecords response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetRecordsOutput {
    /// Records in shard order.
    pub records: Vec<Record>,
    /// Where to continue; absent at the end of a closed shard.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub next_shard_iterator: Option<String>,
    /// How far behind the newest record this response is (0 = caught up).
    pub millis_behind_latest: i64,
    /// The shard's children, at the end of a closed shard.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub child_shards: Option<Vec<ChildShard>>,
}

// ---------------------------------------------------------------------------------------------------------
// Shards
// ---------------------------------------------------------------------------------------------------------

/// A ListShards filter.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ShardFilter {
    /// The kind of filter.
    #[serde(rename = "Type")]
    pub filter_type: ShardFilterType,
    /// For AFTER_SHARD_ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard_id: Option<String>,
    /// For AT_TIMESTAMP / FROM_TIMESTAMP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
}

/// ListShards request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListShardsInput {
    /// Stream name (or give `stream_arn`; not allowed with `next_token`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// Stream ARN (or give `stream_name`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
    /// Token from a previous page (expires after 300 s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    /// List shards after this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclusive_start_shard_id: Option<String>,
    /// Maximum shards returned, 1..=10000 (default 1000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_results: Option<i32>,
    /// Distinguishes streams of the same name (must match when given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_creation_timestamp: Option<Timestamp>,
    /// Which shards to list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard_filter: Option<ShardFilter>,
}

/// ListShards response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListShardsOutput {
    /// Shards in this page.
    pub shards: Vec<Shard>,
    /// Token for the next page.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub next_token: Option<String>,
}

/// SplitShard request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SplitShardInput {
    /// Stream name (or give `stream_arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// Stream ARN (or give `stream_name`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
    /// The open shard to split.
    pub shard_to_split: String,
    /// First hash key of the second child (decimal).
    pub new_starting_hash_key: String,
}

/// SplitShard response (empty).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SplitShardOutput {}

/// MergeShards request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct MergeShardsInput {
    /// Stream name (or give `stream_arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// Stream ARN (or give `stream_name`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
    /// First open shard (becomes ParentShardId).
    pub shard_to_merge: String,
    /// Adjacent open shard (becomes AdjacentParentShardId).
    pub adjacent_shard_to_merge: String,
}

/// MergeShards response (empty).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MergeShardsOutput {}

/// UpdateShardCount request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpdateShardCountInput {
    /// Stream name (or give `stream_arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// Stream ARN (or give `stream_name`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
    /// New open-shard count, within [half, double] of the current one.
    pub target_shard_count: i32,
    /// Only UNIFORM_SCALING exists.
    pub scaling_type: ScalingType,
}

/// UpdateShardCount response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateShardCountOutput {
    /// Stream name.
    pub stream_name: String,
    /// Open shards before the update.
    pub current_shard_count: i32,
    /// Open shards after the update.
    pub target_shard_count: i32,
    /// Stream ARN.
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
}

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

/// RegisterStreamConsumer request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RegisterStreamConsumerInput {
    /// Stream ARN (required).
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    /// 1..=128 of `[a-zA-Z0-9_.-]`, unique per stream.
    pub consumer_name: String,
    /// Tags to attach.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
}

/// RegisterStreamConsumer response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RegisterStreamConsumerOutput {
    /// The new consumer (CREATING, or ACTIVE when the consumer delay is zero).
    pub consumer: Consumer,
}

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

/// ListStreamConsumers request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListStreamConsumersInput {
    /// Stream ARN (required).
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    /// Token from a previous page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    /// Maximum consumers returned, 1..=10000 (default 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_results: Option<i32>,
    /// Distinguishes streams of the same name (must match when given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_creation_timestamp: Option<Timestamp>,
}

/// ListStreamConsumers response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListStreamConsumersOutput {
    /// Consumers in this page, by name.
    pub consumers: Vec<Consumer>,
    /// Token for the next page.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub next_token: Option<String>,
}

/// DeregisterStreamConsumer request: a consumer ARN, or a stream ARN and consumer name.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeregisterStreamConsumerInput {
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

/// DeregisterStreamConsumer response (empty).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeregisterStreamConsumerOutput {}

/// Where a SubscribeToShard subscription starts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct StartingPosition {
    /// Same meaning as for GetShardIterator.
    #[serde(rename = "Type")]
    pub position_type: ShardIteratorType,
    /// For AT_/AFTER_SEQUENCE_NUMBER.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<String>,
    /// For AT_TIMESTAMP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
}

/// SubscribeToShard request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SubscribeToShardInput {
    /// The (ACTIVE) consumer subscribing.
    #[serde(rename = "ConsumerARN")]
    pub consumer_arn: String,
    /// The shard to read.
    pub shard_id: String,
    /// Where to start.
    pub starting_position: StartingPosition,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_uses_aws_names_base64_and_epoch_seconds() {
        let r = Record {
            sequence_number: "1".into(),
            approximate_arrival_timestamp: Timestamp::from_millis(1_500),
            data: Bytes::from_static(b"hi"),
            partition_key: "k".into(),
            encryption_type: None,
        };
        let v = serde_json::to_value(&r).expect("serializes");
        assert_eq!(v["Data"], "aGk=");
        assert_eq!(v["ApproximateArrivalTimestamp"], 1.5);
        assert_eq!(v["PartitionKey"], "k");
        assert!(v.get("EncryptionType").is_none());
        let back: Record = serde_json::from_value(v).expect("deserializes");
        assert_eq!(back, r);
    }

    #[test]
    fn fractional_seconds_round_to_the_nearest_millisecond() {
        // 1.001 and 1700000000.123 as JSON clients write them; 1.001 * 1000 is 1000.9999... in binary.
        assert_eq!(Timestamp::from_secs_f64(1.001).as_millis(), 1_001);
        assert_eq!(Timestamp::from_secs_f64(1.015).as_millis(), 1_015);
        assert_eq!(
            Timestamp::from_secs_f64(1_700_000_000.123).as_millis(),
            1_700_000_000_123
        );
        assert_eq!(
            Timestamp::from_secs_f64(1_700_000_000.122_9).as_millis(),
            1_700_000_000_123
        );
        assert_eq!(Timestamp::from_secs_f64(-0.001).as_millis(), -1);
        let parsed: GetShardIteratorInput = serde_json::from_str(
            r#"{"ShardId": "s", "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": 1.001}"#,
        )
        .expect("parses");
        assert_eq!(parsed.timestamp, Some(Timestamp::from_millis(1_001)));
        for millis in 0..5_000 {
            assert_eq!(
                Timestamp::from_secs_f64(millis as f64 / 1000.0).as_millis(),
                millis
            );
        }
    }

    #[test]
    fn cbor_uses_byte_strings_and_millis() {
        let r = Record {
            sequence_number: "1".into(),
            approximate_arrival_timestamp: Timestamp::from_millis(1_500),
            data: Bytes::from_static(b"hi"),
            partition_key: "k".into(),
            encryption_type: None,
        };
        let mut buf = Vec::new();
        ciborium::into_writer(&r, &mut buf).expect("serializes");
        let v: ciborium::Value = ciborium::from_reader(buf.as_slice()).expect("parses");
        let map = v.as_map().expect("a map");
        let get = |k: &str| {
            map.iter()
                .find(|(key, _)| key.as_text() == Some(k))
                .map(|(_, v)| v.clone())
        };
        assert_eq!(get("Data"), Some(ciborium::Value::Bytes(b"hi".to_vec())));
        assert_eq!(
            get("ApproximateArrivalTimestamp"),
            Some(ciborium::Value::Integer(1500.into()))
        );
        let back: Record = ciborium::from_reader(buf.as_slice()).expect("deserializes");
        assert_eq!(back, r);
    }

    #[test]
    fn requests_accept_stream_arn_and_missing_fields() {
        let v: GetShardIteratorInput = serde_json::from_str(
            r#"{"StreamARN":"arn:aws:kinesis:us-east-1:000000000000:stream/s","ShardId":"shardId-000000000000",
                "ShardIteratorType":"AT_TIMESTAMP","Timestamp":12.5}"#,
        )
        .expect("deserializes");
        assert_eq!(
            v.stream_arn.as_deref(),
            Some("arn:aws:kinesis:us-east-1:000000000000:stream/s")
        );
        assert_eq!(v.timestamp, Some(Timestamp::from_millis(12_500)));
        let empty: PutRecordInput = serde_json::from_str("{}").expect("missing fields default");
        assert!(empty.partition_key.is_empty());
    }
}
