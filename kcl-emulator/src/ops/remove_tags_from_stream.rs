//! RemoveTagsFromStream: remove 1..=50 tag keys (absent keys are ignored).
//!
//! Errors: `ResourceNotFoundException`, `ValidationException`, `ResourceInUseException` (not ACTIVE).

use crate::error::KinesisError;
use crate::lookup;
use crate::state::Inner;
use crate::types::{RemoveTagsFromStreamInput, RemoveTagsFromStreamOutput};
use crate::validate;

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
