//! ListShards: pagination, NextToken rules and every ShardFilter type.

use std::time::{Duration, UNIX_EPOCH};

use crate::support::*;
use kcl_emulator::types::*;
use kcl_emulator::Emulator;

const HALF: u128 = 1 << 127;

async fn list(e: &Emulator, input: ListShardsInput) -> Result<ListShardsOutput, kcl_emulator::KinesisError> {
    e.list_shards(input).await
}

fn ids(out: &ListShardsOutput) -> Vec<String> {
    out.shards.iter().map(|s| s.shard_id.clone()).collect()
}

async fn filtered(e: &Emulator, filter: ShardFilter) -> Vec<String> {
    ids(&list(
        e,
        ListShardsInput {
            stream_name: Some("s".into()),
            shard_filter: Some(filter),
            ..Default::default()
        },
    )
    .await
    .expect("list"))
}

#[tokio::test(start_paused = true)]
async fn pagination_with_next_token() {
    let e = emulator();
    create(&e, "s", 5).await;
    let first = list(
        &e,
        ListShardsInput {
            stream_name: Some("s".into()),
            max_results: Some(2),
            ..Default::default()
        },
    )
    .await
    .expect("page 1");
    assert_eq!(ids(&first), [SHARD0, SHARD1]);
    let token = first.next_token.expect("more pages");
    let with_name = list(
        &e,
        ListShardsInput {
            stream_name: Some("s".into()),
            next_token: Some(token.clone()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        code(with_name),
        "InvalidArgumentException",
        "NextToken excludes StreamName"
    );
    let second = list(
        &e,
        ListShardsInput {
            next_token: Some(token.clone()),
            max_results: Some(10),
            ..Default::default()
        },
    )
    .await
    .expect("page 2");
    assert_eq!(
        ids(&second),
        [SHARD2, "shardId-000000000003", "shardId-000000000004"]
    );
    assert!(second.next_token.is_none());
    let after = list(
        &e,
        ListShardsInput {
            stream_name: Some("s".into()),
            exclusive_start_shard_id: Some(SHARD2.into()),
            ..Default::default()
        },
    )
    .await
    .expect("after");
    assert_eq!(ids(&after), ["shardId-000000000003", "shardId-000000000004"]);
    tokio::time::advance(Duration::from_secs(301)).await;
    let expired = list(
        &e,
        ListShardsInput {
            next_token: Some(token),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(code(expired), "ExpiredNextTokenException");
    let forged = list(
        &e,
        ListShardsInput {
            next_token: Some("Zm9v".into()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(code(forged), "InvalidArgumentException");
    for bad in [0, 10_001] {
        let r = list(
            &e,
            ListShardsInput {
                stream_name: Some("s".into()),
                max_results: Some(bad),
                ..Default::default()
            },
        )
        .await;
        assert_eq!(code(r), "ValidationException");
    }
    let missing = list(&e, ListShardsInput::default()).await;
    assert_eq!(code(missing), "InvalidArgumentException");
}

#[tokio::test(start_paused = true)]
async fn shard_filters() {
    let t0 = UNIX_EPOCH + Duration::from_secs(10_000);
    let e = emulator_with(|b| b.without_throughput_limits().start_time(t0));
    create(&e, "s", 2).await; // 0, 1 at t0
    tokio::time::advance(Duration::from_secs(100)).await;
    e.split_shard(SplitShardInput {
        stream_name: Some("s".into()),
        shard_to_split: SHARD0.into(),
        new_starting_hash_key: (HALF / 2).to_string(),
        ..Default::default()
    })
    .await
    .expect("split"); // 0 closed at t0+100; 2, 3 open from t0+100
    tokio::time::advance(Duration::from_secs(100)).await;
    e.merge_shards(MergeShardsInput {
        stream_name: Some("s".into()),
        shard_to_merge: "shardId-000000000003".into(),
        adjacent_shard_to_merge: SHARD1.into(),
        ..Default::default()
    })
    .await
    .expect("merge"); // 3, 1 closed at t0+200; 4 open from t0+200
    let ms = |s: i64| Timestamp::from_millis(10_000_000 + s * 1000);
    let all = [
        "shardId-000000000000",
        "shardId-000000000001",
        "shardId-000000000002",
        "shardId-000000000003",
        "shardId-000000000004",
    ];
    assert_eq!(filtered(&e, ShardFilter::default()).await, all);
    assert_eq!(
        filtered(
            &e,
            ShardFilter {
                filter_type: ShardFilterType::FromTrimHorizon,
                ..Default::default()
            }
        )
        .await,
        all
    );
    assert_eq!(
        filtered(
            &e,
            ShardFilter {
                filter_type: ShardFilterType::AtLatest,
                ..Default::default()
            }
        )
        .await,
        [SHARD2, "shardId-000000000004"]
    );
    assert_eq!(
        filtered(
            &e,
            ShardFilter {
                filter_type: ShardFilterType::AtTrimHorizon,
                ..Default::default()
            }
        )
        .await,
        [SHARD0, SHARD1],
        "the trim horizon is the stream's creation here"
    );
    assert_eq!(
        filtered(
            &e,
            ShardFilter {
                filter_type: ShardFilterType::AfterShardId,
                shard_id: Some(SHARD2.into()),
                ..Default::default()
            }
        )
        .await,
        ["shardId-000000000003", "shardId-000000000004"]
    );
    let at = |s| ShardFilter {
        filter_type: ShardFilterType::AtTimestamp,
        timestamp: Some(ms(s)),
        ..Default::default()
    };
    assert_eq!(filtered(&e, at(50)).await, [SHARD0, SHARD1]);
    assert_eq!(filtered(&e, at(-5000)).await, [SHARD0, SHARD1], "before creation");
    assert_eq!(
        filtered(&e, at(150)).await,
        [SHARD1, SHARD2, "shardId-000000000003"]
    );
    assert_eq!(filtered(&e, at(250)).await, [SHARD2, "shardId-000000000004"]);
    let from = |s| ShardFilter {
        filter_type: ShardFilterType::FromTimestamp,
        timestamp: Some(ms(s)),
        ..Default::default()
    };
    assert_eq!(
        filtered(&e, from(150)).await,
        [SHARD1, SHARD2, "shardId-000000000003", "shardId-000000000004"]
    );
    assert_eq!(filtered(&e, from(250)).await, [SHARD2, "shardId-000000000004"]);

    // Missing or misplaced filter parameters.
    for bad in [
        ShardFilter {
            filter_type: ShardFilterType::AfterShardId,
            ..Default::default()
        },
        ShardFilter {
            filter_type: ShardFilterType::AtTimestamp,
            ..Default::default()
        },
        ShardFilter {
            filter_type: ShardFilterType::AtLatest,
            shard_id: Some(SHARD0.into()),
            ..Default::default()
        },
    ] {
        let r = list(
            &e,
            ListShardsInput {
                stream_name: Some("s".into()),
                shard_filter: Some(bad),
                ..Default::default()
            },
        )
        .await;
        assert_eq!(code(r), "InvalidArgumentException");
    }
    let both = ids(&list(
        &e,
        ListShardsInput {
            stream_name: Some("s".into()),
            exclusive_start_shard_id: Some(SHARD1.into()),
            shard_filter: Some(at(150)),
            ..Default::default()
        },
    )
    .await
    .expect("both"));
    assert_eq!(both, [SHARD2, "shardId-000000000003"], "filter and start combine");
}

#[tokio::test]
async fn next_token_keeps_the_filter() {
    let e = emulator();
    create(&e, "s", 4).await;
    e.merge_shards(MergeShardsInput {
        stream_name: Some("s".into()),
        shard_to_merge: SHARD0.into(),
        adjacent_shard_to_merge: SHARD1.into(),
        ..Default::default()
    })
    .await
    .expect("merge");
    let first = list(
        &e,
        ListShardsInput {
            stream_name: Some("s".into()),
            max_results: Some(2),
            shard_filter: Some(ShardFilter {
                filter_type: ShardFilterType::AtLatest,
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await
    .expect("first");
    assert_eq!(ids(&first), [SHARD2, "shardId-000000000003"]);
    let rest = list(
        &e,
        ListShardsInput {
            next_token: first.next_token,
            ..Default::default()
        },
    )
    .await
    .expect("rest");
    assert_eq!(ids(&rest), ["shardId-000000000004"]);
}
