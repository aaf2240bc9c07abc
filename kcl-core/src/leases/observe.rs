//! What the taker learns from each listing: when it last saw each lease change (a lease whose counter, or
//! in heartbeat mode whose owner's heartbeat, has not moved for the lease duration is expired), and, in
//! heartbeat mode, when a cycle must scan the table again.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use kcl_checkpoint::Lease;
use tokio::time::Instant;

use super::{Coordinator, LeaseTable, LeaseView, Observation};
use crate::error::Result;
use crate::metrics as m;

impl Coordinator {
    /// returns the listing.
    pub(super) async fn observe(&mut self) -> Result<(LeaseView, Instant)> {
        let listing = self.ctx.store.list().await?;
        let now = Instant::now();
        metrics::gauge!(m::LEASES_MALFORMED, "worker" => self.ctx.worker_id.to_string())
            .set(listing.malformed.len() as f64);
        let mut malformed = BTreeSet::new();
        for item in &listing.malformed {
            tracing::warn!(
                item = %item,
                "lease table has a malformed item: not taken; children of it wait until it is repaired"
            );
            if let Some(key) = &item.key {
                malformed.insert(key.clone());
            }
        }
        let mut seen = BTreeMap::new();
        for lease in listing.leases {
            let key = lease.key.as_str().to_owned();
            match self.observed.get_mut(&key) {
                Some(o) if o.counter == lease.counter && o.owner == lease.owner => {}
                Some(o) => {
                    o.counter = lease.counter;
                    o.owner.clone_from(&lease.owner);
                    o.since = now;
                }
                None => {
                    self.observed.insert(
                        key.clone(),
                        Observation {
                            counter: lease.counter,
                            owner: lease.owner.clone(),
                            since: now,
                        },
                    );
                }
            }
            seen.insert(key, lease);
        }
        self.observed.retain(|k, _| seen.contains_key(k));
        let mut by_owner: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (key, lease) in &seen {
            if let (Some(owner), false) = (&lease.owner, lease.is_shard_end()) {
                by_owner.entry(owner.clone()).or_default().push(key.clone());
            }
        }
        let view = Arc::new(LeaseTable {
            leases: seen,
            malformed,
            by_owner,
        });
        Ok((view, now))
    }

    /// When `lease` expires (or expired) as far as this worker knows: a lease duration after it was last
    /// seen to change. In heartbeat mode that is its owner's heartbeat (owners' leases are valid only as
    /// far as their heartbeats say, see [`crate::fleet`]), as of the latest heartbeat answer (a watcher
    /// whose own heartbeats fail has no news, which is no proof of silence); otherwise, and for an owner
    /// without a heartbeat, its counter.
    pub(super) fn expires_at(&self, key: &str, lease: &Lease) -> Option<Instant> {
        self.expiry(key, lease).map(|(at, _)| at)
    }

    /// [`expires_at`](Self::expires_at), and whether that is known yet (in heartbeat mode, only once a
    /// heartbeat answer past it still showed the owner's heartbeat unchanged).
    fn expiry(&self, key: &str, lease: &Lease) -> Option<(Instant, bool)> {
        let counter = self.observed.get(key).map(|o| o.since + self.ctx.lease_duration);
        let beat = match (&self.ctx.fleet, &lease.owner) {
            (Some(fleet), Some(owner)) => fleet.beat(owner),
            _ => None,
        };
        match beat {
            Some((since, as_of)) => {
                let at = since + self.ctx.lease_duration;
                Some((at, as_of >= at))
            }
            None => counter.map(|at| (at, true)),
        }
    }

    /// The expiry of each unfinished lease of `view` owned by another worker (see [`expiry`](Self::expiry)),
    /// until `stop` says so; returns whether it did. In heartbeat mode a lease's expiry is its owner's, so an
    /// owner with a heartbeat is judged once for all its leases.
    pub(super) fn any_other_expiry(
        &self,
        view: &LeaseTable,
        mut stop: impl FnMut(Option<(Instant, bool)>) -> bool,
    ) -> bool {
        let me = &*self.ctx.worker_id;
        for (owner, keys) in &view.by_owner {
            if owner == me {
                continue;
            }
            if let Some((since, as_of)) = self.ctx.fleet.as_ref().and_then(|f| f.beat(owner)) {
                let at = since + self.ctx.lease_duration;
                if stop(Some((at, as_of >= at))) {
                    return true;
                }
                continue;
            }
            for key in keys {
                if let Some(lease) = view.leases.get(key) {
                    if stop(self.expiry(key, lease)) {
                        return true;
                    }
                }
            }
        }
        false
    }

    pub(super) fn is_expired(&self, key: &str, lease: &Lease, now: Instant) -> bool {
        self.expiry(key, lease)
            .is_some_and(|(at, known)| known && now >= at)
    }

    /// Heartbeat mode: extends every held lease that `view` (a scan sent after `beat` was) shows exactly as
    /// we last wrote it, to the heartbeat sent at `beat`.
    pub(super) fn apply_deferred_heartbeat(&self, view: &LeaseTable, beat: Instant) {
        let me = &*self.ctx.worker_id;
        for held in self.held.all() {
            let unchanged = match (view.get(held.key()), held.try_counter()) {
                (Some(listed), Some(ours)) => listed.is_owned_by(me) && listed.counter == ours,
                _ => false,
            };
            if unchanged {
                held.heartbeat(Some(beat));
            }
        }
    }

    /// Heartbeat mode: whether this cycle must scan the table (it changed, a scan is forced or overdue, or a
    /// lease of the last listing expired).
    pub(super) fn scan_due(&self, now: Instant) -> bool {
        let Some(fleet) = &self.ctx.fleet else {
            return true;
        };
        let Some((view, at)) = &self.last_view else {
            return true;
        };
        self.force_scan
            || fleet.needs_scan()
            || now.saturating_duration_since(*at) >= crate::fleet::FULL_SCAN_INTERVAL
            || self.any_other_expiry(view, |e| e.is_some_and(|(at, known)| known && now >= at))
    }
}
