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
//! | [`prefetch_max_batches`](WorkerConfigBuilder::prefetch_max_batches) | 3 | `maxPendingProcessRecordsInput` 3 |
//! | [`prefetch_max_bytes`](WorkerConfigBuilder::prefetch_max_bytes) | 8 MiB | `maxByteSize` 8 MiB |
//! | [`prefetch_max_records`](WorkerConfigBuilder::prefetch_max_records) | 30,000 | `maxRecordsCount` 30,000 |
//! | [`processor_error_policy`](WorkerConfigBuilder::processor_error_policy) | retry forever | skips the batch |
//! | [`max_leases_per_worker`](WorkerConfigBuilder::max_leases_per_worker) | unlimited | `maxLeasesForWorker` unlimited |
//! | [`start_up_settle_time`](WorkerConfigBuilder::start_up_settle_time) | 3 x taker interval | none |
//! | [`graceful_handoff`](WorkerConfigBuilder::graceful_handoff) | on | KCL 2: off (steals are takeovers); KCL 3: graceful handoff on |
//! | [`load_report_interval`](WorkerConfigBuilder::load_report_interval) | 30 s (reports only for strategies that use them) | KCL 3: throughput with each renewal |
//! | [`report_cpu`](WorkerConfigBuilder::report_cpu) | on | KCL 3: worker metrics in their own table |

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

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

/// Exponential backoff bounds (with jitter), used for retries driven through `backon`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The first delay.
    pub min_delay: Duration,
    /// The largest delay.
    pub max_delay: Duration,
}

impl Backoff {
    /// Backoff between `min_delay` and `max_delay`.
    pub const fn new(min_delay: Duration, max_delay: Duration) -> Self {
        Backoff { min_delay, max_delay }
    }

    /// The `backon` builder for these bounds (exponential, factor 2, with jitter, unlimited attempts).
    pub fn builder(&self) -> backon::ExponentialBuilder {
        backon::ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_jitter()
            .without_max_times()
    }

    /// A fresh iterator of delays whose jitter is seeded with `seed` (entropy when `None`).
    pub(crate) fn delays_seeded(&self, seed: Option<u64>) -> impl Iterator<Item = Duration> + Send + 'static {
        use backon::BackoffBuilder;
        let builder = self.builder();
        match seed {
            Some(seed) => builder.with_jitter_seed(seed),
            None => builder,
        }
        .build()
    }

    fn validate(&self, field: &'static str) -> Result<(), ConfigError> {
        if self.min_delay.is_zero() {
            return Err(ConfigError::new(
                field,
                "min_delay must be above zero (e.g. 100 ms)",
            ));
        }
        if self.min_delay > self.max_delay {
            return Err(ConfigError::new(
                field,
                format!(
                    "min_delay {:?} is above max_delay {:?}; raise max_delay or lower min_delay",
                    self.min_delay, self.max_delay
                ),
            ));
        }
        Ok(())
    }
}

/// Where a worker's backoff jitter comes from: entropy by default, or a seed
/// ([`WorkerConfigBuilder::jitter_seed`]) so that a simulation replays exactly. Each backoff sequence the
/// worker starts draws the next seed of a deterministic series, so the delays depend only on the seed and
/// on the order in which the worker starts its retries.
#[derive(Clone, Debug)]
pub(crate) struct Jitter {
    seed: Option<u64>,
    draws: Arc<AtomicU64>,
}

impl Jitter {
    pub(crate) fn new(seed: Option<u64>) -> Self {
        Jitter {
            seed,
            draws: Arc::new(AtomicU64::new(0)),
        }
    }

    /// A fresh iterator of delays within `backoff`'s bounds.
    pub(crate) fn delays(&self, backoff: Backoff) -> impl Iterator<Item = Duration> + Send + 'static {
        let seed = self.seed.map(|seed| {
            let n = self.draws.fetch_add(1, Ordering::Relaxed);
            splitmix64(seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        });
        backoff.delays_seeded(seed)
    }
}

/// One step of SplitMix64: spreads consecutive inputs over the whole `u64` range.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
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
    prefetch_max_batches: usize,
    prefetch_max_bytes: usize,
    prefetch_max_records: usize,
    processor_error_policy: ProcessorErrorPolicy,
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
            prefetch_max_batches: 3,
            prefetch_max_bytes: 8 * 1024 * 1024,
            prefetch_max_records: 30_000,
            processor_error_policy: ProcessorErrorPolicy::RetryForever,
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
    /// How long a shard's poller waits after an empty read.
    pub fn idle_time_between_reads(&self) -> Duration {
        self.idle_time_between_reads
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

/// Builds a [`WorkerConfig`]; see the [module docs](self) for defaults.
#[derive(Clone, Debug)]
pub struct WorkerConfigBuilder {
    config: WorkerConfig,
    renewal_set: bool,
    settle_set: bool,
}

impl WorkerConfigBuilder {
    /// How long a lease may go without its counter moving before other workers take it (default 10 s,
    /// the Java KCL's `failoverTimeMillis`). A crashed worker's shards resume within about this plus the
    /// taker interval.
    pub fn lease_duration(mut self, d: Duration) -> Self {
        self.config.lease_duration = d;
        self
    }
    /// How leases are kept alive (default [`LeaseRenewal::PerLease`], compatible with the Java KCL).
    ///
    /// [`LeaseRenewal::Heartbeat`] costs a fraction of the lease-table requests (one heartbeat per worker
    /// instead of one renewal per lease, and scans only when the table changed; `BENCHMARKS.md` has the
    /// figures) with the same failover: a dead worker's leases are taken within the lease duration plus
    /// one renewal interval (1 s by default in this mode) of its last heartbeat. Every worker of the
    /// application must use the same mode, and no Java KCL worker may share the table: they would see
    /// leases that are never renewed as expired.
    pub fn lease_renewal(mut self, mode: LeaseRenewal) -> Self {
        self.config.lease_renewal = mode;
        self
    }
    /// How often held leases are renewed, or in heartbeat mode the heartbeat bumped (default: a third of
    /// the lease duration, as the Java KCL; in heartbeat mode the taker interval, 1 s, at most a third of
    /// the lease duration).
    pub fn lease_renewal_interval(mut self, d: Duration) -> Self {
        self.config.lease_renewal_interval = d;
        self.renewal_set = true;
        self
    }
    /// How often the taker scans the lease table (default 1 s; the Java KCL waits 2 x the failover time).
    /// Each scan is one `list` on the store.
    pub fn lease_taker_interval(mut self, d: Duration) -> Self {
        self.config.lease_taker_interval = d;
        self
    }
    /// How often shards are re-listed (default 60 s, the Java KCL's `shardSyncIntervalMillis`).
    pub fn shard_sync_interval(mut self, d: Duration) -> Self {
        self.config.shard_sync_interval = d;
        self
    }
    /// Where new leases start when no ancestor shard is leased (default `LATEST`, as the Java KCL).
    pub fn initial_position(mut self, p: InitialPosition) -> Self {
        self.config.initial_position = p;
        self
    }
    /// Records per GetRecords call, 1..=10,000 (default 10,000, the Kinesis maximum).
    pub fn max_records_per_call(mut self, n: usize) -> Self {
        self.config.max_records_per_call = n;
        self
    }
    /// Wait after an empty read (default 1.5 s, the Java KCL's `idleTimeBetweenReadsInMillis`).
    pub fn idle_time_between_reads(mut self, d: Duration) -> Self {
        self.config.idle_time_between_reads = d;
        self
    }
    /// Batches read ahead per shard (default 3).
    pub fn prefetch_max_batches(mut self, n: usize) -> Self {
        self.config.prefetch_max_batches = n;
        self
    }
    /// Bytes read ahead per shard (default 8 MiB).
    pub fn prefetch_max_bytes(mut self, n: usize) -> Self {
        self.config.prefetch_max_bytes = n;
        self
    }
    /// Records read ahead per shard (default 30,000).
    pub fn prefetch_max_records(mut self, n: usize) -> Self {
        self.config.prefetch_max_records = n;
        self
    }
    /// What to do when a processor fails (default: retry the batch with backoff forever).
    pub fn processor_error_policy(mut self, p: ProcessorErrorPolicy) -> Self {
        self.config.processor_error_policy = p;
        self
    }
    /// Backoff between processor retries (default 100 ms .. 10 s, plus up to 100% jitter).
    pub fn processor_retry_backoff(mut self, b: Backoff) -> Self {
        self.config.processor_retry_backoff = b;
        self
    }
    /// Backoff between source retries, e.g. when throttled (default 200 ms .. 5 s, plus up to 100% jitter).
    pub fn source_retry_backoff(mut self, b: Backoff) -> Self {
        self.config.source_retry_backoff = b;
        self
    }
    /// The most leases this worker holds (default unlimited).
    pub fn max_leases_per_worker(mut self, n: usize) -> Self {
        self.config.max_leases_per_worker = n;
        self
    }
    /// Call `process_records` for empty reads too (default false, as the Java KCL).
    pub fn process_empty_batches(mut self, yes: bool) -> Self {
        self.config.process_empty_batches = yes;
        self
    }

    /// Whether a lease moved for balance is *handed off* rather than taken (default on).
    ///
    /// On, a worker that wants a lease from a live owner asks for it (the lease's `checkpointOwner`, as in
    /// the Java KCL 3): the owner finishes its current batch, calls the processor's `shutdown_requested`
    /// so it can checkpoint, and hands over; the new owner starts from that checkpoint, with no record
    /// processed twice. An owner that does not answer within one lease duration (crashed, stuck in a
    /// batch) loses the lease as if it had been taken. Off, a balancing move is a takeover, as in the Java
    /// KCL 2: the old owner stops at its next renewal, and what it processed since its last checkpoint is
    /// processed again by the new owner. Leases of crashed workers are taken after expiry either way.
    pub fn graceful_handoff(mut self, yes: bool) -> Self {
        self.config.graceful_handoff = yes;
        self
    }

    /// How often the worker turns what each held lease processed into rates and reports those that changed
    /// (default 30 s; see [`crate::load`]). Only workers whose strategy uses loads
    /// ([`AssignmentStrategy::wants_load_reports`](crate::AssignmentStrategy::wants_load_reports)) report;
    /// a shorter interval lets a utilization-aware fleet react sooner to load changes, at one `UpdateItem`
    /// per changed lease per interval.
    pub fn load_report_interval(mut self, d: Duration) -> Self {
        self.config.load_report_interval = d;
        self
    }

    /// Whether load reports carry the process's CPU utilization (default on; see [`crate::load`]). Turn it
    /// off when several workers share a process (their CPU figure would be the same), as the experiment
    /// harness does.
    pub fn report_cpu(mut self, yes: bool) -> Self {
        self.config.report_cpu = yes;
        self
    }

    /// How long after the worker starts its first processors start (default: three taker intervals, 3 s).
    ///
    /// The worker takes leases at once, but leases taken during this time start their processors only when
    /// it is over. A fleet started together (a deployment) balances in its first taker cycles: the first
    /// worker to list the table takes every free lease, and the others ask for their share as they
    /// discover each other (a round of requests lands within a taker interval; two rounds are usual). A
    /// lease asked for before its processor started is handed over without one, so each shard's processor
    /// starts about once instead of once per worker it passes through. The cost: a worker that starts
    /// alone processes nothing for this long. `Duration::ZERO` starts processors at once.
    pub fn start_up_settle_time(mut self, d: Duration) -> Self {
        self.config.start_up_settle_time = d;
        self.settle_set = true;
        self
    }

    /// Seeds every backoff jitter of the worker (processor retries, source retries, shard sync and
    /// checkpoint retries), so that a run under paused time replays exactly (default: entropy). For
    /// simulations and tests; give each worker of a fleet its own seed.
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.config.jitter_seed = Some(seed);
        self
    }

    /// How many failures in a row that retrying cannot fix ([`Error::is_fatal`](crate::Error::is_fatal):
    /// a missing stream, access denied, invalid or missing credentials, a missing lease table) end the
    /// worker with [`Error::Fatal`](crate::Error::Fatal) instead of retrying forever (default 10, a bit
    /// under half a minute at the default source backoff; at least 1). Retryable failures (throttling,
    /// timeouts, a store that does not answer) never stop the worker.
    pub fn fatal_error_attempts(mut self, n: u32) -> Self {
        self.config.fatal_error_attempts = n;
        self
    }

    /// Validates and builds.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the first invalid setting and what to change.
    pub fn build(self) -> Result<WorkerConfig, ConfigError> {
        let mut c = self.config;
        if !self.renewal_set {
            c.lease_renewal_interval = match c.lease_renewal {
                LeaseRenewal::PerLease => c.lease_duration / 3,
                LeaseRenewal::Heartbeat => c.lease_taker_interval.min(c.lease_duration / 3),
            };
        }
        if !self.settle_set {
            c.start_up_settle_time = 3 * c.lease_taker_interval;
        }
        const DAY: Duration = Duration::from_secs(24 * 60 * 60);
        for (field, value) in [
            ("lease_duration", c.lease_duration),
            ("shard_sync_interval", c.shard_sync_interval),
            ("idle_time_between_reads", c.idle_time_between_reads),
            ("start_up_settle_time", c.start_up_settle_time),
            ("load_report_interval", c.load_report_interval),
            ("processor_retry_backoff", c.processor_retry_backoff.max_delay),
            ("source_retry_backoff", c.source_retry_backoff.max_delay),
        ] {
            if value > DAY {
                return Err(ConfigError::new(
                    field,
                    format!("{value:?} is longer than a day; use a value of at most 24 h"),
                ));
            }
        }
        if c.load_report_interval < Duration::from_secs(1) {
            return Err(ConfigError::new(
                "load_report_interval",
                format!(
                    "{:?} is shorter than a second: rates need at least a second to measure; use 1 s or more",
                    c.load_report_interval
                ),
            ));
        }
        if c.lease_duration < Duration::from_millis(100) {
            return Err(ConfigError::new(
                "lease_duration",
                format!(
                    "{:?} is too short; use at least 100 ms (10 s is the default)",
                    c.lease_duration
                ),
            ));
        }
        if c.lease_renewal_interval.is_zero() || c.lease_renewal_interval >= c.lease_duration {
            return Err(ConfigError::new(
                "lease_renewal_interval",
                format!(
                    "{:?} must be above zero and below lease_duration {:?} (a third of it is usual)",
                    c.lease_renewal_interval, c.lease_duration
                ),
            ));
        }
        if c.lease_taker_interval.is_zero() || c.lease_taker_interval > c.lease_duration {
            return Err(ConfigError::new(
                "lease_taker_interval",
                format!(
                    "{:?} must be above zero and at most lease_duration {:?}",
                    c.lease_taker_interval, c.lease_duration
                ),
            ));
        }
        if c.fatal_error_attempts == 0 {
            return Err(ConfigError::new(
                "fatal_error_attempts",
                "must be at least 1 (default 10)",
            ));
        }
        if c.shard_sync_interval.is_zero() {
            return Err(ConfigError::new(
                "shard_sync_interval",
                "must be above zero (default 60 s)",
            ));
        }
        if !(1..=10_000).contains(&c.max_records_per_call) {
            return Err(ConfigError::new(
                "max_records_per_call",
                format!(
                    "{} is outside 1..=10000 (the GetRecords limit)",
                    c.max_records_per_call
                ),
            ));
        }
        if !(1..=1_000).contains(&c.prefetch_max_batches) {
            return Err(ConfigError::new(
                "prefetch_max_batches",
                format!("{} is outside 1..=1000 (default 3)", c.prefetch_max_batches),
            ));
        }
        if c.prefetch_max_bytes == 0 {
            return Err(ConfigError::new(
                "prefetch_max_bytes",
                "must be at least 1 (default 8 MiB)",
            ));
        }
        if c.prefetch_max_records == 0 {
            return Err(ConfigError::new(
                "prefetch_max_records",
                "must be at least 1 (default 30000)",
            ));
        }
        if c.max_leases_per_worker == 0 {
            return Err(ConfigError::new(
                "max_leases_per_worker",
                "must be at least 1 (leave it unset for no limit)",
            ));
        }
        c.processor_retry_backoff.validate("processor_retry_backoff")?;
        c.source_retry_backoff.validate("source_retry_backoff")?;
        Ok(c)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_mirror_the_java_kcl() {
        let c = WorkerConfig::builder().build().unwrap();
        assert_eq!(c.lease_duration(), Duration::from_secs(10));
        assert_eq!(c.lease_renewal_interval(), Duration::from_secs(10) / 3);
        assert_eq!(c.lease_taker_interval(), Duration::from_secs(1));
        assert_eq!(c.initial_position(), InitialPosition::Latest);
        assert_eq!(c.max_records_per_call(), 10_000);
        assert_eq!(c.prefetch_max_bytes(), 8 * 1024 * 1024);
    }

    #[test]
    fn renewal_follows_lease_duration_unless_set() {
        let c = WorkerConfig::builder()
            .lease_duration(Duration::from_secs(3))
            .build()
            .unwrap();
        assert_eq!(c.lease_renewal_interval(), Duration::from_secs(1));
        let c = WorkerConfig::builder()
            .lease_duration(Duration::from_secs(3))
            .lease_renewal_interval(Duration::from_millis(500))
            .build()
            .unwrap();
        assert_eq!(c.lease_renewal_interval(), Duration::from_millis(500));
    }

    #[test]
    fn invalid_values_name_the_setting() {
        let e = WorkerConfig::builder()
            .lease_renewal_interval(Duration::from_secs(20))
            .build()
            .unwrap_err();
        assert_eq!(e.field, "lease_renewal_interval");
        assert!(e.to_string().contains("below lease_duration"));
        let e = WorkerConfig::builder()
            .max_records_per_call(0)
            .build()
            .unwrap_err();
        assert_eq!(e.field, "max_records_per_call");
        let e = WorkerConfig::builder()
            .processor_retry_backoff(Backoff::new(Duration::from_secs(2), Duration::from_secs(1)))
            .build()
            .unwrap_err();
        assert_eq!(e.field, "processor_retry_backoff");
        let e = WorkerConfig::builder()
            .lease_duration(Duration::MAX)
            .build()
            .unwrap_err();
        assert_eq!(e.field, "lease_duration");
        let e = WorkerConfig::builder()
            .lease_taker_interval(Duration::ZERO)
            .build()
            .unwrap_err();
        assert_eq!(e.field, "lease_taker_interval");
    }
}
