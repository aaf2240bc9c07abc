//! DeleteResourcePolicy: detach the resource policy of a stream, consumer or channel.
//!
//! Errors: `ValidationException` (ARN), `ResourceNotFoundException` (no such resource, or no policy
//! attached to it).

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::resource;
use crate::state::Inner;

/// DeleteResourcePolicy request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeleteResourcePolicyInput {
    /// A stream, consumer or channel ARN.
    #[serde(rename = "ResourceARN")]
    pub resource_arn: String,
    /// The stream's id, if given it must match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_id: Option<String>,
}

/// DeleteResourcePolicy response (empty).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeleteResourcePolicyOutput {}

impl crate::dispatch::Scoped for DeleteResourcePolicyInput {
    fn stream_hint(&self, inner: &Inner) -> Option<String> {
        resource::stream_hint(inner, &self.resource_arn)
    }
}

pub(crate) async fn execute(
    inner: &Inner,
    input: DeleteResourcePolicyInput,
) -> Result<DeleteResourcePolicyOutput, KinesisError> {
    let resource = resource::parse(inner, &input.resource_arn, input.stream_id.as_deref())?;
    let had = resource.with_parts(inner, |_, slot| slot.take().is_some())?;
    if !had {
        return Err(KinesisError::not_found(format!(
            "No resource policy is attached to {} under account {}.",
            input.resource_arn, inner.config.account_id
        )));
    }
    Ok(DeleteResourcePolicyOutput {})
}
