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
    let stream = lookup::resolve(inner, input.stream_name.as_deref(), input.stream_arn.as_deref())?;
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
            enhanced_monitoring: vec![Default::default()],
            encryption_type: Some(crate::shapes::EncryptionType::None),
            key_id: None,
            open_shard_count: i32::try_from(meta.routes.len()).unwrap_or(i32::MAX),
            consumer_count: Some(i32::try_from(meta.consumers.len()).unwrap_or(i32::MAX)),
        },
    })
}
