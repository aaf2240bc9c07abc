//! The crate's single error type.
//!
//! Every [`LeaseStore`](crate::LeaseStore) operation returns [`Error`]. Callers mostly branch on the
//! predicates: [`Error::is_conflict`] (a fenced write lost: re-read the lease and decide again),
//! [`Error::is_retryable`] (throttling, timeouts, server faults: the same call may succeed later) and
//! [`Error::is_not_found`]. Transport-level SDK errors are mapped here at the edge and never exposed.

use std::fmt;

use crate::store::Operation;

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
    /// The request timed out or the connection failed; it may or may not have been applied. Retryable.
    #[error("{operation} timed out or failed in transport")]
    Timeout {
        /// The operation that timed out.
        operation: Operation,
        /// The underlying error, when there is one.
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
            Error::Throttled { .. } | Error::Timeout { .. } => true,
            Error::Service { retryable, .. } => *retryable,
            _ => false,
        }
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
}
