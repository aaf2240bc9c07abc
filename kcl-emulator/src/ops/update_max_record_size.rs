//! UpdateMaxRecordSize: the largest record (data plus partition key) PutRecord and PutRecords accept on a
//! stream, 1024..=10240 KiB (default 1024). The per-shard write limit is unchanged: a record larger than
//! a second's worth of it is accepted when the shard's write bucket is full and leaves the bucket in debt,
//! which throttles the shard's writes until it has refilled (see `write.rs`). The stream goes UPDATING for
//! the configured delay.
//!
//! Errors: `ValidationException` (size out of range), `ResourceNotFoundException`,
//! `ResourceInUseException` (not ACTIVE).

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::lookup;
use crate::settings::{DEFAULT_MAX_RECORD_KIB, LARGEST_MAX_RECORD_KIB};
use crate::shapes::StreamStatus;
use crate::state::Inner;
use crate::validate;

/// UpdateMaxRecordSize request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpdateMaxRecordSizeInput {
    /// Stream ARN (or give `stream_id`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
    /// The stream's id (or give `stream_arn`; with it, it must match).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_id: Option<String>,
    /// The new largest record, 1024..=10240 KiB.
    #[serde(rename = "MaxRecordSizeInKiB")]
    pub max_record_size_in_kib: i32,
}

/// UpdateMaxRecordSize response (empty).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UpdateMaxRecordSizeOutput {}

impl crate::dispatch::Scoped for UpdateMaxRecordSizeInput {
    fn stream_hint(&self, inner: &Inner) -> Option<String> {
        lookup::hint(inner, None, self.stream_arn.as_deref())
    }
}

pub(crate) async fn execute(
    inner: &Inner,
    input: UpdateMaxRecordSizeInput,
) -> Result<UpdateMaxRecordSizeOutput, KinesisError> {
    let kib = validate::int_in(
        Some(input.max_record_size_in_kib),
        "maxRecordSizeInKiB",
        DEFAULT_MAX_RECORD_KIB as i32,
        LARGEST_MAX_RECORD_KIB as i32,
        DEFAULT_MAX_RECORD_KIB as i32,
    )?;
    if input.stream_arn.is_none() && input.stream_id.is_none() {
        return Err(KinesisError::invalid(
            "Either StreamARN or StreamId should be provided.",
        ));
    }
    let stream = lookup::resolve_with_id(
        inner,
        None,
        input.stream_arn.as_deref(),
        input.stream_id.as_deref(),
    )?;
    lookup::require_active(inner, &stream)?;
    let mut meta = stream.meta.write();
    meta.settings.max_record_kib = Some(u32::try_from(kib).unwrap_or(DEFAULT_MAX_RECORD_KIB));
    stream.begin_transition(&mut meta, StreamStatus::Updating, inner.config.updating_delay);
    Ok(UpdateMaxRecordSizeOutput {})
}
