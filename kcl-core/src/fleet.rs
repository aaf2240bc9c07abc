//! Heartbeat renewals ([`LeaseRenewal::Heartbeat`](crate::LeaseRenewal::Heartbeat)): what this worker knows of
//! the [fleet record](kcl_checkpoint::fleet), shared by the renewer, the taker and held leases.
//!
//! **Why a heartbeat may extend a lease.** A lease's validity on its owner is extended by a heartbeat only
//! when the heartbeat's answer shows the table version this worker last scanned at (the version read
//! *before* the scan was sent). Every write that takes a lease from a live owner (a steal or a handoff
//! request) is bracketed by version bumps, and the new owner starts no earlier than one lease duration
//! after the second bump answered. So a heartbeat that lands after such a write sees a version this worker
//! has not scanned (no extension; the worker rescans and finds the lease gone), and one that lands before
//! the second bump was sent before the new owner's wait began: the previous owner's validity runs out
//! before the new owner starts, as with per-lease renewals.
//!
//! A heartbeat whose answer shows a version not scanned yet is not lost: the next scan *sent after it*
//! applies it to the leases that scan shows as still ours (their counter unchanged). Such a lease was ours
//! when the scan read it, after the heartbeat was sent, so any move of it lands later, and its new owner
//! starts a lease duration after that move's second bump, past the extension.
//!
//! **Eviction.** Heartbeats are fenced on the value the worker last wrote. Before taking a lease whose
//! owner's heartbeat stood still, a watcher *evicts* that worker (removes its heartbeat, fenced on the value
//! it saw stand still). The two writes exclude each other like a renewal and a take: either the owner beat
//! first (the eviction fails, nothing is taken), or the eviction landed first and every later heartbeat of
//! the owner fails (it marks all its leases lost), so the owner's validity ended a lease duration after the
//! beat the watcher saw, which is before the watcher decided.
//!
//! **Takes.** Watchers judge a heartbeating owner by its heartbeat alone, so in this mode a lease's
//! validity never comes from a lease write: a lease taken (or handed over) is valid from the owner's latest
//! successful heartbeat (the earlier of that and the take), and only heartbeats extend it; checkpoints do
//! not. A worker takes nothing while it has no successful heartbeat within the lease duration (a join
//! whose answer was lost may still have created its entry, so "no entry, judge by counters" cannot be
//! assumed).
//!
//! **Expiry.** Watchers judge a lease expired when its owner's heartbeat counter has not moved for the
//! lease duration on their own clock, from when they first saw the current value to their latest answer
//! that still showed it (answers arrive with their own heartbeats, every renewal interval). An owner with no heartbeat in the record (it left, or never beat)
//! falls back to the lease's own counter, as in per-lease mode.

use std::collections::BTreeMap;
use std::sync::Mutex;

use kcl_checkpoint::FleetRecord;
use tokio::time::Instant;

/// How often a worker in heartbeat mode scans the lease table even when the version says nothing changed
/// (a safety net for a version bump that failed).
pub(crate) const FULL_SCAN_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

#[derive(Debug, Default)]
struct State {
    /// The last heartbeat answer and when it arrived.
    latest: Option<(FleetRecord, Instant)>,
    /// The version the last successful scan is at least as new as.
    scanned: Option<u64>,
    /// When each worker's heartbeat was first seen at its current value.
    seen: BTreeMap<String, (u64, Instant)>,
    /// The heartbeat value this worker last wrote (what its next heartbeat is fenced on); `None` to join.
    own: Option<u64>,
    /// True after a heartbeat failed in a way that may have landed (its value is then `own + 1`).
    ambiguous: bool,
    /// When this worker's latest successful heartbeat was sent (`None` before the first, and after an
    /// eviction): a lease taken now is valid from there, not from the take (see the module docs).
    good_beat: Option<Instant>,
    /// The send time of the latest heartbeat that could not extend leases at once (its answer showed a
    /// version not scanned yet): the next scan sent after it applies it to the leases it shows as ours.
    deferred: Option<Instant>,
}

/// This worker's view of the fleet record.
#[derive(Debug, Default)]
pub(crate) struct FleetView {
    state: Mutex<State>,
}

impl FleetView {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Folds a record that arrived now into the observations (heartbeats first seen, the latest answer).
    fn fold(state: &mut State, record: FleetRecord) {
        let now = Instant::now();
        for (worker, beat) in &record.heartbeats {
            match state.seen.get(worker) {
                Some((seen, _)) if seen == beat => {}
                _ => {
                    state.seen.insert(worker.clone(), (*beat, now));
                }
            }
        }
        state.seen.retain(|w, _| record.heartbeats.contains_key(w));
        state.latest = Some((record, now));
    }

    /// The value this worker's next heartbeat is fenced on, and whether the previous one may have landed
    /// unseen.
    pub(crate) fn own(&self) -> (Option<u64>, bool) {
        let state = self.lock();
        (state.own, state.ambiguous)
    }

    /// Notes what this worker's heartbeat is now (from a re-read); clears the ambiguity.
    pub(crate) fn set_own(&self, value: Option<u64>) {
        let mut state = self.lock();
        state.own = value;
        state.ambiguous = false;
    }

    /// Notes a successful heartbeat sent at `sent`.
    pub(crate) fn beat_landed(&self, sent: Instant) {
        let mut state = self.lock();
        state.good_beat = Some(state.good_beat.map_or(sent, |b| b.max(sent)));
    }

    /// Notes that peers evicted this worker: no heartbeat of it vouches for anything any more.
    pub(crate) fn evicted(&self) {
        self.lock().good_beat = None;
    }

    /// When this worker's latest successful heartbeat was sent.
    pub(crate) fn good_beat(&self) -> Option<Instant> {
        self.lock().good_beat
    }

    /// Notes a heartbeat that failed in a way that may have landed.
    pub(crate) fn ambiguous(&self) {
        self.lock().ambiguous = true;
    }

    /// Records this worker's heartbeat answer (arrived now; `me` is this worker). Returns whether it may
    /// extend held leases: the version is the one the last scan was at.
    pub(crate) fn answered(&self, me: &str, record: FleetRecord) -> bool {
        let mut state = self.lock();
        state.own = record.heartbeats.get(me).copied();
        state.ambiguous = false;
        let extend = state.scanned == Some(record.version);
        Self::fold(&mut state, record);
        extend
    }

    /// Records another answer that carries the whole record (a version bump, an eviction, a re-read).
    pub(crate) fn observed(&self, record: FleetRecord) {
        Self::fold(&mut self.lock(), record);
    }

    /// `worker`'s heartbeat value as last seen.
    pub(crate) fn beat_value(&self, worker: &str) -> Option<u64> {
        self.lock().seen.get(worker).map(|(value, _)| *value)
    }

    /// Notes a heartbeat sent at `sent` whose answer could not extend leases at once.
    pub(crate) fn defer(&self, sent: Instant) {
        let mut state = self.lock();
        state.deferred = Some(state.deferred.map_or(sent, |d| d.max(sent)));
    }

    /// For a scan sent at `scan_sent`: the deferred heartbeat it may apply (one sent before the scan), if
    /// any, which is then consumed.
    pub(crate) fn deferred_before(&self, scan_sent: Instant) -> Option<Instant> {
        let mut state = self.lock();
        match state.deferred {
            Some(sent) if sent <= scan_sent => state.deferred.take(),
            _ => None,
        }
    }

    /// The version to record for a scan about to be sent (the latest answer's).
    pub(crate) fn version_before_scan(&self) -> Option<u64> {
        self.lock().latest.as_ref().map(|(r, _)| r.version)
    }

    /// Notes a successful scan sent when the version was `version`.
    pub(crate) fn scanned(&self, version: Option<u64>) {
        if let Some(v) = version {
            let mut state = self.lock();
            state.scanned = Some(state.scanned.map_or(v, |s| s.max(v)));
        }
    }

    /// True when the table changed since the last scan (or none happened yet).
    pub(crate) fn needs_scan(&self) -> bool {
        let state = self.lock();
        match (&state.latest, state.scanned) {
            (Some((r, _)), Some(v)) => r.version != v,
            _ => true,
        }
    }

    /// `worker`'s heartbeat: when it was first seen at its current value, and when the latest answer (which
    /// still showed that value) arrived. `None` when it has no heartbeat. The owner's validity ran out by
    /// `since + lease duration`, which is only known once `as_of` is past it: a watcher whose own
    /// heartbeats fail has no news, and must not take that for staleness.
    pub(crate) fn beat(&self, worker: &str) -> Option<(Instant, Instant)> {
        let state = self.lock();
        let as_of = state.latest.as_ref()?.1;
        state.seen.get(worker).map(|(_, since)| (*since, as_of))
    }
}
