//! SplitShard, MergeShards and UpdateShardCount: closed parents, open children, lineage, errors.

use crate::support::*;
use kcl_emulator::types::*;

const HALF: u128 = 1 << 127;

async fn split(
    e: &kcl_emulator::Emulator,
    shard: &str,
    at: &str,
) -> Result<SplitShardOutput, kcl_emulator::KinesisError> {
    e.split_shard(SplitShardInput {
        stream_name: Some("s".into()),
        shard_to_split: shard.into(),
        new_starting_hash_key: at.into(),
        ..Default::default()
    })
    .await
}

async fn merge(
    e: &kcl_emulator::Emulator,
    a: &str,
    b: &str,
) -> Result<MergeShardsOutput, kcl_emulator::KinesisError> {
    e.merge_shards(MergeShardsInput {
        stream_name: Some("s".into()),
        shard_to_merge: a.into(),
        adjacent_shard_to_merge: b.into(),
        ..Default::default()
    })
    .await
}

fn find<'a>(shards: &'a [Shard], id: &str) -> &'a Shard {
    shards.iter().find(|s| s.shard_id == id).expect("shard listed")
}

#[tokio::test]
async fn split_closes_the_parent_and_opens_two_children() {
    let e = emulator();
    create(&e, "s", 1).await;
    put_to_hash(&e, "s", 5, "before-low").await;
    put_to_hash(&e, "s", HALF + 5, "before-high").await;
    split(&e, SHARD0, &HALF.to_string()).await.expect("split");
    let all = shards(&e, "s").await;
    assert_eq!(all.len(), 3);
    let parent = find(&all, SHARD0);
    let ending = parent
        .sequence_number_range
        .ending_sequence_number
        .clone()
        .expect("closed parent has an ending sequence number");
    let low = find(&all, SHARD1);
    let high = find(&all, SHARD2);
    assert_eq!(low.parent_shard_id.as_deref(), Some(SHARD0));
    assert_eq!(high.parent_shard_id.as_deref(), Some(SHARD0));
    assert!(low.adjacent_parent_shard_id.is_none());
    assert_eq!(low.hash_key_range.starting_hash_key, "0");
    assert_eq!(low.hash_key_range.ending_hash_key, (HALF - 1).to_string());
    assert_eq!(high.hash_key_range.starting_hash_key, HALF.to_string());
    assert_eq!(high.hash_key_range.ending_hash_key, u128::MAX.to_string());

    // New writes go to the children; the parent's records stay readable and end with ChildShards.
    assert_eq!(put_to_hash(&e, "s", 5, "after-low").await.shard_id, SHARD1);
    assert_eq!(
        put_to_hash(&e, "s", HALF + 5, "after-high").await.shard_id,
        SHARD2
    );
    let (records, children) = read_all(&e, "s", SHARD0).await;
    assert_eq!(data_of(&records), ["before-low", "before-high"]);
    assert_eq!(records.last().map(|r| r.sequence_number.clone()), Some(ending));
    let children = children.expect("child shards at the end of a closed shard");
    let ids: Vec<_> = children.iter().map(|c| c.shard_id.as_str()).collect();
    assert_eq!(ids, [SHARD1, SHARD2]);
    assert!(children.iter().all(|c| c.parent_shards == [SHARD0]));
    assert_eq!(data_of(&read_all(&e, "s", SHARD1).await.0), ["after-low"]);
    assert_eq!(data_of(&read_all(&e, "s", SHARD2).await.0), ["after-high"]);
}

#[tokio::test]
async fn reading_a_closed_shard_ends_without_a_next_iterator() {
    let e = emulator();
    create(&e, "s", 1).await;
    let it = iterator(&e, "s", SHARD0, ShardIteratorType::Latest).await;
    split(&e, SHARD0, &HALF.to_string()).await.expect("split");
    let page = get(&e, &it).await;
    assert!(page.records.is_empty());
    assert!(page.next_shard_iterator.is_none());
    assert_eq!(page.child_shards.map(|c| c.len()), Some(2));
    // LATEST on a closed shard is its end too.
    let latest = iterator(&e, "s", SHARD0, ShardIteratorType::Latest).await;
    assert!(get(&e, &latest).await.next_shard_iterator.is_none());
}

#[tokio::test]
async fn split_errors() {
    let e = emulator_with(|b| b.without_throughput_limits().shard_limit(2));
    create(&e, "s", 1).await;
    for bad in ["0", "1", &u128::MAX.to_string()] {
        assert_eq!(
            code(split(&e, SHARD0, bad).await),
            "InvalidArgumentException",
            "{bad}"
        );
    }
    assert_eq!(code(split(&e, SHARD0, "-5").await), "ValidationException");
    assert_eq!(code(split(&e, SHARD0, "").await), "ValidationException");
    assert_eq!(
        code(split(&e, SHARD0, "340282366920938463463374607431768211456").await),
        "InvalidArgumentException"
    );
    assert_eq!(
        code(split(&e, "shardId-000000000007", "100").await),
        "ResourceNotFoundException"
    );
    split(&e, SHARD0, "2").await.expect("smallest valid split");
    assert_eq!(
        code(split(&e, SHARD0, "100").await),
        "ResourceInUseException",
        "already split"
    );
    assert_eq!(
        code(split(&e, SHARD2, "1000").await),
        "LimitExceededException",
        "shard limit"
    );
}

#[tokio::test]
async fn merge_adjacent_shards() {
    let e = emulator();
    create(&e, "s", 3).await;
    put_to_hash(&e, "s", 0, "in-0").await;
    merge(&e, SHARD1, SHARD0).await.expect("merge (either order)");
    let all = shards(&e, "s").await;
    let child = find(&all, "shardId-000000000003");
    assert_eq!(child.parent_shard_id.as_deref(), Some(SHARD1));
    assert_eq!(child.adjacent_parent_shard_id.as_deref(), Some(SHARD0));
    assert_eq!(child.hash_key_range.starting_hash_key, "0");
    assert_eq!(
        child.hash_key_range.ending_hash_key,
        find(&all, SHARD1).hash_key_range.ending_hash_key
    );
    let (_, children) = read_all(&e, "s", SHARD0).await;
    let children = children.expect("closed");
    assert_eq!(children[0].parent_shards, [SHARD1, SHARD0]);
    assert_eq!(
        put_to_hash(&e, "s", 0, "after").await.shard_id,
        "shardId-000000000003"
    );
    assert_eq!(open_shards(&e, "s").await.len(), 2);
}

#[tokio::test]
async fn merge_errors() {
    let e = emulator();
    create(&e, "s", 3).await;
    assert_eq!(
        code(merge(&e, SHARD0, SHARD2).await),
        "InvalidArgumentException",
        "not adjacent"
    );
    assert_eq!(
        code(merge(&e, SHARD0, SHARD0).await),
        "InvalidArgumentException",
        "same shard"
    );
    assert_eq!(
        code(merge(&e, SHARD0, "shardId-000000000042").await),
        "ResourceNotFoundException"
    );
    assert_eq!(code(merge(&e, SHARD0, "bad id").await), "ValidationException");
    merge(&e, SHARD0, SHARD1).await.expect("merge");
    assert_eq!(
        code(merge(&e, SHARD1, SHARD2).await),
        "ResourceInUseException",
        "closed parent"
    );
}

#[tokio::test]
async fn update_shard_count_scales_uniformly_with_bounded_parents() {
    let e = emulator();
    create(&e, "s", 3).await;
    for (from, to) in [(3, 5), (5, 3), (3, 6), (6, 3), (3, 2), (2, 4), (4, 7)] {
        let out = e
            .update_shard_count(UpdateShardCountInput {
                stream_name: Some("s".into()),
                target_shard_count: to,
                scaling_type: ScalingType::UniformScaling,
                ..Default::default()
            })
            .await
            .expect("update shard count");
        assert_eq!((out.current_shard_count, out.target_shard_count), (from, to));
        let mut open = open_shards(&e, "s").await;
        assert_eq!(open.len(), to as usize);
        open.sort_by_key(|s| {
            s.hash_key_range
                .starting_hash_key
                .parse::<u128>()
                .expect("number")
        });
        // Open shards tile the key space in even ranges.
        let mut expected_start = 0u128;
        for (i, s) in open.iter().enumerate() {
            let start: u128 = s.hash_key_range.starting_hash_key.parse().expect("number");
            let end: u128 = s.hash_key_range.ending_hash_key.parse().expect("number");
            assert_eq!(start, expected_start, "{from}->{to} shard {i}");
            let width = end - start;
            assert!(width.abs_diff(u128::MAX / to as u128) <= 1, "even ranges");
            expected_start = end.wrapping_add(1);
        }
    }
    // Every shard has at most two parents, and every parent is a listed shard.
    let all = shards(&e, "s").await;
    let ids: std::collections::HashSet<_> = all.iter().map(|s| s.shard_id.clone()).collect();
    for s in &all {
        for p in s.parent_shard_id.iter().chain(s.adjacent_parent_shard_id.iter()) {
            assert!(ids.contains(p));
        }
    }
}

#[tokio::test]
async fn update_shard_count_bounds() {
    let e = emulator_with(|b| b.without_throughput_limits().shard_limit(10));
    create(&e, "s", 4).await;
    let update = |n: i32| {
        let e = e.clone();
        async move {
            e.update_shard_count(UpdateShardCountInput {
                stream_name: Some("s".into()),
                target_shard_count: n,
                ..Default::default()
            })
            .await
        }
    };
    assert_eq!(
        code(update(9).await),
        "LimitExceededException",
        "more than double"
    );
    assert_eq!(code(update(1).await), "LimitExceededException", "less than half");
    assert_eq!(code(update(0).await), "ValidationException");
    assert_eq!(code(update(10_001).await), "ValidationException");
    create(&e, "t", 5).await;
    assert_eq!(
        code(update(6).await),
        "LimitExceededException",
        "account shard limit"
    );
    update(2).await.expect("half is allowed");
}

#[tokio::test]
async fn update_shard_count_from_an_uneven_layout_keeps_every_record_reachable() {
    let e = emulator();
    create(&e, "s", 2).await;
    split(&e, SHARD0, "12345678901234567890")
        .await
        .expect("uneven split");
    merge(&e, "shardId-000000000003", SHARD1)
        .await
        .expect("merge the upper part of shard 0 with shard 1");
    for i in 0..200 {
        put(&e, "s", &format!("k{i}"), &format!("before-{i}")).await;
    }
    e.update_shard_count(UpdateShardCountInput {
        stream_name: Some("s".into()),
        target_shard_count: 3,
        ..Default::default()
    })
    .await
    .expect("update");
    let mut open = open_shards(&e, "s").await;
    open.sort_by_key(|s| {
        s.hash_key_range
            .starting_hash_key
            .parse::<u128>()
            .expect("number")
    });
    let starts: Vec<String> = open
        .iter()
        .map(|s| s.hash_key_range.starting_hash_key.clone())
        .collect();
    let third = u128::MAX / 3; // 2^128 - 1 is divisible by 3
    assert_eq!(
        starts,
        ["0".to_owned(), third.to_string(), (2 * third).to_string()]
    );
    for i in 0..200 {
        put(&e, "s", &format!("k{i}"), &format!("after-{i}")).await;
    }
    // Every record is reachable exactly once.
    let all = shards(&e, "s").await;
    let mut total = 0;
    for s in &all {
        total += read_all(&e, "s", &s.shard_id).await.0.len();
    }
    assert_eq!(total, 400);
}
