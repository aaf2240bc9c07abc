//! PutRecord / PutRecords / GetRecords: routing, sequence numbers, limits, partial failures, batching.

use std::time::{Duration, UNIX_EPOCH};

use crate::support::*;
use bytes::Bytes;
use kcl_emulator::types::*;
use md5::{Digest, Md5};

fn md5_hash(key: &str) -> u128 {
    u128::from_be_bytes(Md5::digest(key.as_bytes()).into())
}

fn range_of(shard: &Shard) -> (u128, u128) {
    (
        shard.hash_key_range.starting_hash_key.parse().expect("number"),
        shard.hash_key_range.ending_hash_key.parse().expect("number"),
    )
}

fn entry(key: &str, data: &[u8]) -> PutRecordsRequestEntry {
    PutRecordsRequestEntry {
        data: Bytes::copy_from_slice(data),
        partition_key: key.into(),
        explicit_hash_key: None,
    }
}

async fn put_batch(
    e: &kcl_emulator::Emulator,
    stream: &str,
    records: Vec<PutRecordsRequestEntry>,
) -> Result<PutRecordsOutput, kcl_emulator::KinesisError> {
    e.put_records(PutRecordsInput {
        records,
        stream_name: Some(stream.into()),
        ..Default::default()
    })
    .await
}

#[tokio::test]
async fn partition_keys_route_by_md5_and_explicit_hash_keys_override() {
    let e = emulator();
    create(&e, "s", 4).await;
    let all = shards(&e, "s").await;
    for i in 0..100 {
        let key = format!("key-{i}");
        let out = put(&e, "s", &key, "x").await;
        let h = md5_hash(&key);
        let owner = all
            .iter()
            .find(|s| {
                let (a, b) = range_of(s);
                a <= h && h <= b
            })
            .expect("some shard owns every hash");
        assert_eq!(out.shard_id, owner.shard_id, "{key}");
    }
    for (i, shard) in all.iter().enumerate() {
        let (start, end) = range_of(shard);
        assert_eq!(
            put_to_hash(&e, "s", start, "lo").await.shard_id,
            shard.shard_id,
            "{i}"
        );
        assert_eq!(
            put_to_hash(&e, "s", end, "hi").await.shard_id,
            shard.shard_id,
            "{i}"
        );
    }
}

#[tokio::test]
async fn sequence_numbers_are_unique_increasing_and_shard_specific() {
    let e = emulator();
    create(&e, "s", 2).await;
    let mut last: Vec<Option<u128>> = vec![None; 2];
    let mut seen = std::collections::HashSet::new();
    for i in 0..200 {
        let out = put(&e, "s", &format!("k{i}"), "x").await;
        assert_eq!(out.sequence_number.len(), 56);
        let n: u128 = out.sequence_number[20..].parse().expect("digits");
        let idx = if out.shard_id == SHARD0 { 0 } else { 1 };
        if let Some(prev) = last[idx] {
            assert!(n > prev, "sequence numbers increase within a shard");
        }
        last[idx] = Some(n);
        assert!(seen.insert(out.sequence_number.clone()), "unique");
    }
    // Starting sequence numbers bound every record of the shard.
    for shard in shards(&e, "s").await {
        let (records, _) = read_all(&e, "s", &shard.shard_id).await;
        let start = &shard.sequence_number_range.starting_sequence_number;
        for w in records.windows(2) {
            assert!(w[0].sequence_number < w[1].sequence_number);
        }
        assert!(records.iter().all(|r| &r.sequence_number > start));
    }
}

#[tokio::test]
async fn put_records_returns_one_result_per_record_in_order() {
    let e = emulator();
    create(&e, "s", 3).await;
    let records: Vec<_> = (0..500)
        .map(|i| entry(&format!("k{i}"), format!("d{i}").as_bytes()))
        .collect();
    let out = put_batch(&e, "s", records).await.expect("put records");
    assert_eq!(out.failed_record_count, 0);
    assert_eq!(out.records.len(), 500);
    assert!(out
        .records
        .iter()
        .all(|r| r.sequence_number.is_some() && r.shard_id.is_some()));
    // Each shard holds its records in request order.
    let mut total = 0;
    for shard in shards(&e, "s").await {
        let (records, _) = read_all(&e, "s", &shard.shard_id).await;
        let expected: Vec<String> = out
            .records
            .iter()
            .enumerate()
            .filter(|(_, r)| r.shard_id.as_deref() == Some(&shard.shard_id))
            .map(|(i, _)| format!("d{i}"))
            .collect();
        assert_eq!(data_of(&records), expected);
        total += records.len();
    }
    assert_eq!(total, 500);
}

#[tokio::test]
async fn put_validation_errors() {
    let e = emulator();
    create(&e, "s", 1).await;
    assert_eq!(code(put_batch(&e, "s", vec![]).await), "ValidationException");
    let too_many = (0..501).map(|_| entry("k", b"x")).collect();
    assert_eq!(code(put_batch(&e, "s", too_many).await), "ValidationException");
    assert_eq!(
        code(put_batch(&e, "s", vec![entry("", b"x")]).await),
        "ValidationException"
    );
    let long_key = "k".repeat(257);
    assert_eq!(
        code(put_batch(&e, "s", vec![entry(&long_key, b"x")]).await),
        "ValidationException"
    );
    // 256 characters are fine even when they take more bytes.
    let wide_key = "é".repeat(256);
    put_batch(&e, "s", vec![entry(&wide_key, b"x")])
        .await
        .expect("256 chars");
    let mib = vec![0u8; 1024 * 1024];
    put_batch(&e, "s", vec![entry("", &mib)])
        .await
        .expect_err("empty key");
    let over = vec![0u8; 1024 * 1024 + 1];
    assert_eq!(
        code(put_batch(&e, "s", vec![entry("k", &over)]).await),
        "ValidationException"
    );
    // Data + key over 1 MiB.
    assert_eq!(
        code(put_batch(&e, "s", vec![entry("kk", &mib)]).await),
        "InvalidArgumentException"
    );
    // More than 5 MiB in total.
    let big = vec![0u8; 1024 * 1000];
    let six: Vec<_> = (0..6).map(|_| entry("k", &big)).collect();
    assert_eq!(code(put_batch(&e, "s", six).await), "InvalidArgumentException");
    for (ehk, expected) in [
        ("-1", "ValidationException"),
        ("01", "ValidationException"),
        ("abc", "ValidationException"),
        (
            "340282366920938463463374607431768211456",
            "InvalidArgumentException",
        ),
    ] {
        let mut r = entry("k", b"x");
        r.explicit_hash_key = Some(ehk.into());
        assert_eq!(code(put_batch(&e, "s", vec![r]).await), expected, "{ehk}");
    }
    let bad_order = e
        .put_record(PutRecordInput {
            stream_name: Some("s".into()),
            data: "x".into(),
            partition_key: "k".into(),
            sequence_number_for_ordering: Some("12x".into()),
            ..Default::default()
        })
        .await;
    assert_eq!(code(bad_order), "ValidationException");
    let missing = try_put(&e, "missing", "k", "x").await;
    assert_eq!(code(missing), "ResourceNotFoundException");
    // Nothing invalid was stored.
    let (records, _) = read_all(&e, "s", SHARD0).await;
    assert_eq!(records.len(), 1);
}

#[tokio::test]
async fn sequence_number_for_ordering_is_accepted() {
    let e = emulator();
    create(&e, "s", 1).await;
    let first = put(&e, "s", "k", "a").await;
    let second = e
        .put_record(PutRecordInput {
            stream_name: Some("s".into()),
            data: "b".into(),
            partition_key: "k".into(),
            sequence_number_for_ordering: Some(first.sequence_number.clone()),
            ..Default::default()
        })
        .await
        .expect("put with ordering");
    assert!(second.sequence_number > first.sequence_number);
}

#[tokio::test(start_paused = true)]
async fn arrival_timestamps_and_millis_behind_latest_follow_the_clock() {
    let start = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let e = emulator_with(|b| b.without_throughput_limits().start_time(start));
    create(&e, "s", 1).await;
    put(&e, "s", "k", "a").await;
    tokio::time::advance(Duration::from_millis(1_500)).await;
    put(&e, "s", "k", "b").await;
    tokio::time::advance(Duration::from_millis(2_000)).await;
    let it = iterator(&e, "s", SHARD0, ShardIteratorType::TrimHorizon).await;
    let first = e
        .get_records(GetRecordsInput {
            shard_iterator: it,
            limit: Some(1),
            ..Default::default()
        })
        .await
        .expect("get");
    assert_eq!(
        first.records[0].approximate_arrival_timestamp,
        Timestamp::from_millis(1_700_000_000_000)
    );
    // The next unread record arrived 2 s ago.
    assert_eq!(first.millis_behind_latest, 2_000);
    let rest = get(&e, first.next_shard_iterator.as_deref().expect("open shard")).await;
    assert_eq!(
        rest.records[0].approximate_arrival_timestamp,
        Timestamp::from_millis(1_700_000_001_500)
    );
    assert_eq!(rest.millis_behind_latest, 0);
}

#[tokio::test]
async fn get_records_honours_limit_and_the_10_mib_cap() {
    let e = emulator();
    create(&e, "s", 1).await;
    let records: Vec<_> = (0..100).map(|i| entry("k", format!("{i}").as_bytes())).collect();
    put_batch(&e, "s", records).await.expect("put");
    let it = iterator(&e, "s", SHARD0, ShardIteratorType::TrimHorizon).await;
    let page = e
        .get_records(GetRecordsInput {
            shard_iterator: it.clone(),
            limit: Some(30),
            ..Default::default()
        })
        .await
        .expect("get");
    assert_eq!(
        data_of(&page.records),
        (0..30).map(|i| i.to_string()).collect::<Vec<_>>()
    );
    assert!(page.millis_behind_latest >= 0);
    for limit in [0, 10_001] {
        let r = e
            .get_records(GetRecordsInput {
                shard_iterator: it.clone(),
                limit: Some(limit),
                ..Default::default()
            })
            .await;
        assert_eq!(code(r), "ValidationException");
    }

    create(&e, "big", 1).await;
    let mib = Bytes::from(vec![7u8; 1024 * 1024 - 1]);
    for _ in 0..12 {
        e.put_record(PutRecordInput {
            stream_name: Some("big".into()),
            data: mib.clone(),
            partition_key: "k".into(),
            ..Default::default()
        })
        .await
        .expect("put 1 MiB");
    }
    let it = iterator(&e, "big", SHARD0, ShardIteratorType::TrimHorizon).await;
    let page = get(&e, &it).await;
    assert_eq!(page.records.len(), 10, "10 MiB cap");
    let rest = get(&e, page.next_shard_iterator.as_deref().expect("open")).await;
    assert_eq!(rest.records.len(), 2);
}

#[tokio::test]
async fn data_round_trips_byte_for_byte() {
    let e = emulator();
    create(&e, "s", 1).await;
    let payloads: Vec<Vec<u8>> = vec![vec![], vec![0, 255, 1], (0..=255).collect(), b"plain".to_vec()];
    for p in &payloads {
        e.put_record(PutRecordInput {
            stream_name: Some("s".into()),
            data: Bytes::from(p.clone()),
            partition_key: "k".into(),
            ..Default::default()
        })
        .await
        .expect("put");
    }
    let (records, _) = read_all(&e, "s", SHARD0).await;
    let got: Vec<Vec<u8>> = records.iter().map(|r| r.data.to_vec()).collect();
    assert_eq!(got, payloads);
    assert!(records.iter().all(|r| r.partition_key == "k"));
}
