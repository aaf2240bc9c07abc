//! End to end with no component of ours on the server side: the worker reads kinesalite through
//! aws-sdk-kinesis (`KinesisSource`) and coordinates through the DynamoDB lease store on dynalite.
//!
//! A producer writes throughout; two workers share the stream; a shard is split; one worker is stopped.
//! Every produced record must be processed, in order per partition key. Needs `KCL_TEST_KINESALITE_URL`
//! and `KCL_TEST_DYNALITE_URL` (skips loudly without them unless `KCL_TEST_REQUIRE_SERVERS=1`). Real
//! sockets, so real time: the lease timings are shortened to keep it to a few seconds.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use kcl::checkpoint::{DynamoDbLeaseStore, LeaseStore};
use kcl::core::source::KinesisSource;
use kcl::core::{
    async_trait, Checkpointer, InitialPosition, ProcessRecordsInput, ProcessorError, RecordSource,
    ShardRecordProcessor, Worker, WorkerConfig, WorkerHandle,
};
use kcl_checkpoint::test_util::dynamodb_client;
use kcl_emulator::test_util::{kinesis_client, skip_or_fail};

fn endpoints() -> Option<(String, String)> {
    match (
        std::env::var("KCL_TEST_KINESALITE_URL"),
        std::env::var("KCL_TEST_DYNALITE_URL"),
    ) {
        (Ok(k), Ok(d)) => Some((k, d)),
        _ => {
            skip_or_fail(
                "worker end to end over kinesalite + dynalite",
                "KCL_TEST_KINESALITE_URL and KCL_TEST_DYNALITE_URL are not both set",
            );
            None
        }
    }
}

/// What the processors saw: (worker, partition key, producer counter), in delivery order.
#[derive(Default)]
struct Log {
    seen: Mutex<Vec<(String, String, u64)>>,
    shard_ends: Mutex<Vec<String>>,
}

struct Recorder {
    worker: String,
    shard: String,
    log: Arc<Log>,
}

#[async_trait]
impl ShardRecordProcessor for Recorder {
    async fn process_records(
        &mut self,
        input: &ProcessRecordsInput,
        checkpointer: &Checkpointer,
    ) -> Result<(), ProcessorError> {
        {
            let mut seen = self.log.seen.lock().unwrap();
            for record in &input.records {
                let text = std::str::from_utf8(&record.data)?;
                let (key, n) = text.rsplit_once(':').ok_or("payload is not key:n")?;
                seen.push((self.worker.clone(), key.to_owned(), n.parse()?));
            }
        }
        if !input.records.is_empty() {
            checkpointer.checkpoint().await?;
        }
        Ok(())
    }

    async fn shard_ended(&mut self, checkpointer: &Checkpointer) -> Result<(), ProcessorError> {
        self.log.shard_ends.lock().unwrap().push(self.shard.clone());
        checkpointer.checkpoint().await?;
        Ok(())
    }
}

fn spawn_worker(
    id: &str,
    store: &Arc<dyn LeaseStore>,
    source: &Arc<dyn RecordSource>,
    log: &Arc<Log>,
) -> WorkerHandle {
    let config = WorkerConfig::builder()
        .initial_position(InitialPosition::TrimHorizon)
        .lease_duration(Duration::from_secs(3))
        .lease_taker_interval(Duration::from_millis(500))
        .shard_sync_interval(Duration::from_secs(1))
        .idle_time_between_reads(Duration::from_millis(100))
        .build()
        .unwrap();
    let worker = id.to_owned();
    let log = Arc::clone(log);
    let factory = move |shard: &str| {
        Box::new(Recorder {
            worker: worker.clone(),
            shard: shard.to_owned(),
            log: Arc::clone(&log),
        }) as Box<dyn ShardRecordProcessor>
    };
    Worker::builder(Arc::clone(store), Arc::clone(source), factory, id)
        .config(config)
        .build()
        .unwrap()
        .spawn()
}

/// Polls `cond` every 100 ms for up to `limit` (real time).
async fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cond()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_a_split_and_a_stop_over_kinesalite_and_dynalite() {
    let Some((kinesis_url, dynamo_url)) = endpoints() else {
        return;
    };
    let suffix = format!("{}-{}", std::process::id(), rand_suffix());
    let stream = format!("e2e-{suffix}");
    let table = format!("e2e-leases-{suffix}");

    let kinesis = kinesis_client(&kinesis_url);
    kinesis
        .create_stream()
        .stream_name(&stream)
        .shard_count(2)
        .send()
        .await
        .unwrap();
    for _ in 0..200 {
        let status = kinesis
            .describe_stream()
            .stream_name(&stream)
            .send()
            .await
            .unwrap();
        if status.stream_description().unwrap().stream_status()
            == &aws_sdk_kinesis::types::StreamStatus::Active
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let store: Arc<dyn LeaseStore> =
        Arc::new(DynamoDbLeaseStore::new(dynamodb_client(&dynamo_url), &table).unwrap());
    store.ensure_table().await.unwrap();
    let source: Arc<dyn RecordSource> = Arc::new(KinesisSource::new(kinesis.clone(), &stream));

    // Producer: 8 keys, per-key counters, a batch every 50 ms until stopped.
    let produced: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    let (stop_producer, mut producer_stopped) = tokio::sync::watch::channel(false);
    let producer = {
        let kinesis = kinesis.clone();
        let stream = stream.clone();
        let produced = Arc::clone(&produced);
        tokio::spawn(async move {
            while !*producer_stopped.borrow() {
                let entries: Vec<PutRecordsRequestEntry> = {
                    let mut counters = produced.lock().unwrap();
                    (0..8)
                        .map(|k| {
                            let key = format!("key-{k}");
                            let n = counters.entry(key.clone()).or_default();
                            *n += 1;
                            PutRecordsRequestEntry::builder()
                                .partition_key(&key)
                                .data(Blob::new(format!("{key}:{n}")))
                                .build()
                                .unwrap()
                        })
                        .collect()
                };
                let out = kinesis
                    .put_records()
                    .stream_name(&stream)
                    .set_records(Some(entries))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(out.failed_record_count(), Some(0));
                let _ = tokio::time::timeout(Duration::from_millis(50), producer_stopped.changed()).await;
            }
        })
    };

    let log = Arc::new(Log::default());
    let w1 = spawn_worker("w1", &store, &source, &log);
    let w2 = spawn_worker("w2", &store, &source, &log);
    assert!(
        eventually(Duration::from_secs(30), || w1.leases().len() + w2.leases().len()
            == 2
            && !w1.leases().is_empty()
            && !w2.leases().is_empty())
        .await,
        "the two workers did not share the two shards: w1 {:?}, w2 {:?}",
        w1.leases(),
        w2.leases()
    );
    assert!(eventually(Duration::from_secs(30), || log.seen.lock().unwrap().len() > 100).await);

    // Split the first shard while records keep coming.
    let shards = kinesis.list_shards().stream_name(&stream).send().await.unwrap();
    let parent = shards.shards()[0].clone();
    let range = parent.hash_key_range().unwrap();
    let start: u128 = range.starting_hash_key().parse().unwrap();
    let end: u128 = range.ending_hash_key().parse().unwrap();
    kinesis
        .split_shard()
        .stream_name(&stream)
        .shard_to_split(parent.shard_id())
        .new_starting_hash_key((start + (end - start) / 2).to_string())
        .send()
        .await
        .unwrap();
    assert!(
        eventually(Duration::from_secs(60), || {
            log.shard_ends
                .lock()
                .unwrap()
                .iter()
                .any(|s| s == parent.shard_id())
        })
        .await,
        "the parent shard never ended"
    );
    assert!(
        eventually(Duration::from_secs(60), || w1.leases().len() + w2.leases().len()
            >= 3)
        .await,
        "the children were not leased: w1 {:?}, w2 {:?}",
        w1.leases(),
        w2.leases()
    );

    // Stop one worker: the other takes over everything.
    w1.shutdown().await.unwrap();
    assert!(
        eventually(Duration::from_secs(60), || w2.leases().len() >= 3).await,
        "w2 did not take over: {:?}",
        w2.leases()
    );

    // Stop producing; everything produced is processed.
    stop_producer.send(true).unwrap();
    producer.await.unwrap();
    let expected: BTreeSet<(String, u64)> = produced
        .lock()
        .unwrap()
        .iter()
        .flat_map(|(k, n)| (1..=*n).map(move |i| (k.clone(), i)))
        .collect();
    let all_seen = || -> BTreeSet<(String, u64)> {
        log.seen
            .lock()
            .unwrap()
            .iter()
            .map(|(_, k, n)| (k.clone(), *n))
            .collect()
    };
    let complete = eventually(Duration::from_secs(60), || all_seen().is_superset(&expected)).await;
    let missing: Vec<_> = expected.difference(&all_seen()).take(10).cloned().collect();
    assert!(
        complete,
        "{} records never processed, e.g. {missing:?}",
        expected.len() - all_seen().len().min(expected.len())
    );

    // First deliveries per key come in producer order (a handoff may redeliver, never skip ahead).
    let mut highest: BTreeMap<String, u64> = BTreeMap::new();
    for (worker, key, n) in log.seen.lock().unwrap().iter() {
        let last = highest.entry(key.clone()).or_insert(0);
        assert!(*n <= *last + 1, "{worker} jumped from {last} to {n} for {key}");
        *last = (*last).max(*n);
    }
    let by_worker: BTreeSet<String> = log
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|(w, _, _)| w.clone())
        .collect();
    assert_eq!(by_worker.len(), 2, "both workers processed records");
    w2.shutdown().await.unwrap();
}

fn rand_suffix() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u8(0);
    hasher.finish() as u32
}
