//! Renewals and validity on this worker's clock: a held lease is valid until a lease duration after the
//! request of its last successful write was sent (in heartbeat mode, of the heartbeat that may extend it).

use kcl_checkpoint::DisplayChain;

use kcl_checkpoint::Lease;
use tokio::time::Instant;

use super::{HeldLease, RenewOutcome};
use crate::error::{Error, Result};
use crate::metrics as m;

impl HeldLease {
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
    pub(super) fn touch(&self, sent: Instant) {
        if let Ok(mut at) = self.valid_from.lock() {
            *at = (*at).max(sent);
        }
    }

    /// Until when the lease is valid on this worker's clock.
    pub(super) fn valid_until(&self) -> Instant {
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

    pub(super) fn conflict(&self) {
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
                tracing::warn!(shard_id = %self.key, error = %DisplayChain(&e), "lease renewal failed");
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
}
