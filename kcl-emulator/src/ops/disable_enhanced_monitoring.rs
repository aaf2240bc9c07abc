//! DisableEnhancedMonitoring: disable shard-level metrics (`ALL` stands for all seven); answers the
//! metrics enabled before and after. The stream goes UPDATING for the configured delay.
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

/// DisableEnhancedMonitoring request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DisableEnhancedMonitoringInput {
    /// Stream name (or give `stream_arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// 1..=7 metric names, or `ALL`.
    pub shard_level_metrics: Vec<String>,
    /// Stream ARN (or give `stream_name`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
    /// The stream's id, if given it must match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_id: Option<String>,
}

crate::dispatch::named_stream!(DisableEnhancedMonitoringInput);

pub(crate) async fn execute(
    inner: &Inner,
    input: DisableEnhancedMonitoringInput,
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
    for m in metrics {
        meta.settings.metrics.remove(m);
    }
    let desired: Vec<String> = meta.settings.metrics.iter().cloned().collect();
    stream.begin_transition(&mut meta, StreamStatus::Updating, inner.config.updating_delay);
    Ok(EnhancedMonitoringOutput {
        stream_name: Some(stream.name.clone()),
        current_shard_level_metrics: Some(current),
        desired_shard_level_metrics: Some(desired),
        stream_arn: Some(stream.arn.clone()),
    })
}
