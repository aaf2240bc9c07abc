//! [`Kcl2Compatible`]: the Java KCL 2.x taker's rules, for comparisons.

use super::{spread, Assignment, AssignmentSnapshot, AssignmentStrategy};

/// The Java KCL 2.x lease taker's rules, for comparisons (see the [module docs](crate::assignment)).
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
