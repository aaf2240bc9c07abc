//! State snapshots: the emulator's complete state as a serde value, exported and imported exactly.
//!
//! [`Emulator::snapshot`](crate::Emulator::snapshot) captures every stream (name, ARN, epoch, creation
//! time, status, mode, retention, tags), every shard (hash-key range, parents, open or closed with its
//! children, the retained records with their sequence counters and arrival timestamps) and every consumer
//! (ARN, creation time, status), plus the stream-epoch counter and the key that signs shard iterators.
//! [`Emulator::restore`](crate::Emulator::restore) (or [`Emulator::import`](crate::Emulator::import))
//! rebuilds exactly that state, so sequence numbers, arrival timestamps, consumer ARNs and even shard
//! iterators issued before the snapshot keep working afterwards.
//!
//! Queues are captured with their exact delivery state (see the `queue` module).
//! Also captured: each stream's settings (encryption, enhanced monitoring, maximum record size, warm
//! throughput, distribution strategy, resource policy), consumers' tags and policies, the account
//! settings and the channels; snapshots of earlier builds, without them, restore with the defaults.
//!
//! Not captured: throughput-limit buckets (they start full), fault rules, active SubscribeToShard
//! subscriptions. Pending status transitions (CREATING, UPDATING, ...) keep their remaining time.
//! Record data is base64 in the serialized form, so JSON stays compact enough.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::channel::{ChannelDescription, ChannelState};
use crate::error::ConfigError;
use crate::settings::{AccountSettings, StreamSettings};
use crate::shapes::{ChildShard, ConsumerStatus, StreamMode, StreamStatus, Timestamp};
use crate::state::{self, Closed, ConsumerState, Inner, ShardState, StreamState};

/// The snapshot format version this build writes and reads.
const VERSION: u32 = 1;

/// The complete state of an [`Emulator`](crate::Emulator), serializable with serde.
///
/// Opaque on purpose (the layout may change between versions; a version number inside is checked on
/// import). Obtain one with [`Emulator::snapshot`](crate::Emulator::snapshot).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmulatorSnapshot {
    version: u32,
    /// Hex of the 32-byte iterator-signing key.
    token_key: String,
    epoch_base: u64,
    next_epoch: u64,
    streams: Vec<StreamSnapshot>,
    /// Queues with their delivery state (absent in snapshots written before queues existed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    queues: Vec<crate::queue::snapshot::QueueSnapshot>,
    /// The queue-id counter.
    #[serde(default, skip_serializing_if = "is_zero")]
    next_queue_id: u64,
    /// The account's settings (absent in snapshots of earlier builds).
    #[serde(default)]
    account: AccountSettings,
    /// The channels (absent in snapshots of earlier builds).
    #[serde(default)]
    channels: Vec<ChannelSnapshot>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ChannelSnapshot {
    description: ChannelDescription,
    transition_remaining_ms: Option<u64>,
    tags: BTreeMap<String, String>,
    policy: Option<String>,
}

impl EmulatorSnapshot {
    /// How many streams it holds.
    pub fn stream_count(&self) -> usize {
        self.streams.len()
    }

    /// How many records it holds across all streams and shards.
    pub fn record_count(&self) -> usize {
        self.streams
            .iter()
            .flat_map(|s| &s.shards)
            .map(|s| s.records.len())
            .sum()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct StreamSnapshot {
    name: String,
    arn: String,
    epoch: u64,
    created_ms: i64,
    status: StreamStatus,
    /// Time left in the current transitional status, in milliseconds.
    transition_remaining_ms: Option<u64>,
    mode: StreamMode,
    retention_hours: u32,
    tags: BTreeMap<String, String>,
    shards: Vec<ShardSnapshot>,
    consumers: Vec<ConsumerSnapshot>,
    /// Encryption, monitoring, record size, warm throughput, distribution, policy.
    #[serde(default)]
    settings: StreamSettings,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ShardSnapshot {
    index: u32,
    parent: Option<String>,
    adjacent_parent: Option<String>,
    /// Decimal, as 128-bit integers do not survive every serde format.
    start_key: String,
    end_key: String,
    created_ms: i64,
    closed: Option<ClosedSnapshot>,
    /// Counter of the first retained record (records are numbered from 1).
    base: u64,
    records: Vec<RecordSnapshot>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ClosedSnapshot {
    at_ms: i64,
    ending_counter: u64,
    children: Vec<ChildShard>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct RecordSnapshot {
    arrival_ms: i64,
    partition_key: String,
    /// Base64 of the data blob.
    data: String,
    /// Stored with server-side encryption on (absent in snapshots taken before this was kept).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    kms: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ConsumerSnapshot {
    name: String,
    arn: String,
    created_ms: i64,
    status: ConsumerStatus,
    transition_remaining_ms: Option<u64>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    policy: Option<String>,
}

fn remaining_ms(until: Option<Instant>, now: Instant) -> Option<u64> {
    until.map(|u| u64::try_from(u.saturating_duration_since(now).as_millis()).unwrap_or(u64::MAX))
}

fn invalid(reason: impl Into<String>) -> ConfigError {
    ConfigError::InvalidSnapshot {
        reason: reason.into(),
    }
}

/// Captures `inner`'s state. Each shard is copied under its own lock, so a snapshot taken during writes
/// holds, per shard, a prefix of the records in sequence order.
pub(crate) fn export(inner: &Inner) -> EmulatorSnapshot {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let now = Instant::now();
    let streams: Vec<Arc<StreamState>> = inner.all_streams();
    let streams = streams
        .iter()
        .map(|stream| {
            let meta = stream.meta.read();
            let shards = meta
                .shards
                .iter()
                .map(|shard| {
                    let data = shard.data.lock();
                    ShardSnapshot {
                        index: shard.index,
                        parent: shard.parent.clone(),
                        adjacent_parent: shard.adjacent_parent.clone(),
                        start_key: shard.start_key.to_string(),
                        end_key: shard.end_key.to_string(),
                        created_ms: shard.created.as_millis(),
                        closed: data.closed.as_ref().map(|c| ClosedSnapshot {
                            at_ms: shard.closed_at().unwrap_or_default(),
                            ending_counter: c.ending_counter,
                            children: c.children.clone(),
                        }),
                        base: data.base,
                        records: data
                            .records
                            .iter()
                            .map(|r| RecordSnapshot {
                                arrival_ms: r.arrival_ms,
                                partition_key: r.key(),
                                data: b64.encode(r.data()),
                                kms: r.encrypted,
                            })
                            .collect(),
                    }
                })
                .collect();
            StreamSnapshot {
                name: stream.name.clone(),
                arn: stream.arn.clone(),
                epoch: stream.epoch,
                created_ms: stream.created.as_millis(),
                status: meta.status,
                transition_remaining_ms: remaining_ms(meta.transition_until, now),
                mode: meta.mode,
                retention_hours: meta.retention_hours,
                tags: meta.tags.clone(),
                shards,
                consumers: meta
                    .consumers
                    .values()
                    .map(|c| ConsumerSnapshot {
                        name: c.name.clone(),
                        arn: c.arn.clone(),
                        created_ms: c.created.as_millis(),
                        status: c.status,
                        transition_remaining_ms: remaining_ms(c.transition_until, now),
                        tags: c.tags.clone(),
                        policy: c.policy.clone(),
                    })
                    .collect(),
                settings: crate::settings::StreamSettings {
                    encryption_change: None,
                    warm_change: None,
                    ..meta.settings.clone()
                },
            }
        })
        .collect();
    let (queues, next_queue_id) = crate::queue::snapshot::export(inner);
    EmulatorSnapshot {
        queues,
        next_queue_id,
        version: VERSION,
        token_key: hex(&inner.tokens.bytes()),
        epoch_base: inner.epoch_base.load(Ordering::Relaxed),
        next_epoch: inner.next_epoch.load(Ordering::Relaxed),
        streams,
        account: inner.account.lock().clone(),
        channels: {
            crate::channel::settle_all(inner);
            inner
                .channels
                .read()
                .values()
                .map(|c| ChannelSnapshot {
                    description: c.description.clone(),
                    transition_remaining_ms: remaining_ms(c.transition_until, now),
                    tags: c.tags.clone(),
                    policy: c.policy.clone(),
                })
                .collect()
        },
    }
}

/// Replaces `inner`'s streams, epoch counter and token key with the snapshot's, after checking it.
pub(crate) fn import(inner: &Inner, snapshot: &EmulatorSnapshot) -> Result<(), ConfigError> {
    if snapshot.version != VERSION {
        return Err(invalid(format!(
            "version {} is not supported (this build reads version {VERSION})",
            snapshot.version
        )));
    }
    let key = unhex(&snapshot.token_key).ok_or_else(|| invalid("token_key is not 64 hex digits"))?;
    let deadline = |ms: Option<u64>| ms.map(|ms| state::deadline_after(Duration::from_millis(ms)));
    let mut names = HashSet::new();
    let mut epochs = HashSet::new();
    let mut built = Vec::with_capacity(snapshot.streams.len());
    for s in &snapshot.streams {
        if !names.insert(s.name.as_str()) || !epochs.insert(s.epoch) {
            return Err(invalid(format!(
                "stream {} (epoch {}) appears twice",
                s.name, s.epoch
            )));
        }
        if !(24..=8760).contains(&s.retention_hours) {
            return Err(invalid(format!(
                "stream {}: retention {} h",
                s.name, s.retention_hours
            )));
        }
        let shards = s
            .shards
            .iter()
            .enumerate()
            .map(|(position, shard)| build_shard(s, position, shard))
            .collect::<Result<Vec<_>, _>>()?;
        let consumers = s
            .consumers
            .iter()
            .map(|c| {
                (
                    c.name.clone(),
                    ConsumerState {
                        name: c.name.clone(),
                        arn: c.arn.clone(),
                        created: Timestamp::from_millis(c.created_ms),
                        status: c.status,
                        transition_until: deadline(c.transition_remaining_ms),
                        tags: c.tags.clone(),
                        policy: c.policy.clone(),
                    },
                )
            })
            .collect();
        built.push(Arc::new(StreamState::from_parts(state::StreamParts {
            name: s.name.clone(),
            arn: s.arn.clone(),
            epoch: s.epoch,
            created: Timestamp::from_millis(s.created_ms),
            status: s.status,
            transition_until: deadline(s.transition_remaining_ms),
            mode: s.mode,
            retention_hours: s.retention_hours,
            tags: s.tags.clone(),
            shards,
            consumers,
            settings: s.settings.clone(),
        })));
    }
    let queues = crate::queue::snapshot::build(&snapshot.queues)?;
    let mut streams = inner.streams.write();
    streams.by_name.clear();
    streams.by_epoch.clear();
    for stream in built {
        streams.by_epoch.insert(stream.epoch, stream.clone());
        streams.by_name.insert(stream.name.clone(), stream);
    }
    drop(streams);
    inner.subscriptions.lock().clear();
    *inner.account.lock() = snapshot.account.clone();
    *inner.channels.write() = snapshot
        .channels
        .iter()
        .map(|c| {
            (
                c.description.channel_name.clone(),
                ChannelState {
                    description: c.description.clone(),
                    transition_until: deadline(c.transition_remaining_ms),
                    tags: c.tags.clone(),
                    policy: c.policy.clone(),
                },
            )
        })
        .collect();
    inner.tokens.set(key);
    inner.epoch_base.store(snapshot.epoch_base, Ordering::Relaxed);
    inner.next_epoch.store(snapshot.next_epoch, Ordering::Relaxed);
    crate::queue::snapshot::install(inner, queues, snapshot.next_queue_id);
    Ok(())
}

fn build_shard(
    stream: &StreamSnapshot,
    position: usize,
    s: &ShardSnapshot,
) -> Result<Arc<ShardState>, ConfigError> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let at = |what: &str| invalid(format!("stream {} shard {}: {what}", stream.name, s.index));
    if usize::try_from(s.index).ok() != Some(position) {
        return Err(at("shard indices are not 0, 1, 2, ... in order"));
    }
    let start: u128 = s.start_key.parse().map_err(|_| at("bad starting hash key"))?;
    let end: u128 = s.end_key.parse().map_err(|_| at("bad ending hash key"))?;
    if start > end {
        return Err(at("starting hash key above the ending one"));
    }
    if s.base == 0 {
        return Err(at("record counters start at 1"));
    }
    let shard = ShardState::new(
        stream.epoch,
        s.index,
        s.parent.clone(),
        s.adjacent_parent.clone(),
        (start, end),
        Timestamp::from_millis(s.created_ms),
    );
    {
        let mut data = shard.data.lock();
        data.base = s.base;
        for r in &s.records {
            let bytes = b64.decode(&r.data).map_err(|_| at("record data is not base64"))?;
            data.push(r.arrival_ms, Bytes::from(bytes), &r.partition_key, r.kms);
        }
        if let Some(closed) = &s.closed {
            if closed.ending_counter > data.last_counter() {
                return Err(at("ending sequence number beyond the last record"));
            }
            data.closed = Some(Closed {
                ending_counter: closed.ending_counter,
                children: closed.children.clone(),
            });
            shard.mark_closed(closed.at_ms);
        }
    }
    Ok(Arc::new(shard))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<[u8; 32]> {
    let b = s.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in b.chunks(2).enumerate() {
        let pair = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}

#[cfg(feature = "server")] // the server's persistence journal
/// One accepted record as the server's persistence journal keeps it: where it went and when it arrived,
/// so that applying it after a restart reproduces the record exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct JournalRecord {
    pub(crate) epoch: u64,
    pub(crate) shard: u32,
    pub(crate) counter: u64,
    arrival_ms: i64,
    partition_key: String,
    data: String,
    /// Stored with server-side encryption on (absent in journals written before this was kept).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    kms: bool,
}

#[cfg(feature = "server")] // the server's persistence journal
/// What [`apply_journal_record`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Applied {
    /// The record was appended at its counter.
    Appended,
    /// The state already holds that counter (it was in the snapshot) or it has been trimmed.
    AlreadyPresent,
    /// Its counter is beyond the next one: an earlier record of the shard is missing.
    Gap,
    /// No such stream or shard, the shard is closed, or the data is not base64.
    Unusable,
}

#[cfg(feature = "server")] // the server's persistence journal
/// The journal entries of the records with sequence numbers `seqs` (which this emulator just issued).
pub(crate) fn journal_records<'a>(
    inner: &Inner,
    seqs: impl IntoIterator<Item = &'a str>,
) -> Vec<JournalRecord> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut out = Vec::new();
    for seq in seqs {
        let Some(parts) = crate::sequence::parse(seq) else {
            continue;
        };
        let Some(shard) = shard_of(inner, parts.epoch, parts.shard) else {
            continue;
        };
        let data = shard.data.lock();
        let index = parts
            .counter
            .checked_sub(data.base)
            .and_then(|i| usize::try_from(i).ok());
        if let Some(record) = index.and_then(|i| data.records.get(i)) {
            out.push(JournalRecord {
                epoch: parts.epoch,
                shard: parts.shard,
                counter: parts.counter,
                arrival_ms: record.arrival_ms,
                partition_key: record.key(),
                data: b64.encode(record.data()),
                kms: record.encrypted,
            });
        }
    }
    out
}

#[cfg(feature = "server")] // the server's persistence journal
/// Appends a journalled record at its counter, if that is the shard's next one.
pub(crate) fn apply_journal_record(inner: &Inner, record: &JournalRecord) -> Applied {
    use base64::Engine as _;
    let Some(shard) = shard_of(inner, record.epoch, record.shard) else {
        return Applied::Unusable;
    };
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(&record.data) else {
        return Applied::Unusable;
    };
    let mut data = shard.data.lock();
    let next = data.next_counter();
    if record.counter < next {
        return Applied::AlreadyPresent;
    }
    if record.counter > next {
        return Applied::Gap;
    }
    if data.closed.is_some() {
        return Applied::Unusable;
    }
    data.push(
        record.arrival_ms,
        Bytes::from(bytes),
        &record.partition_key,
        record.kms,
    );
    Applied::Appended
}

#[cfg(feature = "server")] // the server's persistence journal
fn shard_of(inner: &Inner, epoch: u64, index: u32) -> Option<Arc<ShardState>> {
    let stream = inner.stream_by_epoch(epoch)?;
    let meta = stream.meta.read();
    meta.shards.get(usize::try_from(index).ok()?).cloned()
}
