//! ListStreamConsumers: a stream's consumers in name order, paginated with `MaxResults` (1..=10000,
//! default 100) and a `NextToken` that expires after 300 s.
//!
//! Errors: `ValidationException`, `ResourceNotFoundException`, `InvalidArgumentException` (forged token),
//! `ExpiredNextTokenException`.

use crate::error::{ErrorCode, KinesisError};
use crate::lookup;
use crate::state::Inner;
use crate::token::Reader;
use crate::types::{Consumer, ListStreamConsumersInput, ListStreamConsumersOutput};
use crate::validate;

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
            let invalid = || KinesisError::invalid(format!("Invalid NextToken: {token}"));
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
            if now_ms.saturating_sub(issued) > crate::token::NEXT_TOKEN_TTL_MS {
                return Err(KinesisError::new(
                    ErrorCode::ExpiredNextTokenException,
                    format!("The timestamp of the NextToken has expired: {token}"),
                ));
            }
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
