//! Releases and handoffs: noticing another worker asking for the lease, releasing (or, when handing off,
//! finishing the handoff), and, on the new owner, waiting for the previous owner or ending the handoff.

use std::sync::atomic::Ordering;

use kcl_checkpoint::Lease;
use tokio::time::Instant;

use super::{HandoffProgress, HeldLease};
use crate::error::{Error, Result};
use crate::events::LeaseEvent;
use crate::metrics as m;

impl HeldLease {
    /// True when `stored` shows another worker asking this one for the lease.
    pub(super) fn asked_for(&self, stored: &Lease) -> bool {
        stored.checkpoint_owner.as_deref() == Some(&*self.ctx.worker_id)
            && !stored.is_owned_by(&self.ctx.worker_id)
    }

    /// Switches to handing off when `stored` (a listing or re-read newer than our copy) shows a handoff
    /// request for us; returns whether it did. Call with the lease lock held (`ours` is the locked copy).
    pub(super) fn note_handoff(&self, ours: &mut Lease, stored: &Lease) -> bool {
        if self.is_lost() || !self.asked_for(stored) {
            return false;
        }
        *ours = stored.clone();
        let changed = self.handoff.send_if_modified(|h| !std::mem::replace(h, true));
        if changed {
            tracing::info!(shard_id = %self.key, to = ?stored.owner, "handoff requested; finishing the current batch");
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
    pub(super) async fn reread_for_handoff(&self, ours: &mut Lease) -> bool {
        match self.ctx.store.get(&ours.key).await {
            Ok(Some(stored)) => self.note_handoff(ours, &stored),
            _ => false,
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
                    shard_id: self.key.clone(),
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
    pub(super) async fn finish_handoff(&self) -> Result<()> {
        let mut lease = self.lease.lock().await;
        self.released.store(true, Ordering::Release);
        match self.ctx.store.finish_handoff(&lease).await {
            Ok(stored) => {
                *lease = stored;
                tracing::info!(shard_id = %self.key, to = ?lease.owner, "lease handed off");
                metrics::counter!(m::HANDOFFS_COMPLETED, "worker" => self.ctx.worker_id.to_string())
                    .increment(1);
                self.ctx.events.emit(|| LeaseEvent::HandedOff {
                    worker_id: self.ctx.worker_id.to_string(),
                    shard_id: self.key.clone(),
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
                tracing::info!(shard_id = %self.key, from = ?lease.checkpoint_owner, "previous owner did not hand off in time; taking over");
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
}
