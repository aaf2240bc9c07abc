//! Tag rules shared by CreateStream and AddTagsToStream.

use std::collections::BTreeMap;

use crate::error::KinesisError;
use crate::validate;

/// Maximum tags on one stream.
pub(crate) const MAX_TAGS: usize = 50;

/// Key 1..=128 characters, value 0..=256 characters.
pub(crate) fn validate(tags: &BTreeMap<String, String>) -> Result<(), KinesisError> {
    for (key, value) in tags {
        validate::length(key, "tags.key", 1, 128)?;
        validate::length(value, "tags.value", 0, 256)?;
    }
    Ok(())
}
