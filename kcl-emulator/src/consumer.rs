//! Finding a registered consumer: by ConsumerARN (`STREAM_ARN/consumer/NAME:EPOCH`) or by StreamARN and
//! ConsumerName. Shared by the consumer operations and SubscribeToShard.

use std::sync::Arc;

use crate::error::KinesisError;
use crate::lookup;
use crate::state::{ConsumerState, Inner, StreamState};
use crate::validate;

/// The stream name of a consumer request, for fault scoping.
pub(crate) fn stream_hint(
    inner: &Inner,
    stream_arn: Option<&str>,
    consumer_arn: Option<&str>,
) -> Option<String> {
    stream_arn
        .and_then(|a| lookup::stream_name_from_arn(inner, a).ok())
        .or_else(|| consumer_arn.and_then(|a| parse_consumer_arn(inner, a).ok().map(|(s, _)| s)))
}

/// `(stream name, consumer name)` from `STREAM_ARN/consumer/NAME:EPOCH`.
pub(crate) fn parse_consumer_arn(inner: &Inner, arn: &str) -> Result<(String, String), KinesisError> {
    let bad = || {
        validate::error(
            arn,
            "consumerARN",
            "Member must satisfy regular expression pattern: \
             ^(arn):aws.*:kinesis:.*:\\d{12}:.*stream\\/[a-zA-Z0-9_.-]+\\/consumer\\/[a-zA-Z0-9_.-]+:[0-9]+",
        )
    };
    validate::length(arn, "consumerARN", 1, 2048)?;
    let (stream_arn, rest) = arn.split_once("/consumer/").ok_or_else(bad)?;
    let (name, epoch) = rest.rsplit_once(':').ok_or_else(bad)?;
    if epoch.is_empty() || !epoch.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    validate::name(name, "consumerARN", 128).map_err(|_| bad())?;
    let stream =
        lookup::stream_name_from_arn(inner, stream_arn).map_err(
            |e| {
                if e.is_not_found() {
                    e
                } else {
                    bad()
                }
            },
        )?;
    Ok((stream, name.to_owned()))
}

/// Finds a consumer by ARN or by stream ARN + name.
pub(crate) fn find(
    inner: &Inner,
    stream_arn: Option<&str>,
    consumer_name: Option<&str>,
    consumer_arn: Option<&str>,
) -> Result<(Arc<StreamState>, ConsumerState), KinesisError> {
    let (stream_name, name) = match (consumer_arn, stream_arn, consumer_name) {
        (Some(arn), _, _) => parse_consumer_arn(inner, arn)?,
        (None, Some(stream_arn), Some(name)) => {
            validate::name(name, "consumerName", 128)?;
            (lookup::stream_name_from_arn(inner, stream_arn)?, name.to_owned())
        }
        _ => {
            return Err(KinesisError::invalid(
                "Either ConsumerARN or both StreamARN and ConsumerName must be provided.",
            ))
        }
    };
    let not_found = || {
        KinesisError::not_found(format!(
            "Consumer {name}, account {} not found.",
            inner.config.account_id
        ))
    };
    let stream = inner.stream(&stream_name).map_err(|_| not_found())?;
    let consumer = stream
        .meta
        .read()
        .consumers
        .get(&name)
        .cloned()
        .ok_or_else(not_found)?;
    if consumer_arn.is_some_and(|arn| arn != consumer.arn) {
        return Err(not_found());
    }
    Ok((stream, consumer))
}
