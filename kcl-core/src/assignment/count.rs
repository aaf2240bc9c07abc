//! [`CountBalanced`]: balances lease counts across live workers (max - min <= 1).

use std::collections::BTreeMap;

use super::{spread, Assignment, AssignmentSnapshot, AssignmentStrategy};

/// Balances lease counts across live workers (max - min <= 1). See the [module docs](crate::assignment).
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
