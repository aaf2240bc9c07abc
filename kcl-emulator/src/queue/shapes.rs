//! The shapes the queue operations share: queue descriptions and attributes, starting positions, the
//! records a queue delivers, and the per-entry results of the batch operations (acknowledge, visibility,
//! restore). Re-exported from [`types`](crate::types); member names serialize as AWS spells them.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::shapes::Timestamp;

/// The lifecycle state of a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum QueueStatus {
    /// Being created; delivers nothing yet.
    Creating,
    /// Delivering records.
    Active,
    /// An UpdateQueue is being applied; records are still delivered.
    Updating,
    /// Being deleted.
    Deleting,
}

/// Where in a stream a queue starts delivering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum QueueStartingPositionType {
    /// Every record the stream still retains.
    TrimHorizon,
    /// Records written after the queue was created (the AWS default).
    #[default]
    Latest,
    /// Records that arrived at or after a timestamp.
    AtTimestamp,
}

/// A queue's starting position in one stream.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueStartingPosition {
    /// The kind of position.
    #[serde(default)]
    pub r#type: QueueStartingPositionType,
    /// With `AT_TIMESTAMP` only (required there). In descriptions, the effective position once the
    /// queue is ACTIVE (the creation time for `LATEST`, the stream's creation time for `TRIM_HORIZON`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub timestamp: Option<Timestamp>,
}

/// One stream a queue delivers from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct QueueStreamConfiguration {
    /// The stream's ARN.
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    /// Where delivery begins (default `LATEST`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starting_position: Option<QueueStartingPosition>,
}

/// Whether a queue sets records aside as dead letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TargetType {
    /// Dead-letter handling on: a record received `MaxReceiveCount` times without acknowledgement
    /// becomes a dead-letter record of the same queue.
    #[default]
    BuiltIn,
    /// Off: unacknowledged records are redelivered until they leave the stream's retention.
    None,
}

/// A queue's dead-letter handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeadLetterConfiguration {
    /// On (`BUILT_IN`) or off (`NONE`).
    #[serde(default)]
    pub target_type: TargetType,
    /// Receives without acknowledgement before a record becomes a dead letter, 1..=1000; required with
    /// `BUILT_IN`, refused with `NONE`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub max_receive_count: Option<i32>,
}

/// A queue's configuration attributes. In requests, members left out keep their value (CreateQueue:
/// 30 s and `BUILT_IN` with 6); in descriptions every member is present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct QueueAttributes {
    /// How long a received record stays invisible, 0..=43200 seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visibility_timeout_seconds: Option<i32>,
    /// Dead-letter handling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_letter_configuration: Option<DeadLetterConfiguration>,
}

/// A queue as CreateQueue, DescribeQueue and UpdateQueue describe it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueDescription {
    /// Queue name.
    pub queue_name: String,
    /// `arn:aws:kinesis:REGION:ACCOUNT:queue/NAME`.
    #[serde(rename = "QueueARN")]
    pub queue_arn: String,
    /// Lifecycle state.
    pub queue_status: QueueStatus,
    /// When the queue was created.
    pub queue_creation_timestamp: Timestamp,
    /// The streams it delivers from, with their starting positions.
    pub stream_configuration_list: Vec<QueueStreamConfiguration>,
    /// Its attributes, every member present.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub queue_attributes: Option<QueueAttributes>,
}

/// A stream a queue delivers from, as ListQueues names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueStreamIdentifier {
    /// The stream's ARN.
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    /// When that stream was created (tells a re-created stream of the same name apart).
    pub stream_creation_timestamp: Timestamp,
}

/// One queue in a ListQueues page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueSummary {
    /// Queue name.
    pub queue_name: String,
    /// Queue ARN.
    #[serde(rename = "QueueARN")]
    pub queue_arn: String,
    /// Lifecycle state.
    pub queue_status: QueueStatus,
    /// When the queue was created.
    pub queue_creation_timestamp: Timestamp,
    /// The streams it delivers from.
    pub streams: Vec<QueueStreamIdentifier>,
}

/// A ListQueues filter: queues on one stream (incarnation, when the creation time is given).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct QueueStreamFilter {
    /// The stream's ARN.
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    /// Only the incarnation of the stream created at this time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_creation_timestamp: Option<Timestamp>,
}

/// A record as a queue delivers it (from either side: normal or dead-letter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueRecord {
    /// Identifies this delivery: acknowledge, change visibility or restore with it. A new one is issued
    /// on each receive; only the newest one of a record is accepted.
    pub receipt_handle: String,
    /// The record's identity, the same on every delivery and in every queue (its sequence number).
    pub record_id: String,
    /// The partition key it was written with.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub partition_key: Option<String>,
    /// The payload.
    #[serde(with = "crate::blob")]
    pub data: Bytes,
    /// When the stream accepted the record.
    pub approximate_arrival_timestamp: Timestamp,
    /// When the queue first delivered it.
    pub first_receive_timestamp: Timestamp,
    /// Receives so far without acknowledgement (on the dead-letter side: dead-letter receives).
    pub receive_count: i32,
}

/// An entry naming one received record by its receipt handle (request and success entries of
/// AcknowledgeQueueRecords, AcknowledgeDeadLetterQueueRecords and RestoreDeadLetterQueueRecords,
/// success entries of the visibility operations).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ReceiptHandleEntry {
    /// The receipt handle from a receive.
    pub receipt_handle: String,
}

/// A request entry of UpdateQueueRecordsVisibility and UpdateDeadLetterQueueRecordsVisibility.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VisibilityEntry {
    /// The receipt handle from a receive.
    pub receipt_handle: String,
    /// The new timeout from now, 0..=43200 seconds (0: visible at once).
    pub visibility_timeout_seconds: i32,
}

/// An entry that failed, and why (`ErrorCode` is `InvalidArgumentException` for a handle that is not
/// (or no longer) valid, `ResourceNotFoundException` for a record no longer in the queue).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FailedEntry {
    /// The receipt handle of the failed entry.
    pub receipt_handle: String,
    /// The AWS error code.
    pub error_code: String,
    /// What went wrong.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error_message: Option<String>,
}

/// The per-entry outcome of a batch queue operation: check `failed` even when the call succeeds.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueEntriesOutput {
    /// Entries that took effect.
    #[serde(default)]
    pub successful: Vec<ReceiptHandleEntry>,
    /// Entries that did not, with the reason.
    #[serde(default)]
    pub failed: Vec<FailedEntry>,
}

/// A receive request (ReceiveQueueRecords and ReceiveDeadLetterQueueRecords have the same members).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ReceiveInput {
    /// The queue's ARN.
    #[serde(rename = "QueueARN")]
    pub queue_arn: String,
    /// Most records returned, 1..=10 (default 10).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i32>,
    /// How long to wait for a visible record, 1..=20 seconds (default 9).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_time_seconds: Option<i32>,
    /// Invisibility of the returned records, 0..=43200 seconds (default: the queue's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visibility_timeout_seconds: Option<i32>,
}

/// A receive response: the records received (empty when none became visible within the wait time).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReceiveOutput {
    /// The records received.
    pub queue_records: Vec<QueueRecord>,
}

/// A visibility request (UpdateQueueRecordsVisibility and UpdateDeadLetterQueueRecordsVisibility have the
/// same members).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VisibilityInput {
    /// The queue's ARN.
    #[serde(rename = "QueueARN")]
    pub queue_arn: String,
    /// 1..=10 entries.
    pub entries: Vec<VisibilityEntry>,
}

impl crate::dispatch::Scoped for ReceiveInput {
    fn stream_hint(&self, _inner: &crate::state::Inner) -> Option<String> {
        None
    }
}

impl crate::dispatch::Scoped for VisibilityInput {
    fn stream_hint(&self, _inner: &crate::state::Inner) -> Option<String> {
        None
    }
}
