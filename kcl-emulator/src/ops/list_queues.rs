//! ListQueues: queue summaries in name order, `MaxResults` per page (default 100), continuing from a
//! `NextToken`; `StreamFilter` keeps the queues on any of the given streams (and, with a creation
//! timestamp, only that incarnation of the stream).
//!
//! Errors: `ValidationException` (ranges, filter ARNs), `InvalidArgumentException` (a forged or foreign
//! NextToken), `ExpiredNextTokenException` (a NextToken older than 300 s).

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::lookup;
use crate::queue;
use crate::queue::shapes::{QueueStreamFilter, QueueSummary};
use crate::state::Inner;
use crate::validate;

/// ListQueues request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListQueuesInput {
    /// Queues per page, 1..=10000 (default 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_results: Option<i32>,
    /// Token from a previous page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    /// Only queues on these streams (1..=10000 filters when given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_filter: Option<Vec<QueueStreamFilter>>,
}

/// ListQueues response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueuesOutput {
    /// This page.
    pub queue_summaries: Vec<QueueSummary>,
    /// Present when more queues follow.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub next_token: Option<String>,
}

/// Token kind byte of ListQueues tokens.
const TOKEN_KIND: u8 = 0x52;

impl crate::dispatch::Scoped for ListQueuesInput {
    fn stream_hint(&self, _inner: &Inner) -> Option<String> {
        None
    }
}

pub(crate) async fn execute(inner: &Inner, input: ListQueuesInput) -> Result<ListQueuesOutput, KinesisError> {
    let limit = validate::int_in(input.max_results, "maxResults", 1, 10_000, 100)?;
    let limit = usize::try_from(limit).unwrap_or(100);
    if let Some(filters) = &input.stream_filter {
        if filters.is_empty() || filters.len() > 10_000 {
            return Err(validate::error(
                format!("[{} filters]", filters.len()),
                "streamFilter",
                "Member must have length between 1 and 10000",
            ));
        }
        for f in filters {
            lookup::stream_name_from_arn(inner, &f.stream_arn)?;
        }
    }
    let now_ms = inner.now_millis();
    let after = match &input.next_token {
        None => None,
        Some(token) => Some(inner.tokens.verify_name_after(TOKEN_KIND, token, now_ms)?),
    };
    let matches = |summary: &QueueSummary| match &input.stream_filter {
        None => true,
        Some(filters) => filters.iter().any(|f| {
            summary.streams.iter().any(|s| {
                s.stream_arn == f.stream_arn
                    && f.stream_creation_timestamp
                        .is_none_or(|t| t == s.stream_creation_timestamp)
            })
        }),
    };
    let mut page = queue::all(inner)
        .into_iter()
        .filter(|q| after.as_deref().is_none_or(|a| q.name.as_str() > a))
        .map(|q| q.summary(&q.data.lock()))
        .filter(|s| matches(s));
    let queue_summaries: Vec<QueueSummary> = page.by_ref().take(limit).collect();
    let next_token = match queue_summaries.last() {
        Some(last) if page.next().is_some() => {
            Some(inner.tokens.sign_name_after(TOKEN_KIND, now_ms, &last.queue_name))
        }
        _ => None,
    };
    Ok(ListQueuesOutput {
        queue_summaries,
        next_token,
    })
}
