//! Lease events: what a worker reports, as it happens, about the leases it takes, releases and loses.
//!
//! Register a [`LeaseEventListener`] with
//! [`WorkerBuilder::lease_event_listener`](crate::WorkerBuilder::lease_event_listener) to observe lease
//! movements without wrapping the lease store: dashboards, audits, and fleet simulations that check
//! invariants such as "no two processors of one shard at once" use it. The listener is called
//! synchronously, on the worker's task, right after the store write (or the detection) it reports; keep
//! it cheap (push to a channel or a `Vec` behind a mutex) and never block in it.

use std::fmt;
use std::sync::Arc;

/// Something that happened to a lease held (or about to be held) by a worker.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LeaseEvent {
    /// The worker took the lease with a fenced write.
    Taken {
        /// The worker that took it.
        worker_id: String,
        /// The lease key (the shard id; in multi-stream mode `account:stream:creationEpoch:shardId`).
        shard_id: String,
        /// The owner recorded in the table before the take (`None`: unowned or released).
        previous_owner: Option<String>,
        /// True when taken from a live owner for balance (a steal), false for unowned or expired leases.
        stolen: bool,
        /// True when the steal is a cooperative handoff: the previous owner was asked to finish and hand
        /// over, and this worker starts once it has (or once its lease has surely run out).
        handoff: bool,
    },
    /// The worker gave the lease up with a write (graceful handoff, shard finished, or stopped shard).
    Released {
        /// The worker that released it.
        worker_id: String,
        /// The lease key (the shard id; in multi-stream mode `account:stream:creationEpoch:shardId`).
        shard_id: String,
    },
    /// The worker handed the lease to the worker that asked for it (a cooperative balancing move): its
    /// processor finished its batch and `shutdown_requested`, and the new owner starts from the
    /// checkpoint it left.
    HandedOff {
        /// The worker that handed it off (the previous owner).
        worker_id: String,
        /// The lease key (the shard id; in multi-stream mode `account:stream:creationEpoch:shardId`).
        shard_id: String,
        /// The new owner.
        to: Option<String>,
    },
    /// The worker found the lease lost: fenced out by another worker, gone from the table, or not
    /// renewed within the lease duration.
    Lost {
        /// The worker that lost it.
        worker_id: String,
        /// The lease key (the shard id; in multi-stream mode `account:stream:creationEpoch:shardId`).
        shard_id: String,
        /// Why, in words (for logs).
        reason: &'static str,
    },
}

impl LeaseEvent {
    /// The shard the event is about.
    pub fn shard_id(&self) -> &str {
        match self {
            LeaseEvent::Taken { shard_id, .. }
            | LeaseEvent::Released { shard_id, .. }
            | LeaseEvent::HandedOff { shard_id, .. }
            | LeaseEvent::Lost { shard_id, .. } => shard_id,
        }
    }

    /// The worker that reports it.
    pub fn worker_id(&self) -> &str {
        match self {
            LeaseEvent::Taken { worker_id, .. }
            | LeaseEvent::Released { worker_id, .. }
            | LeaseEvent::HandedOff { worker_id, .. }
            | LeaseEvent::Lost { worker_id, .. } => worker_id,
        }
    }
}

/// Receives [`LeaseEvent`]s. Implemented for every `Fn(&LeaseEvent) + Send + Sync`.
pub trait LeaseEventListener: Send + Sync + 'static {
    /// Called once per event, synchronously; must not block.
    fn on_lease_event(&self, event: &LeaseEvent);
}

impl<F> LeaseEventListener for F
where
    F: Fn(&LeaseEvent) + Send + Sync + 'static,
{
    fn on_lease_event(&self, event: &LeaseEvent) {
        self(event)
    }
}

/// The worker's side: an optional listener, cheap to clone and to call when absent.
#[derive(Clone, Default)]
pub(crate) struct LeaseEvents(Option<Arc<dyn LeaseEventListener>>);

impl fmt::Debug for LeaseEvents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "LeaseEvents(listener)"
        } else {
            "LeaseEvents(none)"
        })
    }
}

impl LeaseEvents {
    pub(crate) fn new(listener: Option<Arc<dyn LeaseEventListener>>) -> Self {
        LeaseEvents(listener)
    }

    /// Reports the event `make` builds (built only when a listener is registered).
    pub(crate) fn emit(&self, make: impl FnOnce() -> LeaseEvent) {
        if let Some(listener) = &self.0 {
            listener.on_lease_event(&make());
        }
    }
}
