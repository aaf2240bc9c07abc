//! Per-shard throughput limits: writes (1 MiB/s, 1,000 records/s) and reads (5 calls/s, 2 MiB/s).

use std::time::Duration;

use crate::support::*;
use bytes::Bytes;
use kcl_emulator::types::*;
use kcl_emulator::ThroughputLimits;

fn records(n: usize, size: usize, key: &str) -> Vec<PutRecordsRequestEntry> {
    (0..n)
        .map(|_| PutRecordsRequestEntry {
            data: Bytes::from(vec![1u8; size]),
            partition_key: key.into(),
            explicit_hash_key: None,
        })
        .collect()
}

async fn put_many(e: &kcl_emulator::Emulator, n: usize, size: usize) -> PutRecordsOutput {
    e.put_records(PutRecordsInput {
        records: records(n, size, "k"),
        stream_name: Some("s".into()),
        ..Default::default()
    })
    .await
    .expect("put records")
}

#[tokio::test(start_paused = true)]
async fn write_record_rate_fails_individual_records() {
    let e = emulator_with(|b| b);
    create(&e, "s", 1).await;
    let mut ok = 0;
    for _ in 0..2 {
        let out = put_many(&e, 500, 10).await;
        ok += 500 - out.failed_record_count;
        assert_eq!(out.failed_record_count, 0);
    }
    let out = put_many(&e, 500, 10).await;
    assert_eq!(out.failed_record_count, 500, "1,000 records per second per shard");
    let failed = &out.records[0];
    assert_eq!(
        failed.error_code.as_deref(),
        Some("ProvisionedThroughputExceededException")
    );
    assert!(failed
        .error_message
        .as_deref()
        .is_some_and(|m| m.contains(SHARD0)));
    assert!(failed.sequence_number.is_none() && failed.shard_id.is_none());
    let single = try_put(&e, "s", "k", "x").await.expect_err("throttled");
    assert!(single.is_throttling() && single.is_retryable());
    tokio::time::advance(Duration::from_millis(500)).await;
    let out = put_many(&e, 500, 10).await;
    assert_eq!(out.failed_record_count, 0, "half a second refills 500 records");
    assert_eq!(ok + 500, 1500);
    assert_eq!(
        read_all(&e, "s", SHARD0).await.0.len(),
        1500,
        "throttled records are not stored"
    );
}

#[tokio::test(start_paused = true)]
async fn write_byte_rate_and_partial_failure_on_other_shards() {
    let e = emulator_with(|b| b);
    create(&e, "s", 2).await;
    // 5 x 200 KiB = 1000 KiB fits in 1 MiB; the next 200 KiB does not.
    let big = 200 * 1024;
    let mut batch = records(5, big, "a");
    for r in &mut batch {
        r.explicit_hash_key = Some("0".into());
    }
    let out = e
        .put_records(PutRecordsInput {
            records: batch,
            stream_name: Some("s".into()),
            ..Default::default()
        })
        .await
        .expect("put");
    assert_eq!(out.failed_record_count, 0);
    let mut mixed = records(2, big, "a");
    mixed[0].explicit_hash_key = Some("0".into());
    mixed[1].explicit_hash_key = Some(u128::MAX.to_string());
    let out = e
        .put_records(PutRecordsInput {
            records: mixed,
            stream_name: Some("s".into()),
            ..Default::default()
        })
        .await
        .expect("put");
    assert_eq!(out.failed_record_count, 1);
    assert!(out.records[0].is_failure(), "shard 0 is over its byte budget");
    assert_eq!(out.records[1].shard_id.as_deref(), Some(SHARD1), "shard 1 is not");
}

#[tokio::test(start_paused = true)]
async fn read_call_rate_and_byte_debt() {
    let e = emulator_with(|b| {
        b.throughput_limits(ThroughputLimits {
            write_bytes_per_sec: None,
            write_records_per_sec: None,
            ..ThroughputLimits::AWS
        })
    });
    create(&e, "s", 1).await;
    put(&e, "s", "k", "x").await;
    let it = iterator(&e, "s", SHARD0, ShardIteratorType::TrimHorizon).await;
    for _ in 0..5 {
        get(&e, &it).await;
    }
    let sixth = e
        .get_records(GetRecordsInput {
            shard_iterator: it.clone(),
            ..Default::default()
        })
        .await;
    assert_eq!(
        code(sixth),
        "ProvisionedThroughputExceededException",
        "5 calls per second"
    );
    tokio::time::advance(Duration::from_millis(200)).await;
    get(&e, &it).await;

    // A 6 MiB read overdraws the 2 MiB/s budget: reads are throttled until it is paid back (~2 s).
    create(&e, "big", 1).await;
    for _ in 0..6 {
        e.put_record(PutRecordInput {
            stream_name: Some("big".into()),
            data: Bytes::from(vec![0u8; 1024 * 1024 - 10]),
            partition_key: "k".into(),
            ..Default::default()
        })
        .await
        .expect("put");
    }
    let it = iterator(&e, "big", SHARD0, ShardIteratorType::TrimHorizon).await;
    assert_eq!(get(&e, &it).await.records.len(), 6);
    tokio::time::advance(Duration::from_secs(1)).await;
    let r = e
        .get_records(GetRecordsInput {
            shard_iterator: it.clone(),
            ..Default::default()
        })
        .await;
    assert_eq!(code(r), "ProvisionedThroughputExceededException");
    tokio::time::advance(Duration::from_millis(1100)).await;
    get(&e, &it).await;
}

#[tokio::test(start_paused = true)]
async fn limits_can_be_switched_off() {
    let e = emulator();
    create(&e, "s", 1).await;
    for _ in 0..10 {
        assert_eq!(put_many(&e, 500, 100).await.failed_record_count, 0);
    }
    let it = iterator(&e, "s", SHARD0, ShardIteratorType::TrimHorizon).await;
    for _ in 0..20 {
        get(&e, &it).await;
    }
}
