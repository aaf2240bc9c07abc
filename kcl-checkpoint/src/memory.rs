//! [`InMemoryLeaseStore`]: the embedded default store.
//!
//! A map behind a mutex, with exactly the fencing semantics of the DynamoDB store. It suits a single
//! process (several workers sharing one `Arc`), tests and simulations. Every operation completes without
//! awaiting while the lock is held, so it is safe under any number of concurrent tasks.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use bytes::Bytes;

use crate::error::{Error, Result};
use crate::fleet::FleetRecord;
use crate::lease::{Lease, LeaseKey, LeaseLoad};
use crate::sequence::ExtendedSequenceNumber;
use crate::store::{
    handoff_request, required_checkpoint_owner, required_owner, valid_worker_id, validate_lease,
    validate_load, LeaseListing, LeaseStore, Operation,
};

/// An in-process lease table. Cheap to create; share it as `Arc<dyn LeaseStore>`.
#[derive(Debug, Default)]
pub struct InMemoryLeaseStore {
    leases: Mutex<BTreeMap<LeaseKey, Lease>>,
    fleet: Mutex<FleetRecord>,
}

/// Which fence a write checks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fence {
    /// The stored counter must equal the caller's.
    Counter,
    /// The stored counter and owner must equal the caller's.
    CounterAndOwner,
    /// As `CounterAndOwner`, and no handoff may be in progress (no checkpoint owner).
    CounterAndOwnerWithoutHandoff,
}

impl InMemoryLeaseStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A snapshot of every stored lease (for assertions in tests and simulations).
    pub fn snapshot(&self) -> Vec<Lease> {
        self.lock().values().cloned().collect()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<LeaseKey, Lease>> {
        // A panic while holding the lock cannot leave a half-written lease (each write replaces one value),
        // so a poisoned map is still consistent.
        self.leases
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Applies `change` to the stored lease if its checkpoint owner is `expected`'s (a previous owner's
    /// write during a handoff); the counter is unchanged.
    fn as_checkpoint_owner(
        &self,
        operation: Operation,
        expected: &Lease,
        change: impl FnOnce(&mut Lease),
    ) -> Result<Lease> {
        let checkpoint_owner = required_checkpoint_owner(operation, expected)?;
        let mut leases = self.lock();
        match leases.get_mut(&expected.key) {
            Some(stored) if stored.checkpoint_owner.as_deref() == Some(checkpoint_owner) => {
                change(stored);
                Ok(stored.clone())
            }
            _ => Err(Error::conflict(operation, expected.key.as_str())),
        }
    }

    /// Applies `change` to the stored lease if the fence holds, bumping the counter; returns the new lease.
    fn fenced(
        &self,
        operation: Operation,
        expected: &Lease,
        fence: Fence,
        change: impl FnOnce(&mut Lease),
    ) -> Result<Lease> {
        validate_lease(operation, expected)?;
        let mut leases = self.lock();
        let Some(stored) = leases.get_mut(&expected.key) else {
            return Err(Error::conflict(operation, expected.key.as_str()));
        };
        let holds = stored.counter == expected.counter
            && match fence {
                Fence::Counter => true,
                Fence::CounterAndOwner => stored.owner == expected.owner,
                Fence::CounterAndOwnerWithoutHandoff => {
                    stored.owner == expected.owner && stored.checkpoint_owner.is_none()
                }
            };
        if !holds {
            // Definite: nothing here can have half-applied, so a renew that finds the caller's name one
            // counter on was not ours (a restarted worker reusing the id took the lease); no landed check.
            return Err(Error::conflict(operation, expected.key.as_str()));
        }
        let next = stored
            .counter
            .checked_add(1)
            .ok_or_else(|| Error::invalid(operation, format!("lease {} counter overflow", expected.key)))?;
        change(stored);
        stored.counter = next;
        Ok(stored.clone())
    }
}

#[async_trait]
impl LeaseStore for InMemoryLeaseStore {
    async fn ensure_table(&self) -> Result<bool> {
        Ok(false)
    }

    async fn list(&self) -> Result<LeaseListing> {
        Ok(LeaseListing {
            leases: self.snapshot(),
            malformed: Vec::new(),
        })
    }

    async fn get(&self, key: &LeaseKey) -> Result<Option<Lease>> {
        Ok(self.lock().get(key).cloned())
    }

    async fn create_if_absent(&self, lease: &Lease) -> Result<bool> {
        validate_lease(Operation::Create, lease)?;
        let mut leases = self.lock();
        if leases.contains_key(&lease.key) {
            return Ok(false);
        }
        leases.insert(lease.key.clone(), lease.clone());
        Ok(true)
    }

    async fn renew(&self, lease: &Lease) -> Result<Lease> {
        required_owner(Operation::Renew, lease)?;
        self.fenced(Operation::Renew, lease, Fence::CounterAndOwner, |_| {})
    }

    async fn take(&self, lease: &Lease, new_owner: &str) -> Result<Lease> {
        if new_owner.is_empty() {
            return Err(Error::invalid(Operation::Take, "the new owner is empty"));
        }
        self.fenced(Operation::Take, lease, Fence::Counter, |stored| {
            // As the Java KCL: taking an unowned lease is not an owner switch.
            if stored.owner.as_deref().is_some_and(|old| old != new_owner) {
                stored.owner_switches_since_checkpoint =
                    stored.owner_switches_since_checkpoint.saturating_add(1);
            }
            stored.owner = Some(new_owner.to_owned());
            stored.checkpoint_owner = None;
        })
    }

    async fn evict(&self, lease: &Lease) -> Result<Lease> {
        self.fenced(Operation::Evict, lease, Fence::CounterAndOwner, |stored| {
            stored.owner = None;
            stored.checkpoint_owner = None;
        })
    }

    async fn checkpoint(&self, lease: &Lease, checkpoint: ExtendedSequenceNumber) -> Result<Lease> {
        required_owner(Operation::Checkpoint, lease)?;
        self.fenced(Operation::Checkpoint, lease, Fence::CounterAndOwner, |stored| {
            stored.checkpoint = checkpoint;
            stored.pending_checkpoint = None;
            stored.pending_checkpoint_state = None;
            stored.owner_switches_since_checkpoint = 0;
        })
    }

    async fn prepare_checkpoint(
        &self,
        lease: &Lease,
        pending: ExtendedSequenceNumber,
        state: Option<Bytes>,
    ) -> Result<Lease> {
        required_owner(Operation::PrepareCheckpoint, lease)?;
        self.fenced(
            Operation::PrepareCheckpoint,
            lease,
            Fence::CounterAndOwner,
            |stored| {
                stored.pending_checkpoint = Some(pending);
                stored.pending_checkpoint_state = state;
            },
        )
    }

    async fn request_handoff(&self, lease: &Lease, new_owner: &str) -> Result<Lease> {
        let previous = handoff_request(lease, new_owner)?.to_owned();
        self.fenced(
            Operation::RequestHandoff,
            lease,
            Fence::CounterAndOwnerWithoutHandoff,
            |stored| {
                stored.owner = Some(new_owner.to_owned());
                stored.checkpoint_owner = Some(previous);
                stored.owner_switches_since_checkpoint =
                    stored.owner_switches_since_checkpoint.saturating_add(1);
            },
        )
    }

    async fn handoff_checkpoint(&self, lease: &Lease, checkpoint: ExtendedSequenceNumber) -> Result<Lease> {
        self.as_checkpoint_owner(Operation::HandoffCheckpoint, lease, |stored| {
            stored.checkpoint = checkpoint;
            stored.pending_checkpoint = None;
            stored.pending_checkpoint_state = None;
            stored.owner_switches_since_checkpoint = 0;
        })
    }

    async fn finish_handoff(&self, lease: &Lease) -> Result<Lease> {
        self.as_checkpoint_owner(Operation::FinishHandoff, lease, |stored| {
            stored.checkpoint_owner = None;
        })
    }

    async fn heartbeat(&self, worker_id: &str, expected: Option<u64>) -> Result<FleetRecord> {
        valid_worker_id(Operation::Heartbeat, worker_id)?;
        let mut fleet = self.fleet.lock().unwrap_or_else(|p| p.into_inner());
        if fleet.heartbeats.get(worker_id).copied() != expected {
            return Err(Error::conflict(Operation::Heartbeat, worker_id));
        }
        fleet
            .heartbeats
            .insert(worker_id.to_owned(), expected.map_or(1, |c| c.saturating_add(1)));
        Ok(fleet.clone())
    }

    async fn evict_worker(&self, worker_id: &str, expected: u64) -> Result<FleetRecord> {
        valid_worker_id(Operation::EvictWorker, worker_id)?;
        let mut fleet = self.fleet.lock().unwrap_or_else(|p| p.into_inner());
        if fleet.heartbeats.get(worker_id) != Some(&expected) {
            return Err(Error::conflict(Operation::EvictWorker, worker_id));
        }
        fleet.heartbeats.remove(worker_id);
        Ok(fleet.clone())
    }

    async fn read_fleet(&self) -> Result<FleetRecord> {
        Ok(self.fleet.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }

    async fn bump_version(&self) -> Result<FleetRecord> {
        let mut fleet = self.fleet.lock().unwrap_or_else(|p| p.into_inner());
        fleet.version = fleet.version.saturating_add(1);
        Ok(fleet.clone())
    }

    async fn leave_fleet(&self, worker_id: &str) -> Result<()> {
        valid_worker_id(Operation::LeaveFleet, worker_id)?;
        let mut fleet = self.fleet.lock().unwrap_or_else(|p| p.into_inner());
        fleet.heartbeats.remove(worker_id);
        Ok(())
    }

    async fn set_child_shard_ids(&self, lease: &Lease, children: &BTreeSet<String>) -> Result<Lease> {
        validate_lease(Operation::SetChildShardIds, lease)?;
        let mut leases = self.lock();
        let stored = leases
            .get_mut(&lease.key)
            .ok_or_else(|| Error::not_found(Operation::SetChildShardIds, lease.key.as_str()))?;
        stored.child_shard_ids = children.clone();
        Ok(stored.clone())
    }

    async fn report_load(&self, lease: &Lease, load: &LeaseLoad) -> Result<Lease> {
        validate_load(lease, load)?;
        let mut leases = self.lock();
        match leases.get_mut(&lease.key) {
            Some(stored) if stored.owner == lease.owner => {
                stored.set_load(load);
                Ok(stored.clone())
            }
            _ => Err(Error::conflict(Operation::ReportLoad, lease.key.as_str())),
        }
    }

    async fn delete(&self, lease: &Lease) -> Result<()> {
        validate_lease(Operation::Delete, lease)?;
        let mut leases = self.lock();
        match leases.get(&lease.key) {
            None => Ok(()),
            Some(stored) if stored.counter == lease.counter => {
                leases.remove(&lease.key);
                Ok(())
            }
            Some(_) => Err(Error::conflict(Operation::Delete, lease.key.as_str())),
        }
    }
}
