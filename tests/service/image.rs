//! The container image of `ecs_consumer`: built locally by `scripts/build-image.sh` (no registry), run with
//! host networking against the kcl-emulator server (in this test process) and dynalite on 127.0.0.1: it
//! answers `/healthz`, its own `--healthcheck` (the ECS container health check) exits 0 inside the
//! container, and `docker stop` (SIGTERM) stops it with exit code 0.
//!
//! Needs a docker engine and `KCL_TEST_DYNALITE_URL` (skips loudly without them, unless
//! `KCL_TEST_REQUIRE_DOCKER=1` / `KCL_TEST_REQUIRE_SERVERS=1`, as the README test command sets).

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use crate::support::{self, ecs_consumer_binary};
use kcl_emulator::test_util::{self, TestServer};

fn docker(args: &[&str]) -> (bool, String) {
    let out = Command::new("docker").args(args).output().expect("docker runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text.trim().to_owned())
}

/// Removes the container and the image however the test ends.
struct Cleanup {
    container: String,
    image: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = docker(&["rm", "-f", &self.container]);
        let _ = docker(&["rmi", "-f", &self.image]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_image_runs_answers_healthz_and_stops_on_sigterm() {
    if !test_util::docker("ecs_consumer image") {
        return;
    }
    let Some(dynalite) = support::dynalite("ecs_consumer image") else {
        return;
    };
    let image = format!("kcl-ecs-consumer:test-{}", std::process::id());
    let container = test_util::unique_name("kcl-ecs-consumer");
    let _cleanup = Cleanup {
        container: container.clone(),
        image: image.clone(),
    };
    let binary = ecs_consumer_binary();
    let root = env!("CARGO_MANIFEST_DIR");
    let build = Command::new("bash")
        .arg(format!("{root}/scripts/build-image.sh"))
        .arg(&binary)
        .arg(&image)
        .args(["--port", "8080"])
        .output()
        .unwrap();
    let build_log = format!(
        "{}{}",
        String::from_utf8_lossy(&build.stdout),
        String::from_utf8_lossy(&build.stderr)
    );
    println!("{}", build_log.trim());
    assert!(build.status.success(), "build-image.sh failed:\n{build_log}");

    let emulator = TestServer::start_unlimited().await;
    let kinesis = test_util::kinesis_client(&emulator.endpoint);
    let stream = test_util::unique_name("image");
    test_util::create_stream(&kinesis, &stream, 2).await;
    let http = SocketAddr::from(([127, 0, 0, 1], support::free_port()));
    let envs = [
        format!("KCL_APPLICATION_NAME={}", test_util::unique_name("image-app")),
        format!("KCL_STREAM_NAME={stream}"),
        "KCL_WORKER_ID=container-1".to_owned(),
        "KCL_INITIAL_POSITION=TRIM_HORIZON".to_owned(),
        format!("KCL_HTTP_ADDR={http}"),
        "KCL_LOG_FORMAT=json".to_owned(),
        "KCL_SHUTDOWN_DEADLINE=5s".to_owned(),
        "AWS_REGION=us-east-1".to_owned(),
        "AWS_ACCESS_KEY_ID=test".to_owned(),
        "AWS_SECRET_ACCESS_KEY=test".to_owned(),
        "AWS_EC2_METADATA_DISABLED=true".to_owned(),
        format!("AWS_ENDPOINT_URL_KINESIS={}", emulator.endpoint),
        format!("AWS_ENDPOINT_URL_DYNAMODB={dynalite}"),
    ];
    let mut args = vec!["run", "-d", "--network", "host", "--name", &container];
    for e in &envs {
        args.extend(["-e", e.as_str()]);
    }
    args.push(&image);
    let (ok, out) = docker(&args);
    assert!(ok, "docker run: {out}");

    let healthy = test_util::eventually(Duration::from_secs(30), || async {
        support::http("GET", http, "/healthz").await.map(|r| r.0) == Some(200)
    })
    .await;
    println!("container /healthz 200 after {healthy:?}");
    assert!(
        healthy.is_some(),
        "no /healthz 200; logs:\n{}",
        docker(&["logs", &container]).1
    );

    // The container health check as ECS runs it: the binary's --healthcheck inside the container.
    let (ok, out) = docker(&["exec", &container, "/usr/local/bin/ecs_consumer", "--healthcheck"]);
    assert!(ok, "--healthcheck failed: {out}");
    assert!(out.is_empty(), "a healthy --healthcheck prints nothing: {out}");

    // Records flow through the container.
    test_util::put_records(&kinesis, &stream, 0, 100, 8).await;
    let processed = test_util::eventually(Duration::from_secs(20), || async {
        support::http("GET", http, "/status")
            .await
            .is_some_and(|(_, body)| {
                serde_json::from_str::<serde_json::Value>(&body).is_ok_and(|s| {
                    s["leases"].as_array().is_some_and(|l| {
                        l.iter()
                            .map(|x| x["records_processed"].as_u64().unwrap_or(0))
                            .sum::<u64>()
                            >= 100
                    })
                })
            })
    })
    .await;
    assert!(
        processed.is_some(),
        "records not processed; logs:\n{}",
        docker(&["logs", &container]).1
    );

    // docker stop sends SIGTERM: a graceful exit, code 0, well before docker's 10 s kill.
    let stopping = tokio::time::Instant::now();
    let (ok, out) = docker(&["stop", "-t", "10", &container]);
    let took = stopping.elapsed();
    assert!(ok, "docker stop: {out}");
    let (_, code) = docker(&["inspect", "-f", "{{.State.ExitCode}}", &container]);
    println!("container stopped in {took:?} with exit code {code}");
    assert_eq!(code, "0", "logs:\n{}", docker(&["logs", &container]).1);
    assert!(
        took < Duration::from_secs(9),
        "stopped only by docker's kill after {took:?}"
    );
    let (_, logs) = docker(&["logs", &container]);
    assert!(logs.contains("shut down gracefully"), "{logs}");
    assert!(!logs.contains('\u{1b}'), "colour codes in a container's logs");
}
