//! The backend that serves decoded requests from the in-process [`Emulator`], persisting state changes.
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
use super::operation::Operation;
use super::persist::Persistence;
use super::service::{Backend, Reply};
use crate::{Emulator, KinesisError};

/// Serves requests from an [`Emulator`]; with persistence, persists every successful state change before
/// answering.
#[derive(Debug, Clone)]
pub(crate) struct EmulatorBackend {
    emulator: Emulator,
    persistence: Option<Arc<Persistence>>,
}

impl EmulatorBackend {
    pub(crate) fn new(emulator: Emulator, persistence: Option<Arc<Persistence>>) -> Self {
        Self {
            emulator,
            persistence,
        }
    }

    /// Runs one request against the emulator without persisting it.
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
            let persistence = match &this.persistence {
                Some(p) if operation.is_mutating() => p.clone(),
                _ => return this.execute(operation, request).await,
            };
            let persisted = if matches!(operation, Operation::PutRecord | Operation::PutRecords) {
                let put = persistence.begin_put().await;
                let reply = this.execute(operation, request).await?;
                match &reply {
                    Reply::Value(output) => put.commit(output).await.map(|()| reply),
                    Reply::Stream(_) => Ok(reply),
                }
            } else {
                let gate = persistence.change_gate().await;
                let reply = this.execute(operation, request).await?;
                drop(gate);
                persistence.checkpoint().await.map(|()| reply)
            };
            match persisted {
                Ok(reply) => Ok(reply),
                Err(error) => {
                    // The change happened but may not survive a restart: say so loudly and answer
                    // InternalFailure, so the client does not take it as durable.
                    tracing::error!(%error, operation = operation.name(), "persisting a change failed");
                    Err(ApiError::internal(format!(
                        "the change could not be persisted: {error}"
                    )))
                }
            }
        })
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
