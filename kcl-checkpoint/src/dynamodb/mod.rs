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
//! [`RetryingLeaseStore`]** (or build it with
//! [`DynamoDbLeaseStoreBuilder::build_with_retry`]) for jittered, bounded retries of throttling, timeouts
//! and 5xx responses; see [`DynamoDbLeaseStore`].

mod attempts;
pub mod codec;
mod errors;

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ProvisionedThroughput,
    ReturnValue, ScalarAttributeType, TableStatus,
};
use aws_sdk_dynamodb::Client;
use bytes::Bytes;
use tokio::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::fleet::{FleetRecord, FLEET_ITEM_KEY};
use crate::lease::{Lease, LeaseKey, LeaseLoad};
use crate::retry::{RetryPolicy, RetryingLeaseStore};
use crate::sequence::ExtendedSequenceNumber;
use crate::store::{
    handoff_request, handoff_requested, renew_landed, required_checkpoint_owner, required_owner,
    valid_worker_id, validate_lease, validate_load, LeaseListing, LeaseStore, Operation,
};
use attempts::AmbiguousAttempts;
use codec::{Item, CHECKPOINT_OWNER, LEASE_COUNTER, LEASE_KEY, LEASE_OWNER};
use errors::{is_condition_failed, map_sdk_error, Target};

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
/// use it wrapped in a [`RetryingLeaseStore`], which retries those with jittered
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

/// True for a valid DynamoDB table name: 3 to 255 characters of `a-z A-Z 0-9 _ - .`.
pub fn is_valid_table_name(name: &str) -> bool {
    (3..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// Settings for a [`DynamoDbLeaseStore`].
#[derive(Clone, Debug)]
pub struct DynamoDbLeaseStoreBuilder {
    client: Client,
    table: String,
    billing: Billing,
    table_ready_timeout: Duration,
    poll_interval: Duration,
    create_table: bool,
    endpoint: Option<String>,
}

impl DynamoDbLeaseStoreBuilder {
    /// Whether [`LeaseStore::ensure_table`] creates the table when it is missing (default `true`, handy
    /// for local use). Turn it off for production roles without `dynamodb:CreateTable`: a missing table is
    /// then [`Error::TableNotFound`] at start.
    pub fn create_table_if_missing(mut self, create: bool) -> Self {
        self.create_table = create;
        self
    }

    /// The endpoint the client was configured with (for example `http://127.0.0.1:4567`), named in
    /// [`Error::Unreachable`]. Default: the regional endpoint `https://dynamodb.<region>.amazonaws.com`.
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// The billing mode used if the table is created (default [`Billing::PayPerRequest`]).
    pub fn billing(mut self, billing: Billing) -> Self {
        self.billing = billing;
        self
    }

    /// How long [`LeaseStore::ensure_table`] waits for the table to become active (default 5 minutes).
    pub fn table_ready_timeout(mut self, timeout: Duration) -> Self {
        self.table_ready_timeout = timeout;
        self
    }

    /// How often [`LeaseStore::ensure_table`] polls the table status (default 1 second).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Checks the settings and builds the store.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for an invalid table name (3 to 255 of `a-z A-Z 0-9 _ - .`), non-positive
    /// provisioned capacity or a zero poll interval.
    pub fn build(self) -> Result<DynamoDbLeaseStore> {
        if !is_valid_table_name(&self.table) {
            return Err(Error::Config {
                reason: format!(
                    "invalid table name {:?}: 3 to 255 characters of a-z, A-Z, 0-9, '_', '-', '.'",
                    self.table
                ),
            });
        }
        if let Billing::Provisioned {
            read_capacity_units,
            write_capacity_units,
        } = self.billing
        {
            if read_capacity_units < 1 || write_capacity_units < 1 {
                return Err(Error::Config {
                    reason: "provisioned capacity units must be at least 1".into(),
                });
            }
        }
        if self.poll_interval.is_zero() {
            return Err(Error::Config {
                reason: "the poll interval must not be zero".into(),
            });
        }
        let endpoint = self
            .endpoint
            .unwrap_or_else(|| match self.client.config().region() {
                Some(region) => format!("https://dynamodb.{region}.amazonaws.com"),
                None => "the DynamoDB endpoint (no region configured)".to_owned(),
            });
        Ok(DynamoDbLeaseStore {
            client: self.client,
            table: self.table,
            billing: self.billing,
            table_ready_timeout: self.table_ready_timeout,
            poll_interval: self.poll_interval,
            create_table: self.create_table,
            endpoint,
        })
    }

    /// Builds the store wrapped in a [`RetryingLeaseStore`] with `policy`: the recommended way to use it in
    /// production, ready to hand to a worker.
    ///
    /// # Errors
    ///
    /// As [`build`](Self::build).
    pub fn build_with_retry(self, policy: RetryPolicy) -> Result<Arc<dyn LeaseStore>> {
        let store: Arc<dyn LeaseStore> = Arc::new(self.build()?);
        Ok(Arc::new(RetryingLeaseStore::with_policy(store, policy)))
    }
}

/// An `UpdateItem` being assembled: SET / REMOVE clauses, conditions and their placeholders.
#[derive(Default)]
struct Update {
    set: Vec<String>,
    remove: Vec<String>,
    conditions: Vec<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Update {
    fn name(&mut self, attribute: &str) -> String {
        let placeholder = format!("#{attribute}");
        self.names.insert(placeholder.clone(), attribute.to_owned());
        placeholder
    }

    fn value(&mut self, label: &str, value: AttributeValue) -> String {
        let placeholder = format!(":{label}");
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    fn set(&mut self, attribute: &str, value: AttributeValue) -> &mut Self {
        let name = self.name(attribute);
        let value = self.value(attribute, value);
        self.set.push(format!("{name} = {value}"));
        self
    }

    fn remove(&mut self, attribute: &str) -> &mut Self {
        let name = self.name(attribute);
        self.remove.push(name);
        self
    }

    /// Fences on the counter the caller saw and bumps it.
    fn fence_counter(&mut self, operation: Operation, lease: &Lease) -> Result<&mut Self> {
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
    fn fence_owner(&mut self, owner: Option<&str>) -> &mut Self {
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
    fn set_checkpoint(&mut self, checkpoint: &ExtendedSequenceNumber) -> &mut Self {
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
    fn fence_no_handoff(&mut self) -> &mut Self {
        let name = self.name(CHECKPOINT_OWNER);
        self.conditions.push(format!("attribute_not_exists({name})"));
        self
    }

    /// Fences on the checkpoint owner the caller saw (a previous owner's write during a handoff).
    fn fence_checkpoint_owner(&mut self, checkpoint_owner: &str) -> &mut Self {
        let name = self.name(CHECKPOINT_OWNER);
        let expected = self.value("expectedCheckpointOwner", codec::s(checkpoint_owner));
        self.conditions.push(format!("{name} = {expected}"));
        self
    }

    fn expect_exists(&mut self) -> &mut Self {
        let name = self.name(LEASE_KEY);
        self.conditions.push(format!("attribute_exists({name})"));
        self
    }

    fn update_expression(&self) -> String {
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
    /// Settings for a store over `table`, using `client` as built by the caller.
    pub fn builder(client: Client, table: impl Into<String>) -> DynamoDbLeaseStoreBuilder {
        DynamoDbLeaseStoreBuilder {
            client,
            table: table.into(),
            billing: Billing::default(),
            table_ready_timeout: Duration::from_secs(300),
            poll_interval: Duration::from_secs(1),
            create_table: true,
            endpoint: None,
        }
    }

    /// A store with the default settings.
    ///
    /// # Errors
    ///
    /// As [`DynamoDbLeaseStoreBuilder::build`].
    pub fn new(client: Client, table: impl Into<String>) -> Result<Self> {
        Self::builder(client, table).build()
    }

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

    /// The table status, or `None` if the table does not exist.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if the table exists with a key schema other than `leaseKey` (S) alone.
    async fn table_status(&self) -> Result<Option<TableStatus>> {
        let out = match self.client.describe_table().table_name(&self.table).send().await {
            Ok(out) => out,
            Err(err) => {
                return match map_sdk_error(self.target(Operation::EnsureTable, None), err) {
                    Error::TableNotFound { .. } => Ok(None),
                    other => Err(other),
                }
            }
        };
        let Some(table) = out.table() else {
            return Ok(Some(TableStatus::Creating));
        };
        let keys = table.key_schema();
        let key_ok = matches!(keys, [only] if only.attribute_name() == LEASE_KEY && only.key_type() == &KeyType::Hash)
            && table
                .attribute_definitions()
                .iter()
                .any(|d| d.attribute_name() == LEASE_KEY && d.attribute_type() == &ScalarAttributeType::S);
        if !keys.is_empty() && !key_ok {
            return Err(Error::Config {
                reason: format!(
                    "table {} exists but is not a lease table: its key must be `{LEASE_KEY}` (S) alone",
                    self.table
                ),
            });
        }
        Ok(Some(
            table.table_status().cloned().unwrap_or(TableStatus::Creating),
        ))
    }

    async fn create_table(&self) -> Result<bool> {
        let key_schema = KeySchemaElement::builder()
            .attribute_name(LEASE_KEY)
            .key_type(KeyType::Hash)
            .build()
            .map_err(|e| build_error(Operation::EnsureTable, e))?;
        let definition = AttributeDefinition::builder()
            .attribute_name(LEASE_KEY)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| build_error(Operation::EnsureTable, e))?;
        let mut request = self
            .client
            .create_table()
            .table_name(&self.table)
            .key_schema(key_schema)
            .attribute_definitions(definition);
        request = match self.billing {
            Billing::PayPerRequest => request.billing_mode(BillingMode::PayPerRequest),
            Billing::Provisioned {
                read_capacity_units,
                write_capacity_units,
            } => request
                .billing_mode(BillingMode::Provisioned)
                .provisioned_throughput(
                    ProvisionedThroughput::builder()
                        .read_capacity_units(read_capacity_units)
                        .write_capacity_units(write_capacity_units)
                        .build()
                        .map_err(|e| build_error(Operation::EnsureTable, e))?,
                ),
        };
        match request.send().await {
            Ok(_) => {
                tracing::info!(table = %self.table, "created lease table");
                Ok(true)
            }
            // Another worker created it first.
            Err(err)
                if aws_sdk_dynamodb::error::ProvideErrorMetadata::code(&err)
                    == Some("ResourceInUseException") =>
            {
                Ok(false)
            }
            Err(err) => Err(map_sdk_error(self.target(Operation::EnsureTable, None), err)),
        }
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
        match codec::ss(children) {
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
