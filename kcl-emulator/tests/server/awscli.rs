//! aws-cli (PyPI `awscli`) against the server: runs `kcl-emulator/py/awscli_conformance.py`, which drives
//! every `aws kinesis` command (56 of the 57 operations: aws-cli v1 has no SubscribeToShard) and asserts
//! on their JSON output, one named check per command group.
//!
//! Needs `KCL_TEST_PYTHON` (the venv's python: the script imports botocore for the newer Kinesis model it
//! hands the CLI) and `KCL_TEST_AWS_CLI` (the venv's `aws`); `scripts/services.sh` installs and exports
//! both. Without them the test prints a loud `SKIPPED` line and passes, unless
//! `KCL_TEST_REQUIRE_SERVERS=1`, in which case it fails.
//!
//! The script reports each check as PASS, FAIL or UNIMPLEMENTED (the server answered
//! UnknownOperationException). The emulator implements every operation, so every check must pass: any
//! FAIL or UNIMPLEMENTED fails this test.

use std::time::Duration;

use kcl_emulator::test_util::{skip_or_fail, TestServer};
use kcl_emulator::{Emulator, EmulatorConfig};

/// The checks of the script, one per command group.
const CHECKS: usize = 21;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn awscli_runs_every_kinesis_command() {
    let (Ok(python), Ok(aws)) = (
        std::env::var("KCL_TEST_PYTHON"),
        std::env::var("KCL_TEST_AWS_CLI"),
    ) else {
        skip_or_fail(
            "aws-cli conformance",
            "KCL_TEST_PYTHON (a python with botocore) or KCL_TEST_AWS_CLI (an `aws` command) is not set \
             (scripts/services.sh installs both)",
        );
        return;
    };
    // Streams stay UPDATING and consumers CREATING / DELETING for a moment, as in Kinesis, so the suite meets
    // the transitions (and `aws kinesis wait stream-exists` a stream that is not ACTIVE yet after a split).
    let config = EmulatorConfig::builder()
        .updating_delay(Duration::from_millis(300))
        .consumer_delay(Duration::from_millis(300))
        .build()
        .expect("a valid emulator config");
    let server = TestServer::start_with(Emulator::new(config)).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/py/awscli_conformance.py");
    let output = tokio::process::Command::new(&python)
        .arg(script)
        .arg(&aws)
        .arg(&server.endpoint)
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report = format!("aws-cli script output:\n{stdout}\n{stderr}");
    println!("{report}");

    let failed: Vec<&str> = stdout.lines().filter_map(|l| l.strip_prefix("FAIL ")).collect();
    assert!(failed.is_empty(), "checks failed: {failed:?}\n{report}");
    let unimplemented: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("UNIMPLEMENTED "))
        .collect();
    assert!(
        unimplemented.is_empty(),
        "the server answered UnknownOperationException: {unimplemented:?}\n{report}"
    );
    let summary = format!("aws-cli conformance: {CHECKS} passed, 0 unimplemented, 0 failed");
    assert!(stdout.contains(&summary), "expected `{summary}`\n{report}");
    server.stop().await;
}
