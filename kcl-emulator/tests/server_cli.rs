//! The `kcl-emulator` binary: flags, the printed endpoint, and persistence across a restart.
//!
//! With `KCL_TEST_EMULATOR_IMAGE=<image>` (for example `kcl-emulator:local`, built by
//! `scripts/build-images.sh`) the same checks run against the container image instead of the binary:
//! `docker run -i --network host`, the temp directory mounted at the same path (the README test command
//! runs them both ways).

use std::process::Stdio;
use std::time::Duration;

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::ShardIteratorType;
use kcl_emulator::server::Server;
use kcl_emulator::test_util::{kinesis_client, TestServer};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The binary, or `docker run ... <image>` when `KCL_TEST_EMULATOR_IMAGE` is set (signals reach the container
/// through docker's signal proxy; its exit code is the command's).
fn emulator_command() -> Command {
    match std::env::var("KCL_TEST_EMULATOR_IMAGE") {
        Ok(image) if !image.is_empty() => {
            let tmp = std::env::temp_dir();
            let tmp = tmp.to_string_lossy();
            let mut cmd = Command::new("docker");
            cmd.args([
                "run",
                "--rm",
                "-i",
                "--network",
                "host",
                "--user",
                "0:0",
                "--label",
                "kcl-test=server_cli",
            ])
            .args(["-v", &format!("{tmp}:{tmp}")])
            .arg(image);
            cmd
        }
        _ => Command::new(env!("CARGO_BIN_EXE_kcl-emulator")),
    }
}

/// Starts the binary with `args` (plus `--port 0`) and returns it with the endpoint it printed.
async fn start_binary(args: &[&str]) -> (Child, String) {
    let mut child = emulator_command()
        .args(["--host", "127.0.0.1", "--port", "0", "--log-level", "warn"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("the server printed nothing within 20 s")
        .unwrap()
        .expect("the server exited before printing its endpoint");
    let endpoint = line
        .strip_prefix("kcl-emulator listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_owned();
    (child, endpoint)
}

async fn read_all(client: &aws_sdk_kinesis::Client, stream: &str) -> Vec<Vec<u8>> {
    let shards = client.list_shards().stream_name(stream).send().await.unwrap();
    let mut data = Vec::new();
    for shard in shards.shards() {
        let it = client
            .get_shard_iterator()
            .stream_name(stream)
            .shard_id(shard.shard_id())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap();
        let out = client
            .get_records()
            .shard_iterator(it.shard_iterator().unwrap())
            .send()
            .await
            .unwrap();
        data.extend(out.records().iter().map(|r| r.data().as_ref().to_vec()));
    }
    data.sort();
    data
}

/// The record at `seq` in `shard` of `stream`: (data, sequence number, arrival time in ms).
async fn record_at(
    client: &aws_sdk_kinesis::Client,
    stream: &str,
    shard: &str,
    seq: &str,
) -> (Vec<u8>, String, i64) {
    let it = client
        .get_shard_iterator()
        .stream_name(stream)
        .shard_id(shard)
        .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
        .starting_sequence_number(seq)
        .send()
        .await
        .unwrap();
    let out = client
        .get_records()
        .shard_iterator(it.shard_iterator().unwrap())
        .limit(1)
        .send()
        .await
        .unwrap();
    let record = &out.records()[0];
    let arrival = record.approximate_arrival_timestamp().unwrap();
    (
        record.data().as_ref().to_vec(),
        record.sequence_number().to_owned(),
        arrival.to_millis().unwrap(),
    )
}

#[tokio::test]
async fn binary_creates_initial_streams_and_persists_across_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap().to_owned();
    let (mut first, endpoint) = start_binary(&[
        "--stream",
        "orders:2",
        "--data-dir",
        &data_dir,
        "--throughput-limits",
        "false",
        "--retention-hours",
        "48",
    ])
    .await;
    let kinesis = kinesis_client(&endpoint);
    let summary = kinesis
        .describe_stream_summary()
        .stream_name("orders")
        .send()
        .await
        .unwrap();
    let summary = summary.stream_description_summary().unwrap();
    assert_eq!(summary.open_shard_count(), 2);
    assert_eq!(summary.retention_period_hours(), 48);
    let mut puts = Vec::new();
    for i in 0..20 {
        let put = kinesis
            .put_record()
            .stream_name("orders")
            .partition_key(format!("key-{i}"))
            .data(Blob::new(format!("record-{i:02}")))
            .send()
            .await
            .unwrap();
        puts.push((put.shard_id().to_owned(), put.sequence_number().to_owned()));
    }
    let mut seen = Vec::new();
    for (shard, seq) in &puts {
        seen.push(record_at(&kinesis, "orders", shard, seq).await);
    }
    let shard = kinesis
        .list_shards()
        .stream_name("orders")
        .send()
        .await
        .unwrap()
        .shards()[0]
        .shard_id()
        .to_owned();
    kinesis
        .split_shard()
        .stream_name("orders")
        .shard_to_split(&shard)
        .new_starting_hash_key("42535295865117307932921825928971026432")
        .send()
        .await
        .unwrap();
    let before = read_all(&kinesis, "orders").await;
    assert_eq!(before.len(), 20);
    // A hard kill: nothing gets a chance to flush beyond what each request already wrote.
    first.kill().await.unwrap();

    let (mut second, endpoint) = start_binary(&[
        "--stream",
        "orders:2",
        "--data-dir",
        &data_dir,
        "--throughput-limits",
        "false",
    ])
    .await;
    let kinesis = kinesis_client(&endpoint);
    let shards = kinesis.list_shards().stream_name("orders").send().await.unwrap();
    assert_eq!(shards.shards().len(), 4, "the split survived");
    assert_eq!(read_all(&kinesis, "orders").await, before, "the records survived");
    for ((shard, seq), expected) in puts.iter().zip(&seen) {
        assert_eq!(
            &record_at(&kinesis, "orders", shard, seq).await,
            expected,
            "same record, sequence number and arrival time"
        );
    }
    // More writes after the restart, then a graceful restart (SIGTERM writes a snapshot).
    let late = kinesis
        .put_record()
        .stream_name("orders")
        .partition_key("late")
        .data(Blob::new("late"))
        .send()
        .await
        .unwrap();
    let late_seen = record_at(&kinesis, "orders", late.shard_id(), late.sequence_number()).await;
    terminate(&mut second).await;
    assert!(dir.path().join("snapshot.json").exists());
    let (mut third, endpoint) =
        start_binary(&["--data-dir", &data_dir, "--throughput-limits", "false"]).await;
    let kinesis = kinesis_client(&endpoint);
    assert_eq!(
        record_at(&kinesis, "orders", late.shard_id(), late.sequence_number()).await,
        late_seen
    );
    let (shard, seq) = &puts[0];
    assert_eq!(&record_at(&kinesis, "orders", shard, seq).await, &seen[0]);
    third.kill().await.unwrap();
}

/// Stops the binary with SIGTERM and waits for it to exit.
async fn terminate(child: &mut Child) {
    let pid = child.id().unwrap();
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .await
        .unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("the server did not stop within 20 s")
        .unwrap();
    assert!(exit.success(), "{exit:?}");
}

#[tokio::test]
async fn binary_refuses_a_corrupt_snapshot_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("snapshot.json"), b"{\"version\": 1, \"trunc").unwrap();
    let output = emulator_command()
        .args(["--host", "127.0.0.1", "--port", "0", "--data-dir"])
        .arg(dir.path())
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("snapshot.json"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[tokio::test]
async fn logs_on_a_pipe_carry_no_colour_codes() {
    let mut child = emulator_command()
        .args(["--host", "127.0.0.1", "--port", "0", "--log-level", "info"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .unwrap()
        .unwrap();
    assert!(first.is_some_and(|l| l.starts_with("kcl-emulator listening on ")));
    let stderr = child.stderr.take().unwrap();
    terminate(&mut child).await;
    let mut text = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut BufReader::new(stderr), &mut text)
        .await
        .unwrap();
    // The tracing lines (at least the shutdown's) are plain text on a pipe.
    assert!(text.contains("INFO"), "{text}");
    assert!(!text.contains('\u{1b}'), "colour codes on a pipe: {text:?}");
}

#[tokio::test]
async fn binary_rejects_bad_flags() {
    let output = emulator_command()
        .args(["--port", "0", "--stream", "no-shard-count"])
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("name:shards"));
}

#[tokio::test]
async fn in_process_persistence_restores_the_exact_state() {
    let dir = tempfile::tempdir().unwrap();
    let server =
        TestServer::start_server(Server::builder().persistence_dir(dir.path()).build().unwrap()).await;
    let kinesis = server.client();
    kinesis
        .create_stream()
        .stream_name("kept")
        .shard_count(1)
        .send()
        .await
        .unwrap();
    let put = kinesis
        .put_record()
        .stream_name("kept")
        .partition_key("k")
        .data(Blob::new("survives"))
        .send()
        .await
        .unwrap();
    let seen = record_at(&kinesis, "kept", put.shard_id(), put.sequence_number()).await;
    let consumer = kinesis
        .register_stream_consumer()
        .stream_arn("arn:aws:kinesis:us-east-1:000000000000:stream/kept")
        .consumer_name("app")
        .send()
        .await
        .unwrap()
        .consumer()
        .unwrap()
        .consumer_arn()
        .to_owned();
    kinesis
        .add_tags_to_stream()
        .stream_name("kept")
        .tags("owner", "tests")
        .send()
        .await
        .unwrap();
    server.stop().await;

    let server =
        TestServer::start_server(Server::builder().persistence_dir(dir.path()).build().unwrap()).await;
    let kinesis = server.client();
    assert_eq!(read_all(&kinesis, "kept").await, [b"survives".to_vec()]);
    assert_eq!(
        record_at(&kinesis, "kept", put.shard_id(), put.sequence_number()).await,
        seen,
        "the checkpointed sequence number still reads the same record, same arrival time"
    );
    let described = kinesis
        .describe_stream_consumer()
        .consumer_arn(&consumer)
        .send()
        .await
        .unwrap();
    assert_eq!(described.consumer_description().unwrap().consumer_arn(), consumer);
    let tags = kinesis
        .list_tags_for_stream()
        .stream_name("kept")
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags()[0].key(), "owner");
    server.stop().await;
}

/// Reads one shard `calls` times in quick succession; returns how many calls were throttled.
async fn throttled_reads(endpoint: &str, calls: usize) -> usize {
    let kinesis = kinesis_client(endpoint);
    let shard = kinesis
        .list_shards()
        .stream_name("hot")
        .send()
        .await
        .unwrap()
        .shards()[0]
        .shard_id()
        .to_owned();
    let it = kinesis
        .get_shard_iterator()
        .stream_name("hot")
        .shard_id(shard)
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap();
    let mut iterator = it.shard_iterator().unwrap().to_owned();
    let mut throttled = 0;
    for _ in 0..calls {
        match kinesis.get_records().shard_iterator(&iterator).send().await {
            Ok(out) => iterator = out.next_shard_iterator().unwrap().to_owned(),
            Err(e) => {
                let e = e.into_service_error();
                assert!(e.is_provisioned_throughput_exceeded_exception(), "{e:?}");
                throttled += 1;
            }
        }
    }
    throttled
}

#[tokio::test]
async fn throughput_limits_flag_switches_throttling() {
    let (mut limited, endpoint) = start_binary(&["--stream", "hot:1"]).await;
    assert!(
        throttled_reads(&endpoint, 30).await > 0,
        "5 reads/s per shard is enforced by default"
    );
    limited.kill().await.unwrap();

    let (mut unlimited, endpoint) =
        start_binary(&["--stream", "hot:1", "--throughput-limits", "false"]).await;
    assert_eq!(throttled_reads(&endpoint, 30).await, 0);
    unlimited.kill().await.unwrap();
}

#[tokio::test]
async fn persistence_keeps_exactly_the_accepted_records_under_throttling() {
    let dir = tempfile::tempdir().unwrap();
    // Default emulator: AWS limits on (1,000 records/s per shard).
    let server =
        TestServer::start_server(Server::builder().persistence_dir(dir.path()).build().unwrap()).await;
    let kinesis = server.client();
    kinesis
        .create_stream()
        .stream_name("busy")
        .shard_count(1)
        .send()
        .await
        .unwrap();
    let mut accepted = Vec::new();
    for batch in 0..10 {
        let entries = (0..500)
            .map(|i| {
                aws_sdk_kinesis::types::PutRecordsRequestEntry::builder()
                    .partition_key("k")
                    .data(Blob::new(format!("{batch}-{i:03}")))
                    .build()
                    .unwrap()
            })
            .collect::<Vec<_>>();
        let out = kinesis
            .put_records()
            .stream_name("busy")
            .set_records(Some(entries))
            .send()
            .await
            .unwrap();
        for (i, result) in out.records().iter().enumerate() {
            if result.error_code().is_none() {
                accepted.push(format!("{batch}-{i:03}").into_bytes());
            }
        }
    }
    assert!(accepted.len() < 5000, "the burst should have been throttled");
    assert!(!accepted.is_empty());
    server.stop().await;

    let server =
        TestServer::start_server(Server::builder().persistence_dir(dir.path()).build().unwrap()).await;
    let kinesis = server.client();
    let mut replayed = read_all(&kinesis, "busy").await;
    accepted.sort();
    replayed.sort();
    assert_eq!(replayed.len(), accepted.len());
    assert_eq!(replayed, accepted);
    server.stop().await;
}

#[tokio::test]
async fn binary_serves_https_with_a_generated_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    let (mut child, endpoint) = start_binary(&["--tls", "--tls-cert-out", cert.to_str().unwrap()]).await;
    assert!(endpoint.starts_with("https://127.0.0.1:"), "{endpoint}");
    let pem = tokio::fs::read_to_string(&cert).await.unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    // A cleartext client cannot talk to it.
    let plain = kinesis_client(&endpoint.replace("https://", "http://"));
    assert!(plain.list_streams().send().await.is_err());
    child.kill().await.unwrap();
}

#[tokio::test]
async fn concurrent_writes_to_one_shard_restore_exactly_from_a_crash_image() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = kcl_emulator::Emulator::new(
        kcl_emulator::EmulatorConfig::builder()
            .without_throughput_limits()
            .build()
            .unwrap(),
    );
    let server = TestServer::start_server(
        Server::builder()
            .emulator(emulator.clone())
            .persistence_dir(dir.path())
            .build()
            .unwrap(),
    )
    .await;
    let kinesis = server.client();
    kinesis
        .create_stream()
        .stream_name("one")
        .shard_count(1)
        .send()
        .await
        .unwrap();
    let writers = (0..8).map(|w| {
        let kinesis = kinesis.clone();
        tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            for i in 0..25 {
                let put = kinesis
                    .put_record()
                    .stream_name("one")
                    .partition_key(format!("w{w}"))
                    .data(Blob::new(format!("{w}-{i}")))
                    .send()
                    .await
                    .unwrap();
                acknowledged.push((put.shard_id().to_owned(), put.sequence_number().to_owned()));
            }
            acknowledged
        })
    });
    let mut acknowledged = Vec::new();
    for writer in writers {
        acknowledged.extend(writer.await.unwrap());
    }
    let mut seen = Vec::new();
    for (shard, seq) in &acknowledged {
        seen.push(record_at(&kinesis, "one", shard, seq).await);
    }
    // What a hard kill leaves behind: the files as they are while the server runs.
    let image = tempfile::tempdir().unwrap();
    for file in ["snapshot.json", "records.jsonl"] {
        std::fs::copy(dir.path().join(file), image.path().join(file)).unwrap();
    }
    let journal = std::fs::read_to_string(image.path().join("records.jsonl")).unwrap();
    assert_eq!(
        journal.lines().count(),
        200,
        "the writes are in the journal, not yet in a snapshot"
    );
    server.stop().await;

    let restored = kcl_emulator::Emulator::new(
        kcl_emulator::EmulatorConfig::builder()
            .without_throughput_limits()
            .build()
            .unwrap(),
    );
    let server = TestServer::start_server(
        Server::builder()
            .emulator(restored.clone())
            .persistence_dir(image.path())
            .build()
            .unwrap(),
    )
    .await;
    let kinesis = server.client();
    for ((shard, seq), expected) in acknowledged.iter().zip(&seen) {
        assert_eq!(&record_at(&kinesis, "one", shard, seq).await, expected);
    }
    assert_eq!(restored.snapshot(), emulator.snapshot());
    server.stop().await;
}
