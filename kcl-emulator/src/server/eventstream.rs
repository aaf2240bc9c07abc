//! AWS event-stream framing for SubscribeToShard responses.
//!
//! A SubscribeToShard response body (`application/vnd.amazon.eventstream`) is a sequence of binary messages,
//! each a prelude (total and header lengths, CRC32), typed headers, a payload and a trailing CRC32. Framing is
//! done by the maintained `aws-smithy-eventstream` crate; this module only chooses the headers Kinesis sends:
//! an `initial-response` event first (the RPC protocols' initial message, empty here), then one
//! `SubscribeToShardEvent` per batch, and an `exception` message if the subscription fails midway.

use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use bytes::Bytes;
use serde_json::Value;

use super::codec::{encode_response, WireFormat};
use super::error::ApiError;

/// The content type of an event-stream response body.
pub(crate) const EVENT_STREAM_CONTENT_TYPE: &str = "application/vnd.amazon.eventstream";

fn header(name: &'static str, value: &'static str) -> Header {
    Header::new(name, HeaderValue::String(value.into()))
}

fn frame(message: &Message) -> Bytes {
    let mut out = Vec::with_capacity(message.payload().len() + 128);
    match aws_smithy_eventstream::frame::write_message_to(message, &mut out) {
        Ok(()) => Bytes::from(out),
        // Only oversized headers or payloads (over 16 MiB) fail, which event payloads never reach.
        Err(_) => Bytes::new(),
    }
}

/// The `initial-response` message that opens the stream.
pub(crate) fn initial_response(format: WireFormat) -> Bytes {
    let payload = encode_response(format, &Value::Object(Default::default()));
    frame(&Message::new_from_parts(
        vec![
            header(":message-type", "event"),
            header(":event-type", "initial-response"),
            header(":content-type", format.content_type()),
        ],
        payload,
    ))
}

/// One `SubscribeToShardEvent` carrying `event` (canonical JSON form).
pub(crate) fn subscribe_event(format: WireFormat, event: &Value) -> Bytes {
    frame(&Message::new_from_parts(
        vec![
            header(":message-type", "event"),
            header(":event-type", "SubscribeToShardEvent"),
            header(":content-type", format.content_type()),
        ],
        encode_response(format, event),
    ))
}

/// An `exception` message that ends the stream with `error`.
pub(crate) fn exception(format: WireFormat, error: &ApiError) -> Bytes {
    let mut body = serde_json::Map::new();
    body.insert("message".into(), Value::String(error.message.clone()));
    let exception_type: String = error.code.clone();
    frame(&Message::new_from_parts(
        vec![
            header(":message-type", "exception"),
            Header::new(":exception-type", HeaderValue::String(exception_type.into())),
            header(":content-type", format.content_type()),
        ],
        encode_response(format, &Value::Object(body)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_eventstream::frame::read_message_from;

    fn header_str<'a>(message: &'a Message, name: &str) -> Option<&'a str> {
        message
            .headers()
            .iter()
            .find(|h| h.name().as_str() == name)
            .and_then(|h| h.value().as_string().ok())
            .map(|s| s.as_str())
    }

    #[test]
    fn frames_round_trip_through_the_decoder() {
        let event =
            serde_json::json!({"ContinuationSequenceNumber": "42", "MillisBehindLatest": 0, "Records": []});
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&initial_response(WireFormat::Json));
        bytes.extend_from_slice(&subscribe_event(WireFormat::Json, &event));
        bytes.extend_from_slice(&exception(
            WireFormat::Json,
            &ApiError::from_code("ResourceNotFoundException", "gone"),
        ));
        let mut buf = Bytes::from(bytes);
        let first = read_message_from(&mut buf).unwrap();
        assert_eq!(header_str(&first, ":event-type"), Some("initial-response"));
        let second = read_message_from(&mut buf).unwrap();
        assert_eq!(header_str(&second, ":event-type"), Some("SubscribeToShardEvent"));
        let payload: Value = serde_json::from_slice(second.payload()).unwrap();
        assert_eq!(payload, event);
        let third = read_message_from(&mut buf).unwrap();
        assert_eq!(header_str(&third, ":message-type"), Some("exception"));
        assert_eq!(
            header_str(&third, ":exception-type"),
            Some("ResourceNotFoundException")
        );
        assert!(buf.is_empty());
    }
}
