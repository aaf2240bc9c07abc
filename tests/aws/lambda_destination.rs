//! Lambda-style error handling end to end over real sockets: the worker reads our emulator's server
//! through aws-sdk-kinesis, keeps its leases in DynamoDB on dynalite, bisects failing batches, and sends
//! the poison records it gives up on to a second Kinesis stream (`KinesisStreamDestination`), as Lambda's
//! `DestinationConfig.OnFailure` does. Needs `KCL_TEST_DYNALITE_URL` (skips loudly without it unless
//! `KCL_TEST_REQUIRE_SERVERS=1`). Real time, with short retry backoffs.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kcl::checkpoint::{DynamoDbLeaseStore, ExtendedSequenceNumber, LeaseStore};
use kcl::core::policy::KinesisStreamDestination;
use kcl::core::source::KinesisSource;
use kcl::core::{
    async_trait, Backoff, Checkpointer, InitialPosition, ProcessRecordsInput, ProcessingPolicy,
    ProcessorError, RecordSource, ShardRecordProcessor, Worker, WorkerConfig,
};
use kcl_checkpoint::test_util::dynamodb_client;
use kcl_emulator::test_util::{
    create_stream, eventually, put_records, read_first_shard, server_url, unique_name, TestServer,
};

/// What the processors saw.
#[derive(Default)]
struct Seen {
    /// Records processed (payload), in order.
    processed: Mutex<Vec<String>>,
    /// The poison records' sequence numbers, by payload.
    poison: Mutex<BTreeMap<String, String>>,
    /// The highest position processed, per shard.
    last: Mutex<BTreeMap<String, ExtendedSequenceNumber>>,
}

/// Prints the destination's failures (they are retried; the shard waits).
struct Logged(KinesisStreamDestination);

#[async_trait]
impl kcl::core::FailureDestination for Logged {
    async fn send(&self, batch: &kcl::core::FailedBatch) -> Result<(), kcl::core::BoxError> {
        let result = self.0.send(batch).await;
        if let Err(e) = &result {
            eprintln!("destination failed: {e}");
        }
        result
    }
}

const POISON: [&str; 2] = ["record-13", "record-77"];

struct Picky {
    shard: String,
    seen: Arc<Seen>,
}

#[async_trait]
impl ShardRecordProcessor for Picky {
    async fn process_records(
        &mut self,
        input: &ProcessRecordsInput,
        _checkpointer: &Checkpointer,
    ) -> Result<(), ProcessorError> {
        for r in &input.records {
            let data = String::from_utf8_lossy(&r.data).into_owned();
            if POISON.contains(&data.as_str()) {
                self.seen
                    .poison
                    .lock()
                    .unwrap()
                    .insert(data.clone(), r.sequence_number.to_string());
                return Err(format!("cannot handle {data}").into());
            }
        }
        let mut processed = self.seen.processed.lock().unwrap();
        for r in &input.records {
            processed.push(String::from_utf8_lossy(&r.data).into_owned());
        }
        if let Some(r) = input.records.last() {
            self.seen
                .last
                .lock()
                .unwrap()
                .insert(self.shard.clone(), r.extended_sequence_number());
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_records_are_bisected_out_and_sent_to_a_kinesis_stream_over_the_server_and_dynalite() {
    let Some(dynamo_url) = server_url("KCL_TEST_DYNALITE_URL", "Lambda-style destination end to end") else {
        return;
    };
    let server = TestServer::start_unlimited().await;
    let kinesis = server.client();
    let (stream, failures, table) = (
        unique_name("orders"),
        unique_name("orders-failed"),
        unique_name("lambda-leases"),
    );
    create_stream(&kinesis, &stream, 2).await;
    create_stream(&kinesis, &failures, 1).await;
    put_records(&kinesis, &stream, 0, 200, 8).await;

    let store: Arc<dyn LeaseStore> =
        Arc::new(DynamoDbLeaseStore::new(dynamodb_client(&dynamo_url), &table).unwrap());
    store.ensure_table().await.unwrap();
    let source: Arc<dyn RecordSource> = Arc::new(KinesisSource::new(kinesis.clone(), &stream));
    let policy = ProcessingPolicy::lambda()
        .batch_size(16)
        .bisect_batch_on_error(true)
        .maximum_retry_attempts(5)
        .build()
        .unwrap();
    let config = WorkerConfig::builder()
        .initial_position(InitialPosition::TrimHorizon)
        .start_up_settle_time(Duration::ZERO)
        .idle_time_between_reads(Duration::from_millis(100))
        .processor_retry_backoff(Backoff::new(Duration::from_millis(10), Duration::from_millis(50)))
        .processing(policy)
        .build()
        .unwrap();
    let seen = Arc::new(Seen::default());
    let factory = {
        let seen = Arc::clone(&seen);
        move |shard: &str| {
            Box::new(Picky {
                shard: shard.to_owned(),
                seen: Arc::clone(&seen),
            }) as Box<dyn ShardRecordProcessor>
        }
    };
    let worker = Worker::builder(Arc::clone(&store), source, factory, "lambda-worker")
        .config(config)
        .on_failure(Arc::new(Logged(KinesisStreamDestination::new(
            kinesis.clone(),
            &failures,
        ))))
        .build()
        .unwrap()
        .spawn();

    let done = eventually(Duration::from_secs(60), || {
        let seen = Arc::clone(&seen);
        async move { seen.processed.lock().unwrap().len() >= 198 }
    })
    .await;
    assert!(
        done.is_some(),
        "{} of 198 records processed",
        seen.processed.lock().unwrap().len()
    );
    let mut processed = seen.processed.lock().unwrap().clone();
    processed.sort();
    let mut expected: Vec<String> = (0..200)
        .map(|i| format!("record-{i}"))
        .filter(|r| !POISON.contains(&r.as_str()))
        .collect();
    expected.sort();
    assert_eq!(processed, expected, "every other record exactly once");

    // The failure stream holds one record per poison record: Lambda's metadata for a batch of one.
    let found = eventually(Duration::from_secs(20), || {
        let (kinesis, failures) = (kinesis.clone(), failures.clone());
        async move { read_first_shard(&kinesis, &failures).await.len() == POISON.len() }
    })
    .await;
    assert!(found.is_some(), "two failed batches in the failure stream");
    let sent: Vec<serde_json::Value> = read_first_shard(&kinesis, &failures)
        .await
        .iter()
        .map(|r| serde_json::from_slice(r.data().as_ref()).unwrap())
        .collect();
    let poison = seen.poison.lock().unwrap().clone();
    let mut starts: Vec<String> = sent
        .iter()
        .map(|j| {
            let info = &j["KinesisBatchInfo"];
            assert_eq!(info["batchSize"], 1, "{j}");
            assert_eq!(info["startSequenceNumber"], info["endSequenceNumber"], "{j}");
            assert_eq!(j["requestContext"]["condition"], "RetryAttemptsExhausted", "{j}");
            // 16 -> 8 -> 4 -> 2 -> 1 takes five calls; the sixth failure spends the last of 5 retries.
            assert_eq!(j["requestContext"]["approximateInvokeCount"], 6, "{j}");
            assert!(
                j["responseContext"]["functionError"]
                    .as_str()
                    .unwrap_or("")
                    .contains("cannot handle"),
                "{j}"
            );
            info["startSequenceNumber"].as_str().unwrap().to_owned()
        })
        .collect();
    starts.sort();
    let mut poison_seqs: Vec<String> = poison.values().cloned().collect();
    poison_seqs.sort();
    assert_eq!(starts, poison_seqs, "exactly the poison records' metadata");

    // The checkpoints in DynamoDB passed the poison records: each shard is checkpointed at its last record.
    let last = seen.last.lock().unwrap().clone();
    let checkpointed = eventually(Duration::from_secs(10), || {
        let store = Arc::clone(&store);
        let last = last.clone();
        async move {
            let leases = store.list().await.unwrap().leases;
            leases
                .iter()
                .all(|l| last.get(l.shard_id()) == Some(&l.checkpoint))
        }
    })
    .await;
    assert!(
        checkpointed.is_some(),
        "leases checkpointed at each shard's last record: {last:?}"
    );
    worker.shutdown().await.unwrap();
    server.stop().await;
}
