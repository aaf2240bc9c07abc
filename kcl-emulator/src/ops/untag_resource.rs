//! UntagResource: remove tags (by key) of a stream, consumer or channel, by ARN; absent keys are ignored.
//!
//! Errors: `ValidationException` (ARN, 1..=50 keys), `InvalidArgumentException` (key characters),
//! `ResourceNotFoundException`, `ResourceInUseException` (a stream not ACTIVE).

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::lookup;
use crate::resource::{self, Resource};
use crate::state::Inner;
use crate::{tags, validate};

/// UntagResource request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UntagResourceInput {
    /// Keys to remove (1..=50).
    pub tag_keys: Vec<String>,
    /// A stream, consumer or channel ARN.
    #[serde(rename = "ResourceARN")]
    pub resource_arn: String,
    /// The stream's id, if given it must match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_id: Option<String>,
}

/// UntagResource response (empty).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UntagResourceOutput {}

impl crate::dispatch::Scoped for UntagResourceInput {
    fn stream_hint(&self, inner: &Inner) -> Option<String> {
        resource::stream_hint(inner, &self.resource_arn)
    }
}

pub(crate) async fn execute(
    inner: &Inner,
    input: UntagResourceInput,
) -> Result<UntagResourceOutput, KinesisError> {
    if input.tag_keys.is_empty() || input.tag_keys.len() > tags::MAX_TAGS {
        return Err(validate::error(
            format!("{} keys", input.tag_keys.len()),
            "tagKeys",
            "Member must have length between 1 and 50",
        ));
    }
    for key in &input.tag_keys {
        tags::validate_key(key)?;
    }
    let resource = resource::parse(inner, &input.resource_arn, input.stream_id.as_deref())?;
    if let Resource::Stream(stream) = &resource {
        lookup::require_active(inner, stream)?;
    }
    resource.with_parts(inner, |t, _| {
        for key in &input.tag_keys {
            t.remove(key);
        }
    })?;
    Ok(UntagResourceOutput {})
}
