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
    /// The largest record position delivered to the processor.
    largest_delivered: Option<ExtendedSequenceNumber>,
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
    pub(crate) fn new(lease: Arc<HeldLease>, last_checkpoint: ExtendedSequenceNumber) -> Self {
        Checkpointer {
            inner: Arc::new(Inner {
                lease,
                progress: Mutex::new(Progress {
                    last_checkpoint,
                    largest_delivered: None,
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

    /// Notes that records up to `position` were delivered.
    pub(crate) fn delivered(&self, position: ExtendedSequenceNumber) {
        let mut p = self.progress();
        if p.largest_delivered.as_ref().is_none_or(|d| *d < position) {
            p.largest_delivered = Some(position);
        }
    }

    /// Notes that the whole shard was delivered: `checkpoint()` now writes `SHARD_END`.
    pub(crate) fn reached_shard_end(&self) {
        self.progress().at_shard_end = true;
    }

    /// The shard this checkpointer writes for.
    pub fn shard_id(&self) -> &str {
        self.inner.lease.shard_id()
    }

    /// The last checkpoint written (or the one the consumer started from).
    pub fn last_checkpoint(&self) -> ExtendedSequenceNumber {
        self.progress().last_checkpoint.clone()
    }

    /// The largest record position delivered so far, if any.
    pub fn largest_delivered(&self) -> Option<ExtendedSequenceNumber> {
        self.progress().largest_delivered.clone()
    }

    /// True once the lease has been lost: every checkpoint now fails with [`Error::LeaseLost`].
    pub fn is_lease_lost(&self) -> bool {
        self.inner.lease.is_lost()
    }

    /// The position `checkpoint()` writes: `SHARD_END` at the end of the shard, else the largest delivered.
    fn latest_target(&self) -> Result<ExtendedSequenceNumber> {
        let p = self.progress();
        if p.at_shard_end {
            return Ok(ExtendedSequenceNumber::ShardEnd);
        }
        p.largest_delivered
            .clone()
            .ok_or_else(|| Error::CheckpointBeyondDelivered {
                shard_id: self.shard_id().to_owned(),
                requested: ExtendedSequenceNumber::Latest,
                largest_delivered: None,
            })
    }

    /// Checks `target` against [last checkpoint, largest delivered].
    fn validate(&self, target: &ExtendedSequenceNumber) -> Result<()> {
        let p = self.progress();
        if *target < p.last_checkpoint {
            return Err(Error::CheckpointBelowLast {
                shard_id: self.shard_id().to_owned(),
                requested: target.clone(),
                last: p.last_checkpoint.clone(),
            });
        }
        let within = match target {
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
                shard_id: self.shard_id().to_owned(),
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
