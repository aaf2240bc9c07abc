//! Helpers for test suites that use a DynamoDB-compatible server on loopback (feature `test-util`):
//! a client for it that gives up on an attempt quickly, so a test of a lease table that goes away sees
//! the failure within seconds. Skipping loudly when the server is missing is
//! `kcl_emulator::test_util::server_url` (one helper for the whole workspace).

use std::time::Duration;

use aws_credential_types::Credentials;
use aws_sdk_dynamodb::config::{BehaviorVersion, Region};

/// How long one attempt of a [`dynamodb_client`] call may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);

/// A DynamoDB client for a local server at `endpoint` (dynalite, moto, DynamoDB Local): region
/// `us-east-1`, static test credentials, and each attempt cut off after [`ATTEMPT_TIMEOUT`].
pub fn dynamodb_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "static"))
            .endpoint_url(endpoint)
            .timeout_config(
                aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                    .build(),
            )
            .build(),
    )
}
