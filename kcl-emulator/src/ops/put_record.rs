//! PutRecord: one record, routed by the MD5 of its partition key or by its explicit hash key.
//!
//! Errors: `ValidationException` (key length, data size, hash-key or ordering-number format),
//! `InvalidArgumentException` (record over 1 MiB, hash key out of range), `ResourceNotFoundException`,
//! `ProvisionedThroughputExceededException` (shard write limits), or an injected fault.

use crate::dispatch::RecordFaults;
use crate::error::{ErrorCode, KinesisError};
use crate::lookup;
use crate::sequence;
use crate::state::Inner;
use crate::types::{PutRecordInput, PutRecordOutput};
use crate::validate;
use crate::write::{self, Appended};

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
    // Sequence numbers already increase strictly per shard in arrival order, which is what
    // SequenceNumberForOrdering asks for.
    match write::append(inner, faults, &stream, vec![entry]).pop() {
        Some(Appended::Stored {
            shard_id,
            sequence_number,
        }) => Ok(PutRecordOutput {
            shard_id,
            sequence_number,
            encryption_type: Some(crate::types::EncryptionType::None),
        }),
        Some(Appended::Failed { code, message }) => Err(KinesisError::new(ErrorCode::parse(&code), message)),
        None => Err(KinesisError::new(
            ErrorCode::InternalFailure,
            "Internal service failure.",
        )),
    }
}
