//! Shard iterators: the five types, five-minute expiry, and rejection of forged or foreign tokens.

use std::time::{Duration, UNIX_EPOCH};

use crate::support::*;
use kcl_emulator::types::*;

async fn seeded(e: &kcl_emulator::Emulator) -> Vec<PutRecordOutput> {
    create(e, "s", 1).await;
    let mut outs = Vec::new();
    for i in 0..5 {
        outs.push(put(e, "s", "k", &format!("r{i}")).await);
    }
    outs
}

async fn read_from(e: &kcl_emulator::Emulator, it: &str) -> Vec<String> {
    data_of(&get(e, it).await.records)
}

#[tokio::test]
async fn trim_horizon_latest_and_sequence_positions() {
    let e = emulator();
    let outs = seeded(&e).await;
    let th = iterator(&e, "s", SHARD0, ShardIteratorType::TrimHorizon).await;
    assert_eq!(read_from(&e, &th).await, ["r0", "r1", "r2", "r3", "r4"]);

    let latest = iterator(&e, "s", SHARD0, ShardIteratorType::Latest).await;
    assert!(read_from(&e, &latest).await.is_empty());
    put(&e, "s", "k", "r5").await;
    assert_eq!(
        read_from(&e, &latest).await,
        ["r5"],
        "LATEST sees records put after it"
    );

    let seq2 = outs[2].sequence_number.as_str();
    let at = iterator_at(&e, "s", SHARD0, ShardIteratorType::AtSequenceNumber, Some(seq2))
        .await
        .expect("at");
    assert_eq!(read_from(&e, &at).await, ["r2", "r3", "r4", "r5"]);
    let after = iterator_at(
        &e,
        "s",
        SHARD0,
        ShardIteratorType::AfterSequenceNumber,
        Some(seq2),
    )
    .await
    .expect("after");
    assert_eq!(read_from(&e, &after).await, ["r3", "r4", "r5"]);

    // The shard's starting sequence number positions before the first record.
    let start = shards(&e, "s").await[0]
        .sequence_number_range
        .starting_sequence_number
        .clone();
    let at_start = iterator_at(&e, "s", SHARD0, ShardIteratorType::AtSequenceNumber, Some(&start))
        .await
        .expect("at start");
    assert_eq!(read_from(&e, &at_start).await.len(), 6);
    let after_start = iterator_at(
        &e,
        "s",
        SHARD0,
        ShardIteratorType::AfterSequenceNumber,
        Some(&start),
    )
    .await
    .expect("after start");
    assert_eq!(read_from(&e, &after_start).await.len(), 6);
}

#[tokio::test(start_paused = true)]
async fn at_timestamp() {
    let t0 = UNIX_EPOCH + Duration::from_secs(1_000_000);
    let e = emulator_with(|b| b.without_throughput_limits().start_time(t0));
    create(&e, "s", 1).await;
    for i in 0..4 {
        put(&e, "s", "k", &format!("r{i}")).await;
        tokio::time::advance(Duration::from_secs(10)).await;
    }
    let at = |ms: i64| {
        let e = e.clone();
        async move {
            let it = e
                .get_shard_iterator(GetShardIteratorInput {
                    stream_name: Some("s".into()),
                    shard_id: SHARD0.into(),
                    shard_iterator_type: ShardIteratorType::AtTimestamp,
                    timestamp: Some(Timestamp::from_millis(ms)),
                    ..Default::default()
                })
                .await
                .expect("iterator")
                .shard_iterator;
            data_of(&get(&e, &it).await.records)
        }
    };
    let base = 1_000_000_000;
    assert_eq!(at(0).await.len(), 4, "before everything: from the oldest record");
    assert_eq!(at(base).await, ["r0", "r1", "r2", "r3"]);
    assert_eq!(at(base + 1).await, ["r1", "r2", "r3"]);
    assert_eq!(at(base + 20_000).await, ["r2", "r3"]);
    assert!(at(base + 40_000).await.is_empty(), "now: nothing yet");
    // A timestamp in the future is refused, as AWS refuses it.
    let future = e
        .get_shard_iterator(GetShardIteratorInput {
            stream_name: Some("s".into()),
            shard_id: SHARD0.into(),
            shard_iterator_type: ShardIteratorType::AtTimestamp,
            timestamp: Some(Timestamp::from_millis(base + 40_001)),
            ..Default::default()
        })
        .await;
    assert_eq!(code(future), "InvalidArgumentException");
    let missing = e
        .get_shard_iterator(GetShardIteratorInput {
            stream_name: Some("s".into()),
            shard_id: SHARD0.into(),
            shard_iterator_type: ShardIteratorType::AtTimestamp,
            ..Default::default()
        })
        .await;
    assert_eq!(code(missing), "InvalidArgumentException");
}

#[tokio::test]
async fn a_sequence_number_with_latest_or_trim_horizon_is_an_invalid_argument() {
    let e = emulator();
    let outs = seeded(&e).await;
    for kind in [ShardIteratorType::Latest, ShardIteratorType::TrimHorizon] {
        let result = iterator_at(&e, "s", SHARD0, kind, Some(&outs[0].sequence_number)).await;
        let err = result.expect_err("refused");
        assert_eq!(err.code(), "InvalidArgumentException", "{kind:?}: {err}");
        assert!(err.message().contains("StartingSequenceNumber"), "{err}");
    }
}

#[tokio::test(start_paused = true)]
async fn iterators_expire_after_five_minutes() {
    let e = emulator();
    seeded(&e).await;
    let it = iterator(&e, "s", SHARD0, ShardIteratorType::TrimHorizon).await;
    tokio::time::advance(Duration::from_secs(300)).await;
    let page = get(&e, &it).await;
    assert_eq!(page.records.len(), 5, "still valid at exactly five minutes");
    let next = page.next_shard_iterator.expect("open shard");
    tokio::time::advance(Duration::from_millis(1)).await;
    let expired = e
        .get_records(GetRecordsInput {
            shard_iterator: it,
            ..Default::default()
        })
        .await;
    let err = expired.expect_err("expired");
    assert_eq!(err.code(), "ExpiredIteratorException");
    assert!(!err.is_retryable());
    // The iterator returned by GetRecords was issued later and is still valid.
    tokio::time::advance(Duration::from_secs(299)).await;
    get(&e, &next).await;
}

#[tokio::test]
async fn forged_tampered_and_foreign_iterators_are_rejected() {
    let e = emulator();
    seeded(&e).await;
    let it = iterator(&e, "s", SHARD0, ShardIteratorType::TrimHorizon).await;
    let mut tampered = it.clone().into_bytes();
    let mid = tampered.len() / 2;
    tampered[mid] = if tampered[mid] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ascii");
    let other = emulator_with(|b| b.without_throughput_limits().seed(7));
    create(&other, "s", 1).await;
    let foreign = iterator(&other, "s", SHARD0, ShardIteratorType::TrimHorizon).await;
    for bad in [tampered.as_str(), "AAAA", "not an iterator", foreign.as_str()] {
        let r = e
            .get_records(GetRecordsInput {
                shard_iterator: bad.into(),
                ..Default::default()
            })
            .await;
        assert_eq!(code(r), "InvalidArgumentException", "{bad}");
    }
    for bad in [String::new(), "A".repeat(513)] {
        let r = e
            .get_records(GetRecordsInput {
                shard_iterator: bad,
                ..Default::default()
            })
            .await;
        assert_eq!(code(r), "ValidationException");
    }
    let wrong_arn = e
        .get_records(GetRecordsInput {
            shard_iterator: it,
            stream_arn: Some(e.stream_arn("other")),
            ..Default::default()
        })
        .await;
    assert_eq!(code(wrong_arn), "InvalidArgumentException");
}

#[tokio::test]
async fn sequence_numbers_of_other_shards_or_streams_are_rejected() {
    let e = emulator();
    create(&e, "s", 2).await;
    create(&e, "t", 1).await;
    let in0 = put_to_hash(&e, "s", 0, "a").await;
    assert_eq!(in0.shard_id, SHARD0);
    let in_t = put(&e, "t", "k", "b").await;
    let kinds = [
        ShardIteratorType::AtSequenceNumber,
        ShardIteratorType::AfterSequenceNumber,
    ];
    for kind in kinds {
        let other_shard = iterator_at(&e, "s", SHARD1, kind, Some(&in0.sequence_number)).await;
        assert_eq!(code(other_shard), "InvalidArgumentException");
        let other_stream = iterator_at(&e, "s", SHARD0, kind, Some(&in_t.sequence_number)).await;
        assert_eq!(code(other_stream), "InvalidArgumentException");
        let made_up = iterator_at(&e, "s", SHARD0, kind, Some("12345")).await;
        assert_eq!(code(made_up), "InvalidArgumentException");
        let malformed = iterator_at(&e, "s", SHARD0, kind, Some("12a")).await;
        assert_eq!(code(malformed), "ValidationException");
        let missing = iterator_at(&e, "s", SHARD0, kind, None).await;
        assert_eq!(code(missing), "InvalidArgumentException");
    }
    // A future sequence number of the right shard is not valid either.
    let mut future = in0.sequence_number.clone();
    future.replace_range(50.., "999999");
    let r = iterator_at(
        &e,
        "s",
        SHARD0,
        ShardIteratorType::AtSequenceNumber,
        Some(&future),
    )
    .await;
    assert_eq!(code(r), "InvalidArgumentException");
    let unknown = iterator_at(
        &e,
        "s",
        "shardId-000000000009",
        ShardIteratorType::TrimHorizon,
        None,
    )
    .await;
    assert_eq!(code(unknown), "ResourceNotFoundException");
    let malformed_id = iterator_at(&e, "s", "shard 0", ShardIteratorType::TrimHorizon, None).await;
    assert_eq!(code(malformed_id), "ValidationException");
}
