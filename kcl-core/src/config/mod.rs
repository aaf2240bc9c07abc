//! Worker configuration: one typed, validated, one-step builder.
//!
//! `WorkerConfig::builder()...build()` checks every value and fails with a [`ConfigError`] that names the
//! setting and says what to change. Defaults mirror the Java KCL 2.x where that makes sense; where we
//! deliberately differ (the lease taker runs every second, not every 20 s) the docs say why.
//!
//! | setting | default | Java KCL |
//! |---|---|---|
//! | [`lease_duration`](WorkerConfigBuilder::lease_duration) | 10 s | `failoverTimeMillis` 10,000 |
//! | [`lease_renewal`](WorkerConfigBuilder::lease_renewal) | per lease | per lease |
//! | [`lease_renewal_interval`](WorkerConfigBuilder::lease_renewal_interval) | lease duration / 3 (heartbeat: the taker interval) | failover / 3 |
//! | [`lease_taker_interval`](WorkerConfigBuilder::lease_taker_interval) | 1 s | 2 x failover (20 s) |
//! | [`shard_sync_interval`](WorkerConfigBuilder::shard_sync_interval) | 60 s | `shardSyncIntervalMillis` 60,000 |
//! | [`initial_position`](WorkerConfigBuilder::initial_position) | `LATEST` | `LATEST` |
//! | [`max_records_per_call`](WorkerConfigBuilder::max_records_per_call) | 10,000 | `maxRecords` 10,000 |
//! | [`idle_time_between_reads`](WorkerConfigBuilder::idle_time_between_reads) | 1.5 s | `idleTimeBetweenReadsInMillis` 1,500 |
//! | [`max_reads_per_second`](WorkerConfigBuilder::max_reads_per_second) | 5 (the Kinesis per-shard limit) | – |
//! | [`prefetch_max_batches`](WorkerConfigBuilder::prefetch_max_batches) | 3 | `maxPendingProcessRecordsInput` 3 |
//! | [`prefetch_max_bytes`](WorkerConfigBuilder::prefetch_max_bytes) | 8 MiB | `maxByteSize` 8 MiB |
//! | [`prefetch_max_records`](WorkerConfigBuilder::prefetch_max_records) | 30,000 | `maxRecordsCount` 30,000 |
//! | [`processor_error_policy`](WorkerConfigBuilder::processor_error_policy) | retry forever | skips the batch |
//! | [`processing`](WorkerConfigBuilder::processing) | batches as read, no filter, no window | – (Lambda's event source mapping options) |
//! | [`max_leases_per_worker`](WorkerConfigBuilder::max_leases_per_worker) | unlimited | `maxLeasesForWorker` unlimited |
//! | [`start_up_settle_time`](WorkerConfigBuilder::start_up_settle_time) | 3 x taker interval | none |
//! | [`graceful_handoff`](WorkerConfigBuilder::graceful_handoff) | on | KCL 2: off (steals are takeovers); KCL 3: graceful handoff on |
//! | [`load_report_interval`](WorkerConfigBuilder::load_report_interval) | 30 s (reports only for strategies that use them) | KCL 3: throughput with each renewal |
//! | [`report_cpu`](WorkerConfigBuilder::report_cpu) | on | KCL 3: worker metrics in their own table |
//!
//! Layout: this file holds [`WorkerConfig`] and the types of its settings; `builder` the
//! [`WorkerConfigBuilder`] and its validation; `backoff` [`Backoff`] and the seeded jitter of retries.

use std::fmt;
use std::time::{Duration, SystemTime};

use crate::policy::ProcessingPolicy;

mod backoff;
mod builder;
#[cfg(test)]
mod tests;

pub use backoff::Backoff;
pub(crate) use backoff::Jitter;
pub use builder::WorkerConfigBuilder;

/// Where a consumer starts in a shard that has no lease yet (applies only when the lease is created).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum InitialPosition {
    /// Just after the newest record: only records written from now on (Java KCL default).
    #[default]
    Latest,
    /// The oldest record still retained.
    TrimHorizon,
    /// The first record that arrived at or after the given time.
    AtTimestamp(SystemTime),
}

/// How a worker keeps its leases alive (see [`WorkerConfigBuilder::lease_renewal`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LeaseRenewal {
    /// Renew every held lease each renewal interval, and scan the lease table every taker interval, as the
    /// Java KCL does: the mode for a table shared with Java KCL workers.
    #[default]
    PerLease,
    /// Bump one heartbeat per worker each renewal interval (in the table's
    /// [fleet record](kcl_checkpoint::fleet)), and scan the lease table only when its version says
    /// something changed (and once a minute regardless). A lease is expired when its owner's heartbeat has
    /// not moved for the lease duration. kcl-rs workers only.
    Heartbeat,
}

/// What the worker does when `process_records` returns an error or panics.
///
/// In every case the failed batch is retried first; records are never skipped silently (the Java KCL
/// moves on to the next batch).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ProcessorErrorPolicy {
    /// Retry the batch with backoff until it succeeds, the lease is lost or the worker shuts down.
    #[default]
    RetryForever,
    /// Retry up to `max_retries` times, then skip the batch with an error log line and a
    /// `kcl_records_skipped_total` metric.
    RetryThenSkip {
        /// Retries after the first failure.
        max_retries: u32,
    },
    /// Retry up to `max_retries` times, then stop this worker's consumer of the shard (state `Failed`) and
    /// release the lease: the shard is not processed here any more, and is not held hostage either —
    /// another worker (or this one, on a later taker cycle) takes it and starts again from the last
    /// checkpoint, with a fresh retry budget. Use it with an alert on `kcl_processor_failures_total`.
    RetryThenStop {
        /// Retries after the first failure.
        max_retries: u32,
    },
}

/// A setting that failed validation, and what to change.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid worker configuration: `{field}`: {message}")]
pub struct ConfigError {
    /// The setting at fault.
    pub field: &'static str,
    /// What is wrong and what to change.
    pub message: String,
}

impl ConfigError {
    pub(crate) fn new(field: &'static str, message: impl Into<String>) -> Self {
        ConfigError {
            field,
            message: message.into(),
        }
    }
}

/// The validated configuration of a [`Worker`](crate::Worker). Build it with [`WorkerConfig::builder`].
#[derive(Clone, Debug, PartialEq)]
pub struct WorkerConfig {
    lease_duration: Duration,
    lease_renewal: LeaseRenewal,
    lease_renewal_interval: Duration,
    lease_taker_interval: Duration,
    shard_sync_interval: Duration,
    initial_position: InitialPosition,
    max_records_per_call: usize,
    idle_time_between_reads: Duration,
    max_reads_per_second: u32,
    prefetch_max_batches: usize,
    prefetch_max_bytes: usize,
    prefetch_max_records: usize,
    processor_error_policy: ProcessorErrorPolicy,
    processing: ProcessingPolicy,
    processor_retry_backoff: Backoff,
    source_retry_backoff: Backoff,
    max_leases_per_worker: usize,
    process_empty_batches: bool,
    jitter_seed: Option<u64>,
    fatal_error_attempts: u32,
    graceful_handoff: bool,
    start_up_settle_time: Duration,
    load_report_interval: Duration,
    report_cpu: bool,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            lease_duration: Duration::from_secs(10),
            lease_renewal: LeaseRenewal::PerLease,
            lease_renewal_interval: Duration::from_secs(10) / 3,
            lease_taker_interval: Duration::from_secs(1),
            shard_sync_interval: Duration::from_secs(60),
            initial_position: InitialPosition::Latest,
            max_records_per_call: 10_000,
            idle_time_between_reads: Duration::from_millis(1_500),
            max_reads_per_second: 5,
            prefetch_max_batches: 3,
            prefetch_max_bytes: 8 * 1024 * 1024,
            prefetch_max_records: 30_000,
            processor_error_policy: ProcessorErrorPolicy::RetryForever,
            processing: ProcessingPolicy::default(),
            processor_retry_backoff: Backoff::new(Duration::from_millis(100), Duration::from_secs(10)),
            source_retry_backoff: Backoff::new(Duration::from_millis(200), Duration::from_secs(5)),
            max_leases_per_worker: usize::MAX,
            process_empty_batches: false,
            jitter_seed: None,
            fatal_error_attempts: 10,
            graceful_handoff: true,
            start_up_settle_time: Duration::from_secs(3),
            load_report_interval: Duration::from_secs(30),
            report_cpu: true,
        }
    }
}

impl WorkerConfig {
    /// This configuration with a stream's own initial position and processing policy, where set
    /// (multi-stream mode: see [`StreamConfig`](crate::multi_stream::StreamConfig)).
    pub(crate) fn for_stream(
        &self,
        initial_position: Option<InitialPosition>,
        processing: Option<ProcessingPolicy>,
    ) -> WorkerConfig {
        let mut config = self.clone();
        if let Some(position) = initial_position {
            config.initial_position = position;
        }
        if let Some(policy) = processing {
            config.processing = policy;
        }
        config
    }

    /// A builder starting from the defaults (see the [module docs](self)).
    pub fn builder() -> WorkerConfigBuilder {
        WorkerConfigBuilder {
            config: WorkerConfig::default(),
            renewal_set: false,
            settle_set: false,
        }
    }

    /// How long a lease may go without its counter moving before other workers consider it expired.
    pub fn lease_duration(&self) -> Duration {
        self.lease_duration
    }
    /// How held leases are kept alive.
    pub fn lease_renewal(&self) -> LeaseRenewal {
        self.lease_renewal
    }
    /// How often held leases are renewed (or, in heartbeat mode, the worker's heartbeat bumped).
    pub fn lease_renewal_interval(&self) -> Duration {
        self.lease_renewal_interval
    }
    /// How often the lease taker scans the lease table (it also wakes at the next expiry it knows of).
    pub fn lease_taker_interval(&self) -> Duration {
        self.lease_taker_interval
    }
    /// How often shards are listed to create leases for new shards and clean up finished ones.
    pub fn shard_sync_interval(&self) -> Duration {
        self.shard_sync_interval
    }
    /// Where leases created for shards with no leased ancestor start.
    pub fn initial_position(&self) -> InitialPosition {
        self.initial_position
    }
    /// The most records asked for in one GetRecords call.
    pub fn max_records_per_call(&self) -> usize {
        self.max_records_per_call
    }
    /// How long a shard's polling reader waits after an empty read (a read with records is followed at
    /// once; fan-out readers never wait).
    pub fn idle_time_between_reads(&self) -> Duration {
        self.idle_time_between_reads
    }
    /// The most GetRecords calls a shard's polling reader makes per second (`0`: unpaced).
    pub fn max_reads_per_second(&self) -> u32 {
        self.max_reads_per_second
    }
    /// The most batches read ahead per shard.
    pub fn prefetch_max_batches(&self) -> usize {
        self.prefetch_max_batches
    }
    /// The most bytes read ahead per shard.
    pub fn prefetch_max_bytes(&self) -> usize {
        self.prefetch_max_bytes
    }
    /// The most records read ahead per shard.
    pub fn prefetch_max_records(&self) -> usize {
        self.prefetch_max_records
    }
    /// What happens when a processor fails.
    pub fn processor_error_policy(&self) -> ProcessorErrorPolicy {
        self.processor_error_policy
    }
    /// How batches are formed, retried, filtered and given up on (Lambda's event source mapping options).
    pub fn processing(&self) -> &ProcessingPolicy {
        &self.processing
    }
    /// Retries of a failed batch before it is given up on (`None`: unlimited): from the
    /// [`processing`](Self::processing) policy, or the `RetryThen*` error policy's `max_retries`.
    pub fn retry_budget(&self) -> Option<u32> {
        match self.processor_error_policy {
            ProcessorErrorPolicy::RetryForever => self.processing.maximum_retry_attempts(),
            ProcessorErrorPolicy::RetryThenSkip { max_retries }
            | ProcessorErrorPolicy::RetryThenStop { max_retries } => Some(max_retries),
        }
    }
    /// Backoff between retries of a failed processor call.
    pub fn processor_retry_backoff(&self) -> Backoff {
        self.processor_retry_backoff
    }
    /// Backoff between retries of a throttled or failed source call.
    pub fn source_retry_backoff(&self) -> Backoff {
        self.source_retry_backoff
    }
    /// The most leases this worker holds at once.
    pub fn max_leases_per_worker(&self) -> usize {
        self.max_leases_per_worker
    }
    /// Whether `process_records` is called for empty reads too.
    pub fn process_empty_batches(&self) -> bool {
        self.process_empty_batches
    }
    /// How many failures in a row retrying cannot fix stop the worker (see
    /// [`WorkerConfigBuilder::fatal_error_attempts`]).
    pub fn fatal_error_attempts(&self) -> u32 {
        self.fatal_error_attempts
    }
    /// How long after start-up processors wait (see [`WorkerConfigBuilder::start_up_settle_time`]).
    pub fn start_up_settle_time(&self) -> Duration {
        self.start_up_settle_time
    }
    /// Whether balancing moves are cooperative handoffs (see [`WorkerConfigBuilder::graceful_handoff`]).
    pub fn graceful_handoff(&self) -> bool {
        self.graceful_handoff
    }
    /// How often measured lease loads are reported (see [`WorkerConfigBuilder::load_report_interval`]).
    pub fn load_report_interval(&self) -> Duration {
        self.load_report_interval
    }
    /// Whether load reports carry the process's CPU utilization (see [`WorkerConfigBuilder::report_cpu`]).
    pub fn report_cpu(&self) -> bool {
        self.report_cpu
    }
    /// The seed of the backoff jitter, if set (otherwise jitter comes from entropy).
    pub fn jitter_seed(&self) -> Option<u64> {
        self.jitter_seed
    }
}

impl fmt::Display for InitialPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitialPosition::Latest => f.write_str("LATEST"),
            InitialPosition::TrimHorizon => f.write_str("TRIM_HORIZON"),
            InitialPosition::AtTimestamp(_) => f.write_str("AT_TIMESTAMP"),
        }
    }
}
