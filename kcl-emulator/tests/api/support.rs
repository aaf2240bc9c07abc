//! Shared helpers for the in-process operation tests: seeded emulators, puts, iterators, reads, listings.
#![allow(dead_code, unreachable_pub)]

use bytes::Bytes;
use kcl_emulator::types::*;
use kcl_emulator::{Emulator, EmulatorConfig, EmulatorConfigBuilder, KinesisError};

/// An emulator without throughput limits, seeded for reproducibility.
pub fn emulator() -> Emulator {
    emulator_with(|b| b.without_throughput_limits())
}

/// An emulator whose config is adjusted by `f` (starting from a seeded default).
pub fn emulator_with(f: impl FnOnce(EmulatorConfigBuilder) -> EmulatorConfigBuilder) -> Emulator {
    let config = f(EmulatorConfig::builder().seed(42))
        .build()
        .expect("valid config");
    Emulator::new(config)
}

pub async fn create(e: &Emulator, name: &str, shards: i32) {
    e.create_stream(CreateStreamInput {
        stream_name: name.into(),
        shard_count: Some(shards),
        ..Default::default()
    })
    .await
    .expect("create stream");
}

pub async fn put(e: &Emulator, stream: &str, key: &str, data: &str) -> PutRecordOutput {
    try_put(e, stream, key, data).await.expect("put record")
}

pub async fn try_put(
    e: &Emulator,
    stream: &str,
    key: &str,
    data: &str,
) -> Result<PutRecordOutput, KinesisError> {
    e.put_record(PutRecordInput {
        stream_name: Some(stream.into()),
        data: Bytes::copy_from_slice(data.as_bytes()),
        partition_key: key.into(),
        ..Default::default()
    })
    .await
}

pub async fn put_to_hash(e: &Emulator, stream: &str, hash: u128, data: &str) -> PutRecordOutput {
    e.put_record(PutRecordInput {
        stream_name: Some(stream.into()),
        data: Bytes::copy_from_slice(data.as_bytes()),
        partition_key: "k".into(),
        explicit_hash_key: Some(hash.to_string()),
        ..Default::default()
    })
    .await
    .expect("put record")
}

pub async fn iterator(e: &Emulator, stream: &str, shard: &str, kind: ShardIteratorType) -> String {
    iterator_at(e, stream, shard, kind, None).await.expect("iterator")
}

pub async fn iterator_at(
    e: &Emulator,
    stream: &str,
    shard: &str,
    kind: ShardIteratorType,
    seq: Option<&str>,
) -> Result<String, KinesisError> {
    e.get_shard_iterator(GetShardIteratorInput {
        stream_name: Some(stream.into()),
        shard_id: shard.into(),
        shard_iterator_type: kind,
        starting_sequence_number: seq.map(str::to_owned),
        ..Default::default()
    })
    .await
    .map(|o| o.shard_iterator)
}

pub async fn get(e: &Emulator, it: &str) -> GetRecordsOutput {
    e.get_records(GetRecordsInput {
        shard_iterator: it.into(),
        ..Default::default()
    })
    .await
    .expect("get records")
}

/// Every record of a shard from TRIM_HORIZON until caught up (open) or the end (closed), with the
/// child shards returned at the end.
pub async fn read_all(e: &Emulator, stream: &str, shard: &str) -> (Vec<Record>, Option<Vec<ChildShard>>) {
    let mut it = iterator(e, stream, shard, ShardIteratorType::TrimHorizon).await;
    let mut out = Vec::new();
    loop {
        let page = get(e, &it).await;
        let empty = page.records.is_empty();
        out.extend(page.records);
        match page.next_shard_iterator {
            None => return (out, page.child_shards),
            Some(next) if empty && page.millis_behind_latest == 0 => {
                let _ = next;
                return (out, None);
            }
            Some(next) => it = next,
        }
    }
}

pub fn data_of(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .map(|r| String::from_utf8_lossy(&r.data).into_owned())
        .collect()
}

pub async fn shards(e: &Emulator, stream: &str) -> Vec<Shard> {
    e.list_shards(ListShardsInput {
        stream_name: Some(stream.into()),
        ..Default::default()
    })
    .await
    .expect("list shards")
    .shards
}

pub async fn open_shards(e: &Emulator, stream: &str) -> Vec<Shard> {
    shards(e, stream)
        .await
        .into_iter()
        .filter(|s| s.sequence_number_range.ending_sequence_number.is_none())
        .collect()
}

pub fn code<T: std::fmt::Debug>(r: Result<T, KinesisError>) -> String {
    r.expect_err("expected an error").code().to_owned()
}

pub async fn status(e: &Emulator, stream: &str) -> StreamStatus {
    e.describe_stream_summary(DescribeStreamSummaryInput {
        stream_name: Some(stream.into()),
        ..Default::default()
    })
    .await
    .expect("describe summary")
    .stream_description_summary
    .stream_status
}

pub const SHARD0: &str = "shardId-000000000000";
pub const SHARD1: &str = "shardId-000000000001";
pub const SHARD2: &str = "shardId-000000000002";
