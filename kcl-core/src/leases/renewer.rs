//! The renewer: every renewal interval, renews each held lease (a fenced write per lease) or, in heartbeat
//! mode, writes this worker's heartbeat, which extends all its leases at once (see [`crate::fleet`]).

use std::sync::Arc;

use futures::future::join_all;
use kcl_checkpoint::DisplayChain;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::fleet::FleetView;
use crate::held::{HeldSet, LeaseContext, RenewOutcome};
use crate::metrics as m;
use crate::status::WorkerStatus;

/// The renewer loop: renews every renewal interval, forever (the worker stops it with its other background
/// tasks). In heartbeat mode (`ctx.fleet` set) each round is one [`heartbeat`], otherwise every held lease is
/// renewed. The worker sends the first heartbeat itself, before it takes anything.
pub(crate) async fn renewer(
    ctx: Arc<LeaseContext>,
    held: Arc<HeldSet>,
    scan_now: Arc<Notify>,
    status: Arc<WorkerStatus>,
    interval: std::time::Duration,
) {
    let worker = ctx.worker_id.to_string();
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        status.beat("renewer", interval);
        tick.tick().await;
        match &ctx.fleet {
            Some(fleet) => heartbeat(&ctx, fleet, &held, &scan_now).await,
            None => renew_all(&held).await,
        }
        metrics::gauge!(m::LEASES_HELD, "worker" => worker.clone()).set(held.len() as f64);
    }
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
                        tracing::warn!("this worker's heartbeat was evicted by a peer: every lease is lost");
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
            held.remove(lease.key(), &lease);
        } else {
            lease.heartbeat(extend_from);
        }
    }
}

async fn renew_all(held: &HeldSet) {
    let leases = held.all();
    let outcomes = join_all(leases.iter().map(|l| l.renew())).await;
    for (lease, outcome) in leases.iter().zip(outcomes) {
        if matches!(outcome, RenewOutcome::Released) {
            held.remove(lease.key(), lease);
        }
    }
}
