//! RemoveTagsFromStream: remove 1..=50 tag keys (absent keys are ignored).
//!
//! Errors: `ResourceNotFoundException`, `ValidationException`, `ResourceInUseException` (not ACTIVE).

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::lookup;
use crate::state::Inner;
use crate::validate;

/// RemoveTagsFromStream request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RemoveTagsFromStreamInput {
    /// Stream name (or give `stream_arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// Stream ARN (or give `stream_name`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
    /// Keys to remove (1..=50).
    pub tag_keys: Vec<String>,
}

/// RemoveTagsFromStream response (empty).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RemoveTagsFromStreamOutput {}

crate::dispatch::named_stream!(RemoveTagsFromStreamInput);

pub(crate) async fn execute(
    inner: &Inner,
    input: RemoveTagsFromStreamInput,
) -> Result<RemoveTagsFromStreamOutput, KinesisError> {
    if input.tag_keys.is_empty() || input.tag_keys.len() > 50 {
        return Err(validate::error(
            format!("{} keys", input.tag_keys.len()),
            "tagKeys",
            "Member must have length between 1 and 50",
        ));
    }
    for key in &input.tag_keys {
        validate::length(key, "tagKeys.member", 1, 128)?;
    }
    let stream = lookup::resolve(inner, input.stream_name.as_deref(), input.stream_arn.as_deref())?;
    lookup::require_active(inner, &stream)?;
    let mut meta = stream.meta.write();
    for key in &input.tag_keys {
        meta.tags.remove(key);
    }
    Ok(RemoveTagsFromStreamOutput {})
}
