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
        let mut free: Vec<&LeaseInfo> = snapshot
            .leases
            .iter()
            .filter(|l| l.is_free() && l.owner.as_deref() != Some(me))
            .collect();
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
        let mut free: Vec<&LeaseInfo> = snapshot
            .leases
            .iter()
            .filter(|l| l.is_free() && l.owner.as_deref() != Some(me))
            .collect();
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
