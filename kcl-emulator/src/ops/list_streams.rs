//! ListStreams: stream names (and summaries) in name order, `Limit` per page, continuing after
//! `ExclusiveStartStreamName` or a `NextToken`.
//!
//! Errors: `ValidationException` (limit), `InvalidArgumentException` (a forged or foreign NextToken),
//! `ExpiredNextTokenException` (a NextToken older than 300 s).

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::shapes::{StreamModeDetails, StreamSummary};
use crate::state::Inner;
use crate::validate;

/// ListStreams request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListStreamsInput {
    /// Maximum names returned, 1..=10000 (default 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i32>,
    /// List streams after this name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclusive_start_stream_name: Option<String>,
    /// Token from a previous page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// ListStreams response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListStreamsOutput {
    /// Names in this page, sorted.
    pub stream_names: Vec<String>,
    /// Whether more streams follow.
    pub has_more_streams: bool,
    /// Token for the next page.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub next_token: Option<String>,
    /// Summaries of the streams in this page.
    #[serde(default)]
    pub stream_summaries: Vec<StreamSummary>,
}

const TOKEN_KIND: u8 = 4;

impl crate::dispatch::Scoped for ListStreamsInput {
    fn stream_hint(&self, _inner: &Inner) -> Option<String> {
        None
    }
}

pub(crate) async fn execute(
    inner: &Inner,
    input: ListStreamsInput,
) -> Result<ListStreamsOutput, KinesisError> {
    let limit = validate::int_in(input.limit, "limit", 1, 10_000, 100)?;
    let after = match (&input.next_token, &input.exclusive_start_stream_name) {
        (Some(_), Some(_)) => {
            return Err(KinesisError::invalid(
                "NextToken and ExclusiveStartStreamName cannot be provided together.",
            ))
        }
        (Some(token), None) => Some(
            inner
                .tokens
                .verify_name_after(TOKEN_KIND, token, inner.now_millis())?,
        ),
        (None, Some(name)) => {
            validate::name(name, "exclusiveStartStreamName", 128)?;
            Some(name.clone())
        }
        (None, None) => None,
    };
    let streams = inner.all_streams();
    let mut page = streams
        .iter()
        .filter(|s| after.as_deref().is_none_or(|a| s.name.as_str() > a));
    let chosen: Vec<_> = page
        .by_ref()
        .take(usize::try_from(limit).unwrap_or(100))
        .collect();
    let has_more_streams = page.next().is_some();
    let next_token = match chosen.last() {
        Some(last) if has_more_streams => Some(inner.tokens.sign_name_after(
            TOKEN_KIND,
            inner.now_millis(),
            &last.name,
        )),
        _ => None,
    };
    let stream_summaries = chosen
        .iter()
        .map(|s| {
            let meta = s.meta.read();
            StreamSummary {
                stream_name: s.name.clone(),
                stream_arn: s.arn.clone(),
                stream_status: meta.status,
                stream_mode_details: Some(StreamModeDetails {
                    stream_mode: meta.mode,
                }),
                stream_creation_timestamp: Some(s.created),
            }
        })
        .collect();
    Ok(ListStreamsOutput {
        stream_names: chosen.iter().map(|s| s.name.clone()).collect(),
        has_more_streams,
        next_token,
        stream_summaries,
    })
}
