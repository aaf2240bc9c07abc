//! DescribeStreamSummary: the stream without its shards, with open-shard and consumer counts.
//!
//! Errors: `ResourceNotFoundException`.

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::lookup;
use crate::shapes::{StreamDescriptionSummary, StreamModeDetails};
use crate::state::Inner;

/// DescribeStreamSummary request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeStreamSummaryInput {
    /// Stream name (or give `stream_arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// Stream ARN (or give `stream_name`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
    /// The stream's id (or give a name or ARN; with them, it must match).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_id: Option<String>,
}

/// DescribeStreamSummary response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeStreamSummaryOutput {
    /// The stream.
    pub stream_description_summary: StreamDescriptionSummary,
}

crate::dispatch::named_stream!(DescribeStreamSummaryInput);

pub(crate) async fn execute(
    inner: &Inner,
    input: DescribeStreamSummaryInput,
) -> Result<DescribeStreamSummaryOutput, KinesisError> {
    let stream = lookup::resolve_with_id(
        inner,
        input.stream_name.as_deref(),
        input.stream_arn.as_deref(),
        input.stream_id.as_deref(),
    )?;
    let channel_count = crate::channel::count_for_stream(inner, &stream.arn);
    let queue_count = crate::queue::on_stream(inner, stream.epoch).len();
    let meta = stream.meta.read();
    Ok(DescribeStreamSummaryOutput {
        stream_description_summary: StreamDescriptionSummary {
            stream_name: stream.name.clone(),
            stream_arn: stream.arn.clone(),
            stream_status: meta.status,
            stream_mode_details: Some(StreamModeDetails {
                stream_mode: meta.mode,
            }),
            retention_period_hours: i32::try_from(meta.retention_hours).unwrap_or(i32::MAX),
            stream_creation_timestamp: stream.created,
            enhanced_monitoring: vec![crate::shapes::EnhancedMetrics {
                shard_level_metrics: meta.settings.metrics.iter().cloned().collect(),
            }],
            encryption_type: Some(meta.settings.encryption),
            key_id: meta.settings.key_id.clone(),
            open_shard_count: i32::try_from(meta.routes.len()).unwrap_or(i32::MAX),
            consumer_count: Some(i32::try_from(meta.consumers.len()).unwrap_or(i32::MAX)),
            stream_id: Some(crate::settings::stream_id(&stream)),
            warm_throughput: crate::settings::warm_throughput(&meta),
            max_record_size_in_kib: Some(
                i32::try_from(
                    meta.settings
                        .max_record_kib
                        .unwrap_or(crate::settings::DEFAULT_MAX_RECORD_KIB),
                )
                .unwrap_or(i32::MAX),
            ),
            channel_count: Some(i32::try_from(channel_count).unwrap_or(i32::MAX)),
            queue_count: Some(i32::try_from(queue_count).unwrap_or(i32::MAX)),
            record_distribution_strategy: Some(meta.settings.distribution),
        },
    })
}
