//! Enhanced fan-out retrieval (`kcl_core::source::fanout::FanOutSource`) over aws-sdk-kinesis against our
//! `kcl-emulator` server (in-process, 127.0.0.1:0): consumer registration, SubscribeToShard, resubscribing
//! from the continuation sequence number, shard end, the fall back to polling, and a worker reading through
//! it. kinesalite has no enhanced fan-out, so against it (`KCL_TEST_KINESALITE_URL`) only the fall back runs.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{ShardIteratorType, StartingPosition};
use kcl::checkpoint::{InMemoryLeaseStore, LeaseStore};
use kcl::core::source::fanout::{FanOutConfig, FanOutSource, RetrievalMode};
use kcl::core::{
    async_trait, Checkpointer, Error, InitialPosition, IteratorPosition, ProcessRecordsInput, ProcessorError,
    ReadRequest, RecordSource, ShardFilter, ShardReader, ShardRecordProcessor, Worker, WorkerConfig,
};
use kcl::emulator::{ErrorCode, FaultRule, Operation};
use kcl_emulator::test_util::{create_stream, kinesis_client, skip_or_fail, TestServer};

fn fast() -> FanOutConfig {
    FanOutConfig::default().with_consumer_poll_interval(Duration::from_millis(100))
}

async fn put(client: &aws_sdk_kinesis::Client, stream: &str, data: &str) {
    client
        .put_record()
        .stream_name(stream)
        .partition_key("pk")
        .explicit_hash_key("0")
        .data(Blob::new(data))
        .send()
        .await
        .unwrap();
}

/// Reads batches from `reader` until `want` records arrived, retrying retryable errors (throttled
/// resubscriptions, takeovers). Returns the data and whether the shard ended.
async fn read(reader: &mut Box<dyn ShardReader>, want: usize) -> (Vec<String>, bool) {
    let mut data = Vec::new();
    for _ in 0..200 {
        let next = tokio::time::timeout(Duration::from_secs(10), reader.next_batch())
            .await
            .expect("no event within 10 s");
        match next {
            Ok(batch) => {
                data.extend(
                    batch
                        .records
                        .iter()
                        .map(|r| String::from_utf8(r.data.to_vec()).unwrap()),
                );
                if batch.at_shard_end {
                    return (data, true);
                }
                if data.len() >= want {
                    return (data, false);
                }
            }
            Err(e) if e.is_retryable() || e.is_throttled() => {
                tokio::time::sleep(Duration::from_millis(200)).await
            }
            Err(e) => panic!("next_batch failed: {e:?}"),
        }
    }
    panic!("only {} of {want} records arrived: {data:?}", data.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_reads_resubscribes_from_the_continuation_and_ends_with_children() {
    let server = TestServer::start_unlimited().await;
    let client = kinesis_client(&server.endpoint);
    create_stream(&client, "efo", 1).await;
    let source = FanOutSource::with_config(client.clone(), "efo", "app", fast());

    let shard = source.list_shards(&ShardFilter::FromTrimHorizon).await.unwrap()[0]
        .shard_id
        .clone();
    for i in 0..3 {
        put(&client, "efo", &format!("r{i}")).await;
    }
    let mut reader = source.open_reader(ReadRequest::new(&shard, IteratorPosition::TrimHorizon));
    let (first, _) = read(&mut reader, 3).await;
    assert_eq!(first, ["r0", "r1", "r2"]);
    let RetrievalMode::FanOut { consumer_arn } = source.mode().await else {
        panic!("fan-out was not chosen against our server");
    };
    let consumers = client
        .list_stream_consumers()
        .stream_arn(server.emulator.stream_arn("efo"))
        .send()
        .await
        .unwrap();
    assert_eq!(consumers.consumers().len(), 1);
    assert_eq!(consumers.consumers()[0].consumer_arn(), consumer_arn);

    // Live delivery on the same subscription.
    put(&client, "efo", "r3").await;
    let (live, _) = read(&mut reader, 1).await;
    assert_eq!(live, ["r3"]);

    // Another subscription of the same consumer takes the shard over: ours ends; the source resubscribes
    // from the continuation sequence number, so nothing is lost or repeated.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let thief = client
        .subscribe_to_shard()
        .consumer_arn(&consumer_arn)
        .shard_id(&shard)
        .starting_position(
            StartingPosition::builder()
                .r#type(ShardIteratorType::Latest)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    put(&client, "efo", "r4").await;
    put(&client, "efo", "r5").await;
    drop(thief);
    let (resumed, _) = read(&mut reader, 2).await;
    assert_eq!(resumed, ["r4", "r5"]);

    // A second source (another worker of the same application) reuses the registered consumer.
    let other = FanOutSource::with_config(client.clone(), "efo", "app", fast());
    assert_eq!(
        other.ensure_mode().await.unwrap(),
        RetrievalMode::FanOut {
            consumer_arn: consumer_arn.clone()
        }
    );

    // Split: the parent's subscription ends with its children and no next iterator.
    client
        .split_shard()
        .stream_name("efo")
        .shard_to_split(&shard)
        .new_starting_hash_key("170141183460469231731687303715884105728")
        .send()
        .await
        .unwrap();
    let mut children = Vec::new();
    let mut ended = false;
    for _ in 0..100 {
        let next = tokio::time::timeout(Duration::from_secs(10), reader.next_batch())
            .await
            .expect("no event within 10 s");
        match next {
            Ok(batch) => {
                assert!(
                    batch.records.is_empty(),
                    "no records after r5: {:?}",
                    batch.records
                );
                children.extend(batch.child_shards.iter().map(|c| c.shard_id.clone()));
                if batch.at_shard_end {
                    ended = true;
                    break;
                }
            }
            Err(e) if e.is_retryable() || e.is_throttled() => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    assert!(ended, "the closed shard never ended");
    assert_eq!(children.len(), 2, "{children:?}");

    source.deregister_consumer().await.unwrap();
    let consumers = client
        .list_stream_consumers()
        .stream_arn(server.emulator.stream_arn("efo"))
        .send()
        .await
        .unwrap();
    assert!(consumers
        .consumers()
        .iter()
        .all(|c| c.consumer_status() != &aws_sdk_kinesis::types::ConsumerStatus::Active));
}

#[tokio::test]
async fn falls_back_to_polling_when_fan_out_is_refused() {
    let server = TestServer::start_unlimited().await;
    let client = kinesis_client(&server.endpoint);
    create_stream(&client, "nofo", 1).await;
    server
        .emulator
        .faults()
        .add(FaultRule::error(ErrorCode::AccessDeniedException).on(Operation::RegisterStreamConsumer));
    let source = FanOutSource::with_config(client.clone(), "nofo", "app", fast());
    put(&client, "nofo", "polled").await;
    let shard = source.list_shards(&ShardFilter::FromTrimHorizon).await.unwrap()[0]
        .shard_id
        .clone();
    let mut reader = source.open_reader(ReadRequest::new(&shard, IteratorPosition::TrimHorizon));
    let out = reader.next_batch().await.unwrap();
    assert_eq!(source.mode().await, RetrievalMode::Polling);
    assert_eq!(&out.records[0].data[..], b"polled");

    // Throttling is not a reason to fall back: it is returned as such.
    server.emulator.faults().clear();
    server.emulator.faults().add(
        FaultRule::error(ErrorCode::LimitExceededException)
            .on(Operation::RegisterStreamConsumer)
            .times(1),
    );
    let throttled = FanOutSource::with_config(client.clone(), "nofo", "app2", fast());
    let err = throttled.ensure_mode().await.unwrap_err();
    assert!(matches!(err, Error::Throttled { .. }), "{err:?}");
    assert!(matches!(
        throttled.ensure_mode().await.unwrap(),
        RetrievalMode::FanOut { .. }
    ));
}

#[tokio::test]
async fn falls_back_to_polling_against_kinesalite() {
    let Ok(endpoint) = std::env::var("KCL_TEST_KINESALITE_URL") else {
        skip_or_fail(
            "fan-out fall back against kinesalite",
            "KCL_TEST_KINESALITE_URL is not set",
        );
        return;
    };
    let client = kinesis_client(&endpoint);
    let stream = format!("nofo-{}", std::process::id());
    create_stream(&client, &stream, 1).await;
    let source = FanOutSource::with_config(client.clone(), &stream, "app", fast());
    put(&client, &stream, "from kinesalite").await;
    let shard = source.list_shards(&ShardFilter::FromTrimHorizon).await.unwrap()[0]
        .shard_id
        .clone();
    let mut reader = source.open_reader(ReadRequest::new(&shard, IteratorPosition::TrimHorizon));
    let out = reader.next_batch().await.unwrap();
    assert_eq!(source.mode().await, RetrievalMode::Polling);
    assert_eq!(&out.records[0].data[..], b"from kinesalite");
}

#[derive(Default)]
struct Log {
    seen: Mutex<Vec<(String, u64)>>,
}

struct Recorder {
    log: Arc<Log>,
}

#[async_trait]
impl ShardRecordProcessor for Recorder {
    async fn process_records(
        &mut self,
        input: &ProcessRecordsInput,
        checkpointer: &Checkpointer,
    ) -> Result<(), ProcessorError> {
        for record in &input.records {
            let text = std::str::from_utf8(&record.data)?;
            let (key, n) = text.rsplit_once(':').ok_or("payload is not key:n")?;
            self.log.seen.lock().unwrap().push((key.to_owned(), n.parse()?));
        }
        if !input.records.is_empty() {
            checkpointer.checkpoint().await?;
        }
        Ok(())
    }

    async fn shard_ended(&mut self, checkpointer: &Checkpointer) -> Result<(), ProcessorError> {
        checkpointer.checkpoint().await?;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_reads_everything_through_fan_out_across_a_split() {
    let server = TestServer::start_unlimited().await;
    let client = kinesis_client(&server.endpoint);
    create_stream(&client, "efo-worker", 2).await;
    let fan_out = Arc::new(FanOutSource::with_config(
        client.clone(),
        "efo-worker",
        "app",
        fast(),
    ));
    let source: Arc<dyn RecordSource> = fan_out.clone();
    let store: Arc<dyn LeaseStore> = Arc::new(InMemoryLeaseStore::new());
    let log = Arc::new(Log::default());
    let factory = {
        let log = Arc::clone(&log);
        move |_shard: &str| {
            Box::new(Recorder {
                log: Arc::clone(&log),
            }) as Box<dyn ShardRecordProcessor>
        }
    };
    let config = WorkerConfig::builder()
        .initial_position(InitialPosition::TrimHorizon)
        .lease_duration(Duration::from_secs(3))
        .lease_taker_interval(Duration::from_millis(500))
        .shard_sync_interval(Duration::from_secs(1))
        .idle_time_between_reads(Duration::from_millis(50))
        .build()
        .unwrap();
    let worker = Worker::builder(store, source, factory, "efo-w1")
        .config(config)
        .build()
        .unwrap()
        .spawn();

    let mut produced: BTreeMap<String, u64> = BTreeMap::new();
    let mut produce = |round: usize| {
        (0..8)
            .map(|k| {
                let key = format!("key-{k}");
                let n = produced.entry(key.clone()).or_default();
                *n += 1;
                let _ = round;
                aws_sdk_kinesis::types::PutRecordsRequestEntry::builder()
                    .partition_key(&key)
                    .data(Blob::new(format!("{key}:{n}")))
                    .build()
                    .unwrap()
            })
            .collect::<Vec<_>>()
    };
    for round in 0..20 {
        let batch = produce(round);
        client
            .put_records()
            .stream_name("efo-worker")
            .set_records(Some(batch))
            .send()
            .await
            .unwrap();
        if round == 10 {
            let shard = client
                .list_shards()
                .stream_name("efo-worker")
                .send()
                .await
                .unwrap()
                .shards()[0]
                .shard_id()
                .to_owned();
            client
                .split_shard()
                .stream_name("efo-worker")
                .shard_to_split(&shard)
                .new_starting_hash_key("85070591730234615865843651857942052864")
                .send()
                .await
                .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let expected: BTreeSet<(String, u64)> = produced
        .iter()
        .flat_map(|(k, n)| (1..=*n).map(move |i| (k.clone(), i)))
        .collect();
    let seen = || -> BTreeSet<(String, u64)> { log.seen.lock().unwrap().iter().cloned().collect() };
    for _ in 0..300 {
        if seen().is_superset(&expected) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let missing: Vec<_> = expected.difference(&seen()).take(10).cloned().collect();
    assert!(missing.is_empty(), "not processed, e.g. {missing:?}");
    let mut highest: BTreeMap<String, u64> = BTreeMap::new();
    for (key, n) in log.seen.lock().unwrap().iter() {
        let last = highest.entry(key.clone()).or_insert(0);
        assert!(*n <= *last + 1, "{key} jumped from {last} to {n}");
        *last = (*last).max(*n);
    }
    assert!(worker.leases().len() >= 2, "{:?}", worker.leases());
    assert!(
        matches!(fan_out.mode().await, RetrievalMode::FanOut { .. }),
        "the worker read by polling"
    );
    worker.shutdown().await.unwrap();
}
