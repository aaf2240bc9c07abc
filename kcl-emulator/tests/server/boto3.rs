//! boto3 (PyPI) against the server: runs `kcl-emulator/py/boto3_conformance.py` with `$KCL_TEST_PYTHON`.
//!
//! `KCL_TEST_PYTHON` names a python interpreter with boto3 installed. Without it the test prints a loud
//! `SKIPPED` line and passes, unless `KCL_TEST_REQUIRE_SERVERS=1`, in which case it fails.

use kcl_emulator::test_util::{skip_or_fail, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_create_put_list_get_split_describe() {
    let Ok(python) = std::env::var("KCL_TEST_PYTHON") else {
        skip_or_fail(
            "boto3 conformance",
            "KCL_TEST_PYTHON (a python with boto3) is not set",
        );
        return;
    };
    let server = TestServer::start().await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/py/boto3_conformance.py");
    let output = tokio::process::Command::new(&python)
        .arg(script)
        .arg(&server.endpoint)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "boto3 script failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("boto3 conformance: 7 checks passed"), "{stdout}");
    server.stop().await;
}
