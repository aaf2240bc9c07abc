//! The backend that serves decoded requests from the in-process [`Emulator`], journalling state changes.
//!
//! Each operation deserializes its input type from the canonical JSON form (the emulator's types carry the
//! AWS member names), calls the emulator method of the same name, and serializes the output back. Inputs
//! that do not fit the operation's shape (a string where a number belongs, say) are answered with
//! `SerializationException`, as AWS does; semantic checks (required members, lengths, ranges) are the
//! emulator's, which answers `ValidationException` and friends. Operations of the Kinesis API that the
//! emulator does not implement are answered with `UnknownOperationException`, like kinesalite.

use std::sync::Arc;

use futures::future::BoxFuture;
use futures::stream::StreamExt;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use super::error::ApiError;
use super::journal::Journal;
use super::operation::Operation;
use super::service::{Backend, Reply};
use crate::{Emulator, KinesisError};

/// Serves requests from an [`Emulator`]; with a journal, records every successful state change first.
#[derive(Debug, Clone)]
pub(crate) struct EmulatorBackend {
    emulator: Emulator,
    journal: Option<Arc<Journal>>,
}

impl EmulatorBackend {
    pub(crate) fn new(emulator: Emulator, journal: Option<Arc<Journal>>) -> Self {
        Self { emulator, journal }
    }

    /// Runs one request against the emulator without journalling it (journal replay uses this).
    pub(crate) async fn execute(
        &self,
        operation: Operation,
        request: Map<String, Value>,
    ) -> Result<Reply, ApiError> {
        let emulator = &self.emulator;
        macro_rules! dispatch {
            ($($op:ident => $method:ident,)*) => {
                match operation {
                    $(Operation::$op => unary(request, |input| emulator.$method(input)).await,)*
                    Operation::SubscribeToShard => {
                        let input = decode(request)?;
                        let subscription = emulator.subscribe_to_shard(input).await.map_err(api_error)?;
                        let events = subscription.map(|event| match event {
                            Ok(event) => encode(&event),
                            Err(error) => Err(api_error(error)),
                        });
                        Ok(Reply::Stream(events.boxed()))
                    }
                    other => Err(ApiError::unknown_operation(format!(
                        "the emulator does not implement {other}"
                    ))),
                }
            };
        }
        dispatch! {
            CreateStream => create_stream,
            DeleteStream => delete_stream,
            DescribeStream => describe_stream,
            DescribeStreamSummary => describe_stream_summary,
            ListStreams => list_streams,
            AddTagsToStream => add_tags_to_stream,
            RemoveTagsFromStream => remove_tags_from_stream,
            ListTagsForStream => list_tags_for_stream,
            IncreaseStreamRetentionPeriod => increase_stream_retention_period,
            DecreaseStreamRetentionPeriod => decrease_stream_retention_period,
            UpdateStreamMode => update_stream_mode,
            PutRecord => put_record,
            PutRecords => put_records,
            GetShardIterator => get_shard_iterator,
            GetRecords => get_records,
            ListShards => list_shards,
            SplitShard => split_shard,
            MergeShards => merge_shards,
            UpdateShardCount => update_shard_count,
            RegisterStreamConsumer => register_stream_consumer,
            DescribeStreamConsumer => describe_stream_consumer,
            ListStreamConsumers => list_stream_consumers,
            DeregisterStreamConsumer => deregister_stream_consumer,
        }
    }
}

impl Backend for EmulatorBackend {
    fn call(
        &self,
        operation: Operation,
        request: Map<String, Value>,
    ) -> BoxFuture<'static, Result<Reply, ApiError>> {
        let this = self.clone();
        Box::pin(async move {
            let journal_copy = match &this.journal {
                Some(_) if operation.is_mutating() => Some(request.clone()),
                _ => None,
            };
            let reply = this.execute(operation, request).await?;
            if let (Some(journal), Some(mut request)) = (&this.journal, journal_copy) {
                if operation == Operation::PutRecords {
                    if let Reply::Value(output) = &reply {
                        keep_accepted_records(&mut request, output);
                    }
                }
                if let Err(error) = journal.append(operation, &request).await {
                    // The change happened but will not survive a restart: say so loudly, still answer.
                    tracing::error!(%error, operation = operation.name(), "journal append failed");
                }
            }
            Ok(reply)
        })
    }
}

/// Drops from a PutRecords request the entries its answer rejected (partial failure), so that replaying the
/// journal writes exactly the records that clients saw accepted.
pub(crate) fn keep_accepted_records(request: &mut Map<String, Value>, output: &Value) {
    filter_put_records(request, output, true);
}

/// The opposite of [`keep_accepted_records`]: keeps only the rejected entries (to put them again).
pub(crate) fn keep_rejected_records(request: &mut Map<String, Value>, output: &Value) {
    filter_put_records(request, output, false);
}

fn filter_put_records(request: &mut Map<String, Value>, output: &Value, keep_accepted: bool) {
    let Some(results) = output.get("Records").and_then(Value::as_array) else {
        return;
    };
    if let Some(Value::Array(entries)) = request.get_mut("Records") {
        let mut index = 0;
        entries.retain(|_| {
            let accepted = results
                .get(index)
                .is_some_and(|r| r.get("ErrorCode").is_none_or(Value::is_null));
            index += 1;
            accepted == keep_accepted
        });
    }
}

async fn unary<I, O, F, Fut>(request: Map<String, Value>, call: F) -> Result<Reply, ApiError>
where
    I: DeserializeOwned,
    O: Serialize,
    F: FnOnce(I) -> Fut,
    Fut: std::future::Future<Output = Result<O, KinesisError>>,
{
    let input = decode(request)?;
    let output = call(input).await.map_err(api_error)?;
    encode(&output).map(Reply::Value)
}

fn decode<I: DeserializeOwned>(request: Map<String, Value>) -> Result<I, ApiError> {
    serde_json::from_value(Value::Object(request)).map_err(|e| ApiError::serialization(e.to_string()))
}

fn encode<O: Serialize>(output: &O) -> Result<Value, ApiError> {
    serde_json::to_value(output).map_err(|e| ApiError::internal(format!("cannot encode the response: {e}")))
}

fn api_error(error: KinesisError) -> ApiError {
    ApiError::from_code(error.code(), error.message())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_accepted_put_records_entries_are_journalled() {
        let mut request = json!({"StreamName": "s", "Records": [
            {"Data": "YQ==", "PartitionKey": "a"},
            {"Data": "Yg==", "PartitionKey": "b"},
            {"Data": "Yw==", "PartitionKey": "c"},
        ]})
        .as_object()
        .unwrap()
        .clone();
        let output = json!({"FailedRecordCount": 1, "Records": [
            {"SequenceNumber": "1", "ShardId": "shardId-000000000000"},
            {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "slow down"},
            {"SequenceNumber": "2", "ShardId": "shardId-000000000000"},
        ]});
        let mut rejected = request.clone();
        keep_rejected_records(&mut rejected, &output);
        assert_eq!(rejected["Records"].as_array().unwrap().len(), 1);
        assert_eq!(rejected["Records"][0]["PartitionKey"], "b");
        keep_accepted_records(&mut request, &output);
        let keys: Vec<_> = request["Records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["PartitionKey"].as_str().unwrap())
            .collect();
        assert_eq!(keys, ["a", "c"]);
    }
}
