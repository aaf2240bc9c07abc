//! The emulator's container image as a testcontainers module (feature `testcontainers`).
//!
//! Build the image once with `bash scripts/build-images.sh` (it is made locally from the release binary,
//! tagged `kcl-emulator:<crate version>` and `kcl-emulator:local`; nothing is pulled), then in a test:
//!
//! ```no_run
//! use kcl_emulator::testcontainers::KclEmulator;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let emulator = KclEmulator::default().with_stream("orders", 4).start().await?;
//! let kinesis = KclEmulator::kinesis_client(&emulator);
//! let streams = kinesis.list_streams().send().await?;
//! assert_eq!(streams.stream_names(), ["orders"]);
//! # Ok(()) }
//! ```
//!
//! **Host networking.** [`KclEmulator::start`] runs the container with `--network host` and the server bound
//! to `127.0.0.1` on a port picked free at construction ([`KclEmulator::endpoint`]): no bridge network and no
//! port mapping, so no traffic leaves the loopback interface (docker's default bridge lives in a private
//! address range, and the repository's docker engine runs without one). Through `testcontainers::ImageExt`
//! the image can be started by hand too; pass `.with_network("host")`.
//!
//! **Ready condition**: the server's own start-up line on stdout, `kcl-emulator listening on <endpoint>`,
//! printed once the listener is bound and the initial streams exist.
//!
//! **Configuration**: the builder methods map to the binary's flags (each also has a `KCL_EMULATOR_*`
//! environment variable; `kcl-emulator --help` lists them): initial streams, throughput limits, the
//! CREATING / UPDATING / DELETING / consumer delays, the region and account in ARNs, and a persistence
//! directory bind-mounted from the host ([`KclEmulator::with_persistence`]).

use std::borrow::Cow;
use std::path::PathBuf;

use testcontainers::core::{ContainerPort, Mount, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, Image, ImageExt};

/// The image name built by `scripts/build-images.sh`.
pub const IMAGE_NAME: &str = "kcl-emulator";
/// The tag always built (also tagged with the crate version).
pub const IMAGE_TAG: &str = "local";
/// Where [`KclEmulator::with_persistence`] mounts the host directory in the container.
pub const DATA_DIR: &str = "/data";
/// The line the server prints once it accepts requests.
pub const READY_LINE: &str = "kcl-emulator listening on ";

/// The kcl-emulator server image. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct KclEmulator {
    tag: String,
    port: u16,
    args: Vec<String>,
    mounts: Vec<Mount>,
    region: String,
    account_id: String,
}

impl Default for KclEmulator {
    fn default() -> Self {
        KclEmulator {
            tag: IMAGE_TAG.to_owned(),
            port: free_port(),
            args: Vec::new(),
            mounts: Vec::new(),
            region: "us-east-1".to_owned(),
            account_id: "000000000000".to_owned(),
        }
    }
}

/// A free TCP port on 127.0.0.1 (bound and released), for the container's server to bind.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(4567)
}

impl KclEmulator {
    /// Another tag of the image (for example the crate version).
    pub fn with_tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = tag.into();
        self
    }

    /// The 127.0.0.1 port the server binds (default: a free one picked now).
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// A stream created at start with `shards` shards (repeatable).
    pub fn with_stream(mut self, name: &str, shards: u32) -> Self {
        self.args
            .extend(["--stream".to_owned(), format!("{name}:{shards}")]);
        self
    }

    /// Per-shard throughput limits on (the default) or off.
    pub fn with_throughput_limits(mut self, on: bool) -> Self {
        self.args
            .extend(["--throughput-limits".to_owned(), on.to_string()]);
        self
    }

    /// How long new streams stay CREATING, resharded ones UPDATING, deleted ones DELETING, new consumers
    /// CREATING (milliseconds each; default 0).
    pub fn with_delays(mut self, create_ms: u64, update_ms: u64, delete_ms: u64, consumer_ms: u64) -> Self {
        for (flag, ms) in [
            ("--create-stream-ms", create_ms),
            ("--update-stream-ms", update_ms),
            ("--delete-stream-ms", delete_ms),
            ("--consumer-ms", consumer_ms),
        ] {
            self.args.extend([flag.to_owned(), ms.to_string()]);
        }
        self
    }

    /// The region named in ARNs (default `us-east-1`; also the region of [`kinesis_client`](Self::kinesis_client)).
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }

    /// The 12-digit account id named in ARNs (default `000000000000`).
    pub fn with_account_id(mut self, account_id: impl Into<String>) -> Self {
        self.account_id = account_id.into();
        self
    }

    /// Keeps the exact state in `host_dir` (bind-mounted at [`DATA_DIR`]), so a container started again
    /// with the same directory finds every stream and record. The container runs as uid 10001: the
    /// directory must be writable by it.
    pub fn with_persistence(mut self, host_dir: impl Into<PathBuf>) -> Self {
        let host: PathBuf = host_dir.into();
        self.mounts
            .push(Mount::bind_mount(host.to_string_lossy().into_owned(), DATA_DIR));
        self.args.extend(["--data-dir".to_owned(), DATA_DIR.to_owned()]);
        self
    }

    /// Any other flag of the binary (`kcl-emulator --help`).
    pub fn with_arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// The server's endpoint, `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port the server binds.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Starts the container with host networking and waits for the ready line.
    ///
    /// # Errors
    ///
    /// testcontainers' error: no docker engine, the image missing (build it with
    /// `scripts/build-images.sh`), or the server exiting before it was ready.
    pub async fn start(self) -> testcontainers::core::error::Result<ContainerAsync<KclEmulator>> {
        AsyncRunner::start(self.with_network("host")).await
    }

    /// An aws-sdk-kinesis client for a started container: its endpoint, its region, static test
    /// credentials (the server checks signatures, not keys).
    pub fn kinesis_client(container: &ContainerAsync<KclEmulator>) -> aws_sdk_kinesis::Client {
        let image = container.image();
        aws_sdk_kinesis::Client::from_conf(
            aws_sdk_kinesis::Config::builder()
                .behavior_version(aws_sdk_kinesis::config::BehaviorVersion::latest())
                .region(aws_sdk_kinesis::config::Region::new(image.region.clone()))
                .credentials_provider(aws_credential_types::Credentials::new(
                    "test",
                    "test",
                    None,
                    None,
                    "kcl-emulator-testcontainers",
                ))
                .endpoint_url(image.endpoint())
                .build(),
        )
    }
}

impl Image for KclEmulator {
    fn name(&self) -> &str {
        IMAGE_NAME
    }

    fn tag(&self) -> &str {
        &self.tag
    }

    fn ready_conditions(&self) -> Vec<WaitFor> {
        vec![WaitFor::message_on_stdout(READY_LINE)]
    }

    fn cmd(&self) -> impl IntoIterator<Item = impl Into<Cow<'_, str>>> {
        let mut cmd = vec![
            "--host".to_owned(),
            "127.0.0.1".to_owned(),
            "--port".to_owned(),
            self.port.to_string(),
            "--region".to_owned(),
            self.region.clone(),
            "--account-id".to_owned(),
            self.account_id.clone(),
        ];
        cmd.extend(self.args.iter().cloned());
        cmd
    }

    fn mounts(&self) -> impl IntoIterator<Item = &Mount> {
        &self.mounts
    }

    fn expose_ports(&self) -> &[ContainerPort] {
        // Host networking: the server binds the host's 127.0.0.1 directly; nothing is mapped.
        &[]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_carries_every_option() {
        let image = KclEmulator::default()
            .with_port(4999)
            .with_stream("orders", 4)
            .with_throughput_limits(false)
            .with_delays(1, 2, 3, 4)
            .with_region("eu-west-1")
            .with_account_id("123456789012")
            .with_persistence("/tmp/kcl-data");
        let cmd: Vec<String> = image.cmd().into_iter().map(|c| c.into().into_owned()).collect();
        let text = cmd.join(" ");
        for part in [
            "--host 127.0.0.1 --port 4999",
            "--region eu-west-1 --account-id 123456789012",
            "--stream orders:4",
            "--throughput-limits false",
            "--create-stream-ms 1 --update-stream-ms 2 --delete-stream-ms 3 --consumer-ms 4",
            "--data-dir /data",
        ] {
            assert!(text.contains(part), "{part:?} missing from {text}");
        }
        assert_eq!(image.endpoint(), "http://127.0.0.1:4999");
        assert_eq!(image.mounts().into_iter().count(), 1);
        assert_eq!((image.name(), image.tag()), ("kcl-emulator", "local"));
    }
}
