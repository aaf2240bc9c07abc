//! [`KinesisSource`]: records from Kinesis Data Streams through aws-sdk-kinesis (feature `kinesis`).
//!
//! The caller builds the `aws_sdk_kinesis::Client` (credentials, region, endpoint) and hands it over; the
//! library never loads AWS configuration itself:
//!
//! ```no_run
//! # async fn demo() {
//! use aws_config::BehaviorVersion;
//! let config = aws_config::defaults(BehaviorVersion::latest())
//!     .endpoint_url("http://127.0.0.1:4567") // a local server, e.g. kinesalite or kcl-emulator
//!     .load()
//!     .await;
//! let source = kcl_core::source::KinesisSource::new(aws_sdk_kinesis::Client::new(&config), "my-stream");
//! # let _ = source;
//! # }
//! ```
//!
//! SDK errors are mapped here, by error code, and never exposed: `ExpiredIteratorException` ->
//! [`Error::ExpiredIterator`]; `ProvisionedThroughputExceededException`, `LimitExceededException`,
//! `ThrottlingException`, `KMSThrottlingException` -> [`Error::Throttled`]; `ResourceNotFoundException` ->
//! [`Error::ResourceNotFound`]; anything else -> [`Error::Source`], retryable for timeouts, transport
//! failures and 5xx responses. Errors are logged with `DisplayErrorContext`.

use std::time::SystemTime;

use async_trait::async_trait;
use aws_sdk_kinesis::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_kinesis::primitives::DateTime;
use aws_sdk_kinesis::types::{self as kt, ShardFilterType, ShardIteratorType};
use bytes::Bytes;
use kcl_checkpoint::{HashKeyRange, SequenceNumber};

use super::{
    GetRecordsOutput, IteratorPosition, PollingReader, ReadRequest, RecordSource, ShardDescription,
    ShardFilter, ShardIteratorApi, ShardReader,
};
use crate::error::{Error, Result};
use crate::record::{ChildShard, Record};

/// How the stream is addressed.
#[derive(Debug, Clone)]
enum StreamRef {
    Name(String),
    Arn(String),
}

/// Reads a Kinesis stream through aws-sdk-kinesis (polling: ListShards, GetShardIterator, GetRecords).
#[derive(Debug, Clone)]
pub struct KinesisSource {
    client: aws_sdk_kinesis::Client,
    stream: StreamRef,
    /// Where the client sends requests, named in [`Error::Unreachable`].
    endpoint: String,
}

/// The regional endpoint of `client`, for naming it in connection errors.
fn default_endpoint(client: &aws_sdk_kinesis::Client) -> String {
    match client.config().region() {
        Some(region) => format!("https://kinesis.{region}.amazonaws.com"),
        None => "the Kinesis endpoint (no region configured)".to_owned(),
    }
}

impl KinesisSource {
    /// A source for the stream named `stream_name`.
    pub fn new(client: aws_sdk_kinesis::Client, stream_name: impl Into<String>) -> Self {
        KinesisSource {
            endpoint: default_endpoint(&client),
            client,
            stream: StreamRef::Name(stream_name.into()),
        }
    }

    /// A source for the stream with ARN `stream_arn` (needed for cross-account access).
    pub fn with_stream_arn(client: aws_sdk_kinesis::Client, stream_arn: impl Into<String>) -> Self {
        KinesisSource {
            endpoint: default_endpoint(&client),
            client,
            stream: StreamRef::Arn(stream_arn.into()),
        }
    }

    /// Names the endpoint the client was configured with (for example `http://127.0.0.1:4567`) in
    /// [`Error::Unreachable`]. Default: the regional endpoint `https://kinesis.<region>.amazonaws.com`.
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = endpoint.into();
        self
    }

    /// The endpoint named in connection errors.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The client in use.
    pub fn client(&self) -> &aws_sdk_kinesis::Client {
        &self.client
    }
}

/// Maps an SDK error at the edge, by error code.
fn map_error<E>(operation: &'static str, resource: &str, endpoint: &str, err: SdkError<E>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    map_error_with(operation, resource, endpoint, err, &[])
}

/// [`map_error`], with `also_retryable` service error codes counted as retryable (the fan-out source adds
/// `ResourceInUseException`: a newer subscription took over, and resubscribing may work).
pub(crate) fn map_error_with<E>(
    operation: &'static str,
    resource: &str,
    endpoint: &str,
    err: SdkError<E>,
    also_retryable: &[&str],
) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = err.code().unwrap_or("unknown").to_owned();
    let message = err.message().unwrap_or_default().to_owned();
    tracing::debug!(operation, error = %DisplayErrorContext(&err), "Kinesis call failed");
    match code.as_str() {
        "ExpiredIteratorException" => {
            return Error::ExpiredIterator {
                shard_id: resource.to_owned(),
            }
        }
        "ProvisionedThroughputExceededException"
        | "LimitExceededException"
        | "ThrottlingException"
        | "KMSThrottlingException" => {
            return Error::Throttled {
                operation,
                source: Some(Box::new(err)),
            }
        }
        "ResourceNotFoundException" => {
            return Error::ResourceNotFound {
                operation,
                resource: if message.is_empty() {
                    resource.to_owned()
                } else {
                    message
                },
            }
        }
        _ => {}
    }
    match &err {
        SdkError::DispatchFailure(f) if f.is_io() || f.is_other() => {
            return Error::Unreachable {
                operation,
                endpoint: endpoint.to_owned(),
                source: Some(Box::new(err)),
            }
        }
        SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_) if is_identity_failure(&err) => {
            return Error::Credentials {
                operation,
                source: Some(Box::new(err)),
            }
        }
        _ => {}
    }
    let retryable = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(ctx) => ctx.raw().status().is_server_error(),
        _ => false,
    } || matches!(
        code.as_str(),
        "InternalFailure" | "ServiceUnavailable" | "InternalServerError"
    ) || also_retryable.contains(&code.as_str());
    Error::Source {
        operation,
        code,
        message,
        retryable,
        source: Some(Box::new(err)),
    }
}

/// True when the failure came from resolving credentials (no provider had any, or one failed).
fn is_identity_failure(err: &(dyn std::error::Error + 'static)) -> bool {
    let text = kcl_checkpoint::DisplayChain(err).to_string().to_ascii_lowercase();
    text.contains("credentials") || text.contains("identity")
}

fn parse_u128(s: &str) -> Option<u128> {
    s.parse().ok()
}

/// An SDK record as ours (the SDK does not return explicit hash keys or sub-sequence numbers; KPL
/// de-aggregation, in retrieval, fills in sub-sequences).
pub(crate) fn record(r: kt::Record) -> Result<Record> {
    Ok(Record {
        sequence_number: SequenceNumber::new(r.sequence_number)?,
        data: Bytes::from(r.data.into_inner()),
        partition_key: r.partition_key.unwrap_or_default(),
        sub_sequence_number: 0,
        approximate_arrival_timestamp: r
            .approximate_arrival_timestamp
            .and_then(|t| SystemTime::try_from(t).ok()),
        explicit_hash_key: None,
    })
}

/// The SDK's ChildShards (returned at the end of a closed shard) as ours.
pub(crate) fn child_shards(children: Option<Vec<kt::ChildShard>>) -> Vec<ChildShard> {
    children
        .unwrap_or_default()
        .into_iter()
        .map(|c| ChildShard {
            hash_key_range: hash_range(c.hash_key_range.as_ref()),
            shard_id: c.shard_id,
            parent_shards: c.parent_shards,
        })
        .collect()
}

fn hash_range(r: Option<&kt::HashKeyRange>) -> Option<HashKeyRange> {
    let r = r?;
    HashKeyRange::new(parse_u128(&r.starting_hash_key)?, parse_u128(&r.ending_hash_key)?)
}

fn date_time(at: SystemTime) -> DateTime {
    DateTime::from(at)
}

fn shard_description(shard: kt::Shard) -> ShardDescription {
    let hash_key_range = hash_range(shard.hash_key_range.as_ref());
    ShardDescription {
        shard_id: shard.shard_id,
        parent_shard_id: shard.parent_shard_id,
        adjacent_parent_shard_id: shard.adjacent_parent_shard_id,
        hash_key_range,
        ending_sequence_number: shard.sequence_number_range.and_then(|r| r.ending_sequence_number),
    }
}

fn filter(filter: &ShardFilter) -> Option<kt::ShardFilter> {
    let builder = kt::ShardFilter::builder();
    let builder = match filter {
        ShardFilter::FromTrimHorizon => return None,
        ShardFilter::AtTrimHorizon => builder.r#type(ShardFilterType::AtTrimHorizon),
        ShardFilter::AtLatest => builder.r#type(ShardFilterType::AtLatest),
        ShardFilter::AfterShardId(id) => builder.r#type(ShardFilterType::AfterShardId).shard_id(id),
        ShardFilter::AtTimestamp(at) => builder
            .r#type(ShardFilterType::AtTimestamp)
            .timestamp(date_time(*at)),
        ShardFilter::FromTimestamp(at) => builder
            .r#type(ShardFilterType::FromTimestamp)
            .timestamp(date_time(*at)),
    };
    builder.build().ok()
}

#[async_trait]
impl RecordSource for KinesisSource {
    fn stream(&self) -> Option<String> {
        Some(match &self.stream {
            StreamRef::Name(name) | StreamRef::Arn(name) => name.clone(),
        })
    }

    async fn list_shards(&self, shard_filter: &ShardFilter) -> Result<Vec<ShardDescription>> {
        let mut shards = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let mut req = self.client.list_shards();
            req = match &next_token {
                // With a NextToken, Kinesis rejects the stream name and the filter.
                Some(token) => req.next_token(token),
                None => {
                    let req = match &self.stream {
                        StreamRef::Name(name) => req.stream_name(name),
                        StreamRef::Arn(arn) => req.stream_arn(arn),
                    };
                    req.set_shard_filter(filter(shard_filter))
                }
            };
            let out = req
                .send()
                .await
                .map_err(|e| map_error("ListShards", "stream", &self.endpoint, e))?;
            shards.extend(out.shards.unwrap_or_default().into_iter().map(shard_description));
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
impl ShardIteratorApi for KinesisSource {
    async fn get_shard_iterator(&self, shard_id: &str, position: &IteratorPosition) -> Result<String> {
        let req = self.client.get_shard_iterator().shard_id(shard_id);
        let req = match &self.stream {
            StreamRef::Name(name) => req.stream_name(name),
            StreamRef::Arn(arn) => req.stream_arn(arn),
        };
        let req = match position {
            IteratorPosition::TrimHorizon => req.shard_iterator_type(ShardIteratorType::TrimHorizon),
            IteratorPosition::Latest => req.shard_iterator_type(ShardIteratorType::Latest),
            IteratorPosition::AtSequence(s) => req
                .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
                .starting_sequence_number(s.as_str()),
            IteratorPosition::AfterSequence(s) => req
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .starting_sequence_number(s.as_str()),
            IteratorPosition::AtTimestamp(at) => req
                .shard_iterator_type(ShardIteratorType::AtTimestamp)
                .timestamp(date_time(*at)),
        };
        let out = req
            .send()
            .await
            .map_err(|e| map_error("GetShardIterator", shard_id, &self.endpoint, e))?;
        out.shard_iterator.ok_or_else(|| Error::Source {
            operation: "GetShardIterator",
            code: "MissingShardIterator".into(),
            message: "the response carried no shard iterator".into(),
            retryable: true,
            source: None,
        })
    }

    async fn get_records(&self, shard_id: &str, iterator: &str, limit: usize) -> Result<GetRecordsOutput> {
        let limit = i32::try_from(limit.clamp(1, 10_000)).unwrap_or(10_000);
        let req = self.client.get_records().shard_iterator(iterator).limit(limit);
        let req = match &self.stream {
            StreamRef::Arn(arn) => req.stream_arn(arn),
            StreamRef::Name(_) => req,
        };
        let out = req
            .send()
            .await
            .map_err(|e| map_error("GetRecords", shard_id, &self.endpoint, e))?;
        let records = out.records.into_iter().map(record).collect::<Result<Vec<_>>>()?;
        let child_shards = child_shards(out.child_shards);
        Ok(GetRecordsOutput {
            records,
            next_iterator: out.next_shard_iterator,
            millis_behind_latest: out.millis_behind_latest.and_then(|m| u64::try_from(m).ok()),
            child_shards,
        })
    }
}
