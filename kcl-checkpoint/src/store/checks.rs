//! Checks every store applies before a write reaches its table (arguments a write needs), and the
//! predicates that recognise a write which landed after all (see the
//! [module docs](crate::store#renews-that-landed-after-all)).

use crate::error::Result;
use crate::lease::{Lease, LeaseLoad};
use crate::operation::Operation;

/// Checks shared by every store before a load report reaches the table.
pub(crate) fn validate_load(lease: &Lease, load: &LeaseLoad) -> Result<()> {
    let operation = Operation::ReportLoad;
    validate_lease(operation, lease)?;
    if lease.owner.is_none() {
        return Err(crate::Error::invalid(
            operation,
            "only the owner reports a lease's load; the lease is unowned",
        ));
    }
    let figures = [
        ("records_per_sec", Some(load.records_per_sec)),
        ("kbps", Some(load.kbps)),
        ("owner_cpu", load.owner_cpu),
    ];
    for (name, value) in figures {
        if let Some(v) = value {
            if !v.is_finite() || v < 0.0 {
                return Err(crate::Error::invalid(
                    operation,
                    format!("{name} must be finite and >= 0, not {v}"),
                ));
            }
        }
    }
    Ok(())
}

/// Checks shared by every store before a write reaches the table.
pub(crate) fn validate_lease(operation: Operation, lease: &Lease) -> Result<()> {
    if lease.key.as_str().is_empty() {
        return Err(crate::Error::invalid(operation, "the lease key is empty"));
    }
    if lease.parent_shard_ids.len() > 2 {
        return Err(crate::Error::invalid(
            operation,
            format!(
                "lease {} has {} parent shard ids; a shard has at most two",
                lease.key,
                lease.parent_shard_ids.len()
            ),
        ));
    }
    if lease.owner.as_deref() == Some("") {
        return Err(crate::Error::invalid(operation, "the owner is empty"));
    }
    Ok(())
}

/// The owner a fenced owner-conditioned write expects; such writes need an owner.
pub(crate) fn required_owner(operation: Operation, lease: &Lease) -> Result<&str> {
    lease.owner.as_deref().ok_or_else(|| {
        crate::Error::invalid(
            operation,
            format!("lease {} has no owner; only its owner may {operation}", lease.key),
        )
    })
}

/// Checks a worker id given to a fleet-record write.
pub(crate) fn valid_worker_id(operation: Operation, worker_id: &str) -> Result<()> {
    if worker_id.is_empty() {
        return Err(crate::Error::invalid(operation, "the worker id is empty"));
    }
    Ok(())
}

/// Checks a handoff request's arguments; returns the current owner (the future checkpoint owner).
pub(crate) fn handoff_request<'l>(lease: &'l Lease, new_owner: &str) -> Result<&'l str> {
    let op = Operation::RequestHandoff;
    validate_lease(op, lease)?;
    let owner = required_owner(op, lease)?;
    if new_owner.is_empty() {
        return Err(crate::Error::invalid(op, "the new owner is empty"));
    }
    if new_owner == owner {
        return Err(crate::Error::invalid(
            op,
            format!(
                "{new_owner} already owns lease {}; a handoff needs another worker",
                lease.key
            ),
        ));
    }
    Ok(owner)
}

/// The checkpoint owner a previous owner's handoff write expects; such writes need one.
pub(crate) fn required_checkpoint_owner(operation: Operation, lease: &Lease) -> Result<&str> {
    validate_lease(operation, lease)?;
    lease.checkpoint_owner.as_deref().ok_or_else(|| {
        crate::Error::invalid(
            operation,
            format!(
                "lease {} has no checkpoint owner; only a previous owner handing it off may {operation}",
                lease.key
            ),
        )
    })
}

/// What a handoff request leaves: the new owner, with the previous owner as checkpoint owner, one counter on.
pub(crate) fn handoff_requested(expected: &Lease, new_owner: &str, stored: &Lease) -> bool {
    stored.is_owned_by(new_owner)
        && stored.checkpoint_owner == expected.owner
        && Some(stored.counter) == expected.counter.checked_add(1)
}

/// The "renew landed after all" check: the stored lease shows the caller as owner one counter on.
///
/// Use it only after an attempt that may have been applied (see the [module docs](self)): on its own it
/// cannot tell our renew from a take by a process reusing our worker id.
pub(crate) fn renew_landed(expected: &Lease, stored: &Lease) -> bool {
    stored.owner.is_some()
        && stored.owner == expected.owner
        && Some(stored.counter) == expected.counter.checked_add(1)
}
