//! ListShards: the stream's shards in id order, filtered by a `ShardFilter` and paginated with
//! `MaxResults` / `NextToken`.
//!
//! `ExclusiveStartShardId` and a `ShardFilter` combine (both must hold).
//! A `NextToken` carries the stream, the filter and the last shard returned, and expires after 300 s;
//! with a `NextToken` the request must not name the stream (nor give ExclusiveStartShardId or
//! StreamCreationTimestamp), as in AWS.
//!
//! Errors: `InvalidArgumentException` (NextToken combined with StreamName, missing filter parameters,
//! forged token), `ExpiredNextTokenException`, `ValidationException` (MaxResults, shard id),
//! `ResourceNotFoundException`.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::lookup;
use crate::shapes::{Shard, ShardFilterType, Timestamp};
use crate::state::{parse_shard_id, Inner, ShardState, StreamState};
use crate::token::Reader;
use crate::validate;

/// A ListShards filter.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ShardFilter {
    /// The kind of filter.
    #[serde(rename = "Type")]
    pub filter_type: ShardFilterType,
    /// For AFTER_SHARD_ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard_id: Option<String>,
    /// For AT_TIMESTAMP / FROM_TIMESTAMP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
}

/// ListShards request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListShardsInput {
    /// Stream name (or give `stream_arn`; not allowed with `next_token`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// Stream ARN (or give `stream_name`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
    /// Token from a previous page (expires after 300 s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    /// List shards after this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclusive_start_shard_id: Option<String>,
    /// Maximum shards returned, 1..=10000 (default 1000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_results: Option<i32>,
    /// Distinguishes streams of the same name (must match when given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_creation_timestamp: Option<Timestamp>,
    /// Which shards to list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard_filter: Option<ShardFilter>,
}

/// ListShards response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListShardsOutput {
    /// Shards in this page.
    pub shards: Vec<Shard>,
    /// Token for the next page.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub next_token: Option<String>,
}

crate::dispatch::named_stream!(ListShardsInput);

const TOKEN_KIND: u8 = 2;

/// A filter reduced to what matching needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Filter {
    kind: ShardFilterType,
    shard: u32,
    timestamp: i64,
}

fn kind_code(kind: ShardFilterType) -> u8 {
    match kind {
        ShardFilterType::AfterShardId => 0,
        ShardFilterType::AtTrimHorizon => 1,
        ShardFilterType::FromTrimHorizon => 2,
        ShardFilterType::AtLatest => 3,
        ShardFilterType::AtTimestamp => 4,
        ShardFilterType::FromTimestamp => 5,
    }
}

fn kind_from_code(code: u8) -> Option<ShardFilterType> {
    Some(match code {
        0 => ShardFilterType::AfterShardId,
        1 => ShardFilterType::AtTrimHorizon,
        2 => ShardFilterType::FromTrimHorizon,
        3 => ShardFilterType::AtLatest,
        4 => ShardFilterType::AtTimestamp,
        5 => ShardFilterType::FromTimestamp,
        _ => return None,
    })
}

fn parse_filter(filter: Option<&ShardFilter>) -> Result<Filter, KinesisError> {
    let Some(f) = filter else {
        return Ok(Filter {
            kind: ShardFilterType::FromTrimHorizon,
            shard: 0,
            timestamp: 0,
        });
    };
    let mut out = Filter {
        kind: f.filter_type,
        shard: 0,
        timestamp: 0,
    };
    match f.filter_type {
        ShardFilterType::AfterShardId => {
            let id = f.shard_id.as_deref().ok_or_else(|| {
                KinesisError::invalid("ShardId must be provided with a ShardFilter of type AFTER_SHARD_ID.")
            })?;
            validate::shard_id(id, "shardFilter.shardId")?;
            out.shard = parse_shard_id(id)
                .ok_or_else(|| KinesisError::invalid(format!("Invalid ShardId in ShardFilter: {id}")))?;
        }
        ShardFilterType::AtTimestamp | ShardFilterType::FromTimestamp => {
            out.timestamp = f
                .timestamp
                .ok_or_else(|| {
                    KinesisError::invalid(
                        "Timestamp must be provided with a ShardFilter of type AT_TIMESTAMP or FROM_TIMESTAMP.",
                    )
                })?
                .as_millis();
        }
        _ => {}
    }
    if f.shard_id.is_some() && f.filter_type != ShardFilterType::AfterShardId {
        return Err(KinesisError::invalid(
            "ShardId can only be provided with a ShardFilter of type AFTER_SHARD_ID.",
        ));
    }
    if f.timestamp.is_some()
        && !matches!(
            f.filter_type,
            ShardFilterType::AtTimestamp | ShardFilterType::FromTimestamp
        )
    {
        return Err(KinesisError::invalid(
            "Timestamp can only be provided with a ShardFilter of type AT_TIMESTAMP or FROM_TIMESTAMP.",
        ));
    }
    Ok(out)
}

/// Whether `shard` passes `filter` (`retention_ms` and `now_ms` place the trim horizon).
fn matches(filter: &Filter, stream: &StreamState, shard: &ShardState, now_ms: i64) -> bool {
    let created = shard.created.as_millis();
    let closed = shard.closed_at();
    // A shard is "open at t" when it was created at or before t and not closed before t. Times before the
    // stream existed mean "at the stream's creation".
    let open_at = |t: i64| {
        let t = t.max(stream.created.as_millis());
        created <= t && closed.is_none_or(|c| c >= t)
    };
    match filter.kind {
        ShardFilterType::AfterShardId => shard.index > filter.shard,
        ShardFilterType::FromTrimHorizon => true,
        ShardFilterType::AtLatest => closed.is_none(),
        ShardFilterType::AtTrimHorizon => open_at(now_ms.saturating_sub(stream.retention_ms())),
        ShardFilterType::AtTimestamp => open_at(filter.timestamp),
        ShardFilterType::FromTimestamp => {
            let t = filter.timestamp.max(stream.created.as_millis());
            closed.is_none_or(|c| c >= t)
        }
    }
}

struct Cursor {
    stream: Arc<StreamState>,
    filter: Filter,
    /// Only shards with a larger index are listed.
    after: Option<u32>,
}

fn encode_token(inner: &Inner, stream: &StreamState, filter: &Filter, last: u32, now_ms: i64) -> String {
    let mut p = Vec::with_capacity(34);
    p.push(TOKEN_KIND);
    p.extend_from_slice(&stream.epoch.to_be_bytes());
    p.extend_from_slice(&last.to_be_bytes());
    p.extend_from_slice(&now_ms.to_be_bytes());
    p.push(kind_code(filter.kind));
    p.extend_from_slice(&filter.shard.to_be_bytes());
    p.extend_from_slice(&filter.timestamp.to_be_bytes());
    inner.tokens.sign(&p)
}

fn decode_token(inner: &Inner, token: &str, now_ms: i64) -> Result<Cursor, KinesisError> {
    let invalid = || crate::token::invalid_next_token(token);
    let payload = inner.tokens.verify(token).ok_or_else(invalid)?;
    let mut r = Reader::new(&payload);
    let parsed = (|| {
        if r.u8()? != TOKEN_KIND {
            return None;
        }
        let epoch = r.u64()?;
        let last = r.u32()?;
        let issued = r.i64()?;
        let kind = kind_from_code(r.u8()?)?;
        let shard = r.u32()?;
        let timestamp = r.i64()?;
        r.is_empty().then_some((
            epoch,
            last,
            issued,
            Filter {
                kind,
                shard,
                timestamp,
            },
        ))
    })();
    let (epoch, last, issued, filter) = parsed.ok_or_else(invalid)?;
    crate::token::check_fresh(token, issued, now_ms)?;
    let stream = inner
        .stream_by_epoch(epoch)
        .ok_or_else(|| KinesisError::not_found("The stream this NextToken belongs to no longer exists."))?;
    Ok(Cursor {
        stream,
        filter,
        after: Some(last),
    })
}

pub(crate) async fn execute(inner: &Inner, input: ListShardsInput) -> Result<ListShardsOutput, KinesisError> {
    let max = validate::int_in(input.max_results, "maxResults", 1, 10_000, 1000)?;
    let now_ms = inner.now_millis();
    let cursor = match &input.next_token {
        Some(token) => {
            validate::length(token, "nextToken", 1, 1048576)?;
            if input.stream_name.is_some() || input.stream_arn.is_some() {
                return Err(KinesisError::invalid(
                    "NextToken and StreamName cannot be provided together.",
                ));
            }
            if input.exclusive_start_shard_id.is_some() {
                return Err(KinesisError::invalid(
                    "NextToken and ExclusiveStartShardId cannot be provided together.",
                ));
            }
            if input.stream_creation_timestamp.is_some() {
                return Err(KinesisError::invalid(
                    "NextToken and StreamCreationTimestamp cannot be provided together.",
                ));
            }
            decode_token(inner, token, now_ms)?
        }
        None => {
            let after = match &input.exclusive_start_shard_id {
                Some(id) => {
                    validate::shard_id(id, "exclusiveStartShardId")?;
                    Some(parse_shard_id(id).ok_or_else(|| {
                        KinesisError::invalid(format!("Invalid ExclusiveStartShardId: {id}"))
                    })?)
                }
                None => None,
            };
            let filter = parse_filter(input.shard_filter.as_ref())?;
            let stream = lookup::resolve(inner, input.stream_name.as_deref(), input.stream_arn.as_deref())?;
            if let Some(ts) = input.stream_creation_timestamp {
                // Clients may send it rounded to the second.
                let (given, created) = (ts.as_millis(), stream.created.as_millis());
                if given != created && given.div_euclid(1000) != created.div_euclid(1000) {
                    return Err(inner.stream_not_found(&stream.name));
                }
            }
            Cursor {
                stream,
                filter,
                after,
            }
        }
    };
    let Cursor {
        stream,
        filter,
        after,
    } = cursor;
    let listed = stream.listed_shards(now_ms);
    let mut page = listed
        .iter()
        .filter(|s| after.is_none_or(|a| s.index > a))
        .filter(|s| matches(&filter, &stream, s, now_ms));
    let chosen: Vec<&Arc<ShardState>> = page.by_ref().take(usize::try_from(max).unwrap_or(1000)).collect();
    let more = page.next().is_some();
    let next_token = match chosen.last() {
        Some(last) if more => Some(encode_token(inner, &stream, &filter, last.index, now_ms)),
        _ => None,
    };
    Ok(ListShardsOutput {
        shards: chosen.iter().map(|s| s.describe()).collect(),
        next_token,
    })
}
