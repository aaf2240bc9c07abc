//! The rebalancing experiment harness (feature `experiment`): runs the real [`Worker`](kcl_core::Worker)
//! code for N workers over M shards in paused virtual time, under a scenario of joins, crashes, graceful
//! leaves, rolling deploys, splits, merges and lease-store latency or throttling, once per assignment
//! strategy with the same seed, and writes what happened.
//!
//! ```toml
//! # scenarios/hot-shard.toml
//! name = "hot-shard"
//! seed = 7
//! workers = 4
//! shards = 40
//! duration = "8m"
//! strategies = ["count-balanced", "kcl2", "utilization"]
//!
//! [load]
//! model = "hot"          # uniform | zipf | hot
//! records_per_sec = 5.0  # mean per shard
//! record_bytes = 1024
//! hot_share = 0.3        # the first shard's share of the stream
//!
//! [[events]]
//! at = "2m"
//! kind = "join"          # join | crash | leave | rolling-deploy | split | merge | store-latency | store-throttle
//! count = 1
//! ```
//!
//! Run one with `cargo run --release --features experiment --example rebalance -- scenarios/join.toml`, or
//! from code with [`run`]. For each strategy it records, every `sample_interval`: leases and load (KB/s,
//! from the load model) per worker, leases not owned by a live worker, lease moves, lease-store calls,
//! records processed and duplicates (a record processed again after a move or a crash); and at the end,
//! processor starts, processing gaps (from a shard's last record before a move to the new owner's
//! first), convergence after each event (the time until leases stop moving and every lease is owned) and
//! lease-store calls by operation. [`Report::write`] writes:
//! - `timeseries.csv` (one row per sample, worker and strategy) and `report.json` (everything);
//! - `summary.md`: one table comparing the strategies on this scenario and seed;
//! - plots, PNG and SVG (drawn with `plotters`; the font is the `dejavu` crate's DejaVu Sans, embedded so
//!   that no system font is needed): leases per worker over time, load spread (most loaded worker / mean)
//!   over time, lease moves over time with the events marked, lease-store calls per second.
//!
//! **Time.** Against the in-memory store the run is in paused tokio time: a 30-minute scenario takes as
//! long as the work in it, and a seed replays the same run. With [`Backend::DynamoDb`] (dynalite, DynamoDB
//! Local) the lease store is a real server, so the run is in real time (paused time would fire every
//! timeout while a request is on the wire): use short scenarios there; the calls are counted at the
//! client, one request each (a listing is one Scan per 1 MB page).
//!
//! **The synthetic stream** ([`SyntheticStream`]) computes records from the clock instead of storing
//! them: record `i` of a shard arrives at `i / rate`. It is what lets 100 workers over 10,000 shards run
//! for 30 virtual minutes on a laptop (BENCHMARKS.md has the wall time and memory).
//!
//! Why these crates: `plotters` draws PNG and SVG from one chart description without a browser or a
//! system library; `indicatif` is the maintained progress bar (drawn only on a terminal); `toml` and
//! `serde_json` read the scenario files.

mod report;
mod run;
mod scenario;
mod source;
mod store;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

pub use report::Files;
pub use scenario::{Event, EventKind, LoadModel, LoadShape, Renewal, Scenario, StrategyName, WorkerSettings};
pub use source::SyntheticStream;
pub use store::CountingLeaseStore;

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

/// A run failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExperimentError {
    /// The scenario does not parse or a value is out of range.
    #[error("{source_name}: {message}")]
    Scenario {
        /// The file (or `scenario`).
        source_name: String,
        /// What is wrong and what to change.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A worker could not be built.
    #[error("worker: {0}")]
    Worker(String),
    /// The lease store failed where the harness itself reads it (samples, table creation).
    #[error("lease store: {0}")]
    Store(String),
    /// A plot could not be drawn.
    #[error("plot {path}: {message}")]
    Plot {
        /// The file.
        path: String,
        /// The drawing error.
        message: String,
    },
}

/// One sample of a run.
#[derive(Clone, Debug, serde::Serialize)]
#[non_exhaustive]
pub struct Sample {
    /// Seconds since the start.
    pub t: f64,
    /// Leases per live worker.
    pub leases: BTreeMap<String, usize>,
    /// Load per live worker in KB/s (from the load model: what its leases carry).
    pub load_kbps: BTreeMap<String, f64>,
    /// Unfinished leases not owned by a live worker.
    pub unowned: usize,
    /// Lease moves so far (a lease owned by a different worker than at its last sample).
    pub moves: u64,
    /// Lease-store calls so far.
    pub requests: u64,
    /// Records processed so far.
    pub processed: u64,
    /// Records processed a second time so far.
    pub duplicates: u64,
}

/// What one strategy did on the scenario.
#[derive(Clone, Debug, serde::Serialize)]
#[non_exhaustive]
pub struct Summary {
    /// Lease moves in all.
    pub moves: u64,
    /// Lease moves from each event to the next (the first entry: from the start to the first event).
    pub moves_per_phase: Vec<u64>,
    /// Seconds from each event until leases stopped moving with every lease owned (`None`: still moving
    /// when the next event came or the run ended).
    pub convergence_seconds: Vec<Option<f64>>,
    /// Seconds from the start until the first balanced state (same definition).
    pub start_convergence_seconds: Option<f64>,
    /// Seconds from each event until every lease was owned by a live worker again (`None`: not before the
    /// next event or the end).
    pub all_owned_seconds: Vec<Option<f64>>,
    /// Records processed a second time.
    pub duplicates: u64,
    /// Records processed.
    pub processed: u64,
    /// Processor starts (`initialize` calls).
    pub processor_starts: u64,
    /// Most loaded worker / mean, at the end.
    pub final_load_ratio: f64,
    /// Most loaded worker / mean, averaged over the samples after the first minute.
    pub mean_load_ratio: f64,
    /// Most minus fewest leases on a live worker, at the end.
    pub final_lease_spread: usize,
    /// Lease-store calls per lease per minute.
    pub requests_per_lease_minute: f64,
    /// Processing gaps at moves (seconds): median and largest.
    pub gap_median_seconds: Option<f64>,
    /// See `gap_median_seconds`.
    pub gap_max_seconds: Option<f64>,
    /// Wall-clock seconds the run took.
    pub wall_seconds: f64,
}

impl Summary {
    fn of(
        scenario: &Scenario,
        samples: &[Sample],
        events: &[(f64, String)],
        by_op: &BTreeMap<String, u64>,
        gaps: &[f64],
        starts: u64,
    ) -> Self {
        let ratio = |s: &Sample| {
            let loads: Vec<f64> = s.load_kbps.values().copied().collect();
            let mean = loads.iter().sum::<f64>() / loads.len().max(1) as f64;
            if mean > 0.0 {
                loads.iter().cloned().fold(0.0, f64::max) / mean
            } else {
                1.0
            }
        };
        // Phase boundaries: the start, each event, the end.
        let mut bounds: Vec<f64> = vec![0.0];
        bounds.extend(events.iter().map(|(t, _)| *t));
        bounds.push(f64::INFINITY);
        let moves_at = |t: f64| {
            samples
                .iter()
                .take_while(|s| s.t <= t)
                .last()
                .map_or(0, |s| s.moves)
        };
        let mut moves_per_phase = Vec::new();
        let mut settled = Vec::new();
        let mut all_owned = Vec::new();
        for w in bounds.windows(2) {
            let (from, to) = (w[0], w[1]);
            moves_per_phase.push(moves_at(to).saturating_sub(moves_at(from)));
            // The first sample in the phase after which nothing moved and everything was owned.
            let phase: Vec<&Sample> = samples.iter().filter(|s| s.t >= from && s.t < to).collect();
            all_owned.push(
                phase
                    .iter()
                    .find(|s| s.unowned == 0 && s.leases.values().sum::<usize>() > 0)
                    .map(|s| s.t - from),
            );
            let mut calm_from: Option<f64> = None;
            let mut previous_moves = samples
                .iter()
                .take_while(|s| s.t < from)
                .last()
                .map_or(0, |s| s.moves);
            for s in &phase {
                let calm =
                    s.moves == previous_moves && s.unowned == 0 && s.leases.values().sum::<usize>() > 0;
                previous_moves = s.moves;
                match (calm, calm_from) {
                    (true, None) => calm_from = Some(s.t),
                    (false, _) => calm_from = None,
                    _ => {}
                }
            }
            // A phase that ends while still moving (or with no calm sample) has not converged.
            settled.push(calm_from.map(|t| (t - from).max(0.0)));
        }
        let start_convergence_seconds = settled.first().copied().flatten();
        let convergence_seconds = settled.into_iter().skip(1).collect();
        let all_owned_seconds = all_owned.into_iter().skip(1).collect();
        let last = samples.last();
        let late: Vec<f64> = samples.iter().filter(|s| s.t >= 60.0).map(ratio).collect();
        let mut sorted = gaps.to_vec();
        sorted.sort_by(f64::total_cmp);
        let minutes = scenario.duration.as_secs_f64() / 60.0;
        Summary {
            moves: last.map_or(0, |s| s.moves),
            moves_per_phase,
            convergence_seconds,
            start_convergence_seconds,
            all_owned_seconds,
            duplicates: last.map_or(0, |s| s.duplicates),
            processed: last.map_or(0, |s| s.processed),
            processor_starts: starts,
            final_load_ratio: last.map_or(1.0, ratio),
            mean_load_ratio: if late.is_empty() {
                1.0
            } else {
                late.iter().sum::<f64>() / late.len() as f64
            },
            final_lease_spread: last.map_or(0, |s| {
                let counts: Vec<usize> = s.leases.values().copied().collect();
                counts.iter().max().unwrap_or(&0) - counts.iter().min().unwrap_or(&0)
            }),
            requests_per_lease_minute: by_op.values().sum::<u64>() as f64
                / scenario.shards.max(1) as f64
                / minutes,
            gap_median_seconds: sorted.get(sorted.len() / 2).copied(),
            gap_max_seconds: sorted.last().copied(),
            wall_seconds: 0.0,
        }
    }
}

/// One strategy's run.
#[derive(Clone, Debug, serde::Serialize)]
#[non_exhaustive]
pub struct StrategyRun {
    /// The strategy.
    pub strategy: StrategyName,
    /// The time series.
    pub samples: Vec<Sample>,
    /// The events as they happened: seconds since the start, label.
    pub events: Vec<(f64, String)>,
    /// Lease-store calls by operation.
    pub requests_by_op: BTreeMap<String, u64>,
    /// The figures.
    pub summary: Summary,
}

/// Every strategy's run of one scenario.
#[derive(Clone, Debug, serde::Serialize)]
#[non_exhaustive]
pub struct Report {
    /// The scenario's name.
    pub scenario: String,
    /// Its seed.
    pub seed: u64,
    /// Workers and shards at the start.
    pub workers: usize,
    /// See `workers`.
    pub shards: usize,
    /// Virtual (or, against DynamoDB, real) seconds each run lasted.
    pub duration_seconds: f64,
    /// One per strategy, in the scenario's order.
    pub runs: Vec<StrategyRun>,
    /// The process's peak resident memory after the runs, in MiB (Linux).
    pub peak_memory_mib: Option<f64>,
}

impl Report {
    /// The run of `strategy`, if it ran.
    pub fn run(&self, strategy: StrategyName) -> Option<&StrategyRun> {
        self.runs.iter().find(|r| r.strategy == strategy)
    }
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
        runs.push(run::run_strategy(
            scenario,
            *strategy,
            &options.backend,
            &progress,
        )?);
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

/// The progress bar, or plain lines when standard error is not a terminal.
struct Progress {
    bar: indicatif::ProgressBar,
    plain: bool,
    /// Wall time of the last plain line (at most one per 10 s: short runs print none).
    last_line: std::sync::Mutex<std::time::Duration>,
}

impl Progress {
    /// `t` virtual seconds of `strategy`'s run are done (of `total`), `step` since the last call.
    fn advance(&self, strategy: StrategyName, step: u64, t: f64, total: f64, wall: std::time::Duration) {
        self.bar.inc(step);
        if self.plain {
            let tenth = (total / 10.0).max(1.0);
            let mut last = self.last_line.lock().unwrap_or_else(|p| p.into_inner());
            let crossed = (t / tenth).floor() > ((t - step as f64) / tenth).floor();
            if crossed && wall >= *last + std::time::Duration::from_secs(10) {
                *last = wall;
                eprintln!(
                    "rebalance: {}: {:.0} of {:.0} virtual s after {:.0} s wall",
                    strategy.as_str(),
                    t,
                    total,
                    wall.as_secs_f64()
                );
            }
        }
    }
}

/// The real clock, for the wall time a run takes (never for anything the workers do: they run on tokio
/// time, paused here).
fn wall_clock() -> std::time::Instant {
    #[allow(clippy::disallowed_methods)]
    std::time::Instant::now()
}

/// `VmHWM` of `/proc/self/status`.
fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib / 1024.0)
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

impl Report {
    /// Writes the CSV, JSON, Markdown and plots into `dir` (created if missing).
    ///
    /// # Errors
    ///
    /// [`ExperimentError::Io`] or [`ExperimentError::Plot`].
    pub fn write(&self, dir: impl Into<PathBuf>) -> Result<Files, ExperimentError> {
        report::write(self, &dir.into())
    }

    /// The Markdown comparison table.
    pub fn markdown(&self) -> String {
        report::markdown(self)
    }
}
