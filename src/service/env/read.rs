//! Reading one `KCL_*` variable: trimmed, empty as unset, parsed, and a bad value recorded as an
//! [`EnvError`] naming the variable (so [`ServiceConfig::from_lookup`](super::ServiceConfig::from_lookup)
//! reports every bad variable at once); the parsers of the values that are not plain durations or numbers.

use std::time::{Duration, SystemTime};

use kcl_core::InitialPosition;
use serde_json::Value;

use super::EnvError;

/// Reads variables through a lookup, collecting every bad one instead of stopping at the first.
pub(super) struct Reader<'a> {
    pub(super) lookup: &'a dyn Fn(&str) -> Option<String>,
    /// Every bad or missing variable so far: all are reported together.
    pub(super) errors: Vec<EnvError>,
}

impl Reader<'_> {
    pub(super) fn raw(&self, var: &'static str) -> Option<String> {
        (self.lookup)(var)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    pub(super) fn bad(&mut self, variable: &'static str, value: &str, message: impl Into<String>) {
        self.errors.push(EnvError {
            variable,
            value: Some(value.to_owned()),
            message: message.into(),
        });
    }

    pub(super) fn required(&mut self, var: &'static str, what: &str) -> String {
        match self.raw(var) {
            Some(v) => v,
            None => {
                self.errors.push(EnvError {
                    variable: var,
                    value: None,
                    message: format!("is required: set it to {what}"),
                });
                String::new()
            }
        }
    }

    pub(super) fn parsed<T>(
        &mut self,
        var: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let raw = self.raw(var)?;
        match parse(&raw) {
            Ok(v) => Some(v),
            Err(message) => {
                self.bad(var, &raw, message);
                None
            }
        }
    }

    pub(super) fn duration(&mut self, var: &'static str) -> Option<Duration> {
        self.parsed(var, |v| {
            humantime::parse_duration(v)
                .map_err(|e| format!("not a duration ({e}); write it like `10s`, `500ms` or `2m`"))
        })
    }

    pub(super) fn number(&mut self, var: &'static str) -> Option<u64> {
        self.parsed(var, |v| {
            v.parse::<u64>().map_err(|_| "not a whole number".to_owned())
        })
    }
}

pub(super) fn initial_position(v: &str) -> Result<InitialPosition, String> {
    match v.to_ascii_uppercase().as_str() {
        "LATEST" => return Ok(InitialPosition::Latest),
        "TRIM_HORIZON" => return Ok(InitialPosition::TrimHorizon),
        _ => {}
    }
    let upper = v.to_ascii_uppercase();
    if let Some(at) = upper
        .strip_prefix("AT_TIMESTAMP=")
        .map(|_| &v["AT_TIMESTAMP=".len()..])
    {
        return humantime::parse_rfc3339_weak(at)
            .map(InitialPosition::AtTimestamp)
            .or_else(|_| {
                at.parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map(|s| {
                        InitialPosition::AtTimestamp(SystemTime::UNIX_EPOCH + Duration::from_secs_f64(s))
                    })
                    .ok_or(())
            })
            .map_err(|()| {
                "the time after AT_TIMESTAMP= is neither RFC 3339 (2026-12-01T10:00:00Z) nor epoch seconds"
                    .to_owned()
            });
    }
    Err("use LATEST, TRIM_HORIZON or AT_TIMESTAMP=<RFC 3339 time>".to_owned())
}

pub(super) fn boolean(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err("use true or false".to_owned()),
    }
}

/// The patterns of `KCL_FILTER_PATTERNS`, each as JSON text for [`kcl_core::FilterCriteria::new`]: a
/// JSON array whose items are patterns (objects, or their JSON text as strings) or Lambda's
/// `{"Pattern": "<JSON text>"}` items; Lambda's `FilterCriteria` object
/// `{"Filters": [{"Pattern": "<JSON text>"}]}`; or one pattern object.
pub(super) fn filter_patterns(v: &str) -> Result<Vec<String>, String> {
    const EXAMPLE: &str = r#"[{"data":{"type":["order"]}}]"#;
    let value: Value = serde_json::from_str(v)
        .map_err(|e| format!("not JSON ({e}); write a JSON array of patterns, e.g. {EXAMPLE}"))?;
    let items = match value {
        Value::Array(items) => items,
        Value::Object(mut object) if object.contains_key("Filters") => match object.remove("Filters") {
            Some(Value::Array(items)) if object.is_empty() => items,
            _ => {
                return Err(r#"in Lambda's form, write {"Filters": [{"Pattern": "<pattern JSON>"}, ...]} and nothing else"#
                    .to_owned())
            }
        },
        object @ Value::Object(_) => vec![object],
        _ => return Err(format!("not a JSON array of patterns; write e.g. {EXAMPLE}")),
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::Object(object) if object.len() == 1 && object.contains_key("Pattern") => {
                match &object["Pattern"] {
                    Value::String(text) => Ok(text.clone()),
                    // Lambda takes the pattern as text; the object itself is as clear.
                    pattern @ Value::Object(_) => Ok(pattern.to_string()),
                    _ => Err(format!(
                        "patterns[{i}]: \"Pattern\" must hold a pattern (a JSON object, or its JSON text)"
                    )),
                }
            }
            object @ Value::Object(_) => Ok(object.to_string()),
            Value::String(text) => Ok(text),
            other => Err(format!(
                "patterns[{i}] is {other}, not a pattern: each item is a JSON object such as {{\"data\":{{\"type\":[\"order\"]}}}}"
            )),
        })
        .collect()
}

/// The variable a [`kcl_core::ConfigError`] field comes from.
pub(super) fn variable_of(field: &str) -> &'static str {
    match field {
        "lease_duration" | "lease_renewal_interval" => "KCL_LEASE_DURATION",
        "lease_taker_interval" => "KCL_LEASE_TAKER_INTERVAL",
        "shard_sync_interval" => "KCL_SHARD_SYNC_INTERVAL",
        "idle_time_between_reads" => "KCL_IDLE_TIME_BETWEEN_READS",
        "max_records_per_call" => "KCL_MAX_RECORDS",
        "max_leases_per_worker" => "KCL_MAX_LEASES_PER_WORKER",
        "fatal_error_attempts" => "KCL_FATAL_ERROR_ATTEMPTS",
        "processing.batch_size" => "KCL_BATCH_SIZE",
        "processing.maximum_batching_window" => "KCL_MAX_BATCHING_WINDOW",
        "processing.maximum_retry_attempts" => "KCL_MAX_RETRY_ATTEMPTS",
        "processing.maximum_record_age" => "KCL_MAX_RECORD_AGE",
        "processing.filters" => "KCL_FILTER_PATTERNS",
        "processing.tumbling_window" => "KCL_TUMBLING_WINDOW",
        "processing.parallelization_factor" => "KCL_PARALLELIZATION_FACTOR",
        _ => "KCL_* (worker settings)",
    }
}
