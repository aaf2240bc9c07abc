//! Where finished records are reported during delivery: straight to the shard's checkpointer (one
//! processor), or, with a parallelization factor above 1, to the shard's low watermark.
//!
//! With several lanes (processor instances fed by partition-key hash) records finish out of sequence
//! order across lanes. The [`Watermark`] keeps every dispatched record position with a done flag and
//! retires them from the lowest up while they are done: the last retired position is the highest one
//! below which every record is finished. Only that position reaches the checkpointer, so a checkpoint
//! never passes an unfinished record, and after a crash nothing at or below it is delivered again.

use std::collections::BTreeMap;
use std::sync::Mutex;

use kcl_checkpoint::ExtendedSequenceNumber;

use crate::checkpointer::Checkpointer;

/// The low watermark of a parallelized shard.
#[derive(Debug, Default)]
pub(super) struct Watermark {
    /// Dispatched positions not yet retired, and whether each is done.
    outstanding: BTreeMap<ExtendedSequenceNumber, bool>,
    /// The highest position below which every dispatched record is done.
    low: Option<ExtendedSequenceNumber>,
    /// Dispatched records not yet done.
    in_flight: usize,
}

impl Watermark {
    /// Records dispatched to a lane.
    pub(super) fn dispatched(&mut self, positions: impl IntoIterator<Item = ExtendedSequenceNumber>) {
        for p in positions {
            if self.outstanding.insert(p, false) != Some(false) {
                self.in_flight += 1;
            }
        }
    }

    /// Marks one lane's records up to `through` as done; returns the low watermark if it moved.
    pub(super) fn done<'a>(
        &mut self,
        positions: impl IntoIterator<Item = &'a ExtendedSequenceNumber>,
    ) -> Option<ExtendedSequenceNumber> {
        for p in positions {
            if let Some(done) = self.outstanding.get_mut(p) {
                if !*done {
                    *done = true;
                    self.in_flight -= 1;
                }
            }
        }
        let mut moved = false;
        while let Some(entry) = self.outstanding.first_entry() {
            if !*entry.get() {
                break;
            }
            let (p, _) = entry.remove_entry();
            self.low = Some(p);
            moved = true;
        }
        moved.then(|| self.low.clone()).flatten()
    }

    /// Records dispatched and not yet done.
    pub(super) fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// The low watermark.
    pub(super) fn low(&self) -> Option<ExtendedSequenceNumber> {
        self.low.clone()
    }
}

/// Where the delivery engine reports progress.
pub(super) enum Progress<'a> {
    /// The shard's one processor: the checkpointer follows each call.
    Shard(&'a Checkpointer),
    /// One lane of a parallelized shard: finished records go to the watermark, which moves the
    /// checkpointer.
    Lane {
        checkpointer: &'a Checkpointer,
        watermark: &'a Mutex<Watermark>,
        /// The lane's records of the chunk in hand (finished ones are found by position).
        records: &'a [ExtendedSequenceNumber],
        /// The end of the call in hand.
        in_hand: Mutex<Option<ExtendedSequenceNumber>>,
    },
}

impl Progress<'_> {
    pub(super) fn checkpointer(&self) -> &Checkpointer {
        match self {
            Progress::Shard(c) | Progress::Lane { checkpointer: c, .. } => c,
        }
    }

    /// The worker checkpoints here itself (a lane leaves it to the watermark).
    pub(super) fn is_shard(&self) -> bool {
        matches!(self, Progress::Shard(_))
    }

    /// A call on records up to `end` starts.
    pub(super) fn begin(&self, end: Option<ExtendedSequenceNumber>) {
        match self {
            Progress::Shard(c) => c.begin_batch(end),
            Progress::Lane { in_hand, .. } => *lock(in_hand) = end,
        }
    }

    /// The call in hand succeeded.
    pub(super) fn succeeded(&self) {
        match self {
            Progress::Shard(c) => c.batch_succeeded(),
            Progress::Lane { in_hand, .. } => {
                let end = lock(in_hand).take();
                self.done_through(end);
            }
        }
    }

    /// The call in hand failed.
    pub(super) fn failed(&self) {
        match self {
            Progress::Shard(c) => c.batch_failed(),
            Progress::Lane { in_hand, .. } => *lock(in_hand) = None,
        }
    }

    /// Every record up to `position` is finished.
    pub(super) fn done_through(&self, position: Option<ExtendedSequenceNumber>) {
        let Some(position) = position else { return };
        match self {
            Progress::Shard(c) => {
                c.begin_batch(Some(position));
                c.batch_succeeded();
            }
            Progress::Lane {
                checkpointer,
                watermark,
                records,
                ..
            } => {
                let low = lock(watermark).done(records.iter().filter(|p| **p <= position));
                if let Some(low) = low {
                    checkpointer.begin_batch(Some(low));
                    checkpointer.batch_succeeded();
                }
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
