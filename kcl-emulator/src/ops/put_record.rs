//! PutRecord: one record, routed by the MD5 of its partition key or by its explicit hash key.
//!
//! Errors: `ValidationException` (key length, data size, hash-key or ordering-number format),
//! `InvalidArgumentException` (record over the stream's maximum record size, 1 MiB by default; hash key
//! out of range), `ResourceNotFoundException`,
//! `ProvisionedThroughputExceededException` (shard write limits), or an injected fault.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::dispatch::RecordFaults;
use crate::error::{ErrorCode, KinesisError};
use crate::lookup;
use crate::sequence;
use crate::shapes::EncryptionType;
use crate::state::Inner;
use crate::validate;
use crate::write::{self, Appended};

/// PutRecord request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PutRecordInput {
    /// Stream name (or give `stream_arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// Stream ARN (or give `stream_name`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
    /// The payload; with the partition key at most 1 MiB.
    #[serde(with = "crate::blob")]
    pub data: Bytes,
    /// 1..=256 characters; its MD5 picks the shard.
    pub partition_key: String,
    /// A decimal 128-bit hash key that overrides the partition key's hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explicit_hash_key: Option<String>,
    /// Ordering hint: the sequence number of the previous record of this producer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence_number_for_ordering: Option<String>,
}

/// PutRecord response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordOutput {
    /// Shard that took the record.
    pub shard_id: String,
    /// Its sequence number.
    pub sequence_number: String,
    /// Encryption applied.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub encryption_type: Option<EncryptionType>,
}

crate::dispatch::named_stream!(PutRecordInput);

pub(crate) async fn execute(
    inner: &Inner,
    input: PutRecordInput,
    faults: RecordFaults<'_>,
) -> Result<PutRecordOutput, KinesisError> {
    if let Some(seq) = &input.sequence_number_for_ordering {
        if !sequence::is_well_formed(seq) {
            return Err(validate::error(
                seq,
                "sequenceNumberForOrdering",
                "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,128})",
            ));
        }
    }
    let entry = write::validate_entry(
        input.data,
        input.partition_key,
        input.explicit_hash_key.as_deref(),
        None,
    )?;
    let stream = lookup::resolve(inner, input.stream_name.as_deref(), input.stream_arn.as_deref())?;
    lookup::require_usable(inner, &stream)?;
    let settings = write::WriteSettings::of(&stream);
    write::check_sizes(settings.max_record_bytes, std::slice::from_ref(&entry), false)?;
    // Sequence numbers already increase strictly per shard in arrival order, which is what
    // SequenceNumberForOrdering asks for.
    match write::append(inner, faults, &stream, settings.encryption, vec![entry]).pop() {
        Some(Appended::Stored {
            shard_id,
            sequence_number,
        }) => Ok(PutRecordOutput {
            shard_id,
            sequence_number,
            encryption_type: Some(settings.encryption),
        }),
        Some(Appended::Failed { code, message }) => Err(KinesisError::new(ErrorCode::parse(&code), message)),
        None => Err(KinesisError::new(
            ErrorCode::InternalFailure,
            "Internal service failure.",
        )),
    }
}
