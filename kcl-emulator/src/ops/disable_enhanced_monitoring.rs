//! DisableEnhancedMonitoring: disable shard-level metrics (`ALL` stands for all seven); answers the
//! metrics enabled before and after. The stream goes UPDATING for the configured delay.
//!
//! Errors: `ValidationException` (1..=7 metric names of the API's set), `ResourceNotFoundException`,
//! `ResourceInUseException` (not ACTIVE).

use crate::error::KinesisError;
use crate::settings::{change_metrics, EnhancedMonitoringInput};
pub(crate) use crate::shapes::EnhancedMonitoringOutput;
use crate::state::Inner;

/// DisableEnhancedMonitoring request.
pub type DisableEnhancedMonitoringInput = EnhancedMonitoringInput;

pub(crate) async fn execute(
    inner: &Inner,
    input: DisableEnhancedMonitoringInput,
) -> Result<EnhancedMonitoringOutput, KinesisError> {
    change_metrics(inner, input, |enabled, metrics| {
        for m in metrics {
            enabled.remove(m);
        }
    })
}
