//! Raw requests to the server (an HTTP client, JSON 1.1 calls) for the tests that go below the SDKs.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

pub(crate) const AUTH: &str = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/kinesis/aws4_request, \
                    SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0000";

pub(crate) type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

pub(crate) fn http1() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

pub(crate) fn h2c() -> HttpClient {
    Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http()
}

pub(crate) fn request(
    endpoint: &str,
    operation: &str,
    content_type: &str,
    body: Vec<u8>,
) -> http::Request<Full<Bytes>> {
    http::Request::post(format!("{endpoint}/"))
        .header("content-type", content_type)
        .header("x-amz-target", format!("Kinesis_20131202.{operation}"))
        .header("authorization", AUTH)
        .header("x-amz-date", "20260101T000000Z")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

pub(crate) async fn send(
    client: &HttpClient,
    request: http::Request<Full<Bytes>>,
) -> (http::StatusCode, http::HeaderMap, Bytes) {
    let response = client.request(request).await.unwrap();
    let (parts, body) = response.into_parts();
    (
        parts.status,
        parts.headers,
        body.collect().await.unwrap().to_bytes(),
    )
}

pub(crate) async fn json_call(
    client: &HttpClient,
    endpoint: &str,
    operation: &str,
    body: Value,
) -> (http::StatusCode, Value) {
    let (status, _, bytes) = send(
        client,
        request(
            endpoint,
            operation,
            "application/x-amz-json-1.1",
            body.to_string().into_bytes(),
        ),
    )
    .await;
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, value)
}
