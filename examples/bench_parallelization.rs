//! Parallelization within a shard: the speed-up of `ParallelizationFactor` 1, 2, 5 and 10 with a processor
//! that sleeps 10 ms per batch (an I/O-bound processor), through the in-process emulator.
//!
//! Run with `cargo run --release --example bench_parallelization` (figures in BENCHMARKS.md).
//!
//! Each factor runs in a fresh emulator: one shard prefilled with 100-byte records over 200 partition keys
//! (throughput limits off), batches of 100 records (Lambda's default), one worker. Records/s is measured
//! from the worker's start until every record was processed; the speed-up is against factor 1 in the same
//! run. Every run also checks that each key's records arrived once and in order.
//!
//! Optional argument: `bench_parallelization [records]` (default 40,000).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use kcl::checkpoint::{InMemoryLeaseStore, LeaseStore};
use kcl::core::source::EmulatorSource;
use kcl::core::{
    async_trait, Checkpointer, InitialPosition, ProcessRecordsInput, ProcessingPolicy, ProcessorError,
    RecordSource, ShardRecordProcessor, Worker, WorkerConfig,
};
use kcl::emulator::types::{CreateStreamInput, PutRecordsInput, PutRecordsRequestEntry};
use kcl::emulator::{Emulator, EmulatorConfig};

const STREAM: &str = "bench";
const KEYS: usize = 200;

/// Sleeps 10 ms per batch and checks order per key.
struct Sleeper {
    processed: Arc<AtomicU64>,
    last: Arc<Mutex<HashMap<String, u64>>>,
}

#[async_trait]
impl ShardRecordProcessor for Sleeper {
    async fn process_records(
        &mut self,
        input: &ProcessRecordsInput,
        _checkpointer: &Checkpointer,
    ) -> Result<(), ProcessorError> {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let mut last = self.last.lock().unwrap();
        for r in &input.records {
            let n: u64 = r.data[..8].iter().fold(0, |a, b| a * 10 + u64::from(b - b'0'));
            let prev = last.insert(r.partition_key.clone(), n).unwrap_or(0);
            assert_eq!(n, prev + 1, "key {} out of order", r.partition_key);
        }
        self.processed
            .fetch_add(input.records.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

async fn run(records: usize, factor: u8) -> Result<(f64, f64), Box<dyn std::error::Error>> {
    let emulator = Emulator::new(EmulatorConfig::builder().without_throughput_limits().build()?);
    emulator
        .create_stream(CreateStreamInput {
            stream_name: STREAM.into(),
            shard_count: Some(1),
            ..Default::default()
        })
        .await?;
    let mut counters = vec![0u64; KEYS];
    for start in (0..records).step_by(500) {
        let batch = (start..(start + 500).min(records))
            .map(|i| {
                counters[i % KEYS] += 1;
                let mut data = format!("{:08}", counters[i % KEYS]).into_bytes();
                data.resize(100, b'x');
                PutRecordsRequestEntry {
                    data: Bytes::from(data),
                    partition_key: format!("key-{}", i % KEYS),
                    explicit_hash_key: None,
                }
            })
            .collect();
        emulator
            .put_records(PutRecordsInput {
                records: batch,
                stream_name: Some(STREAM.into()),
                ..Default::default()
            })
            .await?;
    }
    let store: Arc<dyn LeaseStore> = Arc::new(InMemoryLeaseStore::new());
    let source: Arc<dyn RecordSource> = Arc::new(EmulatorSource::new(emulator.clone(), STREAM));
    let processed = Arc::new(AtomicU64::new(0));
    let last = Arc::new(Mutex::new(HashMap::new()));
    let config = WorkerConfig::builder()
        .initial_position(InitialPosition::TrimHorizon)
        .start_up_settle_time(Duration::ZERO)
        .idle_time_between_reads(Duration::from_millis(50))
        // The emulator here has no throughput limits: reads unpaced, so reading is not what limits.
        .max_reads_per_second(0)
        .processing(
            ProcessingPolicy::lambda()
                .batch_size(100)
                .parallelization_factor(factor)
                .build()?,
        )
        .build()?;
    let (p, l) = (Arc::clone(&processed), Arc::clone(&last));
    let factory = move |_: &str| {
        Box::new(Sleeper {
            processed: Arc::clone(&p),
            last: Arc::clone(&l),
        }) as Box<dyn ShardRecordProcessor>
    };
    let cpu_before = cpu_seconds();
    let started = tokio::time::Instant::now();
    let handle = Worker::builder(store, source, factory, "bench")
        .config(config)
        .build()?
        .spawn();
    while processed.load(Ordering::Relaxed) < records as u64 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let took = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;
    handle.shutdown().await?;
    let keys = last.lock().unwrap().len();
    assert_eq!(keys, KEYS, "every key seen");
    Ok((records as f64 / took, records as f64 / cpu.max(1e-9)))
}

/// The process's CPU time (user + system) in seconds, from `/proc/self/stat`.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks: f64 = fields.get(11).and_then(|u| u.parse::<f64>().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
    ticks / 100.0
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let records: usize = std::env::args().nth(1).map_or(Ok(40_000), |s| s.parse())?;
    println!("parallelization: 1 shard, {records} records of 100 B over {KEYS} keys, batches of 100, 10 ms sleep per batch");
    println!("| factor | records/s | speed-up vs 1 | records per CPU-second |");
    println!("|---|---|---|---|");
    let mut base = None;
    for factor in [1u8, 2, 5, 10] {
        let (rate, per_cpu) = run(records, factor).await?;
        let base = *base.get_or_insert(rate);
        println!("| {factor} | {rate:.0} | {:.2}x | {per_cpu:.0} |", rate / base);
    }
    Ok(())
}
