//! PutResourcePolicy: attach (or replace) the resource policy of a stream, consumer or channel. The
//! policy is kept as the JSON document given and not evaluated: the emulator authorises every call.
//!
//! Errors: `ValidationException` (ARN), `InvalidArgumentException` (empty policy or not a JSON object),
//! `ResourceNotFoundException`.

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::resource;
use crate::state::Inner;

/// PutResourcePolicy request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PutResourcePolicyInput {
    /// A stream, consumer or channel ARN.
    #[serde(rename = "ResourceARN")]
    pub resource_arn: String,
    /// The stream's id, if given it must match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_id: Option<String>,
    /// The policy document (JSON).
    pub policy: String,
}

/// PutResourcePolicy response (empty).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PutResourcePolicyOutput {}

impl crate::dispatch::Scoped for PutResourcePolicyInput {
    fn stream_hint(&self, inner: &Inner) -> Option<String> {
        resource::stream_hint(inner, &self.resource_arn)
    }
}

pub(crate) async fn execute(
    inner: &Inner,
    input: PutResourcePolicyInput,
) -> Result<PutResourcePolicyOutput, KinesisError> {
    let resource = resource::parse(inner, &input.resource_arn, input.stream_id.as_deref())?;
    let policy = input.policy.trim();
    if !(policy.starts_with('{') && policy.ends_with('}')) {
        return Err(KinesisError::invalid(
            "The policy is not a valid JSON policy document.",
        ));
    }
    resource.with_parts(inner, |_, slot| *slot = Some(input.policy))?;
    Ok(PutResourcePolicyOutput {})
}
