//! Batching: turns the batches read from a shard into the batches the processor is called with
//! ([`ProcessingPolicy`]'s batch size, batching window and tumbling windows).
//!
//! With the default policy a batch read is delivered as it is. Otherwise records are buffered, still in
//! the read batches that hold their prefetch budget (so memory stays bounded by the prefetch limits plus
//! one delivery), and cut into [`Chunk`]s of at most `batch_size` records, never spanning two tumbling
//! windows. A chunk is ready when it is full, when a window boundary cuts it, at the end of a closed
//! shard, or when its oldest record has waited the batching window.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use crate::clock::Clock;
use crate::policy::window::window_start;
use crate::policy::ProcessingPolicy;
use crate::record::{ChildShard, Record};
use crate::retrieval::Batch;

/// Records to deliver together.
#[derive(Debug, Default)]
pub(super) struct Chunk {
    /// The records as read, in sequence order (filters apply later, at delivery).
    pub(super) records: Vec<Record>,
    /// The tumbling window the records belong to (its start), when windows are on.
    pub(super) window: Option<SystemTime>,
    /// How far behind the newest record the read of the chunk's last record was.
    pub(super) millis_behind_latest: Option<u64>,
    /// The chunk ends the (closed) shard.
    pub(super) at_shard_end: bool,
    /// The children, at the shard end.
    pub(super) child_shards: Vec<ChildShard>,
    /// Read batches wholly drained into this chunk: their prefetch budget is held until it is delivered.
    _held: Vec<Batch>,
}

/// Buffers read batches and cuts chunks from them.
pub(super) struct Batcher {
    batches: VecDeque<Batch>,
    buffered: usize,
    batch_size: Option<usize>,
    batching_window: Duration,
    tumbling: Option<Duration>,
    process_empty: bool,
    /// When the oldest buffered record was read (the batching window runs from there).
    first_at: Option<Instant>,
    clock: Clock,
}

impl Batcher {
    /// Cuts chunks of `batch_size` records, times `lanes` (each lane of a parallelized shard gets a batch
    /// of about `batch_size` from a chunk).
    pub(super) fn new(policy: &ProcessingPolicy, lanes: usize, process_empty: bool, clock: Clock) -> Self {
        Batcher {
            batches: VecDeque::new(),
            buffered: 0,
            batch_size: policy.batch_size().map(|n| n.saturating_mul(lanes.max(1))),
            batching_window: policy.maximum_batching_window(),
            tumbling: policy.tumbling_window(),
            process_empty,
            first_at: None,
            clock,
        }
    }

    /// Adds a batch read from the shard.
    pub(super) fn push(&mut self, batch: Batch) {
        let n = batch.input.records.len();
        if n > 0 && self.first_at.is_none() {
            self.first_at = Some(Instant::now());
        }
        self.buffered += n;
        self.batches.push_back(batch);
    }

    /// True when nothing is buffered (no record, and no shard end waiting to be delivered).
    pub(super) fn is_empty(&self) -> bool {
        self.batches.is_empty()
    }

    /// When the batching window makes a partial chunk ready, if records wait for it.
    pub(super) fn deadline(&self) -> Option<Instant> {
        match (self.batch_size, self.first_at) {
            (Some(_), Some(at)) if self.buffered > 0 => Some(at + self.batching_window),
            _ => None,
        }
    }

    /// The tumbling window `record` belongs to.
    pub(super) fn window_of(&self, record: &Record) -> Option<SystemTime> {
        let length = self.tumbling?;
        let at = record
            .approximate_arrival_timestamp
            .unwrap_or_else(|| self.clock.now());
        Some(window_start(at, length))
    }

    /// The next chunk, if one is ready now.
    pub(super) fn take_ready(&mut self, now: Instant) -> Option<Chunk> {
        // Drop empty reads (delivering one when asked to), and deliver a shard end with no records.
        while self.buffered == 0 {
            let front = self.batches.pop_front()?;
            if front.input.at_shard_end || self.process_empty {
                let window = None;
                return Some(Chunk {
                    records: Vec::new(),
                    window,
                    millis_behind_latest: front.input.millis_behind_latest,
                    at_shard_end: front.input.at_shard_end,
                    child_shards: front.input.child_shards.clone(),
                    _held: vec![front],
                });
            }
        }
        while self.batches.front().is_some_and(|b| b.input.records.is_empty()) {
            // An empty read before buffered records carries nothing.
            self.batches.pop_front();
        }
        let end_buffered = self.batches.back().is_some_and(|b| b.input.at_shard_end);
        // How many records the chunk takes, and whether it is ready.
        let limit = match self.batch_size {
            Some(n) => n,
            // As read: the front batch's records.
            None => self.batches.front().map_or(0, |b| b.input.records.len()),
        };
        let first_window = self
            .batches
            .front()
            .and_then(|b| b.input.records.first())
            .and_then(|r| self.window_of(r));
        let mut take = 0;
        let mut cut_by_window = false;
        'count: for batch in &self.batches {
            for record in &batch.input.records {
                if take == limit {
                    break 'count;
                }
                if self.tumbling.is_some() && self.window_of(record) != first_window {
                    cut_by_window = true;
                    break 'count;
                }
                take += 1;
            }
        }
        let ready = self.batch_size.is_none()
            || take == limit
            || cut_by_window
            || end_buffered
            || self.first_at.is_some_and(|at| now >= at + self.batching_window);
        if !ready || take == 0 {
            return None;
        }
        let mut chunk = Chunk {
            window: first_window,
            ..Chunk::default()
        };
        while chunk.records.len() < take {
            let front = self.batches.front_mut()?;
            let want = take - chunk.records.len();
            chunk.millis_behind_latest = front.input.millis_behind_latest;
            if front.input.records.len() <= want {
                chunk.records.append(&mut front.input.records);
                if !front.input.at_shard_end {
                    if let Some(done) = self.batches.pop_front() {
                        chunk._held.push(done);
                    }
                }
            } else {
                chunk.records.extend(front.input.records.drain(..want));
            }
        }
        self.buffered -= take;
        // The shard end travels with the chunk holding the shard's last record.
        if self.buffered == 0 && self.batches.front().is_some_and(|b| b.input.at_shard_end) {
            if let Some(end) = self.batches.pop_front() {
                chunk.at_shard_end = true;
                chunk.child_shards = end.input.child_shards.clone();
                chunk.millis_behind_latest = end.input.millis_behind_latest;
                chunk._held.push(end);
            }
        }
        if self.buffered == 0 {
            self.first_at = None;
        }
        Some(chunk)
    }
}
