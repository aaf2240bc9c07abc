//! Multi-stream workers: several streams of one in-process emulator consumed by one worker (and balanced
//! across workers) through one lease table, with streams added and removed at run time, per-stream
//! initial positions, processors and processing policies, and resharding within one stream.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use kcl::checkpoint::{InMemoryLeaseStore, LeaseKey, LeaseStore, StreamIdentifier};
use kcl::core::multi_stream::{MultiStreamSource, StreamConfig, StreamSet};
use kcl::core::source::EmulatorSource;
use kcl::core::{
    async_trait, Checkpointer, ConsumerState, InitialPosition, ProcessRecordsInput, ProcessingPolicy,
    ProcessorError, RecordSource, ShardRecordProcessor, Worker, WorkerConfig, WorkerHandle,
};
use kcl::emulator::types::{CreateStreamInput, PutRecordsInput, PutRecordsRequestEntry, SplitShardInput};
use kcl::emulator::{Emulator, EmulatorConfig};

use crate::support::*;

const ACCOUNT: &str = "123456789012";
const EPOCH: u64 = 1_700_000_000;

fn sid(name: &str) -> StreamIdentifier {
    StreamIdentifier {
        account_id: ACCOUNT.into(),
        stream_name: name.into(),
        creation_epoch: EPOCH,
    }
}

fn key(name: &str, shard: &str) -> String {
    format!("{ACCOUNT}:{name}:{EPOCH}:{shard}")
}

/// Streams of one emulator, a shared lease table, and a producer keeping per-key counters (keys are
/// `<stream>-key-<i>`, so every key belongs to one stream).
struct Streams {
    emulator: Emulator,
    store: Arc<dyn LeaseStore>,
    counters: Mutex<BTreeMap<String, u64>>,
}

impl Streams {
    fn new() -> Streams {
        let config = EmulatorConfig::builder()
            .without_throughput_limits()
            .seed(7)
            .build()
            .unwrap();
        Streams {
            emulator: Emulator::new(config),
            store: Arc::new(InMemoryLeaseStore::new()),
            counters: Mutex::new(BTreeMap::new()),
        }
    }

    async fn create(&self, name: &str, shards: i32) {
        self.emulator
            .create_stream(CreateStreamInput {
                stream_name: name.into(),
                shard_count: Some(shards),
                ..Default::default()
            })
            .await
            .unwrap();
    }

    fn source(&self, name: &str) -> Arc<dyn RecordSource> {
        Arc::new(EmulatorSource::new(self.emulator.clone(), name))
    }

    /// Writes `count` records over `keys` keys of stream `name`; payload `key:n`, n increasing per key.
    async fn produce(&self, name: &str, count: usize, keys: usize) {
        let records = (0..count)
            .map(|i| {
                let key = format!("{name}-key-{}", i % keys);
                let n = {
                    let mut counters = self.counters.lock().unwrap();
                    let c = counters.entry(key.clone()).or_default();
                    *c += 1;
                    *c
                };
                PutRecordsRequestEntry {
                    data: Bytes::from(format!("{key}:{n}")),
                    partition_key: key,
                    explicit_hash_key: None,
                }
            })
            .collect::<Vec<_>>();
        for chunk in records.chunks(500) {
            let out = self
                .emulator
                .put_records(PutRecordsInput {
                    records: chunk.to_vec(),
                    stream_name: Some(name.into()),
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(out.failed_record_count, 0);
        }
    }

    /// Every (key, n) produced so far on stream `name`.
    fn produced(&self, name: &str) -> BTreeSet<(String, u64)> {
        let prefix = format!("{name}-key-");
        self.counters
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .flat_map(|(k, n)| (1..=*n).map(move |i| (k.clone(), i)))
            .collect()
    }

    /// Stream `name` for worker `worker`: a recording processor whose shard is named `<stream>/<shard>`.
    fn stream(&self, name: &str, worker: &str, log: &Arc<Log>) -> StreamConfig {
        let (log, worker, stream) = (Arc::clone(log), worker.to_owned(), name.to_owned());
        let factory = move |shard: &str| {
            Box::new(Recorder::new(
                &worker,
                &format!("{stream}/{shard}"),
                &log,
                Behaviour::default(),
            )) as Box<dyn ShardRecordProcessor>
        };
        StreamConfig::new(sid(name), self.source(name), factory)
    }

    /// The lease keys in the table.
    async fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .store
            .list()
            .await
            .unwrap()
            .leases
            .into_iter()
            .map(|l| l.key.as_str().to_owned())
            .collect();
        keys.sort();
        keys
    }

    /// Unfinished lease counts per owner.
    async fn owners(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for lease in self.store.list().await.unwrap().leases {
            if !lease.is_shard_end() {
                *counts.entry(lease.owner.clone().unwrap_or_default()).or_default() += 1;
            }
        }
        counts
    }
}

fn spawn(streams: &Streams, multi: MultiStreamSource, id: &str, config: WorkerConfig) -> WorkerHandle {
    Worker::builder_multi_stream(Arc::clone(&streams.store), Arc::new(multi), id)
        .config(config)
        .build()
        .unwrap()
        .spawn()
}

/// The (key, n) pairs seen of stream `name`.
fn seen(log: &Log, name: &str) -> BTreeSet<(String, u64)> {
    let prefix = format!("{name}-key-");
    log.seen()
        .into_iter()
        .filter(|s| s.key.starts_with(&prefix))
        .map(|s| (s.key, s.n))
        .collect()
}

/// Every record was processed by a processor of its own stream.
fn assert_own_processors(log: &Log) {
    for s in log.seen() {
        let stream = s.key.split("-key-").next().unwrap();
        assert!(
            s.shard.starts_with(&format!("{stream}/shardId-")),
            "record of {stream} processed by the processor of {}",
            s.shard
        );
    }
}

#[tokio::test(start_paused = true)]
async fn every_stream_is_consumed_under_java_format_keys_by_its_own_processors() {
    let streams = Streams::new();
    for (name, shards) in [("orders", 2), ("payments", 1), ("refunds", 3)] {
        streams.create(name, shards).await;
    }
    let log = Arc::new(Log::default());
    let set = StreamSet::new();
    for name in ["orders", "payments", "refunds"] {
        set.add(streams.stream(name, "w", &log));
    }
    let worker = spawn(
        &streams,
        MultiStreamSource::new(set),
        "w",
        config().build().unwrap(),
    );
    for name in ["orders", "payments", "refunds"] {
        streams.produce(name, 120, 12).await;
    }

    let all = |log: &Log| {
        ["orders", "payments", "refunds"]
            .iter()
            .all(|name| seen(log, name) == streams.produced(name))
    };
    assert!(
        wait_until(Duration::from_secs(30), Duration::from_millis(100), || all(&log))
            .await
            .is_some(),
        "not everything processed"
    );
    assert_own_processors(&log);
    assert_in_order_per_key(&log);
    assert_no_duplicates(&log);

    // One lease per shard, keyed account:stream:creationEpoch:shardId (the Java KCL's format).
    assert_eq!(
        streams.keys().await,
        [
            key("orders", "shardId-000000000000"),
            key("orders", "shardId-000000000001"),
            key("payments", "shardId-000000000000"),
            key("refunds", "shardId-000000000000"),
            key("refunds", "shardId-000000000001"),
            key("refunds", "shardId-000000000002"),
        ]
    );
    let lease = streams
        .store
        .get(&LeaseKey::new(key("refunds", "shardId-000000000002")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lease.key.stream(), Some(sid("refunds")));
    assert_eq!(lease.key.shard_id(), "shardId-000000000002");
    assert!(lease.is_owned_by("w"));
    assert_eq!(worker.leases().len(), 6);
    worker.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn each_stream_starts_at_its_own_initial_position() {
    let streams = Streams::new();
    streams.create("history", 2).await;
    streams.create("live", 2).await;
    // Written before any worker ran.
    streams.produce("history", 40, 8).await;
    streams.produce("live", 40, 8).await;

    let log = Arc::new(Log::default());
    let set = StreamSet::new();
    // The worker's position is LATEST; "history" starts at TRIM_HORIZON.
    set.add(
        streams
            .stream("history", "w", &log)
            .initial_position(InitialPosition::TrimHorizon),
    );
    set.add(streams.stream("live", "w", &log));
    let cfg = config()
        .initial_position(InitialPosition::Latest)
        .build()
        .unwrap();
    let worker = spawn(&streams, MultiStreamSource::new(set), "w", cfg);
    let processing = |worker: &WorkerHandle| {
        let states = worker.shard_states();
        states.len() == 4 && states.values().all(|s| *s == ConsumerState::Processing)
    };
    assert!(wait_until(
        Duration::from_secs(30),
        Duration::from_millis(100),
        || processing(&worker)
    )
    .await
    .is_some());
    // The LATEST readers have their iterators once they read once.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let old_live = streams.produced("live");
    streams.produce("history", 40, 8).await;
    streams.produce("live", 40, 8).await;

    let done = || {
        seen(&log, "history") == streams.produced("history")
            && seen(&log, "live") == &streams.produced("live") - &old_live
    };
    assert!(
        wait_until(Duration::from_secs(30), Duration::from_millis(100), done)
            .await
            .is_some(),
        "history {} of {}, live {} (of which old: {})",
        seen(&log, "history").len(),
        streams.produced("history").len(),
        seen(&log, "live").len(),
        seen(&log, "live").intersection(&old_live).count()
    );
    for lease in streams.store.list().await.unwrap().leases {
        assert!(lease.key.stream().is_some(), "{lease:?}");
    }
    worker.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn two_workers_balance_the_leases_of_all_streams_together() {
    let streams = Arc::new(Streams::new());
    streams.create("small", 3).await;
    streams.create("large", 7).await;
    let log = Arc::new(Log::default());
    let cfg = config().build().unwrap();
    let mut handles = Vec::new();
    for id in ["a", "b"] {
        let set = StreamSet::new();
        set.add(streams.stream("small", id, &log));
        set.add(streams.stream("large", id, &log));
        handles.push(spawn(&streams, MultiStreamSource::new(set), id, cfg.clone()));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let balanced = || {
        let (a, b) = (handles[0].leases().len(), handles[1].leases().len());
        a == 5 && b == 5
    };
    assert!(
        wait_until(Duration::from_secs(30), Duration::from_millis(100), balanced)
            .await
            .is_some(),
        "{:?} / {:?}",
        handles[0].leases(),
        handles[1].leases()
    );
    let owners = streams.owners().await;
    assert_eq!(owners.get("a"), Some(&5), "{owners:?}");
    assert_eq!(owners.get("b"), Some(&5), "{owners:?}");

    // Records of both streams are processed exactly once across the two workers.
    streams.produce("small", 90, 9).await;
    streams.produce("large", 90, 9).await;
    let done = || {
        seen(&log, "small") == streams.produced("small") && seen(&log, "large") == streams.produced("large")
    };
    assert!(
        wait_until(Duration::from_secs(30), Duration::from_millis(100), done)
            .await
            .is_some()
    );
    assert_own_processors(&log);
    assert_no_duplicates(&log);
    let workers: BTreeSet<String> = log.seen().into_iter().map(|s| s.worker).collect();
    assert_eq!(workers.len(), 2, "both workers processed records");
    for handle in handles {
        handle.shutdown().await.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn a_stream_added_at_run_time_is_leased_at_its_initial_position_and_processed() {
    let streams = Streams::new();
    streams.create("orders", 1).await;
    let log = Arc::new(Log::default());
    let set = StreamSet::new();
    set.add(
        streams
            .stream("orders", "w", &log)
            .initial_position(InitialPosition::TrimHorizon),
    );
    // A long shard-sync interval: the stream set wakes the sync when it changes. The worker's initial
    // position is LATEST: the streams start at their own.
    let cfg = config()
        .initial_position(InitialPosition::Latest)
        .shard_sync_interval(Duration::from_secs(600))
        .build()
        .unwrap();
    let worker = spawn(&streams, MultiStreamSource::new(set.clone()), "w", cfg);
    streams.produce("orders", 30, 3).await;
    tokio::time::sleep(Duration::from_secs(5)).await;

    // A new stream with history; added at TRIM_HORIZON, so its history is processed too.
    streams.create("returns", 2).await;
    streams.produce("returns", 40, 4).await;
    assert!(set.add(
        streams
            .stream("returns", "w", &log)
            .initial_position(InitialPosition::TrimHorizon)
    ));
    let leased = wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        worker.leases().len() == 3
    })
    .await;
    assert!(
        leased.is_some_and(|t| t < Duration::from_secs(5)),
        "the added stream's leases not taken soon: {leased:?}, {:?}",
        worker.leases()
    );
    streams.produce("returns", 40, 4).await;
    streams.produce("orders", 30, 3).await;
    let done = || {
        seen(&log, "returns") == streams.produced("returns")
            && seen(&log, "orders") == streams.produced("orders")
    };
    assert!(
        wait_until(Duration::from_secs(30), Duration::from_millis(100), done)
            .await
            .is_some()
    );
    assert_own_processors(&log);
    assert_in_order_per_key(&log);
    assert_no_duplicates(&log);
    assert!(streams
        .keys()
        .await
        .contains(&key("returns", "shardId-000000000001")));
    worker.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_removed_stream_is_processed_for_the_grace_period_then_its_leases_are_deleted() {
    let streams = Streams::new();
    for name in ["orders", "audit", "metrics"] {
        streams.create(name, 2).await;
    }
    let log = Arc::new(Log::default());
    let set = StreamSet::new();
    for name in ["orders", "audit", "metrics"] {
        set.add(streams.stream(name, "w", &log));
    }
    let grace = Duration::from_secs(60);
    let multi = MultiStreamSource::new(set.clone()).with_grace_period(grace);
    let worker = spawn(&streams, multi, "w", config().build().unwrap());
    for name in ["orders", "audit", "metrics"] {
        streams.produce(name, 40, 4).await;
    }
    let caught_up = |name: &str| seen(&log, name) == streams.produced(name);
    assert!(
        wait_until(Duration::from_secs(30), Duration::from_millis(100), || {
            ["orders", "audit", "metrics"].iter().all(|n| caught_up(n))
        })
        .await
        .is_some()
    );
    let checkpoints = |leases: Vec<kcl::checkpoint::Lease>, name: &str| -> BTreeMap<String, String> {
        leases
            .into_iter()
            .filter(|l| l.key.stream() == Some(sid(name)))
            .map(|l| (l.key.as_str().to_owned(), l.checkpoint.to_string()))
            .collect()
    };
    let metrics_before = checkpoints(streams.store.list().await.unwrap().leases, "metrics");

    // Both removed; "metrics" comes back within the grace period.
    let removed_at = tokio::time::Instant::now();
    assert!(set.remove(&sid("audit")));
    assert!(set.remove(&sid("metrics")));
    tokio::time::sleep(Duration::from_secs(10)).await;
    // Within the grace period the removed streams are still processed.
    streams.produce("audit", 40, 4).await;
    streams.produce("metrics", 40, 4).await;
    assert!(
        wait_until(Duration::from_secs(20), Duration::from_millis(100), || {
            caught_up("audit") && caught_up("metrics")
        })
        .await
        .is_some(),
        "removed streams not processed during the grace period"
    );
    assert!(removed_at.elapsed() < grace);
    set.add(streams.stream("metrics", "w", &log));

    // After the grace period (and the next sync), the removed stream's leases are gone and their
    // processors were told.
    tokio::time::sleep_until(removed_at + grace).await;
    assert!(
        worker.leases().iter().any(|k| k.contains(":audit:")),
        "deleted before the grace period ran out"
    );
    let gone = wait_until(Duration::from_secs(30), Duration::from_millis(250), || {
        worker.leases().iter().all(|k| !k.contains(":audit:"))
    })
    .await;
    assert!(gone.is_some(), "{:?}", worker.leases());
    let keys = streams.keys().await;
    assert!(keys.iter().all(|k| !k.contains(":audit:")), "{keys:?}");
    let lost: BTreeSet<String> = log
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::LeaseLost { shard, .. } => Some(shard),
            _ => None,
        })
        .collect();
    assert_eq!(
        lost,
        [
            "audit/shardId-000000000000".to_owned(),
            "audit/shardId-000000000001".to_owned()
        ]
        .into(),
        "only the removed stream's processors lose their leases"
    );

    // "metrics", added back within the grace period, kept its leases (and their progress).
    let leases = streams.store.list().await.unwrap().leases;
    let metrics_after = checkpoints(leases, "metrics");
    assert_eq!(
        metrics_after.keys().collect::<Vec<_>>(),
        metrics_before.keys().collect::<Vec<_>>()
    );
    assert!(
        metrics_after.values().all(|c| c != "TRIM_HORIZON"),
        "{metrics_after:?}"
    );

    // The others carry on; records written to the removed stream now are not processed.
    let audit_done = seen(&log, "audit");
    streams.produce("audit", 20, 4).await;
    streams.produce("orders", 40, 4).await;
    streams.produce("metrics", 40, 4).await;
    assert!(
        wait_until(Duration::from_secs(30), Duration::from_millis(100), || {
            caught_up("orders") && caught_up("metrics")
        })
        .await
        .is_some()
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(seen(&log, "audit"), audit_done);
    assert_own_processors(&log);
    assert_in_order_per_key(&log);
    worker.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_split_within_one_stream_is_followed_under_prefixed_keys() {
    let streams = Streams::new();
    streams.create("orders", 1).await;
    streams.create("payments", 1).await;
    let log = Arc::new(Log::default());
    let set = StreamSet::new();
    set.add(streams.stream("orders", "w", &log));
    set.add(streams.stream("payments", "w", &log));
    let worker = spawn(
        &streams,
        MultiStreamSource::new(set),
        "w",
        config().build().unwrap(),
    );
    streams.produce("orders", 60, 12).await;
    streams.produce("payments", 30, 6).await;
    tokio::time::sleep(Duration::from_secs(5)).await;

    streams
        .emulator
        .split_shard(SplitShardInput {
            stream_name: Some("orders".into()),
            shard_to_split: "shardId-000000000000".into(),
            new_starting_hash_key: (u128::MAX / 2).to_string(),
            ..Default::default()
        })
        .await
        .unwrap();
    streams.produce("orders", 120, 12).await;
    streams.produce("payments", 30, 6).await;

    let done = || {
        seen(&log, "orders") == streams.produced("orders")
            && seen(&log, "payments") == streams.produced("payments")
    };
    assert!(
        wait_until(Duration::from_secs(60), Duration::from_millis(100), done)
            .await
            .is_some()
    );
    // Children after the parent for every key: order per key holds across the split.
    assert_in_order_per_key(&log);
    assert_no_duplicates(&log);
    assert_own_processors(&log);
    let shards: BTreeSet<String> = log
        .seen()
        .into_iter()
        .filter(|s| s.key.starts_with("orders-"))
        .map(|s| s.shard)
        .collect();
    assert_eq!(
        shards.len(),
        3,
        "the parent and both children processed: {shards:?}"
    );

    // The children's leases are prefixed and name the prefixed parent; the finished parent is cleaned up.
    for child in ["shardId-000000000001", "shardId-000000000002"] {
        let lease = streams
            .store
            .get(&LeaseKey::new(key("orders", child)))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            lease.parent_shard_ids,
            [key("orders", "shardId-000000000000")].into(),
            "{lease:?}"
        );
    }
    let parent_gone = async {
        for _ in 0..60 {
            if !streams
                .keys()
                .await
                .contains(&key("orders", "shardId-000000000000"))
            {
                return true;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        false
    };
    assert!(parent_gone.await, "{:?}", streams.keys().await);
    assert!(streams
        .keys()
        .await
        .contains(&key("payments", "shardId-000000000000")));
    worker.shutdown().await.unwrap();
}

/// Records batch sizes per stream.
struct Sizes {
    stream: String,
    sizes: Arc<Mutex<Vec<(String, usize)>>>,
}

#[async_trait]
impl ShardRecordProcessor for Sizes {
    async fn process_records(
        &mut self,
        input: &ProcessRecordsInput,
        checkpointer: &Checkpointer,
    ) -> Result<(), ProcessorError> {
        self.sizes
            .lock()
            .unwrap()
            .push((self.stream.clone(), input.records.len()));
        checkpointer.checkpoint().await?;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_stream_overrides_the_worker_processing_policy() {
    let streams = Streams::new();
    streams.create("small-batches", 1).await;
    streams.create("default", 1).await;
    let sizes = Arc::new(Mutex::new(Vec::new()));
    let config_for = |name: &str| {
        let (sizes, stream) = (Arc::clone(&sizes), name.to_owned());
        let factory = move |_: &str| {
            Box::new(Sizes {
                stream: stream.clone(),
                sizes: Arc::clone(&sizes),
            }) as Box<dyn ShardRecordProcessor>
        };
        StreamConfig::new(sid(name), streams.source(name), factory)
    };
    let set = StreamSet::new();
    set.add(
        config_for("small-batches").processing(ProcessingPolicy::builder().batch_size(3).build().unwrap()),
    );
    set.add(config_for("default"));
    streams.produce("small-batches", 50, 5).await;
    streams.produce("default", 50, 5).await;
    let worker = spawn(
        &streams,
        MultiStreamSource::new(set),
        "w",
        config().build().unwrap(),
    );

    let total = |name: &str| -> usize {
        sizes
            .lock()
            .unwrap()
            .iter()
            .filter(|(s, _)| s == name)
            .map(|(_, n)| n)
            .sum()
    };
    assert!(
        wait_until(Duration::from_secs(30), Duration::from_millis(100), || {
            total("small-batches") == 50 && total("default") == 50
        })
        .await
        .is_some()
    );
    let sizes = sizes.lock().unwrap().clone();
    let largest = |name: &str| {
        sizes
            .iter()
            .filter(|(s, _)| s == name)
            .map(|(_, n)| *n)
            .max()
            .unwrap()
    };
    assert_eq!(largest("small-batches"), 3, "{sizes:?}");
    assert_eq!(
        largest("default"),
        50,
        "the worker's policy: batches as read, {sizes:?}"
    );
    worker.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn leases_of_a_stream_a_worker_does_not_track_are_left_to_the_workers_that_do() {
    let streams = Streams::new();
    streams.create("shared", 4).await;
    streams.create("only-a", 2).await;
    let log = Arc::new(Log::default());
    let cfg = config().build().unwrap();
    let set_a = StreamSet::new();
    set_a.add(streams.stream("shared", "a", &log));
    set_a.add(streams.stream("only-a", "a", &log));
    let a = spawn(&streams, MultiStreamSource::new(set_a), "a", cfg.clone());
    tokio::time::sleep(Duration::from_secs(1)).await;
    let set_b = StreamSet::new();
    set_b.add(streams.stream("shared", "b", &log));
    let b = spawn(&streams, MultiStreamSource::new(set_b), "b", cfg);
    tokio::time::sleep(Duration::from_secs(20)).await;

    // b balances over what it can read, never takes "only-a", and deletes nothing of it.
    assert!(
        b.leases().iter().all(|k| k.contains(":shared:")),
        "{:?}",
        b.leases()
    );
    assert!(!b.leases().is_empty());
    assert_eq!(
        a.leases().iter().filter(|k| k.contains(":only-a:")).count(),
        2,
        "{:?}",
        a.leases()
    );
    assert_eq!(streams.keys().await.len(), 6);
    streams.produce("shared", 40, 4).await;
    streams.produce("only-a", 40, 4).await;
    let done = || {
        seen(&log, "shared") == streams.produced("shared")
            && seen(&log, "only-a") == streams.produced("only-a")
    };
    assert!(
        wait_until(Duration::from_secs(30), Duration::from_millis(100), done)
            .await
            .is_some()
    );
    assert!(log
        .seen()
        .iter()
        .filter(|s| s.key.starts_with("only-a-"))
        .all(|s| s.worker == "a"));
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}
