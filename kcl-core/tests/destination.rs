//! `KinesisStreamDestination` against the emulator's wire-protocol server, in process on loopback
//! (`kcl_emulator::test_util::TestServer`): failed batches are put as records and read back with
//! GetShardIterator / GetRecords.

#![cfg(feature = "kinesis")]

use std::time::{Duration, UNIX_EPOCH};

use kcl_checkpoint::SequenceNumber;
use kcl_core::policy::{FailedBatch, FailureCondition, FailureDestination, KinesisStreamDestination};
use kcl_core::Record;
use kcl_emulator::test_util::{
    create_stream, kinesis_client, read_first_shard, stream_arn, unique_name, TestServer,
};
use serde_json::Value;

fn failed_batch(shard_id: &str, first: u128, data_len: usize, include_records: bool) -> FailedBatch {
    let arrival = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
    let records: Vec<Record> = (first..first + 2)
        .map(|i| {
            Record::new(vec![b'r'; data_len], format!("pk-{i}"), SequenceNumber::from(i))
                .with_arrival_timestamp(arrival)
        })
        .collect();
    FailedBatch::new(
        FailureCondition::RetryAttemptsExhausted,
        Some("source-stream".to_owned()),
        shard_id,
        &records,
        3,
        Some("processor failed".to_owned()),
        "worker-1",
        arrival + Duration::from_secs(5),
        include_records,
    )
    .expect("records are not empty")
}

/// Every record of the (single-shard) stream: partition key and data parsed as JSON.
async fn read_back(client: &aws_sdk_kinesis::Client, stream: &str) -> Vec<(String, Value)> {
    read_first_shard(client, stream)
        .await
        .iter()
        .map(|r| {
            let doc: Value = serde_json::from_slice(r.data().as_ref()).expect("each record is JSON");
            (r.partition_key().expect("a partition key").to_owned(), doc)
        })
        .collect()
}

#[tokio::test]
async fn kinesis_destination_puts_one_record_per_failed_batch() {
    let server = TestServer::start_unlimited().await;
    let client = server.client();
    let stream = unique_name("failures");
    create_stream(&client, &stream, 1).await;
    let destination = KinesisStreamDestination::new(client.clone(), &stream);
    assert_eq!(destination.stream(), stream);

    let metadata_only = failed_batch("shardId-000000000000", 1, 10, false);
    let with_records = failed_batch("shardId-000000000001", 5, 10, true);
    // Two records of 600 KB: over the 1 MiB record limit with them, so they are left out.
    let too_large = failed_batch("shardId-000000000002", 9, 600_000, true);
    for batch in [&metadata_only, &with_records, &too_large] {
        destination.send(batch).await.unwrap();
    }

    let got = read_back(&client, &stream).await;
    let mut expected_large = too_large.to_json();
    expected_large.as_object_mut().unwrap().remove("records");
    assert_eq!(
        got,
        [
            ("shardId-000000000000".to_owned(), metadata_only.to_json()),
            ("shardId-000000000001".to_owned(), with_records.to_json()),
            ("shardId-000000000002".to_owned(), expected_large),
        ]
    );
    // Spot checks on what a reader sees.
    let doc = &got[1].1;
    assert_eq!(doc["requestContext"]["condition"], "RetryAttemptsExhausted");
    assert_eq!(doc["responseContext"]["functionError"], "processor failed");
    assert_eq!(doc["KinesisBatchInfo"]["startSequenceNumber"], "5");
    assert_eq!(doc["KinesisBatchInfo"]["endSequenceNumber"], "6");
    assert_eq!(doc["KinesisBatchInfo"]["stream"], "source-stream");
    assert_eq!(doc["records"][1]["partitionKey"], "pk-6");
    assert_eq!(doc["records"][1]["data"], "cnJycnJycnJycg==");
    assert_eq!(got[2].1["KinesisBatchInfo"]["batchSize"], 2);

    server.shutdown().await;
}

#[tokio::test]
async fn kinesis_destination_addresses_a_stream_by_arn() {
    let server = TestServer::start_unlimited().await;
    let client = server.client();
    let stream = unique_name("failures-arn");
    create_stream(&client, &stream, 1).await;
    let arn = stream_arn(&client, &stream).await;
    assert!(arn.starts_with("arn:"), "{arn}");

    let destination = KinesisStreamDestination::new(client.clone(), arn);
    let batch = failed_batch("shardId-000000000003", 1, 10, false);
    destination.send(&batch).await.unwrap();
    assert_eq!(
        read_back(&client, &stream).await,
        [("shardId-000000000003".to_owned(), batch.to_json())]
    );

    server.shutdown().await;
}

#[tokio::test]
async fn kinesis_destination_errors_name_the_stream_and_keep_the_cause() {
    let server = TestServer::start_unlimited().await;
    let missing = unique_name("no-such-stream");
    let destination = KinesisStreamDestination::new(server.client(), &missing);
    let err = destination
        .send(&failed_batch("shardId-000000000000", 1, 10, false))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains(&missing), "{text}");
    assert!(text.contains("ResourceNotFoundException"), "{text}");
    assert!(text.contains("shardId-000000000000"), "{text}");
    assert!(
        std::error::Error::source(&*err).is_some(),
        "the SDK error is kept as the source"
    );
    server.shutdown().await;

    // Nothing listening: the transport failure is named.
    let destination = KinesisStreamDestination::new(kinesis_client("http://127.0.0.1:1"), "s");
    let err = destination
        .send(&failed_batch("shardId-000000000000", 1, 10, false))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("dispatch failure"), "{text}");
    assert!(std::error::Error::source(&*err).is_some());
}
