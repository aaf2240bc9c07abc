use std::time::Duration;

use super::*;

#[test]
fn defaults_are_the_kcl_behaviour() {
    let p = ProcessingPolicy::builder().build().unwrap();
    assert_eq!(p.batch_size(), None);
    assert_eq!(p.maximum_retry_attempts(), None);
    assert_eq!(p.maximum_record_age(), None);
    assert!(!p.checkpoint_after_batch());
    let l = ProcessingPolicy::lambda().build().unwrap();
    assert_eq!(l.batch_size(), Some(100));
    assert!(l.checkpoint_after_batch());
}

#[test]
fn ranges_are_lambdas() {
    let field = |b: ProcessingPolicyBuilder| b.build().unwrap_err().field;
    assert_eq!(
        field(ProcessingPolicy::builder().batch_size(0)),
        "processing.batch_size"
    );
    assert_eq!(
        field(ProcessingPolicy::builder().batch_size(10_001)),
        "processing.batch_size"
    );
    assert!(ProcessingPolicy::builder().batch_size(10_000).build().is_ok());
    assert_eq!(
        field(ProcessingPolicy::builder().maximum_batching_window(Duration::from_secs(301))),
        "processing.maximum_batching_window"
    );
    for bad in [-2, 10_001] {
        assert_eq!(
            field(ProcessingPolicy::builder().maximum_retry_attempts(bad)),
            "processing.maximum_retry_attempts"
        );
    }
    assert_eq!(
        ProcessingPolicy::builder()
            .maximum_retry_attempts(0)
            .build()
            .unwrap()
            .maximum_retry_attempts(),
        Some(0)
    );
    for bad in [59, 604_801] {
        assert_eq!(
            field(ProcessingPolicy::builder().maximum_record_age(Duration::from_secs(bad))),
            "processing.maximum_record_age"
        );
    }
    for bad in [
        Duration::ZERO,
        Duration::from_secs(901),
        Duration::from_millis(1500),
    ] {
        assert_eq!(
            field(ProcessingPolicy::builder().tumbling_window(bad)),
            "processing.tumbling_window"
        );
    }
    let err = ProcessingPolicy::builder().batch_size(0).build().unwrap_err();
    assert!(err.to_string().contains("1..=10000"), "{err}");
}

#[test]
fn windows_align_to_the_epoch() {
    use std::time::UNIX_EPOCH;
    let at = UNIX_EPOCH + Duration::from_millis(125_500);
    assert_eq!(
        window::window_start(at, Duration::from_secs(60)),
        UNIX_EPOCH + Duration::from_secs(120)
    );
    assert_eq!(
        window::window_start(at, Duration::from_secs(1)),
        UNIX_EPOCH + Duration::from_secs(125)
    );
}
