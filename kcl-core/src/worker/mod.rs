//! The worker: wires the lease coordinator, shard sync and one consumer per leased shard.
//!
//! Build one with [`Worker::builder`] (or [`Worker::builder_multi_stream`] to consume several streams,
//! see [`crate::multi_stream`]), then either [`Worker::spawn`] it and keep the [`WorkerHandle`]
//! (whose [`shutdown`](WorkerHandle::shutdown) stops it gracefully), or `await` [`Worker::run_until`].
//!
//! Tasks of a running worker (all on the caller's tokio runtime):
//! - the main loop (here): taker cycles (every taker interval, and exactly when a watched lease expires,
//!   and right after a shard ends here; scheduled by `leases::Taker`), spawning a consumer per lease taken
//!   and reaping finished ones;
//! - the renewer (`leases::renewer`): renews held leases every renewal interval (or, in heartbeat mode,
//!   writes this worker's heartbeat);
//! - the load reporter (`leases::report_loads`), for strategies that balance by measured load;
//! - the shard syncer (`shard_sync::SyncLoop`): lists shards every shard-sync interval (and after a shard
//!   ends here);
//! - per shard: the consumer and its reader (read ahead by the prefetch task).
//!
//! This file wires them: it starts them in order (the first heartbeat, the lease table, the first shard
//! sync, then the main loop), connects their signals, and stops them in order. [`WorkerHandle`] (in
//! `handle`) controls a spawned worker.
//!
//! Graceful shutdown stops taking and syncing, asks every consumer to stop between batches (each calls
//! `shutdown_requested`, then releases its lease so another worker takes it on its next taker cycle,
//! without waiting for expiry), and returns once all are done.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use kcl_checkpoint::LeaseStore;
use tokio::sync::{oneshot, Notify};
use tokio::task::JoinSet;
use tokio::time::sleep_until;
use tracing::Instrument;

use crate::assignment::{AssignmentStrategy, CountBalanced};
use crate::config::{ConfigError, Jitter, LeaseRenewal, WorkerConfig};
use crate::consumer::{ConsumerContext, ConsumerState, Findings, ShardConsumer};
use crate::error::{Error, Result};
use crate::events::{LeaseEventListener, LeaseEvents};
use crate::fleet::FleetView;
use crate::held::{HeldLease, HeldSet, LeaseContext};
use crate::leases::{self, Coordinator, LeaseView, Taker};
use crate::metrics as m;
use crate::multi_stream::{MultiStreamSource, StreamFactories};
use crate::policy::FailureDestination;
use crate::processor::ShardRecordProcessorFactory;
use crate::shard_sync::{ShardSyncer, SyncLoop};
use crate::signal;
use crate::source::RecordSource;
use crate::status::{AnswerTracking, WorkerPhase, WorkerStatus};
use kcl_checkpoint::DisplayChain;

mod handle;

pub use handle::{ShutdownReport, WorkerHandle};
/// A configured worker, ready to run. See the [module docs](self).
pub struct Worker {
    worker_id: Arc<str>,
    config: Arc<WorkerConfig>,
    store: Arc<dyn LeaseStore>,
    source: Arc<dyn RecordSource>,
    factory: Arc<dyn ShardRecordProcessorFactory>,
    strategy: Arc<dyn AssignmentStrategy>,
    on_failure: Option<Arc<dyn FailureDestination>>,
    wall_clock: crate::clock::Clock,
    events: LeaseEvents,
    held: Arc<HeldSet>,
    status: Arc<WorkerStatus>,
    /// Multi-stream mode: the streams (then also `source`, and behind `factory`).
    multi: Option<Arc<MultiStreamSource>>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("worker_id", &self.worker_id)
            .field("config", &self.config)
            .field("strategy", &self.strategy)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Worker`].
pub struct WorkerBuilder {
    worker_id: String,
    store: Arc<dyn LeaseStore>,
    source: Arc<dyn RecordSource>,
    factory: Arc<dyn ShardRecordProcessorFactory>,
    config: Option<WorkerConfig>,
    strategy: Option<Arc<dyn AssignmentStrategy>>,
    listener: Option<Arc<dyn LeaseEventListener>>,
    on_failure: Option<Arc<dyn FailureDestination>>,
    wall_clock: Option<crate::clock::Clock>,
    multi: Option<Arc<MultiStreamSource>>,
}

impl std::fmt::Debug for WorkerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerBuilder")
            .field("worker_id", &self.worker_id)
            .finish_non_exhaustive()
    }
}

impl WorkerBuilder {
    /// The configuration (default: [`WorkerConfig::builder`]`().build()`).
    pub fn config(mut self, config: WorkerConfig) -> Self {
        self.config = Some(config);
        self
    }

    /// The assignment strategy (default: [`CountBalanced`]).
    pub fn strategy(mut self, strategy: Arc<dyn AssignmentStrategy>) -> Self {
        self.strategy = Some(strategy);
        self
    }

    /// Where batches given up on go (Lambda's `DestinationConfig.OnFailure`; default: none, when they are
    /// dropped with an error log line and `kcl_records_skipped_total`). See
    /// [`ProcessingPolicy`](crate::ProcessingPolicy) for when a batch is given up on.
    pub fn on_failure(mut self, destination: Arc<dyn FailureDestination>) -> Self {
        self.on_failure = Some(destination);
        self
    }

    /// The wall clock record ages and tumbling windows are measured with (default: the system time,
    /// read once and then following tokio time, so paused-time tests move it). Give the in-process
    /// emulator's clock (`move || emulator.clock().now()`) to a worker in a test that advances paused
    /// time before the worker starts, so both agree on "now".
    pub fn wall_clock(mut self, now: impl Fn() -> std::time::SystemTime + Send + Sync + 'static) -> Self {
        self.wall_clock = Some(crate::clock::Clock::from_fn(Arc::new(now)));
        self
    }

    /// Reports every lease taken, released and lost to `listener` (see [`LeaseEvent`](crate::LeaseEvent)),
    /// without wrapping the lease store.
    pub fn lease_event_listener(mut self, listener: impl LeaseEventListener) -> Self {
        self.listener = Some(Arc::new(listener));
        self
    }

    /// Builds the worker.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if the worker id is empty.
    pub fn build(self) -> Result<Worker> {
        if self.worker_id.is_empty() {
            return Err(Error::Config(ConfigError::new(
                "worker_id",
                "must not be empty; use a name unique in the fleet (e.g. host name + process id)",
            )));
        }
        let status = Arc::new(WorkerStatus::default());
        Ok(Worker {
            worker_id: Arc::from(self.worker_id),
            config: Arc::new(self.config.unwrap_or_default()),
            // Every store call is seen by the health check (when the store last answered).
            store: Arc::new(AnswerTracking::new(self.store, Arc::clone(&status))),
            source: self.source,
            factory: self.factory,
            strategy: self.strategy.unwrap_or_else(|| Arc::new(CountBalanced::new())),
            on_failure: self.on_failure,
            wall_clock: self.wall_clock.unwrap_or_else(crate::clock::Clock::new),
            events: LeaseEvents::new(self.listener),
            held: Arc::new(HeldSet::default()),
            status,
            multi: self.multi,
        })
    }
}

impl Worker {
    /// A builder for a worker reading from `source`, coordinating through `store`, with processors from
    /// `factory`, identified in the lease table as `worker_id` (unique in the fleet).
    pub fn builder(
        store: Arc<dyn LeaseStore>,
        source: Arc<dyn RecordSource>,
        factory: impl ShardRecordProcessorFactory,
        worker_id: impl Into<String>,
    ) -> WorkerBuilder {
        WorkerBuilder {
            worker_id: worker_id.into(),
            store,
            source,
            factory: Arc::new(factory),
            config: None,
            strategy: None,
            listener: None,
            on_failure: None,
            wall_clock: None,
            multi: None,
        }
    }

    /// A builder for a worker consuming the streams of `multi` (see [`crate::multi_stream`]): every
    /// stream's shards leased in `store` under multi-stream keys, each shard processed by its stream's
    /// processors, read through its stream's source. The configuration's initial position and processing
    /// policy apply to streams that do not set their own.
    pub fn builder_multi_stream(
        store: Arc<dyn LeaseStore>,
        multi: Arc<MultiStreamSource>,
        worker_id: impl Into<String>,
    ) -> WorkerBuilder {
        let mut builder = Worker::builder(
            store,
            Arc::clone(&multi) as Arc<dyn RecordSource>,
            StreamFactories(Arc::clone(&multi)),
            worker_id,
        );
        builder.multi = Some(multi);
        builder
    }

    /// This worker's id.
    pub fn worker_id(&self) -> &str {
        &self.worker_id
    }

    /// Starts the worker on the current tokio runtime.
    pub fn spawn(self) -> WorkerHandle {
        let (tx, rx) = oneshot::channel::<()>();
        let held = Arc::clone(&self.held);
        let status = Arc::clone(&self.status);
        let worker_id = Arc::clone(&self.worker_id);
        let lease_duration = self.config.lease_duration();
        let task = tokio::spawn(self.run_until(async move {
            let _ = rx.await;
        }));
        WorkerHandle {
            worker_id,
            shutdown: Some(tx),
            task,
            held,
            status,
            lease_duration,
        }
    }

    /// Runs until the surrounding task is dropped or the process ends, without a graceful shutdown. Use
    /// [`Worker::spawn`] + [`WorkerHandle::shutdown`], or [`Worker::run_until`], to stop gracefully.
    ///
    /// # Errors
    ///
    /// As [`Worker::run_until`].
    pub async fn run(self) -> Result<()> {
        self.run_until(std::future::pending()).await
    }

    /// Runs until `signal` completes, then shuts down gracefully (see the [module docs](self)).
    ///
    /// # Errors
    ///
    /// [`Error::Fatal`] when a condition retrying cannot fix persists
    /// ([`fatal_error_attempts`](crate::WorkerConfigBuilder::fatal_error_attempts) failures in a row of the
    /// shard sync or the lease taker, for example a stream that does not exist, access denied, invalid
    /// credentials), or at once when the lease table cannot be ensured for such a reason (a missing table
    /// with creation turned off). The worker first hands off what it holds, as in a graceful shutdown.
    /// Retryable failures (throttling, timeouts, an unreachable store) are logged and retried forever.
    pub async fn run_until(self, signal: impl Future<Output = ()> + Send) -> Result<()> {
        let span = tracing::info_span!("worker", worker_id = %self.worker_id);
        let status = Arc::clone(&self.status);
        let result = self.run_inner(signal).instrument(span).await;
        match &result {
            Ok(()) => status.set_phase(WorkerPhase::Stopped),
            Err(e) => status.set_fatal(kcl_checkpoint::DisplayChain(e).to_string()),
        }
        result
    }

    async fn run_inner(self, signal: impl Future<Output = ()> + Send) -> Result<()> {
        let cfg = Arc::clone(&self.config);
        let worker = self.worker_id.to_string();
        let (view_tx, view_rx) = signal::channel::<LeaseView>(LeaseView::default());
        let (stop_tx, stop_rx) = signal::channel(false);
        let shard_ended = Arc::new(Notify::new());
        let sync_now = Arc::new(Notify::new());
        let mut background = JoinSet::new();
        let jitter = Jitter::new(cfg.jitter_seed());
        let heartbeat_mode = cfg.lease_renewal() == LeaseRenewal::Heartbeat;
        let fleet = heartbeat_mode.then(|| Arc::new(FleetView::default()));
        // Heartbeat mode: woken when a heartbeat shows the table changed since the last scan.
        let scan_now = Arc::new(Notify::new());
        let lease_ctx = Arc::new(LeaseContext {
            worker_id: Arc::clone(&self.worker_id),
            store: Arc::clone(&self.store),
            lease_duration: cfg.lease_duration(),
            graceful_handoff: cfg.graceful_handoff(),
            fleet: fleet.clone(),
            events: self.events.clone(),
            jitter: jitter.clone(),
        });

        // Renewer: every lease, or in heartbeat mode this worker's heartbeat (the first one now, so that
        // peers see this worker before it takes anything).
        if let Some(fleet) = &fleet {
            leases::heartbeat(&lease_ctx, fleet, &self.held, &scan_now).await;
        }
        background.spawn(
            leases::renewer(
                Arc::clone(&lease_ctx),
                Arc::clone(&self.held),
                Arc::clone(&scan_now),
                Arc::clone(&self.status),
                cfg.lease_renewal_interval(),
            )
            .instrument(tracing::info_span!("renewer")),
        );

        // Load reports, for strategies that balance by measured load.
        if self.strategy.wants_load_reports() {
            background.spawn(
                leases::report_loads(Arc::clone(&self.held), Arc::clone(&cfg), worker.clone())
                    .instrument(tracing::info_span!("load reports")),
            );
        }

        tokio::pin!(signal);
        // The lease table must exist (DynamoDB stores create it unless told not to; the in-memory store
        // always has one). Retryable failures (the store not answering) are retried; others are fatal.
        {
            let mut delays = jitter.delays(cfg.source_retry_backoff());
            loop {
                match self.store.ensure_table().await {
                    Ok(_) => break,
                    Err(e) if e.is_retryable() => {
                        let delay = delays.next().unwrap_or(cfg.source_retry_backoff().max_delay);
                        tracing::warn!(error = %DisplayChain(&e), ?delay, "ensuring the lease table failed; retrying");
                        tokio::select! {
                            biased;
                            _ = &mut signal => {
                                background.shutdown().await;
                                return Ok(());
                            }
                            _ = tokio::time::sleep(delay) => {}
                        }
                    }
                    Err(e) => {
                        background.shutdown().await;
                        return Err(Error::Fatal {
                            what: "ensuring the lease table",
                            attempts: 1,
                            cause: Box::new(Error::Store(e)),
                        });
                    }
                }
            }
        }
        // Failures retrying cannot fix, reported by the shard syncer to the main loop.
        let (fatal_tx, mut fatal_rx) = tokio::sync::mpsc::channel::<Error>(1);

        // Shard sync: once now (so the first taker cycle finds leases), then periodically.
        let syncer = ShardSyncer {
            worker_id: Arc::clone(&self.worker_id),
            store: Arc::clone(&self.store),
            source: Arc::clone(&self.source),
            initial_position: cfg.initial_position(),
            announce: heartbeat_mode,
            multi: self.multi.clone(),
        };
        // What shard sync finds for consumers (leases whose shard expired from retention, shards gone).
        let (findings_tx, findings_rx) = signal::channel::<Findings>(Arc::default());
        let mut sync_loop = SyncLoop::new(
            syncer,
            findings_tx,
            Arc::clone(&self.status),
            Arc::clone(&sync_now),
            &cfg,
            jitter.clone(),
        );
        if let Err(fatal) = sync_loop.first().await {
            // A single attempt allowed: stop before taking anything.
            background.shutdown().await;
            return Err(fatal);
        }
        background.spawn(
            sync_loop
                .run(fatal_tx)
                .instrument(tracing::info_span!("shard_sync")),
        );

        let ctx = ConsumerContext {
            worker_id: Arc::clone(&self.worker_id),
            config: Arc::clone(&cfg),
            store: Arc::clone(&self.store),
            source: Arc::clone(&self.source),
            factory: Arc::clone(&self.factory),
            on_failure: self.on_failure.clone(),
            wall_clock: self.wall_clock.clone(),
            view: view_rx,
            findings: findings_rx,
            jitter: jitter.clone(),
            status: Arc::clone(&self.status),
            shard_ended: Arc::clone(&shard_ended),
            settled_at: tokio::time::Instant::now() + cfg.start_up_settle_time(),
            stream: None,
        };
        let coordinator = Coordinator::new(
            lease_ctx,
            Arc::clone(&self.strategy),
            cfg.max_leases_per_worker(),
            Arc::clone(&self.held),
        )
        .with_filter(self.multi.as_ref().map(|multi| {
            let multi = Arc::clone(multi);
            leases::LeaseFilter(Arc::new(move |key: &str| multi.can_consume(key)))
        }));
        let mut taker = Taker::new(coordinator, &cfg, Arc::clone(&self.status), view_tx);
        let mut consumers: JoinSet<(Arc<HeldLease>, ConsumerState)> = JoinSet::new();
        // Which lease each consumer task runs, to recover the lease if a consumer task dies.
        let mut running: HashMap<tokio::task::Id, Arc<HeldLease>> = HashMap::new();
        let mut fatal: Option<Error> = None;
        self.status.set_phase(WorkerPhase::Running);
        tracing::info!("worker started");
        // The worker loop: taker cycles, a consumer per lease taken, finished consumers reaped.
        loop {
            self.status.beat("worker", cfg.lease_taker_interval());
            tokio::select! {
                biased;
                _ = &mut signal => break,
                Some(error) = fatal_rx.recv() => {
                    fatal = Some(error);
                    break;
                }
                Some(done) = consumers.join_next_with_id() => self.reap(done, &mut running).await,
                _ = shard_ended.notified() => {
                    sync_now.notify_one();
                    taker.shard_ended();
                }
                _ = scan_now.notified() => taker.wake(),
                _ = sleep_until(taker.next_take()) => match taker.cycle().await {
                    Ok(taken) => {
                        for lease in taken {
                            self.status.set(lease.key(), ConsumerState::Initializing);
                            // Multi-stream mode: the consumer reads through its stream's source, under its
                            // stream's settings.
                            let consumer_ctx = match &self.multi {
                                Some(multi) => multi.consumer_context(&ctx, lease.key()),
                                None => Some(ctx.clone()),
                            };
                            let lease_for_task = Arc::clone(&lease);
                            let task = match consumer_ctx {
                                Some(consumer_ctx) => {
                                    let consumer = ShardConsumer::new(consumer_ctx, Arc::clone(&lease), stop_rx.clone());
                                    consumers.spawn(
                                        async move { (lease_for_task, consumer.run().await) }
                                            .instrument(tracing::Span::current()),
                                    )
                                }
                                // Its stream was forgotten since the taker's listing (every lease deleted):
                                // hand the lease back.
                                None => consumers.spawn(async move {
                                    if let Err(e) = lease_for_task.release().await {
                                        tracing::debug!(error = %DisplayChain(&e), "releasing a lease of an untracked stream failed");
                                    }
                                    (lease_for_task, ConsumerState::ShuttingDown)
                                }),
                            };
                            running.insert(task.id(), lease);
                        }
                    }
                    Err(error) => {
                        fatal = Some(error);
                        break;
                    }
                },
            }
        }

        // Graceful shutdown: stop taking and syncing, let every consumer hand its lease off.
        match &fatal {
            Some(e) => {
                tracing::error!(error = %DisplayChain(e), leases = self.held.len(), "worker stopping: fatal error")
            }
            None => tracing::info!(leases = self.held.len(), "worker shutting down"),
        }
        self.status.set_phase(WorkerPhase::ShuttingDown);
        stop_tx.send_replace(true);
        while let Some(done) = consumers.join_next_with_id().await {
            self.reap(done, &mut running).await;
        }
        background.shutdown().await;
        if heartbeat_mode {
            if let Err(e) = self.store.leave_fleet(&self.worker_id).await {
                tracing::warn!(error = %DisplayChain(&e), "removing this worker's heartbeat failed");
            }
        }
        metrics::gauge!(m::LEASES_HELD, "worker" => worker).set(0.0);
        tracing::info!("worker stopped");
        match fatal {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Handles a finished consumer task.
    async fn reap(
        &self,
        done: std::result::Result<(tokio::task::Id, (Arc<HeldLease>, ConsumerState)), tokio::task::JoinError>,
        running: &mut HashMap<tokio::task::Id, Arc<HeldLease>>,
    ) {
        match done {
            Ok((id, (lease, state))) => {
                running.remove(&id);
                tracing::debug!(shard_id = %lease.key(), %state, "consumer finished");
                lease.forget();
                self.held.remove(lease.key(), &lease);
                self.status.remove(lease.key());
            }
            Err(e) => {
                // A consumer task died (a bug: processor panics are caught). Hand its lease back so the
                // shard is not stuck behind a lease renewed with nobody consuming it.
                tracing::error!(error = %e, "a consumer task died; releasing its lease");
                if let Some(lease) = running.remove(&e.id()) {
                    if let Err(e) = lease.release().await {
                        tracing::warn!(error = %DisplayChain(&e), "releasing the lease of a dead consumer failed");
                    }
                    self.held.remove(lease.key(), &lease);
                    self.status.remove(lease.key());
                }
            }
        }
    }
}
