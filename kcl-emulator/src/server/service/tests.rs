//! Unit tests of `server/service.rs`.

use super::*;
use serde_json::json;

/// Echoes the request, fails on `DeleteStream`, panics on `MergeShards`, streams on `SubscribeToShard`.
struct Echo;

impl Backend for Echo {
    fn call(
        &self,
        operation: Target,
        _region: Option<String>,
        request: codec::RequestBody,
    ) -> BoxFuture<'static, Result<Reply, ApiError>> {
        use crate::Operation;
        Box::pin(async move {
            let request = request.into_map()?;
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
                _ => Ok(Reply::Output(Box::new(
                    json!({"Operation": operation.name(), "Request": request}),
                ))),
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
        br#"{"StreamName":"s","ShardToMerge":"shardId-0","AdjacentShardToMerge":"shardId-1"}"#,
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
        br#"{"ConsumerARN":"arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/c:1","ShardId":"shardId-000000000000","StartingPosition":{"Type":"LATEST"}}"#,
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

#[tokio::test]
async fn requests_are_checked_against_the_api_description_before_the_backend() {
    let (status, body) = send_json(request(
        "Kinesis_20131202.PutRecord",
        "application/x-amz-json-1.1",
        br#"{"StreamName":"s","PartitionKey":"k"}"#,
    ))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["__type"], "ValidationException");
    assert_eq!(
        body["message"],
        "1 validation error detected: Value null at 'data' failed to satisfy constraint: Member must not be null"
    );
    let (_, body) = send_json(request(
        "Kinesis_20131202.PutRecords",
        "application/x-amz-json-1.1",
        br#"{"StreamName":"s","Records":[[]]}"#,
    ))
    .await;
    assert_eq!(body["__type"], "SerializationException");
}

#[tokio::test]
async fn plain_json_is_not_a_kinesis_protocol() {
    let (status, headers, body) =
        send(request("Kinesis_20131202.ListStreams", "application/json", b"{}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers["x-amzn-errortype"], "UnknownOperationException");
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["__type"], "UnknownOperationException");
}

#[tokio::test]
async fn every_answer_carries_both_request_ids() {
    let (_, headers, _) = send(request(
        "Kinesis_20131202.ListStreams",
        "application/x-amz-json-1.1",
        b"{}",
    ))
    .await;
    let id = headers["x-amzn-requestid"].to_str().unwrap();
    assert_eq!(id.len(), 36, "{id}");
    let id2 = headers["x-amz-id-2"].to_str().unwrap();
    let decoded = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, id2).unwrap();
    assert_eq!(decoded.len(), 64);
    let (_, again, _) = send(request(
        "Kinesis_20131202.Nope",
        "application/x-amz-json-1.1",
        b"{}",
    ))
    .await;
    assert_ne!(
        again["x-amz-id-2"], headers["x-amz-id-2"],
        "a fresh id per answer"
    );
}

#[tokio::test]
async fn cors_preflight_and_cross_origin_answers() {
    let preflight = Request::options("/")
        .header("origin", "http://localhost:3000")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,x-amz-target,authorization,x-amz-date,x-amz-user-agent",
        )
        .body(Full::new(Bytes::new()))
        .unwrap();
    let (status, headers, body) = send(preflight).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.is_empty());
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert_eq!(headers["access-control-allow-methods"], "POST");
    assert_eq!(
        headers["access-control-allow-headers"],
        "content-type,x-amz-target,authorization,x-amz-date,x-amz-user-agent"
    );
    assert_eq!(headers["access-control-max-age"], "172800");

    let mut cross = request(
        "Kinesis_20131202.ListStreams",
        "application/x-amz-json-1.1",
        b"{}",
    );
    cross
        .headers_mut()
        .insert("origin", HeaderValue::from_static("http://localhost:3000"));
    let (status, headers, _) = send(cross).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert!(headers["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .contains("x-amzn-RequestId"));
    // Without an Origin, no CORS headers.
    let (_, headers, _) = send(request(
        "Kinesis_20131202.ListStreams",
        "application/x-amz-json-1.1",
        b"{}",
    ))
    .await;
    assert!(!headers.contains_key("access-control-allow-origin"));
}

#[tokio::test(start_paused = true)]
async fn a_body_that_stops_arriving_is_given_up() {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, Infallible>>(1);
    tx.send(Ok(Frame::data(Bytes::from_static(b"{\"Stream"))))
        .await
        .unwrap();
    let body = StreamBody::new(tokio_stream_from(rx));
    let request = Request::post("/")
        .header("x-amz-target", "Kinesis_20131202.ListStreams")
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=a/b, SignedHeaders=host, Signature=c",
        )
        .header("x-amz-date", "20260101T000000Z")
        .body(body)
        .unwrap();
    let (handler, _stop) = handler();
    let started = tokio::time::Instant::now();
    let response = handler.handle(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
    assert_eq!(started.elapsed(), BODY_READ_TIMEOUT);
    drop(tx);
}

/// An mpsc receiver as a stream (the body of a request whose sender stalls).
fn tokio_stream_from<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures::Stream<Item = T> + Send + 'static {
    stream::poll_fn(move |cx| rx.poll_recv(cx))
}
