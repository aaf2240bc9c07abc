//! [`DynamoDbLeaseStore`]: leases in a DynamoDB table, in the Java KCL 2.x/3.x item format.
//!
//! The caller builds the `aws_sdk_dynamodb::Client` (credentials, region, endpoint, SDK retry and timeout
//! settings) and hands it over; this crate never loads AWS configuration. The table has the hash key
//! `leaseKey` (S) and is created on demand by [`LeaseStore::ensure_table`] (on-demand billing by default).
//! Items follow the Java KCL's attribute names and types (see [`codec`]), so a table written by a Java KCL
//! application is read correctly and its checkpoints resumed, and the other way round.
//!
//! Fenced writes are `UpdateItem` calls with a `ConditionExpression` (`leaseCounter = :expectedCounter`, plus
//! `leaseOwner = :expectedOwner` where the owner matters) and `ReturnValues = ALL_NEW`, so the returned lease
//! is exactly what is stored. Creation is a `PutItem` conditioned on `attribute_not_exists(leaseKey)`.
//! A previous owner's writes during a handoff are conditioned on `checkpointOwner = :expectedCheckpointOwner`
//! instead and leave the counter alone (see [`store`](crate::store#cooperative-handoffs)).
//!
//! When DynamoDB answers without the ALL_NEW attributes (some emulators do), the item is read back and
//! kept only if it is what the write left (the bumped counter and the owner / checkpoint written);
//! otherwise the write is reported as [`Error::Conflict`], never as another writer's later state.
//!
//! This store does not retry by itself beyond what the SDK client does. **Production users wrap it in a
//! [`RetryingLeaseStore`](crate::RetryingLeaseStore)** (or build it with
//! [`DynamoDbLeaseStoreBuilder::build_with_retry`]) for jittered, bounded retries of throttling, timeouts
//! and 5xx responses; see [`DynamoDbLeaseStore`].
//!
//! Layout: this file holds the store and its write paths (`update`, `fenced`, `fleet_update`); `builder`
//! its settings; `table` creating and describing the table; `update` the `UpdateItem` expression
//! builder; `operations` the [`LeaseStore`] operations; `codec` the item format; `errors` the mapping of
//! SDK errors; `attempts` the detection of ambiguous SDK retries.

mod attempts;
mod builder;
pub mod codec;
mod errors;
mod operations;
mod table;
mod update;

pub use builder::{is_valid_table_name, DynamoDbLeaseStoreBuilder};

use std::fmt;

use aws_sdk_dynamodb::types::ReturnValue;
use aws_sdk_dynamodb::Client;
use tokio::time::Duration;

use crate::error::{Error, Result};
use crate::fleet::{FleetRecord, FLEET_ITEM_KEY};
use crate::lease::{Lease, LeaseKey};
use crate::store::{LeaseStore, Operation};
use attempts::AmbiguousAttempts;
use codec::{Item, LEASE_KEY};
use errors::{is_condition_failed, map_sdk_error, Target};
use update::Update;

/// How the lease table is billed when [`LeaseStore::ensure_table`] creates it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Billing {
    /// On-demand capacity (the default, as in the Java KCL 2.x since 2.3).
    #[default]
    PayPerRequest,
    /// Provisioned capacity units.
    Provisioned {
        /// Read capacity units.
        read_capacity_units: i64,
        /// Write capacity units.
        write_capacity_units: i64,
    },
}

/// A lease table in DynamoDB. Build with [`DynamoDbLeaseStore::builder`].
///
/// # Use it with retries
///
/// The store itself makes one call per operation (plus whatever the SDK client's own retry configuration
/// does) and reports throttling, timeouts and 5xx faults as retryable errors. A worker in production should
/// use it wrapped in a [`RetryingLeaseStore`](crate::RetryingLeaseStore), which retries those with jittered
/// exponential backoff and recognises writes that landed before a timeout. The builder does both in one step:
///
/// ```no_run
/// use std::sync::Arc;
/// use aws_config::BehaviorVersion;
/// use kcl_checkpoint::{DynamoDbLeaseStore, LeaseStore, RetryPolicy, RetryingLeaseStore};
///
/// # async fn run() -> Result<(), kcl_checkpoint::Error> {
/// let sdk_config = aws_config::defaults(BehaviorVersion::latest()).load().await;
/// let client = aws_sdk_dynamodb::Client::new(&sdk_config);
///
/// // One step: a ready `Arc<dyn LeaseStore>` with the default retry policy.
/// let store: Arc<dyn LeaseStore> =
///     DynamoDbLeaseStore::builder(client.clone(), "my-application").build_with_retry(RetryPolicy::default())?;
///
/// // The same by hand (keeps the concrete `DynamoDbLeaseStore` around too).
/// let dynamo = Arc::new(DynamoDbLeaseStore::builder(client, "my-application").build()?);
/// let store: Arc<dyn LeaseStore> = Arc::new(RetryingLeaseStore::new(dynamo.clone()));
/// store.ensure_table().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct DynamoDbLeaseStore {
    client: Client,
    table: String,
    billing: Billing,
    /// How long `ensure_table` waits for the table to become active.
    table_ready_timeout: Duration,
    /// How often `ensure_table` polls the table status.
    poll_interval: Duration,
    /// Whether `ensure_table` creates a missing table.
    create_table: bool,
    /// Where the client sends requests, for naming it in connection errors.
    endpoint: String,
}

impl fmt::Debug for DynamoDbLeaseStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamoDbLeaseStore")
            .field("table", &self.table)
            .field("billing", &self.billing)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// Whether the condition of a write held.
enum Written {
    Applied(Box<Lease>),
    /// The condition failed on the last attempt. `after_ambiguous_attempt` is true when the SDK client
    /// retried after an attempt that may have been applied (a timeout, a dropped connection, a 5xx): only
    /// then can the failure be caused by this very write having landed.
    ConditionFailed {
        after_ambiguous_attempt: bool,
    },
}

/// Whether a fenced write may be recognised as landed after an ambiguous attempt (see
/// [`DynamoDbLeaseStore::fenced`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Landed {
    /// Read the item back and compare it with what the write leaves.
    Check,
    /// Never: the result does not identify the writer (an evict leaves an unowned lease, whoever made it).
    Never,
}

/// What a write must have left in the item, checked when the item has to be read back (see
/// [`DynamoDbLeaseStore::update`]).
type Verify<'a> = &'a (dyn Fn(&Lease) -> bool + Sync);

impl DynamoDbLeaseStore {
    /// The table name.
    pub fn table_name(&self) -> &str {
        &self.table
    }

    fn target<'a>(&'a self, operation: Operation, key: Option<&'a str>) -> Target<'a> {
        Target {
            operation,
            table: &self.table,
            endpoint: &self.endpoint,
            key,
        }
    }

    fn decode(item: &Item) -> Result<Lease> {
        codec::lease_from_item(item).map_err(Error::from)
    }

    /// Sends one `UpdateItem` with `ReturnValues = ALL_NEW`.
    ///
    /// Some emulators answer without the ALL_NEW attributes; the item is then read back, but that read may
    /// already see a later writer's state. `verify` says whether the read-back item is what this write left
    /// (for a fenced write: the counter one past the caller's, and the owner / checkpoint written); if it is
    /// not, the write is reported as [`Error::Conflict`]: the caller's view is stale either way, and it must
    /// re-read rather than take another writer's lease as its own.
    async fn update(
        &self,
        operation: Operation,
        key: &LeaseKey,
        update: Update,
        verify: Verify<'_>,
    ) -> Result<Written> {
        let expression = update.update_expression();
        let condition = update.conditions.join(" AND ");
        let attempts = AmbiguousAttempts::default();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(LEASE_KEY, codec::s(key.as_str()))
            .update_expression(expression)
            .set_condition_expression((!condition.is_empty()).then_some(condition))
            .set_expression_attribute_names(Some(update.names))
            .set_expression_attribute_values((!update.values.is_empty()).then_some(update.values))
            .return_values(ReturnValue::AllNew)
            .customize()
            .interceptor(attempts.clone())
            .send()
            .await;
        match result {
            Ok(out) => match out.attributes() {
                Some(item) if !item.is_empty() => Ok(Written::Applied(Box::new(Self::decode(item)?))),
                // Some emulators omit ALL_NEW; read the item back, and keep it only if it is what we wrote.
                _ => match self.read(operation, key).await? {
                    Some(lease) if verify(&lease) => Ok(Written::Applied(Box::new(lease))),
                    Some(lease) => {
                        tracing::debug!(
                            %operation, key = %key, counter = lease.counter,
                            "write applied but the item read back has moved on; reporting a conflict"
                        );
                        Err(Error::conflict(operation, key.as_str()))
                    }
                    None => Err(Error::not_found(operation, key.as_str())),
                },
            },
            Err(err) if is_condition_failed(&err) => Ok(Written::ConditionFailed {
                after_ambiguous_attempt: attempts.seen(),
            }),
            Err(err) => Err(map_sdk_error(self.target(operation, Some(key.as_str())), err)),
        }
    }

    /// A fenced update. `verify` checks the fields the write sets (the bumped counter is checked here).
    ///
    /// A failed condition is a conflict, except with [`Landed::Check`] when the SDK client retried after an
    /// attempt that may have been applied: then the item is read back, and if it is exactly what this write
    /// leaves, that earlier attempt landed and the write is reported as done (the rule of
    /// [`store`](crate::store#renews-that-landed-after-all)).
    async fn fenced(
        &self,
        operation: Operation,
        lease: &Lease,
        update: Update,
        landed: Landed,
        verify: Verify<'_>,
    ) -> Result<Lease> {
        let next = lease.counter.checked_add(1);
        let verify = |stored: &Lease| Some(stored.counter) == next && verify(stored);
        match self.update(operation, &lease.key, update, &verify).await? {
            Written::Applied(stored) => Ok(*stored),
            Written::ConditionFailed {
                after_ambiguous_attempt: true,
            } if landed == Landed::Check => match self.read(operation, &lease.key).await? {
                Some(stored) if verify(&stored) => Ok(stored),
                _ => Err(Error::conflict(operation, lease.key.as_str())),
            },
            // Definite (a first-attempt failure, or a write whose result identifies no writer): the lease
            // moved on, even if it now looks like what we wrote (a restarted worker reusing our id).
            Written::ConditionFailed { .. } => Err(Error::conflict(operation, lease.key.as_str())),
        }
    }

    /// One `UpdateItem` of the fleet record's number attribute `counter` (as `#counter`) with `expression`,
    /// optionally conditioned (`condition` with `:expected`), and with `:next` when given; returns the
    /// record as now stored. A failed condition is a [`Error::Conflict`].
    async fn fleet_update(
        &self,
        operation: Operation,
        counter: &str,
        expression: &str,
        condition: Option<(&str, Option<u64>)>,
        next: Option<u64>,
    ) -> Result<FleetRecord> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(LEASE_KEY, codec::s(FLEET_ITEM_KEY))
            .update_expression(expression)
            .expression_attribute_names("#counter", counter)
            .expression_attribute_names("#type", codec::ENTITY_TYPE)
            .expression_attribute_values(":fleet", codec::s("fleet"))
            .return_values(ReturnValue::AllNew);
        if expression.contains(":zero") {
            request = request
                .expression_attribute_values(":zero", codec::n(0))
                .expression_attribute_values(":one", codec::n(1));
        }
        if let Some(next) = next {
            request = request.expression_attribute_values(":next", codec::n(next));
        }
        if let Some((condition, expected)) = condition {
            request = request.condition_expression(condition);
            if let Some(expected) = expected {
                request = request.expression_attribute_values(":expected", codec::n(expected));
            }
        }
        let out = match request.send().await {
            Ok(out) => out,
            Err(err) if is_condition_failed(&err) => {
                return Err(Error::conflict(operation, FLEET_ITEM_KEY));
            }
            Err(err) => return Err(map_sdk_error(self.target(operation, Some(FLEET_ITEM_KEY)), err)),
        };
        match out.attributes() {
            Some(item) if !item.is_empty() => Ok(codec::fleet_from_item(item)),
            // Some emulators omit ALL_NEW: read the record back (any later state will do: these writes
            // need only the heartbeats and version as of after them).
            _ => self.read_fleet().await,
        }
    }

    /// A strongly consistent read of one item.
    async fn read(&self, operation: Operation, key: &LeaseKey) -> Result<Option<Lease>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(LEASE_KEY, codec::s(key.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| map_sdk_error(self.target(operation, Some(key.as_str())), err))?;
        out.item().map(Self::decode).transpose()
    }
}

fn build_error(operation: Operation, err: aws_sdk_dynamodb::error::BuildError) -> Error {
    Error::Service {
        operation,
        code: "BuildError".into(),
        message: err.to_string(),
        retryable: false,
        source: Some(Box::new(err)),
    }
}
