//! Lease coordination: the renewer and the taker, both on this worker's monotonic (tokio) clock.
//!
//! - The **renewer** renews every held lease each renewal interval (a third of the lease duration by
//!   default). A renewal fenced out means another worker took the lease (it is marked lost at once) or
//!   asked for it (a handoff: the lease is no longer renewed and its consumer hands it over).
//! - The **taker** lists the lease table each taker interval and remembers, per lease, when it last saw the
//!   counter move. A lease whose counter has not moved for the lease duration is *expired*. The taker then
//!   asks the [`AssignmentStrategy`] what to take and steal, and takes those leases with fenced writes; a
//!   steal from a live owner is a handoff request (`graceful_handoff`, on by default), not a takeover.
//!   It also wakes exactly when the next lease it watches would expire, so a crashed worker's shards
//!   are taken within the lease duration plus one taker interval of its last renewal.
//!
//! The taker's listing doubles as the worker's view of the table (published to consumers waiting on
//! parent shards) and detects leases stolen from us before the renewer does.

use kcl_checkpoint::DisplayChain;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex as StdMutex};

use futures::future::join_all;
use kcl_checkpoint::{ExtendedSequenceNumber, Lease};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::assignment::{AssignmentSnapshot, AssignmentStrategy, LeaseInfo};
use crate::error::Result;
use crate::events::LeaseEvent;
use crate::fleet::FleetView;
use crate::held::{HeldLease, LeaseContext, RenewOutcome};
use crate::metrics as m;

/// The latest lease-table listing, shared with consumers (parent checks) and the shard syncer.
pub(crate) type LeaseView = Arc<LeaseTable>;

/// One listing of the lease table.
#[derive(Debug, Default)]
pub(crate) struct LeaseTable {
    /// The valid leases by key.
    pub(crate) leases: BTreeMap<String, Lease>,
    /// The keys of items that exist but could not be read as leases. Such a lease is not "gone": a
    /// child waiting on it keeps waiting until the item is repaired (or deleted).
    pub(crate) malformed: BTreeSet<String>,
    /// The keys of the unfinished owned leases, by owner (heartbeat mode judges expiry per owner: a
    /// cycle without a scan checks each owner once rather than every lease).
    pub(crate) by_owner: BTreeMap<String, Vec<String>>,
}

impl LeaseTable {
    /// The lease under `key`, if listed and valid.
    pub(crate) fn get(&self, key: &str) -> Option<&Lease> {
        self.leases.get(key)
    }

    /// True when every one of `parents` is finished, for a child whose lease checkpoint is `child`.
    ///
    /// A parent is finished when its lease is at `SHARD_END`. A parent *absent* from the table is finished
    /// only when that is provable:
    /// - the child has started before (its checkpoint is past `TRIM_HORIZON`): it only ever started with
    ///   its parents finished, and cleanup deletes a finished parent only after every child started;
    /// - the child starts at `LATEST`: it never waits for older data;
    /// - the parent shard is `gone` from the stream (expired from retention: nothing left to read).
    ///
    /// Otherwise an absent parent simply has no lease *yet* (shard sync leases every shard between a
    /// leased ancestor and a waiting descendant), and the child waits. So does a child of a parent whose
    /// item is malformed, until the item is repaired.
    pub(crate) fn parents_done(
        &self,
        parents: &BTreeSet<String>,
        child: &ExtendedSequenceNumber,
        gone: &BTreeSet<String>,
    ) -> bool {
        let child_started = matches!(
            child,
            ExtendedSequenceNumber::Sequence { .. } | ExtendedSequenceNumber::ShardEnd
        );
        parents.iter().all(|p| match self.leases.get(p) {
            Some(lease) => lease.is_shard_end(),
            None if self.malformed.contains(p) => false,
            None => child_started || *child == ExtendedSequenceNumber::Latest || gone.contains(p),
        })
    }
}

/// When this worker last saw a lease change.
#[derive(Debug, Clone)]
struct Observation {
    counter: u64,
    owner: Option<String>,
    since: Instant,
}

/// The leases this worker holds, shared by the taker, the renewer and the worker loop.
#[derive(Debug, Default)]
pub(crate) struct HeldSet {
    leases: StdMutex<BTreeMap<String, Arc<HeldLease>>>,
}

impl HeldSet {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Arc<HeldLease>>> {
        self.leases.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every held lease.
    pub(crate) fn all(&self) -> Vec<Arc<HeldLease>> {
        self.lock().values().cloned().collect()
    }

    /// The keys of held leases.
    pub(crate) fn keys(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// The number of held leases.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when `key` is held.
    pub(crate) fn contains(&self, key: &str) -> bool {
        self.lock().contains_key(key)
    }

    pub(crate) fn insert(&self, key: String, lease: Arc<HeldLease>) {
        self.lock().insert(key, lease);
    }

    /// Drops `key` if it is still the given lease.
    pub(crate) fn remove(&self, key: &str, lease: &Arc<HeldLease>) {
        let mut held = self.lock();
        if held.get(key).is_some_and(|h| Arc::ptr_eq(h, lease)) {
            held.remove(key);
        }
    }
}

/// Renewer and taker state for one worker.
#[derive(Debug)]
pub(crate) struct Coordinator {
    ctx: Arc<LeaseContext>,
    strategy: Arc<dyn AssignmentStrategy>,
    max_leases: usize,
    held: Arc<HeldSet>,
    observed: HashMap<String, Observation>,
    /// Heartbeat mode: the last listing and when it returned (cycles without a scan decide nothing).
    last_view: Option<(LeaseView, Instant)>,
    /// Heartbeat mode: scan on the next cycle whatever the version says.
    force_scan: bool,
}

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

impl Coordinator {
    pub(crate) fn new(
        ctx: Arc<LeaseContext>,
        strategy: Arc<dyn AssignmentStrategy>,
        max_leases: usize,
        held: Arc<HeldSet>,
    ) -> Self {
        Coordinator {
            ctx,
            strategy,
            max_leases,
            held,
            observed: HashMap::new(),
            last_view: None,
            force_scan: true,
        }
    }

    /// Heartbeat mode: scans the table on the next cycle (a shard ended here; a take lost a race).
    pub(crate) fn force_scan(&mut self) {
        self.force_scan = true;
    }

    /// Heartbeat mode: one heartbeat. Held leases are extended when the answer shows the version the last
    /// scan was at (see [`crate::fleet`]); otherwise the taker is woken to scan. Released leases leave the
    /// held set, and leases whose validity ran out are marked lost, as the per-lease renewer does.
    pub(crate) async fn heartbeat(ctx: &LeaseContext, fleet: &FleetView, held: &HeldSet, scan_now: &Notify) {
        let me = &*ctx.worker_id;
        let (expected, ambiguous) = fleet.own();
        let sent = Instant::now();
        let extend_from = match ctx.store.heartbeat(me, expected).await {
            Ok(record) => {
                fleet.beat_landed(sent);
                if fleet.answered(me, record) && expected.is_some() {
                    Some(sent)
                } else if expected.is_none() {
                    // Joining (or re-joining after an eviction): leases taken before this worker had a
                    // heartbeat were judged by their counters, so this first beat extends none of them.
                    None
                } else {
                    fleet.defer(sent);
                    scan_now.notify_one();
                    None
                }
            }
            Err(e) if e.is_conflict() => {
                // Our heartbeat is not what we last wrote: an earlier attempt landed unseen, or a peer
                // evicted this worker (it saw our heartbeat stand still), or another process beats under
                // our id. Re-read to tell.
                match ctx.store.read_fleet().await {
                    Ok(record) => {
                        let stored = record.heartbeats.get(me).copied();
                        let landed = ambiguous && stored == Some(expected.map_or(1, |c| c.saturating_add(1)));
                        if expected.is_some() && !landed {
                            fleet.evicted();
                            tracing::warn!(
                                "this worker's heartbeat was evicted by a peer: every lease is lost"
                            );
                            for lease in held.all() {
                                lease.mark_lost("this worker was declared dead by a peer");
                            }
                        }
                        fleet.set_own(stored);
                        fleet.observed(record);
                    }
                    Err(e) => tracing::warn!(error = %DisplayChain(&e), "re-reading the fleet record failed"),
                }
                None
            }
            Err(e) => {
                if e.is_retryable() && !matches!(e, kcl_checkpoint::Error::Throttled { .. }) {
                    fleet.ambiguous();
                }
                tracing::warn!(error = %DisplayChain(&e), "heartbeat failed");
                None
            }
        };
        for lease in held.all() {
            if lease.is_released() {
                held.remove(lease.shard_id(), &lease);
            } else {
                lease.heartbeat(extend_from);
            }
        }
    }

    /// Renews every held lease concurrently; drops released and lost ones from the held set.
    pub(crate) async fn renew_all(held: &HeldSet) {
        let leases = held.all();
        let outcomes = join_all(leases.iter().map(|l| l.renew())).await;
        for (lease, outcome) in leases.iter().zip(outcomes) {
            if matches!(outcome, RenewOutcome::Released) {
                held.remove(lease.shard_id(), lease);
            }
        }
    }

    /// Lists the table and updates the observations (as of `now`, the time the listing returned);
    /// returns the listing.
    async fn observe(&mut self) -> Result<(LeaseView, Instant)> {
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
    fn expires_at(&self, key: &str, lease: &Lease) -> Option<Instant> {
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
    fn any_other_expiry(
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

    fn is_expired(&self, key: &str, lease: &Lease, now: Instant) -> bool {
        self.expiry(key, lease)
            .is_some_and(|(at, known)| known && now >= at)
    }

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

    /// Heartbeat mode: extends every held lease that `view` (a scan sent after `beat` was) shows exactly as
    /// we last wrote it, to the heartbeat sent at `beat`.
    fn apply_deferred_heartbeat(&self, view: &LeaseTable, beat: Instant) {
        let me = &*self.ctx.worker_id;
        for held in self.held.all() {
            let unchanged = match (view.get(held.shard_id()), held.try_counter()) {
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
    fn scan_due(&self, now: Instant) -> bool {
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
            if let (Some(listed), Some(ours)) = (view.get(held.shard_id()), held.try_counter()) {
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
                            shard_id: lease.shard_id().to_owned(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use kcl_checkpoint::ExtendedSequenceNumber;
    use kcl_checkpoint::LeaseStore;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn a_lost_lease_is_not_taken_back_while_its_consumer_still_runs() {
        use crate::assignment::CountBalanced;
        use kcl_checkpoint::{InMemoryLeaseStore, LeaseKey};

        let store: Arc<dyn LeaseStore> = Arc::new(InMemoryLeaseStore::new());
        for shard in ["shard-0", "shard-1"] {
            store
                .create_if_absent(&Lease::new(shard, ExtendedSequenceNumber::TrimHorizon))
                .await
                .unwrap();
        }
        let held = Arc::new(HeldSet::default());
        let mut coordinator = Coordinator::new(
            LeaseContext::for_tests(Arc::clone(&store), Duration::from_secs(10)),
            Arc::new(CountBalanced::default()),
            usize::MAX,
            Arc::clone(&held),
        );
        let first = coordinator.take_cycle(true).await.unwrap();
        assert_eq!(first.taken.len(), 2);

        // Another worker steals both (it stays alive); our consumers are still finishing their batches,
        // so both lost leases are still in the held set.
        for shard in ["shard-0", "shard-1"] {
            let stored = store.get(&LeaseKey::new(shard)).await.unwrap().unwrap();
            store.take(&stored, "thief").await.unwrap();
        }
        // Balancing now wants one lease back from the thief: not while the old consumer runs.
        let outcome = coordinator.take_cycle(true).await.unwrap();
        assert!(first.taken.iter().all(|l| l.is_lost()));
        assert!(
            outcome.taken.is_empty(),
            "taken back while the previous consumer runs"
        );

        // Once those consumers ended (reaped), balancing takes one back.
        for lease in &first.taken {
            held.remove(lease.shard_id(), lease);
        }
        let outcome = coordinator.take_cycle(true).await.unwrap();
        assert_eq!(outcome.taken.len(), 1);
    }

    #[test]
    fn a_parent_is_done_when_finished_or_provably_gone_never_merely_absent() {
        let mut table = LeaseTable::default();
        table.leases.insert(
            "finished".into(),
            Lease::new("finished", ExtendedSequenceNumber::ShardEnd),
        );
        table.leases.insert(
            "open".into(),
            Lease::new("open", ExtendedSequenceNumber::TrimHorizon),
        );
        table.malformed.insert("broken".into());
        let set = |ps: &[&str]| ps.iter().map(|p| (*p).to_owned()).collect::<BTreeSet<_>>();
        let waiting = ExtendedSequenceNumber::TrimHorizon;
        let started = ExtendedSequenceNumber::sequence(kcl_checkpoint::SequenceNumber::from(5u128));
        let none = BTreeSet::new();
        assert!(table.parents_done(&set(&["finished"]), &waiting, &none));
        assert!(!table.parents_done(&set(&["finished", "open"]), &waiting, &none));
        assert!(!table.parents_done(&set(&["finished", "broken"]), &started, &set(&["broken"])));
        assert!(table.parents_done(&set(&[]), &waiting, &none));
        // Absent: not a proof of anything for a child that has not started...
        assert!(!table.parents_done(&set(&["finished", "absent"]), &waiting, &none));
        assert!(!table.parents_done(&set(&["absent"]), &ExtendedSequenceNumber::AtTimestamp, &none));
        // ...unless the child started before, starts at LATEST, or the parent expired from the stream.
        assert!(table.parents_done(&set(&["finished", "absent"]), &started, &none));
        assert!(table.parents_done(&set(&["absent"]), &ExtendedSequenceNumber::Latest, &none));
        assert!(table.parents_done(&set(&["absent"]), &waiting, &set(&["absent"])));
    }
}
