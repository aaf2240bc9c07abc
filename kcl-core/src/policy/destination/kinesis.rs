//! [`KinesisStreamDestination`]: failed batches put into a Kinesis stream, one record each, through the
//! caller's aws-sdk-kinesis client (feature `kinesis`).

use async_trait::async_trait;
use aws_sdk_kinesis::error::DisplayErrorContext;
use aws_sdk_kinesis::primitives::Blob;
use kcl_checkpoint::DisplayChain;
use serde_json::Value;

use super::{FailedBatch, FailureDestination};
use crate::error::BoxError;

/// The most a Kinesis record holds: data and partition key together.
const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// What a shortened error text ends with.
const TRUNCATED: &str = " [truncated]";

/// Puts each failed batch as one record (PutRecord) into a Kinesis stream, through the caller's client.
///
/// The record's data is [`FailedBatch::to_json`] (compact), its partition key the shard the batch came
/// from, so the failures of one shard stay in order in the destination. The caller builds the
/// `aws_sdk_kinesis::Client` (credentials, region, endpoint, retries); the library never loads AWS
/// configuration itself.
///
/// A Kinesis record holds at most 1 MiB (data and partition key together). A batch whose JSON is larger,
/// which only happens when it carries its records
/// ([`ProcessingPolicy::destination_includes_records`](crate::policy::ProcessingPolicy::destination_includes_records)),
/// is sent with its metadata only (the `records` array left out) and a warning is logged; the records can
/// still be read from the source stream with the sequence numbers in `KinesisBatchInfo`. If the metadata
/// alone is still too large (a processor error text of about a megabyte), the error text is shortened and
/// ends with `[truncated]`.
///
/// ```no_run
/// # async fn demo() {
/// use std::sync::Arc;
/// use aws_config::BehaviorVersion;
/// use kcl_core::policy::{FailureDestination, KinesisStreamDestination};
/// let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
/// let client = aws_sdk_kinesis::Client::new(&config);
/// let destination: Arc<dyn FailureDestination> =
///     Arc::new(KinesisStreamDestination::new(client, "my-stream-failures"));
/// # let _ = destination;
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct KinesisStreamDestination {
    client: aws_sdk_kinesis::Client,
    stream: String,
}

/// Why a put failed: the SDK's error is the source.
#[derive(Debug, thiserror::Error)]
#[error(
    "putting a failed batch (shard {shard_id}, from {start_sequence_number}) into Kinesis stream {stream} \
     failed: {cause}"
)]
struct PutError {
    stream: String,
    shard_id: String,
    start_sequence_number: String,
    /// The SDK error's cause chain, `service error: ResourceNotFoundException: Stream ... not found.` (its
    /// `DisplayErrorContext` adds a debug dump of the raw response: that goes to the debug log instead).
    cause: String,
    #[source]
    source: BoxError,
}

impl KinesisStreamDestination {
    /// A destination putting records into `stream`: a stream name, or a stream ARN when it starts with
    /// `arn:` (needed for a stream in another account).
    pub fn new(client: aws_sdk_kinesis::Client, stream: impl Into<String>) -> Self {
        KinesisStreamDestination {
            client,
            stream: stream.into(),
        }
    }

    /// The destination stream's name or ARN, as given.
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// The client in use.
    pub fn client(&self) -> &aws_sdk_kinesis::Client {
        &self.client
    }
}

/// The record data for `batch`: its JSON, made to fit one Kinesis record with `key_len` bytes of partition
/// key (see [`KinesisStreamDestination`]: records dropped first, then the error text shortened).
fn record_data(batch: &FailedBatch, key_len: usize) -> Result<Vec<u8>, serde_json::Error> {
    let fits = |data: &[u8]| data.len() + key_len <= MAX_RECORD_BYTES;
    let mut doc = batch.to_json();
    let mut data = serde_json::to_vec(&doc)?;
    if fits(&data) {
        return Ok(data);
    }
    if let Some(object) = doc.as_object_mut() {
        if object.remove("records").is_some() {
            tracing::warn!(
                shard_id = %batch.shard_id,
                start_sequence_number = %batch.start_sequence_number,
                batch_size = batch.batch_size,
                bytes = data.len(),
                "a failed batch with its records is over the 1 MiB Kinesis record limit: \
                 sending its metadata only"
            );
            data = serde_json::to_vec(&doc)?;
        }
    }
    // Each round shortens the error text by at least the excess, so this ends.
    while !fits(&data) {
        let Some(Value::String(error)) = doc.pointer_mut("/responseContext/functionError") else {
            break;
        };
        if error.is_empty() {
            break;
        }
        let excess = data.len() + key_len - MAX_RECORD_BYTES;
        let keep = error.len().saturating_sub(excess + TRUNCATED.len());
        if keep == 0 {
            error.clear();
        } else {
            let keep = error.floor_char_boundary(keep);
            error.truncate(keep);
            error.push_str(TRUNCATED);
        }
        data = serde_json::to_vec(&doc)?;
    }
    Ok(data)
}

#[async_trait]
impl FailureDestination for KinesisStreamDestination {
    /// Puts the batch's JSON as one record, partition key = its shard id.
    ///
    /// # Errors
    ///
    /// The SDK's error (as the source, its cause chain in the message) when PutRecord fails: the stream
    /// does not exist, access is denied, the stream is throttled, the endpoint is unreachable. The SDK's
    /// full `DisplayErrorContext` (with the raw response) is logged at debug level.
    async fn send(&self, batch: &FailedBatch) -> Result<(), BoxError> {
        let data = record_data(batch, batch.shard_id.len())?;
        let request = self
            .client
            .put_record()
            .partition_key(&batch.shard_id)
            .data(Blob::new(data));
        let request = if self.stream.starts_with("arn:") {
            request.stream_arn(&self.stream)
        } else {
            request.stream_name(&self.stream)
        };
        request.send().await.map_err(|err| {
            tracing::debug!(stream = %self.stream, error = %DisplayErrorContext(&err), "PutRecord failed");
            Box::new(PutError {
                stream: self.stream.clone(),
                shard_id: batch.shard_id.clone(),
                start_sequence_number: batch.start_sequence_number.clone(),
                cause: DisplayChain(&err).to_string(),
                source: Box::new(err),
            }) as BoxError
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use kcl_checkpoint::SequenceNumber;

    use super::*;
    use crate::policy::FailureCondition;
    use crate::record::Record;

    fn batch(records: &[Record], error: Option<String>) -> FailedBatch {
        FailedBatch::new(
            FailureCondition::RetryAttemptsExhausted,
            Some("src".to_owned()),
            "shardId-000000000000",
            records,
            3,
            error,
            "worker-1",
            UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            true,
        )
        .unwrap()
    }

    #[test]
    fn small_batches_keep_their_records() {
        let records = [Record::new("x", "k", SequenceNumber::from(1u128))];
        let b = batch(&records, None);
        let data = record_data(&b, b.shard_id.len()).unwrap();
        assert_eq!(serde_json::from_slice::<Value>(&data).unwrap(), b.to_json());
    }

    #[test]
    fn oversized_batches_drop_their_records_then_shorten_the_error() {
        // Two records of 600 KB: over the limit with the records, under it without.
        let records: Vec<Record> = (1..=2u128)
            .map(|i| Record::new(vec![b'a'; 600_000], "k", SequenceNumber::from(i)))
            .collect();
        let b = batch(&records, Some("boom".to_owned()));
        let data = record_data(&b, b.shard_id.len()).unwrap();
        let doc: Value = serde_json::from_slice(&data).unwrap();
        assert!(doc.get("records").is_none());
        assert_eq!(doc["KinesisBatchInfo"]["batchSize"], 2);
        assert_eq!(doc["responseContext"]["functionError"], "boom");

        // An error text of 2 MB (multi-byte characters, so the cut must find a boundary).
        let b = batch(&records, Some("é".repeat(1_000_000)));
        let data = record_data(&b, b.shard_id.len()).unwrap();
        assert!(
            data.len() + b.shard_id.len() <= MAX_RECORD_BYTES,
            "{}",
            data.len()
        );
        let doc: Value = serde_json::from_slice(&data).unwrap();
        let error = doc["responseContext"]["functionError"].as_str().unwrap();
        assert!(error.ends_with(TRUNCATED));
        assert!(error.len() > MAX_RECORD_BYTES - 4096, "{}", error.len());
        assert_eq!(doc["requestContext"]["requestId"], b.request_id());
    }
}
