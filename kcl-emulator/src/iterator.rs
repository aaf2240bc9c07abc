//! Shard iterators: the opaque token naming a position in a shard (signed, valid for five minutes), and
//! where a starting position (GetShardIterator's iterator type, SubscribeToShard's StartingPosition)
//! points in a shard.
//!
//! The token signs (stream epoch, shard index, position, issue time) with the emulator's key, so it
//! survives nothing but honest use: altered, forged or foreign tokens are `InvalidArgumentException`,
//! old ones `ExpiredIteratorException` (checked by GetRecords).

use crate::error::KinesisError;
use crate::sequence;
use crate::shapes::{ShardIteratorType, Timestamp};
use crate::state::{Inner, ShardData, ShardState, StreamState};
use crate::token::Reader;
use crate::validate;

const TOKEN_KIND: u8 = 1;
/// How long an iterator stays valid.
pub(crate) const ITERATOR_TTL_MS: i64 = 300_000;

/// A decoded shard iterator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IteratorPosition {
    pub(crate) epoch: u64,
    pub(crate) shard: u32,
    /// Counter of the next record to read.
    pub(crate) position: u64,
    pub(crate) issued_ms: i64,
}

/// Encodes an iterator.
pub(crate) fn encode(inner: &Inner, it: IteratorPosition) -> String {
    let mut payload = Vec::with_capacity(29);
    payload.push(TOKEN_KIND);
    payload.extend_from_slice(&it.epoch.to_be_bytes());
    payload.extend_from_slice(&it.shard.to_be_bytes());
    payload.extend_from_slice(&it.position.to_be_bytes());
    payload.extend_from_slice(&it.issued_ms.to_be_bytes());
    inner.tokens.sign(&payload)
}

/// Decodes an iterator this emulator issued; `None` for anything else.
pub(crate) fn decode(inner: &Inner, token: &str) -> Option<IteratorPosition> {
    let payload = inner.tokens.verify(token)?;
    let mut r = Reader::new(&payload);
    if r.u8()? != TOKEN_KIND {
        return None;
    }
    let it = IteratorPosition {
        epoch: r.u64()?,
        shard: r.u32()?,
        position: r.u64()?,
        issued_ms: r.i64()?,
    };
    r.is_empty().then_some(it)
}

/// Where a starting position (shared with SubscribeToShard) points in a shard: the counter of the first
/// record to read.
///
/// # Errors
/// `InvalidArgumentException` for missing parameters or a sequence number of another stream or shard,
/// `ValidationException` for a malformed one.
pub(crate) fn starting_counter(
    inner: &Inner,
    stream: &StreamState,
    shard: &ShardState,
    data: &ShardData,
    kind: ShardIteratorType,
    sequence_number: Option<&str>,
    timestamp: Option<Timestamp>,
) -> Result<u64, KinesisError> {
    if sequence_number.is_some() && matches!(kind, ShardIteratorType::TrimHorizon | ShardIteratorType::Latest)
    {
        return Err(KinesisError::invalid(format!(
            "StartingSequenceNumber was given for shard iterator type {}; it is only valid for \
             AT_SEQUENCE_NUMBER and AFTER_SEQUENCE_NUMBER.",
            iterator_type_name(kind)
        )));
    }
    Ok(match kind {
        ShardIteratorType::TrimHorizon => data.base,
        ShardIteratorType::Latest => data.next_counter(),
        ShardIteratorType::AtSequenceNumber | ShardIteratorType::AfterSequenceNumber => {
            let seq = sequence_number.ok_or_else(|| {
                KinesisError::invalid(format!(
                    "StartingSequenceNumber must be specified for shard iterator type {}.",
                    iterator_type_name(kind)
                ))
            })?;
            if !sequence::is_well_formed(seq) {
                return Err(validate::error(
                    seq,
                    "startingSequenceNumber",
                    "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,128})",
                ));
            }
            let parts = sequence::parse(seq)
                .filter(|p| p.epoch == stream.epoch)
                .ok_or_else(|| {
                    KinesisError::invalid(format!(
                        "Invalid StartingSequenceNumber. It does not belong to stream {} under account {}.",
                        stream.name, inner.config.account_id
                    ))
                })?;
            if parts.shard != shard.index {
                return Err(KinesisError::invalid(format!(
                    "Invalid StartingSequenceNumber. It encodes {}, while it was used in a call to a shard \
                     with {}",
                    crate::state::shard_id(parts.shard),
                    shard.id
                )));
            }
            if parts.counter > data.last_counter() {
                return Err(KinesisError::invalid(format!(
                    "StartingSequenceNumber {seq} used in GetShardIterator on shard {} in stream {} under \
                     account {} is invalid because it did not come from this stream.",
                    shard.id, stream.name, inner.config.account_id
                )));
            }
            let counter = if kind == ShardIteratorType::AfterSequenceNumber {
                parts.counter.saturating_add(1)
            } else {
                parts.counter
            };
            counter.max(data.base)
        }
        ShardIteratorType::AtTimestamp => {
            let ts = timestamp.ok_or_else(|| {
                KinesisError::invalid("Timestamp must be specified for shard iterator type AT_TIMESTAMP.")
            })?;
            let now_ms = inner.now_millis();
            if ts.as_millis() > now_ms {
                return Err(KinesisError::invalid(format!(
                    "The timestamp {} given for shard iterator type AT_TIMESTAMP is in the future (the \
                     service's time is {}).",
                    ts.as_millis() as f64 / 1000.0,
                    now_ms as f64 / 1000.0
                )));
            }
            let idx = data.records.partition_point(|r| r.arrival_ms < ts.as_millis());
            data.base + idx as u64
        }
    })
}

/// The AWS spelling of an iterator type.
pub(crate) fn iterator_type_name(kind: ShardIteratorType) -> &'static str {
    match kind {
        ShardIteratorType::AtSequenceNumber => "AT_SEQUENCE_NUMBER",
        ShardIteratorType::AfterSequenceNumber => "AFTER_SEQUENCE_NUMBER",
        ShardIteratorType::TrimHorizon => "TRIM_HORIZON",
        ShardIteratorType::Latest => "LATEST",
        ShardIteratorType::AtTimestamp => "AT_TIMESTAMP",
    }
}
