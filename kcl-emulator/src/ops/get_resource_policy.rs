//! GetResourcePolicy: the resource policy of a stream, consumer or channel, or `{}` when none is
//! attached.
//!
//! Errors: `ValidationException` (ARN), `ResourceNotFoundException`.

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::resource;
use crate::state::Inner;

/// GetResourcePolicy request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct GetResourcePolicyInput {
    /// A stream, consumer or channel ARN.
    #[serde(rename = "ResourceARN")]
    pub resource_arn: String,
    /// The stream's id, if given it must match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_id: Option<String>,
}

/// GetResourcePolicy response.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetResourcePolicyOutput {
    /// The policy document, `{}` when none is attached.
    pub policy: String,
}

impl crate::dispatch::Scoped for GetResourcePolicyInput {
    fn stream_hint(&self, inner: &Inner) -> Option<String> {
        resource::stream_hint(inner, &self.resource_arn)
    }
}

pub(crate) async fn execute(
    inner: &Inner,
    input: GetResourcePolicyInput,
) -> Result<GetResourcePolicyOutput, KinesisError> {
    let resource = resource::parse(inner, &input.resource_arn, input.stream_id.as_deref())?;
    let policy = resource.with_parts(inner, |_, slot| slot.clone())?;
    Ok(GetResourcePolicyOutput {
        policy: policy.unwrap_or_else(|| "{}".to_owned()),
    })
}
