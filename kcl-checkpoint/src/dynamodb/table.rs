//! The lease table itself: describing it (its status and key schema) and creating it when missing.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ProvisionedThroughput, ScalarAttributeType,
    TableStatus,
};

use super::codec::LEASE_KEY;
use super::errors::map_sdk_error;
use super::{build_error, Billing, DynamoDbLeaseStore};
use crate::error::{Error, Result};
use crate::store::Operation;

impl DynamoDbLeaseStore {
    /// The table status, or `None` if the table does not exist.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if the table exists with a key schema other than `leaseKey` (S) alone.
    pub(super) async fn table_status(&self) -> Result<Option<TableStatus>> {
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

    pub(super) async fn create_table(&self) -> Result<bool> {
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
}
