//! ListTagsForStream: tags in key order, `Limit` (1..=50, default 50) per page after
//! `ExclusiveStartTagKey`.
//!
//! Errors: `ResourceNotFoundException`, `ValidationException`.

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::lookup;
use crate::shapes::Tag;
use crate::state::Inner;
use crate::validate;

/// ListTagsForStream request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListTagsForStreamInput {
    /// Stream name (or give `stream_arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// Stream ARN (or give `stream_name`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
    /// List tags after this key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclusive_start_tag_key: Option<String>,
    /// Maximum tags returned, 1..=50 (default 50).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i32>,
}

/// ListTagsForStream response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsForStreamOutput {
    /// Tags in this page, sorted by key.
    pub tags: Vec<Tag>,
    /// Whether more tags follow.
    pub has_more_tags: bool,
}

crate::dispatch::named_stream!(ListTagsForStreamInput);

pub(crate) async fn execute(
    inner: &Inner,
    input: ListTagsForStreamInput,
) -> Result<ListTagsForStreamOutput, KinesisError> {
    let limit = validate::int_in(input.limit, "limit", 1, 50, 50)?;
    if let Some(key) = &input.exclusive_start_tag_key {
        validate::length(key, "exclusiveStartTagKey", 1, 128)?;
    }
    let stream = lookup::resolve(inner, input.stream_name.as_deref(), input.stream_arn.as_deref())?;
    let meta = stream.meta.read();
    let after = input.exclusive_start_tag_key.as_deref();
    let mut page = meta
        .tags
        .iter()
        .filter(|(k, _)| after.is_none_or(|a| k.as_str() > a));
    let tags: Vec<Tag> = page
        .by_ref()
        .take(usize::try_from(limit).unwrap_or(50))
        .map(|(k, v)| Tag {
            key: k.clone(),
            value: Some(v.clone()),
        })
        .collect();
    let has_more_tags = page.next().is_some();
    Ok(ListTagsForStreamOutput { tags, has_more_tags })
}
