//! StopStreamEncryption: switch a KMS-encrypted stream back to no encryption; the stream goes UPDATING for
//! the configured delay, then ACTIVE (PutRecord(s) answer `NONE` from then on, as in AWS).
//!
//! Errors: `InvalidArgumentException` (encryption type not KMS, stream not encrypted, another key id),
//! `ValidationException` (key id length), `ResourceNotFoundException`, `ResourceInUseException` (not
//! ACTIVE).

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::lookup;
use crate::shapes::{EncryptionType, StreamStatus};
use crate::state::Inner;
use crate::validate;

/// StopStreamEncryption request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct StopStreamEncryptionInput {
    /// Stream name (or give `stream_arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// Must be KMS.
    pub encryption_type: EncryptionType,
    /// The key the stream is encrypted with.
    pub key_id: String,
    /// Stream ARN (or give `stream_name`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
    /// The stream's id, if given it must match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_id: Option<String>,
}

/// StopStreamEncryption response (empty).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StopStreamEncryptionOutput {}

crate::dispatch::named_stream!(StopStreamEncryptionInput);

pub(crate) async fn execute(
    inner: &Inner,
    input: StopStreamEncryptionInput,
) -> Result<StopStreamEncryptionOutput, KinesisError> {
    if input.encryption_type != EncryptionType::Kms {
        return Err(KinesisError::invalid(
            "StopStreamEncryption requires EncryptionType KMS.",
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
    if meta.settings.encryption != EncryptionType::Kms {
        return Err(KinesisError::invalid(format!(
            "Stream {} under account {} is not encrypted.",
            stream.name, inner.config.account_id
        )));
    }
    if meta.settings.key_id.as_deref() != Some(input.key_id.as_str()) {
        return Err(KinesisError::invalid(format!(
            "Stream {} under account {} is not encrypted with key {}.",
            stream.name, inner.config.account_id, input.key_id
        )));
    }
    let until = crate::state::deadline_after(inner.config.updating_delay);
    meta.settings.change_encryption(EncryptionType::None, None, until);
    stream.begin_transition(&mut meta, StreamStatus::Updating, inner.config.updating_delay);
    Ok(StopStreamEncryptionOutput {})
}
