//! The fleet record: one item per lease table holding every worker's heartbeat and the table's version.
//!
//! Workers in *heartbeat* renewal mode (`kcl_core`'s `LeaseRenewal::Heartbeat`) keep their leases alive by
//! bumping their own heartbeat counter here, one write per heartbeat interval however many leases they
//! hold, instead of renewing every lease. Other workers judge a lease expired when its owner's heartbeat
//! has not moved for the lease duration (on their own monotonic clock, as with lease counters); takes and
//! checkpoints are still fenced by the lease counter. Every write that changes what a listing would show
//! to another worker (a take, a handoff request, a release, a lease created, finished or deleted) bumps the
//! `version`, so workers scan the lease table only when it changed instead of every taker interval.
//!
//! In a DynamoDB table the record is the item `leaseKey = `[`FLEET_ITEM_KEY`] with `entityType = fleet`
//! (so listings skip it), a `fleetVersion` number and one `heartbeat:<worker id>` number per worker. The
//! Java KCL knows nothing of it: a table shared with Java KCL workers must use per-lease renewals.

use std::collections::BTreeMap;

/// The key of the fleet record's item in a DynamoDB lease table.
pub const FLEET_ITEM_KEY: &str = "__kcl-rs-fleet__";

/// Every worker's heartbeat counter and the table's version, as one read returned them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FleetRecord {
    /// Bumped by every write that changes what a listing of the lease table would show.
    pub version: u64,
    /// Heartbeat counters by worker id (a worker that left the fleet has none).
    pub heartbeats: BTreeMap<String, u64>,
}
