//! The emulator's state: streams, their shards and consumers, and the locks that guard them.
//!
//! Lock order (always taken in this order, never the reverse): the stream map ([`Inner::streams`]) ->
//! one stream's metadata ([`StreamState::meta`]) -> one shard's data ([`ShardState::data`]). Record data
//! lives in per-shard storage behind a per-shard mutex, so writers and readers of different shards never
//! contend; the hot paths take the stream map and metadata locks only for reading.
//!
//! State transitions with configured delays (CREATING, UPDATING, DELETING, consumer CREATING/DELETING) are
//! applied lazily: a deadline is stored and the next access past it settles the transition. Retention is
//! also applied lazily, whenever a shard is touched.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use parking_lot::{Mutex, RwLock};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::clock::Clock;
use crate::config::EmulatorConfig;
use crate::error::KinesisError;
use crate::faults::Faults;
use crate::sequence;
use crate::token::TokenKey;
use crate::types::{
    ChildShard, ConsumerStatus, HashKeyRange, SequenceNumberRange, Shard, StreamMode, StreamStatus, Timestamp,
};

/// Everything an [`Emulator`](crate::Emulator) handle points to.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) config: EmulatorConfig,
    pub(crate) clock: Clock,
    pub(crate) faults: Faults,
    pub(crate) tokens: TokenKey,
    pub(crate) streams: RwLock<Streams>,
    /// Random high digits of stream epochs, so sequence numbers of two emulators differ.
    pub(crate) epoch_base: AtomicU64,
    pub(crate) next_epoch: AtomicU64,
    /// Active SubscribeToShard subscriptions, by (consumer ARN, shard id).
    pub(crate) subscriptions: Mutex<HashMap<(String, String), SubscriptionSlot>>,
}

/// The streams, by name and by epoch (iterators carry the epoch).
#[derive(Debug, Default)]
pub(crate) struct Streams {
    pub(crate) by_name: BTreeMap<String, Arc<StreamState>>,
    pub(crate) by_epoch: HashMap<u64, Arc<StreamState>>,
}

/// The owner of one (consumer, shard) subscription slot; a newer subscription takes it over.
#[derive(Debug)]
pub(crate) struct SubscriptionSlot {
    /// Bumped by each new subscription; a subscription whose generation is stale has been taken over.
    pub(crate) generation: Arc<AtomicU64>,
    pub(crate) last_call: Instant,
    pub(crate) wake: Arc<Notify>,
}

impl Inner {
    pub(crate) fn new(config: EmulatorConfig, seed: u64) -> Self {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut key = [0u8; 32];
        rng.fill(&mut key);
        let clock = match config.start_time {
            Some(t) => Clock::starting_at(t),
            None => Clock::new(),
        };
        Self {
            faults: Faults::new(seed ^ 0x5eed),
            tokens: TokenKey::new(key),
            epoch_base: AtomicU64::new(rng.random_range(100_000..1_000_000u64) * 10_000_000_000),
            next_epoch: AtomicU64::new(1),
            streams: RwLock::new(Streams::default()),
            subscriptions: Mutex::new(HashMap::new()),
            clock,
            config,
        }
    }

    /// A fresh, never reused stream epoch.
    pub(crate) fn new_epoch(&self) -> u64 {
        self.epoch_base.load(Ordering::Relaxed)
            + self.next_epoch.fetch_add(1, Ordering::Relaxed) % 10_000_000_000
    }

    pub(crate) fn now_millis(&self) -> i64 {
        self.clock.now_millis()
    }

    /// `arn:aws:kinesis:REGION:ACCOUNT:stream/NAME`.
    pub(crate) fn stream_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:kinesis:{}:{}:stream/{}",
            self.config.region, self.config.account_id, name
        )
    }

    pub(crate) fn stream_not_found(&self, name: &str) -> KinesisError {
        KinesisError::not_found(format!(
            "Stream {name} under account {} not found.",
            self.config.account_id
        ))
    }

    /// Finds a live stream by name, settling due state transitions.
    ///
    /// # Errors
    /// `ResourceNotFoundException` when there is no such stream (or it finished deleting).
    pub(crate) fn stream(&self, name: &str) -> Result<Arc<StreamState>, KinesisError> {
        let stream = self.streams.read().by_name.get(name).cloned();
        let stream = stream.ok_or_else(|| self.stream_not_found(name))?;
        self.settled(stream).ok_or_else(|| self.stream_not_found(name))
    }

    /// Finds a live stream by epoch (from an iterator or token).
    pub(crate) fn stream_by_epoch(&self, epoch: u64) -> Option<Arc<StreamState>> {
        let stream = self.streams.read().by_epoch.get(&epoch).cloned()?;
        self.settled(stream)
    }

    /// Applies due transitions; removes the stream and returns `None` once it has finished deleting.
    fn settled(&self, stream: Arc<StreamState>) -> Option<Arc<StreamState>> {
        if stream.pending.load(Ordering::Acquire) {
            stream.settle(Instant::now());
        }
        if stream.gone.load(Ordering::Acquire) {
            let mut streams = self.streams.write();
            if streams
                .by_name
                .get(&stream.name)
                .is_some_and(|s| Arc::ptr_eq(s, &stream))
            {
                streams.by_name.remove(&stream.name);
            }
            streams.by_epoch.remove(&stream.epoch);
            return None;
        }
        Some(stream)
    }

    /// Every live stream, sorted by name.
    pub(crate) fn all_streams(&self) -> Vec<Arc<StreamState>> {
        let all: Vec<_> = self.streams.read().by_name.values().cloned().collect();
        all.into_iter().filter_map(|s| self.settled(s)).collect()
    }

    /// Open shards across all streams (for the account shard limit).
    pub(crate) fn open_shard_count(&self) -> u64 {
        self.all_streams()
            .iter()
            .map(|s| s.meta.read().routes.len() as u64)
            .sum()
    }
}

/// The parts of a stream restored from a snapshot (see [`StreamState::restored`]).
pub(crate) struct RestoredStream {
    pub(crate) name: String,
    pub(crate) arn: String,
    pub(crate) epoch: u64,
    pub(crate) created: Timestamp,
    pub(crate) status: StreamStatus,
    pub(crate) transition_until: Option<Instant>,
    pub(crate) mode: StreamMode,
    pub(crate) retention_hours: u32,
    pub(crate) tags: BTreeMap<String, String>,
    pub(crate) shards: Vec<Arc<ShardState>>,
    pub(crate) consumers: BTreeMap<String, ConsumerState>,
}

/// One stream incarnation.
#[derive(Debug)]
pub(crate) struct StreamState {
    pub(crate) name: String,
    pub(crate) arn: String,
    /// Unique per incarnation; embedded in sequence numbers and iterators.
    pub(crate) epoch: u64,
    pub(crate) created: Timestamp,
    /// Retention in milliseconds, readable without the metadata lock.
    pub(crate) retention_ms: AtomicU64,
    /// Set while a timed transition is pending, so the fast path skips [`StreamState::settle`].
    pending: AtomicBool,
    /// Set once the stream has finished deleting.
    gone: AtomicBool,
    pub(crate) meta: RwLock<StreamMeta>,
}

/// A stream's mutable metadata.
#[derive(Debug)]
pub(crate) struct StreamMeta {
    pub(crate) status: StreamStatus,
    /// When the current transitional status ends.
    pub(crate) transition_until: Option<Instant>,
    pub(crate) mode: StreamMode,
    pub(crate) retention_hours: u32,
    pub(crate) tags: BTreeMap<String, String>,
    /// Every shard ever created, indexed by shard index.
    pub(crate) shards: Vec<Arc<ShardState>>,
    /// The open shards sorted by hash range: where writes go.
    pub(crate) routes: Arc<[Arc<ShardState>]>,
    pub(crate) consumers: BTreeMap<String, ConsumerState>,
}

/// A registered consumer.
#[derive(Debug, Clone)]
pub(crate) struct ConsumerState {
    pub(crate) name: String,
    pub(crate) arn: String,
    pub(crate) created: Timestamp,
    pub(crate) status: ConsumerStatus,
    pub(crate) transition_until: Option<Instant>,
}

impl StreamState {
    pub(crate) fn new(
        inner: &Inner,
        name: String,
        mode: StreamMode,
        shard_count: u32,
        tags: BTreeMap<String, String>,
    ) -> Self {
        let epoch = inner.new_epoch();
        let created = inner.clock.timestamp();
        let retention_hours = inner.config.default_retention_hours;
        let shards: Vec<Arc<ShardState>> = crate::hashkey::even_ranges(shard_count)
            .into_iter()
            .enumerate()
            .map(|(i, (start, end))| {
                Arc::new(ShardState::new(
                    epoch,
                    u32::try_from(i).unwrap_or(u32::MAX),
                    None,
                    None,
                    (start, end),
                    created,
                ))
            })
            .collect();
        let delay = inner.config.creating_delay;
        let (status, transition_until) = if delay.is_zero() {
            (StreamStatus::Active, None)
        } else {
            (StreamStatus::Creating, Some(deadline_after(delay)))
        };
        Self {
            arn: inner.stream_arn(&name),
            name,
            epoch,
            created,
            retention_ms: AtomicU64::new(u64::from(retention_hours) * 3_600_000),
            pending: AtomicBool::new(transition_until.is_some()),
            gone: AtomicBool::new(false),
            meta: RwLock::new(StreamMeta {
                status,
                transition_until,
                mode,
                retention_hours,
                tags,
                routes: shards.clone().into(),
                shards,
                consumers: BTreeMap::new(),
            }),
        }
    }

    /// A stream rebuilt from a snapshot; the routes are derived from the open shards.
    pub(crate) fn restored(r: RestoredStream) -> Self {
        let pending =
            r.transition_until.is_some() || r.consumers.values().any(|c| c.transition_until.is_some());
        let mut meta = StreamMeta {
            status: r.status,
            transition_until: r.transition_until,
            mode: r.mode,
            retention_hours: r.retention_hours,
            tags: r.tags,
            routes: Vec::new().into(),
            shards: r.shards,
            consumers: r.consumers,
        };
        crate::ops::reshard::publish_routes(&mut meta);
        Self {
            name: r.name,
            arn: r.arn,
            epoch: r.epoch,
            created: r.created,
            retention_ms: AtomicU64::new(u64::from(r.retention_hours) * 3_600_000),
            pending: AtomicBool::new(pending),
            gone: AtomicBool::new(false),
            meta: RwLock::new(meta),
        }
    }

    /// Enters a transitional status for `delay` (or stays ACTIVE when the delay is zero).
    pub(crate) fn begin_transition(&self, meta: &mut StreamMeta, status: StreamStatus, delay: Duration) {
        if delay.is_zero() && status != StreamStatus::Deleting {
            meta.status = StreamStatus::Active;
            meta.transition_until = None;
            return;
        }
        meta.status = status;
        meta.transition_until = Some(deadline_after(delay));
        self.pending.store(true, Ordering::Release);
        if delay.is_zero() {
            self.settle_locked(meta, Instant::now());
        }
    }

    /// Applies due transitions of the stream and its consumers.
    fn settle(&self, now: Instant) {
        let mut meta = self.meta.write();
        self.settle_locked(&mut meta, now);
    }

    fn settle_locked(&self, meta: &mut StreamMeta, now: Instant) {
        let mut still_pending = false;
        if let Some(until) = meta.transition_until {
            if now >= until {
                meta.transition_until = None;
                if meta.status == StreamStatus::Deleting {
                    self.gone.store(true, Ordering::Release);
                    for shard in &meta.shards {
                        shard.notify.notify_waiters();
                    }
                } else {
                    meta.status = StreamStatus::Active;
                }
            } else {
                still_pending = true;
            }
        }
        meta.consumers.retain(|_, c| match c.transition_until {
            Some(until) if now >= until => {
                c.transition_until = None;
                if c.status == ConsumerStatus::Deleting {
                    false
                } else {
                    c.status = ConsumerStatus::Active;
                    true
                }
            }
            Some(_) => {
                still_pending = true;
                true
            }
            None => true,
        });
        self.pending.store(still_pending, Ordering::Release);
    }

    /// Whether the stream has finished deleting.
    pub(crate) fn is_gone(&self) -> bool {
        self.gone.load(Ordering::Acquire)
    }

    /// Marks a consumer transition as pending (so the next access settles it).
    pub(crate) fn mark_pending(&self) {
        self.pending.store(true, Ordering::Release);
    }

    /// The retention period in milliseconds.
    pub(crate) fn retention_ms(&self) -> i64 {
        i64::try_from(self.retention_ms.load(Ordering::Relaxed)).unwrap_or(i64::MAX)
    }

    /// Whether the stream accepts reads and writes (ACTIVE or UPDATING).
    pub(crate) fn is_usable(status: StreamStatus) -> bool {
        matches!(status, StreamStatus::Active | StreamStatus::Updating)
    }

    /// Finds a shard that is still listed (not closed and expired) by id.
    pub(crate) fn shard(&self, shard_id: &str, now_ms: i64) -> Option<Arc<ShardState>> {
        let index = parse_shard_id(shard_id)?;
        let meta = self.meta.read();
        let shard = meta.shards.get(usize::try_from(index).ok()?)?.clone();
        drop(meta);
        shard.is_listed(now_ms, self.retention_ms()).then_some(shard)
    }

    /// Finds a shard by index, if still listed.
    pub(crate) fn shard_by_index(&self, index: u32, now_ms: i64) -> Option<Arc<ShardState>> {
        let meta = self.meta.read();
        let shard = meta.shards.get(usize::try_from(index).ok()?)?.clone();
        drop(meta);
        shard.is_listed(now_ms, self.retention_ms()).then_some(shard)
    }

    /// The shards still listed, in id order.
    pub(crate) fn listed_shards(&self, now_ms: i64) -> Vec<Arc<ShardState>> {
        let retention = self.retention_ms();
        let meta = self.meta.read();
        meta.shards
            .iter()
            .filter(|s| s.is_listed(now_ms, retention))
            .cloned()
            .collect()
    }

    pub(crate) fn shard_not_found(&self, inner: &Inner, shard_id: &str) -> KinesisError {
        KinesisError::not_found(format!(
            "Shard {shard_id} in stream {} under account {} does not exist",
            self.name, inner.config.account_id
        ))
    }
}

/// The instant `delay` from now, saturating at a far-future instant instead of overflowing.
pub(crate) fn deadline_after(delay: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(delay)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 86_400)))
        .unwrap_or(now)
}

/// `shardId-000000000042` -> 42.
pub(crate) fn parse_shard_id(id: &str) -> Option<u32> {
    let digits = id.strip_prefix("shardId-")?;
    if digits.len() != 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// 42 -> `shardId-000000000042`.
pub(crate) fn shard_id(index: u32) -> String {
    format!("shardId-{index:012}")
}

/// [`ShardState::closed_at_ms`] of an open shard.
const OPEN: i64 = i64::MIN;

/// One shard: immutable identity plus locked data.
#[derive(Debug)]
pub(crate) struct ShardState {
    pub(crate) index: u32,
    pub(crate) id: String,
    pub(crate) parent: Option<String>,
    pub(crate) adjacent_parent: Option<String>,
    pub(crate) start_key: u128,
    pub(crate) end_key: u128,
    pub(crate) created: Timestamp,
    /// The first 36 digits of this shard's sequence numbers.
    pub(crate) seq_prefix: String,
    /// Set once the shard is closed (mirrors `data.closed`, readable without the lock).
    pub(crate) closed_at_ms: AtomicI64,
    pub(crate) data: Mutex<ShardData>,
    /// Woken when records are appended or the shard closes (SubscribeToShard waits on it).
    pub(crate) notify: Notify,
}

/// A stored record; its counter is implied by its position in [`ShardData::records`].
#[derive(Debug, Clone)]
pub(crate) struct StoredRecord {
    pub(crate) arrival_ms: i64,
    pub(crate) data: Bytes,
    /// The partition key's UTF-8 bytes.
    pub(crate) partition_key: Bytes,
}

impl StoredRecord {
    /// Bytes this record counts for in throughput and response-size limits.
    pub(crate) fn size(&self) -> usize {
        self.data.len() + self.partition_key.len()
    }

    /// The partition key as a string (it was a `String` when stored, so this never loses anything).
    pub(crate) fn key(&self) -> String {
        String::from_utf8_lossy(&self.partition_key).into_owned()
    }
}

/// Records whose data is at most this long are copied into the shard's arena.
const PACK_MAX: usize = 1024;
/// Size of one arena chunk.
const ARENA_CHUNK: usize = 128 * 1024;

/// How a shard ended.
#[derive(Debug, Clone)]
pub(crate) struct Closed {
    /// Counter of the ending sequence number (the last record's, or 0 for an empty shard).
    pub(crate) ending_counter: u64,
    pub(crate) children: Vec<ChildShard>,
}

/// A token bucket refilled continuously on tokio time.
#[derive(Debug, Clone)]
pub(crate) struct Bucket {
    tokens: f64,
    last: Option<Instant>,
}

impl Bucket {
    const fn new() -> Self {
        Self {
            tokens: 0.0,
            last: None,
        }
    }

    fn refill(&mut self, rate: u64, now: Instant) {
        let rate = rate as f64;
        match self.last {
            None => self.tokens = rate,
            Some(last) => {
                let elapsed = now.saturating_duration_since(last).as_secs_f64();
                self.tokens = (self.tokens + elapsed * rate).min(rate);
            }
        }
        self.last = Some(now);
    }

    /// Takes `n` tokens if available.
    pub(crate) fn try_take(&mut self, rate: u64, n: u64, now: Instant) -> bool {
        self.refill(rate, now);
        let n = n as f64;
        if self.tokens >= n {
            self.tokens -= n;
            true
        } else {
            false
        }
    }

    /// Whether `n` tokens are available (without taking them).
    pub(crate) fn can_take(&mut self, rate: u64, n: u64, now: Instant) -> bool {
        self.refill(rate, now);
        self.tokens >= n as f64
    }

    /// Whether the bucket is in credit (reads may overdraw it).
    pub(crate) fn has_credit(&mut self, rate: u64, now: Instant) -> bool {
        self.refill(rate, now);
        self.tokens > 0.0
    }

    /// Whole tokens available (zero when in debt); call after a refill such as [`Bucket::has_credit`].
    pub(crate) fn available(&self) -> u64 {
        if self.tokens > 0.0 {
            self.tokens as u64
        } else {
            0
        }
    }

    /// Takes `n` tokens, going into debt if needed.
    pub(crate) fn overdraw(&mut self, n: u64) {
        self.tokens -= n as f64;
    }

    /// How long until the bucket is back in credit.
    pub(crate) fn time_to_credit(&self, rate: u64) -> Duration {
        if self.tokens > 0.0 || rate == 0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((-self.tokens / rate as f64).min(3600.0) + 0.001)
        }
    }
}

impl Default for Bucket {
    fn default() -> Self {
        Self::new()
    }
}

/// The mutable part of a shard.
#[derive(Debug, Default)]
pub(crate) struct ShardData {
    /// Retained records, oldest first.
    pub(crate) records: VecDeque<StoredRecord>,
    /// Counter of `records[0]` (records are numbered from 1).
    pub(crate) base: u64,
    pub(crate) closed: Option<Closed>,
    /// The current chunk small records and partition keys are packed into, so that a shard's records
    /// sit together in memory (reads walk it sequentially) and share one reference count per chunk.
    arena: BytesMut,
    pub(crate) write_bytes: Bucket,
    pub(crate) write_records: Bucket,
    pub(crate) read_bytes: Bucket,
    pub(crate) read_calls: Bucket,
}

impl ShardData {
    /// Appends a record, packing small data and the key into the shard's arena.
    pub(crate) fn push(&mut self, arrival_ms: i64, data: Bytes, partition_key: &str) {
        let packed = data.len() <= PACK_MAX;
        let need = partition_key.len() + if packed { data.len() } else { 0 };
        if self.arena.capacity() - self.arena.len() < need {
            self.arena = BytesMut::with_capacity(ARENA_CHUNK.max(need));
        }
        let data = if packed {
            self.arena.extend_from_slice(&data);
            self.arena.split().freeze()
        } else {
            data
        };
        self.arena.extend_from_slice(partition_key.as_bytes());
        let partition_key = self.arena.split().freeze();
        self.records.push_back(StoredRecord {
            arrival_ms,
            data,
            partition_key,
        });
    }

    /// The counter the next record gets.
    pub(crate) fn next_counter(&self) -> u64 {
        self.base + self.records.len() as u64
    }

    /// The counter of the newest record ever written (0 when none).
    pub(crate) fn last_counter(&self) -> u64 {
        self.next_counter() - 1
    }

    /// Drops records that arrived before `cutoff_ms`.
    pub(crate) fn trim(&mut self, cutoff_ms: i64) {
        while self.records.front().is_some_and(|r| r.arrival_ms < cutoff_ms) {
            self.records.pop_front();
            self.base += 1;
        }
    }

    /// The index into `records` of counter `c` (clamped to the retained range).
    pub(crate) fn index_of(&self, counter: u64) -> usize {
        usize::try_from(counter.saturating_sub(self.base))
            .unwrap_or(usize::MAX)
            .min(self.records.len())
    }

    /// Arrival time of the newest record.
    pub(crate) fn last_arrival_ms(&self) -> Option<i64> {
        self.records.back().map(|r| r.arrival_ms)
    }
}

impl ShardState {
    pub(crate) fn new(
        epoch: u64,
        index: u32,
        parent: Option<String>,
        adjacent_parent: Option<String>,
        (start_key, end_key): (u128, u128),
        created: Timestamp,
    ) -> Self {
        Self {
            index,
            id: shard_id(index),
            parent,
            adjacent_parent,
            start_key,
            end_key,
            created,
            seq_prefix: sequence::prefix(epoch, index),
            closed_at_ms: AtomicI64::new(OPEN),
            data: Mutex::new(ShardData {
                base: 1,
                ..ShardData::default()
            }),
            notify: Notify::new(),
        }
    }

    /// The sequence number of counter `c` in this shard.
    pub(crate) fn seq(&self, counter: u64) -> String {
        sequence::format(&self.seq_prefix, counter)
    }

    /// When the shard closed (epoch ms), if it has.
    pub(crate) fn closed_at(&self) -> Option<i64> {
        let v = self.closed_at_ms.load(Ordering::Acquire);
        (v != OPEN).then_some(v)
    }

    /// Whether listings still show the shard: open, or closed for less than the retention period.
    pub(crate) fn is_listed(&self, now_ms: i64, retention_ms: i64) -> bool {
        self.closed_at()
            .is_none_or(|at| now_ms < at.saturating_add(retention_ms))
    }

    pub(crate) fn hash_key_range(&self) -> HashKeyRange {
        HashKeyRange {
            starting_hash_key: self.start_key.to_string(),
            ending_hash_key: self.end_key.to_string(),
        }
    }

    /// The shard as DescribeStream / ListShards describe it.
    pub(crate) fn describe(&self) -> Shard {
        let ending = self.data.lock().closed.as_ref().map(|c| c.ending_counter);
        Shard {
            shard_id: self.id.clone(),
            parent_shard_id: self.parent.clone(),
            adjacent_parent_shard_id: self.adjacent_parent.clone(),
            hash_key_range: self.hash_key_range(),
            sequence_number_range: SequenceNumberRange {
                starting_sequence_number: self.seq(0),
                ending_sequence_number: ending.map(|c| self.seq(c)),
            },
        }
    }

    /// Records the close time of a shard whose data is already marked closed (snapshot restore).
    pub(crate) fn mark_closed(&self, at_ms: i64) {
        self.closed_at_ms.store(at_ms.max(OPEN + 1), Ordering::Release);
    }

    /// Closes the shard (caller holds the stream's metadata write lock).
    pub(crate) fn close(&self, at_ms: i64, children: Vec<ChildShard>) {
        let mut data = self.data.lock();
        if data.closed.is_none() {
            data.closed = Some(Closed {
                ending_counter: data.last_counter(),
                children,
            });
            // i64::MIN is the "open" sentinel; no real close time is that early.
            self.closed_at_ms.store(at_ms.max(OPEN + 1), Ordering::Release);
        }
        drop(data);
        self.notify.notify_waiters();
    }

    /// The child description of this shard.
    pub(crate) fn as_child(&self) -> ChildShard {
        ChildShard {
            shard_id: self.id.clone(),
            parent_shards: self
                .parent
                .iter()
                .chain(self.adjacent_parent.iter())
                .cloned()
                .collect(),
            hash_key_range: self.hash_key_range(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_ids() {
        assert_eq!(shard_id(42), "shardId-000000000042");
        assert_eq!(parse_shard_id("shardId-000000000042"), Some(42));
        assert_eq!(parse_shard_id("shardId-42"), None);
        assert_eq!(parse_shard_id("shardId-00000000004x"), None);
        assert_eq!(parse_shard_id("shardId-999999999999"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn bucket_refills_on_tokio_time() {
        let mut b = Bucket::new();
        let now = Instant::now();
        assert!(b.try_take(10, 10, now));
        assert!(!b.try_take(10, 1, now));
        tokio::time::advance(Duration::from_millis(500)).await;
        assert!(b.try_take(10, 5, Instant::now()));
        assert!(!b.try_take(10, 1, Instant::now()));
        b.overdraw(20);
        assert!(!b.has_credit(10, Instant::now()));
        assert!(b.time_to_credit(10) > Duration::from_secs(1));
    }
}
