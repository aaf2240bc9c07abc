//! Resharding primitives shared by SplitShard, MergeShards and UpdateShardCount (`ops/`).
//!
//! Both primitives run under the stream's metadata write lock: they close the parent shard(s) (fixing
//! their ending sequence number and recording their children), append the children with the next shard
//! indices, and the caller then republishes the write routes with
//! [`StreamMeta::publish_routes`]. A writer that
//! routed a record to a parent that has just closed notices it under the parent's lock and routes again.

use std::sync::Arc;

use crate::error::KinesisError;
use crate::shapes::{StreamMode, Timestamp};
use crate::state::{Inner, ShardState, StreamMeta, StreamState};

fn next_index(meta: &StreamMeta) -> u32 {
    u32::try_from(meta.shards.len()).unwrap_or(u32::MAX)
}

/// Splits open `parent` at `at` (`parent.start_key < at <= parent.end_key`) into two children.
pub(crate) fn split(
    stream: &StreamState,
    meta: &mut StreamMeta,
    parent: &Arc<ShardState>,
    at: u128,
    now_ms: i64,
) -> (Arc<ShardState>, Arc<ShardState>) {
    let created = Timestamp::from_millis(now_ms);
    let first = next_index(meta);
    let low = Arc::new(ShardState::new(
        stream.epoch,
        first,
        Some(parent.id.clone()),
        None,
        (parent.start_key, at - 1),
        created,
    ));
    let high = Arc::new(ShardState::new(
        stream.epoch,
        first.saturating_add(1),
        Some(parent.id.clone()),
        None,
        (at, parent.end_key),
        created,
    ));
    parent.close(now_ms, vec![low.as_child(), high.as_child()]);
    meta.shards.push(low.clone());
    meta.shards.push(high.clone());
    (low, high)
}

/// Merges open, adjacent `a` and `b` into one child (`a` becomes ParentShardId).
pub(crate) fn merge(
    stream: &StreamState,
    meta: &mut StreamMeta,
    a: &Arc<ShardState>,
    b: &Arc<ShardState>,
    now_ms: i64,
) -> Arc<ShardState> {
    let child = Arc::new(ShardState::new(
        stream.epoch,
        next_index(meta),
        Some(a.id.clone()),
        Some(b.id.clone()),
        (a.start_key.min(b.start_key), a.end_key.max(b.end_key)),
        Timestamp::from_millis(now_ms),
    ));
    a.close(now_ms, vec![child.as_child()]);
    b.close(now_ms, vec![child.as_child()]);
    meta.shards.push(child.clone());
    child
}

/// `ValidationException` for ON_DEMAND streams, which do not support manual resharding.
pub(crate) fn require_provisioned(inner: &Inner, stream: &StreamState, op: &str) -> Result<(), KinesisError> {
    if stream.meta.read().mode == StreamMode::OnDemand {
        return Err(KinesisError::validation(format!(
            "{op} is not supported for stream {} under account {} because it is in ON_DEMAND mode.",
            stream.name, inner.config.account_id
        )));
    }
    Ok(())
}

/// `LimitExceededException` when `additional` more open shards would exceed the account limit.
pub(crate) fn check_shard_limit(inner: &Inner, additional: u64) -> Result<(), KinesisError> {
    let open = inner.open_shard_count();
    if open + additional > u64::from(inner.config.shard_limit) {
        return Err(KinesisError::limit(format!(
            "This request would exceed the shard limit for the account {} in {}. Current shard count for \
             the account: {open}. Limit: {}. Number of additional shards that would have resulted from \
             this request: {additional}.",
            inner.config.account_id, inner.config.region, inner.config.shard_limit
        )));
    }
    Ok(())
}

/// `ResourceInUseException` for a shard that has already been split or merged.
pub(crate) fn not_open(inner: &Inner, stream: &StreamState, shard_id: &str) -> KinesisError {
    KinesisError::in_use(format!(
        "Shard {shard_id} in stream {} under account {} has already been merged or split, and thus is not \
         eligible for merging or splitting.",
        stream.name, inner.config.account_id
    ))
}
