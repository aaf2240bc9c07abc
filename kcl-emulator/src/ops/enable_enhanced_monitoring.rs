//! EnableEnhancedMonitoring: enable shard-level metrics (`ALL` stands for all seven); answers the metrics
//! enabled before and after. The stream goes UPDATING for the configured delay. Only state: the emulator
//! publishes no CloudWatch metrics, but DescribeStream and DescribeStreamSummary report the metrics.
//!
//! Errors: `ValidationException` (1..=7 metric names of the API's set), `ResourceNotFoundException`,
//! `ResourceInUseException` (not ACTIVE).

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::lookup;
use crate::settings::requested_metrics;
pub(crate) use crate::shapes::EnhancedMonitoringOutput;
use crate::shapes::StreamStatus;
use crate::state::Inner;

/// EnableEnhancedMonitoring request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EnableEnhancedMonitoringInput {
    /// Stream name (or give `stream_arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// 1..=7 of `IncomingBytes`, `IncomingRecords`, `OutgoingBytes`, `OutgoingRecords`,
    /// `WriteProvisionedThroughputExceeded`, `ReadProvisionedThroughputExceeded`,
    /// `IteratorAgeMilliseconds`, `ALL`.
    pub shard_level_metrics: Vec<String>,
    /// Stream ARN (or give `stream_name`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
    /// The stream's id, if given it must match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_id: Option<String>,
}

crate::dispatch::named_stream!(EnableEnhancedMonitoringInput);

pub(crate) async fn execute(
    inner: &Inner,
    input: EnableEnhancedMonitoringInput,
) -> Result<EnhancedMonitoringOutput, KinesisError> {
    let metrics = requested_metrics(&input.shard_level_metrics)?;
    let stream = lookup::resolve_with_id(
        inner,
        input.stream_name.as_deref(),
        input.stream_arn.as_deref(),
        input.stream_id.as_deref(),
    )?;
    lookup::require_active(inner, &stream)?;
    let mut meta = stream.meta.write();
    let current: Vec<String> = meta.settings.metrics.iter().cloned().collect();
    meta.settings
        .metrics
        .extend(metrics.into_iter().map(str::to_owned));
    let desired: Vec<String> = meta.settings.metrics.iter().cloned().collect();
    stream.begin_transition(&mut meta, StreamStatus::Updating, inner.config.updating_delay);
    Ok(EnhancedMonitoringOutput {
        stream_name: Some(stream.name.clone()),
        current_shard_level_metrics: Some(current),
        desired_shard_level_metrics: Some(desired),
        stream_arn: Some(stream.arn.clone()),
    })
}
