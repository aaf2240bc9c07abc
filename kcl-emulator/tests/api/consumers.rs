//! Stream consumers (register, describe, list, deregister) and SubscribeToShard event streams.

use std::time::Duration;

use crate::support::*;
use futures::StreamExt;
use kcl_emulator::types::*;
use kcl_emulator::{Emulator, Subscription};

async fn register(e: &Emulator, name: &str) -> Consumer {
    e.register_stream_consumer(RegisterStreamConsumerInput {
        stream_arn: e.stream_arn("s"),
        consumer_name: name.into(),
        ..Default::default()
    })
    .await
    .expect("register")
    .consumer
}

async fn subscribe(
    e: &Emulator,
    consumer: &Consumer,
    shard: &str,
    position: StartingPosition,
) -> Subscription {
    try_subscribe(e, consumer, shard, position)
        .await
        .expect("subscribe")
}

async fn try_subscribe(
    e: &Emulator,
    consumer: &Consumer,
    shard: &str,
    position: StartingPosition,
) -> Result<Subscription, kcl_emulator::KinesisError> {
    e.subscribe_to_shard(SubscribeToShardInput {
        consumer_arn: consumer.consumer_arn.clone(),
        shard_id: shard.into(),
        starting_position: position,
    })
    .await
}

fn trim_horizon() -> StartingPosition {
    StartingPosition {
        position_type: ShardIteratorType::TrimHorizon,
        ..Default::default()
    }
}

async fn next_event(sub: &mut Subscription) -> SubscribeToShardEvent {
    sub.next().await.expect("an item").expect("an event")
}

#[tokio::test(start_paused = true)]
async fn register_describe_list_deregister() {
    let e = emulator_with(|b| {
        b.without_throughput_limits()
            .consumer_delay(Duration::from_secs(5))
            .max_consumers_per_stream(3)
    });
    create(&e, "s", 1).await;
    let c = register(&e, "app").await;
    assert_eq!(c.consumer_status, ConsumerStatus::Creating);
    assert!(c
        .consumer_arn
        .starts_with("arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/app:"));
    let busy = try_subscribe(&e, &c, SHARD0, trim_horizon()).await;
    assert_eq!(code(busy), "ResourceInUseException", "not ACTIVE yet");
    tokio::time::advance(Duration::from_secs(5)).await;
    let by_arn = e
        .describe_stream_consumer(DescribeStreamConsumerInput {
            consumer_arn: Some(c.consumer_arn.clone()),
            ..Default::default()
        })
        .await
        .expect("describe by arn")
        .consumer_description;
    assert_eq!(by_arn.consumer_status, ConsumerStatus::Active);
    assert_eq!(by_arn.stream_arn, e.stream_arn("s"));
    let by_name = e
        .describe_stream_consumer(DescribeStreamConsumerInput {
            stream_arn: Some(e.stream_arn("s")),
            consumer_name: Some("app".into()),
            ..Default::default()
        })
        .await
        .expect("describe by name")
        .consumer_description;
    assert_eq!(by_name.consumer_arn, c.consumer_arn);
    let dup = e
        .register_stream_consumer(RegisterStreamConsumerInput {
            stream_arn: e.stream_arn("s"),
            consumer_name: "app".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(code(dup), "ResourceInUseException");
    register(&e, "b").await;
    register(&e, "c").await;
    let over = e
        .register_stream_consumer(RegisterStreamConsumerInput {
            stream_arn: e.stream_arn("s"),
            consumer_name: "d".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(code(over), "LimitExceededException");

    let mut names = Vec::new();
    let mut token = None;
    loop {
        let page = e
            .list_stream_consumers(ListStreamConsumersInput {
                stream_arn: e.stream_arn("s"),
                max_results: Some(2),
                next_token: token.take(),
                ..Default::default()
            })
            .await
            .expect("list");
        names.extend(page.consumers.into_iter().map(|c| c.consumer_name));
        match page.next_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    assert_eq!(names, ["app", "b", "c"]);

    e.deregister_stream_consumer(DeregisterStreamConsumerInput {
        consumer_arn: Some(c.consumer_arn.clone()),
        ..Default::default()
    })
    .await
    .expect("deregister");
    let deleting = e
        .describe_stream_consumer(DescribeStreamConsumerInput {
            consumer_arn: Some(c.consumer_arn.clone()),
            ..Default::default()
        })
        .await
        .expect("still there while DELETING");
    assert_eq!(
        deleting.consumer_description.consumer_status,
        ConsumerStatus::Deleting
    );
    tokio::time::advance(Duration::from_secs(5)).await;
    let gone = e
        .describe_stream_consumer(DescribeStreamConsumerInput {
            consumer_arn: Some(c.consumer_arn.clone()),
            ..Default::default()
        })
        .await;
    assert_eq!(code(gone), "ResourceNotFoundException");
    let neither = e
        .describe_stream_consumer(DescribeStreamConsumerInput::default())
        .await;
    assert_eq!(code(neither), "InvalidArgumentException");
    let malformed = e
        .describe_stream_consumer(DescribeStreamConsumerInput {
            consumer_arn: Some("arn:aws:kinesis:nope".into()),
            ..Default::default()
        })
        .await;
    assert_eq!(code(malformed), "ValidationException");
}

#[tokio::test]
async fn deleting_a_stream_with_consumers_needs_enforcement() {
    let e = emulator();
    create(&e, "s", 1).await;
    register(&e, "app").await;
    let refused = e
        .delete_stream(DeleteStreamInput {
            stream_name: Some("s".into()),
            ..Default::default()
        })
        .await;
    assert_eq!(code(refused), "ResourceInUseException");
    e.delete_stream(DeleteStreamInput {
        stream_name: Some("s".into()),
        enforce_consumer_deletion: Some(true),
        ..Default::default()
    })
    .await
    .expect("enforced delete");
}

#[tokio::test(start_paused = true)]
async fn events_carry_records_continuation_and_heartbeats() {
    let e = emulator();
    create(&e, "s", 1).await;
    let c = register(&e, "app").await;
    put(&e, "s", "k", "r0").await;
    let mut sub = subscribe(&e, &c, SHARD0, trim_horizon()).await;
    let first = next_event(&mut sub).await;
    assert_eq!(data_of(&first.records), ["r0"]);
    assert_eq!(
        first.continuation_sequence_number.as_deref(),
        Some(first.records[0].sequence_number.as_str())
    );
    assert_eq!(first.millis_behind_latest, 0);
    assert!(first.child_shards.is_none());

    // Records put later arrive promptly, without waiting for a heartbeat.
    let e2 = e.clone();
    let writer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        put(&e2, "s", "k", "r1").await;
        put(&e2, "s", "k", "r2").await;
    });
    let before = e.clock().now_millis();
    let mut got = Vec::new();
    while got.len() < 2 {
        got.extend(data_of(&next_event(&mut sub).await.records));
    }
    writer.await.expect("writer");
    assert_eq!(got, ["r1", "r2"]);
    assert!(e.clock().now_millis() - before < 5_000);

    // Idle: an empty heartbeat every five seconds, whose continuation is the last record.
    let start = e.clock().now_millis();
    let hb = next_event(&mut sub).await;
    assert!(hb.records.is_empty());
    assert!(e.clock().now_millis() - start >= 4_900);
    let last = hb.continuation_sequence_number.expect("continuation");

    // A new subscription resumes after the continuation.
    tokio::time::advance(Duration::from_secs(1)).await;
    put(&e, "s", "k", "r3").await;
    let mut resumed = subscribe(
        &e,
        &c,
        SHARD0,
        StartingPosition {
            position_type: ShardIteratorType::AfterSequenceNumber,
            sequence_number: Some(last),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(data_of(&next_event(&mut resumed).await.records), ["r3"]);
}

#[tokio::test(start_paused = true)]
async fn a_second_subscription_takes_over_and_calls_are_rate_limited() {
    let e = emulator();
    create(&e, "s", 1).await;
    let c = register(&e, "app").await;
    let mut first = subscribe(&e, &c, SHARD0, trim_horizon()).await;
    next_event(&mut first).await;
    let too_soon = try_subscribe(&e, &c, SHARD0, trim_horizon()).await;
    assert_eq!(code(too_soon), "LimitExceededException");
    tokio::time::advance(Duration::from_secs(1)).await;
    let mut second = subscribe(&e, &c, SHARD0, trim_horizon()).await;
    let err = first.next().await.expect("an item").expect_err("taken over");
    assert_eq!(err.code(), "ResourceInUseException");
    assert!(first.next().await.is_none(), "ends after the error");
    next_event(&mut second).await;
    // Another consumer is independent.
    let other = register(&e, "other").await;
    let mut third = subscribe(&e, &other, SHARD0, trim_horizon()).await;
    next_event(&mut third).await;
}

#[tokio::test(start_paused = true)]
async fn subscriptions_end_after_five_minutes() {
    let e = emulator();
    create(&e, "s", 1).await;
    let c = register(&e, "app").await;
    let start = e.clock().now_millis();
    let mut sub = subscribe(&e, &c, SHARD0, trim_horizon()).await;
    let mut events = 0;
    while let Some(item) = sub.next().await {
        item.expect("heartbeat");
        events += 1;
    }
    let elapsed = e.clock().now_millis() - start;
    assert_eq!(elapsed, 300_000);
    assert_eq!(
        events, 60,
        "one at once, then a heartbeat every 5 s until the 5-minute end"
    );
}

#[tokio::test(start_paused = true)]
async fn the_end_of_a_closed_shard_carries_child_shards() {
    let e = emulator();
    create(&e, "s", 1).await;
    let c = register(&e, "app").await;
    put(&e, "s", "k", "r0").await;
    let mut sub = subscribe(&e, &c, SHARD0, trim_horizon()).await;
    assert_eq!(data_of(&next_event(&mut sub).await.records), ["r0"]);
    e.split_shard(SplitShardInput {
        stream_name: Some("s".into()),
        shard_to_split: SHARD0.into(),
        new_starting_hash_key: (1u128 << 127).to_string(),
        ..Default::default()
    })
    .await
    .expect("split");
    let last = next_event(&mut sub).await;
    assert!(last.continuation_sequence_number.is_none());
    let children = last.child_shards.expect("children");
    assert_eq!(children.len(), 2);
    assert!(sub.next().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn deregistering_ends_subscriptions() {
    let e = emulator();
    create(&e, "s", 1).await;
    let c = register(&e, "app").await;
    let mut sub = subscribe(&e, &c, SHARD0, trim_horizon()).await;
    next_event(&mut sub).await;
    e.deregister_stream_consumer(DeregisterStreamConsumerInput {
        stream_arn: Some(e.stream_arn("s")),
        consumer_name: Some("app".into()),
        ..Default::default()
    })
    .await
    .expect("deregister");
    let err = sub.next().await.expect("an item").expect_err("consumer gone");
    assert_eq!(err.code(), "ResourceNotFoundException");
    assert!(sub.next().await.is_none());
    let gone = try_subscribe(&e, &c, SHARD0, trim_horizon()).await;
    assert_eq!(code(gone), "ResourceNotFoundException");
}

#[tokio::test]
async fn subscribe_errors() {
    let e = emulator();
    create(&e, "s", 1).await;
    let c = register(&e, "app").await;
    let unknown = try_subscribe(&e, &c, "shardId-000000000005", trim_horizon()).await;
    assert_eq!(code(unknown), "ResourceNotFoundException");
    let no_seq = try_subscribe(
        &e,
        &c,
        SHARD0,
        StartingPosition {
            position_type: ShardIteratorType::AtSequenceNumber,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(code(no_seq), "InvalidArgumentException");
    let bad_arn = e
        .subscribe_to_shard(SubscribeToShardInput {
            consumer_arn: "nope".into(),
            shard_id: SHARD0.into(),
            starting_position: trim_horizon(),
        })
        .await;
    assert_eq!(code(bad_arn), "ValidationException");
}

#[tokio::test(start_paused = true)]
async fn enhanced_fan_out_is_paced_at_two_mib_per_second() {
    let e = emulator_with(|b| {
        b.throughput_limits(kcl_emulator::ThroughputLimits {
            write_bytes_per_sec: None,
            write_records_per_sec: None,
            ..kcl_emulator::ThroughputLimits::AWS
        })
    });
    create(&e, "s", 1).await;
    let c = register(&e, "app").await;
    for _ in 0..6 {
        e.put_record(PutRecordInput {
            stream_name: Some("s".into()),
            data: bytes::Bytes::from(vec![0u8; 1024 * 1024 - 8]),
            partition_key: "k".into(),
            ..Default::default()
        })
        .await
        .expect("put");
    }
    let start = e.clock().now_millis();
    let mut sub = subscribe(&e, &c, SHARD0, trim_horizon()).await;
    let mut got = 0;
    while got < 6 {
        let event = next_event(&mut sub).await;
        assert!(event.records.len() <= 2, "at most 2 MiB per event");
        got += event.records.len();
    }
    let elapsed = e.clock().now_millis() - start;
    // A 2 MiB burst, then 2 MiB/s (one record may overdraw the budget): about 1.5 s for 6 MiB.
    assert!(
        elapsed >= 1_400,
        "6 MiB at 2 MiB/s takes about 1.5 s, took {elapsed} ms"
    );
    assert!(elapsed < 5_000, "but is not starved, took {elapsed} ms");
}

#[test]
fn handles_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Emulator>();
    send_sync::<kcl_emulator::Faults>();
    send_sync::<kcl_emulator::KinesisError>();
    send::<Subscription>();
}

#[tokio::test(start_paused = true)]
async fn deleting_the_stream_ends_subscriptions() {
    let e = emulator();
    create(&e, "s", 1).await;
    let c = register(&e, "app").await;
    let mut sub = subscribe(&e, &c, SHARD0, trim_horizon()).await;
    next_event(&mut sub).await;
    e.delete_stream(DeleteStreamInput {
        stream_name: Some("s".into()),
        enforce_consumer_deletion: Some(true),
        ..Default::default()
    })
    .await
    .expect("delete");
    let err = sub.next().await.expect("an item").expect_err("stream gone");
    assert_eq!(err.code(), "ResourceNotFoundException");
    assert!(sub.next().await.is_none());
}
