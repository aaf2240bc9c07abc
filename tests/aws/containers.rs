//! The container suite: the shape a user copies to test their own consumer in containers.
//!
//! The kcl-emulator image and a DynamoDB-compatible image (dynalite; DynamoDB Local works the same through
//! `kcl::checkpoint::testcontainers::dynamodb_local_endpoint`) are started with testcontainers, host
//! networking, bound to 127.0.0.1. Two workers of a real consumer (polling, then enhanced fan-out) share a
//! stream; records are produced, a shard is split, a worker is stopped gracefully; every record must be
//! processed exactly once, in order per key. Then the emulator container is restarted on the same
//! persistence directory and the stream must have survived, records included.
//!
//! Build the images first: `bash scripts/build-images.sh` (the README test command does). Needs a docker
//! engine: skips loudly without one, unless `KCL_TEST_REQUIRE_DOCKER=1`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kcl::checkpoint::testcontainers::{lease_store, Dynalite};
use kcl::checkpoint::LeaseStore;
use kcl::core::source::{FanOutSource, KinesisSource};
use kcl::core::{
    async_trait, Checkpointer, InitialPosition, ProcessRecordsInput, ProcessorError, RecordSource,
    ShardRecordProcessor, Worker, WorkerConfig, WorkerHandle,
};
use kcl::emulator::testcontainers::KclEmulator;
use kcl_emulator::test_util;

/// Deliveries in order: (worker, shard, partition key, payload counter).
type Deliveries = Arc<Mutex<Vec<(String, String, String, u64)>>>;

/// A real consumer: records every record, checkpoints after every batch, at shard end and on shutdown.
struct Consumer {
    worker: String,
    shard: String,
    seen: Deliveries,
}

#[async_trait]
impl ShardRecordProcessor for Consumer {
    async fn process_records(
        &mut self,
        input: &ProcessRecordsInput,
        cp: &Checkpointer,
    ) -> Result<(), ProcessorError> {
        {
            let mut seen = self.seen.lock().map_err(|_| "poisoned")?;
            for r in &input.records {
                let text = std::str::from_utf8(&r.data)?;
                let (key, n) = text.split_once(':').ok_or("malformed payload")?;
                seen.push((
                    self.worker.clone(),
                    self.shard.clone(),
                    key.to_owned(),
                    n.parse()?,
                ));
            }
        }
        cp.checkpoint().await?;
        Ok(())
    }

    async fn shard_ended(&mut self, cp: &Checkpointer) -> Result<(), ProcessorError> {
        cp.checkpoint().await?;
        Ok(())
    }

    async fn shutdown_requested(&mut self, cp: &Checkpointer) -> Result<(), ProcessorError> {
        if cp.largest_delivered().is_some() {
            cp.checkpoint().await?;
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug)]
enum Retrieval {
    Polling,
    FanOut,
}

fn worker(
    id: &str,
    store: &Arc<dyn LeaseStore>,
    source: Arc<dyn RecordSource>,
    seen: &Deliveries,
) -> WorkerHandle {
    let (worker, seen) = (id.to_owned(), Arc::clone(seen));
    let factory = move |shard: &str| {
        Box::new(Consumer {
            worker: worker.clone(),
            shard: shard.to_owned(),
            seen: Arc::clone(&seen),
        }) as Box<dyn ShardRecordProcessor>
    };
    let config = WorkerConfig::builder()
        .initial_position(InitialPosition::TrimHorizon)
        .lease_duration(Duration::from_secs(3))
        .idle_time_between_reads(Duration::from_millis(100))
        .shard_sync_interval(Duration::from_secs(2))
        .build()
        .unwrap();
    Worker::builder(Arc::clone(store), source, factory, id)
        .config(config)
        .build()
        .unwrap()
        .spawn()
}

/// Puts `count` records `key-<i % keys>:<n>` with per-key counters continuing from `counters`.
async fn produce(
    client: &aws_sdk_kinesis::Client,
    stream: &str,
    counters: &mut BTreeMap<String, u64>,
    count: usize,
) {
    use aws_sdk_kinesis::primitives::Blob;
    use aws_sdk_kinesis::types::PutRecordsRequestEntry;
    let mut entries = Vec::new();
    for i in 0..count {
        let key = format!("key-{}", i % 12);
        let n = counters.entry(key.clone()).or_insert(0);
        *n += 1;
        entries.push(
            PutRecordsRequestEntry::builder()
                .partition_key(&key)
                .data(Blob::new(format!("{key}:{n}")))
                .build()
                .unwrap(),
        );
        if entries.len() == 250 || i + 1 == count {
            let out = client
                .put_records()
                .stream_name(stream)
                .set_records(Some(std::mem::take(&mut entries)))
                .send()
                .await
                .unwrap();
            assert_eq!(out.failed_record_count(), Some(0));
        }
    }
}

async fn processing(handle: &WorkerHandle) -> usize {
    handle
        .status()
        .shards
        .iter()
        .filter(|s| s.state == kcl::core::ConsumerState::Processing)
        .count()
}

async fn until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let start = tokio::time::Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn two_workers_split_and_graceful_stop(retrieval: Retrieval) {
    let test = format!("container suite ({retrieval:?})");
    if !test_util::docker_image(&test, "kcl-emulator:local")
        || !test_util::docker_image(&test, "kcl-dynalite:local")
    {
        return;
    }
    let emulator = KclEmulator::default()
        .with_throughput_limits(false)
        .start()
        .await
        .expect("the kcl-emulator:local image (bash scripts/build-images.sh)");
    let dynalite = Dynalite::default()
        .start()
        .await
        .expect("the kcl-dynalite:local image (bash scripts/build-images.sh)");
    let kinesis = KclEmulator::kinesis_client(&emulator);
    let stream = test_util::unique_name("suite");
    test_util::create_stream(&kinesis, &stream, 2).await;
    let store = lease_store(&dynalite.image().endpoint(), "suite").await.unwrap();
    let fan_out_sources: Mutex<Vec<Arc<FanOutSource>>> = Mutex::default();
    let source = || -> Arc<dyn RecordSource> {
        match retrieval {
            Retrieval::Polling => Arc::new(KinesisSource::new(kinesis.clone(), &stream)),
            Retrieval::FanOut => {
                let source = Arc::new(FanOutSource::new(kinesis.clone(), &stream, "suite-app"));
                fan_out_sources.lock().unwrap().push(Arc::clone(&source));
                source
            }
        }
    };
    let seen: Deliveries = Arc::default();

    // w1 takes both shards; w2 joins and balancing moves one to it before any record exists.
    let w1 = worker("w1", &store, source(), &seen);
    let start = tokio::time::Instant::now();
    while processing(&w1).await < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "w1 never processed both shards"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let w2 = worker("w2", &store, source(), &seen);
    let start = tokio::time::Instant::now();
    while processing(&w1).await != 1 || processing(&w2).await != 1 {
        assert!(start.elapsed() < Duration::from_secs(30), "never balanced 1/1");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let mut counters = BTreeMap::new();
    produce(&kinesis, &stream, &mut counters, 600).await;
    // Split the first shard in the middle of its hash range.
    kinesis
        .split_shard()
        .stream_name(&stream)
        .shard_to_split("shardId-000000000000")
        .new_starting_hash_key((u128::MAX / 4).to_string())
        .send()
        .await
        .unwrap();
    test_util::wait_active(&kinesis, &stream).await;
    produce(&kinesis, &stream, &mut counters, 600).await;
    let total = |c: &BTreeMap<String, u64>| c.values().sum::<u64>() as usize;
    let produced = total(&counters);
    until(Duration::from_secs(60), "every record before the stop", || {
        seen.lock().unwrap().len() >= produced
    })
    .await;

    // Stop w1 gracefully: w2 takes over its shards from their checkpoints.
    let report = w1.shutdown_within(Duration::from_secs(10)).await.unwrap();
    assert!(report.graceful, "{report:?}");
    produce(&kinesis, &stream, &mut counters, 300).await;
    let produced = total(&counters);
    until(Duration::from_secs(60), "every record after the stop", || {
        seen.lock().unwrap().len() >= produced
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    w2.shutdown_within(Duration::from_secs(10)).await.unwrap();
    // Fan-out really was used (no silent fallback to polling).
    let fan_out_sources = fan_out_sources.lock().unwrap().clone();
    for source in &fan_out_sources {
        let mode = source.mode().await;
        assert!(
            matches!(mode, kcl::core::source::RetrievalMode::FanOut { .. }),
            "{mode:?}"
        );
    }

    let seen = seen.lock().unwrap().clone();
    let mut last: BTreeMap<&str, u64> = BTreeMap::new();
    let mut out_of_order = Vec::new();
    let mut count: BTreeMap<(&str, u64), usize> = BTreeMap::new();
    for (_, _, key, n) in &seen {
        *count.entry((key, *n)).or_default() += 1;
        let prev = last.insert(key, *n).unwrap_or(0);
        if *n != prev + 1 {
            out_of_order.push((key.clone(), prev, *n));
        }
    }
    let by_worker = seen.iter().fold(BTreeMap::<&str, usize>::new(), |mut m, d| {
        *m.entry(d.0.as_str()).or_default() += 1;
        m
    });
    println!(
        "{retrieval:?}: produced {produced}, delivered {} ({by_worker:?})",
        seen.len()
    );
    assert_eq!(count.len(), produced, "lost records");
    assert!(count.values().all(|c| *c == 1), "duplicates");
    assert!(
        out_of_order.is_empty(),
        "out of order per key: {:?}",
        &out_of_order[..out_of_order.len().min(5)]
    );
    assert!(by_worker.len() == 2, "both workers processed: {by_worker:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_workers_in_containers_process_every_record_once_in_order() {
    two_workers_split_and_graceful_stop(Retrieval::Polling).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_workers_in_containers_process_every_record_once_in_order() {
    two_workers_split_and_graceful_stop(Retrieval::FanOut).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_container_keeps_its_streams_across_a_restart_on_a_volume() {
    if !test_util::docker_image("container persistence", "kcl-emulator:local") {
        return;
    }
    let dir = std::env::temp_dir().join(test_util::unique_name("kcl-emulator-volume"));
    std::fs::create_dir_all(&dir).unwrap();
    // The container runs as uid 10001.
    std::process::Command::new("chmod")
        .arg("0777")
        .arg(&dir)
        .status()
        .unwrap();
    let image = KclEmulator::default()
        .with_persistence(&dir)
        .with_stream("kept", 2);
    let port = image.port();
    let first = image.clone().start().await.expect("the kcl-emulator:local image");
    let kinesis = KclEmulator::kinesis_client(&first);
    let mut counters = BTreeMap::new();
    produce(&kinesis, "kept", &mut counters, 100).await;
    let before = read_all(&kinesis, "kept").await;
    assert_eq!(before.len(), 100);
    first.stop().await.unwrap();
    drop(first);

    // A new container on the same directory (and port): the stream and its records are there.
    let second = KclEmulator::default()
        .with_port(port)
        .with_persistence(&dir)
        .start()
        .await
        .expect("restarted on the volume");
    let kinesis = KclEmulator::kinesis_client(&second);
    let names = kinesis.list_streams().send().await.unwrap();
    assert_eq!(names.stream_names(), ["kept"]);
    let after = read_all(&kinesis, "kept").await;
    println!(
        "records before the restart {}, after {}",
        before.len(),
        after.len()
    );
    assert_eq!(
        after, before,
        "records (with their sequence numbers) changed across the restart"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every record of every shard: (shard, sequence number, payload).
async fn read_all(client: &aws_sdk_kinesis::Client, stream: &str) -> Vec<(String, String, String)> {
    let shards = client.list_shards().stream_name(stream).send().await.unwrap();
    let mut out = Vec::new();
    for shard in shards.shards() {
        let mut iterator = client
            .get_shard_iterator()
            .stream_name(stream)
            .shard_id(shard.shard_id())
            .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap()
            .shard_iterator
            .unwrap();
        loop {
            let page = client
                .get_records()
                .shard_iterator(&iterator)
                .send()
                .await
                .unwrap();
            for r in page.records() {
                out.push((
                    shard.shard_id().to_owned(),
                    r.sequence_number().to_owned(),
                    String::from_utf8_lossy(r.data().as_ref()).into_owned(),
                ));
            }
            match page.next_shard_iterator {
                Some(next) if !page.records.is_empty() => iterator = next,
                _ => break,
            }
        }
    }
    out
}
