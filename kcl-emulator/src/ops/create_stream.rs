//! CreateStream: a PROVISIONED stream with `ShardCount` evenly split shards, or an ON_DEMAND stream.
//!
//! Errors: `ValidationException` (name, shard count), `ResourceInUseException` (name taken),
//! `LimitExceededException` (account shard limit), `InvalidArgumentException` (ShardCount missing in
//! PROVISIONED mode, too many tags).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::settings;
use crate::shapes::{RecordDistributionStrategy, StreamMode, StreamModeDetails};
use crate::state::Inner;
use crate::tags;
use crate::validate;

/// CreateStream request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateStreamInput {
    /// Name of the new stream (1-128 of `[a-zA-Z0-9_.-]`).
    pub stream_name: String,
    /// Number of shards (PROVISIONED mode; 1 or more).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard_count: Option<i32>,
    /// Capacity mode (default PROVISIONED).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_mode_details: Option<StreamModeDetails>,
    /// Tags to attach.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    /// Warm throughput of an ON_DEMAND stream, MiB/s (needs the account's billing commitment).
    #[serde(rename = "WarmThroughputMiBps", skip_serializing_if = "Option::is_none")]
    pub warm_throughput_mibps: Option<i32>,
    /// Largest record, 1024..=10240 KiB (default 1024).
    #[serde(rename = "MaxRecordSizeInKiB", skip_serializing_if = "Option::is_none")]
    pub max_record_size_in_kib: Option<i32>,
    /// How records are spread over shards (default USER_PARTITION_KEY).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_distribution_strategy: Option<RecordDistributionStrategy>,
}

/// CreateStream response (empty).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CreateStreamOutput {}

impl crate::dispatch::Scoped for CreateStreamInput {
    fn stream_hint(&self, _inner: &Inner) -> Option<String> {
        Some(self.stream_name.clone())
    }
}

pub(crate) async fn execute(
    inner: &Inner,
    input: CreateStreamInput,
) -> Result<CreateStreamOutput, KinesisError> {
    validate::name(&input.stream_name, "streamName", 128)?;
    let mode = input
        .stream_mode_details
        .map(|d| d.stream_mode)
        .unwrap_or_default();
    let shard_count = match (mode, input.shard_count) {
        (StreamMode::Provisioned, None) => {
            return Err(KinesisError::invalid(
                "ShardCount is required for streams in PROVISIONED mode.",
            ))
        }
        (_, Some(n)) => validate::int_in(Some(n), "shardCount", 1, 100_000, 1)?,
        (StreamMode::OnDemand, None) => i32::try_from(inner.config.on_demand_shard_count).unwrap_or(4),
    };
    let shard_count = u32::try_from(shard_count).unwrap_or(1);
    let max_record_kib = match input.max_record_size_in_kib {
        None => None,
        Some(kib) => Some(validate::int_in(
            Some(kib),
            "maxRecordSizeInKiB",
            settings::DEFAULT_MAX_RECORD_KIB as i32,
            settings::LARGEST_MAX_RECORD_KIB as i32,
            settings::DEFAULT_MAX_RECORD_KIB as i32,
        )?),
    };
    let warm = match input.warm_throughput_mibps {
        None => None,
        Some(mibps) => {
            let mibps = validate::int_in(Some(mibps), "warmThroughputMiBps", 0, 10 * 1024, 0)?;
            if mode != StreamMode::OnDemand {
                return Err(KinesisError::invalid(
                    "WarmThroughputMiBps applies to ON_DEMAND streams only.",
                ));
            }
            if !inner.account.lock().in_force(inner.clock.timestamp()) {
                return Err(KinesisError::invalid(
                    "Warm throughput requires the minimum throughput billing commitment to be enabled.",
                ));
            }
            Some(mibps)
        }
    };
    if mode == StreamMode::OnDemand {
        settings::check_on_demand_limit(inner)?;
    }
    let tags = input.tags.unwrap_or_default();
    tags::validate(&tags)?;
    if tags.len() > 50 {
        return Err(KinesisError::invalid(
            "Failed to create stream: a stream cannot have more than 50 tags.",
        ));
    }

    let open = inner.open_shard_count();
    if open + u64::from(shard_count) > u64::from(inner.config.shard_limit) {
        return Err(KinesisError::limit(format!(
            "This request would exceed the shard limit for the account {} in {}. Current shard count for \
             the account: {open}. Limit: {}. Number of additional shards that would have resulted from \
             this request: {shard_count}.",
            inner.config.account_id, inner.config.region, inner.config.shard_limit
        )));
    }

    // Settle any stream of that name that has finished deleting, then insert under the write lock.
    let _ = inner.stream(&input.stream_name);
    let stream = Arc::new(inner.new_stream(input.stream_name.clone(), mode, shard_count, tags));
    {
        let mut meta = stream.meta.write();
        let s = &mut meta.settings;
        s.max_record_kib = max_record_kib.and_then(|k| u32::try_from(k).ok());
        s.warm_target_mibps = warm.and_then(|w| u32::try_from(w).ok());
        s.distribution = input.record_distribution_strategy.unwrap_or_default();
    }
    let mut streams = inner.streams.write();
    if streams.by_name.contains_key(&input.stream_name) {
        return Err(KinesisError::in_use(format!(
            "Stream {} under account {} already exists.",
            input.stream_name, inner.config.account_id
        )));
    }
    streams.by_epoch.insert(stream.epoch, stream.clone());
    streams.by_name.insert(input.stream_name, stream);
    Ok(CreateStreamOutput {})
}
