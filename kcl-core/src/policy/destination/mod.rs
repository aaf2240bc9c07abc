//! On-failure destinations: where a batch goes when the worker gives up on it, as Lambda's
//! `DestinationConfig.OnFailure` does for a Kinesis event source mapping.
//!
//! A batch is given up on when its retries are exhausted ([`FailureCondition::RetryAttemptsExhausted`],
//! after [`ProcessingPolicy::maximum_retry_attempts`](super::ProcessingPolicy::maximum_retry_attempts)) or
//! when its records are older than [`ProcessingPolicy::maximum_record_age`](super::ProcessingPolicy::maximum_record_age)
//! ([`FailureCondition::RecordAgeExceeded`]). The worker then hands a [`FailedBatch`] (Lambda's metadata:
//! shard, first and last sequence numbers, arrival times, size, condition, and the processor's error) to the
//! worker's [`FailureDestination`], and moves on only once the destination accepted it: a destination that
//! fails blocks the shard and is retried with backoff, so nothing is skipped without a record of it.
//!
//! Built in: [`JsonLinesDestination`] (one JSON object per line, appended to a file) and, with feature
//! `kinesis`, [`KinesisStreamDestination`] (one record per failed batch, put through the caller's client).
//! The JSON is [`FailedBatch::to_json`]: Lambda's on-failure invocation record for Kinesis.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use base64::Engine as _;
use md5::{Digest, Md5};
use serde_json::{json, Map, Value};

use crate::error::BoxError;
use crate::record::Record;

mod json_lines;
#[cfg(feature = "kinesis")]
mod kinesis;

pub use json_lines::JsonLinesDestination;
#[cfg(feature = "kinesis")]
pub use kinesis::KinesisStreamDestination;

/// Why a batch was given up on (Lambda's `requestContext.condition`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureCondition {
    /// The processor kept failing: `maximum_retry_attempts` retries were spent.
    RetryAttemptsExhausted,
    /// The records were older than `maximum_record_age` before they could be processed.
    RecordAgeExceeded,
}

impl FailureCondition {
    /// The name Lambda uses: `RetryAttemptsExhausted` or `RecordAgeExceeded`.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureCondition::RetryAttemptsExhausted => "RetryAttemptsExhausted",
            FailureCondition::RecordAgeExceeded => "RecordAgeExceeded",
        }
    }
}

impl std::fmt::Display for FailureCondition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A batch the worker gave up on, with the metadata Lambda sends to an on-failure destination.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct FailedBatch {
    /// Why it was given up on.
    pub condition: FailureCondition,
    /// The stream the shard belongs to, when the source knows it.
    pub stream: Option<String>,
    /// The shard the records came from.
    pub shard_id: String,
    /// The first record's sequence number.
    pub start_sequence_number: String,
    /// The last record's sequence number.
    pub end_sequence_number: String,
    /// The first record's approximate arrival time.
    pub approximate_arrival_of_first_record: Option<SystemTime>,
    /// The last record's approximate arrival time.
    pub approximate_arrival_of_last_record: Option<SystemTime>,
    /// How many records the batch held.
    pub batch_size: usize,
    /// How many times the processor was called with these records (Lambda's `approximateInvokeCount`);
    /// 0 when the records were too old to be tried at all.
    pub invoke_count: u32,
    /// The processor's last error, as text (Lambda's `responseContext.functionError`), if it failed.
    pub error: Option<String>,
    /// The worker that gave up on the batch.
    pub worker_id: String,
    /// When the worker gave up on it.
    pub timestamp: SystemTime,
    /// The records themselves, when
    /// [`ProcessingPolicy::destination_includes_records`](super::ProcessingPolicy::destination_includes_records)
    /// is on (Lambda sends metadata only).
    pub records: Option<Vec<Record>>,
}

impl FailedBatch {
    /// A failed batch made of `records` (non-empty, in shard order): the first and last sequence numbers,
    /// arrival times and the size are read from them, and the records are kept when `include_records` is
    /// set ([`ProcessingPolicy::destination_includes_records`](super::ProcessingPolicy::destination_includes_records)).
    ///
    /// `stream` is the stream's name or ARN, as the source knows it; `invoke_count` how many times the
    /// processor was called with these records (0 when they were too old to be tried); `error` the
    /// processor's last error as text; `timestamp` when the worker gave up on the batch (the worker's wall
    /// clock: nothing here reads the system time).
    ///
    /// Public so that a [`FailureDestination`] written outside this crate can be tested with batches like the
    /// worker's own (the struct is `#[non_exhaustive]`).
    ///
    /// Returns `None` when `records` is empty: a batch has at least one record.
    #[allow(clippy::too_many_arguments)] // one argument per piece of Lambda's metadata, as the struct has
    pub fn new(
        condition: FailureCondition,
        stream: Option<String>,
        shard_id: impl Into<String>,
        records: &[Record],
        invoke_count: u32,
        error: Option<String>,
        worker_id: impl Into<String>,
        timestamp: SystemTime,
        include_records: bool,
    ) -> Option<FailedBatch> {
        let (first, last) = (records.first()?, records.last()?);
        Some(FailedBatch {
            condition,
            stream,
            shard_id: shard_id.into(),
            start_sequence_number: first.sequence_number.to_string(),
            end_sequence_number: last.sequence_number.to_string(),
            approximate_arrival_of_first_record: first.approximate_arrival_timestamp,
            approximate_arrival_of_last_record: last.approximate_arrival_timestamp,
            batch_size: records.len(),
            invoke_count,
            error,
            worker_id: worker_id.into(),
            timestamp,
            records: include_records.then(|| records.to_vec()),
        })
    }

    /// A deterministic id for this batch (Lambda's `requestContext.requestId`): a name-based UUID (version 3,
    /// MD5) of the stream, the shard and the first sequence number. The same batch sent again (a
    /// destination retried after an error) carries the same id, so a reader can drop the duplicate.
    ///
    /// The name is the stream (empty when unknown), a NUL byte, the shard id, a NUL byte and the first
    /// sequence number; the namespace is `5c645d88-1ae2-40eb-bb5f-0e3a65dca6ed`.
    pub fn request_id(&self) -> String {
        // The namespace these ids are made in (a random UUID fixed once for kcl-rs failed batches).
        const NAMESPACE: [u8; 16] = [
            0x5c, 0x64, 0x5d, 0x88, 0x1a, 0xe2, 0x40, 0xeb, 0xbb, 0x5f, 0x0e, 0x3a, 0x65, 0xdc, 0xa6, 0xed,
        ];
        let digest = Md5::new()
            .chain_update(NAMESPACE)
            .chain_update(self.stream.as_deref().unwrap_or_default())
            .chain_update([0])
            .chain_update(&self.shard_id)
            .chain_update([0])
            .chain_update(&self.start_sequence_number)
            .finalize();
        let mut b: [u8; 16] = digest.into();
        b[6] = (b[6] & 0x0f) | 0x30; // version 3
        b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
        let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }

    /// Lambda's on-failure invocation record for a Kinesis event source, as JSON:
    ///
    /// ```json
    /// {
    ///   "requestContext": {
    ///     "requestId": "81b8b52d-5093-3604-aa34-29082c5d6723",
    ///     "workerId": "worker-1",
    ///     "condition": "RetryAttemptsExhausted",
    ///     "approximateInvokeCount": 3
    ///   },
    ///   "responseContext": { "functionError": "the processor's last error" },
    ///   "version": "1.0",
    ///   "timestamp": "2019-11-14T00:38:06.021Z",
    ///   "KinesisBatchInfo": {
    ///     "shardId": "shardId-000000000001",
    ///     "startSequenceNumber": "49601189658422359378836298521827638475320189012309704722",
    ///     "endSequenceNumber": "49601189658422359378836298522902373528957594348623495186",
    ///     "approximateArrivalOfFirstRecord": "2019-11-14T00:38:04.835Z",
    ///     "approximateArrivalOfLastRecord": "2019-11-14T00:38:05.580Z",
    ///     "batchSize": 500,
    ///     "streamArn": "arn:aws:kinesis:us-east-2:123456789012:stream/mystream"
    ///   }
    /// }
    /// ```
    ///
    /// Where it differs from Lambda's:
    ///
    /// - `requestContext.workerId` (the worker that gave up on the batch) stands where Lambda puts the
    ///   `functionArn`; `requestId` is [`request_id`](Self::request_id), deterministic.
    /// - `responseContext` holds only `functionError`, the processor's error text (Lambda puts the error
    ///   type there, and the status code and version); it is `{}` when there was no error.
    /// - `KinesisBatchInfo.streamArn` is there when the stream is known by its ARN (it starts with `arn:`);
    ///   a stream known by name gives `KinesisBatchInfo.stream` instead; neither when the stream is
    ///   unknown. An unknown arrival time is `null`.
    /// - With [`records`](Self::records) (off by default, as Lambda sends metadata only), a top-level
    ///   `records` array: each record as Lambda's event shows it (`partitionKey`, `sequenceNumber`,
    ///   `data` in base64, `approximateArrivalTimestamp` in epoch seconds with milliseconds, or `null`),
    ///   plus its `subSequenceNumber` and, when it has one, its `explicitHashKey`.
    ///
    /// Times are RFC 3339 in UTC with milliseconds, as Lambda writes them; a time before 1970 or after 9999
    /// is shown as the nearest one inside that range.
    pub fn to_json(&self) -> Value {
        let response_context = match &self.error {
            Some(error) => json!({ "functionError": error }),
            None => json!({}),
        };
        let mut batch_info = Map::new();
        batch_info.insert("shardId".into(), json!(self.shard_id));
        batch_info.insert("startSequenceNumber".into(), json!(self.start_sequence_number));
        batch_info.insert("endSequenceNumber".into(), json!(self.end_sequence_number));
        batch_info.insert(
            "approximateArrivalOfFirstRecord".into(),
            json!(self.approximate_arrival_of_first_record.map(rfc3339_millis)),
        );
        batch_info.insert(
            "approximateArrivalOfLastRecord".into(),
            json!(self.approximate_arrival_of_last_record.map(rfc3339_millis)),
        );
        batch_info.insert("batchSize".into(), json!(self.batch_size));
        match &self.stream {
            Some(arn) if arn.starts_with("arn:") => {
                batch_info.insert("streamArn".into(), json!(arn));
            }
            Some(name) => {
                batch_info.insert("stream".into(), json!(name));
            }
            None => {}
        }
        let mut doc = json!({
            "requestContext": {
                "requestId": self.request_id(),
                "workerId": self.worker_id,
                "condition": self.condition.as_str(),
                "approximateInvokeCount": self.invoke_count,
            },
            "responseContext": response_context,
            "version": "1.0",
            "timestamp": rfc3339_millis(self.timestamp),
            "KinesisBatchInfo": batch_info,
        });
        if let Some(records) = &self.records {
            doc["records"] = records.iter().map(record_json).collect();
        }
        doc
    }
}

/// One record as Lambda's Kinesis event shows it (its `kinesis` object), plus the sub-sequence number and
/// the explicit hash key.
fn record_json(record: &Record) -> Value {
    let mut r = json!({
        "partitionKey": record.partition_key,
        "sequenceNumber": record.sequence_number.to_string(),
        "subSequenceNumber": record.sub_sequence_number,
        "approximateArrivalTimestamp": record.approximate_arrival_timestamp.map(epoch_seconds),
        "data": base64::engine::general_purpose::STANDARD.encode(&record.data),
    });
    if let Some(key) = &record.explicit_hash_key {
        r["explicitHashKey"] = json!(key);
    }
    r
}

/// `t` in seconds since the Unix epoch, with milliseconds (Lambda's `approximateArrivalTimestamp`).
fn epoch_seconds(t: SystemTime) -> f64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(after) => after.as_millis() as f64 / 1000.0,
        Err(before) => -(before.duration().as_millis() as f64) / 1000.0,
    }
}

/// `t` in RFC 3339, UTC, with milliseconds: `2019-11-14T00:38:06.021Z`.
///
/// humantime (already in the workspace, for the facade) writes exactly this form; it refuses times before
/// 1970 (a panic) and after 9999 (an error), so `t` is first brought inside that range.
fn rfc3339_millis(t: SystemTime) -> String {
    // 9999-12-31T23:59:59.999Z, the last millisecond RFC 3339 can show.
    const LAST: Duration = Duration::from_millis(253_402_300_799_999);
    let since_epoch = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).min(LAST);
    humantime::format_rfc3339_millis(UNIX_EPOCH + since_epoch).to_string()
}

/// Where failed batches go (Lambda's `DestinationConfig.OnFailure`). Object safe: the worker holds an
/// `Arc<dyn FailureDestination>`.
#[async_trait]
pub trait FailureDestination: Send + Sync + 'static {
    /// Records `batch` durably. The worker moves past the batch only after this returns `Ok`.
    ///
    /// # Errors
    ///
    /// Any error makes the worker retry with backoff (the shard waits meanwhile); it is logged and counted
    /// in `kcl_failure_destination_errors_total`.
    async fn send(&self, batch: &FailedBatch) -> Result<(), BoxError>;
}

// Compile-time object-safety check.
const _: Option<std::sync::Arc<dyn FailureDestination>> = None;

#[cfg(test)]
mod tests;
