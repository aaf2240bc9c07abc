//! The records a processor receives, and the child shards reported at the end of a shard.
//!
//! A [`Record`] is one Kinesis record as read from a shard: its payload (`bytes::Bytes`, shared with the
//! retrieval buffer, so cloning is cheap), its partition key, its position (sequence and sub-sequence
//! number) and its metadata. Records of a shard arrive in sequence order.

use std::time::SystemTime;

use bytes::Bytes;
use kcl_checkpoint::{ExtendedSequenceNumber, HashKeyRange, SequenceNumber};

/// One Kinesis record.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Record {
    /// The payload.
    pub data: Bytes,
    /// The partition key the producer gave; it picked the shard (via MD5) unless an explicit hash key did.
    pub partition_key: String,
    /// The record's sequence number, unique and increasing within its shard.
    pub sequence_number: SequenceNumber,
    /// The index of this user record inside a KPL-aggregated record; 0 for plain records.
    pub sub_sequence_number: u64,
    /// When Kinesis accepted the record (approximate, millisecond precision).
    pub approximate_arrival_timestamp: Option<SystemTime>,
    /// The explicit hash key the producer gave, if any (it overrides the partition key's hash).
    pub explicit_hash_key: Option<String>,
}

impl Record {
    /// A plain record (sub-sequence 0, no arrival time, no explicit hash key).
    pub fn new(
        data: impl Into<Bytes>,
        partition_key: impl Into<String>,
        sequence_number: SequenceNumber,
    ) -> Self {
        Record {
            data: data.into(),
            partition_key: partition_key.into(),
            sequence_number,
            sub_sequence_number: 0,
            approximate_arrival_timestamp: None,
            explicit_hash_key: None,
        }
    }

    /// Sets the sub-sequence number (builder style).
    pub fn with_sub_sequence_number(mut self, sub_sequence_number: u64) -> Self {
        self.sub_sequence_number = sub_sequence_number;
        self
    }

    /// Sets the arrival time (builder style).
    pub fn with_arrival_timestamp(mut self, at: SystemTime) -> Self {
        self.approximate_arrival_timestamp = Some(at);
        self
    }

    /// Sets the explicit hash key (builder style).
    pub fn with_explicit_hash_key(mut self, key: impl Into<String>) -> Self {
        self.explicit_hash_key = Some(key.into());
        self
    }

    /// The record's position as a checkpoint value.
    pub fn extended_sequence_number(&self) -> ExtendedSequenceNumber {
        ExtendedSequenceNumber::with_sub_sequence(self.sequence_number.clone(), self.sub_sequence_number)
    }

    /// The number of bytes this record counts for in prefetch limits and metrics (data + partition key).
    pub fn size_bytes(&self) -> usize {
        self.data.len() + self.partition_key.len()
    }
}

/// The 128-bit hash key of a partition key: its MD5 read as a big-endian number (how Kinesis maps a key
/// to a shard; also how a parallelized shard maps a key to a lane).
pub(crate) fn partition_key_hash(partition_key: &str) -> u128 {
    use md5::{Digest, Md5};
    u128::from_be_bytes(Md5::digest(partition_key.as_bytes()).into())
}

/// A child shard reported by GetRecords when a closed shard has been read to its end.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChildShard {
    /// The child's shard id.
    pub shard_id: String,
    /// Its parents: the ended shard, plus the adjacent parent after a merge.
    pub parent_shards: Vec<String>,
    /// The child's hash-key range, when known.
    pub hash_key_range: Option<HashKeyRange>,
}

impl ChildShard {
    /// A child shard.
    pub fn new(
        shard_id: impl Into<String>,
        parent_shards: Vec<String>,
        hash_key_range: Option<HashKeyRange>,
    ) -> Self {
        ChildShard {
            shard_id: shard_id.into(),
            parent_shards,
            hash_key_range,
        }
    }
}
