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
    pub(crate) endpoint: &'a str,
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
        SdkError::DispatchFailure(failure) if failure.is_timeout() => Error::Timeout {
            operation,
            source: Some(Box::new(err)),
        },
        SdkError::DispatchFailure(failure) if failure.is_io() || failure.is_other() => Error::Unreachable {
            operation,
            endpoint: target.endpoint.to_owned(),
            source: Some(Box::new(err)),
        },
        SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_) if is_identity_failure(&err) => {
            Error::Credentials {
                operation,
                source: Some(Box::new(err)),
            }
        }
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

/// True when the failure came from resolving credentials (no provider had any, or one failed).
fn is_identity_failure(err: &(dyn std::error::Error + 'static)) -> bool {
    let text = crate::error::DisplayChain(err).to_string().to_ascii_lowercase();
    text.contains("credentials") || text.contains("identity")
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::get_item::GetItemError;
    use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    fn service_error<E>(err: E, status: u16) -> SdkError<E, HttpResponse> {
        let status = StatusCode::try_from(status).expect("valid status");
        SdkError::service_error(err, HttpResponse::new(status, SdkBody::empty()))
    }

    fn target() -> Target<'static> {
        Target {
            operation: Operation::Renew,
            table: "leases",
            endpoint: "http://127.0.0.1:1",
            key: Some("shardId-0"),
        }
    }

    fn code(code: &str) -> ErrorMetadata {
        ErrorMetadata::builder().code(code).message("m").build()
    }

    #[test]
    fn condition_failure_is_a_conflict() {
        let err = service_error(
            UpdateItemError::generic(code("ConditionalCheckFailedException")),
            400,
        );
        assert!(is_condition_failed(&err));
        let mapped = map_sdk_error(target(), err);
        assert!(mapped.is_conflict(), "{mapped:?}");
        assert!(mapped.to_string().contains("shardId-0"));
    }

    #[test]
    fn throttling_and_server_faults_are_retryable() {
        for throttle in [
            "ProvisionedThroughputExceededException",
            "ThrottlingException",
            "RequestLimitExceeded",
        ] {
            let mapped = map_sdk_error(
                target(),
                service_error(GetItemError::generic(code(throttle)), 400),
            );
            assert!(
                matches!(mapped, Error::Throttled { .. }),
                "{throttle}: {mapped:?}"
            );
            assert!(mapped.is_retryable());
        }
        let mapped = map_sdk_error(
            target(),
            service_error(GetItemError::generic(code("InternalServerError")), 500),
        );
        assert!(mapped.is_retryable(), "{mapped:?}");
        let mapped = map_sdk_error(
            target(),
            service_error(GetItemError::generic(code("ValidationException")), 400),
        );
        assert!(!mapped.is_retryable(), "{mapped:?}");
        let timeout: SdkError<GetItemError, HttpResponse> = SdkError::timeout_error("slow");
        let mapped = map_sdk_error(target(), timeout);
        assert!(matches!(mapped, Error::Timeout { .. }) && mapped.is_retryable());
    }

    #[test]
    fn missing_table_is_typed() {
        let mapped = map_sdk_error(
            target(),
            service_error(GetItemError::generic(code("ResourceNotFoundException")), 400),
        );
        assert!(mapped.is_table_not_found(), "{mapped:?}");
        assert!(mapped.to_string().contains("leases"));
    }
}
