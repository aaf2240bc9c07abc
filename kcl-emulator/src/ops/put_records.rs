//! PutRecords: 1..=500 records in one call, each routed by its hash key, with a result per record.
//!
//! Validation failures of the request as a whole (record count, key length, data size, 5 MiB total,
//! malformed hash keys) fail the call; throughput limits and shard-scoped injected faults fail individual
//! records (partial failure with `ErrorCode`/`ErrorMessage` and `FailedRecordCount`). Records routed to the
//! same shard are appended under one lock acquisition, in request order, so their sequence numbers follow
//! the request order.
//!
//! Errors: `ValidationException`, `InvalidArgumentException`, `ResourceNotFoundException` (missing or not
//! yet ACTIVE stream).

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::dispatch::RecordFaults;
use crate::error::KinesisError;
use crate::lookup;
use crate::shapes::EncryptionType;
use crate::state::Inner;
use crate::validate;
use crate::write::{self, Appended};

/// One record of a PutRecords request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PutRecordsRequestEntry {
    /// The payload; with the partition key at most 1 MiB.
    #[serde(with = "crate::blob")]
    pub data: Bytes,
    /// A decimal 128-bit hash key that overrides the partition key's hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explicit_hash_key: Option<String>,
    /// 1..=256 characters; its MD5 picks the shard.
    pub partition_key: String,
}

/// PutRecords request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PutRecordsInput {
    /// 1..=500 records, at most 5 MiB in total.
    pub records: Vec<PutRecordsRequestEntry>,
    /// Stream name (or give `stream_arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// Stream ARN (or give `stream_name`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
}

/// The outcome of one PutRecords record: a sequence number and shard, or an error code and message.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PutRecordsResultEntry {
    /// Sequence number on success.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<String>,
    /// Shard on success.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard_id: Option<String>,
    /// `ProvisionedThroughputExceededException` or `InternalFailure` on failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Failure detail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

impl PutRecordsResultEntry {
    /// Whether this record was rejected.
    pub fn is_failure(&self) -> bool {
        self.error_code.is_some()
    }
}

/// PutRecords response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordsOutput {
    /// Number of rejected records.
    pub failed_record_count: i32,
    /// One result per request record, in request order.
    pub records: Vec<PutRecordsResultEntry>,
    /// Encryption applied.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub encryption_type: Option<EncryptionType>,
}

crate::dispatch::named_stream!(PutRecordsInput);

/// Largest PutRecords request.
const MAX_REQUEST_BYTES: usize = 5 * 1024 * 1024;
const MAX_RECORDS: usize = 500;

pub(crate) async fn execute(
    inner: &Inner,
    input: PutRecordsInput,
    faults: RecordFaults<'_>,
) -> Result<PutRecordsOutput, KinesisError> {
    if input.records.is_empty() || input.records.len() > MAX_RECORDS {
        return Err(validate::error(
            format!("{} records", input.records.len()),
            "records",
            "Member must have length between 1 and 500",
        ));
    }
    let mut total = 0usize;
    let mut entries = Vec::with_capacity(input.records.len());
    for (i, r) in input.records.into_iter().enumerate() {
        total += r.data.len() + r.partition_key.len();
        entries.push(write::validate_entry(
            r.data,
            r.partition_key,
            r.explicit_hash_key.as_deref(),
            Some(i),
        )?);
    }
    let stream = lookup::resolve(inner, input.stream_name.as_deref(), input.stream_arn.as_deref())?;
    lookup::require_usable(inner, &stream)?;
    let settings = write::WriteSettings::of(&stream);
    write::check_sizes(settings.max_record_bytes, &entries, true)?;
    // A stream with large records takes a request of one of its largest records.
    if total > MAX_REQUEST_BYTES.max(settings.max_record_bytes) {
        return Err(KinesisError::invalid(format!(
            "Records size exceeds 5 MB limit (request size: {total} bytes)."
        )));
    }
    let records: Vec<PutRecordsResultEntry> =
        write::append(inner, faults, &stream, settings.encryption, entries)
            .into_iter()
            .map(|appended| match appended {
                Appended::Stored {
                    shard_id,
                    sequence_number,
                } => PutRecordsResultEntry {
                    sequence_number: Some(sequence_number),
                    shard_id: Some(shard_id),
                    error_code: None,
                    error_message: None,
                },
                Appended::Failed { code, message } => PutRecordsResultEntry {
                    error_code: Some(code),
                    error_message: Some(message),
                    ..Default::default()
                },
            })
            .collect();
    let failed = records.iter().filter(|r| r.is_failure()).count();
    Ok(PutRecordsOutput {
        failed_record_count: i32::try_from(failed).unwrap_or(i32::MAX),
        records,
        encryption_type: Some(settings.encryption),
    })
}
