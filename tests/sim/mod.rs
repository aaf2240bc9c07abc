//! A seeded simulation of a kcl-rs fleet, through the public API only.
//!
//! One seed is one run on its own single-threaded tokio runtime with paused time: an in-process emulator
//! (no throughput limits) behind [`EmulatorSource`], an in-memory lease store behind an auditing wrapper
//! and a [`FaultyLeaseStore`], 2-5 workers with 1-4 s leases, a producer writing `k<key>:<n>` records, and
//! a random schedule of crashes ([`WorkerHandle::abort`], the `kill -9` equivalent), graceful shutdowns,
//! joins, restarts under an old worker id, SplitShard / MergeShards / UpdateShardCount, store faults
//! (lost fences, throttling, timeouts before and after the write landed, latency) and source faults
//! (internal failures, throttling) switched on and off, and processors that checkpoint every batch, every N batches, in
//! the middle of a batch, in two phases, or never (only in `shutdown_requested` and `shard_ended`), and
//! that sometimes return errors or panic. On two seeds in three, workers also draw a Lambda-style
//! [`ProcessingPolicy`] (batch size, batching window, bisection on error, and on some a parallelization
//! factor of 2-4: one processor per *lane*, fed the shard's records whose partition key hashes to it; the
//! lanes of one consumer form a *group*). On one seed in four (drawn from an rng of its own, so the other
//! seeds run as before) the fleet consumes two streams of the emulator through one lease table: every
//! worker is a multi-stream worker ([`MultiStreamSource`] over a [`StreamSet`]) tracking both, from the
//! start or (on half of those seeds) with the second added to every worker at a random moment of the
//! chaos, at TRIM_HORIZON; the producer writes to both (keys `s * KEY_SPACE..` for stream `s`), and each
//! resharding action picks a stream. The checker then names shards by their lease keys
//! (`account:stream:epoch:shardId`), so every per-shard rule below holds per lease key, within its
//! stream. After the chaos the faults stop and the fleet gets time to
//! converge; then the invariants are checked over the recorded event log:
//!
//! - no loss: every produced record was processed (a `process_records` call returned `Ok` on it);
//! - per key, first deliveries come in producer order;
//! - each processor starts right after the checkpoint it was initialized with and moves through its
//!   shard without gaps: a batch follows the previous one, or repeats it (or its first half, when
//!   bisected) after a failure — so every redelivery is a contiguous replay starting after a checkpoint.
//!   A lane processor does the same through its lane: exactly the shard's records of its keys (by the
//!   MD5 rule), in order;
//! - every record of a parent shard is processed before any record of its children;
//! - a redelivery across consumers only follows a crash, a lost lease, or a failed batch or checkpoint:
//!   never a graceful shutdown or a balancing handoff whose checkpoint succeeded, nor a finished shard
//!   (balancing moves are cooperative handoffs: the previous owner checkpoints in `shutdown_requested`).
//!   The next consumer starts at or after the first record its predecessor had not processed (with
//!   lanes, the low watermark: records other lanes processed above it may come again);
//! - no stored checkpoint passes a record that was never processed (with lanes: neither the worker's
//!   low-watermark checkpoints nor a lane processor's own);
//! - the stored checkpoint never moves backwards, a deleted (finished) lease is never created again, and
//!   no processor checkpoints successfully once a newer consumer of its shard was initialized;
//! - no processor starts a batch once a newer consumer of its shard was initialized (the lanes of one
//!   consumer run at once; two consumers of a shard never do);
//! - no `process_records` call hangs, and graceful shutdowns end;
//! - at the end every unfinished lease is owned by a live worker, and live workers' counts differ by at
//!   most one.
//!
//! Replay is exact: the runtime is single-threaded, kcl-core's `select!`s are `biased`, backoff jitter,
//! the emulator, the store faults and every random choice here are seeded from the run's seed.

#![allow(dead_code, unreachable_pub)]

mod lane;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use bytes::Bytes;
use kcl::checkpoint::{
    ExtendedSequenceNumber, FaultyLeaseStore, InMemoryLeaseStore, Lease, LeaseKey, LeaseListing, LeaseStore,
    RandomFaults, StreamIdentifier,
};
use kcl::core::multi_stream::{MultiStreamSource, StreamConfig, StreamSet};
use kcl::core::source::{read_available, EmulatorSource};
use kcl::core::{
    async_trait, Backoff, Checkpointer, InitialPosition, InitializationInput, IteratorPosition, LeaseEvent,
    LeaseRenewal, ProcessRecordsInput, ProcessingPolicy, ProcessorError, ProcessorErrorPolicy, ReadRequest,
    RecordSource, ShardFilter, ShardRecordProcessor, Worker, WorkerConfig, WorkerHandle,
};
use kcl::emulator::types::{
    CreateStreamInput, MergeShardsInput, PutRecordsInput, PutRecordsRequestEntry, ScalingType,
    SplitShardInput, UpdateShardCountInput,
};
use kcl::emulator::{Emulator, EmulatorConfig, ErrorCode, FaultId, FaultRule, Operation};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::time::Instant;

const STREAM: &str = "fleet";
/// The second stream of a multi-stream seed (see [`draw_streams`]).
const SECOND_STREAM: &str = "ledger";
/// The account and creation epoch of the streams of a multi-stream seed (lease keys
/// `account:stream:epoch:shardId`).
const ACCOUNT: &str = "123456789012";
const EPOCH: u64 = 1_700_000_000;
/// The producer's keys of stream `s` (its index) are `s * KEY_SPACE + i`: every key belongs to one stream.
const KEY_SPACE: u32 = 1000;
/// Virtual seconds of chaos (producer, schedule, faults).
const CHAOS: Duration = Duration::from_secs(40);
/// Virtual time the fleet gets afterwards to process everything and settle.
const SETTLE: Duration = Duration::from_secs(90);
const MAX_OPEN_SHARDS: usize = 10;
const INJECTED_PANIC: &str = "sim: injected processor panic";
/// How long the fleet waits for graceful shutdowns still in progress when the chaos ends.
const SHUTDOWN_BOUND: Duration = Duration::from_secs(60);
/// A `process_records` call that has not returned after this long (virtual) is stuck: a call is 0-40 ms
/// of work plus a checkpoint, whose retries of store errors end with the lease's validity (at most 4 s)
/// or, with heartbeat renewals, with the first write that lands (a few 50 ms-1 s backoffs at worst).
/// Short enough to catch a consumer stuck shortly before the fleet settles (the run ends 3 lease
/// durations after that).
const STUCK_CALL: Duration = Duration::from_secs(5);

/// What one processor instance does with checkpoints in `process_records`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    EveryBatch,
    EveryN(u32),
    MidBatch,
    TwoPhase,
    Never,
}

/// One recorded event, at a virtual time (ms since the start).
#[derive(Clone, Debug)]
pub struct Ev {
    pub at_ms: u64,
    pub kind: Kind,
}

/// What happened.
#[derive(Clone, Debug)]
pub enum Kind {
    Produced {
        count: usize,
    },
    /// A processor was initialized. `group` is the consumer it belongs to: with a parallelization factor
    /// `lanes` > 1 a consumer runs one processor per lane (`lane` in `0..lanes`), all of one group.
    Init {
        proc: u32,
        group: u32,
        lane: u8,
        lanes: u8,
        worker: String,
        shard: String,
        checkpoint: String,
    },
    BatchStart {
        proc: u32,
        shard: String,
    },
    /// The processor did its work on a batch (the side effect), before checkpointing and returning:
    /// the records' keys, producer counters and sequence numbers.
    Processed {
        proc: u32,
        shard: String,
        recs: Vec<(u32, u64, String)>,
    },
    /// A `process_records` call failed (error or panic) before processing its records.
    Failed {
        proc: u32,
        shard: String,
        recs: Vec<(u32, u64, String)>,
    },
    /// A `process_records` call returned `Ok`.
    BatchEnd {
        proc: u32,
        shard: String,
    },
    Checkpoint {
        proc: u32,
        shard: String,
        at: String,
        ok: bool,
        error: Option<String>,
    },
    LeaseLostCall {
        proc: u32,
        shard: String,
    },
    ShutdownRequested {
        proc: u32,
        shard: String,
        checkpointed: Option<bool>,
    },
    ShardEnded {
        proc: u32,
        shard: String,
        ok: bool,
    },
    StoreCheckpoint {
        key: String,
        owner: Option<String>,
        at: ExtendedSequenceNumber,
    },
    StoreCreate {
        key: String,
    },
    StoreDelete {
        key: String,
    },
    Lease(LeaseEvent),
    Crash {
        worker: String,
    },
    ShutdownBegin {
        worker: String,
    },
    ShutdownDone {
        worker: String,
    },
    Spawn {
        worker: String,
        lease_s: u64,
        /// The worker's processing policy, when not the default.
        policy: Option<String>,
    },
    Reshard {
        what: String,
    },
    /// A processor's `initialize` named another shard (or stream) than its factory was asked for.
    WrongShard {
        proc: u32,
        shard: String,
        named: String,
    },
    /// The fleet's workers started tracking a stream (a multi-stream seed's second stream added at run
    /// time).
    StreamAdded {
        stream: String,
    },
    Faults {
        what: String,
    },
    Settled,
}

/// Everything one run shares.
struct Shared {
    start: Instant,
    events: Mutex<Vec<Ev>>,
    next_proc: Mutex<u32>,
    next_group: Mutex<u32>,
    seed: u64,
    /// Whether lane processors (a parallelization factor above 1) checkpoint on their own in
    /// `process_records` like lone ones, or only in `shutdown_requested` / `shard_ended`
    /// (`KCL_SIM_LANE_CHECKPOINTS=off`).
    lane_checkpoints: bool,
}

impl Shared {
    fn push(&self, kind: Kind) {
        let at_ms = self.start.elapsed().as_millis() as u64;
        self.events.lock().unwrap().push(Ev { at_ms, kind });
    }
}

/// The result of one seed.
pub struct Outcome {
    pub seed: u64,
    pub violations: Vec<(usize, String)>,
    pub events: Vec<Ev>,
    /// A digest of the whole event log: equal digests = the same run.
    pub digest: u64,
    pub produced: usize,
    pub duplicates: usize,
    /// Workers spawned with a non-default processing policy / with a parallelization factor above 1.
    pub policy_workers: usize,
    pub lane_workers: usize,
    /// Consumers that ran several lane processors (groups initialized with a factor above 1).
    pub lane_groups: usize,
    /// The streams consumed (2 on a multi-stream seed), and whether the second was added at run time.
    pub streams: usize,
    pub late_stream: bool,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.violations.is_empty()
    }

    /// How many events of each kind the run recorded (what the schedule did).
    pub fn summary(&self) -> String {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for ev in &self.events {
            let name = format!("{:?}", ev.kind);
            let name = name.split([' ', '(', '{']).next().unwrap_or("").to_owned();
            let name = match &ev.kind {
                Kind::Lease(e) => format!("Lease{:?}", e)
                    .split([' ', '{'])
                    .next()
                    .unwrap_or("")
                    .to_owned(),
                Kind::Reshard { what } => format!("Reshard:{}", what.split(' ').next().unwrap_or("")),
                _ => name,
            };
            *counts.entry(name).or_default() += 1;
        }
        format!(
            "seed {} (digest {:016x}): {} records produced, {} duplicate deliveries, {} workers with a \
             processing policy, {} with lanes ({} lane groups), {} stream(s){}, {} events, virtual end {} ms: \
             {counts:?}",
            self.seed,
            self.digest,
            self.produced,
            self.duplicates,
            self.policy_workers,
            self.lane_workers,
            self.lane_groups,
            self.streams,
            if self.late_stream { " (one added at run time)" } else { "" },
            self.events.len(),
            self.events.last().map_or(0, |e| e.at_ms)
        )
    }

    /// The violations, each with the events around it.
    pub fn report(&self) -> String {
        let mut out = format!(
            "seed {}: {} violation(s) ({} records produced, {} duplicate deliveries, {} events); \
             replay with KCL_SIM_SEEDS={}\n",
            self.seed,
            self.violations.len(),
            self.produced,
            self.duplicates,
            self.events.len(),
            self.seed
        );
        for (at, what) in self.violations.iter().take(5) {
            let _ = writeln!(out, "  VIOLATION at event {at}: {what}");
            let from = at.saturating_sub(25);
            let to = (*at + 5).min(self.events.len());
            for (i, ev) in self.events[from..to].iter().enumerate() {
                let mark = if from + i == *at { ">>" } else { "  " };
                let _ = writeln!(
                    out,
                    "    {mark} #{:<6} {:>7} ms  {:?}",
                    from + i,
                    ev.at_ms,
                    ev.kind
                );
            }
        }
        out
    }
}

/// Runs one seed to its end on a fresh paused runtime: odd seeds with heartbeat renewals, even seeds with
/// per-lease renewals (the schedule itself does not depend on the mode).
pub fn run(seed: u64) -> Outcome {
    run_in(seed, renewal_of(seed), Policies::Drawn, Streams::Drawn)
}

/// The renewal mode [`run`] uses for `seed`.
pub fn renewal_of(seed: u64) -> LeaseRenewal {
    if seed % 2 == 1 {
        LeaseRenewal::Heartbeat
    } else {
        LeaseRenewal::PerLease
    }
}

/// Whether a run may consume two streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Streams {
    /// One seed in four consumes two streams of the emulator through one lease table (see
    /// [`draw_streams`]); the others one stream, as before.
    Drawn,
    /// One stream, with single-stream workers (the runs as they were before multi-stream seeds existed).
    One,
}

/// A multi-stream seed's second stream.
struct Second {
    shards: i32,
    /// When the workers start tracking it (from the start of the chaos), if not from the beginning.
    added_at: Option<Duration>,
}

/// One seed in four consumes a second stream as well: 1-4 shards, tracked from the start or, on half of
/// them, added to every worker at a random moment of the chaos (at TRIM_HORIZON: what the producer wrote
/// to it before must be processed too). Drawn from an rng of its own.
fn draw_streams(rng: &mut StdRng) -> Option<Second> {
    if !rng.random_bool(0.25) {
        return None;
    }
    let shards = rng.random_range(1..=4);
    let added_at = rng
        .random_bool(0.5)
        .then(|| Duration::from_millis(rng.random_range(1_000..30_000)));
    Some(Second { shards, added_at })
}

/// Whether the workers of a run may get a processing policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policies {
    /// Two seeds in three draw a policy per worker (see `draw_policy`); the others keep the default.
    Drawn,
    /// Every worker keeps the default policy (the runs as they were before policies existed).
    Off,
}

/// Runs one seed with the given renewal mode.
pub fn run_in(seed: u64, renewal: LeaseRenewal, policies: Policies, streams: Streams) -> Outcome {
    quiet_injected_panics();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("runtime");
    rt.block_on(simulate(seed, renewal, policies, streams))
}

/// Keeps the default panic hook for real panics but silences the ones the simulation injects.
fn quiet_injected_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let injected = info
                .payload()
                .downcast_ref::<&str>()
                .is_some_and(|m| *m == INJECTED_PANIC);
            if !injected {
                default(info);
            }
        }));
    });
}

/// A store wrapper that records what actually landed (checkpoints, creations, deletions).
#[derive(Debug)]
struct Audit {
    inner: Arc<dyn LeaseStore>,
    shared: Arc<SharedRef>,
}

/// `Shared` behind a `Debug`-able handle (the store trait wants `Debug`).
struct SharedRef(Arc<Shared>);

impl std::fmt::Debug for SharedRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedRef")
    }
}

#[async_trait]
impl LeaseStore for Audit {
    async fn ensure_table(&self) -> kcl::checkpoint::Result<bool> {
        self.inner.ensure_table().await
    }
    async fn list(&self) -> kcl::checkpoint::Result<LeaseListing> {
        self.inner.list().await
    }
    async fn get(&self, key: &LeaseKey) -> kcl::checkpoint::Result<Option<Lease>> {
        self.inner.get(key).await
    }
    async fn create_if_absent(&self, lease: &Lease) -> kcl::checkpoint::Result<bool> {
        let created = self.inner.create_if_absent(lease).await?;
        if created {
            self.shared.0.push(Kind::StoreCreate {
                key: lease.key.as_str().to_owned(),
            });
        }
        Ok(created)
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
        let stored = self.inner.checkpoint(lease, checkpoint).await?;
        self.shared.0.push(Kind::StoreCheckpoint {
            key: stored.key.as_str().to_owned(),
            owner: stored.owner.clone(),
            at: stored.checkpoint.clone(),
        });
        Ok(stored)
    }
    async fn prepare_checkpoint(
        &self,
        lease: &Lease,
        pending: ExtendedSequenceNumber,
        state: Option<Bytes>,
    ) -> kcl::checkpoint::Result<Lease> {
        self.inner.prepare_checkpoint(lease, pending, state).await
    }
    async fn commit_pending_checkpoint(&self, lease: &Lease) -> kcl::checkpoint::Result<Lease> {
        let stored = self.inner.commit_pending_checkpoint(lease).await?;
        self.shared.0.push(Kind::StoreCheckpoint {
            key: stored.key.as_str().to_owned(),
            owner: stored.owner.clone(),
            at: stored.checkpoint.clone(),
        });
        Ok(stored)
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
        let stored = self.inner.handoff_checkpoint(lease, checkpoint).await?;
        self.shared.0.push(Kind::StoreCheckpoint {
            key: stored.key.as_str().to_owned(),
            owner: stored.checkpoint_owner.clone(),
            at: stored.checkpoint.clone(),
        });
        Ok(stored)
    }
    async fn finish_handoff(&self, lease: &Lease) -> kcl::checkpoint::Result<Lease> {
        self.inner.finish_handoff(lease).await
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
        self.inner.delete(lease).await?;
        self.shared.0.push(Kind::StoreDelete {
            key: lease.key.as_str().to_owned(),
        });
        Ok(())
    }
}

/// Per-worker processor behaviour.
#[derive(Clone, Copy, Debug)]
struct Behaviour {
    /// Probability that a `process_records` call fails (half errors, half panics).
    fail: f64,
}

struct SimProcessor {
    shared: Arc<Shared>,
    proc: u32,
    group: u32,
    lane: u8,
    lanes: u8,
    worker: String,
    shard: String,
    mode: Mode,
    behaviour: Behaviour,
    rng: StdRng,
    ok_batches: u32,
}

fn parse(data: &[u8]) -> (u32, u64) {
    let text = std::str::from_utf8(data).expect("utf-8 payload");
    let (key, n) = text.rsplit_once(':').expect("k<key>:<n>");
    (key[1..].parse().expect("key"), n.parse().expect("n"))
}

impl SimProcessor {
    fn note_checkpoint(&self, at: String, result: &kcl::core::Result<()>) {
        self.shared.push(Kind::Checkpoint {
            proc: self.proc,
            shard: self.shard.clone(),
            at,
            ok: result.is_ok(),
            error: result.as_ref().err().map(|e| e.to_string()),
        });
    }
}

#[async_trait]
impl ShardRecordProcessor for SimProcessor {
    async fn initialize(&mut self, input: &InitializationInput) -> Result<(), ProcessorError> {
        // The shard kcl-core names (with its stream on a multi-stream seed) is the one the factory was
        // asked for.
        let named = match &input.stream {
            Some(stream) => LeaseKey::multi_stream(stream, &input.shard_id)
                .as_str()
                .to_owned(),
            None => input.shard_id.clone(),
        };
        if named != self.shard {
            self.shared.push(Kind::WrongShard {
                proc: self.proc,
                shard: self.shard.clone(),
                named,
            });
        }
        self.shared.push(Kind::Init {
            proc: self.proc,
            group: self.group,
            lane: self.lane,
            lanes: self.lanes,
            worker: self.worker.clone(),
            shard: self.shard.clone(),
            checkpoint: input.checkpoint.to_string(),
        });
        Ok(())
    }

    async fn process_records(
        &mut self,
        input: &ProcessRecordsInput,
        checkpointer: &Checkpointer,
    ) -> Result<(), ProcessorError> {
        self.shared.push(Kind::BatchStart {
            proc: self.proc,
            shard: self.shard.clone(),
        });
        let recs: Vec<(u32, u64, String)> = input
            .records
            .iter()
            .map(|r| {
                let (k, n) = parse(&r.data);
                (k, n, r.sequence_number.to_string())
            })
            .collect();
        if !recs.is_empty() && self.rng.random_bool(self.behaviour.fail) {
            self.shared.push(Kind::Failed {
                proc: self.proc,
                shard: self.shard.clone(),
                recs,
            });
            if self.rng.random_bool(0.5) {
                return Err("sim: injected processor error".into());
            }
            std::panic::panic_any(INJECTED_PANIC);
        }
        // Simulated work: a little virtual time per batch.
        let work = self.rng.random_range(0..40u64);
        tokio::time::sleep(Duration::from_millis(work)).await;
        if !recs.is_empty() {
            self.shared.push(Kind::Processed {
                proc: self.proc,
                shard: self.shard.clone(),
                recs,
            });
            self.ok_batches += 1;
            match self.mode {
                Mode::EveryBatch => {
                    let r = checkpointer.checkpoint().await;
                    self.note_checkpoint("last".into(), &r);
                }
                Mode::EveryN(n) if self.ok_batches.is_multiple_of(n) => {
                    let r = checkpointer.checkpoint().await;
                    self.note_checkpoint("last".into(), &r);
                }
                Mode::MidBatch => {
                    let mid = &input.records[input.records.len() / 2];
                    let r = checkpointer.checkpoint_record(mid).await;
                    self.note_checkpoint(mid.sequence_number.to_string(), &r);
                }
                Mode::TwoPhase => {
                    let r = match checkpointer.prepare_checkpoint(None).await {
                        Ok(prepared) => prepared.commit().await,
                        Err(e) => Err(e),
                    };
                    self.note_checkpoint("two-phase".into(), &r);
                }
                _ => {}
            }
        }
        self.shared.push(Kind::BatchEnd {
            proc: self.proc,
            shard: self.shard.clone(),
        });
        Ok(())
    }

    async fn lease_lost(&mut self) {
        self.shared.push(Kind::LeaseLostCall {
            proc: self.proc,
            shard: self.shard.clone(),
        });
    }

    async fn shard_ended(&mut self, checkpointer: &Checkpointer) -> Result<(), ProcessorError> {
        let r = checkpointer.checkpoint().await;
        self.shared.push(Kind::ShardEnded {
            proc: self.proc,
            shard: self.shard.clone(),
            ok: r.is_ok(),
        });
        r.map_err(Into::into)
    }

    async fn shutdown_requested(&mut self, checkpointer: &Checkpointer) -> Result<(), ProcessorError> {
        let checkpointed = if checkpointer.largest_delivered().is_some() {
            Some(checkpointer.checkpoint().await.is_ok())
        } else {
            None
        };
        self.shared.push(Kind::ShutdownRequested {
            proc: self.proc,
            shard: self.shard.clone(),
            checkpointed,
        });
        Ok(())
    }
}

/// A Lambda-style processing policy for a worker of a seed with policies: the default on a third of the
/// workers, batching and bisection on a third, and those plus a parallelization factor of 2-4 (lanes) on
/// the rest. Never `maximum_retry_attempts`, a maximum record age or filters: records given up on or
/// filtered out never reach the processor, and "nothing lost" counts only processed records.
fn draw_policy(rng: &mut StdRng) -> Option<ProcessingPolicy> {
    let kind = rng.random_range(0..3);
    if kind == 0 {
        return None;
    }
    let mut policy = ProcessingPolicy::builder();
    if rng.random_bool(0.75) {
        policy = policy.batch_size(rng.random_range(1..=20));
    }
    policy = policy
        .maximum_batching_window(Duration::from_millis(rng.random_range(0..=500)))
        .bisect_batch_on_error(rng.random_bool(0.5));
    if kind == 2 {
        policy = policy.parallelization_factor(rng.random_range(2..=4));
    }
    Some(policy.build().expect("processing policy"))
}

fn describe_policy(p: &ProcessingPolicy) -> String {
    format!(
        "batch {:?}, window {} ms, bisect {}, lanes {}",
        p.batch_size(),
        p.maximum_batching_window().as_millis(),
        p.bisect_batch_on_error(),
        p.parallelization_factor()
    )
}

/// The processor factory of one worker for one stream: `prefix` names the stream's shards (empty on a
/// single-stream seed; `account:stream:epoch:` on a multi-stream seed, so that processors are named by their
/// lease keys, as the checker keys everything).
fn processor_factory(
    shared: &Arc<Shared>,
    id: &str,
    lanes: u8,
    behaviour: Behaviour,
    prefix: String,
) -> impl Fn(&str) -> Box<dyn ShardRecordProcessor> + Send + Sync + 'static {
    let shared = Arc::clone(shared);
    let worker = id.to_owned();
    // The consumer calls the factory `lanes` times in a row for one shard (synchronously, so no
    // other consumer's call comes in between): each run of `lanes` calls is one group.
    let next_lane: Mutex<(u32, u8, String)> = Mutex::new((0, 0, String::new()));
    move |shard_id: &str| {
        let shard = format!("{prefix}{shard_id}");
        let shard = shard.as_str();
        let proc = {
            let mut next = shared.next_proc.lock().unwrap();
            *next += 1;
            *next
        };
        let (group, lane) = {
            let mut state = next_lane.lock().unwrap();
            let (group, lane, group_shard) = &mut *state;
            if *lane == 0 || group_shard != shard {
                // A new group (a different shard mid-group would be a kcl-core change the
                // checker reports: the group then has fewer lanes than `lanes`).
                let mut next = shared.next_group.lock().unwrap();
                *next += 1;
                *group = *next;
                *lane = 0;
                shard.clone_into(group_shard);
            }
            let this = *lane;
            *lane = (*lane + 1) % lanes;
            (*group, this)
        };
        let mut rng = StdRng::seed_from_u64(shared.seed ^ (u64::from(proc) << 32) ^ 0x5eed);
        let mode = match rng.random_range(0..5) {
            0 => Mode::EveryBatch,
            1 => Mode::EveryN(rng.random_range(2..5)),
            2 => Mode::MidBatch,
            3 => Mode::TwoPhase,
            _ => Mode::Never,
        };
        let mode = if lanes > 1 && !shared.lane_checkpoints {
            Mode::Never
        } else {
            mode
        };
        Box::new(SimProcessor {
            shared: Arc::clone(&shared),
            proc,
            group,
            lane,
            lanes,
            worker: worker.clone(),
            shard: shard.to_owned(),
            mode,
            behaviour,
            rng,
            ok_batches: 0,
        }) as Box<dyn ShardRecordProcessor>
    }
}

/// A live or stopped worker of the fleet.
struct Member {
    id: String,
    handle: Option<WorkerHandle>,
    /// On a multi-stream seed: the streams the worker tracks, and the configurations (with this worker's
    /// processor factories) of the streams it is to track once they are added.
    set: Option<StreamSet>,
    late: Vec<StreamConfig>,
}

/// One stream the fleet consumes.
struct SimStream {
    name: &'static str,
    source: Arc<dyn RecordSource>,
    /// Whether the workers track it (a multi-stream seed's second stream may be added at run time).
    tracked: bool,
}

/// A stream of a multi-stream seed.
fn stream_id(name: &str) -> StreamIdentifier {
    StreamIdentifier {
        account_id: ACCOUNT.into(),
        stream_name: name.into(),
        creation_epoch: EPOCH,
    }
}

/// How a seed names the shards of stream `name` in the checker (and the processors): by lease key on a
/// multi-stream seed, else by shard id.
fn shard_prefix(multi: bool, name: &str) -> String {
    if multi {
        format!("{}:", stream_id(name).serialize())
    } else {
        String::new()
    }
}

struct Fleet {
    shared: Arc<Shared>,
    rng: StdRng,
    emulator: Emulator,
    /// The streams: one, or two on a multi-stream seed (consumed through [`MultiStreamSource`]).
    streams: Vec<SimStream>,
    multi: bool,
    store: Arc<FaultyLeaseStore>,
    lease: Duration,
    renewal: LeaseRenewal,
    policy: ProcessorErrorPolicy,
    members: Vec<Member>,
    /// Graceful shutdowns in progress (their ids are not reused until done).
    shutting_down: Vec<(String, tokio::task::JoinHandle<()>)>,
    spawned: u64,
    source_faults: Vec<FaultId>,
    /// Whether workers of this seed draw processing policies ([`draw_policy`]).
    policies: bool,
    /// Workers spawned with a non-default policy, and with a parallelization factor above 1.
    policy_workers: usize,
    lane_workers: usize,
}

impl Fleet {
    fn live(&self) -> Vec<usize> {
        (0..self.members.len())
            .filter(|i| self.members[*i].handle.is_some())
            .collect()
    }

    fn spawn(&mut self, id: String) {
        let worker_seed = self.rng.random::<u64>();
        let mut wrng = StdRng::seed_from_u64(worker_seed);
        let behaviour = Behaviour {
            fail: [0.0, 0.0, 0.02, 0.08][wrng.random_range(0..4)],
        };
        let builder = WorkerConfig::builder()
            .initial_position(InitialPosition::TrimHorizon)
            .lease_duration(self.lease)
            .lease_renewal(self.renewal)
            .lease_taker_interval(Duration::from_secs(1).min(self.lease))
            .shard_sync_interval(Duration::from_secs(wrng.random_range(2..30)))
            .idle_time_between_reads(Duration::from_millis(wrng.random_range(100..400)))
            .max_records_per_call(wrng.random_range(3..40))
            .processor_error_policy(self.policy)
            .processor_retry_backoff(Backoff::new(
                Duration::from_millis(50),
                Duration::from_millis(800),
            ))
            .source_retry_backoff(Backoff::new(
                Duration::from_millis(50),
                Duration::from_millis(800),
            ))
            .jitter_seed(wrng.random())
            // The emulator here has no throughput limits: mostly unpaced, sometimes paced well above the
            // AWS limit (at 5 reads/s and 3 records a call a backlog outlasts the settle time). Drawn
            // last, so the draws before it are as they were.
            .max_reads_per_second(if wrng.random_bool(0.7) { 0 } else { 50 });
        // The processing policy is drawn after everything else, and only on seeds with policies, so the
        // draws before it are as they were, and seeds without policies run exactly as before.
        let processing = if self.policies {
            draw_policy(&mut wrng)
        } else {
            None
        };
        let lanes = processing
            .as_ref()
            .map_or(1, ProcessingPolicy::parallelization_factor);
        if processing.is_some() {
            self.policy_workers += 1;
        }
        if lanes > 1 {
            self.lane_workers += 1;
        }
        let policy_text = processing.as_ref().map(describe_policy);
        let config = match processing {
            Some(p) => builder.processing(p),
            None => builder,
        }
        .build()
        .expect("worker config");
        let shared = Arc::clone(&self.shared);
        let listener = {
            let shared = Arc::clone(&shared);
            move |event: &LeaseEvent| shared.push(Kind::Lease(event.clone()))
        };
        let store = Arc::clone(&self.store) as Arc<dyn LeaseStore>;
        let (builder, set, late) = if self.multi {
            let set = StreamSet::new();
            let mut late = Vec::new();
            for stream in &self.streams {
                let factory =
                    processor_factory(&shared, &id, lanes, behaviour, shard_prefix(true, stream.name));
                let config = StreamConfig::new(stream_id(stream.name), Arc::clone(&stream.source), factory)
                    .initial_position(InitialPosition::TrimHorizon);
                if stream.tracked {
                    set.add(config);
                } else {
                    late.push(config);
                }
            }
            let multi = Arc::new(MultiStreamSource::new(set.clone()));
            (
                Worker::builder_multi_stream(store, multi, id.clone()),
                Some(set),
                late,
            )
        } else {
            let factory = processor_factory(&shared, &id, lanes, behaviour, String::new());
            let source = Arc::clone(&self.streams[0].source);
            (
                Worker::builder(store, source, factory, id.clone()),
                None,
                Vec::new(),
            )
        };
        let handle = builder
            .config(config)
            .lease_event_listener(listener)
            .build()
            .expect("worker")
            .spawn();
        self.shared.push(Kind::Spawn {
            worker: id.clone(),
            lease_s: self.lease.as_secs(),
            policy: policy_text,
        });
        self.spawned += 1;
        match self.members.iter_mut().find(|m| m.id == id) {
            Some(member) => {
                member.handle = Some(handle);
                member.set = set;
                member.late = late;
            }
            None => self.members.push(Member {
                id,
                handle: Some(handle),
                set,
                late,
            }),
        }
    }

    /// The streams not tracked yet are added to every live worker's set (workers spawned from now on
    /// track them from the start).
    fn add_late_streams(&mut self) {
        for stream in self.streams.iter_mut().filter(|s| !s.tracked) {
            stream.tracked = true;
            self.shared.push(Kind::StreamAdded {
                stream: stream.name.to_owned(),
            });
        }
        for member in self.members.iter_mut().filter(|m| m.handle.is_some()) {
            if let Some(set) = &member.set {
                for config in member.late.drain(..) {
                    set.add(config);
                }
            }
        }
    }

    /// The stream a resharding action acts on: drawn on a multi-stream seed only (a single-stream seed
    /// draws nothing here, so its schedule is as it was).
    fn pick_stream(&mut self) -> usize {
        if self.streams.len() > 1 {
            self.rng.random_range(0..self.streams.len())
        } else {
            0
        }
    }

    async fn open_shards(&self, stream: usize) -> Vec<kcl::core::ShardDescription> {
        match self.streams[stream]
            .source
            .list_shards(&ShardFilter::AtLatest)
            .await
        {
            Ok(shards) => shards.into_iter().filter(|s| s.is_open()).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// One random action of the chaos schedule.
    async fn act(&mut self) {
        let live = self.live();
        match self.rng.random_range(0..100) {
            0..=11 if live.len() > 1 => {
                let i = live[self.rng.random_range(0..live.len())];
                let member = &mut self.members[i];
                let handle = member.handle.take().expect("live");
                self.shared.push(Kind::Crash {
                    worker: member.id.clone(),
                });
                handle.abort().await;
            }
            12..=21 if live.len() > 1 => {
                let i = live[self.rng.random_range(0..live.len())];
                let member = &mut self.members[i];
                let handle = member.handle.take().expect("live");
                let id = member.id.clone();
                self.shared.push(Kind::ShutdownBegin { worker: id.clone() });
                let shared = Arc::clone(&self.shared);
                let task = tokio::spawn({
                    let id = id.clone();
                    async move {
                        let _ = handle.shutdown().await;
                        shared.push(Kind::ShutdownDone { worker: id });
                    }
                });
                self.shutting_down.push((id, task));
            }
            22..=33 if live.len() < 5 => {
                // A restart under a stopped worker's id, or a new worker.
                let draining: BTreeSet<&str> = self
                    .shutting_down
                    .iter()
                    .filter(|(_, task)| !task.is_finished())
                    .map(|(id, _)| id.as_str())
                    .collect();
                let stopped: Vec<String> = self
                    .members
                    .iter()
                    .filter(|m| m.handle.is_none() && !draining.contains(m.id.as_str()))
                    .map(|m| m.id.clone())
                    .collect();
                let id = if !stopped.is_empty() && self.rng.random_bool(0.5) {
                    stopped[self.rng.random_range(0..stopped.len())].clone()
                } else {
                    format!("w{}", self.members.len())
                };
                self.spawn(id);
            }
            34..=47 => {
                let stream = self.pick_stream();
                let name = self.streams[stream].name;
                let open = self.open_shards(stream).await;
                if open.is_empty() || open.len() >= MAX_OPEN_SHARDS {
                    return;
                }
                let shard = &open[self.rng.random_range(0..open.len())];
                let Some(range) = shard.hash_key_range else { return };
                if range.ending_hash_key - range.starting_hash_key < 2 {
                    return;
                }
                let at = self
                    .rng
                    .random_range(range.starting_hash_key + 1..=range.ending_hash_key);
                let r = self
                    .emulator
                    .split_shard(SplitShardInput {
                        stream_name: Some(name.into()),
                        shard_to_split: shard.shard_id.clone(),
                        new_starting_hash_key: at.to_string(),
                        ..Default::default()
                    })
                    .await;
                self.shared.push(Kind::Reshard {
                    what: format!(
                        "split {}{} -> {}",
                        shard_prefix(self.multi, name),
                        shard.shard_id,
                        r.is_ok()
                    ),
                });
            }
            48..=59 => {
                let stream = self.pick_stream();
                let name = self.streams[stream].name;
                let mut open = self.open_shards(stream).await;
                open.sort_by_key(|s| s.hash_key_range.map(|r| r.starting_hash_key));
                let pairs: Vec<(String, String)> = open
                    .windows(2)
                    .filter(|w| {
                        matches!((w[0].hash_key_range, w[1].hash_key_range),
                            (Some(a), Some(b)) if a.ending_hash_key.checked_add(1) == Some(b.starting_hash_key))
                    })
                    .map(|w| (w[0].shard_id.clone(), w[1].shard_id.clone()))
                    .collect();
                if pairs.is_empty() {
                    return;
                }
                let (a, b) = pairs[self.rng.random_range(0..pairs.len())].clone();
                let r = self
                    .emulator
                    .merge_shards(MergeShardsInput {
                        stream_name: Some(name.into()),
                        shard_to_merge: a.clone(),
                        adjacent_shard_to_merge: b.clone(),
                        ..Default::default()
                    })
                    .await;
                self.shared.push(Kind::Reshard {
                    what: format!(
                        "merge {p}{a} + {p}{b} -> {}",
                        r.is_ok(),
                        p = shard_prefix(self.multi, name)
                    ),
                });
            }
            60..=65 => {
                let stream = self.pick_stream();
                let name = self.streams[stream].name;
                let n = self.open_shards(stream).await.len().max(1);
                let lo = n.div_ceil(2).max(1);
                let hi = (n * 2).min(MAX_OPEN_SHARDS).max(lo);
                let target = self.rng.random_range(lo..=hi);
                let r = self
                    .emulator
                    .update_shard_count(UpdateShardCountInput {
                        stream_name: Some(name.into()),
                        target_shard_count: target as i32,
                        scaling_type: ScalingType::UniformScaling,
                        ..Default::default()
                    })
                    .await;
                self.shared.push(Kind::Reshard {
                    what: format!(
                        "update shard count {}{n} -> {target}: {}",
                        shard_prefix(self.multi, name),
                        r.is_ok()
                    ),
                });
            }
            66..=77 => {
                let on = self.rng.random_bool(0.5);
                self.store.set_random_enabled(on);
                self.shared.push(Kind::Faults {
                    what: format!("store faults {}", if on { "on" } else { "off" }),
                });
            }
            78..=89 => {
                if self.source_faults.is_empty() {
                    let faults = self.emulator.faults();
                    let p = [0.05, 0.2][self.rng.random_range(0..2)];
                    for op in [
                        Operation::GetRecords,
                        Operation::GetShardIterator,
                        Operation::ListShards,
                    ] {
                        self.source_faults.push(
                            faults.add(
                                FaultRule::error(ErrorCode::InternalFailure)
                                    .on(op)
                                    .with_probability(p),
                            ),
                        );
                    }
                    self.source_faults.push(
                        faults.add(
                            FaultRule::throttle()
                                .on(Operation::GetRecords)
                                .with_probability(p / 2.0),
                        ),
                    );
                    self.shared.push(Kind::Faults {
                        what: format!("source faults on (p = {p})"),
                    });
                } else {
                    self.source_faults_off();
                }
            }
            _ => {}
        }
    }

    fn source_faults_off(&mut self) {
        if self.source_faults.is_empty() {
            return;
        }
        for id in self.source_faults.drain(..) {
            self.emulator.faults().remove(id);
        }
        self.shared.push(Kind::Faults {
            what: "source faults off".into(),
        });
    }

    /// Lease counts per live worker and unfinished leases not owned by a live worker.
    async fn lease_spread(&self) -> Option<(BTreeMap<String, usize>, Vec<String>)> {
        let listing = self.store.inner().list().await.ok()?;
        let live: BTreeSet<&str> = self
            .members
            .iter()
            .filter(|m| m.handle.is_some())
            .map(|m| m.id.as_str())
            .collect();
        let mut counts: BTreeMap<String, usize> = live.iter().map(|w| ((*w).to_owned(), 0)).collect();
        let mut orphans = Vec::new();
        for lease in listing.leases {
            if lease.is_shard_end() {
                continue;
            }
            match lease.owner.as_deref() {
                Some(o) if live.contains(o) => *counts.entry(o.to_owned()).or_default() += 1,
                _ => orphans.push(format!("{} (owner {:?})", lease.key.as_str(), lease.owner)),
            }
        }
        Some((counts, orphans))
    }
}

/// The producer: every 100-300 ms a few records over a few keys, with per-key counters. On a
/// multi-stream seed each batch goes to a stream drawn for it, over that stream's keys (`s * KEY_SPACE`
/// onwards for stream `s`).
async fn produce(
    emulator: Emulator,
    shared: Arc<Shared>,
    seed: u64,
    keys: u32,
    counters: Arc<Mutex<BTreeMap<u32, u64>>>,
    streams: Vec<&'static str>,
) {
    let mut rng = StdRng::seed_from_u64(seed ^ 0xfeed);
    let deadline = Instant::now() + CHAOS - Duration::from_secs(2);
    while Instant::now() < deadline {
        // Drawn only on a multi-stream seed: a single-stream seed's draws are as they were.
        let stream = if streams.len() > 1 {
            rng.random_range(0..streams.len())
        } else {
            0
        };
        let n = rng.random_range(1..12);
        let mut entries = Vec::new();
        for _ in 0..n {
            let key = rng.random_range(0..keys) + stream as u32 * KEY_SPACE;
            entries.push(key);
        }
        // Keep trying until accepted: a record counts as produced only once stored.
        let mut pending: Vec<(u32, u64)> = {
            let mut c = counters.lock().unwrap();
            entries
                .into_iter()
                .map(|k| {
                    let count = c.entry(k).or_insert(0);
                    *count += 1;
                    (k, *count)
                })
                .collect()
        };
        // Per key, the records must be stored in counter order: put them one batch at a time.
        while !pending.is_empty() {
            let records = pending
                .iter()
                .map(|(k, n)| PutRecordsRequestEntry {
                    data: Bytes::from(format!("k{k}:{n}")),
                    partition_key: format!("k{k}"),
                    explicit_hash_key: None,
                })
                .collect();
            if let Ok(out) = emulator
                .put_records(PutRecordsInput {
                    records,
                    stream_name: Some(streams[stream].into()),
                    ..Default::default()
                })
                .await
            {
                if out.failed_record_count == 0 {
                    shared.push(Kind::Produced { count: pending.len() });
                    pending.clear();
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(100..300))).await;
    }
}

async fn simulate(seed: u64, renewal: LeaseRenewal, policies: Policies, streams: Streams) -> Outcome {
    // Drawn from an rng of its own, so the schedule's draws below are as they were without policies.
    let policies = match policies {
        Policies::Drawn => StdRng::seed_from_u64(seed ^ 0x0070_11c1_e5a1_1e5e).random_bool(2.0 / 3.0),
        Policies::Off => false,
    };
    // Likewise for the second stream (and everything about it).
    let mut stream_rng = StdRng::seed_from_u64(seed ^ 0x5743_ea35_0000_0002);
    let second = match streams {
        Streams::Drawn => draw_streams(&mut stream_rng),
        Streams::One => None,
    };
    let shared = Arc::new(Shared {
        start: Instant::now(),
        events: Mutex::new(Vec::new()),
        next_proc: Mutex::new(0),
        next_group: Mutex::new(0),
        seed,
        lane_checkpoints: std::env::var("KCL_SIM_LANE_CHECKPOINTS").map_or(true, |v| v != "off"),
    });
    let mut rng = StdRng::seed_from_u64(seed);
    let emulator = Emulator::new(
        EmulatorConfig::builder()
            .without_throughput_limits()
            .seed(seed)
            // Fixed wall time: sequence numbers and arrival times do not depend on when the run starts.
            .start_time(std::time::UNIX_EPOCH + Duration::from_secs(1_800_000_000))
            .build()
            .expect("emulator config"),
    );
    let shards = rng.random_range(2..=8);
    emulator
        .create_stream(CreateStreamInput {
            stream_name: STREAM.into(),
            shard_count: Some(shards),
            ..Default::default()
        })
        .await
        .expect("stream");
    let source: Arc<dyn RecordSource> = Arc::new(EmulatorSource::new(emulator.clone(), STREAM));
    let mut sim_streams = vec![SimStream {
        name: STREAM,
        source: Arc::clone(&source),
        tracked: true,
    }];
    if let Some(second) = &second {
        emulator
            .create_stream(CreateStreamInput {
                stream_name: SECOND_STREAM.into(),
                shard_count: Some(second.shards),
                ..Default::default()
            })
            .await
            .expect("second stream");
        sim_streams.push(SimStream {
            name: SECOND_STREAM,
            source: Arc::new(EmulatorSource::new(emulator.clone(), SECOND_STREAM)),
            tracked: second.added_at.is_none(),
        });
    }
    let multi = second.is_some();
    let audit = Arc::new(Audit {
        inner: Arc::new(InMemoryLeaseStore::new()),
        shared: Arc::new(SharedRef(Arc::clone(&shared))),
    });
    let store = Arc::new(FaultyLeaseStore::new(audit).with_random(
        rng.random(),
        RandomFaults {
            conflict: 0.01,
            throttle: 0.03,
            timeout: 0.03,
            timeout_after_apply: 0.02,
            latency: Some((Duration::from_millis(1), Duration::from_millis(30))),
        },
    ));
    store.set_random_enabled(false);
    let lease = Duration::from_secs(rng.random_range(1..=4));
    let policy = if rng.random_bool(0.3) {
        ProcessorErrorPolicy::RetryThenStop {
            max_retries: rng.random_range(1..4),
        }
    } else {
        ProcessorErrorPolicy::RetryForever
    };
    let mut fleet = Fleet {
        shared: Arc::clone(&shared),
        rng: StdRng::seed_from_u64(rng.random()),
        emulator: emulator.clone(),
        streams: sim_streams,
        multi,
        store,
        lease,
        renewal,
        policy,
        members: Vec::new(),
        shutting_down: Vec::new(),
        spawned: 0,
        source_faults: Vec::new(),
        policies,
        policy_workers: 0,
        lane_workers: 0,
    };
    let workers = rng.random_range(2..=5);
    for i in 0..workers {
        fleet.spawn(format!("w{i}"));
    }
    let keys = rng.random_range(3..30u32);
    let counters = Arc::new(Mutex::new(BTreeMap::new()));
    let producer = tokio::spawn(produce(
        emulator.clone(),
        Arc::clone(&shared),
        rng.random(),
        keys,
        Arc::clone(&counters),
        fleet.streams.iter().map(|s| s.name).collect(),
    ));

    // Chaos.
    let chaos_start = Instant::now();
    let chaos_end = chaos_start + CHAOS;
    let add_at = second.as_ref().and_then(|s| s.added_at).map(|d| chaos_start + d);
    loop {
        let wait = Duration::from_millis(fleet.rng.random_range(300..4_000));
        match add_at {
            // The second stream is added at its moment, between two actions (no draw of the schedule's).
            Some(at) if fleet.streams.iter().any(|s| !s.tracked) && Instant::now() + wait >= at => {
                let until = Instant::now() + wait;
                tokio::time::sleep_until(at).await;
                fleet.add_late_streams();
                tokio::time::sleep_until(until).await;
            }
            _ => tokio::time::sleep(wait).await,
        }
        if Instant::now() >= chaos_end {
            break;
        }
        fleet.act().await;
    }
    fleet.add_late_streams();
    let _ = producer.await;
    fleet.store.set_random_enabled(false);
    fleet.source_faults_off();
    if fleet.live().is_empty() {
        fleet.spawn("w-final".into());
    }
    // Graceful shutdowns still in progress must end. Bounded, so that a consumer that never returns
    // (a deadlock) is a violation rather than a run that never ends.
    let mut stuck_shutdowns = Vec::new();
    for (id, task) in fleet.shutting_down.drain(..) {
        if tokio::time::timeout(SHUTDOWN_BOUND, task).await.is_err() {
            stuck_shutdowns.push(id);
        }
    }

    // Settle: until everything is processed and the leases are balanced (or the time is up).
    let produced: BTreeSet<(u32, u64)> = {
        let c = counters.lock().unwrap();
        c.iter()
            .flat_map(|(k, n)| (1..=*n).map(move |i| (*k, i)))
            .collect()
    };
    let settle_end = Instant::now() + SETTLE;
    let mut quiet_since: Option<Instant> = None;
    while Instant::now() < settle_end {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let done = processed(&shared).is_superset(&produced);
        let balanced = match fleet.lease_spread().await {
            Some((counts, orphans)) => {
                orphans.is_empty()
                    && counts.values().max().unwrap_or(&0) - counts.values().min().unwrap_or(&0) <= 1
            }
            None => false,
        };
        if done && balanced {
            // Stay settled for a few lease durations (nothing moves any more).
            let since = *quiet_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= lease * 3 {
                break;
            }
        } else {
            quiet_since = None;
        }
    }
    shared.push(Kind::Settled);

    let mut violations = Vec::new();
    if let Some((counts, orphans)) = fleet.lease_spread().await {
        let n = shared.events.lock().unwrap().len();
        if !orphans.is_empty() {
            violations.push((
                n - 1,
                format!("at the end, leases not owned by a live worker: {orphans:?}"),
            ));
        }
        let (min, max) = (
            counts.values().min().copied().unwrap_or(0),
            counts.values().max().copied().unwrap_or(0),
        );
        if max - min > 1 {
            violations.push((
                n - 1,
                format!("at the end, leases not balanced within 1: {counts:?}"),
            ));
        }
    }
    let mut layout = Layout {
        order: BTreeMap::new(),
        records: BTreeMap::new(),
        parents: BTreeMap::new(),
    };
    for stream in &fleet.streams {
        shard_layout(&mut layout, &stream.source, &shard_prefix(multi, stream.name)).await;
    }
    let events = shared.events.lock().unwrap().clone();
    for id in stuck_shutdowns {
        let begun = events
            .iter()
            .rposition(|e| matches!(&e.kind, Kind::ShutdownBegin { worker } if *worker == id))
            .unwrap_or(0);
        violations.push((
            begun,
            format!(
                "the graceful shutdown of {id} did not end within {} s after the chaos",
                SHUTDOWN_BOUND.as_secs()
            ),
        ));
    }
    let (mut found, duplicates) = check(&events, &produced, &layout);
    violations.append(&mut found);
    violations.sort_by_key(|(at, _)| *at);
    let digest = digest(&events);
    // Stop everything before the runtime goes away.
    for member in fleet.members.iter_mut() {
        if let Some(handle) = member.handle.take() {
            handle.abort().await;
        }
    }
    let lane_groups = events
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                Kind::Init {
                    lane: 0,
                    lanes: 2..,
                    ..
                }
            )
        })
        .count();
    Outcome {
        seed,
        violations,
        events,
        digest,
        produced: produced.len(),
        duplicates,
        policy_workers: fleet.policy_workers,
        lane_workers: fleet.lane_workers,
        lane_groups,
        streams: fleet.streams.len(),
        late_stream: second.is_some_and(|s| s.added_at.is_some()),
    }
}

/// Every (key, n) processed so far (delivered in a call that returned `Ok`).
fn processed(shared: &Shared) -> BTreeSet<(u32, u64)> {
    let events = shared.events.lock().unwrap();
    events
        .iter()
        .filter_map(|e| match &e.kind {
            Kind::Processed { recs, .. } => Some(recs.iter().map(|(k, n, _)| (*k, *n))),
            _ => None,
        })
        .flatten()
        .collect()
}

/// Each shard's records in order (sequence numbers, keys and counters) and its parents.
struct Layout {
    order: BTreeMap<String, Vec<String>>,
    /// The key and producer counter (`k<key>:<n>`) of each record, in the order of `order`.
    records: BTreeMap<String, Vec<(u32, u64)>>,
    parents: BTreeMap<String, Vec<String>>,
}

/// Adds a stream's shards to `layout`, named `<prefix><shard id>` (their lease keys on a multi-stream seed:
/// the checker's shard maps are keyed by lease key, so shards of different streams never mix), read from
/// the emulator directly (not through kcl-core's multi-stream source: the checker does not trust the code
/// it checks).
async fn shard_layout(layout: &mut Layout, source: &Arc<dyn RecordSource>, prefix: &str) {
    let shards = source
        .list_shards(&ShardFilter::FromTrimHorizon)
        .await
        .expect("listing shards for the checks");
    for shard in shards {
        let mut reader = source.open_reader(ReadRequest::new(&shard.shard_id, IteratorPosition::TrimHorizon));
        let records = read_available(reader.as_mut())
            .await
            .expect("records for the checks");
        let seqs = records.iter().map(|r| r.sequence_number.to_string()).collect();
        let recs = records.iter().map(|r| parse(&r.data)).collect();
        let name = format!("{prefix}{}", shard.shard_id);
        layout.parents.insert(
            name.clone(),
            shard.parents().map(|p| format!("{prefix}{p}")).collect(),
        );
        layout.order.insert(name.clone(), seqs);
        layout.records.insert(name, recs);
    }
}

/// A shard's records split into lanes for one parallelization factor: each record's lane (its key's MD5
/// modulo the factor, kcl-core's rule) and its rank among the records of that lane.
struct LaneIndex {
    lane: Vec<u8>,
    rank: Vec<usize>,
}

impl LaneIndex {
    fn new(records: &[(u32, u64)], lanes: u8, key_lanes: &mut HashMap<(u32, u8), u8>) -> Self {
        let mut next = vec![0usize; usize::from(lanes.max(1))];
        let mut index = LaneIndex {
            lane: Vec::with_capacity(records.len()),
            rank: Vec::with_capacity(records.len()),
        };
        for (k, _) in records {
            let lane = *key_lanes
                .entry((*k, lanes))
                .or_insert_with(|| lane::lane_of(&format!("k{k}"), lanes));
            index.lane.push(lane);
            index.rank.push(next[usize::from(lane)]);
            next[usize::from(lane)] += 1;
        }
        index
    }

    /// The rank in `lane` of the first record of that lane at or after record `start`.
    fn rank_at(&self, lane: u8, start: usize) -> usize {
        self.lane[..start.min(self.lane.len())]
            .iter()
            .filter(|l| **l == lane)
            .count()
    }
}

/// A processor instance as the log shows it.
#[derive(Default)]
struct Proc {
    shard: String,
    worker: String,
    /// The consumer it belongs to, its lane and the consumer's lane count (1: a lone processor).
    group: u32,
    lane: u8,
    lanes: u8,
    init_at: usize,
    /// The record (index in the shard) after the checkpoint it was initialized with.
    start: usize,
    /// The same as a rank in its lane (`start` for a lone processor).
    start_rank: usize,
    /// (event index, first rank, last rank, ok) per non-empty batch; ranks in the processor's lane (for a
    /// lone processor the lane is the whole shard, and a rank is the record's index).
    batches: Vec<(usize, usize, usize, bool)>,
    /// The shard indices of every record it processed (a call returned `Ok` on it).
    ok_records: Vec<usize>,
    batch_starts: Vec<usize>,
    ok_checkpoints: Vec<usize>,
    /// How it ended: "lost", "shutdown-ok", "shutdown-failed", "ended", "crashed" or "" (still running).
    end: &'static str,
    /// Its checkpoint in `shutdown_requested` succeeded.
    shutdown_checkpointed: bool,
    last_batch_failed: bool,
}

/// One consumer's processors (its lanes, in lane order) with their ids.
type Group<'a> = Vec<(u32, &'a Proc)>;

/// Whether a consumer's end promises that its successor redelivers nothing it finished: a graceful
/// shutdown or handoff whose checkpoint succeeded, a finished shard, or a stop without a callback that
/// no failed batch explains.
fn unexplained_redelivery(lanes: &[&Proc]) -> bool {
    if let [p] = lanes {
        return match p.end {
            "shutdown-ok" | "ended" => true,
            // Stopped without a callback (RetryThenStop): only after a failed batch.
            "" => !p.last_batch_failed,
            // Crashed, lease lost, or shutdown with a failed batch or checkpoint.
            _ => false,
        };
    }
    // Lanes. Every lane gets `shutdown_requested`, and every lane's `checkpoint()` writes the same
    // position, the shard's low watermark once the batches in flight have ended: one lane's success
    // puts it in the store. A failed batch in a lane is below the watermark's reach anyway (its records
    // are not finished, so they are not in the finished prefix the successor must not redeliver), so,
    // unlike a lone processor's, it does not excuse a redelivery after a successful shutdown checkpoint.
    if lanes.iter().any(|p| matches!(p.end, "crashed" | "lost")) {
        return false;
    }
    if lanes.iter().any(|p| p.end == "ended" || p.shutdown_checkpointed) {
        return true;
    }
    if lanes.iter().all(|p| p.end.is_empty()) {
        // Stopped without a callback (RetryThenStop): only after a failed batch in some lane.
        return !lanes.iter().any(|p| p.last_batch_failed);
    }
    false
}

fn check(events: &[Ev], produced: &BTreeSet<(u32, u64)>, layout: &Layout) -> (Vec<(usize, String)>, usize) {
    let mut v: Vec<(usize, String)> = Vec::new();
    // (shard, sequence number) -> the record's index in its shard. By shard: the streams of a multi-stream
    // seed number their records independently, so a sequence number alone may name records of both.
    let index: HashMap<(&str, &str), usize> = layout
        .order
        .iter()
        .flat_map(|(shard, seqs)| {
            seqs.iter()
                .enumerate()
                .map(move |(i, s)| ((shard.as_str(), s.as_str()), i))
        })
        .collect();
    let position = |shard: &str, checkpoint: &str| -> Option<usize> {
        match checkpoint {
            "TRIM_HORIZON" => Some(0),
            cp => {
                let seq = cp.split('.').next().unwrap_or(cp);
                index.get(&(shard, seq)).map(|i| i + 1)
            }
        }
    };
    let mut key_lanes: HashMap<(u32, u8), u8> = HashMap::new();
    let mut lane_indexes: HashMap<(String, u8), LaneIndex> = HashMap::new();
    let mut procs: BTreeMap<u32, Proc> = BTreeMap::new();
    let mut worker_procs: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    let mut first_seen: BTreeMap<(u32, u64), usize> = BTreeMap::new();
    let mut max_first: BTreeMap<u32, u64> = BTreeMap::new();
    let mut deliveries = 0usize;
    let mut stored: BTreeMap<String, ExtendedSequenceNumber> = BTreeMap::new();
    let mut deleted: BTreeSet<String> = BTreeSet::new();
    let mut first_batch_of_shard: BTreeMap<String, usize> = BTreeMap::new();
    let mut last_first_delivery_of_shard: BTreeMap<String, usize> = BTreeMap::new();
    // Per shard: which records were processed (by any processor), and how many from the first on.
    let mut processed_prefix: HashMap<&str, (Vec<bool>, usize)> = HashMap::new();
    // `process_records` calls in progress: proc -> the event index of its `BatchStart`.
    let mut open_calls: BTreeMap<u32, usize> = BTreeMap::new();
    let stuck = |v: &mut Vec<(usize, String)>, proc: u32, since: usize, until_ms: u64, how: &str| {
        let since_ms = events[since].at_ms;
        if until_ms.saturating_sub(since_ms) >= STUCK_CALL.as_millis() as u64 {
            v.push((
                since,
                format!(
                    "proc {proc}: process_records started at {since_ms} ms had not returned {} ms later \
                     ({how}): the consumer is stuck",
                    until_ms - since_ms
                ),
            ));
        }
    };

    for (at, ev) in events.iter().enumerate() {
        match &ev.kind {
            Kind::Init {
                proc,
                group,
                lane,
                lanes,
                worker,
                shard,
                checkpoint,
            } => {
                let start = match position(shard, checkpoint) {
                    Some(p) => p,
                    None => {
                        v.push((
                            at,
                            format!("proc {proc} initialized at an unknown checkpoint {checkpoint}"),
                        ));
                        0
                    }
                };
                let start_rank = if *lanes > 1 {
                    let records = layout.records.get(shard).map_or(&[][..], Vec::as_slice);
                    lane_indexes
                        .entry((shard.clone(), *lanes))
                        .or_insert_with(|| LaneIndex::new(records, *lanes, &mut key_lanes))
                        .rank_at(*lane, start)
                } else {
                    start
                };
                procs.insert(
                    *proc,
                    Proc {
                        shard: shard.clone(),
                        worker: worker.clone(),
                        group: *group,
                        lane: *lane,
                        lanes: *lanes,
                        init_at: at,
                        start,
                        start_rank,
                        ..Proc::default()
                    },
                );
                worker_procs.entry(worker.clone()).or_default().push(*proc);
            }
            Kind::BatchStart { proc, shard } => {
                open_calls.insert(*proc, at);
                if let Some(p) = procs.get_mut(proc) {
                    p.batch_starts.push(at);
                } else {
                    v.push((
                        at,
                        format!("proc {proc} of {shard} started a batch before initialize"),
                    ));
                }
            }
            Kind::BatchEnd { proc, .. } => {
                open_calls.remove(proc);
            }
            Kind::Processed { proc, shard, recs } | Kind::Failed { proc, shard, recs } => {
                let ok = matches!(ev.kind, Kind::Processed { .. });
                if !ok {
                    open_calls.remove(proc);
                }
                if recs.is_empty() {
                    continue;
                }
                let Some(p) = procs.get_mut(proc) else { continue };
                // A record of the shard: its sequence number is there, with this payload (on a
                // multi-stream seed, a record of the other stream under the same number is not).
                let idx: Vec<Option<usize>> = recs
                    .iter()
                    .map(|(k, n, s)| {
                        index
                            .get(&(shard.as_str(), s.as_str()))
                            .copied()
                            .filter(|i| layout.records[shard.as_str()][*i] == (*k, *n))
                    })
                    .collect();
                if idx.iter().any(Option::is_none) {
                    v.push((
                        at,
                        format!("proc {proc} got a record that is not in shard {shard}"),
                    ));
                    continue;
                }
                let idx: Vec<usize> = idx.into_iter().flatten().collect();
                // Ranks in the processor's lane: a lane sees exactly the shard's records of its keys, in
                // order, so its batches are contiguous in that subsequence (a lone processor's lane is
                // the whole shard).
                let ranks: Vec<usize> = if p.lanes > 1 {
                    let lanes = lane_indexes
                        .get(&(shard.clone(), p.lanes))
                        .expect("indexed at initialize");
                    let foreign: Vec<(u32, u8)> = idx
                        .iter()
                        .zip(recs)
                        .filter(|(i, _)| lanes.lane[**i] != p.lane)
                        .map(|(i, (k, _, _))| (*k, lanes.lane[*i]))
                        .collect();
                    if !foreign.is_empty() {
                        v.push((
                            at,
                            format!(
                                "proc {proc} (lane {} of {} in {shard}) got records of keys of other lanes \
                                 (key, its lane): {foreign:?}",
                                p.lane, p.lanes
                            ),
                        ));
                        continue;
                    }
                    idx.iter().map(|i| lanes.rank[*i]).collect()
                } else {
                    idx.clone()
                };
                if ranks.windows(2).any(|w| w[1] != w[0] + 1) {
                    let what = if p.lanes > 1 {
                        format!(" (ranks in lane {} of {}; records {idx:?})", p.lane, p.lanes)
                    } else {
                        String::new()
                    };
                    v.push((at, format!("proc {proc} got a batch with a gap: {ranks:?}{what}")));
                }
                let (first, last) = (ranks[0], *ranks.last().unwrap());
                let expected = match p.batches.last() {
                    None => p.start_rank,
                    Some((_, f, _, false)) => *f,
                    Some((_, _, l, true)) => l + 1,
                };
                if first != expected {
                    let lane = if p.lanes > 1 {
                        format!(", lane {} of {}, ranks in the lane", p.lane, p.lanes)
                    } else {
                        String::new()
                    };
                    v.push((
                        at,
                        format!(
                            "proc {proc} ({shard}{lane}) batch starts at record {first}, expected {expected} \
                             (start {}, previous {:?})",
                            p.start_rank,
                            p.batches.last().map(|(_, f, l, ok)| (f, l, ok))
                        ),
                    ));
                }
                p.batches.push((at, first, last, ok));
                p.last_batch_failed = !ok;
                if ok {
                    p.ok_records.extend(&idx);
                    let len = layout.order.get(shard).map_or(0, Vec::len);
                    let (flags, prefix) = processed_prefix
                        .entry(shard.as_str())
                        .or_insert_with(|| (vec![false; len], 0));
                    for i in &idx {
                        flags[*i] = true;
                    }
                    while flags.get(*prefix) == Some(&true) {
                        *prefix += 1;
                    }
                    first_batch_of_shard.entry(shard.clone()).or_insert(at);
                    for (k, n, _) in recs {
                        deliveries += 1;
                        if first_seen.contains_key(&(*k, *n)) {
                            continue;
                        }
                        first_seen.insert((*k, *n), at);
                        last_first_delivery_of_shard.insert(shard.clone(), at);
                        let max = max_first.entry(*k).or_insert(0);
                        if *n != *max + 1 {
                            v.push((
                                at,
                                format!("key k{k}: first delivery of {n} after {max} (out of order)"),
                            ));
                        }
                        *max = (*max).max(*n);
                    }
                }
            }
            // A lane processor's own `checkpoint()` writes the shard's low watermark, not the end of its
            // batch (a `checkpoint_record` of its batch is refused: above the watermark). Only its
            // fencing is judged here (per consumer, below); what it wrote is judged with every stored
            // checkpoint (never past a record not processed).
            Kind::Checkpoint { proc, ok: true, .. } => {
                if let Some(p) = procs.get_mut(proc) {
                    p.ok_checkpoints.push(at);
                }
            }
            Kind::LeaseLostCall { proc, .. } => {
                if let Some(p) = procs.get_mut(proc) {
                    p.end = "lost";
                }
            }
            Kind::ShutdownRequested {
                proc, checkpointed, ..
            } => {
                if let Some(p) = procs.get_mut(proc) {
                    p.shutdown_checkpointed = *checkpointed == Some(true);
                    p.end = match checkpointed {
                        Some(true) if !p.last_batch_failed => "shutdown-ok",
                        _ => "shutdown-failed",
                    };
                }
            }
            Kind::ShardEnded { proc, ok: true, .. } => {
                if let Some(p) = procs.get_mut(proc) {
                    p.end = "ended";
                }
            }
            Kind::Crash { worker } => {
                for proc in worker_procs.get(worker).into_iter().flatten() {
                    if let Some(since) = open_calls.remove(proc) {
                        stuck(&mut v, *proc, since, ev.at_ms, "until its worker crashed");
                    }
                    if let Some(p) = procs.get_mut(proc) {
                        if p.end.is_empty() {
                            p.end = "crashed";
                        }
                    }
                }
            }
            Kind::Lease(LeaseEvent::Lost {
                worker_id, shard_id, ..
            }) => {
                for proc in worker_procs.get(worker_id).into_iter().flatten() {
                    if let Some(p) = procs.get_mut(proc) {
                        if &p.shard == shard_id && p.end.is_empty() {
                            p.end = "lost";
                        }
                    }
                }
            }
            Kind::StoreCheckpoint { key, at: cp, .. } => {
                // No checkpoint passes a record that was never processed (with lanes, the worker's low
                // watermark, and any lane's own checkpoint, must stay below every unfinished record).
                let shard_len = layout.order.get(key).map_or(0, Vec::len);
                let covers = if cp.is_shard_end() {
                    shard_len
                } else {
                    position(key, &cp.to_string()).unwrap_or(0)
                };
                let done = processed_prefix.get(key.as_str()).map_or(0, |(_, n)| *n);
                if covers > done {
                    let (k, n) = layout.records[key][done];
                    v.push((
                        at,
                        format!(
                            "the checkpoint of {key} was stored at {cp} (its first {covers} records) while \
                             record {done} (k{k}:{n}) was never processed"
                        ),
                    ));
                }
                if let Some(prev) = stored.get(key) {
                    if cp < prev {
                        v.push((
                            at,
                            format!("stored checkpoint of {key} moved backwards: {prev} -> {cp}"),
                        ));
                    }
                }
                stored.insert(key.clone(), cp.clone());
            }
            Kind::WrongShard { proc, shard, named } => {
                v.push((
                    at,
                    format!("proc {proc} was made for {shard} but initialized for {named}"),
                ));
            }
            Kind::StoreCreate { key } if deleted.contains(key) => {
                v.push((
                    at,
                    format!("the lease of {key} was deleted (finished) and created again"),
                ));
            }
            Kind::StoreDelete { key } => {
                if !stored.get(key).is_some_and(ExtendedSequenceNumber::is_shard_end) {
                    v.push((
                        at,
                        format!("the lease of {key} was deleted before it reached SHARD_END"),
                    ));
                }
                deleted.insert(key.clone());
            }
            _ => {}
        }
    }

    // Liveness: no call hangs (a call still open at the end of the run is stuck if it is old). A
    // crashed worker's consumers may take one more step after the `Crash` event (the abort lands when its
    // tasks are next polled): a call started then is cut off, not stuck.
    let end_ms = events.last().map_or(0, |e| e.at_ms);
    for (proc, since) in &open_calls {
        if procs.get(proc).is_some_and(|p| p.end == "crashed") {
            continue;
        }
        stuck(&mut v, *proc, *since, end_ms, "at the end of the run");
    }

    // Loss.
    let missing: Vec<_> = produced.iter().filter(|r| !first_seen.contains_key(r)).collect();
    if !missing.is_empty() {
        v.push((
            events.len() - 1,
            format!(
                "{} of {} records never processed, e.g. {:?}",
                missing.len(),
                produced.len(),
                missing.iter().take(8).collect::<Vec<_>>()
            ),
        ));
    }

    // Consumers: a group of lane processors (one processor when the factor is 1), made by consecutive
    // factory calls for one shard. Each must be whole: `lanes` processors, lanes 0.., one shard, one worker.
    let mut groups: BTreeMap<u32, Group<'_>> = BTreeMap::new();
    for (id, p) in &procs {
        groups.entry(p.group).or_default().push((*id, p));
    }
    for (group, lanes) in &groups {
        let first = lanes[0].1;
        let whole = lanes.len() == usize::from(first.lanes)
            && lanes.iter().enumerate().all(|(i, (_, p))| {
                usize::from(p.lane) == i
                    && p.lanes == first.lanes
                    && p.shard == first.shard
                    && p.worker == first.worker
            });
        if !whole {
            v.push((
                first.init_at,
                format!(
                    "group {group} is not one consumer's {} lanes: {:?}",
                    first.lanes,
                    lanes
                        .iter()
                        .map(|(id, p)| (id, p.lane, p.lanes, &p.shard, &p.worker))
                        .collect::<Vec<_>>()
                ),
            ));
        }
    }

    // Per shard, in initialization order of the consumers: overlap, stale checkpoints, and unexplained
    // redeliveries. Lanes of one consumer run at once by design; two consumers of a shard never do.
    let mut by_shard: BTreeMap<&str, Vec<Group<'_>>> = BTreeMap::new();
    for lanes in groups.into_values() {
        by_shard.entry(lanes[0].1.shard.as_str()).or_default().push(lanes);
    }
    for (shard, list) in &mut by_shard {
        list.sort_by_key(|lanes| lanes[0].1.init_at);
        for (i, lanes) in list.iter().enumerate() {
            let name = |lanes: &[(u32, &Proc)]| -> String {
                let p = lanes[0].1;
                if lanes.len() == 1 {
                    format!("proc {} ({})", lanes[0].0, p.worker)
                } else {
                    let ids: Vec<u32> = lanes.iter().map(|(id, _)| *id).collect();
                    format!("lane procs {ids:?} ({})", p.worker)
                }
            };
            for newer in &list[i + 1..] {
                let newer_init = newer[0].1.init_at;
                let batch = lanes
                    .iter()
                    .filter_map(|(_, p)| p.batch_starts.iter().find(|b| **b > newer_init))
                    .min();
                if let Some(at) = batch {
                    v.push((
                        *at,
                        format!(
                            "shard {shard}: {} started a batch after {} was initialized",
                            name(lanes),
                            name(newer)
                        ),
                    ));
                }
                let checkpoint = lanes
                    .iter()
                    .filter_map(|(_, p)| p.ok_checkpoints.iter().find(|c| **c > newer_init))
                    .min();
                if let Some(at) = checkpoint {
                    v.push((
                        *at,
                        format!(
                            "shard {shard}: {} checkpointed after {} was initialized",
                            name(lanes),
                            name(newer)
                        ),
                    ));
                }
            }
            if let Some(next) = list.get(i + 1) {
                // The finished prefix: the records from the consumer's start that it processed, up to
                // the first it did not (for a lone processor, up to its last processed record).
                let done: BTreeSet<usize> = lanes
                    .iter()
                    .flat_map(|(_, p)| p.ok_records.iter().copied())
                    .collect();
                if done.is_empty() {
                    continue;
                }
                let start = lanes[0].1.start;
                let low = (start..).find(|r| !done.contains(r)).unwrap_or(start);
                let procs: Vec<&Proc> = lanes.iter().map(|(_, p)| *p).collect();
                let next_start = next[0].1.start;
                if next_start < low && unexplained_redelivery(&procs) {
                    let ends: Vec<&str> = procs.iter().map(|p| p.end).collect();
                    v.push((
                        next[0].1.init_at,
                        format!(
                            "shard {shard}: {} redelivers from record {next_start} although {} ended \
                             without a crash, lost lease or failed batch ({ends:?}) after processing \
                             every record up to {}",
                            name(next),
                            name(lanes),
                            low - 1
                        ),
                    ));
                }
            }
        }
    }

    // Parents before children.
    for (child, parents) in &layout.parents {
        let Some(first_child) = first_batch_of_shard.get(child) else {
            continue;
        };
        for parent in parents {
            if let Some(last_parent) = last_first_delivery_of_shard.get(parent) {
                if last_parent > first_child {
                    v.push((
                        *first_child,
                        format!("child {child} processed before its parent {parent} was finished"),
                    ));
                }
            }
        }
    }
    let duplicates = deliveries - first_seen.len();
    (v, duplicates)
}

/// FNV-1a over the event log's text.
fn digest(events: &[Ev]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for ev in events {
        for b in format!("{}{:?}", ev.at_ms, ev.kind).bytes() {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// Parses `A..B` (or a single seed).
pub fn parse_seeds(text: &str) -> std::ops::Range<u64> {
    match text.split_once("..") {
        Some((a, b)) => {
            a.trim().parse().expect("seed range start")..b.trim().parse().expect("seed range end")
        }
        None => {
            let s: u64 = text.trim().parse().expect("seed");
            s..s + 1
        }
    }
}

/// What a run of many seeds covered.
#[derive(Clone, Copy, Debug, Default)]
pub struct Coverage {
    /// Seeds run.
    pub ran: u64,
    /// Seeds with at least one worker on a non-default processing policy.
    pub with_policy: u64,
    /// Seeds with at least one consumer that ran lanes (a parallelization factor above 1).
    pub with_lanes: u64,
    /// Lane groups (consumers with several lane processors) over all seeds.
    pub lane_groups: u64,
    /// Seeds whose workers consumed two streams (multi-stream mode), and of those, seeds whose second
    /// stream was added at run time.
    pub multi_stream: u64,
    pub late_stream: u64,
}

/// Runs `seeds` on `threads` OS threads (each seed on its own runtime); returns the failing outcomes in
/// seed order, what the seeds covered (how many ran, with policies, with lanes), and the wall time.
pub fn run_many(
    seeds: std::ops::Range<u64>,
    threads: usize,
    time_limit: Option<Duration>,
) -> (Vec<Outcome>, Coverage, Duration) {
    // Wall time of the whole run (for seeds per second), not simulated time.
    #[allow(clippy::disallowed_methods)]
    let started = std::time::Instant::now();
    let next = Arc::new(Mutex::new(seeds.start));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let coverage = Arc::new(Mutex::new(Coverage::default()));
    let end = seeds.end;
    let workers: Vec<_> = (0..threads.max(1))
        .map(|_| {
            let (next, failures, coverage) =
                (Arc::clone(&next), Arc::clone(&failures), Arc::clone(&coverage));
            std::thread::spawn(move || loop {
                if time_limit.is_some_and(|limit| started.elapsed() >= limit) {
                    return;
                }
                let seed = {
                    let mut n = next.lock().unwrap();
                    if *n >= end {
                        return;
                    }
                    *n += 1;
                    *n - 1
                };
                let outcome = run(seed);
                {
                    let mut c = coverage.lock().unwrap();
                    c.ran += 1;
                    c.with_policy += u64::from(outcome.policy_workers > 0);
                    c.with_lanes += u64::from(outcome.lane_groups > 0);
                    c.lane_groups += outcome.lane_groups as u64;
                    c.multi_stream += u64::from(outcome.streams > 1);
                    c.late_stream += u64::from(outcome.late_stream);
                }
                if !outcome.ok() {
                    eprintln!("{}", outcome.report());
                    failures.lock().unwrap().push(outcome);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("simulation thread");
    }
    let mut failures = std::mem::take(&mut *failures.lock().unwrap());
    failures.sort_by_key(|o| o.seed);
    let coverage = *coverage.lock().unwrap();
    (failures, coverage, started.elapsed())
}
