//! [`EmulatorSource`]: records from the in-process kcl-emulator (feature `emulator`).
//!
//! Calls go straight to an [`Emulator`] handle (no network), so paused-time tests drive the whole
//! pipeline deterministically. Emulator errors are mapped by code exactly like the aws-sdk-kinesis
//! source's: `ExpiredIteratorException` -> [`Error::ExpiredIterator`]; throttling and limit errors ->
//! [`Error::Throttled`]; `ResourceNotFoundException` -> [`Error::ResourceNotFound`]; others ->
//! [`Error::Source`] (retryable as the emulator says).

use async_trait::async_trait;
use kcl_checkpoint::{HashKeyRange, SequenceNumber};
use kcl_emulator::types as et;
use kcl_emulator::{Emulator, KinesisError};

use super::{
    GetRecordsOutput, IteratorPosition, PollingReader, ReadRequest, RecordSource, ShardDescription,
    ShardFilter, ShardIteratorApi, ShardReader,
};
use crate::error::{Error, Result};
use crate::record::{ChildShard, Record};

/// Reads one stream of an in-process [`Emulator`].
#[derive(Debug, Clone)]
pub struct EmulatorSource {
    emulator: Emulator,
    stream_name: String,
}

impl EmulatorSource {
    /// A source for stream `stream_name` of `emulator`.
    pub fn new(emulator: Emulator, stream_name: impl Into<String>) -> Self {
        EmulatorSource {
            emulator,
            stream_name: stream_name.into(),
        }
    }

    /// The emulator handle.
    pub fn emulator(&self) -> &Emulator {
        &self.emulator
    }

    /// The stream name.
    pub fn stream_name(&self) -> &str {
        &self.stream_name
    }
}

fn map_error(operation: &'static str, resource: &str, err: KinesisError) -> Error {
    match err.code() {
        "ExpiredIteratorException" => Error::ExpiredIterator {
            shard_id: resource.to_owned(),
        },
        "ProvisionedThroughputExceededException"
        | "LimitExceededException"
        | "ThrottlingException"
        | "KMSThrottlingException" => Error::Throttled {
            operation,
            source: Some(Box::new(err)),
        },
        "ResourceNotFoundException" => Error::ResourceNotFound {
            operation,
            resource: format!("{resource}: {}", err.message()),
        },
        code => Error::Source {
            operation,
            code: code.to_owned(),
            message: err.message().to_owned(),
            retryable: err.is_retryable(),
            source: Some(Box::new(err)),
        },
    }
}

fn hash_range(r: &et::HashKeyRange) -> Option<HashKeyRange> {
    HashKeyRange::new(r.starting_hash_key.parse().ok()?, r.ending_hash_key.parse().ok()?)
}

fn timestamp(at: std::time::SystemTime) -> et::Timestamp {
    et::Timestamp::from_system_time(at)
}

fn filter(filter: &ShardFilter) -> Option<et::ShardFilter> {
    let (filter_type, shard_id, ts) = match filter {
        ShardFilter::FromTrimHorizon => return None,
        ShardFilter::AtTrimHorizon => (et::ShardFilterType::AtTrimHorizon, None, None),
        ShardFilter::AtLatest => (et::ShardFilterType::AtLatest, None, None),
        ShardFilter::AfterShardId(id) => (et::ShardFilterType::AfterShardId, Some(id.clone()), None),
        ShardFilter::AtTimestamp(at) => (et::ShardFilterType::AtTimestamp, None, Some(timestamp(*at))),
        ShardFilter::FromTimestamp(at) => (et::ShardFilterType::FromTimestamp, None, Some(timestamp(*at))),
    };
    Some(et::ShardFilter {
        filter_type,
        shard_id,
        timestamp: ts,
    })
}

#[async_trait]
impl RecordSource for EmulatorSource {
    fn stream(&self) -> Option<String> {
        Some(self.stream_name.clone())
    }

    async fn list_shards(&self, shard_filter: &ShardFilter) -> Result<Vec<ShardDescription>> {
        let mut shards = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let input = match next_token.take() {
                Some(token) => et::ListShardsInput {
                    next_token: Some(token),
                    ..Default::default()
                },
                None => et::ListShardsInput {
                    stream_name: Some(self.stream_name.clone()),
                    shard_filter: filter(shard_filter),
                    ..Default::default()
                },
            };
            let out = self
                .emulator
                .list_shards(input)
                .await
                .map_err(|e| map_error("ListShards", &self.stream_name, e))?;
            shards.extend(out.shards.into_iter().map(|s| ShardDescription {
                hash_key_range: hash_range(&s.hash_key_range),
                shard_id: s.shard_id,
                parent_shard_id: s.parent_shard_id,
                adjacent_parent_shard_id: s.adjacent_parent_shard_id,
                ending_sequence_number: s.sequence_number_range.ending_sequence_number,
            }));
            match out.next_token {
                Some(token) if !token.is_empty() => next_token = Some(token),
                _ => return Ok(shards),
            }
        }
    }

    fn open_reader(&self, request: ReadRequest) -> Box<dyn ShardReader> {
        Box::new(PollingReader::new(self.clone(), request))
    }
}

#[async_trait]
impl ShardIteratorApi for EmulatorSource {
    async fn get_shard_iterator(&self, shard_id: &str, position: &IteratorPosition) -> Result<String> {
        let (kind, seq, ts) = match position {
            IteratorPosition::TrimHorizon => (et::ShardIteratorType::TrimHorizon, None, None),
            IteratorPosition::Latest => (et::ShardIteratorType::Latest, None, None),
            IteratorPosition::AtSequence(s) => (
                et::ShardIteratorType::AtSequenceNumber,
                Some(s.as_str().to_owned()),
                None,
            ),
            IteratorPosition::AfterSequence(s) => (
                et::ShardIteratorType::AfterSequenceNumber,
                Some(s.as_str().to_owned()),
                None,
            ),
            IteratorPosition::AtTimestamp(at) => {
                (et::ShardIteratorType::AtTimestamp, None, Some(timestamp(*at)))
            }
        };
        let out = self
            .emulator
            .get_shard_iterator(et::GetShardIteratorInput {
                stream_name: Some(self.stream_name.clone()),
                shard_id: shard_id.to_owned(),
                shard_iterator_type: kind,
                starting_sequence_number: seq,
                timestamp: ts,
                ..Default::default()
            })
            .await
            .map_err(|e| map_error("GetShardIterator", shard_id, e))?;
        Ok(out.shard_iterator)
    }

    async fn get_records(&self, shard_id: &str, iterator: &str, limit: usize) -> Result<GetRecordsOutput> {
        let limit = i32::try_from(limit.clamp(1, 10_000)).unwrap_or(10_000);
        let out = self
            .emulator
            .get_records(et::GetRecordsInput {
                shard_iterator: iterator.to_owned(),
                limit: Some(limit),
                ..Default::default()
            })
            .await
            .map_err(|e| map_error("GetRecords", shard_id, e))?;
        let mut records = Vec::with_capacity(out.records.len());
        for r in out.records {
            records.push(Record {
                sequence_number: SequenceNumber::new(r.sequence_number)?,
                data: r.data,
                partition_key: r.partition_key,
                sub_sequence_number: 0,
                approximate_arrival_timestamp: Some(r.approximate_arrival_timestamp.to_system_time()),
                explicit_hash_key: None,
            });
        }
        let child_shards = out
            .child_shards
            .unwrap_or_default()
            .into_iter()
            .map(|c| ChildShard {
                hash_key_range: hash_range(&c.hash_key_range),
                shard_id: c.shard_id,
                parent_shards: c.parent_shards,
            })
            .collect();
        Ok(GetRecordsOutput {
            records,
            next_iterator: out.next_shard_iterator,
            millis_behind_latest: u64::try_from(out.millis_behind_latest).ok(),
            child_shards,
        })
    }
}
