//! Snapshots: export, serialize, restore; the restored emulator is the same state, not a replay.

use std::time::Duration;

use kcl_emulator::types::*;
use kcl_emulator::{Emulator, EmulatorConfig, EmulatorSnapshot};

fn config() -> EmulatorConfig {
    EmulatorConfig::builder()
        .without_throughput_limits()
        .build()
        .unwrap()
}

async fn read_at(kinesis: &Emulator, shard: &str, seq: &str) -> Record {
    let it = kinesis
        .get_shard_iterator(GetShardIteratorInput {
            stream_name: Some("s".into()),
            shard_id: shard.into(),
            shard_iterator_type: ShardIteratorType::AtSequenceNumber,
            starting_sequence_number: Some(seq.into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .shard_iterator;
    kinesis
        .get_records(GetRecordsInput {
            shard_iterator: it,
            limit: Some(1),
            ..Default::default()
        })
        .await
        .unwrap()
        .records
        .remove(0)
}

#[tokio::test(start_paused = true)]
async fn restore_keeps_sequence_numbers_timestamps_consumers_and_iterators() {
    let kinesis = Emulator::new(config());
    kinesis
        .create_stream(CreateStreamInput {
            stream_name: "s".into(),
            shard_count: Some(2),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut puts = Vec::new();
    for i in 0..20 {
        tokio::time::advance(Duration::from_millis(7)).await;
        let put = kinesis
            .put_record(PutRecordInput {
                stream_name: Some("s".into()),
                data: format!("r{i}").into(),
                partition_key: format!("k{i}"),
                ..Default::default()
            })
            .await
            .unwrap();
        puts.push((format!("r{i}"), put));
    }
    kinesis
        .split_shard(SplitShardInput {
            stream_name: Some("s".into()),
            shard_to_split: "shardId-000000000000".into(),
            new_starting_hash_key: "42535295865117307932921825928971026432".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let consumer = kinesis
        .register_stream_consumer(RegisterStreamConsumerInput {
            stream_arn: kinesis.stream_arn("s"),
            consumer_name: "app".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .consumer;
    let (data, first) = &puts[3];
    let before = read_at(&kinesis, &first.shard_id, &first.sequence_number).await;
    assert_eq!(before.data, data.as_str());
    let old_iterator = kinesis
        .get_shard_iterator(GetShardIteratorInput {
            stream_name: Some("s".into()),
            shard_id: first.shard_id.clone(),
            shard_iterator_type: ShardIteratorType::TrimHorizon,
            ..Default::default()
        })
        .await
        .unwrap()
        .shard_iterator;
    let shards_before = kinesis
        .list_shards(ListShardsInput {
            stream_name: Some("s".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .shards;

    // Through JSON, as the server persists it.
    let json = serde_json::to_string(&kinesis.snapshot()).unwrap();
    let snapshot: EmulatorSnapshot = serde_json::from_str(&json).unwrap();
    assert_eq!(snapshot.record_count(), 20);
    tokio::time::advance(Duration::from_secs(3)).await;
    let restored = Emulator::restore(config(), &snapshot).unwrap();

    for (data, put) in &puts {
        let record = read_at(&restored, &put.shard_id, &put.sequence_number).await;
        assert_eq!(record.data, data.as_str());
        assert_eq!(record.sequence_number, put.sequence_number);
    }
    let after = read_at(&restored, &first.shard_id, &first.sequence_number).await;
    assert_eq!(after, before, "same record, same arrival timestamp");
    let shards_after = restored
        .list_shards(ListShardsInput {
            stream_name: Some("s".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .shards;
    assert_eq!(shards_after, shards_before);
    let described = restored
        .describe_stream_consumer(DescribeStreamConsumerInput {
            consumer_arn: Some(consumer.consumer_arn.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(described.consumer_description.consumer_arn, consumer.consumer_arn);
    // An iterator issued before the snapshot still reads (same signing key).
    let page = restored
        .get_records(GetRecordsInput {
            shard_iterator: old_iterator,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!page.records.is_empty());
    // Writes continue the sequence: the next record on a shard sorts after the restored ones.
    let next = restored
        .put_record(PutRecordInput {
            stream_name: Some("s".into()),
            data: "new".into(),
            partition_key: "k1".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let last_same_shard = puts
        .iter()
        .rev()
        .find(|(_, p)| p.shard_id == next.shard_id)
        .map(|(_, p)| p.sequence_number.clone());
    if let Some(last) = last_same_shard {
        assert!(next.sequence_number > last);
    }
    // A new stream gets a fresh epoch: its sequence numbers differ from the restored stream's.
    restored
        .create_stream(CreateStreamInput {
            stream_name: "t".into(),
            shard_count: Some(1),
            ..Default::default()
        })
        .await
        .unwrap();
    let t = restored
        .put_record(PutRecordInput {
            stream_name: Some("t".into()),
            data: "x".into(),
            partition_key: "k".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_ne!(t.sequence_number[..18], puts[0].1.sequence_number[..18]);
}

#[test]
fn corrupt_snapshots_are_rejected_without_changing_state() {
    let kinesis = Emulator::new(config());
    let mut json: serde_json::Value = serde_json::to_value(kinesis.snapshot()).unwrap();
    json["version"] = 99.into();
    let bad: EmulatorSnapshot = serde_json::from_value(json.clone()).unwrap();
    let err = Emulator::restore(config(), &bad).unwrap_err();
    assert!(
        err.is_snapshot() && err.to_string().contains("version 99"),
        "{err}"
    );
    json["version"] = 1.into();
    json["token_key"] = "zz".into();
    let bad: EmulatorSnapshot = serde_json::from_value(json).unwrap();
    assert!(kinesis.import(&bad).is_err());
}
