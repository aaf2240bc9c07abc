//! The queue operations over the wire: raw JSON 1.1 requests (the aws-sdk-kinesis in the lock file
//! predates queues), with records written by the Rust SDK, AWS member names, base64 data, epoch-second
//! timestamps, per-entry failures and AWS-shaped errors.

use aws_sdk_kinesis::primitives::Blob;
use base64::Engine as _;
use kcl_emulator::test_util::{unique_name, TestServer};
use serde_json::json;

use crate::raw::{http1, json_call};

#[tokio::test]
async fn queues_over_json() {
    let server = TestServer::start_unlimited().await;
    let http = http1();
    let endpoint = server.endpoint.clone();
    let stream = unique_name("queued");
    let (status, _) = json_call(
        &http,
        &endpoint,
        "CreateStream",
        json!({"StreamName": stream, "StreamModeDetails": {"StreamMode": "ON_DEMAND"}}),
    )
    .await;
    assert_eq!(status, 200);
    let stream_arn = server.emulator.stream_arn(&stream);

    let (status, created) = json_call(
        &http,
        &endpoint,
        "CreateQueue",
        json!({
            "QueueName": "orders",
            "StreamConfigurationList": [{"StreamARN": stream_arn, "StartingPosition": {"Type": "TRIM_HORIZON"}}],
            "QueueAttributes": {"VisibilityTimeoutSeconds": 45},
            "Tags": {"team": "data"}
        }),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let description = &created["QueueDescription"];
    let queue_arn = description["QueueARN"].as_str().unwrap().to_owned();
    assert_eq!(queue_arn, "arn:aws:kinesis:us-east-1:000000000000:queue/orders");
    assert_eq!(description["QueueStatus"], "ACTIVE");
    assert!(description["QueueCreationTimestamp"].is_number(), "epoch seconds");
    assert_eq!(description["QueueAttributes"]["VisibilityTimeoutSeconds"], 45);
    assert_eq!(
        description["QueueAttributes"]["DeadLetterConfiguration"],
        json!({"TargetType": "BUILT_IN", "MaxReceiveCount": 6})
    );
    assert_eq!(
        description["StreamConfigurationList"][0]["StartingPosition"]["Type"],
        "TRIM_HORIZON"
    );

    let put = server
        .client()
        .put_record()
        .stream_name(&stream)
        .partition_key("customer-1")
        .data(Blob::new(&b"hello queue"[..]))
        .send()
        .await
        .unwrap();

    let (status, received) = json_call(
        &http,
        &endpoint,
        "ReceiveQueueRecords",
        json!({"QueueARN": queue_arn, "WaitTimeSeconds": 1, "Limit": 10}),
    )
    .await;
    assert_eq!(status, 200, "{received}");
    let records = received["QueueRecords"].as_array().unwrap();
    assert_eq!(records.len(), 1);
    let record = &records[0];
    let b64 = base64::engine::general_purpose::STANDARD;
    assert_eq!(record["Data"], b64.encode(b"hello queue"));
    assert_eq!(record["PartitionKey"], "customer-1");
    assert_eq!(record["RecordId"], put.sequence_number());
    assert_eq!(record["ReceiveCount"], 1);
    assert!(record["ApproximateArrivalTimestamp"].is_number());
    assert!(record["FirstReceiveTimestamp"].is_number());
    let handle = record["ReceiptHandle"].as_str().unwrap().to_owned();

    let (status, visibility) = json_call(
        &http,
        &endpoint,
        "UpdateQueueRecordsVisibility",
        json!({"QueueARN": queue_arn, "Entries": [{"ReceiptHandle": handle, "VisibilityTimeoutSeconds": 120}]}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(visibility["Successful"], json!([{"ReceiptHandle": handle}]));
    assert_eq!(visibility["Failed"], json!([]));

    let (status, acked) = json_call(
        &http,
        &endpoint,
        "AcknowledgeQueueRecords",
        json!({"QueueARN": queue_arn, "Entries": [{"ReceiptHandle": handle}, {"ReceiptHandle": "bogus"}]}),
    )
    .await;
    assert_eq!(status, 200, "partial failure is a 200");
    assert_eq!(acked["Successful"], json!([{"ReceiptHandle": handle}]));
    assert_eq!(acked["Failed"][0]["ReceiptHandle"], "bogus");
    assert_eq!(acked["Failed"][0]["ErrorCode"], "InvalidArgumentException");
    assert!(acked["Failed"][0]["ErrorMessage"].is_string());

    let (status, dead) = json_call(
        &http,
        &endpoint,
        "ReceiveDeadLetterQueueRecords",
        json!({"QueueARN": queue_arn, "WaitTimeSeconds": 1}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(dead["QueueRecords"], json!([]));

    let (status, listed) = json_call(
        &http,
        &endpoint,
        "ListQueues",
        json!({"StreamFilter": [{"StreamARN": stream_arn}]}),
    )
    .await;
    assert_eq!(status, 200);
    let summaries = listed["QueueSummaries"].as_array().unwrap();
    assert_eq!(summaries.len(), 1);
    assert_eq!(summaries[0]["QueueName"], "orders");
    assert_eq!(summaries[0]["Streams"][0]["StreamARN"], stream_arn.as_str());
    assert!(summaries[0]["Streams"][0]["StreamCreationTimestamp"].is_number());

    let (status, updated) = json_call(
        &http,
        &endpoint,
        "UpdateQueue",
        json!({"QueueARN": queue_arn, "QueueAttributes": {"DeadLetterConfiguration": {"TargetType": "NONE"}}}),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        updated["QueueDescription"]["QueueAttributes"],
        json!({"VisibilityTimeoutSeconds": 45, "DeadLetterConfiguration": {"TargetType": "NONE"}})
    );

    let (status, _) = json_call(&http, &endpoint, "DeleteQueue", json!({"QueueARN": queue_arn})).await;
    assert_eq!(status, 200);
    let (status, error) = json_call(&http, &endpoint, "DescribeQueue", json!({"QueueARN": queue_arn})).await;
    assert_eq!(status, 400);
    assert_eq!(error["__type"], "ResourceNotFoundException");
    let (status, error) = json_call(
        &http,
        &endpoint,
        "ReceiveQueueRecords",
        json!({"QueueARN": queue_arn, "WaitTimeSeconds": 1}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(error["__type"], "ResourceNotFoundException");
    server.stop().await;
}

#[tokio::test]
async fn a_restarted_server_keeps_queues_and_their_delivery_state() {
    use kcl_emulator::server::Server;
    let dir = tempfile::tempdir().unwrap();
    let http = http1();
    let server =
        TestServer::start_server(Server::builder().persistence_dir(dir.path()).build().unwrap()).await;
    let endpoint = server.endpoint.clone();
    let (status, _) = json_call(
        &http,
        &endpoint,
        "CreateStream",
        json!({"StreamName": "kept", "StreamModeDetails": {"StreamMode": "ON_DEMAND"}}),
    )
    .await;
    assert_eq!(status, 200);
    let stream_arn = server.emulator.stream_arn("kept");
    let (status, created) = json_call(
        &http,
        &endpoint,
        "CreateQueue",
        json!({
            "QueueName": "q",
            "StreamConfigurationList": [{"StreamARN": stream_arn, "StartingPosition": {"Type": "TRIM_HORIZON"}}],
            "QueueAttributes": {"VisibilityTimeoutSeconds": 600, "DeadLetterConfiguration": {"TargetType": "BUILT_IN", "MaxReceiveCount": 3}}
        }),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let queue_arn = created["QueueDescription"]["QueueARN"]
        .as_str()
        .unwrap()
        .to_owned();
    for data in ["acked", "in-flight", "visible"] {
        server
            .client()
            .put_record()
            .stream_name("kept")
            .partition_key(data)
            .data(Blob::new(data.as_bytes()))
            .send()
            .await
            .unwrap();
    }
    let (_, received) = json_call(
        &http,
        &endpoint,
        "ReceiveQueueRecords",
        json!({"QueueARN": queue_arn, "WaitTimeSeconds": 1}),
    )
    .await;
    let b64 = base64::engine::general_purpose::STANDARD;
    let handle_of = |name: &str| {
        received["QueueRecords"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["Data"] == b64.encode(name))
            .unwrap()["ReceiptHandle"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (acked, in_flight, visible) = (handle_of("acked"), handle_of("in-flight"), handle_of("visible"));
    let (_, out) = json_call(
        &http,
        &endpoint,
        "AcknowledgeQueueRecords",
        json!({"QueueARN": queue_arn, "Entries": [{"ReceiptHandle": acked}]}),
    )
    .await;
    assert_eq!(out["Failed"], json!([]));
    let (_, out) = json_call(
        &http,
        &endpoint,
        "UpdateQueueRecordsVisibility",
        json!({"QueueARN": queue_arn, "Entries": [{"ReceiptHandle": visible, "VisibilityTimeoutSeconds": 0}]}),
    )
    .await;
    assert_eq!(out["Failed"], json!([]));
    server.shutdown().await;

    let server =
        TestServer::start_server(Server::builder().persistence_dir(dir.path()).build().unwrap()).await;
    let endpoint = server.endpoint.clone();
    let (status, described) =
        json_call(&http, &endpoint, "DescribeQueue", json!({"QueueARN": queue_arn})).await;
    assert_eq!(status, 200, "{described}");
    assert_eq!(
        described["QueueDescription"]["QueueAttributes"]["DeadLetterConfiguration"]["MaxReceiveCount"],
        3
    );
    let (_, received) = json_call(
        &http,
        &endpoint,
        "ReceiveQueueRecords",
        json!({"QueueARN": queue_arn, "WaitTimeSeconds": 1}),
    )
    .await;
    let records = received["QueueRecords"].as_array().unwrap();
    assert_eq!(records.len(), 1, "only the visible record: {received}");
    assert_eq!(records[0]["Data"], b64.encode("visible"));
    assert_eq!(records[0]["ReceiveCount"], 2);
    // The handle of the record still in flight was issued before the restart and still works.
    let (_, out) = json_call(
        &http,
        &endpoint,
        "AcknowledgeQueueRecords",
        json!({"QueueARN": queue_arn, "Entries": [{"ReceiptHandle": in_flight}]}),
    )
    .await;
    assert_eq!(out["Failed"], json!([]), "{out}");
    server.shutdown().await;
}
