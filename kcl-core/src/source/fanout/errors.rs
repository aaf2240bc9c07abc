//! How fan-out failures are classified: "fan-out is unavailable here" (fall back to polling) or an
//! ordinary error, mapped by code as the polling source does.

use std::fmt;

use aws_sdk_kinesis::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::error::Error;

/// Error codes that mean "this endpoint or caller cannot use enhanced fan-out": fall back to polling.
const UNAVAILABLE_CODES: &[&str] = &[
    "UnknownOperationException",
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidAction",
    "NotImplemented",
];

/// Whether a failure means fan-out cannot be used here (`Yes`) or is an ordinary error (`No`).
pub(super) enum Unavailable {
    Yes(String),
    No(Error),
}

impl Unavailable {
    pub(super) fn into_error(self) -> Error {
        match self {
            Unavailable::Yes(reason) => Error::Source {
                operation: "EnhancedFanOut",
                code: "Unavailable".into(),
                message: reason,
                retryable: false,
                source: None,
            },
            Unavailable::No(error) => error,
        }
    }
}

pub(super) fn classify<E>(
    operation: &'static str,
    resource: &str,
    endpoint: &str,
    err: SdkError<E>,
) -> Unavailable
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match err.code() {
        Some(code) if UNAVAILABLE_CODES.contains(&code) => Unavailable::Yes(format!(
            "{operation}: {code}: {}",
            err.message().unwrap_or_default()
        )),
        _ => Unavailable::No(map_error(operation, resource, endpoint, err)),
    }
}

/// Maps an SDK error at the edge, by error code, as the polling source does; a takeover by a newer
/// subscription (`ResourceInUseException`) is retryable here.
pub(super) fn map_error<E>(operation: &'static str, resource: &str, endpoint: &str, err: SdkError<E>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    crate::source::kinesis::map_error_with(operation, resource, endpoint, err, &["ResourceInUseException"])
}

/// Maps an error of an open event stream: modelled errors by code, transport failures as retryable.
pub(super) fn map_stream_error<E, R>(shard_id: &str, err: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    let code = err.code().unwrap_or("unknown").to_owned();
    let message = err.message().unwrap_or_default().to_owned();
    tracing::debug!(shard_id, error = %DisplayErrorContext(&err), "SubscribeToShard event stream failed");
    match code.as_str() {
        "ResourceNotFoundException" => Error::ResourceNotFound {
            operation: "SubscribeToShard",
            resource: if message.is_empty() {
                shard_id.to_owned()
            } else {
                message
            },
        },
        "LimitExceededException" | "ProvisionedThroughputExceededException" => Error::Throttled {
            operation: "SubscribeToShard",
            source: Some(Box::new(err)),
        },
        _ => Error::Source {
            operation: "SubscribeToShard",
            code,
            message,
            // A takeover (ResourceInUse) or a broken stream: resubscribing may work; KMS errors will not.
            retryable: !matches!(err, SdkError::ServiceError(_))
                || !err.code().is_some_and(|c| c.starts_with("KMS")),
            source: Some(Box::new(err)),
        },
    }
}
