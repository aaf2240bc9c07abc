//! UpdateAccountSettings: enable or disable the account's minimum throughput billing commitment.
//!
//! Enabling starts a commitment (StartedAt now, EarliestAllowedEndAt 24 hours later). Disabling before
//! the earliest allowed end keeps it in force until then (ENABLED_UNTIL_EARLIEST_ALLOWED_END, EndedAt the
//! earliest allowed end); after it, it ends at once (DISABLED, EndedAt now). Enabling a commitment that
//! is disabled but still in force cancels its end.
//!
//! Errors: `InvalidArgumentException` (enabling an enabled commitment, disabling a disabled one).

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::settings::{AccountSettings, COMMITMENT_MINIMUM};
use crate::shapes::{
    MinimumThroughputBillingCommitmentInput, MinimumThroughputBillingCommitmentInputStatus,
    MinimumThroughputBillingCommitmentOutput, Timestamp,
};
use crate::state::Inner;

/// UpdateAccountSettings request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpdateAccountSettingsInput {
    /// The commitment asked for.
    pub minimum_throughput_billing_commitment: MinimumThroughputBillingCommitmentInput,
}

/// UpdateAccountSettings response.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateAccountSettingsOutput {
    /// The commitment now.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub minimum_throughput_billing_commitment: Option<MinimumThroughputBillingCommitmentOutput>,
}

impl crate::dispatch::Scoped for UpdateAccountSettingsInput {
    fn stream_hint(&self, _inner: &Inner) -> Option<String> {
        None
    }
}

pub(crate) async fn execute(
    inner: &Inner,
    input: UpdateAccountSettingsInput,
) -> Result<UpdateAccountSettingsOutput, KinesisError> {
    let now = inner.clock.timestamp();
    let mut account = inner.account.lock();
    let in_force = account.in_force(now);
    match input.minimum_throughput_billing_commitment.status {
        MinimumThroughputBillingCommitmentInputStatus::Enabled => {
            if in_force && account.ended_at.is_none() {
                return Err(KinesisError::invalid(
                    "The minimum throughput billing commitment is already enabled.",
                ));
            }
            if in_force {
                // Disabled but still in force: enabling again cancels the pending end.
                account.ended_at = None;
                return Ok(UpdateAccountSettingsOutput {
                    minimum_throughput_billing_commitment: Some(account.output(now)),
                });
            }
            let minimum = i64::try_from(COMMITMENT_MINIMUM.as_millis()).unwrap_or(i64::MAX);
            *account = AccountSettings {
                enabled: true,
                started_at: Some(now),
                ended_at: None,
                earliest_allowed_end_at: Some(Timestamp::from_millis(
                    now.as_millis().saturating_add(minimum),
                )),
            };
        }
        MinimumThroughputBillingCommitmentInputStatus::Disabled => {
            if !in_force || account.ended_at.is_some() {
                return Err(KinesisError::invalid(
                    "The minimum throughput billing commitment is not enabled.",
                ));
            }
            let end = account.earliest_allowed_end_at.map_or(now, |e| e.max(now));
            account.ended_at = Some(end);
        }
    }
    Ok(UpdateAccountSettingsOutput {
        minimum_throughput_billing_commitment: Some(account.output(now)),
    })
}
