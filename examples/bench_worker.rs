//! Worker throughput and idle memory, through the in-process emulator.
//!
//! Run with `cargo run --release --example bench_worker` (figures are recorded in kcl-core/BENCHMARKS.md).
//!
//! 1. Throughput: 16 shards prefilled with 100-byte records (throughput limits off), 2 workers, a no-op
//!    processor that checkpoints after every batch; records/s from the workers' start until every record
//!    was processed.
//! 2. Idle memory: one worker holding many leases of an empty stream, every consumer idle in `Processing`;
//!    the growth of the process's resident set (Linux `/proc/self/status` VmRSS) divided by the shard
//!    count. RSS is an upper bound (it includes allocator slack), not an exact allocation count.
//!
//! Optional arguments: `bench_worker [records] [idle_shards]` (defaults 2,000,000 and 1,000).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kcl::checkpoint::{InMemoryLeaseStore, LeaseStore};
use kcl::core::source::EmulatorSource;
use kcl::core::{
    async_trait, Checkpointer, ConsumerState, InitialPosition, ProcessRecordsInput, ProcessorError,
    RecordSource, ShardRecordProcessor, Worker, WorkerConfig, WorkerHandle,
};
use kcl::emulator::types::{CreateStreamInput, PutRecordsInput, PutRecordsRequestEntry};
use kcl::emulator::{Emulator, EmulatorConfig};

const STREAM: &str = "bench";

struct NoOp {
    processed: Arc<AtomicU64>,
}

#[async_trait]
impl ShardRecordProcessor for NoOp {
    async fn process_records(
        &mut self,
        input: &ProcessRecordsInput,
        checkpointer: &Checkpointer,
    ) -> Result<(), ProcessorError> {
        if !input.records.is_empty() {
            checkpointer.checkpoint().await?;
            self.processed
                .fetch_add(input.records.len() as u64, Ordering::Relaxed);
        }
        Ok(())
    }
}

fn worker(
    id: &str,
    store: &Arc<dyn LeaseStore>,
    source: &Arc<dyn RecordSource>,
    processed: &Arc<AtomicU64>,
    max_leases: usize,
) -> Result<WorkerHandle, kcl::core::Error> {
    let config = WorkerConfig::builder()
        .initial_position(InitialPosition::TrimHorizon)
        .max_leases_per_worker(max_leases)
        .build()?;
    let processed = Arc::clone(processed);
    let factory = move |_: &str| {
        Box::new(NoOp {
            processed: Arc::clone(&processed),
        }) as Box<dyn ShardRecordProcessor>
    };
    Ok(
        Worker::builder(Arc::clone(store), Arc::clone(source), factory, id)
            .config(config)
            .build()?
            .spawn(),
    )
}

async fn stream(shards: i32) -> Result<(Emulator, Arc<dyn RecordSource>), Box<dyn std::error::Error>> {
    let config = EmulatorConfig::builder()
        .without_throughput_limits()
        .shard_limit(10_000)
        .build()?;
    let kinesis = Emulator::new(config);
    kinesis
        .create_stream(CreateStreamInput {
            stream_name: STREAM.into(),
            shard_count: Some(shards),
            ..Default::default()
        })
        .await?;
    let source: Arc<dyn RecordSource> = Arc::new(EmulatorSource::new(kinesis.clone(), STREAM));
    Ok((kinesis, source))
}

fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The ceiling: two tasks reading all 16 shards through the same source, with no worker around them.
async fn raw_read_rate(
    source: &Arc<dyn RecordSource>,
    records: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    let shards = source
        .list_shards(&kcl::core::ShardFilter::FromTrimHorizon)
        .await?;
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::new();
    for half in [0, 1] {
        let source = Arc::clone(source);
        let mine: Vec<String> = shards
            .iter()
            .skip(half)
            .step_by(2)
            .map(|s| s.shard_id.clone())
            .collect();
        tasks.push(tokio::spawn(async move {
            let mut read = 0u64;
            for shard in mine {
                let request = kcl::core::ReadRequest::new(&shard, kcl::core::IteratorPosition::TrimHorizon);
                let mut reader = source.open_reader(request);
                read += kcl::core::source::read_available(reader.as_mut()).await?.len() as u64;
            }
            Ok::<u64, kcl::core::Error>(read)
        }));
    }
    let mut read = 0;
    for t in tasks {
        read += t.await??;
    }
    let took = start.elapsed();
    println!(
        "baseline: GetRecords alone (2 tasks, no worker) read {read} of {records} records in {took:.2?} = {:.0} records/s",
        read as f64 / took.as_secs_f64()
    );
    Ok(())
}

async fn throughput(records: u64) -> Result<(), Box<dyn std::error::Error>> {
    let (kinesis, source) = stream(16).await?;
    let payload = Bytes::from(vec![b'x'; 100]);
    let fill = tokio::time::Instant::now();
    let mut batch = Vec::with_capacity(500);
    for i in 0..records {
        batch.push(PutRecordsRequestEntry {
            data: payload.clone(),
            partition_key: format!("pk-{}", i % 4096),
            explicit_hash_key: None,
        });
        if batch.len() == 500 || i + 1 == records {
            let out = kinesis
                .put_records(PutRecordsInput {
                    records: std::mem::take(&mut batch),
                    stream_name: Some(STREAM.into()),
                    ..Default::default()
                })
                .await?;
            if out.failed_record_count > 0 {
                return Err(format!("{} records rejected while prefilling", out.failed_record_count).into());
            }
        }
    }
    println!(
        "prefilled {records} records of 100 bytes into 16 shards in {:.2?}",
        fill.elapsed()
    );

    raw_read_rate(&source, records).await?;

    let store: Arc<dyn LeaseStore> = Arc::new(InMemoryLeaseStore::new());
    let processed = Arc::new(AtomicU64::new(0));
    let start = tokio::time::Instant::now();
    // Each worker takes 8 of the 16 leases (no balancing steals during the run).
    let w1 = worker("bench-1", &store, &source, &processed, 8)?;
    let w2 = worker("bench-2", &store, &source, &processed, 8)?;
    while processed.load(Ordering::Relaxed) < records {
        tokio::time::sleep(Duration::from_millis(1)).await;
        if start.elapsed() > Duration::from_secs(600) {
            return Err("throughput run did not finish in 10 minutes".into());
        }
    }
    let took = start.elapsed();
    println!(
        "throughput: {records} records in {took:.2?} = {:.0} records/s ({} + {} leases, checkpoint per batch)",
        records as f64 / took.as_secs_f64(),
        w1.leases().len(),
        w2.leases().len(),
    );
    w1.shutdown().await?;
    w2.shutdown().await?;
    Ok(())
}

async fn idle_memory(shards: i32) -> Result<(), Box<dyn std::error::Error>> {
    let (_kinesis, source) = stream(shards).await?;
    let store: Arc<dyn LeaseStore> = Arc::new(InMemoryLeaseStore::new());
    let processed = Arc::new(AtomicU64::new(0));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = rss_bytes();
    let w = worker("idle", &store, &source, &processed, usize::MAX)?;
    let start = tokio::time::Instant::now();
    loop {
        let states = w.shard_states();
        let idle = states
            .values()
            .filter(|s| **s == ConsumerState::Processing)
            .count();
        if idle == shards as usize {
            break;
        }
        if start.elapsed() > Duration::from_secs(120) {
            return Err(format!("only {idle} of {shards} consumers reached Processing").into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Let every poller make its first (empty) read and settle into its idle wait.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = rss_bytes();
    match (before, after) {
        (Some(b), Some(a)) => println!(
            "idle memory: {shards} leased idle shards grew RSS by {:.1} MiB = {:.1} KiB per shard (lease, consumer, poller, prefetch queue, processor, store entry)",
            a.saturating_sub(b) as f64 / (1024.0 * 1024.0),
            a.saturating_sub(b) as f64 / 1024.0 / f64::from(shards)
        ),
        _ => println!("idle memory: /proc/self/status not available on this platform"),
    }
    w.shutdown().await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let records: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(2_000_000);
    let shards: i32 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1_000);
    if shards > 0 {
        idle_memory(shards).await?;
    }
    if records > 0 {
        throughput(records).await?;
    }
    Ok(())
}
