//! UpdateShardCount (UNIFORM_SCALING): reshard to `TargetShardCount` open shards of even hash ranges.
//!
//! Like AWS, the new layout is reached through splits and merges, so every new shard has at most two
//! parents and the lineage stays readable in order: first each target boundary that falls inside an
//! open shard splits it, then the shards inside each target range are merged pairwise, left to right.
//! Intermediate shards of that plan close at once, empty.
//!
//! Errors: `ValidationException` (target outside 1..=10000, ON_DEMAND stream), `LimitExceededException`
//! (more than double or less than half the open shards, account shard limit),
//! `ResourceNotFoundException`, `ResourceInUseException` (stream not ACTIVE).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::hashkey;
use crate::lookup;
use crate::reshard;
use crate::shapes::{ScalingType, StreamStatus};
use crate::state::{Inner, ShardState};
use crate::validate;

/// UpdateShardCount request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpdateShardCountInput {
    /// Stream name (or give `stream_arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// Stream ARN (or give `stream_name`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
    /// New open-shard count, within [half, double] of the current one.
    pub target_shard_count: i32,
    /// Only UNIFORM_SCALING exists.
    pub scaling_type: ScalingType,
}

/// UpdateShardCount response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateShardCountOutput {
    /// Stream name.
    pub stream_name: String,
    /// Open shards before the update.
    pub current_shard_count: i32,
    /// Open shards after the update.
    pub target_shard_count: i32,
    /// Stream ARN.
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
}

crate::dispatch::named_stream!(UpdateShardCountInput);

pub(crate) async fn execute(
    inner: &Inner,
    input: UpdateShardCountInput,
) -> Result<UpdateShardCountOutput, KinesisError> {
    let target = validate::int_in(Some(input.target_shard_count), "targetShardCount", 1, 10_000, 1)?;
    let stream = lookup::resolve(inner, input.stream_name.as_deref(), input.stream_arn.as_deref())?;
    reshard::require_provisioned(inner, &stream, "UpdateShardCount")?;
    lookup::require_active(inner, &stream)?;
    let current = stream.meta.read().routes.len();
    let target_n = usize::try_from(target).unwrap_or(1);
    if target_n > current.saturating_mul(2) {
        return Err(KinesisError::limit(format!(
            "UpdateShardCount cannot scale up over double the current open shard count ({current}) for \
             stream {} under account {}.",
            stream.name, inner.config.account_id
        )));
    }
    if target_n < current.div_ceil(2) {
        return Err(KinesisError::limit(format!(
            "UpdateShardCount cannot scale down below half the current open shard count ({current}) for \
             stream {} under account {}.",
            stream.name, inner.config.account_id
        )));
    }
    if target_n > current {
        reshard::check_shard_limit(inner, (target_n - current) as u64)?;
    }
    let now_ms = inner.now_millis();
    let mut meta = stream.meta.write();
    if meta.status != StreamStatus::Active {
        drop(meta);
        lookup::require_active(inner, &stream)?;
        return Err(KinesisError::in_use("The stream is being updated."));
    }
    let mut open: Vec<Arc<ShardState>> = meta.routes.to_vec();
    let current = open.len();
    let ranges = hashkey::even_ranges(u32::try_from(target_n).unwrap_or(1));
    let aligned = open.len() == ranges.len()
        && open
            .iter()
            .zip(&ranges)
            .all(|(s, r)| (s.start_key, s.end_key) == *r);
    if !aligned {
        // Phase 1: split every shard that a target boundary falls strictly inside.
        for &(start, _) in ranges.iter().skip(1) {
            let pos = open
                .iter()
                .position(|s| s.start_key < start && start <= s.end_key);
            if let Some(pos) = pos {
                let parent = open.remove(pos);
                let (low, high) = reshard::split(&stream, &mut meta, &parent, start, now_ms);
                open.insert(pos, high);
                open.insert(pos, low);
            }
        }
        // Phase 2: merge the shards inside each target range, left to right.
        let mut merged = Vec::with_capacity(ranges.len());
        let mut iter = open.into_iter().peekable();
        for &(_, end) in &ranges {
            let Some(mut acc) = iter.next() else { break };
            while acc.end_key < end {
                let Some(next) = iter.next() else { break };
                acc = reshard::merge(&stream, &mut meta, &acc, &next, now_ms);
            }
            merged.push(acc);
        }
        meta.publish_routes();
        stream.begin_transition(&mut meta, StreamStatus::Updating, inner.config.updating_delay);
    }
    Ok(UpdateShardCountOutput {
        stream_name: stream.name.clone(),
        current_shard_count: i32::try_from(current).unwrap_or(i32::MAX),
        target_shard_count: target,
        stream_arn: stream.arn.clone(),
    })
}
