//! [`WorkerConfigBuilder`]: one setter per setting (with its default and the Java KCL's), and the
//! validation of [`build`](WorkerConfigBuilder::build).

use std::time::Duration;

use super::{Backoff, ConfigError, InitialPosition, LeaseRenewal, ProcessorErrorPolicy, WorkerConfig};
use crate::policy::ProcessingPolicy;

/// Builds a [`WorkerConfig`]; see the [module docs](crate::config) for defaults.
#[derive(Clone, Debug)]
pub struct WorkerConfigBuilder {
    pub(super) config: WorkerConfig,
    /// The renewal interval was set explicitly (otherwise it follows the lease duration or renewal mode).
    pub(super) renewal_set: bool,
    /// The start-up settle time was set explicitly (otherwise it follows the taker interval).
    pub(super) settle_set: bool,
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
    /// Wait after an empty read (default 1.5 s, the Java KCL's `idleTimeBetweenReadsInMillis`); a read that
    /// returned records is followed at once, at most 5 reads a second per shard (the Kinesis limit).
    pub fn idle_time_between_reads(mut self, d: Duration) -> Self {
        self.config.idle_time_between_reads = d;
        self
    }
    /// GetRecords calls per second per shard at most, in bursts of as many (default 5, the Kinesis limit
    /// per shard, so a reader never throttles itself; `0` switches pacing off, for endpoints without the
    /// limit).
    pub fn max_reads_per_second(mut self, n: u32) -> Self {
        self.config.max_reads_per_second = n;
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
    /// How batches are formed, retried, filtered and given up on: Lambda's event source mapping options
    /// (batch size and window, retry attempts, maximum record age, bisection, partial batch responses,
    /// filters, tumbling windows). Default: [`ProcessingPolicy::default`], the KCL's behaviour. See
    /// [`crate::policy`].
    pub fn processing(mut self, policy: ProcessingPolicy) -> Self {
        self.config.processing = policy;
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
        if c.processor_error_policy != ProcessorErrorPolicy::RetryForever
            && c.processing.maximum_retry_attempts().is_some()
        {
            return Err(ConfigError::new(
                "processing.maximum_retry_attempts",
                "is set together with a RetryThenSkip / RetryThenStop processor_error_policy; set the retry \
                 budget in one place (RetryThenSkip is maximum_retry_attempts without a destination)",
            ));
        }
        c.processor_retry_backoff.validate("processor_retry_backoff")?;
        c.source_retry_backoff.validate("source_retry_backoff")?;
        Ok(c)
    }
}
