//! Request and response bodies in the two Kinesis wire formats.
//!
//! Both formats are decoded to, and encoded from, one canonical form: a `serde_json::Value` shaped like the
//! JSON 1.1 protocol (`application/x-amz-json-1.1`), where blobs are base64 strings and timestamps are epoch
//! seconds. The CBOR 1.1 protocol (`application/x-amz-cbor-1.1`, the Java SDK's default) differs only in those
//! two scalar types: blobs travel as CBOR byte strings and timestamps as epoch *milliseconds* (the Java SDK
//! wraps them in CBOR tag 1). Kinesis has few such members, so they are recognised by name:
//! [`BLOB_FIELDS`] and [`TIMESTAMP_FIELDS`].
//!
//! Decoding never panics: depth is bounded, non-string map keys, non-finite floats and out-of-range integers
//! are rejected as `SerializationException`, and nulls are dropped (AWS treats a null member as absent).
//!
//! Responses of unary operations are encoded from the operation's typed output ([`Output`]): JSON straight
//! to bytes, with no `serde_json::Value` in between (a GetRecords answer of 10,000 records built some ten
//! allocations per record as a `Value`), GetRecords and PutRecords by hand (`records`); CBOR through the
//! canonical form, which names its blobs and timestamps.

use base64::Engine as _;
use ciborium::value::Value as Cbor;
use serde::Serialize;
use serde_json::{Map, Number, Value};

use super::error::ApiError;

/// Members that hold blobs (base64 in JSON, byte strings in CBOR).
pub(crate) const BLOB_FIELDS: &[&str] = &["Data"];

/// Members that hold timestamps (epoch seconds in JSON, epoch milliseconds in CBOR).
pub(crate) const TIMESTAMP_FIELDS: &[&str] = &[
    "Timestamp",
    "StreamCreationTimestamp",
    "ApproximateArrivalTimestamp",
    "ConsumerCreationTimestamp",
];

/// Deepest nesting accepted in a request body; Kinesis requests are at most four levels deep.
const MAX_DEPTH: usize = 32;

/// The content type of the JSON 1.1 protocol.
pub(crate) const JSON_CONTENT_TYPE: &str = "application/x-amz-json-1.1";
/// The content type of the CBOR 1.1 protocol.
pub(crate) const CBOR_CONTENT_TYPE: &str = "application/x-amz-cbor-1.1";

/// One of the two wire formats Kinesis speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WireFormat {
    /// `application/x-amz-json-1.1`.
    Json,
    /// `application/x-amz-cbor-1.1`.
    Cbor,
}

impl WireFormat {
    /// The format named by a `Content-Type` header value (parameters such as `charset` ignored). Only the
    /// two Kinesis protocols are served: like AWS, `application/json` (or any other type) is not one, and is
    /// answered 404 `UnknownOperationException`.
    pub(crate) fn from_content_type(value: &str) -> Option<Self> {
        let media = value.split(';').next().unwrap_or("").trim();
        if media.eq_ignore_ascii_case(JSON_CONTENT_TYPE) {
            Some(Self::Json)
        } else if media.eq_ignore_ascii_case(CBOR_CONTENT_TYPE) {
            Some(Self::Cbor)
        } else {
            None
        }
    }

    /// The `Content-Type` of bodies in this format.
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Self::Json => JSON_CONTENT_TYPE,
            Self::Cbor => CBOR_CONTENT_TYPE,
        }
    }
}

/// A request body as the backend receives it: JSON bytes as they arrived, checked against the API
/// description as the operation's typed input is decoded from them (one pass, no intermediate value), or a
/// body already checked and decoded to the canonical form (CBOR, and requests the server makes itself).
#[derive(Debug, Clone)]
pub(crate) enum RequestBody {
    /// A JSON 1.1 body of `operation`, not yet checked.
    Json {
        operation: &'static str,
        bytes: bytes::Bytes,
    },
    /// A body in canonical JSON form, already checked.
    Decoded(Map<String, Value>),
}

impl RequestBody {
    /// The body checked and in canonical JSON form (for test backends that want the members).
    #[cfg(test)]
    pub(crate) fn into_map(self) -> Result<Map<String, Value>, ApiError> {
        match self {
            Self::Json { operation, bytes } => {
                super::model::model().validate_json(operation, &bytes)?;
                decode_request(WireFormat::Json, &bytes)
            }
            Self::Decoded(map) => Ok(map),
        }
    }

    /// The operation's typed input. A JSON body is checked and decoded in one pass; when that does not
    /// take it, the full check words the failure, and a body that passes it but that serde cannot place
    /// straight into the input (a null member, which AWS reads as absent) is decoded from the canonical
    /// form, so the answer is the same either way.
    pub(crate) fn decode<I: serde::de::DeserializeOwned>(self) -> Result<I, ApiError> {
        let map = match self {
            Self::Json { operation, bytes } => {
                let model = super::model::model();
                if let Some(input) = model.decode_checked::<I>(operation, &bytes) {
                    return Ok(input);
                }
                model.validate_json(operation, &bytes)?;
                if let Ok(input) = serde_json::from_slice::<I>(&bytes) {
                    return Ok(input);
                }
                decode_request(WireFormat::Json, &bytes)?
            }
            Self::Decoded(map) => map,
        };
        serde_json::from_value(Value::Object(map)).map_err(|e| ApiError::serialization(e.to_string()))
    }
}

/// Decodes a request body into the canonical JSON form; the top level must be a map.
///
/// An empty body is read as an empty request (`{}`), as the SDKs send for operations without members.
pub(crate) fn decode_request(format: WireFormat, body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let value = match format {
        WireFormat::Json => {
            let value: Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::serialization(format!("malformed JSON request body: {e}")))?;
            check_depth(&value, 0)?;
            strip_nulls(value)
        }
        WireFormat::Cbor => {
            let mut rest = body;
            let cbor: Cbor = ciborium::de::from_reader_with_recursion_limit(&mut rest, MAX_DEPTH)
                .map_err(|e| ApiError::serialization(format!("malformed CBOR request body: {e}")))?;
            // One data item is the whole body, as JSON bodies are one value: bytes after it are an error.
            if !rest.is_empty() {
                return Err(ApiError::serialization(format!(
                    "malformed CBOR request body: {} trailing bytes after the request structure",
                    rest.len()
                )));
            }
            cbor_to_json(cbor, None, 0)?
        }
    };
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::serialization("request body must be a structure")),
    }
}

/// Encodes a canonical JSON value as a response body in `format`.
pub(crate) fn encode_response(format: WireFormat, value: &Value) -> Vec<u8> {
    match format {
        WireFormat::Json => serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec()),
        WireFormat::Cbor => {
            let cbor = json_to_cbor(value, None);
            let mut out = Vec::new();
            if ciborium::ser::into_writer(&cbor, &mut out).is_err() {
                out.clear();
                // An empty CBOR map: 0xa0.
                out.push(0xa0);
            }
            out
        }
    }
}

/// A unary operation's typed output, encoded in the request's wire format when the answer is written.
pub(crate) trait Output: Send + 'static {
    /// The response body in `format`.
    ///
    /// # Errors
    /// When the output cannot be serialized (no emulator output fails: they are plain data).
    fn encode(&self, format: WireFormat) -> Result<Vec<u8>, serde_json::Error>;

    /// The canonical JSON form (what persistence reads the accepted sequence numbers from).
    ///
    /// # Errors
    /// As [`Output::encode`].
    fn to_value(&self) -> Result<Value, serde_json::Error>;
}

impl<T: Serialize + Send + 'static> Output for T {
    fn encode(&self, format: WireFormat) -> Result<Vec<u8>, serde_json::Error> {
        match format {
            WireFormat::Json => encode_json(self),
            WireFormat::Cbor => Ok(encode_response(format, &self.to_value()?)),
        }
    }

    fn to_value(&self) -> Result<Value, serde_json::Error> {
        serde_json::to_value(self)
    }
}

/// The first buffer of a JSON response: small answers fit it.
const RESPONSE_CAPACITY: usize = 1024;

/// `output` as a JSON body: GetRecords and PutRecords answers by hand ([`records`]), others by serde_json.
fn encode_json<T: Serialize + 'static>(output: &T) -> Result<Vec<u8>, serde_json::Error> {
    let any: &dyn std::any::Any = output;
    if let Some(output) = any.downcast_ref::<crate::types::GetRecordsOutput>() {
        return records::get_records(output);
    }
    if let Some(output) = any.downcast_ref::<crate::types::PutRecordsOutput>() {
        return records::put_records(output);
    }
    let mut out = Vec::with_capacity(RESPONSE_CAPACITY);
    serde_json::to_writer(&mut out, output)?;
    Ok(out)
}

/// Encodes an error answer body (`__type` and `message`) in `format`.
pub(crate) fn encode_error(format: WireFormat, error: &ApiError) -> Vec<u8> {
    let mut map = Map::new();
    map.insert("__type".into(), Value::String(error.code.clone()));
    map.insert("message".into(), Value::String(error.message.clone()));
    encode_response(format, &Value::Object(map))
}

fn check_depth(value: &Value, depth: usize) -> Result<(), ApiError> {
    if depth > MAX_DEPTH {
        return Err(ApiError::serialization("request body is nested too deeply"));
    }
    match value {
        Value::Array(items) => items.iter().try_for_each(|v| check_depth(v, depth + 1)),
        Value::Object(map) => map.values().try_for_each(|v| check_depth(v, depth + 1)),
        _ => Ok(()),
    }
}

fn strip_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

fn is_timestamp(field: Option<&str>) -> bool {
    field.is_some_and(|f| TIMESTAMP_FIELDS.contains(&f))
}

fn is_blob(field: Option<&str>) -> bool {
    field.is_some_and(|f| BLOB_FIELDS.contains(&f))
}

/// Converts a decoded CBOR value to the canonical JSON form. `field` is the name of the member holding it
/// (lists pass their own member name down to their items).
fn cbor_to_json(value: Cbor, field: Option<&str>, depth: usize) -> Result<Value, ApiError> {
    if depth > MAX_DEPTH {
        return Err(ApiError::serialization("request body is nested too deeply"));
    }
    let value = match value {
        Cbor::Null => Value::Null,
        Cbor::Bool(b) => Value::Bool(b),
        Cbor::Integer(i) => {
            let i = i128::from(i);
            if is_timestamp(field) {
                millis_to_seconds(i as f64)?
            } else if let Ok(v) = i64::try_from(i) {
                Value::Number(v.into())
            } else if let Ok(v) = u64::try_from(i) {
                Value::Number(v.into())
            } else {
                return Err(ApiError::serialization("integer out of range"));
            }
        }
        Cbor::Float(f) => {
            if is_timestamp(field) {
                millis_to_seconds(f)?
            } else {
                Value::Number(
                    Number::from_f64(f)
                        .ok_or_else(|| ApiError::serialization("non-finite number in request"))?,
                )
            }
        }
        Cbor::Bytes(bytes) => Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)),
        Cbor::Text(s) => Value::String(s),
        // Tags (the Java SDK marks timestamps with tag 1) carry no meaning beyond the member's type.
        Cbor::Tag(_, inner) => return cbor_to_json(*inner, field, depth + 1),
        Cbor::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|v| cbor_to_json(v, field, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Cbor::Map(entries) => {
            let mut map = Map::new();
            for (k, v) in entries {
                let Cbor::Text(key) = k else {
                    return Err(ApiError::serialization("structure keys must be text strings"));
                };
                let v = cbor_to_json(v, Some(&key), depth + 1)?;
                if !v.is_null() {
                    map.insert(key, v);
                }
            }
            Value::Object(map)
        }
        _ => return Err(ApiError::serialization("unsupported CBOR value")),
    };
    Ok(value)
}

/// Epoch milliseconds to the JSON form's epoch seconds. Whole seconds stay integers; otherwise the
/// quotient is within far less than half a millisecond of the exact value, and
/// [`Timestamp::from_secs_f64`](crate::types::Timestamp::from_secs_f64) rounds it back to `millis`.
fn millis_to_seconds(millis: f64) -> Result<Value, ApiError> {
    if millis.fract() == 0.0 && millis % 1000.0 == 0.0 && (millis / 1000.0).abs() < 9.0e15 {
        return Ok(Value::Number(((millis / 1000.0) as i64).into()));
    }
    let seconds = millis / 1000.0;
    Number::from_f64(seconds)
        .map(Value::Number)
        .ok_or_else(|| ApiError::serialization("timestamp is not a finite number"))
}

/// Converts a canonical JSON value to CBOR: blobs become byte strings and timestamps tag-1 epoch millis.
fn json_to_cbor(value: &Value, field: Option<&str>) -> Cbor {
    match value {
        Value::Null => Cbor::Null,
        Value::Bool(b) => Cbor::Bool(*b),
        Value::Number(n) => {
            if is_timestamp(field) {
                let millis = (n.as_f64().unwrap_or(0.0) * 1000.0).round() as i64;
                Cbor::Tag(1, Box::new(Cbor::Integer(millis.into())))
            } else if let Some(i) = n.as_i64() {
                Cbor::Integer(i.into())
            } else if let Some(u) = n.as_u64() {
                Cbor::Integer(u.into())
            } else {
                Cbor::Float(n.as_f64().unwrap_or(0.0))
            }
        }
        Value::String(s) => {
            if is_blob(field) {
                match base64::engine::general_purpose::STANDARD.decode(s) {
                    Ok(bytes) => Cbor::Bytes(bytes),
                    Err(_) => Cbor::Text(s.clone()),
                }
            } else {
                Cbor::Text(s.clone())
            }
        }
        Value::Array(items) => Cbor::Array(items.iter().map(|v| json_to_cbor(v, field)).collect()),
        Value::Object(map) => Cbor::Map(
            map.iter()
                .map(|(k, v)| (Cbor::Text(k.clone()), json_to_cbor(v, Some(k))))
                .collect(),
        ),
    }
}

mod records;

#[cfg(test)]
mod tests;
