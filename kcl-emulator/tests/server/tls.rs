//! HTTPS: TLS with ALPN, so clients negotiate HTTP/2; aws-sdk-kinesis over it, SubscribeToShard included.

use std::sync::Arc;
use std::time::Duration;

use aws_credential_types::Credentials;
use aws_sdk_kinesis::config::{BehaviorVersion, Region};
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{ShardIteratorType, StartingPosition, SubscribeToShardEventStream};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use kcl_emulator::server::{Server, TlsConfig};
use kcl_emulator::test_util::{kinesis_client, TestServer};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

async fn start_tls() -> (TestServer, TlsConfig) {
    let tls = TlsConfig::self_signed(&[]).unwrap();
    let server = TestServer::start_server(Server::builder().tls(tls.clone()).build().unwrap()).await;
    (server, tls)
}

fn https_endpoint(server: &TestServer) -> String {
    // The certificate names localhost; the listener is on 127.0.0.1.
    server.endpoint.replace("http://127.0.0.1", "https://localhost")
}

fn sdk_client(endpoint: &str, tls: &TlsConfig) -> aws_sdk_kinesis::Client {
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(
            TlsContext::builder()
                .with_trust_store(TrustStore::empty().with_pem_certificate(tls.cert_pem().as_bytes()))
                .build()
                .unwrap(),
        )
        .build_https();
    let config = aws_sdk_kinesis::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .endpoint_url(endpoint)
        .http_client(http_client)
        .build();
    aws_sdk_kinesis::Client::from_conf(config)
}

#[tokio::test]
async fn alpn_selects_http2_and_requests_are_served_over_it() {
    let (server, tls) = start_tls().await;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(tls.cert_pem().as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let address = server.endpoint.trim_start_matches("http://").to_owned();
    let tcp = tokio::net::TcpStream::connect(&address).await.unwrap();
    let stream = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));

    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    let request = http::Request::post(format!("https://{address}/"))
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", "Kinesis_20131202.ListStreams")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=a/b, SignedHeaders=host, Signature=c",
        )
        .header("x-amz-date", "20260101T000000Z")
        .body(Full::new(Bytes::from_static(b"{}")))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), http::Version::HTTP_2);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(body["StreamNames"].is_array());

    // Cleartext clients are refused (the handshake fails), and the server keeps serving TLS.
    let plain = kinesis_client(&server.endpoint);
    assert!(plain.list_streams().send().await.is_err());
    server.stop().await;
}

#[tokio::test]
async fn the_rust_sdk_works_over_https_including_subscribe_to_shard() {
    let (server, tls) = start_tls().await;
    let client = sdk_client(&https_endpoint(&server), &tls);
    client
        .create_stream()
        .stream_name("secure")
        .shard_count(1)
        .send()
        .await
        .unwrap();
    let consumer_arn = client
        .register_stream_consumer()
        .stream_arn(server.emulator.stream_arn("secure"))
        .consumer_name("tls")
        .send()
        .await
        .unwrap()
        .consumer()
        .unwrap()
        .consumer_arn()
        .to_owned();
    let put = client
        .put_record()
        .stream_name("secure")
        .partition_key("k")
        .data(Blob::new("over tls"))
        .send()
        .await
        .unwrap();
    let mut output = client
        .subscribe_to_shard()
        .consumer_arn(&consumer_arn)
        .shard_id(put.shard_id())
        .starting_position(
            StartingPosition::builder()
                .r#type(ShardIteratorType::TrimHorizon)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let mut received = Vec::new();
    while received.is_empty() {
        let event = tokio::time::timeout(Duration::from_secs(10), output.event_stream.recv())
            .await
            .expect("no event within 10 s")
            .unwrap()
            .expect("the stream ended");
        if let SubscribeToShardEventStream::SubscribeToShardEvent(event) = event {
            received.extend(event.records().iter().map(|r| r.data().as_ref().to_vec()));
        }
    }
    assert_eq!(received, [b"over tls".to_vec()]);
    // Plain requests still work on the same client while the subscription is open (HTTP/2 multiplexing).
    let summary = client
        .describe_stream_summary()
        .stream_name("secure")
        .send()
        .await
        .unwrap();
    assert_eq!(
        summary.stream_description_summary().unwrap().open_shard_count(),
        1
    );
    drop(output);
    server.stop().await;
}
