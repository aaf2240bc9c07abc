//! Fault injection: scripted errors, latency, forced throttling, per operation / stream / shard, seeded.

use std::time::Duration;

use crate::support::*;
use bytes::Bytes;
use kcl_emulator::types::*;
use kcl_emulator::{ErrorCode, FaultRule, KinesisError, Operation};

#[tokio::test]
async fn scripted_errors_for_the_next_calls() {
    let e = emulator();
    create(&e, "s", 1).await;
    e.faults()
        .fail_next(Operation::PutRecord, ErrorCode::InternalFailure, 2);
    for _ in 0..2 {
        let err = try_put(&e, "s", "k", "x").await.expect_err("scripted");
        assert_eq!(err.code(), "InternalFailure");
        assert!(err.is_retryable());
    }
    put(&e, "s", "k", "x").await;
    assert!(e.faults().is_empty(), "exhausted rules remove themselves");
    assert_eq!(e.faults().fired(), 2);
    assert_eq!(
        read_all(&e, "s", SHARD0).await.0.len(),
        1,
        "failed calls stored nothing"
    );
}

#[tokio::test]
async fn any_code_including_custom_ones() {
    let e = emulator();
    create(&e, "s", 1).await;
    let id = e.faults().add(
        FaultRule::error_with(KinesisError::new(
            ErrorCode::Other("KMSDisabledException".into()),
            "key disabled",
        ))
        .on(Operation::ListShards),
    );
    let err = e
        .list_shards(ListShardsInput {
            stream_name: Some("s".into()),
            ..Default::default()
        })
        .await
        .expect_err("scripted");
    assert_eq!(err.code(), "KMSDisabledException");
    assert_eq!(err.message(), "key disabled");
    assert!(e.faults().remove(id));
    shards(&e, "s").await;
}

#[tokio::test]
async fn stream_scoped_rules_only_hit_that_stream() {
    let e = emulator();
    create(&e, "a", 1).await;
    create(&e, "b", 1).await;
    e.faults()
        .add(FaultRule::error(ErrorCode::AccessDeniedException).on_stream("a"));
    assert_eq!(code(try_put(&e, "a", "k", "x").await), "AccessDeniedException");
    put(&e, "b", "k", "x").await;
    // GetRecords knows its stream from the iterator.
    let it_b = iterator(&e, "b", SHARD0, ShardIteratorType::TrimHorizon).await;
    get(&e, &it_b).await;
    e.faults().clear();
    let it_a = iterator(&e, "a", SHARD0, ShardIteratorType::TrimHorizon).await;
    e.faults().add(
        FaultRule::error(ErrorCode::InternalFailure)
            .on_stream("a")
            .on(Operation::GetRecords),
    );
    let r = e
        .get_records(GetRecordsInput {
            shard_iterator: it_a,
            ..Default::default()
        })
        .await;
    assert_eq!(code(r), "InternalFailure");
}

#[tokio::test]
async fn shard_scoped_throttling_fails_records_of_that_shard_only() {
    let e = emulator();
    create(&e, "s", 2).await;
    e.faults().add(FaultRule::throttle().on_shard(SHARD1));
    let out = e
        .put_records(PutRecordsInput {
            stream_name: Some("s".into()),
            records: vec![
                PutRecordsRequestEntry {
                    data: Bytes::from_static(b"low"),
                    partition_key: "k".into(),
                    explicit_hash_key: Some("0".into()),
                },
                PutRecordsRequestEntry {
                    data: Bytes::from_static(b"high"),
                    partition_key: "k".into(),
                    explicit_hash_key: Some(u128::MAX.to_string()),
                },
            ],
            ..Default::default()
        })
        .await
        .expect("partial failure is not an error");
    assert_eq!(out.failed_record_count, 1);
    assert_eq!(out.records[0].shard_id.as_deref(), Some(SHARD0));
    assert_eq!(
        out.records[1].error_code.as_deref(),
        Some("ProvisionedThroughputExceededException")
    );
    // Reads of the throttled shard fail too; the other shard is fine.
    let it0 = iterator(&e, "s", SHARD0, ShardIteratorType::TrimHorizon).await;
    get(&e, &it0).await;
    let r = iterator_at(&e, "s", SHARD1, ShardIteratorType::TrimHorizon, None).await;
    assert_eq!(code(r), "ProvisionedThroughputExceededException");
    e.faults().clear();
    let it1 = iterator(&e, "s", SHARD1, ShardIteratorType::TrimHorizon).await;
    e.faults().add(
        FaultRule::throttle()
            .on_shard(SHARD1)
            .on(Operation::GetRecords)
            .times(1),
    );
    let r = e
        .get_records(GetRecordsInput {
            shard_iterator: it1.clone(),
            ..Default::default()
        })
        .await;
    assert_eq!(code(r), "ProvisionedThroughputExceededException");
    assert!(
        get(&e, &it1).await.records.is_empty(),
        "the throttled record was never stored"
    );
}

#[tokio::test(start_paused = true)]
async fn added_latency_runs_on_tokio_time() {
    let e = emulator();
    create(&e, "s", 1).await;
    e.faults().add(
        FaultRule::latency(Duration::from_millis(750))
            .on(Operation::PutRecord)
            .times(1),
    );
    let start = tokio::time::Instant::now();
    put(&e, "s", "k", "x").await;
    assert_eq!(start.elapsed(), Duration::from_millis(750));
    let start = tokio::time::Instant::now();
    put(&e, "s", "k", "y").await;
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test]
async fn seeded_rates_are_reproducible() {
    async fn run(seed: u64) -> Vec<bool> {
        let e = emulator();
        create(&e, "s", 1).await;
        e.faults().reseed(seed);
        e.faults().add(
            FaultRule::error(ErrorCode::InternalFailure)
                .on(Operation::PutRecord)
                .with_probability(0.25),
        );
        let mut outcomes = Vec::new();
        for i in 0..400 {
            outcomes.push(try_put(&e, "s", "k", &i.to_string()).await.is_err());
        }
        outcomes
    }
    let a = run(11).await;
    assert_eq!(a, run(11).await, "same seed, same faults");
    assert_ne!(a, run(12).await, "another seed, other faults");
    let hits = a.iter().filter(|h| **h).count();
    assert!((50..150).contains(&hits), "{hits} of 400 at p = 0.25");
}
