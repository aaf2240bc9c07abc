//! [`DynamoDbLeaseStoreBuilder`]: the settings of a [`DynamoDbLeaseStore`] and their validation.

use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use tokio::time::Duration;

use super::{Billing, DynamoDbLeaseStore};
use crate::error::{Error, Result};
use crate::retry::{RetryPolicy, RetryingLeaseStore};
use crate::store::LeaseStore;

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
