//! Shared helpers for the service tests: dynalite from `KCL_TEST_DYNALITE_URL`, a TCP proxy that can be
//! stopped and started (a lease store that goes away), free ports, a small HTTP client, and the
//! `ecs_consumer` example binary. The emulator's server in process, Kinesis clients and loud skips come from
//! `kcl_emulator::test_util`; the DynamoDB client from `kcl_checkpoint::test_util`.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kcl_emulator::test_util::server_url;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// `KCL_TEST_DYNALITE_URL`, or `None` after a loud `SKIPPED` line (a panic with
/// `KCL_TEST_REQUIRE_SERVERS=1`).
pub fn dynalite(test: &str) -> Option<String> {
    server_url("KCL_TEST_DYNALITE_URL", test)
}

/// A free port on 127.0.0.1 (bound, read and released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
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
