//! The [`LeaseStore`] operations of a [`DynamoDbLeaseStore`]: each is one `PutItem`, `UpdateItem`,
//! `DeleteItem`, `GetItem` or paged `Scan`, fenced as the [`store`](crate::store) docs say.

use std::collections::BTreeSet;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, TableStatus};
use bytes::Bytes;
use tokio::time::Instant;

use super::codec::{self, Item, CHECKPOINT_OWNER, LEASE_COUNTER, LEASE_KEY, LEASE_OWNER};
use super::errors::{is_condition_failed, map_sdk_error};
use super::update::Update;
use super::{DynamoDbLeaseStore, Landed, Written};
use crate::error::{Error, Result};
use crate::fleet::{FleetRecord, FLEET_ITEM_KEY};
use crate::lease::{Lease, LeaseKey, LeaseLoad};
use crate::sequence::ExtendedSequenceNumber;
use crate::store::{
    handoff_request, handoff_requested, renew_landed, required_checkpoint_owner, required_owner,
    valid_worker_id, validate_lease, validate_load, LeaseListing, LeaseStore, Operation,
};

#[async_trait]
impl LeaseStore for DynamoDbLeaseStore {
    async fn ensure_table(&self) -> Result<bool> {
        let created = match self.table_status().await? {
            Some(_) => false,
            None if self.create_table => self.create_table().await?,
            None => {
                return Err(Error::TableNotFound {
                    operation: Operation::EnsureTable,
                    table: self.table.clone(),
                })
            }
        };
        let started = Instant::now();
        loop {
            if self.table_status().await? == Some(TableStatus::Active) {
                return Ok(created);
            }
            let waited = started.elapsed();
            if waited >= self.table_ready_timeout {
                return Err(Error::TableNotActive {
                    table: self.table.clone(),
                    waited,
                });
            }
            tokio::time::sleep(self.poll_interval).await;
        }
    }

    async fn list(&self) -> Result<LeaseListing> {
        let mut listing = LeaseListing::default();
        let mut start_key: Option<Item> = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .set_exclusive_start_key(start_key.take())
                .send()
                .await
                .map_err(|err| map_sdk_error(self.target(Operation::List, None), err))?;
            for item in out.items() {
                if codec::is_non_lease_item(item) {
                    continue;
                }
                match codec::lease_from_item(item) {
                    Ok(lease) => listing.leases.push(lease),
                    Err(malformed) => {
                        tracing::warn!(%malformed, table = %self.table, "skipping malformed lease item");
                        listing.malformed.push(malformed);
                    }
                }
            }
            match out.last_evaluated_key() {
                Some(key) if !key.is_empty() => start_key = Some(key.clone()),
                _ => break,
            }
        }
        listing.leases.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(listing)
    }

    async fn get(&self, key: &LeaseKey) -> Result<Option<Lease>> {
        if key.as_str().is_empty() {
            return Err(Error::invalid(Operation::Get, "the lease key is empty"));
        }
        self.read(Operation::Get, key).await
    }

    async fn create_if_absent(&self, lease: &Lease) -> Result<bool> {
        validate_lease(Operation::Create, lease)?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(codec::lease_to_item(lease)))
            .condition_expression("attribute_not_exists(#leaseKey)")
            .expression_attribute_names("#leaseKey", LEASE_KEY)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) if is_condition_failed(&err) => Ok(false),
            Err(err) => Err(map_sdk_error(
                self.target(Operation::Create, Some(lease.key.as_str())),
                err,
            )),
        }
    }

    async fn renew(&self, lease: &Lease) -> Result<Lease> {
        let op = Operation::Renew;
        validate_lease(op, lease)?;
        let owner = required_owner(op, lease)?;
        let mut update = Update::default();
        update.fence_counter(op, lease)?.fence_owner(Some(owner));
        let verify = |stored: &Lease| renew_landed(lease, stored);
        self.fenced(op, lease, update, Landed::Check, &verify).await
    }

    async fn take(&self, lease: &Lease, new_owner: &str) -> Result<Lease> {
        let op = Operation::Take;
        validate_lease(op, lease)?;
        if new_owner.is_empty() {
            return Err(Error::invalid(op, "the new owner is empty"));
        }
        let mut update = Update::default();
        update
            .fence_counter(op, lease)?
            .set(LEASE_OWNER, codec::s(new_owner))
            .remove(CHECKPOINT_OWNER);
        if lease.owner.as_deref().is_some_and(|old| old != new_owner) {
            update.set(
                codec::OWNER_SWITCHES,
                codec::n(lease.owner_switches_since_checkpoint.saturating_add(1)),
            );
        }
        self.fenced(op, lease, update, Landed::Check, &|stored| {
            stored.is_owned_by(new_owner)
        })
        .await
    }

    async fn evict(&self, lease: &Lease) -> Result<Lease> {
        let op = Operation::Evict;
        validate_lease(op, lease)?;
        let mut update = Update::default();
        update
            .fence_counter(op, lease)?
            .fence_owner(lease.owner.as_deref())
            .remove(LEASE_OWNER)
            .remove(CHECKPOINT_OWNER);
        self.fenced(op, lease, update, Landed::Never, &|stored| stored.owner.is_none())
            .await
    }

    async fn checkpoint(&self, lease: &Lease, checkpoint: ExtendedSequenceNumber) -> Result<Lease> {
        let op = Operation::Checkpoint;
        validate_lease(op, lease)?;
        let owner = required_owner(op, lease)?;
        let mut update = Update::default();
        update
            .fence_counter(op, lease)?
            .fence_owner(Some(owner))
            .set_checkpoint(&checkpoint);
        let verify = |stored: &Lease| {
            stored.owner == lease.owner
                && stored.checkpoint == checkpoint
                && stored.pending_checkpoint.is_none()
        };
        self.fenced(op, lease, update, Landed::Check, &verify).await
    }

    async fn prepare_checkpoint(
        &self,
        lease: &Lease,
        pending: ExtendedSequenceNumber,
        state: Option<Bytes>,
    ) -> Result<Lease> {
        let op = Operation::PrepareCheckpoint;
        validate_lease(op, lease)?;
        let owner = required_owner(op, lease)?;
        let mut update = Update::default();
        update
            .fence_counter(op, lease)?
            .fence_owner(Some(owner))
            .set(codec::PENDING_CHECKPOINT, codec::s(pending.checkpoint_str()))
            .set(
                codec::PENDING_CHECKPOINT_SUB_SEQUENCE,
                codec::n(pending.sub_sequence()),
            );
        match &state {
            Some(state) => update.set(codec::PENDING_CHECKPOINT_STATE, codec::b(state)),
            None => update.remove(codec::PENDING_CHECKPOINT_STATE),
        };
        let verify = |stored: &Lease| {
            stored.owner == lease.owner
                && stored.pending_checkpoint.as_ref() == Some(&pending)
                && stored.pending_checkpoint_state == state
        };
        self.fenced(op, lease, update, Landed::Check, &verify).await
    }

    async fn request_handoff(&self, lease: &Lease, new_owner: &str) -> Result<Lease> {
        let op = Operation::RequestHandoff;
        let owner = handoff_request(lease, new_owner)?;
        let mut update = Update::default();
        update
            .fence_counter(op, lease)?
            .fence_owner(Some(owner))
            .fence_no_handoff()
            .set(LEASE_OWNER, codec::s(new_owner))
            .set(CHECKPOINT_OWNER, codec::s(owner))
            .set(
                codec::OWNER_SWITCHES,
                codec::n(lease.owner_switches_since_checkpoint.saturating_add(1)),
            );
        self.fenced(op, lease, update, Landed::Check, &|stored| {
            handoff_requested(lease, new_owner, stored)
        })
        .await
    }

    async fn handoff_checkpoint(&self, lease: &Lease, checkpoint: ExtendedSequenceNumber) -> Result<Lease> {
        let op = Operation::HandoffCheckpoint;
        let checkpoint_owner = required_checkpoint_owner(op, lease)?;
        let mut update = Update::default();
        update
            .fence_checkpoint_owner(checkpoint_owner)
            .set_checkpoint(&checkpoint);
        // Idempotent (the condition still holds after it landed), so a retried attempt simply applies again.
        let verify = |stored: &Lease| {
            stored.checkpoint_owner.as_deref() == Some(checkpoint_owner) && stored.checkpoint == checkpoint
        };
        match self.update(op, &lease.key, update, &verify).await? {
            Written::Applied(stored) => Ok(*stored),
            Written::ConditionFailed { .. } => Err(Error::conflict(op, lease.key.as_str())),
        }
    }

    async fn finish_handoff(&self, lease: &Lease) -> Result<Lease> {
        let op = Operation::FinishHandoff;
        let checkpoint_owner = required_checkpoint_owner(op, lease)?;
        let mut update = Update::default();
        update
            .fence_checkpoint_owner(checkpoint_owner)
            .remove(CHECKPOINT_OWNER);
        let verify = |stored: &Lease| stored.checkpoint_owner.is_none();
        match self.update(op, &lease.key, update, &verify).await? {
            Written::Applied(stored) => Ok(*stored),
            Written::ConditionFailed { .. } => Err(Error::conflict(op, lease.key.as_str())),
        }
    }

    async fn heartbeat(&self, worker_id: &str, expected: Option<u64>) -> Result<FleetRecord> {
        let op = Operation::Heartbeat;
        valid_worker_id(op, worker_id)?;
        let (condition, next) = match expected {
            None => ("attribute_not_exists(#counter)", 1),
            Some(c) => ("#counter = :expected", c.saturating_add(1)),
        };
        self.fleet_update(
            op,
            &format!("{}{worker_id}", codec::HEARTBEAT_PREFIX),
            "SET #counter = :next, #type = :fleet",
            Some((condition, expected)),
            Some(next),
        )
        .await
    }

    async fn evict_worker(&self, worker_id: &str, expected: u64) -> Result<FleetRecord> {
        let op = Operation::EvictWorker;
        valid_worker_id(op, worker_id)?;
        self.fleet_update(
            op,
            &format!("{}{worker_id}", codec::HEARTBEAT_PREFIX),
            "REMOVE #counter SET #type = :fleet",
            Some(("#counter = :expected", Some(expected))),
            None,
        )
        .await
    }

    async fn read_fleet(&self) -> Result<FleetRecord> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(LEASE_KEY, codec::s(FLEET_ITEM_KEY))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| map_sdk_error(self.target(Operation::ReadFleet, Some(FLEET_ITEM_KEY)), err))?;
        Ok(out.item().map(codec::fleet_from_item).unwrap_or_default())
    }

    async fn bump_version(&self) -> Result<FleetRecord> {
        self.fleet_update(
            Operation::BumpVersion,
            codec::FLEET_VERSION,
            "SET #counter = if_not_exists(#counter, :zero) + :one, #type = :fleet",
            None,
            None,
        )
        .await
    }

    async fn leave_fleet(&self, worker_id: &str) -> Result<()> {
        let op = Operation::LeaveFleet;
        valid_worker_id(op, worker_id)?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(LEASE_KEY, codec::s(FLEET_ITEM_KEY))
            .update_expression("REMOVE #counter")
            .expression_attribute_names("#counter", format!("{}{worker_id}", codec::HEARTBEAT_PREFIX))
            .send()
            .await;
        result
            .map(|_| ())
            .map_err(|err| map_sdk_error(self.target(op, Some(FLEET_ITEM_KEY)), err))
    }

    async fn set_child_shard_ids(&self, lease: &Lease, children: &BTreeSet<String>) -> Result<Lease> {
        let op = Operation::SetChildShardIds;
        validate_lease(op, lease)?;
        let mut update = Update::default();
        update.expect_exists();
        // Multi-stream leases store plain shard ids, as the Java KCL does.
        match codec::ss(&codec::stored_ids(&lease.key, children)) {
            Some(children) => update.set(codec::CHILD_SHARD_IDS, children),
            None => update.remove(codec::CHILD_SHARD_IDS),
        };
        // Not fenced, so only the children it set identify this write.
        let verify = |stored: &Lease| &stored.child_shard_ids == children;
        match self.update(op, &lease.key, update, &verify).await? {
            Written::Applied(stored) => Ok(*stored),
            Written::ConditionFailed { .. } => Err(Error::not_found(op, lease.key.as_str())),
        }
    }

    async fn report_load(&self, lease: &Lease, load: &LeaseLoad) -> Result<Lease> {
        let op = Operation::ReportLoad;
        validate_load(lease, load)?;
        let mut update = Update::default();
        update
            .expect_exists()
            .fence_owner(lease.owner.as_deref())
            .set(codec::THROUGHPUT_KBPS, AttributeValue::N(load.kbps.to_string()))
            .set(
                codec::RECORDS_PER_SECOND,
                AttributeValue::N(load.records_per_sec.to_string()),
            );
        match load.owner_cpu {
            Some(cpu) => update.set(codec::OWNER_CPU, AttributeValue::N(cpu.to_string())),
            None => update.remove(codec::OWNER_CPU),
        };
        // Not fenced on the counter, so the figures identify this write.
        let verify = |stored: &Lease| stored.owner == lease.owner && stored.load() == Some(*load);
        match self.update(op, &lease.key, update, &verify).await? {
            Written::Applied(stored) => Ok(*stored),
            Written::ConditionFailed { .. } => Err(Error::conflict(op, lease.key.as_str())),
        }
    }

    async fn delete(&self, lease: &Lease) -> Result<()> {
        let op = Operation::Delete;
        validate_lease(op, lease)?;
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(LEASE_KEY, codec::s(lease.key.as_str()))
            .condition_expression("#leaseCounter = :expectedCounter")
            .expression_attribute_names("#leaseCounter", LEASE_COUNTER)
            .expression_attribute_values(":expectedCounter", codec::n(lease.counter))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failed(&err) => match self.read(op, &lease.key).await? {
                None => Ok(()),
                Some(_) => Err(Error::conflict(op, lease.key.as_str())),
            },
            Err(err) => Err(map_sdk_error(self.target(op, Some(lease.key.as_str())), err)),
        }
    }
}
