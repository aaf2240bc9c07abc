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
//!
//! # Layout
//!
//! This file holds the trait and what it decides on; one file per built-in strategy: `count`
//! ([`CountBalanced`]), `kcl2` ([`Kcl2Compatible`]), `utilization` ([`UtilizationAware`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};

mod count;
mod kcl2;
#[cfg(test)]
mod tests;
mod utilization;

pub use count::CountBalanced;
pub use kcl2::Kcl2Compatible;
pub use utilization::UtilizationAware;

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

/// A per-worker pseudo-random but deterministic order, so workers deciding at once pick different leases.
fn spread(worker: &str, key: &str) -> u64 {
    let mut h = DefaultHasher::new();
    worker.hash(&mut h);
    key.hash(&mut h);
    h.finish()
}
