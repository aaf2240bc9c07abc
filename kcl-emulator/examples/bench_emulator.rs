//! Throughput benchmark of the in-process emulator (throughput limits off).
//!
//! Writes PutRecords batches of 500 x 100-byte records, then reads everything back with GetRecords
//! batches of 10,000, on 1 and on 16 shards, and prints records per second.
//!
//! Run: `cargo run --release -p kcl-emulator --example bench_emulator [total_records] [writer_tasks]
//! [shard_counts, e.g. 1,16]`

use std::time::Duration;

use bytes::Bytes;
use kcl_emulator::types::*;
use kcl_emulator::{Emulator, EmulatorConfig, KinesisError};

const BATCH: usize = 500;
/// `sysconf(_SC_CLK_TCK)` on Linux.
const TICKS_PER_SEC: f64 = 100.0;
const RECORD_BYTES: usize = 100;

/// Pre-built requests; every record owns its payload, as after decoding a request body.
/// CPU time (user + system, all threads) this process has used, from `/proc/self/stat`; zero elsewhere.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    Duration::from_secs_f64((ticks(11) + ticks(12)) / TICKS_PER_SEC)
}

/// Wall and CPU time of one timed section.
#[derive(Debug, Clone, Copy)]
struct Took {
    wall: Duration,
    cpu: Duration,
}

impl Took {
    fn report(&self, what: &str, shards: i32, records: usize) {
        let wall = records as f64 / self.wall.as_secs_f64();
        let cpu = records as f64 / self.cpu.as_secs_f64().max(0.01);
        println!(
            "shards={shards:>2}  {what}: {records} records in {:.3} s wall = {:>10.0} records/s \
             ({:.1} MiB/s); {:.2} s CPU = {:>10.0} records per CPU-second",
            self.wall.as_secs_f64(),
            wall,
            wall * RECORD_BYTES as f64 / (1024.0 * 1024.0),
            self.cpu.as_secs_f64(),
            cpu
        );
    }
}

fn requests(stream: &str, total: usize) -> Vec<PutRecordsInput> {
    (0..total / BATCH)
        .map(|b| PutRecordsInput {
            stream_name: Some(stream.to_owned()),
            records: (0..BATCH)
                .map(|i| PutRecordsRequestEntry {
                    data: Bytes::from(vec![(i % 251) as u8; RECORD_BYTES]),
                    partition_key: format!("pk-{}", (b * BATCH + i) % 10_007),
                    explicit_hash_key: None,
                })
                .collect(),
            ..Default::default()
        })
        .collect()
}

async fn write(e: &Emulator, stream: &str, total: usize, writers: usize) -> Result<Took, KinesisError> {
    let mut reqs = requests(stream, total);
    let per = reqs.len().div_ceil(writers.max(1));
    let mut chunks = Vec::new();
    while !reqs.is_empty() {
        let rest = reqs.split_off(per.min(reqs.len()));
        chunks.push(std::mem::replace(&mut reqs, rest));
    }
    let start = tokio::time::Instant::now();
    let cpu_start = cpu_time();
    let tasks: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let e = e.clone();
            tokio::spawn(async move {
                for req in chunk {
                    let out = e.put_records(req).await?;
                    assert_eq!(out.failed_record_count, 0);
                }
                Ok::<_, KinesisError>(())
            })
        })
        .collect();
    for t in tasks {
        t.await
            .map_err(|e| KinesisError::new(kcl_emulator::ErrorCode::InternalFailure, e.to_string()))??;
    }
    Ok(Took {
        wall: start.elapsed(),
        cpu: cpu_time().saturating_sub(cpu_start),
    })
}

async fn read_shard(e: Emulator, stream: String, shard: String) -> Result<usize, KinesisError> {
    let mut it = e
        .get_shard_iterator(GetShardIteratorInput {
            stream_name: Some(stream),
            shard_id: shard,
            shard_iterator_type: ShardIteratorType::TrimHorizon,
            ..Default::default()
        })
        .await?
        .shard_iterator;
    let mut n = 0;
    loop {
        let out = e
            .get_records(GetRecordsInput {
                shard_iterator: it,
                limit: Some(10_000),
                ..Default::default()
            })
            .await?;
        n += out.records.len();
        match out.next_shard_iterator {
            Some(next) if !out.records.is_empty() => it = next,
            _ => return Ok(n),
        }
    }
}

async fn read(e: &Emulator, stream: &str, passes: usize) -> Result<(usize, Took), KinesisError> {
    let shards = e
        .list_shards(ListShardsInput {
            stream_name: Some(stream.to_owned()),
            ..Default::default()
        })
        .await?
        .shards;
    let start = tokio::time::Instant::now();
    let cpu_start = cpu_time();
    let mut total = 0;
    for _ in 0..passes {
        let tasks: Vec<_> = shards
            .iter()
            .map(|s| tokio::spawn(read_shard(e.clone(), stream.to_owned(), s.shard_id.clone())))
            .collect();
        for t in tasks {
            total += t
                .await
                .map_err(|e| KinesisError::new(kcl_emulator::ErrorCode::InternalFailure, e.to_string()))??;
        }
    }
    Ok((
        total,
        Took {
            wall: start.elapsed(),
            cpu: cpu_time().saturating_sub(cpu_start),
        },
    ))
}

#[tokio::main]
async fn main() -> Result<(), KinesisError> {
    let mut args = std::env::args().skip(1);
    let total: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2_000_000);
    let writers: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2);
    let shard_counts: Vec<i32> = args
        .next()
        .map(|a| a.split(',').filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 16]);
    println!(
        "kcl-emulator benchmark: {total} records of {RECORD_BYTES} B, PutRecords x{BATCH}, {writers} writer task(s), \
         GetRecords limit 10000, throughput limits off"
    );
    for shards in shard_counts {
        let config = EmulatorConfig::builder()
            .without_throughput_limits()
            .build()
            .map_err(|e| KinesisError::new(kcl_emulator::ErrorCode::InternalFailure, e.to_string()))?;
        let e = Emulator::new(config);
        e.create_stream(CreateStreamInput {
            stream_name: "bench".into(),
            shard_count: Some(shards),
            ..Default::default()
        })
        .await?;
        let took = write(&e, "bench", total, writers).await?;
        took.report("write", shards, total);
        let (n, took) = read(&e, "bench", 3).await?;
        took.report("read ", shards, n);
    }
    Ok(())
}
