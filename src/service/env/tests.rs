//! Unit tests of [`ServiceConfig::from_lookup`]: defaults, every variable parsed, and every bad value
//! named with its variable.

use super::*;
use kcl_core::{InitialPosition, ProcessingPolicy};
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
    assert_eq!(c.worker.processing(), &ProcessingPolicy::default());
    assert_eq!(c.on_failure, None);
}

#[test]
fn lambda_processing_starts_from_lambda_defaults_and_variables_change_them() {
    let lambda = config(&[BASE[0], BASE[1], ("KCL_PROCESSING", "lambda")]).unwrap();
    assert_eq!(
        lambda.worker.processing(),
        &ProcessingPolicy::lambda().build().unwrap()
    );
    let p = lambda.worker.processing();
    assert_eq!(p.batch_size(), Some(100));
    assert!(p.checkpoint_after_batch());
    assert_eq!(p.maximum_retry_attempts(), None);
    assert_eq!(p.maximum_record_age(), None);
    let changed = config(&[
        BASE[0],
        BASE[1],
        ("KCL_PROCESSING", "LAMBDA"),
        ("KCL_BATCH_SIZE", "10"),
        ("KCL_CHECKPOINT_AFTER_BATCH", "false"),
    ])
    .unwrap();
    assert_eq!(changed.worker.processing().batch_size(), Some(10));
    assert!(!changed.worker.processing().checkpoint_after_batch());
    let kcl = config(&[BASE[0], BASE[1], ("KCL_PROCESSING", "kcl")]).unwrap();
    assert_eq!(kcl.worker.processing(), &ProcessingPolicy::default());
}

#[test]
fn every_processing_variable_is_read() {
    let mut vars = BASE.to_vec();
    vars.extend([
        ("KCL_BATCH_SIZE", "500"),
        ("KCL_MAX_BATCHING_WINDOW", "2s"),
        ("KCL_MAX_RETRY_ATTEMPTS", "3"),
        ("KCL_MAX_RECORD_AGE", "1h"),
        ("KCL_BISECT_BATCH_ON_ERROR", "true"),
        ("KCL_REPORT_BATCH_ITEM_FAILURES", "yes"),
        (
            "KCL_FILTER_PATTERNS",
            r#"[{"data":{"type":["order"]}}, {"partitionKey":[{"prefix":"eu-"}]}]"#,
        ),
        ("KCL_PARALLELIZATION_FACTOR", "4"),
        ("KCL_CHECKPOINT_AFTER_BATCH", "1"),
        ("KCL_ON_FAILURE_INCLUDE_RECORDS", "on"),
        ("KCL_ON_FAILURE_STREAM", "orders-failures"),
    ]);
    let c = config(&vars).unwrap();
    let p = c.worker.processing();
    assert_eq!(p.batch_size(), Some(500));
    assert_eq!(p.maximum_batching_window(), Duration::from_secs(2));
    assert_eq!(p.maximum_retry_attempts(), Some(3));
    assert_eq!(p.maximum_record_age(), Some(Duration::from_secs(3600)));
    assert!(p.bisect_batch_on_error());
    assert!(p.report_batch_item_failures());
    assert_eq!(
        p.filters().unwrap().patterns(),
        [
            r#"{"data":{"type":["order"]}}"#,
            r#"{"partitionKey":[{"prefix":"eu-"}]}"#
        ]
    );
    assert_eq!(p.parallelization_factor(), 4);
    assert!(p.checkpoint_after_batch());
    assert!(p.destination_includes_records());
    assert_eq!(p.tumbling_window(), None);
    assert_eq!(
        c.on_failure,
        Some(OnFailure::Stream(StreamName::Name("orders-failures".into())))
    );

    let other = config(&[
        BASE[0],
        BASE[1],
        ("KCL_MAX_RETRY_ATTEMPTS", "-1"),
        ("KCL_MAX_RECORD_AGE", "-1"),
        ("KCL_MAX_BATCHING_WINDOW", "0s"),
        ("KCL_TUMBLING_WINDOW", "15m"),
        ("KCL_PARALLELIZATION_FACTOR", "1"),
        ("KCL_ON_FAILURE_FILE", "/var/log/failed-batches.jsonl"),
    ])
    .unwrap();
    let p = other.worker.processing();
    assert_eq!(p.maximum_retry_attempts(), None);
    assert_eq!(p.maximum_record_age(), None);
    assert_eq!(p.maximum_batching_window(), Duration::ZERO);
    assert_eq!(p.tumbling_window(), Some(Duration::from_secs(900)));
    assert_eq!(
        other.on_failure,
        Some(OnFailure::File("/var/log/failed-batches.jsonl".into()))
    );
    let arn = "arn:aws:kinesis:us-east-1:123456789012:stream/orders-failures";
    let by_arn = config(&[BASE[0], BASE[1], ("KCL_ON_FAILURE_STREAM", arn)]).unwrap();
    assert_eq!(
        by_arn.on_failure,
        Some(OnFailure::Stream(StreamName::Arn(arn.into())))
    );
}

#[test]
fn filter_patterns_are_read_in_every_form() {
    let patterns = |value: &str| {
        config(&[BASE[0], BASE[1], ("KCL_FILTER_PATTERNS", value)])
            .unwrap_or_else(|e| panic!("{value}: {e}"))
            .worker
            .processing()
            .filters()
            .map(|f| f.patterns().to_vec())
    };
    let order = r#"{"data":{"type":["order"]}}"#;
    // A JSON array of pattern objects, of their JSON text, or of Lambda's {"Pattern": ...} items.
    assert_eq!(
        patterns(r#"[{"data": {"type": ["order"]}}]"#),
        Some(vec![order.to_owned()])
    );
    assert_eq!(
        patterns(r#"["{\"data\": {\"type\": [\"order\"]}}"]"#),
        Some(vec![r#"{"data": {"type": ["order"]}}"#.to_owned()])
    );
    // Lambda's FilterCriteria, as `aws lambda get-event-source-mapping` prints it.
    assert_eq!(
        patterns(
            r#"{"Filters": [{"Pattern": "{\"data\":{\"type\":[\"order\"]}}"}, {"Pattern": "{\"partitionKey\":[\"k\"]}"}]}"#
        ),
        Some(vec![order.to_owned(), r#"{"partitionKey":["k"]}"#.to_owned()])
    );
    // One pattern object on its own.
    assert_eq!(
        patterns(r#"{"data": {"type": ["order"]}}"#),
        Some(vec![order.to_owned()])
    );
    // An empty list is no filter at all.
    assert_eq!(patterns("[]"), Some(vec![]));
    let filters = config(&[BASE[0], BASE[1], ("KCL_FILTER_PATTERNS", "[]")]).unwrap();
    assert!(filters
        .worker
        .processing()
        .filters()
        .unwrap()
        .patterns()
        .is_empty());
}

#[test]
fn bad_filter_patterns_name_the_variable() {
    let six = format!("[{}]", [r#"{"data":{"a":[1]}}"#; 6].join(","));
    for value in [
        "type=order",
        r#"{"data": {"type": ["order"]}"#,
        "42",
        r#"[{"data": {"type": ["order"]}}, 7]"#,
        r#"[{"data": {"type": "order"}}]"#,
        r#"[{"kinesis": {"data": ["x"]}}]"#,
        r#"[{}]"#,
        r#"["not json"]"#,
        r#"{"Filters": "{}"}"#,
        r#"{"Filters": [{"Pattern": 3}]}"#,
        six.as_str(),
    ] {
        let err = config(&[BASE[0], BASE[1], ("KCL_FILTER_PATTERNS", value)])
            .expect_err(&format!("KCL_FILTER_PATTERNS={value} accepted"));
        assert_eq!(err.0.len(), 1, "{err}");
        assert_eq!(err.0[0].variable, "KCL_FILTER_PATTERNS", "{err}");
        assert_eq!(err.0[0].value.as_deref(), Some(value), "{err}");
        assert!(err.to_string().contains("KCL_FILTER_PATTERNS"), "{err}");
    }
    // The second pattern is named by its index.
    let err = config(&[
        BASE[0],
        BASE[1],
        (
            "KCL_FILTER_PATTERNS",
            r#"[{"data":{"a":["x"]}}, {"data":{"a":[]}}]"#,
        ),
    ])
    .unwrap_err();
    assert!(err.0[0].message.contains("patterns[1]"), "{err}");
}

#[test]
fn processing_values_out_of_range_name_their_variable() {
    let cases: &[(&str, &str)] = &[
        ("KCL_PROCESSING", "sqs"),
        ("KCL_BATCH_SIZE", "0"),
        ("KCL_BATCH_SIZE", "10001"),
        ("KCL_BATCH_SIZE", "-5"),
        ("KCL_MAX_BATCHING_WINDOW", "301s"),
        ("KCL_MAX_BATCHING_WINDOW", "soon"),
        ("KCL_MAX_RETRY_ATTEMPTS", "-2"),
        ("KCL_MAX_RETRY_ATTEMPTS", "10001"),
        ("KCL_MAX_RETRY_ATTEMPTS", "three"),
        ("KCL_MAX_RECORD_AGE", "59s"),
        ("KCL_MAX_RECORD_AGE", "8d"),
        ("KCL_MAX_RECORD_AGE", "-2"),
        ("KCL_MAX_RECORD_AGE", "3600"),
        ("KCL_BISECT_BATCH_ON_ERROR", "sometimes"),
        ("KCL_REPORT_BATCH_ITEM_FAILURES", "2"),
        ("KCL_TUMBLING_WINDOW", "0s"),
        ("KCL_TUMBLING_WINDOW", "901s"),
        ("KCL_TUMBLING_WINDOW", "1500ms"),
        ("KCL_PARALLELIZATION_FACTOR", "0"),
        ("KCL_PARALLELIZATION_FACTOR", "11"),
        ("KCL_PARALLELIZATION_FACTOR", "300"),
        ("KCL_CHECKPOINT_AFTER_BATCH", "always"),
        ("KCL_ON_FAILURE_INCLUDE_RECORDS", "all"),
        ("KCL_ON_FAILURE_STREAM", "no spaces"),
        (
            "KCL_ON_FAILURE_STREAM",
            "arn:aws:sqs:us-east-1:123456789012:queue",
        ),
        ("KCL_ON_FAILURE_STREAM", "orders-stream"),
    ];
    for (var, value) in cases {
        let mut vars = BASE.to_vec();
        vars.push((var, value));
        let err = config(&vars).expect_err(&format!("{var}={value} accepted"));
        assert_eq!(err.0.len(), 1, "{var}={value}: {err}");
        assert_eq!(err.0[0].variable, *var, "{var}={value}: {err}");
        assert_eq!(err.0[0].value.as_deref(), Some(*value), "{err}");
        assert!(err.to_string().contains(&format!("{var}={value:?}")), "{err}");
        assert!(!err.0[0].message.contains("()"), "API wording in {err}");
    }
    let age = config(&[BASE[0], BASE[1], ("KCL_MAX_RECORD_AGE", "30s")]).unwrap_err();
    assert!(age.0[0].message.contains("-1"), "{age}");
}

#[test]
fn every_bad_processing_value_is_reported_at_once() {
    let err = config(&[
        BASE[0],
        BASE[1],
        ("KCL_BATCH_SIZE", "0"),
        ("KCL_MAX_BATCHING_WINDOW", "10m"),
        ("KCL_MAX_RETRY_ATTEMPTS", "-3"),
        ("KCL_MAX_RECORD_AGE", "1s"),
        ("KCL_FILTER_PATTERNS", "[1]"),
        ("KCL_TUMBLING_WINDOW", "1h"),
        ("KCL_MAX_RECORDS", "0"),
    ])
    .unwrap_err();
    let mut names: Vec<_> = err.0.iter().map(|e| e.variable).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "KCL_BATCH_SIZE",
            "KCL_FILTER_PATTERNS",
            "KCL_MAX_BATCHING_WINDOW",
            "KCL_MAX_RECORDS",
            "KCL_MAX_RECORD_AGE",
            "KCL_MAX_RETRY_ATTEMPTS",
            "KCL_TUMBLING_WINDOW",
        ],
        "{err}"
    );
}

#[test]
fn parallelization_and_tumbling_windows_together_are_rejected() {
    let err = config(&[
        BASE[0],
        BASE[1],
        ("KCL_TUMBLING_WINDOW", "30s"),
        ("KCL_PARALLELIZATION_FACTOR", "2"),
    ])
    .unwrap_err();
    assert_eq!(err.0.len(), 1, "{err}");
    assert_eq!(err.0[0].variable, "KCL_PARALLELIZATION_FACTOR");
    assert!(err.0[0].message.contains("KCL_TUMBLING_WINDOW"), "{err}");
}

#[test]
fn both_on_failure_destinations_are_rejected() {
    let err = config(&[
        BASE[0],
        BASE[1],
        ("KCL_ON_FAILURE_STREAM", "orders-failures"),
        ("KCL_ON_FAILURE_FILE", "/tmp/failed.jsonl"),
    ])
    .unwrap_err();
    assert_eq!(err.0.len(), 1, "{err}");
    assert_eq!(err.0[0].variable, "KCL_ON_FAILURE_STREAM");
    assert!(err.to_string().contains("KCL_ON_FAILURE_FILE"), "{err}");
}

#[test]
fn policy_errors_map_to_their_variable() {
    for (field, var) in [
        ("processing.batch_size", "KCL_BATCH_SIZE"),
        ("processing.maximum_batching_window", "KCL_MAX_BATCHING_WINDOW"),
        ("processing.maximum_retry_attempts", "KCL_MAX_RETRY_ATTEMPTS"),
        ("processing.maximum_record_age", "KCL_MAX_RECORD_AGE"),
        ("processing.filters", "KCL_FILTER_PATTERNS"),
        ("processing.tumbling_window", "KCL_TUMBLING_WINDOW"),
        ("processing.parallelization_factor", "KCL_PARALLELIZATION_FACTOR"),
    ] {
        assert_eq!(read::variable_of(field), var);
        assert!(VARIABLES.iter().any(|(v, _, _)| *v == var), "{var}");
    }
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
