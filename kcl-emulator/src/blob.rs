//! Serde for record data: base64 text in human-readable formats (JSON), a byte string otherwise (CBOR).
//!
//! Used as `#[serde(with = "crate::blob")]` on the `Bytes` members of the request and response types.

use std::fmt;

use base64::Engine as _;
use bytes::Bytes;

/// Serializes `data` as base64 (JSON) or bytes (CBOR).
pub(crate) fn serialize<S: serde::Serializer>(data: &Bytes, serializer: S) -> Result<S::Ok, S::Error> {
    if serializer.is_human_readable() {
        // Written through to the serializer (no base64 `String` per record in a JSON response).
        serializer.collect_str(&base64::display::Base64Display::new(
            data,
            &base64::engine::general_purpose::STANDARD,
        ))
    } else {
        serializer.serialize_bytes(data)
    }
}

/// Deserializes base64 text, a byte string, or a sequence of bytes.
pub(crate) fn deserialize<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Bytes, D::Error> {
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = Bytes;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("base64 text or a byte string")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Bytes, E> {
            let engine = &base64::engine::general_purpose::STANDARD;
            // Decoded into a buffer of exactly the decoded length, so that it becomes `Bytes` without a
            // second allocation (a `Vec` with spare capacity gets a shared header). Anything unusual takes
            // the plain path below, which also words the errors.
            if v.len().is_multiple_of(4) {
                let pad = v.bytes().rev().take(2).take_while(|&b| b == b'=').count();
                let mut out = vec![0; v.len() / 4 * 3 - pad];
                if matches!(engine.decode_slice(v, &mut out), Ok(n) if n == out.len()) {
                    return Ok(Bytes::from(out));
                }
            }
            engine
                .decode(v)
                .map(Bytes::from)
                .map_err(|e| E::custom(format!("invalid base64: {e}")))
        }
        fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Bytes, E> {
            Ok(Bytes::copy_from_slice(v))
        }
        fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Bytes, E> {
            Ok(Bytes::from(v))
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Bytes, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 20));
            while let Some(b) = seq.next_element::<u8>()? {
                out.push(b);
            }
            Ok(Bytes::from(out))
        }
    }
    if deserializer.is_human_readable() {
        deserializer.deserialize_str(V)
    } else {
        deserializer.deserialize_bytes(V)
    }
}
