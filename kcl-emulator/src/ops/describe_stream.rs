//! DescribeStream: the stream and a page of its shards (`Limit`, `ExclusiveStartShardId`).
//!
//! Errors: `ResourceNotFoundException`, `ValidationException` (limit, shard id).

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::lookup;
use crate::shapes::{StreamDescription, StreamModeDetails};
use crate::state::{Inner, StreamState};
use crate::validate;

/// DescribeStream request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeStreamInput {
    /// Stream name (or give `stream_arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// Stream ARN (or give `stream_name`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
    /// Maximum shards returned, 1..=10000 (default 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i32>,
    /// List shards after this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclusive_start_shard_id: Option<String>,
}

/// DescribeStream response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeStreamOutput {
    /// The stream.
    pub stream_description: StreamDescription,
}

crate::dispatch::named_stream!(DescribeStreamInput);

pub(crate) async fn execute(
    inner: &Inner,
    input: DescribeStreamInput,
) -> Result<DescribeStreamOutput, KinesisError> {
    let limit = validate::int_in(input.limit, "limit", 1, 10_000, 100)?;
    if let Some(id) = &input.exclusive_start_shard_id {
        validate::shard_id(id, "exclusiveStartShardId")?;
    }
    let stream = lookup::resolve(inner, input.stream_name.as_deref(), input.stream_arn.as_deref())?;
    let now = inner.now_millis();
    let after = input.exclusive_start_shard_id.as_deref().map(|id| id.to_owned());
    let listed = stream.listed_shards(now);
    let mut page = listed
        .iter()
        .filter(|s| after.as_deref().is_none_or(|a| s.id.as_str() > a))
        .map(|s| s.describe());
    let shards: Vec<_> = page
        .by_ref()
        .take(usize::try_from(limit).unwrap_or(100))
        .collect();
    let has_more_shards = page.next().is_some();
    Ok(DescribeStreamOutput {
        stream_description: description(&stream, shards, has_more_shards),
    })
}

fn description(stream: &StreamState, shards: Vec<crate::shapes::Shard>, has_more: bool) -> StreamDescription {
    let meta = stream.meta.read();
    StreamDescription {
        stream_name: stream.name.clone(),
        stream_arn: stream.arn.clone(),
        stream_status: meta.status,
        stream_mode_details: Some(StreamModeDetails {
            stream_mode: meta.mode,
        }),
        shards,
        has_more_shards: has_more,
        retention_period_hours: i32::try_from(meta.retention_hours).unwrap_or(i32::MAX),
        stream_creation_timestamp: stream.created,
        enhanced_monitoring: vec![crate::shapes::EnhancedMetrics {
            shard_level_metrics: meta.settings.metrics.iter().cloned().collect(),
        }],
        encryption_type: Some(meta.settings.encryption),
        key_id: meta.settings.key_id.clone(),
    }
}
