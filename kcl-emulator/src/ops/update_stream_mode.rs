//! UpdateStreamMode: switch a stream between PROVISIONED and ON_DEMAND (by StreamARN, as AWS requires).
//!
//! Errors: `ValidationException` (ARN), `ResourceNotFoundException`, `ResourceInUseException` (not
//! ACTIVE), `InvalidArgumentException` (already in that mode).

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
    let stream = lookup::resolve(inner, None, Some(&input.stream_arn))?;
    lookup::require_active(inner, &stream)?;
    let mut meta = stream.meta.write();
    if meta.mode == input.stream_mode_details.stream_mode {
        return Err(KinesisError::invalid(format!(
            "Stream {} under account {} is already in the requested mode.",
            stream.name, inner.config.account_id
        )));
    }
    if input.stream_mode_details.stream_mode == crate::shapes::StreamMode::OnDemand {
        drop(meta);
        crate::settings::check_on_demand_limit(inner)?;
        meta = stream.meta.write();
    }
    meta.mode = input.stream_mode_details.stream_mode;
    stream.begin_transition(&mut meta, StreamStatus::Updating, inner.config.updating_delay);
    Ok(UpdateStreamModeOutput {})
}
