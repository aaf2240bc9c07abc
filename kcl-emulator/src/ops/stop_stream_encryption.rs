//! StopStreamEncryption: switch a KMS-encrypted stream back to no encryption; the stream goes UPDATING for
//! the configured delay, then ACTIVE (PutRecord(s) answer `NONE` from then on, as in AWS).
//!
//! Errors: `InvalidArgumentException` (encryption type not KMS, stream not encrypted, another key id),
//! `ValidationException` (key id length), `ResourceNotFoundException`, `ResourceInUseException` (not
//! ACTIVE).

use crate::error::KinesisError;
use crate::settings::{change_encryption, StreamEncryptionInput, StreamEncryptionOutput};
use crate::shapes::EncryptionType;
use crate::state::Inner;

/// StopStreamEncryption request.
pub type StopStreamEncryptionInput = StreamEncryptionInput;

/// StopStreamEncryption response (empty).
pub type StopStreamEncryptionOutput = StreamEncryptionOutput;

pub(crate) async fn execute(
    inner: &Inner,
    input: StopStreamEncryptionInput,
) -> Result<StopStreamEncryptionOutput, KinesisError> {
    change_encryption(
        inner,
        "StopStreamEncryption",
        input,
        |stream, settings, key| {
            let account = &inner.config.account_id;
            if settings.encryption != EncryptionType::Kms {
                return Err(KinesisError::invalid(format!(
                    "Stream {} under account {account} is not encrypted.",
                    stream.name
                )));
            }
            if settings.key_id.as_deref() != Some(key) {
                return Err(KinesisError::invalid(format!(
                    "Stream {} under account {account} is not encrypted with key {key}.",
                    stream.name
                )));
            }
            Ok(())
        },
        |_| (EncryptionType::None, None),
    )
}
