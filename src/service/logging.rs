//! Logs: human-readable lines by default, JSON lines with `KCL_LOG_FORMAT=json`; colours only when the
//! output is a terminal. Every line logged inside the worker carries its spans' fields: `worker_id` (the
//! service wraps everything in a span with it) and, inside a shard consumer, `shard_id`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use super::env::LogFormat;

/// Installs the global tracing subscriber writing to stderr. Returns `false` if one was already installed
/// (the existing one is kept).
pub fn init(format: LogFormat, filter: &str) -> bool {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    match format {
        LogFormat::Text => builder.try_init().is_ok(),
        LogFormat::Json => builder
            .json()
            .with_current_span(false)
            // Every span from the root: the `worker` span's worker_id and the `shard` span's shard_id.
            .with_span_list(true)
            .flatten_event(true)
            .try_init()
            .is_ok(),
    }
}
