//! The HTTP face of the server: one request in, one AWS-shaped response out.
//!
//! [`Handler::handle`] runs the checks AWS runs, in the same order — size, method, content type, target
//! (`X-Amz-Target: Kinesis_20131202.<Operation>`), authentication, body decoding — and hands the decoded
//! request to a [`Backend`]. Whatever happens, the answer is an HTTP response: failures become
//! `{"__type", "message"}` bodies in the request's wire format, and a backend that panics is answered with
//! `InternalFailure` rather than taking the server down. SubscribeToShard answers stream as event-stream
//! frames until the subscription ends or the server shuts down.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, StreamExt};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use serde_json::{Map, Value};
use tokio::sync::watch;

use super::codec::{self, WireFormat};
use super::error::ApiError;
use super::eventstream;
use super::target::Target;

/// The response body type: whole bodies and event streams alike.
pub(crate) type Body = UnsyncBoxBody<Bytes, Infallible>;

/// What a backend answers to a well-formed request.
pub(crate) enum Reply {
    /// A single response structure, in canonical JSON form.
    Value(Value),
    /// SubscribeToShard: events in canonical JSON form; an `Err` item ends the stream with an exception.
    Stream(BoxStream<'static, Result<Value, ApiError>>),
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reply::Value(v) => f.debug_tuple("Value").field(v).finish(),
            Reply::Stream(_) => f.write_str("Stream(..)"),
        }
    }
}

/// Executes decoded Kinesis requests. The server's implementation drives the in-process emulator.
pub(crate) trait Backend: Send + Sync + 'static {
    /// Runs the operation `target` names with `request` (canonical JSON form).
    fn call(
        &self,
        target: Target,
        request: Map<String, Value>,
    ) -> BoxFuture<'static, Result<Reply, ApiError>>;
}

/// Per-server request handling state, shared by every connection.
pub(crate) struct Handler {
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) max_request_bytes: usize,
    pub(crate) shutdown: watch::Receiver<bool>,
}

impl Handler {
    /// Answers one HTTP request. Never fails: errors become AWS-shaped responses.
    pub(crate) async fn handle<B>(self: Arc<Self>, request: Request<B>) -> Result<Response<Body>, Infallible>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let request_id = request_id();
        let format = request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(WireFormat::from_content_type);
        let response = match self.process(request, format).await {
            Ok(response) => response,
            Err(error) => {
                tracing::debug!(code = %error.code, message = %error.message, "request failed");
                error_response(format.unwrap_or(WireFormat::Json), &error)
            }
        };
        Ok(with_request_id(response, &request_id))
    }

    async fn process<B>(
        &self,
        request: Request<B>,
        format: Option<WireFormat>,
    ) -> Result<Response<Body>, ApiError>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let (parts, body) = request.into_parts();
        let too_large = || {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "SerializationException",
                format!(
                    "request body exceeds the limit of {} bytes",
                    self.max_request_bytes
                ),
            )
        };
        if body.size_hint().lower() > self.max_request_bytes as u64 {
            return Err(too_large());
        }
        if parts.method != Method::POST {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "AccessDeniedException",
                "Unable to determine service/operation name to be authorized",
            ));
        }
        let Some(format) = format else {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "UnknownOperationException",
                "unsupported content type: use application/x-amz-json-1.1 or application/x-amz-cbor-1.1",
            ));
        };
        let target = parts
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let operation = Target::from_target(target)
            .ok_or_else(|| ApiError::unknown_operation(format!("unknown operation target '{target}'")))?;
        super::auth::check(&parts.headers, parts.uri.query())?;

        let bytes = match Limited::new(body, self.max_request_bytes).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
                return Err(too_large())
            }
            Err(e) => {
                return Err(ApiError::serialization(format!(
                    "could not read the request body: {e}"
                )))
            }
        };
        let decoded = codec::decode_request(format, &bytes)?;
        tracing::trace!(operation = operation.name(), "dispatching");

        // Run the backend on its own task so that a panic there is answered, not propagated.
        let call = self.backend.call(operation, decoded);
        let reply = match tokio::spawn(call).await {
            Ok(reply) => reply?,
            Err(join) => {
                tracing::error!(operation = operation.name(), error = %join, "operation panicked");
                return Err(ApiError::internal(
                    "the emulator failed while serving this request",
                ));
            }
        };
        Ok(match reply {
            Reply::Value(value) => ok_response(format, &value),
            Reply::Stream(events) => self.stream_response(format, events),
        })
    }

    fn stream_response(
        &self,
        format: WireFormat,
        events: BoxStream<'static, Result<Value, ApiError>>,
    ) -> Response<Body> {
        let mut shutdown = self.shutdown.clone();
        let stopped = async move {
            // Ends the stream once shutdown is signalled (or the server's state is dropped).
            let _ = shutdown.wait_for(|stop| *stop).await;
        };
        let frames = events
            .scan(false, move |ended, item| {
                let frame = if *ended {
                    None
                } else {
                    match item {
                        Ok(event) => Some(eventstream::subscribe_event(format, &event)),
                        Err(error) => {
                            *ended = true;
                            Some(eventstream::exception(format, &error))
                        }
                    }
                };
                futures::future::ready(frame)
            })
            .boxed();
        let body = stream::once(futures::future::ready(eventstream::initial_response(format)))
            .chain(frames)
            .take_until(Box::pin(stopped))
            .map(|bytes| Ok::<_, Infallible>(Frame::data(bytes)));
        let mut response = Response::new(StreamBody::new(body).boxed_unsync());
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static(eventstream::EVENT_STREAM_CONTENT_TYPE),
        );
        response
    }
}

fn full(bytes: Vec<u8>) -> Body {
    Full::new(Bytes::from(bytes)).boxed_unsync()
}

fn ok_response(format: WireFormat, value: &Value) -> Response<Body> {
    let mut response = Response::new(full(codec::encode_response(format, value)));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    response
}

/// The AWS-shaped answer for `error`.
pub(crate) fn error_response(format: WireFormat, error: &ApiError) -> Response<Body> {
    let mut response = Response::new(full(codec::encode_error(format, error)));
    *response.status_mut() = error.status;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if let Ok(value) = HeaderValue::from_str(&error.code) {
        headers.insert("x-amzn-errortype", value);
    }
    response
}

fn with_request_id(mut response: Response<Body>, id: &str) -> Response<Body> {
    if let Ok(value) = HeaderValue::from_str(id) {
        response.headers_mut().insert("x-amzn-requestid", value);
    }
    response
}

/// A random request id shaped like AWS's (a UUID).
fn request_id() -> String {
    let n: u128 = rand::random();
    let hex = format!("{n:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Echoes the request, fails on `DeleteStream`, panics on `MergeShards`, streams on `SubscribeToShard`.
    struct Echo;

    impl Backend for Echo {
        fn call(
            &self,
            operation: Target,
            request: Map<String, Value>,
        ) -> BoxFuture<'static, Result<Reply, ApiError>> {
            use crate::Operation;
            Box::pin(async move {
                match operation {
                    Target::Implemented(Operation::DeleteStream) => Err(ApiError::from_code("ResourceNotFoundException", "no such stream")),
                    Target::Implemented(Operation::MergeShards) => panic!("backend bug"),
                    Target::Implemented(Operation::SubscribeToShard) => Ok(Reply::Stream(
                        stream::iter(vec![
                            Ok(json!({"ContinuationSequenceNumber": "1", "MillisBehindLatest": 0, "Records": []})),
                            Err(ApiError::from_code("ResourceInUseException", "taken over")),
                            Ok(json!({"never": "sent"})),
                        ])
                        .boxed(),
                    )),
                    _ => Ok(Reply::Value(json!({"Operation": operation.name(), "Request": request}))),
                }
            })
        }
    }

    fn handler() -> (Arc<Handler>, watch::Sender<bool>) {
        let (tx, rx) = watch::channel(false);
        let handler = Arc::new(Handler {
            backend: Arc::new(Echo),
            max_request_bytes: 1024,
            shutdown: rx,
        });
        (handler, tx)
    }

    fn request(target: &str, content_type: &str, body: &[u8]) -> Request<Full<Bytes>> {
        Request::post("/")
            .header("x-amz-target", target)
            .header("content-type", content_type)
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=a/b, SignedHeaders=host, Signature=c",
            )
            .header("x-amz-date", "20260101T000000Z")
            .body(Full::new(Bytes::copy_from_slice(body)))
            .unwrap()
    }

    async fn send(request: Request<Full<Bytes>>) -> (StatusCode, http::HeaderMap, Bytes) {
        let (handler, _stop) = handler();
        let response = handler.handle(request).await.unwrap();
        let (parts, body) = response.into_parts();
        (
            parts.status,
            parts.headers,
            body.collect().await.unwrap().to_bytes(),
        )
    }

    async fn send_json(request: Request<Full<Bytes>>) -> (StatusCode, Value) {
        let (status, _, body) = send(request).await;
        (status, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn dispatches_decoded_json() {
        let (status, body) = send_json(request(
            "Kinesis_20131202.PutRecord",
            "application/x-amz-json-1.1",
            br#"{"StreamName":"s","Data":"aGk="}"#,
        ))
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["Operation"], "PutRecord");
        assert_eq!(body["Request"]["Data"], "aGk=");
    }

    #[tokio::test]
    async fn answers_cbor_with_cbor() {
        let mut cbor = Vec::new();
        ciborium::ser::into_writer(
            &ciborium::value::Value::Map(vec![(
                ciborium::value::Value::Text("Data".into()),
                ciborium::value::Value::Bytes(b"hi".to_vec()),
            )]),
            &mut cbor,
        )
        .unwrap();
        let (status, headers, body) = send(request(
            "Kinesis_20131202.PutRecord",
            "application/x-amz-cbor-1.1",
            &cbor,
        ))
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["content-type"], "application/x-amz-cbor-1.1");
        let decoded = codec::decode_request(WireFormat::Cbor, &body).unwrap();
        assert_eq!(decoded["Request"]["Data"], "aGk=");
    }

    #[tokio::test]
    async fn aws_shaped_errors() {
        let (status, body) = send_json(request(
            "Kinesis_20131202.DeleteStream",
            "application/x-amz-json-1.1",
            b"{}",
        ))
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["__type"], "ResourceNotFoundException");

        let (status, body) = send_json(request(
            "Kinesis_20131202.Frobnicate",
            "application/x-amz-json-1.1",
            b"{}",
        ))
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["__type"], "UnknownOperationException");

        let (status, body) = send_json(request(
            "Kinesis_20131202.PutRecord",
            "application/x-amz-json-1.1",
            b"{oops",
        ))
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["__type"], "SerializationException");

        let (status, body) = send_json(request(
            "Kinesis_20131202.PutRecord",
            "application/x-amz-json-1.1",
            &vec![b' '; 2048],
        ))
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(body["__type"], "SerializationException");

        let mut unsigned = request("Kinesis_20131202.PutRecord", "application/x-amz-json-1.1", b"{}");
        unsigned.headers_mut().remove("authorization");
        let (status, body) = send_json(unsigned).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["__type"], "MissingAuthenticationTokenException");

        let mut get = request("Kinesis_20131202.PutRecord", "application/x-amz-json-1.1", b"{}");
        *get.method_mut() = Method::GET;
        let (status, body) = send_json(get).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["__type"], "AccessDeniedException");

        let (status, _) = send_json(request("Kinesis_20131202.PutRecord", "text/plain", b"{}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn backend_panic_is_an_internal_failure() {
        let (status, body) = send_json(request(
            "Kinesis_20131202.MergeShards",
            "application/x-amz-json-1.1",
            b"{}",
        ))
        .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["__type"], "InternalFailure");
    }

    #[tokio::test]
    async fn subscription_streams_frames_and_stops_after_an_exception() {
        let (status, headers, body) = send(request(
            "Kinesis_20131202.SubscribeToShard",
            "application/x-amz-json-1.1",
            b"{}",
        ))
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["content-type"], eventstream::EVENT_STREAM_CONTENT_TYPE);
        let mut buf = body;
        let mut kinds = Vec::new();
        while !buf.is_empty() {
            let message = aws_smithy_eventstream::frame::read_message_from(&mut buf).unwrap();
            let kind = message
                .headers()
                .iter()
                .find(|h| h.name().as_str() == ":event-type" || h.name().as_str() == ":exception-type")
                .and_then(|h| h.value().as_string().ok())
                .map(|s| s.as_str().to_owned())
                .unwrap();
            kinds.push(kind);
        }
        assert_eq!(
            kinds,
            [
                "initial-response",
                "SubscribeToShardEvent",
                "ResourceInUseException"
            ]
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(128))]

            /// Whatever arrives, the answer is a response; errors carry an AWS `__type` in a decodable body.
            #[test]
            fn any_request_gets_an_aws_shaped_answer(
                target in prop_oneof![
                    Just("Kinesis_20131202.PutRecord".to_owned()),
                    Just("Kinesis_20131202.ListShards".to_owned()),
                    "[ -~]{0,40}",
                ],
                content_type in prop_oneof![
                    Just("application/x-amz-json-1.1".to_owned()),
                    Just("application/x-amz-cbor-1.1".to_owned()),
                    "[ -~]{0,30}",
                ],
                body in proptest::collection::vec(any::<u8>(), 0..1500),
            ) {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                let Ok(request) = Request::post("/")
                    .header("x-amz-target", target.as_str())
                    .header("content-type", content_type.as_str())
                    .header("authorization", "AWS4-HMAC-SHA256 Credential=a/b, SignedHeaders=host, Signature=c")
                    .header("x-amz-date", "20260101T000000Z")
                    .body(Full::new(Bytes::from(body)))
                else {
                    // Header values proptest made that `http` itself refuses never reach a server.
                    return Ok(());
                };
                let (status, headers, body) = runtime.block_on(send(request));
                if status != StatusCode::OK {
                    let format = headers
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .and_then(WireFormat::from_content_type)
                        .unwrap();
                    let decoded = codec::decode_request(format, &body).unwrap();
                    prop_assert!(decoded["__type"].is_string());
                    prop_assert!(headers.contains_key("x-amzn-errortype"));
                }
                prop_assert!(headers.contains_key("x-amzn-requestid"));
            }
        }
    }
}
