//! `kcl-emulator`: the Kinesis emulator as a standalone server.
//!
//! Speaks the Kinesis wire protocol (JSON 1.1, CBOR 1.1, SubscribeToShard event streams; HTTP/1.1 and h2c)
//! so that any Kinesis client can point its endpoint at it. Prints `kcl-emulator listening on http://ADDR`
//! once it accepts connections, and stops on Ctrl-C or SIGTERM. See the crate README's "Server" section.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{ArgAction, Parser};
use kcl_emulator::server::{InitialStream, Server, TlsConfig, DEFAULT_MAX_REQUEST_BYTES};
use kcl_emulator::{Emulator, EmulatorConfig};
use tracing_subscriber::EnvFilter;

/// mimalloc rather than the system allocator: the server allocates per record on every request, from
/// several threads (feature `mimalloc`, on by default; see the crate's BENCHMARKS.md).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Command-line options.
#[derive(Debug, Parser)]
#[command(
    name = "kcl-emulator",
    version,
    about = "A Kinesis Data Streams emulator speaking the AWS wire protocol"
)]
struct Args {
    /// Address to bind (keep it on loopback unless you mean to expose the emulator).
    #[arg(long, default_value = "127.0.0.1", env = "KCL_EMULATOR_HOST")]
    host: String,
    /// Port to bind; 0 picks a free one (the chosen port is printed).
    #[arg(long, default_value_t = 4567, env = "KCL_EMULATOR_PORT")]
    port: u16,
    /// Open-shard limit of the emulated account.
    #[arg(long, default_value_t = 500, env = "KCL_EMULATOR_SHARD_LIMIT")]
    shard_limit: u32,
    /// Milliseconds a new stream stays CREATING.
    #[arg(long, default_value_t = 0, env = "KCL_EMULATOR_CREATE_STREAM_MS")]
    create_stream_ms: u64,
    /// Milliseconds a stream stays UPDATING after resharding or retention changes.
    #[arg(long, default_value_t = 0, env = "KCL_EMULATOR_UPDATE_STREAM_MS")]
    update_stream_ms: u64,
    /// Milliseconds a deleted stream stays DELETING.
    #[arg(long, default_value_t = 0, env = "KCL_EMULATOR_DELETE_STREAM_MS")]
    delete_stream_ms: u64,
    /// Milliseconds a registered consumer stays CREATING (and a deregistered one DELETING).
    #[arg(long, default_value_t = 0, env = "KCL_EMULATOR_CONSUMER_MS")]
    consumer_ms: u64,
    /// Enforce per-shard throughput limits (ProvisionedThroughputExceededException): true or false.
    #[arg(long, default_value_t = true, action = ArgAction::Set, value_name = "BOOL", env = "KCL_EMULATOR_THROUGHPUT_LIMITS")]
    throughput_limits: bool,
    /// Retention in hours given to new streams (24..=8760).
    #[arg(long, default_value_t = 24, env = "KCL_EMULATOR_RETENTION_HOURS")]
    retention_hours: u32,
    /// A stream to create at start, as name:shards (repeatable; in the environment, comma-separated).
    #[arg(
        long = "stream",
        value_name = "NAME:SHARDS",
        env = "KCL_EMULATOR_STREAMS",
        value_delimiter = ','
    )]
    streams: Vec<String>,
    /// The region named in ARNs.
    #[arg(long, default_value = "us-east-1", env = "KCL_EMULATOR_REGION")]
    region: String,
    /// The 12-digit account id named in ARNs.
    #[arg(long, default_value = "000000000000", env = "KCL_EMULATOR_ACCOUNT_ID")]
    account_id: String,
    /// Keep the exact state (records with their sequence numbers included) across restarts in this directory.
    #[arg(long, value_name = "DIR", env = "KCL_EMULATOR_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Largest accepted request body in bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_REQUEST_BYTES, env = "KCL_EMULATOR_MAX_REQUEST_BYTES")]
    max_request_bytes: usize,
    /// Serve HTTPS (HTTP/2 by ALPN) with a fresh self-signed certificate for localhost / 127.0.0.1 / ::1.
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
    tls: bool,
    /// With --tls: write the generated certificate (PEM) here, for clients to trust.
    #[arg(long, value_name = "FILE", requires = "tls")]
    tls_cert_out: Option<PathBuf>,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Log filter (error, warn, info, debug, trace, or a tracing directive); RUST_LOG overrides it.
    #[arg(long, default_value = "info", env = "KCL_EMULATOR_LOG_LEVEL")]
    log_level: String,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&args.log_level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // Colour codes only on a terminal: piped to a file or a log driver, lines stay plain text.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("kcl-emulator: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("kcl-emulator: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut config = EmulatorConfig::builder()
        .shard_limit(args.shard_limit)
        .creating_delay(Duration::from_millis(args.create_stream_ms))
        .updating_delay(Duration::from_millis(args.update_stream_ms))
        .deleting_delay(Duration::from_millis(args.delete_stream_ms))
        .consumer_delay(Duration::from_millis(args.consumer_ms))
        .default_retention_hours(args.retention_hours)
        .region(&args.region)
        .account_id(&args.account_id);
    if !args.throughput_limits {
        config = config.without_throughput_limits();
    }
    let emulator = Emulator::new(config.build()?);

    let mut builder = Server::builder()
        .emulator(emulator)
        .max_request_bytes(args.max_request_bytes);
    for stream in &args.streams {
        builder = builder.initial_stream(stream.parse::<InitialStream>()?);
    }
    if let Some(dir) = &args.data_dir {
        builder = builder.persistence_dir(dir);
    }
    let scheme = match tls_config(&args).await? {
        Some(tls) => {
            builder = builder.tls(tls);
            "https"
        }
        None => "http",
    };
    let server = builder.build()?;

    let address: SocketAddr = tokio::net::lookup_host((args.host.as_str(), args.port))
        .await?
        .next()
        .ok_or_else(|| format!("cannot resolve host '{}'", args.host))?;
    let listener = tokio::net::TcpListener::bind(address).await?;
    let local = listener.local_addr()?;
    let shutdown = shutdown_signal();
    // Tests and scripts wait for this line to learn the endpoint.
    println!("kcl-emulator listening on {scheme}://{local}");
    server.serve(listener, shutdown).await?;
    Ok(())
}

/// The TLS setup the flags ask for, writing a generated certificate out when requested.
async fn tls_config(args: &Args) -> Result<Option<TlsConfig>, Box<dyn std::error::Error>> {
    if args.tls {
        let tls = TlsConfig::self_signed(&[args.host.as_str()])?;
        if let Some(path) = &args.tls_cert_out {
            tokio::fs::write(path, tls.cert_pem()).await?;
        }
        return Ok(Some(tls));
    }
    match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            let cert = tokio::fs::read_to_string(cert).await?;
            let key = tokio::fs::read_to_string(key).await?;
            Ok(Some(TlsConfig::from_pem(&cert, &key)?))
        }
        _ => Ok(None),
    }
}

/// Completes on SIGTERM or SIGINT. The handlers are installed here, before the endpoint line is printed, so
/// a signal sent as soon as the line appears already stops the server gracefully.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let handlers = {
        use tokio::signal::unix::{signal, SignalKind};
        (
            signal(SignalKind::terminate()).ok(),
            signal(SignalKind::interrupt()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            async fn next(s: &mut Option<tokio::signal::unix::Signal>) {
                match s {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending().await,
                }
            }
            let (mut term, mut int) = handlers;
            if term.is_none() && int.is_none() {
                let _ = tokio::signal::ctrl_c().await;
            } else {
                tokio::select! {
                    _ = next(&mut term) => {}
                    _ = next(&mut int) => {}
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutting down");
    }
}
