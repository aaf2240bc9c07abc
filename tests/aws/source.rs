//! kcl-core's aws-sdk-kinesis `KinesisSource` conformance, run against two servers with the same checks:
//! our `kcl-emulator` server (in-process on 127.0.0.1:0, always) and kinesalite (`KCL_TEST_KINESALITE_URL`).
//!
//! kinesalite lacks ListShards `ShardFilter`, `ChildShards` in GetRecords and fault injection, so the checks
//! for those run against our server only (see kcl-emulator/README.md).

use std::time::Duration;

use aws_sdk_kinesis::primitives::Blob;
use kcl::checkpoint::SequenceNumber;
use kcl::core::source::KinesisSource;
use kcl::core::{Error, IteratorPosition, RecordSource, ShardFilter, ShardIteratorApi};
use kcl::emulator::{ErrorCode, Operation};
use kcl_emulator::test_util::{self, kinesis_client, skip_or_fail, unique_name, TestServer};

/// What the server under test supports beyond the common core.
#[derive(Clone, Copy)]
struct Features {
    shard_filter: bool,
    child_shards: bool,
}

async fn wait_active(client: &aws_sdk_kinesis::Client, stream: &str) {
    for _ in 0..400 {
        let out = client.describe_stream().stream_name(stream).send().await.unwrap();
        if out.stream_description().unwrap().stream_status() == &aws_sdk_kinesis::types::StreamStatus::Active
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("stream {stream} never became ACTIVE");
}

async fn put(client: &aws_sdk_kinesis::Client, stream: &str, hash_key: &str, data: &str) -> String {
    client
        .put_record()
        .stream_name(stream)
        .partition_key("pk")
        .explicit_hash_key(hash_key)
        .data(Blob::new(data))
        .send()
        .await
        .unwrap()
        .sequence_number()
        .to_owned()
}

async fn read_from(source: &KinesisSource, shard: &str, position: IteratorPosition) -> Vec<String> {
    let iterator = source.get_shard_iterator(shard, &position).await.unwrap();
    let out = source.get_records(shard, &iterator, 100).await.unwrap();
    out.records
        .iter()
        .map(|r| String::from_utf8(r.data.to_vec()).unwrap())
        .collect()
}

/// The conformance checks, against the server at `endpoint`.
async fn conformance(endpoint: &str, features: Features) {
    let client = kinesis_client(endpoint);
    let stream = unique_name("source");
    client
        .create_stream()
        .stream_name(&stream)
        .shard_count(2)
        .send()
        .await
        .unwrap();
    wait_active(&client, &stream).await;
    let source = KinesisSource::new(client.clone(), &stream);

    // ListShards: both shards, open, no parents, hash ranges covering the space.
    let mut shards = source.list_shards(&ShardFilter::FromTrimHorizon).await.unwrap();
    shards.sort_by(|a, b| a.shard_id.cmp(&b.shard_id));
    assert_eq!(shards.len(), 2);
    assert!(shards.iter().all(|s| s.is_open() && s.parents().count() == 0));
    assert!(shards.iter().all(|s| s.hash_key_range.is_some()));
    let first = shards[0].shard_id.clone();

    // Records and the five iterator positions (hash key 0 lands in the first shard).
    let s1 = put(&client, &stream, "0", "one").await;
    let s2 = put(&client, &stream, "0", "two").await;
    let s3 = put(&client, &stream, "0", "three").await;
    assert!(SequenceNumber::new(s1.clone()).unwrap() < SequenceNumber::new(s2.clone()).unwrap());
    assert_eq!(
        read_from(&source, &first, IteratorPosition::TrimHorizon).await,
        ["one", "two", "three"]
    );
    assert!(read_from(&source, &first, IteratorPosition::Latest)
        .await
        .is_empty());
    assert_eq!(
        read_from(
            &source,
            &first,
            IteratorPosition::AtSequence(SequenceNumber::new(s2.clone()).unwrap())
        )
        .await,
        ["two", "three"]
    );
    assert_eq!(
        read_from(
            &source,
            &first,
            IteratorPosition::AfterSequence(SequenceNumber::new(s2).unwrap())
        )
        .await,
        ["three"]
    );
    let iterator = source
        .get_shard_iterator(&first, &IteratorPosition::TrimHorizon)
        .await
        .unwrap();
    let out = source.get_records(&first, &iterator, 100).await.unwrap();
    let arrival = out.records[0]
        .approximate_arrival_timestamp
        .expect("arrival timestamp");
    assert_eq!(out.records[2].sequence_number.to_string(), s3);
    assert!(out.next_iterator.is_some());
    let at_time = read_from(&source, &first, IteratorPosition::AtTimestamp(arrival)).await;
    assert_eq!(at_time.first().map(String::as_str), Some("one"));

    // A LATEST iterator sees what is written after it.
    let latest = source
        .get_shard_iterator(&first, &IteratorPosition::Latest)
        .await
        .unwrap();
    put(&client, &stream, "0", "four").await;
    let out = source.get_records(&first, &latest, 100).await.unwrap();
    assert_eq!(out.records.len(), 1);
    assert_eq!(&out.records[0].data[..], b"four");

    // The limit is honoured.
    let iterator = source
        .get_shard_iterator(&first, &IteratorPosition::TrimHorizon)
        .await
        .unwrap();
    let out = source.get_records(&first, &iterator, 2).await.unwrap();
    assert_eq!(out.records.len(), 2);

    // Split the first shard: the parent closes, two children appear with it as parent.
    let range = shards[0].hash_key_range.unwrap();
    let middle = format!("{range:?}"); // keep the range in failure messages
    let (start, end) = (range.starting_hash_key, range.ending_hash_key);
    client
        .split_shard()
        .stream_name(&stream)
        .shard_to_split(&first)
        .new_starting_hash_key((start + (end - start) / 2).to_string())
        .send()
        .await
        .unwrap();
    wait_active(&client, &stream).await;
    let all = source.list_shards(&ShardFilter::FromTrimHorizon).await.unwrap();
    assert_eq!(all.len(), 4, "{middle}");
    let parent = all.iter().find(|s| s.shard_id == first).unwrap();
    assert!(!parent.is_open());
    let mut children: Vec<String> = all
        .iter()
        .filter(|s| s.parent_shard_id.as_deref() == Some(first.as_str()))
        .map(|s| s.shard_id.clone())
        .collect();
    children.sort();
    assert_eq!(children.len(), 2);

    // Reading the closed parent to its end: all its records, then no next iterator.
    let mut iterator = Some(
        source
            .get_shard_iterator(&first, &IteratorPosition::TrimHorizon)
            .await
            .unwrap(),
    );
    let mut data = Vec::new();
    let mut reported_children = Vec::new();
    let mut calls = 0;
    while let Some(it) = iterator {
        let out = source.get_records(&first, &it, 100).await.unwrap();
        data.extend(
            out.records
                .iter()
                .map(|r| String::from_utf8(r.data.to_vec()).unwrap()),
        );
        reported_children.extend(out.child_shards.iter().map(|c| c.shard_id.clone()));
        iterator = out.next_iterator;
        calls += 1;
        assert!(calls < 20, "the closed shard never ended");
    }
    assert_eq!(data, ["one", "two", "three", "four"]);
    if features.child_shards {
        reported_children.sort();
        assert_eq!(reported_children, children);
    }

    if features.shard_filter {
        let open = source.list_shards(&ShardFilter::AtLatest).await.unwrap();
        assert_eq!(open.len(), 3);
        assert!(open.iter().all(|s| s.is_open()));
        let after = source
            .list_shards(&ShardFilter::AfterShardId(first.clone()))
            .await
            .unwrap();
        assert!(after.iter().all(|s| s.shard_id > first));
    }

    // A missing stream is ResourceNotFound.
    let missing = KinesisSource::new(client.clone(), unique_name("missing"));
    let err = missing
        .list_shards(&ShardFilter::FromTrimHorizon)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ResourceNotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn kinesis_source_against_kcl_emulator_server() {
    // kinesalite does not enforce the 5 reads/s per shard limit and the checks read in quick succession.
    let server = TestServer::start_unlimited().await;
    let (endpoint, emulator) = (server.endpoint.clone(), server.emulator.clone());
    conformance(
        &endpoint,
        Features {
            shard_filter: true,
            child_shards: true,
        },
    )
    .await;

    // Error mapping at the edge, driven by the emulator's fault injection (our server only).
    let client = kinesis_client(&endpoint);
    let stream = unique_name("faults");
    client
        .create_stream()
        .stream_name(&stream)
        .shard_count(1)
        .send()
        .await
        .unwrap();
    let source = KinesisSource::new(client, &stream);
    let shard = source.list_shards(&ShardFilter::FromTrimHorizon).await.unwrap()[0]
        .shard_id
        .clone();
    let iterator = source
        .get_shard_iterator(&shard, &IteratorPosition::TrimHorizon)
        .await
        .unwrap();
    emulator
        .faults()
        .fail_next(Operation::GetRecords, ErrorCode::ExpiredIteratorException, 1);
    let err = source.get_records(&shard, &iterator, 10).await.unwrap_err();
    assert!(matches!(err, Error::ExpiredIterator { .. }), "{err:?}");
    emulator.faults().fail_next(
        Operation::GetRecords,
        ErrorCode::ProvisionedThroughputExceededException,
        1,
    );
    let err = source.get_records(&shard, &iterator, 10).await.unwrap_err();
    assert!(matches!(err, Error::Throttled { .. }), "{err:?}");
    emulator
        .faults()
        .fail_next(Operation::ListShards, ErrorCode::InternalFailure, 1);
    let err = source
        .list_shards(&ShardFilter::FromTrimHorizon)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Source { retryable: true, .. }), "{err:?}");
    // After the scripted faults, the same iterator still works.
    assert!(source.get_records(&shard, &iterator, 10).await.is_ok());

    server.shutdown().await;
}

#[tokio::test]
async fn kinesis_source_against_kinesalite() {
    let Ok(endpoint) = std::env::var("KCL_TEST_KINESALITE_URL") else {
        skip_or_fail(
            "KinesisSource conformance against kinesalite",
            "KCL_TEST_KINESALITE_URL is not set",
        );
        return;
    };
    conformance(
        &endpoint,
        Features {
            shard_filter: false,
            child_shards: false,
        },
    )
    .await;
}

/// The container image passes the same black-box checks as the in-process server: the `kcl-emulator`
/// image (built by `scripts/build-images.sh`) started through its testcontainers module.
#[tokio::test]
async fn kinesis_source_against_the_kcl_emulator_container() {
    if !test_util::docker_image(
        "kinesis source against the kcl-emulator container",
        "kcl-emulator:local",
    ) {
        return;
    }
    let container = kcl::emulator::testcontainers::KclEmulator::default()
        .with_throughput_limits(false)
        .start()
        .await
        .expect("the kcl-emulator:local image (bash scripts/build-images.sh)");
    conformance(
        &container.image().endpoint(),
        Features {
            shard_filter: true,
            child_shards: true,
        },
    )
    .await;
}
