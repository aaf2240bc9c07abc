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
//!
//! Layout: `table` holds one listing of the lease table ([`LeaseTable`]); `renewer` the renewer loop (per
//! lease, or this worker's heartbeat); `observe` what the taker learns from each listing (when each lease
//! expires, when to scan); `taker` the taker cycle ([`Coordinator::take_cycle`]) and the [`Taker`] that the
//! worker loop drives; `load_reports` the loop reporting each held lease's load.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::time::Instant;

use crate::assignment::AssignmentStrategy;
use crate::held::{HeldSet, LeaseContext};

mod load_reports;
mod observe;
mod renewer;
mod table;
mod taker;
#[cfg(test)]
mod tests;

pub(crate) use load_reports::report_loads;
pub(crate) use renewer::{heartbeat, renewer};
pub(crate) use table::{LeaseTable, LeaseView};
pub(crate) use taker::Taker;

/// When this worker last saw a lease change.
#[derive(Debug, Clone)]
struct Observation {
    counter: u64,
    owner: Option<String>,
    since: Instant,
}

/// Which leases this worker can consume, by key (multi-stream mode: those of the streams it tracks).
#[derive(Clone)]
pub(crate) struct LeaseFilter(pub(crate) Arc<dyn Fn(&str) -> bool + Send + Sync>);

impl std::fmt::Debug for LeaseFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LeaseFilter")
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
    /// The leases this worker may take (`None`: every lease). Others are not assignable here: not
    /// taken, not counted in the balance.
    filter: Option<LeaseFilter>,
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
            filter: None,
        }
    }

    /// Takes only the leases `filter` accepts (builder style).
    pub(crate) fn with_filter(mut self, filter: Option<LeaseFilter>) -> Self {
        self.filter = filter;
        self
    }

    /// Heartbeat mode: scans the table on the next cycle (a shard ended here; a take lost a race).
    pub(crate) fn force_scan(&mut self) {
        self.force_scan = true;
    }
}
