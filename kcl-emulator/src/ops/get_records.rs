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

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::dispatch::AtShard;
use crate::error::{ErrorCode, KinesisError};
use crate::iterator::{decode, encode, IteratorPosition, ITERATOR_TTL_MS};
use crate::lookup;
use crate::read::read;
use crate::shapes::{ChildShard, Record};
use crate::state::Inner;
use crate::validate;

/// GetRecords request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct GetRecordsInput {
    /// Token from GetShardIterator or a previous GetRecords.
    pub shard_iterator: String,
    /// Maximum records, 1..=10000 (default 10000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i32>,
    /// Stream ARN (optional; must match the iterator's stream when given).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
}

/// GetRecords response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetRecordsOutput {
    /// Records in shard order.
    pub records: Vec<Record>,
    /// Where to continue; absent at the end of a closed shard.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub next_shard_iterator: Option<String>,
    /// How far behind the newest record this response is (0 = caught up).
    pub millis_behind_latest: i64,
    /// The shard's children, at the end of a closed shard.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub child_shards: Option<Vec<ChildShard>>,
}

/// Largest GetRecords response.
pub(crate) const MAX_RESPONSE_BYTES: usize = 10 * 1024 * 1024;

impl crate::dispatch::Scoped for GetRecordsInput {
    fn stream_hint(&self, inner: &Inner) -> Option<String> {
        let it = decode(inner, &self.shard_iterator)?;
        inner.stream_by_epoch(it.epoch).map(|s| s.name.clone())
    }
}

/// What `execute` needs besides the stream and shard.
#[derive(Debug)]
pub(crate) struct Plan {
    limit: i32,
    it: IteratorPosition,
    now_ms: i64,
}

/// Validates the request and its iterator (signature, age) and finds the iterator's stream and shard.
pub(crate) fn locate(inner: &Inner, input: GetRecordsInput) -> Result<AtShard<Plan>, KinesisError> {
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
    lookup::require_usable(inner, &stream)?;
    let shard = stream
        .shard_by_index(it.shard, now_ms)
        .ok_or_else(|| inner.shard_not_found(&stream, &crate::state::shard_id(it.shard)))?;
    Ok(AtShard {
        stream,
        shard,
        plan: Plan { limit, it, now_ms },
    })
}

/// Reads from the located shard, within its read limits.
pub(crate) async fn execute(inner: &Inner, at: AtShard<Plan>) -> Result<GetRecordsOutput, KinesisError> {
    let AtShard {
        stream,
        shard,
        plan: Plan { limit, it, now_ms },
    } = at;
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
