//! SDK failures mapped at the edge, end to end: a scripted HTTP responder on 127.0.0.1 plays DynamoDB
//! errors (throttling, 5xx, validation, a missing table) and a black hole plays a timeout, and the
//! DynamoDB store must report the typed errors; the retrying wrapper must ride over the retryable ones.
//! The same responder plays the ambiguous cases: an `UpdateItem` answered without its ALL_NEW attributes
//! (the item read back must be what was written) and a renew whose condition fails after the SDK client
//! retried (only then may a landed-looking item count as renewed).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_credential_types::Credentials;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Region};
use kcl_checkpoint::{
    DynamoDbLeaseStore, Error, ExtendedSequenceNumber, Lease, LeaseKey, LeaseStore, RetryPolicy,
    RetryingLeaseStore,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::time::Duration;

/// One canned HTTP response: status and a DynamoDB JSON body.
type Reply = (u16, &'static str);

const THROTTLED: Reply = (
    400,
    r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow down"}"#,
);
const INTERNAL: Reply = (
    500,
    r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"oops"}"#,
);
const VALIDATION: Reply = (
    400,
    r#"{"__type":"com.amazon.coral.validate#ValidationException","message":"bad request"}"#,
);
const NO_TABLE: Reply = (
    400,
    r#"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"Requested resource not found"}"#,
);
const EMPTY_GET: Reply = (200, "{}");
/// No answer at all: the connection is held open until the client gives up (its attempt timeout).
const SILENCE: Reply = (0, "");
/// An `UpdateItem` success without the ALL_NEW attributes (as some emulators answer).
const UPDATED_NO_ATTRIBUTES: Reply = (200, "{}");
const CONDITION_FAILED: Reply = (
    400,
    r#"{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}"#,
);
/// `GetItem`: the lease owned by worker-a at counter 6 (one past the counter the tests write at).
const GET_A_AT_6: Reply = (
    200,
    r#"{"Item":{"leaseKey":{"S":"shardId-000000000000"},"leaseOwner":{"S":"worker-a"},"leaseCounter":{"N":"6"},"checkpoint":{"S":"TRIM_HORIZON"}}}"#,
);
/// `GetItem`: the lease owned by worker-a at counter 7 (another write after ours).
const GET_A_AT_7: Reply = (
    200,
    r#"{"Item":{"leaseKey":{"S":"shardId-000000000000"},"leaseOwner":{"S":"worker-a"},"leaseCounter":{"N":"7"},"checkpoint":{"S":"TRIM_HORIZON"}}}"#,
);
/// `GetItem`: the lease owned by worker-b at counter 6.
const GET_B_AT_6: Reply = (
    200,
    r#"{"Item":{"leaseKey":{"S":"shardId-000000000000"},"leaseOwner":{"S":"worker-b"},"leaseCounter":{"N":"6"},"checkpoint":{"S":"TRIM_HORIZON"}}}"#,
);

/// Serves `replies` in order (one per request, then 500s) on 127.0.0.1; returns the URL and a request count.
async fn scripted_server(replies: Vec<Reply>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let replies = Arc::new(Mutex::new(VecDeque::from(replies)));
    let count = Arc::new(AtomicUsize::new(0));
    let served = count.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let replies = replies.clone();
            let served = served.clone();
            tokio::spawn(async move {
                // Read the head and the body (content-length) of one request.
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Ok(n) = socket.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(head_end) = text.find("\r\n\r\n") {
                        let length = text[..head_end]
                            .lines()
                            .find_map(|l| {
                                let (name, value) = l.split_once(':')?;
                                name.eq_ignore_ascii_case("content-length")
                                    .then(|| value.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if buf.len() >= head_end + 4 + length {
                            break;
                        }
                    }
                }
                served.fetch_add(1, Ordering::SeqCst);
                let (status, body) = replies.lock().unwrap().pop_front().unwrap_or(INTERNAL);
                if status == 0 {
                    // Hold the connection until the client drops it.
                    let _ = socket.read(&mut chunk).await;
                    return;
                }
                let response = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (url, count)
}

/// A store whose client neither retries nor waits long: each store call is exactly one request.
fn store(url: &str) -> DynamoDbLeaseStore {
    DynamoDbLeaseStore::new(no_retry_client(url), "leases").unwrap()
}

/// A client that neither retries nor waits long.
fn no_retry_client(url: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .endpoint_url(url)
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(Duration::from_millis(300))
                .build(),
        )
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// A store whose client retries once (after 1 ms) on its own, as a production client would.
fn sdk_retrying_store(url: &str) -> DynamoDbLeaseStore {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .endpoint_url(url)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(2)
                .with_initial_backoff(Duration::from_millis(1))
                .with_max_backoff(Duration::from_millis(1)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(Duration::from_millis(300))
                .build(),
        )
        .build();
    DynamoDbLeaseStore::new(aws_sdk_dynamodb::Client::from_conf(config), "leases").unwrap()
}

fn key() -> LeaseKey {
    LeaseKey::new("shardId-000000000000")
}

/// The lease as worker-a last saw it: owned, counter 5.
fn seen_by_a() -> Lease {
    let mut lease = Lease::new(key(), ExtendedSequenceNumber::TrimHorizon);
    lease.owner = Some("worker-a".into());
    lease.counter = 5;
    lease
}

#[tokio::test]
async fn service_errors_map_to_typed_errors() {
    let (url, count) = scripted_server(vec![THROTTLED, INTERNAL, VALIDATION, NO_TABLE]).await;
    let store = store(&url);

    let err = store.get(&key()).await.unwrap_err();
    assert!(
        matches!(err, Error::Throttled { .. }) && err.is_retryable(),
        "{err:?}"
    );
    let err = store.get(&key()).await.unwrap_err();
    assert!(matches!(err, Error::Service { retryable: true, .. }), "{err:?}");
    let err = store.get(&key()).await.unwrap_err();
    assert!(
        matches!(err, Error::Service { retryable: false, ref code, .. } if code == "ValidationException"),
        "{err:?}"
    );
    let err = store.get(&key()).await.unwrap_err();
    assert!(err.is_table_not_found() && !err.is_retryable(), "{err:?}");
    assert_eq!(count.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn a_silent_server_is_a_retryable_timeout() {
    // Accepts connections and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let held = Arc::new(Mutex::new(Vec::new()));
    let keep = held.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            keep.lock().unwrap().push(socket);
        }
    });
    let err = store(&url).get(&key()).await.unwrap_err();
    assert!(
        matches!(err, Error::Timeout { .. }) && err.is_retryable(),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_retrying_wrapper_rides_over_throttling_and_5xx() {
    let (url, count) = scripted_server(vec![THROTTLED, INTERNAL, THROTTLED, EMPTY_GET]).await;
    let policy = RetryPolicy {
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        ..RetryPolicy::default()
    };
    let retrying = RetryingLeaseStore::with_policy(Arc::new(store(&url)), policy);
    assert_eq!(retrying.get(&key()).await.unwrap(), None);
    assert_eq!(count.load(Ordering::SeqCst), 4, "three retries, then success");

    // Not retried: a validation error fails at once.
    let (url, count) = scripted_server(vec![VALIDATION, EMPTY_GET]).await;
    let retrying = RetryingLeaseStore::new(Arc::new(store(&url)));
    assert!(!retrying.get(&key()).await.unwrap_err().is_retryable());
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_write_read_back_without_all_new_must_be_what_was_written() {
    // The read-back shows what the renew wrote: reported as renewed.
    let (url, count) = scripted_server(vec![UPDATED_NO_ATTRIBUTES, GET_A_AT_6]).await;
    let renewed = store(&url).renew(&seen_by_a()).await.unwrap();
    assert_eq!((renewed.counter, renewed.owner.as_deref()), (6, Some("worker-a")));
    assert_eq!(count.load(Ordering::SeqCst), 2, "update, then read back");

    // The read-back shows a later write (counter 7): not ours to report.
    let (url, _) = scripted_server(vec![UPDATED_NO_ATTRIBUTES, GET_A_AT_7]).await;
    let err = store(&url).renew(&seen_by_a()).await.unwrap_err();
    assert!(err.is_conflict(), "{err:?}");

    // A take whose read-back shows another owner at the right counter: a conflict too.
    let (url, _) = scripted_server(vec![UPDATED_NO_ATTRIBUTES, GET_B_AT_6]).await;
    let err = store(&url).take(&seen_by_a(), "worker-a").await.unwrap_err();
    assert!(err.is_conflict(), "{err:?}");
    // ... and the same item is exactly what a take by worker-b wrote.
    let (url, _) = scripted_server(vec![UPDATED_NO_ATTRIBUTES, GET_B_AT_6]).await;
    let taken = store(&url).take(&seen_by_a(), "worker-b").await.unwrap();
    assert!(taken.is_owned_by("worker-b"));

    // A checkpoint whose read-back lacks the checkpoint written (still TRIM_HORIZON): a conflict.
    let (url, _) = scripted_server(vec![UPDATED_NO_ATTRIBUTES, GET_A_AT_6]).await;
    let position = ExtendedSequenceNumber::from_parts("42", 0).unwrap();
    let err = store(&url).checkpoint(&seen_by_a(), position).await.unwrap_err();
    assert!(err.is_conflict(), "{err:?}");
}

#[tokio::test]
async fn a_first_attempt_renew_conflict_is_definite() {
    // The item shows worker-a one counter on (a restarted worker reusing the id took it), but the only
    // attempt failed its condition: a conflict, without even reading the item back.
    let (url, count) = scripted_server(vec![CONDITION_FAILED, GET_A_AT_6]).await;
    let err = sdk_retrying_store(&url).renew(&seen_by_a()).await.unwrap_err();
    assert!(err.is_conflict(), "{err:?}");
    assert_eq!(count.load(Ordering::SeqCst), 1, "no read-back");

    // A throttled first attempt was not applied: the SDK's retry losing the fence is definite too.
    let (url, count) = scripted_server(vec![THROTTLED, CONDITION_FAILED, GET_A_AT_6]).await;
    let err = sdk_retrying_store(&url).renew(&seen_by_a()).await.unwrap_err();
    assert!(err.is_conflict(), "{err:?}");
    assert_eq!(count.load(Ordering::SeqCst), 2, "no read-back");
}

#[tokio::test]
async fn a_renew_retried_by_the_sdk_after_a_5xx_counts_as_renewed_if_it_landed() {
    // Attempt 1 gets a 500 (it may have been applied), the SDK retries, the retry fails its condition, and
    // the item shows exactly what attempt 1 would have written.
    let (url, count) = scripted_server(vec![INTERNAL, CONDITION_FAILED, GET_A_AT_6]).await;
    let renewed = sdk_retrying_store(&url).renew(&seen_by_a()).await.unwrap();
    assert_eq!((renewed.counter, renewed.owner.as_deref()), (6, Some("worker-a")));
    assert_eq!(count.load(Ordering::SeqCst), 3);

    // The same after a timed-out attempt (no response at all).
    let (url, count) = scripted_server(vec![SILENCE, CONDITION_FAILED, GET_A_AT_6]).await;
    let renewed = sdk_retrying_store(&url).renew(&seen_by_a()).await.unwrap();
    assert_eq!(renewed.counter, 6);
    assert_eq!(count.load(Ordering::SeqCst), 3);

    // The same, but the item moved further: a conflict.
    let (url, _) = scripted_server(vec![INTERNAL, CONDITION_FAILED, GET_A_AT_7]).await;
    let err = sdk_retrying_store(&url).renew(&seen_by_a()).await.unwrap_err();
    assert!(err.is_conflict(), "{err:?}");
}

#[tokio::test]
async fn build_with_retry_gives_a_retrying_store() {
    let (url, count) = scripted_server(vec![THROTTLED, INTERNAL, EMPTY_GET]).await;
    let policy = RetryPolicy {
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        ..RetryPolicy::default()
    };
    let client = no_retry_client(&url);
    let retrying = DynamoDbLeaseStore::builder(client.clone(), "leases")
        .build_with_retry(policy)
        .unwrap();
    assert_eq!(retrying.get(&key()).await.unwrap(), None);
    assert_eq!(count.load(Ordering::SeqCst), 3, "two retries, then success");
    // The settings are still checked.
    let err = DynamoDbLeaseStore::builder(client, "x")
        .build_with_retry(RetryPolicy::default())
        .unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
}

#[tokio::test]
async fn other_fenced_writes_retried_by_the_sdk_are_recognised_when_they_landed() {
    // A take retried by the SDK after a 500: the item shows worker-b one counter on, as the take wrote.
    let (url, count) = scripted_server(vec![INTERNAL, CONDITION_FAILED, GET_B_AT_6]).await;
    let taken = sdk_retrying_store(&url)
        .take(&seen_by_a(), "worker-b")
        .await
        .unwrap();
    assert!(taken.is_owned_by("worker-b") && taken.counter == 6, "{taken:?}");
    assert_eq!(count.load(Ordering::SeqCst), 3);

    // A checkpoint retried after a 500 whose item lacks the position written: not ours, a conflict.
    let (url, _) = scripted_server(vec![INTERNAL, CONDITION_FAILED, GET_A_AT_6]).await;
    let position = ExtendedSequenceNumber::from_parts("42", 0).unwrap();
    let err = sdk_retrying_store(&url)
        .checkpoint(&seen_by_a(), position)
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err:?}");

    // An evict's result names no writer, so even after an ambiguous attempt it stays a conflict, unread.
    let (url, count) = scripted_server(vec![INTERNAL, CONDITION_FAILED, GET_B_AT_6]).await;
    let err = sdk_retrying_store(&url).evict(&seen_by_a()).await.unwrap_err();
    assert!(err.is_conflict(), "{err:?}");
    assert_eq!(count.load(Ordering::SeqCst), 2, "no read-back");
}
