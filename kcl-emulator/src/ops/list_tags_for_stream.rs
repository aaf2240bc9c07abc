//! ListTagsForStream: tags in key order, `Limit` (1..=50, default 50) per page after
//! `ExclusiveStartTagKey`.
//!
//! Errors: `ResourceNotFoundException`, `ValidationException`.

use crate::error::KinesisError;
use crate::lookup;
use crate::state::Inner;
use crate::types::{ListTagsForStreamInput, ListTagsForStreamOutput, Tag};
use crate::validate;

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
