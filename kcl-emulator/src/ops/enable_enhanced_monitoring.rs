//! EnableEnhancedMonitoring: enable shard-level metrics (`ALL` stands for all seven); answers the metrics
//! enabled before and after. The stream goes UPDATING for the configured delay. Only state: the emulator
//! publishes no CloudWatch metrics, but DescribeStream and DescribeStreamSummary report the metrics.
//!
//! Errors: `ValidationException` (1..=7 metric names of the API's set), `ResourceNotFoundException`,
//! `ResourceInUseException` (not ACTIVE).

use crate::error::KinesisError;
use crate::settings::{change_metrics, EnhancedMonitoringInput};
pub(crate) use crate::shapes::EnhancedMonitoringOutput;
use crate::state::Inner;

/// EnableEnhancedMonitoring request.
pub type EnableEnhancedMonitoringInput = EnhancedMonitoringInput;

pub(crate) async fn execute(
    inner: &Inner,
    input: EnableEnhancedMonitoringInput,
) -> Result<EnhancedMonitoringOutput, KinesisError> {
    change_metrics(inner, input, |enabled, metrics| {
        enabled.extend(metrics.into_iter().map(str::to_owned));
    })
}
