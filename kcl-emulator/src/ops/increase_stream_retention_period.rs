//! IncreaseStreamRetentionPeriod: raise retention (24..=8760 hours). Records already trimmed stay gone.
//!
//! Errors: `ResourceNotFoundException`, `ResourceInUseException` (not ACTIVE), `InvalidArgumentException`
//! (outside 24..=8760 or below the current retention), `ValidationException` (below 1).

use crate::error::KinesisError;
use crate::lookup;
use crate::retention;
use crate::state::Inner;
use crate::types::{IncreaseStreamRetentionPeriodInput, IncreaseStreamRetentionPeriodOutput};

crate::dispatch::named_stream!(IncreaseStreamRetentionPeriodInput);

pub(crate) async fn execute(
    inner: &Inner,
    input: IncreaseStreamRetentionPeriodInput,
) -> Result<IncreaseStreamRetentionPeriodOutput, KinesisError> {
    let stream = lookup::resolve(inner, input.stream_name.as_deref(), input.stream_arn.as_deref())?;
    retention::change(inner, &stream, input.retention_period_hours, true)?;
    Ok(IncreaseStreamRetentionPeriodOutput {})
}
