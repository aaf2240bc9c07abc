//! Tag rules shared by CreateStream, AddTagsToStream, TagResource and CreateChannel: at most 50 tags
//! per resource, keys of 1..=128 and values of 0..=256 characters drawn from letters, digits, white
//! space and `_ . : / = + - @` (so `;`, `,`, tabs and newlines are rejected).

use std::collections::BTreeMap;

use crate::error::KinesisError;
use crate::validate;

/// Maximum tags on one resource.
pub(crate) const MAX_TAGS: usize = 50;

/// Whether `c` may appear in a tag key or value.
fn allowed(c: char) -> bool {
    c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c)
}

/// Key 1..=128 characters, value 0..=256 characters, both of the allowed character set.
pub(crate) fn validate(tags: &BTreeMap<String, String>) -> Result<(), KinesisError> {
    for (key, value) in tags {
        validate_key(key)?;
        validate::length(value, "tags.value", 0, 256)?;
        if !value.chars().all(allowed) {
            return Err(KinesisError::invalid(format!(
                "Tag value {value:?} of key {key:?} contains characters outside letters, digits, spaces \
                 and _ . : / = + - @"
            )));
        }
    }
    Ok(())
}

/// A tag key: 1..=128 characters of the allowed character set.
pub(crate) fn validate_key(key: &str) -> Result<(), KinesisError> {
    validate::length(key, "tags.key", 1, 128)?;
    if !key.chars().all(allowed) {
        return Err(KinesisError::invalid(format!(
            "Tag key {key:?} contains characters outside letters, digits, spaces and _ . : / = + - @"
        )));
    }
    Ok(())
}

/// Adds `new` to `tags` unless the result would hold more than [`MAX_TAGS`].
///
/// # Errors
/// `InvalidArgumentException` naming `resource` when the limit would be exceeded.
pub(crate) fn add(
    tags: &mut BTreeMap<String, String>,
    new: BTreeMap<String, String>,
    resource: &str,
) -> Result<(), KinesisError> {
    let added = new.keys().filter(|k| !tags.contains_key(*k)).count();
    if tags.len() + added > MAX_TAGS {
        return Err(KinesisError::invalid(format!(
            "Failed to add tags to {resource}: a resource cannot have more than {MAX_TAGS} tags."
        )));
    }
    tags.extend(new);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn character_set() {
        let ok: BTreeMap<String, String> = [(
            "team name_1.a:b/c=d+e-f@g".to_owned(),
            "Ünïcode value 42".to_owned(),
        )]
        .into();
        assert!(validate(&ok).is_ok());
        for bad in ["a;b", "a,b", "a\tb", "a\nb"] {
            let key: BTreeMap<String, String> = [(bad.to_owned(), "v".to_owned())].into();
            assert!(validate(&key).is_err(), "key {bad:?}");
            let value: BTreeMap<String, String> = [("k".to_owned(), bad.to_owned())].into();
            assert!(validate(&value).is_err(), "value {bad:?}");
        }
    }
}
