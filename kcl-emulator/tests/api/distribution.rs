//! UpdateStreamRecordDistributionStrategy: AUTO spreads records evenly over the open shards whatever
//! their partition keys; USER_PARTITION_KEY routes by key again.

use std::collections::BTreeMap;

use bytes::Bytes;
use kcl_emulator::types::*;
use kcl_emulator::Emulator;

use crate::support::*;

async fn strategy(e: &Emulator, s: RecordDistributionStrategy) -> Result<(), kcl_emulator::KinesisError> {
    e.update_stream_record_distribution_strategy(UpdateStreamRecordDistributionStrategyInput {
        stream_arn: e.stream_arn("s"),
        record_distribution_strategy: s,
        ..Default::default()
    })
    .await
    .map(|_| ())
}

/// Puts 1000 records with one partition key (PutRecords batches and single PutRecords) and counts them
/// per shard.
async fn spread(e: &Emulator) -> BTreeMap<String, usize> {
    let mut per_shard = BTreeMap::new();
    for _ in 0..2 {
        let out = e
            .put_records(PutRecordsInput {
                stream_name: Some("s".into()),
                records: (0..450)
                    .map(|i| PutRecordsRequestEntry {
                        data: Bytes::from(format!("r{i}")),
                        partition_key: "one-key".into(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .await
            .expect("put records");
        assert_eq!(out.failed_record_count, 0);
        for r in out.records {
            *per_shard.entry(r.shard_id.expect("stored")).or_insert(0) += 1;
        }
    }
    for i in 0..100 {
        let out = put(e, "s", "one-key", &format!("p{i}")).await;
        *per_shard.entry(out.shard_id).or_insert(0) += 1;
    }
    per_shard
}

/// Switches stream `s` to `mode`.
async fn mode(e: &Emulator, mode: StreamMode) {
    e.update_stream_mode(UpdateStreamModeInput {
        stream_arn: e.stream_arn("s"),
        stream_mode_details: StreamModeDetails { stream_mode: mode },
        ..Default::default()
    })
    .await
    .expect("mode switch");
}

/// A provisioned stream of `shards` shards switched to ON_DEMAND (the strategy is an on-demand setting).
async fn on_demand(e: &Emulator, shards: i32) {
    create(e, "s", shards).await;
    mode(e, StreamMode::OnDemand).await;
}

#[tokio::test]
async fn auto_is_refused_on_a_provisioned_stream() {
    let e = emulator();
    create(&e, "s", 2).await;
    assert_eq!(
        code(strategy(&e, RecordDistributionStrategy::Auto).await),
        "InvalidArgumentException"
    );
}

#[tokio::test]
async fn auto_spreads_one_key_evenly_over_open_shards() {
    let e = emulator();
    on_demand(&e, 4).await;
    // USER_PARTITION_KEY (the default): one key, one shard.
    assert_eq!(
        e.describe_stream_summary(DescribeStreamSummaryInput {
            stream_name: Some("s".into()),
            ..Default::default()
        })
        .await
        .expect("summary")
        .stream_description_summary
        .record_distribution_strategy,
        Some(RecordDistributionStrategy::UserPartitionKey)
    );
    assert_eq!(spread(&e).await.len(), 1);
    assert_eq!(
        code(strategy(&e, RecordDistributionStrategy::UserPartitionKey).await),
        "InvalidArgumentException"
    );

    strategy(&e, RecordDistributionStrategy::Auto)
        .await
        .expect("AUTO");
    let counts = spread(&e).await;
    assert_eq!(counts.len(), 4, "{counts:?}");
    for (shard, n) in &counts {
        assert!((240..=260).contains(n), "{shard}: {n} of 1000");
    }
    // Every record is readable from the shard it was reported in.
    let (records, _) = read_all(&e, "s", SHARD1).await;
    assert!(records.len() >= 240);

    // AUTO follows resharding: the open shards after a split (made while PROVISIONED, as ON_DEMAND
    // streams are not split by hand).
    strategy(&e, RecordDistributionStrategy::UserPartitionKey)
        .await
        .expect("USER_PARTITION_KEY before the mode switch");
    mode(&e, StreamMode::Provisioned).await;
    e.split_shard(SplitShardInput {
        stream_name: Some("s".into()),
        shard_to_split: SHARD0.into(),
        new_starting_hash_key: (u128::MAX / 8).to_string(),
        ..Default::default()
    })
    .await
    .expect("split");
    mode(&e, StreamMode::OnDemand).await;
    strategy(&e, RecordDistributionStrategy::Auto)
        .await
        .expect("AUTO again");
    let after = spread(&e).await;
    assert_eq!(after.len(), 5, "{after:?}");
    assert!(!after.contains_key(SHARD0));
    for n in after.values() {
        assert_eq!(*n, 200);
    }

    strategy(&e, RecordDistributionStrategy::UserPartitionKey)
        .await
        .expect("back to USER_PARTITION_KEY");
    assert_eq!(spread(&e).await.len(), 1);
}
