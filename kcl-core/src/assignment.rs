//! Lease assignment: which leases a worker takes and which it steals.
//!
//! Every taker cycle the worker builds an [`AssignmentSnapshot`] (the assignable leases with their owners
//! and expiry as seen on this worker's clock, the live workers, optional per-lease throughput) and asks its
//! [`AssignmentStrategy`] for an [`Assignment`]: leases to *take* (unowned or expired) and leases to
//! *steal* (owned by a live worker). The coordinator then performs the fenced writes; a lost fence just
//! means the lease is reconsidered next cycle. A steal is a cooperative handoff (the owner finishes its
//! batch and checkpoints first) unless `graceful_handoff` is off; a lease whose handoff is still in
//! progress ([`LeaseInfo::handing_off`]) counts for its new owner and is not asked for again until it lands.
//!
//! The built-in [`CountBalanced`] strategy balances lease counts (max - min <= 1). It is a "water-filling"
//! rule each worker applies to itself: take free leases up to its fair share, then steal one lease at a time
//! from the most loaded worker while that worker has at least two more leases than it. Every steal lowers
//! the sum of squared lease counts, so the fleet converges and never oscillates, and no lease moves unless
//! it reduces the imbalance.
//!
//! [`UtilizationAware`] balances measured load instead of counts, in the spirit of the Java KCL 3: workers
//! report what each lease processes (records and bytes per second, and their CPU where they can measure
//! it; see [`crate::load`]), and leases move only while a worker is outside a band around the fleet's
//! average load, a bounded number at a time, so it never oscillates and a hot shard does not leave one
//! worker overloaded while others idle.
//!
//! [`Kcl2Compatible`] applies the Java KCL 2.x taker's rules instead (target `ceil(leases / workers)`,
//! expired and unowned leases first, and only when there are none, one lease stolen per 20 s from the most
//! loaded worker), so experiments can compare against the Java KCL's behaviour.
//!
//! # Writing a strategy
//!
//! A strategy is a pure decision: given the snapshot, which free leases this worker takes and which leases
//! of live workers it steals. The worker performs the fenced writes (a lost race is reconsidered next
//! cycle), never takes a lease whose previous consumer still runs, skips steals of leases being handed off,
//! and applies `max_leases`. Every worker of
//! a fleet should run the same strategy. For example, a strategy that keeps each lease on the worker whose
//! name its key hashes to, when that worker is alive:
//!
//! ```
//! use std::hash::{DefaultHasher, Hash, Hasher};
//! use kcl_core::{Assignment, AssignmentSnapshot, AssignmentStrategy};
//!
//! #[derive(Debug)]
//! struct Sticky;
//!
//! impl AssignmentStrategy for Sticky {
//!     fn assign(&self, snapshot: &AssignmentSnapshot) -> Assignment {
//!         let workers: Vec<&String> = snapshot.live_workers.iter().collect();
//!         let home = |key: &str| {
//!             let mut h = DefaultHasher::new();
//!             key.hash(&mut h);
//!             workers[(h.finish() % workers.len() as u64) as usize]
//!         };
//!         let mut decision = Assignment::default();
//!         for lease in &snapshot.leases {
//!             if *home(&lease.key) != snapshot.worker_id || lease.owner.as_ref() == Some(&snapshot.worker_id) {
//!                 continue;
//!             }
//!             if lease.is_free() {
//!                 decision.take.push(lease.key.clone());
//!             } else {
//!                 decision.steal.push(lease.key.clone());
//!             }
//!         }
//!         decision
//!     }
//! }
//! # let live = ["a".to_owned(), "b".to_owned()].into_iter().collect();
//! # let leases = vec![kcl_core::LeaseInfo::new("shard-0", None, false)];
//! # let d = Sticky.assign(&AssignmentSnapshot::new("a", leases, live, usize::MAX));
//! # assert!(d.steal.is_empty());
//! ```
//!
//! Hand it to the worker with [`WorkerBuilder::strategy`](crate::WorkerBuilder::strategy). The workspace's
//! `tests/worker_balancing.rs` runs a fleet with a custom strategy.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};

/// One assignable lease as the taker sees it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct LeaseInfo {
    /// The lease key.
    pub key: String,
    /// The current owner; `None` when unowned.
    pub owner: Option<String>,
    /// True when its counter has not moved for the lease duration (as seen by this worker).
    pub expired: bool,
    /// Recent throughput in KB/s, when known.
    pub throughput_kbps: Option<f64>,
    /// The load its owner last reported (records/s, KB/s, the owner's CPU), when any owner did (see
    /// [`crate::load`]); it stays on the lease when the lease moves, until the new owner reports.
    pub load: Option<kcl_checkpoint::LeaseLoad>,
    /// True while a handoff of the lease is in progress (its previous owner is finishing): it counts for
    /// its new owner, and cannot be asked for again until the handoff lands (the worker skips such steals).
    pub handing_off: bool,
}

impl LeaseInfo {
    /// A lease entry.
    pub fn new(key: impl Into<String>, owner: Option<String>, expired: bool) -> Self {
        LeaseInfo {
            key: key.into(),
            owner,
            expired,
            throughput_kbps: None,
            load: None,
            handing_off: false,
        }
    }

    /// True when any worker may take it without stealing.
    pub fn is_free(&self) -> bool {
        self.owner.is_none() || self.expired
    }
}

/// What a strategy decides from.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct AssignmentSnapshot {
    /// The deciding worker.
    pub worker_id: String,
    /// Every assignable lease (finished `SHARD_END` leases are left out).
    pub leases: Vec<LeaseInfo>,
    /// Workers believed alive: owners of unexpired leases, plus the deciding worker.
    pub live_workers: BTreeSet<String>,
    /// The most leases the deciding worker may hold.
    pub max_leases: usize,
}

impl AssignmentSnapshot {
    /// A snapshot; `live_workers` always gains `worker_id`.
    pub fn new(
        worker_id: impl Into<String>,
        leases: Vec<LeaseInfo>,
        mut live_workers: BTreeSet<String>,
        max_leases: usize,
    ) -> Self {
        let worker_id = worker_id.into();
        live_workers.insert(worker_id.clone());
        AssignmentSnapshot {
            worker_id,
            leases,
            live_workers,
            max_leases,
        }
    }

    /// The leases the deciding worker may take without stealing: unowned, or expired and not its own.
    pub fn free_leases(&self) -> Vec<&LeaseInfo> {
        self.leases
            .iter()
            .filter(|l| l.is_free() && l.owner.as_deref() != Some(self.worker_id.as_str()))
            .collect()
    }

    /// Unexpired lease counts per live worker (workers without leases count 0).
    pub fn counts(&self) -> BTreeMap<&str, usize> {
        let mut counts: BTreeMap<&str, usize> = self.live_workers.iter().map(|w| (w.as_str(), 0)).collect();
        for lease in &self.leases {
            if let (Some(owner), false) = (lease.owner.as_deref(), lease.expired) {
                *counts.entry(owner).or_default() += 1;
            }
        }
        counts
    }
}

/// A strategy's decision for one taker cycle.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Assignment {
    /// Unowned or expired leases to take.
    pub take: Vec<String>,
    /// Leases owned by live workers to steal.
    pub steal: Vec<String>,
}

impl Assignment {
    /// True when nothing moves.
    pub fn is_empty(&self) -> bool {
        self.take.is_empty() && self.steal.is_empty()
    }
}

/// Decides what a worker takes and steals. Object safe: the worker holds `Box<dyn AssignmentStrategy>`.
pub trait AssignmentStrategy: Send + Sync + fmt::Debug {
    /// The decision for `snapshot.worker_id`.
    fn assign(&self, snapshot: &AssignmentSnapshot) -> Assignment;

    /// Whether the worker should measure and report lease loads ([`LeaseInfo::load`]) for this strategy
    /// (default false: reports cost a lease-store write per changed lease per report interval).
    fn wants_load_reports(&self) -> bool {
        false
    }
}

const _: Option<Box<dyn AssignmentStrategy>> = None;

/// Balances lease counts across live workers (max - min <= 1). See the [module docs](self).
#[derive(Clone, Debug)]
pub struct CountBalanced {
    max_steals_per_cycle: usize,
}

impl Default for CountBalanced {
    fn default() -> Self {
        CountBalanced {
            max_steals_per_cycle: usize::MAX,
        }
    }
}

impl CountBalanced {
    /// The default: no limit on steals per cycle, so a joining worker reaches its share in one cycle.
    pub fn new() -> Self {
        CountBalanced::default()
    }

    /// Limits steals per cycle (the Java KCL steals one lease per cycle), trading speed for fewer
    /// simultaneous handovers.
    pub fn with_max_steals_per_cycle(mut self, n: usize) -> Self {
        self.max_steals_per_cycle = n.max(1);
        self
    }
}

/// A per-worker pseudo-random but deterministic order, so workers deciding at once pick different leases.
fn spread(worker: &str, key: &str) -> u64 {
    let mut h = DefaultHasher::new();
    worker.hash(&mut h);
    key.hash(&mut h);
    h.finish()
}

impl AssignmentStrategy for CountBalanced {
    fn assign(&self, snapshot: &AssignmentSnapshot) -> Assignment {
        let me = snapshot.worker_id.as_str();
        let total = snapshot.leases.len();
        let workers = snapshot.live_workers.len().max(1);
        let target = total.div_ceil(workers).min(snapshot.max_leases);
        let mut counts = snapshot.counts();
        let mut mine = counts.remove(me).unwrap_or(0);
        let mut decision = Assignment::default();

        // 1. Free leases (unowned, or expired and not ours), up to the fair share.
        let mut free = snapshot.free_leases();
        free.sort_by_key(|l| spread(me, &l.key));
        for lease in free {
            if mine >= target {
                break;
            }
            decision.take.push(lease.key.clone());
            mine += 1;
        }

        // 2. Steal from the most loaded worker while it has at least two more than us.
        let mut candidates: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for lease in &snapshot.leases {
            if let (Some(owner), false) = (lease.owner.as_deref(), lease.expired) {
                if owner != me && !lease.handing_off {
                    candidates.entry(owner).or_default().push(&lease.key);
                }
            }
        }
        for keys in candidates.values_mut() {
            keys.sort_by_key(|k| spread(me, k));
        }
        while decision.steal.len() < self.max_steals_per_cycle && mine < target {
            // Most loaded first (among workers with a lease that can be asked for now: not one being
            // handed off); ties broken by worker id for determinism.
            let Some((&victim, &count)) = counts
                .iter()
                .filter(|(w, _)| candidates.get(*w).is_some_and(|keys| !keys.is_empty()))
                .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
            else {
                break;
            };
            if count < mine + 2 {
                break;
            }
            let Some(key) = candidates.get_mut(victim).and_then(Vec::pop) else {
                break;
            };
            decision.steal.push(key.to_owned());
            if let Some(c) = counts.get_mut(victim) {
                *c -= 1;
            }
            mine += 1;
        }
        decision
    }
}

/// The Java KCL 2.x lease taker's rules, for comparisons (see the [module docs](self)).
///
/// Each cycle: target = `ceil(assignable leases / live workers)`, capped at the per-worker maximum. Below the
/// target, take expired and unowned leases up to it; only when there are none, steal one lease from the most
/// loaded worker if it holds more than the target (or exactly the target while this worker needs two or
/// more), at most one steal per `steal_interval` (default 20 s: the Java KCL 2 taker runs every twice the
/// failover time of 10 s, and steals one lease per run).
#[derive(Debug)]
pub struct Kcl2Compatible {
    steal_interval: std::time::Duration,
    last_steal: std::sync::Mutex<Option<tokio::time::Instant>>,
}

impl Default for Kcl2Compatible {
    fn default() -> Self {
        Kcl2Compatible {
            steal_interval: std::time::Duration::from_secs(20),
            last_steal: std::sync::Mutex::new(None),
        }
    }
}

impl Kcl2Compatible {
    /// The Java KCL 2 defaults (one steal per 20 s).
    pub fn new() -> Self {
        Kcl2Compatible::default()
    }

    /// One steal per `interval` instead of per 20 s.
    pub fn with_steal_interval(mut self, interval: std::time::Duration) -> Self {
        self.steal_interval = interval;
        self
    }
}

impl AssignmentStrategy for Kcl2Compatible {
    fn assign(&self, snapshot: &AssignmentSnapshot) -> Assignment {
        let me = snapshot.worker_id.as_str();
        let workers = snapshot.live_workers.len().max(1);
        let target = snapshot.leases.len().div_ceil(workers).min(snapshot.max_leases);
        let mut counts = snapshot.counts();
        let mine = counts.remove(me).unwrap_or(0);
        let needed = target.saturating_sub(mine);
        let mut decision = Assignment::default();
        if needed == 0 {
            return decision;
        }
        let mut free = snapshot.free_leases();
        if !free.is_empty() {
            free.sort_by_key(|l| spread(me, &l.key));
            decision.take = free.into_iter().take(needed).map(|l| l.key.clone()).collect();
            return decision;
        }
        let now = tokio::time::Instant::now();
        let mut last = self.last_steal.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|at| now.saturating_duration_since(at) < self.steal_interval) {
            return decision;
        }
        let Some((&victim, &count)) = counts
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
        else {
            return decision;
        };
        if count > target || (count == target && needed > 1) {
            let key = snapshot
                .leases
                .iter()
                .filter(|l| l.owner.as_deref() == Some(victim) && !l.expired && !l.handing_off)
                .min_by_key(|l| spread(me, &l.key));
            if let Some(lease) = key {
                decision.steal.push(lease.key.clone());
                *last = Some(now);
            }
        }
        decision
    }
}

/// Balances measured load (see the [module docs](self)); every worker of the fleet needs its own instance
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
struct Loads<'a> {
    cost: BTreeMap<&'a str, f64>,
    load: BTreeMap<&'a str, f64>,
}

impl<'a> Loads<'a> {
    fn of(snapshot: &'a AssignmentSnapshot) -> Self {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A fleet simulated in memory: owner per lease; a cycle lets each worker decide and act in turn.
    struct Fleet {
        owners: BTreeMap<String, Option<String>>,
        workers: Vec<String>,
        moves: usize,
    }

    impl Fleet {
        fn new(leases: usize) -> Self {
            Fleet {
                owners: (0..leases).map(|i| (format!("shard-{i:03}"), None)).collect(),
                workers: Vec::new(),
                moves: 0,
            }
        }

        fn snapshot(&self, me: &str) -> AssignmentSnapshot {
            let leases = self
                .owners
                .iter()
                .map(|(k, o)| LeaseInfo::new(k.clone(), o.clone(), false))
                .collect();
            let live = self.owners.values().flatten().cloned().collect();
            AssignmentSnapshot::new(me, leases, live, usize::MAX)
        }

        fn cycle(&mut self, strategy: &dyn AssignmentStrategy) -> usize {
            let mut moved = 0;
            for w in self.workers.clone() {
                let decision = strategy.assign(&self.snapshot(&w));
                for key in decision.take.iter().chain(&decision.steal) {
                    let slot = self.owners.get_mut(key).unwrap();
                    if slot.is_some() {
                        self.moves += 1;
                    }
                    *slot = Some(w.clone());
                    moved += 1;
                }
            }
            moved
        }

        fn spread(&self) -> (usize, usize) {
            let mut counts: BTreeMap<&str, usize> = self.workers.iter().map(|w| (w.as_str(), 0)).collect();
            for o in self.owners.values().flatten() {
                *counts.get_mut(o.as_str()).unwrap() += 1;
            }
            (*counts.values().min().unwrap(), *counts.values().max().unwrap())
        }
    }

    #[test]
    fn joining_workers_balance_within_two_cycles_and_settle() {
        let strategy = CountBalanced::new();
        for leases in [1, 2, 7, 16, 33, 100] {
            let mut fleet = Fleet::new(leases);
            fleet.workers.push("w0".into());
            fleet.cycle(&strategy);
            for joiner in 1..6 {
                fleet.workers.push(format!("w{joiner}"));
                let moves_before = fleet.moves;
                fleet.cycle(&strategy);
                fleet.cycle(&strategy);
                let (min, max) = fleet.spread();
                assert!(
                    max - min <= 1,
                    "{leases} leases, {} workers: {min}..{max}",
                    joiner + 1
                );
                // No more moves than the joiner's fair share (floor).
                let moved = fleet.moves - moves_before;
                assert!(moved <= leases.div_ceil(joiner + 1), "moved {moved}");
                // Balanced fleets never move again.
                assert_eq!(fleet.cycle(&strategy), 0, "oscillation with {leases} leases");
            }
        }
    }

    #[test]
    fn expired_and_unowned_leases_are_taken_first() {
        let leases = vec![
            LeaseInfo::new("a", Some("dead".into()), true),
            LeaseInfo::new("b", None, false),
            LeaseInfo::new("c", Some("other".into()), false),
            LeaseInfo::new("d", Some("other".into()), false),
        ];
        let live = ["other".to_owned()].into_iter().collect();
        let decision = CountBalanced::new().assign(&AssignmentSnapshot::new("me", leases, live, usize::MAX));
        let mut take = decision.take.clone();
        take.sort();
        assert_eq!(take, vec!["a", "b"]);
        assert!(decision.steal.is_empty(), "{decision:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn kcl2_takes_free_leases_first_and_steals_one_per_interval() {
        let strategy = Kcl2Compatible::new();
        let big = |n: usize| -> Vec<LeaseInfo> {
            (0..n)
                .map(|i| LeaseInfo::new(format!("k{i}"), Some("big".into()), false))
                .collect()
        };
        let live = || ["big".to_owned()].into_iter().collect::<BTreeSet<_>>();
        // Free leases exist: take them up to the target, steal nothing.
        let mut leases = big(6);
        leases.push(LeaseInfo::new("free", None, false));
        let d = strategy.assign(&AssignmentSnapshot::new("me", leases, live(), usize::MAX));
        assert_eq!((d.take, d.steal.len()), (vec!["free".to_owned()], 0));
        // None free: one steal, then none until 20 s passed.
        let snap = AssignmentSnapshot::new("me", big(10), live(), usize::MAX);
        assert_eq!(strategy.assign(&snap).steal.len(), 1);
        assert!(strategy.assign(&snap).is_empty());
        tokio::time::advance(std::time::Duration::from_secs(19)).await;
        assert!(strategy.assign(&snap).is_empty());
        tokio::time::advance(std::time::Duration::from_secs(1)).await;
        assert_eq!(strategy.assign(&snap).steal.len(), 1);
        // Balanced within the target: nothing moves (5 / 5; and 6 / 5 with 11 leases).
        let mut leases = big(5);
        leases.extend((0..5).map(|i| LeaseInfo::new(format!("m{i}"), Some("me".into()), false)));
        tokio::time::advance(std::time::Duration::from_secs(30)).await;
        assert!(strategy
            .assign(&AssignmentSnapshot::new("me", leases, live(), usize::MAX))
            .is_empty());
    }

    fn loaded(key: &str, owner: Option<&str>, kbps: f64) -> LeaseInfo {
        let mut info = LeaseInfo::new(key, owner.map(str::to_owned), false);
        info.load = Some(kcl_checkpoint::LeaseLoad {
            records_per_sec: 0.0,
            kbps,
            owner_cpu: None,
        });
        info
    }

    /// Runs `cycles` taker cycles of a fleet where every worker applies a fresh UtilizationAware to the
    /// shared ownership (each worker its own instance); returns the loads per worker and the moves.
    fn utilization_fleet(
        leases: &[(String, f64)],
        owners: &mut BTreeMap<String, String>,
        workers: &[&str],
        cycles: usize,
    ) -> (BTreeMap<String, f64>, usize) {
        let strategies: BTreeMap<&str, UtilizationAware> = workers
            .iter()
            .map(|w| {
                (
                    *w,
                    UtilizationAware::new().with_cooldown(std::time::Duration::ZERO),
                )
            })
            .collect();
        let mut moves = 0;
        for _ in 0..cycles {
            for w in workers {
                let infos: Vec<LeaseInfo> = leases
                    .iter()
                    .map(|(k, kbps)| loaded(k, owners.get(k).map(String::as_str), *kbps))
                    .collect();
                let live = workers.iter().map(|w| (*w).to_owned()).collect();
                let d = strategies[w].assign(&AssignmentSnapshot::new(*w, infos, live, usize::MAX));
                for key in d.take.iter().chain(&d.steal) {
                    if owners.insert(key.clone(), (*w).to_owned()).is_some() {
                        moves += 1;
                    }
                }
            }
        }
        let mut loads: BTreeMap<String, f64> = workers.iter().map(|w| ((*w).to_owned(), 0.0)).collect();
        for (k, kbps) in leases {
            *loads.get_mut(&owners[k]).unwrap() += kbps;
        }
        (loads, moves)
    }

    #[test]
    fn utilization_aware_moves_other_leases_off_a_hot_shard_and_settles() {
        // 40 leases of 10 KB/s and one of 300 KB/s (about 43% of 700), all on w0; three more workers.
        let mut leases: Vec<(String, f64)> = (0..40).map(|i| (format!("s{i:02}"), 10.0)).collect();
        leases.push(("hot".to_owned(), 300.0));
        let mut owners: BTreeMap<String, String> =
            leases.iter().map(|(k, _)| (k.clone(), "w0".to_owned())).collect();
        let workers = ["w0", "w1", "w2", "w3"];
        let (loads, moves) = utilization_fleet(&leases, &mut owners, &workers, 200);
        let hot = owners["hot"].clone();
        assert!(
            loads[&hot] <= 320.0,
            "{hot} kept others' leases beside the hot one: {loads:?}"
        );
        let rest: Vec<f64> = workers.iter().filter(|w| **w != hot).map(|w| loads[*w]).collect();
        let (min, max) = (
            rest.iter().cloned().fold(f64::MAX, f64::min),
            rest.iter().cloned().fold(0.0, f64::max),
        );
        assert!(max - min <= 50.0, "the others share the rest evenly: {loads:?}");
        // Settled: no more moves.
        let (_, again) = utilization_fleet(&leases, &mut owners, &workers, 50);
        assert_eq!(again, 0, "oscillation after {moves} moves: {loads:?}");
    }

    #[test]
    fn utilization_aware_spreads_several_hot_shards_one_per_worker() {
        // Three leases each above the mean, all on w0, with 30 small ones; four workers.
        let mut leases: Vec<(String, f64)> = (0..30).map(|i| (format!("s{i:02}"), 2.0)).collect();
        for (i, kbps) in [120.0, 90.0, 70.0].into_iter().enumerate() {
            leases.push((format!("hot{i}"), kbps));
        }
        let mut owners: BTreeMap<String, String> =
            leases.iter().map(|(k, _)| (k.clone(), "w0".to_owned())).collect();
        let workers = ["w0", "w1", "w2", "w3"];
        let (loads, _) = utilization_fleet(&leases, &mut owners, &workers, 100);
        let hot_owners: BTreeSet<&String> = (0..3).map(|i| &owners[&format!("hot{i}")]).collect();
        assert_eq!(hot_owners.len(), 3, "one hot shard per worker: {owners:?}");
        let max = loads.values().cloned().fold(0.0, f64::max);
        assert!(
            max <= 125.0,
            "the biggest load is about the biggest shard: {loads:?}"
        );
        let (_, again) = utilization_fleet(&leases, &mut owners, &workers, 30);
        assert_eq!(again, 0, "settled");
    }

    #[test]
    fn utilization_aware_balances_load_not_counts_and_leaves_a_band_alone() {
        // Two heavy leases and many light ones on one worker: a joiner ends with about half the load.
        let mut leases: Vec<(String, f64)> = (0..20).map(|i| (format!("s{i:02}"), 5.0)).collect();
        leases.push(("big-a".to_owned(), 100.0));
        leases.push(("big-b".to_owned(), 100.0));
        let mut owners: BTreeMap<String, String> =
            leases.iter().map(|(k, _)| (k.clone(), "w0".to_owned())).collect();
        let (loads, _) = utilization_fleet(&leases, &mut owners, &["w0", "w1"], 50);
        // Both end inside the band (±20% of the average of 150).
        for load in loads.values() {
            assert!((120.0..=180.0).contains(load), "{loads:?}");
        }
        // Inside the band nothing moves even though counts differ.
        let (_, moves) = utilization_fleet(&leases, &mut owners, &["w0", "w1"], 10);
        assert_eq!(moves, 0);
    }

    #[test]
    fn utilization_aware_takes_free_leases_and_uses_cpu_when_everyone_reports_it() {
        // Free leases with no reports yet spread by count between two workers.
        let leases: Vec<(String, f64)> = (0..10).map(|i| (format!("s{i}"), 0.0)).collect();
        let mut owners = BTreeMap::new();
        utilization_fleet(&leases, &mut owners, &["a", "b"], 3);
        let on_a = owners.values().filter(|o| *o == "a").count();
        assert_eq!(owners.len(), 10, "every free lease taken");
        assert!((4..=6).contains(&on_a), "{owners:?}");
        // CPU: equal throughput, but "busy" burns 90% CPU for it and "idle" 10%: CPU decides.
        let mut infos = Vec::new();
        for (i, owner, cpu) in [
            (0, "busy", 0.9),
            (1, "busy", 0.9),
            (2, "busy", 0.9),
            (3, "busy", 0.9),
            (4, "idle", 0.1),
        ] {
            let mut info = loaded(&format!("c{i}"), Some(owner), 10.0);
            info.load.as_mut().unwrap().owner_cpu = Some(cpu);
            infos.push(info);
        }
        let live: BTreeSet<String> = ["busy".to_owned(), "idle".to_owned()].into();
        let snapshot = AssignmentSnapshot::new("idle", infos.clone(), live.clone(), usize::MAX);
        let loads = Loads::of(&snapshot);
        assert!((loads.load["busy"] - 0.9).abs() < 1e-9 && (loads.load["idle"] - 0.1).abs() < 1e-9);
        let d = UtilizationAware::new().assign(&AssignmentSnapshot::new("idle", infos, live, usize::MAX));
        // One or two of busy's four leases (0.225 each) move toward 0.5 each.
        assert!((1..=2).contains(&d.steal.len()), "{d:?}");
    }

    #[test]
    fn max_leases_and_steal_limit_are_respected() {
        let leases = (0..10)
            .map(|i| LeaseInfo::new(format!("k{i}"), Some("big".into()), false))
            .collect::<Vec<_>>();
        let live = ["big".to_owned()].into_iter().collect();
        let snapshot = AssignmentSnapshot::new("me", leases.clone(), live, 2);
        assert_eq!(CountBalanced::new().assign(&snapshot).steal.len(), 2);
        let live = ["big".to_owned()].into_iter().collect();
        let snapshot = AssignmentSnapshot::new("me", leases, live, usize::MAX);
        let limited = CountBalanced::new()
            .with_max_steals_per_cycle(1)
            .assign(&snapshot);
        assert_eq!(limited.steal.len(), 1);
        assert_eq!(CountBalanced::new().assign(&snapshot).steal.len(), 5);
    }
}
