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

use std::time::SystemTime;

use async_trait::async_trait;

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
    /// The metadata of `records` (non-empty, in sequence order) given up on for `condition`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        condition: FailureCondition,
        stream: Option<String>,
        shard_id: &str,
        records: &[Record],
        invoke_count: u32,
        error: Option<String>,
        worker_id: &str,
        timestamp: SystemTime,
        include_records: bool,
    ) -> Self {
        let first = records.first();
        let last = records.last();
        FailedBatch {
            condition,
            stream,
            shard_id: shard_id.to_owned(),
            start_sequence_number: first.map(|r| r.sequence_number.to_string()).unwrap_or_default(),
            end_sequence_number: last.map(|r| r.sequence_number.to_string()).unwrap_or_default(),
            approximate_arrival_of_first_record: first.and_then(|r| r.approximate_arrival_timestamp),
            approximate_arrival_of_last_record: last.and_then(|r| r.approximate_arrival_timestamp),
            batch_size: records.len(),
            invoke_count,
            error,
            worker_id: worker_id.to_owned(),
            timestamp,
            records: include_records.then(|| records.to_vec()),
        }
    }
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
