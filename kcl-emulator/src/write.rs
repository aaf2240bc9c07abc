//! The write path shared by PutRecord and PutRecords: validating a record, routing it by hash key to an
//! open shard, and appending it under the shard's lock within the shard's write limits.
//!
//! Records routed to the same shard are appended under one lock acquisition, in request order, so their
//! sequence numbers follow the request order.
//!
//! A stream's record distribution strategy picks the shard: USER_PARTITION_KEY routes by hash key, AUTO
//! deals records round robin over the open shards. A stream's maximum record size (UpdateMaxRecordSize,
//! up to 10 MiB) bounds each record ([`check_sizes`]); a record larger than a second's worth of the shard's
//! byte limit is accepted only when the shard's byte bucket is full, and leaves it in debt (the burst
//! capacity of large records), so the shard's sustained write rate stays the limit.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use tokio::time::Instant;

use crate::dispatch::RecordFaults;
use crate::error::KinesisError;
use crate::hashkey;
use crate::shapes::{EncryptionType, RecordDistributionStrategy};
use crate::state::{Inner, ShardState, StreamState};
use crate::validate;

/// Largest record of any stream (10 MiB, see UpdateMaxRecordSize): data plus partition key.
pub(crate) const MAX_RECORD_BYTES: usize = crate::settings::LARGEST_MAX_RECORD_KIB as usize * 1024;
/// A validated record on its way into a shard.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) data: Bytes,
    pub(crate) partition_key: String,
    pub(crate) hash: u128,
}

/// Validates one record's key, data and explicit hash key; `index` is its position in a PutRecords
/// request (for the field names in messages).
pub(crate) fn validate_entry(
    data: Bytes,
    partition_key: String,
    explicit_hash_key: Option<&str>,
    index: Option<usize>,
) -> Result<Entry, KinesisError> {
    let field = |name: &str| match index {
        Some(i) => format!("records.{}.member.{name}", i + 1),
        None => name.to_owned(),
    };
    let key_ok =
        !partition_key.is_empty() && (partition_key.len() <= 256 || partition_key.chars().count() <= 256);
    if !key_ok {
        validate::length(&partition_key, &field("partitionKey"), 1, 256)?;
    }
    if data.len() > MAX_RECORD_BYTES {
        return Err(validate::error(
            format!(
                "java.nio.HeapByteBuffer[pos=0 lim={} cap={}]",
                data.len(),
                data.len()
            ),
            &field("data"),
            "Member must have length less than or equal to 10485760",
        ));
    }
    let hash = match explicit_hash_key {
        None => hashkey::of_partition_key(&partition_key),
        Some(key) => {
            if !hashkey::is_well_formed(key) {
                return Err(validate::error(
                    key,
                    &field("explicitHashKey"),
                    "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})",
                ));
            }
            hashkey::parse(key).ok_or_else(|| {
                KinesisError::invalid(format!(
                    "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. \
                     Specified value was {key}"
                ))
            })?
        }
    };
    Ok(Entry {
        data,
        partition_key,
        hash,
    })
}

/// What the write path needs of a stream's settings, read under one lock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WriteSettings {
    /// The stream's maximum record size in bytes.
    pub(crate) max_record_bytes: usize,
    /// The encryption PutRecord(s) report.
    pub(crate) encryption: EncryptionType,
}

impl WriteSettings {
    pub(crate) fn of(stream: &StreamState) -> Self {
        let meta = stream.meta.read();
        Self {
            max_record_bytes: meta.settings.max_record_bytes(),
            encryption: meta.settings.write_encryption(),
        }
    }
}

/// Checks each entry against the stream's maximum record size `max`: data over it is a
/// `ValidationException`, data and partition key together over it an `InvalidArgumentException`.
/// `indexed`: the entries are PutRecords records (for the field names in messages).
pub(crate) fn check_sizes(max: usize, entries: &[Entry], indexed: bool) -> Result<(), KinesisError> {
    for (i, entry) in entries.iter().enumerate() {
        if entry.data.len() > max {
            let field = if indexed {
                format!("records.{}.member.data", i + 1)
            } else {
                "data".to_owned()
            };
            return Err(validate::error(
                format!(
                    "java.nio.HeapByteBuffer[pos=0 lim={} cap={}]",
                    entry.data.len(),
                    entry.data.len()
                ),
                &field,
                &format!("Member must have length less than or equal to {max}"),
            ));
        }
        if entry.data.len() + entry.partition_key.len() > max {
            return Err(KinesisError::invalid(format!(
                "The record size ({} bytes of data and partition key) exceeds the stream's limit of {max}                  bytes.",
                entry.data.len() + entry.partition_key.len()
            )));
        }
    }
    Ok(())
}

/// The index in `routes` (open shards sorted by starting hash key) of the shard owning `hash`.
fn route(routes: &[Arc<ShardState>], hash: u128) -> usize {
    routes.partition_point(|s| s.start_key <= hash).saturating_sub(1)
}

/// What became of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Appended {
    /// Stored in `shard_id` with `sequence_number`.
    Stored {
        shard_id: String,
        sequence_number: String,
    },
    /// Not stored: the AWS error code and message of the record's failure.
    Failed { code: String, message: String },
}

fn failure(code: &str, message: String) -> Appended {
    Appended::Failed {
        code: code.to_owned(),
        message,
    }
}

/// Appends validated entries to the open shards of `stream`; one result per entry, in order. `faults` is
/// asked for each record before it is stored (a scripted failure fails that record only). `encryption` is
/// the one the call reports, and the records are stored with it.
pub(crate) fn append(
    inner: &Inner,
    faults: RecordFaults<'_>,
    stream: &StreamState,
    encryption: EncryptionType,
    mut entries: Vec<Entry>,
) -> Vec<Appended> {
    // Filled in as records are stored or fail (no placeholder result strings per record).
    let mut results: Vec<Option<Appended>> = vec![None; entries.len()];
    let now_ms = inner.now_millis();
    let cutoff = now_ms.saturating_sub(stream.retention_ms());
    let encrypted = encryption == EncryptionType::Kms;
    let limits = inner.config.throughput;
    let limited = limits.write_bytes_per_sec.is_some() || limits.write_records_per_sec.is_some();
    let mut pending: Vec<usize> = (0..entries.len()).collect();
    // A shard can close between routing and locking (a concurrent reshard): such records are routed
    // again with the new routes. Resharding is rare, so a handful of rounds always suffices.
    for _round in 0..16 {
        if pending.is_empty() {
            break;
        }
        let (routes, auto) = {
            let meta = stream.meta.read();
            (
                meta.routes.clone(),
                meta.settings.distribution == RecordDistributionStrategy::Auto,
            )
        };
        if routes.is_empty() {
            break;
        }
        // Group the records by shard, keeping request order within each shard (a counting sort).
        let targets: Vec<usize> = if auto {
            let first = stream
                .next_auto
                .fetch_add(pending.len() as u64, Ordering::Relaxed);
            (0..pending.len() as u64)
                .map(|k| usize::try_from((first + k) % routes.len() as u64).unwrap_or(0))
                .collect()
        } else {
            pending.iter().map(|&i| route(&routes, entries[i].hash)).collect()
        };
        let mut fill = vec![0usize; routes.len() + 1];
        for &t in &targets {
            fill[t + 1] += 1;
        }
        for r in 0..routes.len() {
            fill[r + 1] += fill[r];
        }
        let mut order = vec![(0usize, 0usize); pending.len()];
        for (&i, &t) in pending.iter().zip(&targets) {
            order[fill[t]] = (t, i);
            fill[t] += 1;
        }
        let mut retry = Vec::new();
        let mut accepted: Vec<(usize, u64)> = Vec::with_capacity(pending.len());
        for group in order.chunk_by(|a, b| a.0 == b.0) {
            let shard = &routes[group[0].0];
            let mut data = shard.data.lock();
            if data.closed.is_some() {
                retry.extend(group.iter().map(|g| g.1));
                continue;
            }
            data.trim(cutoff);
            let now = limited.then(Instant::now);
            for &(_, i) in group {
                let entry = &mut entries[i];
                if let Some(e) = faults(&stream.name, &shard.id) {
                    results[i] = Some(failure(e.code(), e.message().to_owned()));
                    continue;
                }
                if let Some(now) = now {
                    let size = (entry.data.len() + entry.partition_key.len()) as u64;
                    // A record over a second's worth of the limit (a large record) needs a full bucket.
                    let bytes_ok = limits
                        .write_bytes_per_sec
                        .is_none_or(|rate| data.write_bytes.can_take(rate, size.min(rate), now));
                    let records_ok = limits
                        .write_records_per_sec
                        .is_none_or(|rate| data.write_records.can_take(rate, 1, now));
                    if !(bytes_ok && records_ok) {
                        results[i] = Some(failure(
                            "ProvisionedThroughputExceededException",
                            format!(
                                "Rate exceeded for shard {} in stream {} under account {}.",
                                shard.id, stream.name, inner.config.account_id
                            ),
                        ));
                        continue;
                    }
                    if let Some(rate) = limits.write_bytes_per_sec {
                        if size > rate {
                            data.write_bytes.overdraw(size);
                        } else {
                            data.write_bytes.try_take(rate, size, now);
                        }
                    }
                    if let Some(rate) = limits.write_records_per_sec {
                        data.write_records.try_take(rate, 1, now);
                    }
                }
                let arrival_ms = data.last_arrival_ms().map_or(now_ms, |last| last.max(now_ms));
                data.push(
                    arrival_ms,
                    std::mem::take(&mut entry.data),
                    &entry.partition_key,
                    encrypted,
                );
                accepted.push((i, data.last_counter()));
            }
            drop(data);
            if !accepted.is_empty() {
                shard.notify.notify_waiters();
                // Long-polling queue receives re-check their streams.
                inner.queues.wake();
            }
            // The result strings are built outside the shard lock, so concurrent writers of the
            // shard wait only for the appends.
            for (i, counter) in accepted.drain(..) {
                results[i] = Some(Appended::Stored {
                    sequence_number: shard.seq(counter),
                    shard_id: shard.id.clone(),
                });
            }
        }
        pending = retry;
    }
    for i in pending {
        results[i] = Some(failure(
            "InternalFailure",
            "Internal service failure: the stream was resharded repeatedly during the call.".to_owned(),
        ));
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| failure("InternalFailure", "Internal service failure.".to_owned())))
        .collect()
}
