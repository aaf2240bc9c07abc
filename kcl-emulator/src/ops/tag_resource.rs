//! TagResource: add or overwrite tags of a stream, consumer or channel, by ARN. At most 50 tags per
//! resource; keys and values of letters, digits, spaces and `_ . : / = + - @`.
//!
//! Errors: `ValidationException` (ARN, tag count and lengths), `InvalidArgumentException` (characters,
//! more than 50 tags), `ResourceNotFoundException`, `ResourceInUseException` (a stream not ACTIVE).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::lookup;
use crate::resource::{self, Resource};
use crate::state::Inner;
use crate::{tags, validate};

/// TagResource request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TagResourceInput {
    /// Tags to add or overwrite (1..=50 per call here; the resource keeps at most 50).
    pub tags: BTreeMap<String, String>,
    /// A stream, consumer or channel ARN.
    #[serde(rename = "ResourceARN")]
    pub resource_arn: String,
    /// The stream's id, if given it must match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_id: Option<String>,
}

/// TagResource response (empty).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TagResourceOutput {}

impl crate::dispatch::Scoped for TagResourceInput {
    fn stream_hint(&self, inner: &Inner) -> Option<String> {
        resource::stream_hint(inner, &self.resource_arn)
    }
}

pub(crate) async fn execute(
    inner: &Inner,
    input: TagResourceInput,
) -> Result<TagResourceOutput, KinesisError> {
    if input.tags.is_empty() || input.tags.len() > 200 {
        return Err(validate::error(
            format!("{} tags", input.tags.len()),
            "tags",
            "Member must have between 1 and 200 entries",
        ));
    }
    tags::validate(&input.tags)?;
    let resource = resource::parse(inner, &input.resource_arn, input.stream_id.as_deref())?;
    if let Resource::Stream(stream) = &resource {
        lookup::require_active(inner, stream)?;
    }
    let arn = input.resource_arn;
    resource.with_parts(inner, |t, _| tags::add(t, input.tags, &arn))??;
    Ok(TagResourceOutput {})
}
