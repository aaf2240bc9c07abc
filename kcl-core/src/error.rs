//! The crate's single error type.
//!
//! [`Error`] covers checkpointing (out-of-range checkpoints, a lost lease), the lease store (wrapped
//! [`kcl_checkpoint::Error`]), the record source (throttling, expired iterators, missing streams) and
//! configuration. Callers branch on the predicates: [`Error::is_lease_lost`],
//! [`Error::is_checkpoint_out_of_range`], [`Error::is_retryable`].

use kcl_checkpoint::ExtendedSequenceNumber;

use crate::config::ConfigError;

/// A boxed error kept as the `source()` of an [`Error`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A result whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a worker, checkpointer or record source operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// This worker no longer holds the shard's lease (another worker took it, or it could not be renewed in
    /// time): checkpoints are refused so the new owner's progress is never overwritten.
    #[error("the lease on shard {shard_id} was lost: checkpointing is no longer allowed")]
    LeaseLost {
        /// The lease key of the shard whose lease was lost (the shard id; in multi-stream mode
        /// `account:stream:creationEpoch:shardId`).
        shard_id: String,
    },
    /// The requested checkpoint is below the last checkpoint of the shard.
    #[error("checkpoint {requested} on shard {shard_id} is below the last checkpoint {last}")]
    CheckpointBelowLast {
        /// The shard's lease key.
        shard_id: String,
        /// What the processor asked for.
        requested: ExtendedSequenceNumber,
        /// The last checkpoint written.
        last: ExtendedSequenceNumber,
    },
    /// The requested checkpoint is above the largest record delivered to the processor (or `SHARD_END`
    /// before the end of the shard was delivered).
    #[error(
        "checkpoint {requested} on shard {shard_id} is beyond the largest delivered record {}",
        largest_delivered.as_ref().map_or_else(|| "(none yet)".to_owned(), ToString::to_string)
    )]
    CheckpointBeyondDelivered {
        /// The shard's lease key.
        shard_id: String,
        /// What the processor asked for.
        requested: ExtendedSequenceNumber,
        /// The largest position delivered so far, if any.
        largest_delivered: Option<ExtendedSequenceNumber>,
    },
    /// A sequence number given to the checkpointer (or returned by a source) is not decimal digits.
    #[error(transparent)]
    InvalidSequenceNumber(#[from] kcl_checkpoint::ParseSequenceError),
    /// The lease store failed.
    #[error("lease store: {0}")]
    Store(#[from] kcl_checkpoint::Error),
    /// The shard iterator expired (Kinesis iterators live 5 minutes); the retriever gets a new one after
    /// the last delivered record.
    #[error("the shard iterator of {shard_id} expired")]
    ExpiredIterator {
        /// The shard.
        shard_id: String,
    },
    /// The source throttled the call (ProvisionedThroughputExceeded, LimitExceeded). Retryable.
    #[error("{operation} was throttled by the record source")]
    Throttled {
        /// The source operation (`GetRecords`, `ListShards`, ...).
        operation: &'static str,
        /// The underlying error, when there is one.
        #[source]
        source: Option<BoxError>,
    },
    /// The stream or shard does not exist.
    #[error("{operation}: {resource} not found")]
    ResourceNotFound {
        /// The source operation.
        operation: &'static str,
        /// What is missing.
        resource: String,
    },
    /// Any other record-source failure.
    #[error("{operation} failed: {code}: {message}")]
    Source {
        /// The source operation.
        operation: &'static str,
        /// The service error code, or `unknown`.
        code: String,
        /// The message.
        message: String,
        /// Whether the same call may succeed later (server faults, timeouts).
        retryable: bool,
        /// The underlying error, when there is one.
        #[source]
        source: Option<BoxError>,
    },
    /// The record source could not be reached: the connection was refused or reset, or the host name did
    /// not resolve. Not a timeout: nothing answered at `endpoint`. Retryable.
    #[error("{operation}: cannot connect to the record source at {endpoint}")]
    Unreachable {
        /// The source operation.
        operation: &'static str,
        /// The endpoint (URL, or host and port) that did not answer.
        endpoint: String,
        /// The transport error (for example `Connection refused (os error 111)`).
        #[source]
        source: Option<BoxError>,
    },
    /// No usable AWS credentials for the record source. Fatal: retrying cannot fix it.
    #[error("{operation}: no usable AWS credentials for the record source")]
    Credentials {
        /// The source operation.
        operation: &'static str,
        /// Why the credentials provider failed.
        #[source]
        source: Option<BoxError>,
    },
    /// A condition retrying cannot fix persisted: the worker stopped. `cause` is the last failure.
    #[error("{what} failed {attempts} times in a row with an error retrying cannot fix; the worker stopped")]
    Fatal {
        /// What kept failing (`shard sync`, `lease taker`, `lease table`).
        what: &'static str,
        /// Consecutive failures seen.
        attempts: u32,
        /// The last failure (for example [`Error::ResourceNotFound`] for a missing stream).
        #[source]
        cause: Box<Error>,
    },
    /// The worker's task stopped abnormally (panicked or was aborted).
    #[error("the worker stopped: {reason}")]
    WorkerStopped {
        /// What happened.
        reason: String,
    },
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

impl Error {
    /// True when the shard's lease was lost.
    pub fn is_lease_lost(&self) -> bool {
        matches!(self, Error::LeaseLost { .. })
    }

    /// True when a checkpoint was refused for lying outside [last checkpoint, largest delivered].
    pub fn is_checkpoint_out_of_range(&self) -> bool {
        matches!(
            self,
            Error::CheckpointBelowLast { .. } | Error::CheckpointBeyondDelivered { .. }
        )
    }

    /// True when the source throttled the call.
    pub fn is_throttled(&self) -> bool {
        matches!(self, Error::Throttled { .. })
    }

    /// True when the shard iterator expired.
    pub fn is_expired_iterator(&self) -> bool {
        matches!(self, Error::ExpiredIterator { .. })
    }

    /// True when the same call may succeed later: throttling, expired iterators (after a new iterator),
    /// retryable store or source failures.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Throttled { .. } | Error::ExpiredIterator { .. } | Error::Unreachable { .. } => true,
            Error::Store(e) => e.is_retryable(),
            Error::Source { retryable, .. } => *retryable,
            _ => false,
        }
    }

    /// True when retrying cannot fix it: a missing stream (or other resource), access denied, invalid or
    /// missing credentials, a missing lease table, an invalid configuration, or a [`Error::Fatal`]
    /// already. The worker stops with [`Error::Fatal`] after
    /// [`fatal_error_attempts`](crate::WorkerConfigBuilder::fatal_error_attempts) of them in a row.
    pub fn is_fatal(&self) -> bool {
        match self {
            Error::ResourceNotFound { .. }
            | Error::Credentials { .. }
            | Error::Config(_)
            | Error::Fatal { .. } => true,
            Error::Store(e) => e.is_fatal(),
            Error::Source { code, .. } => kcl_checkpoint::is_auth_failure_code(code),
            _ => false,
        }
    }

    /// The root cause for matching: `cause` of an [`Error::Fatal`], else the error itself.
    pub fn root(&self) -> &Error {
        match self {
            Error::Fatal { cause, .. } => cause.root(),
            other => other,
        }
    }
}

/// Counts failures in a row that retrying cannot fix; the `limit`-th becomes [`Error::Fatal`].
#[derive(Debug)]
pub(crate) struct FatalRun {
    what: &'static str,
    limit: u32,
    run: u32,
}

impl FatalRun {
    pub(crate) fn new(what: &'static str, limit: u32) -> Self {
        FatalRun { what, limit, run: 0 }
    }

    pub(crate) fn succeeded(&mut self) {
        self.run = 0;
    }

    /// Records a failure; returns the fatal error once the run of unfixable failures reaches the limit.
    pub(crate) fn failed(&mut self, error: Error) -> Option<Error> {
        if !error.is_fatal() {
            self.run = 0;
            return None;
        }
        self.run += 1;
        (self.run >= self.limit).then(|| Error::Fatal {
            what: self.what,
            attempts: self.run,
            cause: Box::new(error),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicates_classify() {
        let lost = Error::LeaseLost { shard_id: "s".into() };
        assert!(lost.is_lease_lost() && !lost.is_retryable());
        let below = Error::CheckpointBelowLast {
            shard_id: "s".into(),
            requested: ExtendedSequenceNumber::TrimHorizon,
            last: ExtendedSequenceNumber::ShardEnd,
        };
        assert!(below.is_checkpoint_out_of_range());
        let beyond = Error::CheckpointBeyondDelivered {
            shard_id: "s".into(),
            requested: ExtendedSequenceNumber::ShardEnd,
            largest_delivered: None,
        };
        assert!(beyond.is_checkpoint_out_of_range());
        assert!(beyond.to_string().contains("(none yet)"));
        let throttled = Error::Throttled {
            operation: "GetRecords",
            source: None,
        };
        assert!(throttled.is_throttled() && throttled.is_retryable());
    }
}
