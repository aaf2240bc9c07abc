//! Retention: expired records are trimmed, TRIM_HORIZON moves, expired closed shards leave the listing.

use std::time::Duration;

use crate::support::*;
use kcl_emulator::types::*;

const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test(start_paused = true)]
async fn records_older_than_retention_are_trimmed() {
    let e = emulator();
    create(&e, "s", 1).await;
    let old = put(&e, "s", "k", "old").await;
    tokio::time::advance(23 * HOUR).await;
    put(&e, "s", "k", "new").await;
    assert_eq!(data_of(&read_all(&e, "s", SHARD0).await.0), ["old", "new"]);
    tokio::time::advance(HOUR + Duration::from_millis(1)).await;
    assert_eq!(
        data_of(&read_all(&e, "s", SHARD0).await.0),
        ["new"],
        "TRIM_HORIZON moved"
    );
    // A sequence number that has been trimmed positions at the trim horizon.
    let at_old = iterator_at(
        &e,
        "s",
        SHARD0,
        ShardIteratorType::AtSequenceNumber,
        Some(&old.sequence_number),
    )
    .await
    .expect("iterator");
    assert_eq!(data_of(&get(&e, &at_old).await.records), ["new"]);
    tokio::time::advance(24 * HOUR).await;
    assert!(read_all(&e, "s", SHARD0).await.0.is_empty());
}

#[tokio::test(start_paused = true)]
async fn expired_closed_shards_leave_the_listing() {
    let e = emulator();
    create(&e, "s", 1).await;
    put(&e, "s", "k", "in parent").await;
    e.split_shard(SplitShardInput {
        stream_name: Some("s".into()),
        shard_to_split: SHARD0.into(),
        new_starting_hash_key: (1u128 << 127).to_string(),
        ..Default::default()
    })
    .await
    .expect("split");
    tokio::time::advance(23 * HOUR).await;
    assert_eq!(shards(&e, "s").await.len(), 3);
    assert_eq!(data_of(&read_all(&e, "s", SHARD0).await.0), ["in parent"]);
    tokio::time::advance(HOUR + Duration::from_millis(1)).await;
    let listed: Vec<_> = shards(&e, "s").await.into_iter().map(|s| s.shard_id).collect();
    assert_eq!(listed, [SHARD1, SHARD2]);
    let described = e
        .describe_stream(DescribeStreamInput {
            stream_name: Some("s".into()),
            ..Default::default()
        })
        .await
        .expect("describe")
        .stream_description;
    assert_eq!(described.shards.len(), 2);
    let gone = iterator_at(&e, "s", SHARD0, ShardIteratorType::TrimHorizon, None).await;
    assert_eq!(code(gone), "ResourceNotFoundException");
    // Children are still there and still list their parent.
    assert_eq!(described.shards[0].parent_shard_id.as_deref(), Some(SHARD0));
}

#[tokio::test(start_paused = true)]
async fn decreasing_retention_trims_and_increasing_does_not_restore() {
    let e = emulator();
    create(&e, "s", 1).await;
    e.increase_stream_retention_period(IncreaseStreamRetentionPeriodInput {
        stream_name: Some("s".into()),
        retention_period_hours: 48,
        ..Default::default()
    })
    .await
    .expect("increase");
    put(&e, "s", "k", "r0").await;
    tokio::time::advance(30 * HOUR).await;
    put(&e, "s", "k", "r1").await;
    assert_eq!(
        data_of(&read_all(&e, "s", SHARD0).await.0),
        ["r0", "r1"],
        "kept for 48 h"
    );
    e.decrease_stream_retention_period(DecreaseStreamRetentionPeriodInput {
        stream_name: Some("s".into()),
        retention_period_hours: 24,
        ..Default::default()
    })
    .await
    .expect("decrease");
    assert_eq!(data_of(&read_all(&e, "s", SHARD0).await.0), ["r1"]);
    e.increase_stream_retention_period(IncreaseStreamRetentionPeriodInput {
        stream_name: Some("s".into()),
        retention_period_hours: 168,
        ..Default::default()
    })
    .await
    .expect("increase again");
    assert_eq!(
        data_of(&read_all(&e, "s", SHARD0).await.0),
        ["r1"],
        "expired data does not come back"
    );
    tokio::time::advance(100 * HOUR).await;
    assert_eq!(
        data_of(&read_all(&e, "s", SHARD0).await.0),
        ["r1"],
        "now kept for a week"
    );
}

#[tokio::test(start_paused = true)]
async fn at_trim_horizon_filter_follows_retention() {
    let e = emulator();
    create(&e, "s", 1).await;
    tokio::time::advance(Duration::from_secs(1)).await;
    e.split_shard(SplitShardInput {
        stream_name: Some("s".into()),
        shard_to_split: SHARD0.into(),
        new_starting_hash_key: (1u128 << 127).to_string(),
        ..Default::default()
    })
    .await
    .expect("split");
    tokio::time::advance(Duration::from_secs(60)).await;
    let at_th = |e: kcl_emulator::Emulator| async move {
        e.list_shards(ListShardsInput {
            stream_name: Some("s".into()),
            shard_filter: Some(ShardFilter {
                filter_type: ShardFilterType::AtTrimHorizon,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("list")
        .shards
        .into_iter()
        .map(|s| s.shard_id)
        .collect::<Vec<_>>()
    };
    assert_eq!(at_th(e.clone()).await, [SHARD0]);
    tokio::time::advance(24 * HOUR).await;
    assert_eq!(at_th(e.clone()).await, [SHARD1, SHARD2]);
}
