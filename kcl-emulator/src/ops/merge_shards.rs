//! MergeShards: close two open, adjacent shards and open one child covering both ranges
//! (ParentShardId = ShardToMerge, AdjacentParentShardId = AdjacentShardToMerge).
//!
//! Errors: `ValidationException` (shard ids, ON_DEMAND stream), `InvalidArgumentException` (not adjacent
//! or the same shard), `ResourceNotFoundException`, `ResourceInUseException` (stream not ACTIVE, shard
//! already closed).

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::lookup;
use crate::reshard;
use crate::shapes::StreamStatus;
use crate::state::Inner;
use crate::validate;

/// MergeShards request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct MergeShardsInput {
    /// Stream name (or give `stream_arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// Stream ARN (or give `stream_name`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
    /// First open shard (becomes ParentShardId).
    pub shard_to_merge: String,
    /// Adjacent open shard (becomes AdjacentParentShardId).
    pub adjacent_shard_to_merge: String,
}

/// MergeShards response (empty).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MergeShardsOutput {}

crate::dispatch::named_stream!(MergeShardsInput);

pub(crate) async fn execute(
    inner: &Inner,
    input: MergeShardsInput,
) -> Result<MergeShardsOutput, KinesisError> {
    validate::shard_id(&input.shard_to_merge, "shardToMerge")?;
    validate::shard_id(&input.adjacent_shard_to_merge, "adjacentShardToMerge")?;
    let stream = lookup::resolve(inner, input.stream_name.as_deref(), input.stream_arn.as_deref())?;
    reshard::require_provisioned(inner, &stream, "MergeShards")?;
    lookup::require_active(inner, &stream)?;
    let now_ms = inner.now_millis();
    let a = stream
        .shard(&input.shard_to_merge, now_ms)
        .ok_or_else(|| inner.shard_not_found(&stream, &input.shard_to_merge))?;
    let b = stream
        .shard(&input.adjacent_shard_to_merge, now_ms)
        .ok_or_else(|| inner.shard_not_found(&stream, &input.adjacent_shard_to_merge))?;
    let not_adjacent = || {
        KinesisError::invalid(format!(
            "Shards {} and {} in stream {} under account {} are not an adjacent pair of shards eligible \
             for merging",
            a.id, b.id, stream.name, inner.config.account_id
        ))
    };
    if a.index == b.index {
        return Err(not_adjacent());
    }
    let mut meta = stream.meta.write();
    if meta.status != StreamStatus::Active {
        drop(meta);
        return Err(lookup::require_active(inner, &stream)
            .err()
            .unwrap_or_else(not_adjacent));
    }
    for s in [&a, &b] {
        if s.closed_at().is_some() {
            return Err(reshard::not_open(inner, &stream, &s.id));
        }
    }
    let adjacent =
        a.end_key.checked_add(1) == Some(b.start_key) || b.end_key.checked_add(1) == Some(a.start_key);
    if !adjacent {
        return Err(not_adjacent());
    }
    reshard::merge(&stream, &mut meta, &a, &b, now_ms);
    meta.publish_routes();
    stream.begin_transition(&mut meta, StreamStatus::Updating, inner.config.updating_delay);
    Ok(MergeShardsOutput {})
}
