//! [`Operation`]: the lease-store operations, named in errors and used to script faults.

use std::fmt;

/// The lease-store operations, named in errors and used to script faults.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Operation {
    /// [`LeaseStore::ensure_table`](crate::LeaseStore::ensure_table).
    EnsureTable,
    /// [`LeaseStore::list`](crate::LeaseStore::list).
    List,
    /// [`LeaseStore::get`](crate::LeaseStore::get).
    Get,
    /// [`LeaseStore::create_if_absent`](crate::LeaseStore::create_if_absent).
    Create,
    /// [`LeaseStore::renew`](crate::LeaseStore::renew).
    Renew,
    /// [`LeaseStore::take`](crate::LeaseStore::take).
    Take,
    /// [`LeaseStore::evict`](crate::LeaseStore::evict).
    Evict,
    /// [`LeaseStore::checkpoint`](crate::LeaseStore::checkpoint).
    Checkpoint,
    /// [`LeaseStore::prepare_checkpoint`](crate::LeaseStore::prepare_checkpoint).
    PrepareCheckpoint,
    /// [`LeaseStore::request_handoff`](crate::LeaseStore::request_handoff).
    RequestHandoff,
    /// [`LeaseStore::handoff_checkpoint`](crate::LeaseStore::handoff_checkpoint).
    HandoffCheckpoint,
    /// [`LeaseStore::finish_handoff`](crate::LeaseStore::finish_handoff).
    FinishHandoff,
    /// [`LeaseStore::heartbeat`](crate::LeaseStore::heartbeat).
    Heartbeat,
    /// [`LeaseStore::bump_version`](crate::LeaseStore::bump_version).
    BumpVersion,
    /// [`LeaseStore::leave_fleet`](crate::LeaseStore::leave_fleet).
    LeaveFleet,
    /// [`LeaseStore::evict_worker`](crate::LeaseStore::evict_worker).
    EvictWorker,
    /// [`LeaseStore::read_fleet`](crate::LeaseStore::read_fleet).
    ReadFleet,
    /// [`LeaseStore::set_child_shard_ids`](crate::LeaseStore::set_child_shard_ids).
    SetChildShardIds,
    /// [`LeaseStore::report_load`](crate::LeaseStore::report_load).
    ReportLoad,
    /// [`LeaseStore::delete`](crate::LeaseStore::delete).
    Delete,
}

impl Operation {
    /// Every operation, for iterating in fault plans and tests.
    pub const ALL: [Operation; 20] = [
        Operation::EnsureTable,
        Operation::List,
        Operation::Get,
        Operation::Create,
        Operation::Renew,
        Operation::Take,
        Operation::Evict,
        Operation::Checkpoint,
        Operation::PrepareCheckpoint,
        Operation::RequestHandoff,
        Operation::HandoffCheckpoint,
        Operation::FinishHandoff,
        Operation::Heartbeat,
        Operation::BumpVersion,
        Operation::LeaveFleet,
        Operation::EvictWorker,
        Operation::ReadFleet,
        Operation::SetChildShardIds,
        Operation::ReportLoad,
        Operation::Delete,
    ];

    /// A short lowercase name (`renew`, `take`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Operation::EnsureTable => "ensure_table",
            Operation::List => "list",
            Operation::Get => "get",
            Operation::Create => "create_if_absent",
            Operation::Renew => "renew",
            Operation::Take => "take",
            Operation::Evict => "evict",
            Operation::Checkpoint => "checkpoint",
            Operation::PrepareCheckpoint => "prepare_checkpoint",
            Operation::RequestHandoff => "request_handoff",
            Operation::HandoffCheckpoint => "handoff_checkpoint",
            Operation::FinishHandoff => "finish_handoff",
            Operation::Heartbeat => "heartbeat",
            Operation::BumpVersion => "bump_version",
            Operation::LeaveFleet => "leave_fleet",
            Operation::EvictWorker => "evict_worker",
            Operation::ReadFleet => "read_fleet",
            Operation::SetChildShardIds => "set_child_shard_ids",
            Operation::ReportLoad => "report_load",
            Operation::Delete => "delete",
        }
    }

    /// True for operations that write.
    pub fn is_write(self) -> bool {
        !matches!(
            self,
            Operation::EnsureTable | Operation::List | Operation::Get | Operation::ReadFleet
        )
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn operation_names_are_unique() {
        let names: BTreeSet<_> = Operation::ALL.iter().map(|op| op.name()).collect();
        assert_eq!(names.len(), Operation::ALL.len());
        assert!(!Operation::Get.is_write());
        assert!(Operation::Renew.is_write());
    }
}
