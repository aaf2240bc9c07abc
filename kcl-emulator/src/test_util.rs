//! Helpers for the workspace's test suites (feature `test-util`, never on in a production build).
//!
//! The emulator is the one crate of the workspace that depends on no other, so every crate's tests can use
//! these without a dependency cycle:
//! - skipping loudly: a test that needs a real server (dynalite, kinesalite, moto, a python with boto3, a
//!   docker engine) prints `SKIPPED: <test>: <reason>` and returns when the server is missing, and fails
//!   instead when `KCL_TEST_REQUIRE_SERVERS=1` (the README's test command sets it, so CI never skips):
//!   [`skip_or_fail`], [`server_url`], [`docker`], [`docker_image`], [`unique_name`];
//! - the emulator's wire-protocol server in process on `127.0.0.1:0` ([`TestServer`]) and an
//!   aws-sdk-kinesis client for it or any other Kinesis endpoint ([`kinesis_client`], [`create_stream`],
//!   [`wait_active`], [`put_records`]);
//! - [`eventually`]: polling a condition on real time (tests on real sockets cannot pause time);
//! - KPL aggregated records, built the way the Kinesis Producer Library writes them ([`KplAggregate`]), for
//!   the de-aggregation tests of the consumers.

use std::time::Duration;

use aws_credential_types::Credentials;
use aws_sdk_kinesis::config::{BehaviorVersion, Region};
use bytes::Bytes;
use md5::{Digest, Md5};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::server::Server;
use crate::{Emulator, EmulatorConfig};

/// The variable that turns every loud skip into a failure (`1`): set by `scripts/test-all.sh`.
pub const REQUIRE_SERVERS: &str = "KCL_TEST_REQUIRE_SERVERS";

/// As [`REQUIRE_SERVERS`], for the tests that need a docker engine.
pub const REQUIRE_DOCKER: &str = "KCL_TEST_REQUIRE_DOCKER";

/// True when the variable `require` is `1`: tests that cannot run must fail rather than skip.
pub fn required(require: &str) -> bool {
    std::env::var(require).as_deref() == Ok("1")
}

/// Says loudly that `test` cannot run for `reason`: prints `SKIPPED: <test>: <reason>` on stderr, so that
/// the caller can return.
///
/// # Panics
/// When `KCL_TEST_REQUIRE_SERVERS=1` ([`REQUIRE_SERVERS`]): such a run must not skip.
pub fn skip_or_fail(test: &str, reason: &str) {
    skip_or_fail_unless(REQUIRE_SERVERS, test, reason);
}

/// As [`skip_or_fail`], with the variable that makes the skip a failure named by `require` (the container
/// tests use `KCL_TEST_REQUIRE_DOCKER`).
///
/// # Panics
/// When the variable `require` is `1`.
pub fn skip_or_fail_unless(require: &str, test: &str, reason: &str) {
    if required(require) {
        panic!("{test}: {reason} ({require}=1)");
    }
    eprintln!("SKIPPED: {test}: {reason}");
}

/// The endpoint URL in the environment variable `var` (for example `KCL_TEST_DYNALITE_URL`), or `None`
/// after a loud skip line when it is unset or empty.
///
/// # Panics
/// When `var` is missing and `KCL_TEST_REQUIRE_SERVERS=1`.
pub fn server_url(var: &str, test: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            skip_or_fail(
                test,
                &format!("{var} is not set (scripts/test-all.sh starts the servers and exports it)"),
            );
            None
        }
    }
}

/// True when a docker engine answers (`$DOCKER_HOST` or the default socket); otherwise `false` after a loud
/// `SKIPPED` line.
///
/// # Panics
/// When no engine answers and `KCL_TEST_REQUIRE_DOCKER=1` ([`REQUIRE_DOCKER`]).
pub fn docker(test: &str) -> bool {
    let answers = std::process::Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !answers {
        skip_or_fail_unless(
            REQUIRE_DOCKER,
            test,
            "no docker engine answers (scripts/test-all.sh starts one)",
        );
    }
    answers
}

/// True when a docker engine answers and `image` is present (built by `scripts/build-images.sh`); otherwise
/// `false` after a loud `SKIPPED` line.
///
/// # Panics
/// When either is missing and `KCL_TEST_REQUIRE_DOCKER=1`.
pub fn docker_image(test: &str, image: &str) -> bool {
    if !docker(test) {
        return false;
    }
    let present = std::process::Command::new("docker")
        .args(["image", "inspect", image])
        .output()
        .is_ok_and(|o| o.status.success());
    if !present {
        skip_or_fail_unless(
            REQUIRE_DOCKER,
            test,
            &format!("image {image} is missing (bash scripts/build-images.sh builds it)"),
        );
    }
    present
}

/// Polls `cond` every 50 ms for up to `limit`: the time it took to hold, or `None`.
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

/// A name for a stream or table unique to this process and call: `<prefix>-<pid>-<n>`.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The emulator's wire-protocol server running in process on an ephemeral loopback port; stopped when
/// dropped (or by [`TestServer::stop`], which also waits for it).
#[derive(Debug)]
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The emulator behind the server: its state is what clients of [`endpoint`](Self::endpoint) see, so a
    /// test can arrange or inspect it in process.
    pub emulator: Emulator,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server around a default emulator (the real service's throughput limits).
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub async fn start() -> Self {
        Self::start_with(Emulator::default()).await
    }

    /// Starts a server around an emulator without throughput limits (tests of a consumer, not of limits).
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub async fn start_unlimited() -> Self {
        let config = EmulatorConfig::builder()
            .without_throughput_limits()
            .build()
            .expect("a valid emulator config");
        Self::start_with(Emulator::new(config)).await
    }

    /// Starts a server around `emulator`.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub async fn start_with(emulator: Emulator) -> Self {
        let server = Server::builder()
            .emulator(emulator)
            .build()
            .expect("a valid server config");
        Self::start_server(server).await
    }

    /// Starts a configured server (TLS, persistence, ...) on `127.0.0.1:0`.
    ///
    /// # Panics
    /// When no loopback port can be bound; the server task panics when serving fails.
    pub async fn start_server(server: Server) -> Self {
        let emulator = server.emulator().clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let endpoint = format!("http://{}", listener.local_addr().expect("a local address"));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            server
                .serve(listener, async {
                    let _ = stopped.await;
                })
                .await
                .expect("the test server serves");
        });
        Self {
            endpoint,
            emulator,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// An aws-sdk-kinesis client for this server ([`kinesis_client`]).
    pub fn client(&self) -> aws_sdk_kinesis::Client {
        kinesis_client(&self.endpoint)
    }

    /// Stops the server and waits (up to 10 s) for it to finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }

    /// Stops the server and checks that it shut down cleanly.
    ///
    /// # Panics
    /// When serving failed, or the server is still running after 10 s.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("the server stops within 10 s")
                .expect("the server shuts down without an error");
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

/// An aws-sdk-kinesis client for `endpoint` (our server, kinesalite, ...): us-east-1, static test
/// credentials, and the SDK's own retries off, so that a test sees each error as the server sent it (and a
/// library under test does its own retrying).
pub fn kinesis_client(endpoint: &str) -> aws_sdk_kinesis::Client {
    let config = aws_sdk_kinesis::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .endpoint_url(endpoint)
        .retry_config(aws_sdk_kinesis::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_kinesis::Client::from_conf(config)
}

/// Creates `stream` with `shards` shards and waits until it is ACTIVE.
///
/// # Panics
/// When the server refuses the stream, or it does not become ACTIVE.
pub async fn create_stream(client: &aws_sdk_kinesis::Client, stream: &str, shards: i32) {
    client
        .create_stream()
        .stream_name(stream)
        .shard_count(shards)
        .send()
        .await
        .expect("create stream");
    wait_active(client, stream).await;
}

/// The ARN of `stream`.
///
/// # Panics
/// When DescribeStreamSummary fails.
pub async fn stream_arn(client: &aws_sdk_kinesis::Client, stream: &str) -> String {
    client
        .describe_stream_summary()
        .stream_name(stream)
        .send()
        .await
        .expect("describe stream summary")
        .stream_description_summary()
        .expect("a stream description")
        .stream_arn()
        .to_owned()
}

/// Every record of the stream's first shard, from the trim horizon until a read comes back empty or caught
/// up.
///
/// # Panics
/// When a call fails.
pub async fn read_first_shard(
    client: &aws_sdk_kinesis::Client,
    stream: &str,
) -> Vec<aws_sdk_kinesis::types::Record> {
    let shards = client
        .list_shards()
        .stream_name(stream)
        .send()
        .await
        .expect("list shards");
    let shard_id = shards.shards()[0].shard_id().to_owned();
    let mut iterator = client
        .get_shard_iterator()
        .stream_name(stream)
        .shard_id(shard_id)
        .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon)
        .send()
        .await
        .expect("get shard iterator")
        .shard_iterator()
        .map(str::to_owned);
    let mut out = Vec::new();
    while let Some(it) = iterator {
        let page = client
            .get_records()
            .shard_iterator(it)
            .send()
            .await
            .expect("get records");
        out.extend(page.records().iter().cloned());
        if page.records().is_empty() || page.millis_behind_latest() == Some(0) {
            break;
        }
        iterator = page.next_shard_iterator().map(str::to_owned);
    }
    out
}

/// Puts `count` records numbered from `from` (payload `record-<i>`, partition key `key-<i % keys>`), 200 per
/// PutRecords call.
///
/// # Panics
/// When a call fails or rejects a record.
pub async fn put_records(
    client: &aws_sdk_kinesis::Client,
    stream: &str,
    from: usize,
    count: usize,
    keys: usize,
) {
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
                    .expect("a complete entry")
            })
            .collect::<Vec<_>>();
        let out = client
            .put_records()
            .stream_name(stream)
            .set_records(Some(entries))
            .send()
            .await
            .expect("put records");
        assert_eq!(out.failed_record_count(), Some(0), "records rejected");
        start = end;
    }
}

/// Waits until `stream` is ACTIVE (after creation or resharding; servers may delay the transition).
///
/// # Panics
/// When a describe call fails, or the stream is not ACTIVE after about 5 s.
pub async fn wait_active(client: &aws_sdk_kinesis::Client, stream: &str) {
    for _ in 0..200 {
        let summary = client
            .describe_stream_summary()
            .stream_name(stream)
            .send()
            .await
            .expect("describe stream summary");
        if summary.stream_description_summary().map(|s| s.stream_status())
            == Some(&aws_sdk_kinesis::types::StreamStatus::Active)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("stream {stream} never became ACTIVE");
}

/// The four bytes every KPL aggregated record starts with.
pub const KPL_MAGIC: [u8; 4] = [0xF3, 0x89, 0x9A, 0xC2];

/// A KPL aggregated record: sub-records packed into one Kinesis record the way the Kinesis Producer
/// Library writes them (the magic bytes, an `AggregatedRecord` protobuf message, the MD5 of that message).
///
/// The protobuf is written here by hand rather than with a code generator, so the consumers' decoder is
/// checked against an independent encoder. Partition and explicit hash keys go into the message's key tables
/// in order of first use.
#[derive(Clone, Debug, Default)]
pub struct KplAggregate {
    partition_keys: Vec<String>,
    explicit_hash_keys: Vec<String>,
    /// (partition key index, explicit hash key index, data).
    records: Vec<(u64, Option<u64>, Bytes)>,
}

impl KplAggregate {
    /// An aggregate without sub-records.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a sub-record with `partition_key`.
    #[must_use]
    pub fn record(self, partition_key: &str, data: impl Into<Bytes>) -> Self {
        self.push(partition_key, None, data.into())
    }

    /// Adds a sub-record with `partition_key` and an explicit hash key (a decimal 128-bit number).
    #[must_use]
    pub fn record_with_hash_key(
        self,
        partition_key: &str,
        explicit_hash_key: &str,
        data: impl Into<Bytes>,
    ) -> Self {
        self.push(partition_key, Some(explicit_hash_key), data.into())
    }

    /// The number of sub-records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True without sub-records.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    fn push(mut self, partition_key: &str, explicit_hash_key: Option<&str>, data: Bytes) -> Self {
        let pk = intern(&mut self.partition_keys, partition_key);
        let ehk = explicit_hash_key.map(|k| intern(&mut self.explicit_hash_keys, k));
        self.records.push((pk, ehk, data));
        self
    }

    /// The record's data as a producer would put it: magic bytes, message, MD5 of the message.
    pub fn encode(&self) -> Bytes {
        // AggregatedRecord: 1 partition_key_table (repeated string), 2 explicit_hash_key_table (repeated
        // string), 3 records (repeated Record); Record: 1 partition_key_index (uint64), 2
        // explicit_hash_key_index (optional uint64), 3 data (bytes).
        let mut body = Vec::new();
        for key in &self.partition_keys {
            length_delimited(&mut body, 1, key.as_bytes());
        }
        for key in &self.explicit_hash_keys {
            length_delimited(&mut body, 2, key.as_bytes());
        }
        for (pk, ehk, data) in &self.records {
            let mut record = Vec::new();
            varint_field(&mut record, 1, *pk);
            if let Some(ehk) = ehk {
                varint_field(&mut record, 2, *ehk);
            }
            length_delimited(&mut record, 3, data);
            length_delimited(&mut body, 3, &record);
        }
        let mut out = KPL_MAGIC.to_vec();
        out.extend_from_slice(&body);
        out.extend_from_slice(&Md5::digest(&body));
        Bytes::from(out)
    }
}

fn intern(table: &mut Vec<String>, key: &str) -> u64 {
    let index = match table.iter().position(|k| k == key) {
        Some(i) => i,
        None => {
            table.push(key.to_owned());
            table.len() - 1
        }
    };
    index as u64
}

fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7F) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// A field of wire type 0 (varint).
fn varint_field(out: &mut Vec<u8>, field: u64, value: u64) {
    varint(out, field << 3);
    varint(out, value);
}

/// A field of wire type 2 (length-delimited: strings, bytes, messages).
fn length_delimited(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    varint(out, (field << 3) | 2);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_are_little_endian_groups_of_seven_bits() {
        let mut out = Vec::new();
        varint(&mut out, 300);
        assert_eq!(out, [0xAC, 0x02]);
    }

    #[test]
    fn an_aggregate_is_magic_message_and_digest() {
        let data = KplAggregate::new().record("a", &b"x"[..]).encode();
        // key table "a", then one record {pk 0, data "x"}.
        let body = [0x0A, 1, b'a', 0x1A, 5, 0x08, 0, 0x1A, 1, b'x'];
        assert_eq!(&data[..4], KPL_MAGIC);
        assert_eq!(&data[4..4 + body.len()], body);
        assert_eq!(&data[4 + body.len()..], Md5::digest(body).as_slice());
    }
}
