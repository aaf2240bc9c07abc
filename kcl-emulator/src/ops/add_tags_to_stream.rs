//! AddTagsToStream: add or overwrite up to 50 tags per call, at most 50 per stream.
//!
//! Errors: `ResourceNotFoundException`, `ValidationException` (tag count, key/value length),
//! `InvalidArgumentException` (stream would exceed 50 tags), `ResourceInUseException` (not ACTIVE).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::lookup;
use crate::state::Inner;
use crate::tags;
use crate::validate;

/// AddTagsToStream request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AddTagsToStreamInput {
    /// Stream name (or give `stream_arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// Stream ARN (or give `stream_name`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
    /// Tags to add or overwrite (1..=50).
    pub tags: BTreeMap<String, String>,
}

/// AddTagsToStream response (empty).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AddTagsToStreamOutput {}

crate::dispatch::named_stream!(AddTagsToStreamInput);

pub(crate) async fn execute(
    inner: &Inner,
    input: AddTagsToStreamInput,
) -> Result<AddTagsToStreamOutput, KinesisError> {
    if input.tags.is_empty() || input.tags.len() > tags::MAX_TAGS {
        return Err(validate::error(
            format!("{} tags", input.tags.len()),
            "tags",
            "Member must have between 1 and 50 entries",
        ));
    }
    tags::validate(&input.tags)?;
    let stream = lookup::resolve(inner, input.stream_name.as_deref(), input.stream_arn.as_deref())?;
    lookup::require_active(inner, &stream)?;
    let mut meta = stream.meta.write();
    let new_keys = input.tags.keys().filter(|k| !meta.tags.contains_key(*k)).count();
    if meta.tags.len() + new_keys > tags::MAX_TAGS {
        return Err(KinesisError::invalid(format!(
            "Failed to add tags to stream {} under account {} because a given stream cannot have more \
             than {} tags.",
            stream.name,
            inner.config.account_id,
            tags::MAX_TAGS
        )));
    }
    meta.tags.extend(input.tags);
    Ok(AddTagsToStreamOutput {})
}
