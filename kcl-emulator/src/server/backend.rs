//! The backend that serves decoded requests from the in-process [`Emulator`], persisting state changes.
//!
//! Each operation deserializes its input type from the request (a JSON body straight from its bytes,
//! others from the canonical JSON form; the emulator's types carry the AWS member names), calls the emulator method of the same name, and answers its typed output (the
//! handler encodes it in the request's wire format); the
//! routing ([`route`]) is generated here from the crate's one list of operations (`ops/mod.rs`). Inputs
//! that do not fit the operation's shape (a string where a number belongs, say) are answered with
//! `SerializationException`, as AWS does; semantic checks (required members, lengths, ranges) are the
//! emulator's, which answers `ValidationException` and friends. Operations of the Kinesis API that the
//! emulator does not implement are answered with `UnknownOperationException`, like kinesalite.

use std::sync::Arc;

use futures::future::BoxFuture;
use futures::stream::StreamExt;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::codec::RequestBody;
use super::error::ApiError;
use super::regions::{Regions, Served};
use super::service::{Backend, Reply};
use super::target::Target;
use crate::subscription::Subscription;
use crate::Operation;
use crate::{Emulator, KinesisError};

/// Serves requests from the [`Emulator`] of the region each is signed for; with persistence, persists
/// every successful state change before answering.
#[derive(Debug, Clone)]
pub(crate) struct EmulatorBackend {
    regions: Arc<Regions>,
}

impl EmulatorBackend {
    pub(crate) fn new(regions: Arc<Regions>) -> Self {
        Self { regions }
    }

    /// Runs one request against an emulator without persisting it.
    async fn execute(emulator: &Emulator, target: Target, request: RequestBody) -> Result<Reply, ApiError> {
        match target {
            Target::Implemented(operation) => route(emulator, operation, request).await,
            Target::Unimplemented(name) => Err(ApiError::unknown_operation(format!(
                "the emulator does not implement {name}"
            ))),
        }
    }
}

impl Backend for EmulatorBackend {
    fn call(
        &self,
        operation: Target,
        region: Option<String>,
        request: RequestBody,
    ) -> BoxFuture<'static, Result<Reply, ApiError>> {
        let regions = self.regions.clone();
        Box::pin(async move {
            let Served {
                emulator,
                persistence,
            } = regions.get(region.as_deref()).await?;
            let persistence = match persistence {
                Some(p) if operation.is_mutating() => p,
                _ => return Self::execute(&emulator, operation, request).await,
            };
            let persisted = if matches!(
                operation,
                Target::Implemented(Operation::PutRecord | Operation::PutRecords)
            ) {
                let put = persistence.begin_put().await;
                let reply = Self::execute(&emulator, operation, request).await?;
                match &reply {
                    Reply::Output(output) => {
                        let output = output
                            .to_value()
                            .map_err(|e| ApiError::internal(format!("cannot encode the response: {e}")))?;
                        put.commit(&output).await.map(|()| reply)
                    }
                    Reply::Stream(_) => Ok(reply),
                }
            } else {
                let gate = persistence.change_gate().await;
                let reply = Self::execute(&emulator, operation, request).await?;
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

/// Decodes an operation's input; a mismatch is a `SerializationException`.
fn decode<I: DeserializeOwned>(request: RequestBody) -> Result<I, ApiError> {
    request.decode()
}

/// The reply to a unary operation: its typed output (encoded when the answer is written), or its error.
fn value<O: Serialize + Send + 'static>(result: Result<O, KinesisError>) -> Result<Reply, ApiError> {
    Ok(Reply::Output(Box::new(result.map_err(api_error)?)))
}

/// The reply to SubscribeToShard: its events in canonical JSON form, or its error.
fn events(result: Result<Subscription, KinesisError>) -> Result<Reply, ApiError> {
    let events = result.map_err(api_error)?.map(|event| match event {
        Ok(event) => encode(&event),
        Err(error) => Err(api_error(error)),
    });
    Ok(Reply::Stream(events.boxed()))
}

fn encode<O: Serialize>(output: &O) -> Result<Value, ApiError> {
    serde_json::to_value(output).map_err(|e| ApiError::internal(format!("cannot encode the response: {e}")))
}

fn api_error(error: KinesisError) -> ApiError {
    ApiError::from_code(error.code(), error.message())
}

/// Generates [`route`] from the list of operations (`ops/mod.rs`).
macro_rules! routes {
    ($(
        $(#[$doc:meta])*
        $op:ident => $method:ident($input:ident) -> $output:ident [$($flag:ident),+];
    )+) => {
        /// Runs one decoded request against the emulator: the input is decoded from its canonical JSON
        /// form, the output encoded back (SubscribeToShard answers an event stream).
        async fn route(
            emulator: &Emulator,
            operation: Operation,
            request: RequestBody,
        ) -> Result<Reply, ApiError> {
            match operation {
                $(Operation::$op => {
                    let input = decode(request)?;
                    routes!(@reply emulator.$method(input).await; $($flag),+)
                })+
            }
        }
    };

    (@reply $call:expr; reads, at_shard, events) => {
        events($call)
    };
    (@reply $call:expr; $($flag:ident),+) => {
        value($call)
    };
}

crate::ops::operations!(routes);
