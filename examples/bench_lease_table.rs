//! Lease-table cost: lease-store requests per lease per minute at steady state, per renewal mode, beside the
//! Java KCL 2's figure computed from its defaults.
//!
//! Run with `cargo run --release --features experiment --example bench_lease_table` (figures are recorded in BENCHMARKS.md).
//!
//! 1. **Paused time, in-memory store behind a request counter**: N leases (one per shard of an idle
//!    in-process stream) over W workers, balanced and settled for 60 virtual seconds, then counted for 5
//!    virtual minutes (2 at 10,000 leases): requests by operation, the DynamoDB requests they stand for
//!    (a listing is one Scan per 1 MB page) and the capacity they would consume (strongly consistent
//!    reads: 1 RCU per 4 KB, the whole table for a Scan; writes: 1 WCU per 1 KB of the item). Scales: 20
//!    leases / 2 workers, 1,000 / 10, 10,000 / 100.
//! 2. **Against dynalite, counted at the server** (when `KCL_TEST_DYNALITE_URL` is set, e.g. by
//!    `scripts/services.sh`): 20 leases / 2 workers in real time, through a small counting proxy in front of
//!    dynalite that reads each request's `X-Amz-Target`; 20 s to settle, 60 s counted.
//!
//! The stream is idle, so no checkpoint is written: a checkpoint costs one `UpdateItem` in every mode.
//! Optional argument: `bench_lease_table quick` runs only the 20-lease cases.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kcl::checkpoint::{InMemoryLeaseStore, LeaseStore};
use kcl::core::source::EmulatorSource;
use kcl::core::{
    async_trait, Checkpointer, InitialPosition, LeaseRenewal, ProcessRecordsInput, ProcessorError,
    RecordSource, ShardRecordProcessor, Worker, WorkerConfig, WorkerHandle,
};
use kcl::emulator::types::CreateStreamInput;
use kcl::emulator::{Emulator, EmulatorConfig};
use kcl::experiment::CountingLeaseStore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const STREAM: &str = "bench";
/// A Scan returns at most 1 MB per request.
const SCAN_PAGE_BYTES: f64 = 1024.0 * 1024.0;
/// The size of a lease item as the Java KCL format stores it with a sequence-number checkpoint (attribute
/// names plus values: key, owner, counter, checkpoint and its sub-sequence, owner switches).
const LEASE_ITEM_BYTES: f64 = 230.0;

struct Idle;

#[async_trait]
impl ShardRecordProcessor for Idle {
    async fn process_records(
        &mut self,
        _: &ProcessRecordsInput,
        _: &Checkpointer,
    ) -> Result<(), ProcessorError> {
        Ok(())
    }
}

/// A renewal mode, with the heartbeat interval when not the default.
#[derive(Clone, Copy)]
struct Mode(LeaseRenewal, Option<Duration>);

impl Mode {
    fn name(self) -> String {
        match (self.0, self.1) {
            (LeaseRenewal::Heartbeat, None) => "kcl-rs heartbeat (1 s)".into(),
            (LeaseRenewal::Heartbeat, Some(d)) => format!("kcl-rs heartbeat ({d:?})"),
            _ => "kcl-rs per lease".into(),
        }
    }
}

fn config(mode: Mode) -> WorkerConfig {
    let mut builder = WorkerConfig::builder()
        .initial_position(InitialPosition::TrimHorizon)
        .lease_renewal(mode.0)
        // An idle stream: poll rarely, so the run measures the lease table, not GetRecords.
        .idle_time_between_reads(Duration::from_secs(10));
    if let Some(interval) = mode.1 {
        builder = builder.lease_renewal_interval(interval);
    }
    builder.build().expect("config")
}

fn spawn(store: &Arc<dyn LeaseStore>, source: &Arc<dyn RecordSource>, id: &str, mode: Mode) -> WorkerHandle {
    Worker::builder(
        Arc::clone(store),
        Arc::clone(source),
        |_: &str| Box::new(Idle) as Box<dyn ShardRecordProcessor>,
        id,
    )
    .config(config(mode))
    .build()
    .expect("worker")
    .spawn()
}

/// One row: requests per lease-minute by operation, DynamoDB requests and capacity per lease-minute.
struct Row {
    leases: usize,
    workers: usize,
    mode: String,
    by_op: BTreeMap<&'static str, f64>,
    requests: f64,
    rcu: f64,
    wcu: f64,
}

async fn paused_run(leases: usize, workers: usize, mode: Mode) -> Row {
    let emulator = Emulator::new(
        EmulatorConfig::builder()
            .without_throughput_limits()
            .shard_limit(20_000)
            .seed(1)
            .build()
            .expect("emulator"),
    );
    emulator
        .create_stream(CreateStreamInput {
            stream_name: STREAM.into(),
            shard_count: Some(leases as i32),
            ..Default::default()
        })
        .await
        .expect("stream");
    let source: Arc<dyn RecordSource> = Arc::new(EmulatorSource::new(emulator, STREAM));
    let counting = Arc::new(CountingLeaseStore::new(Arc::new(InMemoryLeaseStore::new())));
    let store: Arc<dyn LeaseStore> = counting.clone();
    let handles: Vec<_> = (0..workers)
        .map(|w| spawn(&store, &source, &format!("worker-{w:03}"), mode))
        .collect();
    tokio::time::sleep(Duration::from_secs(60)).await;
    let held: usize = handles.iter().map(|h| h.leases().len()).sum();
    assert_eq!(held, leases, "not every lease held after settling");
    counting.reset();
    // Five minutes (each worker's once-a-minute full scan in heartbeat mode averages out); two at 10,000
    // leases, where a per-lease fleet's every-second scans of the whole table make a virtual minute slow.
    let minutes: f64 = if leases >= 10_000 { 2.0 } else { 5.0 };
    tokio::time::sleep(Duration::from_secs_f64(minutes * 60.0)).await;
    let calls: BTreeMap<&'static str, u64> = counting
        .calls()
        .into_iter()
        .map(|(op, n)| (op.name(), n))
        .collect();
    let listed = counting.listed() as f64;
    let lists = *calls.get("list").unwrap_or(&0) as f64;
    let per = |n: f64| n / leases as f64 / minutes;
    // The fleet item: `heartbeat:<id>` names and numbers, the version and the entity type.
    let fleet_bytes = counting.fleet_workers() as f64 * (10.0 + 10.0 + 4.0) + 40.0;
    let fleet_kb = (fleet_bytes / 1024.0).ceil().max(1.0);
    let mut requests = 0.0;
    let (mut rcu, mut wcu) = (0.0, 0.0);
    let mut by_op = BTreeMap::new();
    for (op, n) in &calls {
        let n = *n as f64;
        let ddb = match *op {
            // One Scan request per 1 MB page of the table.
            "list" => {
                (listed / lists.max(1.0) * LEASE_ITEM_BYTES / SCAN_PAGE_BYTES)
                    .ceil()
                    .max(1.0)
                    * n
            }
            _ => n,
        };
        requests += ddb;
        match *op {
            "list" => rcu += (listed * LEASE_ITEM_BYTES / 4096.0).ceil().max(n),
            "get" | "read_fleet" => rcu += n,
            "heartbeat" | "bump_version" | "evict_worker" | "leave_fleet" => wcu += n * fleet_kb,
            _ => wcu += n,
        }
        by_op.insert(*op, per(n));
    }
    for h in handles {
        h.abort().await;
    }
    Row {
        leases,
        workers,
        mode: mode.name(),
        by_op,
        requests: per(requests),
        rcu: per(rcu),
        wcu: per(wcu),
    }
}

/// The Java KCL 2 at its defaults: every lease renewed every failover time / 3 (10 s / 3), and every worker
/// scanning the whole table every 2 x failover time (20 s).
fn java_kcl2(leases: usize, workers: usize) -> Row {
    let pages = (leases as f64 * LEASE_ITEM_BYTES / SCAN_PAGE_BYTES)
        .ceil()
        .max(1.0);
    let renews = 60.0 / (10.0 / 3.0);
    let scans = workers as f64 * 3.0 * pages / leases as f64;
    let scan_rcu = workers as f64 * 3.0 * (leases as f64 * LEASE_ITEM_BYTES / 4096.0).ceil() / leases as f64;
    let mut by_op = BTreeMap::new();
    by_op.insert("renew", renews);
    by_op.insert("list", workers as f64 * 3.0 / leases as f64);
    Row {
        leases,
        workers,
        mode: "Java KCL 2 (computed)".into(),
        by_op,
        requests: renews + scans,
        rcu: scan_rcu,
        wcu: renews,
    }
}

fn print(rows: &[Row]) {
    println!("| leases | workers | renewal | requests per lease-minute | by operation | RCU / lease-min | WCU / lease-min |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for r in rows {
        let ops: Vec<String> = r
            .by_op
            .iter()
            .filter(|(_, n)| **n >= 0.0005)
            .map(|(op, n)| format!("{op} {n:.3}"))
            .collect();
        println!(
            "| {} | {} | {} | **{:.3}** | {} | {:.3} | {:.3} |",
            r.leases,
            r.workers,
            r.mode,
            r.requests,
            ops.join(", "),
            r.rcu,
            r.wcu
        );
    }
}

/// A TCP proxy in front of dynalite that counts requests by `X-Amz-Target`.
async fn counting_proxy(upstream: String) -> (String, Arc<Mutex<BTreeMap<String, u64>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().unwrap();
    let counts: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    let counted = Arc::clone(&counts);
    tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else {
                return;
            };
            let upstream = upstream.clone();
            let counts = Arc::clone(&counted);
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else {
                    return;
                };
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut sr, &mut cw).await;
                });
                // Client to server: forward everything, and count each request head's target.
                let mut pending: Vec<u8> = Vec::new();
                let mut body_left = 0usize;
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = match cr.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    if sw.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                    pending.extend_from_slice(&buf[..n]);
                    loop {
                        if body_left > 0 {
                            let skip = body_left.min(pending.len());
                            pending.drain(..skip);
                            body_left -= skip;
                            if body_left > 0 {
                                break;
                            }
                        }
                        let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") else {
                            break;
                        };
                        let head = String::from_utf8_lossy(&pending[..end]).to_ascii_lowercase();
                        pending.drain(..end + 4);
                        let header = |name: &str| {
                            head.lines()
                                .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
                        };
                        let target = header("x-amz-target:").unwrap_or_else(|| "other".into());
                        let target = target.rsplit('.').next().unwrap_or("").to_owned();
                        *counts.lock().unwrap().entry(target).or_default() += 1;
                        body_left = header("content-length:")
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(0);
                    }
                }
            });
        }
    });
    (format!("http://{addr}"), counts)
}

async fn dynalite_run(url: &str, mode: Mode) -> (BTreeMap<String, u64>, f64) {
    let upstream = url.trim_start_matches("http://").to_owned();
    let (proxy, counts) = counting_proxy(upstream).await;
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "x", "x", None, None, "bench",
        ))
        .endpoint_url(&proxy)
        .load()
        .await;
    // A fresh table per run: a table left by a previous run holds leases and heartbeats of the same
    // worker ids, which the new workers would first have to take back.
    static RUN: AtomicU64 = AtomicU64::new(0);
    let table = format!(
        "bench-lease-table-{}-{}",
        std::process::id(),
        RUN.fetch_add(1, Ordering::Relaxed)
    );
    let store: Arc<dyn LeaseStore> = Arc::new(
        kcl::checkpoint::DynamoDbLeaseStore::new(aws_sdk_dynamodb::Client::new(&sdk), &table).expect("store"),
    );
    store.ensure_table().await.expect("table");
    let emulator = Emulator::new(
        EmulatorConfig::builder()
            .without_throughput_limits()
            .build()
            .expect("emulator"),
    );
    emulator
        .create_stream(CreateStreamInput {
            stream_name: STREAM.into(),
            shard_count: Some(20),
            ..Default::default()
        })
        .await
        .expect("stream");
    let source: Arc<dyn RecordSource> = Arc::new(EmulatorSource::new(emulator, STREAM));
    let handles = [
        spawn(&store, &source, "worker-a", mode),
        spawn(&store, &source, "worker-b", mode),
    ];
    tokio::time::sleep(Duration::from_secs(20)).await;
    counts.lock().unwrap().clear();
    tokio::time::sleep(Duration::from_secs(60)).await;
    let counted = counts.lock().unwrap().clone();
    for h in handles {
        h.abort().await;
    }
    let total: u64 = counted.values().sum();
    (counted, total as f64 / 20.0)
}

fn main() {
    if let Ok(filter) = std::env::var("RUST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init();
    }
    let quick = std::env::args().nth(1).as_deref() == Some("quick");
    let scales: &[(usize, usize)] = if quick {
        &[(20, 2)]
    } else {
        &[(20, 2), (1_000, 10), (10_000, 100)]
    };
    let mut rows = Vec::new();
    for &(leases, workers) in scales {
        let mut modes = vec![
            Mode(LeaseRenewal::PerLease, None),
            Mode(LeaseRenewal::Heartbeat, None),
        ];
        if leases == 20 {
            modes.push(Mode(LeaseRenewal::Heartbeat, Some(Duration::from_secs(2))));
        }
        for mode in modes {
            // Outside the paused runtime: real time.
            let started = tokio::time::Instant::now();
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .start_paused(true)
                .build()
                .expect("runtime");
            let row = rt.block_on(paused_run(leases, workers, mode));
            eprintln!(
                "{leases} leases, {workers} workers, {}: {:.3} requests per lease-minute ({:.1} s wall)",
                row.mode,
                row.requests,
                started.elapsed().as_secs_f64()
            );
            rows.push(row);
        }
        rows.push(java_kcl2(leases, workers));
    }
    println!("## Paused time, in-memory store (requests counted at the store)\n");
    print(&rows);
    match std::env::var("KCL_TEST_DYNALITE_URL") {
        Ok(url) => {
            println!("\n## dynalite, 20 leases, 2 workers, 60 s real time (requests counted at a proxy in front of it)\n");
            println!("| renewal | requests per lease-minute | by X-Amz-Target (per minute, whole fleet) |");
            println!("| --- | --- | --- |");
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .expect("runtime");
            for mode in [
                Mode(LeaseRenewal::PerLease, None),
                Mode(LeaseRenewal::Heartbeat, None),
                Mode(LeaseRenewal::Heartbeat, Some(Duration::from_secs(2))),
            ] {
                let (counted, per_lease_minute) = rt.block_on(dynalite_run(&url, mode));
                let ops: Vec<String> = counted.iter().map(|(t, n)| format!("{t} {n}")).collect();
                println!(
                    "| {} | **{per_lease_minute:.2}** | {} |",
                    mode.name(),
                    ops.join(", ")
                );
            }
        }
        Err(_) => println!("\n(dynalite part skipped: KCL_TEST_DYNALITE_URL is not set)"),
    }
}
