//! Request validation driven by the API description, as AWS's JSON front end does it.
//!
//! `kcl-emulator/model/kinesis.json` describes every operation of the Kinesis API: its input shape, and for
//! each shape its type and constraints (required members, lengths, ranges, patterns, enum value sets). It is
//! reduced from botocore's published model by `scripts/gen-kinesis-model.py` (facts only). Every decoded
//! request (canonical JSON form, see `codec`) is checked against it before the operation sees it, in two
//! passes, like AWS:
//!
//! 1. **Types**: a value of the wrong JSON type (a string where a number, a timestamp or a structure
//!    belongs, `Records: [[]]`, a fractional or out-of-range integer) is a `SerializationException`.
//! 2. **Constraints**: every failed constraint is collected, depth first in the model's member order, and
//!    reported at once as one `ValidationException`: `N validation errors detected: Value 'x' at 'member'
//!    failed to satisfy constraint: ...; Value ...`. A required member that is absent (or null) reads
//!    `Value null at 'data' failed to satisfy constraint: Member must not be null`; an unknown enum value
//!    `Member must satisfy enum value set: [..]`. Paths name members in lower camel case, list items as
//!    `records.1.member.partitionKey` (1-based), map entries through `Map keys` / `Map value` constraints.
//!
//! Members the model does not know are ignored, as AWS ignores them. What the model cannot say (a
//! timestamp in the future, a sequence number with LATEST) stays with the operations.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

use regex::Regex;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::ApiError;

/// The description, as generated (`scripts/gen-kinesis-model.py`).
const MODEL_JSON: &str = include_str!("../../model/kinesis.json");

/// Longest value shown in a message (AWS shows whole values; very long ones are cut here).
const SHOWN_CHARS: usize = 300;

#[derive(Deserialize)]
struct RawModel {
    source: String,
    operations: HashMap<String, RawOperation>,
    shapes: HashMap<String, RawShape>,
}

#[derive(Deserialize)]
struct RawOperation {
    input: Option<String>,
}

#[derive(Deserialize)]
struct RawShape {
    #[serde(rename = "type")]
    kind: String,
    min: Option<f64>,
    max: Option<f64>,
    pattern: Option<String>,
    #[serde(rename = "enum")]
    values: Option<Vec<String>>,
    #[serde(default)]
    required: Vec<String>,
    #[serde(default)]
    members: Ordered<RawMember>,
    member: Option<String>,
    key: Option<String>,
    value: Option<String>,
}

#[derive(Deserialize)]
struct RawMember {
    shape: String,
}

/// Index of a shape in [`Model::shapes`].
type ShapeId = usize;

/// The API description, resolved for checking.
pub(crate) struct Model {
    /// Where the description comes from (botocore version).
    pub(crate) source: String,
    operations: HashMap<String, Operation>,
    shapes: Vec<Shape>,
}

/// One operation: its input shape.
pub(crate) struct Operation {
    input: Option<ShapeId>,
}

/// One shape: its kind and the constraints every kind may carry.
pub(crate) struct Shape {
    pub(crate) name: String,
    pub(crate) kind: Kind,
    pub(crate) min: Option<i64>,
    pub(crate) max: Option<i64>,
}

/// What a shape is.
pub(crate) enum Kind {
    Structure {
        members: Vec<Member>,
        required: Vec<usize>,
    },
    List {
        member: ShapeId,
    },
    Map {
        key: ShapeId,
        value: ShapeId,
    },
    String {
        pattern: Option<(String, Regex)>,
        values: Option<Vec<String>>,
    },
    Integer,
    Long,
    Boolean,
    Blob,
    Timestamp,
    Double,
}

/// A member of a structure.
pub(crate) struct Member {
    /// As on the wire (`StreamName`).
    pub(crate) name: String,
    /// As in messages (`streamName`).
    pub(crate) path: String,
    pub(crate) shape: ShapeId,
}

/// The one description, parsed on first use.
pub(crate) fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| Model::parse(MODEL_JSON).expect("the bundled API description is valid"))
}

impl Model {
    fn parse(json: &str) -> Result<Model, String> {
        let raw: RawModel = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let mut names: Vec<&String> = raw.shapes.keys().collect();
        names.sort();
        let ids: HashMap<&str, ShapeId> = names.iter().enumerate().map(|(i, n)| (n.as_str(), i)).collect();
        let id = |name: &str| {
            ids.get(name)
                .copied()
                .ok_or_else(|| format!("unknown shape {name}"))
        };
        let mut shapes = Vec::with_capacity(names.len());
        for name in &names {
            let raw_shape = &raw.shapes[*name];
            let kind = match raw_shape.kind.as_str() {
                "structure" => {
                    let members = raw_shape
                        .members
                        .0
                        .iter()
                        .map(|(m, s)| {
                            Ok(Member {
                                name: m.clone(),
                                path: lower_camel(m),
                                shape: id(&s.shape)?,
                            })
                        })
                        .collect::<Result<Vec<_>, String>>()?;
                    let required = raw_shape
                        .required
                        .iter()
                        .map(|r| {
                            members
                                .iter()
                                .position(|m| &m.name == r)
                                .ok_or_else(|| format!("{name}: required member {r} is not a member"))
                        })
                        .collect::<Result<_, String>>()?;
                    Kind::Structure { members, required }
                }
                "list" => Kind::List {
                    member: id(raw_shape.member.as_deref().ok_or("list without member")?)?,
                },
                "map" => Kind::Map {
                    key: id(raw_shape.key.as_deref().ok_or("map without key")?)?,
                    value: id(raw_shape.value.as_deref().ok_or("map without value")?)?,
                },
                "string" => Kind::String {
                    pattern: match &raw_shape.pattern {
                        Some(p) => Some((
                            p.clone(),
                            Regex::new(&format!("^(?:{p})$")).map_err(|e| format!("{name}: {e}"))?,
                        )),
                        None => None,
                    },
                    values: raw_shape.values.clone(),
                },
                "integer" => Kind::Integer,
                "long" => Kind::Long,
                "boolean" => Kind::Boolean,
                "blob" => Kind::Blob,
                "timestamp" => Kind::Timestamp,
                "double" | "float" => Kind::Double,
                other => return Err(format!("{name}: unsupported shape type {other}")),
            };
            shapes.push(Shape {
                name: (*name).clone(),
                kind,
                min: raw_shape.min.map(|v| v as i64),
                max: raw_shape.max.map(|v| v as i64),
            });
        }
        let operations = raw
            .operations
            .into_iter()
            .map(|(name, op)| {
                let input = op.input.as_deref().map(id).transpose()?;
                Ok((name, Operation { input }))
            })
            .collect::<Result<_, String>>()?;
        Ok(Model {
            source: raw.source,
            operations,
            shapes,
        })
    }

    /// The operation of that name, if the API has it.
    pub(crate) fn operation(&self, name: &str) -> Option<&Operation> {
        self.operations.get(name)
    }

    /// Every operation name of the API, sorted.
    pub(crate) fn operation_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.operations.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// A shape by id.
    #[cfg(test)]
    pub(crate) fn shape(&self, id: ShapeId) -> &Shape {
        &self.shapes[id]
    }

    /// Checks a decoded request of `operation` (canonical JSON form): `SerializationException` for a value
    /// of the wrong type, else one `ValidationException` listing every failed constraint. Operations the
    /// model does not know are not checked.
    pub(crate) fn validate(&self, operation: &str, request: &Map<String, Value>) -> Result<(), ApiError> {
        let Some(input) = self.operation(operation).and_then(|op| op.input) else {
            return Ok(());
        };
        let mut check = Check {
            model: self,
            errors: Vec::new(),
        };
        check.structure(input, request, "")?;
        if check.errors.is_empty() {
            return Ok(());
        }
        let n = check.errors.len();
        let mut message = format!("{n} validation error{} detected: ", if n == 1 { "" } else { "s" });
        message.push_str(&check.errors.join("; "));
        Err(ApiError::validation(message))
    }
}

/// One request being checked: the failed constraints so far.
struct Check<'m> {
    model: &'m Model,
    errors: Vec<String>,
}

impl Check<'_> {
    fn fail(&mut self, shown: &str, path: &str, constraint: &str) {
        self.errors.push(format!(
            "Value {shown} at '{path}' failed to satisfy constraint: {constraint}"
        ));
    }

    fn structure(&mut self, id: ShapeId, map: &Map<String, Value>, prefix: &str) -> Result<(), ApiError> {
        let Kind::Structure { members, required } = &self.model.shapes[id].kind else {
            return Ok(());
        };
        for (index, member) in members.iter().enumerate() {
            let path = if prefix.is_empty() {
                member.path.clone()
            } else {
                format!("{prefix}.{}", member.path)
            };
            match map.get(&member.name) {
                None | Some(Value::Null) => {
                    if required.contains(&index) {
                        self.fail("null", &path, "Member must not be null");
                    }
                }
                Some(value) => self.value(member.shape, value, &path, &member.name)?,
            }
        }
        Ok(())
    }

    /// Checks one present value of shape `id` at `path` (`member` names it on the wire, for type errors).
    fn value(&mut self, id: ShapeId, value: &Value, path: &str, member: &str) -> Result<(), ApiError> {
        let model = self.model;
        let shape = &model.shapes[id];
        let mismatch = |expected: &str| {
            ApiError::serialization(format!(
                "{} found where {expected} was expected (member '{member}', shape {})",
                json_type(value),
                shape.name
            ))
        };
        match (&shape.kind, value) {
            (Kind::Structure { .. }, Value::Object(map)) => self.structure(id, map, path)?,
            (Kind::Structure { .. }, _) => return Err(mismatch("a structure")),
            (Kind::List { member: item }, Value::Array(items)) => {
                self.length(shape, items.len(), || shown_json(value), path);
                for (i, v) in items.iter().enumerate() {
                    if v.is_null() {
                        continue;
                    }
                    self.value(*item, v, &format!("{path}.{}.member", i + 1), member)?;
                }
            }
            (Kind::List { .. }, _) => return Err(mismatch("a list")),
            (Kind::Map { key, value: item }, Value::Object(entries)) => {
                self.length(shape, entries.len(), || shown_json(value), path);
                let (mut key_errors, mut value_errors) = (Vec::new(), Vec::new());
                for (k, v) in entries {
                    self.scalar_constraints(*key, &Value::String(k.clone()), &mut key_errors, member)?;
                    if !v.is_null() {
                        self.scalar_constraints(*item, v, &mut value_errors, member)?;
                    }
                }
                for (what, errors) in [("Map keys", key_errors), ("Map value", value_errors)] {
                    if !errors.is_empty() {
                        let mut unique: Vec<String> = Vec::new();
                        for e in errors {
                            if !unique.contains(&e) {
                                unique.push(e);
                            }
                        }
                        let constraint = format!("{what} must satisfy constraint: [{}]", unique.join(", "));
                        self.fail(&shown_json(value), path, &constraint);
                    }
                }
            }
            (Kind::Map { .. }, _) => return Err(mismatch("a map")),
            _ => {
                let mut constraints = Vec::new();
                self.scalar_constraints(id, value, &mut constraints, member)?;
                for c in constraints {
                    self.fail(&shown_scalar(value), path, &c);
                }
            }
        }
        Ok(())
    }

    /// The failed constraints of a scalar value (pushed to `out`), after its type is checked.
    fn scalar_constraints(
        &self,
        id: ShapeId,
        value: &Value,
        out: &mut Vec<String>,
        member: &str,
    ) -> Result<(), ApiError> {
        let shape = &self.model.shapes[id];
        let mismatch = |expected: &str| {
            ApiError::serialization(format!(
                "{} found where {expected} was expected (member '{member}', shape {})",
                json_type(value),
                shape.name
            ))
        };
        match &shape.kind {
            Kind::String { pattern, values } => {
                let Value::String(s) = value else {
                    return Err(mismatch("a string"));
                };
                let len = if s.is_ascii() { s.len() } else { s.chars().count() };
                length_constraints(shape, len, out);
                if let Some(values) = values {
                    if !values.iter().any(|v| v == s) {
                        out.push(format!(
                            "Member must satisfy enum value set: [{}]",
                            values.join(", ")
                        ));
                    }
                }
                if let Some((source, regex)) = pattern {
                    if !regex.is_match(s) {
                        out.push(format!(
                            "Member must satisfy regular expression pattern: {source}"
                        ));
                    }
                }
            }
            Kind::Blob => {
                let Value::String(s) = value else {
                    return Err(mismatch("a blob (base64 string)"));
                };
                length_constraints(shape, base64_len(s), out);
            }
            Kind::Integer | Kind::Long => {
                let n = value.as_i64().or_else(|| {
                    value
                        .as_f64()
                        .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                        .map(|f| f as i64)
                });
                let Some(n) = n else {
                    return Err(mismatch("an integer"));
                };
                if matches!(shape.kind, Kind::Integer) && i32::try_from(n).is_err() {
                    return Err(mismatch("a 32-bit integer"));
                }
                if let Some(min) = shape.min.filter(|min| n < *min) {
                    out.push(format!("Member must have value greater than or equal to {min}"));
                }
                if let Some(max) = shape.max.filter(|max| n > *max) {
                    out.push(format!("Member must have value less than or equal to {max}"));
                }
            }
            Kind::Double => {
                if !value.is_number() {
                    return Err(mismatch("a number"));
                }
            }
            Kind::Boolean => {
                if !value.is_boolean() {
                    return Err(mismatch("a boolean"));
                }
            }
            Kind::Timestamp => {
                // The JSON protocol sends epoch seconds as a number; a string (even a numeric one) is not
                // a timestamp.
                if !value.is_number() {
                    return Err(mismatch("a timestamp (epoch seconds)"));
                }
            }
            Kind::Structure { .. } => return Err(mismatch("a structure")),
            Kind::List { .. } => return Err(mismatch("a list")),
            Kind::Map { .. } => return Err(mismatch("a map")),
        }
        Ok(())
    }

    fn length(&mut self, shape: &Shape, len: usize, shown: impl FnOnce() -> String, path: &str) {
        let mut failed = Vec::new();
        length_constraints(shape, len, &mut failed);
        if !failed.is_empty() {
            let shown = shown();
            for c in failed {
                self.fail(&shown, path, &c);
            }
        }
    }
}

fn length_constraints(shape: &Shape, len: usize, out: &mut Vec<String>) {
    let len = len as i64;
    if let Some(min) = shape.min.filter(|min| len < *min) {
        out.push(format!("Member must have length greater than or equal to {min}"));
    }
    if let Some(max) = shape.max.filter(|max| len > *max) {
        out.push(format!("Member must have length less than or equal to {max}"));
    }
}

/// The decoded length of a base64 string, without decoding it.
fn base64_len(s: &str) -> usize {
    let trimmed = s.trim_end_matches('=');
    trimmed.len() * 3 / 4
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a structure",
    }
}

fn cut(s: &str) -> String {
    if s.chars().count() <= SHOWN_CHARS {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(SHOWN_CHARS).collect();
        out.push_str("...");
        out
    }
}

fn shown_scalar(value: &Value) -> String {
    match value {
        Value::String(s) => format!("'{}'", cut(s)),
        other => format!("'{other}'"),
    }
}

fn shown_json(value: &Value) -> String {
    let mut s = String::new();
    let _ = write!(s, "{value}");
    format!("'{}'", cut(&s))
}

fn lower_camel(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// A JSON object read as its entries in document order (the members' order matters: errors are listed
/// in it, as AWS lists them).
struct Ordered<T>(Vec<(String, T)>);

impl<T> Default for Ordered<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Entries<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of members")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Ordered(entries))
            }
        }
        deserializer.deserialize_map(Entries(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests;
