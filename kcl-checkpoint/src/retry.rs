//! [`RetryingLeaseStore`]: jittered, bounded retries around any [`LeaseStore`].
//!
//! Retries only what [`Error::is_retryable`] says may succeed later (throttling, timeouts, 5xx); a
//! [`Error::Conflict`] is never retried, because the caller must re-read and decide again. Delays grow
//! exponentially with jitter and are slept on `tokio::time`, so paused-time tests drive them.
//!
//! A timed-out write may have been applied. When a retry of `renew`, `take`, `checkpoint` or
//! `prepare_checkpoint` then loses its fence, the wrapper re-reads the lease: if the stored lease is exactly
//! what the first attempt would have written (the caller as owner, one counter on, and for a checkpoint the
//! requested position), the write is reported as done. This happens only after an ambiguous failure (a
//! timeout or a 5xx; throttling is a definite "not applied"): a conflict on a first attempt is passed on
//! as is (see [the store rules](crate::store#renews-that-landed-after-all)).

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use backon::{ExponentialBuilder, Retryable};
use bytes::Bytes;
use tokio::time::Duration;

use crate::error::DisplayChain;
use crate::error::{Error, Result};
use crate::fleet::FleetRecord;
use crate::lease::{Lease, LeaseKey, LeaseLoad};
use crate::sequence::ExtendedSequenceNumber;
use crate::store::{handoff_requested, renew_landed, LeaseListing, LeaseStore, Operation};

/// How a [`RetryingLeaseStore`] retries.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Delay before the first retry.
    pub min_delay: Duration,
    /// Upper bound of any delay.
    pub max_delay: Duration,
    /// Retries after the first attempt (so at most `max_retries + 1` calls).
    pub max_retries: usize,
    /// Randomize delays (recommended: spreads retries of many workers).
    pub jitter: bool,
    /// Seed for the jitter, for reproducible simulations; `None` seeds from entropy.
    pub jitter_seed: Option<u64>,
}

impl Default for RetryPolicy {
    /// 50 ms doubling up to 2 s, 5 retries, jittered.
    fn default() -> Self {
        RetryPolicy {
            min_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(2),
            max_retries: 5,
            jitter: true,
            jitter_seed: None,
        }
    }
}

impl RetryPolicy {
    fn backoff(&self) -> ExponentialBuilder {
        let mut builder = ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_retries);
        if self.jitter {
            builder = builder.with_jitter();
            if let Some(seed) = self.jitter_seed {
                builder = builder.with_jitter_seed(seed);
            }
        }
        builder
    }
}

/// A [`LeaseStore`] that retries the retryable failures of the store it wraps.
#[derive(Debug, Clone)]
pub struct RetryingLeaseStore {
    inner: Arc<dyn LeaseStore>,
    policy: RetryPolicy,
}

impl RetryingLeaseStore {
    /// Wraps `inner` with the default [`RetryPolicy`].
    pub fn new(inner: Arc<dyn LeaseStore>) -> Self {
        Self::with_policy(inner, RetryPolicy::default())
    }

    /// Wraps `inner` with `policy`.
    pub fn with_policy(inner: Arc<dyn LeaseStore>, policy: RetryPolicy) -> Self {
        RetryingLeaseStore { inner, policy }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &Arc<dyn LeaseStore> {
        &self.inner
    }

    /// Runs `call` until it succeeds, fails for good, or the retries run out. Returns the result and
    /// whether any attempt failed ambiguously (it may have been applied).
    async fn retry<T, F, Fut>(&self, operation: Operation, call: F) -> (Result<T>, bool)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut ambiguous = false;
        let result = call
            .retry(self.policy.backoff())
            .sleep(tokio::time::sleep)
            .when(|err: &Error| err.is_retryable())
            .notify(|err: &Error, delay: Duration| {
                if operation.is_write() && !matches!(err, Error::Throttled { .. }) {
                    ambiguous = true;
                }
                tracing::debug!(%operation, error = %DisplayChain(err), ?delay, "retrying lease store call");
            })
            .await;
        (result, ambiguous)
    }

    /// After an ambiguous failure and a conflict, checks whether the stored lease shows our write landed.
    async fn landed(&self, lease: &Lease, check: impl FnOnce(&Lease) -> bool) -> Result<Option<Lease>> {
        // The re-read is retried too; if it still fails, the outcome is unknown and its error says so.
        let stored = self.get(&lease.key).await?;
        Ok(stored.filter(|stored| Some(stored.counter) == lease.counter.checked_add(1) && check(stored)))
    }
}

#[async_trait]
impl LeaseStore for RetryingLeaseStore {
    async fn ensure_table(&self) -> Result<bool> {
        self.retry(Operation::EnsureTable, || self.inner.ensure_table())
            .await
            .0
    }

    async fn list(&self) -> Result<LeaseListing> {
        self.retry(Operation::List, || self.inner.list()).await.0
    }

    async fn get(&self, key: &LeaseKey) -> Result<Option<Lease>> {
        self.retry(Operation::Get, || self.inner.get(key)).await.0
    }

    async fn create_if_absent(&self, lease: &Lease) -> Result<bool> {
        // A retried create whose first attempt landed reports `false` (the lease exists), which is the
        // outcome callers must handle anyway.
        self.retry(Operation::Create, || self.inner.create_if_absent(lease))
            .await
            .0
    }

    async fn renew(&self, lease: &Lease) -> Result<Lease> {
        match self.retry(Operation::Renew, || self.inner.renew(lease)).await {
            (Err(err), true) if err.is_conflict() => self
                .landed(lease, |stored| renew_landed(lease, stored))
                .await?
                .ok_or(err),
            (result, _) => result,
        }
    }

    async fn take(&self, lease: &Lease, new_owner: &str) -> Result<Lease> {
        match self
            .retry(Operation::Take, || self.inner.take(lease, new_owner))
            .await
        {
            (Err(err), true) if err.is_conflict() => self
                .landed(lease, |stored| stored.is_owned_by(new_owner))
                .await?
                .ok_or(err),
            (result, _) => result,
        }
    }

    async fn evict(&self, lease: &Lease) -> Result<Lease> {
        // No "landed" check: an unowned lease one counter on does not identify who released it, so a
        // conflict after an ambiguous attempt stays a conflict (the caller re-reads and sees the outcome).
        self.retry(Operation::Evict, || self.inner.evict(lease)).await.0
    }

    async fn checkpoint(&self, lease: &Lease, checkpoint: ExtendedSequenceNumber) -> Result<Lease> {
        match self
            .retry(Operation::Checkpoint, || {
                self.inner.checkpoint(lease, checkpoint.clone())
            })
            .await
        {
            (Err(err), true) if err.is_conflict() => self
                .landed(lease, |stored| {
                    stored.owner == lease.owner
                        && stored.checkpoint == checkpoint
                        && stored.pending_checkpoint.is_none()
                })
                .await?
                .ok_or(err),
            (result, _) => result,
        }
    }

    async fn prepare_checkpoint(
        &self,
        lease: &Lease,
        pending: ExtendedSequenceNumber,
        state: Option<Bytes>,
    ) -> Result<Lease> {
        match self
            .retry(Operation::PrepareCheckpoint, || {
                self.inner
                    .prepare_checkpoint(lease, pending.clone(), state.clone())
            })
            .await
        {
            (Err(err), true) if err.is_conflict() => self
                .landed(lease, |stored| {
                    stored.owner == lease.owner
                        && stored.pending_checkpoint.as_ref() == Some(&pending)
                        && stored.pending_checkpoint_state == state
                })
                .await?
                .ok_or(err),
            (result, _) => result,
        }
    }

    async fn request_handoff(&self, lease: &Lease, new_owner: &str) -> Result<Lease> {
        match self
            .retry(Operation::RequestHandoff, || {
                self.inner.request_handoff(lease, new_owner)
            })
            .await
        {
            (Err(err), true) if err.is_conflict() => self
                .landed(lease, |stored| handoff_requested(lease, new_owner, stored))
                .await?
                .ok_or(err),
            (result, _) => result,
        }
    }

    async fn handoff_checkpoint(&self, lease: &Lease, checkpoint: ExtendedSequenceNumber) -> Result<Lease> {
        // Idempotent: fenced on the checkpoint owner, which a landed attempt leaves in place.
        self.retry(Operation::HandoffCheckpoint, || {
            self.inner.handoff_checkpoint(lease, checkpoint.clone())
        })
        .await
        .0
    }

    async fn finish_handoff(&self, lease: &Lease) -> Result<Lease> {
        // A conflict after a landed attempt is indistinguishable from the new owner's take; the handoff is
        // over either way, which is what the caller needs to know.
        self.retry(Operation::FinishHandoff, || self.inner.finish_handoff(lease))
            .await
            .0
    }

    async fn heartbeat(&self, worker_id: &str, expected: Option<u64>) -> Result<FleetRecord> {
        match self
            .retry(Operation::Heartbeat, || self.inner.heartbeat(worker_id, expected))
            .await
        {
            // An earlier attempt may have landed: the stored heartbeat is then exactly one on.
            (Err(err), true) if err.is_conflict() => {
                let stored = self.read_fleet().await?;
                let landed = expected.map_or(1, |c| c.saturating_add(1));
                if stored.heartbeats.get(worker_id) == Some(&landed) {
                    Ok(stored)
                } else {
                    Err(err)
                }
            }
            (result, _) => result,
        }
    }

    async fn evict_worker(&self, worker_id: &str, expected: u64) -> Result<FleetRecord> {
        // A conflict after a landed attempt leaves the worker evicted either way (by us or a peer), which
        // is what the caller asked for; it re-reads on conflict.
        self.retry(Operation::EvictWorker, || {
            self.inner.evict_worker(worker_id, expected)
        })
        .await
        .0
    }

    async fn read_fleet(&self) -> Result<FleetRecord> {
        self.retry(Operation::ReadFleet, || self.inner.read_fleet())
            .await
            .0
    }

    async fn bump_version(&self) -> Result<FleetRecord> {
        self.retry(Operation::BumpVersion, || self.inner.bump_version())
            .await
            .0
    }

    async fn leave_fleet(&self, worker_id: &str) -> Result<()> {
        self.retry(Operation::LeaveFleet, || self.inner.leave_fleet(worker_id))
            .await
            .0
    }

    async fn set_child_shard_ids(&self, lease: &Lease, children: &BTreeSet<String>) -> Result<Lease> {
        // Idempotent: a retry after a landed attempt writes the same set again.
        self.retry(Operation::SetChildShardIds, || {
            self.inner.set_child_shard_ids(lease, children)
        })
        .await
        .0
    }

    async fn report_load(&self, lease: &Lease, load: &LeaseLoad) -> Result<Lease> {
        // Idempotent: a retry writes the same figures again.
        self.retry(Operation::ReportLoad, || self.inner.report_load(lease, load))
            .await
            .0
    }

    async fn delete(&self, lease: &Lease) -> Result<()> {
        // Idempotent: a lease already deleted counts as deleted.
        self.retry(Operation::Delete, || self.inner.delete(lease)).await.0
    }
}
