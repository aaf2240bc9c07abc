use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use kcl_checkpoint::SequenceNumber;
use serde_json::json;

use super::*;

const SHARD: &str = "shardId-000000000001";
const STREAM_ARN: &str = "arn:aws:kinesis:us-east-2:123456789012:stream/mystream";

/// 2019-11-14T00:38:04.835Z plus `ms` milliseconds.
fn at(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_573_691_884_835 + ms)
}

fn records() -> Vec<Record> {
    vec![
        Record::new(
            "hello",
            "pk-1",
            SequenceNumber::from(49_601_189_658_422_359_378_836_298_521u128),
        )
        .with_arrival_timestamp(at(0)),
        Record::new(
            vec![0u8, 255, 10],
            "pk-2",
            SequenceNumber::from(49_601_189_658_422_359_378_836_298_600u128),
        )
        .with_sub_sequence_number(2)
        .with_explicit_hash_key("12345")
        .with_arrival_timestamp(at(745)),
    ]
}

fn batch(condition: FailureCondition, include_records: bool) -> FailedBatch {
    FailedBatch::new(
        condition,
        Some(STREAM_ARN.to_owned()),
        SHARD,
        &records(),
        4,
        Some("boom: bad record".to_owned()),
        "worker-7",
        at(1186),
        include_records,
    )
    .unwrap()
}

#[test]
fn conditions_have_lambdas_names() {
    assert_eq!(
        FailureCondition::RetryAttemptsExhausted.as_str(),
        "RetryAttemptsExhausted"
    );
    assert_eq!(FailureCondition::RecordAgeExceeded.as_str(), "RecordAgeExceeded");
    assert_eq!(
        FailureCondition::RecordAgeExceeded.to_string(),
        "RecordAgeExceeded"
    );
}

#[test]
fn new_reads_the_batch_from_its_records() {
    let b = batch(FailureCondition::RetryAttemptsExhausted, false);
    assert_eq!(b.condition, FailureCondition::RetryAttemptsExhausted);
    assert_eq!(b.stream.as_deref(), Some(STREAM_ARN));
    assert_eq!(b.shard_id, SHARD);
    assert_eq!(b.start_sequence_number, "49601189658422359378836298521");
    assert_eq!(b.end_sequence_number, "49601189658422359378836298600");
    assert_eq!(b.approximate_arrival_of_first_record, Some(at(0)));
    assert_eq!(b.approximate_arrival_of_last_record, Some(at(745)));
    assert_eq!(b.batch_size, 2);
    assert_eq!(b.invoke_count, 4);
    assert_eq!(b.error.as_deref(), Some("boom: bad record"));
    assert_eq!(b.worker_id, "worker-7");
    assert_eq!(b.timestamp, at(1186));
    assert_eq!(b.records, None);

    let with = batch(FailureCondition::RetryAttemptsExhausted, true);
    assert_eq!(with.records, Some(records()));

    let empty = FailedBatch::new(
        FailureCondition::RecordAgeExceeded,
        None,
        SHARD,
        &[],
        0,
        None,
        "w",
        at(0),
        true,
    );
    assert_eq!(empty, None);
}

#[test]
fn to_json_is_lambdas_invocation_record() {
    let b = batch(FailureCondition::RetryAttemptsExhausted, false);
    let expected = json!({
        "requestContext": {
            "requestId": b.request_id(),
            "workerId": "worker-7",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 4,
        },
        "responseContext": { "functionError": "boom: bad record" },
        "version": "1.0",
        "timestamp": "2019-11-14T00:38:06.021Z",
        "KinesisBatchInfo": {
            "shardId": SHARD,
            "startSequenceNumber": "49601189658422359378836298521",
            "endSequenceNumber": "49601189658422359378836298600",
            "approximateArrivalOfFirstRecord": "2019-11-14T00:38:04.835Z",
            "approximateArrivalOfLastRecord": "2019-11-14T00:38:05.580Z",
            "batchSize": 2,
            "streamArn": STREAM_ARN,
        },
    });
    assert_eq!(b.to_json(), expected);
}

/// The example in `to_json`'s documentation is what it writes.
#[test]
fn the_documented_example_holds() {
    let seq = |digits: String| SequenceNumber::new(digits).unwrap();
    let mut records: Vec<Record> = (0..500)
        .map(|i| Record::new("x", "k", seq(format!("496011896584223593788362985220{i:026}"))))
        .collect();
    records[0] = Record::new(
        "x",
        "k",
        seq("49601189658422359378836298521827638475320189012309704722".to_owned()),
    )
    .with_arrival_timestamp(at(0));
    records[499] = Record::new(
        "x",
        "k",
        seq("49601189658422359378836298522902373528957594348623495186".to_owned()),
    )
    .with_arrival_timestamp(at(745));
    let b = FailedBatch::new(
        FailureCondition::RetryAttemptsExhausted,
        Some(STREAM_ARN.to_owned()),
        SHARD,
        &records,
        3,
        Some("the processor's last error".to_owned()),
        "worker-1",
        at(1186),
        false,
    )
    .unwrap();
    let documented = json!({
      "requestContext": {
        "requestId": "81b8b52d-5093-3604-aa34-29082c5d6723",
        "workerId": "worker-1",
        "condition": "RetryAttemptsExhausted",
        "approximateInvokeCount": 3
      },
      "responseContext": { "functionError": "the processor's last error" },
      "version": "1.0",
      "timestamp": "2019-11-14T00:38:06.021Z",
      "KinesisBatchInfo": {
        "shardId": "shardId-000000000001",
        "startSequenceNumber": "49601189658422359378836298521827638475320189012309704722",
        "endSequenceNumber": "49601189658422359378836298522902373528957594348623495186",
        "approximateArrivalOfFirstRecord": "2019-11-14T00:38:04.835Z",
        "approximateArrivalOfLastRecord": "2019-11-14T00:38:05.580Z",
        "batchSize": 500,
        "streamArn": "arn:aws:kinesis:us-east-2:123456789012:stream/mystream"
      }
    });
    // The id is a standard version 3 UUID (the same as Python's `uuid.uuid3(namespace, name)`).
    assert_eq!(b.to_json(), documented);
}

#[test]
fn to_json_without_error_stream_or_arrival_times() {
    let plain = [Record::new("x", "k", SequenceNumber::from(7u128))];
    let b = FailedBatch::new(
        FailureCondition::RecordAgeExceeded,
        None,
        SHARD,
        &plain,
        0,
        None,
        "w",
        at(0),
        false,
    )
    .unwrap();
    let doc = b.to_json();
    assert_eq!(doc["requestContext"]["condition"], "RecordAgeExceeded");
    assert_eq!(doc["requestContext"]["approximateInvokeCount"], 0);
    assert_eq!(doc["responseContext"], json!({}));
    let info = &doc["KinesisBatchInfo"];
    assert_eq!(info["startSequenceNumber"], "7");
    assert_eq!(info["endSequenceNumber"], "7");
    assert_eq!(info["approximateArrivalOfFirstRecord"], Value::Null);
    assert_eq!(info["approximateArrivalOfLastRecord"], Value::Null);
    assert_eq!(info["batchSize"], 1);
    assert!(
        info.get("streamArn").is_none() && info.get("stream").is_none(),
        "{info}"
    );
    assert!(doc.get("records").is_none());

    // A stream known by name is named as such, not as an ARN.
    let mut named = b.clone();
    named.stream = Some("orders".to_owned());
    let doc = named.to_json();
    assert_eq!(doc["KinesisBatchInfo"]["stream"], "orders");
    assert!(doc["KinesisBatchInfo"].get("streamArn").is_none());
}

#[test]
fn to_json_with_records_has_lambdas_record_shape() {
    let b = batch(FailureCondition::RecordAgeExceeded, true);
    let doc = b.to_json();
    assert_eq!(
        doc["records"],
        json!([
            {
                "partitionKey": "pk-1",
                "sequenceNumber": "49601189658422359378836298521",
                "subSequenceNumber": 0,
                "approximateArrivalTimestamp": 1_573_691_884.835,
                "data": "aGVsbG8=",
            },
            {
                "partitionKey": "pk-2",
                "sequenceNumber": "49601189658422359378836298600",
                "subSequenceNumber": 2,
                "approximateArrivalTimestamp": 1_573_691_885.58,
                "data": "AP8K",
                "explicitHashKey": "12345",
            },
        ])
    );
    // The metadata is the same as without records.
    let mut without = doc.clone();
    without.as_object_mut().unwrap().remove("records");
    assert_eq!(
        without,
        batch(FailureCondition::RecordAgeExceeded, false).to_json()
    );
    // A record without an arrival time.
    let mut b = b;
    b.records = Some(vec![Record::new("", "k", SequenceNumber::from(1u128))]);
    assert_eq!(
        b.to_json()["records"][0]["approximateArrivalTimestamp"],
        Value::Null
    );
    assert_eq!(b.to_json()["records"][0]["data"], "");
}

#[test]
fn request_ids_are_deterministic_uuids() {
    let b = batch(FailureCondition::RetryAttemptsExhausted, false);
    let id = b.request_id();
    let groups: Vec<&str> = id.split('-').collect();
    assert_eq!(
        groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
        [8, 4, 4, 4, 12],
        "{id}"
    );
    assert!(id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()), "{id}");
    assert!(groups[2].starts_with('3'), "version 3: {id}");
    assert!(
        matches!(groups[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'),
        "variant: {id}"
    );

    // The same batch, even given up on again later, has the same id.
    let mut again = batch(FailureCondition::RecordAgeExceeded, true);
    again.timestamp = at(60_000);
    again.invoke_count = 9;
    assert_eq!(again.request_id(), id);
    // Another shard, start or stream: another id.
    let mut other = b.clone();
    other.shard_id = "shardId-000000000002".to_owned();
    assert_ne!(other.request_id(), id);
    let mut other = b.clone();
    other.start_sequence_number = "49601189658422359378836298522".to_owned();
    assert_ne!(other.request_id(), id);
    let mut other = b.clone();
    other.stream = None;
    assert_ne!(other.request_id(), id);
}

#[test]
fn timestamps_outside_rfc3339_are_clamped() {
    let mut b = batch(FailureCondition::RetryAttemptsExhausted, true);
    b.timestamp = UNIX_EPOCH - Duration::from_secs(10);
    b.approximate_arrival_of_first_record = Some(UNIX_EPOCH + Duration::from_secs(400_000_000_000));
    if let Some(records) = &mut b.records {
        records[0].approximate_arrival_timestamp = Some(UNIX_EPOCH - Duration::from_millis(1500));
    }
    let doc = b.to_json();
    assert_eq!(doc["timestamp"], "1970-01-01T00:00:00.000Z");
    assert_eq!(
        doc["KinesisBatchInfo"]["approximateArrivalOfFirstRecord"],
        "9999-12-31T23:59:59.999Z"
    );
    assert_eq!(doc["records"][0]["approximateArrivalTimestamp"], -1.5);
}

mod json_lines {
    use super::*;

    #[tokio::test]
    async fn appends_whole_lines_and_reads_them_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("failed.jsonl");
        let dest = JsonLinesDestination::open(&path).unwrap();
        assert_eq!(dest.path(), path);
        let a = batch(FailureCondition::RetryAttemptsExhausted, false);
        let b = batch(FailureCondition::RecordAgeExceeded, true);
        dest.send(&a).await.unwrap();
        dest.send(&b).await.unwrap();
        drop(dest);

        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.ends_with('\n'));
        assert_eq!(text.lines().count(), 2, "{text}");
        assert_eq!(
            JsonLinesDestination::read_all(&path).await.unwrap(),
            [a.to_json(), b.to_json()]
        );

        // Reopened, it appends after what is there.
        let dest = JsonLinesDestination::open(&path).unwrap();
        dest.send(&a).await.unwrap();
        let all = JsonLinesDestination::read_all(&path).await.unwrap();
        assert_eq!(all, [a.to_json(), b.to_json(), a.to_json()]);
    }

    #[tokio::test]
    async fn a_torn_last_line_is_left_on_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("failed.jsonl");
        std::fs::write(&path, "{\"whole\":1}\n{\"torn\":").unwrap();
        let dest = JsonLinesDestination::open(&path).unwrap();
        let a = batch(FailureCondition::RetryAttemptsExhausted, false);
        dest.send(&a).await.unwrap();
        dest.send(&a).await.unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert_eq!(lines[1], "{\"torn\":");
        assert_eq!(serde_json::from_str::<Value>(lines[2]).unwrap(), a.to_json());
        assert_eq!(serde_json::from_str::<Value>(lines[3]).unwrap(), a.to_json());
        let err = JsonLinesDestination::read_all(&path).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_sends_never_interleave() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("failed.jsonl");
        let dest = Arc::new(JsonLinesDestination::open(&path).unwrap());
        let mut tasks = Vec::new();
        for shard in 0..8u32 {
            let dest = Arc::clone(&dest);
            tasks.push(tokio::spawn(async move {
                for i in 0..6u32 {
                    // The first line of each shard is larger than tokio's 2 MiB file write buffer, so it is
                    // written in several system calls.
                    let size = if i == 0 { 1_700_000 } else { 100 };
                    let records = [Record::new(
                        vec![b'x'; size],
                        format!("k{i}"),
                        SequenceNumber::from(u128::from(i) + 1),
                    )];
                    let b = FailedBatch::new(
                        FailureCondition::RetryAttemptsExhausted,
                        None,
                        format!("shardId-{shard:012}"),
                        &records,
                        1,
                        Some(format!("error {i}")),
                        "w",
                        at(0),
                        true,
                    )
                    .unwrap();
                    dest.send(&b).await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let all = JsonLinesDestination::read_all(&path).await.unwrap();
        assert_eq!(all.len(), 8 * 6);
        // Every shard's lines are there, in the order it sent them.
        for shard in 0..8u32 {
            let id = format!("shardId-{shard:012}");
            let starts: Vec<&str> = all
                .iter()
                .filter(|d| d["KinesisBatchInfo"]["shardId"] == id.as_str())
                .map(|d| d["KinesisBatchInfo"]["startSequenceNumber"].as_str().unwrap())
                .collect();
            assert_eq!(starts, ["1", "2", "3", "4", "5", "6"], "{id}");
        }
    }

    #[tokio::test]
    async fn a_failed_write_reports_its_io_error() {
        // /dev/full refuses every write with ENOSPC.
        let path = std::path::Path::new("/dev/full");
        if !cfg!(target_os = "linux") || !path.exists() {
            eprintln!("SKIPPED: a_failed_write_reports_its_io_error needs /dev/full");
            return;
        }
        let dest = JsonLinesDestination::open(path).unwrap();
        let err = dest
            .send(&batch(FailureCondition::RetryAttemptsExhausted, false))
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("/dev/full") && text.contains(SHARD), "{text}");
        let source = std::error::Error::source(&*err).expect("the I/O error is the source");
        let io = source.downcast_ref::<std::io::Error>().expect("an io::Error");
        assert_eq!(io.raw_os_error(), Some(28), "ENOSPC: {io}");
    }
}
