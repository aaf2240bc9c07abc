//! StartStreamEncryption: record KMS server-side encryption with a key id on a stream; the stream goes
//! UPDATING for the configured delay, then ACTIVE. No KMS is involved: the key id is kept and reported
//! (DescribeStream, DescribeStreamSummary; PutRecord(s) answer `KMS` from when the stream is ACTIVE
//! again, as in AWS), data is stored as is. Calling it on an encrypted stream changes the key.
//!
//! Errors: `InvalidArgumentException` (encryption type not KMS), `ValidationException` (key id length),
//! `ResourceNotFoundException`, `ResourceInUseException` (not ACTIVE).

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::lookup;
use crate::shapes::{EncryptionType, StreamStatus};
use crate::state::Inner;
use crate::validate;

/// StartStreamEncryption request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct StartStreamEncryptionInput {
    /// Stream name (or give `stream_arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// Must be KMS.
    pub encryption_type: EncryptionType,
    /// The KMS key (id, ARN, alias name or alias ARN; 1..=2048 characters).
    pub key_id: String,
    /// Stream ARN (or give `stream_name`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
    /// The stream's id, if given it must match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_id: Option<String>,
}

/// StartStreamEncryption response (empty).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StartStreamEncryptionOutput {}

crate::dispatch::named_stream!(StartStreamEncryptionInput);

pub(crate) async fn execute(
    inner: &Inner,
    input: StartStreamEncryptionInput,
) -> Result<StartStreamEncryptionOutput, KinesisError> {
    if input.encryption_type != EncryptionType::Kms {
        return Err(KinesisError::invalid(
            "StartStreamEncryption requires EncryptionType KMS.",
        ));
    }
    validate::length(&input.key_id, "keyId", 1, 2048)?;
    let stream = lookup::resolve_with_id(
        inner,
        input.stream_name.as_deref(),
        input.stream_arn.as_deref(),
        input.stream_id.as_deref(),
    )?;
    lookup::require_active(inner, &stream)?;
    let mut meta = stream.meta.write();
    let until = crate::state::deadline_after(inner.config.updating_delay);
    meta.settings
        .change_encryption(EncryptionType::Kms, Some(input.key_id), until);
    stream.begin_transition(&mut meta, StreamStatus::Updating, inner.config.updating_delay);
    Ok(StartStreamEncryptionOutput {})
}
