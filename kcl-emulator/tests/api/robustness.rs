//! No input makes the emulator panic: arbitrary field values for every operation, and arbitrary JSON
//! bodies deserialized into the request types, all answer with a value or a typed error.

use crate::support::*;
use bytes::Bytes;
use kcl_emulator::types::*;
use kcl_emulator::Emulator;
use proptest::prelude::*;

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        Just(String::new()),
        Just("s".to_owned()),
        Just(SHARD0.to_owned()),
        Just("shardId-999999999999".to_owned()),
        Just("0".to_owned()),
        Just("340282366920938463463374607431768211456".to_owned()),
        Just("49".repeat(28)),
        Just("9".repeat(130)),
        Just("arn:aws:kinesis:us-east-1:000000000000:stream/s".to_owned()),
        Just("arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c:1".to_owned()),
        "[a-z0-9:/_.-]{0,300}",
    ]
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    prop::option::of(text())
}

fn opt_int() -> impl Strategy<Value = Option<i32>> {
    prop::option::of(prop_oneof![any::<i32>(), -2..20_000i32])
}

fn iterator_type() -> impl Strategy<Value = ShardIteratorType> {
    prop_oneof![
        Just(ShardIteratorType::TrimHorizon),
        Just(ShardIteratorType::Latest),
        Just(ShardIteratorType::AtSequenceNumber),
        Just(ShardIteratorType::AfterSequenceNumber),
        Just(ShardIteratorType::AtTimestamp),
    ]
}

#[derive(Debug, Clone)]
struct Fields {
    a: String,
    b: Option<String>,
    c: Option<String>,
    d: Option<String>,
    n: Option<i32>,
    m: Option<i32>,
    t: Option<i64>,
    kind: ShardIteratorType,
    data: Vec<u8>,
}

fn fields() -> impl Strategy<Value = Fields> {
    (
        text(),
        opt_text(),
        opt_text(),
        opt_text(),
        opt_int(),
        opt_int(),
        prop::option::of(any::<i64>()),
        iterator_type(),
        prop::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(a, b, c, d, n, m, t, kind, data)| Fields {
            a,
            b,
            c,
            d,
            n,
            m,
            t,
            kind,
            data,
        })
}

async fn exercise(e: &Emulator, f: Fields) {
    let ts = f.t.map(Timestamp::from_millis);
    let _ = e
        .create_stream(CreateStreamInput {
            stream_name: f.a.clone(),
            shard_count: f.n,
            ..Default::default()
        })
        .await;
    let _ = e
        .describe_stream(DescribeStreamInput {
            stream_name: f.b.clone(),
            stream_arn: f.c.clone(),
            limit: f.n,
            exclusive_start_shard_id: f.d.clone(),
        })
        .await;
    let _ = e
        .list_streams(ListStreamsInput {
            limit: f.n,
            exclusive_start_stream_name: f.b.clone(),
            next_token: f.c.clone(),
        })
        .await;
    let _ = e
        .put_record(PutRecordInput {
            stream_name: f.b.clone(),
            stream_arn: f.c.clone(),
            data: Bytes::from(f.data.clone()),
            partition_key: f.a.clone(),
            explicit_hash_key: f.d.clone(),
            sequence_number_for_ordering: f.c.clone(),
        })
        .await;
    let _ = e
        .put_records(PutRecordsInput {
            records: vec![PutRecordsRequestEntry {
                data: Bytes::from(f.data.clone()),
                explicit_hash_key: f.d.clone(),
                partition_key: f.a.clone(),
            }],
            stream_name: Some("s".into()),
            stream_arn: None,
        })
        .await;
    let it = e
        .get_shard_iterator(GetShardIteratorInput {
            stream_name: Some("s".into()),
            stream_arn: None,
            shard_id: f.b.clone().unwrap_or_else(|| SHARD0.into()),
            shard_iterator_type: f.kind,
            starting_sequence_number: f.c.clone(),
            timestamp: ts,
        })
        .await;
    let iterator = match it {
        Ok(o) => o.shard_iterator,
        Err(_) => f.a.clone(),
    };
    let _ = e
        .get_records(GetRecordsInput {
            shard_iterator: iterator,
            limit: f.m,
            stream_arn: f.d.clone(),
        })
        .await;
    let _ = e
        .list_shards(ListShardsInput {
            stream_name: f.b.clone(),
            stream_arn: f.c.clone(),
            next_token: f.d.clone(),
            exclusive_start_shard_id: None,
            max_results: f.n,
            stream_creation_timestamp: ts,
            shard_filter: Some(ShardFilter {
                filter_type: ShardFilterType::AtTimestamp,
                shard_id: None,
                timestamp: ts,
            }),
        })
        .await;
    let _ = e
        .split_shard(SplitShardInput {
            stream_name: Some("s".into()),
            stream_arn: None,
            shard_to_split: f.b.clone().unwrap_or_default(),
            new_starting_hash_key: f.a.clone(),
        })
        .await;
    let _ = e
        .merge_shards(MergeShardsInput {
            stream_name: Some("s".into()),
            stream_arn: None,
            shard_to_merge: f.a.clone(),
            adjacent_shard_to_merge: f.d.clone().unwrap_or_default(),
        })
        .await;
    let _ = e
        .update_shard_count(UpdateShardCountInput {
            stream_name: f.b.clone(),
            stream_arn: f.c.clone(),
            target_shard_count: f.n.unwrap_or(0),
            scaling_type: ScalingType::UniformScaling,
        })
        .await;
    let _ = e
        .increase_stream_retention_period(IncreaseStreamRetentionPeriodInput {
            stream_name: f.b.clone(),
            stream_arn: f.c.clone(),
            retention_period_hours: f.m.unwrap_or(0),
        })
        .await;
    let _ = e
        .register_stream_consumer(RegisterStreamConsumerInput {
            stream_arn: f.c.clone().unwrap_or_default(),
            consumer_name: f.a.clone(),
            tags: None,
        })
        .await;
    let _ = e
        .describe_stream_consumer(DescribeStreamConsumerInput {
            stream_arn: f.c.clone(),
            consumer_name: f.b.clone(),
            consumer_arn: f.d.clone(),
        })
        .await;
    let _ = e
        .list_stream_consumers(ListStreamConsumersInput {
            stream_arn: f.a.clone(),
            next_token: f.b.clone(),
            max_results: f.n,
            stream_creation_timestamp: ts,
        })
        .await;
    let _ = e
        .subscribe_to_shard(SubscribeToShardInput {
            consumer_arn: f.d.clone().unwrap_or_default(),
            shard_id: f.a.clone(),
            starting_position: StartingPosition {
                position_type: f.kind,
                sequence_number: f.c.clone(),
                timestamp: ts,
            },
        })
        .await;
    let _ = e
        .add_tags_to_stream(AddTagsToStreamInput {
            stream_name: f.b.clone(),
            stream_arn: None,
            tags: [(f.a.clone(), f.c.clone().unwrap_or_default())].into(),
        })
        .await;
    let _ = e
        .update_stream_mode(UpdateStreamModeInput {
            stream_arn: f.a.clone(),
            stream_mode_details: StreamModeDetails::default(),
            ..Default::default()
        })
        .await;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_fields_never_panic(all in prop::collection::vec(fields(), 1..6)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async {
            let e = emulator();
            create(&e, "s", 2).await;
            put(&e, "s", "k", "x").await;
            for f in all {
                exercise(&e, f).await;
            }
            // Still consistent afterwards.
            let listed = shards(&e, "s").await;
            assert!(!listed.is_empty());
        });
    }

    #[test]
    fn arbitrary_json_bodies_never_panic(body in "\\{(\"[A-Za-z]{1,20}\":(\"[^\"]{0,20}\"|-?[0-9]{1,25}|true|null|\\[\\]|\\{\\}),?){0,6}\\}") {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async {
            let e = emulator();
            create(&e, "s", 1).await;
            if let Ok(input) = serde_json::from_str::<PutRecordsInput>(&body) {
                let _ = e.put_records(input).await;
            }
            if let Ok(input) = serde_json::from_str::<GetShardIteratorInput>(&body) {
                let _ = e.get_shard_iterator(input).await;
            }
            if let Ok(input) = serde_json::from_str::<ListShardsInput>(&body) {
                let _ = e.list_shards(input).await;
            }
            if let Ok(input) = serde_json::from_str::<CreateStreamInput>(&body) {
                let _ = e.create_stream(input).await;
            }
            if let Ok(input) = serde_json::from_str::<GetRecordsInput>(&body) {
                let _ = e.get_records(input).await;
            }
        });
    }
}

#[tokio::test(start_paused = true)]
async fn extreme_configuration_values_do_not_panic() {
    let e = emulator_with(|b| {
        b.creating_delay(std::time::Duration::MAX)
            .consumer_delay(std::time::Duration::MAX)
            .start_time(std::time::UNIX_EPOCH)
    });
    create(&e, "s", 1).await;
    assert_eq!(status(&e, "s").await, StreamStatus::Creating);
    let before_epoch =
        emulator_with(|b| b.start_time(std::time::UNIX_EPOCH - std::time::Duration::from_secs(5)));
    create(&before_epoch, "s", 1).await;
    put(&before_epoch, "s", "k", "x").await;
    let (records, _) = read_all(&before_epoch, "s", SHARD0).await;
    assert_eq!(
        records[0].approximate_arrival_timestamp,
        Timestamp::from_millis(-5000)
    );
}
