//! The emulator's state: streams, their shards and consumers, and the locks that guard them.
//!
//! Lock order (always taken in this order, never the reverse): the queue registry and one queue's state
//! (`queue/`, when a queue operation runs) -> the stream map ([`Inner::streams`]) ->
//! one stream's metadata ([`StreamState::meta`]) -> one shard's data ([`ShardState::data`]). Record data
//! lives in per-shard storage behind a per-shard mutex, so writers and readers of different shards never
//! contend; the hot paths take the stream map and metadata locks only for reading.
//!
//! State transitions with configured delays (CREATING, UPDATING, DELETING, consumer CREATING/DELETING) are
//! applied lazily: a deadline is stored and the next access past it settles the transition. Retention is
//! also applied lazily, whenever a shard is touched.

//!
//! - `stream.rs`: [`StreamState`], its metadata and consumers;
//! - `shard.rs`: [`ShardState`] and its record storage.

mod log;
mod shard;
mod stream;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::channel::ChannelState;
use crate::clock::Clock;
use crate::config::EmulatorConfig;
use crate::error::KinesisError;
use crate::faults::Faults;
use crate::settings::AccountSettings;
use crate::shapes::{StreamMode, StreamStatus};
use crate::token::TokenKey;

pub(crate) use shard::{parse_shard_id, shard_id, Closed, ShardData, ShardState};
pub(crate) use stream::{deadline_after, ConsumerState, StreamMeta, StreamParts, StreamState};

/// Everything an [`Emulator`](crate::Emulator) handle points to.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) config: EmulatorConfig,
    pub(crate) clock: Clock,
    pub(crate) faults: Faults,
    pub(crate) tokens: TokenKey,
    pub(crate) streams: RwLock<Streams>,
    /// Random high digits of stream epochs, so sequence numbers of two emulators differ.
    pub(crate) epoch_base: AtomicU64,
    pub(crate) next_epoch: AtomicU64,
    /// Active SubscribeToShard subscriptions, by (consumer ARN, shard id).
    pub(crate) subscriptions: Mutex<HashMap<(String, String), SubscriptionSlot>>,
    /// The queues and their delivery state.
    pub(crate) queues: crate::queue::Queues,
    /// The account's settings (DescribeAccountSettings / UpdateAccountSettings).
    pub(crate) account: Mutex<AccountSettings>,
    /// The channels, by name.
    pub(crate) channels: RwLock<BTreeMap<String, ChannelState>>,
}

/// The streams, by name and by epoch (iterators carry the epoch).
#[derive(Debug, Default)]
pub(crate) struct Streams {
    pub(crate) by_name: BTreeMap<String, Arc<StreamState>>,
    pub(crate) by_epoch: HashMap<u64, Arc<StreamState>>,
}

/// The owner of one (consumer, shard) subscription slot; a newer subscription takes it over.
#[derive(Debug)]
pub(crate) struct SubscriptionSlot {
    /// Bumped by each new subscription; a subscription whose generation is stale has been taken over.
    pub(crate) generation: Arc<AtomicU64>,
    pub(crate) last_call: Instant,
    pub(crate) wake: Arc<Notify>,
}

impl Inner {
    pub(crate) fn new(config: EmulatorConfig, seed: u64) -> Self {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut key = [0u8; 32];
        rng.fill(&mut key);
        let clock = match config.start_time {
            Some(t) => Clock::starting_at(t),
            None => Clock::new(),
        };
        Self {
            faults: Faults::new(seed ^ 0x5eed),
            tokens: TokenKey::new(key),
            epoch_base: AtomicU64::new(rng.random_range(100_000..1_000_000u64) * 10_000_000_000),
            next_epoch: AtomicU64::new(1),
            streams: RwLock::new(Streams::default()),
            subscriptions: Mutex::new(HashMap::new()),
            queues: crate::queue::Queues::default(),
            account: Mutex::new(AccountSettings::default()),
            channels: RwLock::new(BTreeMap::new()),
            clock,
            config,
        }
    }

    /// A fresh, never reused stream epoch.
    pub(crate) fn new_epoch(&self) -> u64 {
        self.epoch_base.load(Ordering::Relaxed)
            + self.next_epoch.fetch_add(1, Ordering::Relaxed) % 10_000_000_000
    }

    pub(crate) fn now_millis(&self) -> i64 {
        self.clock.now_millis()
    }

    /// `arn:aws:kinesis:REGION:ACCOUNT:stream/NAME`.
    pub(crate) fn stream_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:kinesis:{}:{}:stream/{}",
            self.config.region, self.config.account_id, name
        )
    }

    /// A new stream (CREATING for the configured delay, or ACTIVE at once) of `shard_count` shards
    /// splitting the hash-key space evenly.
    pub(crate) fn new_stream(
        &self,
        name: String,
        mode: StreamMode,
        shard_count: u32,
        tags: BTreeMap<String, String>,
    ) -> StreamState {
        let epoch = self.new_epoch();
        let created = self.clock.timestamp();
        let shards: Vec<Arc<ShardState>> = crate::hashkey::even_ranges(shard_count)
            .into_iter()
            .enumerate()
            .map(|(i, (start, end))| {
                Arc::new(ShardState::new(
                    epoch,
                    u32::try_from(i).unwrap_or(u32::MAX),
                    None,
                    None,
                    (start, end),
                    created,
                ))
            })
            .collect();
        let delay = self.config.creating_delay;
        let (status, transition_until) = if delay.is_zero() {
            (StreamStatus::Active, None)
        } else {
            (StreamStatus::Creating, Some(deadline_after(delay)))
        };
        StreamState::from_parts(StreamParts {
            arn: self.stream_arn(&name),
            name,
            epoch,
            created,
            status,
            transition_until,
            mode,
            retention_hours: self.config.default_retention_hours,
            tags,
            shards,
            consumers: BTreeMap::new(),
            settings: Default::default(),
        })
    }

    /// `ResourceNotFoundException` for shard `shard_id` of `stream`.
    pub(crate) fn shard_not_found(&self, stream: &StreamState, shard_id: &str) -> KinesisError {
        KinesisError::not_found(format!(
            "Shard {shard_id} in stream {} under account {} does not exist",
            stream.name, self.config.account_id
        ))
    }

    pub(crate) fn stream_not_found(&self, name: &str) -> KinesisError {
        KinesisError::not_found(format!(
            "Stream {name} under account {} not found.",
            self.config.account_id
        ))
    }

    /// Finds a live stream by name, settling due state transitions.
    ///
    /// # Errors
    /// `ResourceNotFoundException` when there is no such stream (or it finished deleting).
    pub(crate) fn stream(&self, name: &str) -> Result<Arc<StreamState>, KinesisError> {
        let stream = self.streams.read().by_name.get(name).cloned();
        let stream = stream.ok_or_else(|| self.stream_not_found(name))?;
        self.settled(stream).ok_or_else(|| self.stream_not_found(name))
    }

    /// Finds a live stream by epoch (from an iterator or token).
    pub(crate) fn stream_by_epoch(&self, epoch: u64) -> Option<Arc<StreamState>> {
        let stream = self.streams.read().by_epoch.get(&epoch).cloned()?;
        self.settled(stream)
    }

    /// Applies due transitions; removes the stream and returns `None` once it has finished deleting.
    fn settled(&self, stream: Arc<StreamState>) -> Option<Arc<StreamState>> {
        stream.settle_due();
        if stream.is_gone() {
            let mut streams = self.streams.write();
            if streams
                .by_name
                .get(&stream.name)
                .is_some_and(|s| Arc::ptr_eq(s, &stream))
            {
                streams.by_name.remove(&stream.name);
            }
            streams.by_epoch.remove(&stream.epoch);
            return None;
        }
        Some(stream)
    }

    /// Every live stream, sorted by name.
    pub(crate) fn all_streams(&self) -> Vec<Arc<StreamState>> {
        let all: Vec<_> = self.streams.read().by_name.values().cloned().collect();
        all.into_iter().filter_map(|s| self.settled(s)).collect()
    }

    /// Open shards across all streams (for the account shard limit).
    pub(crate) fn open_shard_count(&self) -> u64 {
        self.all_streams()
            .iter()
            .map(|s| s.meta.read().routes.len() as u64)
            .sum()
    }
}
