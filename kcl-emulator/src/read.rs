//! Reading records from a shard: the batch GetRecords answers with and SubscribeToShard pushes.

use crate::shapes::{ChildShard, Record, Timestamp};
use crate::state::{ShardData, ShardState};

/// A batch read from one shard.
#[derive(Debug)]
pub(crate) struct Batch {
    pub(crate) records: Vec<Record>,
    /// Counter of the next record to read.
    pub(crate) next: u64,
    /// Bytes the records count for.
    pub(crate) bytes: usize,
    pub(crate) millis_behind_latest: i64,
    /// `Some(children)` when the read reached the end of a closed shard.
    pub(crate) end_of_shard: Option<Vec<ChildShard>>,
}

/// Reads records of `shard` from counter `from`, up to `limit` records and `max_bytes` bytes.
pub(crate) fn read(
    shard: &ShardState,
    data: &ShardData,
    from: u64,
    limit: usize,
    max_bytes: usize,
    now_ms: i64,
) -> Batch {
    let start = data.index_of(from);
    let available = data.records.len() - start;
    let mut records = Vec::with_capacity(limit.min(available));
    let mut bytes = 0usize;
    let first = data.base + start as u64;
    for (i, stored) in data.records.range_from(start).take(limit).enumerate() {
        let size = stored.size();
        if bytes + size > max_bytes && !records.is_empty() {
            break;
        }
        bytes += size;
        records.push(Record {
            sequence_number: shard.seq(first + i as u64),
            approximate_arrival_timestamp: Timestamp::from_millis(stored.arrival_ms),
            data: stored.data(),
            partition_key: stored.key(),
            encryption_type: stored.encryption_type(),
        });
    }
    let next_index = start + records.len();
    let millis_behind_latest = data
        .records
        .get(next_index)
        .map_or(0, |r| now_ms.saturating_sub(r.arrival_ms).max(0));
    let end_of_shard = match &data.closed {
        Some(closed) if next_index >= data.records.len() => Some(closed.children.clone()),
        _ => None,
    };
    Batch {
        records,
        next: first + (next_index - start) as u64,
        bytes,
        millis_behind_latest,
        end_of_shard,
    }
}
