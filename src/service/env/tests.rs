//! Unit tests of [`ServiceConfig::from_lookup`]: defaults, every variable parsed, and every bad value
//! named with its variable.

use super::*;
use kcl_core::InitialPosition;
use std::collections::HashMap;

fn config(vars: &[(&str, &str)]) -> Result<ServiceConfig, EnvErrors> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    ServiceConfig::from_lookup(move |k| map.get(k).cloned())
}

const BASE: [(&str, &str); 2] = [
    ("KCL_APPLICATION_NAME", "orders"),
    ("KCL_STREAM_NAME", "orders-stream"),
];

#[test]
fn defaults_apply_with_only_the_required_variables() {
    let c = config(&BASE).unwrap();
    assert_eq!(c.lease_table, "orders");
    assert_eq!(c.consumer_name, "orders");
    assert_eq!(c.stream, StreamName::Name("orders-stream".into()));
    assert_eq!(c.http_addr, Some("127.0.0.1:8080".parse().unwrap()));
    assert_eq!(c.shutdown_deadline, Duration::from_secs(20));
    assert_eq!(c.log_format, LogFormat::Text);
    assert!(c.create_lease_table);
    assert_eq!(c.worker, WorkerConfig::default());
    assert_eq!(c.worker_id, None);
}

#[test]
fn every_variable_is_read() {
    let mut vars = BASE.to_vec();
    vars.extend([
        ("KCL_WORKER_ID", "w-1"),
        ("KCL_LEASE_TABLE", "orders-leases"),
        ("KCL_INITIAL_POSITION", "AT_TIMESTAMP=2026-12-01T10:00:00Z"),
        ("KCL_LEASE_DURATION", "3s"),
        ("KCL_LEASE_TAKER_INTERVAL", "500ms"),
        ("KCL_LEASE_RENEWAL", "heartbeat"),
        ("KCL_GRACEFUL_HANDOFF", "false"),
        ("KCL_SHARD_SYNC_INTERVAL", "2m"),
        ("KCL_IDLE_TIME_BETWEEN_READS", "200ms"),
        ("KCL_MAX_RECORDS", "500"),
        ("KCL_MAX_LEASES_PER_WORKER", "8"),
        ("KCL_RETRIEVAL_MODE", "fanout"),
        ("KCL_CONSUMER_NAME", "orders-efo"),
        ("KCL_FATAL_ERROR_ATTEMPTS", "3"),
        ("KCL_CREATE_LEASE_TABLE", "false"),
        ("KCL_HTTP_ADDR", "0.0.0.0:9000"),
        ("KCL_SHUTDOWN_DEADLINE", "25s"),
        ("KCL_LOG_FORMAT", "json"),
        ("KCL_LOG", "kcl_core=debug,info"),
    ]);
    let c = config(&vars).unwrap();
    assert_eq!(c.worker_id.as_deref(), Some("w-1"));
    assert_eq!(c.lease_table, "orders-leases");
    assert_eq!(c.worker.lease_duration(), Duration::from_secs(3));
    assert_eq!(c.worker.lease_taker_interval(), Duration::from_millis(500));
    assert_eq!(c.worker.shard_sync_interval(), Duration::from_secs(120));
    assert_eq!(c.worker.idle_time_between_reads(), Duration::from_millis(200));
    assert_eq!(c.worker.max_records_per_call(), 500);
    assert_eq!(c.worker.max_leases_per_worker(), 8);
    assert_eq!(c.worker.fatal_error_attempts(), 3);
    assert_eq!(c.worker.lease_renewal(), LeaseRenewal::Heartbeat);
    assert!(!c.worker.graceful_handoff());
    assert_eq!(
        c.worker.initial_position(),
        InitialPosition::AtTimestamp(humantime::parse_rfc3339("2026-12-01T10:00:00Z").unwrap())
    );
    assert_eq!(c.retrieval_mode, RetrievalMode::FanOut);
    assert_eq!(c.consumer_name, "orders-efo");
    assert!(!c.create_lease_table);
    assert_eq!(c.http_addr, Some("0.0.0.0:9000".parse().unwrap()));
    assert_eq!(c.shutdown_deadline, Duration::from_secs(25));
    assert_eq!(c.log_format, LogFormat::Json);
    assert_eq!(c.log_filter, "kcl_core=debug,info");
    let arn = config(&[
        ("KCL_APPLICATION_NAME", "orders"),
        (
            "KCL_STREAM_NAME",
            "arn:aws:kinesis:us-east-1:123456789012:stream/orders",
        ),
    ])
    .unwrap();
    assert!(matches!(arn.stream, StreamName::Arn(_)));
    assert_eq!(
        config(&[BASE[0], BASE[1], ("KCL_HTTP_ADDR", "off")])
            .unwrap()
            .http_addr,
        None
    );
}

#[test]
fn every_bad_value_names_its_variable() {
    let cases: &[(&str, &str)] = &[
        ("KCL_STREAM_NAME", "no spaces allowed"),
        ("KCL_STREAM_NAME", "arn:aws:s3:::bucket"),
        ("KCL_LEASE_TABLE", "x"),
        ("KCL_INITIAL_POSITION", "YESTERDAY"),
        ("KCL_INITIAL_POSITION", "AT_TIMESTAMP=soon"),
        ("KCL_LEASE_DURATION", "ten seconds"),
        ("KCL_LEASE_DURATION", "10ms"),
        ("KCL_LEASE_TAKER_INTERVAL", "1h"),
        ("KCL_SHARD_SYNC_INTERVAL", "0s"),
        ("KCL_IDLE_TIME_BETWEEN_READS", "-1s"),
        ("KCL_MAX_RECORDS", "20000"),
        ("KCL_MAX_RECORDS", "many"),
        ("KCL_MAX_LEASES_PER_WORKER", "0"),
        ("KCL_RETRIEVAL_MODE", "push"),
        ("KCL_LEASE_RENEWAL", "sometimes"),
        ("KCL_GRACEFUL_HANDOFF", "perhaps"),
        ("KCL_FATAL_ERROR_ATTEMPTS", "0"),
        ("KCL_CREATE_LEASE_TABLE", "maybe"),
        ("KCL_HTTP_ADDR", "localhost"),
        ("KCL_SHUTDOWN_DEADLINE", "forever"),
        ("KCL_LOG_FORMAT", "xml"),
        ("KCL_LOG", "[[["),
    ];
    for (var, value) in cases {
        let mut vars = BASE.to_vec();
        vars.retain(|(k, _)| k != var);
        vars.push((var, value));
        let err = config(&vars).expect_err(&format!("{var}={value} accepted"));
        assert!(
            err.0.iter().any(|e| e.variable == *var),
            "{var}={value}: the error does not name it: {err}"
        );
        assert!(err.to_string().contains(var), "{err}");
    }
    let missing = config(&[]).unwrap_err();
    let names: Vec<_> = missing.0.iter().map(|e| e.variable).collect();
    assert_eq!(names, ["KCL_APPLICATION_NAME", "KCL_STREAM_NAME"], "{missing}");
}

#[test]
fn the_ecs_task_definition_is_a_valid_configuration_within_its_stop_timeout() {
    let task: serde_json::Value =
        serde_json::from_str(include_str!("../../../deploy/ecs/task-definition.json")).unwrap();
    let container = &task["containerDefinitions"][0];
    let env: HashMap<String, String> = container["environment"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_owned(),
                e["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let config =
        ServiceConfig::from_lookup(|k| env.get(k).cloned()).expect("the task definition's environment");
    let stop_timeout = Duration::from_secs(container["stopTimeout"].as_u64().unwrap());
    // The deadline leaves time for the releases after it (1 s) before ECS kills the container.
    assert!(
        config.shutdown_deadline + Duration::from_secs(2) <= stop_timeout,
        "{config:?}"
    );
    let port = config.http_addr.expect("endpoints on").port();
    assert_eq!(
        container["portMappings"][0]["containerPort"].as_u64(),
        Some(u64::from(port))
    );
    assert_eq!(container["healthCheck"]["command"][2], "--healthcheck");
}

#[test]
fn the_table_lists_every_variable_read() {
    let source = include_str!("../env.rs");
    for (var, _, _) in VARIABLES {
        assert!(
            source.matches(var).count() >= 2,
            "{var} is in the table but never read"
        );
    }
}
