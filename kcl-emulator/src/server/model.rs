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
//! The server reads a JSON body in one pass that checks each value while the typed input is decoded
//! (`model/checked.rs`); this walk is the reference behind it, and words every failure it finds.
//!
//! Members the model does not know are ignored, as AWS ignores them. What the model cannot say (a
//! timestamp in the future, a sequence number with LATEST) stays with the operations.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

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
                    if members.len() > 128 {
                        return Err(format!("{name}: more than 128 members"));
                    }
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
    #[cfg(test)]
    pub(crate) fn validate(
        &self,
        operation: &str,
        request: &serde_json::Map<String, Value>,
    ) -> Result<(), ApiError> {
        self.validate_value(operation, &Value::Object(request.clone()))
    }

    /// [`Model::validate`] of a request held as a value (a decoded CBOR body).
    pub(crate) fn validate_value(&self, operation: &str, request: &Value) -> Result<(), ApiError> {
        self.validate_with(operation, request, |e| e.to_string())
    }

    /// Checks a JSON request body of `operation` without building it (a walk over its tokens that allocates
    /// nothing unless a constraint fails), as [`Model::validate`] checks a decoded one. A body that is not
    /// one JSON value (malformed, or with bytes after it) is a `SerializationException` too.
    pub(crate) fn validate_json(&self, operation: &str, body: &[u8]) -> Result<(), ApiError> {
        let mut de = serde_json::Deserializer::from_slice(body);
        self.validate_with(operation, &mut de, |e| {
            format!("malformed JSON request body: {e}")
        })?;
        de.end()
            .map_err(|e| ApiError::serialization(format!("malformed JSON request body: {e}")))
    }

    /// The one walk behind both: any serde deserializer of the request (JSON bytes or a decoded value),
    /// driven by the operation's input shape. `syntax` words a deserializer error that is not a type
    /// mismatch found by the walk.
    fn validate_with<'de, D>(
        &self,
        operation: &str,
        request: D,
        syntax: impl FnOnce(D::Error) -> String,
    ) -> Result<(), ApiError>
    where
        D: serde::Deserializer<'de>,
    {
        let Some(input) = self.operation(operation).and_then(|op| op.input) else {
            return Ok(());
        };
        let check = RefCell::new(Check::default());
        let walk = Walk::root(self, &check, input);
        let result = serde::de::DeserializeSeed::deserialize(walk, request);
        let check = check.into_inner();
        if let Some(mismatch) = check.mismatch {
            return Err(ApiError::serialization(mismatch));
        }
        match result {
            Err(e) => return Err(ApiError::serialization(syntax(e))),
            Ok(false) => return Err(ApiError::serialization("request body must be a structure")),
            Ok(true) => {}
        }
        if check.errors.is_empty() {
            return Ok(());
        }
        let n = check.errors.len();
        let mut message = format!("{n} validation error{} detected: ", if n == 1 { "" } else { "s" });
        message.push_str(&check.errors.join("; "));
        Err(ApiError::validation(message))
    }
}

/// What a walk found: the failed constraints (in the order they are reported) and a type mismatch.
#[derive(Default)]
struct Check {
    errors: Vec<String>,
    /// The first value of the wrong type (the walk stops there).
    mismatch: Option<String>,
}

/// Where a value sits in the request, rendered only for a message: `records.2.member.partitionKey`.
enum Path<'a> {
    Root,
    Member(&'a Path<'a>, &'a str),
    Item(&'a Path<'a>, usize),
}

impl std::fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Member(Path::Root, name) => f.write_str(name),
            Path::Member(parent, name) => write!(f, "{parent}.{name}"),
            Path::Item(parent, index) => write!(f, "{parent}.{}.member", index + 1),
        }
    }
}

fn failure(shown: &str, path: &Path<'_>, constraint: &str) -> String {
    format!("Value {shown} at '{path}' failed to satisfy constraint: {constraint}")
}

/// The walk over one value of shape `shape` at `path`; `member` names it on the wire (for type errors).
/// Deserializing it answers whether the value was present (`false` for null, which AWS reads as absent).
#[derive(Clone, Copy)]
struct Walk<'m, 'c, 'p> {
    model: &'m Model,
    check: &'c RefCell<Check>,
    shape: ShapeId,
    path: &'p Path<'p>,
    member: &'p str,
}

impl<'m, 'c> Walk<'m, 'c, 'static> {
    /// The walk over a whole request whose input shape is `input`.
    fn root(model: &'m Model, check: &'c RefCell<Check>, input: ShapeId) -> Self {
        Walk {
            model,
            check,
            shape: input,
            path: &Path::Root,
            member: "",
        }
    }
}

impl<'m, 'c, 'p> Walk<'m, 'c, 'p> {
    fn shape(&self) -> &'m Shape {
        &self.model.shapes[self.shape]
    }

    fn at<'q>(&self, shape: ShapeId, path: &'q Path<'q>, member: &'q str) -> Walk<'m, 'c, 'q>
    where
        'p: 'q,
    {
        Walk {
            model: self.model,
            check: self.check,
            shape,
            path,
            member,
        }
    }

    /// Records a value of the wrong type and stops the walk.
    fn mismatch<E: serde::de::Error>(&self, found: &str) -> E {
        let shape = self.shape();
        let expected = match shape.kind {
            Kind::Structure { .. } => "a structure",
            Kind::List { .. } => "a list",
            Kind::Map { .. } => "a map",
            Kind::String { .. } => "a string",
            Kind::Blob => "a blob (base64 string)",
            Kind::Integer => "a 32-bit integer",
            Kind::Long => "an integer",
            Kind::Double => "a number",
            Kind::Boolean => "a boolean",
            Kind::Timestamp => "a timestamp (epoch seconds)",
        };
        let message = format!(
            "{found} found where {expected} was expected (member '{}', shape {})",
            self.member, shape.name
        );
        let mut check = self.check.borrow_mut();
        check.mismatch.get_or_insert(message);
        E::custom("type mismatch")
    }

    fn fail(&self, shown: &str, constraints: &[String]) {
        let mut check = self.check.borrow_mut();
        for c in constraints {
            check.errors.push(failure(shown, self.path, c));
        }
    }

    /// The constraints a string of this walk's shape fails; `None` when the shape is not a string.
    fn string_failures(&self, s: &str) -> Option<Vec<String>> {
        let shape = self.shape();
        let mut failed = Vec::new();
        match &shape.kind {
            Kind::String { pattern, values } => {
                let len = if s.is_ascii() { s.len() } else { s.chars().count() };
                length_constraints(shape, len, &mut failed);
                if let Some(values) = values {
                    if !values.iter().any(|v| v == s) {
                        failed.push(format!(
                            "Member must satisfy enum value set: [{}]",
                            values.join(", ")
                        ));
                    }
                }
                if let Some((source, regex)) = pattern {
                    if !regex.is_match(s) {
                        failed.push(format!(
                            "Member must satisfy regular expression pattern: {source}"
                        ));
                    }
                }
            }
            Kind::Blob => length_constraints(shape, base64_len(s), &mut failed),
            _ => return None,
        }
        Some(failed)
    }

    /// A string of this walk's shape: its constraints.
    fn string<E: serde::de::Error>(self, s: &str) -> Result<bool, E> {
        let failed = self.string_failures(s).ok_or_else(|| self.mismatch("a string"))?;
        if !failed.is_empty() {
            self.fail(&format!("'{}'", cut(s)), &failed);
        }
        Ok(true)
    }

    /// A number of this walk's shape: its range.
    fn number<E: serde::de::Error>(self, n: Option<i64>, shown: &dyn std::fmt::Display) -> Result<bool, E> {
        let shape = self.shape();
        match shape.kind {
            Kind::Double | Kind::Timestamp => return Ok(true),
            Kind::Integer | Kind::Long => {}
            _ => return Err(self.mismatch("a number")),
        }
        let Some(n) = n else {
            return Err(self.mismatch("a fractional or out-of-range number"));
        };
        if matches!(shape.kind, Kind::Integer) && i32::try_from(n).is_err() {
            return Err(self.mismatch("an out-of-range number"));
        }
        let mut failed = Vec::new();
        if let Some(min) = shape.min.filter(|min| n < *min) {
            failed.push(format!("Member must have value greater than or equal to {min}"));
        }
        if let Some(max) = shape.max.filter(|max| n > *max) {
            failed.push(format!("Member must have value less than or equal to {max}"));
        }
        if !failed.is_empty() {
            self.fail(&format!("'{shown}'"), &failed);
        }
        Ok(true)
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for Walk<'_, '_, '_> {
    type Value = bool;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Walk<'_, '_, '_> {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a value of shape {}", self.shape().name)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<bool, E> {
        match self.shape().kind {
            Kind::Boolean => Ok(true),
            _ => Err(self.mismatch("a boolean")),
        }
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<bool, E> {
        self.number(Some(v), &v)
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<bool, E> {
        self.number(i64::try_from(v).ok(), &v)
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<bool, E> {
        let whole = (v.fract() == 0.0 && v.abs() < 9.0e15).then_some(v as i64);
        self.number(whole, &v)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<bool, E> {
        self.string(v)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        let Kind::List { member } = self.shape().kind else {
            return Err(self.mismatch("a list"));
        };
        let mut count = 0;
        loop {
            let path = Path::Item(self.path, count);
            if seq
                .next_element_seed(self.at(member, &path, self.member))?
                .is_none()
            {
                break;
            }
            count += 1;
        }
        let mut failed = Vec::new();
        length_constraints(self.shape(), count, &mut failed);
        if !failed.is_empty() {
            let shown = if count == 0 {
                "'[]'".to_owned()
            } else {
                format!("'[{count} items]'")
            };
            self.fail(&shown, &failed);
        }
        Ok(true)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        match &self.shape().kind {
            Kind::Structure { members, required } => {
                // Each member's failures are kept apart, then reported in the model's member order.
                // Which members were present (a bit each: structures have at most 128 members, checked
                // when the description is read), and each member's failures, kept apart to be reported in
                // the model's member order; nothing is allocated unless a constraint fails.
                let mut present: u128 = 0;
                let mut failed: Vec<(usize, Vec<String>)> = Vec::new();
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    let Some(index) = members.iter().position(|m| m.name == *key) else {
                        map.next_value::<serde::de::IgnoredAny>()?;
                        continue;
                    };
                    let member = &members[index];
                    let path = Path::Member(self.path, &member.path);
                    let before = self.check.borrow().errors.len();
                    let given = map.next_value_seed(self.at(member.shape, &path, &member.name))?;
                    // A member given twice counts as its last value.
                    failed.retain(|(i, _)| *i != index);
                    present &= !(1 << index);
                    let own = self.check.borrow_mut().errors.split_off(before);
                    if given {
                        present |= 1 << index;
                        if !own.is_empty() {
                            failed.push((index, own));
                        }
                    }
                }
                let mut check = self.check.borrow_mut();
                for (index, member) in members.iter().enumerate() {
                    if present & (1 << index) != 0 {
                        if let Some(at) = failed.iter().position(|(i, _)| *i == index) {
                            check.errors.extend(failed.swap_remove(at).1);
                        }
                    } else if required.contains(&index) {
                        let path = Path::Member(self.path, &member.path);
                        check
                            .errors
                            .push(failure("null", &path, "Member must not be null"));
                    }
                }
                Ok(true)
            }
            Kind::Map { key, value } => {
                let (key_walk, value_walk) = (*key, *value);
                let (mut key_errors, mut value_errors, mut shown) = (Vec::new(), Vec::new(), String::new());
                let mut count = 0;
                while let Some(k) = map.next_key::<Key<'de>>()? {
                    let key_check = self.at(key_walk, self.path, self.member);
                    let failed = key_check
                        .string_failures(&k)
                        .ok_or_else(|| key_check.mismatch::<A::Error>("a string key"))?;
                    for c in failed {
                        if !key_errors.contains(&c) {
                            key_errors.push(c);
                        }
                    }
                    // The value's failures are gathered under the map (`Map value must satisfy ...`).
                    let path = Path::Member(self.path, &k);
                    let before = self.check.borrow().errors.len();
                    map.next_value_seed(self.at(value_walk, &path, self.member))?;
                    let own = self.check.borrow_mut().errors.split_off(before);
                    for e in own {
                        let c = e
                            .rsplit("failed to satisfy constraint: ")
                            .next()
                            .unwrap_or(&e)
                            .to_owned();
                        if !value_errors.contains(&c) {
                            value_errors.push(c);
                        }
                    }
                    if shown.len() < SHOWN_CHARS {
                        let _ = write!(shown, "{}{}", if count == 0 { "" } else { ", " }, &*k);
                    }
                    count += 1;
                }
                let shown = format!("'{{{}}}'", cut(&shown));
                let mut failed = Vec::new();
                length_constraints(self.shape(), count, &mut failed);
                for (what, errors) in [("Map keys", key_errors), ("Map value", value_errors)] {
                    if !errors.is_empty() {
                        failed.push(format!("{what} must satisfy constraint: [{}]", errors.join(", ")));
                    }
                }
                self.fail(&shown, &failed);
                Ok(true)
            }
            _ => Err(self.mismatch("a structure")),
        }
    }
}

/// A member name or map key: borrowed from the body when it has no escapes (serde's `Cow<str>` always
/// allocates, which was two allocations per PutRecords record).
struct Key<'de>(std::borrow::Cow<'de, str>);

impl std::ops::Deref for Key<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(V)
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

fn cut(s: &str) -> String {
    if s.chars().count() <= SHOWN_CHARS {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(SHOWN_CHARS).collect();
        out.push_str("...");
        out
    }
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

mod checked;
#[cfg(test)]
mod tests;
