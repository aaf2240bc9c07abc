//! The crate's single error type.
//!
//! Every [`LeaseStore`](crate::LeaseStore) operation returns [`Error`]. Callers mostly branch on the
//! predicates: [`Error::is_conflict`] (a fenced write lost: re-read the lease and decide again),
//! [`Error::is_retryable`] (throttling, timeouts, server faults: the same call may succeed later) and
//! [`Error::is_not_found`]. Transport-level SDK errors are mapped here at the edge and never exposed.

use std::fmt;

use crate::operation::Operation;

/// A boxed error kept as the `source()` of an [`Error`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A result whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An item of the lease table that could not be read as a lease.
///
/// It names the item (its `leaseKey`, when that attribute itself was readable) and the attribute at fault,
/// so an operator can repair the table by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedLease {
    /// The item's `leaseKey`, or `None` when the key itself is missing or not a string.
    pub key: Option<String>,
    /// The attribute name at fault (for example `leaseCounter`).
    pub attribute: String,
    /// What is wrong with it (missing, wrong type, unparsable value).
    pub problem: String,
}

impl fmt::Display for MalformedLease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "malformed lease item {}: attribute `{}` {}",
            self.key.as_deref().unwrap_or("<no leaseKey>"),
            self.attribute,
            self.problem
        )
    }
}

impl std::error::Error for MalformedLease {}

/// Why a lease-store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A fenced write lost: the stored lease's counter (or owner) was not what the caller last saw, or the
    /// item to create already exists. Re-read the lease before deciding again; retrying the same write
    /// cannot succeed.
    #[error("{operation} on lease {key} lost a fenced write: the stored lease changed since it was read")]
    Conflict {
        /// The operation that was rejected.
        operation: Operation,
        /// The lease key it addressed.
        key: String,
    },
    /// The lease does not exist (for operations that require it to).
    #[error("{operation}: lease {key} does not exist")]
    LeaseNotFound {
        /// The operation that was attempted.
        operation: Operation,
        /// The missing lease key.
        key: String,
    },
    /// The lease table does not exist (call [`LeaseStore::ensure_table`](crate::LeaseStore::ensure_table)).
    #[error("{operation}: lease table {table} does not exist")]
    TableNotFound {
        /// The operation that was attempted.
        operation: Operation,
        /// The table name.
        table: String,
    },
    /// The table did not become active in time.
    #[error("lease table {table} is not active after waiting {waited:?}")]
    TableNotActive {
        /// The table name.
        table: String,
        /// How long we waited.
        waited: std::time::Duration,
    },
    /// An item of the lease table is not a valid lease.
    #[error(transparent)]
    Malformed(#[from] MalformedLease),
    /// The caller passed something the store cannot write (for example an empty key, or renewing a lease
    /// that has no owner).
    #[error("{operation}: invalid argument: {reason}")]
    InvalidArgument {
        /// The operation that was attempted.
        operation: Operation,
        /// What is wrong.
        reason: String,
    },
    /// A store was configured with invalid settings (for example an invalid table name).
    #[error("invalid lease store configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// The service asked us to slow down (DynamoDB throttling, request limits). Retryable.
    #[error("{operation} was throttled")]
    Throttled {
        /// The operation that was throttled.
        operation: Operation,
        /// The underlying error, when there is one.
        #[source]
        source: Option<BoxError>,
    },
    /// The request timed out (the connect, an attempt or the whole operation); it may or may not have been
    /// applied. Retryable.
    #[error("{operation} timed out (the write may or may not have been applied)")]
    Timeout {
        /// The operation that timed out.
        operation: Operation,
        /// The underlying error, when there is one.
        #[source]
        source: Option<BoxError>,
    },
    /// The store could not be reached: the connection was refused or reset, or the host name did not
    /// resolve. Not a timeout: nothing answered at `endpoint`. Retryable (the store may come back).
    #[error("{operation}: cannot connect to the lease store at {endpoint}")]
    Unreachable {
        /// The operation that was attempted.
        operation: Operation,
        /// The endpoint (URL, or host and port) that did not answer.
        endpoint: String,
        /// The transport error (for example `Connection refused (os error 111)`).
        #[source]
        source: Option<BoxError>,
    },
    /// No usable credentials: none found by the provider chain, or the provider failed. Retrying cannot fix
    /// it (fatal for a worker).
    #[error("{operation}: no usable AWS credentials for the lease store")]
    Credentials {
        /// The operation that was attempted.
        operation: Operation,
        /// Why the credentials provider failed.
        #[source]
        source: Option<BoxError>,
    },
    /// Any other service failure. `retryable` is true for server-side (5xx) faults.
    #[error("{operation} failed: {code}: {message}")]
    Service {
        /// The operation that failed.
        operation: Operation,
        /// The service's error code (for example `InternalServerError`), or `unknown`.
        code: String,
        /// The service's message.
        message: String,
        /// Whether the same request may succeed later.
        retryable: bool,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },
}

impl Error {
    /// True when a fenced write lost (re-read and decide again; do not retry blindly).
    pub fn is_conflict(&self) -> bool {
        matches!(self, Error::Conflict { .. })
    }

    /// True when the same call may succeed if retried later (throttling, timeouts, server faults).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Throttled { .. } | Error::Timeout { .. } | Error::Unreachable { .. } => true,
            Error::Service { retryable, .. } => *retryable,
            _ => false,
        }
    }

    /// True when retrying cannot fix it: access denied, invalid or missing credentials, an invalid
    /// configuration, a missing lease table. A worker stops (with this error) after a bounded number of
    /// such failures in a row instead of retrying forever.
    pub fn is_fatal(&self) -> bool {
        match self {
            Error::Credentials { .. } | Error::Config { .. } | Error::TableNotFound { .. } => true,
            Error::Service { code, .. } => is_auth_failure_code(code),
            _ => false,
        }
    }

    /// True when the store answered (any service response, a conflict included); false for timeouts,
    /// connection failures and missing credentials, where no answer came back.
    pub fn is_answer(&self) -> bool {
        !matches!(
            self,
            Error::Timeout { .. } | Error::Unreachable { .. } | Error::Credentials { .. }
        )
    }

    /// True when the addressed lease does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::LeaseNotFound { .. })
    }

    /// True when the lease table does not exist.
    pub fn is_table_not_found(&self) -> bool {
        matches!(self, Error::TableNotFound { .. })
    }

    /// True when a stored item is not a valid lease.
    pub fn is_malformed(&self) -> bool {
        matches!(self, Error::Malformed(_))
    }

    /// The operation that failed, when the error names one.
    pub fn operation(&self) -> Option<Operation> {
        match self {
            Error::Conflict { operation, .. }
            | Error::LeaseNotFound { operation, .. }
            | Error::TableNotFound { operation, .. }
            | Error::InvalidArgument { operation, .. }
            | Error::Throttled { operation, .. }
            | Error::Timeout { operation, .. }
            | Error::Unreachable { operation, .. }
            | Error::Credentials { operation, .. }
            | Error::Service { operation, .. } => Some(*operation),
            Error::TableNotActive { .. } | Error::Malformed(_) | Error::Config { .. } => None,
        }
    }

    pub(crate) fn conflict(operation: Operation, key: &str) -> Self {
        Error::Conflict {
            operation,
            key: key.to_owned(),
        }
    }

    pub(crate) fn not_found(operation: Operation, key: &str) -> Self {
        Error::LeaseNotFound {
            operation,
            key: key.to_owned(),
        }
    }

    pub(crate) fn invalid(operation: Operation, reason: impl Into<String>) -> Self {
        Error::InvalidArgument {
            operation,
            reason: reason.into(),
        }
    }
}

/// Service error codes that mean the caller is not allowed, or not who it claims to be: retrying cannot fix
/// them (AWS's common errors, shared by Kinesis and DynamoDB).
pub const AUTH_FAILURE_CODES: &[&str] = &[
    "AccessDeniedException",
    "AccessDenied",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "MissingAuthenticationTokenException",
    "MissingAuthenticationToken",
    "IncompleteSignature",
    "InvalidClientTokenId",
    "ExpiredTokenException",
    "NotAuthorized",
];

/// True when `code` is one of [`AUTH_FAILURE_CODES`].
pub fn is_auth_failure_code(code: &str) -> bool {
    AUTH_FAILURE_CODES.contains(&code)
}

/// Displays an error with its whole cause chain, `outer: cause: root cause`, skipping a cause whose text
/// the previous one already shows. Use it wherever an error is logged: `error = %DisplayChain(&e)`.
pub struct DisplayChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for DisplayChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut last = self.0.to_string();
        f.write_str(&last)?;
        let mut next = self.0.source();
        while let Some(cause) = next {
            let text = cause.to_string();
            if !text.is_empty() && !last.contains(&text) {
                write!(f, ": {text}")?;
            }
            last = text;
            next = cause.source();
        }
        Ok(())
    }
}

impl fmt::Debug for DisplayChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicates_classify_variants() {
        let conflict = Error::conflict(Operation::Renew, "shardId-0");
        assert!(conflict.is_conflict());
        assert!(!conflict.is_retryable());
        assert_eq!(conflict.operation(), Some(Operation::Renew));

        let throttled = Error::Throttled {
            operation: Operation::Take,
            source: None,
        };
        assert!(throttled.is_retryable());
        assert!(!throttled.is_conflict());

        let service = Error::Service {
            operation: Operation::List,
            code: "ValidationException".into(),
            message: "bad".into(),
            retryable: false,
            source: None,
        };
        assert!(!service.is_retryable());

        let malformed = Error::from(MalformedLease {
            key: Some("k".into()),
            attribute: "leaseCounter".into(),
            problem: "is missing".into(),
        });
        assert!(malformed.is_malformed());
        assert!(malformed.to_string().contains("leaseCounter"));
        assert!(malformed.to_string().contains('k'));
    }

    #[test]
    fn fatal_and_answer_classify_and_the_chain_shows_every_cause() {
        let refused = Error::Unreachable {
            operation: Operation::List,
            endpoint: "http://127.0.0.1:1".into(),
            source: Some(Box::new(std::io::Error::new(
                std::io::ErrorKind::ConnectionRefused,
                "Connection refused (os error 111)",
            ))),
        };
        assert!(refused.is_retryable() && !refused.is_fatal() && !refused.is_answer());
        let text = DisplayChain(&refused).to_string();
        assert!(!text.contains("timed out"), "{text}");
        assert!(
            text.contains("127.0.0.1:1") && text.ends_with("Connection refused (os error 111)"),
            "{text}"
        );
        let denied = Error::Service {
            operation: Operation::List,
            code: "AccessDeniedException".into(),
            message: "no".into(),
            retryable: false,
            source: None,
        };
        assert!(denied.is_fatal() && denied.is_answer() && !denied.is_retryable());
        assert!(Error::conflict(Operation::Take, "k").is_answer());
    }
}
