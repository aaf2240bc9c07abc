//! Process level, as on ECS: `ecs_consumer` processes configured only by environment variables, against
//! the kcl-emulator wire-protocol server (in this test process, on 127.0.0.1) and dynalite, on different
//! ports (`AWS_ENDPOINT_URL_KINESIS`, `AWS_ENDPOINT_URL_DYNAMODB`).
//!
//! - two consumers share a 4-shard stream while a producer writes; SIGTERM one: it exits 0 within the
//!   deadline, the other processes its shards within about a second, nothing is lost or duplicated;
//! - a consumer whose processor hangs in `shutdown_requested` is cut off at the deadline and still exits;
//! - JSON logs carry the worker id (and the shard id inside consumers) and no colour codes;
//! - bad environment: each bad variable is named, exit code 2; no region and no credentials are named
//!   as such.
//!
//! Needs `KCL_TEST_DYNALITE_URL` (skips loudly without it unless `KCL_TEST_REQUIRE_SERVERS=1`). The example
//! binary is built by `cargo test`/`nextest` (examples are test targets' siblings); if missing it is built.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::{self, ecs_consumer_binary};
use kcl_emulator::test_util::{self, TestServer};

/// The environment of one consumer process: only `KCL_*`, `AWS_*` and the example's own variables.
fn consumer_env(
    kinesis: &str,
    dynamodb: &str,
    app: &str,
    stream: &str,
    worker: &str,
    http: SocketAddr,
    out: &Path,
) -> Vec<(String, String)> {
    let home = std::env::temp_dir().join(format!("kcl-ecs-home-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    [
        ("KCL_APPLICATION_NAME", app),
        ("KCL_STREAM_NAME", stream),
        ("KCL_WORKER_ID", worker),
        ("KCL_INITIAL_POSITION", "TRIM_HORIZON"),
        ("KCL_IDLE_TIME_BETWEEN_READS", "100ms"),
        ("KCL_LEASE_DURATION", "3s"),
        ("KCL_HTTP_ADDR", &http.to_string()),
        ("KCL_SHUTDOWN_DEADLINE", "5s"),
        ("KCL_LOG_FORMAT", "json"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_ENDPOINT_URL_KINESIS", kinesis),
        ("AWS_ENDPOINT_URL_DYNAMODB", dynamodb),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("HOME", home.to_str().unwrap()),
        ("ECS_CONSUMER_OUTPUT", out.to_str().unwrap()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

struct Consumer {
    worker: String,
    http: SocketAddr,
    out: PathBuf,
    log: PathBuf,
    child: Child,
}

impl Consumer {
    fn spawn(
        env: Vec<(String, String)>,
        worker: &str,
        http: SocketAddr,
        out: PathBuf,
        dir: &Path,
    ) -> Consumer {
        let log = dir.join(format!("{worker}.log"));
        let child = Command::new(ecs_consumer_binary())
            .env_clear()
            .envs(env)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Consumer {
            worker: worker.to_owned(),
            http,
            out,
            log,
            child,
        }
    }

    fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits up to `limit` for the process to exit; its exit code.
    async fn exit_within(&mut self, limit: Duration) -> Option<i32> {
        let start = tokio::time::Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn status(&self) -> Option<serde_json::Value> {
        let (code, body) = support::http("GET", self.http, "/status").await?;
        (code == 200).then(|| serde_json::from_str(&body).ok()).flatten()
    }

    async fn processing(&self) -> usize {
        self.status()
            .await
            .and_then(|s| {
                s["leases"]
                    .as_array()
                    .map(|l| l.iter().filter(|l| l["state"] == "processing").count())
            })
            .unwrap_or(0)
    }

    async fn leases(&self) -> usize {
        self.status()
            .await
            .and_then(|s| s["leases"].as_array().map(Vec::len))
            .unwrap_or(0)
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One processed record from an `ECS_CONSUMER_OUTPUT` file.
#[derive(Debug, Clone)]
struct Processed {
    at_ms: u128,
    worker: String,
    shard: String,
    sequence: String,
}

fn processed(path: &Path) -> Vec<Processed> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f.len() == 5).then(|| Processed {
                at_ms: f[0].parse().unwrap_or(0),
                worker: f[1].to_owned(),
                shard: f[2].to_owned(),
                sequence: f[3].to_owned(),
            })
        })
        .collect()
}

fn now_ms() -> u128 {
    kcl::emulator::Clock::new()
        .now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_hands_shards_over_without_duplicates_and_a_hung_processor_is_cut_off() {
    let Some(dynalite) = support::dynalite("ecs_consumer processes") else {
        return;
    };
    let emulator = TestServer::start_unlimited().await;
    let kinesis = test_util::kinesis_client(&emulator.endpoint);
    let stream = test_util::unique_name("ecs");
    test_util::create_stream(&kinesis, &stream, 4).await;
    let app = test_util::unique_name("ecs-app");
    let dir = tempdir();
    let http1 = SocketAddr::from(([127, 0, 0, 1], support::free_port()));
    let http2 = SocketAddr::from(([127, 0, 0, 1], support::free_port()));
    let spawn = |worker: &str, http: SocketAddr| {
        let out = dir.join(format!("{worker}.tsv"));
        let env = consumer_env(&emulator.endpoint, &dynalite, &app, &stream, worker, http, &out);
        Consumer::spawn(env, worker, http, out, &dir)
    };
    let mut c1 = spawn("ecs-1", http1);
    let c2 = spawn("ecs-2", http2);

    // A producer writes throughout.
    let producing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let produced = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let producer = {
        let (kinesis, stream, producing, produced) = (
            kinesis.clone(),
            stream.clone(),
            producing.clone(),
            produced.clone(),
        );
        tokio::spawn(async move {
            while producing.load(std::sync::atomic::Ordering::Relaxed) {
                let from = produced.load(std::sync::atomic::Ordering::Relaxed);
                test_util::put_records(&kinesis, &stream, from, 40, 16).await;
                produced.fetch_add(40, std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };

    // Both ready and balanced 2/2, every consumer processing (no stolen lease still waiting out its
    // previous owner: such a lease is left to expire when released, by design).
    let balanced = test_util::eventually(Duration::from_secs(40), || async {
        c1.processing().await == 2 && c2.processing().await == 2
    })
    .await;
    assert!(
        balanced.is_some(),
        "never balanced: {} / {}\n{}",
        c1.leases().await,
        c2.leases().await,
        c1.logs()
    );
    for c in [&c1, &c2] {
        let ready = test_util::eventually(Duration::from_secs(10), || async {
            support::http("GET", c.http, "/readyz").await.map(|r| r.0) == Some(200)
        })
        .await;
        assert!(
            ready.is_some(),
            "{} not ready: {:?}",
            c.worker,
            support::http("GET", c.http, "/readyz").await
        );
        assert_eq!(
            support::http("GET", c.http, "/healthz").await.map(|r| r.0),
            Some(200),
            "{}",
            c.worker
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // From here on the fleet is settled: the redeliveries of the initial balancing (a lease stolen from a
    // live worker restarts at its last checkpoint: at-least-once) are behind us.
    let settled = now_ms();
    let moved: BTreeSet<String> = c1.status().await.unwrap()["leases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["shard_id"].as_str().unwrap().to_owned())
        .collect();

    // SIGTERM the first: exits 0 within the deadline (5 s).
    c1.sigterm();
    let signalled = now_ms();
    let code = c1.exit_within(Duration::from_secs(8)).await;
    let exited = now_ms();
    println!(
        "ecs-1 exited with {code:?} {} ms after SIGTERM",
        exited - signalled
    );
    assert_eq!(code, Some(0), "{}", c1.logs());

    // The second processes the moved shards: the first record of each after the handoff.
    let takeover = test_util::eventually(Duration::from_secs(20), || async {
        let seen = processed(&c2.out);
        moved
            .iter()
            .all(|s| seen.iter().any(|p| &p.shard == s && p.at_ms >= exited))
    })
    .await;
    assert!(takeover.is_some(), "ecs-2 did not take over {moved:?}");
    let seen2 = processed(&c2.out);
    let mut latency = BTreeMap::new();
    for shard in &moved {
        let first = seen2
            .iter()
            .filter(|p| &p.shard == shard && p.at_ms >= exited)
            .map(|p| p.at_ms)
            .min()
            .unwrap();
        latency.insert(shard.clone(), first.saturating_sub(exited));
    }
    println!("handoff: first record on each moved shard, ms after ecs-1 exited: {latency:?}");
    assert!(
        latency.values().all(|ms| *ms <= 1_000),
        "a moved shard waited more than 1 s: {latency:?}"
    );

    // Stop producing; everything produced is processed exactly once.
    producing.store(false, std::sync::atomic::Ordering::Relaxed);
    producer.await.unwrap();
    let total = produced.load(std::sync::atomic::Ordering::Relaxed);
    let complete = test_util::eventually(Duration::from_secs(30), || async {
        processed(&c1.out).len() + processed(&c2.out).len() >= total
    })
    .await;
    assert!(
        complete.is_some(),
        "processed {} of {total}",
        processed(&c1.out).len() + processed(&c2.out).len()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let all: Vec<Processed> = processed(&c1.out).into_iter().chain(processed(&c2.out)).collect();
    // Deliveries per record, and the latest delivery time of each.
    let mut seen: BTreeMap<(String, String), (usize, u128)> = BTreeMap::new();
    for p in &all {
        let e = seen
            .entry((p.shard.clone(), p.sequence.clone()))
            .or_insert((0, 0));
        e.0 += 1;
        e.1 = e.1.max(p.at_ms);
    }
    let balancing = seen.values().filter(|(n, at)| *n > 1 && *at < settled).count();
    let handoff: Vec<_> = seen
        .iter()
        .filter(|(_, (n, at))| *n > 1 && *at >= settled)
        .collect();
    println!(
        "produced {total}, processed {} records ({} distinct); delivered twice: {balancing} by the initial \
         balancing steal, {} after the fleet settled (SIGTERM handoff)",
        all.len(),
        seen.len(),
        handoff.len()
    );
    assert_eq!(seen.len(), total, "lost records");
    assert!(
        handoff.is_empty(),
        "duplicates after SIGTERM: {:?}",
        &handoff[..handoff.len().min(5)]
    );
    assert!(all.iter().all(|p| p.worker == "ecs-1" || p.worker == "ecs-2"));

    // JSON logs: one object per line, worker id on every line from the worker, shard id in consumers,
    // no colour codes.
    let logs = c1.logs();
    assert!(!logs.contains('\u{1b}'), "ANSI codes in the logs");
    let mut worker_lines = 0;
    let mut shard_lines = 0;
    for line in logs.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        let text = v.to_string();
        assert!(
            text.contains("\"worker_id\":\"ecs-1\""),
            "a line without the worker id: {line}"
        );
        worker_lines += 1;
        if text.contains("\"name\":\"shard\"") {
            assert!(text.contains("\"shard_id\":\"shardId-"), "{line}");
            shard_lines += 1;
        }
    }
    println!("ecs-1 logged {worker_lines} lines, all with its worker id; {shard_lines} inside consumers with the shard id");
    assert!(worker_lines > 3 && shard_lines > 0, "{logs}");
    assert!(logs.contains("shut down gracefully"), "{logs}");

    // A processor that hangs in shutdown_requested: cut off at its 2 s deadline, the process still exits
    // and says what it abandoned; ecs-2 takes the shards back.
    let http3 = SocketAddr::from(([127, 0, 0, 1], support::free_port()));
    let out3 = dir.join("ecs-3.tsv");
    let mut env = consumer_env(
        &emulator.endpoint,
        &dynalite,
        &app,
        &stream,
        "ecs-3",
        http3,
        &out3,
    );
    env.push(("ECS_CONSUMER_HANG_ON_SHUTDOWN".into(), "1".into()));
    env.push(("KCL_SHUTDOWN_DEADLINE".into(), "2s".into()));
    let mut c3 = Consumer::spawn(env, "ecs-3", http3, out3, &dir);
    assert!(
        test_util::eventually(Duration::from_secs(40), || async { c3.processing().await == 2 })
            .await
            .is_some(),
        "ecs-3 never processed its share"
    );
    c3.sigterm();
    let signalled = tokio::time::Instant::now();
    let code = c3.exit_within(Duration::from_secs(6)).await;
    println!("hung ecs-3 exited with {code:?} after {:?}", signalled.elapsed());
    assert_eq!(code, Some(0), "{}", c3.logs());
    assert!(signalled.elapsed() >= Duration::from_secs(2));
    let logs = c3.logs();
    assert!(logs.contains("abandoned"), "{logs}");
    assert!(
        test_util::eventually(Duration::from_secs(5), || async { c2.leases().await == 4 })
            .await
            .is_some(),
        "ecs-2 did not take the abandoned shards back"
    );
    drop(c2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_environment_is_named_and_exits_without_starting() {
    let run = |vars: &[(&str, &str)]| {
        let out = Command::new(ecs_consumer_binary())
            .env_clear()
            .envs(vars.iter().copied())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("HOME", std::env::temp_dir())
            .env("KCL_HTTP_ADDR", "off")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let base = [("KCL_APPLICATION_NAME", "app"), ("KCL_STREAM_NAME", "s")];
    for (var, value) in [
        ("KCL_LEASE_DURATION", "soon"),
        ("KCL_INITIAL_POSITION", "middle"),
        ("KCL_MAX_RECORDS", "0"),
        ("KCL_LOG_FORMAT", "yaml"),
    ] {
        let mut vars = base.to_vec();
        vars.push((var, value));
        let (code, stderr) = run(&vars);
        assert_eq!(code, Some(2), "{var}: {stderr}");
        assert!(stderr.contains(var) && stderr.contains(value), "{var}: {stderr}");
    }
    let (code, stderr) = run(&[]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("KCL_APPLICATION_NAME") && stderr.contains("KCL_STREAM_NAME"),
        "{stderr}"
    );

    // No region: said so (not a timeout).
    let (code, stderr) = run(&base);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("AWS_REGION"), "{stderr}");
    // A region but no credentials anywhere: said so.
    let mut vars = base.to_vec();
    vars.push(("AWS_REGION", "us-east-1"));
    let (code, stderr) = run(&vars);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("no usable AWS credentials"), "{stderr}");
    assert!(!stderr.contains("timed out"), "{stderr}");
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(test_util::unique_name("kcl-ecs-test"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Serves the ECS task metadata endpoint's `/task` document on 127.0.0.1; returns its base URI.
async fn task_metadata_endpoint(task_arn: &'static str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v4/0123abcd-container", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let n = socket.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).into_owned();
                let (status, body) = if head.starts_with("GET /v4/0123abcd-container/task ") {
                    (
                        "200 OK",
                        format!(r#"{{"Cluster":"prod","TaskARN":"{task_arn}","Family":"kcl"}}"#),
                    )
                } else {
                    ("404 Not Found", String::new())
                };
                let reply = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(reply.as_bytes()).await;
            });
        }
    });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_id_defaults_to_the_ecs_task_id() {
    let Some(dynalite) = support::dynalite("ecs_consumer worker id") else {
        return;
    };
    let emulator = TestServer::start_unlimited().await;
    let kinesis = test_util::kinesis_client(&emulator.endpoint);
    let stream = test_util::unique_name("taskid");
    test_util::create_stream(&kinesis, &stream, 1).await;
    let metadata =
        task_metadata_endpoint("arn:aws:ecs:us-east-1:123456789012:task/prod/5f0c7e1d9a2b4c3d").await;
    let dir = tempdir();
    let http = SocketAddr::from(([127, 0, 0, 1], support::free_port()));
    let out = dir.join("taskid.tsv");
    let mut env = consumer_env(
        &emulator.endpoint,
        &dynalite,
        &test_util::unique_name("taskid-app"),
        &stream,
        "x",
        http,
        &out,
    );
    env.retain(|(k, _)| k != "KCL_WORKER_ID");
    env.push(("ECS_CONTAINER_METADATA_URI_V4".into(), metadata));
    let consumer = Consumer::spawn(env, "taskid", http, out, &dir);
    let id = test_util::eventually(Duration::from_secs(30), || async {
        consumer
            .status()
            .await
            .is_some_and(|s| s["worker_id"] == "5f0c7e1d9a2b4c3d")
    })
    .await;
    assert!(
        id.is_some(),
        "worker id: {:?}\n{}",
        consumer.status().await.map(|s| s["worker_id"].clone()),
        consumer.logs()
    );
    assert!(
        consumer.logs().contains("worker id from the ECS task id"),
        "{}",
        consumer.logs()
    );
}

/// A SIGTERM while the worker is still starting (here: its DynamoDB endpoint accepts connections and never
/// answers, so the lease table check hangs) ends the process cleanly within the shutdown deadline, with code
/// 0, not by the signal's default action.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_the_lease_table_does_not_answer_exits_cleanly() {
    // Connections are queued by the kernel and never read: every request hangs.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let dir = tempdir();
    let http = SocketAddr::from(([127, 0, 0, 1], support::free_port()));
    let env = consumer_env(
        &endpoint,
        &endpoint,
        "app",
        "s",
        "w-start",
        http,
        &dir.join("out"),
    );
    let mut consumer = Consumer::spawn(env, "w-start", http, dir.join("out"), &dir);
    let logs = consumer.log.clone();
    test_util::eventually(Duration::from_secs(10), || {
        let logs = logs.clone();
        async move {
            std::fs::read_to_string(&logs)
                .unwrap_or_default()
                .contains("AWS clients ready")
        }
    })
    .await
    .unwrap_or_else(|| panic!("never got to the AWS clients: {}", consumer.logs()));
    consumer.sigterm();
    // The deadline is 5 s (`consumer_env`).
    let code = consumer.exit_within(Duration::from_secs(10)).await;
    assert_eq!(code, Some(0), "{}", consumer.logs());
    drop(silent);
}
