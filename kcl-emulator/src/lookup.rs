//! Finding the stream a request names: by `StreamName`, by `StreamARN` or both (they must agree), and the
//! status checks most operations run before touching it.

use std::sync::Arc;

use crate::error::KinesisError;
use crate::state::{Inner, StreamState};
use crate::validate;

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

/// The stream named by a request's `StreamName`, `StreamARN` and/or `StreamId` (which must agree).
///
/// # Errors
/// As [`resolve`]; `ResourceNotFoundException` when `StreamId` is not the stream's (or, given alone,
/// no stream's).
pub(crate) fn resolve_with_id(
    inner: &Inner,
    name: Option<&str>,
    arn: Option<&str>,
    id: Option<&str>,
) -> Result<Arc<StreamState>, KinesisError> {
    if let (None, None, Some(id)) = (name, arn, id) {
        return inner
            .all_streams()
            .into_iter()
            .find(|s| crate::settings::stream_id(s) == id)
            .ok_or_else(|| {
                KinesisError::not_found(format!(
                    "Stream with id {id} under account {} not found.",
                    inner.config.account_id
                ))
            });
    }
    let stream = resolve(inner, name, arn)?;
    crate::settings::check_stream_id(&stream, id, &inner.config.account_id)?;
    Ok(stream)
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
    if status == crate::shapes::StreamStatus::Active {
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
pub(crate) fn status_name(status: crate::shapes::StreamStatus) -> &'static str {
    use crate::shapes::StreamStatus::*;
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
