//! The checkpointer a processor uses to record its progress through a shard.
//!
//! A checkpoint must lie between the last checkpoint and the largest record delivered so far (inclusive);
//! anything else is refused with [`Error::CheckpointBelowLast`] or [`Error::CheckpointBeyondDelivered`].
//! `SHARD_END` is accepted only once the whole shard has been delivered, i.e. in
//! [`ShardRecordProcessor::shard_ended`](crate::ShardRecordProcessor::shard_ended), where
//! [`Checkpointer::checkpoint`] writes it. Every write is fenced by the lease counter: after the lease is
//! lost, checkpointing fails with [`Error::LeaseLost`].
//!
//! Two-phase checkpoints: [`Checkpointer::prepare_checkpoint`] stores a pending checkpoint (with optional
//! application state) that a restarted processor sees in its
//! [`InitializationInput`](crate::InitializationInput); [`PreparedCheckpoint::commit`] makes it final.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use kcl_checkpoint::{ExtendedSequenceNumber, SequenceNumber};

use crate::error::{Error, Result};
use crate::held::HeldLease;
use crate::record::Record;

/// Where the consumer has got to, as far as checkpoint validation is concerned.
#[derive(Debug)]
struct Progress {
    /// The last checkpoint written (or the lease's checkpoint when the consumer started).
    last_checkpoint: ExtendedSequenceNumber,
    /// The largest record position a checkpoint may reach: the end of the batch in hand while
    /// `process_records` runs, else the end of the last batch that returned `Ok`.
    largest_delivered: Option<ExtendedSequenceNumber>,
    /// The end of the last batch whose `process_records` returned `Ok` (or was skipped by policy).
    last_ok_delivered: Option<ExtendedSequenceNumber>,
    /// Every record of the (closed) shard has been delivered.
    at_shard_end: bool,
}

/// Records a shard's progress in the lease store. Cheap to clone; clones share state, so a processor may
/// keep one to checkpoint later (for example after an asynchronous flush).
#[derive(Clone)]
pub struct Checkpointer {
    inner: Arc<Inner>,
}

struct Inner {
    lease: Arc<HeldLease>,
    /// The shard id as the source knows it (in multi-stream mode, the lease key's shard part).
    shard_id: String,
    progress: Mutex<Progress>,
}

impl std::fmt::Debug for Checkpointer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkpointer")
            .field("shard_id", &self.shard_id())
            .finish_non_exhaustive()
    }
}

impl Checkpointer {
    pub(crate) fn new(
        lease: Arc<HeldLease>,
        shard_id: String,
        last_checkpoint: ExtendedSequenceNumber,
    ) -> Self {
        Checkpointer {
            inner: Arc::new(Inner {
                lease,
                shard_id,
                progress: Mutex::new(Progress {
                    last_checkpoint,
                    largest_delivered: None,
                    last_ok_delivered: None,
                    at_shard_end: false,
                }),
            }),
        }
    }

    fn progress(&self) -> std::sync::MutexGuard<'_, Progress> {
        // A poisoned lock only means a panic elsewhere while holding it; the data is still consistent
        // (every critical section is a plain assignment).
        self.inner.progress.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A `process_records` call on a batch ending at `end` starts: while it runs, checkpoints may reach
    /// `end` (the processor vouches for the batch in hand).
    pub(crate) fn begin_batch(&self, end: Option<ExtendedSequenceNumber>) {
        let mut p = self.progress();
        if let Some(end) = end {
            if p.largest_delivered.as_ref().is_none_or(|d| *d < end) {
                p.largest_delivered = Some(end);
            }
        }
    }

    /// The call returned `Ok`: the batch is processed.
    pub(crate) fn batch_succeeded(&self) {
        let mut p = self.progress();
        p.last_ok_delivered = p.largest_delivered.clone();
    }

    /// The call failed (error or panic): checkpoints roll back to the end of the last successful batch,
    /// so no later checkpoint passes records that were never processed successfully.
    pub(crate) fn batch_failed(&self) {
        let mut p = self.progress();
        p.largest_delivered = p.last_ok_delivered.clone();
    }

    /// Notes that records up to `position` were delivered and processed (tests).
    #[cfg(test)]
    pub(crate) fn delivered(&self, position: ExtendedSequenceNumber) {
        self.begin_batch(Some(position));
        self.batch_succeeded();
    }

    /// Notes that the whole shard was delivered: `checkpoint()` now writes `SHARD_END`.
    pub(crate) fn reached_shard_end(&self) {
        self.progress().at_shard_end = true;
    }

    /// The shard this checkpointer writes for (in multi-stream mode, the shard id within its stream; see
    /// [`lease_key`](Self::lease_key)).
    pub fn shard_id(&self) -> &str {
        &self.inner.shard_id
    }

    /// The key of the lease this checkpointer writes to: the shard id, or in multi-stream mode
    /// `account:stream:creationEpoch:shardId`.
    pub fn lease_key(&self) -> &str {
        self.inner.lease.key()
    }

    /// The last checkpoint written (or the one the consumer started from).
    pub fn last_checkpoint(&self) -> ExtendedSequenceNumber {
        self.progress().last_checkpoint.clone()
    }

    /// The largest record position a checkpoint may reach now, if any: the end of the batch in hand while
    /// `process_records` runs, else the end of the last batch processed successfully.
    pub fn largest_delivered(&self) -> Option<ExtendedSequenceNumber> {
        self.progress().largest_delivered.clone()
    }

    /// True once the lease has been lost: every checkpoint now fails with [`Error::LeaseLost`].
    pub fn is_lease_lost(&self) -> bool {
        self.inner.lease.is_lost()
    }

    /// The position `checkpoint()` writes: `SHARD_END` at the end of the shard, else the largest delivered
    /// (or the last checkpoint, if a failed batch rolled the largest delivered back below it).
    fn latest_target(&self) -> Result<ExtendedSequenceNumber> {
        let p = self.progress();
        if p.at_shard_end {
            return Ok(ExtendedSequenceNumber::ShardEnd);
        }
        p.largest_delivered
            .clone()
            .map(|d| {
                if d < p.last_checkpoint
                    && matches!(p.last_checkpoint, ExtendedSequenceNumber::Sequence { .. })
                {
                    p.last_checkpoint.clone()
                } else {
                    d
                }
            })
            .ok_or_else(|| Error::CheckpointBeyondDelivered {
                shard_id: self.lease_key().to_owned(),
                requested: ExtendedSequenceNumber::Latest,
                largest_delivered: None,
            })
    }

    /// Checks `target` against [last checkpoint, largest delivered].
    fn validate(&self, target: &ExtendedSequenceNumber) -> Result<()> {
        let p = self.progress();
        if *target < p.last_checkpoint {
            return Err(Error::CheckpointBelowLast {
                shard_id: self.lease_key().to_owned(),
                requested: target.clone(),
                last: p.last_checkpoint.clone(),
            });
        }
        let within = match target {
            // Writing the last checkpoint again is always fine.
            ExtendedSequenceNumber::Sequence { .. } if *target == p.last_checkpoint => true,
            ExtendedSequenceNumber::ShardEnd => p.at_shard_end,
            ExtendedSequenceNumber::Sequence { .. } => p
                .largest_delivered
                .as_ref()
                .is_some_and(|largest| target <= largest),
            // Initial-position sentinels are never valid checkpoints.
            _ => false,
        };
        if !within {
            return Err(Error::CheckpointBeyondDelivered {
                shard_id: self.lease_key().to_owned(),
                requested: target.clone(),
                largest_delivered: p.largest_delivered.clone(),
            });
        }
        Ok(())
    }

    async fn write(&self, target: ExtendedSequenceNumber) -> Result<()> {
        self.validate(&target)?;
        self.inner.lease.checkpoint(target.clone()).await?;
        let mut p = self.progress();
        if p.last_checkpoint < target {
            p.last_checkpoint = target;
        }
        Ok(())
    }

    /// Checkpoints at the last record delivered (or `SHARD_END` once the whole shard was delivered).
    ///
    /// # Errors
    ///
    /// [`Error::LeaseLost`] after the lease is lost; [`Error::CheckpointBeyondDelivered`] if nothing was
    /// delivered yet; [`Error::Store`] if the store failed (retryable ones may be retried).
    pub async fn checkpoint(&self) -> Result<()> {
        let target = self.latest_target()?;
        self.write(target).await
    }

    /// Checkpoints at `record`.
    ///
    /// # Errors
    ///
    /// As [`Checkpointer::checkpoint_at`].
    pub async fn checkpoint_record(&self, record: &Record) -> Result<()> {
        self.write(record.extended_sequence_number()).await
    }

    /// Checkpoints at a sequence number and sub-sequence number (0 for plain records).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSequenceNumber`] if `sequence` is not decimal digits; [`Error::CheckpointBelowLast`]
    /// / [`Error::CheckpointBeyondDelivered`] outside [last checkpoint, largest delivered];
    /// [`Error::LeaseLost`]; [`Error::Store`].
    pub async fn checkpoint_at(&self, sequence: &str, sub_sequence: u64) -> Result<()> {
        let sequence = SequenceNumber::new(sequence)?;
        self.write(ExtendedSequenceNumber::with_sub_sequence(sequence, sub_sequence))
            .await
    }

    /// Checkpoints at an extended sequence number (a record position, or `SHARD_END` at the shard end).
    ///
    /// # Errors
    ///
    /// As [`Checkpointer::checkpoint_at`].
    pub async fn checkpoint_position(&self, position: ExtendedSequenceNumber) -> Result<()> {
        self.write(position).await
    }

    /// First phase of a two-phase checkpoint at the last delivered record: stores a pending checkpoint
    /// with optional application state. Commit it with [`PreparedCheckpoint::commit`].
    ///
    /// # Errors
    ///
    /// As [`Checkpointer::checkpoint`].
    pub async fn prepare_checkpoint(&self, state: Option<Bytes>) -> Result<PreparedCheckpoint> {
        let target = self.latest_target()?;
        self.prepare_checkpoint_at_position(target, state).await
    }

    /// First phase of a two-phase checkpoint at `record`.
    ///
    /// # Errors
    ///
    /// As [`Checkpointer::checkpoint_at`].
    pub async fn prepare_checkpoint_record(
        &self,
        record: &Record,
        state: Option<Bytes>,
    ) -> Result<PreparedCheckpoint> {
        self.prepare_checkpoint_at_position(record.extended_sequence_number(), state)
            .await
    }

    /// First phase of a two-phase checkpoint at a sequence and sub-sequence number.
    ///
    /// # Errors
    ///
    /// As [`Checkpointer::checkpoint_at`].
    pub async fn prepare_checkpoint_at(
        &self,
        sequence: &str,
        sub_sequence: u64,
        state: Option<Bytes>,
    ) -> Result<PreparedCheckpoint> {
        let sequence = SequenceNumber::new(sequence)?;
        self.prepare_checkpoint_at_position(
            ExtendedSequenceNumber::with_sub_sequence(sequence, sub_sequence),
            state,
        )
        .await
    }

    async fn prepare_checkpoint_at_position(
        &self,
        target: ExtendedSequenceNumber,
        state: Option<Bytes>,
    ) -> Result<PreparedCheckpoint> {
        self.validate(&target)?;
        self.inner.lease.prepare(target.clone(), state).await?;
        Ok(PreparedCheckpoint {
            checkpointer: self.clone(),
            pending: target,
        })
    }
}

/// A pending checkpoint stored by the first phase of a two-phase checkpoint.
#[derive(Debug)]
#[must_use = "a prepared checkpoint does nothing until committed"]
pub struct PreparedCheckpoint {
    checkpointer: Checkpointer,
    pending: ExtendedSequenceNumber,
}

impl PreparedCheckpoint {
    /// The pending position.
    pub fn pending(&self) -> &ExtendedSequenceNumber {
        &self.pending
    }

    /// Second phase: makes the pending checkpoint the checkpoint (and clears the pending one).
    ///
    /// # Errors
    ///
    /// [`Error::LeaseLost`]; [`Error::CheckpointBelowLast`] if a later checkpoint was written meanwhile;
    /// [`Error::Store`].
    pub async fn commit(self) -> Result<()> {
        self.checkpointer.write(self.pending).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use kcl_checkpoint::{InMemoryLeaseStore, Lease, LeaseKey, LeaseStore};

    fn seq(n: u128) -> ExtendedSequenceNumber {
        ExtendedSequenceNumber::sequence(SequenceNumber::from(n))
    }

    async fn setup() -> (Arc<dyn LeaseStore>, Checkpointer) {
        let store: Arc<dyn LeaseStore> = Arc::new(InMemoryLeaseStore::new());
        store
            .create_if_absent(&Lease::new("shard-0", ExtendedSequenceNumber::TrimHorizon))
            .await
            .unwrap();
        let lease = store.get(&LeaseKey::new("shard-0")).await.unwrap().unwrap();
        let lease = store.take(&lease, "me").await.unwrap();
        let ctx =
            crate::held::LeaseContext::for_tests(Arc::clone(&store), std::time::Duration::from_secs(10));
        let held = HeldLease::new(ctx, lease, tokio::time::Instant::now(), None);
        (
            store,
            Checkpointer::new(held, "shard-0".to_owned(), ExtendedSequenceNumber::TrimHorizon),
        )
    }

    async fn stored(store: &Arc<dyn LeaseStore>) -> Lease {
        store.get(&LeaseKey::new("shard-0")).await.unwrap().unwrap()
    }

    #[tokio::test]
    async fn checkpoints_must_lie_between_the_last_and_the_largest_delivered() {
        let (store, cp) = setup().await;
        let e = cp.checkpoint().await.unwrap_err();
        assert!(matches!(e, Error::CheckpointBeyondDelivered { .. }), "{e}");

        cp.delivered(seq(10));
        cp.checkpoint_at("5", 0).await.unwrap();
        assert_eq!(stored(&store).await.checkpoint, seq(5));
        let e = cp.checkpoint_at("3", 0).await.unwrap_err();
        assert!(matches!(e, Error::CheckpointBelowLast { .. }), "{e}");
        let e = cp.checkpoint_at("11", 0).await.unwrap_err();
        assert!(matches!(e, Error::CheckpointBeyondDelivered { .. }), "{e}");
        let e = cp
            .checkpoint_position(ExtendedSequenceNumber::ShardEnd)
            .await
            .unwrap_err();
        assert!(e.is_checkpoint_out_of_range(), "{e}");
        assert!(matches!(
            cp.checkpoint_at("x1", 0).await,
            Err(Error::InvalidSequenceNumber(_))
        ));
        // The same checkpoint again is fine; so is the latest delivered.
        cp.checkpoint_at("5", 0).await.unwrap();
        cp.checkpoint().await.unwrap();
        assert_eq!(stored(&store).await.checkpoint, seq(10));
        assert_eq!(cp.last_checkpoint(), seq(10));

        cp.reached_shard_end();
        cp.checkpoint().await.unwrap();
        assert!(stored(&store).await.checkpoint.is_shard_end());
    }

    #[tokio::test]
    async fn two_phase_checkpoint_stores_pending_state_then_commits() {
        let (store, cp) = setup().await;
        cp.delivered(seq(20));
        let prepared = cp
            .prepare_checkpoint_at("15", 2, Some(Bytes::from_static(b"state")))
            .await
            .unwrap();
        let lease = stored(&store).await;
        assert_eq!(lease.checkpoint, ExtendedSequenceNumber::TrimHorizon);
        assert_eq!(lease.pending_checkpoint, Some(prepared.pending().clone()));
        assert_eq!(lease.pending_checkpoint_state.as_deref(), Some(&b"state"[..]));
        prepared.commit().await.unwrap();
        let lease = stored(&store).await;
        assert_eq!(
            lease.checkpoint,
            ExtendedSequenceNumber::with_sub_sequence(SequenceNumber::from(15u128), 2)
        );
        assert_eq!(lease.pending_checkpoint, None);
        // A prepared checkpoint below a later committed one cannot be committed.
        let stale = cp.prepare_checkpoint_at("16", 0, None).await.unwrap();
        cp.checkpoint_at("18", 0).await.unwrap();
        assert!(matches!(
            stale.commit().await,
            Err(Error::CheckpointBelowLast { .. })
        ));
    }

    #[tokio::test]
    async fn a_lower_checkpoint_landing_after_a_higher_one_is_refused_under_the_lease_lock() {
        let (store, cp) = setup().await;
        let other = cp.clone();
        cp.delivered(seq(10));
        // The lower write was validated against the old last checkpoint (as a concurrent clone would
        // be)...
        cp.validate(&seq(5)).unwrap();
        // ...then the higher one lands first...
        other.checkpoint_at("10", 0).await.unwrap();
        // ...and the lower one reaches the lease afterwards: it must not move the checkpoint back.
        let e = cp.inner.lease.checkpoint(seq(5)).await.unwrap_err();
        assert!(matches!(e, Error::CheckpointBelowLast { .. }), "{e}");
        let e = cp.inner.lease.prepare(seq(5), None).await.unwrap_err();
        assert!(matches!(e, Error::CheckpointBelowLast { .. }), "{e}");
        let lease = stored(&store).await;
        assert_eq!(lease.checkpoint, seq(10));
        assert_eq!(lease.pending_checkpoint, None);
        // Equal and higher targets still go through.
        cp.inner.lease.checkpoint(seq(10)).await.unwrap();
        assert_eq!(stored(&store).await.checkpoint, seq(10));
    }

    #[tokio::test]
    async fn checkpoint_record_and_checkpoint_at_write_sub_sequence_positions_in_range() {
        let (store, cp) = setup().await;
        let sub = |n: u128, sub: u64| ExtendedSequenceNumber::with_sub_sequence(SequenceNumber::from(n), sub);
        // An aggregated record 7 with sub-records 0..=2 delivered.
        let records: Vec<Record> = (0..3)
            .map(|i| Record::new(&b"x"[..], "k", SequenceNumber::from(7u128)).with_sub_sequence_number(i))
            .collect();
        cp.delivered(sub(7, 2));

        cp.checkpoint_record(&records[1]).await.unwrap();
        assert_eq!(stored(&store).await.checkpoint, sub(7, 1));
        assert_eq!(cp.last_checkpoint(), sub(7, 1));
        // Below it: refused, even within the same aggregate.
        let e = cp.checkpoint_record(&records[0]).await.unwrap_err();
        assert!(
            matches!(e, Error::CheckpointBelowLast { ref requested, .. } if *requested == sub(7, 0)),
            "{e}"
        );
        let e = cp.checkpoint_at("6", 9).await.unwrap_err();
        assert!(
            matches!(e, Error::CheckpointBelowLast { ref last, .. } if *last == sub(7, 1)),
            "{e}"
        );
        // Beyond the largest delivered sub-record: refused, with what was delivered.
        let e = cp.checkpoint_at("7", 3).await.unwrap_err();
        assert!(
            matches!(e, Error::CheckpointBeyondDelivered { ref largest_delivered, .. }
                if *largest_delivered == Some(sub(7, 2))),
            "{e}"
        );
        let beyond = Record::new(&b"x"[..], "k", SequenceNumber::from(8u128));
        assert!(cp
            .checkpoint_record(&beyond)
            .await
            .unwrap_err()
            .is_checkpoint_out_of_range());
        // The last sub-record.
        cp.checkpoint_at("7", 2).await.unwrap();
        assert_eq!(stored(&store).await.checkpoint, sub(7, 2));
    }

    #[tokio::test]
    async fn after_the_lease_is_taken_checkpoints_fail_with_lease_lost() {
        let (store, cp) = setup().await;
        cp.delivered(seq(7));
        let current = stored(&store).await;
        store.take(&current, "thief").await.unwrap();
        let e = cp.checkpoint().await.unwrap_err();
        assert!(e.is_lease_lost(), "{e}");
        assert!(cp.is_lease_lost());
        assert_eq!(
            stored(&store).await.checkpoint,
            ExtendedSequenceNumber::TrimHorizon
        );
        // And it stays refused without touching the store.
        assert!(cp.checkpoint_at("7", 0).await.unwrap_err().is_lease_lost());
    }
}
