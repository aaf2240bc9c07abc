//! The lease: who processes a shard, and how far they have got.
//!
//! One lease exists per shard (per stream and shard in multi-stream mode). Its `counter` is the fencing
//! token: every write that changes ownership or a checkpoint is conditioned on the counter the writer last
//! saw and bumps it, so a worker that lost its lease cannot overwrite the new owner's progress. Other
//! workers watch the counter to decide expiry: a lease whose counter has not moved for the failover time
//! (measured on the watcher's own monotonic clock) is considered expired and may be taken.

use std::collections::BTreeSet;
use std::fmt;

use bytes::Bytes;

use crate::sequence::ExtendedSequenceNumber;

/// The identity of a lease: a shard id (`shardId-000000000001`) or, in multi-stream mode,
/// `account:stream:creationEpoch:shardId`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LeaseKey(String);

/// The stream part of a multi-stream lease key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StreamIdentifier {
    /// The AWS account id owning the stream.
    pub account_id: String,
    /// The stream name.
    pub stream_name: String,
    /// The stream's creation time in epoch seconds (distinguishes re-created streams of the same name).
    pub creation_epoch: u64,
}

impl StreamIdentifier {
    /// The serialized form `account:stream:creationEpoch`, as the Java KCL writes it in `streamName`.
    pub fn serialize(&self) -> String {
        format!("{}:{}:{}", self.account_id, self.stream_name, self.creation_epoch)
    }
}

impl LeaseKey {
    /// A key as given (a shard id, or any key the application chose).
    pub fn new(key: impl Into<String>) -> Self {
        LeaseKey(key.into())
    }

    /// The multi-stream form `account:stream:creationEpoch:shardId`.
    pub fn multi_stream(stream: &StreamIdentifier, shard_id: &str) -> Self {
        LeaseKey(format!("{}:{shard_id}", stream.serialize()))
    }

    /// The key text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Splits a multi-stream key; `None` for a plain shard-id key.
    fn split_multi_stream(&self) -> Option<(StreamIdentifier, &str)> {
        let mut parts = self.0.splitn(4, ':');
        let account_id = parts.next()?;
        let stream_name = parts.next()?;
        let creation_epoch = parts.next()?.parse().ok()?;
        let shard_id = parts.next()?;
        if account_id.is_empty() || stream_name.is_empty() || shard_id.is_empty() {
            return None;
        }
        Some((
            StreamIdentifier {
                account_id: account_id.to_owned(),
                stream_name: stream_name.to_owned(),
                creation_epoch,
            },
            shard_id,
        ))
    }

    /// The shard id: the last part of a multi-stream key, or the whole key.
    pub fn shard_id(&self) -> &str {
        match self.split_multi_stream() {
            Some((_, shard)) => shard,
            None => &self.0,
        }
    }

    /// The stream of a multi-stream key; `None` for a plain shard-id key.
    pub fn stream(&self) -> Option<StreamIdentifier> {
        self.split_multi_stream().map(|(stream, _)| stream)
    }
}

impl fmt::Display for LeaseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for LeaseKey {
    fn from(value: &str) -> Self {
        LeaseKey::new(value)
    }
}

impl From<String> for LeaseKey {
    fn from(value: String) -> Self {
        LeaseKey(value)
    }
}

impl AsRef<str> for LeaseKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The inclusive range of 128-bit hash keys a shard covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HashKeyRange {
    /// The lowest hash key (inclusive).
    pub starting_hash_key: u128,
    /// The highest hash key (inclusive).
    pub ending_hash_key: u128,
}

impl HashKeyRange {
    /// A range; `None` when `start > end`.
    pub fn new(starting_hash_key: u128, ending_hash_key: u128) -> Option<Self> {
        (starting_hash_key <= ending_hash_key).then_some(HashKeyRange {
            starting_hash_key,
            ending_hash_key,
        })
    }

    /// The whole hash-key space (a stream with one shard).
    pub fn full() -> Self {
        HashKeyRange {
            starting_hash_key: 0,
            ending_hash_key: u128::MAX,
        }
    }

    /// True when `hash_key` lies inside the range.
    pub fn contains(&self, hash_key: u128) -> bool {
        (self.starting_hash_key..=self.ending_hash_key).contains(&hash_key)
    }
}

/// A lease as stored.
///
/// Construct with [`Lease::new`] and set the public fields; read what a store returns. Every store method
/// that writes takes the lease the caller last saw and returns the lease as now stored.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Lease {
    /// The lease key (the shard id, or the multi-stream form).
    pub key: LeaseKey,
    /// The worker currently holding the lease; `None` when unowned (new, released or evicted).
    pub owner: Option<String>,
    /// The fencing token: bumped by every renew, take, evict and checkpoint.
    pub counter: u64,
    /// The last committed position (or the initial position sentinel before the first checkpoint).
    pub checkpoint: ExtendedSequenceNumber,
    /// A prepared but uncommitted checkpoint (two-phase checkpointing).
    pub pending_checkpoint: Option<ExtendedSequenceNumber>,
    /// Opaque application state saved with the pending checkpoint.
    pub pending_checkpoint_state: Option<Bytes>,
    /// How many times the lease changed owner since the last checkpoint (a hint of a poison shard).
    pub owner_switches_since_checkpoint: u64,
    /// The shard's parents (none, one after a split, two after a merge); they are processed first. For a
    /// multi-stream key, lease keys of the same stream (the DynamoDB store writes them as plain shard ids,
    /// as the Java KCL does, and reads them back as lease keys).
    pub parent_shard_ids: BTreeSet<String>,
    /// The shard's children, recorded when the shard ends (lease keys, like the parents).
    pub child_shard_ids: BTreeSet<String>,
    /// The hash-key range of the shard, when known.
    pub hash_key_range: Option<HashKeyRange>,
    /// The shard's recent throughput in KB/s (KCL 3 `throughputKBps`), used by throughput-aware assignment.
    pub throughput_kbps: Option<f64>,
    /// The owner that wrote the last checkpoint (KCL 3 `checkpointOwner`, used by graceful handoff).
    pub checkpoint_owner: Option<String>,
    /// The shard's recent rate in records per second, as its owner last reported it
    /// ([`LeaseStore::report_load`](crate::LeaseStore::report_load)).
    pub records_per_sec: Option<f64>,
    /// The owner's CPU utilization (0.0-1.0 of what its process may use) when it last reported the lease's
    /// load, where the owner could measure it.
    pub owner_cpu: Option<f64>,
}

/// A lease's load as its owner measured it (see [`LeaseStore::report_load`](crate::LeaseStore::report_load)).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LeaseLoad {
    /// Records processed per second.
    pub records_per_sec: f64,
    /// Kilobytes (1,024 bytes) of record data processed per second.
    pub kbps: f64,
    /// The owner's CPU utilization (0.0-1.0), when it can measure it.
    pub owner_cpu: Option<f64>,
}

impl Lease {
    /// The load last reported on this lease, if any.
    pub fn load(&self) -> Option<LeaseLoad> {
        let kbps = self.throughput_kbps?;
        Some(LeaseLoad {
            records_per_sec: self.records_per_sec.unwrap_or(0.0),
            kbps,
            owner_cpu: self.owner_cpu,
        })
    }

    /// Sets the load fields from a report.
    pub fn set_load(&mut self, load: &LeaseLoad) {
        self.throughput_kbps = Some(load.kbps);
        self.records_per_sec = Some(load.records_per_sec);
        self.owner_cpu = load.owner_cpu;
    }
}

impl Lease {
    /// An unowned lease at counter 0 whose checkpoint is the given initial position.
    pub fn new(key: impl Into<LeaseKey>, checkpoint: ExtendedSequenceNumber) -> Self {
        Lease {
            key: key.into(),
            owner: None,
            counter: 0,
            checkpoint,
            pending_checkpoint: None,
            pending_checkpoint_state: None,
            owner_switches_since_checkpoint: 0,
            parent_shard_ids: BTreeSet::new(),
            child_shard_ids: BTreeSet::new(),
            hash_key_range: None,
            throughput_kbps: None,
            checkpoint_owner: None,
            records_per_sec: None,
            owner_cpu: None,
        }
    }

    /// Sets the parent shard ids (builder style).
    pub fn with_parents<I, S>(mut self, parents: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.parent_shard_ids = parents.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the hash-key range (builder style).
    pub fn with_hash_key_range(mut self, range: HashKeyRange) -> Self {
        self.hash_key_range = Some(range);
        self
    }

    /// Sets the owner (builder style), for seeding stores in tests and tools.
    pub fn with_owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = Some(owner.into());
        self
    }

    /// The shard id (see [`LeaseKey::shard_id`]).
    pub fn shard_id(&self) -> &str {
        self.key.shard_id()
    }

    /// True when `worker` holds the lease.
    pub fn is_owned_by(&self, worker: &str) -> bool {
        self.owner.as_deref() == Some(worker)
    }

    /// True when the shard was fully processed (checkpoint is `SHARD_END`).
    pub fn is_shard_end(&self) -> bool {
        self.checkpoint.is_shard_end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_stream_keys_split() {
        let key = LeaseKey::new("123456789012:orders:1700000000:shardId-000000000007");
        assert_eq!(key.shard_id(), "shardId-000000000007");
        let stream = key.stream().unwrap();
        assert_eq!(stream.account_id, "123456789012");
        assert_eq!(stream.stream_name, "orders");
        assert_eq!(stream.creation_epoch, 1_700_000_000);
        assert_eq!(LeaseKey::multi_stream(&stream, "shardId-000000000007"), key);

        let plain = LeaseKey::new("shardId-000000000001");
        assert_eq!(plain.shard_id(), "shardId-000000000001");
        assert!(plain.stream().is_none());
        // A non-numeric epoch is not a multi-stream key.
        assert!(LeaseKey::new("a:b:c:d").stream().is_none());
    }

    #[test]
    fn hash_key_range_bounds() {
        assert!(HashKeyRange::new(5, 4).is_none());
        let range = HashKeyRange::new(10, 20).unwrap();
        assert!(range.contains(10) && range.contains(20) && !range.contains(21));
        assert!(HashKeyRange::full().contains(u128::MAX));
    }
}
