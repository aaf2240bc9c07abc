//! Real servers for the service tests: the kcl-emulator wire-protocol server in process, dynalite from
//! `KCL_TEST_DYNALITE_URL`, a TCP proxy that can be stopped and started (a lease store that goes away),
//! and small HTTP helpers.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_credential_types::Credentials;
use kcl::emulator::server::Server;
use kcl::emulator::{Emulator, EmulatorConfig};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// `KCL_TEST_DYNALITE_URL`, or `None` after a loud `SKIPPED` line (a panic with
/// `KCL_TEST_REQUIRE_SERVERS=1`).
pub fn dynalite(test: &str) -> Option<String> {
    match std::env::var("KCL_TEST_DYNALITE_URL") {
        Ok(url) => Some(url),
        Err(_) => {
            if std::env::var("KCL_TEST_REQUIRE_SERVERS").as_deref() == Ok("1") {
                panic!("{test}: KCL_TEST_DYNALITE_URL is required (KCL_TEST_REQUIRE_SERVERS=1)");
            }
            eprintln!("SKIPPED: {test}: KCL_TEST_DYNALITE_URL is not set (run scripts/test-all.sh)");
            None
        }
    }
}

/// A unique name for streams and tables.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A free port on 127.0.0.1 (bound, read and released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The emulator's server on 127.0.0.1 (no throughput limits), with its URL.
pub struct EmulatorServer {
    pub url: String,
    pub emulator: Emulator,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl EmulatorServer {
    pub async fn start() -> EmulatorServer {
        let emulator = Emulator::new(
            EmulatorConfig::builder()
                .without_throughput_limits()
                .build()
                .unwrap(),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = Server::builder().emulator(emulator.clone()).build().unwrap();
        tokio::spawn(server.serve(listener, async {
            let _ = stopped.await;
        }));
        EmulatorServer {
            url,
            emulator,
            stop: Some(stop),
        }
    }
}

impl Drop for EmulatorServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn credentials() -> Credentials {
    Credentials::new("test", "test", None, None, "static")
}

/// A Kinesis client for `endpoint` with the SDK's own retries off: the library's retries (and the errors
/// it maps) are what the tests see.
pub fn kinesis_client(endpoint: &str) -> aws_sdk_kinesis::Client {
    aws_sdk_kinesis::Client::from_conf(
        aws_sdk_kinesis::Config::builder()
            .behavior_version(aws_sdk_kinesis::config::BehaviorVersion::latest())
            .region(aws_sdk_kinesis::config::Region::new("us-east-1"))
            .credentials_provider(credentials())
            .endpoint_url(endpoint)
            .retry_config(aws_sdk_kinesis::config::retry::RetryConfig::disabled())
            .build(),
    )
}

pub fn dynamodb_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
            .credentials_provider(credentials())
            .endpoint_url(endpoint)
            .timeout_config(
                aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
                    .operation_attempt_timeout(Duration::from_secs(2))
                    .build(),
            )
            .build(),
    )
}

/// Creates a stream and waits until it is active.
pub async fn create_stream(client: &aws_sdk_kinesis::Client, name: &str, shards: i32) {
    client
        .create_stream()
        .stream_name(name)
        .shard_count(shards)
        .send()
        .await
        .unwrap();
    wait_active(client, name).await;
}

/// Waits until the stream is ACTIVE (after creation or resharding).
pub async fn wait_active(client: &aws_sdk_kinesis::Client, name: &str) {
    for _ in 0..200 {
        let out = client
            .describe_stream_summary()
            .stream_name(name)
            .send()
            .await
            .unwrap();
        if out
            .stream_description_summary()
            .map(|s| s.stream_status().as_str())
            == Some("ACTIVE")
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("stream {name} did not become active");
}

/// Puts `count` records with keys `key-0..keys`; returns (partition key, payload) pairs.
pub async fn put(client: &aws_sdk_kinesis::Client, stream: &str, from: usize, count: usize, keys: usize) {
    use aws_sdk_kinesis::primitives::Blob;
    use aws_sdk_kinesis::types::PutRecordsRequestEntry;
    let mut start = from;
    while start < from + count {
        let end = (start + 200).min(from + count);
        let entries = (start..end)
            .map(|i| {
                PutRecordsRequestEntry::builder()
                    .partition_key(format!("key-{}", i % keys))
                    .data(Blob::new(format!("record-{i}")))
                    .build()
                    .unwrap()
            })
            .collect::<Vec<_>>();
        let out = client
            .put_records()
            .stream_name(stream)
            .set_records(Some(entries))
            .send()
            .await
            .unwrap();
        assert_eq!(out.failed_record_count(), Some(0));
        start = end;
    }
}

/// A TCP proxy from a fixed 127.0.0.1 port to `target`; [`Proxy::stop`] closes the port and every
/// connection (connects are refused), [`Proxy::start`] opens it again.
pub struct Proxy {
    pub addr: SocketAddr,
    target: String,
    task: Mutex<Option<JoinHandle<()>>>,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    pub async fn new(target_url: &str) -> Proxy {
        let target = target_url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        Proxy {
            addr,
            target,
            task: Mutex::new(None),
            conns: Arc::new(Mutex::new(Vec::new())),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn start(&self) {
        let mut listener = None;
        for _ in 0..100 {
            match TcpListener::bind(self.addr).await {
                Ok(l) => {
                    listener = Some(l);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        let listener = listener.expect("the proxy port is free again");
        let target = self.target.clone();
        let conns = Arc::clone(&self.conns);
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                let conn = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                conns.lock().unwrap().push(conn);
            }
        });
        *self.task.lock().unwrap() = Some(task);
    }

    pub fn stop(&self) {
        if let Some(task) = self.task.lock().unwrap().take() {
            task.abort();
        }
        for conn in self.conns.lock().unwrap().drain(..) {
            conn.abort();
        }
    }
}

/// GET (or `method`) `http://addr{path}`: status and body.
pub async fn http(method: &str, addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(addr))
        .await
        .ok()?
        .ok()?;
    let req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.ok()?;
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf))
        .await
        .ok()?
        .ok()?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, body))
}

/// Polls `cond` every 50 ms for up to `limit`; the time it took, or `None`.
pub async fn eventually<F, Fut>(limit: Duration, mut cond: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = tokio::time::Instant::now();
    while start.elapsed() < limit {
        if cond().await {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// The `ecs_consumer` example binary next to this test's binary (built if missing).
pub fn ecs_consumer_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
    let binary = profile_dir.join("examples").join("ecs_consumer");
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    // Built by the same `cargo test`/`nextest` run as this test; rebuilt when older than this test binary
    // (a run filtered to one test target does not build examples).
    if modified(&binary) < modified(&exe) {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--example", "ecs_consumer", "--all-features"])
            .status()
            .unwrap();
        assert!(status.success(), "building the ecs_consumer example failed");
    }
    assert!(binary.exists(), "{} is missing", binary.display());
    binary
}

/// True when a docker engine answers (`$DOCKER_HOST` or the default socket); otherwise `false` after a loud
/// `SKIPPED` line, or a panic with `KCL_TEST_REQUIRE_DOCKER=1` (the README test command sets it).
pub fn docker(test: &str) -> bool {
    let answers = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !answers {
        if std::env::var("KCL_TEST_REQUIRE_DOCKER").as_deref() == Ok("1") {
            panic!("{test}: no docker engine answers (KCL_TEST_REQUIRE_DOCKER=1)");
        }
        eprintln!("SKIPPED: {test}: no docker engine answers (scripts/test-all.sh starts one)");
    }
    answers
}

/// True when a docker engine answers and `image` is present (built by `scripts/build-images.sh`); otherwise
/// `false` after a loud `SKIPPED` line, or a panic with `KCL_TEST_REQUIRE_DOCKER=1`.
pub fn docker_image(test: &str, image: &str) -> bool {
    if !docker(test) {
        return false;
    }
    let present = Command::new("docker")
        .args(["image", "inspect", image])
        .output()
        .is_ok_and(|o| o.status.success());
    if !present {
        if std::env::var("KCL_TEST_REQUIRE_DOCKER").as_deref() == Ok("1") {
            panic!(
                "{test}: image {image} is missing: bash scripts/build-images.sh (KCL_TEST_REQUIRE_DOCKER=1)"
            );
        }
        eprintln!("SKIPPED: {test}: image {image} is missing (bash scripts/build-images.sh builds it)");
    }
    present
}
