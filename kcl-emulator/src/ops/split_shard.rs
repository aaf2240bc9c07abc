//! SplitShard: close an open shard and open two children at `NewStartingHashKey`.
//!
//! Errors: `ValidationException` (shard id or hash-key format, ON_DEMAND stream),
//! `InvalidArgumentException` (hash key not strictly inside the shard's range),
//! `ResourceNotFoundException`, `ResourceInUseException` (stream not ACTIVE, shard already closed),
//! `LimitExceededException` (account shard limit).

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::hashkey;
use crate::lookup;
use crate::reshard;
use crate::shapes::StreamStatus;
use crate::state::Inner;
use crate::validate;

/// SplitShard request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SplitShardInput {
    /// Stream name (or give `stream_arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// Stream ARN (or give `stream_name`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
    /// The open shard to split.
    pub shard_to_split: String,
    /// First hash key of the second child (decimal).
    pub new_starting_hash_key: String,
}

/// SplitShard response (empty).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SplitShardOutput {}

crate::dispatch::named_stream!(SplitShardInput);

pub(crate) async fn execute(inner: &Inner, input: SplitShardInput) -> Result<SplitShardOutput, KinesisError> {
    validate::shard_id(&input.shard_to_split, "shardToSplit")?;
    if !hashkey::is_well_formed(&input.new_starting_hash_key) {
        return Err(validate::error(
            &input.new_starting_hash_key,
            "newStartingHashKey",
            "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})",
        ));
    }
    let stream = lookup::resolve(inner, input.stream_name.as_deref(), input.stream_arn.as_deref())?;
    reshard::require_provisioned(inner, &stream, "SplitShard")?;
    lookup::require_active(inner, &stream)?;
    let now_ms = inner.now_millis();
    let shard = stream
        .shard(&input.shard_to_split, now_ms)
        .ok_or_else(|| inner.shard_not_found(&stream, &input.shard_to_split))?;
    if shard.closed_at().is_some() {
        return Err(reshard::not_open(inner, &stream, &shard.id));
    }
    let at = hashkey::parse(&input.new_starting_hash_key);
    let valid = at.filter(|&k| k > shard.start_key.saturating_add(1) && k < shard.end_key);
    let Some(at) = valid else {
        return Err(KinesisError::invalid(format!(
            "NewStartingHashKey {} used in SplitShard() on shard {} in stream {} under account {} is not \
             both greater than one plus the shard's StartingHashKey {} and less than the shard's \
             EndingHashKey {}.",
            input.new_starting_hash_key,
            shard.id,
            stream.name,
            inner.config.account_id,
            shard.start_key,
            shard.end_key
        )));
    };
    reshard::check_shard_limit(inner, 1)?;
    let mut meta = stream.meta.write();
    // Re-check under the write lock: a concurrent reshard may have won.
    if meta.status != StreamStatus::Active {
        drop(meta);
        return Err(lookup::require_active(inner, &stream)
            .err()
            .unwrap_or_else(|| reshard::not_open(inner, &stream, &shard.id)));
    }
    if shard.closed_at().is_some() {
        return Err(reshard::not_open(inner, &stream, &shard.id));
    }
    reshard::split(&stream, &mut meta, &shard, at, now_ms);
    meta.publish_routes();
    stream.begin_transition(&mut meta, StreamStatus::Updating, inner.config.updating_delay);
    Ok(SplitShardOutput {})
}
