//! Shared helpers for the worker tests: an emulated stream, a producer, a recording processor
//! (`recorder.rs`), a lease store with malformed items (`malformed.rs`), and checks over what was
//! processed. Everything runs on paused tokio time.

#![allow(dead_code, unreachable_pub)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use kcl::checkpoint::{InMemoryLeaseStore, LeaseStore};
use kcl::core::source::EmulatorSource;
use kcl::core::{
    InitialPosition, RecordSource, ShardRecordProcessor, Worker, WorkerConfig, WorkerConfigBuilder,
    WorkerHandle,
};
use kcl::emulator::types::{
    CreateStreamInput, MergeShardsInput, PutRecordsInput, PutRecordsRequestEntry, SplitShardInput,
};
use kcl::emulator::{Emulator, EmulatorConfig};

mod malformed;
mod recorder;

pub use malformed::MalformedItems;
pub use recorder::*;

pub const STREAM: &str = "orders";

/// A lease-event listener for [`Stream::spawn_worker_with`].
pub type Listener = Arc<dyn Fn(&kcl::core::LeaseEvent) + Send + Sync>;

/// A test stream in an in-process emulator, with a producer keeping per-key counters.
pub struct Stream {
    pub emulator: Emulator,
    pub source: Arc<dyn RecordSource>,
    pub store: Arc<dyn LeaseStore>,
    counters: Mutex<BTreeMap<String, u64>>,
}

impl Stream {
    /// A stream of `shards` shards, throughput limits off (tests about balance and failover, not limits).
    pub async fn new(shards: i32) -> Stream {
        let config = EmulatorConfig::builder()
            .without_throughput_limits()
            .seed(7)
            .build()
            .unwrap();
        Stream::with_emulator(Emulator::new(config), shards).await
    }

    /// Creates the stream in `emulator` for workers already running with `store`.
    pub async fn with_existing(emulator: Emulator, store: Arc<dyn LeaseStore>, shards: i32) -> Stream {
        let mut stream = Stream::with_emulator(emulator, shards).await;
        stream.store = store;
        stream
    }

    pub async fn with_emulator(emulator: Emulator, shards: i32) -> Stream {
        emulator
            .create_stream(CreateStreamInput {
                stream_name: STREAM.into(),
                shard_count: Some(shards),
                ..Default::default()
            })
            .await
            .unwrap();
        let source: Arc<dyn RecordSource> = Arc::new(EmulatorSource::new(emulator.clone(), STREAM));
        Stream {
            emulator,
            source,
            store: Arc::new(InMemoryLeaseStore::new()),
            counters: Mutex::new(BTreeMap::new()),
        }
    }

    /// Writes `count` records spread over `keys` partition keys; payload `key:n` with n increasing per key.
    pub async fn produce(&self, count: usize, keys: usize) {
        let mut pending = Vec::new();
        for i in 0..count {
            let key = format!("key-{}", i % keys);
            let n = {
                let mut counters = self.counters.lock().unwrap();
                let c = counters.entry(key.clone()).or_default();
                *c += 1;
                *c
            };
            pending.push(PutRecordsRequestEntry {
                data: Bytes::from(format!("{key}:{n}")),
                partition_key: key,
                explicit_hash_key: None,
            });
            if pending.len() == 500 {
                self.put(std::mem::take(&mut pending)).await;
            }
        }
        if !pending.is_empty() {
            self.put(pending).await;
        }
    }

    pub async fn put(&self, records: Vec<PutRecordsRequestEntry>) {
        let out = self
            .emulator
            .put_records(PutRecordsInput {
                records,
                stream_name: Some(STREAM.into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(out.failed_record_count, 0, "producer records rejected");
    }

    /// Every (key, n) produced so far.
    pub fn produced(&self) -> BTreeSet<(String, u64)> {
        let counters = self.counters.lock().unwrap();
        counters
            .iter()
            .flat_map(|(k, n)| (1..=*n).map(move |i| (k.clone(), i)))
            .collect()
    }

    pub async fn split(&self, shard: &str, new_starting_hash_key: u128) {
        self.emulator
            .split_shard(SplitShardInput {
                stream_name: Some(STREAM.into()),
                shard_to_split: shard.into(),
                new_starting_hash_key: new_starting_hash_key.to_string(),
                ..Default::default()
            })
            .await
            .unwrap();
    }

    pub async fn merge(&self, a: &str, b: &str) {
        self.emulator
            .merge_shards(MergeShardsInput {
                stream_name: Some(STREAM.into()),
                shard_to_merge: a.into(),
                adjacent_shard_to_merge: b.into(),
                ..Default::default()
            })
            .await
            .unwrap();
    }

    /// Starts a worker with a recording processor.
    pub fn spawn_worker(
        &self,
        id: &str,
        config: WorkerConfig,
        log: &Arc<Log>,
        behaviour: Behaviour,
    ) -> WorkerHandle {
        self.spawn_worker_with_strategy(id, config, log, behaviour, None)
    }

    /// As [`spawn_worker`](Self::spawn_worker), with an assignment strategy (`None`: the default).
    pub fn spawn_worker_with_strategy(
        &self,
        id: &str,
        config: WorkerConfig,
        log: &Arc<Log>,
        behaviour: Behaviour,
        strategy: Option<Arc<dyn kcl::core::AssignmentStrategy>>,
    ) -> WorkerHandle {
        self.spawn_worker_with(id, config, log, behaviour, strategy, None)
    }

    /// As [`spawn_worker_with_strategy`](Self::spawn_worker_with_strategy), with a lease-event listener.
    pub fn spawn_worker_with(
        &self,
        id: &str,
        config: WorkerConfig,
        log: &Arc<Log>,
        behaviour: Behaviour,
        strategy: Option<Arc<dyn kcl::core::AssignmentStrategy>>,
        listener: Option<Listener>,
    ) -> WorkerHandle {
        let log = Arc::clone(log);
        let worker = id.to_owned();
        let factory = move |shard: &str| {
            Box::new(Recorder::new(&worker, shard, &log, behaviour.clone())) as Box<dyn ShardRecordProcessor>
        };
        let mut builder =
            Worker::builder(Arc::clone(&self.store), Arc::clone(&self.source), factory, id).config(config);
        if let Some(strategy) = strategy {
            builder = builder.strategy(strategy);
        }
        if let Some(listener) = listener {
            builder = builder.lease_event_listener(move |e: &kcl::core::LeaseEvent| listener(e));
        }
        builder.build().unwrap().spawn()
    }
}

/// The usual test configuration: TRIM_HORIZON, fast idle polling, defaults otherwise.
pub fn config() -> WorkerConfigBuilder {
    WorkerConfig::builder()
        .initial_position(InitialPosition::TrimHorizon)
        .idle_time_between_reads(Duration::from_millis(200))
        .shard_sync_interval(Duration::from_secs(5))
}

/// Every produced record was processed (at least once).
pub fn assert_all_processed(stream: &Stream, log: &Log) {
    let seen: BTreeSet<(String, u64)> = log.seen().into_iter().map(|s| (s.key, s.n)).collect();
    let produced = stream.produced();
    let missing: Vec<_> = produced.difference(&seen).take(10).collect();
    assert!(
        missing.is_empty(),
        "{} records missing, e.g. {missing:?}",
        produced.len() - seen.len().min(produced.len())
    );
}

/// No record was processed twice.
pub fn assert_no_duplicates(log: &Log) {
    let mut once = BTreeSet::new();
    let dups: Vec<_> = log
        .seen()
        .into_iter()
        .filter(|s| !once.insert((s.key.clone(), s.n)))
        .take(10)
        .collect();
    assert!(dups.is_empty(), "records processed twice: {dups:?}");
}

/// For every key, first deliveries come in producer order (redeliveries after a failover may repeat
/// earlier records, but never skip ahead and come back).
pub fn assert_in_order_per_key(log: &Log) {
    let mut last: BTreeMap<String, u64> = BTreeMap::new();
    for s in log.seen() {
        let prev = last.entry(s.key.clone()).or_insert(0);
        assert!(
            s.n <= *prev + 1,
            "key {} jumped from {} to {} ({s:?})",
            s.key,
            prev,
            s.n
        );
        *prev = (*prev).max(s.n);
    }
}

/// Lease counts per owner, from the store (unowned leases under "").
pub async fn owners(stream: &Stream) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for lease in stream.store.list().await.unwrap().leases {
        if lease.is_shard_end() {
            continue;
        }
        *counts.entry(lease.owner.clone().unwrap_or_default()).or_default() += 1;
    }
    counts
}

/// Produces `per_tick` records every `every` until the returned handle is aborted.
pub fn producer(
    stream: &Arc<Stream>,
    per_tick: usize,
    keys: usize,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    let stream = Arc::clone(stream);
    tokio::spawn(async move {
        loop {
            stream.produce(per_tick, keys).await;
            tokio::time::sleep(every).await;
        }
    })
}

/// Lease counts per live worker.
pub fn spread(handles: &[&WorkerHandle]) -> (usize, usize) {
    let counts: Vec<usize> = handles.iter().map(|h| h.leases().len()).collect();
    (*counts.iter().min().unwrap(), *counts.iter().max().unwrap())
}

/// Advances paused time in small steps until `cond` holds or `limit` passes; returns the time taken.
pub async fn wait_until(limit: Duration, step: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    let start = tokio::time::Instant::now();
    loop {
        if cond() {
            return Some(start.elapsed());
        }
        if start.elapsed() > limit {
            return None;
        }
        tokio::time::sleep(step).await;
    }
}
