//! ListStreamConsumers: a stream's consumers in name order, paginated with `MaxResults` (1..=10000,
//! default 100) and a `NextToken` that expires after 300 s.
//!
//! Errors: `ValidationException`, `ResourceNotFoundException`, `InvalidArgumentException` (forged token),
//! `ExpiredNextTokenException`.

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::lookup;
use crate::shapes::{Consumer, Timestamp};
use crate::state::Inner;
use crate::token::Reader;
use crate::validate;

/// ListStreamConsumers request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListStreamConsumersInput {
    /// Stream ARN (required).
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    /// Token from a previous page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    /// Maximum consumers returned, 1..=10000 (default 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_results: Option<i32>,
    /// Distinguishes streams of the same name (must match when given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_creation_timestamp: Option<Timestamp>,
}

/// ListStreamConsumers response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListStreamConsumersOutput {
    /// Consumers in this page, by name.
    pub consumers: Vec<Consumer>,
    /// Token for the next page.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub next_token: Option<String>,
}

const TOKEN_KIND: u8 = 3;

impl crate::dispatch::Scoped for ListStreamConsumersInput {
    fn stream_hint(&self, inner: &Inner) -> Option<String> {
        lookup::hint(inner, None, Some(&self.stream_arn))
    }
}

pub(crate) async fn execute(
    inner: &Inner,
    input: ListStreamConsumersInput,
) -> Result<ListStreamConsumersOutput, KinesisError> {
    let max = validate::int_in(input.max_results, "maxResults", 1, 10_000, 100)?;
    let stream = lookup::resolve(inner, None, Some(&input.stream_arn))?;
    let now_ms = inner.now_millis();
    let after = match &input.next_token {
        None => None,
        Some(token) => {
            let invalid = || crate::token::invalid_next_token(token);
            let payload = inner.tokens.verify(token).ok_or_else(invalid)?;
            let mut r = Reader::new(&payload);
            let (epoch, issued) = match (r.u8(), r.u64(), r.i64()) {
                (Some(TOKEN_KIND), Some(epoch), Some(issued)) => (epoch, issued),
                _ => return Err(invalid()),
            };
            let name = r.rest_str().ok_or_else(invalid)?.to_owned();
            if epoch != stream.epoch {
                return Err(invalid());
            }
            crate::token::check_fresh(token, issued, now_ms)?;
            Some(name)
        }
    };
    let meta = stream.meta.read();
    let mut page = meta
        .consumers
        .values()
        .filter(|c| after.as_deref().is_none_or(|a| c.name.as_str() > a));
    let consumers: Vec<Consumer> = page
        .by_ref()
        .take(usize::try_from(max).unwrap_or(100))
        .map(|c| Consumer {
            consumer_name: c.name.clone(),
            consumer_arn: c.arn.clone(),
            consumer_status: c.status,
            consumer_creation_timestamp: c.created,
        })
        .collect();
    let more = page.next().is_some();
    let next_token = match consumers.last() {
        Some(last) if more => {
            let mut p = vec![TOKEN_KIND];
            p.extend_from_slice(&stream.epoch.to_be_bytes());
            p.extend_from_slice(&now_ms.to_be_bytes());
            p.extend_from_slice(last.consumer_name.as_bytes());
            Some(inner.tokens.sign(&p))
        }
        _ => None,
    };
    Ok(ListStreamConsumersOutput {
        consumers,
        next_token,
    })
}
