//! Errors of the server layer.
//!
//! Two kinds live here. [`ServerError`] is what the public API returns when the server itself cannot run
//! (binding, reading the persisted state, bad command-line values). [`ApiError`] is an error *answer*: the AWS-shaped
//! body (`{"__type": ..., "message": ...}`) and HTTP status sent back to a client for a request that could
//! not be served. Every failure on the request path ends as an `ApiError`; none of them ends the server.

use http::StatusCode;

/// Why the server could not start or keep running.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// A socket operation (bind, local address) failed.
    #[error("server i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// A persistence file (snapshot or record journal) could not be read, written or applied.
    #[error("persistence error at {path}: {message}")]
    Persistence {
        /// The file (or directory).
        path: std::path::PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A configuration value was rejected (for example a malformed `name:shards` initial stream).
    #[error("invalid server configuration: {0}")]
    Config(String),
    /// The TLS certificate or key could not be made or loaded.
    #[error("TLS setup failed: {0}")]
    Tls(String),
    /// The emulator refused a request the server makes on its own behalf (such as creating an initial
    /// stream); the payload is the AWS error code and message.
    #[error("emulator rejected {operation}: {code}: {message}")]
    Emulator {
        /// The operation the server attempted.
        operation: String,
        /// The AWS error code (`__type`).
        code: String,
        /// The error message.
        message: String,
    },
}

impl ServerError {
    /// Whether retrying the same action may succeed (transient socket errors only).
    pub fn is_retryable(&self) -> bool {
        matches!(self, ServerError::Io(e) if matches!(
            e.kind(),
            std::io::ErrorKind::Interrupted | std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ))
    }

    /// Whether the error comes from the user's configuration rather than the environment.
    pub fn is_config(&self) -> bool {
        matches!(self, ServerError::Config(_) | ServerError::Tls(_))
    }
}

/// An AWS-shaped error answer: HTTP status, `__type` and `message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: String,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    /// An error answer for an AWS error code, with the status AWS uses for it.
    pub(crate) fn from_code(code: impl Into<String>, message: impl Into<String>) -> Self {
        let code = code.into();
        let status = status_for_code(&code);
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub(crate) fn serialization(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "SerializationException", message)
    }

    pub(crate) fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "ValidationException", message)
    }

    pub(crate) fn unknown_operation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "UnknownOperationException", message)
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalFailure", message)
    }
}

/// The HTTP status AWS sends with an error code: 500 for internal failures, 503 when unavailable, 400
/// for everything a client caused (Kinesis answers its modelled errors, throttling included, with 400).
pub(crate) fn status_for_code(code: &str) -> StatusCode {
    match code {
        "InternalFailure" | "InternalFailureException" | "InternalServerError" => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
        "ServiceUnavailable" | "ServiceUnavailableException" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_codes_map_to_500_and_client_codes_to_400() {
        assert_eq!(
            status_for_code("InternalFailure"),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(
            status_for_code("ServiceUnavailable"),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            status_for_code("ResourceNotFoundException"),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status_for_code("ProvisionedThroughputExceededException"),
            StatusCode::BAD_REQUEST
        );
    }

    #[test]
    fn retryable_only_for_transient_io() {
        let e = ServerError::Io(std::io::Error::from(std::io::ErrorKind::TimedOut));
        assert!(e.is_retryable());
        let e = ServerError::Config("x".into());
        assert!(!e.is_retryable());
        assert!(e.is_config());
    }
}
