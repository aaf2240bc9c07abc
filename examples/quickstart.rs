//! kcl-rs quickstart: three workers consume an emulated stream while it is resharded and one worker
//! leaves; at the end every record must have been processed, in order per partition key.
//!
//! Run with `cargo run --example quickstart` (about 20 seconds). Everything is in-process: the Kinesis
//! emulator (with the real per-shard throughput limits) and the in-memory lease store. Exits non-zero if
//! a record is missing or out of order.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use kcl::checkpoint::{InMemoryLeaseStore, LeaseStore};
use kcl::core::source::EmulatorSource;
use kcl::core::{
    async_trait, Checkpointer, InitialPosition, ProcessRecordsInput, ProcessorError, RecordSource,
    ShardFilter, ShardRecordProcessor, Worker, WorkerConfig, WorkerHandle,
};
use kcl::emulator::types::{CreateStreamInput, PutRecordsInput, PutRecordsRequestEntry, SplitShardInput};
use kcl::emulator::Emulator;

const STREAM: &str = "quickstart";
const KEYS: u64 = 24;

/// What the processors saw, shared by all workers.
#[derive(Default)]
struct Tally {
    /// Per key: the highest counter seen so far.
    last: BTreeMap<String, u64>,
    /// Per worker: records processed.
    per_worker: BTreeMap<String, u64>,
    /// Records delivered again (at-least-once: a lease stolen mid-batch).
    redelivered: u64,
    /// Records that arrived ahead of an earlier record of the same key.
    out_of_order: Vec<String>,
}

/// Checks per-key order and checkpoints after every batch.
struct Processor {
    worker: String,
    tally: Arc<Mutex<Tally>>,
}

#[async_trait]
impl ShardRecordProcessor for Processor {
    async fn process_records(
        &mut self,
        input: &ProcessRecordsInput,
        checkpointer: &Checkpointer,
    ) -> Result<(), ProcessorError> {
        {
            let mut tally = self.tally.lock().map_err(|_| "tally lock poisoned")?;
            let tally = &mut *tally;
            for record in &input.records {
                let text = std::str::from_utf8(&record.data)?;
                let (key, n) = text.rsplit_once(':').ok_or("malformed payload")?;
                let n: u64 = n.parse()?;
                let last = tally.last.entry(key.to_owned()).or_insert(0);
                if n == *last + 1 {
                    *last = n;
                } else if n <= *last {
                    tally.redelivered += 1;
                } else {
                    tally.out_of_order.push(format!("{key}: {n} after {last}"));
                    *last = n;
                }
            }
            *tally.per_worker.entry(self.worker.clone()).or_default() += input.records.len() as u64;
        }
        if !input.records.is_empty() {
            checkpointer.checkpoint().await?;
        }
        Ok(())
    }

    async fn shutdown_requested(&mut self, checkpointer: &Checkpointer) -> Result<(), ProcessorError> {
        // Checkpoint what was processed so the next owner starts right after it.
        if checkpointer.largest_delivered().is_some() {
            checkpointer.checkpoint().await?;
        }
        Ok(())
    }
}

fn spawn_worker(
    id: &str,
    store: &Arc<dyn LeaseStore>,
    source: &Arc<dyn RecordSource>,
    tally: &Arc<Mutex<Tally>>,
) -> Result<WorkerHandle, kcl::core::Error> {
    let config = WorkerConfig::builder()
        .initial_position(InitialPosition::TrimHorizon)
        .lease_duration(Duration::from_secs(3))
        .lease_taker_interval(Duration::from_millis(500))
        .idle_time_between_reads(Duration::from_millis(250))
        .shard_sync_interval(Duration::from_secs(2))
        .build()?;
    let (worker, tally) = (id.to_owned(), Arc::clone(tally));
    let factory = move |_shard: &str| {
        Box::new(Processor {
            worker: worker.clone(),
            tally: Arc::clone(&tally),
        }) as Box<dyn ShardRecordProcessor>
    };
    Ok(
        Worker::builder(Arc::clone(store), Arc::clone(source), factory, id)
            .config(config)
            .build()?
            .spawn(),
    )
}

async fn produce(kinesis: &Emulator, counters: &mut BTreeMap<String, u64>, count: u64) -> Result<(), String> {
    let mut records = Vec::new();
    for i in 0..count {
        let key = format!("customer-{}", i % KEYS);
        let n = counters.entry(key.clone()).or_default();
        *n += 1;
        records.push(PutRecordsRequestEntry {
            data: Bytes::from(format!("{key}:{n}")),
            partition_key: key,
            explicit_hash_key: None,
        });
    }
    let out = kinesis
        .put_records(PutRecordsInput {
            records,
            stream_name: Some(STREAM.into()),
            ..Default::default()
        })
        .await
        .map_err(|e| e.to_string())?;
    if out.failed_record_count > 0 {
        return Err(format!("{} records rejected", out.failed_record_count));
    }
    Ok(())
}

fn summary(t: Duration, workers: &[(&str, Option<&WorkerHandle>)], tally: &Mutex<Tally>) {
    let tally = tally.lock().unwrap_or_else(|p| p.into_inner());
    let total: u64 = tally.per_worker.values().sum();
    let line: Vec<String> = workers
        .iter()
        .map(|(id, handle)| {
            let leases = handle.map_or_else(
                || "stopped".to_owned(),
                |h| format!("{} leases", h.leases().len()),
            );
            let done = tally.per_worker.get(*id).copied().unwrap_or(0);
            format!("{id}: {leases:>9}, {done:>5} records")
        })
        .collect();
    println!(
        "t={:>4.1}s  {}  | total {total}",
        t.as_secs_f64(),
        line.join("  ")
    );
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("quickstart failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<bool, Box<dyn std::error::Error>> {
    let kinesis = Emulator::default(); // AWS throughput limits on
    kinesis
        .create_stream(CreateStreamInput {
            stream_name: STREAM.into(),
            shard_count: Some(4),
            ..Default::default()
        })
        .await?;
    let source: Arc<dyn RecordSource> = Arc::new(EmulatorSource::new(kinesis.clone(), STREAM));
    let store: Arc<dyn LeaseStore> = Arc::new(InMemoryLeaseStore::new());
    let tally = Arc::new(Mutex::new(Tally::default()));

    println!("kcl-rs quickstart: 4 shards, 3 workers, a split at t=6s, worker-3 leaves at t=9s\n");
    let w1 = spawn_worker("worker-1", &store, &source, &tally)?;
    let w2 = spawn_worker("worker-2", &store, &source, &tally)?;
    let mut w3 = Some(spawn_worker("worker-3", &store, &source, &tally)?);
    tokio::time::sleep(Duration::from_secs(1)).await;

    let start = tokio::time::Instant::now();
    let mut counters = BTreeMap::new();
    let mut split_done = false;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut next_summary = Duration::ZERO;
    while start.elapsed() < Duration::from_secs(12) {
        tick.tick().await;
        produce(&kinesis, &mut counters, 40).await?;
        let t = start.elapsed();
        if !split_done && t >= Duration::from_secs(6) {
            let shards = source.list_shards(&ShardFilter::AtLatest).await?;
            let first = shards.first().ok_or("no shards")?;
            let range = first.hash_key_range.ok_or("no hash range")?;
            let middle = range.starting_hash_key + (range.ending_hash_key - range.starting_hash_key) / 2;
            kinesis
                .split_shard(SplitShardInput {
                    stream_name: Some(STREAM.into()),
                    shard_to_split: first.shard_id.clone(),
                    new_starting_hash_key: middle.to_string(),
                    ..Default::default()
                })
                .await?;
            println!("--- split {} into two children", first.shard_id);
            split_done = true;
        }
        if t >= Duration::from_secs(9) {
            if let Some(handle) = w3.take() {
                handle.shutdown().await?;
                println!("--- worker-3 shut down gracefully (leases handed off)");
            }
        }
        if t >= next_summary {
            summary(
                t,
                &[
                    ("worker-1", Some(&w1)),
                    ("worker-2", Some(&w2)),
                    ("worker-3", w3.as_ref()),
                ],
                &tally,
            );
            next_summary += Duration::from_secs(1);
        }
    }

    let produced: u64 = counters.values().sum();
    println!("--- producer stopped after {produced} records; draining");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let caught_up = {
            let t = tally.lock().unwrap_or_else(|p| p.into_inner());
            counters.iter().all(|(k, n)| t.last.get(k) == Some(n))
        };
        if caught_up || tokio::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    summary(
        start.elapsed(),
        &[
            ("worker-1", Some(&w1)),
            ("worker-2", Some(&w2)),
            ("worker-3", None),
        ],
        &tally,
    );
    w1.shutdown().await?;
    w2.shutdown().await?;

    let t = tally.lock().unwrap_or_else(|p| p.into_inner());
    let missing: u64 = counters
        .iter()
        .map(|(k, n)| n - t.last.get(k).copied().unwrap_or(0).min(*n))
        .sum();
    println!();
    println!(
        "produced {produced}, processed {} (redelivered {})",
        t.per_worker.values().sum::<u64>(),
        t.redelivered
    );
    if missing == 0 && t.out_of_order.is_empty() {
        println!("VERDICT: OK - every record processed, in order per partition key");
        Ok(true)
    } else {
        println!(
            "VERDICT: FAILED - {missing} records missing, {} out of order {:?}",
            t.out_of_order.len(),
            t.out_of_order.iter().take(5).collect::<Vec<_>>()
        );
        Ok(false)
    }
}
