//! [`FanOutSource`]: enhanced fan-out retrieval (SubscribeToShard) with a fall back to polling (feature
//! `kinesis`).
//!
//! Enhanced fan-out gives each registered consumer its own 2 MB/s per shard, pushed over an HTTP/2 event
//! stream instead of pulled with GetRecords. The source's readers are pushed: each waits for the next event
//! of its subscription and never sleeps, so a record reaches the processor as soon as its event arrives.
//!
//! - on first use the source registers the stream consumer (or finds the one already registered under the
//!   same name) and waits for it to become ACTIVE; all readers of the source share the outcome;
//! - a reader subscribes (SubscribeToShard) at its start position and yields one batch per event; it keeps
//!   the last event's *continuation sequence number*, so a subscription that ends (they live five minutes),
//!   fails, or is replaced by another is reopened from exactly where the last delivered event left off;
//! - at the end of a closed shard the last event carries the children and no continuation: the reader
//!   yields the shard end with them.
//!
//! When fan-out is unavailable — the endpoint does not know RegisterStreamConsumer or SubscribeToShard
//! (kinesalite, for example), or refuses them for lack of permission — the source logs a warning once and
//! its readers poll through the wrapped [`KinesisSource`] instead, from where they were. Throttling and
//! server faults are not reasons to fall back: they are returned as retryable errors, like the polling
//! source does.
//!
//! ```no_run
//! # async fn demo(client: aws_sdk_kinesis::Client) {
//! use kcl_core::source::fanout::FanOutSource;
//! let source = FanOutSource::new(client, "orders", "my-application");
//! # let _ = source;
//! # }
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_kinesis::error::ProvideErrorMetadata;
use aws_sdk_kinesis::types::ConsumerStatus;
use tokio::sync::Mutex;

use super::{KinesisSource, ReadRequest, RecordSource, ShardDescription, ShardFilter, ShardReader};
use crate::error::{Error, Result};

mod errors;
mod reader;

use errors::{classify, map_error, Unavailable};
use reader::FanOutReader;

/// Settings of a [`FanOutSource`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FanOutConfig {
    /// How long to wait for a newly registered consumer to become ACTIVE. Default 60 s.
    pub consumer_ready_timeout: Duration,
    /// How often to poll the consumer's status meanwhile. Default 250 ms.
    pub consumer_poll_interval: Duration,
    /// Events buffered per subscription ahead of the reader. Default 2 (events carry up to 2 MB each).
    pub buffered_events: usize,
}

impl Default for FanOutConfig {
    fn default() -> Self {
        FanOutConfig {
            consumer_ready_timeout: Duration::from_secs(60),
            consumer_poll_interval: Duration::from_millis(250),
            buffered_events: 2,
        }
    }
}

impl FanOutConfig {
    /// Sets how long a newly registered consumer may take to become ACTIVE (builder style).
    pub fn with_consumer_ready_timeout(mut self, timeout: Duration) -> Self {
        self.consumer_ready_timeout = timeout;
        self
    }

    /// Sets how often the consumer's status is polled meanwhile (builder style).
    pub fn with_consumer_poll_interval(mut self, interval: Duration) -> Self {
        self.consumer_poll_interval = interval;
        self
    }

    /// Sets the events buffered per subscription (builder style; at least 1).
    pub fn with_buffered_events(mut self, events: usize) -> Self {
        self.buffered_events = events;
        self
    }
}

/// Which retrieval the source settled on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RetrievalMode {
    /// Not decided yet (no call made).
    Undecided,
    /// Enhanced fan-out through the consumer with this ARN.
    FanOut {
        /// The registered consumer's ARN.
        consumer_arn: String,
    },
    /// Polling with GetRecords (fan-out was unavailable).
    Polling,
}

/// What the source and its readers share.
struct Shared {
    client: aws_sdk_kinesis::Client,
    polling: KinesisSource,
    stream_name: String,
    consumer_name: String,
    config: FanOutConfig,
    mode: Mutex<RetrievalMode>,
}

/// Reads a stream with enhanced fan-out (SubscribeToShard), falling back to polling when fan-out is
/// unavailable. Cheap to clone (clones share the consumer registration). See the [module docs](self).
#[derive(Clone)]
pub struct FanOutSource {
    shared: Arc<Shared>,
}

impl fmt::Debug for FanOutSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FanOutSource")
            .field("stream_name", &self.shared.stream_name)
            .field("consumer_name", &self.shared.consumer_name)
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl FanOutSource {
    /// A source for stream `stream_name`, reading as the consumer `consumer_name` (registered on first use;
    /// use one name per application, as the Java KCL uses the application name).
    pub fn new(
        client: aws_sdk_kinesis::Client,
        stream_name: impl Into<String>,
        consumer_name: impl Into<String>,
    ) -> Self {
        Self::with_config(client, stream_name, consumer_name, FanOutConfig::default())
    }

    /// As [`new`](Self::new), with settings.
    pub fn with_config(
        client: aws_sdk_kinesis::Client,
        stream_name: impl Into<String>,
        consumer_name: impl Into<String>,
        config: FanOutConfig,
    ) -> Self {
        let stream_name = stream_name.into();
        FanOutSource {
            shared: Arc::new(Shared {
                polling: KinesisSource::new(client.clone(), stream_name.clone()),
                client,
                stream_name,
                consumer_name: consumer_name.into(),
                config,
                mode: Mutex::new(RetrievalMode::Undecided),
            }),
        }
    }

    /// Names the endpoint the client was configured with in connection errors (see
    /// [`KinesisSource::with_endpoint`]). Call it before the source is cloned or used.
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        let endpoint = endpoint.into();
        match Arc::get_mut(&mut self.shared) {
            Some(shared) => shared.polling = shared.polling.clone().with_endpoint(endpoint),
            None => tracing::warn!("FanOutSource::with_endpoint called on a shared source; ignored"),
        }
        self
    }

    /// The retrieval mode settled on so far.
    pub async fn mode(&self) -> RetrievalMode {
        self.shared.mode.lock().await.clone()
    }

    /// Registers the consumer if needed and decides between fan-out and polling.
    ///
    /// # Errors
    ///
    /// Retryable errors (throttling, server faults, a consumer that does not become ACTIVE in time) and a
    /// missing stream ([`Error::ResourceNotFound`]); unavailability of fan-out is not an error.
    pub async fn ensure_mode(&self) -> Result<RetrievalMode> {
        self.shared.ensure_mode().await
    }

    /// Deregisters the consumer (the Java KCL leaves it registered; call this when the application is gone
    /// for good). Open subscriptions end.
    ///
    /// # Errors
    ///
    /// The mapped error of DeregisterStreamConsumer.
    pub async fn deregister_consumer(&self) -> Result<()> {
        let shared = &self.shared;
        let stream_arn = shared.stream_arn().await.map_err(Unavailable::into_error)?;
        shared
            .client
            .deregister_stream_consumer()
            .stream_arn(stream_arn)
            .consumer_name(&shared.consumer_name)
            .send()
            .await
            .map_err(|e| {
                map_error(
                    "DeregisterStreamConsumer",
                    &shared.consumer_name,
                    shared.polling.endpoint(),
                    e,
                )
            })?;
        *shared.mode.lock().await = RetrievalMode::Undecided;
        Ok(())
    }
}

impl Shared {
    async fn ensure_mode(&self) -> Result<RetrievalMode> {
        let mut mode = self.mode.lock().await;
        if *mode != RetrievalMode::Undecided {
            return Ok(mode.clone());
        }
        *mode = match self.register_consumer().await {
            Ok(consumer_arn) => {
                tracing::info!(stream = %self.stream_name, %consumer_arn, "using enhanced fan-out");
                RetrievalMode::FanOut { consumer_arn }
            }
            Err(Unavailable::Yes(reason)) => {
                tracing::warn!(stream = %self.stream_name, %reason, "enhanced fan-out unavailable; polling instead");
                RetrievalMode::Polling
            }
            Err(Unavailable::No(error)) => return Err(error),
        };
        Ok(mode.clone())
    }

    async fn stream_arn(&self) -> std::result::Result<String, Unavailable> {
        let out = self
            .client
            .describe_stream_summary()
            .stream_name(&self.stream_name)
            .send()
            .await
            .map_err(|e| {
                classify(
                    "DescribeStreamSummary",
                    &self.stream_name,
                    self.polling.endpoint(),
                    e,
                )
            })?;
        Ok(out
            .stream_description_summary()
            .map(|s| s.stream_arn().to_owned())
            .unwrap_or_default())
    }

    async fn register_consumer(&self) -> std::result::Result<String, Unavailable> {
        let stream_arn = self.stream_arn().await?;
        let registered = self
            .client
            .register_stream_consumer()
            .stream_arn(&stream_arn)
            .consumer_name(&self.consumer_name)
            .send()
            .await;
        let mut consumer_arn = match registered {
            Ok(out) => out.consumer().map(|c| c.consumer_arn().to_owned()),
            // Already registered (by another worker of the application): look it up.
            Err(e) if e.code() == Some("ResourceInUseException") => None,
            Err(e) => {
                return Err(classify(
                    "RegisterStreamConsumer",
                    &self.consumer_name,
                    self.polling.endpoint(),
                    e,
                ))
            }
        };
        let deadline = tokio::time::Instant::now() + self.config.consumer_ready_timeout;
        loop {
            let request = match &consumer_arn {
                Some(arn) => self.client.describe_stream_consumer().consumer_arn(arn),
                None => self
                    .client
                    .describe_stream_consumer()
                    .stream_arn(&stream_arn)
                    .consumer_name(&self.consumer_name),
            };
            let out = request.send().await.map_err(|e| {
                classify(
                    "DescribeStreamConsumer",
                    &self.consumer_name,
                    self.polling.endpoint(),
                    e,
                )
            })?;
            if let Some(description) = out.consumer_description() {
                consumer_arn = Some(description.consumer_arn().to_owned());
                if description.consumer_status() == &ConsumerStatus::Active {
                    return Ok(description.consumer_arn().to_owned());
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Unavailable::No(Error::Source {
                    operation: "DescribeStreamConsumer",
                    code: "ConsumerNotActive".into(),
                    message: format!(
                        "consumer {} did not become ACTIVE within {:?}",
                        self.consumer_name, self.config.consumer_ready_timeout
                    ),
                    retryable: true,
                    source: None,
                }));
            }
            tokio::time::sleep(self.config.consumer_poll_interval).await;
        }
    }
}

#[async_trait]
impl RecordSource for FanOutSource {
    fn stream(&self) -> Option<String> {
        Some(self.shared.stream_name.clone())
    }

    async fn list_shards(&self, filter: &ShardFilter) -> Result<Vec<ShardDescription>> {
        self.shared.polling.list_shards(filter).await
    }

    fn open_reader(&self, request: ReadRequest) -> Box<dyn ShardReader> {
        Box::new(FanOutReader::new(Arc::clone(&self.shared), request))
    }
}
