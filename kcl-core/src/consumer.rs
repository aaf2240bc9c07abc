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

use kcl_checkpoint::DisplayChain;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::FutureExt;
use kcl_checkpoint::{ExtendedSequenceNumber, Lease, LeaseStore};
use tokio::sync::Notify;
use tracing::Instrument;

use crate::checkpointer::Checkpointer;
use crate::config::{InitialPosition, Jitter, ProcessorErrorPolicy, WorkerConfig};
use crate::held::{HandoffProgress, HeldLease};
use crate::leases::LeaseView;
use crate::metrics as m;
use crate::processor::{
    InitializationInput, ProcessorError, ShardRecordProcessor, ShardRecordProcessorFactory,
};
use crate::retrieval::Prefetcher;
use crate::shard_sync::SyncFindings;
use crate::signal;
use crate::source::{IteratorPosition, ReadRequest, RecordSource};
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

/// Everything a consumer needs from its worker.
#[derive(Clone)]
pub(crate) struct ConsumerContext {
    pub(crate) worker_id: Arc<str>,
    pub(crate) config: Arc<WorkerConfig>,
    pub(crate) store: Arc<dyn LeaseStore>,
    pub(crate) source: Arc<dyn RecordSource>,
    pub(crate) factory: Arc<dyn ShardRecordProcessorFactory>,
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
    shutdown: signal::Receiver<bool>,
    lost: signal::Receiver<bool>,
    handoff: signal::Receiver<bool>,
    /// `process_records` call durations (registered once, not per batch).
    batch_seconds: metrics::Histogram,
}

/// Calls a processor method, turning a panic into an error.
async fn guarded<F>(fut: F) -> Result<(), ProcessorError>
where
    F: std::future::Future<Output = Result<(), ProcessorError>> + Send,
{
    match AssertUnwindSafe(fut).catch_unwind().await {
        Ok(result) => result,
        Err(panic) => Err(format!("processor panicked: {}", panic_message(panic.as_ref())).into()),
    }
}

/// Describes a panic payload.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned())
}

/// Tells the processor its lease is gone (a panic there is logged, nothing else can be done).
async fn lease_lost(processor: &mut dyn ShardRecordProcessor) {
    let result = guarded(async {
        processor.lease_lost().await;
        Ok(())
    })
    .await;
    if let Err(e) = result {
        tracing::warn!(error = %DisplayChain(&*e), "lease_lost failed");
    }
}

impl ShardConsumer {
    pub(crate) fn new(ctx: ConsumerContext, lease: Arc<HeldLease>, shutdown: signal::Receiver<bool>) -> Self {
        let lost = lease.lost_signal();
        let handoff = lease.handoff_signal();
        let batch_seconds =
            metrics::histogram!(m::BATCH_PROCESSING_SECONDS, "worker" => ctx.worker_id.to_string());
        ShardConsumer {
            ctx,
            lease,
            shutdown,
            lost,
            handoff,
            batch_seconds,
        }
    }

    fn set_state(&self, state: ConsumerState) {
        self.ctx.status.set(self.lease.shard_id(), state);
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
    async fn pause(&self, delay: std::time::Duration) -> Option<Stop> {
        self.pause_until(tokio::time::Instant::now() + delay).await
    }

    /// Waits until `deadline`, returning early with the reason if the lease is lost or shutdown is
    /// requested.
    async fn pause_until(&self, deadline: tokio::time::Instant) -> Option<Stop> {
        let (mut lost, mut shutdown) = (self.lost.clone(), self.shutdown.clone());
        let mut handoff = self.handoff.clone();
        tokio::select! {
            biased;
            _ = lost.wait_for(|l| *l) => Some(Stop::Lost),
            _ = handoff.wait_for(|h| *h) => Some(Stop::HandOff),
            _ = shutdown.wait_for(|s| *s) => Some(Stop::Shutdown),
            _ = tokio::time::sleep_until(deadline) => self.stopping(),
        }
    }

    /// Runs the consumer and returns the state it ended in.
    pub(crate) async fn run(mut self) -> ConsumerState {
        let span = tracing::info_span!("shard", shard_id = %self.lease.shard_id());
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
        if let Some(stop) = self.initialize(processor.as_mut(), &lease).await {
            return match stop {
                Stop::Lost => {
                    lease_lost(processor.as_mut()).await;
                    self.lease.forget();
                    ConsumerState::LeaseLost
                }
                _ => self.stop_before_processing(stop).await,
            };
        }

        // Processing.
        self.set_state(ConsumerState::Processing);
        let checkpointer = Checkpointer::new(Arc::clone(&self.lease), lease.checkpoint.clone());
        let stop = self.process(processor.as_mut(), &checkpointer, &lease).await;
        match stop {
            Stop::ShardEnd => self.finish_shard(processor.as_mut(), &checkpointer).await,
            Stop::Lost => {
                lease_lost(processor.as_mut()).await;
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

    /// For a lease handed to this worker: waits until the previous owner finished the handoff, or until
    /// `deadline` (its lease has surely run out), then ends the handoff with a fenced take.
    async fn wait_for_handoff(&mut self, deadline: tokio::time::Instant) -> Option<Stop> {
        let poll = (self.ctx.config.lease_duration() / 40).clamp(
            std::time::Duration::from_millis(50),
            std::time::Duration::from_millis(500),
        );
        loop {
            let now = tokio::time::Instant::now();
            if now >= deadline {
                break;
            }
            if let Some(stop) = self.pause_until((now + poll).min(deadline)).await {
                return Some(stop);
            }
            match self.lease.handoff_progress().await {
                Ok(HandoffProgress::Finished) => return None,
                Ok(HandoffProgress::Pending) => {}
                Ok(HandoffProgress::Lost) => return Some(Stop::Lost),
                Err(e) => tracing::debug!(error = %DisplayChain(&e), "reading the handoff's progress failed"),
            }
        }
        loop {
            match self.lease.end_handoff().await {
                Ok(true) => {
                    metrics::counter!(m::HANDOFFS_TIMED_OUT, "worker" => self.ctx.worker_id.to_string())
                        .increment(1);
                    return None;
                }
                Ok(false) => return Some(Stop::Lost),
                Err(e) => {
                    tracing::warn!(error = %DisplayChain(&e), "ending an unanswered handoff failed; retrying");
                    if let Some(stop) = self.pause(poll).await {
                        return Some(stop);
                    }
                }
            }
        }
    }

    /// Waits until every parent of `lease` is finished or provably gone.
    async fn wait_for_parents(&mut self, lease: &Lease) -> Option<Stop> {
        let mut warned = false;
        let mut view = self.ctx.view.clone();
        let mut findings = self.ctx.findings.clone();
        let (mut lost, mut shutdown) = (self.lost.clone(), self.shutdown.clone());
        let mut handoff = self.handoff.clone();
        loop {
            {
                let table = view.borrow_and_update();
                let found = findings.borrow_and_update();
                if table.parents_done(&lease.parent_shard_ids, &lease.checkpoint, &found.gone) {
                    return None;
                }
                if !warned {
                    if let Some(p) = lease
                        .parent_shard_ids
                        .iter()
                        .find(|p| table.malformed.contains(*p))
                    {
                        warned = true;
                        tracing::warn!(parent = %p, "parent lease item is malformed; waiting until it is repaired");
                    }
                }
            }
            tokio::select! {
                biased;
                _ = lost.wait_for(|l| *l) => return Some(Stop::Lost),
                _ = handoff.wait_for(|h| *h) => return Some(Stop::HandOff),
                _ = shutdown.wait_for(|s| *s) => return Some(Stop::Shutdown),
                // An error means the worker is gone.
                r = view.changed() => if r.is_err() { return Some(Stop::Shutdown) },
                r = findings.changed() => if r.is_err() { return Some(Stop::Shutdown) },
            }
        }
    }

    /// Creates the processor; a panicking factory is retried with backoff like a failing `initialize`
    /// (the consumer keeps its lease instead of dying with it).
    async fn create_processor(&self) -> Result<Box<dyn ShardRecordProcessor>, Stop> {
        let shard_id = self.lease.shard_id();
        let factory = &self.ctx.factory;
        retry!(
            self,
            self.ctx.config.processor_retry_backoff(),
            std::panic::catch_unwind(AssertUnwindSafe(|| factory.create_processor(shard_id)))
                .map_err(|panic| panic_message(panic.as_ref())),
            |panic| {
                tracing::warn!(%panic, "the processor factory panicked; retrying");
                self.count_failure();
            }
        )
    }

    async fn initialize(&self, processor: &mut dyn ShardRecordProcessor, lease: &Lease) -> Option<Stop> {
        let input = InitializationInput {
            shard_id: self.lease.shard_id().to_owned(),
            checkpoint: lease.checkpoint.clone(),
            pending_checkpoint: lease.pending_checkpoint.clone(),
            pending_checkpoint_state: lease.pending_checkpoint_state.clone(),
        };
        retry!(
            self,
            self.ctx.config.processor_retry_backoff(),
            guarded(processor.initialize(&input)).await,
            |e| {
                tracing::warn!(error = %DisplayChain(&*e), "initialize failed; retrying");
                self.count_failure();
            }
        )
        .err()
    }

    fn count_failure(&self) {
        metrics::counter!(m::PROCESSOR_FAILURES, "worker" => self.ctx.worker_id.to_string()).increment(1);
    }

    /// Where reading starts for a checkpoint, and whether records at or below it must be filtered.
    fn start_position(&self, checkpoint: &ExtendedSequenceNumber) -> IteratorPosition {
        match checkpoint {
            ExtendedSequenceNumber::Latest => IteratorPosition::Latest,
            ExtendedSequenceNumber::AtTimestamp => match self.ctx.config.initial_position() {
                InitialPosition::AtTimestamp(at) => IteratorPosition::AtTimestamp(at),
                _ => IteratorPosition::TrimHorizon,
            },
            // Re-read the checkpointed record and drop what was checkpointed: for a plain record that is
            // the record itself; for a KPL aggregate, its user records up to and including the
            // checkpointed sub-record (sub-record 0 included: the rest of the aggregate follows).
            ExtendedSequenceNumber::Sequence { sequence, .. } => {
                IteratorPosition::AtSequence(sequence.clone())
            }
            ExtendedSequenceNumber::TrimHorizon | ExtendedSequenceNumber::ShardEnd => {
                IteratorPosition::TrimHorizon
            }
        }
    }

    async fn process(
        &mut self,
        processor: &mut dyn ShardRecordProcessor,
        checkpointer: &Checkpointer,
        lease: &Lease,
    ) -> Stop {
        let cfg = Arc::clone(&self.ctx.config);
        let start = self.start_position(&lease.checkpoint);
        let mut resume_after = match &lease.checkpoint {
            c @ ExtendedSequenceNumber::Sequence { .. } => Some(c.clone()),
            _ => None,
        };
        let request = ReadRequest::new(self.lease.shard_id(), start)
            .with_max_records(cfg.max_records_per_call())
            .with_idle_time_between_reads(cfg.idle_time_between_reads());
        let mut prefetcher = Prefetcher::spawn(
            self.ctx.source.open_reader(request),
            self.lease.shard_id(),
            lease.hash_key_range,
            &cfg,
            &self.ctx.jitter,
            Arc::clone(&self.ctx.worker_id),
        );
        let worker = self.ctx.worker_id.to_string();
        let records_counter = metrics::counter!(m::RECORDS_PROCESSED, "worker" => worker.clone());
        let bytes_counter = metrics::counter!(m::BYTES_PROCESSED, "worker" => worker.clone());
        let behind_gauge = metrics::gauge!(
            m::MILLIS_BEHIND_LATEST,
            "worker" => worker.clone(),
            "shard" => self.lease.shard_id().to_owned()
        );
        let behind_histogram = metrics::histogram!(m::BATCH_MILLIS_BEHIND_LATEST, "worker" => worker);
        loop {
            if let Some(stop) = self.stopping() {
                return stop;
            }
            let (mut lost, mut shutdown) = (self.lost.clone(), self.shutdown.clone());
            let mut handoff = self.handoff.clone();
            let mut findings = self.ctx.findings.clone();
            let shard_id = self.lease.shard_id();
            let batch = tokio::select! {
                biased;
                _ = lost.wait_for(|l| *l) => return Stop::Lost,
                _ = handoff.wait_for(|h| *h) => return Stop::HandOff,
                _ = shutdown.wait_for(|s| *s) => return Stop::Shutdown,
                batch = prefetcher.next() => batch,
                Ok(_) = findings.wait_for(|f| f.expired.contains(shard_id)) => {
                    // Shard sync proved the (closed) shard trimmed away: nothing more can be read.
                    tracing::warn!("shard expired from retention; ending it so its children proceed");
                    metrics::counter!(m::SHARDS_EXPIRED, "worker" => self.ctx.worker_id.to_string())
                        .increment(1);
                    checkpointer.reached_shard_end();
                    return Stop::ShardEnd;
                }
            };
            let Some(mut batch) = batch else {
                // The reader only stops at the shard end, which arrives as a batch first.
                tracing::warn!("the shard's reader stopped unexpectedly; treating the shard as ended");
                checkpointer.reached_shard_end();
                return Stop::ShardEnd;
            };
            let input = &mut batch.input;
            if let Some(ms) = input.millis_behind_latest {
                behind_gauge.set(ms as f64);
                behind_histogram.record(ms as f64);
            }
            if let Some(after) = &resume_after {
                input.records.retain(|r| r.extended_sequence_number() > *after);
                if !input.records.is_empty() {
                    resume_after = None;
                }
            }
            // No batch starts on a lease lost (or run out) while the batch was being read.
            if let Some(stop) = self.stopping() {
                return stop;
            }
            let at_end = input.at_shard_end;
            if !input.records.is_empty() || at_end || cfg.process_empty_batches() {
                match self.deliver(processor, &batch.input, checkpointer).await {
                    Delivery::Done => {
                        self.lease
                            .meter()
                            .record(batch.input.records.len() as u64, batch.input.size_bytes() as u64);
                        records_counter.increment(batch.input.records.len() as u64);
                        bytes_counter.increment(batch.input.size_bytes() as u64);
                        self.ctx.status.batch(
                            self.lease.shard_id(),
                            batch.input.millis_behind_latest,
                            batch.input.records.len() as u64,
                        );
                    }
                    Delivery::Skipped => {}
                    Delivery::Stop(stop) => return stop,
                }
            }
            if at_end {
                checkpointer.reached_shard_end();
                self.create_children(&batch.input.child_shards).await;
                return Stop::ShardEnd;
            }
        }
    }

    /// Delivers one batch under the error policy.
    async fn deliver(
        &mut self,
        processor: &mut dyn ShardRecordProcessor,
        input: &crate::processor::ProcessRecordsInput,
        checkpointer: &Checkpointer,
    ) -> Delivery {
        let policy = self.ctx.config.processor_error_policy();
        let backoff = self.ctx.config.processor_retry_backoff();
        let mut delays = self.ctx.jitter.delays(backoff);
        let mut retries: u32 = 0;
        let end = input
            .records
            .last()
            .map(crate::record::Record::extended_sequence_number);
        loop {
            // While the call runs, the processor may checkpoint up to the end of the batch in hand.
            checkpointer.begin_batch(end.clone());
            let started = tokio::time::Instant::now();
            let result = guarded(processor.process_records(input, checkpointer)).await;
            self.batch_seconds.record(started.elapsed().as_secs_f64());
            let err = match result {
                Ok(()) => {
                    checkpointer.batch_succeeded();
                    return Delivery::Done;
                }
                Err(e) => e,
            };
            // Once the call failed, nothing after the last successful batch may be checkpointed (in
            // `shutdown_requested`, or by a clone kept by the processor) until a retry succeeds.
            checkpointer.batch_failed();
            self.count_failure();
            // A lost lease ends the shard here: the new owner processes the batch again.
            if self.lease.is_lost() {
                tracing::warn!(error = %DisplayChain(&*err), "process_records failed after the lease was lost");
                return Delivery::Stop(Stop::Lost);
            }
            let exhausted = match policy {
                ProcessorErrorPolicy::RetryForever => None,
                ProcessorErrorPolicy::RetryThenSkip { max_retries }
                | ProcessorErrorPolicy::RetryThenStop { max_retries } => {
                    (retries >= max_retries).then_some(policy)
                }
            };
            match exhausted {
                Some(ProcessorErrorPolicy::RetryThenSkip { .. }) => {
                    tracing::error!(
                        error = %DisplayChain(&*err),
                        records = input.records.len(),
                        first = ?input.records.first().map(|r| r.sequence_number.to_string()),
                        "process_records kept failing; skipping the batch as configured (RetryThenSkip)"
                    );
                    metrics::counter!(m::RECORDS_SKIPPED, "worker" => self.ctx.worker_id.to_string())
                        .increment(input.records.len() as u64);
                    // Skipped on purpose (logged and counted): later checkpoints may pass it.
                    checkpointer.begin_batch(end);
                    checkpointer.batch_succeeded();
                    return Delivery::Skipped;
                }
                Some(_) => {
                    tracing::error!(
                        error = %DisplayChain(&*err),
                        "process_records kept failing; stopping the shard as configured (RetryThenStop)"
                    );
                    return Delivery::Stop(Stop::Failed);
                }
                None => {}
            }
            retries = retries.saturating_add(1);
            let delay = delays.next().unwrap_or(backoff.max_delay);
            tracing::warn!(error = %DisplayChain(&*err), retry = retries, ?delay, "process_records failed; retrying the batch");
            if let Some(stop) = self.pause(delay).await {
                return Delivery::Stop(stop);
            }
        }
    }

    /// Creates leases for the children reported at the shard end and records them on our lease (see
    /// [`shard_sync::create_child_leases`](crate::shard_sync::create_child_leases)).
    async fn create_children(&self, children: &[crate::record::ChildShard]) {
        crate::shard_sync::create_child_leases(&*self.ctx.store, &self.ctx.worker_id, &self.lease, children)
            .await;
    }

    /// Calls `shard_ended` until the processor checkpoints `SHARD_END`, then releases the lease.
    async fn finish_shard(
        &mut self,
        processor: &mut dyn ShardRecordProcessor,
        checkpointer: &Checkpointer,
    ) -> ConsumerState {
        let backoff = self.ctx.config.processor_retry_backoff();
        let mut delays = self.ctx.jitter.delays(backoff);
        loop {
            let result = guarded(processor.shard_ended(checkpointer)).await;
            if checkpointer.last_checkpoint().is_shard_end() {
                if let Err(e) = result {
                    tracing::warn!(error = %DisplayChain(&*e), "shard_ended failed after checkpointing SHARD_END");
                }
                break;
            }
            if self.lease.is_lost() {
                lease_lost(processor).await;
                self.lease.forget();
                return ConsumerState::LeaseLost;
            }
            match result {
                Ok(()) => {
                    tracing::warn!("shard_ended returned without checkpointing SHARD_END; calling it again")
                }
                Err(e) => {
                    self.count_failure();
                    tracing::warn!(error = %DisplayChain(&*e), "shard_ended failed; calling it again");
                }
            }
            let delay = delays.next().unwrap_or(backoff.max_delay);
            // Shutdown does not interrupt: the shard is finished only once SHARD_END is checkpointed, and
            // a shutdown here hands the lease over with the processor told.
            match self.pause(delay).await {
                Some(Stop::Lost) => {
                    lease_lost(processor).await;
                    self.lease.forget();
                    return ConsumerState::LeaseLost;
                }
                Some(_) => {
                    if let Err(e) = guarded(processor.shutdown_requested(checkpointer)).await {
                        tracing::warn!(error = %DisplayChain(&*e), "shutdown_requested failed");
                    }
                    self.release().await;
                    return ConsumerState::ShuttingDown;
                }
                None => {}
            }
        }
        self.release().await;
        self.ctx.shard_ended.notify_one();
        tracing::info!("shard finished");
        ConsumerState::ShardEnded
    }
}

enum Delivery {
    Done,
    Skipped,
    Stop(Stop),
}
