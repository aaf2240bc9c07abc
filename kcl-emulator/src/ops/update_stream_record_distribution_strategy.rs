//! UpdateStreamRecordDistributionStrategy: how PutRecord and PutRecords spread records over the open
//! shards. USER_PARTITION_KEY (the default) routes by the MD5 of the partition key or by the explicit hash
//! key; AUTO ignores both and deals records round robin over the open shards, so every shard gets an even
//! share (see `write.rs`). The stream goes UPDATING for the configured delay.
//!
//! Errors: `ValidationException` (ARN), `ResourceNotFoundException`, `ResourceInUseException` (not
//! ACTIVE), `InvalidArgumentException` (already that strategy).

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::lookup;
use crate::shapes::{RecordDistributionStrategy, StreamStatus};
use crate::state::Inner;

/// UpdateStreamRecordDistributionStrategy request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpdateStreamRecordDistributionStrategyInput {
    /// Stream ARN (required).
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    /// The stream's id, if given it must match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_id: Option<String>,
    /// The new strategy.
    pub record_distribution_strategy: RecordDistributionStrategy,
}

/// UpdateStreamRecordDistributionStrategy response (empty).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UpdateStreamRecordDistributionStrategyOutput {}

impl crate::dispatch::Scoped for UpdateStreamRecordDistributionStrategyInput {
    fn stream_hint(&self, inner: &Inner) -> Option<String> {
        lookup::hint(inner, None, Some(&self.stream_arn))
    }
}

pub(crate) async fn execute(
    inner: &Inner,
    input: UpdateStreamRecordDistributionStrategyInput,
) -> Result<UpdateStreamRecordDistributionStrategyOutput, KinesisError> {
    let stream = lookup::resolve_with_id(inner, None, Some(&input.stream_arn), input.stream_id.as_deref())?;
    lookup::require_active(inner, &stream)?;
    let mut meta = stream.meta.write();
    if meta.mode != crate::shapes::StreamMode::OnDemand
        && input.record_distribution_strategy == crate::shapes::RecordDistributionStrategy::Auto
    {
        // The setting is for on-demand streams; AWS refuses AUTO on a provisioned one.
        return Err(KinesisError::invalid(format!(
            "Stream {} under account {} is in PROVISIONED mode; the AUTO record distribution strategy is \
             supported only on ON_DEMAND streams.",
            stream.name, inner.config.account_id
        )));
    }
    if meta.settings.distribution == input.record_distribution_strategy {
        return Err(KinesisError::invalid(format!(
            "Stream {} under account {} already uses the requested record distribution strategy.",
            stream.name, inner.config.account_id
        )));
    }
    meta.settings.distribution = input.record_distribution_strategy;
    stream.begin_transition(&mut meta, StreamStatus::Updating, inner.config.updating_delay);
    Ok(UpdateStreamRecordDistributionStrategyOutput {})
}
