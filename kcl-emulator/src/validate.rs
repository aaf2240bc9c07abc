//! Shared validation helpers producing AWS-style `ValidationException` messages.
//!
//! Operation-specific rules live next to each operation under `ops/`; this module holds the few
//! constraints many operations share (names, ranges, lengths) so their messages read the same everywhere.

use std::fmt::Display;

use crate::error::KinesisError;

/// `1 validation error detected: Value 'v' at 'field' failed to satisfy constraint: constraint`.
pub(crate) fn error(value: impl Display, field: &str, constraint: &str) -> KinesisError {
    let value = value.to_string();
    let shown: String = value.chars().take(300).collect();
    KinesisError::validation(format!(
        "1 validation error detected: Value '{shown}' at '{field}' failed to satisfy constraint: {constraint}"
    ))
}

/// `1..=max` characters of `[a-zA-Z0-9_.-]` (stream and consumer names).
pub(crate) fn name(value: &str, field: &str, max: usize) -> Result<(), KinesisError> {
    let len = value.chars().count();
    if len == 0 {
        return Err(error(
            value,
            field,
            "Member must have length greater than or equal to 1",
        ));
    }
    if len > max {
        return Err(error(
            value,
            field,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    {
        return Err(error(
            value,
            field,
            "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
        ));
    }
    Ok(())
}

/// An optional integer within `min..=max`, or `default` when absent.
pub(crate) fn int_in(
    value: Option<i32>,
    field: &str,
    min: i32,
    max: i32,
    default: i32,
) -> Result<i32, KinesisError> {
    match value {
        None => Ok(default),
        Some(v) if v < min => Err(error(
            v,
            field,
            &format!("Member must have value greater than or equal to {min}"),
        )),
        Some(v) if v > max => Err(error(
            v,
            field,
            &format!("Member must have value less than or equal to {max}"),
        )),
        Some(v) => Ok(v),
    }
}

/// A string of `min..=max` characters.
pub(crate) fn length(value: &str, field: &str, min: usize, max: usize) -> Result<(), KinesisError> {
    // Byte length bounds the character count from above, so short values skip counting characters.
    let len = if value.len() <= max && min <= 1 {
        value.len()
    } else {
        value.chars().count()
    };
    if len < min {
        return Err(error(
            value,
            field,
            &format!("Member must have length greater than or equal to {min}"),
        ));
    }
    if len > max {
        return Err(error(
            value,
            field,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    Ok(())
}

/// A shard id: 1..=128 characters of `[a-zA-Z0-9_.-]`.
pub(crate) fn shard_id(value: &str, field: &str) -> Result<(), KinesisError> {
    name(value, field, 128)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ranges() {
        assert!(name("ok-name_1.x", "streamName", 128).is_ok());
        assert!(name("", "streamName", 128).is_err());
        assert!(name("bad name", "streamName", 128).is_err());
        assert!(name(&"a".repeat(129), "streamName", 128).is_err());
        assert_eq!(int_in(None, "limit", 1, 10, 5), Ok(5));
        assert!(int_in(Some(0), "limit", 1, 10, 5).is_err());
        assert!(int_in(Some(11), "limit", 1, 10, 5).is_err());
        assert!(length("é", "partitionKey", 1, 1).is_ok());
        assert!(length("", "partitionKey", 1, 256).is_err());
        assert!(length(&"é".repeat(256), "partitionKey", 1, 256).is_ok());
        assert!(length(&"é".repeat(257), "partitionKey", 1, 256).is_err());
        let e = name("a b", "streamName", 128).expect_err("invalid");
        assert_eq!(e.code(), "ValidationException");
        assert!(e
            .message()
            .starts_with("1 validation error detected: Value 'a b' at 'streamName'"));
    }
}
