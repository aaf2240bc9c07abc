//! The delivery state of a queue and the operations on it: receiving (with long polling), and the
//! per-entry acknowledge / visibility / restore operations, on either side (normal or dead-letter).
//!
//! Per source stream and shard a [`Cursor`]: `next` is the first record never delivered (it and every
//! later record are visible), `tracked` the records before it that are not acknowledged. Everything
//! due (records past retention leave, expired records past `MaxReceiveCount` become dead letters) is
//! settled whenever a shard's cursor is touched, under the queue's lock and then the shard's.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::handle::{self, Handle};
use super::shapes::{
    FailedEntry, QueueEntriesOutput, QueueRecord, QueueStartingPosition, QueueStartingPositionType,
    QueueStatus, ReceiptHandleEntry, VisibilityInput,
};
use super::{require_delivering, resolve, QueueData, QueueState};
use crate::error::{ErrorCode, KinesisError};
use crate::shapes::Timestamp;
use crate::state::{Inner, ShardData, StreamState};
use crate::validate;

/// The normal side of a queue or its dead-letter side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) enum Side {
    /// ReceiveQueueRecords and friends.
    Main,
    /// ReceiveDeadLetterQueueRecords and friends.
    Dead,
}

/// One stream a queue delivers from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Source {
    pub(crate) stream_arn: String,
    pub(crate) epoch: u64,
    pub(crate) stream_created: Timestamp,
    /// As configured.
    pub(crate) position: QueueStartingPosition,
    /// `AT_TIMESTAMP`: records that arrived earlier are never delivered.
    pub(crate) min_arrival_ms: Option<i64>,
    /// Where the shards that existed at creation start (`LATEST`); other shards start at record 1.
    pub(crate) initial: BTreeMap<u32, u64>,
    pub(crate) shards: BTreeMap<u32, Cursor>,
}

/// The delivery state of one shard.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Cursor {
    /// Counter of the first record never delivered.
    pub(crate) next: u64,
    /// Records before `next` that are not acknowledged, by counter.
    pub(crate) tracked: BTreeMap<u64, Delivery>,
}

/// The delivery state of one record that has been delivered (or skipped over) and not acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Delivery {
    pub(crate) side: Side,
    /// Receives on the current side.
    pub(crate) receive_count: u32,
    pub(crate) first_receive_ms: Option<i64>,
    /// Invisible until then (wall-clock ms); visible when in the past.
    pub(crate) invisible_until_ms: i64,
    /// Bumped by every receive, dead-lettering and restore: the newest receipt handle carries it.
    pub(crate) generation: u32,
}

impl Delivery {
    fn visible() -> Self {
        Self {
            side: Side::Main,
            receive_count: 0,
            first_receive_ms: None,
            invisible_until_ms: i64::MIN,
            generation: 0,
        }
    }
}

impl Source {
    pub(crate) fn new(inner: &Inner, stream: &StreamState, position: QueueStartingPosition) -> Self {
        let mut initial = BTreeMap::new();
        if position.r#type == QueueStartingPositionType::Latest {
            let cutoff = inner.now_millis().saturating_sub(stream.retention_ms());
            for shard in stream.meta.read().shards.iter() {
                let mut data = shard.data.lock();
                data.trim(cutoff);
                initial.insert(shard.index, data.next_counter());
            }
        }
        let min_arrival_ms = match position.r#type {
            QueueStartingPositionType::AtTimestamp => position.timestamp.map(Timestamp::as_millis),
            _ => None,
        };
        Self {
            stream_arn: stream.arn.clone(),
            epoch: stream.epoch,
            stream_created: stream.created,
            position,
            min_arrival_ms,
            initial,
            shards: BTreeMap::new(),
        }
    }

    /// The starting position as descriptions show it: as configured while CREATING, then effective.
    pub(crate) fn effective_position(
        &self,
        status: QueueStatus,
        queue_created: Timestamp,
    ) -> QueueStartingPosition {
        let timestamp = match (status, self.position.r#type) {
            (_, QueueStartingPositionType::AtTimestamp) => self.position.timestamp,
            (QueueStatus::Creating, _) => None,
            (_, QueueStartingPositionType::Latest) => Some(queue_created),
            (_, QueueStartingPositionType::TrimHorizon) => Some(self.stream_created),
        };
        QueueStartingPosition {
            r#type: self.position.r#type,
            timestamp,
        }
    }

    /// The cursor of `shard`, created where that shard starts for this queue.
    fn cursor(&mut self, shard: u32) -> &mut Cursor {
        let start = self.initial.get(&shard).copied().unwrap_or(1);
        self.shards.entry(shard).or_insert_with(|| Cursor {
            next: start,
            tracked: BTreeMap::new(),
        })
    }
}

impl Cursor {
    /// Applies what is due: records trimmed from the shard leave; records received `max` times whose
    /// visibility ran out become dead letters; `AT_TIMESTAMP` skips records that arrived too early.
    fn settle(&mut self, data: &ShardData, now_ms: i64, max: Option<u32>, min_arrival_ms: Option<i64>) {
        let base = data.base;
        if self.next < base {
            self.next = base;
        }
        if self.tracked.first_key_value().is_some_and(|(c, _)| *c < base) {
            self.tracked = self.tracked.split_off(&base);
        }
        if let Some(min) = min_arrival_ms {
            while self.next < data.next_counter() && data.records[data.index_of(self.next)].arrival_ms < min {
                self.next += 1;
            }
        }
        if let Some(max) = max {
            for d in self.tracked.values_mut() {
                if d.side == Side::Main && d.invisible_until_ms <= now_ms && d.receive_count >= max {
                    d.side = Side::Dead;
                    d.receive_count = 0;
                    d.invisible_until_ms = i64::MIN;
                    d.generation = d.generation.wrapping_add(1);
                }
            }
        }
    }
}

/// A record that could be delivered by this receive.
struct Candidate {
    arrival_ms: i64,
    source: usize,
    shard: u32,
    counter: u64,
    fresh: bool,
    data: Bytes,
    key: String,
    seq: String,
}

/// ReceiveQueueRecords / ReceiveDeadLetterQueueRecords: validates the request and receives, waiting
/// up to the wait time for a record to become visible.
///
/// # Errors
/// `ValidationException` (ranges), `ResourceNotFoundException` (unknown queue, or one not delivering).
pub(crate) async fn receive(
    inner: &Inner,
    queue_arn: &str,
    side: Side,
    limit: Option<i32>,
    wait_secs: Option<i32>,
    visibility: Option<i32>,
) -> Result<Vec<QueueRecord>, KinesisError> {
    let limit = validate::int_in(limit, "limit", 1, 10, 10)?;
    let wait_secs = validate::int_in(wait_secs, "waitTimeSeconds", 1, 20, 9)?;
    let visibility = visibility
        .map(|v| super::visibility(v, "visibilityTimeoutSeconds"))
        .transpose()?;
    let limit = usize::try_from(limit).unwrap_or(10);
    let deadline = Instant::now() + Duration::from_secs(u64::try_from(wait_secs).unwrap_or(9));
    loop {
        let woken = inner.queues.wake.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        let queue = resolve(inner, queue_arn)?;
        let (records, next_visible_ms) = receive_once(inner, &queue, side, limit, visibility)?;
        let now = Instant::now();
        if !records.is_empty() || now >= deadline {
            return Ok(records);
        }
        let mut until = deadline;
        if let Some(ms) = next_visible_ms {
            let delay = u64::try_from(ms.saturating_sub(inner.now_millis())).unwrap_or(0);
            until = until.min(now + Duration::from_millis(delay.max(1)));
        }
        tokio::select! {
            () = &mut woken => {}
            () = tokio::time::sleep_until(until) => {}
        }
    }
}

/// One receive attempt: the records delivered, and when the next invisible record of that side
/// becomes visible (for the long poll).
fn receive_once(
    inner: &Inner,
    queue: &QueueState,
    side: Side,
    limit: usize,
    visibility: Option<u32>,
) -> Result<(Vec<QueueRecord>, Option<i64>), KinesisError> {
    let mut data = queue.data.lock();
    require_delivering(inner, queue, &data)?;
    let now_ms = inner.now_millis();
    let visibility_ms = i64::from(visibility.unwrap_or(data.visibility_secs)) * 1000;
    let max = data.max_receive_count;
    let mut candidates = Vec::new();
    let mut next_visible: Option<i64> = None;
    for (si, source) in data.sources.iter_mut().enumerate() {
        let Some(stream) = inner.stream_by_epoch(source.epoch) else {
            source.shards.clear();
            continue;
        };
        let cutoff = now_ms.saturating_sub(stream.retention_ms());
        let shards = stream.meta.read().shards.clone();
        let min_arrival = source.min_arrival_ms;
        for shard in shards {
            let mut sd = shard.data.lock();
            sd.trim(cutoff);
            let cursor = source.cursor(shard.index);
            cursor.settle(&sd, now_ms, max, min_arrival);
            let mut taken = 0;
            let mut push = |counter: u64, fresh: bool, sd: &ShardData| {
                let r = &sd.records[sd.index_of(counter)];
                candidates.push(Candidate {
                    arrival_ms: r.arrival_ms,
                    source: si,
                    shard: shard.index,
                    counter,
                    fresh,
                    data: r.data(),
                    key: r.key(),
                    seq: shard.seq(counter),
                });
            };
            for (&counter, d) in &cursor.tracked {
                if d.side != side {
                    // A dead-letter receive also wakes when a record in flight may become a dead letter.
                    if side == Side::Dead && d.invisible_until_ms > now_ms && max.is_some() {
                        next_visible =
                            Some(next_visible.map_or(d.invisible_until_ms, |n| n.min(d.invisible_until_ms)));
                    }
                    continue;
                }
                if d.invisible_until_ms > now_ms {
                    next_visible =
                        Some(next_visible.map_or(d.invisible_until_ms, |n| n.min(d.invisible_until_ms)));
                } else if taken < limit {
                    push(counter, false, &sd);
                    taken += 1;
                }
            }
            if side == Side::Main {
                let mut counter = cursor.next;
                while taken < limit && counter < sd.next_counter() {
                    push(counter, true, &sd);
                    taken += 1;
                    counter += 1;
                }
            }
        }
    }
    candidates.sort_by_key(|c| (c.arrival_ms, c.source, c.shard, c.counter));
    candidates.truncate(limit);
    let mut records = Vec::with_capacity(candidates.len());
    let invisible_until_ms = now_ms.saturating_add(visibility_ms);
    for c in candidates {
        let cursor = data.sources[c.source].cursor(c.shard);
        if c.fresh {
            // Fresh records are taken oldest first, so these are the cursor's next ones; anything
            // skipped over stays deliverable as a tracked, visible record.
            for skipped in cursor.next..c.counter {
                cursor.tracked.entry(skipped).or_insert_with(Delivery::visible);
            }
            cursor.next = cursor.next.max(c.counter + 1);
        }
        let d = cursor.tracked.entry(c.counter).or_insert_with(Delivery::visible);
        d.side = side;
        d.receive_count = d.receive_count.saturating_add(1);
        let first = *d.first_receive_ms.get_or_insert(now_ms);
        d.invisible_until_ms = invisible_until_ms;
        d.generation = d.generation.wrapping_add(1);
        let receipt_handle = handle::encode(
            inner,
            Handle {
                queue: queue.id,
                side,
                source: u32::try_from(c.source).unwrap_or(u32::MAX),
                shard: c.shard,
                counter: c.counter,
                generation: d.generation,
            },
        );
        records.push(QueueRecord {
            receipt_handle,
            record_id: c.seq,
            partition_key: Some(c.key),
            data: c.data,
            approximate_arrival_timestamp: Timestamp::from_millis(c.arrival_ms),
            first_receive_timestamp: Timestamp::from_millis(first),
            receive_count: i32::try_from(d.receive_count).unwrap_or(i32::MAX),
        });
        if visibility_ms == 0 {
            next_visible = Some(now_ms);
        }
    }
    Ok((records, next_visible))
}

/// What a batch entry asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Remove the record for good.
    Acknowledge,
    /// Make it invisible for this many seconds from now (0: visible at once).
    Visibility(i32),
    /// Put a dead letter back on the normal side.
    Restore,
}

/// Update(DeadLetter)QueueRecordsVisibility on `side`: [`entries`] with each entry's new timeout.
///
/// # Errors
/// As [`entries`].
pub(crate) fn update_visibility(
    inner: &Inner,
    input: VisibilityInput,
    side: Side,
) -> Result<QueueEntriesOutput, KinesisError> {
    let batch = input
        .entries
        .into_iter()
        .map(|e| {
            (
                e.receipt_handle,
                Outcome::Visibility(e.visibility_timeout_seconds),
            )
        })
        .collect();
    entries(inner, &input.queue_arn, side, batch)
}

/// The batch operations: each entry's receipt handle is checked and `outcome` applied, with a result
/// per entry.
///
/// # Errors
/// For the whole request only: `ValidationException` (1..=10 entries, queue ARN),
/// `ResourceNotFoundException` (unknown queue, or one not delivering).
pub(crate) fn entries(
    inner: &Inner,
    queue_arn: &str,
    side: Side,
    entries: Vec<(String, Outcome)>,
) -> Result<QueueEntriesOutput, KinesisError> {
    if entries.is_empty() || entries.len() > 10 {
        return Err(validate::error(
            format!("[{} entries]", entries.len()),
            "entries",
            if entries.is_empty() {
                "Member must have length greater than or equal to 1"
            } else {
                "Member must have length less than or equal to 10"
            },
        ));
    }
    let queue = resolve(inner, queue_arn)?;
    let mut data = queue.data.lock();
    require_delivering(inner, &queue, &data)?;
    let mut out = QueueEntriesOutput::default();
    let mut wake = false;
    for (receipt_handle, outcome) in entries {
        match apply(inner, &queue, &mut data, side, &receipt_handle, outcome) {
            Ok(woke) => {
                wake |= woke;
                out.successful.push(ReceiptHandleEntry { receipt_handle });
            }
            Err(e) => out.failed.push(FailedEntry {
                receipt_handle,
                error_code: e.code().to_owned(),
                error_message: Some(e.message().to_owned()),
            }),
        }
    }
    drop(data);
    if wake {
        inner.queues.wake();
    }
    Ok(out)
}

/// Applies one entry; `Ok(true)` when it made a record visible (waiting receives are woken).
fn apply(
    inner: &Inner,
    queue: &QueueState,
    data: &mut QueueData,
    side: Side,
    receipt_handle: &str,
    outcome: Outcome,
) -> Result<bool, KinesisError> {
    let invalid =
        |why: &str| KinesisError::invalid(format!("Invalid receipt handle {receipt_handle}: {why}"));
    let gone = || {
        KinesisError::not_found(
            "The record is no longer in the queue (acknowledged, or past the stream's retention period).",
        )
    };
    if let Outcome::Visibility(secs) = outcome {
        super::visibility(secs, "visibilityTimeoutSeconds")?;
    }
    if receipt_handle.is_empty() || receipt_handle.len() > 1024 {
        return Err(invalid("it must be 1 to 1024 characters long."));
    }
    let h = handle::decode(inner, receipt_handle)
        .ok_or_else(|| invalid("it was not issued by this emulator."))?;
    if h.queue != queue.id {
        return Err(invalid("it was issued by another queue."));
    }
    if h.side != side {
        return Err(invalid(match side {
            Side::Main => "it is a dead-letter receipt handle; use the dead-letter operations.",
            Side::Dead => "it is not a dead-letter receipt handle.",
        }));
    }
    let now_ms = inner.now_millis();
    let max = data.max_receive_count;
    let source = data
        .sources
        .get_mut(usize::try_from(h.source).unwrap_or(usize::MAX))
        .ok_or_else(|| invalid("it names no stream of this queue."))?;
    let stream: Arc<StreamState> = inner.stream_by_epoch(source.epoch).ok_or_else(gone)?;
    let shard = {
        let meta = stream.meta.read();
        meta.shards
            .get(usize::try_from(h.shard).unwrap_or(usize::MAX))
            .cloned()
    }
    .ok_or_else(gone)?;
    let mut sd = shard.data.lock();
    sd.trim(now_ms.saturating_sub(stream.retention_ms()));
    let min_arrival = source.min_arrival_ms;
    let cursor = source.cursor(h.shard);
    cursor.settle(&sd, now_ms, max, min_arrival);
    drop(sd);
    let d = cursor.tracked.get_mut(&h.counter).ok_or_else(gone)?;
    if d.side != side {
        return Err(invalid(match side {
            Side::Main => "the record has become a dead-letter record; use the dead-letter operations.",
            Side::Dead => "the record has been restored to the queue.",
        }));
    }
    if d.generation != h.generation {
        return Err(invalid(
            "the record has been received again since; use the newest receipt handle.",
        ));
    }
    match outcome {
        Outcome::Acknowledge => {
            cursor.tracked.remove(&h.counter);
            Ok(false)
        }
        Outcome::Visibility(secs) => {
            if d.invisible_until_ms <= now_ms {
                return Err(KinesisError::new(
                    ErrorCode::InvalidArgumentException,
                    "The record is not in flight: its visibility timeout has expired.",
                ));
            }
            d.invisible_until_ms = now_ms.saturating_add(i64::from(secs) * 1000);
            Ok(secs == 0)
        }
        Outcome::Restore => {
            d.side = Side::Main;
            d.receive_count = 0;
            d.invisible_until_ms = i64::MIN;
            d.generation = d.generation.wrapping_add(1);
            Ok(true)
        }
    }
}
