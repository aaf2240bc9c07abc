//! A lease this worker holds, shared by the renewer and the shard's consumer and checkpointer.
//!
//! Every write to a held lease (renew, checkpoint, prepare, release) goes through [`HeldLease`], which
//! keeps the lease as last stored behind an async mutex. Writes are therefore serialised per lease, so the
//! renewer and the checkpointer never fence each other out, and each write is made against the counter
//! the previous one returned. A fenced write that loses (`Conflict`) means another worker took the lease:
//! the lease is marked lost, which the consumer observes through [`HeldLease::lost_signal`].
//!
//! **Validity on our own clock.** A held lease is valid until `lease_duration` after the *request* of its
//! last successful write was sent (in heartbeat mode: of the take, or of the last heartbeat that may
//! extend it, see [`crate::fleet`]; checkpoints do not extend it there, since peers judge expiry by the
//! owner's heartbeat alone) (not after the response arrived: a slow write must not make this worker
//! believe it owns the lease longer than its peers do, who time expiry from when they saw the counter
//! move). The consumer starts no batch on a lease that is no longer valid, and the renewer marks it lost.
//! A worker that takes a lease from a live owner (a steal) starts processing only once the previous
//! owner's validity has run out ([`HeldLease::start_not_before`]), so two processors never start batches
//! of one shard at the same time.
//!
//! **Handoffs.** A lease moved for balance is handed off cooperatively (see
//! [`kcl_checkpoint::store`](kcl_checkpoint::store#cooperative-handoffs)). On the *previous owner*, a renewal
//! or checkpoint fenced out by a handoff request (the re-read shows this worker as checkpoint owner), or a
//! listing that shows one, switches the lease to *handing off* ([`HeldLease::handoff_signal`]): it is no
//! longer renewed, its checkpoints are written as the checkpoint owner and do not extend its validity, and
//! [`HeldLease::release`] finishes the handoff. On the *new owner*, the lease comes with the previous
//! owner recorded ([`HeldLease::awaits_handoff`]): its consumer waits until
//! [`HeldLease::handoff_progress`] sees the handoff finished, or ends it with a fenced take
//! ([`HeldLease::end_handoff`]) once the previous owner's validity has surely run out.
//!
//! **Checkpoint retries.** A checkpoint that fails with a retryable store error (throttling, timeout) is
//! retried here, with jittered backoff, for as long as the lease stays valid; a retry that loses its
//! fence after an ambiguous failure re-reads the lease to see whether the earlier attempt landed.

use kcl_checkpoint::DisplayChain;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use bytes::Bytes;
use kcl_checkpoint::{ExtendedSequenceNumber, Lease, LeaseStore};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::config::{Backoff, Jitter};
use crate::error::{Error, Result};
use crate::events::{LeaseEvent, LeaseEvents};
use crate::fleet::FleetView;
use crate::metrics as m;
use crate::signal;

/// A lease-store write in flight (as the object-safe `LeaseStore` returns it).
type StoreWrite<'l> =
    std::pin::Pin<Box<dyn std::future::Future<Output = kcl_checkpoint::Result<Lease>> + Send + 'l>>;

/// Backoff between retries of a checkpoint write that failed with a retryable store error.
const CHECKPOINT_RETRY: Backoff = Backoff::new(Duration::from_millis(50), Duration::from_secs(1));

/// What every lease a worker holds shares: who holds it, where it is stored, how long it lasts.
#[derive(Debug)]
pub(crate) struct LeaseContext {
    /// This worker's id (the owner written in the table).
    pub(crate) worker_id: Arc<str>,
    pub(crate) store: Arc<dyn LeaseStore>,
    /// How long a lease stays valid after the request of its last successful write.
    pub(crate) lease_duration: Duration,
    /// Whether balancing moves are cooperative handoffs (see [`HeldLease`] and `Coordinator`).
    pub(crate) graceful_handoff: bool,
    /// In heartbeat renewal mode: this worker's view of the fleet record (`None`: per-lease renewals).
    pub(crate) fleet: Option<Arc<FleetView>>,
    pub(crate) events: LeaseEvents,
    pub(crate) jitter: Jitter,
}

/// What a renewal attempt found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RenewOutcome {
    /// The lease was renewed.
    Renewed,
    /// The lease is lost (fenced out, or not renewed within the lease duration).
    Lost,
    /// The store failed; the lease is still ours until the lease duration passes without a renewal.
    Failed,
    /// The lease was released by its consumer; stop renewing it.
    Released,
    /// Another worker asked for the lease: not renewed any more, its consumer hands it off.
    HandingOff,
}

/// Where a handoff to this worker stands (see [`HeldLease::handoff_progress`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HandoffProgress {
    /// The previous owner finished: start from the checkpoint now stored.
    Finished,
    /// The previous owner is still at work.
    Pending,
    /// The lease moved on (taken by a third worker, deleted, or run out): stop.
    Lost,
}

impl LeaseContext {
    /// In heartbeat mode, bumps the table version so other workers rescan (after a write that changes what
    /// a listing shows). Returns when the bump's answer arrived; `None` in per-lease mode or when the bump
    /// failed (logged: other workers then notice at their next full scan).
    pub(crate) async fn announce(&self) -> Option<Instant> {
        let fleet = self.fleet.as_ref()?;
        match self.store.bump_version().await {
            Ok(record) => {
                fleet.observed(record);
                Some(Instant::now())
            }
            Err(e) => {
                tracing::warn!(error = %DisplayChain(&e), "bumping the lease table version failed");
                None
            }
        }
    }
}

/// A lease held by this worker.
pub(crate) struct HeldLease {
    /// The shard id (the lease key's shard part).
    shard_id: String,
    ctx: Arc<LeaseContext>,
    /// The lease as last stored by one of our writes (or as taken).
    lease: Mutex<Lease>,
    /// Flips to true once, when the lease is lost.
    lost: signal::Sender<bool>,
    /// Flips to true once, when another worker asked for the lease (we are handing it off).
    handoff: signal::Sender<bool>,
    /// For a lease handed to us: the previous owner we wait for.
    awaited_from: Option<String>,
    /// Set when the consumer released (or finished) the lease: the renewer drops it.
    released: AtomicBool,
    /// When the request of the last successful write (take, renew, checkpoint) was sent, on the local
    /// monotonic clock: the lease is valid for `lease_duration` from there.
    valid_from: StdMutex<Instant>,
    /// For a lease stolen from a live owner: when that owner's own validity has surely run out.
    start_not_before: Option<Instant>,
    /// What the consumer processed, for load reports.
    meter: crate::load::LoadMeter,
}

impl std::fmt::Debug for HeldLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeldLease")
            .field("shard_id", &self.shard_id)
            .field("lost", &self.is_lost())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
impl LeaseContext {
    /// The context of worker `me` over `store`, with seeded jitter and no listener.
    pub(crate) fn for_tests(store: Arc<dyn LeaseStore>, lease_duration: Duration) -> Arc<Self> {
        Arc::new(LeaseContext {
            worker_id: Arc::from("me"),
            store,
            lease_duration,
            graceful_handoff: true,
            fleet: None,
            events: LeaseEvents::default(),
            jitter: Jitter::new(Some(7)),
        })
    }
}

impl HeldLease {
    /// Wraps a lease this worker just took with a request sent at `sent`. A lease stolen from a live owner
    /// passes `start_not_before`: the instant that owner's validity has run out by.
    pub(crate) fn new(
        ctx: Arc<LeaseContext>,
        lease: Lease,
        sent: Instant,
        start_not_before: Option<Instant>,
    ) -> Arc<Self> {
        let (lost, _) = signal::channel(false);
        let (handoff, _) = signal::channel(false);
        // Heartbeat mode: valid as far as this worker's heartbeat vouches, never from the take (the taker
        // takes nothing without a recent successful heartbeat).
        let sent = match &ctx.fleet {
            Some(fleet) => match fleet.good_beat() {
                Some(beat) => beat.min(sent),
                None => sent.checked_sub(ctx.lease_duration).unwrap_or(sent),
            },
            None => sent,
        };
        let awaited_from = lease
            .checkpoint_owner
            .clone()
            .filter(|previous| *previous != *ctx.worker_id);
        Arc::new(HeldLease {
            shard_id: lease.shard_id().to_owned(),
            ctx,
            lease: Mutex::new(lease),
            lost,
            handoff,
            awaited_from,
            released: AtomicBool::new(false),
            valid_from: StdMutex::new(sent),
            start_not_before,
            meter: crate::load::LoadMeter::new(),
        })
    }

    /// For a stolen lease, the instant before which its consumer must not start processing.
    pub(crate) fn start_not_before(&self) -> Option<Instant> {
        self.start_not_before
    }

    /// The shard id.
    pub(crate) fn shard_id(&self) -> &str {
        &self.shard_id
    }

    /// A copy of the lease as last stored by us.
    pub(crate) async fn lease(&self) -> Lease {
        self.lease.lock().await.clone()
    }

    /// The counter of the lease as last stored by us (without waiting for an in-flight write).
    pub(crate) fn try_counter(&self) -> Option<u64> {
        self.lease.try_lock().ok().map(|l| l.counter)
    }

    /// The checkpoint stored in the lease as last written by us (`None` while a write is in flight).
    pub(crate) fn try_checkpoint(&self) -> Option<ExtendedSequenceNumber> {
        self.lease.try_lock().ok().map(|l| l.checkpoint.clone())
    }

    /// True once the lease is lost.
    pub(crate) fn is_lost(&self) -> bool {
        *self.lost.borrow()
    }

    /// True once another worker asked for the lease and this worker is handing it off.
    pub(crate) fn is_handing_off(&self) -> bool {
        *self.handoff.borrow()
    }

    /// A receiver that turns true when another worker asks for the lease.
    pub(crate) fn handoff_signal(&self) -> signal::Receiver<bool> {
        self.handoff.subscribe()
    }

    /// For a lease handed to this worker: the previous owner, until whose handoff (or
    /// [`start_not_before`](Self::start_not_before)) the consumer waits.
    pub(crate) fn awaits_handoff(&self) -> Option<&str> {
        self.awaited_from.as_deref()
    }

    /// True when `stored` shows another worker asking this one for the lease.
    fn asked_for(&self, stored: &Lease) -> bool {
        stored.checkpoint_owner.as_deref() == Some(&*self.ctx.worker_id)
            && !stored.is_owned_by(&self.ctx.worker_id)
    }

    /// Switches to handing off when `stored` (a listing or re-read newer than our copy) shows a handoff
    /// request for us; returns whether it did. Call with the lease lock held (`ours` is the locked copy).
    fn note_handoff(&self, ours: &mut Lease, stored: &Lease) -> bool {
        if self.is_lost() || !self.asked_for(stored) {
            return false;
        }
        *ours = stored.clone();
        let changed = self.handoff.send_if_modified(|h| !std::mem::replace(h, true));
        if changed {
            tracing::info!(shard_id = %self.shard_id, to = ?stored.owner, "handoff requested; finishing the current batch");
            metrics::counter!(m::HANDOFFS_REQUESTED, "worker" => self.ctx.worker_id.to_string()).increment(1);
        }
        true
    }

    /// Acts on a listing newer than our copy that no longer shows us as owner: a handoff request switches
    /// the lease to handing off, anything else means it was taken.
    pub(crate) async fn moved_on(&self, listed: &Lease) {
        if self.is_handing_off() {
            if listed.checkpoint_owner.as_deref() != Some(&*self.ctx.worker_id) {
                self.mark_lost("handoff ended by the new owner");
            }
            return;
        }
        let mut lease = self.lease.lock().await;
        if !self.note_handoff(&mut lease, listed) {
            drop(lease);
            self.mark_lost("taken by another worker");
        }
    }

    /// Re-reads the lease after a fenced write of ours lost: a handoff request switches to handing off
    /// (returns true); anything else is for the caller to report as lost.
    async fn reread_for_handoff(&self, ours: &mut Lease) -> bool {
        match self.ctx.store.get(&ours.key).await {
            Ok(Some(stored)) => self.note_handoff(ours, &stored),
            _ => false,
        }
    }

    /// True once the consumer released the lease.
    pub(crate) fn is_released(&self) -> bool {
        self.released.load(Ordering::Acquire)
    }

    /// A receiver that turns true when the lease is lost.
    pub(crate) fn lost_signal(&self) -> signal::Receiver<bool> {
        self.lost.subscribe()
    }

    /// Marks the lease lost (idempotent); counts and reports it once.
    pub(crate) fn mark_lost(&self, why: &'static str) {
        let changed = self.lost.send_if_modified(|lost| !std::mem::replace(lost, true));
        if changed && !self.is_released() {
            tracing::info!(shard_id = %self.shard_id, reason = why, "lease lost");
            metrics::counter!(m::LEASES_LOST, "worker" => self.ctx.worker_id.to_string()).increment(1);
            self.ctx.events.emit(|| LeaseEvent::Lost {
                worker_id: self.ctx.worker_id.to_string(),
                shard_id: self.shard_id.clone(),
                reason: why,
            });
        }
    }

    /// Heartbeat mode: a heartbeat sent at `sent` answered with the version this worker last scanned at, so
    /// the lease is still ours as of then (see [`crate::fleet`]). Leases being handed off, lost or
    /// released are not extended; the others are checked for having run out.
    pub(crate) fn heartbeat(&self, sent: Option<Instant>) {
        if let Some(sent) = sent {
            if !self.is_lost() && !self.is_released() && !self.is_handing_off() {
                self.touch(sent);
            }
        }
        self.check_valid();
    }

    /// Notes a successful write whose request was sent at `sent`.
    fn touch(&self, sent: Instant) {
        if let Ok(mut at) = self.valid_from.lock() {
            *at = (*at).max(sent);
        }
    }

    /// Until when the lease is valid on this worker's clock.
    fn valid_until(&self) -> Instant {
        let from = self
            .valid_from
            .lock()
            .map(|at| *at)
            .unwrap_or_else(|p| *p.into_inner());
        from + self.ctx.lease_duration
    }

    /// True while the lease is held and valid on this worker's clock; a lease whose validity ran out is
    /// marked lost here (other workers may take it now).
    pub(crate) fn check_valid(&self) -> bool {
        if self.is_lost() {
            return false;
        }
        if Instant::now() >= self.valid_until() {
            self.mark_lost("not renewed within the lease duration");
            return false;
        }
        true
    }

    fn conflict(&self) {
        metrics::counter!(m::STORE_CONFLICTS, "worker" => self.ctx.worker_id.to_string()).increment(1);
    }

    /// Renews the lease. A lease not renewed within the lease duration is lost even without a conflict:
    /// other workers consider it expired and may take it.
    pub(crate) async fn renew(&self) -> RenewOutcome {
        if self.is_released() {
            return RenewOutcome::Released;
        }
        if self.is_handing_off() {
            return RenewOutcome::HandingOff;
        }
        if !self.check_valid() {
            return RenewOutcome::Lost;
        }
        let mut lease = self.lease.lock().await;
        if self.is_released() {
            return RenewOutcome::Released;
        }
        if !self.check_valid() {
            return RenewOutcome::Lost;
        }
        let sent = Instant::now();
        match self.ctx.store.renew(&lease).await {
            Ok(renewed) => {
                *lease = renewed;
                self.touch(sent);
                RenewOutcome::Renewed
            }
            Err(e) if e.is_conflict() || e.is_not_found() => {
                self.conflict();
                if self.reread_for_handoff(&mut lease).await {
                    return RenewOutcome::HandingOff;
                }
                drop(lease);
                self.mark_lost("renewal fenced out");
                RenewOutcome::Lost
            }
            Err(e) => {
                tracing::warn!(shard_id = %self.shard_id, error = %DisplayChain(&e), "lease renewal failed");
                drop(lease);
                if self.check_valid() {
                    RenewOutcome::Failed
                } else {
                    RenewOutcome::Lost
                }
            }
        }
    }

    /// Re-reads the lease and checks it is still ours, exactly as we last wrote it (right before a
    /// processor is initialized). Returns the stored lease, or `None` after marking the lease lost when
    /// another worker took it, it was released or deleted, or our validity ran out, or after switching to
    /// handing off when another worker asked for it.
    ///
    /// # Errors
    ///
    /// The store's error when the read failed (the outcome is unknown: retry).
    pub(crate) async fn verify(&self) -> Result<Option<Lease>> {
        if !self.check_valid() {
            return Ok(None);
        }
        let mut lease = self.lease.lock().await;
        let stored = self.ctx.store.get(&lease.key).await.map_err(Error::Store)?;
        match stored {
            Some(stored) if stored.is_owned_by(&self.ctx.worker_id) && stored.counter == lease.counter => {
                *lease = stored.clone();
                drop(lease);
                Ok(self.check_valid().then_some(stored))
            }
            Some(stored) => {
                if !self.note_handoff(&mut lease, &stored) {
                    drop(lease);
                    self.mark_lost("taken by another worker before the processor started");
                }
                Ok(None)
            }
            None => {
                drop(lease);
                self.mark_lost("deleted before the processor started");
                Ok(None)
            }
        }
    }

    /// Maps a store failure of a fenced write: a conflict means the lease is lost.
    fn fenced_failure(&self, e: kcl_checkpoint::Error) -> Error {
        if e.is_conflict() || e.is_not_found() {
            self.conflict();
            self.mark_lost("checkpoint fenced out");
            self.lease_lost()
        } else {
            Error::Store(e)
        }
    }

    fn ensure_held(&self) -> Result<()> {
        if self.is_lost() || self.is_released() {
            return Err(self.lease_lost());
        }
        Ok(())
    }

    /// Refuses a checkpoint target below the checkpoint as last stored (call with the lease lock held).
    fn ensure_not_below(&self, lease: &Lease, at: &ExtendedSequenceNumber) -> Result<()> {
        if *at < lease.checkpoint {
            return Err(Error::CheckpointBelowLast {
                shard_id: self.shard_id.clone(),
                requested: at.clone(),
                last: lease.checkpoint.clone(),
            });
        }
        Ok(())
    }

    /// Writes a checkpoint (fenced), never below the stored one. Returns the stored lease.
    ///
    /// While handing off, the write is the previous owner's [`LeaseStore::handoff_checkpoint`].
    pub(crate) async fn checkpoint(&self, at: ExtendedSequenceNumber) -> Result<Lease> {
        let stored = self.write_checkpoint(&at).await?;
        if at.is_shard_end() {
            // Children of this shard (on any worker) may start now.
            self.ctx.announce().await;
        }
        Ok(stored)
    }

    async fn write_checkpoint(&self, at: &ExtendedSequenceNumber) -> Result<Lease> {
        let at = at.clone();
        self.fenced_write(
            &at,
            |store, lease, handing_off| {
                if handing_off {
                    store.handoff_checkpoint(lease, at.clone())
                } else {
                    store.checkpoint(lease, at.clone())
                }
            },
            |stored| stored.checkpoint == at && stored.pending_checkpoint.is_none(),
        )
        .await
    }

    /// Writes a pending checkpoint with optional application state (fenced), never below the stored
    /// checkpoint.
    ///
    /// Not while handing off: the previous owner of a lease may only write plain checkpoints (the new
    /// owner would otherwise start from a pending checkpoint that nobody will commit); the processor gets
    /// a store error saying so, and a plain checkpoint still works.
    pub(crate) async fn prepare(&self, at: ExtendedSequenceNumber, state: Option<Bytes>) -> Result<Lease> {
        self.fenced_write(
            &at,
            |store, lease, handing_off| {
                if handing_off {
                    let key = lease.key.clone();
                    Box::pin(async move {
                        Err(kcl_checkpoint::Error::InvalidArgument {
                            operation: kcl_checkpoint::Operation::HandoffCheckpoint,
                            reason: format!(
                                "lease {key} is being handed off: only a plain checkpoint can be written now, \
                                 not a prepared (two-phase) one"
                            ),
                        })
                    })
                } else {
                    store.prepare_checkpoint(lease, at.clone(), state.clone())
                }
            },
            |stored| {
                stored.pending_checkpoint.as_ref() == Some(&at) && stored.pending_checkpoint_state == state
            },
        )
        .await
    }

    /// A fenced checkpoint-type write to position `at`, retried on retryable store errors while the lease
    /// stays valid. After an ambiguous failure (a timeout: the write may have landed) a lost fence
    /// re-reads the lease, and `landed` says whether the stored lease is exactly what our write leaves.
    /// `write` gets whether the lease is being handed off (then the write is the previous owner's, fenced
    /// on the checkpoint owner): a write that loses to a handoff request switches to handing off and is
    /// made again that way.
    async fn fenced_write<W>(
        &self,
        at: &ExtendedSequenceNumber,
        write: W,
        landed: impl Fn(&Lease) -> bool,
    ) -> Result<Lease>
    where
        W: for<'l> Fn(&'l dyn LeaseStore, &'l Lease, bool) -> StoreWrite<'l>,
    {
        self.ensure_held()?;
        let mut lease = self.lease.lock().await;
        self.ensure_held()?;
        // Re-checked under the lock: clones of a checkpointer validate concurrently, so a lower target
        // may arrive after a higher one was written. The stored checkpoint never moves backwards.
        self.ensure_not_below(&lease, at)?;
        let mut delays = self.ctx.jitter.delays(CHECKPOINT_RETRY);
        // The send time of the first attempt that may have landed without us hearing of it.
        let mut ambiguous: Option<Instant> = None;
        loop {
            if !self.check_valid() {
                return Err(self.lease_lost());
            }
            let sent = Instant::now();
            let handing_off = self.is_handing_off();
            let err = match write(self.ctx.store.as_ref(), &lease, handing_off).await {
                Ok(stored) => {
                    *lease = stored.clone();
                    // A previous owner's write does not make the lease any more ours. In heartbeat mode
                    // only heartbeats do: peers judge expiry by the owner's heartbeat alone.
                    if !handing_off && self.ctx.fleet.is_none() {
                        self.touch(sent);
                    }
                    return Ok(stored);
                }
                Err(e) => e,
            };
            if handing_off && err.is_conflict() {
                self.conflict();
                drop(lease);
                self.mark_lost("handoff ended by the new owner");
                return Err(self.lease_lost());
            }
            if err.is_conflict() {
                if let Some(first) = ambiguous {
                    if let Ok(Some(stored)) = self.ctx.store.get(&lease.key).await {
                        let ours = stored.is_owned_by(&self.ctx.worker_id)
                            && Some(stored.counter) == lease.counter.checked_add(1)
                            && landed(&stored);
                        if ours {
                            *lease = stored.clone();
                            if self.ctx.fleet.is_none() {
                                self.touch(first);
                            }
                            return Ok(stored);
                        }
                    }
                }
                if self.reread_for_handoff(&mut lease).await {
                    continue;
                }
            }
            if err.is_retryable() {
                let delay = delays.next().unwrap_or(CHECKPOINT_RETRY.max_delay);
                if Instant::now() + delay < self.valid_until() {
                    if !matches!(err, kcl_checkpoint::Error::Throttled { .. }) {
                        ambiguous.get_or_insert(sent);
                    }
                    tracing::debug!(shard_id = %self.shard_id, error = %DisplayChain(&err), ?delay, "checkpoint failed; retrying");
                    tokio::time::sleep(delay).await;
                    continue;
                }
            }
            drop(lease);
            return Err(self.fenced_failure(err));
        }
    }

    fn lease_lost(&self) -> Error {
        Error::LeaseLost {
            shard_id: self.shard_id.clone(),
        }
    }

    /// What the consumer processed on this lease.
    pub(crate) fn meter(&self) -> &crate::load::LoadMeter {
        &self.meter
    }

    /// Closes a load interval and reports the lease's load when it changed noticeably (advisory: a
    /// failure is logged and retried at the next interval; a lease lost meanwhile is the renewer's
    /// business). Returns whether a report was written.
    pub(crate) async fn report_load(&self, cpu: Option<f64>) -> bool {
        if self.is_lost() || self.is_released() || self.is_handing_off() {
            return false;
        }
        let Some(load) = self.meter.sample(cpu) else {
            return false;
        };
        let mut lease = self.lease.lock().await;
        match self.ctx.store.report_load(&lease, &load).await {
            Ok(_) => {
                // Only the figures: the write neither reads nor bumps the counter we hold.
                lease.set_load(&load);
                self.meter.reported(load);
                true
            }
            Err(e) => {
                tracing::debug!(shard_id = %self.shard_id, error = %DisplayChain(&e), "load report failed; reporting again next interval");
                false
            }
        }
    }

    /// Records the shard's children on the lease (not fenced).
    pub(crate) async fn set_children(&self, children: &BTreeSet<String>) -> Result<()> {
        let mut lease = self.lease.lock().await;
        match self.ctx.store.set_child_shard_ids(&lease, children).await {
            Ok(stored) => {
                // The write does not bump the counter; keep our counter, take the children.
                lease.child_shard_ids = stored.child_shard_ids;
                Ok(())
            }
            Err(e) => Err(Error::Store(e)),
        }
    }

    /// Releases the lease (owner removed) so any worker can take it at once, and stops renewing it.
    /// Releasing a lease already lost is a no-op. So is releasing a stolen lease before
    /// [`start_not_before`](Self::start_not_before): its previous owner may still be working, so the lease
    /// is left to expire (a lease duration after our last renewal) rather than handed to a third worker
    /// that would start at once.
    ///
    /// A lease being handed off is not ours to release: this finishes the handoff instead, so the new
    /// owner starts at once from the checkpoint we left.
    pub(crate) async fn release(&self) -> Result<()> {
        if self.is_handing_off() {
            return self.finish_handoff().await;
        }
        let previous_owner_may_run = self.start_not_before.is_some_and(|at| Instant::now() < at);
        if self.is_lost() || previous_owner_may_run {
            self.released.store(true, Ordering::Release);
            return Ok(());
        }
        let mut lease = self.lease.lock().await;
        self.released.store(true, Ordering::Release);
        if self.is_lost() {
            return Ok(());
        }
        match self.ctx.store.release(&lease).await {
            Ok(stored) => {
                *lease = stored;
                drop(lease);
                self.ctx.events.emit(|| LeaseEvent::Released {
                    worker_id: self.ctx.worker_id.to_string(),
                    shard_id: self.shard_id.clone(),
                });
                self.ctx.announce().await;
                Ok(())
            }
            Err(e) if e.is_conflict() || e.is_not_found() => {
                self.conflict();
                Ok(())
            }
            Err(e) => Err(Error::Store(e)),
        }
    }

    /// The previous owner's end of a handoff: clears the checkpoint owner. A conflict means the new owner
    /// already ended the handoff (it waited a lease duration); nothing is left to do either way.
    async fn finish_handoff(&self) -> Result<()> {
        let mut lease = self.lease.lock().await;
        self.released.store(true, Ordering::Release);
        match self.ctx.store.finish_handoff(&lease).await {
            Ok(stored) => {
                *lease = stored;
                tracing::info!(shard_id = %self.shard_id, to = ?lease.owner, "lease handed off");
                metrics::counter!(m::HANDOFFS_COMPLETED, "worker" => self.ctx.worker_id.to_string())
                    .increment(1);
                self.ctx.events.emit(|| LeaseEvent::HandedOff {
                    worker_id: self.ctx.worker_id.to_string(),
                    shard_id: self.shard_id.clone(),
                    to: lease.owner.clone(),
                });
                Ok(())
            }
            Err(e) if e.is_conflict() || e.is_not_found() => {
                self.conflict();
                Ok(())
            }
            Err(e) => Err(Error::Store(e)),
        }
    }

    /// For a lease handed to us: re-reads it to see whether the previous owner finished. On
    /// [`HandoffProgress::Finished`] our copy holds the checkpoint the previous owner left.
    ///
    /// # Errors
    ///
    /// The store's error when the read failed (the outcome is unknown: ask again).
    pub(crate) async fn handoff_progress(&self) -> Result<HandoffProgress> {
        if !self.check_valid() {
            return Ok(HandoffProgress::Lost);
        }
        let mut lease = self.lease.lock().await;
        let stored = self.ctx.store.get(&lease.key).await.map_err(Error::Store)?;
        match stored {
            Some(stored) if stored.is_owned_by(&self.ctx.worker_id) && stored.counter == lease.counter => {
                if stored.checkpoint_owner.is_some() {
                    return Ok(HandoffProgress::Pending);
                }
                *lease = stored;
                Ok(HandoffProgress::Finished)
            }
            _ => {
                drop(lease);
                self.mark_lost("taken by another worker during the handoff");
                Ok(HandoffProgress::Lost)
            }
        }
    }

    /// For a lease handed to us whose previous owner did not finish in time: ends the handoff with a
    /// fenced take (which removes the checkpoint owner, fencing out any late write of the previous owner).
    /// Returns false (after marking the lease lost) when the lease moved on.
    ///
    /// # Errors
    ///
    /// The store's error when the write failed with an unknown outcome (ask again).
    pub(crate) async fn end_handoff(&self) -> Result<bool> {
        if !self.check_valid() {
            return Ok(false);
        }
        let mut lease = self.lease.lock().await;
        if lease.checkpoint_owner.is_none() {
            return Ok(true);
        }
        let sent = Instant::now();
        match self.ctx.store.take(&lease, &self.ctx.worker_id).await {
            Ok(stored) => {
                tracing::info!(shard_id = %self.shard_id, from = ?lease.checkpoint_owner, "previous owner did not hand off in time; taking over");
                *lease = stored;
                if self.ctx.fleet.is_none() {
                    self.touch(sent);
                }
                Ok(true)
            }
            Err(e) if e.is_conflict() || e.is_not_found() => {
                self.conflict();
                drop(lease);
                self.mark_lost("taken by another worker during the handoff");
                Ok(false)
            }
            Err(e) => Err(Error::Store(e)),
        }
    }

    /// Stops renewing the lease without writing (used when the shard is finished and released, or when
    /// the worker is aborted).
    pub(crate) fn forget(&self) {
        self.released.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kcl_checkpoint::{Fault, FaultyLeaseStore, InMemoryLeaseStore, LeaseKey, Operation, SequenceNumber};

    const LEASE: Duration = Duration::from_secs(3);

    async fn held(store: Arc<FaultyLeaseStore>) -> Arc<HeldLease> {
        store
            .inner()
            .create_if_absent(&Lease::new("shard-0", ExtendedSequenceNumber::TrimHorizon))
            .await
            .unwrap();
        let lease = store.get(&LeaseKey::new("shard-0")).await.unwrap().unwrap();
        let sent = Instant::now();
        let lease = store.take(&lease, "me").await.unwrap();
        let ctx = LeaseContext::for_tests(store, LEASE);
        HeldLease::new(ctx, lease, sent, None)
    }

    fn seq(n: u128) -> ExtendedSequenceNumber {
        ExtendedSequenceNumber::sequence(SequenceNumber::from(n))
    }

    #[tokio::test(start_paused = true)]
    async fn validity_is_timed_from_the_renew_request_not_its_response() {
        let store = Arc::new(FaultyLeaseStore::new(Arc::new(InMemoryLeaseStore::new())));
        let lease = held(Arc::clone(&store)).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        // A renew that takes 1.5 s to answer: sent at t = 1 s, valid until t = 4 s, not 5.5 s.
        store.script(Operation::Renew, [Fault::Latency(Duration::from_millis(1_500))]);
        assert_eq!(lease.renew().await, RenewOutcome::Renewed);
        tokio::time::sleep(Duration::from_millis(1_400)).await; // t = 3.9 s
        assert!(lease.check_valid());
        tokio::time::sleep(Duration::from_millis(200)).await; // t = 4.1 s
        assert!(
            !lease.check_valid(),
            "valid past lease_duration after the request was sent"
        );
        assert!(lease.is_lost());
    }

    #[tokio::test(start_paused = true)]
    async fn a_checkpoint_failing_with_retryable_errors_is_retried_while_the_lease_is_valid() {
        let store = Arc::new(FaultyLeaseStore::new(Arc::new(InMemoryLeaseStore::new())));
        let lease = held(Arc::clone(&store)).await;
        // Throttled, timed out, and timed out after the write landed: the retry then loses its fence,
        // re-reads the lease and finds our own write.
        store.script(
            Operation::Checkpoint,
            [Fault::Throttle, Fault::Timeout, Fault::TimeoutAfterApply],
        );
        let stored = lease.checkpoint(seq(7)).await.unwrap();
        assert_eq!(stored.checkpoint, seq(7));
        assert!(!lease.is_lost());
        let in_table = store.get(&LeaseKey::new("shard-0")).await.unwrap().unwrap();
        assert_eq!(in_table.checkpoint, seq(7));
        assert_eq!(in_table.counter, stored.counter, "our copy follows the table");
        // The lease keeps working afterwards.
        assert_eq!(lease.renew().await, RenewOutcome::Renewed);
    }

    #[tokio::test(start_paused = true)]
    async fn checkpoint_retries_stop_when_the_lease_runs_out() {
        let store = Arc::new(FaultyLeaseStore::new(Arc::new(InMemoryLeaseStore::new())));
        let lease = held(Arc::clone(&store)).await;
        store.script(Operation::Checkpoint, std::iter::repeat_n(Fault::Timeout, 1_000));
        let started = Instant::now();
        let e = lease.checkpoint(seq(7)).await.unwrap_err();
        assert!(
            matches!(e, Error::Store(ref s) if s.is_retryable()) || e.is_lease_lost(),
            "{e}"
        );
        assert!(
            started.elapsed() <= LEASE,
            "retried past the lease: {:?}",
            started.elapsed()
        );
        let in_table = store.get(&LeaseKey::new("shard-0")).await.unwrap().unwrap();
        assert_eq!(in_table.checkpoint, ExtendedSequenceNumber::TrimHorizon);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stolen_lease_released_before_its_start_is_left_to_expire() {
        let store = Arc::new(FaultyLeaseStore::new(Arc::new(InMemoryLeaseStore::new())));
        let taken = held(Arc::clone(&store)).await;
        let ctx = Arc::clone(&taken.ctx);
        let stored = store.get(&LeaseKey::new("shard-0")).await.unwrap().unwrap();
        let stolen = HeldLease::new(ctx, stored, Instant::now(), Some(Instant::now() + LEASE));
        stolen.release().await.unwrap();
        let in_table = store.get(&LeaseKey::new("shard-0")).await.unwrap().unwrap();
        assert_eq!(
            in_table.owner.as_deref(),
            Some("me"),
            "not handed to a third worker"
        );
        assert_eq!(stolen.renew().await, RenewOutcome::Released, "no longer renewed");
    }

    #[tokio::test(start_paused = true)]
    async fn verify_finds_a_lease_that_changed_hands() {
        let store = Arc::new(FaultyLeaseStore::new(Arc::new(InMemoryLeaseStore::new())));
        let lease = held(Arc::clone(&store)).await;
        assert!(lease.verify().await.unwrap().is_some());
        let stored = store.get(&LeaseKey::new("shard-0")).await.unwrap().unwrap();
        // Taken under our own id by someone else (a second process with the same id).
        store.take(&stored, "me").await.unwrap();
        assert!(lease.verify().await.unwrap().is_none());
        assert!(lease.is_lost());
    }
}
