//! [`UtilizationAware`]: balances measured load (records, bytes, CPU) within a band around the average.

use std::collections::BTreeMap;

use super::{spread, Assignment, AssignmentSnapshot, AssignmentStrategy};

/// Balances measured load (see the [module docs](crate::assignment)); every worker of the fleet needs its own instance
/// (it remembers when it last stole).
///
/// **Load.** A lease costs its reported KB/s plus 0.1 per record/s (a record's own overhead counts as 100
/// bytes), plus 1% of the fleet's mean lease cost so that idle leases still spread by count. A lease no one
/// has reported yet costs the mean. When every worker holding leases reports CPU, a worker's load is its
/// CPU utilization instead, shared among its leases by their cost. A worker's load is the sum over the
/// leases it holds (those being handed to it included).
///
/// **Takes.** Free (unowned or expired) leases, largest first, while this worker is below the fleet
/// average; the least loaded worker also takes what is left, so no lease stays free.
///
/// **Moves.** Only while some worker is outside the band (default ±20% of the average). Every worker
/// computes the same plan from the listing and carries out its own part of it, so workers deciding at once
/// do not all drain the same donor: the leases of workers above the average, largest first, each go to the
/// least loaded worker, as long as the donor stays above the average minus half a band, the receiver stays
/// below the average plus half a band, and the receiver ends below the donor. A lease bigger than the
/// average plus half a band (a hot shard) fits nowhere within the band; it moves only to a worker that
/// ends below the donor, so hot shards spread one per worker. After its steals a worker
/// waits a cooldown (default 10 s) before it takes part in a plan again. Each move lowers the sum of
/// squared worker loads and nothing moves while every worker is inside the band, so the fleet converges
/// and does not oscillate while loads hold still (a lease's reported load moves with it). Each lease moves
/// at most once per plan, so a fleet started together, or a joining worker, moves about as many leases as
/// count balancing would. A lease too big to move (the hot shard a worker holds alone) stays where it is,
/// and the other leases move away from its worker.
#[derive(Debug)]
pub struct UtilizationAware {
    band: f64,
    cooldown: std::time::Duration,
    last_steal: std::sync::Mutex<Option<tokio::time::Instant>>,
}

impl Default for UtilizationAware {
    fn default() -> Self {
        UtilizationAware {
            band: 0.2,
            cooldown: std::time::Duration::from_secs(10),
            last_steal: std::sync::Mutex::new(None),
        }
    }
}

impl UtilizationAware {
    /// The defaults: a ±20% band, 10 s between steals.
    pub fn new() -> Self {
        UtilizationAware::default()
    }

    /// The band around the fleet average within which a worker's load is left alone (a fraction, clamped
    /// to 0.01-1.0).
    pub fn with_band(mut self, band: f64) -> Self {
        self.band = if band.is_finite() {
            band.clamp(0.01, 1.0)
        } else {
            0.2
        };
        self
    }

    /// The time this worker waits after a steal before it steals again.
    pub fn with_cooldown(mut self, cooldown: std::time::Duration) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// The fleet's moves (lease key, new owner) when some worker is outside the band: leases of workers
    /// above the average, largest first, each to the worker furthest below it, while neither ends further
    /// than half a band past the average and the receiver stays below the donor. Deterministic for a
    /// snapshot, so that workers deciding at once agree on who takes what.
    fn plan<'a>(
        &self,
        snapshot: &'a AssignmentSnapshot,
        cost: &BTreeMap<&'a str, f64>,
        load: &BTreeMap<&'a str, f64>,
        avg: f64,
    ) -> Vec<(&'a str, &'a str)> {
        let (low, high) = (avg * (1.0 - self.band), avg * (1.0 + self.band));
        if load.values().all(|l| (low..=high).contains(l)) {
            return Vec::new();
        }
        let tolerance = 0.5 * self.band * avg;
        let mut load: BTreeMap<&str, f64> = load.clone();
        let mut donors: Vec<&str> = load.iter().filter(|(_, l)| **l > avg).map(|(w, _)| *w).collect();
        donors.sort_by(|a, b| load[b].total_cmp(&load[a]).then_with(|| a.cmp(b)));
        let mut moves = Vec::new();
        for donor in donors {
            let mut leases: Vec<(&str, f64)> = snapshot
                .leases
                .iter()
                .filter(|l| l.owner.as_deref() == Some(donor) && !l.expired && !l.handing_off)
                .map(|l| (l.key.as_str(), cost[l.key.as_str()]))
                .collect();
            leases.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
            for (key, c) in leases {
                let given = load[donor];
                // A lease bigger than a share of the band fits nowhere within it: it may still move when that
                // lowers the larger of the two loads (a worker holding several hot shards).
                let big = c > avg + tolerance;
                if given - c < avg - tolerance && !big {
                    continue;
                }
                let Some((receiver, taken)) = load
                    .iter()
                    .filter(|(w, _)| **w != donor)
                    .min_by(|a, b| a.1.total_cmp(b.1).then_with(|| a.0.cmp(b.0)))
                    .map(|(w, l)| (*w, *l))
                else {
                    break;
                };
                if (taken + c > avg + tolerance && !big) || taken + c >= given {
                    continue;
                }
                load.insert(donor, given - c);
                load.insert(receiver, taken + c);
                moves.push((key, receiver));
            }
        }
        moves
    }
}

/// A lease's cost in load units before CPU scaling (see [`UtilizationAware`]).
fn raw_cost(load: &kcl_checkpoint::LeaseLoad) -> f64 {
    load.kbps + 0.1 * load.records_per_sec
}

/// Per-lease costs and per-worker loads, as [`UtilizationAware`] counts them.
pub(super) struct Loads<'a> {
    cost: BTreeMap<&'a str, f64>,
    pub(super) load: BTreeMap<&'a str, f64>,
}

impl<'a> Loads<'a> {
    pub(super) fn of(snapshot: &'a AssignmentSnapshot) -> Self {
        let reported: Vec<f64> = snapshot
            .leases
            .iter()
            .filter_map(|l| l.load.as_ref().map(raw_cost))
            .collect();
        let mean = if reported.is_empty() {
            1.0
        } else {
            reported.iter().sum::<f64>() / reported.len() as f64
        };
        let mean = if mean > 0.0 { mean } else { 1.0 };
        let floor = 0.01 * mean;
        let mut cost: BTreeMap<&str, f64> = snapshot
            .leases
            .iter()
            .map(|l| (l.key.as_str(), l.load.as_ref().map_or(mean, raw_cost) + floor))
            .collect();
        // CPU: when every worker holding leases reported it, a worker's load is its CPU, shared by cost.
        let mut raw_sum: BTreeMap<&str, f64> = BTreeMap::new();
        let mut cpu: BTreeMap<&str, (f64, usize)> = BTreeMap::new();
        for lease in &snapshot.leases {
            if let (Some(owner), false) = (lease.owner.as_deref(), lease.expired) {
                *raw_sum.entry(owner).or_default() += cost[lease.key.as_str()];
                if let Some(c) = lease.load.and_then(|l| l.owner_cpu) {
                    let e = cpu.entry(owner).or_default();
                    e.0 += c;
                    e.1 += 1;
                }
            }
        }
        if !raw_sum.is_empty() && raw_sum.keys().all(|w| cpu.contains_key(w)) {
            let scale: BTreeMap<&str, f64> = raw_sum
                .iter()
                .map(|(w, sum)| (*w, (cpu[w].0 / cpu[w].1 as f64) / sum.max(f64::MIN_POSITIVE)))
                .collect();
            let fleet_scale = scale.values().sum::<f64>() / scale.len() as f64;
            for lease in &snapshot.leases {
                let owner = lease.owner.as_deref().filter(|_| !lease.expired);
                let s = owner.and_then(|o| scale.get(o)).copied().unwrap_or(fleet_scale);
                if let Some(c) = cost.get_mut(lease.key.as_str()) {
                    *c *= s;
                }
            }
        }
        let mut load: BTreeMap<&str, f64> = snapshot.live_workers.iter().map(|w| (w.as_str(), 0.0)).collect();
        for lease in &snapshot.leases {
            if let (Some(owner), false) = (lease.owner.as_deref(), lease.expired) {
                *load.entry(owner).or_default() += cost[lease.key.as_str()];
            }
        }
        Loads { cost, load }
    }
}

impl AssignmentStrategy for UtilizationAware {
    fn assign(&self, snapshot: &AssignmentSnapshot) -> Assignment {
        let me = snapshot.worker_id.as_str();
        let Loads { cost, mut load } = Loads::of(snapshot);
        let total: f64 = cost.values().sum();
        let avg = total / snapshot.live_workers.len().max(1) as f64;
        let mut held = snapshot.counts().get(me).copied().unwrap_or(0);
        let mut decision = Assignment::default();

        // 1. Free leases, largest first, while below the average; the least loaded takes the rest.
        let mut free = snapshot.free_leases();
        free.sort_by(|a, b| {
            cost[b.key.as_str()]
                .total_cmp(&cost[a.key.as_str()])
                .then_with(|| spread(me, &a.key).cmp(&spread(me, &b.key)))
        });
        fn least_loaded<'a>(load: &BTreeMap<&'a str, f64>) -> Option<&'a str> {
            load.iter()
                .min_by(|a, b| a.1.total_cmp(b.1).then_with(|| a.0.cmp(b.0)))
                .map(|(w, _)| *w)
        }
        for lease in free {
            if held >= snapshot.max_leases {
                break;
            }
            let mine = load.get(me).copied().unwrap_or(0.0);
            if mine < avg || least_loaded(&load) == Some(me) {
                decision.take.push(lease.key.clone());
                *load.entry(me).or_default() += cost[lease.key.as_str()];
                held += 1;
            }
        }
        if !decision.take.is_empty() || held >= snapshot.max_leases {
            return decision;
        }

        // 2. After the cooldown, this worker's part of the fleet's plan (every worker computes the same plan
        // from the same listing and carries out only its own moves).
        let now = tokio::time::Instant::now();
        let mut last = self.last_steal.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|at| now.saturating_duration_since(at) < self.cooldown) {
            return decision;
        }
        for (key, to) in self.plan(snapshot, &cost, &load, avg) {
            if to == me && held < snapshot.max_leases {
                decision.steal.push(key.to_owned());
                held += 1;
            }
        }
        if !decision.steal.is_empty() {
            *last = Some(now);
        }
        decision
    }

    fn wants_load_reports(&self) -> bool {
        true
    }
}
