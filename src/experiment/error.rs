//! What can go wrong in a run.

/// A run failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExperimentError {
    /// The scenario does not parse or a value is out of range.
    #[error("{source_name}: {message}")]
    Scenario {
        /// The file (or `scenario`).
        source_name: String,
        /// What is wrong and what to change.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A worker could not be built.
    #[error("worker: {0}")]
    Worker(String),
    /// The lease store failed where the harness itself reads it (samples, table creation).
    #[error("lease store: {0}")]
    Store(String),
    /// A plot could not be drawn.
    #[error("plot {path}: {message}")]
    Plot {
        /// The file.
        path: String,
        /// The drawing error.
        message: String,
    },
}
