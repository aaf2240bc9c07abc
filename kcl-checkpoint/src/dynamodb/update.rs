//! [`Update`]: an `UpdateItem` being assembled (SET / REMOVE clauses, fences as conditions, and their
//! placeholders).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::codec::{self, CHECKPOINT_OWNER, LEASE_COUNTER, LEASE_KEY, LEASE_OWNER};
use crate::error::{Error, Result};
use crate::lease::Lease;
use crate::sequence::ExtendedSequenceNumber;
use crate::store::Operation;

/// An `UpdateItem` being assembled: SET / REMOVE clauses, conditions and their placeholders.
#[derive(Default)]
pub(super) struct Update {
    set: Vec<String>,
    remove: Vec<String>,
    pub(super) conditions: Vec<String>,
    pub(super) names: HashMap<String, String>,
    pub(super) values: HashMap<String, AttributeValue>,
}

impl Update {
    pub(super) fn name(&mut self, attribute: &str) -> String {
        let placeholder = format!("#{attribute}");
        self.names.insert(placeholder.clone(), attribute.to_owned());
        placeholder
    }

    pub(super) fn value(&mut self, label: &str, value: AttributeValue) -> String {
        let placeholder = format!(":{label}");
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    pub(super) fn set(&mut self, attribute: &str, value: AttributeValue) -> &mut Self {
        let name = self.name(attribute);
        let value = self.value(attribute, value);
        self.set.push(format!("{name} = {value}"));
        self
    }

    pub(super) fn remove(&mut self, attribute: &str) -> &mut Self {
        let name = self.name(attribute);
        self.remove.push(name);
        self
    }

    /// Fences on the counter the caller saw and bumps it.
    pub(super) fn fence_counter(&mut self, operation: Operation, lease: &Lease) -> Result<&mut Self> {
        let next = lease
            .counter
            .checked_add(1)
            .ok_or_else(|| Error::invalid(operation, format!("lease {} counter overflow", lease.key)))?;
        let name = self.name(LEASE_COUNTER);
        let expected = self.value("expectedCounter", codec::n(lease.counter));
        self.conditions.push(format!("{name} = {expected}"));
        self.set(LEASE_COUNTER, codec::n(next));
        Ok(self)
    }

    /// Fences on the owner the caller saw (absent when it saw none).
    pub(super) fn fence_owner(&mut self, owner: Option<&str>) -> &mut Self {
        let name = self.name(LEASE_OWNER);
        let condition = match owner {
            Some(owner) => {
                let expected = self.value("expectedOwner", codec::s(owner));
                format!("{name} = {expected}")
            }
            None => format!("attribute_not_exists({name})"),
        };
        self.conditions.push(condition);
        self
    }

    /// Sets a committed checkpoint: the position, the owner-switch count reset, any pending checkpoint and
    /// its state removed (what `checkpoint` and `handoff_checkpoint` both write).
    pub(super) fn set_checkpoint(&mut self, checkpoint: &ExtendedSequenceNumber) -> &mut Self {
        self.set(codec::CHECKPOINT, codec::s(checkpoint.checkpoint_str()))
            .set(
                codec::CHECKPOINT_SUB_SEQUENCE,
                codec::n(checkpoint.sub_sequence()),
            )
            .set(codec::OWNER_SWITCHES, codec::n(0))
            .remove(codec::PENDING_CHECKPOINT)
            .remove(codec::PENDING_CHECKPOINT_SUB_SEQUENCE)
            .remove(codec::PENDING_CHECKPOINT_STATE)
    }

    /// Fences on no handoff being in progress.
    pub(super) fn fence_no_handoff(&mut self) -> &mut Self {
        let name = self.name(CHECKPOINT_OWNER);
        self.conditions.push(format!("attribute_not_exists({name})"));
        self
    }

    /// Fences on the checkpoint owner the caller saw (a previous owner's write during a handoff).
    pub(super) fn fence_checkpoint_owner(&mut self, checkpoint_owner: &str) -> &mut Self {
        let name = self.name(CHECKPOINT_OWNER);
        let expected = self.value("expectedCheckpointOwner", codec::s(checkpoint_owner));
        self.conditions.push(format!("{name} = {expected}"));
        self
    }

    pub(super) fn expect_exists(&mut self) -> &mut Self {
        let name = self.name(LEASE_KEY);
        self.conditions.push(format!("attribute_exists({name})"));
        self
    }

    pub(super) fn update_expression(&self) -> String {
        let mut clauses = Vec::new();
        if !self.set.is_empty() {
            clauses.push(format!("SET {}", self.set.join(", ")));
        }
        if !self.remove.is_empty() {
            clauses.push(format!("REMOVE {}", self.remove.join(", ")));
        }
        clauses.join(" ")
    }
}
