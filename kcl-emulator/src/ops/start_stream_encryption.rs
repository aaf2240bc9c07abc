//! StartStreamEncryption: record KMS server-side encryption with a key id on a stream; the stream goes
//! UPDATING for the configured delay, then ACTIVE. No KMS is involved: the key id is kept and reported
//! (DescribeStream, DescribeStreamSummary; PutRecord(s) answer `KMS` from when the stream is ACTIVE
//! again, as in AWS), data is stored as is. Calling it on an encrypted stream changes the key.
//!
//! Errors: `InvalidArgumentException` (encryption type not KMS), `ValidationException` (key id length),
//! `ResourceNotFoundException`, `ResourceInUseException` (not ACTIVE).

use crate::error::KinesisError;
use crate::settings::{change_encryption, StreamEncryptionInput, StreamEncryptionOutput};
use crate::shapes::EncryptionType;
use crate::state::Inner;

/// StartStreamEncryption request.
pub type StartStreamEncryptionInput = StreamEncryptionInput;

/// StartStreamEncryption response (empty).
pub type StartStreamEncryptionOutput = StreamEncryptionOutput;

pub(crate) async fn execute(
    inner: &Inner,
    input: StartStreamEncryptionInput,
) -> Result<StartStreamEncryptionOutput, KinesisError> {
    change_encryption(
        inner,
        "StartStreamEncryption",
        input,
        |_, _, _| Ok(()),
        |key| (EncryptionType::Kms, Some(key)),
    )
}
