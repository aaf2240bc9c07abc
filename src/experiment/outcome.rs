//! What a run recorded: samples, per-strategy summaries, the report.

use std::collections::BTreeMap;

use super::scenario::{Scenario, StrategyName};

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
    /// Lease-store calls so far, by operation.
    pub requests_by_op: BTreeMap<String, u64>,
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
    pub(super) fn of(
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
