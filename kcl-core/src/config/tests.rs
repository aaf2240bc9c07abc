//! Unit tests of the configuration: defaults, validation, derived settings.

use super::*;

#[test]
fn defaults_mirror_the_java_kcl() {
    let c = WorkerConfig::builder().build().unwrap();
    assert_eq!(c.lease_duration(), Duration::from_secs(10));
    assert_eq!(c.lease_renewal_interval(), Duration::from_secs(10) / 3);
    assert_eq!(c.lease_taker_interval(), Duration::from_secs(1));
    assert_eq!(c.initial_position(), InitialPosition::Latest);
    assert_eq!(c.max_records_per_call(), 10_000);
    assert_eq!(c.prefetch_max_bytes(), 8 * 1024 * 1024);
}

#[test]
fn renewal_follows_lease_duration_unless_set() {
    let c = WorkerConfig::builder()
        .lease_duration(Duration::from_secs(3))
        .build()
        .unwrap();
    assert_eq!(c.lease_renewal_interval(), Duration::from_secs(1));
    let c = WorkerConfig::builder()
        .lease_duration(Duration::from_secs(3))
        .lease_renewal_interval(Duration::from_millis(500))
        .build()
        .unwrap();
    assert_eq!(c.lease_renewal_interval(), Duration::from_millis(500));
}

#[test]
fn invalid_values_name_the_setting() {
    let e = WorkerConfig::builder()
        .lease_renewal_interval(Duration::from_secs(20))
        .build()
        .unwrap_err();
    assert_eq!(e.field, "lease_renewal_interval");
    assert!(e.to_string().contains("below lease_duration"));
    let e = WorkerConfig::builder()
        .max_records_per_call(0)
        .build()
        .unwrap_err();
    assert_eq!(e.field, "max_records_per_call");
    let e = WorkerConfig::builder()
        .processor_retry_backoff(Backoff::new(Duration::from_secs(2), Duration::from_secs(1)))
        .build()
        .unwrap_err();
    assert_eq!(e.field, "processor_retry_backoff");
    let e = WorkerConfig::builder()
        .lease_duration(Duration::MAX)
        .build()
        .unwrap_err();
    assert_eq!(e.field, "lease_duration");
    let e = WorkerConfig::builder()
        .lease_taker_interval(Duration::ZERO)
        .build()
        .unwrap_err();
    assert_eq!(e.field, "lease_taker_interval");
}
