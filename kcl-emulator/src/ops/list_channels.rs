//! ListChannels: channels in name order, `MaxResults` per page (default 100), optionally only those
//! delivering one of the given streams, continuing with a `NextToken`.
//!
//! Errors: `ValidationException` (MaxResults, stream ARNs), `InvalidArgumentException` (a forged or
//! foreign NextToken), `ExpiredNextTokenException` (a NextToken older than 300 s).

use serde::{Deserialize, Serialize};

use crate::channel::{self, ChannelSummary};
use crate::error::KinesisError;
use crate::lookup;
use crate::shapes::Timestamp;
use crate::state::Inner;
use crate::validate;

/// A stream ListChannels filters by.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct StreamFilter {
    /// The stream.
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    /// Its creation time (an incarnation of the name), if given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_creation_timestamp: Option<Timestamp>,
}

/// ListChannels request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListChannelsInput {
    /// Only channels delivering one of these streams.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_filter: Option<Vec<StreamFilter>>,
    /// Page size, 1..=10000 (default 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_results: Option<i32>,
    /// Token from a previous page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// ListChannels response.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListChannelsOutput {
    /// The channels of this page.
    pub channel_summaries: Vec<ChannelSummary>,
    /// Token for the next page.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub next_token: Option<String>,
}

const TOKEN_KIND: u8 = 17;

impl crate::dispatch::Scoped for ListChannelsInput {
    fn stream_hint(&self, _inner: &Inner) -> Option<String> {
        None
    }
}

pub(crate) async fn execute(
    inner: &Inner,
    input: ListChannelsInput,
) -> Result<ListChannelsOutput, KinesisError> {
    let limit = validate::int_in(input.max_results, "maxResults", 1, 10_000, 100)?;
    let filter = input.stream_filter.unwrap_or_default();
    for f in &filter {
        lookup::stream_name_from_arn(inner, &f.stream_arn)?;
    }
    let now_ms = inner.now_millis();
    let after = match &input.next_token {
        Some(token) => Some(inner.tokens.verify_name_after(TOKEN_KIND, token, now_ms)?),
        None => None,
    };
    channel::settle_all(inner);
    let channels = inner.channels.read();
    let mut matching = channels
        .values()
        .filter(|c| {
            after
                .as_deref()
                .is_none_or(|a| c.description.channel_name.as_str() > a)
        })
        .filter(|c| {
            filter.is_empty()
                || c.description.stream_configuration_list.iter().any(|s| {
                    filter.iter().any(|f| {
                        f.stream_arn == s.stream_arn
                            && f.stream_creation_timestamp
                                .is_none_or(|t| t == s.stream_creation_timestamp)
                    })
                })
        });
    let page: Vec<ChannelSummary> = matching
        .by_ref()
        .take(usize::try_from(limit).unwrap_or(100))
        .map(|c| c.summary())
        .collect();
    let next_token = match page.last() {
        Some(last) if matching.next().is_some() => Some(inner.tokens.sign_name_after(
            TOKEN_KIND,
            now_ms,
            &last.channel_name,
        )),
        _ => None,
    };
    Ok(ListChannelsOutput {
        channel_summaries: page,
        next_token,
    })
}
