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
//! UnknownOperationException). Any FAIL fails this test. UNIMPLEMENTED is accepted only for the checks in
//! [`NOT_YET_IMPLEMENTED`], and a listed check that passes fails the test too, so the list always says
//! exactly what the emulator lacks: implementing an operation means deleting its check from the list.

use std::time::Duration;

use kcl_emulator::test_util::{skip_or_fail, TestServer};
use kcl_emulator::{Emulator, EmulatorConfig};

/// The checks of the script, one per command group.
const CHECKS: usize = 21;

/// Checks whose operations the emulator does not implement yet (operations in parentheses).
const NOT_YET_IMPLEMENTED: &[&str] = &[
    "resource_tags",       // TagResource, UntagResource, ListTagsForResource
    "encryption",          // StartStreamEncryption, StopStreamEncryption
    "enhanced_monitoring", // EnableEnhancedMonitoring, DisableEnhancedMonitoring
    "limits",              // DescribeLimits
    "account_settings",    // DescribeAccountSettings, UpdateAccountSettings
    "resource_policy",     // PutResourcePolicy, GetResourcePolicy, DeleteResourcePolicy
    "max_record_size",     // UpdateMaxRecordSize
    "warm_throughput",     // UpdateStreamWarmThroughput
    "record_distribution", // UpdateStreamRecordDistributionStrategy
    "channels",            // Create/Describe/List/Update/DeleteChannel
    "queues", // Create/Describe/List/Update/DeleteQueue, Receive/Acknowledge/UpdateQueueRecords...
    "dead_letter_records", // Receive/UpdateVisibility/Restore/AcknowledgeDeadLetterQueueRecords
];

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
        .filter_map(|l| l.split(':').next())
        .collect();
    let unexpected: Vec<&&str> = unimplemented
        .iter()
        .filter(|c| !NOT_YET_IMPLEMENTED.contains(c))
        .collect();
    assert!(
        unexpected.is_empty(),
        "the server answered UnknownOperationException in {unexpected:?}\n{report}"
    );
    let now_passing: Vec<&&str> = NOT_YET_IMPLEMENTED
        .iter()
        .filter(|c| stdout.lines().any(|l| l.starts_with(&format!("PASS {c} "))))
        .collect();
    assert!(
        now_passing.is_empty(),
        "{now_passing:?} now pass: delete them from NOT_YET_IMPLEMENTED in tests/server/awscli.rs\n{report}"
    );
    let passed = CHECKS - NOT_YET_IMPLEMENTED.len();
    let summary = format!(
        "aws-cli conformance: {passed} passed, {} unimplemented, 0 failed",
        NOT_YET_IMPLEMENTED.len()
    );
    assert!(stdout.contains(&summary), "expected `{summary}`\n{report}");
    server.stop().await;
}
