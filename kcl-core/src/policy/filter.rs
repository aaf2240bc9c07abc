//! Event filtering: which records reach the processor, decided by up to five JSON patterns, as AWS
//! Lambda's `FilterCriteria` option of a Kinesis event source mapping does.
//!
//! A pattern is an EventBridge-style event pattern: a JSON object whose leaves are arrays of accepted
//! values or operators (`"prefix"`, `"suffix"`, `"numeric"` ranges, `"exists"`, `"anything-but"`,
//! `"equals-ignore-case"`, `"wildcard"`, ...). A record is delivered when **any** pattern matches it;
//! within a pattern every field named must match. The document a pattern is matched against is the
//! `kinesis` object of Lambda's event for the record, with the payload decoded:
//!
//! ```json
//! {
//!   "kinesisSchemaVersion": "1.0",
//!   "partitionKey": "order-17",
//!   "sequenceNumber": "49590338271490256608559692538361571095921575989136588898",
//!   "approximateArrivalTimestamp": 1545084650.987,
//!   "data": {"order": {"type": "buy", "quantity": 1000}}
//! }
//! ```
//!
//! so `{"data": {"order": {"type": ["buy"]}}}` keeps the buy orders. `approximateArrivalTimestamp` is
//! in epoch seconds with millisecond precision, as Lambda writes it, and is absent when the record has no
//! arrival time. `data` is the record's payload parsed as JSON (an object, or any other JSON value) when
//! it is UTF-8 JSON. Lambda only filters a payload that is valid JSON; when it is not, a pattern that
//! names `data` does not match (the record is dropped, as Lambda drops it), whatever operator it uses
//! (`{"exists": false}` included), while a pattern on the other fields alone is still evaluated.
//!
//! Where this differs from Lambda:
//!
//! - Filtering on the metadata fields is an extension: Lambda's documentation for Kinesis says only the
//!   `data` key can be filtered on. Patterns that name only `data` behave as they would in Lambda.
//! - `$or` is not supported (quamina has no such operator): write each alternative as its own pattern.
//! - Patterns that could never match as meant are refused when the filter is built, with what to change:
//!   empty ones, empty arrays or objects, a top-level field the document does not have (such as
//!   `kinesis`, or `body` from SQS).
//!
//! An empty list of patterns is no filter: every record is delivered. Lambda's default quota of five
//! patterns per event source mapping is the limit ([`MAX_PATTERNS`]).
//!
//! Patterns are compiled into one automaton by [quamina](https://crates.io/crates/quamina), a
//! maintained Rust port of Tim Bray's matcher made for exactly this pattern language: matching costs
//! about the same for one pattern or five, needs only `&self`, and is safe to share between threads, so
//! the automaton is built once and shared by every clone of a [`FilterCriteria`].

use std::fmt;
use std::io::Write as _;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use quamina::Quamina;
use serde_json::{Map, Value};

use crate::config::ConfigError;
use crate::record::Record;

/// The most patterns a [`FilterCriteria`] takes (Lambda's default quota per event source mapping).
pub const MAX_PATTERNS: usize = 5;

/// The setting [`ConfigError`]s from this module name.
const FIELD: &str = "processing.filters";

/// The top-level fields of the matched document besides `data`.
const METADATA_FIELDS: [&str; 4] = [
    "kinesisSchemaVersion",
    "partitionKey",
    "sequenceNumber",
    "approximateArrivalTimestamp",
];

/// Up to five filter patterns; a record is delivered when any pattern matches it (see the
/// [module docs](self) for the document patterns are matched against).
///
/// Cloning is cheap: clones share the compiled matcher. Equality and `Debug` look at the pattern
/// strings only.
#[derive(Clone)]
pub struct FilterCriteria {
    patterns: Vec<String>,
    /// `None` for an empty list (no filter).
    compiled: Option<Arc<Compiled>>,
}

/// The patterns compiled into one automaton; a pattern's id is its index.
struct Compiled {
    matcher: Quamina<usize>,
    /// Per pattern: whether it names `data` (and so cannot match a record whose payload is not JSON).
    names_data: Vec<bool>,
    /// Whether any pattern names `data` (if none does, the payload is never looked at).
    any_names_data: bool,
    /// Whether any pattern names only metadata (if none does, a non-JSON payload matches nothing).
    any_metadata_only: bool,
}

impl FilterCriteria {
    /// Compiles the patterns (each the JSON text of an event pattern, as in Lambda's
    /// `FilterCriteria.Filters[].Pattern`). An empty list is allowed and keeps every record.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for `processing.filters` when there are more than [`MAX_PATTERNS`] patterns, or
    /// naming the first bad pattern by its index in the list (`patterns[1] ...`) and saying why: not valid
    /// JSON, not an object, empty, a top-level field the document does not have, an empty array or
    /// object, `$or`, or an operator quamina does not accept.
    pub fn new<I, S>(patterns: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let patterns: Vec<String> = patterns.into_iter().map(Into::into).collect();
        if patterns.len() > MAX_PATTERNS {
            return Err(ConfigError::new(
                FIELD,
                format!(
                    "{} patterns given, at most {MAX_PATTERNS} are allowed (Lambda's limit); merge some \
                     (a field's array accepts any of its values, e.g. {{\"data\": {{\"type\": [\"a\", \"b\"]}}}})",
                    patterns.len()
                ),
            ));
        }
        if patterns.is_empty() {
            return Ok(FilterCriteria {
                patterns,
                compiled: None,
            });
        }
        let mut matcher = Quamina::<usize>::new();
        let mut names_data = Vec::with_capacity(patterns.len());
        for (i, pattern) in patterns.iter().enumerate() {
            let checked = check_pattern(i, pattern)?;
            names_data.push(checked.names_data);
            let text = checked.rewritten.as_deref().unwrap_or(pattern);
            matcher.add_pattern(i, text).map_err(|e| {
                ConfigError::new(FIELD, format!("patterns[{i}] is not a valid event pattern: {e}"))
            })?;
        }
        // Quamina freezes its automaton on the first match after an add (under its build lock); do it
        // now rather than on the first record.
        let _ = matcher.matches_for_event(b"{}");
        let compiled = Compiled {
            matcher,
            any_names_data: names_data.iter().any(|&d| d),
            any_metadata_only: names_data.iter().any(|&d| !d),
            names_data,
        };
        Ok(FilterCriteria {
            patterns,
            compiled: Some(Arc::new(compiled)),
        })
    }

    /// The patterns, as given.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// Whether `record` passes the filter (and so reaches the processor): true when any pattern matches
    /// it, or when there are no patterns.
    pub fn matches(&self, record: &Record) -> bool {
        match &self.compiled {
            None => true,
            Some(compiled) => compiled.matches(record),
        }
    }
}

impl Compiled {
    fn matches(&self, record: &Record) -> bool {
        let data = if self.any_names_data {
            json_payload(&record.data)
        } else {
            None
        };
        if data.is_none() && !self.any_metadata_only {
            return false;
        }
        match self.run(record, data) {
            Ok(matched) => matched,
            // serde_json took the payload for JSON but quamina's parser refuses it (no such payload is
            // known): treat it as a payload that is not JSON.
            Err(_) if data.is_some() => self.any_metadata_only && self.run(record, None).unwrap_or(false),
            // The document without `data` is JSON we wrote; quamina does not refuse it.
            Err(_) => false,
        }
    }

    /// Matches the document of `record` (with `data` when it is given) against the patterns that can see
    /// it: all of them with a payload, the metadata-only ones without.
    fn run(&self, record: &Record, data: Option<&str>) -> Result<bool, quamina::QuaminaError> {
        let document = document(record, data);
        let ids = self.matcher.matches_for_event(&document)?;
        Ok(ids.iter().any(|&i| data.is_some() || !self.names_data[i]))
    }
}

impl PartialEq for FilterCriteria {
    fn eq(&self, other: &Self) -> bool {
        self.patterns == other.patterns
    }
}

impl fmt::Debug for FilterCriteria {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FilterCriteria")
            .field("patterns", &self.patterns)
            .finish()
    }
}

/// What [`check_pattern`] learnt of a pattern.
struct Checked {
    /// Whether the pattern names `data`.
    names_data: bool,
    /// The text to give quamina instead of the pattern, when it had to be rewritten (see
    /// [`exclusive_lower_bounds`]).
    rewritten: Option<String>,
}

/// Checks what quamina does not about pattern `i`, for messages that say what to change.
fn check_pattern(i: usize, pattern: &str) -> Result<Checked, ConfigError> {
    let fail = |why: String| Err(ConfigError::new(FIELD, format!("patterns[{i}] {why}")));
    let value: Value = match serde_json::from_str(pattern) {
        Ok(value) => value,
        Err(e) => return fail(format!("is not valid JSON ({e})")),
    };
    let Value::Object(fields) = value else {
        return fail(format!(
            "is {}, not a JSON object; a pattern looks like {{\"data\": {{\"type\": [\"buy\"]}}}}",
            json_kind(&value)
        ));
    };
    if fields.is_empty() {
        return fail(
            "is empty ({}); name at least one field (to keep every record, use no patterns at all)".into(),
        );
    }
    if let Err(why) = check_fields(&fields, &mut String::new()) {
        return fail(why);
    }
    for name in fields.keys() {
        if name == "kinesis" {
            return fail(
                "starts with \"kinesis\": patterns are matched against the contents of Lambda's \"kinesis\" \
                 object, so drop that level, e.g. {\"data\": {...}} or {\"partitionKey\": [...]}"
                    .into(),
            );
        }
        if name != "data" && !METADATA_FIELDS.contains(&name.as_str()) {
            return fail(format!(
                "names the field {name:?}, which records do not have; the top-level fields are \"data\" \
                 (the payload, when it is JSON), {}",
                METADATA_FIELDS.map(|f| format!("{f:?}")).join(", ")
            ));
        }
    }
    let names_data = fields.contains_key("data");
    let mut value = Value::Object(fields);
    let rewritten = exclusive_lower_bounds(&mut value).then(|| value.to_string());
    Ok(Checked {
        names_data,
        rewritten,
    })
}

/// Rewrites the exclusive lower bound of every two-sided numeric range in `value` (`{"numeric": [">", a,
/// "<=", b]}`, bounds in either order) as the inclusive bound `">=", next_up(a)`; returns whether it
/// changed anything.
///
/// quamina 0.7 lets the value equal to an exclusive lower bound through when a range has both bounds and
/// the lower bound's encoding is a prefix of the upper's (`[">", 0, "<=", 5]` matches 0). Numbers are
/// compared as `f64`, where `x > a` and `x >= next_up(a)` are the same test, so the rewrite changes
/// nothing else. `quamina_two_sided_range_with_exclusive_lower_bound` in the tests says when quamina no
/// longer needs it.
fn exclusive_lower_bounds(value: &mut Value) -> bool {
    let mut changed = false;
    match value {
        Value::Object(fields) => {
            for inner in fields.values_mut() {
                changed |= exclusive_lower_bounds(inner);
            }
        }
        Value::Array(values) => {
            for v in values {
                if let Some(Value::Array(range)) = v.get_mut("numeric") {
                    changed |= inclusive_lower_bound(range);
                }
            }
        }
        _ => {}
    }
    changed
}

/// [`exclusive_lower_bounds`] for one `numeric` array.
fn inclusive_lower_bound(range: &mut [Value]) -> bool {
    let [first, _, second, _] = range else {
        return false;
    };
    let is_upper = |op: &Value| op == "<" || op == "<=";
    let at = match (first.as_str(), second.as_str()) {
        (Some(">"), _) if is_upper(second) => 0,
        (_, Some(">")) if is_upper(first) => 2,
        _ => return false,
    };
    let Some(next) = range[at + 1].as_f64().map(f64::next_up) else {
        return false;
    };
    let Some(bound) = serde_json::Number::from_f64(next) else {
        // Past the largest f64: nothing is greater, leave the pattern to quamina.
        return false;
    };
    range[at] = Value::from(">=");
    range[at + 1] = Value::Number(bound);
    true
}

/// Rejects what inside a pattern would match nothing (or everything) without a word: empty arrays and
/// objects, values that are not arrays, and `$or` (a field name to quamina).
fn check_fields(fields: &Map<String, Value>, path: &mut String) -> Result<(), String> {
    for (name, inner) in fields {
        if name == "$or" {
            return Err(
                "uses \"$or\", which quamina does not support; write each alternative as a pattern of its own \
                 (patterns are ORed)"
                    .into(),
            );
        }
        let len = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(name);
        match inner {
            Value::Object(nested) if nested.is_empty() => {
                return Err(format!(
                    "has an empty object at \"{path}\"; give it fields or remove it"
                ));
            }
            Value::Object(nested) => check_fields(nested, path)?,
            Value::Array(values) if values.is_empty() => {
                return Err(format!(
                    "has an empty array at \"{path}\", which matches nothing; list at least one value"
                ));
            }
            // Arrays are the leaves; quamina checks what is in them.
            Value::Array(_) => {}
            other => {
                return Err(format!(
                    "has {} at \"{path}\" where an array of values is expected, e.g. [{other}]",
                    json_kind(other)
                ));
            }
        }
        path.truncate(len);
    }
    Ok(())
}

/// "a string", "a number", ... for messages.
fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The payload as JSON text, if it is one JSON value (surrounding whitespace allowed) in UTF-8.
fn json_payload(data: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(data).ok()?;
    // Validated without building a tree; the text is then embedded as it is.
    serde_json::from_str::<serde::de::IgnoredAny>(text).ok()?;
    Some(text)
}

/// The document patterns are matched against (see the module docs), written once as JSON bytes. `data`
/// must be a single JSON value (checked by [`json_payload`]), so it cannot add fields of its own.
fn document(record: &Record, data: Option<&str>) -> Vec<u8> {
    // The field names, punctuation and timestamp take under 128 bytes; escapes in the key may add more.
    let seq = record.sequence_number.as_str();
    let mut doc = Vec::with_capacity(128 + seq.len() + record.partition_key.len() + data.map_or(0, str::len));
    doc.extend_from_slice(br#"{"kinesisSchemaVersion":"1.0","partitionKey":"#);
    // Writing a string into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut doc, record.partition_key.as_str());
    // Sequence numbers are decimal digits: nothing to escape.
    doc.extend_from_slice(br#","sequenceNumber":""#);
    doc.extend_from_slice(seq.as_bytes());
    doc.push(b'"');
    if let Some(since_epoch) = record
        .approximate_arrival_timestamp
        .and_then(|at| at.duration_since(UNIX_EPOCH).ok())
    {
        // Epoch seconds to the millisecond (Kinesis' precision), without trailing zeros.
        let millis = since_epoch.subsec_millis();
        let _ = write!(doc, r#","approximateArrivalTimestamp":{}"#, since_epoch.as_secs());
        let _ = match millis {
            0 => Ok(()),
            m if m % 100 == 0 => write!(doc, ".{}", m / 100),
            m if m % 10 == 0 => write!(doc, ".{:02}", m / 10),
            m => write!(doc, ".{m:03}"),
        };
    }
    if let Some(data) = data {
        doc.extend_from_slice(br#","data":"#);
        doc.extend_from_slice(data.as_bytes());
    }
    doc.push(b'}');
    doc
}

#[cfg(test)]
mod tests;
