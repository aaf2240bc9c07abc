//! One shard: its identity (id, parents, hash range, sequence-number prefix) and its locked data (the
//! retained records in arrival order, the close marker, the throughput buckets).

use std::sync::atomic::{AtomicI64, Ordering};

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use tokio::sync::Notify;

use super::log::RecordLog;
use crate::bucket::Bucket;
use crate::sequence;
use crate::shapes::{ChildShard, EncryptionType, HashKeyRange, SequenceNumberRange, Shard, Timestamp};

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
///
/// The data and the partition key sit together in one buffer (the data, then the key), so a record is 48
/// bytes plus its payload: a busy shard's memory grows by that much per record, and fresh memory costs the
/// kernel's page zeroing (see `kcl-emulator/BENCHMARKS.md`).
#[derive(Debug, Clone)]
pub(crate) struct StoredRecord {
    pub(crate) arrival_ms: i64,
    /// The data followed by the partition key's UTF-8 bytes.
    payload: Bytes,
    key_len: u32,
    /// Written while the stream's server-side encryption was on (read back with `EncryptionType: KMS`).
    pub(crate) encrypted: bool,
}

impl StoredRecord {
    /// Bytes this record counts for in throughput and response-size limits.
    pub(crate) fn size(&self) -> usize {
        self.payload.len()
    }

    /// The record's data (shares the stored buffer).
    pub(crate) fn data(&self) -> Bytes {
        self.payload.slice(..self.data_len())
    }

    fn data_len(&self) -> usize {
        self.payload.len() - self.key_len as usize
    }

    /// The encryption the record was stored with, as GetRecords reports it (only `KMS` is reported).
    pub(crate) fn encryption_type(&self) -> Option<EncryptionType> {
        self.encrypted.then_some(EncryptionType::Kms)
    }

    /// The partition key as a string (it was a `String` when stored, so this never loses anything).
    pub(crate) fn key(&self) -> String {
        String::from_utf8_lossy(&self.payload[self.data_len()..]).into_owned()
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

/// The mutable part of a shard.
#[derive(Debug, Default)]
pub(crate) struct ShardData {
    /// Retained records, oldest first.
    pub(crate) records: RecordLog<StoredRecord>,
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
    /// Appends a record, with its data and key packed into the shard's arena when the data is small, into
    /// a buffer of its own otherwise. A partition key is at most 256 characters (checked before).
    pub(crate) fn push(&mut self, arrival_ms: i64, data: Bytes, partition_key: &str, encrypted: bool) {
        let need = data.len() + partition_key.len();
        let payload = if data.len() <= PACK_MAX {
            if self.arena.capacity() - self.arena.len() < need {
                self.arena = BytesMut::with_capacity(ARENA_CHUNK);
            }
            self.arena.extend_from_slice(&data);
            self.arena.extend_from_slice(partition_key.as_bytes());
            self.arena.split().freeze()
        } else {
            let mut own = BytesMut::with_capacity(need);
            own.extend_from_slice(&data);
            own.extend_from_slice(partition_key.as_bytes());
            own.freeze()
        };
        self.records.push_back(StoredRecord {
            arrival_ms,
            payload,
            key_len: u32::try_from(partition_key.len()).unwrap_or(u32::MAX),
            encrypted,
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
}
