//! Mapping SDK errors to [`Error`] at the edge, so no `SdkError` escapes the crate.
//!
//! Service errors are matched by code: `ConditionalCheckFailedException` is a fenced-write conflict,
//! `ResourceNotFoundException` a missing table, throttling codes are [`Error::Throttled`], 5xx responses and
//! transport failures are retryable.

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::error::Error;
use crate::store::Operation;

/// What the mapped failure is about, for naming it in the error.
pub(crate) struct Target<'a> {
    pub(crate) operation: Operation,
    pub(crate) table: &'a str,
    pub(crate) key: Option<&'a str>,
}

const THROTTLING_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "LimitExceededException",
    "TooManyRequestsException",
];

/// True when the error is DynamoDB's `ConditionalCheckFailedException`.
pub(crate) fn is_condition_failed<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    err.code() == Some("ConditionalCheckFailedException")
}

/// Maps any SDK error of a DynamoDB operation.
pub(crate) fn map_sdk_error<E>(target: Target<'_>, err: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let operation = target.operation;
    tracing::debug!(%operation, table = target.table, error = %DisplayErrorContext(&err), "DynamoDB call failed");
    let code = err.code().map(str::to_owned);
    let message = err.message().unwrap_or_default().to_owned();
    match &err {
        SdkError::TimeoutError(_) => Error::Timeout {
            operation,
            source: Some(Box::new(err)),
        },
        SdkError::DispatchFailure(failure) if !failure.is_user() => Error::Timeout {
            operation,
            source: Some(Box::new(err)),
        },
        SdkError::ServiceError(service) => {
            let status = service.raw().status();
            match code.as_deref() {
                Some("ConditionalCheckFailedException") => Error::Conflict {
                    operation,
                    key: target.key.unwrap_or_default().to_owned(),
                },
                Some("ResourceNotFoundException") => Error::TableNotFound {
                    operation,
                    table: target.table.to_owned(),
                },
                Some(code) if THROTTLING_CODES.contains(&code) => Error::Throttled {
                    operation,
                    source: Some(Box::new(err)),
                },
                _ => Error::Service {
                    operation,
                    code: code.unwrap_or_else(|| format!("HTTP {}", status.as_u16())),
                    message,
                    retryable: status.is_server_error(),
                    source: Some(Box::new(err)),
                },
            }
        }
        SdkError::ResponseError(_) => Error::Service {
            operation,
            code: code.unwrap_or_else(|| "ResponseError".to_owned()),
            message: DisplayErrorContext(&err).to_string(),
            retryable: true,
            source: Some(Box::new(err)),
        },
        _ => Error::Service {
            operation,
            code: code.unwrap_or_else(|| "ClientError".to_owned()),
            message: DisplayErrorContext(&err).to_string(),
            retryable: false,
            source: Some(Box::new(err)),
        },
    }
}
