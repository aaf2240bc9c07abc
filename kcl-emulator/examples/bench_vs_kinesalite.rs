//! Side-by-side benchmark of the emulator's server (`kcl-emulator`, release binary) against kinesalite.
//!
//! Both servers run as child processes on 127.0.0.1 for the whole run and are driven by the same client
//! (aws-sdk-kinesis, JSON 1.1 over HTTP/1.1, SDK retries off) through the same phases, one server after the
//! other within each phase: PutRecords of 500 x 100-byte records, then GetRecords (limit 10,000) reading
//! the stream back, each at concurrency 1 and 16, for a fixed time per phase. For every server and phase it
//! prints the records per second (wall clock) and the records per *server CPU-second*: the server
//! process's user + system time (all threads, from `/proc/<pid>/stat`) read before and after the phase.
//! The machine is shared, so the per-CPU-second figure and the ratios between the servers are the ones to
//! compare; the client's own CPU (SDK serialization, SigV4 signing) is not counted.
//!
//! Throttling: the emulator runs with `--throughput-limits false`; kinesalite 3.3.3 enforces no per-shard
//! throughput limits (its `putRecords` / `getRecords` actions have none), and `scripts/kinesalite.js`
//! starts it with `createStreamMs: 0` and `shardLimit: 1000`. The stream has 16 shards on both.
//!
//! Run everything (installs kinesalite with `scripts/services.sh`, builds, runs):
//! `bash scripts/bench-vs-kinesalite.sh [--seconds S]`; or, once built:
//! `cargo run --release -p kcl-emulator --example bench_vs_kinesalite -- [--seconds S] [--warmup S]
//! [--servers emulator,kinesalite] [--phases put1,put16,get1,get16] [--emulator-url URL]`. Before the
//! phases, each server takes `--warmup` seconds (default 2) of unmeasured PutRecords at concurrency 16, so
//! that kinesalite's JIT has compiled its hot paths. GetRecords phases read what the PutRecords phases of
//! the same run wrote. `--emulator-url` drives an emulator started elsewhere
//! (under a profiler, say); its CPU is then not measured. The emulator binary is looked up beside the
//! example's own (`target/release/kcl-emulator`) or taken from `KCL_BENCH_EMULATOR_BIN`; kinesalite is
//! started with `node scripts/kinesalite.js` and `NODE_PATH` = `$KCL_STATE_DIR/node/node_modules`
//! (default `.ci/state`).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, ShardIteratorType};
use aws_sdk_kinesis::Client;
use kcl_emulator::test_util::{create_stream, kinesis_client};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::time::Instant;

const STREAM: &str = "bench";
const SHARDS: i32 = 16;
const BATCH: usize = 500;
const RECORD_BYTES: usize = 100;
const GET_LIMIT: i32 = 10_000;
/// `sysconf(_SC_CLK_TCK)` on Linux.
const TICKS_PER_SEC: f64 = 100.0;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// One server under test.
struct Server {
    name: &'static str,
    /// The server process (None: started elsewhere, CPU not measured).
    child: Option<Child>,
    pid: Option<u32>,
    client: Client,
}

impl Server {
    /// User + system CPU time of the server process (all threads), from `/proc/<pid>/stat`.
    fn cpu(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid?)).ok()?;
        // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
        let rest = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
        Some(Duration::from_secs_f64((ticks(11)? + ticks(12)?) / TICKS_PER_SEC))
    }
}

/// Reads the child's stdout until a line containing `marker`, and returns that line.
async fn wait_for_line(child: &mut Child, marker: &str) -> Result<String, Error> {
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await? {
            if line.contains(marker) {
                return Ok::<_, std::io::Error>(Some(line));
            }
        }
        Ok(None)
    })
    .await??
    .ok_or_else(|| format!("the server exited before printing '{marker}'"))?;
    // Keep draining stdout so that the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok(line)
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

async fn start_emulator() -> Result<Server, Error> {
    let bin = match std::env::var_os("KCL_BENCH_EMULATOR_BIN") {
        Some(bin) => PathBuf::from(bin),
        None => {
            let exe = std::env::current_exe()?;
            // target/<profile>/examples/<this> -> target/<profile>/kcl-emulator
            let dir = exe
                .parent()
                .and_then(|d| d.parent())
                .ok_or("no target directory")?;
            dir.join("kcl-emulator")
        }
    };
    if !bin.exists() {
        return Err(format!(
            "{} not found: build it with `cargo build --release -p kcl-emulator --bin kcl-emulator`",
            bin.display()
        )
        .into());
    }
    let mut child = Command::new(&bin)
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--throughput-limits",
            "false",
        ])
        .args(["--log-level", "warn"])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let line = wait_for_line(&mut child, "listening on ").await?;
    let url = line.rsplit(' ').next().ok_or("no address")?.to_owned();
    Ok(Server {
        name: "kcl-emulator",
        pid: child.id(),
        child: Some(child),
        client: kinesis_client(&url),
    })
}

async fn start_kinesalite() -> Result<Server, Error> {
    let state = std::env::var_os("KCL_STATE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".ci/state"));
    let node_path = state.join("node/node_modules");
    if !node_path.join("kinesalite").exists() {
        return Err(format!(
            "kinesalite not found under {}: run `source scripts/services.sh && services_install`",
            node_path.display()
        )
        .into());
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut child = Command::new("node")
        .arg(repo_root().join("scripts/kinesalite.js"))
        .arg(port.to_string())
        .env("NODE_PATH", node_path)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    wait_for_line(&mut child, "listening on").await?;
    Ok(Server {
        name: "kinesalite",
        pid: child.id(),
        child: Some(child),
        client: kinesis_client(&format!("http://127.0.0.1:{port}")),
    })
}

/// The figures of one server in one phase.
#[derive(Debug, Clone, Copy)]
struct Figures {
    records: u64,
    /// PutRecords or GetRecords calls (GetShardIterator calls not counted).
    requests: u64,
    wall: Duration,
    cpu: Option<Duration>,
}

impl Figures {
    fn per_sec(&self) -> f64 {
        self.records as f64 / self.wall.as_secs_f64()
    }

    fn per_cpu_sec(&self) -> Option<f64> {
        self.cpu
            .map(|cpu| self.records as f64 / cpu.as_secs_f64().max(1.0 / TICKS_PER_SEC))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Put,
    Get,
}

impl Phase {
    fn label(self) -> &'static str {
        match self {
            Phase::Put => "PutRecords x500",
            Phase::Get => "GetRecords",
        }
    }
}

/// Writes batches of 500 records from `tasks` tasks until `deadline`; returns the records accepted and the
/// calls made.
async fn put(
    client: &Client,
    tasks: usize,
    deadline: Instant,
    task_base: usize,
) -> Result<(u64, u64), Error> {
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let client = client.clone();
            tokio::spawn(async move {
                let data = Blob::new(vec![b'x'; RECORD_BYTES]);
                let (mut n, mut calls) = (0u64, 0u64);
                let mut key = (task_base + t) * 1_000_003;
                while Instant::now() < deadline {
                    let entries = (0..BATCH)
                        .map(|_| {
                            key += 1;
                            PutRecordsRequestEntry::builder()
                                .data(data.clone())
                                .partition_key(format!("pk-{key}"))
                                .build()
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    let out = client
                        .put_records()
                        .stream_name(STREAM)
                        .set_records(Some(entries))
                        .send()
                        .await?;
                    n += (BATCH - usize::try_from(out.failed_record_count().unwrap_or(0))?) as u64;
                    calls += 1;
                }
                Ok::<_, Error>((n, calls))
            })
        })
        .collect();
    let mut total = (0, 0);
    for h in handles {
        let (n, calls) = h.await??;
        total = (total.0 + n, total.1 + calls);
    }
    Ok(total)
}

async fn trim_horizon(client: &Client, shard: &str) -> Result<String, Error> {
    Ok(client
        .get_shard_iterator()
        .stream_name(STREAM)
        .shard_id(shard)
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await?
        .shard_iterator
        .ok_or("no shard iterator")?)
}

/// Reads `shards` round and round from TRIM_HORIZON (GetRecords, limit 10,000) until `deadline`: each shard
/// until a call returns no records, then the next one. Returns the records read and the GetRecords calls.
async fn get_loop(client: Client, shards: Vec<String>, deadline: Instant) -> Result<(u64, u64), Error> {
    let (mut n, mut calls) = (0u64, 0u64);
    'passes: loop {
        for shard in &shards {
            let mut iterator = trim_horizon(&client, shard).await?;
            loop {
                if Instant::now() >= deadline {
                    break 'passes;
                }
                let out = client
                    .get_records()
                    .shard_iterator(iterator)
                    .limit(GET_LIMIT)
                    .send()
                    .await?;
                calls += 1;
                n += out.records().len() as u64;
                match out.next_shard_iterator {
                    Some(next) if !out.records.is_empty() => iterator = next,
                    _ => break,
                }
            }
        }
    }
    Ok((n, calls))
}

/// Reads the stream with `tasks` readers (1: one reader over every shard; 16: one per shard).
async fn get(
    client: &Client,
    shards: &[String],
    tasks: usize,
    deadline: Instant,
) -> Result<(u64, u64), Error> {
    let mut groups: Vec<Vec<String>> = vec![Vec::new(); tasks];
    for (i, shard) in shards.iter().enumerate() {
        groups[i % tasks].push(shard.clone());
    }
    let handles: Vec<_> = groups
        .into_iter()
        .map(|group| tokio::spawn(get_loop(client.clone(), group, deadline)))
        .collect();
    let mut total = (0, 0);
    for h in handles {
        let (n, calls) = h.await??;
        total = (total.0 + n, total.1 + calls);
    }
    Ok(total)
}

async fn run_phase(
    server: &Server,
    shards: &[String],
    phase: Phase,
    concurrency: usize,
    seconds: f64,
    round: usize,
) -> Result<Figures, Error> {
    let cpu_before = server.cpu();
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(seconds);
    let (records, requests) = match phase {
        Phase::Put => put(&server.client, concurrency, deadline, round * 64).await?,
        Phase::Get => get(&server.client, shards, concurrency, deadline).await?,
    };
    let wall = start.elapsed();
    let cpu = cpu_before.zip(server.cpu()).map(|(b, a)| a.saturating_sub(b));
    Ok(Figures {
        records,
        requests,
        wall,
        cpu,
    })
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn fmt_num(x: f64) -> String {
    let digits = format!("{:.0}", x);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

struct Args {
    seconds: f64,
    /// Unmeasured PutRecords (concurrency 16) on each server first, so that kinesalite's JIT has warmed up.
    warmup: f64,
    phases: Vec<(Phase, usize)>,
    servers: Vec<String>,
    emulator_url: Option<String>,
}

fn args() -> Result<Args, Error> {
    let mut out = Args {
        seconds: 5.0,
        warmup: 2.0,
        phases: vec![
            (Phase::Put, 1),
            (Phase::Put, 16),
            (Phase::Get, 1),
            (Phase::Get, 16),
        ],
        servers: vec!["emulator".into(), "kinesalite".into()],
        emulator_url: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--seconds" => out.seconds = value()?.parse()?,
            "--warmup" => out.warmup = value()?.parse()?,
            "--servers" => out.servers = value()?.split(',').map(str::to_owned).collect(),
            "--emulator-url" => out.emulator_url = Some(value()?),
            "--phases" => {
                out.phases = value()?
                    .split(',')
                    .map(|p| match p {
                        "put1" => Ok((Phase::Put, 1)),
                        "put16" => Ok((Phase::Put, 16)),
                        "get1" => Ok((Phase::Get, 1)),
                        "get16" => Ok((Phase::Get, 16)),
                        other => Err(format!("unknown phase {other} (put1, put16, get1, get16)")),
                    })
                    .collect::<Result<_, _>>()?
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    Ok(out)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args = args()?;
    let mut servers = Vec::new();
    for name in &args.servers {
        servers.push(match (name.as_str(), &args.emulator_url) {
            ("emulator", Some(url)) => Server {
                name: "kcl-emulator",
                child: None,
                pid: None,
                client: kinesis_client(url),
            },
            ("emulator", None) => start_emulator().await?,
            ("kinesalite", _) => start_kinesalite().await?,
            (other, _) => return Err(format!("unknown server {other}").into()),
        });
    }
    let mut shard_ids = Vec::new();
    for server in &servers {
        // A stream left by an earlier run against `--emulator-url` is reused (for profiling one phase).
        let exists = server
            .client
            .describe_stream_summary()
            .stream_name(STREAM)
            .send()
            .await
            .is_ok();
        if !exists {
            create_stream(&server.client, STREAM, SHARDS).await;
        }
        let shards = server
            .client
            .list_shards()
            .stream_name(STREAM)
            .send()
            .await?
            .shards
            .unwrap_or_default();
        shard_ids.push(shards.into_iter().map(|s| s.shard_id).collect::<Vec<_>>());
    }
    for (server, shards) in servers.iter().zip(&shard_ids) {
        if args.warmup > 0.0 {
            run_phase(server, shards, Phase::Put, 16, args.warmup, 99).await?;
        }
    }
    println!(
        "bench_vs_kinesalite: {SHARDS} shards, PutRecords of {BATCH} x {RECORD_BYTES} B records, GetRecords \
         limit {GET_LIMIT}, {} s per server and phase after {} s of unmeasured PutRecords; load average {}",
        args.seconds,
        args.warmup,
        load_average()
    );
    let mut rows = Vec::new();
    for (round, &(phase, concurrency)) in args.phases.iter().enumerate() {
        let mut figures = Vec::new();
        for (server, shards) in servers.iter().zip(&shard_ids) {
            let f = run_phase(server, shards, phase, concurrency, args.seconds, round).await?;
            println!(
                "{:<12} {:<15} c={:<2}: {:>9} records ({} calls) in {:>6.2} s = {:>11} records/s; server CPU {} \
                 = {} records per server CPU-second",
                server.name,
                phase.label(),
                concurrency,
                f.records,
                f.requests,
                f.wall.as_secs_f64(),
                fmt_num(f.per_sec()),
                f.cpu.map_or("n/a".into(), |c| format!("{:.2} s", c.as_secs_f64())),
                f.per_cpu_sec().map_or("n/a".into(), fmt_num),
            );
            figures.push(f);
        }
        rows.push((phase, concurrency, figures));
    }
    println!("load average at the end: {}", load_average());

    println!();
    let names: Vec<&str> = servers.iter().map(|s| s.name).collect();
    let mut header = String::from("| phase | c |");
    for name in &names {
        header += &format!(" {name} records/s | {name} records per server CPU-s |");
    }
    let ratios = names.len() == 2;
    if ratios {
        header += " ratio records/s | ratio per server CPU-s |";
    }
    println!("{header}");
    println!("|{}", "---|".repeat(header.matches('|').count() - 1));
    for (phase, concurrency, figures) in &rows {
        let mut line = format!("| {} | {concurrency} |", phase.label());
        for f in figures {
            line += &format!(
                " {} | {} |",
                fmt_num(f.per_sec()),
                f.per_cpu_sec().map_or("n/a".into(), fmt_num)
            );
        }
        if ratios {
            let wall = figures[0].per_sec() / figures[1].per_sec();
            let cpu = figures[0]
                .per_cpu_sec()
                .zip(figures[1].per_cpu_sec())
                .map(|(a, b)| a / b);
            line += &format!(
                " {wall:.1}x | {} |",
                cpu.map_or("n/a".into(), |c| format!("{c:.1}x"))
            );
        }
        println!("{line}");
    }
    for server in &mut servers {
        if let Some(child) = &mut server.child {
            let _ = child.kill().await;
        }
    }
    Ok(())
}
