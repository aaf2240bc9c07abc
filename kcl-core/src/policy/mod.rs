//! Processing policies: what AWS Lambda's Kinesis event source mapping offers on top of "call the
//! function with a batch", for a kcl-rs processor.
//!
//! A [`ProcessingPolicy`] is set once per worker with
//! [`WorkerConfigBuilder::processing`](crate::WorkerConfigBuilder::processing). Every option mirrors an
//! event source mapping setting, with its documented range and default; a value outside the range fails
//! [`ProcessingPolicyBuilder::build`] with a [`ConfigError`] that says what to change.
//!
//! | option | Lambda setting | range | default |
//! |---|---|---|---|
//! | [`batch_size`](ProcessingPolicyBuilder::batch_size) | `BatchSize` | 1..=10,000 | as read (up to `max_records_per_call`) |
//! | [`maximum_batching_window`](ProcessingPolicyBuilder::maximum_batching_window) | `MaximumBatchingWindowInSeconds` | 0..=300 s | 0 |
//! | [`maximum_retry_attempts`](ProcessingPolicyBuilder::maximum_retry_attempts) | `MaximumRetryAttempts` | -1, 0..=10,000 | -1 (until the record expires) |
//! | [`maximum_record_age`](ProcessingPolicyBuilder::maximum_record_age) | `MaximumRecordAgeInSeconds` | -1, 60 s..=7 days | -1 (no limit) |
//! | [`bisect_batch_on_error`](ProcessingPolicyBuilder::bisect_batch_on_error) | `BisectBatchOnFunctionError` | | off |
//! | [`report_batch_item_failures`](ProcessingPolicyBuilder::report_batch_item_failures) | `FunctionResponseTypes: [ReportBatchItemFailures]` | | off |
//! | [`filters`](ProcessingPolicyBuilder::filters) | `FilterCriteria` | up to 5 patterns | none |
//! | [`tumbling_window`](ProcessingPolicyBuilder::tumbling_window) | `TumblingWindowInSeconds` | 1..=900 s | off |
//! | [`parallelization_factor`](ProcessingPolicyBuilder::parallelization_factor) | `ParallelizationFactor` | 1..=10 | 1 |
//! | [`checkpoint_after_batch`](ProcessingPolicyBuilder::checkpoint_after_batch) | (Lambda always does) | | off (the processor checkpoints, as in the KCL) |
//! | on-failure destination: [`WorkerBuilder::on_failure`](crate::WorkerBuilder::on_failure) | `DestinationConfig.OnFailure` | | none (records are dropped with a log line and a metric) |
//!
//! How a batch travels (the consumer's `delivery` engine):
//!
//! 1. Records read from the shard are cut into batches of at most `batch_size`, waiting up to the
//!    batching window for a batch to fill; with a tumbling window, no batch spans two windows.
//! 2. Records no filter pattern matches are removed (counted in `kcl_records_filtered_total`); they count
//!    as processed.
//! 3. Records older than the maximum age are given up on ([`FailureCondition::RecordAgeExceeded`]).
//! 4. `process_records` is called. On `Ok` the batch is done. On an error, the batch is retried with
//!    backoff; with bisection, it is split in halves first, so a poison record is isolated in about
//!    log2(batch) calls while the records around it are processed. With item failures reported, an error
//!    [`BatchItemFailure`] means "everything before this record is done": the worker checkpoints there and
//!    retries from that record. Every call that fails counts one attempt for each of its records (a half
//!    inherits the count of the batch it came from, as in Lambda); records whose attempts are spent are
//!    given up on ([`FailureCondition::RetryAttemptsExhausted`]).
//! 5. A batch given up on goes to the on-failure destination (retried until it is accepted), then counts
//!    as processed.

use std::time::Duration;

use crate::config::ConfigError;

pub mod destination;
pub mod filter;
mod item_failure;
pub mod window;

#[cfg(feature = "kinesis")]
pub use destination::KinesisStreamDestination;
pub use destination::{FailedBatch, FailureCondition, FailureDestination, JsonLinesDestination};
pub use filter::FilterCriteria;
pub use item_failure::BatchItemFailure;
pub use window::TumblingWindow;

/// The largest `batch_size` (Lambda's limit for Kinesis).
pub const MAX_BATCH_SIZE: usize = 10_000;
/// The longest batching window (Lambda's `MaximumBatchingWindowInSeconds` limit).
pub const MAX_BATCHING_WINDOW: Duration = Duration::from_secs(300);
/// The most retry attempts that can be set (Lambda's limit).
pub const MAX_RETRY_ATTEMPTS: u32 = 10_000;
/// The shortest maximum record age that can be set.
pub const MIN_RECORD_AGE: Duration = Duration::from_secs(60);
/// The longest maximum record age that can be set (7 days).
pub const MAX_RECORD_AGE: Duration = Duration::from_secs(604_800);
/// The highest parallelization factor (Lambda's limit).
pub const MAX_PARALLELIZATION_FACTOR: u8 = 10;
/// The longest tumbling window (Lambda's `TumblingWindowInSeconds` limit, 15 minutes).
pub const MAX_TUMBLING_WINDOW: Duration = Duration::from_secs(900);

/// How batches are formed, retried, filtered and given up on. Build with [`ProcessingPolicy::builder`];
/// see the [module docs](self) for each option and the Lambda setting it mirrors.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcessingPolicy {
    batch_size: Option<usize>,
    maximum_batching_window: Duration,
    maximum_retry_attempts: Option<u32>,
    maximum_record_age: Option<Duration>,
    bisect_batch_on_error: bool,
    report_batch_item_failures: bool,
    filters: Option<FilterCriteria>,
    tumbling_window: Option<Duration>,
    checkpoint_after_batch: bool,
    destination_includes_records: bool,
    parallelization_factor: u8,
}

impl Default for ProcessingPolicy {
    fn default() -> Self {
        ProcessingPolicy {
            batch_size: None,
            maximum_batching_window: Duration::ZERO,
            maximum_retry_attempts: None,
            maximum_record_age: None,
            bisect_batch_on_error: false,
            report_batch_item_failures: false,
            filters: None,
            tumbling_window: None,
            checkpoint_after_batch: false,
            destination_includes_records: false,
            parallelization_factor: 1,
        }
    }
}

impl ProcessingPolicy {
    /// A builder starting from the defaults: the KCL's behaviour (batches as read, retried until they
    /// succeed, the processor checkpoints).
    pub fn builder() -> ProcessingPolicyBuilder {
        ProcessingPolicyBuilder {
            policy: ProcessingPolicy::default(),
            retry_attempts: -1,
            record_age_set: None,
        }
    }

    /// A builder starting from Lambda's defaults for a Kinesis event source mapping: batches of 100, no
    /// batching window, retried until the records expire, and a checkpoint after every batch.
    pub fn lambda() -> ProcessingPolicyBuilder {
        ProcessingPolicy::builder()
            .batch_size(100)
            .checkpoint_after_batch(true)
    }

    /// The most records per `process_records` call (`None`: as read from the shard).
    pub fn batch_size(&self) -> Option<usize> {
        self.batch_size
    }
    /// How long a batch waits to fill up to `batch_size`.
    pub fn maximum_batching_window(&self) -> Duration {
        self.maximum_batching_window
    }
    /// Retries after a failed call before its records are given up on (`None`: unlimited).
    pub fn maximum_retry_attempts(&self) -> Option<u32> {
        self.maximum_retry_attempts
    }
    /// Records older than this (by arrival time) are given up on (`None`: no limit).
    pub fn maximum_record_age(&self) -> Option<Duration> {
        self.maximum_record_age
    }
    /// Whether a failing batch is split in halves before it is retried.
    pub fn bisect_batch_on_error(&self) -> bool {
        self.bisect_batch_on_error
    }
    /// Whether a [`BatchItemFailure`] error is read as a partial batch response.
    pub fn report_batch_item_failures(&self) -> bool {
        self.report_batch_item_failures
    }
    /// The filter records must pass to reach the processor, if any.
    pub fn filters(&self) -> Option<&FilterCriteria> {
        self.filters.as_ref()
    }
    /// The tumbling window's length, if windows are on.
    pub fn tumbling_window(&self) -> Option<Duration> {
        self.tumbling_window
    }
    /// Whether the worker checkpoints after every batch it is done with.
    pub fn checkpoint_after_batch(&self) -> bool {
        self.checkpoint_after_batch
    }
    /// Whether failed batches sent to the destination carry their records.
    pub fn destination_includes_records(&self) -> bool {
        self.destination_includes_records
    }
    /// Processor instances per shard (lanes fed by partition-key hash).
    pub fn parallelization_factor(&self) -> u8 {
        self.parallelization_factor
    }
}

/// Builds a [`ProcessingPolicy`]; every setting is checked by [`build`](Self::build).
#[derive(Clone, Debug)]
#[must_use]
pub struct ProcessingPolicyBuilder {
    policy: ProcessingPolicy,
    /// As given (Lambda's form: -1 or 0..=10,000), checked in `build`.
    retry_attempts: i64,
    /// As given, checked in `build` (`Some(None)`: -1 given explicitly).
    record_age_set: Option<Option<Duration>>,
}

impl ProcessingPolicyBuilder {
    /// The most records per `process_records` call, 1..=10,000 (Lambda's `BatchSize`; default: a batch
    /// as read from the shard, up to `max_records_per_call`).
    pub fn batch_size(mut self, n: usize) -> Self {
        self.policy.batch_size = Some(n);
        self
    }
    /// Waits up to this long, 0..=300 s, for a batch to fill to `batch_size` (Lambda's
    /// `MaximumBatchingWindowInSeconds`; default 0: deliver what has been read). The end of a closed
    /// shard and a stopping consumer deliver at once.
    pub fn maximum_batching_window(mut self, d: Duration) -> Self {
        self.policy.maximum_batching_window = d;
        self
    }
    /// Retries of a failed batch before its records are given up on: -1 (default: until they succeed or
    /// are older than the maximum record age) or 0..=10,000 (Lambda's `MaximumRetryAttempts`). Records
    /// given up on go to the on-failure destination, or are dropped with a log line and a metric when
    /// there is none.
    pub fn maximum_retry_attempts(mut self, n: i64) -> Self {
        self.retry_attempts = n;
        self
    }
    /// Records older than this, by arrival time, are given up on instead of processed: 60 s..=7 days
    /// (Lambda's `MaximumRecordAgeInSeconds`; default: no limit). Checked before every call, retries
    /// included.
    pub fn maximum_record_age(mut self, d: Duration) -> Self {
        self.record_age_set = Some(Some(d));
        self
    }
    /// No maximum record age (Lambda's -1, the default).
    pub fn no_maximum_record_age(mut self) -> Self {
        self.record_age_set = Some(None);
        self
    }
    /// Split a failing batch in halves before retrying it (Lambda's `BisectBatchOnFunctionError`;
    /// default off).
    pub fn bisect_batch_on_error(mut self, yes: bool) -> Self {
        self.policy.bisect_batch_on_error = yes;
        self
    }
    /// Read a [`BatchItemFailure`] returned by `process_records` as a partial batch response: the records
    /// before it are done (and checkpointed), processing resumes from it (Lambda's
    /// `ReportBatchItemFailures`; default off, when it is an ordinary error failing the whole batch).
    pub fn report_batch_item_failures(mut self, yes: bool) -> Self {
        self.policy.report_batch_item_failures = yes;
        self
    }
    /// Deliver only records that match one of these patterns (Lambda's `FilterCriteria`); the others are
    /// counted as processed and never reach the processor.
    pub fn filters(mut self, filters: FilterCriteria) -> Self {
        self.policy.filters = Some(filters);
        self
    }
    /// Tumbling windows of this length, 1..=900 s (Lambda's `TumblingWindowInSeconds`; default off): see
    /// [`TumblingWindow`].
    pub fn tumbling_window(mut self, d: Duration) -> Self {
        self.policy.tumbling_window = Some(d);
        self
    }
    /// Checkpoint after every batch the worker is done with (processed, filtered out, or given up on), as
    /// Lambda does (default off: the processor checkpoints, as in the KCL). With a tumbling window, the
    /// checkpoint is written at each window's end, so a new owner rebuilds the window's state.
    pub fn checkpoint_after_batch(mut self, yes: bool) -> Self {
        self.policy.checkpoint_after_batch = yes;
        self
    }
    /// Failed batches sent to the destination carry their records, not only their metadata (default off,
    /// as Lambda).
    pub fn destination_includes_records(mut self, yes: bool) -> Self {
        self.policy.destination_includes_records = yes;
        self
    }

    /// Processor instances per shard, 1..=10 (Lambda's `ParallelizationFactor`; default 1). Records are
    /// dispatched to the instances by partition-key hash, so order per key is kept while a slow key does
    /// not hold up the others; the worker checkpoints the low watermark (the highest position below which
    /// every record is finished) after each batch. Not with tumbling windows.
    pub fn parallelization_factor(mut self, n: u8) -> Self {
        self.policy.parallelization_factor = n;
        self
    }

    /// Validates and builds.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the first setting outside its range and what to change.
    pub fn build(self) -> Result<ProcessingPolicy, ConfigError> {
        let mut p = self.policy;
        if let Some(n) = p.batch_size {
            if !(1..=MAX_BATCH_SIZE).contains(&n) {
                return Err(ConfigError::new(
                    "processing.batch_size",
                    format!("{n} is outside 1..=10000 (Lambda's BatchSize range for Kinesis)"),
                ));
            }
        }
        if p.maximum_batching_window > MAX_BATCHING_WINDOW {
            return Err(ConfigError::new(
                "processing.maximum_batching_window",
                format!(
                    "{:?} is longer than 300 s (Lambda's MaximumBatchingWindowInSeconds limit)",
                    p.maximum_batching_window
                ),
            ));
        }
        p.maximum_retry_attempts = match self.retry_attempts {
            -1 => None,
            n if (0..=i64::from(MAX_RETRY_ATTEMPTS)).contains(&n) => Some(n as u32),
            n => {
                return Err(ConfigError::new(
                    "processing.maximum_retry_attempts",
                    format!("{n} is neither -1 (retry until the record expires) nor within 0..=10000"),
                ));
            }
        };
        if let Some(age) = self.record_age_set {
            if let Some(d) = age {
                if !(MIN_RECORD_AGE..=MAX_RECORD_AGE).contains(&d) {
                    return Err(ConfigError::new(
                        "processing.maximum_record_age",
                        format!(
                            "{d:?} is outside 60 s..=7 days (604800 s), Lambda's MaximumRecordAgeInSeconds range; \
                             use no_maximum_record_age() for no limit"
                        ),
                    ));
                }
            }
            p.maximum_record_age = age;
        }
        if let Some(w) = p.tumbling_window {
            if w < Duration::from_secs(1) || w > MAX_TUMBLING_WINDOW {
                return Err(ConfigError::new(
                    "processing.tumbling_window",
                    format!("{w:?} is outside 1..=900 s (Lambda's TumblingWindowInSeconds range)"),
                ));
            }
            if w.subsec_nanos() != 0 {
                return Err(ConfigError::new(
                    "processing.tumbling_window",
                    format!("{w:?} is not a whole number of seconds"),
                ));
            }
        }
        if !(1..=MAX_PARALLELIZATION_FACTOR).contains(&p.parallelization_factor) {
            return Err(ConfigError::new(
                "processing.parallelization_factor",
                format!(
                    "{} is outside 1..=10 (Lambda's ParallelizationFactor range)",
                    p.parallelization_factor
                ),
            ));
        }
        if p.parallelization_factor > 1 && p.tumbling_window.is_some() {
            return Err(ConfigError::new(
                "processing.parallelization_factor",
                "a factor above 1 cannot be combined with tumbling windows (a window's state belongs to \
                 the whole shard); use parallelization_factor(1) or drop tumbling_window",
            ));
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests;
