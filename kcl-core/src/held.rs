//! A lease this worker holds, shared by the renewer and the shard's consumer and checkpointer.
//!
//! Every write to a held lease (renew, checkpoint, prepare, release) goes through [`HeldLease`], which
//! keeps the lease as last stored behind an async mutex. Writes are therefore serialised per lease, so the
//! renewer and the checkpointer never fence each other out, and each write is made against the counter
//! the previous one returned. A fenced write that loses (`Conflict`) means another worker took the lease:
//! the lease is marked lost, which the consumer observes through [`HeldLease::lost_signal`].

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use bytes::Bytes;
use kcl_checkpoint::{ExtendedSequenceNumber, Lease, LeaseStore};
use tokio::sync::{watch, Mutex};
use tokio::time::Instant;

use crate::error::{Error, Result};
use crate::metrics as m;

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
}

/// A lease held by this worker.
pub(crate) struct HeldLease {
    /// The shard id (the lease key's shard part).
    shard_id: String,
    /// This worker's id, for metrics labels.
    worker_id: Arc<str>,
    store: Arc<dyn LeaseStore>,
    /// The lease as last stored by one of our writes (or as taken).
    lease: Mutex<Lease>,
    /// Flips to true once, when the lease is lost.
    lost: watch::Sender<bool>,
    /// Set when the consumer released (or finished) the lease: the renewer drops it.
    released: AtomicBool,
    /// When the last successful write (take, renew, checkpoint) landed, on the local monotonic clock.
    last_write: StdMutex<Instant>,
}

impl std::fmt::Debug for HeldLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeldLease")
            .field("shard_id", &self.shard_id)
            .field("lost", &self.is_lost())
            .finish_non_exhaustive()
    }
}

impl HeldLease {
    /// Wraps a lease this worker just took.
    pub(crate) fn new(lease: Lease, store: Arc<dyn LeaseStore>, worker_id: Arc<str>) -> Arc<Self> {
        let (lost, _) = watch::channel(false);
        Arc::new(HeldLease {
            shard_id: lease.shard_id().to_owned(),
            worker_id,
            store,
            lease: Mutex::new(lease),
            lost,
            released: AtomicBool::new(false),
            last_write: StdMutex::new(Instant::now()),
        })
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

    /// True once the lease is lost.
    pub(crate) fn is_lost(&self) -> bool {
        *self.lost.borrow()
    }

    /// True once the consumer released the lease.
    pub(crate) fn is_released(&self) -> bool {
        self.released.load(Ordering::Acquire)
    }

    /// A receiver that turns true when the lease is lost.
    pub(crate) fn lost_signal(&self) -> watch::Receiver<bool> {
        self.lost.subscribe()
    }

    /// Marks the lease lost (idempotent); counts it once.
    pub(crate) fn mark_lost(&self, why: &'static str) {
        let changed = self.lost.send_if_modified(|lost| !std::mem::replace(lost, true));
        if changed && !self.is_released() {
            tracing::info!(shard_id = %self.shard_id, reason = why, "lease lost");
            metrics::counter!(m::LEASES_LOST, "worker" => self.worker_id.to_string()).increment(1);
        }
    }

    fn touch(&self) {
        if let Ok(mut at) = self.last_write.lock() {
            *at = Instant::now();
        }
    }

    fn since_last_write(&self) -> Duration {
        self.last_write
            .lock()
            .map(|at| at.elapsed())
            .unwrap_or(Duration::MAX)
    }

    fn conflict(&self) {
        metrics::counter!(m::STORE_CONFLICTS, "worker" => self.worker_id.to_string()).increment(1);
    }

    /// Renews the lease. A lease not renewed for `lease_duration` is lost even without a conflict: other
    /// workers consider it expired and may take it.
    pub(crate) async fn renew(&self, lease_duration: Duration) -> RenewOutcome {
        if self.is_released() {
            return RenewOutcome::Released;
        }
        if self.is_lost() {
            return RenewOutcome::Lost;
        }
        let mut lease = self.lease.lock().await;
        if self.is_released() {
            return RenewOutcome::Released;
        }
        match self.store.renew(&lease).await {
            Ok(renewed) => {
                *lease = renewed;
                self.touch();
                RenewOutcome::Renewed
            }
            Err(e) if e.is_conflict() || e.is_not_found() => {
                self.conflict();
                drop(lease);
                self.mark_lost("renewal fenced out");
                RenewOutcome::Lost
            }
            Err(e) => {
                tracing::warn!(shard_id = %self.shard_id, error = %e, "lease renewal failed");
                if self.since_last_write() >= lease_duration {
                    drop(lease);
                    self.mark_lost("not renewed within the lease duration");
                    RenewOutcome::Lost
                } else {
                    RenewOutcome::Failed
                }
            }
        }
    }

    /// Maps a store failure of a fenced write: a conflict means the lease is lost.
    fn fenced_failure(&self, e: kcl_checkpoint::Error) -> Error {
        if e.is_conflict() || e.is_not_found() {
            self.conflict();
            self.mark_lost("checkpoint fenced out");
            Error::LeaseLost {
                shard_id: self.shard_id.clone(),
            }
        } else {
            Error::Store(e)
        }
    }

    fn ensure_held(&self) -> Result<()> {
        if self.is_lost() || self.is_released() {
            return Err(Error::LeaseLost {
                shard_id: self.shard_id.clone(),
            });
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
    pub(crate) async fn checkpoint(&self, at: ExtendedSequenceNumber) -> Result<Lease> {
        self.ensure_held()?;
        let mut lease = self.lease.lock().await;
        self.ensure_held()?;
        // Re-checked under the lock: clones of a checkpointer validate concurrently, so a lower target
        // may arrive after a higher one was written. The stored checkpoint never moves backwards.
        self.ensure_not_below(&lease, &at)?;
        match self.store.checkpoint(&lease, at).await {
            Ok(stored) => {
                *lease = stored.clone();
                self.touch();
                Ok(stored)
            }
            Err(e) => {
                drop(lease);
                Err(self.fenced_failure(e))
            }
        }
    }

    /// Writes a pending checkpoint with optional application state (fenced), never below the stored
    /// checkpoint.
    pub(crate) async fn prepare(&self, at: ExtendedSequenceNumber, state: Option<Bytes>) -> Result<Lease> {
        self.ensure_held()?;
        let mut lease = self.lease.lock().await;
        self.ensure_held()?;
        self.ensure_not_below(&lease, &at)?;
        match self.store.prepare_checkpoint(&lease, at, state).await {
            Ok(stored) => {
                *lease = stored.clone();
                self.touch();
                Ok(stored)
            }
            Err(e) => {
                drop(lease);
                Err(self.fenced_failure(e))
            }
        }
    }

    /// Records the shard's children on the lease (not fenced).
    pub(crate) async fn set_children(&self, children: &BTreeSet<String>) -> Result<()> {
        let mut lease = self.lease.lock().await;
        match self.store.set_child_shard_ids(&lease, children).await {
            Ok(stored) => {
                // The write does not bump the counter; keep our counter, take the children.
                lease.child_shard_ids = stored.child_shard_ids;
                Ok(())
            }
            Err(e) => Err(Error::Store(e)),
        }
    }

    /// Releases the lease (owner removed) so any worker can take it at once, and stops renewing it.
    /// Releasing a lease already lost is a no-op.
    pub(crate) async fn release(&self) -> Result<()> {
        if self.is_lost() {
            self.released.store(true, Ordering::Release);
            return Ok(());
        }
        let mut lease = self.lease.lock().await;
        self.released.store(true, Ordering::Release);
        if self.is_lost() {
            return Ok(());
        }
        match self.store.release(&lease).await {
            Ok(stored) => {
                *lease = stored;
                Ok(())
            }
            Err(e) if e.is_conflict() || e.is_not_found() => {
                self.conflict();
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
