//! DescribeLimits: the account's shard limit and open shards, its ON_DEMAND stream limit and count, and
//! its channel limit and count, from the emulator's configuration and state.
//!
//! Errors: none besides injected faults (AWS: `LimitExceededException` past 1 call per second).

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::shapes::StreamMode;
use crate::state::Inner;

/// DescribeLimits request (empty).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DescribeLimitsInput {}

/// DescribeLimits response.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeLimitsOutput {
    /// The account's open-shard limit.
    pub shard_limit: i32,
    /// Open shards across all streams.
    pub open_shard_count: i32,
    /// ON_DEMAND streams.
    pub on_demand_stream_count: i32,
    /// The account's ON_DEMAND stream limit.
    pub on_demand_stream_count_limit: i32,
    /// Channels.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub channel_count: Option<i32>,
    /// The account's channel limit.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub channel_count_limit: Option<i32>,
}

impl crate::dispatch::Scoped for DescribeLimitsInput {
    fn stream_hint(&self, _inner: &Inner) -> Option<String> {
        None
    }
}

fn count(n: impl TryInto<i32>) -> i32 {
    n.try_into().unwrap_or(i32::MAX)
}

pub(crate) async fn execute(
    inner: &Inner,
    _input: DescribeLimitsInput,
) -> Result<DescribeLimitsOutput, KinesisError> {
    let streams = inner.all_streams();
    let on_demand = streams
        .iter()
        .filter(|s| s.meta.read().mode == StreamMode::OnDemand)
        .count();
    crate::channel::settle_all(inner);
    let channels = inner.channels.read().len();
    Ok(DescribeLimitsOutput {
        shard_limit: count(inner.config.shard_limit),
        open_shard_count: count(inner.open_shard_count()),
        on_demand_stream_count: count(on_demand),
        on_demand_stream_count_limit: count(inner.config.on_demand_stream_limit),
        channel_count: Some(count(channels)),
        channel_count_limit: Some(count(inner.config.channel_limit)),
    })
}
