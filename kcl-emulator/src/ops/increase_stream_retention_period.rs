//! IncreaseStreamRetentionPeriod: raise retention (24..=8760 hours). Records already trimmed stay gone.
//!
//! Errors: `ResourceNotFoundException`, `ResourceInUseException` (not ACTIVE), `InvalidArgumentException`
//! (outside 24..=8760 or below the current retention), `ValidationException` (below 1).

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::lookup;
use crate::retention;
use crate::state::Inner;

/// IncreaseStreamRetentionPeriod request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct IncreaseStreamRetentionPeriodInput {
    /// Stream name (or give `stream_arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// Stream ARN (or give `stream_name`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
    /// New retention, 24..=8760 hours, not below the current one.
    pub retention_period_hours: i32,
}

/// IncreaseStreamRetentionPeriod response (empty).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IncreaseStreamRetentionPeriodOutput {}

crate::dispatch::named_stream!(IncreaseStreamRetentionPeriodInput);

pub(crate) async fn execute(
    inner: &Inner,
    input: IncreaseStreamRetentionPeriodInput,
) -> Result<IncreaseStreamRetentionPeriodOutput, KinesisError> {
    let stream = lookup::resolve(inner, input.stream_name.as_deref(), input.stream_arn.as_deref())?;
    retention::change(inner, &stream, input.retention_period_hours, true)?;
    Ok(IncreaseStreamRetentionPeriodOutput {})
}
