//! DynamoDB-compatible containers for the lease table (feature `testcontainers`).
//!
//! - [`Dynalite`]: dynalite on Node.js, image `kcl-dynalite:local` built locally by
//!   `bash scripts/build-images.sh` (nothing is pulled). Started with host networking, bound to 127.0.0.1
//!   on a free port; this is what the repository's container suite uses.
//! - DynamoDB Local (`testcontainers_modules::dynamodb_local::DynamoDb`, image `amazon/dynamodb-local`):
//!   for users who have that image. Its licence keeps it out of this repository and it cannot be pulled
//!   here, so it is supported through [`dynamodb_local_endpoint`] and [`lease_store`], not run in CI.
//!
//! ```no_run
//! use kcl_checkpoint::testcontainers::{lease_store, Dynalite};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let dynalite = Dynalite::default().start().await?;
//! let store = lease_store(&dynalite.image().endpoint(), "my-app").await?; // a fresh, unique table
//! assert!(store.list().await?.leases.is_empty());
//! # Ok(()) }
//! ```

use std::borrow::Cow;
use std::sync::Arc;

use testcontainers::core::{ContainerPort, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, Image, ImageExt};

use crate::{DynamoDbLeaseStore, LeaseStore, RetryPolicy};

/// The image name built by `scripts/build-images.sh`.
pub const DYNALITE_IMAGE: &str = "kcl-dynalite";
/// Its tag.
pub const DYNALITE_TAG: &str = "local";

/// dynalite in a container (in memory). See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Dynalite {
    tag: String,
    port: u16,
}

impl Default for Dynalite {
    fn default() -> Self {
        Dynalite {
            tag: DYNALITE_TAG.to_owned(),
            port: std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .unwrap_or(4568),
        }
    }
}

impl Dynalite {
    /// Another tag of the image.
    pub fn with_tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = tag.into();
        self
    }

    /// The 127.0.0.1 port dynalite binds (default: a free one picked now).
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts the container with host networking and waits for dynalite's listening line.
    ///
    /// # Errors
    ///
    /// testcontainers' error (no engine, the image missing: build it with `scripts/build-images.sh`).
    pub async fn start(self) -> testcontainers::core::error::Result<ContainerAsync<Dynalite>> {
        AsyncRunner::start(self.with_network("host")).await
    }
}

impl Image for Dynalite {
    fn name(&self) -> &str {
        DYNALITE_IMAGE
    }

    fn tag(&self) -> &str {
        &self.tag
    }

    fn ready_conditions(&self) -> Vec<WaitFor> {
        vec![WaitFor::message_on_stdout("Dynalite listening at")]
    }

    fn cmd(&self) -> impl IntoIterator<Item = impl Into<Cow<'_, str>>> {
        vec![
            "--host".to_owned(),
            "127.0.0.1".to_owned(),
            "--port".to_owned(),
            self.port.to_string(),
        ]
    }

    fn expose_ports(&self) -> &[ContainerPort] {
        &[]
    }
}

/// The endpoint of a started DynamoDB Local container (`testcontainers_modules::dynamodb_local::DynamoDb`,
/// port 8000 mapped by docker to a host port; needs an engine with a bridge network).
///
/// # Errors
///
/// testcontainers' error when the port is not mapped.
pub async fn dynamodb_local_endpoint(
    container: &ContainerAsync<testcontainers_modules::dynamodb_local::DynamoDb>,
) -> testcontainers::core::error::Result<String> {
    let port = container.get_host_port_ipv4(8000).await?;
    Ok(format!("http://127.0.0.1:{port}"))
}

/// A DynamoDB client for a local server at `endpoint` (static test credentials, region `us-east-1`).
pub fn dynamodb_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
            .credentials_provider(aws_credential_types::Credentials::new(
                "test",
                "test",
                None,
                None,
                "kcl-checkpoint-testcontainers",
            ))
            .endpoint_url(endpoint)
            .build(),
    )
}

/// A unique table name `<prefix>-<pid>-<n>`.
pub fn unique_table(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A retrying DynamoDB lease store on a fresh table named after `prefix` (unique per call), created and
/// active, at `endpoint` (a [`Dynalite`] or DynamoDB Local container, or any compatible server).
///
/// # Errors
///
/// The store's error when the table cannot be created.
pub async fn lease_store(endpoint: &str, prefix: &str) -> crate::Result<Arc<dyn LeaseStore>> {
    let store = DynamoDbLeaseStore::builder(dynamodb_client(endpoint), unique_table(prefix))
        .endpoint(endpoint)
        .poll_interval(std::time::Duration::from_millis(50))
        .build_with_retry(RetryPolicy::default())?;
    store.ensure_table().await?;
    Ok(store)
}
