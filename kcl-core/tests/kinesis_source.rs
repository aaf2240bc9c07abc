//! `KinesisSource` (aws-sdk-kinesis) against a real Kinesis-compatible server on loopback.
//!
//! Needs `KCL_TEST_KINESALITE_URL` (e.g. `http://127.0.0.1:4567`); without it the test prints
//! `SKIPPED: ...` and passes, unless `KCL_TEST_REQUIRE_SERVERS=1`. Runs on real time (real sockets).

#![cfg(feature = "kinesis")]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use kcl_checkpoint::{InMemoryLeaseStore, LeaseStore};
use kcl_core::source::{KinesisSource, ShardIteratorApi};
use kcl_core::{
    Checkpointer, InitialPosition, IteratorPosition, ProcessRecordsInput, ProcessorError, RecordSource,
    ShardFilter, ShardRecordProcessor, Worker, WorkerConfig,
};
use kcl_emulator::test_util::{kinesis_client, server_url, wait_active};

async fn put(client: &aws_sdk_kinesis::Client, stream: &str, counters: &mut BTreeMap<String, u64>, n: usize) {
    let mut entries = Vec::new();
    for i in 0..n {
        let key = format!("key-{}", i % 8);
        let c = counters.entry(key.clone()).or_default();
        *c += 1;
        entries.push(
            PutRecordsRequestEntry::builder()
                .data(Blob::new(format!("{key}:{c}")))
                .partition_key(key)
                .build()
                .unwrap(),
        );
    }
    let out = client
        .put_records()
        .stream_name(stream)
        .set_records(Some(entries))
        .send()
        .await
        .unwrap();
    assert_eq!(out.failed_record_count(), Some(0));
}

/// Records per key the order they arrive in; checkpoints every batch.
struct Collect(Arc<Mutex<BTreeMap<String, Vec<u64>>>>);

#[async_trait]
impl ShardRecordProcessor for Collect {
    async fn process_records(
        &mut self,
        input: &ProcessRecordsInput,
        cp: &Checkpointer,
    ) -> Result<(), ProcessorError> {
        for r in &input.records {
            let text = std::str::from_utf8(&r.data)?;
            let (key, n) = text.rsplit_once(':').ok_or("payload")?;
            self.0
                .lock()
                .unwrap()
                .entry(key.to_owned())
                .or_default()
                .push(n.parse()?);
        }
        if !input.records.is_empty() {
            cp.checkpoint().await?;
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kinesis_source_feeds_a_worker_through_a_split() {
    let Some(url) = server_url(
        "KCL_TEST_KINESALITE_URL",
        "kinesis_source_feeds_a_worker_through_a_split",
    ) else {
        return;
    };
    let client = kinesis_client(&url);
    let stream = format!("kcl-core-source-{}", std::process::id());
    client
        .create_stream()
        .stream_name(&stream)
        .shard_count(2)
        .send()
        .await
        .unwrap();
    wait_active(&client, &stream).await;
    let kinesis = KinesisSource::new(client.clone(), &stream);
    let source: Arc<dyn RecordSource> = Arc::new(kinesis.clone());

    // The raw calls.
    let shards = source.list_shards(&ShardFilter::FromTrimHorizon).await.unwrap();
    assert_eq!(shards.len(), 2);
    assert!(shards.iter().all(|s| s.is_open() && s.hash_key_range.is_some()));
    let mut counters = BTreeMap::new();
    put(&client, &stream, &mut counters, 100).await;
    let it = kinesis
        .get_shard_iterator(&shards[0].shard_id, &IteratorPosition::TrimHorizon)
        .await
        .unwrap();
    let out = kinesis
        .get_records(&shards[0].shard_id, &it, 10_000)
        .await
        .unwrap();
    assert!(out.next_iterator.is_some());
    let bogus = kinesis
        .get_records(&shards[0].shard_id, "not-an-iterator", 10)
        .await
        .unwrap_err();
    assert!(!bogus.is_lease_lost(), "{bogus}");

    // A worker through a split.
    let seen = Arc::new(Mutex::new(BTreeMap::new()));
    let store: Arc<dyn LeaseStore> = Arc::new(InMemoryLeaseStore::new());
    let config = WorkerConfig::builder()
        .initial_position(InitialPosition::TrimHorizon)
        .lease_duration(Duration::from_secs(3))
        .lease_taker_interval(Duration::from_millis(200))
        .idle_time_between_reads(Duration::from_millis(100))
        .shard_sync_interval(Duration::from_secs(1))
        .build()
        .unwrap();
    let collect = Arc::clone(&seen);
    let factory = move |_: &str| Box::new(Collect(Arc::clone(&collect))) as Box<dyn ShardRecordProcessor>;
    let worker = Worker::builder(store, Arc::clone(&source), factory, "w")
        .config(config)
        .build()
        .unwrap()
        .spawn();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let range = shards[0].hash_key_range.unwrap();
    let middle = range.starting_hash_key + (range.ending_hash_key - range.starting_hash_key) / 2;
    client
        .split_shard()
        .stream_name(&stream)
        .shard_to_split(&shards[0].shard_id)
        .new_starting_hash_key(middle.to_string())
        .send()
        .await
        .unwrap();
    wait_active(&client, &stream).await;
    put(&client, &stream, &mut counters, 100).await;

    let want: usize = counters.values().map(|n| *n as usize).sum();
    for _ in 0..150 {
        let got: usize = seen.lock().unwrap().values().map(Vec::len).sum();
        if got >= want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    worker.shutdown().await.unwrap();
    let seen = seen.lock().unwrap().clone();
    for (key, n) in &counters {
        let got = seen.get(key).cloned().unwrap_or_default();
        assert_eq!(
            got,
            (1..=*n).collect::<Vec<_>>(),
            "key {key}: every record once, in order"
        );
    }
    assert_eq!(
        source
            .list_shards(&ShardFilter::FromTrimHorizon)
            .await
            .unwrap()
            .len(),
        4
    );
    let _ = client.delete_stream().stream_name(&stream).send().await;
}
