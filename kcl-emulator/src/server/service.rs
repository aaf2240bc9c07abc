//! The HTTP face of the server: one request in, one AWS-shaped response out.
//!
//! [`Handler::handle`] runs the checks AWS runs, in the same order — size, method, content type, target
//! (`X-Amz-Target: Kinesis_20131202.<Operation>`), authentication, body decoding — and hands the decoded
//! request to a [`Backend`]. Whatever happens, the answer is an HTTP response: failures become
//! `{"__type", "message"}` bodies in the request's wire format, and a backend that panics is answered with
//! `InternalFailure` rather than taking the server down. SubscribeToShard answers stream as event-stream
//! frames until the subscription ends or the server shuts down.
//!
//! Like AWS's endpoints it also answers CORS preflight requests (`OPTIONS`) and marks every answer to a
//! request with an `Origin` as readable by any origin, so browser clients (the JavaScript SDK in a page)
//! work; every answer carries `x-amzn-RequestId` and `x-amz-id-2`. A body that stops arriving after its
//! headers is given up after [`BODY_READ_TIMEOUT`].

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, StreamExt};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use serde_json::Value;
use tokio::sync::watch;

use super::codec::{self, WireFormat};
use super::error::ApiError;
use super::eventstream;
use super::target::Target;

/// How long a request body may take to arrive once its headers have (hyper bounds the headers alone).
pub(crate) const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The response headers a browser may read (CORS), as AWS exposes them.
const EXPOSED_HEADERS: &str = "x-amzn-RequestId,x-amzn-ErrorType,x-amzn-ErrorMessage,x-amz-id-2,Date";

/// How long a browser may cache a preflight answer (two days, as AWS allows).
const PREFLIGHT_MAX_AGE: &str = "172800";

/// The response body type: whole bodies and event streams alike.
pub(crate) type Body = UnsyncBoxBody<Bytes, Infallible>;

/// What a backend answers to a well-formed request.
pub(crate) enum Reply {
    /// A single response structure: the operation's typed output, encoded in the request's wire format
    /// without going through the canonical form where the format allows (see [`codec::Output`]).
    Output(Box<dyn codec::Output>),
    /// SubscribeToShard: events in canonical JSON form; an `Err` item ends the stream with an exception.
    Stream(BoxStream<'static, Result<Value, ApiError>>),
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reply::Output(_) => f.write_str("Output(..)"),
            Reply::Stream(_) => f.write_str("Stream(..)"),
        }
    }
}

/// Executes decoded Kinesis requests. The server's implementation drives the in-process emulator.
pub(crate) trait Backend: Send + Sync + 'static {
    /// Runs the operation `target` names with `request` (canonical JSON form), in `region` (the one the
    /// request is signed for; `None`: the server's own).
    fn call(
        &self,
        target: Target,
        region: Option<String>,
        request: codec::RequestBody,
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
        let cors = request.headers().contains_key(http::header::ORIGIN);
        if request.method() == Method::OPTIONS {
            return Ok(with_ids(preflight(request.headers()), &request_id));
        }
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
        let mut response = with_ids(response, &request_id);
        if cors {
            let headers = response.headers_mut();
            headers.insert(
                http::header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
            headers.insert(
                http::header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static(EXPOSED_HEADERS),
            );
        }
        Ok(response)
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
        let region = super::regions::signed_region(&parts.headers, parts.uri.query());

        let read = tokio::time::timeout(
            BODY_READ_TIMEOUT,
            Limited::new(body, self.max_request_bytes).collect(),
        );
        let bytes = match read.await {
            Ok(Ok(collected)) => collected.to_bytes(),
            Ok(Err(e)) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
                return Err(too_large())
            }
            Ok(Err(e)) => {
                return Err(ApiError::serialization(format!(
                    "could not read the request body: {e}"
                )))
            }
            Err(_) => {
                return Err(ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "RequestTimeoutException",
                    format!(
                        "the request body did not arrive within {} s of its headers",
                        BODY_READ_TIMEOUT.as_secs()
                    ),
                ))
            }
        };
        let model = super::model::model();
        let decoded = match format {
            // JSON is handed on as bytes: the operation checks and decodes its input from them in one pass.
            WireFormat::Json => codec::RequestBody::Json {
                operation: operation.name(),
                bytes: if bytes.iter().all(u8::is_ascii_whitespace) {
                    Bytes::from_static(b"{}")
                } else {
                    bytes
                },
            },
            WireFormat::Cbor => {
                let decoded = Value::Object(codec::decode_request(format, &bytes)?);
                model.validate_value(operation.name(), &decoded)?;
                match decoded {
                    Value::Object(decoded) => codec::RequestBody::Decoded(decoded),
                    _ => return Err(ApiError::serialization("request body must be a structure")),
                }
            }
        };
        tracing::trace!(operation = operation.name(), "dispatching");

        // Run the backend on its own task so that a panic there is answered, not propagated.
        let call = self.backend.call(operation, region, decoded);
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
            Reply::Output(output) => {
                let body = output
                    .encode(format)
                    .map_err(|e| ApiError::internal(format!("cannot encode the response: {e}")))?;
                ok_response(format, body)
            }
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

fn ok_response(format: WireFormat, body: Vec<u8>) -> Response<Body> {
    let mut response = Response::new(full(body));
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

/// Adds the request id (`x-amzn-RequestId`) and the extended request id (`x-amz-id-2`) AWS sends.
fn with_ids(mut response: Response<Body>, id: &str) -> Response<Body> {
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(id) {
        headers.insert("x-amzn-requestid", value);
    }
    if let Ok(value) = HeaderValue::from_str(&extended_request_id()) {
        headers.insert("x-amz-id-2", value);
    }
    response
}

/// The answer to a CORS preflight: any origin may send what it asks to send.
fn preflight(request: &http::HeaderMap) -> Response<Body> {
    let mut response = Response::new(full(Vec::new()));
    let headers = response.headers_mut();
    headers.insert(
        http::header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    for (asked, allowed) in [
        (
            http::header::ACCESS_CONTROL_REQUEST_HEADERS,
            http::header::ACCESS_CONTROL_ALLOW_HEADERS,
        ),
        (
            http::header::ACCESS_CONTROL_REQUEST_METHOD,
            http::header::ACCESS_CONTROL_ALLOW_METHODS,
        ),
    ] {
        if let Some(value) = request.get(asked) {
            headers.insert(allowed, value.clone());
        }
    }
    headers.insert(
        http::header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSED_HEADERS),
    );
    headers.insert(
        http::header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(PREFLIGHT_MAX_AGE),
    );
    response
}

/// A random extended request id shaped like AWS's `x-amz-id-2` (base64 of 64 random bytes).
fn extended_request_id() -> String {
    let bytes: [u8; 64] = std::array::from_fn(|_| rand::random());
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes)
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
mod tests;
