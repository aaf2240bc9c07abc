//! The taker: each cycle lists the lease table, notices leases stolen from this worker, asks the
//! [`AssignmentStrategy`](crate::AssignmentStrategy) what to take and steal, and takes those leases with
//! fenced writes (a steal from a live owner is a handoff request unless `graceful_handoff` is off).
//! [`Taker`] schedules the cycles for the worker loop, which starts a consumer for each lease taken.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use kcl_checkpoint::DisplayChain;
use tokio::time::Instant;

use super::{Coordinator, LeaseView};
use crate::assignment::{AssignmentSnapshot, LeaseInfo};
use crate::config::WorkerConfig;
use crate::error::{FatalRun, Result};
use crate::events::LeaseEvent;
use crate::fleet::FleetView;
use crate::held::HeldLease;
use crate::metrics as m;
use crate::signal;
use crate::status::WorkerStatus;

/// How soon the taker looks again after losing take races.
const CONFLICT_RETRY: std::time::Duration = std::time::Duration::from_millis(100);

/// What a taker cycle produced.
#[derive(Debug, Default)]
pub(crate) struct TakeOutcome {
    /// Leases newly taken (or stolen): start a consumer for each.
    pub(crate) taken: Vec<Arc<HeldLease>>,
    /// The listing the decision was made on.
    pub(crate) view: Option<LeaseView>,
    /// When the next watched lease would expire, if any.
    pub(crate) next_expiry: Option<Instant>,
    /// Takes that lost a race with another worker (worth a quick second look).
    pub(crate) conflicts: usize,
    /// The balance after the cycle (when taking).
    pub(crate) balance: Option<crate::status::Balance>,
}

/// Schedules taker cycles for the worker loop: every taker interval, exactly when a watched lease expires,
/// soon after lost races, and at once when woken (a shard ended here; in heartbeat mode, the table
/// changed). Publishes each cycle's listing and balance; a run of failures retrying cannot fix is fatal.
#[derive(Debug)]
pub(crate) struct Taker {
    coordinator: Coordinator,
    interval: std::time::Duration,
    /// When the next cycle is due.
    next_take: Instant,
    fatal: FatalRun,
    status: Arc<WorkerStatus>,
    /// Where consumers (parent checks) read the latest listing.
    view: signal::Sender<LeaseView>,
}

impl Taker {
    /// A taker whose first cycle is due now.
    pub(crate) fn new(
        coordinator: Coordinator,
        config: &WorkerConfig,
        status: Arc<WorkerStatus>,
        view: signal::Sender<LeaseView>,
    ) -> Self {
        Taker {
            coordinator,
            interval: config.lease_taker_interval(),
            next_take: Instant::now(),
            fatal: FatalRun::new("lease taker", config.fatal_error_attempts()),
            status,
            view,
        }
    }

    /// When the next cycle is due.
    pub(crate) fn next_take(&self) -> Instant {
        self.next_take
    }

    /// Makes the next cycle due now.
    pub(crate) fn wake(&mut self) {
        self.next_take = Instant::now();
    }

    /// A shard ended here (its children may be takeable): the next cycle is due now and, in heartbeat
    /// mode, scans the table.
    pub(crate) fn shard_ended(&mut self) {
        self.coordinator.force_scan();
        self.next_take = Instant::now();
    }

    /// Runs one cycle and schedules the next; returns the leases taken (start a consumer for each).
    ///
    /// # Errors
    ///
    /// [`Error::Fatal`] once the failures in a row that retrying cannot fix reach the configured limit;
    /// other failures are logged and retried at the next cycle.
    pub(crate) async fn cycle(&mut self) -> Result<Vec<Arc<HeldLease>>> {
        let now = Instant::now();
        self.next_take = now + self.interval;
        match self.coordinator.take_cycle(true).await {
            Ok(outcome) => {
                self.fatal.succeeded();
                if let Some(balance) = outcome.balance {
                    self.status.set_balance(balance);
                }
                if let Some(view) = outcome.view {
                    self.view.send_replace(view);
                }
                if let Some(at) = outcome.next_expiry.filter(|at| *at > now) {
                    self.next_take = self.next_take.min(at);
                }
                if outcome.conflicts > 0 {
                    // Lost races (typically workers starting together): look again soon instead of a
                    // whole interval later.
                    self.next_take = self.next_take.min(now + CONFLICT_RETRY);
                }
                Ok(outcome.taken)
            }
            Err(e) => {
                tracing::warn!(error = %DisplayChain(&e), "lease taker cycle failed");
                match self.fatal.failed(e) {
                    Some(fatal) => Err(fatal),
                    None => Ok(Vec::new()),
                }
            }
        }
    }
}

impl Coordinator {
    /// Heartbeat mode: declares `owner` dead (its heartbeat stood still for the lease duration), fenced on
    /// the value seen; true when it is out of the fleet record now (by us, by a peer, or because it left),
    /// so its expired leases may be taken.
    async fn evict(&self, fleet: &FleetView, owner: &str) -> bool {
        let Some(value) = fleet.beat_value(owner) else {
            return true;
        };
        match self.ctx.store.evict_worker(owner, value).await {
            Ok(record) => {
                tracing::info!(
                    worker = owner,
                    "worker's heartbeat stood still for the lease duration: evicted"
                );
                fleet.observed(record);
                true
            }
            Err(e) if e.is_conflict() => match self.ctx.store.read_fleet().await {
                Ok(record) => {
                    let gone = !record.heartbeats.contains_key(owner);
                    fleet.observed(record);
                    gone
                }
                Err(_) => false,
            },
            Err(e) => {
                tracing::warn!(worker = owner, error = %DisplayChain(&e), "evicting a silent worker failed");
                false
            }
        }
    }

    /// One taker cycle: list, detect stolen leases, decide, take.
    pub(crate) async fn take_cycle(&mut self, taking: bool) -> Result<TakeOutcome> {
        let heartbeat = self.ctx.fleet.clone();
        // Heartbeat mode: a lease whose owner's heartbeat should have run out by now, but no heartbeat answer
        // since says so: read the fleet record once to know (failover within the lease duration plus one
        // heartbeat interval, not two).
        if let (Some(fleet), Some((view, _))) = (&heartbeat, &self.last_view) {
            let now = Instant::now();
            let unconfirmed =
                self.any_other_expiry(view, |e| e.is_some_and(|(at, known)| !known && at <= now));
            if unconfirmed {
                match self.ctx.store.read_fleet().await {
                    Ok(record) => fleet.observed(record),
                    Err(e) => tracing::debug!(error = %DisplayChain(&e), "reading the fleet record failed"),
                }
            }
        }
        let cached = match (&heartbeat, &self.last_view) {
            (Some(_), Some((view, _))) if !self.scan_due(Instant::now()) => Some(Arc::clone(view)),
            _ => None,
        };
        let scanned = cached.is_none();
        let (view, now) = match cached {
            Some(view) => (view, Instant::now()),
            None => {
                let version = heartbeat.as_ref().and_then(|f| f.version_before_scan());
                let scan_sent = Instant::now();
                let (view, now) = self.observe().await?;
                if let Some(fleet) = &heartbeat {
                    fleet.scanned(version);
                    self.force_scan = false;
                    self.last_view = Some((Arc::clone(&view), now));
                    if let Some(beat) = fleet.deferred_before(scan_sent) {
                        self.apply_deferred_heartbeat(&view, beat);
                    }
                }
                (view, now)
            }
        };
        let me = &*self.ctx.worker_id;

        // Leases stolen from us (or asked of us) show up here before the renewer notices. In heartbeat mode
        // only this worker writes to its leases, so any counter it did not write means someone else did
        // (a second process under our id included).
        for held in self.held.all() {
            if let (Some(listed), Some(ours)) = (view.get(held.key()), held.try_counter()) {
                if (heartbeat.is_some() || !listed.is_owned_by(me)) && listed.counter > ours {
                    held.moved_on(listed).await;
                }
            }
        }

        // Heartbeat mode without a fresh listing decides nothing: only when to look again (the earliest
        // expiry of another worker's lease), judged per owner.
        if !scanned {
            let mut next_expiry: Option<Instant> = None;
            self.any_other_expiry(&view, |e| {
                // Not yet expired (as the full pass below counts them).
                if let Some((at, _)) = e.filter(|(at, known)| !(*known && now >= *at)) {
                    next_expiry = Some(next_expiry.map_or(at, |n| n.min(at)));
                }
                false
            });
            return Ok(TakeOutcome {
                view: None,
                next_expiry,
                ..TakeOutcome::default()
            });
        }

        let mut infos = Vec::new();
        let mut live = BTreeSet::new();
        let mut next_expiry: Option<Instant> = None;
        for (key, lease) in view.leases.iter() {
            if lease.is_shard_end() {
                continue;
            }
            let held_here = self.held.contains(key);
            if !held_here && self.filter.as_ref().is_some_and(|f| !(f.0)(key)) {
                // A lease this worker cannot consume (multi-stream mode: a stream it does not track).
                continue;
            }
            let expired = lease.owner.is_some() && !held_here && self.is_expired(key, lease, now);
            let owner = match &lease.owner {
                // A lease the table says is ours but we do not hold (a restart with the same id):
                // treat it as free so we take it back with a fenced write.
                Some(o) if o == me && !held_here => None,
                other => other.clone(),
            };
            if let (Some(o), false) = (&owner, expired) {
                live.insert(o.clone());
                if o != me {
                    if let Some(at) = self.expires_at(key, lease) {
                        next_expiry = Some(next_expiry.map_or(at, |n| n.min(at)));
                    }
                }
            }
            let mut info = LeaseInfo::new(key.clone(), owner, expired);
            info.throughput_kbps = lease.throughput_kbps;
            info.load = lease.load();
            info.handing_off = lease.checkpoint_owner.is_some();
            infos.push(info);
        }

        let mut outcome = TakeOutcome {
            view: Some(Arc::clone(&view)),
            next_expiry,
            ..TakeOutcome::default()
        };
        // Without a fresh listing nothing is decided (the table has not changed since the last one); in
        // heartbeat mode, nothing is taken without a recent successful heartbeat to vouch for it.
        let vouched = heartbeat.as_ref().is_none_or(|f| {
            f.good_beat()
                .is_some_and(|beat| now < beat + self.ctx.lease_duration)
        });
        if !taking || !scanned || !vouched {
            if !scanned {
                outcome.view = None;
            }
            return Ok(outcome);
        }
        let snapshot = AssignmentSnapshot::new(me, infos, live, self.max_leases);
        let decision = self.strategy.assign(&snapshot);
        let assignable = snapshot.leases.len();
        let live_workers = snapshot.live_workers.len().max(1);
        let balance = |held: usize| crate::status::Balance {
            assignable_leases: assignable,
            live_workers,
            held,
            fair_share: (assignable / live_workers).min(self.max_leases),
            settled: decision.is_empty(),
        };
        if decision.is_empty() {
            outcome.balance = Some(balance(self.held.len()));
            return Ok(outcome);
        }
        let worker = self.ctx.worker_id.to_string();
        // Heartbeat mode: owners whose expired leases may be taken (evicted from the fleet record first).
        let mut evicted: HashMap<String, bool> = HashMap::new();
        for (keys, stolen) in [(&decision.take, false), (&decision.steal, true)] {
            for key in keys {
                let Some(listed) = view.get(key) else { continue };
                if self.held.contains(key) {
                    // Lost by us, but its consumer has not ended yet (a batch in flight): taking it back
                    // now would run two consumers on one shard. Retaken once the consumer is reaped.
                    tracing::debug!(lease = %key, "previous consumer still running; not taking it yet");
                    continue;
                }
                // Judged before any eviction below (an evicted owner's leases fall back to their counters).
                let expired = listed.owner.is_some() && self.is_expired(key, listed, now);
                if let (Some(fleet), Some(owner)) = (&heartbeat, listed.owner.as_deref()) {
                    if owner != me && expired && fleet.beat_value(owner).is_some() {
                        let gone = match evicted.get(owner) {
                            Some(gone) => *gone,
                            None => {
                                let gone = self.evict(fleet, owner).await;
                                evicted.insert(owner.to_owned(), gone);
                                gone
                            }
                        };
                        if !gone {
                            continue;
                        }
                    }
                }
                // Taken from a live owner: that owner's last successful renewal was sent before our
                // listing returned, so its own validity runs out by `now + lease_duration`; processing
                // here starts no earlier (no two processors of one shard at once). A lease the table says
                // is ours but that we do not hold counts too: an earlier take of ours that timed out
                // but landed, or a previous process with our id, and its previous owner may still run.
                let unexpired_owner = listed.owner.is_some()
                    && !expired
                    && !evicted
                        .get(listed.owner.as_deref().unwrap_or_default())
                        .copied()
                        .unwrap_or(false);
                let from_live_owner = unexpired_owner && !listed.is_owned_by(me);
                let start_not_before = unexpired_owner.then(|| now + self.ctx.lease_duration);
                // From a live owner, a move is a cooperative handoff (unless configured off): the owner
                // finishes its batch and checkpoints, and the consumer here waits for that, or at most
                // until `start_not_before`. A lease already being handed off is left alone until it lands.
                let handoff = from_live_owner && self.ctx.graceful_handoff;
                if handoff && listed.checkpoint_owner.is_some() {
                    tracing::debug!(lease = %key, "a handoff of this lease is in progress; not asking now");
                    continue;
                }
                // Heartbeat mode: a move from a live owner is bracketed by version bumps, so that the owner's
                // heartbeats stop extending it (see `crate::fleet`).
                let bracketed = heartbeat.is_some() && from_live_owner;
                if bracketed && self.ctx.announce().await.is_none() {
                    continue;
                }
                let sent = Instant::now();
                let write = if handoff {
                    self.ctx.store.request_handoff(listed, me).await
                } else {
                    self.ctx.store.take(listed, me).await
                };
                match write {
                    Ok(lease) => {
                        tracing::info!(lease = %key, from = ?listed.owner, stolen, handoff, "lease taken");
                        let name = if stolen { m::LEASES_STOLEN } else { m::LEASES_TAKEN };
                        metrics::counter!(name, "worker" => worker.clone()).increment(1);
                        if handoff {
                            metrics::counter!(m::HANDOFFS_ASKED, "worker" => worker.clone()).increment(1);
                        }
                        self.ctx.events.emit(|| LeaseEvent::Taken {
                            worker_id: worker.clone(),
                            shard_id: lease.key.as_str().to_owned(),
                            previous_owner: listed.owner.clone(),
                            stolen: from_live_owner,
                            handoff,
                        });
                        let start_not_before = if bracketed {
                            // No earlier than a lease duration after the second bump answered; if it
                            // failed, after the owner's next full scan surely found the move.
                            Some(match self.ctx.announce().await {
                                Some(at) => at + self.ctx.lease_duration,
                                None => {
                                    Instant::now()
                                        + crate::fleet::FULL_SCAN_INTERVAL
                                        + 2 * self.ctx.lease_duration
                                }
                            })
                        } else {
                            start_not_before
                        };
                        let held = HeldLease::new(Arc::clone(&self.ctx), lease, sent, start_not_before);
                        self.held.insert(key.clone(), Arc::clone(&held));
                        outcome.taken.push(held);
                    }
                    Err(e) if e.is_conflict() => {
                        outcome.conflicts += 1;
                        metrics::counter!(m::STORE_CONFLICTS, "worker" => worker.clone()).increment(1);
                        tracing::debug!(lease = %key, "take lost a race; reconsidering next cycle");
                    }
                    Err(e) => tracing::warn!(lease = %key, error = %DisplayChain(&e), "take failed"),
                }
            }
        }
        if outcome.conflicts > 0 {
            self.force_scan = true;
        }
        if !outcome.taken.is_empty() {
            // Peers rescan and count these leases as ours.
            self.ctx.announce().await;
        }
        metrics::gauge!(m::LEASES_HELD, "worker" => worker).set(self.held.len() as f64);
        outcome.balance = Some(balance(self.held.len()));
        Ok(outcome)
    }
}
