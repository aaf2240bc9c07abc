//! Runs a scenario for one strategy: real workers on a synthetic stream, in paused virtual time (or real
//! time against DynamoDB), sampled into a time series.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use kcl_checkpoint::{FaultyLeaseStore, InMemoryLeaseStore, LeaseStore, RandomFaults};
use kcl_core::{
    InitialPosition, LeaseRenewal, RecordSource, ShardRecordProcessor, Worker, WorkerConfig, WorkerHandle,
};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::SeedableRng;
use tokio::time::Instant;

use super::error::ExperimentError;
use super::outcome::{Report, Sample, StrategyRun, Summary};
use super::scenario::{EventKind, Renewal, Scenario, StrategyName};
use super::source::SyntheticStream;
use super::store::CountingLeaseStore;

mod progress;
mod tracker;

use progress::{peak_memory_mib, wall_clock, Progress};
use tracker::{Processor, Tracker};

/// Where leases live during a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Backend {
    /// The in-memory store, in paused virtual time (the default).
    #[default]
    Memory,
    /// A DynamoDB-compatible server at this endpoint (dynalite, DynamoDB Local), in real time; each
    /// strategy gets a fresh table.
    DynamoDb {
        /// For example `http://127.0.0.1:4567`.
        endpoint: String,
    },
}

/// How to run.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct RunOptions {
    /// The lease store.
    pub backend: Backend,
    /// Draw a progress bar on standard error (only when it is a terminal).
    pub progress: bool,
}

/// Runs `scenario` once per strategy (each on a fresh fleet, store and stream, with the same seed).
///
/// # Errors
///
/// [`ExperimentError`] when a worker cannot be built or the lease store fails where the harness reads it.
pub fn run(scenario: &Scenario, options: &RunOptions) -> Result<Report, ExperimentError> {
    scenario.validate()?;
    let per_run = scenario.duration.as_secs().max(1);
    let progress = if options.progress {
        let bar = indicatif::ProgressBar::new(per_run * scenario.strategies.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:40}] {pos}/{len} virtual s, {elapsed} wall, eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    // Off a terminal indicatif draws nothing: a line per tenth of each run instead (long runs in logs).
    let plain = options.progress && !std::io::IsTerminal::is_terminal(&std::io::stderr());
    let progress = Progress {
        bar: progress,
        plain,
        last_line: std::sync::Mutex::new(std::time::Duration::ZERO),
    };
    let mut runs = Vec::new();
    for strategy in &scenario.strategies {
        progress
            .bar
            .set_message(format!("{} / {}", scenario.name, strategy.as_str()));
        runs.push(run_strategy(scenario, *strategy, &options.backend, &progress)?);
    }
    progress.bar.finish_and_clear();
    Ok(Report {
        scenario: scenario.name.clone(),
        seed: scenario.seed,
        workers: scenario.workers,
        shards: scenario.shards,
        duration_seconds: scenario.duration.as_secs_f64(),
        runs,
        peak_memory_mib: peak_memory_mib(),
    })
}

/// A DynamoDB lease store on a fresh table at `endpoint` (static local credentials).
async fn dynamodb_store(
    endpoint: &str,
    scenario: &str,
    strategy: StrategyName,
) -> Result<Arc<dyn kcl_checkpoint::LeaseStore>, ExperimentError> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
            .credentials_provider(aws_credential_types::Credentials::new(
                "local",
                "local",
                None,
                None,
                "kcl-experiment",
            ))
            .endpoint_url(endpoint)
            .build(),
    );
    let name: String = scenario
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let table = format!(
        "exp-{name}-{}-{}-{}",
        strategy.as_str(),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let store = kcl_checkpoint::DynamoDbLeaseStore::builder(client, table)
        .endpoint(endpoint)
        .build_with_retry(kcl_checkpoint::RetryPolicy::default())
        .map_err(|e| ExperimentError::Store(kcl_checkpoint::DisplayChain(&e).to_string()))?;
    store
        .ensure_table()
        .await
        .map_err(|e| ExperimentError::Store(kcl_checkpoint::DisplayChain(&e).to_string()))?;
    Ok(store)
}

/// One step of the schedule.
#[derive(Clone, Debug)]
enum Action {
    Event(EventKind, String),
    /// A rolling deploy's step: start a replacement, then let this worker leave.
    Replace(String),
}

struct Fleet {
    scenario: Scenario,
    strategy: StrategyName,
    store: Arc<dyn LeaseStore>,
    source: Arc<SyntheticStream>,
    tracker: Arc<Tracker>,
    handles: BTreeMap<String, WorkerHandle>,
    next_worker: usize,
    leaving: tokio::task::JoinSet<()>,
}

impl Fleet {
    fn config(&self, index: usize) -> Result<WorkerConfig, ExperimentError> {
        let w = &self.scenario.worker;
        WorkerConfig::builder()
            .lease_duration(w.lease_duration)
            .lease_renewal(match w.renewal {
                Renewal::PerLease => LeaseRenewal::PerLease,
                Renewal::Heartbeat => LeaseRenewal::Heartbeat,
            })
            .graceful_handoff(w.graceful_handoff)
            .idle_time_between_reads(w.idle_time_between_reads)
            .load_report_interval(w.load_report_interval)
            .report_cpu(false)
            .initial_position(InitialPosition::TrimHorizon)
            .jitter_seed(
                self.scenario
                    .seed
                    .wrapping_mul(1_000_003)
                    .wrapping_add(index as u64),
            )
            .build()
            .map_err(|e| ExperimentError::Scenario {
                source_name: self.scenario.name.clone(),
                message: e.to_string(),
            })
    }

    fn spawn(&mut self) -> Result<String, ExperimentError> {
        let index = self.next_worker;
        self.next_worker += 1;
        let id = format!("w{index:03}");
        let tracker = Arc::clone(&self.tracker);
        let checkpoint_every = self.scenario.worker.checkpoint_interval;
        let source: Arc<dyn RecordSource> = self.source.clone();
        let worker = Worker::builder(
            Arc::clone(&self.store),
            source,
            move |shard: &str| {
                Box::new(Processor {
                    shard_id: shard.to_owned(),
                    tracker: Arc::clone(&tracker),
                    checkpoint_every,
                    last_checkpoint: Instant::now(),
                    first_batch: true,
                }) as Box<dyn ShardRecordProcessor>
            },
            id.clone(),
        )
        .config(self.config(index)?)
        .strategy(self.strategy.build())
        .build()
        .map_err(|e| ExperimentError::Worker(e.to_string()))?;
        self.handles.insert(id.clone(), worker.spawn());
        Ok(id)
    }

    fn leave(&mut self, id: &str) {
        if let Some(handle) = self.handles.remove(id) {
            self.leaving.spawn(async move {
                let _ = handle.shutdown().await;
            });
        }
    }

    fn pick(&self, rng: &mut StdRng, count: usize) -> Vec<String> {
        let ids: Vec<String> = self.handles.keys().cloned().collect();
        ids.choose_multiple(rng, count).cloned().collect()
    }
}

/// Runs `scenario` with `strategy` on a runtime of its own.
fn run_strategy(
    scenario: &Scenario,
    strategy: StrategyName,
    backend: &Backend,
    progress: &Progress,
) -> Result<StrategyRun, ExperimentError> {
    let paused = matches!(backend, Backend::Memory);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(paused)
        .build()
        .map_err(|source| ExperimentError::Io {
            path: "tokio runtime".into(),
            source,
        })?;
    let wall = wall_clock();
    let mut run = runtime.block_on(drive(scenario, strategy, backend, progress))?;
    run.summary.wall_seconds = wall.elapsed().as_secs_f64();
    Ok(run)
}

async fn drive(
    scenario: &Scenario,
    strategy: StrategyName,
    backend: &Backend,
    progress: &Progress,
) -> Result<StrategyRun, ExperimentError> {
    let base: Arc<dyn LeaseStore> = match backend {
        Backend::Memory => Arc::new(InMemoryLeaseStore::new()),
        Backend::DynamoDb { endpoint } => dynamodb_store(endpoint, &scenario.name, strategy).await?,
    };
    let faulty = Arc::new(
        FaultyLeaseStore::new(Arc::clone(&base)).with_random(scenario.seed, RandomFaults::default()),
    );
    let counting = Arc::new(CountingLeaseStore::new(faulty.clone()));
    let source = Arc::new(SyntheticStream::new(
        &scenario.load.rates(scenario.shards),
        scenario.load.record_bytes,
    ));
    let tracker = Arc::new(Tracker::default());
    let mut fleet = Fleet {
        scenario: scenario.clone(),
        strategy,
        store: counting.clone(),
        source: Arc::clone(&source),
        tracker: Arc::clone(&tracker),
        handles: BTreeMap::new(),
        next_worker: 0,
        leaving: tokio::task::JoinSet::new(),
    };
    let mut rng = StdRng::seed_from_u64(scenario.seed ^ 0x5eed);
    let start = Instant::now();
    let wall = wall_clock();
    for _ in 0..scenario.workers {
        fleet.spawn()?;
    }

    let mut actions: Vec<(Duration, Action)> = scenario
        .schedule()
        .into_iter()
        .map(|e| {
            let label = e.kind.label();
            (e.at, Action::Event(e.kind, label))
        })
        .collect();
    let mut faults = RandomFaults::default();
    let mut samples = Vec::new();
    let mut events = Vec::new();
    let mut last_owner: HashMap<String, String> = HashMap::new();
    let mut moves = 0u64;
    let mut next_sample = Duration::ZERO;
    let record_kb = scenario.load.record_bytes as f64 / 1024.0;
    loop {
        actions.sort_by_key(|(at, _)| *at);
        let next_action = actions.first().map(|(at, _)| *at);
        let at = match next_action {
            Some(a) if a <= next_sample => a,
            _ => next_sample,
        };
        if at > scenario.duration {
            break;
        }
        tokio::time::sleep_until(start + at).await;
        if next_action == Some(at) {
            let (_, action) = actions.remove(0);
            match action {
                Action::Event(kind, label) => {
                    // Events at one instant are one phase.
                    match events.last_mut() {
                        Some((t, l)) if *t == at.as_secs_f64() => *l = format!("{l} + {label}"),
                        _ => events.push((at.as_secs_f64(), label)),
                    }
                    match kind {
                        EventKind::Join { count } => {
                            for _ in 0..count {
                                fleet.spawn()?;
                            }
                        }
                        EventKind::Crash { count } => {
                            for id in fleet.pick(&mut rng, count) {
                                if let Some(h) = fleet.handles.remove(&id) {
                                    h.abort().await;
                                }
                            }
                        }
                        EventKind::Leave { count } => {
                            for id in fleet.pick(&mut rng, count) {
                                fleet.leave(&id);
                            }
                        }
                        EventKind::RollingDeploy { interval } => {
                            let ids: Vec<String> = fleet.handles.keys().cloned().collect();
                            for (k, id) in ids.into_iter().enumerate() {
                                actions.push((at + interval * k as u32, Action::Replace(id)));
                            }
                        }
                        EventKind::Split { count } => {
                            let open: Vec<String> =
                                source.open_shards().into_iter().map(|(id, _)| id).collect();
                            for id in open.choose_multiple(&mut rng, count) {
                                source.split(id);
                            }
                        }
                        EventKind::Merge { count } => {
                            for _ in 0..count {
                                let open = source.open_shards();
                                if open.len() < 2 {
                                    break;
                                }
                                let i = rand::Rng::random_range(&mut rng, 0..open.len() - 1);
                                source.merge(&open[i].0, &open[i + 1].0);
                            }
                        }
                        EventKind::StoreLatency { min, max } => {
                            faults.latency = (!max.is_zero()).then_some((min, max));
                            faulty.set_random_faults(faults.clone());
                        }
                        EventKind::StoreThrottle { probability } => {
                            faults.throttle = probability;
                            faulty.set_random_faults(faults.clone());
                        }
                    }
                }
                Action::Replace(id) => {
                    if fleet.handles.contains_key(&id) {
                        fleet.spawn()?;
                        fleet.leave(&id);
                    }
                }
            }
            continue;
        }

        // A sample.
        next_sample += scenario.sample_interval;
        let listing = base
            .list()
            .await
            .map_err(|e| ExperimentError::Store(e.to_string()))?;
        let rates = source.rates();
        let mut leases: BTreeMap<String, usize> = fleet.handles.keys().map(|w| (w.clone(), 0)).collect();
        let mut load: BTreeMap<String, f64> = fleet.handles.keys().map(|w| (w.clone(), 0.0)).collect();
        let mut unowned = 0;
        for lease in &listing.leases {
            if lease.is_shard_end() {
                continue;
            }
            let key = lease.key.as_str();
            match &lease.owner {
                Some(owner) if fleet.handles.contains_key(owner) => {
                    *leases.entry(owner.clone()).or_default() += 1;
                    *load.entry(owner.clone()).or_default() +=
                        rates.get(key).copied().unwrap_or(0.0) * record_kb;
                    if let Some(previous) = last_owner.insert(key.to_owned(), owner.clone()) {
                        if previous != *owner {
                            moves += 1;
                        }
                    }
                }
                _ => unowned += 1,
            }
        }
        samples.push(Sample {
            t: at.as_secs_f64(),
            leases,
            load_kbps: load,
            unowned,
            moves,
            requests: counting.total(),
            requests_by_op: counting
                .calls()
                .into_iter()
                .map(|(op, n)| (op.name().to_owned(), n))
                .collect(),
            processed: tracker.processed.load(Ordering::Relaxed),
            duplicates: tracker.duplicates.load(Ordering::Relaxed),
        });
        progress.advance(
            strategy,
            scenario.sample_interval.as_secs().max(1),
            at.as_secs_f64(),
            scenario.duration.as_secs_f64(),
            wall.elapsed(),
        );
    }

    let by_op: BTreeMap<String, u64> = counting
        .calls()
        .into_iter()
        .map(|(op, n)| (op.name().to_owned(), n))
        .collect();
    for (_, h) in std::mem::take(&mut fleet.handles) {
        h.abort().await;
    }
    fleet.leaving.abort_all();
    let gaps = tracker.gaps.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let summary = Summary::of(
        scenario,
        &samples,
        &events,
        &by_op,
        &gaps,
        tracker.starts.load(Ordering::Relaxed),
    );
    Ok(StrategyRun {
        strategy,
        samples,
        events,
        requests_by_op: by_op,
        summary,
    })
}
