//! DecreaseStreamRetentionPeriod: lower retention (24..=8760 hours); older records are trimmed at once.
//!
//! Errors: `ResourceNotFoundException`, `ResourceInUseException` (not ACTIVE), `InvalidArgumentException`
//! (outside 24..=8760 or above the current retention), `ValidationException` (below 1).

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::lookup;
use crate::retention;
use crate::state::Inner;

/// DecreaseStreamRetentionPeriod request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DecreaseStreamRetentionPeriodInput {
    /// Stream name (or give `stream_arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// Stream ARN (or give `stream_name`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
    /// New retention, 24..=8760 hours, not above the current one.
    pub retention_period_hours: i32,
}

/// DecreaseStreamRetentionPeriod response (empty).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DecreaseStreamRetentionPeriodOutput {}

crate::dispatch::named_stream!(DecreaseStreamRetentionPeriodInput);

pub(crate) async fn execute(
    inner: &Inner,
    input: DecreaseStreamRetentionPeriodInput,
) -> Result<DecreaseStreamRetentionPeriodOutput, KinesisError> {
    let stream = lookup::resolve(inner, input.stream_name.as_deref(), input.stream_arn.as_deref())?;
    retention::change(inner, &stream, input.retention_period_hours, false)?;
    Ok(DecreaseStreamRetentionPeriodOutput {})
}
