//! Retrieval latency and prefetch memory, in process and through the emulator's wire-protocol server.
//!
//! Run with `cargo run --release --example bench_retrieval` (figures are recorded in BENCHMARKS.md).
//!
//! 1. **Put-to-process latency.** One worker, a one-shard stream, default settings except where a row says
//!    otherwise, AWS throughput limits on (5 GetRecords calls a second per shard). Records are put one at a
//!    time at a fixed gap that does not divide the polling cycle (157 ms at the 1.5 s idle time, 37 ms at
//!    200 ms, 61 ms for fan-out), so their arrivals fall evenly over the cycle, and carry the instant of
//!    their put; the processor records how long each took to arrive. Rows: polling in process
//!    (the emulator source), polling through the server (aws-sdk-kinesis), enhanced fan-out through the
//!    server (SubscribeToShard), at the default idle time (1.5 s) and at 200 ms.
//! 2. **Prefetch memory.** A slow processor (200 ms per batch) behind a one-shard stream prefilled with
//!    128 MiB of 10 KiB records, then of 1 MiB records, at the default 8 MiB byte cap and at 32 MiB, read through a server running in a child process
//!    (so the stream's data is not in the worker's process); each row runs in a fresh process of its own.
//!    Printed: the default byte cap, the largest batch, the peak of `kcl_prefetch_bytes` (bytes held by
//!    batches read ahead, the one being processed included) and the growth of the worker process's peak
//!    resident set (Linux `VmHWM` over `VmRSS` before the worker starts; it also counts the SDK's buffers
//!    for the response being decoded).
//!
//! Optional arguments: `bench_retrieval [records-per-latency-row]` (default 200; twice as many at the
//! default idle time, for as many polling cycles).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::time::Instant;

use kcl::checkpoint::{InMemoryLeaseStore, LeaseStore};
use kcl::core::source::fanout::FanOutSource;
use kcl::core::source::{EmulatorSource, KinesisSource};
use kcl::core::{
    async_trait, metrics as m, Checkpointer, InitialPosition, ProcessRecordsInput, ProcessorError,
    RecordSource, ShardRecordProcessor, Worker, WorkerConfig,
};
use kcl::emulator::server::Server;
use kcl::emulator::types::{CreateStreamInput, PutRecordInput, PutRecordsInput, PutRecordsRequestEntry};
use kcl::emulator::{Emulator, EmulatorConfig};
use metrics::{Counter, Gauge, GaugeFn, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};

const STREAM: &str = "bench";
const MIB: usize = 1024 * 1024;

/// The instant every put time is measured from.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_nanos() -> u64 {
    u64::try_from(epoch().elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Records, for each record, how long after its put it reached the processor.
struct Latency {
    seen: Arc<Mutex<Vec<Duration>>>,
}

#[async_trait]
impl ShardRecordProcessor for Latency {
    async fn process_records(
        &mut self,
        input: &ProcessRecordsInput,
        checkpointer: &Checkpointer,
    ) -> Result<(), ProcessorError> {
        let now = now_nanos();
        {
            let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            for r in &input.records {
                let put = u64::from_be_bytes(r.data[..8].try_into().map_err(|_| "short record")?);
                seen.push(Duration::from_nanos(now.saturating_sub(put)));
            }
        }
        if !input.records.is_empty() {
            checkpointer.checkpoint().await?;
        }
        Ok(())
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn kinesis_client(endpoint: &str) -> aws_sdk_kinesis::Client {
    aws_sdk_kinesis::Client::from_conf(
        aws_sdk_kinesis::Config::builder()
            .behavior_version(aws_sdk_kinesis::config::BehaviorVersion::latest())
            .region(aws_sdk_kinesis::config::Region::new("us-east-1"))
            .credentials_provider(aws_credential_types::Credentials::new(
                "bench", "bench", None, None, "bench",
            ))
            .endpoint_url(endpoint)
            .build(),
    )
}

/// Serves `emulator` on 127.0.0.1 (an ephemeral port) until the process ends; returns the endpoint.
async fn serve(emulator: &Emulator) -> Result<String, Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let endpoint = format!("http://{}", listener.local_addr()?);
    let server = Server::builder().emulator(emulator.clone()).build()?;
    tokio::spawn(server.serve(listener, std::future::pending::<()>()));
    Ok(endpoint)
}

async fn one_shard_stream(emulator: &Emulator, name: &str) -> Result<(), Box<dyn std::error::Error>> {
    emulator
        .create_stream(CreateStreamInput {
            stream_name: name.into(),
            shard_count: Some(1),
            ..Default::default()
        })
        .await?;
    Ok(())
}

#[derive(Clone, Copy)]
enum Retrieval {
    InProcess,
    ServerPolling,
    ServerFanOut,
}

/// One latency row: `records` puts `gap` apart, their put-to-process latencies (sorted).
async fn latency_row(
    retrieval: Retrieval,
    idle: Option<Duration>,
    gap: Duration,
    records: usize,
) -> Result<Vec<Duration>, Box<dyn std::error::Error>> {
    let emulator = Emulator::new(EmulatorConfig::builder().build()?);
    one_shard_stream(&emulator, STREAM).await?;
    let source: Arc<dyn RecordSource> = match retrieval {
        Retrieval::InProcess => Arc::new(EmulatorSource::new(emulator.clone(), STREAM)),
        Retrieval::ServerPolling => Arc::new(KinesisSource::new(
            kinesis_client(&serve(&emulator).await?),
            STREAM,
        )),
        Retrieval::ServerFanOut => Arc::new(FanOutSource::new(
            kinesis_client(&serve(&emulator).await?),
            STREAM,
            "bench-app",
        )),
    };
    let mut config = WorkerConfig::builder().initial_position(InitialPosition::TrimHorizon);
    if let Some(idle) = idle {
        config = config.idle_time_between_reads(idle);
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let factory = move |_: &str| {
        Box::new(Latency {
            seen: Arc::clone(&log),
        }) as Box<dyn ShardRecordProcessor>
    };
    let store: Arc<dyn LeaseStore> = Arc::new(InMemoryLeaseStore::new());
    let handle = Worker::builder(store, source, factory, "bench")
        .config(config.build()?)
        .build()?
        .spawn();
    let put = |emulator: Emulator| async move {
        emulator
            .put_record(PutRecordInput {
                stream_name: Some(STREAM.into()),
                partition_key: "k".into(),
                data: now_nanos().to_be_bytes().to_vec().into(),
                ..Default::default()
            })
            .await
    };
    // Warm up: the lease is taken and the first record arrives (not counted).
    put(emulator.clone()).await?;
    while seen.lock().unwrap_or_else(|p| p.into_inner()).is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    seen.lock().unwrap_or_else(|p| p.into_inner()).clear();
    let mut next = tokio::time::Instant::now();
    for _ in 0..records {
        next += gap;
        tokio::time::sleep_until(next).await;
        put(emulator.clone()).await?;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.lock().unwrap_or_else(|p| p.into_inner()).len() < records && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    handle.shutdown().await?;
    let mut seen = std::mem::take(&mut *seen.lock().unwrap_or_else(|p| p.into_inner()));
    if seen.len() < records {
        return Err(format!("only {} of {records} records arrived", seen.len()).into());
    }
    seen.sort();
    Ok(seen)
}

/// Keeps the largest value each gauge was set to.
#[derive(Default)]
struct PeakGauges {
    peaks: Mutex<HashMap<String, Arc<Peak>>>,
}

#[derive(Default)]
struct Peak {
    now: AtomicU64,
    max: AtomicU64,
}

impl GaugeFn for Peak {
    fn increment(&self, value: f64) {
        let now = self.now.fetch_add(value as u64, Ordering::Relaxed) + value as u64;
        self.max.fetch_max(now, Ordering::Relaxed);
    }
    fn decrement(&self, value: f64) {
        self.now.fetch_sub(value as u64, Ordering::Relaxed);
    }
    fn set(&self, value: f64) {
        self.now.store(value as u64, Ordering::Relaxed);
        self.max.fetch_max(value as u64, Ordering::Relaxed);
    }
}

impl PeakGauges {
    fn take_peak(&self, name: &str) -> u64 {
        let peaks = self.peaks.lock().unwrap_or_else(|p| p.into_inner());
        peaks.get(name).map_or(0, |p| p.max.swap(0, Ordering::Relaxed))
    }
}

impl Recorder for PeakGauges {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, _: &Key, _: &Metadata<'_>) -> Counter {
        Counter::noop()
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        let mut peaks = self.peaks.lock().unwrap_or_else(|p| p.into_inner());
        Gauge::from_arc(Arc::clone(peaks.entry(key.name().to_owned()).or_default()))
    }
    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

/// A processor that takes 200 ms per batch and notes the largest batch.
struct Slow {
    records: Arc<AtomicU64>,
    largest: Arc<AtomicU64>,
}

#[async_trait]
impl ShardRecordProcessor for Slow {
    async fn process_records(
        &mut self,
        input: &ProcessRecordsInput,
        checkpointer: &Checkpointer,
    ) -> Result<(), ProcessorError> {
        if input.records.is_empty() {
            return Ok(());
        }
        self.largest
            .fetch_max(input.size_bytes() as u64, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(200)).await;
        checkpointer.checkpoint().await?;
        self.records
            .fetch_add(input.records.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The child process: a server on an ephemeral port with `count` records of `size` bytes in stream
/// `STREAM`; prints the endpoint and serves until stdin closes.
async fn child_server(size: usize, count: usize) -> Result<(), Box<dyn std::error::Error>> {
    let emulator = Emulator::new(EmulatorConfig::builder().without_throughput_limits().build()?);
    one_shard_stream(&emulator, STREAM).await?;
    let per_call = (4 * MIB / size).clamp(1, 500);
    let mut left = count;
    while left > 0 {
        let n = left.min(per_call);
        let records = (0..n)
            .map(|_| PutRecordsRequestEntry {
                data: vec![7u8; size - 1].into(),
                partition_key: "k".into(),
                ..Default::default()
            })
            .collect();
        emulator
            .put_records(PutRecordsInput {
                stream_name: Some(STREAM.into()),
                records,
                ..Default::default()
            })
            .await?;
        left -= n;
    }
    let endpoint = serve(&emulator).await?;
    println!("{endpoint}");
    tokio::task::spawn_blocking(|| std::io::stdin().read_line(&mut String::new())).await??;
    Ok(())
}

/// Runs one memory row in a fresh process (`--memory-row`), so its resident set starts clean.
fn memory_row_process(size: usize, count: usize, cap: usize) -> Result<(), Box<dyn std::error::Error>> {
    let status = std::process::Command::new(std::env::current_exe()?)
        .args([
            "--memory-row",
            &size.to_string(),
            &count.to_string(),
            &cap.to_string(),
        ])
        .status()?;
    if !status.success() {
        return Err(format!("the memory row for {size}-byte records failed: {status}").into());
    }
    Ok(())
}

/// One memory row: reads `count` records of `size` bytes with the slow processor.
async fn memory_row(
    size: usize,
    count: usize,
    cap: usize,
    gauges: &PeakGauges,
) -> Result<(), Box<dyn std::error::Error>> {
    use std::io::BufRead;
    let mut child = std::process::Command::new(std::env::current_exe()?)
        .args(["--serve", &size.to_string(), &count.to_string()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    let mut endpoint = String::new();
    std::io::BufReader::new(child.stdout.take().ok_or("no stdout")?).read_line(&mut endpoint)?;
    let source: Arc<dyn RecordSource> = Arc::new(KinesisSource::new(kinesis_client(endpoint.trim()), STREAM));
    let config = WorkerConfig::builder()
        .initial_position(InitialPosition::TrimHorizon)
        .prefetch_max_bytes(cap)
        .build()?;
    let (records, largest) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (r, l) = (Arc::clone(&records), Arc::clone(&largest));
    let factory = move |_: &str| {
        Box::new(Slow {
            records: Arc::clone(&r),
            largest: Arc::clone(&l),
        }) as Box<dyn ShardRecordProcessor>
    };
    gauges.take_peak(m::PREFETCH_BYTES);
    // Reset the peak resident set (Linux: writing 5 to clear_refs), then measure from here.
    std::fs::write("/proc/self/clear_refs", "5")?;
    let rss_before = status_kib("VmRSS:").unwrap_or(0);
    let store: Arc<dyn LeaseStore> = Arc::new(InMemoryLeaseStore::new());
    let started = Instant::now();
    let handle = Worker::builder(store, source, factory, "bench")
        .config(config)
        .build()?
        .spawn();
    while records.load(Ordering::Relaxed) < count as u64 && started.elapsed() < Duration::from_secs(300) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = started.elapsed();
    let rss_peak = status_kib("VmHWM:").unwrap_or(0);
    handle.shutdown().await?;
    drop(child.stdin.take());
    child.wait()?;
    let peak = gauges.take_peak(m::PREFETCH_BYTES);
    let largest = largest.load(Ordering::Relaxed);
    println!(
        "| {} | {count} | {:.1} | {:.2} | {:.2} | {:.2} | {} | {:.1} | {:.1} s |",
        if size >= MIB {
            format!("{} MiB", size / MIB)
        } else {
            format!("{} KiB", size / 1024)
        },
        cap as f64 / MIB as f64,
        largest as f64 / MIB as f64,
        peak as f64 / MIB as f64,
        (cap as u64 + largest) as f64 / MIB as f64,
        if peak <= cap as u64 + largest { "yes" } else { "NO" },
        rss_peak.saturating_sub(rss_before) as f64 / 1024.0,
        took.as_secs_f64(),
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    if args.get(1).map(String::as_str) == Some("--serve") {
        let size = args.get(2).ok_or("size")?.parse()?;
        let count = args.get(3).ok_or("count")?.parse()?;
        return runtime.block_on(child_server(size, count));
    }
    let gauges: &'static PeakGauges = Box::leak(Box::default());
    metrics::set_global_recorder(gauges).map_err(|e| e.to_string())?;
    if args.get(1).map(String::as_str) == Some("--memory-row") {
        let size = args.get(2).ok_or("size")?.parse()?;
        let count = args.get(3).ok_or("count")?.parse()?;
        let cap = args.get(4).ok_or("cap")?.parse()?;
        return runtime.block_on(memory_row(size, count, cap, gauges));
    }
    let records: usize = args.get(1).map_or(Ok(200), |a| a.parse())?;
    epoch();
    runtime.block_on(async {
        println!("## Put-to-process latency\n");
        println!("| retrieval | idle time between reads | records | p50 ms | p90 ms | p99 ms | max ms | target |");
        println!("|---|---|---|---|---|---|---|---|");
        let fast = Some(Duration::from_millis(200));
        let (slow_gap, fast_gap) = (Duration::from_millis(157), Duration::from_millis(37));
        let rows = [
            ("polling, in process", Retrieval::InProcess, None, slow_gap),
            ("polling, in process", Retrieval::InProcess, fast, fast_gap),
            ("polling, server", Retrieval::ServerPolling, None, slow_gap),
            ("polling, server", Retrieval::ServerPolling, fast, fast_gap),
            ("enhanced fan-out, server", Retrieval::ServerFanOut, None, Duration::from_millis(61)),
        ];
        for (name, retrieval, idle, gap) in rows {
            // Twice the records at the default idle time: twice as many cycles to average over.
            let n = if idle.is_none() { 2 * records } else { records };
            let seen = latency_row(retrieval, idle, gap, n).await?;
            let (p50, p99) = (percentile(&seen, 0.5), percentile(&seen, 0.99));
            let idle_time = idle.unwrap_or(Duration::from_millis(1_500));
            let target = match retrieval {
                Retrieval::ServerFanOut => format!(
                    "p99 <= 10 ms: {}",
                    if p99 <= Duration::from_millis(10) { "met" } else { "MISSED" }
                ),
                _ => {
                    let bound = idle_time / 2 + Duration::from_millis(5);
                    format!(
                        "p50 <= {} ms: {}",
                        ms(bound),
                        if p50 <= bound { "met" } else { "MISSED" }
                    )
                }
            };
            println!(
                "| {name} | {}{} | {n} | {} | {} | {} | {} | {target} |",
                ms(idle_time),
                if idle.is_none() { " ms (default)" } else { " ms" },
                ms(p50),
                ms(percentile(&seen, 0.9)),
                ms(p99),
                ms(*seen.last().unwrap_or(&Duration::ZERO)),
            );
        }
        println!("\n## Prefetch memory (slow processor: 200 ms a batch; server in a child process)\n");
        println!("| record size | records | byte cap MiB | largest batch MiB | peak read-ahead MiB | cap + batch MiB | within | peak RSS growth MiB | took |");
        println!("|---|---|---|---|---|---|---|---|---|");
        Ok::<(), Box<dyn std::error::Error>>(())
    })?;
    // The default cap with both record sizes; then four times the cap, to show what the cap itself costs.
    memory_row_process(10 * 1024, 128 * 1024 / 10, 8 * MIB)?;
    memory_row_process(MIB, 128, 8 * MIB)?;
    memory_row_process(10 * 1024, 128 * 1024 / 10, 32 * MIB)?;
    memory_row_process(MIB, 128, 32 * MIB)
}
