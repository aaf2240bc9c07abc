//! Fenced checkpoint writes (plain, or pending with application state), never below the stored
//! checkpoint, retried on retryable store errors while the lease stays valid.

use kcl_checkpoint::DisplayChain;
use std::time::Duration;

use bytes::Bytes;
use kcl_checkpoint::{ExtendedSequenceNumber, Lease, LeaseStore};
use tokio::time::Instant;

use super::HeldLease;
use crate::config::Backoff;
use crate::error::{Error, Result};

/// A lease-store write in flight (as the object-safe `LeaseStore` returns it).
type StoreWrite<'l> =
    std::pin::Pin<Box<dyn std::future::Future<Output = kcl_checkpoint::Result<Lease>> + Send + 'l>>;

/// Backoff between retries of a checkpoint write that failed with a retryable store error.
const CHECKPOINT_RETRY: Backoff = Backoff::new(Duration::from_millis(50), Duration::from_secs(1));

impl HeldLease {
    /// Maps a store failure of a fenced write: a conflict means the lease is lost.
    pub(super) fn fenced_failure(&self, e: kcl_checkpoint::Error) -> Error {
        if e.is_conflict() || e.is_not_found() {
            self.conflict();
            self.mark_lost("checkpoint fenced out");
            self.lease_lost()
        } else {
            Error::Store(e)
        }
    }

    pub(super) fn ensure_held(&self) -> Result<()> {
        if self.is_lost() || self.is_released() {
            return Err(self.lease_lost());
        }
        Ok(())
    }

    /// Refuses a checkpoint target below the checkpoint as last stored (call with the lease lock held).
    pub(super) fn ensure_not_below(&self, lease: &Lease, at: &ExtendedSequenceNumber) -> Result<()> {
        if *at < lease.checkpoint {
            return Err(Error::CheckpointBelowLast {
                shard_id: self.key.clone(),
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

    pub(super) async fn write_checkpoint(&self, at: &ExtendedSequenceNumber) -> Result<Lease> {
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
    pub(super) async fn fenced_write<W>(
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
                    tracing::debug!(shard_id = %self.key, error = %DisplayChain(&err), ?delay, "checkpoint failed; retrying");
                    tokio::time::sleep(delay).await;
                    continue;
                }
            }
            drop(lease);
            return Err(self.fenced_failure(err));
        }
    }

    pub(super) fn lease_lost(&self) -> Error {
        Error::LeaseLost {
            shard_id: self.key.clone(),
        }
    }
}
