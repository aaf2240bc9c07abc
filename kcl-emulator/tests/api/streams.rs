//! Stream lifecycle: create, delete, describe, list, tags, retention, mode, ARNs, status transitions.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::support::*;
use kcl_emulator::types::*;

#[tokio::test]
async fn create_describe_and_hash_ranges() {
    let e = emulator();
    create(&e, "s", 3).await;
    let d = e
        .describe_stream(DescribeStreamInput {
            stream_name: Some("s".into()),
            ..Default::default()
        })
        .await
        .expect("describe")
        .stream_description;
    assert_eq!(d.stream_name, "s");
    assert_eq!(d.stream_arn, "arn:aws:kinesis:us-east-1:000000000000:stream/s");
    assert_eq!(d.stream_status, StreamStatus::Active);
    assert_eq!(d.retention_period_hours, 24);
    assert!(!d.has_more_shards);
    let ids: Vec<_> = d.shards.iter().map(|s| s.shard_id.as_str()).collect();
    assert_eq!(ids, [SHARD0, SHARD1, SHARD2]);
    // Ranges tile the 128-bit space evenly.
    let first: u128 = d.shards[0]
        .hash_key_range
        .starting_hash_key
        .parse()
        .expect("number");
    let last: u128 = d.shards[2]
        .hash_key_range
        .ending_hash_key
        .parse()
        .expect("number");
    assert_eq!((first, last), (0, u128::MAX));
    for w in d.shards.windows(2) {
        let end: u128 = w[0].hash_key_range.ending_hash_key.parse().expect("number");
        let start: u128 = w[1].hash_key_range.starting_hash_key.parse().expect("number");
        assert_eq!(end + 1, start);
    }
    for s in &d.shards {
        assert!(s.parent_shard_id.is_none());
        assert!(s.sequence_number_range.ending_sequence_number.is_none());
    }
}

#[tokio::test]
async fn describe_stream_paginates_shards() {
    let e = emulator();
    create(&e, "s", 5).await;
    let page = |start: Option<&str>| {
        let e = e.clone();
        let start = start.map(str::to_owned);
        async move {
            e.describe_stream(DescribeStreamInput {
                stream_name: Some("s".into()),
                limit: Some(2),
                exclusive_start_shard_id: start,
                ..Default::default()
            })
            .await
            .expect("describe")
            .stream_description
        }
    };
    let p1 = page(None).await;
    assert_eq!(p1.shards.len(), 2);
    assert!(p1.has_more_shards);
    let p3 = page(Some("shardId-000000000003")).await;
    assert_eq!(p3.shards.len(), 1);
    assert_eq!(p3.shards[0].shard_id, "shardId-000000000004");
    assert!(!p3.has_more_shards);
    let bad = e
        .describe_stream(DescribeStreamInput {
            stream_name: Some("s".into()),
            limit: Some(0),
            ..Default::default()
        })
        .await;
    assert_eq!(code(bad), "ValidationException");
}

#[tokio::test]
async fn create_errors() {
    let e = emulator_with(|b| b.without_throughput_limits().shard_limit(10));
    create(&e, "s", 2).await;
    let again = e
        .create_stream(CreateStreamInput {
            stream_name: "s".into(),
            shard_count: Some(1),
            ..Default::default()
        })
        .await;
    assert_eq!(code(again), "ResourceInUseException");
    for (name, count) in [
        ("", Some(1)),
        ("bad name", Some(1)),
        ("ok", Some(0)),
        ("ok", Some(-3)),
    ] {
        let r = e
            .create_stream(CreateStreamInput {
                stream_name: name.into(),
                shard_count: count,
                ..Default::default()
            })
            .await;
        assert_eq!(code(r), "ValidationException", "{name} {count:?}");
    }
    let missing = e
        .create_stream(CreateStreamInput {
            stream_name: "nocount".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(code(missing), "InvalidArgumentException");
    let too_many = e
        .create_stream(CreateStreamInput {
            stream_name: "big".into(),
            shard_count: Some(9),
            ..Default::default()
        })
        .await;
    assert_eq!(code(too_many), "LimitExceededException");
}

#[tokio::test]
async fn on_demand_streams_start_with_four_shards_and_refuse_manual_resharding() {
    let e = emulator();
    e.create_stream(CreateStreamInput {
        stream_name: "od".into(),
        stream_mode_details: Some(StreamModeDetails {
            stream_mode: StreamMode::OnDemand,
        }),
        ..Default::default()
    })
    .await
    .expect("create on-demand");
    assert_eq!(shards(&e, "od").await.len(), 4);
    let split = e
        .update_shard_count(UpdateShardCountInput {
            stream_name: Some("od".into()),
            target_shard_count: 8,
            ..Default::default()
        })
        .await;
    assert_eq!(code(split), "ValidationException");
    // Switch to provisioned and it works.
    e.update_stream_mode(UpdateStreamModeInput {
        stream_arn: e.stream_arn("od"),
        stream_mode_details: StreamModeDetails {
            stream_mode: StreamMode::Provisioned,
        },
        ..Default::default()
    })
    .await
    .expect("mode switch");
    let summary = e
        .describe_stream_summary(DescribeStreamSummaryInput {
            stream_arn: Some(e.stream_arn("od")),
            ..Default::default()
        })
        .await
        .expect("summary")
        .stream_description_summary;
    assert_eq!(
        summary.stream_mode_details.map(|d| d.stream_mode),
        Some(StreamMode::Provisioned)
    );
    assert_eq!(summary.open_shard_count, 4);
    e.update_shard_count(UpdateShardCountInput {
        stream_name: Some("od".into()),
        target_shard_count: 8,
        ..Default::default()
    })
    .await
    .expect("scale provisioned");
    let same = e
        .update_stream_mode(UpdateStreamModeInput {
            stream_arn: e.stream_arn("od"),
            stream_mode_details: StreamModeDetails {
                stream_mode: StreamMode::Provisioned,
            },
            ..Default::default()
        })
        .await;
    assert_eq!(code(same), "InvalidArgumentException");
}

#[tokio::test]
async fn delete_then_recreate_invalidates_old_iterators() {
    let e = emulator();
    create(&e, "s", 1).await;
    put(&e, "s", "k", "old").await;
    let it = iterator(&e, "s", SHARD0, ShardIteratorType::TrimHorizon).await;
    e.delete_stream(DeleteStreamInput {
        stream_name: Some("s".into()),
        ..Default::default()
    })
    .await
    .expect("delete");
    let gone = e
        .describe_stream(DescribeStreamInput {
            stream_name: Some("s".into()),
            ..Default::default()
        })
        .await;
    assert_eq!(code(gone), "ResourceNotFoundException");
    assert_eq!(
        code(try_put(&e, "s", "k", "x").await),
        "ResourceNotFoundException"
    );
    create(&e, "s", 1).await;
    let stale = e
        .get_records(GetRecordsInput {
            shard_iterator: it,
            ..Default::default()
        })
        .await;
    assert_eq!(code(stale), "ResourceNotFoundException");
    let (records, _) = read_all(&e, "s", SHARD0).await;
    assert!(records.is_empty(), "a re-created stream starts empty");
    let missing = e
        .delete_stream(DeleteStreamInput {
            stream_name: Some("nope".into()),
            ..Default::default()
        })
        .await;
    assert_eq!(code(missing), "ResourceNotFoundException");
}

#[tokio::test(start_paused = true)]
async fn status_transitions_follow_configured_delays() {
    let e = emulator_with(|b| {
        b.without_throughput_limits()
            .creating_delay(Duration::from_secs(10))
            .updating_delay(Duration::from_secs(5))
            .deleting_delay(Duration::from_secs(3))
    });
    create(&e, "s", 1).await;
    assert_eq!(status(&e, "s").await, StreamStatus::Creating);
    assert_eq!(
        code(try_put(&e, "s", "k", "x").await),
        "ResourceNotFoundException"
    );
    tokio::time::advance(Duration::from_secs(10)).await;
    assert_eq!(status(&e, "s").await, StreamStatus::Active);
    put(&e, "s", "k", "x").await;

    e.split_shard(SplitShardInput {
        stream_name: Some("s".into()),
        shard_to_split: SHARD0.into(),
        new_starting_hash_key: (1u128 << 127).to_string(),
        ..Default::default()
    })
    .await
    .expect("split");
    assert_eq!(status(&e, "s").await, StreamStatus::Updating);
    // Writes continue while UPDATING; a second reshard must wait.
    put(&e, "s", "k", "y").await;
    let busy = e
        .merge_shards(MergeShardsInput {
            stream_name: Some("s".into()),
            shard_to_merge: SHARD1.into(),
            adjacent_shard_to_merge: SHARD2.into(),
            ..Default::default()
        })
        .await;
    assert_eq!(code(busy), "ResourceInUseException");
    tokio::time::advance(Duration::from_secs(5)).await;
    assert_eq!(status(&e, "s").await, StreamStatus::Active);

    e.delete_stream(DeleteStreamInput {
        stream_name: Some("s".into()),
        ..Default::default()
    })
    .await
    .expect("delete");
    assert_eq!(status(&e, "s").await, StreamStatus::Deleting);
    tokio::time::advance(Duration::from_secs(3)).await;
    let gone = e
        .describe_stream_summary(DescribeStreamSummaryInput {
            stream_name: Some("s".into()),
            ..Default::default()
        })
        .await;
    assert_eq!(code(gone), "ResourceNotFoundException");
}

#[tokio::test(start_paused = true)]
async fn list_streams_paginates() {
    let e = emulator();
    for name in ["c", "a", "e", "b", "d"] {
        create(&e, name, 1).await;
    }
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let page = e
            .list_streams(ListStreamsInput {
                limit: Some(2),
                next_token: token.take(),
                ..Default::default()
            })
            .await
            .expect("list");
        assert_eq!(page.stream_names.len(), page.stream_summaries.len());
        names.extend(page.stream_names);
        match page.next_token {
            Some(t) => {
                assert!(page.has_more_streams);
                token = Some(t);
            }
            None => {
                assert!(!page.has_more_streams);
                break;
            }
        }
    }
    assert_eq!(names, ["a", "b", "c", "d", "e"]);
    let after = e
        .list_streams(ListStreamsInput {
            exclusive_start_stream_name: Some("c".into()),
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(after.stream_names, ["d", "e"]);
    let forged = e
        .list_streams(ListStreamsInput {
            next_token: Some("Zm9yZ2Vk".into()),
            ..Default::default()
        })
        .await;
    assert_eq!(code(forged), "InvalidArgumentException");

    // A NextToken lasts 300 s, as AWS's do, and one listing's token is not another's.
    let token = e
        .list_streams(ListStreamsInput {
            limit: Some(2),
            ..Default::default()
        })
        .await
        .expect("list")
        .next_token
        .expect("more streams");
    let again = |token: &String| {
        e.list_streams(ListStreamsInput {
            next_token: Some(token.clone()),
            ..Default::default()
        })
    };
    let foreign = e
        .list_queues(ListQueuesInput {
            next_token: Some(token.clone()),
            ..Default::default()
        })
        .await;
    assert_eq!(code(foreign), "InvalidArgumentException");
    tokio::time::advance(Duration::from_secs(299)).await;
    assert_eq!(
        again(&token).await.expect("a 299 s old token").stream_names,
        ["c", "d", "e"]
    );
    tokio::time::advance(Duration::from_secs(2)).await;
    assert_eq!(code(again(&token).await), "ExpiredNextTokenException");
}

#[tokio::test]
async fn tags_add_list_remove() {
    let e = emulator();
    create(&e, "s", 1).await;
    let tags: BTreeMap<_, _> = (0..5).map(|i| (format!("k{i}"), format!("v{i}"))).collect();
    e.add_tags_to_stream(AddTagsToStreamInput {
        stream_name: Some("s".into()),
        tags,
        ..Default::default()
    })
    .await
    .expect("add tags");
    let page = e
        .list_tags_for_stream(ListTagsForStreamInput {
            stream_arn: Some(e.stream_arn("s")),
            limit: Some(3),
            ..Default::default()
        })
        .await
        .expect("list tags");
    assert_eq!(page.tags.len(), 3);
    assert!(page.has_more_tags);
    assert_eq!(page.tags[0].key, "k0");
    assert_eq!(page.tags[0].value.as_deref(), Some("v0"));
    let rest = e
        .list_tags_for_stream(ListTagsForStreamInput {
            stream_name: Some("s".into()),
            exclusive_start_tag_key: Some("k2".into()),
            ..Default::default()
        })
        .await
        .expect("list tags");
    assert_eq!(
        rest.tags.iter().map(|t| t.key.as_str()).collect::<Vec<_>>(),
        ["k3", "k4"]
    );
    assert!(!rest.has_more_tags);
    e.remove_tags_from_stream(RemoveTagsFromStreamInput {
        stream_name: Some("s".into()),
        tag_keys: vec!["k0".into(), "absent".into()],
        ..Default::default()
    })
    .await
    .expect("remove");
    let all = e
        .list_tags_for_stream(ListTagsForStreamInput {
            stream_name: Some("s".into()),
            ..Default::default()
        })
        .await
        .expect("list tags");
    assert_eq!(all.tags.len(), 4);
    // 50 tags per stream at most.
    let many: BTreeMap<_, _> = (0..47).map(|i| (format!("x{i}"), String::new())).collect();
    let over = e
        .add_tags_to_stream(AddTagsToStreamInput {
            stream_name: Some("s".into()),
            tags: many,
            ..Default::default()
        })
        .await;
    assert_eq!(code(over), "InvalidArgumentException");
    let empty = e
        .add_tags_to_stream(AddTagsToStreamInput {
            stream_name: Some("s".into()),
            ..Default::default()
        })
        .await;
    assert_eq!(code(empty), "ValidationException");
}

#[tokio::test]
async fn retention_bounds_and_direction() {
    let e = emulator();
    create(&e, "s", 1).await;
    let inc = |h: i32| {
        let e = e.clone();
        async move {
            e.increase_stream_retention_period(IncreaseStreamRetentionPeriodInput {
                stream_name: Some("s".into()),
                retention_period_hours: h,
                ..Default::default()
            })
            .await
        }
    };
    let dec = |h: i32| {
        let e = e.clone();
        async move {
            e.decrease_stream_retention_period(DecreaseStreamRetentionPeriodInput {
                stream_name: Some("s".into()),
                retention_period_hours: h,
                ..Default::default()
            })
            .await
        }
    };
    inc(48).await.expect("increase");
    assert_eq!(code(inc(24).await), "InvalidArgumentException");
    assert_eq!(code(inc(8761).await), "InvalidArgumentException");
    assert_eq!(code(dec(72).await), "InvalidArgumentException");
    assert_eq!(code(dec(23).await), "InvalidArgumentException");
    assert_eq!(code(dec(0).await), "ValidationException");
    inc(8760).await.expect("max");
    dec(24).await.expect("decrease");
    let d = e
        .describe_stream_summary(DescribeStreamSummaryInput {
            stream_name: Some("s".into()),
            ..Default::default()
        })
        .await
        .expect("summary");
    assert_eq!(d.stream_description_summary.retention_period_hours, 24);
}

#[tokio::test]
async fn stream_arns_are_accepted_and_checked() {
    let e = emulator_with(|b| {
        b.without_throughput_limits()
            .region("eu-west-1")
            .account_id("123456789012")
    });
    create(&e, "s", 1).await;
    let arn = "arn:aws:kinesis:eu-west-1:123456789012:stream/s";
    assert_eq!(e.stream_arn("s"), arn);
    let out = e
        .put_record(PutRecordInput {
            stream_arn: Some(arn.into()),
            data: "x".into(),
            partition_key: "k".into(),
            ..Default::default()
        })
        .await
        .expect("put by arn");
    assert_eq!(out.shard_id, SHARD0);
    let both = e
        .describe_stream(DescribeStreamInput {
            stream_name: Some("s".into()),
            stream_arn: Some(arn.into()),
            ..Default::default()
        })
        .await
        .expect("both agree");
    assert_eq!(both.stream_description.stream_arn, arn);
    let mismatch = e
        .describe_stream(DescribeStreamInput {
            stream_name: Some("other".into()),
            stream_arn: Some(arn.into()),
            ..Default::default()
        })
        .await;
    assert_eq!(code(mismatch), "InvalidArgumentException");
    let neither = e.describe_stream(DescribeStreamInput::default()).await;
    assert_eq!(code(neither), "InvalidArgumentException");
    let other_region = e
        .describe_stream(DescribeStreamInput {
            stream_arn: Some("arn:aws:kinesis:us-east-1:123456789012:stream/s".into()),
            ..Default::default()
        })
        .await;
    assert_eq!(code(other_region), "ResourceNotFoundException");
    let malformed = e
        .describe_stream(DescribeStreamInput {
            stream_arn: Some("arn:aws:kinesis:eu-west-1:123456789012:s".into()),
            ..Default::default()
        })
        .await;
    assert_eq!(code(malformed), "ValidationException");
}

#[tokio::test]
async fn debug_output_is_a_summary_not_the_records() {
    let e = emulator();
    create(&e, "s", 1).await;
    put(&e, "s", "k", "secret-payload").await;
    let text = format!("{e:?}");
    assert!(text.contains("streams: 1"), "{text}");
    assert!(!text.contains("secret"), "{text}");
}
