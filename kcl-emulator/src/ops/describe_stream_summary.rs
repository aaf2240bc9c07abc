//! DescribeStreamSummary: the stream without its shards, with open-shard and consumer counts.
//!
//! Errors: `ResourceNotFoundException`.

use crate::error::KinesisError;
use crate::lookup;
use crate::state::Inner;
use crate::types::{
    DescribeStreamSummaryInput, DescribeStreamSummaryOutput, StreamDescriptionSummary, StreamModeDetails,
};

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
            encryption_type: Some(crate::types::EncryptionType::None),
            key_id: None,
            open_shard_count: i32::try_from(meta.routes.len()).unwrap_or(i32::MAX),
            consumer_count: Some(i32::try_from(meta.consumers.len()).unwrap_or(i32::MAX)),
        },
    })
}
