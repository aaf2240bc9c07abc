//! Unit tests of scenario parsing and validation.

use super::*;

#[test]
fn toml_and_json_scenarios_parse_with_defaults() {
    let s = Scenario::from_toml(
        r#"
        workers = 4
        shards = 40
        duration = "5m"
        [load]
        model = "hot"
        hot_share = 0.5
        [[events]]
        at = "1m"
        kind = "join"
        count = 2
        [[events]]
        at = "30s"
        kind = "store-latency"
        min = "5ms"
        max = "20ms"
        "#,
    )
    .unwrap();
    assert_eq!(s.strategies.len(), 3);
    assert_eq!(s.worker.lease_duration, Duration::from_secs(10));
    assert_eq!(s.schedule()[0].at, Duration::from_secs(30));
    assert_eq!(s.schedule()[1].kind, EventKind::Join { count: 2 });
    let rates = s.load.rates(40);
    assert!((rates[0] - 0.5 * 5.0 * 40.0).abs() < 1e-9);
    assert!((rates.iter().sum::<f64>() - 200.0).abs() < 1e-6);
    let j = Scenario::from_json(
        r#"{"workers": 2, "shards": 4, "duration": "1m", "strategies": ["kcl2"],
            "events": [{"at": "10s", "kind": "crash"}]}"#,
    )
    .unwrap();
    assert_eq!(j.strategies, vec![StrategyName::Kcl2]);
    assert_eq!(j.events[0].kind, EventKind::Crash { count: 1 });
}

#[test]
fn bad_scenarios_say_what_to_change() {
    let err = |t: &str| Scenario::from_toml(t).unwrap_err().to_string();
    assert!(err("workers = 0\nshards = 1\nduration = \"1m\"").contains("workers must be at least 1"));
    assert!(err("workers = 1\nshards = 1\nduration = \"soon\"").contains("is not a duration"));
    assert!(
        err("workers = 1\nshards = 1\nduration = \"1m\"\nstrategies = [\"best\"]")
            .contains("unknown variant")
    );
    assert!(
        err("workers = 1\nshards = 1\nduration = \"1m\"\n[[events]]\nat = \"2m\"\nkind = \"join\"")
            .contains("after the end")
    );
    assert!(err("workers = 1\nshards = 1\nduration = \"1m\"\nbogus = 1").contains("unknown field"));
}
