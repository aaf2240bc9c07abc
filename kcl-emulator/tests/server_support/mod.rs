//! Shared helpers for the server tests: an in-process server on 127.0.0.1:0 and SDK clients for it.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use aws_credential_types::Credentials;
use aws_sdk_kinesis::config::{BehaviorVersion, Region};
use kcl_emulator::server::Server;
use kcl_emulator::Emulator;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A server running in-process on an ephemeral loopback port; stopped on drop.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The emulator behind the server (shared state).
    pub emulator: Emulator,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server around a default emulator.
    pub async fn start() -> Self {
        Self::start_with(Emulator::default()).await
    }

    /// Starts a server around `emulator`.
    pub async fn start_with(emulator: Emulator) -> Self {
        Self::start_server(Server::builder().emulator(emulator).build().unwrap()).await
    }

    /// Starts a configured server.
    pub async fn start_server(server: Server) -> Self {
        let emulator = server.emulator().clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            server
                .serve(listener, async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Self {
            endpoint,
            emulator,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// An aws-sdk-kinesis client for this server.
    pub fn client(&self) -> aws_sdk_kinesis::Client {
        client(&self.endpoint)
    }

    /// Stops the server and waits for it to finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// An aws-sdk-kinesis client for `endpoint` with static test credentials and no retries (so that tests
/// see each error as the server sent it).
pub fn client(endpoint: &str) -> aws_sdk_kinesis::Client {
    let config = aws_sdk_kinesis::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .endpoint_url(endpoint)
        .retry_config(aws_sdk_kinesis::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_kinesis::Client::from_conf(config)
}

/// A stream name unique to this process and call.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Waits until the stream is ACTIVE (the server may be configured with transition delays).
pub async fn wait_active(client: &aws_sdk_kinesis::Client, stream: &str) {
    for _ in 0..200 {
        let summary = client
            .describe_stream_summary()
            .stream_name(stream)
            .send()
            .await
            .unwrap();
        if summary.stream_description_summary().unwrap().stream_status()
            == &aws_sdk_kinesis::types::StreamStatus::Active
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("stream {stream} never became ACTIVE");
}
