//! The operational layer for long-running consumers (feature `service`; the endpoints need `http`): a
//! production consumer is a record processor plus a few lines.
//!
//! ```no_run
//! use kcl::core::{Checkpointer, ProcessRecordsInput, ProcessorError, ShardRecordProcessor};
//!
//! struct Printer;
//!
//! #[kcl::core::async_trait]
//! impl ShardRecordProcessor for Printer {
//!     async fn process_records(&mut self, input: &ProcessRecordsInput, cp: &Checkpointer)
//!         -> Result<(), ProcessorError> {
//!         for r in &input.records {
//!             println!("{}", r.partition_key);
//!         }
//!         cp.checkpoint().await?;
//!         Ok(())
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> std::process::ExitCode {
//!     kcl::service::main(|_shard: &str| Box::new(Printer) as Box<dyn ShardRecordProcessor>).await
//! }
//! ```
//!
//! [`main`] reads the configuration from the environment, sets up logging, builds the AWS clients from the
//! SDK's own environment, serves the HTTP endpoints, runs the worker until SIGTERM or SIGINT and shuts it
//! down within the deadline. Run with `--healthcheck`, it instead probes `/healthz` and exits 0 or 1 (the
//! container health check). [`Service`] offers the same in pieces.
//!
//! # Environment variables
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `KCL_APPLICATION_NAME` | (required) | application name: lease table and fan-out consumer name |
//! | `KCL_STREAM_NAME` | (required) | stream name, or stream ARN (`arn:aws:kinesis:...`) |
//! | `KCL_WORKER_ID` | ECS task id, else `<host>-<random>` | worker id, unique in the fleet |
//! | `KCL_LEASE_TABLE` | the application name | lease table name |
//! | `KCL_INITIAL_POSITION` | `LATEST` | `LATEST`, `TRIM_HORIZON` or `AT_TIMESTAMP=<RFC 3339 time>` |
//! | `KCL_LEASE_DURATION` | `10s` | lease duration (renewed every third of it) |
//! | `KCL_LEASE_TAKER_INTERVAL` | `1s` | how often the taker looks for free leases |
//! | `KCL_LEASE_RENEWAL` | `per-lease` | `per-lease` (Java KCL compatible) or `heartbeat` (one heartbeat per worker: far fewer requests) |
//! | `KCL_GRACEFUL_HANDOFF` | `true` | balancing moves as handoffs (the owner checkpoints first) rather than takeovers |
//! | `KCL_SHARD_SYNC_INTERVAL` | `60s` | how often shards are listed |
//! | `KCL_IDLE_TIME_BETWEEN_READS` | `1500ms` | pause after an empty GetRecords |
//! | `KCL_MAX_RECORDS` | `10000` | records per GetRecords call (1..=10000) |
//! | `KCL_MAX_LEASES_PER_WORKER` | unlimited | most leases one worker holds |
//! | `KCL_RETRIEVAL_MODE` | `polling` | `polling` or `fanout` (enhanced fan-out) |
//! | `KCL_CONSUMER_NAME` | the application name | enhanced fan-out consumer name |
//! | `KCL_FATAL_ERROR_ATTEMPTS` | `10` | failures in a row that retrying cannot fix before `run` ends |
//! | `KCL_PROCESSING` | `kcl` | defaults of the processing variables below: `kcl` (batches as read, retried until they succeed, the processor checkpoints) or `lambda` (Lambda's event source mapping: batches of 100, a checkpoint after every batch) |
//! | `KCL_BATCH_SIZE` | as read (`100` with `lambda`) | most records per `process_records` call (1..=10000; Lambda's `BatchSize`) |
//! | `KCL_MAX_BATCHING_WINDOW` | `0s` | how long a batch waits to fill up to `KCL_BATCH_SIZE` (at most `300s`) |
//! | `KCL_MAX_RETRY_ATTEMPTS` | `-1` | retries of a failed batch before its records are given up on (0..=10000; `-1`: no limit) |
//! | `KCL_MAX_RECORD_AGE` | `-1` | records older than this are given up on unprocessed (`60s` to `7d`; `-1`: no limit) |
//! | `KCL_BISECT_BATCH_ON_ERROR` | `false` | split a failing batch in halves before retrying it |
//! | `KCL_REPORT_BATCH_ITEM_FAILURES` | `false` | read a `BatchItemFailure` error as a partial batch response (the records before it are done) |
//! | `KCL_FILTER_PATTERNS` | none | JSON array of up to 5 event patterns, e.g. `[{"data":{"type":["order"]}}]` (or Lambda's `{"Filters":[{"Pattern":"..."}]}`); records no pattern matches skip the processor |
//! | `KCL_TUMBLING_WINDOW` | off | tumbling windows of this length (`1s` to `900s`, whole seconds) |
//! | `KCL_PARALLELIZATION_FACTOR` | `1` | processor instances per shard, fed by partition-key hash (1..=10; not with `KCL_TUMBLING_WINDOW`) |
//! | `KCL_CHECKPOINT_AFTER_BATCH` | `false` (`true` with `lambda`) | the worker checkpoints after every batch it is done with |
//! | `KCL_ON_FAILURE_STREAM` | none | stream name or ARN that gets one record per batch given up on (Lambda's on-failure destination; same AWS configuration as the source) |
//! | `KCL_ON_FAILURE_FILE` | none | file that gets one JSON line per batch given up on (instead of `KCL_ON_FAILURE_STREAM`) |
//! | `KCL_ON_FAILURE_INCLUDE_RECORDS` | `false` | batches sent to the on-failure destination carry their records, not only their metadata |
//! | `KCL_CREATE_LEASE_TABLE` | `true` | create the lease table when missing (`false`: missing is an error) |
//! | `KCL_HTTP_ADDR` | `127.0.0.1:8080` | address of the HTTP endpoints, or `off` |
//! | `KCL_SHUTDOWN_DEADLINE` | `20s` | graceful shutdown deadline (keep under ECS `stopTimeout`) |
//! | `KCL_LOG_FORMAT` | `text` | `text` or `json` (one object per line) |
//! | `KCL_LOG` | `info` | log filter, `RUST_LOG` syntax (`RUST_LOG` is read when unset) |
//!
//! Durations are written like `10s`, `500ms`, `2m` (humantime). Region, credentials and endpoints come from
//! the AWS SDK's environment: `AWS_REGION`, the default credentials chain (environment, profile, web
//! identity, the ECS task role, instance metadata), `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_KINESIS`,
//! `AWS_ENDPOINT_URL_DYNAMODB` (so Kinesis and DynamoDB servers on different ports need no code).
//!
//! `KCL_PROCESSING` through `KCL_ON_FAILURE_INCLUDE_RECORDS` build the worker's
//! [`ProcessingPolicy`](kcl_core::ProcessingPolicy) (Lambda's event source mapping options, with Lambda's
//! ranges; see [`kcl_core::policy`]) and its on-failure destination
//! ([`KinesisStreamDestination`](kcl_core::policy::KinesisStreamDestination) through the source's SDK
//! configuration, or [`JsonLinesDestination`]). Each value is checked on its own, so every bad one is
//! reported at once. A destination only receives batches when something is given up on: set
//! `KCL_MAX_RETRY_ATTEMPTS` or `KCL_MAX_RECORD_AGE` too (a warning is logged otherwise).
//!
//! # Errors: retried or fatal
//!
//! | condition | handling |
//! |---|---|
//! | a bad `KCL_*` variable | [`ServiceError::Env`] before anything starts, naming every bad variable |
//! | no region | [`ServiceError::MissingRegion`] at start |
//! | no usable credentials | [`ServiceError::Credentials`] at start (with the provider chain's reason) |
//! | lease table missing with `KCL_CREATE_LEASE_TABLE=false` | fatal at start ([`kcl_core::Error::Fatal`]) |
//! | `KCL_ON_FAILURE_FILE` cannot be opened | [`ServiceError::OnFailureFile`] at start, naming the path (exit code 2) |
//! | the on-failure destination refuses a batch (stream missing, access denied) | retried with backoff; the shard waits, so no batch is skipped without a record of it |
//! | stream does not exist, access denied, invalid credentials, table deleted | fatal after `KCL_FATAL_ERROR_ATTEMPTS` failures in a row: `run` ends with [`kcl_core::Error::Fatal`], `/healthz` turns 503 |
//! | throttling, timeouts, 5xx, connection refused | retried with backoff forever; `/healthz` turns 503 once the lease store has not answered for a lease duration, and 200 again when it answers |
//!
//! A refused connection is [`kcl_checkpoint::Error::Unreachable`] / [`kcl_core::Error::Unreachable`]
//! naming the endpoint, never a timeout; logged errors carry their cause chain
//! ([`kcl_checkpoint::DisplayChain`]).

mod aws;
mod env;
#[cfg(feature = "http")]
pub mod http;
mod logging;
#[cfg(test)]
mod tests;
mod worker_id;

use std::future::Future;
use std::process::ExitCode;
use std::sync::Arc;

use std::path::{Path, PathBuf};

use kcl_checkpoint::{DisplayChain, LeaseStore};
use kcl_core::{
    FailureDestination, JsonLinesDestination, RecordSource, ShardRecordProcessorFactory, ShutdownReport,
    Worker,
};
use tracing::Instrument;

pub use aws::AwsSetup;
pub use env::{
    EnvError, EnvErrors, LogFormat, OnFailure, RetrievalMode, ServiceConfig, StreamName, VARIABLES,
};
pub use logging::init as init_logging;

/// Why the service could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// Bad or missing `KCL_*` variables.
    #[error(transparent)]
    Env(#[from] EnvErrors),
    /// No AWS region: set `AWS_REGION` (or a profile's region).
    #[error("no AWS region is configured: set AWS_REGION (for example AWS_REGION=us-east-1)")]
    MissingRegion,
    /// The credentials provider chain found no usable credentials.
    #[error(
        "no usable AWS credentials (environment, profile, web identity, ECS task role, instance metadata)"
    )]
    Credentials {
        /// Why.
        #[source]
        source: kcl_checkpoint::BoxError,
    },
    /// The lease store could not be set up.
    #[error("lease store: {0}")]
    Store(#[source] kcl_checkpoint::Error),
    /// The worker stopped with an error (for example [`kcl_core::Error::Fatal`] for a missing stream).
    #[error("worker: {0}")]
    Worker(#[source] kcl_core::Error),
    /// The HTTP endpoints could not be served.
    #[error("HTTP endpoints: {0}")]
    Http(String),
    /// The `KCL_ON_FAILURE_FILE` destination could not be opened.
    #[error(
        "KCL_ON_FAILURE_FILE={}: cannot open it for appending failed batches; name a writable file \
         (its directory must exist)", path.display()
    )]
    OnFailureFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `KCL_ON_FAILURE_STREAM` is set but the service was built with
    /// [`Service::with_components`] and given no destination ([`Service::with_on_failure`]).
    #[error(
        "KCL_ON_FAILURE_STREAM={0} is set but no destination was given: a service built with \
         with_components needs with_on_failure (a KinesisStreamDestination on your client)"
    )]
    OnFailureStreamNotGiven(String),
}

impl ServiceError {
    /// The worker error, when the worker stopped with one.
    pub fn worker_error(&self) -> Option<&kcl_core::Error> {
        match self {
            ServiceError::Worker(e) => Some(e),
            _ => None,
        }
    }
}

/// How a run ended without an error.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RunOutcome {
    /// The worker id.
    pub worker_id: String,
    /// The shutdown, when a signal (or the caller's future) asked for one.
    pub shutdown: ShutdownReport,
}

/// A configured consumer service: configuration, worker id, lease store, record source and on-failure
/// destination.
pub struct Service {
    config: ServiceConfig,
    worker_id: String,
    store: Arc<dyn LeaseStore>,
    source: Arc<dyn RecordSource>,
    on_failure: Option<Arc<dyn FailureDestination>>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("worker_id", &self.worker_id)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Service {
    /// Everything from the environment: [`ServiceConfig::from_env`], then [`Service::from_config`].
    ///
    /// # Errors
    ///
    /// As those two.
    pub async fn from_env() -> Result<Self, ServiceError> {
        Self::from_config(ServiceConfig::from_env()?).await
    }

    /// AWS clients from the SDK's environment ([`AwsSetup::from_env`]), the on-failure destination
    /// ([`AwsSetup::on_failure_destination`]) and the worker id (configured, or the default: the ECS task
    /// id, else the host name plus a random suffix).
    ///
    /// # Errors
    ///
    /// [`ServiceError::MissingRegion`], [`ServiceError::Credentials`], [`ServiceError::Store`],
    /// [`ServiceError::OnFailureFile`].
    pub async fn from_config(mut config: ServiceConfig) -> Result<Self, ServiceError> {
        let worker_id = resolve_worker_id(&config).await;
        config.worker_id = Some(worker_id.clone());
        async move {
            let aws = AwsSetup::from_env().await?;
            let store = aws.lease_store(&config)?;
            let source = aws.record_source(&config);
            let on_failure = aws.on_failure_destination(&config)?;
            tracing::info!(
                stream = config.stream.as_str(),
                kinesis = %aws.kinesis_endpoint,
                dynamodb = %aws.dynamodb_endpoint,
                lease_table = %config.lease_table,
                "AWS clients ready"
            );
            let service = Self::with_components(config, store, source).await;
            Ok(match on_failure {
                Some(destination) => service.with_on_failure(destination),
                None => service,
            })
        }
        .instrument(tracing::info_span!("kcl", worker_id = %worker_id))
        .await
    }

    /// A service over a lease store and record source built by the caller (another store, the in-process
    /// emulator in tests). A `KCL_ON_FAILURE_FILE` is opened when the service runs; for
    /// `KCL_ON_FAILURE_STREAM`, give the destination with [`with_on_failure`](Self::with_on_failure).
    pub async fn with_components(
        config: ServiceConfig,
        store: Arc<dyn LeaseStore>,
        source: Arc<dyn RecordSource>,
    ) -> Self {
        let worker_id = resolve_worker_id(&config).await;
        Service {
            config,
            worker_id,
            store,
            source,
            on_failure: None,
        }
    }

    /// Sends the batches the worker gives up on to `destination` ([`kcl_core::WorkerBuilder::on_failure`]),
    /// instead of the one the configuration names.
    #[must_use]
    pub fn with_on_failure(mut self, destination: Arc<dyn FailureDestination>) -> Self {
        self.on_failure = Some(destination);
        self
    }

    /// The worker id.
    pub fn worker_id(&self) -> &str {
        &self.worker_id
    }

    /// The configuration.
    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    /// Runs until SIGTERM or SIGINT, then shuts down within the configured deadline.
    ///
    /// # Errors
    ///
    /// As [`run_until`](Self::run_until).
    pub async fn run(self, factory: impl ShardRecordProcessorFactory) -> Result<RunOutcome, ServiceError> {
        self.run_until(factory, shutdown_signal()).await
    }

    /// Runs until `stop` completes, then shuts down within the configured deadline
    /// ([`kcl_core::WorkerHandle::shutdown_within`]); serves the HTTP endpoints meanwhile (feature `http`,
    /// when `KCL_HTTP_ADDR` is not `off`).
    ///
    /// # Errors
    ///
    /// [`ServiceError::Worker`] when the worker stops by itself with a fatal error (the endpoints then
    /// report it until the process exits); [`ServiceError::Http`] when the endpoints cannot bind.
    pub async fn run_until(
        self,
        factory: impl ShardRecordProcessorFactory,
        stop: impl Future<Output = ()> + Send,
    ) -> Result<RunOutcome, ServiceError> {
        let span = tracing::info_span!("kcl", worker_id = %self.worker_id);
        self.run_inner(factory, stop).instrument(span).await
    }

    async fn run_inner(
        self,
        factory: impl ShardRecordProcessorFactory,
        stop: impl Future<Output = ()> + Send,
    ) -> Result<RunOutcome, ServiceError> {
        let Service {
            config,
            worker_id,
            store,
            source,
            on_failure,
        } = self;
        let on_failure = match (on_failure, &config.on_failure) {
            (Some(destination), _) => Some(destination),
            (None, Some(OnFailure::File(path))) => Some(on_failure_file(path)?),
            (None, Some(OnFailure::Stream(stream))) => {
                return Err(ServiceError::OnFailureStreamNotGiven(stream.as_str().to_owned()))
            }
            (None, None) => None,
        };
        let policy = config.worker.processing();
        if on_failure.is_some()
            && policy.maximum_retry_attempts().is_none()
            && policy.maximum_record_age().is_none()
        {
            tracing::warn!(
                "an on-failure destination is set but no batch is ever given up on: set \
                 KCL_MAX_RETRY_ATTEMPTS or KCL_MAX_RECORD_AGE"
            );
        }
        let mut builder =
            Worker::builder(store, source, factory, worker_id.clone()).config(config.worker.clone());
        if let Some(destination) = on_failure {
            tracing::info!(destination = ?config.on_failure, "on-failure destination");
            builder = builder.on_failure(destination);
        }
        let worker = builder.build().map_err(ServiceError::Worker)?;
        #[cfg(feature = "http")]
        let metrics = match config.http_addr {
            Some(_) => Some(http::prometheus().map_err(ServiceError::Http)?),
            None => None,
        };
        let handle = worker.spawn();
        let reader = handle.status_reader();
        #[cfg(feature = "http")]
        let server = match (config.http_addr, metrics) {
            (Some(addr), Some(metrics)) => {
                let status_reader = reader.clone();
                let status: http::StatusSource = Arc::new(move || status_reader.snapshot());
                let server = http::HttpServer::start(addr, status, metrics)
                    .await
                    .map_err(|e| ServiceError::Http(e.to_string()));
                let server = match server {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = handle.shutdown_within(config.shutdown_deadline).await;
                        return Err(e);
                    }
                };
                tracing::info!(addr = %server.local_addr(), "HTTP endpoints: /healthz /readyz /metrics /status");
                Some(server)
            }
            _ => None,
        };
        #[cfg(not(feature = "http"))]
        if config.http_addr.is_some() {
            tracing::warn!("KCL_HTTP_ADDR is set but this build has no `http` feature: no endpoints");
        }
        tokio::pin!(stop);
        let stopped_by_itself = tokio::select! {
            biased;
            () = &mut stop => false,
            () = reader.stopped() => true,
        };
        if stopped_by_itself {
            tracing::error!("the worker stopped by itself");
        } else {
            tracing::info!(
                deadline_ms = config.shutdown_deadline.as_millis() as u64,
                "stop requested: shutting down"
            );
        }
        let result = handle.shutdown_within(config.shutdown_deadline).await;
        #[cfg(feature = "http")]
        if let Some(server) = server {
            server.stop();
        }
        match result {
            Ok(report) => {
                if report.graceful {
                    tracing::info!(
                        elapsed_ms = report.elapsed.as_millis() as u64,
                        "shut down gracefully"
                    );
                } else {
                    tracing::warn!(
                        abandoned = ?report.abandoned,
                        released = ?report.released,
                        release_failed = ?report.release_failed,
                        "shutdown deadline passed: abandoned shards"
                    );
                }
                Ok(RunOutcome {
                    worker_id,
                    shutdown: report,
                })
            }
            Err(e) => {
                tracing::error!(error = %DisplayChain(&e), "the worker failed");
                Err(ServiceError::Worker(e))
            }
        }
    }
}

/// The `KCL_ON_FAILURE_FILE` destination, opened (created if missing) for appending.
fn on_failure_file(path: &Path) -> Result<Arc<dyn FailureDestination>, ServiceError> {
    match JsonLinesDestination::open(path) {
        Ok(destination) => Ok(Arc::new(destination)),
        Err(source) => Err(ServiceError::OnFailureFile {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// The configured worker id, else the default (logged with where it came from).
async fn resolve_worker_id(config: &ServiceConfig) -> String {
    match &config.worker_id {
        Some(id) => id.clone(),
        None => {
            let (id, from) = worker_id::default_worker_id().await;
            tracing::info!(worker_id = %id, "worker id from {from}");
            id
        }
    }
}

/// Completes on SIGTERM or SIGINT (Ctrl-C). The handlers are installed when this is called (inside a Tokio
/// runtime), not when the future is first polled, so a signal that arrives in between is not lost to the
/// default action (which would end the process at once).
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => tokio::select! {
                    _ = term.recv() => tracing::info!("SIGTERM received"),
                    _ = int.recv() => tracing::info!("SIGINT received"),
                },
                (Ok(mut term), Err(e)) => {
                    tracing::warn!(error = %e, "cannot listen for SIGINT; only SIGTERM stops the service");
                    term.recv().await;
                    tracing::info!("SIGTERM received");
                }
                (Err(e), _) => {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM; only SIGINT stops the service");
                    let _ = tokio::signal::ctrl_c().await;
                    tracing::info!("SIGINT received");
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("Ctrl-C received");
        }
    }
}

/// The whole program of an environment-configured consumer: `--healthcheck` probes `/healthz` (exit 0 or
/// 1); otherwise reads the configuration, sets up logging, runs until SIGTERM or SIGINT and shuts down
/// within the deadline. Exit code 0 after a shutdown (also one cut off at the deadline: the abandoned
/// shards are logged), 1 for a fatal error, 2 for bad configuration.
pub async fn main(factory: impl ShardRecordProcessorFactory) -> ExitCode {
    let config = match ServiceConfig::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if std::env::args().any(|a| a == "--healthcheck") {
        #[cfg(feature = "http")]
        {
            let Some(addr) = config.http_addr else {
                eprintln!("unhealthy: KCL_HTTP_ADDR=off, nothing to probe");
                return ExitCode::FAILURE;
            };
            return match http::probe(addr).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("unhealthy: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        #[cfg(not(feature = "http"))]
        {
            eprintln!("--healthcheck needs the `http` feature");
            return ExitCode::FAILURE;
        }
    }
    init_logging(config.log_format, &config.log_filter);
    // Listening from here on: a SIGTERM during AWS set-up (nothing is held yet) ends the process cleanly.
    let mut stop = Box::pin(shutdown_signal());
    let service = tokio::select! {
        made = Service::from_config(config) => match made {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %DisplayChain(&e), "cannot start");
                return match e {
                    ServiceError::Env(_) | ServiceError::OnFailureFile { .. } => ExitCode::from(2),
                    _ => ExitCode::FAILURE,
                };
            }
        },
        () = &mut stop => {
            tracing::info!("stopped during start-up; nothing was held");
            return ExitCode::SUCCESS;
        }
    };
    match service.run_until(factory, stop).await {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %DisplayChain(&e), "stopped with an error");
            ExitCode::FAILURE
        }
    }
}
