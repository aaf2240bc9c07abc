//! Kinesis wire-protocol server.
//!
//! Serves the in-process [`Emulator`] over HTTP so that unmodified clients — aws-sdk-kinesis, boto3, the
//! Java SDK, aws-cli — use it like the real service (or like kinesalite): `POST /` with
//! `X-Amz-Target: Kinesis_20131202.<Operation>`, bodies in `application/x-amz-json-1.1` or
//! `application/x-amz-cbor-1.1`, HTTP/1.1 or HTTP/2 over cleartext (h2c) on the same port, and
//! SubscribeToShard answered as an `application/vnd.amazon.eventstream` stream.
//!
//! ```no_run
//! # async fn run() -> Result<(), kcl_emulator::server::ServerError> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! println!("endpoint: http://{}", listener.local_addr()?);
//! kcl_emulator::server::serve(listener, async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```
//!
//! # Layout
//! - `listener`: the accept loop (HTTP/1.1 and h2c on one socket) and graceful shutdown.
//! - `service`: per-request checks in AWS's order, dispatch, and AWS-shaped error answers.
//! - `backend`: decoded requests to [`Emulator`] calls (routed by the crate's list of operations) and
//!   back, with persistence.
//! - `target`: the operation named by `X-Amz-Target`, implemented or not.
//! - `auth`: SigV4 presence checks (signatures are not verified).
//! - `model`: the API description (`model/kinesis.json`) and the request validation driven by it.
//! - `codec`: JSON 1.1 and CBOR 1.1 request bodies to one canonical form; answers encoded from the typed
//!   outputs (GetRecords and PutRecords written by hand in `codec/records.rs`).
//! - `eventstream`: event-stream framing for SubscribeToShard.
//! - `tls`: [`TlsConfig`], HTTPS with ALPN (`h2`, `http/1.1`).
//! - `regions`: one emulator per region, chosen by each request's SigV4 credential scope.
//! - `persist`: exact persistence across restarts (snapshot plus a journal of accepted records).
//! - `error`: [`ServerError`] and the error answers.

mod auth;
mod backend;
mod codec;
mod error;
mod eventstream;
mod listener;
mod model;
mod persist;
mod regions;
mod service;
mod target;
mod tls;

use std::future::Future;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;

pub use error::ServerError;
pub use tls::TlsConfig;

use crate::Emulator;
use backend::EmulatorBackend;
use persist::Persistence;
use regions::{Regions, Served};
use service::Handler;

/// How long an idle keep-alive connection stays open by default: longer than the SDKs keep idle
/// connections in their pools (the Rust SDK 90 s, the Java SDK 60 s), so a pooled connection is never
/// closed under a client that is about to reuse it. A client still sending a request's headers is dropped
/// after the same time.
pub const DEFAULT_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// Default request size limit: 16 MiB, above the largest valid request (a PutRecord of a 10 MiB record
/// after UpdateMaxRecordSize, base64-encoded: 13.4 MiB).
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;

/// A stream to create when the server starts: `name:shards` on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitialStream {
    /// The stream name.
    pub name: String,
    /// Its shard count.
    pub shards: u32,
}

impl FromStr for InitialStream {
    type Err = ServerError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, shards) = s.rsplit_once(':').ok_or_else(|| {
            ServerError::Config(format!("initial stream '{s}' is not of the form name:shards"))
        })?;
        let shards = shards.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| {
            ServerError::Config(format!("initial stream '{s}': shards must be a positive integer"))
        })?;
        if name.is_empty() {
            return Err(ServerError::Config(format!(
                "initial stream '{s}' has an empty name"
            )));
        }
        Ok(Self {
            name: name.to_owned(),
            shards,
        })
    }
}

/// A configured server; see [`Server::builder`]. [`serve`] runs one with the defaults.
#[derive(Debug, Clone)]
pub struct Server {
    emulator: Emulator,
    max_request_bytes: usize,
    persistence_dir: Option<PathBuf>,
    initial_streams: Vec<InitialStream>,
    tls: Option<TlsConfig>,
    idle_timeout: std::time::Duration,
}

/// Builder for [`Server`].
#[derive(Debug, Clone)]
pub struct ServerBuilder {
    server: Server,
}

impl ServerBuilder {
    /// The emulator to serve (default: `Emulator::default()`, AWS limits and instant state transitions).
    /// Share a clone with tests to inspect or fault-inject the served state in-process.
    pub fn emulator(mut self, emulator: Emulator) -> Self {
        self.server.emulator = emulator;
        self
    }

    /// Largest accepted request body in bytes (default [`DEFAULT_MAX_REQUEST_BYTES`]); larger ones are
    /// answered with HTTP 413.
    pub fn max_request_bytes(mut self, bytes: usize) -> Self {
        self.server.max_request_bytes = bytes;
        self
    }

    /// Persists the state in `dir` and restores it exactly on start (default: no persistence): streams,
    /// shards, records with their sequence numbers and arrival timestamps, consumers. The served emulator
    /// (see [`ServerBuilder::emulator`]) is overwritten with the stored state, if there is one.
    pub fn persistence_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.server.persistence_dir = Some(dir.into());
        self
    }

    /// How long an idle HTTP/1.1 keep-alive connection is kept open, which also bounds how long a client
    /// may take to send a request's headers (default [`DEFAULT_IDLE_TIMEOUT`]).
    pub fn idle_timeout(mut self, idle: std::time::Duration) -> Self {
        self.server.idle_timeout = idle;
        self
    }

    /// Serves HTTPS with this certificate instead of cleartext (default: cleartext HTTP/1.1 and h2c).
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.server.tls = Some(tls);
        self
    }

    /// A stream to create on start unless it already exists (for example restored from the persistence directory).
    pub fn initial_stream(mut self, stream: InitialStream) -> Self {
        self.server.initial_streams.push(stream);
        self
    }

    /// The configured server.
    ///
    /// # Errors
    /// [`ServerError::Config`] if the request size limit is zero.
    pub fn build(self) -> Result<Server, ServerError> {
        if self.server.max_request_bytes == 0 {
            return Err(ServerError::Config("max_request_bytes must be positive".into()));
        }
        Ok(self.server)
    }
}

impl Server {
    /// A builder starting from the defaults.
    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            server: Server {
                emulator: Emulator::default(),
                max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
                persistence_dir: None,
                initial_streams: Vec::new(),
                tls: None,
                idle_timeout: DEFAULT_IDLE_TIMEOUT,
            },
        }
    }

    /// The emulator this server serves.
    pub fn emulator(&self) -> &Emulator {
        &self.emulator
    }

    /// Restores the persisted state (if persistence is on), creates the initial streams, then serves on
    /// `listener` until `shutdown` completes. Open connections then get a few seconds to finish;
    /// SubscribeToShard streams are ended at once; then the state is snapshotted.
    ///
    /// # Errors
    /// [`ServerError::Persistence`] if the persisted state cannot be read (a corrupt file) or the final
    /// snapshot cannot be written, [`ServerError::Emulator`] if an initial
    /// stream cannot be created. Errors of single requests or connections never end the server.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), ServerError> {
        let persistence = match &self.persistence_dir {
            Some(dir) => Some(Persistence::open(dir, self.emulator.clone()).await?),
            None => None,
        };
        let compactor = persistence.clone().map(|p| tokio::spawn(p.compact_when_large()));
        let regions = Arc::new(Regions::new(
            Served {
                emulator: self.emulator.clone(),
                persistence: persistence.clone(),
            },
            self.persistence_dir.clone(),
        ));
        let backend = EmulatorBackend::new(regions.clone());
        for stream in &self.initial_streams {
            create_initial_stream(&backend, stream).await?;
        }
        let (stop_streams, stopped) = watch::channel(false);
        let handler = Arc::new(Handler {
            backend: Arc::new(backend),
            max_request_bytes: self.max_request_bytes,
            shutdown: stopped,
        });
        if let Ok(address) = listener.local_addr() {
            tracing::info!(%address, api = %model::model().source, "kcl-emulator serving Kinesis");
        }
        listener::run(
            listener,
            self.tls,
            self.idle_timeout,
            handler,
            stop_streams,
            shutdown,
        )
        .await;
        let mut saved = Ok(());
        for persistence in regions.all_persistence().await {
            let result = persistence.checkpoint().await;
            if saved.is_ok() {
                saved = result;
            }
        }
        if let Some(compactor) = compactor {
            compactor.abort();
        }
        saved?;
        Ok(())
    }
}

/// Serves a default [`Emulator`] on `listener` until `shutdown` completes.
///
/// # Errors
/// See [`Server::serve`].
pub async fn serve(listener: TcpListener, shutdown: impl Future<Output = ()>) -> Result<(), ServerError> {
    Server::builder().build()?.serve(listener, shutdown).await
}

async fn create_initial_stream(backend: &EmulatorBackend, stream: &InitialStream) -> Result<(), ServerError> {
    use service::Backend as _;
    let mut request = serde_json::Map::new();
    request.insert("StreamName".into(), stream.name.clone().into());
    request.insert("ShardCount".into(), stream.shards.into());
    match backend
        .call(
            crate::Operation::CreateStream.into(),
            None,
            codec::RequestBody::Decoded(request),
        )
        .await
    {
        Ok(_) => {
            tracing::info!(stream = %stream.name, shards = stream.shards, "created initial stream");
            Ok(())
        }
        Err(e) if e.code == "ResourceInUseException" => Ok(()),
        Err(e) => Err(ServerError::Emulator {
            operation: "CreateStream".into(),
            code: e.code,
            message: e.message,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_streams_parse() {
        assert_eq!(
            "orders:4".parse::<InitialStream>().unwrap(),
            InitialStream {
                name: "orders".into(),
                shards: 4
            }
        );
        assert!("orders".parse::<InitialStream>().unwrap_err().is_config());
        assert!("orders:0".parse::<InitialStream>().is_err());
        assert!(":3".parse::<InitialStream>().is_err());
        assert!("orders:x".parse::<InitialStream>().is_err());
    }
}
