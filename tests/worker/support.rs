//! Shared helpers for the worker tests: an emulated stream, a producer, a recording processor, and
//! checks over what was processed. Everything runs on paused tokio time.

#![allow(dead_code, unreachable_pub)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use kcl::checkpoint::{
    ExtendedSequenceNumber, InMemoryLeaseStore, Lease, LeaseKey, LeaseListing, LeaseStore, MalformedLease,
};
use kcl::core::source::EmulatorSource;
use kcl::core::{
    async_trait, Checkpointer, InitialPosition, ProcessRecordsInput, ProcessorError, RecordSource,
    ShardRecordProcessor, Worker, WorkerConfig, WorkerConfigBuilder, WorkerHandle,
};
use kcl::emulator::types::{
    CreateStreamInput, MergeShardsInput, PutRecordsInput, PutRecordsRequestEntry, SplitShardInput,
};
use kcl::emulator::{Emulator, EmulatorConfig};

pub const STREAM: &str = "orders";

/// One record as a processor saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub worker: String,
    pub shard: String,
    pub key: String,
    /// The producer's per-key counter (the payload is `key:counter`).
    pub n: u64,
    pub sequence: String,
    pub at: tokio::time::Instant,
}

/// Lifecycle events, for asserting call order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Initialized {
        worker: String,
        shard: String,
    },
    LeaseLost {
        worker: String,
        shard: String,
    },
    ShardEnded {
        worker: String,
        shard: String,
    },
    ShutdownRequested {
        worker: String,
        shard: String,
    },
    CheckpointFailed {
        worker: String,
        shard: String,
        lease_lost: bool,
    },
}

/// Everything processors recorded.
#[derive(Default, Debug)]
pub struct Log {
    pub seen: Mutex<Vec<Seen>>,
    pub events: Mutex<Vec<Event>>,
    pub poison_attempts: std::sync::atomic::AtomicU32,
}

impl Log {
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
    pub fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap().clone()
    }
    pub fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

/// A lease-event listener for [`Stream::spawn_worker_with`].
pub type Listener = Arc<dyn Fn(&kcl::core::LeaseEvent) + Send + Sync>;

/// A test stream in an in-process emulator, with a producer keeping per-key counters.
pub struct Stream {
    pub emulator: Emulator,
    pub source: Arc<dyn RecordSource>,
    pub store: Arc<dyn LeaseStore>,
    counters: Mutex<BTreeMap<String, u64>>,
}

impl Stream {
    /// A stream of `shards` shards, throughput limits off (tests about balance and failover, not limits).
    pub async fn new(shards: i32) -> Stream {
        let config = EmulatorConfig::builder()
            .without_throughput_limits()
            .seed(7)
            .build()
            .unwrap();
        Stream::with_emulator(Emulator::new(config), shards).await
    }

    /// Creates the stream in `emulator` for workers already running with `store`.
    pub async fn with_existing(emulator: Emulator, store: Arc<dyn LeaseStore>, shards: i32) -> Stream {
        let mut stream = Stream::with_emulator(emulator, shards).await;
        stream.store = store;
        stream
    }

    pub async fn with_emulator(emulator: Emulator, shards: i32) -> Stream {
        emulator
            .create_stream(CreateStreamInput {
                stream_name: STREAM.into(),
                shard_count: Some(shards),
                ..Default::default()
            })
            .await
            .unwrap();
        let source: Arc<dyn RecordSource> = Arc::new(EmulatorSource::new(emulator.clone(), STREAM));
        Stream {
            emulator,
            source,
            store: Arc::new(InMemoryLeaseStore::new()),
            counters: Mutex::new(BTreeMap::new()),
        }
    }

    /// Writes `count` records spread over `keys` partition keys; payload `key:n` with n increasing per key.
    pub async fn produce(&self, count: usize, keys: usize) {
        let mut pending = Vec::new();
        for i in 0..count {
            let key = format!("key-{}", i % keys);
            let n = {
                let mut counters = self.counters.lock().unwrap();
                let c = counters.entry(key.clone()).or_default();
                *c += 1;
                *c
            };
            pending.push(PutRecordsRequestEntry {
                data: Bytes::from(format!("{key}:{n}")),
                partition_key: key,
                explicit_hash_key: None,
            });
            if pending.len() == 500 {
                self.put(std::mem::take(&mut pending)).await;
            }
        }
        if !pending.is_empty() {
            self.put(pending).await;
        }
    }

    pub async fn put(&self, records: Vec<PutRecordsRequestEntry>) {
        let out = self
            .emulator
            .put_records(PutRecordsInput {
                records,
                stream_name: Some(STREAM.into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(out.failed_record_count, 0, "producer records rejected");
    }

    /// Every (key, n) produced so far.
    pub fn produced(&self) -> BTreeSet<(String, u64)> {
        let counters = self.counters.lock().unwrap();
        counters
            .iter()
            .flat_map(|(k, n)| (1..=*n).map(move |i| (k.clone(), i)))
            .collect()
    }

    pub async fn split(&self, shard: &str, new_starting_hash_key: u128) {
        self.emulator
            .split_shard(SplitShardInput {
                stream_name: Some(STREAM.into()),
                shard_to_split: shard.into(),
                new_starting_hash_key: new_starting_hash_key.to_string(),
                ..Default::default()
            })
            .await
            .unwrap();
    }

    pub async fn merge(&self, a: &str, b: &str) {
        self.emulator
            .merge_shards(MergeShardsInput {
                stream_name: Some(STREAM.into()),
                shard_to_merge: a.into(),
                adjacent_shard_to_merge: b.into(),
                ..Default::default()
            })
            .await
            .unwrap();
    }

    /// Starts a worker with a recording processor.
    pub fn spawn_worker(
        &self,
        id: &str,
        config: WorkerConfig,
        log: &Arc<Log>,
        behaviour: Behaviour,
    ) -> WorkerHandle {
        self.spawn_worker_with_strategy(id, config, log, behaviour, None)
    }

    /// As [`spawn_worker`](Self::spawn_worker), with an assignment strategy (`None`: the default).
    pub fn spawn_worker_with_strategy(
        &self,
        id: &str,
        config: WorkerConfig,
        log: &Arc<Log>,
        behaviour: Behaviour,
        strategy: Option<Arc<dyn kcl::core::AssignmentStrategy>>,
    ) -> WorkerHandle {
        self.spawn_worker_with(id, config, log, behaviour, strategy, None)
    }

    /// As [`spawn_worker_with_strategy`](Self::spawn_worker_with_strategy), with a lease-event listener.
    pub fn spawn_worker_with(
        &self,
        id: &str,
        config: WorkerConfig,
        log: &Arc<Log>,
        behaviour: Behaviour,
        strategy: Option<Arc<dyn kcl::core::AssignmentStrategy>>,
        listener: Option<Listener>,
    ) -> WorkerHandle {
        let log = Arc::clone(log);
        let worker = id.to_owned();
        let factory = move |shard: &str| {
            Box::new(Recorder {
                worker: worker.clone(),
                shard: shard.to_owned(),
                log: Arc::clone(&log),
                behaviour: behaviour.clone(),
                attempts: 0,
            }) as Box<dyn ShardRecordProcessor>
        };
        let mut builder =
            Worker::builder(Arc::clone(&self.store), Arc::clone(&self.source), factory, id).config(config);
        if let Some(strategy) = strategy {
            builder = builder.strategy(strategy);
        }
        if let Some(listener) = listener {
            builder = builder.lease_event_listener(move |e: &kcl::core::LeaseEvent| listener(e));
        }
        builder.build().unwrap().spawn()
    }
}

/// A recording processor with the default behaviour.
pub fn recorder(worker: &str, shard: &str, log: &Arc<Log>) -> Box<Recorder> {
    Box::new(Recorder {
        worker: worker.to_owned(),
        shard: shard.to_owned(),
        log: Arc::clone(log),
        behaviour: Behaviour::default(),
        attempts: 0,
    })
}

/// The usual test configuration: TRIM_HORIZON, fast idle polling, defaults otherwise.
pub fn config() -> WorkerConfigBuilder {
    WorkerConfig::builder()
        .initial_position(InitialPosition::TrimHorizon)
        .idle_time_between_reads(Duration::from_millis(200))
        .shard_sync_interval(Duration::from_secs(5))
}

/// How a [`Recorder`] misbehaves.
#[derive(Clone, Default)]
pub struct Behaviour {
    /// Fail each batch this many times (alternating error and panic) before accepting it.
    pub fail_each_batch: u32,
    /// Fail every batch, always.
    pub always_fail: bool,
    /// Checkpoint in `shutdown_requested`.
    pub checkpoint_on_shutdown: bool,
    /// Return from `shard_ended` without checkpointing this many times first.
    pub shard_end_refusals: u32,
    /// Batches holding a record with this partition key always fail.
    pub poison_key: Option<String>,
    /// Before processing a batch, wait for this gate (a test opens it) - to hold a batch in flight.
    pub gate: Option<Arc<Gate>>,
    /// `shutdown_requested` never returns (a processor a shutdown deadline must cut off).
    pub hang_on_shutdown: bool,
}

/// A gate a processor waits on mid-batch.
#[derive(Default)]
pub struct Gate {
    pub entered: tokio::sync::Notify,
    pub open: tokio::sync::Notify,
    pub armed: std::sync::atomic::AtomicBool,
}

/// A processor that records everything and checkpoints after each batch.
pub struct Recorder {
    worker: String,
    shard: String,
    log: Arc<Log>,
    behaviour: Behaviour,
    attempts: u32,
}

fn parse(data: &Bytes) -> (String, u64) {
    let text = std::str::from_utf8(data).unwrap();
    let (key, n) = text.rsplit_once(':').unwrap();
    (key.to_owned(), n.parse().unwrap())
}

impl Recorder {
    fn event(&self, make: impl FnOnce(String, String) -> Event) {
        self.log
            .events
            .lock()
            .unwrap()
            .push(make(self.worker.clone(), self.shard.clone()));
    }
}

#[async_trait]
impl ShardRecordProcessor for Recorder {
    async fn initialize(&mut self, _input: &kcl::core::InitializationInput) -> Result<(), ProcessorError> {
        self.event(|worker, shard| Event::Initialized { worker, shard });
        Ok(())
    }

    async fn process_records(
        &mut self,
        input: &ProcessRecordsInput,
        checkpointer: &Checkpointer,
    ) -> Result<(), ProcessorError> {
        if let Some(poison) = &self.behaviour.poison_key {
            if input.records.iter().any(|r| &r.partition_key == poison) {
                self.log
                    .poison_attempts
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                return Err("poison record".into());
            }
        }
        if self.behaviour.always_fail && !input.records.is_empty() {
            return Err("always failing".into());
        }
        if self.attempts < self.behaviour.fail_each_batch && !input.records.is_empty() {
            self.attempts += 1;
            if self.attempts.is_multiple_of(2) {
                panic!("processor panic on attempt {}", self.attempts);
            }
            return Err(format!("transient failure {}", self.attempts).into());
        }
        self.attempts = 0;
        if let Some(gate) = &self.behaviour.gate {
            if gate.armed.swap(false, std::sync::atomic::Ordering::SeqCst) && !input.records.is_empty() {
                gate.entered.notify_one();
                gate.open.notified().await;
            }
        }
        {
            let now = tokio::time::Instant::now();
            let mut seen = self.log.seen.lock().unwrap();
            for r in &input.records {
                let (key, n) = parse(&r.data);
                assert_eq!(key, r.partition_key);
                seen.push(Seen {
                    worker: self.worker.clone(),
                    shard: self.shard.clone(),
                    key,
                    n,
                    sequence: r.sequence_number.to_string(),
                    at: now,
                });
            }
        }
        if !input.records.is_empty() {
            if let Err(e) = checkpointer.checkpoint().await {
                let lease_lost = e.is_lease_lost();
                self.event(|worker, shard| Event::CheckpointFailed {
                    worker,
                    shard,
                    lease_lost,
                });
            }
        }
        Ok(())
    }

    async fn lease_lost(&mut self) {
        self.event(|worker, shard| Event::LeaseLost { worker, shard });
    }

    async fn shard_ended(&mut self, checkpointer: &Checkpointer) -> Result<(), ProcessorError> {
        self.event(|worker, shard| Event::ShardEnded { worker, shard });
        if self.behaviour.shard_end_refusals > 0 {
            self.behaviour.shard_end_refusals -= 1;
            return Ok(());
        }
        checkpointer.checkpoint().await?;
        Ok(())
    }

    async fn shutdown_requested(&mut self, checkpointer: &Checkpointer) -> Result<(), ProcessorError> {
        self.event(|worker, shard| Event::ShutdownRequested { worker, shard });
        if self.behaviour.hang_on_shutdown {
            std::future::pending::<()>().await;
        }
        if self.behaviour.checkpoint_on_shutdown && checkpointer.largest_delivered().is_some() {
            checkpointer.checkpoint().await?;
        }
        Ok(())
    }
}

/// Every produced record was processed (at least once).
pub fn assert_all_processed(stream: &Stream, log: &Log) {
    let seen: BTreeSet<(String, u64)> = log.seen().into_iter().map(|s| (s.key, s.n)).collect();
    let produced = stream.produced();
    let missing: Vec<_> = produced.difference(&seen).take(10).collect();
    assert!(
        missing.is_empty(),
        "{} records missing, e.g. {missing:?}",
        produced.len() - seen.len().min(produced.len())
    );
}

/// No record was processed twice.
pub fn assert_no_duplicates(log: &Log) {
    let mut once = BTreeSet::new();
    let dups: Vec<_> = log
        .seen()
        .into_iter()
        .filter(|s| !once.insert((s.key.clone(), s.n)))
        .take(10)
        .collect();
    assert!(dups.is_empty(), "records processed twice: {dups:?}");
}

/// For every key, first deliveries come in producer order (redeliveries after a failover may repeat
/// earlier records, but never skip ahead and come back).
pub fn assert_in_order_per_key(log: &Log) {
    let mut last: BTreeMap<String, u64> = BTreeMap::new();
    for s in log.seen() {
        let prev = last.entry(s.key.clone()).or_insert(0);
        assert!(
            s.n <= *prev + 1,
            "key {} jumped from {} to {} ({s:?})",
            s.key,
            prev,
            s.n
        );
        *prev = (*prev).max(s.n);
    }
}

/// Lease counts per owner, from the store (unowned leases under "").
pub async fn owners(stream: &Stream) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for lease in stream.store.list().await.unwrap().leases {
        if lease.is_shard_end() {
            continue;
        }
        *counts.entry(lease.owner.clone().unwrap_or_default()).or_default() += 1;
    }
    counts
}

/// Produces `per_tick` records every `every` until the returned handle is aborted.
pub fn producer(
    stream: &Arc<Stream>,
    per_tick: usize,
    keys: usize,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    let stream = Arc::clone(stream);
    tokio::spawn(async move {
        loop {
            stream.produce(per_tick, keys).await;
            tokio::time::sleep(every).await;
        }
    })
}

/// Lease counts per live worker.
pub fn spread(handles: &[&WorkerHandle]) -> (usize, usize) {
    let counts: Vec<usize> = handles.iter().map(|h| h.leases().len()).collect();
    (*counts.iter().min().unwrap(), *counts.iter().max().unwrap())
}

/// Advances paused time in small steps until `cond` holds or `limit` passes; returns the time taken.
pub async fn wait_until(limit: Duration, step: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    let start = tokio::time::Instant::now();
    loop {
        if cond() {
            return Some(start.elapsed());
        }
        if start.elapsed() > limit {
            return None;
        }
        tokio::time::sleep(step).await;
    }
}

/// A lease store whose listing reports some items as malformed (as a table holding hand-edited or
/// corrupt items would), delegating everything else to the store it wraps.
#[derive(Debug)]
pub struct MalformedItems {
    pub inner: Arc<dyn LeaseStore>,
    pub keys: Mutex<BTreeSet<String>>,
}

impl MalformedItems {
    pub fn new(inner: Arc<dyn LeaseStore>) -> Self {
        MalformedItems {
            inner,
            keys: Mutex::new(BTreeSet::new()),
        }
    }
}

#[async_trait]
impl LeaseStore for MalformedItems {
    async fn ensure_table(&self) -> kcl::checkpoint::Result<bool> {
        self.inner.ensure_table().await
    }
    async fn list(&self) -> kcl::checkpoint::Result<LeaseListing> {
        let mut listing = self.inner.list().await?;
        let keys = self.keys.lock().unwrap().clone();
        listing.leases.retain(|l| !keys.contains(l.key.as_str()));
        listing
            .malformed
            .extend(keys.into_iter().map(|key| MalformedLease {
                key: Some(key),
                attribute: "leaseCounter".into(),
                problem: "is not a number".into(),
            }));
        Ok(listing)
    }
    async fn get(&self, key: &LeaseKey) -> kcl::checkpoint::Result<Option<Lease>> {
        self.inner.get(key).await
    }
    async fn create_if_absent(&self, lease: &Lease) -> kcl::checkpoint::Result<bool> {
        self.inner.create_if_absent(lease).await
    }
    async fn renew(&self, lease: &Lease) -> kcl::checkpoint::Result<Lease> {
        self.inner.renew(lease).await
    }
    async fn take(&self, lease: &Lease, new_owner: &str) -> kcl::checkpoint::Result<Lease> {
        self.inner.take(lease, new_owner).await
    }
    async fn evict(&self, lease: &Lease) -> kcl::checkpoint::Result<Lease> {
        self.inner.evict(lease).await
    }
    async fn release(&self, lease: &Lease) -> kcl::checkpoint::Result<Lease> {
        self.inner.release(lease).await
    }
    async fn checkpoint(
        &self,
        lease: &Lease,
        checkpoint: ExtendedSequenceNumber,
    ) -> kcl::checkpoint::Result<Lease> {
        self.inner.checkpoint(lease, checkpoint).await
    }
    async fn prepare_checkpoint(
        &self,
        lease: &Lease,
        pending: ExtendedSequenceNumber,
        state: Option<Bytes>,
    ) -> kcl::checkpoint::Result<Lease> {
        self.inner.prepare_checkpoint(lease, pending, state).await
    }
    async fn heartbeat(
        &self,
        worker_id: &str,
        expected: Option<u64>,
    ) -> kcl::checkpoint::Result<kcl::checkpoint::FleetRecord> {
        self.inner.heartbeat(worker_id, expected).await
    }
    async fn evict_worker(
        &self,
        worker_id: &str,
        expected: u64,
    ) -> kcl::checkpoint::Result<kcl::checkpoint::FleetRecord> {
        self.inner.evict_worker(worker_id, expected).await
    }
    async fn read_fleet(&self) -> kcl::checkpoint::Result<kcl::checkpoint::FleetRecord> {
        self.inner.read_fleet().await
    }
    async fn bump_version(&self) -> kcl::checkpoint::Result<kcl::checkpoint::FleetRecord> {
        self.inner.bump_version().await
    }
    async fn leave_fleet(&self, worker_id: &str) -> kcl::checkpoint::Result<()> {
        self.inner.leave_fleet(worker_id).await
    }
    async fn request_handoff(&self, lease: &Lease, new_owner: &str) -> kcl::checkpoint::Result<Lease> {
        self.inner.request_handoff(lease, new_owner).await
    }
    async fn handoff_checkpoint(
        &self,
        lease: &Lease,
        checkpoint: ExtendedSequenceNumber,
    ) -> kcl::checkpoint::Result<Lease> {
        self.inner.handoff_checkpoint(lease, checkpoint).await
    }
    async fn finish_handoff(&self, lease: &Lease) -> kcl::checkpoint::Result<Lease> {
        self.inner.finish_handoff(lease).await
    }
    async fn commit_pending_checkpoint(&self, lease: &Lease) -> kcl::checkpoint::Result<Lease> {
        self.inner.commit_pending_checkpoint(lease).await
    }
    async fn set_child_shard_ids(
        &self,
        lease: &Lease,
        children: &BTreeSet<String>,
    ) -> kcl::checkpoint::Result<Lease> {
        self.inner.set_child_shard_ids(lease, children).await
    }
    async fn report_load(
        &self,
        lease: &Lease,
        load: &kcl::checkpoint::LeaseLoad,
    ) -> kcl::checkpoint::Result<Lease> {
        self.inner.report_load(lease, load).await
    }
    async fn delete(&self, lease: &Lease) -> kcl::checkpoint::Result<()> {
        self.inner.delete(lease).await
    }
}
