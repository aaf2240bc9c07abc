//! DecreaseStreamRetentionPeriod: lower retention (24..=8760 hours); older records are trimmed at once.
//!
//! Errors: `ResourceNotFoundException`, `ResourceInUseException` (not ACTIVE), `InvalidArgumentException`
//! (outside 24..=8760 or above the current retention), `ValidationException` (below 1).

use crate::error::KinesisError;
use crate::lookup;
use crate::retention;
use crate::state::Inner;
use crate::types::{DecreaseStreamRetentionPeriodInput, DecreaseStreamRetentionPeriodOutput};

crate::dispatch::named_stream!(DecreaseStreamRetentionPeriodInput);

pub(crate) async fn execute(
    inner: &Inner,
    input: DecreaseStreamRetentionPeriodInput,
) -> Result<DecreaseStreamRetentionPeriodOutput, KinesisError> {
    let stream = lookup::resolve(inner, input.stream_name.as_deref(), input.stream_arn.as_deref())?;
    retention::change(inner, &stream, input.retention_period_hours, false)?;
    Ok(DecreaseStreamRetentionPeriodOutput {})
}
