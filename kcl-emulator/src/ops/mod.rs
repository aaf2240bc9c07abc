//! One module per Kinesis operation, each with its validation next to it.
//!
//! Every module exposes `execute(&Inner, Input) -> Result<Output, KinesisError>` and implements
//! [`Request`] for its input, which tells the fault injector which operation and stream a call targets.
//! The [`Emulator`](crate::Emulator) methods dispatch here.

use std::sync::Arc;

use crate::error::KinesisError;
use crate::operation::Operation;
use crate::state::{Inner, StreamState};
use crate::validate;

pub(crate) mod add_tags_to_stream;
pub(crate) mod create_stream;
pub(crate) mod decrease_stream_retention_period;
pub(crate) mod delete_stream;
pub(crate) mod deregister_stream_consumer;
pub(crate) mod describe_stream;
pub(crate) mod describe_stream_consumer;
pub(crate) mod describe_stream_summary;
pub(crate) mod get_records;
pub(crate) mod get_shard_iterator;
pub(crate) mod increase_stream_retention_period;
pub(crate) mod list_shards;
pub(crate) mod list_stream_consumers;
pub(crate) mod list_streams;
pub(crate) mod list_tags_for_stream;
pub(crate) mod merge_shards;
pub(crate) mod put_record;
pub(crate) mod put_records;
pub(crate) mod register_stream_consumer;
pub(crate) mod remove_tags_from_stream;
pub(crate) mod split_shard;
pub(crate) mod subscribe_to_shard;
pub(crate) mod update_shard_count;
pub(crate) mod update_stream_mode;

/// What the dispatcher needs to know about a request before running it.
pub(crate) trait Request {
    /// The operation this request is for.
    const OPERATION: Operation;

    /// The stream the request targets, when it can be told cheaply (for stream-scoped fault rules).
    fn stream_hint(&self, inner: &Inner) -> Option<String>;
}

/// Implements [`Request`] for inputs that name their stream with `stream_name` / `stream_arn` options.
macro_rules! stream_request {
    ($input:ty, $op:ident) => {
        impl $crate::ops::Request for $input {
            const OPERATION: $crate::operation::Operation = $crate::operation::Operation::$op;
            fn stream_hint(&self, inner: &$crate::state::Inner) -> Option<String> {
                $crate::ops::hint(
                    inner,
                    self.stream_name.as_deref(),
                    self.stream_arn.as_deref(),
                )
            }
        }
    };
}
pub(crate) use stream_request;

/// The stream name from a name or ARN, without validating anything.
pub(crate) fn hint(inner: &Inner, name: Option<&str>, arn: Option<&str>) -> Option<String> {
    name.map(str::to_owned)
        .or_else(|| arn.and_then(|a| stream_name_from_arn(inner, a).ok()))
}

/// The stream name in `arn:aws:kinesis:REGION:ACCOUNT:stream/NAME`.
///
/// # Errors
/// `ValidationException` when the ARN is malformed; `ResourceNotFoundException` when it names another
/// region or account.
pub(crate) fn stream_name_from_arn(inner: &Inner, arn: &str) -> Result<String, KinesisError> {
    validate::length(arn, "streamARN", 1, 2048)?;
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [scheme, partition, service, region, account, resource] = parts.as_slice() else {
        return Err(bad_arn(arn));
    };
    if *scheme != "arn" || !partition.starts_with("aws") || *service != "kinesis" {
        return Err(bad_arn(arn));
    }
    let Some(name) = resource.strip_prefix("stream/") else {
        return Err(bad_arn(arn));
    };
    validate::name(name, "streamARN", 128).map_err(|_| bad_arn(arn))?;
    if *region != inner.config.region || *account != inner.config.account_id {
        return Err(KinesisError::not_found(format!(
            "Stream {name} under account {account} not found."
        )));
    }
    Ok((*name).to_owned())
}

fn bad_arn(arn: &str) -> KinesisError {
    validate::error(
        arn,
        "streamARN",
        "Member must satisfy regular expression pattern: \
         arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+",
    )
}

/// The stream named by a request's `StreamName` and/or `StreamARN`.
///
/// # Errors
/// `InvalidArgumentException` when neither is given or they disagree; `ValidationException` for a
/// malformed name or ARN; `ResourceNotFoundException` when the stream does not exist.
pub(crate) fn resolve(
    inner: &Inner,
    name: Option<&str>,
    arn: Option<&str>,
) -> Result<Arc<StreamState>, KinesisError> {
    let name = resolve_name(inner, name, arn)?;
    inner.stream(&name)
}

/// The stream name of a request's `StreamName` and/or `StreamARN`, validated.
pub(crate) fn resolve_name(
    inner: &Inner,
    name: Option<&str>,
    arn: Option<&str>,
) -> Result<String, KinesisError> {
    match (name, arn) {
        (None, None) => Err(KinesisError::invalid(
            "Either StreamName or StreamARN should be provided.",
        )),
        (Some(name), None) => {
            validate::name(name, "streamName", 128)?;
            Ok(name.to_owned())
        }
        (None, Some(arn)) => stream_name_from_arn(inner, arn),
        (Some(name), Some(arn)) => {
            validate::name(name, "streamName", 128)?;
            let from_arn = stream_name_from_arn(inner, arn)?;
            if from_arn != name {
                return Err(KinesisError::invalid(format!(
                    "StreamName {name} and StreamARN {arn} do not refer to the same stream."
                )));
            }
            Ok(from_arn)
        }
    }
}

/// `ResourceInUseException` unless the stream is ACTIVE.
pub(crate) fn require_active(inner: &Inner, stream: &StreamState) -> Result<(), KinesisError> {
    let status = stream.meta.read().status;
    if status == crate::types::StreamStatus::Active {
        Ok(())
    } else {
        Err(KinesisError::in_use(format!(
            "Stream {} under account {} not ACTIVE, instead in state {}",
            stream.name,
            inner.config.account_id,
            status_name(status)
        )))
    }
}

/// `ResourceNotFoundException` unless the stream accepts data-plane calls (ACTIVE or UPDATING).
pub(crate) fn require_usable(inner: &Inner, stream: &StreamState) -> Result<(), KinesisError> {
    let status = stream.meta.read().status;
    if StreamState::is_usable(status) {
        Ok(())
    } else {
        Err(inner.stream_not_found(&stream.name))
    }
}

/// The AWS spelling of a stream status.
pub(crate) fn status_name(status: crate::types::StreamStatus) -> &'static str {
    use crate::types::StreamStatus::*;
    match status {
        Creating => "CREATING",
        Deleting => "DELETING",
        Active => "ACTIVE",
        Updating => "UPDATING",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EmulatorConfig;

    #[test]
    fn arns() {
        let inner = Inner::new(EmulatorConfig::default(), 1);
        assert_eq!(
            stream_name_from_arn(&inner, "arn:aws:kinesis:us-east-1:000000000000:stream/s1"),
            Ok("s1".to_owned())
        );
        let other = stream_name_from_arn(&inner, "arn:aws:kinesis:eu-west-1:000000000000:stream/s1");
        assert_eq!(
            other.map_err(|e| e.code().to_owned()),
            Err("ResourceNotFoundException".into())
        );
        for bad in [
            "",
            "arn:aws:s3:::bucket",
            "arn:aws:kinesis:us-east-1:000000000000:table/x",
            "x:y",
        ] {
            assert!(stream_name_from_arn(&inner, bad).is_err(), "{bad}");
        }
        assert!(resolve_name(&inner, None, None).is_err());
        assert!(resolve_name(
            &inner,
            Some("a"),
            Some("arn:aws:kinesis:us-east-1:000000000000:stream/b")
        )
        .is_err());
    }
}
