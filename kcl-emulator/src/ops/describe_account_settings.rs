//! DescribeAccountSettings: the account's minimum throughput billing commitment (DISABLED until
//! UpdateAccountSettings enables it).
//!
//! Errors: none besides injected faults.

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::shapes::MinimumThroughputBillingCommitmentOutput;
use crate::state::Inner;

/// DescribeAccountSettings request (empty).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DescribeAccountSettingsInput {}

/// DescribeAccountSettings response.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAccountSettingsOutput {
    /// The commitment.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub minimum_throughput_billing_commitment: Option<MinimumThroughputBillingCommitmentOutput>,
}

impl crate::dispatch::Scoped for DescribeAccountSettingsInput {
    fn stream_hint(&self, _inner: &Inner) -> Option<String> {
        None
    }
}

pub(crate) async fn execute(
    inner: &Inner,
    _input: DescribeAccountSettingsInput,
) -> Result<DescribeAccountSettingsOutput, KinesisError> {
    let now = inner.clock.timestamp();
    Ok(DescribeAccountSettingsOutput {
        minimum_throughput_billing_commitment: Some(inner.account.lock().output(now)),
    })
}
