//! Shared helpers for the integration tests: real-server endpoints, DynamoDB clients, unique table names.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use aws_credential_types::Credentials;
use aws_sdk_dynamodb::config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::Client;
use kcl_checkpoint::{DynamoDbLeaseStore, LeaseStore};
use tokio::time::Duration;

/// The endpoint in `var`, or `None` after a loud `SKIPPED` line (a failure with `KCL_TEST_REQUIRE_SERVERS=1`,
/// as in the CI runs that must not skip): the workspace's one skip helper.
pub use kcl_emulator::test_util::server_url;

/// A DynamoDB client for a local server: static test credentials, us-east-1, the given endpoint.
pub fn dynamodb_client(url: &str) -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "kcl-tests"))
        .endpoint_url(url)
        .build();
    Client::from_conf(config)
}

/// A table name unique to this test run.
pub fn unique_table(prefix: &str) -> String {
    format!("kcl-{prefix}-{:016x}", rand::random::<u64>())
}

/// A DynamoDB store over a fresh table (created and active).
pub async fn fresh_dynamodb_store(client: &Client, prefix: &str) -> Arc<DynamoDbLeaseStore> {
    let store = DynamoDbLeaseStore::builder(client.clone(), unique_table(prefix))
        .poll_interval(Duration::from_millis(50))
        .table_ready_timeout(Duration::from_secs(60))
        .build()
        .expect("valid store settings");
    assert!(
        store.ensure_table().await.expect("ensure_table"),
        "a fresh table is created"
    );
    Arc::new(store)
}
