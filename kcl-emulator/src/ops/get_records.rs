//! GetRecords: up to `Limit` (default and maximum 10,000) records and at most 10 MiB from an iterator's
//! position, with the next iterator, `MillisBehindLatest`, and, at the end of a closed shard, no next
//! iterator but the shard's `ChildShards`.
//!
//! Reads are limited per shard to 5 calls/s and 2 MiB/s (a large read overdraws the byte budget and
//! throttles the following calls until it is paid back, as in AWS).
//!
//! Errors: `ValidationException` (limit, iterator length), `InvalidArgumentException` (forged or foreign
//! iterator, StreamARN mismatch), `ExpiredIteratorException` (older than five minutes),
//! `ResourceNotFoundException` (stream deleted, shard expired), `ProvisionedThroughputExceededException`.

use tokio::time::Instant;

use crate::error::{ErrorCode, KinesisError};
use crate::operation::Operation;
use crate::state::{Inner, ShardData, ShardState};
use crate::types::{ChildShard, GetRecordsInput, GetRecordsOutput, Record, Timestamp};
use crate::validate;

use super::get_shard_iterator::{decode, encode, IteratorPosition, ITERATOR_TTL_MS};

/// Largest GetRecords response.
pub(crate) const MAX_RESPONSE_BYTES: usize = 10 * 1024 * 1024;

impl super::Request for GetRecordsInput {
    const OPERATION: Operation = Operation::GetRecords;
    fn stream_hint(&self, inner: &Inner) -> Option<String> {
        let it = decode(inner, &self.shard_iterator)?;
        inner.stream_by_epoch(it.epoch).map(|s| s.name.clone())
    }
}

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
    for (i, stored) in data.records.range(start..).take(limit).enumerate() {
        let size = stored.size();
        if bytes + size > max_bytes && !records.is_empty() {
            break;
        }
        bytes += size;
        records.push(Record {
            sequence_number: shard.seq(first + i as u64),
            approximate_arrival_timestamp: Timestamp::from_millis(stored.arrival_ms),
            data: stored.data.clone(),
            partition_key: stored.key(),
            encryption_type: None,
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

pub(crate) async fn execute(inner: &Inner, input: GetRecordsInput) -> Result<GetRecordsOutput, KinesisError> {
    let limit = validate::int_in(input.limit, "limit", 1, 10_000, 10_000)?;
    validate::length(&input.shard_iterator, "shardIterator", 1, 512)?;
    let it = decode(inner, &input.shard_iterator)
        .ok_or_else(|| KinesisError::invalid("Invalid ShardIterator."))?;
    let now_ms = inner.now_millis();
    if now_ms.saturating_sub(it.issued_ms) > ITERATOR_TTL_MS {
        return Err(KinesisError::new(
            ErrorCode::ExpiredIteratorException,
            format!(
                "Iterator expired. The iterator was created at time {} while right now it is {} which is \
                 further in the future than the tolerated delay of {ITERATOR_TTL_MS} milliseconds.",
                it.issued_ms, now_ms
            ),
        ));
    }
    let stream = inner.stream_by_epoch(it.epoch).ok_or_else(|| {
        KinesisError::not_found("The stream this shard iterator belongs to no longer exists.")
    })?;
    if let Some(arn) = &input.stream_arn {
        if *arn != stream.arn {
            return Err(KinesisError::invalid(format!(
                "StreamARN {arn} does not match the stream of the shard iterator."
            )));
        }
    }
    super::require_usable(inner, &stream)?;
    let shard = stream
        .shard_by_index(it.shard, now_ms)
        .ok_or_else(|| inner.shard_not_found(&stream, &crate::state::shard_id(it.shard)))?;
    if !inner.faults.is_empty() {
        inner
            .faults
            .apply(Operation::GetRecords, Some(&stream.name), Some(&shard.id))
            .await?;
    }
    let limits = inner.config.throughput;
    let batch = {
        let mut data = shard.data.lock();
        data.trim(now_ms.saturating_sub(stream.retention_ms()));
        if limits.read_calls_per_sec.is_some() || limits.read_bytes_per_sec.is_some() {
            let now = Instant::now();
            let calls_ok = limits
                .read_calls_per_sec
                .is_none_or(|rate| data.read_calls.can_take(rate, 1, now));
            let bytes_ok = limits
                .read_bytes_per_sec
                .is_none_or(|rate| data.read_bytes.has_credit(rate, now));
            if !(calls_ok && bytes_ok) {
                return Err(KinesisError::throughput(format!(
                    "Rate exceeded for shard {} in stream {} under account {}.",
                    shard.id, stream.name, inner.config.account_id
                )));
            }
            if let Some(rate) = limits.read_calls_per_sec {
                data.read_calls.try_take(rate, 1, now);
            }
        }
        let batch = read(
            &shard,
            &data,
            it.position,
            usize::try_from(limit).unwrap_or(10_000),
            MAX_RESPONSE_BYTES,
            now_ms,
        );
        if limits.read_bytes_per_sec.is_some() {
            data.read_bytes.overdraw(batch.bytes as u64);
        }
        batch
    };
    let next_shard_iterator = batch.end_of_shard.is_none().then(|| {
        encode(
            inner,
            IteratorPosition {
                epoch: it.epoch,
                shard: it.shard,
                position: batch.next,
                issued_ms: now_ms,
            },
        )
    });
    Ok(GetRecordsOutput {
        records: batch.records,
        next_shard_iterator,
        millis_behind_latest: batch.millis_behind_latest,
        child_shards: batch.end_of_shard,
    })
}
