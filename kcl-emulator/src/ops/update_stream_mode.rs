//! UpdateStreamMode: switch a stream between PROVISIONED and ON_DEMAND (by StreamARN, as AWS requires).
//!
//! Errors: `ValidationException` (ARN, warm throughput), `ResourceNotFoundException`,
//! `ResourceInUseException` (not ACTIVE), `InvalidArgumentException` (already in that mode, warm
//! throughput without ON_DEMAND or the billing commitment), `LimitExceededException` (ON_DEMAND streams).

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::lookup;
use crate::shapes::{StreamModeDetails, StreamStatus};
use crate::state::Inner;

/// UpdateStreamMode request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpdateStreamModeInput {
    /// Stream ARN (required, as in AWS).
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    /// The new capacity mode.
    pub stream_mode_details: StreamModeDetails,
    /// The stream's id, if given it must match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_id: Option<String>,
    /// Warm throughput (MiB/s) when switching to ON_DEMAND (needs the account's billing commitment).
    #[serde(rename = "WarmThroughputMiBps", skip_serializing_if = "Option::is_none")]
    pub warm_throughput_mibps: Option<i32>,
}

/// UpdateStreamMode response (empty).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UpdateStreamModeOutput {}

impl crate::dispatch::Scoped for UpdateStreamModeInput {
    fn stream_hint(&self, inner: &Inner) -> Option<String> {
        lookup::hint(inner, None, Some(&self.stream_arn))
    }
}

pub(crate) async fn execute(
    inner: &Inner,
    input: UpdateStreamModeInput,
) -> Result<UpdateStreamModeOutput, KinesisError> {
    let stream = lookup::resolve_with_id(inner, None, Some(&input.stream_arn), input.stream_id.as_deref())?;
    let to_on_demand = input.stream_mode_details.stream_mode == crate::shapes::StreamMode::OnDemand;
    if let Some(mibps) = input.warm_throughput_mibps {
        crate::validate::int_in(Some(mibps), "warmThroughputMiBps", 0, 10 * 1024, 0)?;
        if !to_on_demand {
            return Err(KinesisError::invalid(
                "WarmThroughputMiBps applies to ON_DEMAND streams only.",
            ));
        }
        if !inner.account.lock().in_force(inner.clock.timestamp()) {
            return Err(KinesisError::invalid(
                "Warm throughput requires the minimum throughput billing commitment to be enabled.",
            ));
        }
    }
    lookup::require_active(inner, &stream)?;
    let mut meta = stream.meta.write();
    if meta.mode == input.stream_mode_details.stream_mode {
        return Err(KinesisError::invalid(format!(
            "Stream {} under account {} is already in the requested mode.",
            stream.name, inner.config.account_id
        )));
    }
    if to_on_demand {
        drop(meta);
        crate::settings::check_on_demand_limit(inner)?;
        meta = stream.meta.write();
    }
    meta.mode = input.stream_mode_details.stream_mode;
    // Warm throughput belongs to ON_DEMAND streams: set with the switch, dropped when leaving it.
    meta.settings.warm_target_mibps = input.warm_throughput_mibps.and_then(|w| u32::try_from(w).ok());
    meta.settings.warm_change = None;
    stream.begin_transition(&mut meta, StreamStatus::Updating, inner.config.updating_delay);
    Ok(UpdateStreamModeOutput {})
}
