//! [`ServiceConfig`]: the service's settings from `KCL_*` environment variables.
//!
//! Every variable is parsed and checked at once; all bad ones are reported together, each naming the
//! variable, its value and what to change ([`EnvError`]). The table of variables and defaults is in the
//! [module docs](super#environment-variables).

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use kcl_core::{
    ConfigError, FilterCriteria, LeaseRenewal, ProcessingPolicy, ProcessingPolicyBuilder, WorkerConfig,
};

use read::{boolean, filter_patterns, initial_position, variable_of, Reader};

mod read;
#[cfg(test)]
mod tests;

/// One bad environment variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvError {
    /// The variable (for example `KCL_LEASE_DURATION`).
    pub variable: &'static str,
    /// Its value, when set.
    pub value: Option<String>,
    /// What is wrong and what to change.
    pub message: String,
}

impl fmt::Display for EnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, "{}={v:?}: {}", self.variable, self.message),
            None => write!(f, "{}: {}", self.variable, self.message),
        }
    }
}

impl std::error::Error for EnvError {}

/// Every bad variable found, in the order of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvErrors(pub Vec<EnvError>);

impl fmt::Display for EnvErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration in the environment: ")?;
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for EnvErrors {}

/// How records are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetrievalMode {
    /// GetRecords polling (`polling`, the default).
    Polling,
    /// Enhanced fan-out with SubscribeToShard (`fanout`), falling back to polling where unavailable.
    FanOut,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (`text`, the default); colours only on a terminal.
    Text,
    /// One JSON object per line (`json`).
    Json,
}

/// How the stream is named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamName {
    /// A stream name.
    Name(String),
    /// A stream ARN (`arn:...`; needed for cross-account access).
    Arn(String),
}

impl StreamName {
    /// The name or ARN as given.
    pub fn as_str(&self) -> &str {
        match self {
            StreamName::Name(s) | StreamName::Arn(s) => s,
        }
    }
}

/// Where batches the worker gives up on go (`KCL_ON_FAILURE_STREAM` or `KCL_ON_FAILURE_FILE`): Lambda's
/// on-failure destination.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnFailure {
    /// A Kinesis stream, by name or ARN, written through the same SDK configuration as the source
    /// ([`kcl_core::policy::KinesisStreamDestination`]).
    Stream(StreamName),
    /// A file, one JSON line per batch ([`kcl_core::JsonLinesDestination`]).
    File(PathBuf),
}

/// The service's settings. Build with [`ServiceConfig::from_env`] (or [`ServiceConfig::from_lookup`] in
/// tests); every field is public for adjustments in code.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServiceConfig {
    /// `KCL_APPLICATION_NAME`: the application (required); the lease table and fan-out consumer name.
    pub application_name: String,
    /// `KCL_LEASE_TABLE`: the lease table (default: the application name).
    pub lease_table: String,
    /// `KCL_STREAM_NAME`: the stream name or ARN (required).
    pub stream: StreamName,
    /// `KCL_WORKER_ID`: the worker id (default: the ECS task id, else host name plus a random suffix).
    pub worker_id: Option<String>,
    /// `KCL_RETRIEVAL_MODE`: `polling` or `fanout`.
    pub retrieval_mode: RetrievalMode,
    /// `KCL_CONSUMER_NAME`: the enhanced fan-out consumer name (default: the application name).
    pub consumer_name: String,
    /// `KCL_HTTP_ADDR`: where `/healthz`, `/readyz`, `/metrics` and `/status` listen (`off` disables).
    pub http_addr: Option<SocketAddr>,
    /// `KCL_SHUTDOWN_DEADLINE`: how long a graceful shutdown may take before consumers are cut off.
    pub shutdown_deadline: Duration,
    /// `KCL_LOG_FORMAT`: `text` or `json`.
    pub log_format: LogFormat,
    /// `KCL_LOG`: the log filter (`RUST_LOG` syntax).
    pub log_filter: String,
    /// `KCL_CREATE_LEASE_TABLE`: create the lease table when missing.
    pub create_lease_table: bool,
    /// The worker settings: `KCL_INITIAL_POSITION`, `KCL_LEASE_DURATION`, `KCL_LEASE_TAKER_INTERVAL`,
    /// `KCL_LEASE_RENEWAL`, `KCL_GRACEFUL_HANDOFF`,
    /// `KCL_SHARD_SYNC_INTERVAL`, `KCL_IDLE_TIME_BETWEEN_READS`, `KCL_MAX_RECORDS`,
    /// `KCL_MAX_LEASES_PER_WORKER`, `KCL_FATAL_ERROR_ATTEMPTS`; and its
    /// [`processing`](WorkerConfig::processing) policy: `KCL_PROCESSING`, `KCL_BATCH_SIZE`,
    /// `KCL_MAX_BATCHING_WINDOW`, `KCL_MAX_RETRY_ATTEMPTS`, `KCL_MAX_RECORD_AGE`,
    /// `KCL_BISECT_BATCH_ON_ERROR`, `KCL_REPORT_BATCH_ITEM_FAILURES`, `KCL_FILTER_PATTERNS`,
    /// `KCL_TUMBLING_WINDOW`, `KCL_PARALLELIZATION_FACTOR`, `KCL_CHECKPOINT_AFTER_BATCH`,
    /// `KCL_ON_FAILURE_INCLUDE_RECORDS`.
    pub worker: WorkerConfig,
    /// `KCL_ON_FAILURE_STREAM` or `KCL_ON_FAILURE_FILE`: the on-failure destination, if any.
    pub on_failure: Option<OnFailure>,
}

/// The variables, their defaults and meanings, in the order of the README table.
pub const VARIABLES: &[(&str, &str, &str)] = &[
    (
        "KCL_APPLICATION_NAME",
        "(required)",
        "application name: lease table and fan-out consumer name",
    ),
    (
        "KCL_STREAM_NAME",
        "(required)",
        "stream name, or stream ARN (`arn:aws:kinesis:...`)",
    ),
    (
        "KCL_WORKER_ID",
        "ECS task id, else `<host>-<random>`",
        "worker id, unique in the fleet",
    ),
    ("KCL_LEASE_TABLE", "the application name", "lease table name"),
    (
        "KCL_INITIAL_POSITION",
        "`LATEST`",
        "`LATEST`, `TRIM_HORIZON` or `AT_TIMESTAMP=<RFC 3339 time>`",
    ),
    (
        "KCL_LEASE_DURATION",
        "`10s`",
        "lease duration (renewed every third of it)",
    ),
    (
        "KCL_LEASE_TAKER_INTERVAL",
        "`1s`",
        "how often the taker looks for free leases",
    ),
    (
        "KCL_LEASE_RENEWAL",
        "`per-lease`",
        "`per-lease` (Java KCL compatible) or `heartbeat` (one heartbeat per worker: far fewer requests)",
    ),
    (
        "KCL_GRACEFUL_HANDOFF",
        "`true`",
        "balancing moves as handoffs (the owner checkpoints first) rather than takeovers",
    ),
    ("KCL_SHARD_SYNC_INTERVAL", "`60s`", "how often shards are listed"),
    (
        "KCL_IDLE_TIME_BETWEEN_READS",
        "`1500ms`",
        "pause after an empty GetRecords",
    ),
    (
        "KCL_MAX_RECORDS",
        "`10000`",
        "records per GetRecords call (1..=10000)",
    ),
    (
        "KCL_MAX_LEASES_PER_WORKER",
        "unlimited",
        "most leases one worker holds",
    ),
    (
        "KCL_RETRIEVAL_MODE",
        "`polling`",
        "`polling` or `fanout` (enhanced fan-out)",
    ),
    (
        "KCL_CONSUMER_NAME",
        "the application name",
        "enhanced fan-out consumer name",
    ),
    (
        "KCL_FATAL_ERROR_ATTEMPTS",
        "`10`",
        "failures in a row that retrying cannot fix before `run` ends",
    ),
    (
        "KCL_PROCESSING",
        "`kcl`",
        "defaults of the processing variables below: `kcl` (batches as read, retried until they succeed, \
         the processor checkpoints) or `lambda` (Lambda's event source mapping: batches of 100, a checkpoint \
         after every batch)",
    ),
    (
        "KCL_BATCH_SIZE",
        "as read (`100` with `lambda`)",
        "most records per `process_records` call (1..=10000; Lambda's `BatchSize`)",
    ),
    (
        "KCL_MAX_BATCHING_WINDOW",
        "`0s`",
        "how long a batch waits to fill up to `KCL_BATCH_SIZE` (at most `300s`)",
    ),
    (
        "KCL_MAX_RETRY_ATTEMPTS",
        "`-1`",
        "retries of a failed batch before its records are given up on (0..=10000; `-1`: no limit)",
    ),
    (
        "KCL_MAX_RECORD_AGE",
        "`-1`",
        "records older than this are given up on unprocessed (`60s` to `7d`; `-1`: no limit)",
    ),
    (
        "KCL_BISECT_BATCH_ON_ERROR",
        "`false`",
        "split a failing batch in halves before retrying it",
    ),
    (
        "KCL_REPORT_BATCH_ITEM_FAILURES",
        "`false`",
        "read a `BatchItemFailure` error as a partial batch response (the records before it are done)",
    ),
    (
        "KCL_FILTER_PATTERNS",
        "none",
        "JSON array of up to 5 event patterns, e.g. `[{\"data\":{\"type\":[\"order\"]}}]` (or Lambda's \
         `{\"Filters\":[{\"Pattern\":\"...\"}]}`); records no pattern matches skip the processor",
    ),
    (
        "KCL_TUMBLING_WINDOW",
        "off",
        "tumbling windows of this length (`1s` to `900s`, whole seconds)",
    ),
    (
        "KCL_PARALLELIZATION_FACTOR",
        "`1`",
        "processor instances per shard, fed by partition-key hash (1..=10; not with `KCL_TUMBLING_WINDOW`)",
    ),
    (
        "KCL_CHECKPOINT_AFTER_BATCH",
        "`false` (`true` with `lambda`)",
        "the worker checkpoints after every batch it is done with",
    ),
    (
        "KCL_ON_FAILURE_STREAM",
        "none",
        "stream name or ARN that gets one record per batch given up on (Lambda's on-failure destination; \
         same AWS configuration as the source)",
    ),
    (
        "KCL_ON_FAILURE_FILE",
        "none",
        "file that gets one JSON line per batch given up on (instead of `KCL_ON_FAILURE_STREAM`)",
    ),
    (
        "KCL_ON_FAILURE_INCLUDE_RECORDS",
        "`false`",
        "batches sent to the on-failure destination carry their records, not only their metadata",
    ),
    (
        "KCL_CREATE_LEASE_TABLE",
        "`true`",
        "create the lease table when missing (`false`: missing is an error)",
    ),
    (
        "KCL_HTTP_ADDR",
        "`127.0.0.1:8080`",
        "address of the HTTP endpoints, or `off`",
    ),
    (
        "KCL_SHUTDOWN_DEADLINE",
        "`20s`",
        "graceful shutdown deadline (keep under ECS `stopTimeout`)",
    ),
    (
        "KCL_LOG_FORMAT",
        "`text`",
        "`text` or `json` (one object per line)",
    ),
    (
        "KCL_LOG",
        "`info`",
        "log filter, `RUST_LOG` syntax (`RUST_LOG` is read when unset)",
    ),
];

impl ServiceConfig {
    /// Reads the process environment.
    ///
    /// # Errors
    ///
    /// [`EnvErrors`] naming every bad or missing variable.
    pub fn from_env() -> Result<Self, EnvErrors> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads variables through `lookup` (a map in tests).
    ///
    /// # Errors
    ///
    /// As [`from_env`](Self::from_env).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, EnvErrors> {
        let mut r = Reader {
            lookup: &lookup,
            errors: Vec::new(),
        };
        let application_name = r.required(
            "KCL_APPLICATION_NAME",
            "your application's name, e.g. orders-consumer",
        );
        let stream_raw = r.required("KCL_STREAM_NAME", "the stream name or ARN");
        let stream = stream_name(&mut r, "KCL_STREAM_NAME", stream_raw);
        let worker_id = r.raw("KCL_WORKER_ID");
        let lease_table = r
            .raw("KCL_LEASE_TABLE")
            .unwrap_or_else(|| application_name.clone());
        if !application_name.is_empty() && !kcl_checkpoint::dynamodb::is_valid_table_name(&lease_table) {
            let var = if r.raw("KCL_LEASE_TABLE").is_some() {
                "KCL_LEASE_TABLE"
            } else {
                "KCL_APPLICATION_NAME"
            };
            r.bad(
                var,
                &lease_table,
                "not a valid DynamoDB table name (3 to 255 of a-z A-Z 0-9 _ - .); set KCL_LEASE_TABLE to one",
            );
        }

        let mut worker = WorkerConfig::builder();
        if let Some(p) = r.parsed("KCL_INITIAL_POSITION", initial_position) {
            worker = worker.initial_position(p);
        }
        if let Some(d) = r.duration("KCL_LEASE_DURATION") {
            worker = worker.lease_duration(d);
        }
        if let Some(d) = r.duration("KCL_LEASE_TAKER_INTERVAL") {
            worker = worker.lease_taker_interval(d);
        }
        if let Some(mode) = r.parsed("KCL_LEASE_RENEWAL", |v| match v.to_ascii_lowercase().as_str() {
            "per-lease" | "per_lease" | "perlease" => Ok(LeaseRenewal::PerLease),
            "heartbeat" => Ok(LeaseRenewal::Heartbeat),
            _ => Err("use per-lease or heartbeat".to_owned()),
        }) {
            worker = worker.lease_renewal(mode);
        }
        if let Some(yes) = r.parsed("KCL_GRACEFUL_HANDOFF", boolean) {
            worker = worker.graceful_handoff(yes);
        }
        if let Some(d) = r.duration("KCL_SHARD_SYNC_INTERVAL") {
            worker = worker.shard_sync_interval(d);
        }
        if let Some(d) = r.duration("KCL_IDLE_TIME_BETWEEN_READS") {
            worker = worker.idle_time_between_reads(d);
        }
        if let Some(n) = r.number("KCL_MAX_RECORDS") {
            worker = worker.max_records_per_call(usize::try_from(n).unwrap_or(usize::MAX));
        }
        if let Some(n) = r.number("KCL_MAX_LEASES_PER_WORKER") {
            if n == 0 {
                r.bad(
                    "KCL_MAX_LEASES_PER_WORKER",
                    "0",
                    "must be at least 1 (unset: unlimited)",
                );
            }
            worker = worker.max_leases_per_worker(usize::try_from(n).unwrap_or(usize::MAX));
        }
        if let Some(n) = r.number("KCL_FATAL_ERROR_ATTEMPTS") {
            worker = worker.fatal_error_attempts(u32::try_from(n).unwrap_or(u32::MAX));
        }
        if let Some(policy) = processing_policy(&mut r) {
            worker = worker.processing(policy);
        }
        let worker = match worker.build() {
            Ok(w) => Some(w),
            Err(e) => {
                let var = variable_of(e.field);
                r.errors.push(EnvError {
                    variable: var,
                    value: r.raw(var),
                    message: e.to_string(),
                });
                None
            }
        };

        let retrieval_mode = r
            .parsed("KCL_RETRIEVAL_MODE", |v| match v.to_ascii_lowercase().as_str() {
                "polling" => Ok(RetrievalMode::Polling),
                "fanout" | "fan-out" | "efo" => Ok(RetrievalMode::FanOut),
                _ => Err("use polling or fanout".to_owned()),
            })
            .unwrap_or(RetrievalMode::Polling);
        let consumer_name = r
            .raw("KCL_CONSUMER_NAME")
            .unwrap_or_else(|| application_name.clone());
        let http_addr = match r.raw("KCL_HTTP_ADDR") {
            Some(v) if v.eq_ignore_ascii_case("off") => None,
            Some(v) => match v.parse::<SocketAddr>() {
                Ok(a) => Some(a),
                Err(_) => {
                    r.bad(
                        "KCL_HTTP_ADDR",
                        &v,
                        "not an address: write ip:port, e.g. 0.0.0.0:8080 or 127.0.0.1:8080, or off",
                    );
                    None
                }
            },
            None => Some(SocketAddr::from(([127, 0, 0, 1], 8080))),
        };
        let shutdown_deadline = r
            .duration("KCL_SHUTDOWN_DEADLINE")
            .unwrap_or(Duration::from_secs(20));
        if shutdown_deadline.is_zero() {
            r.bad("KCL_SHUTDOWN_DEADLINE", "0", "must be above zero (default 20s)");
        }
        let log_format = r
            .parsed("KCL_LOG_FORMAT", |v| match v.to_ascii_lowercase().as_str() {
                "text" => Ok(LogFormat::Text),
                "json" => Ok(LogFormat::Json),
                _ => Err("use text or json".to_owned()),
            })
            .unwrap_or(LogFormat::Text);
        let log_filter = r
            .raw("KCL_LOG")
            .or_else(|| r.raw("RUST_LOG"))
            .unwrap_or_else(|| "info".to_owned());
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&log_filter) {
            let var = if r.raw("KCL_LOG").is_some() {
                "KCL_LOG"
            } else {
                "RUST_LOG"
            };
            r.bad(
                var,
                &log_filter,
                format!("not a log filter ({e}); e.g. info or kcl_core=debug,info"),
            );
        }
        let create_lease_table = r.parsed("KCL_CREATE_LEASE_TABLE", boolean).unwrap_or(true);
        let on_failure = match (r.raw("KCL_ON_FAILURE_STREAM"), r.raw("KCL_ON_FAILURE_FILE")) {
            (Some(stream), Some(_)) => {
                r.bad(
                    "KCL_ON_FAILURE_STREAM",
                    &stream,
                    "is set together with KCL_ON_FAILURE_FILE: a worker has one on-failure destination; \
                     unset one of the two",
                );
                None
            }
            (Some(raw), None) => {
                let destination = stream_name(&mut r, "KCL_ON_FAILURE_STREAM", raw);
                if destination.as_str() == stream.as_str() {
                    r.bad(
                        "KCL_ON_FAILURE_STREAM",
                        destination.as_str(),
                        "is the stream being consumed: failed batches would come back to the processor; \
                         name another stream",
                    );
                }
                Some(OnFailure::Stream(destination))
            }
            (None, Some(path)) => Some(OnFailure::File(PathBuf::from(path))),
            (None, None) => None,
        };

        if !r.errors.is_empty() {
            return Err(EnvErrors(r.errors));
        }
        Ok(ServiceConfig {
            application_name,
            lease_table,
            stream,
            worker_id,
            retrieval_mode,
            consumer_name,
            http_addr,
            shutdown_deadline,
            log_format,
            log_filter,
            create_lease_table,
            worker: worker.unwrap_or_default(),
            on_failure,
        })
    }
}

/// A stream name or ARN read from `var` (empty when the variable is missing: reported by the caller),
/// checked for the form Kinesis accepts.
fn stream_name(r: &mut Reader<'_>, var: &'static str, raw: String) -> StreamName {
    if raw.starts_with("arn:") {
        if raw.split(':').count() < 6 || !raw.contains(":stream/") {
            r.bad(
                var,
                &raw,
                "looks like an ARN but is not a stream ARN (arn:aws:kinesis:<region>:<account>:stream/<name>)",
            );
        }
        StreamName::Arn(raw)
    } else {
        let valid = (1..=128).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if !raw.is_empty() && !valid {
            r.bad(
                var,
                &raw,
                "not a stream name: 1 to 128 characters of a-z, A-Z, 0-9, '_', '-', '.'",
            );
        }
        StreamName::Name(raw)
    }
}

/// The processing policy: `KCL_PROCESSING` picks the defaults, the other variables change them. Each value
/// is checked on its own, so that every bad one is reported; `None` when any is bad.
fn processing_policy(r: &mut Reader<'_>) -> Option<ProcessingPolicy> {
    let start = r
        .parsed("KCL_PROCESSING", |v| match v.to_ascii_lowercase().as_str() {
            "kcl" => Ok(ProcessingPolicy::builder as fn() -> ProcessingPolicyBuilder),
            "lambda" => Ok(ProcessingPolicy::lambda),
            _ => Err(
                "use kcl (the KCL's defaults) or lambda (Lambda's event source mapping defaults)".to_owned(),
            ),
        })
        .unwrap_or(ProcessingPolicy::builder);
    let errors_before = r.errors.len();
    let mut policy = Policy { builder: start() };
    if let Some(n) = r.number("KCL_BATCH_SIZE") {
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        policy.set(r, "KCL_BATCH_SIZE", |b| b.batch_size(n));
    }
    if let Some(d) = r.duration("KCL_MAX_BATCHING_WINDOW") {
        policy.set(r, "KCL_MAX_BATCHING_WINDOW", |b| b.maximum_batching_window(d));
    }
    if let Some(n) = r.parsed("KCL_MAX_RETRY_ATTEMPTS", |v| {
        v.parse::<i64>()
            .map_err(|_| "not a whole number: write -1 (no limit) or 0 to 10000".to_owned())
    }) {
        policy.set(r, "KCL_MAX_RETRY_ATTEMPTS", |b| b.maximum_retry_attempts(n));
    }
    if let Some(age) = r.parsed("KCL_MAX_RECORD_AGE", |v| {
        if v == "-1" {
            return Ok(None);
        }
        humantime::parse_duration(v).map(Some).map_err(|e| {
            format!("neither -1 (no limit) nor a duration ({e}); write it like `1h`, `30m` or `7d`")
        })
    }) {
        policy.set(r, "KCL_MAX_RECORD_AGE", |b| match age {
            Some(d) => b.maximum_record_age(d),
            None => b.no_maximum_record_age(),
        });
    }
    if let Some(yes) = r.parsed("KCL_BISECT_BATCH_ON_ERROR", boolean) {
        policy.set(r, "KCL_BISECT_BATCH_ON_ERROR", |b| b.bisect_batch_on_error(yes));
    }
    if let Some(yes) = r.parsed("KCL_REPORT_BATCH_ITEM_FAILURES", boolean) {
        policy.set(r, "KCL_REPORT_BATCH_ITEM_FAILURES", |b| {
            b.report_batch_item_failures(yes)
        });
    }
    if let Some(patterns) = r.parsed("KCL_FILTER_PATTERNS", filter_patterns) {
        match FilterCriteria::new(patterns) {
            Ok(filters) => policy.set(r, "KCL_FILTER_PATTERNS", |b| b.filters(filters.clone())),
            Err(e) => reject(r, "KCL_FILTER_PATTERNS", &e),
        }
    }
    let tumbling = r.duration("KCL_TUMBLING_WINDOW");
    if let Some(d) = tumbling {
        policy.set(r, "KCL_TUMBLING_WINDOW", |b| b.tumbling_window(d));
    }
    if let Some(n) = r.number("KCL_PARALLELIZATION_FACTOR") {
        let raw = r.raw("KCL_PARALLELIZATION_FACTOR").unwrap_or_default();
        match u8::try_from(n) {
            Ok(n) if n > 1 && tumbling.is_some() => r.bad(
                "KCL_PARALLELIZATION_FACTOR",
                &raw,
                "cannot be combined with KCL_TUMBLING_WINDOW (a window's state belongs to the whole \
                 shard): set it to 1 or unset KCL_TUMBLING_WINDOW",
            ),
            Ok(n) => policy.set(r, "KCL_PARALLELIZATION_FACTOR", |b| b.parallelization_factor(n)),
            Err(_) => r.bad(
                "KCL_PARALLELIZATION_FACTOR",
                &raw,
                "is outside 1..=10 (Lambda's ParallelizationFactor range)",
            ),
        }
    }
    if let Some(yes) = r.parsed("KCL_CHECKPOINT_AFTER_BATCH", boolean) {
        policy.set(r, "KCL_CHECKPOINT_AFTER_BATCH", |b| b.checkpoint_after_batch(yes));
    }
    if let Some(yes) = r.parsed("KCL_ON_FAILURE_INCLUDE_RECORDS", boolean) {
        policy.set(r, "KCL_ON_FAILURE_INCLUDE_RECORDS", |b| {
            b.destination_includes_records(yes)
        });
    }
    if r.errors.len() > errors_before {
        return None;
    }
    match policy.builder.build() {
        Ok(p) => Some(p),
        Err(e) => {
            let var = variable_of(e.field);
            reject(r, var, &e);
            None
        }
    }
}

/// The processing policy being built from the variables.
struct Policy {
    builder: ProcessingPolicyBuilder,
}

impl Policy {
    /// Applies one setting when it is valid on its own (checked on a builder with nothing else set, so a
    /// bad value is reported even when another one is bad too); otherwise reports `var`.
    fn set(
        &mut self,
        r: &mut Reader<'_>,
        var: &'static str,
        apply: impl Fn(ProcessingPolicyBuilder) -> ProcessingPolicyBuilder,
    ) {
        match apply(ProcessingPolicy::builder()).build() {
            Ok(_) => self.builder = apply(self.builder.clone()),
            Err(e) => reject(r, var, &e),
        }
    }
}

/// Reports `var` with the policy's reason, worded for the environment.
fn reject(r: &mut Reader<'_>, var: &'static str, e: &ConfigError) {
    let message = e.message.replace(
        "use no_maximum_record_age() for no limit",
        "write -1 for no limit",
    );
    r.errors.push(EnvError {
        variable: var,
        value: r.raw(var),
        message,
    });
}
