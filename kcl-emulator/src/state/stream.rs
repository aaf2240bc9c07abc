//! One stream incarnation: its identity, its metadata behind a read-write lock (status and timed
//! transitions, mode, retention, tags, every shard ever created, the write routes, the consumers).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use tokio::time::Instant;

use super::shard::{parse_shard_id, ShardState};
use crate::settings::StreamSettings;
use crate::shapes::{ConsumerStatus, StreamMode, StreamStatus, Timestamp};

/// The parts of a stream, new or restored from a snapshot (see [`StreamState::from_parts`]).
pub(crate) struct StreamParts {
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
    pub(crate) settings: StreamSettings,
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
    /// The next shard (modulo the open shards) of the AUTO distribution strategy's round robin.
    pub(crate) next_auto: AtomicU64,
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
    /// Encryption, monitoring, record size, warm throughput, distribution, policy.
    pub(crate) settings: StreamSettings,
}

impl StreamMeta {
    /// Rebuilds the write routes from the open shards (after a reshard or a restore).
    pub(crate) fn publish_routes(&mut self) {
        let mut open: Vec<Arc<ShardState>> = self
            .shards
            .iter()
            .filter(|s| s.closed_at().is_none())
            .cloned()
            .collect();
        open.sort_by_key(|s| s.start_key);
        self.routes = open.into();
    }
}

/// A registered consumer.
#[derive(Debug, Clone)]
pub(crate) struct ConsumerState {
    pub(crate) name: String,
    pub(crate) arn: String,
    pub(crate) created: Timestamp,
    pub(crate) status: ConsumerStatus,
    pub(crate) transition_until: Option<Instant>,
    /// Tags set through TagResource.
    pub(crate) tags: BTreeMap<String, String>,
    /// The resource policy attached to the consumer.
    pub(crate) policy: Option<String>,
}

impl StreamState {
    /// A stream from its parts; the routes are derived from the open shards.
    pub(crate) fn from_parts(r: StreamParts) -> Self {
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
            settings: r.settings,
        };
        meta.publish_routes();
        Self {
            name: r.name,
            arn: r.arn,
            epoch: r.epoch,
            created: r.created,
            retention_ms: AtomicU64::new(u64::from(r.retention_hours) * 3_600_000),
            pending: AtomicBool::new(pending),
            gone: AtomicBool::new(false),
            next_auto: AtomicU64::new(0),
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

    /// Applies due transitions, if any is pending (a single atomic load otherwise).
    pub(super) fn settle_due(&self) {
        if self.pending.load(Ordering::Acquire) {
            self.settle(Instant::now());
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
}

/// The instant `delay` from now, saturating at a far-future instant instead of overflowing.
pub(crate) fn deadline_after(delay: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(delay)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 86_400)))
        .unwrap_or(now)
}
