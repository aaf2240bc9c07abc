//! ListTagsForResource: the tags of a stream, consumer or channel, by ARN, sorted by key.
//!
//! Errors: `ValidationException` (ARN), `ResourceNotFoundException`.

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::resource;
use crate::shapes::Tag;
use crate::state::Inner;

/// ListTagsForResource request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListTagsForResourceInput {
    /// A stream, consumer or channel ARN.
    #[serde(rename = "ResourceARN")]
    pub resource_arn: String,
    /// The stream's id, if given it must match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_id: Option<String>,
}

/// ListTagsForResource response.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListTagsForResourceOutput {
    /// The tags, sorted by key.
    pub tags: Vec<Tag>,
}

impl crate::dispatch::Scoped for ListTagsForResourceInput {
    fn stream_hint(&self, inner: &Inner) -> Option<String> {
        resource::stream_hint(inner, &self.resource_arn)
    }
}

pub(crate) async fn execute(
    inner: &Inner,
    input: ListTagsForResourceInput,
) -> Result<ListTagsForResourceOutput, KinesisError> {
    let resource = resource::parse(inner, &input.resource_arn, input.stream_id.as_deref())?;
    let tags = resource.with_parts(inner, |t, _| {
        t.iter()
            .map(|(k, v)| Tag {
                key: k.clone(),
                value: Some(v.clone()),
            })
            .collect()
    })?;
    Ok(ListTagsForResourceOutput { tags })
}
