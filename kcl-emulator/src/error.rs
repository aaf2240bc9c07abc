//! The emulator's errors: [`KinesisError`], an AWS-style error (code + message), and [`ConfigError`]
//! (see the crate's "Errors" section for why these two, plus the server's `ServerError`).
//!
//! Every operation fails with a [`KinesisError`] whose [`ErrorCode`] is the one real Kinesis would send in
//! the `__type` field of its error response, and whose message follows the AWS wording closely enough for
//! clients that inspect it. The server face maps them to HTTP responses with [`KinesisError::http_status`].

use std::fmt;

/// The AWS error code (`__type`) of a [`KinesisError`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// The named stream, shard or consumer does not exist (or is not available yet).
    ResourceNotFoundException,
    /// The resource is not in a state that allows the operation (e.g. the stream is CREATING/UPDATING).
    ResourceInUseException,
    /// A parameter is semantically invalid (e.g. a sequence number from another shard).
    InvalidArgumentException,
    /// A parameter fails the API's syntactic constraints (length, pattern, range).
    ValidationException,
    /// An account or stream limit was hit, or a control-plane rate limit.
    LimitExceededException,
    /// A shard iterator is older than five minutes.
    ExpiredIteratorException,
    /// A per-shard throughput limit was hit.
    ProvisionedThroughputExceededException,
    /// A ListShards / ListStreamConsumers `NextToken` has expired.
    ExpiredNextTokenException,
    /// An internal failure (retryable).
    InternalFailure,
    /// The caller is not allowed to perform the operation.
    AccessDeniedException,
    /// KMS denied access to the stream's key.
    KmsAccessDeniedException,
    /// KMS throttled the request.
    KmsThrottlingException,
    /// The request body could not be parsed (used by the server face).
    SerializationException,
    /// The requested operation is unknown (used by the server face).
    UnknownOperationException,
    /// Any other code, e.g. one scripted through fault injection.
    Other(String),
}

impl ErrorCode {
    /// The AWS `__type` string of this code.
    pub fn as_str(&self) -> &str {
        match self {
            Self::ResourceNotFoundException => "ResourceNotFoundException",
            Self::ResourceInUseException => "ResourceInUseException",
            Self::InvalidArgumentException => "InvalidArgumentException",
            Self::ValidationException => "ValidationException",
            Self::LimitExceededException => "LimitExceededException",
            Self::ExpiredIteratorException => "ExpiredIteratorException",
            Self::ProvisionedThroughputExceededException => "ProvisionedThroughputExceededException",
            Self::ExpiredNextTokenException => "ExpiredNextTokenException",
            Self::InternalFailure => "InternalFailure",
            Self::AccessDeniedException => "AccessDeniedException",
            Self::KmsAccessDeniedException => "KMSAccessDeniedException",
            Self::KmsThrottlingException => "KMSThrottlingException",
            Self::SerializationException => "SerializationException",
            Self::UnknownOperationException => "UnknownOperationException",
            Self::Other(code) => code,
        }
    }

    /// Parses an AWS `__type` string; unknown codes become [`ErrorCode::Other`].
    pub fn parse(code: &str) -> Self {
        match code {
            "ResourceNotFoundException" => Self::ResourceNotFoundException,
            "ResourceInUseException" => Self::ResourceInUseException,
            "InvalidArgumentException" => Self::InvalidArgumentException,
            "ValidationException" => Self::ValidationException,
            "LimitExceededException" => Self::LimitExceededException,
            "ExpiredIteratorException" => Self::ExpiredIteratorException,
            "ProvisionedThroughputExceededException" => Self::ProvisionedThroughputExceededException,
            "ExpiredNextTokenException" => Self::ExpiredNextTokenException,
            "InternalFailure" => Self::InternalFailure,
            "AccessDeniedException" => Self::AccessDeniedException,
            "KMSAccessDeniedException" => Self::KmsAccessDeniedException,
            "KMSThrottlingException" => Self::KmsThrottlingException,
            "SerializationException" => Self::SerializationException,
            "UnknownOperationException" => Self::UnknownOperationException,
            other => Self::Other(other.to_owned()),
        }
    }

    /// Whether a client may retry the same request unchanged (throttling and internal failures).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::ProvisionedThroughputExceededException
                | Self::LimitExceededException
                | Self::InternalFailure
                | Self::KmsThrottlingException
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error returned by an emulated Kinesis operation: an AWS error code and message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
#[non_exhaustive]
pub struct KinesisError {
    code: ErrorCode,
    message: String,
}

impl KinesisError {
    /// An error with the given code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// The AWS `__type` of this error, e.g. `"ResourceNotFoundException"`.
    pub fn code(&self) -> &str {
        self.code.as_str()
    }

    /// The typed error code.
    pub fn error_code(&self) -> &ErrorCode {
        &self.code
    }

    /// The AWS-style human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether retrying the same request may succeed (throttling, limits, internal failures).
    pub fn is_retryable(&self) -> bool {
        self.code.is_retryable()
    }

    /// Whether this is a `ProvisionedThroughputExceededException`.
    pub fn is_throttling(&self) -> bool {
        self.code == ErrorCode::ProvisionedThroughputExceededException
    }

    /// Whether this is a `ResourceNotFoundException`.
    pub fn is_not_found(&self) -> bool {
        self.code == ErrorCode::ResourceNotFoundException
    }

    /// The HTTP status real Kinesis answers this error with (400, or 500 for internal failures).
    pub fn http_status(&self) -> u16 {
        match self.code {
            ErrorCode::InternalFailure => 500,
            _ => 400,
        }
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ResourceNotFoundException, message)
    }

    pub(crate) fn in_use(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ResourceInUseException, message)
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidArgumentException, message)
    }

    pub(crate) fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ValidationException, message)
    }

    pub(crate) fn limit(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::LimitExceededException, message)
    }

    pub(crate) fn throughput(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ProvisionedThroughputExceededException, message)
    }
}

/// What was handed in to build an emulator is invalid: an [`EmulatorConfig`](crate::EmulatorConfig)
/// value (from the builder's `build()`) or an [`EmulatorSnapshot`](crate::EmulatorSnapshot) to restore.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A value is outside its allowed range.
    #[error("invalid emulator configuration: {field}: {reason}")]
    Invalid {
        /// The offending setting.
        field: &'static str,
        /// Why it is rejected.
        reason: String,
    },
    /// A snapshot is inconsistent (or of an unsupported version); nothing was restored.
    #[error("invalid emulator snapshot: {reason}")]
    InvalidSnapshot {
        /// What is wrong with it.
        reason: String,
    },
}

impl ConfigError {
    /// Whether the error is about a snapshot rather than a configuration value.
    pub fn is_snapshot(&self) -> bool {
        matches!(self, Self::InvalidSnapshot { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for code in [
            ErrorCode::ResourceNotFoundException,
            ErrorCode::ProvisionedThroughputExceededException,
            ErrorCode::KmsThrottlingException,
            ErrorCode::Other("Custom".into()),
        ] {
            assert_eq!(ErrorCode::parse(code.as_str()), code);
        }
    }

    #[test]
    fn retryable_predicates() {
        assert!(KinesisError::throughput("x").is_retryable());
        assert!(!KinesisError::not_found("x").is_retryable());
        assert_eq!(
            KinesisError::not_found("gone").to_string(),
            "ResourceNotFoundException: gone"
        );
        assert_eq!(
            KinesisError::new(ErrorCode::InternalFailure, "").http_status(),
            500
        );
    }
}
