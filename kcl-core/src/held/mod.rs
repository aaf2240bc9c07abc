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
//!
//! Layout: this file holds [`HeldLease`] and its state; `validity` renewals and validity on our clock;
//! `checkpoint` fenced checkpoint writes and their retries; `handoff` releases and both ends of a
//! handoff; `set` the [`HeldSet`] of every lease this worker holds.

use kcl_checkpoint::DisplayChain;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use kcl_checkpoint::{ExtendedSequenceNumber, Lease, LeaseStore};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::config::Jitter;
use crate::error::{Error, Result};
use crate::events::{LeaseEvent, LeaseEvents};
use crate::fleet::FleetView;
use crate::metrics as m;
use crate::signal;

mod checkpoint;
mod handoff;
mod set;
#[cfg(test)]
mod tests;
mod validity;

pub(crate) use set::HeldSet;

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
    /// The lease key (the shard id; in multi-stream mode `account:stream:creationEpoch:shardId`): the
    /// lease's identity everywhere in the worker.
    key: String,
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
            .field("key", &self.key)
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
            key: lease.key.as_str().to_owned(),
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

    /// The lease key (the lease's identity in the held set, the status and shard sync's findings).
    pub(crate) fn key(&self) -> &str {
        &self.key
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
            tracing::info!(shard_id = %self.key, reason = why, "lease lost");
            metrics::counter!(m::LEASES_LOST, "worker" => self.ctx.worker_id.to_string()).increment(1);
            self.ctx.events.emit(|| LeaseEvent::Lost {
                worker_id: self.ctx.worker_id.to_string(),
                shard_id: self.key.clone(),
                reason: why,
            });
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
                tracing::debug!(shard_id = %self.key, error = %DisplayChain(&e), "load report failed; reporting again next interval");
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

    /// Stops renewing the lease without writing (used when the shard is finished and released, or when
    /// the worker is aborted).
    pub(crate) fn forget(&self) {
        self.released.store(true, Ordering::Release);
    }
}
