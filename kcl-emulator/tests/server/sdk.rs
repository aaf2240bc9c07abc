//! aws-sdk-kinesis (Rust) against the server: every operation the emulator implements, over HTTP/1.1.

use std::time::Duration;

use aws_sdk_kinesis::primitives::{Blob, DateTime};
use aws_sdk_kinesis::types::{
    ConsumerStatus, ScalingType, ShardFilter, ShardFilterType, ShardIteratorType, StartingPosition,
    StreamMode, StreamModeDetails, StreamStatus, SubscribeToShardEventStream,
};
use kcl_emulator::test_util::{unique_name, wait_active, TestServer};

async fn create(client: &aws_sdk_kinesis::Client, shards: i32) -> String {
    let name = unique_name("sdk");
    client
        .create_stream()
        .stream_name(&name)
        .shard_count(shards)
        .send()
        .await
        .unwrap();
    wait_active(client, &name).await;
    name
}

async fn shard_ids(client: &aws_sdk_kinesis::Client, stream: &str) -> Vec<String> {
    client
        .list_shards()
        .stream_name(stream)
        .send()
        .await
        .unwrap()
        .shards()
        .iter()
        .map(|s| s.shard_id().to_owned())
        .collect()
}

#[tokio::test]
async fn stream_lifecycle_tags_retention_and_mode() {
    let server = TestServer::start().await;
    let client = server.client();
    let name = create(&client, 2).await;

    let described = client.describe_stream().stream_name(&name).send().await.unwrap();
    let description = described.stream_description().unwrap();
    assert_eq!(description.stream_name(), name);
    assert_eq!(description.stream_status(), &StreamStatus::Active);
    assert_eq!(description.shards().len(), 2);
    assert_eq!(description.retention_period_hours(), 24);
    let arn = description.stream_arn().to_owned();
    assert!(arn.starts_with("arn:aws:kinesis:"), "{arn}");
    // The creation timestamp is recent (seconds in JSON, decoded by the SDK).
    let created = description.stream_creation_timestamp().secs();
    assert!(created > 1_600_000_000, "{created}");

    let listed = client.list_streams().send().await.unwrap();
    assert!(listed.stream_names().contains(&name));

    client
        .add_tags_to_stream()
        .stream_name(&name)
        .tags("team", "data")
        .tags("env", "test")
        .send()
        .await
        .unwrap();
    let tags = client
        .list_tags_for_stream()
        .stream_name(&name)
        .send()
        .await
        .unwrap();
    let mut keys: Vec<_> = tags.tags().iter().map(|t| t.key().to_owned()).collect();
    keys.sort();
    assert_eq!(keys, ["env", "team"]);
    client
        .remove_tags_from_stream()
        .stream_name(&name)
        .tag_keys("env")
        .send()
        .await
        .unwrap();
    let tags = client
        .list_tags_for_stream()
        .stream_name(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().len(), 1);
    assert_eq!(tags.tags()[0].value(), Some("data"));

    client
        .increase_stream_retention_period()
        .stream_name(&name)
        .retention_period_hours(48)
        .send()
        .await
        .unwrap();
    wait_active(&client, &name).await;
    let summary = client
        .describe_stream_summary()
        .stream_name(&name)
        .send()
        .await
        .unwrap();
    let summary = summary.stream_description_summary().unwrap();
    assert_eq!(summary.retention_period_hours(), 48);
    assert_eq!(summary.open_shard_count(), 2);
    client
        .decrease_stream_retention_period()
        .stream_name(&name)
        .retention_period_hours(24)
        .send()
        .await
        .unwrap();
    wait_active(&client, &name).await;

    client
        .update_stream_mode()
        .stream_arn(&arn)
        .stream_mode_details(
            StreamModeDetails::builder()
                .stream_mode(StreamMode::OnDemand)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    wait_active(&client, &name).await;
    let summary = client
        .describe_stream_summary()
        .stream_name(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        summary
            .stream_description_summary()
            .unwrap()
            .stream_mode_details()
            .unwrap()
            .stream_mode(),
        &StreamMode::OnDemand
    );

    client.delete_stream().stream_name(&name).send().await.unwrap();
    for _ in 0..100 {
        let listed = client.list_streams().send().await.unwrap();
        if !listed.stream_names().contains(&name) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let err = client
        .describe_stream()
        .stream_name(&name)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_resource_not_found_exception());
    server.stop().await;
}

#[tokio::test]
async fn put_and_get_records_round_trip_data_and_timestamps() {
    let server = TestServer::start().await;
    let client = server.client();
    let name = create(&client, 1).await;

    let first = client
        .put_record()
        .stream_name(&name)
        .partition_key("pk-1")
        .data(Blob::new(vec![0u8, 159, 146, 150, 255]))
        .send()
        .await
        .unwrap();
    let batch = client
        .put_records()
        .stream_name(&name)
        .records(
            aws_sdk_kinesis::types::PutRecordsRequestEntry::builder()
                .partition_key("pk-2")
                .data(Blob::new("two"))
                .build()
                .unwrap(),
        )
        .records(
            aws_sdk_kinesis::types::PutRecordsRequestEntry::builder()
                .partition_key("pk-3")
                .explicit_hash_key("0")
                .data(Blob::new("three"))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(batch.failed_record_count(), Some(0));
    assert_eq!(batch.records().len(), 2);

    let iterator = client
        .get_shard_iterator()
        .stream_name(&name)
        .shard_id(first.shard_id())
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap();
    let records = client
        .get_records()
        .shard_iterator(iterator.shard_iterator().unwrap())
        .send()
        .await
        .unwrap();
    let data: Vec<Vec<u8>> = records
        .records()
        .iter()
        .map(|r| r.data().as_ref().to_vec())
        .collect();
    assert_eq!(
        data,
        [vec![0u8, 159, 146, 150, 255], b"two".to_vec(), b"three".to_vec()]
    );
    assert_eq!(records.records()[0].sequence_number(), first.sequence_number());
    assert_eq!(records.millis_behind_latest(), Some(0));
    assert!(records.next_shard_iterator().is_some());

    // AT_TIMESTAMP with the second record's arrival time starts at (or before) it.
    let second_arrival = *records.records()[1].approximate_arrival_timestamp().unwrap();
    let at = client
        .get_shard_iterator()
        .stream_name(&name)
        .shard_id(first.shard_id())
        .shard_iterator_type(ShardIteratorType::AtTimestamp)
        .timestamp(second_arrival)
        .send()
        .await
        .unwrap();
    let from_time = client
        .get_records()
        .shard_iterator(at.shard_iterator().unwrap())
        .send()
        .await
        .unwrap();
    assert!(from_time.records().iter().any(|r| r.data().as_ref() == b"two"));
    assert!(from_time
        .records()
        .iter()
        .all(|r| r.data().as_ref() != [0u8, 159, 146, 150, 255]));

    // AFTER_SEQUENCE_NUMBER of the last record: nothing more.
    let last = records.records().last().unwrap().sequence_number().to_owned();
    let after = client
        .get_shard_iterator()
        .stream_name(&name)
        .shard_id(first.shard_id())
        .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
        .starting_sequence_number(&last)
        .send()
        .await
        .unwrap();
    let none = client
        .get_records()
        .shard_iterator(after.shard_iterator().unwrap())
        .send()
        .await
        .unwrap();
    assert!(none.records().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn resharding_and_list_shards_filters() {
    let server = TestServer::start().await;
    let client = server.client();
    let name = create(&client, 2).await;
    let shards = shard_ids(&client, &name).await;
    assert_eq!(shards.len(), 2);

    client
        .put_record()
        .stream_name(&name)
        .partition_key("a")
        .explicit_hash_key("1")
        .data(Blob::new("before split"))
        .send()
        .await
        .unwrap();
    client
        .split_shard()
        .stream_name(&name)
        .shard_to_split(&shards[0])
        .new_starting_hash_key("85070591730234615865843651857942052864")
        .send()
        .await
        .unwrap();
    wait_active(&client, &name).await;
    let after_split = client.list_shards().stream_name(&name).send().await.unwrap();
    assert_eq!(after_split.shards().len(), 4);
    let children: Vec<_> = after_split
        .shards()
        .iter()
        .filter(|s| s.parent_shard_id() == Some(shards[0].as_str()))
        .map(|s| s.shard_id().to_owned())
        .collect();
    assert_eq!(children.len(), 2);

    // The parent is closed: reading it to the end yields its record, then the children.
    let iterator = client
        .get_shard_iterator()
        .stream_name(&name)
        .shard_id(&shards[0])
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap();
    let mut next = iterator.shard_iterator().map(str::to_owned);
    let mut seen = Vec::new();
    let mut child_shards = Vec::new();
    while let Some(it) = next {
        let out = client.get_records().shard_iterator(it).send().await.unwrap();
        seen.extend(out.records().iter().map(|r| r.data().as_ref().to_vec()));
        child_shards.extend(out.child_shards().iter().map(|c| c.shard_id().to_owned()));
        next = out.next_shard_iterator().map(str::to_owned);
    }
    assert_eq!(seen, [b"before split".to_vec()]);
    child_shards.sort();
    let mut expected = children.clone();
    expected.sort();
    assert_eq!(child_shards, expected);

    // AT_LATEST lists open shards only.
    let open = client
        .list_shards()
        .stream_name(&name)
        .shard_filter(
            ShardFilter::builder()
                .r#type(ShardFilterType::AtLatest)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(open.shards().len(), 3);
    assert!(open.shards().iter().all(|s| s.shard_id() != shards[0]));

    // Merge the two children back together.
    let mut sorted = open.shards().to_vec();
    sorted.sort_by_key(|s| {
        s.hash_key_range()
            .unwrap()
            .starting_hash_key()
            .parse::<u128>()
            .unwrap()
    });
    client
        .merge_shards()
        .stream_name(&name)
        .shard_to_merge(sorted[0].shard_id())
        .adjacent_shard_to_merge(sorted[1].shard_id())
        .send()
        .await
        .unwrap();
    wait_active(&client, &name).await;
    let open = client
        .list_shards()
        .stream_name(&name)
        .shard_filter(
            ShardFilter::builder()
                .r#type(ShardFilterType::AtLatest)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(open.shards().len(), 2);

    let updated = client
        .update_shard_count()
        .stream_name(&name)
        .target_shard_count(4)
        .scaling_type(ScalingType::UniformScaling)
        .send()
        .await
        .unwrap();
    assert_eq!(updated.target_shard_count(), Some(4));
    wait_active(&client, &name).await;
    let open = client
        .list_shards()
        .stream_name(&name)
        .shard_filter(
            ShardFilter::builder()
                .r#type(ShardFilterType::AtLatest)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(open.shards().len(), 4);

    // Pagination: one shard per page.
    let mut token: Option<String> = None;
    let mut pages = 0;
    let mut total = 0;
    loop {
        let request = match &token {
            Some(t) => client.list_shards().next_token(t),
            None => client.list_shards().stream_name(&name),
        };
        let page = request.max_results(1).send().await.unwrap();
        pages += 1;
        total += page.shards().len();
        token = page.next_token().map(str::to_owned);
        if token.is_none() || pages > 50 {
            break;
        }
    }
    let all = client
        .list_shards()
        .stream_name(&name)
        .send()
        .await
        .unwrap()
        .shards()
        .len();
    assert_eq!(total, all);
    assert!(pages >= all);
    server.stop().await;
}

#[tokio::test]
async fn consumers_and_subscribe_to_shard() {
    let server = TestServer::start().await;
    let client = server.client();
    let name = create(&client, 1).await;
    let shard = shard_ids(&client, &name).await.remove(0);
    let stream_arn = client
        .describe_stream_summary()
        .stream_name(&name)
        .send()
        .await
        .unwrap()
        .stream_description_summary()
        .unwrap()
        .stream_arn()
        .to_owned();

    let registered = client
        .register_stream_consumer()
        .stream_arn(&stream_arn)
        .consumer_name("app")
        .send()
        .await
        .unwrap();
    let consumer_arn = registered.consumer().unwrap().consumer_arn().to_owned();
    for _ in 0..100 {
        let described = client
            .describe_stream_consumer()
            .consumer_arn(&consumer_arn)
            .send()
            .await
            .unwrap();
        if described.consumer_description().unwrap().consumer_status() == &ConsumerStatus::Active {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let listed = client
        .list_stream_consumers()
        .stream_arn(&stream_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.consumers().len(), 1);
    assert_eq!(listed.consumers()[0].consumer_name(), "app");

    for i in 0..3 {
        client
            .put_record()
            .stream_name(&name)
            .partition_key(format!("k{i}"))
            .data(Blob::new(format!("event-{i}")))
            .send()
            .await
            .unwrap();
    }

    let mut output = client
        .subscribe_to_shard()
        .consumer_arn(&consumer_arn)
        .shard_id(&shard)
        .starting_position(
            StartingPosition::builder()
                .r#type(ShardIteratorType::TrimHorizon)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let mut received = Vec::new();
    let mut continuation = String::new();
    while received.len() < 3 {
        let event = tokio::time::timeout(Duration::from_secs(10), output.event_stream.recv())
            .await
            .expect("no event within 10 s")
            .unwrap()
            .expect("stream ended early");
        if let SubscribeToShardEventStream::SubscribeToShardEvent(event) = event {
            received.extend(event.records().iter().map(|r| r.data().as_ref().to_vec()));
            continuation = event.continuation_sequence_number().to_owned();
        }
    }
    assert_eq!(
        received,
        [b"event-0".to_vec(), b"event-1".to_vec(), b"event-2".to_vec()]
    );
    assert!(!continuation.is_empty());
    drop(output);

    // A new record, then resubscribe after the continuation point: only the new record arrives.
    client
        .put_record()
        .stream_name(&name)
        .partition_key("k")
        .data(Blob::new("event-3"))
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await; // at most one subscription per second
    let mut output = client
        .subscribe_to_shard()
        .consumer_arn(&consumer_arn)
        .shard_id(&shard)
        .starting_position(
            StartingPosition::builder()
                .r#type(ShardIteratorType::AfterSequenceNumber)
                .sequence_number(&continuation)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let mut resumed = Vec::new();
    while resumed.is_empty() {
        let event = tokio::time::timeout(Duration::from_secs(10), output.event_stream.recv())
            .await
            .expect("no event within 10 s")
            .unwrap()
            .expect("stream ended early");
        if let SubscribeToShardEventStream::SubscribeToShardEvent(event) = event {
            resumed.extend(event.records().iter().map(|r| r.data().as_ref().to_vec()));
        }
    }
    assert_eq!(resumed, [b"event-3".to_vec()]);
    drop(output);

    client
        .deregister_stream_consumer()
        .consumer_arn(&consumer_arn)
        .send()
        .await
        .unwrap();
    for _ in 0..100 {
        let listed = client
            .list_stream_consumers()
            .stream_arn(&stream_arn)
            .send()
            .await
            .unwrap();
        if listed.consumers().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let err = client
        .describe_stream_consumer()
        .consumer_arn(&consumer_arn)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_resource_not_found_exception());
    server.stop().await;
}

#[tokio::test]
async fn service_errors_reach_the_sdk_typed() {
    let server = TestServer::start().await;
    let client = server.client();
    let err = client
        .put_record()
        .stream_name("does-not-exist")
        .partition_key("k")
        .data(Blob::new("x"))
        .send()
        .await
        .unwrap_err();
    let err = err.into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");

    let name = create(&client, 1).await;
    let err = client
        .create_stream()
        .stream_name(&name)
        .shard_count(1)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_resource_in_use_exception());

    let err = client
        .get_records()
        .shard_iterator("not-an-iterator")
        .send()
        .await
        .unwrap_err();
    let err = err.into_service_error();
    assert!(
        err.is_invalid_argument_exception() || err.meta().code() == Some("ValidationException"),
        "{err:?}"
    );

    // Timestamps in the far past are fine; iterators from them start at the trim horizon.
    let shard = shard_ids(&client, &name).await.remove(0);
    let it = client
        .get_shard_iterator()
        .stream_name(&name)
        .shard_id(shard)
        .shard_iterator_type(ShardIteratorType::AtTimestamp)
        .timestamp(DateTime::from_secs(1_000_000_000))
        .send()
        .await
        .unwrap();
    assert!(it.shard_iterator().is_some());
    server.stop().await;
}

#[tokio::test]
async fn subscription_to_a_closed_shard_ends_with_its_children() {
    let server = TestServer::start().await;
    let client = server.client();
    let name = create(&client, 1).await;
    let parent = shard_ids(&client, &name).await.remove(0);
    let stream_arn = server.emulator.stream_arn(&name);
    let consumer_arn = client
        .register_stream_consumer()
        .stream_arn(&stream_arn)
        .consumer_name("ender")
        .send()
        .await
        .unwrap()
        .consumer()
        .unwrap()
        .consumer_arn()
        .to_owned();
    client
        .put_record()
        .stream_name(&name)
        .partition_key("k")
        .data(Blob::new("last words"))
        .send()
        .await
        .unwrap();
    client
        .split_shard()
        .stream_name(&name)
        .shard_to_split(&parent)
        .new_starting_hash_key("170141183460469231731687303715884105728")
        .send()
        .await
        .unwrap();
    wait_active(&client, &name).await;

    let mut output = client
        .subscribe_to_shard()
        .consumer_arn(&consumer_arn)
        .shard_id(&parent)
        .starting_position(
            StartingPosition::builder()
                .r#type(ShardIteratorType::TrimHorizon)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let mut records = Vec::new();
    let mut children = Vec::new();
    loop {
        let next = tokio::time::timeout(Duration::from_secs(10), output.event_stream.recv())
            .await
            .expect("no event within 10 s")
            .unwrap();
        match next {
            Some(SubscribeToShardEventStream::SubscribeToShardEvent(event)) => {
                records.extend(event.records().iter().map(|r| r.data().as_ref().to_vec()));
                children.extend(event.child_shards().iter().map(|c| c.shard_id().to_owned()));
            }
            Some(_) => {}
            None => break,
        }
    }
    assert_eq!(records, [b"last words".to_vec()]);
    assert_eq!(children.len(), 2, "{children:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_newer_subscription_takes_over_with_resource_in_use() {
    let server = TestServer::start().await;
    let client = server.client();
    let name = create(&client, 1).await;
    let shard = shard_ids(&client, &name).await.remove(0);
    let consumer_arn = client
        .register_stream_consumer()
        .stream_arn(server.emulator.stream_arn(&name))
        .consumer_name("twice")
        .send()
        .await
        .unwrap()
        .consumer()
        .unwrap()
        .consumer_arn()
        .to_owned();
    let subscribe = || {
        client
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
    };
    let mut first = subscribe().await.unwrap();
    // The first event comes at once.
    let event = tokio::time::timeout(Duration::from_secs(10), first.event_stream.recv())
        .await
        .unwrap();
    assert!(matches!(
        event,
        Ok(Some(SubscribeToShardEventStream::SubscribeToShardEvent(_)))
    ));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let _second = subscribe().await.unwrap();
    let ended = loop {
        match tokio::time::timeout(Duration::from_secs(10), first.event_stream.recv())
            .await
            .unwrap()
        {
            Ok(Some(_)) => continue,
            other => break other,
        }
    };
    let err = ended.expect_err("the first subscription should end with an error");
    let err = err.into_service_error();
    assert!(err.is_resource_in_use_exception(), "{err:?}");
    server.stop().await;
}

/// A client for `endpoint` configured for `region` (static test credentials, no retries).
fn client_in(endpoint: &str, region: &str) -> aws_sdk_kinesis::Client {
    let config = aws_sdk_kinesis::Config::builder()
        .behavior_version(aws_sdk_kinesis::config::BehaviorVersion::latest())
        .region(aws_sdk_kinesis::config::Region::new(region.to_owned()))
        .credentials_provider(aws_sdk_kinesis::config::Credentials::new(
            "test", "test", None, None, "static",
        ))
        .endpoint_url(endpoint)
        .retry_config(aws_sdk_kinesis::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_kinesis::Client::from_conf(config)
}

#[tokio::test]
async fn each_region_signed_for_has_its_own_streams_and_arns() {
    let server = TestServer::start().await;
    let west = client_in(&server.endpoint, "us-west-2");
    let east = client_in(&server.endpoint, "us-east-1");
    let name = create(&west, 1).await;
    let summary = west
        .describe_stream_summary()
        .stream_name(&name)
        .send()
        .await
        .unwrap()
        .stream_description_summary
        .unwrap();
    let arn = summary.stream_arn;
    assert!(
        arn.starts_with("arn:aws:kinesis:us-west-2:000000000000:stream/"),
        "{arn}"
    );
    // Addressed by its ARN from the region it lives in.
    let shards = west.list_shards().stream_arn(&arn).send().await.unwrap();
    assert_eq!(shards.shards().len(), 1);
    west.put_record()
        .stream_arn(&arn)
        .partition_key("k")
        .data(Blob::new("west"))
        .send()
        .await
        .unwrap();
    // Other regions do not see it, as in AWS; the server's own region is us-east-1.
    let err = east
        .describe_stream_summary()
        .stream_name(&name)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
    assert!(east
        .list_streams()
        .send()
        .await
        .unwrap()
        .stream_names()
        .is_empty());
    let in_process = server.emulator.list_streams(Default::default()).await.unwrap();
    assert!(
        in_process.stream_names.is_empty(),
        "the server's own emulator is us-east-1's"
    );
    server.stop().await;
}
