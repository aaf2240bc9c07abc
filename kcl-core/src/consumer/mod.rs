//! One consumer per leased shard: an explicit state machine.
//!
//! ```text
//! WaitingOnParents ──► Initializing ──► Processing ──► ShardEnded
//!        │                  │               ├────────► LeaseLost
//!        │                  │               ├────────► HandedOff
//!        │                  │               ├────────► ShuttingDown
//!        └──────────────────┴───────────────┴────────► (lease lost / shutdown before processing)
//!                                           └────────► Failed (RetryThenStop policy exhausted)
//! ```
//!
//! - **WaitingForPreviousOwner** (stolen leases only): waits until the previous owner has stopped. For a
//!   handoff, until it finished (it checkpointed; polled every lease duration / 40, between 50 and
//!   500 ms) or, failing that, until its lease has run out on its own clock, when this consumer ends the
//!   handoff with a fenced take. For a takeover, until the previous owner's lease has run out.
//! - **WaitingOnParents**: a child shard waits until every parent is finished (`SHARD_END`) or provably
//!   gone, whichever worker owns them, watching the taker's lease-table view and shard sync's findings
//!   (no extra store reads). A parent merely absent from the table is waited for (shard sync creates its
//!   lease); see `LeaseTable::parents_done`.
//! - **Initializing**: re-reads the lease and checks it is still ours (a lease stolen meanwhile stops the
//!   consumer here), creates the processor and calls `initialize` with the checkpoint just read (retried
//!   with backoff on failure).
//! - **Processing**: takes batches from the shard's reader (read ahead by `retrieval`), skips anything at or below the checkpoint,
//!   calls `process_records` under the error policy. A lost lease or a shutdown is acted on between
//!   batches, never in the middle of one; no batch starts on a lease whose validity ran out.
//! - **ShardEnded**: creates the children's leases, calls `shard_ended` until it checkpoints `SHARD_END`,
//!   then releases the lease.
//! - **LeaseLost**: calls `lease_lost`. **ShuttingDown**: calls `shutdown_requested`, then releases the
//!   lease so another worker takes it at once. **HandedOff**: another worker asked for the lease; after
//!   the batch in hand, calls `shutdown_requested` (its checkpoints are written as the previous owner's)
//!   and finishes the handoff, so the new owner starts from that checkpoint.

use std::sync::Arc;

use kcl_checkpoint::{DisplayChain, Lease, LeaseStore};
use tokio::sync::Notify;
use tracing::Instrument;

use crate::checkpointer::Checkpointer;
use crate::config::{Jitter, WorkerConfig};
use crate::held::HeldLease;
use crate::leases::LeaseView;
use crate::metrics as m;
use crate::processor::{ShardRecordProcessor, ShardRecordProcessorFactory};
use crate::shard_sync::SyncFindings;
use crate::signal;
use crate::source::RecordSource;
use crate::status::WorkerStatus;

pub(crate) use crate::consumer_state::ConsumerState;

/// Evaluates `$attempt` until it is `Ok`, running `$failed` on each error (bound to `$e`) and pausing with
/// delays from `$backoff` between attempts; a lost lease, a handoff or a shutdown during a pause ends the
/// retries. Evaluates to `Ok(value)` or `Err(stop)`. (A macro rather than a function taking an async
/// closure: the attempts borrow the processor mutably, and the consumer's future must stay `Send`.)
macro_rules! retry {
    ($consumer:expr, $backoff:expr, $attempt:expr, |$e:ident| $failed:expr) => {{
        let backoff = $backoff;
        let mut delays = $consumer.ctx.jitter.delays(backoff);
        loop {
            match $attempt {
                Ok(value) => break Ok(value),
                Err($e) => {
                    $failed;
                    let delay = delays.next().unwrap_or(backoff.max_delay);
                    if let Some(stop) = $consumer.pause(delay).await {
                        break Err(stop);
                    }
                }
            }
        }
    }};
}

mod batcher;
mod calls;
mod delivery;
mod lanes;
mod processing;
mod waiting;
mod watermark;

use calls::{guarded, lease_lost};

/// Everything a consumer needs from its worker.
#[derive(Clone)]
pub(crate) struct ConsumerContext {
    pub(crate) worker_id: Arc<str>,
    pub(crate) config: Arc<WorkerConfig>,
    pub(crate) store: Arc<dyn LeaseStore>,
    pub(crate) source: Arc<dyn RecordSource>,
    pub(crate) factory: Arc<dyn ShardRecordProcessorFactory>,
    /// Where batches given up on go (none: dropped with a log line and a metric).
    pub(crate) on_failure: Option<Arc<dyn crate::policy::FailureDestination>>,
    /// Wall time for record ages and tumbling windows (follows tokio time).
    pub(crate) wall_clock: crate::clock::Clock,
    pub(crate) view: signal::Receiver<LeaseView>,
    /// What shard sync found: leases whose shard expired from retention, shards gone from the stream.
    pub(crate) findings: signal::Receiver<Findings>,
    /// Seeds backoff jitter.
    pub(crate) jitter: Jitter,
    pub(crate) status: Arc<WorkerStatus>,
    /// Woken when a shard ends here (children may now start; run shard sync and the taker soon).
    pub(crate) shard_ended: Arc<Notify>,
    /// No processor starts before this instant (the worker's start-up settle time).
    pub(crate) settled_at: tokio::time::Instant,
    /// In multi-stream mode, the stream of this consumer's lease: `source` and `config` are then that
    /// stream's (see [`crate::multi_stream`]; the shard is read by its plain shard id), and `factory`
    /// dispatches on the lease key to the stream's factory. `None` for a single-stream worker, whose
    /// lease keys are the shard ids.
    pub(crate) stream: Option<kcl_checkpoint::StreamIdentifier>,
}

/// Shard sync's latest findings, shared with consumers.
pub(crate) type Findings = Arc<SyncFindings>;

/// Why the processing loop stopped.
enum Stop {
    ShardEnd,
    Lost,
    /// Another worker asked for the lease.
    HandOff,
    Shutdown,
    Failed,
}

/// Runs one shard's consumer to its end.
pub(crate) struct ShardConsumer {
    ctx: ConsumerContext,
    lease: Arc<HeldLease>,
    /// The shard id as the source knows it (the lease key, or its shard part in multi-stream mode).
    shard_id: String,
    /// The `stream` label of this consumer's metrics.
    stream_label: String,
    shutdown: signal::Receiver<bool>,
    lost: signal::Receiver<bool>,
    handoff: signal::Receiver<bool>,
    /// `process_records` call durations (registered once, not per batch).
    batch_seconds: metrics::Histogram,
}

impl ShardConsumer {
    pub(crate) fn new(ctx: ConsumerContext, lease: Arc<HeldLease>, shutdown: signal::Receiver<bool>) -> Self {
        let lost = lease.lost_signal();
        let handoff = lease.handoff_signal();
        let batch_seconds =
            metrics::histogram!(m::BATCH_PROCESSING_SECONDS, "worker" => ctx.worker_id.to_string());
        let key = kcl_checkpoint::LeaseKey::new(lease.key());
        let (shard_id, stream_label) = match &ctx.stream {
            Some(stream) => (key.shard_id().to_owned(), stream.stream_name.clone()),
            None => (lease.key().to_owned(), ctx.source.stream().unwrap_or_default()),
        };
        ShardConsumer {
            ctx,
            lease,
            shard_id,
            stream_label,
            shutdown,
            lost,
            handoff,
            batch_seconds,
        }
    }

    fn set_state(&self, state: ConsumerState) {
        self.ctx.status.set(self.lease.key(), state);
        tracing::debug!(%state, "consumer state");
    }

    /// Why the consumer must stop now, if it must: the lease is lost (or its validity on our clock ran
    /// out), another worker asked for it, or the worker shuts down.
    fn stopping(&self) -> Option<Stop> {
        if !self.lease.check_valid() {
            Some(Stop::Lost)
        } else if self.lease.is_handing_off() {
            Some(Stop::HandOff)
        } else if *self.shutdown.borrow() {
            Some(Stop::Shutdown)
        } else {
            None
        }
    }

    /// Waits for `delay`, returning early with the reason if the lease is lost or shutdown is requested.
    /// Resolves when the lease is lost, handed off, or shutdown is requested, with the reason (looked at in
    /// that order); every wait of the consumer races it, first.
    fn stop_requested(&self) -> impl std::future::Future<Output = Stop> + 'static {
        let (mut lost, mut handoff, mut shutdown) =
            (self.lost.clone(), self.handoff.clone(), self.shutdown.clone());
        async move {
            tokio::select! {
                biased;
                _ = lost.wait_for(|l| *l) => Stop::Lost,
                _ = handoff.wait_for(|h| *h) => Stop::HandOff,
                _ = shutdown.wait_for(|s| *s) => Stop::Shutdown,
            }
        }
    }

    async fn pause(&self, delay: std::time::Duration) -> Option<Stop> {
        self.pause_until(tokio::time::Instant::now() + delay).await
    }

    /// Waits until `deadline`, returning early with the reason if the lease is lost or shutdown is
    /// requested.
    async fn pause_until(&self, deadline: tokio::time::Instant) -> Option<Stop> {
        tokio::select! {
            biased;
            stop = self.stop_requested() => Some(stop),
            _ = tokio::time::sleep_until(deadline) => self.stopping(),
        }
    }

    /// Runs the consumer and returns the state it ended in.
    pub(crate) async fn run(mut self) -> ConsumerState {
        let span = tracing::info_span!("shard", shard_id = %self.lease.key());
        async move {
            let end = self.run_inner().await;
            self.set_state(end);
            end
        }
        .instrument(span)
        .await
    }

    /// Releases the lease (graceful hand-off), logging failures.
    async fn release(&self) {
        if let Err(e) = self.lease.release().await {
            tracing::warn!(error = %DisplayChain(&e), "releasing the lease failed; it will expire instead");
        }
    }

    async fn run_inner(&mut self) -> ConsumerState {
        // WaitingForPreviousOwner.
        if let Some(at) = self.lease.start_not_before() {
            self.set_state(ConsumerState::WaitingForPreviousOwner);
            let waited = if self.lease.awaits_handoff().is_some() {
                self.wait_for_handoff(at).await
            } else {
                self.pause_until(at).await
            };
            if let Some(stop) = waited {
                return self.stop_before_processing(stop).await;
            }
        }

        // WaitingOnParents.
        let lease = self.lease.lease().await;
        if !lease.parent_shard_ids.is_empty() {
            self.set_state(ConsumerState::WaitingOnParents);
            if let Some(stop) = self.wait_for_parents(&lease).await {
                return self.stop_before_processing(stop).await;
            }
        }

        // Initializing: the lease must still be ours, exactly as we last wrote it, and the checkpoint the
        // processor starts from is the one stored now. Right after the worker started, not before the
        // fleet had its first taker cycles to balance in (a lease asked for meanwhile is handed over
        // without a processor ever starting here).
        self.set_state(ConsumerState::Initializing);
        if tokio::time::Instant::now() < self.ctx.settled_at {
            if let Some(stop) = self.pause_until(self.ctx.settled_at).await {
                return self.stop_before_processing(stop).await;
            }
        }
        let lease = match self.verify().await {
            Ok(lease) => lease,
            Err(stop) => return self.stop_before_processing(stop).await,
        };
        if lease.is_shard_end() {
            self.release().await;
            return ConsumerState::ShardEnded;
        }
        let mut processor = match self.create_processor().await {
            Ok(processor) => processor,
            Err(stop) => return self.stop_before_processing(stop).await,
        };
        if let Some(stop) = self.initialize(&mut processor, &lease).await {
            return match stop {
                Stop::Lost => {
                    lease_lost(&mut processor).await;
                    self.lease.forget();
                    ConsumerState::LeaseLost
                }
                _ => self.stop_before_processing(stop).await,
            };
        }

        // Processing.
        self.set_state(ConsumerState::Processing);
        let checkpointer = Checkpointer::new(
            Arc::clone(&self.lease),
            self.shard_id.clone(),
            lease.checkpoint.clone(),
        );
        let stop = self.process(&mut processor, &checkpointer, &lease).await;
        match stop {
            Stop::ShardEnd => self.finish_shard(&mut processor, &checkpointer).await,
            Stop::Lost => {
                lease_lost(&mut processor).await;
                self.lease.forget();
                ConsumerState::LeaseLost
            }
            Stop::Shutdown | Stop::HandOff => {
                if let Err(e) = guarded(processor.shutdown_requested(&checkpointer)).await {
                    tracing::warn!(error = %DisplayChain(&*e), "shutdown_requested failed; handing off the lease anyway");
                }
                // Releases the lease, or finishes the handoff when another worker asked for it (also
                // when the worker was shutting down at the same time).
                let handing_off = self.lease.is_handing_off();
                self.release().await;
                if handing_off {
                    ConsumerState::HandedOff
                } else {
                    ConsumerState::ShuttingDown
                }
            }
            Stop::Failed => {
                // Not held hostage: another worker (or this one, later) starts the shard again from
                // its last checkpoint.
                self.release().await;
                ConsumerState::Failed
            }
        }
    }

    /// Re-reads the lease and checks it is still ours (retrying failed reads with backoff).
    async fn verify(&self) -> Result<Lease, Stop> {
        let found = retry!(
            self,
            self.ctx.config.source_retry_backoff(),
            self.lease.verify().await,
            |e| tracing::warn!(error = %DisplayChain(&e), "re-reading the lease before starting failed; retrying")
        )?;
        match found {
            Some(lease) => Ok(lease),
            None if self.lease.is_handing_off() => Err(Stop::HandOff),
            None => Err(Stop::Lost),
        }
    }

    async fn stop_before_processing(&self, stop: Stop) -> ConsumerState {
        match stop {
            Stop::Lost => {
                self.lease.forget();
                ConsumerState::LeaseLost
            }
            _ => {
                let handing_off = self.lease.is_handing_off();
                self.release().await;
                if handing_off {
                    ConsumerState::HandedOff
                } else {
                    ConsumerState::ShuttingDown
                }
            }
        }
    }
}
