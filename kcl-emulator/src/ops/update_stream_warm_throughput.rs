//! UpdateStreamWarmThroughput: the warm throughput (MiB/s) of an ON_DEMAND stream, in an account with the
//! minimum throughput billing commitment in force (UpdateAccountSettings). The stream goes UPDATING for
//! the configured delay; until then the current warm throughput is the previous one, afterwards the
//! target (at least the open shards' 1 MiB/s each). A lower target releases capacity the same way. Only
//! state: the stream's shards and limits do not change.
//!
//! Errors: `ValidationException` (negative), `LimitExceededException` (over 10 GiB/s),
//! `InvalidArgumentException` (PROVISIONED stream, no commitment in force), `ResourceNotFoundException`,
//! `ResourceInUseException` (not ACTIVE).

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::lookup;
use crate::settings::warm_throughput;
use crate::shapes::{StreamMode, StreamStatus, WarmThroughputObject};
use crate::state::Inner;
use crate::validate;

/// The largest warm throughput of a stream, in MiB/s (10 GiB/s).
const MAX_WARM_MIBPS: i32 = 10 * 1024;

/// UpdateStreamWarmThroughput request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpdateStreamWarmThroughputInput {
    /// Stream ARN (or give `stream_name`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
    /// Stream name (or give `stream_arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// The stream's id, if given it must match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_id: Option<String>,
    /// The target warm throughput, MiB/s.
    #[serde(rename = "WarmThroughputMiBps")]
    pub warm_throughput_mibps: i32,
}

/// UpdateStreamWarmThroughput response.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpdateStreamWarmThroughputOutput {
    /// Stream ARN.
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
    /// Stream name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// Target and current warm throughput.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warm_throughput: Option<WarmThroughputObject>,
}

crate::dispatch::named_stream!(UpdateStreamWarmThroughputInput);

pub(crate) async fn execute(
    inner: &Inner,
    input: UpdateStreamWarmThroughputInput,
) -> Result<UpdateStreamWarmThroughputOutput, KinesisError> {
    let target = validate::int_in(
        Some(input.warm_throughput_mibps),
        "warmThroughputMiBps",
        0,
        i32::MAX,
        0,
    )?;
    if target > MAX_WARM_MIBPS {
        return Err(KinesisError::limit(format!(
            "Warm throughput {target} MiB/s exceeds the limit of {MAX_WARM_MIBPS} MiB/s per stream."
        )));
    }
    let stream = lookup::resolve_with_id(
        inner,
        input.stream_name.as_deref(),
        input.stream_arn.as_deref(),
        input.stream_id.as_deref(),
    )?;
    lookup::require_active(inner, &stream)?;
    if !inner.account.lock().in_force(inner.clock.timestamp()) {
        return Err(KinesisError::invalid(format!(
            "Warm throughput requires the minimum throughput billing commitment to be enabled for account {}.",
            inner.config.account_id
        )));
    }
    let mut meta = stream.meta.write();
    if meta.mode != StreamMode::OnDemand {
        return Err(KinesisError::invalid(format!(
            "Stream {} under account {} is in PROVISIONED mode; warm throughput applies to ON_DEMAND \
             streams only.",
            stream.name, inner.config.account_id
        )));
    }
    let previous = warm_throughput(&meta).and_then(|w| w.current_mibps).unwrap_or(0);
    let until = crate::state::deadline_after(inner.config.updating_delay);
    meta.settings.warm_change = Some((until, previous));
    meta.settings.warm_target_mibps = Some(u32::try_from(target).unwrap_or(0));
    stream.begin_transition(&mut meta, StreamStatus::Updating, inner.config.updating_delay);
    Ok(UpdateStreamWarmThroughputOutput {
        stream_arn: Some(stream.arn.clone()),
        stream_name: Some(stream.name.clone()),
        warm_throughput: warm_throughput(&meta),
    })
}
