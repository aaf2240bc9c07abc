//! The AWS SDK for JavaScript v3 (npm `@aws-sdk/client-kinesis`) against the server: runs
//! `kcl-emulator/clients/js/conformance.test.cjs` with node's test runner. Covers the data plane, list
//! pages, enhanced fan-out (SubscribeToShard over HTTP/2: the Node.js Kinesis client sends every call over
//! h2c to an http:// endpoint), the control plane (encryption and records read back with their
//! EncryptionType, resource policies, tags by ARN, channels) and the mapping of service errors to the SDK's
//! exception classes.
//!
//! Needs `node` on the PATH and `KCL_TEST_NODE_MODULES`, a node_modules folder holding the SDK
//! (`scripts/services.sh` installs it into .ci/state/node and exports the variable). Without them the
//! test prints a loud `SKIPPED` line and passes, unless `KCL_TEST_REQUIRE_SERVERS=1`, in which case it
//! fails.

use std::time::Duration;

use kcl_emulator::test_util::{skip_or_fail, TestServer};
use kcl_emulator::{Emulator, EmulatorConfig};

/// The tests in the script.
const TESTS: usize = 7;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_sdk_data_plane_fan_out_and_errors() {
    let test = "AWS SDK for JavaScript conformance";
    let Ok(node_modules) = std::env::var("KCL_TEST_NODE_MODULES") else {
        skip_or_fail(
            test,
            "KCL_TEST_NODE_MODULES (a node_modules with @aws-sdk/client-kinesis) is not set \
             (scripts/services.sh installs it)",
        );
        return;
    };
    let sdk = std::path::Path::new(&node_modules).join("@aws-sdk/client-kinesis/package.json");
    if !sdk.exists() {
        skip_or_fail(test, &format!("{} is missing", sdk.display()));
        return;
    }
    // Consumers stay CREATING / DELETING for a moment, as in Kinesis: the script waits for ACTIVE before it
    // subscribes, and for the deregistered consumer to go.
    let config = EmulatorConfig::builder()
        .consumer_delay(Duration::from_millis(300))
        .build()
        .expect("a valid emulator config");
    let server = TestServer::start_with(Emulator::new(config)).await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/clients/js");
    let output = tokio::process::Command::new("node")
        .args(["--test", "conformance.test.cjs"])
        .current_dir(dir)
        .env("NODE_PATH", &node_modules)
        .env("KCL_TEST_KINESIS_ENDPOINT", &server.endpoint)
        .output()
        .await;
    let output = match output {
        Ok(output) => output,
        Err(e) => {
            skip_or_fail(test, &format!("cannot run node: {e}"));
            return;
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "node --test conformance.test.cjs failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains(&format!("# pass {TESTS}\n")) && stdout.contains("# fail 0\n"),
        "expected {TESTS} passing tests:\n{stdout}\n{stderr}"
    );
    server.stop().await;
}
