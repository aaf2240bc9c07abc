//! AddTagsToStream: add or overwrite up to 50 tags per call, at most 50 per stream.
//!
//! Errors: `ResourceNotFoundException`, `ValidationException` (tag count, key/value length),
//! `InvalidArgumentException` (stream would exceed 50 tags), `ResourceInUseException` (not ACTIVE).

use std::collections::BTreeMap;

use crate::error::KinesisError;
use crate::state::Inner;
use crate::types::{AddTagsToStreamInput, AddTagsToStreamOutput};
use crate::validate;

super::stream_request!(AddTagsToStreamInput, AddTagsToStream);

/// Maximum tags on one stream.
pub(crate) const MAX_TAGS: usize = 50;

/// Key 1..=128 characters, value 0..=256 characters.
pub(crate) fn validate_tags(tags: &BTreeMap<String, String>) -> Result<(), KinesisError> {
    for (key, value) in tags {
        validate::length(key, "tags.key", 1, 128)?;
        validate::length(value, "tags.value", 0, 256)?;
    }
    Ok(())
}

pub(crate) async fn execute(
    inner: &Inner,
    input: AddTagsToStreamInput,
) -> Result<AddTagsToStreamOutput, KinesisError> {
    if input.tags.is_empty() || input.tags.len() > MAX_TAGS {
        return Err(validate::error(
            format!("{} tags", input.tags.len()),
            "tags",
            "Member must have between 1 and 50 entries",
        ));
    }
    validate_tags(&input.tags)?;
    let stream = super::resolve(inner, input.stream_name.as_deref(), input.stream_arn.as_deref())?;
    super::require_active(inner, &stream)?;
    let mut meta = stream.meta.write();
    let new_keys = input.tags.keys().filter(|k| !meta.tags.contains_key(*k)).count();
    if meta.tags.len() + new_keys > MAX_TAGS {
        return Err(KinesisError::invalid(format!(
            "Failed to add tags to stream {} under account {} because a given stream cannot have more \
             than {MAX_TAGS} tags.",
            stream.name, inner.config.account_id
        )));
    }
    meta.tags.extend(input.tags);
    Ok(AddTagsToStreamOutput {})
}
