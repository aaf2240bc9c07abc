//! The wire protocol seen by a raw HTTP client: CBOR bodies, AWS-shaped errors, HTTP/2 (h2c) event streams.

use std::time::Duration;

use ciborium::value::Value as Cbor;
use http_body_util::BodyExt;
use kcl_emulator::test_util::{unique_name, TestServer};
use serde_json::{json, Value};

use crate::raw::*;

fn cbor_map(entries: Vec<(&str, Cbor)>) -> Vec<u8> {
    let map = Cbor::Map(
        entries
            .into_iter()
            .map(|(k, v)| (Cbor::Text(k.into()), v))
            .collect(),
    );
    let mut out = Vec::new();
    ciborium::ser::into_writer(&map, &mut out).unwrap();
    out
}

fn cbor_get<'a>(value: &'a Cbor, key: &str) -> Option<&'a Cbor> {
    match value {
        Cbor::Map(entries) => entries
            .iter()
            .find(|(k, _)| k == &Cbor::Text(key.into()))
            .map(|(_, v)| v),
        _ => None,
    }
}

#[tokio::test]
async fn cbor_requests_get_cbor_answers_with_byte_strings_and_millis() {
    let server = TestServer::start().await;
    let client = http1();
    let name = unique_name("cbor");
    let cbor = "application/x-amz-cbor-1.1";

    let (status, headers, _) = send(
        &client,
        request(
            &server.endpoint,
            "CreateStream",
            cbor,
            cbor_map(vec![
                ("StreamName", Cbor::Text(name.clone())),
                ("ShardCount", Cbor::Integer(1.into())),
            ]),
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], cbor);

    let payload = vec![0u8, 1, 2, 250, 255];
    let (status, _, body) = send(
        &client,
        request(
            &server.endpoint,
            "PutRecord",
            cbor,
            cbor_map(vec![
                ("StreamName", Cbor::Text(name.clone())),
                ("PartitionKey", Cbor::Text("k".into())),
                ("Data", Cbor::Bytes(payload.clone())),
            ]),
        ),
    )
    .await;
    assert_eq!(status, 200);
    let put: Cbor = ciborium::de::from_reader(&body[..]).unwrap();
    let Some(Cbor::Text(shard_id)) = cbor_get(&put, "ShardId") else {
        panic!("no ShardId in {put:?}")
    };

    let (_, _, body) = send(
        &client,
        request(
            &server.endpoint,
            "GetShardIterator",
            cbor,
            cbor_map(vec![
                ("StreamName", Cbor::Text(name.clone())),
                ("ShardId", Cbor::Text(shard_id.clone())),
                ("ShardIteratorType", Cbor::Text("TRIM_HORIZON".into())),
            ]),
        ),
    )
    .await;
    let it: Cbor = ciborium::de::from_reader(&body[..]).unwrap();
    let iterator = cbor_get(&it, "ShardIterator").unwrap().clone();

    let (status, _, body) = send(
        &client,
        request(
            &server.endpoint,
            "GetRecords",
            cbor,
            cbor_map(vec![("ShardIterator", iterator)]),
        ),
    )
    .await;
    assert_eq!(status, 200);
    let records: Cbor = ciborium::de::from_reader(&body[..]).unwrap();
    let Some(Cbor::Array(records)) = cbor_get(&records, "Records") else {
        panic!("no Records")
    };
    assert_eq!(cbor_get(&records[0], "Data"), Some(&Cbor::Bytes(payload)));
    // Timestamps are epoch milliseconds (tag 1), so they exceed 10^12 today.
    match cbor_get(&records[0], "ApproximateArrivalTimestamp") {
        Some(Cbor::Tag(1, inner)) => match inner.as_ref() {
            Cbor::Integer(i) => assert!(i128::from(*i) > 1_000_000_000_000),
            other => panic!("timestamp is {other:?}"),
        },
        other => panic!("timestamp is {other:?}"),
    }

    // CBOR errors are CBOR too.
    let (status, headers, body) = send(
        &client,
        request(
            &server.endpoint,
            "DescribeStream",
            cbor,
            cbor_map(vec![("StreamName", Cbor::Text("nope".into()))]),
        ),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(headers["x-amzn-errortype"], "ResourceNotFoundException");
    let error: Cbor = ciborium::de::from_reader(&body[..]).unwrap();
    assert_eq!(
        cbor_get(&error, "__type"),
        Some(&Cbor::Text("ResourceNotFoundException".into()))
    );
    server.stop().await;
}

#[tokio::test]
async fn malformed_requests_get_aws_errors_and_the_server_keeps_serving() {
    let server = TestServer::start().await;
    let client = http1();
    let ep = &server.endpoint;

    let mut unsigned = request(ep, "ListStreams", "application/x-amz-json-1.1", b"{}".to_vec());
    unsigned.headers_mut().remove("authorization");
    let (status, _, body) = send(&client, unsigned).await;
    assert_eq!(status, 400);
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["__type"], "MissingAuthenticationTokenException");

    let (status, body) = json_call(&client, ep, "NoSuchOperation", json!({})).await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "UnknownOperationException");

    let (status, _, body) = send(
        &client,
        request(
            ep,
            "CreateStream",
            "application/x-amz-json-1.1",
            b"{\"Stream".to_vec(),
        ),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["__type"],
        "SerializationException"
    );

    // Wrong member types.
    let (status, body) = json_call(
        &client,
        ep,
        "CreateStream",
        json!({"StreamName": 5, "ShardCount": "two"}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "SerializationException");

    // Missing required members are the emulator's ValidationException.
    let (status, body) = json_call(&client, ep, "CreateStream", json!({})).await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "ValidationException", "{body}");

    // Garbage CBOR.
    let (status, _, body) = send(
        &client,
        request(
            ep,
            "ListStreams",
            "application/x-amz-cbor-1.1",
            vec![0xff, 0x00, 0x9f],
        ),
    )
    .await;
    assert_eq!(status, 400);
    let error: Cbor = ciborium::de::from_reader(&body[..]).unwrap();
    assert_eq!(
        cbor_get(&error, "__type"),
        Some(&Cbor::Text("SerializationException".into()))
    );

    // Oversized body (over the 16 MiB default, which admits a base64 10 MiB record).
    let big = vec![b' '; 17 * 1024 * 1024];
    let (status, _, _) = send(
        &client,
        request(ep, "PutRecord", "application/x-amz-json-1.1", big),
    )
    .await;
    assert_eq!(status, 413);

    // Still serving.
    let (status, body) = json_call(&client, ep, "ListStreams", json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["StreamNames"].is_array());
    server.stop().await;
}

/// Reads event-stream messages from a response body until `want` SubscribeToShardEvent records arrived.
async fn read_events(body: hyper::body::Incoming, want: usize) -> (Vec<String>, Vec<Vec<u8>>) {
    use aws_smithy_eventstream::frame::read_message_from;
    let mut body = body;
    let mut buffer = bytes::BytesMut::new();
    let mut kinds = Vec::new();
    let mut records = Vec::new();
    while records.len() < want {
        let frame = tokio::time::timeout(Duration::from_secs(10), body.frame())
            .await
            .expect("no frame within 10 s")
            .expect("body ended")
            .unwrap();
        if let Ok(data) = frame.into_data() {
            buffer.extend_from_slice(&data);
        }
        // Messages start with their total length (big-endian u32).
        while buffer.len() >= 4 {
            let total = u32::from_be_bytes([buffer[0], buffer[1], buffer[2], buffer[3]]) as usize;
            if buffer.len() < total {
                break;
            }
            let mut message_bytes = buffer.split_to(total).freeze();
            let message = read_message_from(&mut message_bytes).unwrap();
            let kind = message
                .headers()
                .iter()
                .find(|h| h.name().as_str() == ":event-type")
                .and_then(|h| h.value().as_string().ok())
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default();
            if kind == "SubscribeToShardEvent" {
                let event: Value = serde_json::from_slice(message.payload()).unwrap();
                for record in event["Records"].as_array().unwrap() {
                    use base64::Engine as _;
                    let data = base64::engine::general_purpose::STANDARD
                        .decode(record["Data"].as_str().unwrap())
                        .unwrap();
                    records.push(data);
                }
            }
            kinds.push(kind);
        }
    }
    (kinds, records)
}

#[tokio::test]
async fn subscribe_to_shard_streams_over_h2c() {
    let server = TestServer::start().await;
    let client = h2c();
    let ep = &server.endpoint;
    let name = unique_name("h2");
    let (status, body) = json_call(
        &client,
        ep,
        "CreateStream",
        json!({"StreamName": name, "ShardCount": 1}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, summary) = json_call(&client, ep, "DescribeStreamSummary", json!({"StreamName": name})).await;
    let stream_arn = summary["StreamDescriptionSummary"]["StreamARN"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, registered) = json_call(
        &client,
        ep,
        "RegisterStreamConsumer",
        json!({"StreamARN": stream_arn, "ConsumerName": "h2"}),
    )
    .await;
    assert_eq!(status, 200, "{registered}");
    let consumer_arn = registered["Consumer"]["ConsumerARN"].as_str().unwrap().to_owned();
    for _ in 0..100 {
        let (_, described) = json_call(
            &client,
            ep,
            "DescribeStreamConsumer",
            json!({"ConsumerARN": consumer_arn}),
        )
        .await;
        if described["ConsumerDescription"]["ConsumerStatus"] == "ACTIVE" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, shards) = json_call(&client, ep, "ListShards", json!({"StreamName": name})).await;
    let shard_id = shards["Shards"][0]["ShardId"].as_str().unwrap().to_owned();
    json_call(
        &client,
        ep,
        "PutRecord",
        json!({"StreamName": name, "PartitionKey": "a", "Data": "b25l"}),
    )
    .await;

    let subscribe = request(
        ep,
        "SubscribeToShard",
        "application/x-amz-json-1.1",
        json!({"ConsumerARN": consumer_arn, "ShardId": shard_id, "StartingPosition": {"Type": "TRIM_HORIZON"}})
            .to_string()
            .into_bytes(),
    );
    let response = client.request(subscribe).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), http::Version::HTTP_2);
    assert_eq!(
        response.headers()["content-type"],
        "application/vnd.amazon.eventstream"
    );

    // While the subscription is open, a record put on the same HTTP/2 connection arrives on it.
    let client2 = client.clone();
    let ep2 = ep.clone();
    let name2 = name.clone();
    let producer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        json_call(
            &client2,
            &ep2,
            "PutRecord",
            json!({"StreamName": name2, "PartitionKey": "a", "Data": "dHdv"}),
        )
        .await
    });
    let (kinds, records) = read_events(response.into_body(), 2).await;
    assert_eq!(kinds[0], "initial-response");
    assert_eq!(records, [b"one".to_vec(), b"two".to_vec()]);
    assert_eq!(producer.await.unwrap().0, 200);
    server.stop().await;
}

#[tokio::test]
async fn subscribe_to_shard_events_are_cbor_for_cbor_requests() {
    use aws_smithy_eventstream::frame::read_message_from;
    let server = TestServer::start().await;
    let client = http1();
    let ep = &server.endpoint;
    let name = unique_name("cbor-efo");
    json_call(
        &client,
        ep,
        "CreateStream",
        json!({"StreamName": name, "ShardCount": 1}),
    )
    .await;
    let stream_arn = server.emulator.stream_arn(&name);
    let (_, registered) = json_call(
        &client,
        ep,
        "RegisterStreamConsumer",
        json!({"StreamARN": stream_arn, "ConsumerName": "c"}),
    )
    .await;
    let consumer_arn = registered["Consumer"]["ConsumerARN"].as_str().unwrap().to_owned();
    let (_, shards) = json_call(&client, ep, "ListShards", json!({"StreamName": name})).await;
    let shard_id = shards["Shards"][0]["ShardId"].as_str().unwrap().to_owned();
    json_call(
        &client,
        ep,
        "PutRecord",
        json!({"StreamName": name, "PartitionKey": "a", "Data": "AAH/"}),
    )
    .await;

    let body = cbor_map(vec![
        ("ConsumerARN", Cbor::Text(consumer_arn)),
        ("ShardId", Cbor::Text(shard_id)),
        (
            "StartingPosition",
            Cbor::Map(vec![(
                Cbor::Text("Type".into()),
                Cbor::Text("TRIM_HORIZON".into()),
            )]),
        ),
    ]);
    let response = client
        .request(request(
            ep,
            "SubscribeToShard",
            "application/x-amz-cbor-1.1",
            body,
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let mut buffer = bytes::BytesMut::new();
    let event = loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), body.frame())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        buffer.extend_from_slice(&frame.into_data().unwrap());
        let mut found = None;
        while buffer.len() >= 4 {
            let total = u32::from_be_bytes([buffer[0], buffer[1], buffer[2], buffer[3]]) as usize;
            if buffer.len() < total {
                break;
            }
            let mut bytes = buffer.split_to(total).freeze();
            let message = read_message_from(&mut bytes).unwrap();
            let is_event = message.headers().iter().any(|h| {
                h.name().as_str() == ":event-type"
                    && h.value().as_string().ok().map(|s| s.as_str()) == Some("SubscribeToShardEvent")
            });
            let content_type = message
                .headers()
                .iter()
                .find(|h| h.name().as_str() == ":content-type")
                .and_then(|h| h.value().as_string().ok())
                .map(|s| s.as_str().to_owned());
            assert_eq!(content_type.as_deref(), Some("application/x-amz-cbor-1.1"));
            if is_event {
                found = Some(message);
                break;
            }
        }
        if let Some(message) = found {
            break message;
        }
    };
    let payload: Cbor = ciborium::de::from_reader(&event.payload()[..]).unwrap();
    let Some(Cbor::Array(records)) = cbor_get(&payload, "Records") else {
        panic!("no Records in {payload:?}")
    };
    assert_eq!(cbor_get(&records[0], "Data"), Some(&Cbor::Bytes(vec![0, 1, 255])));
    server.stop().await;
}

#[tokio::test]
async fn garbage_on_the_socket_never_takes_the_server_down() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start().await;
    let address = server.endpoint.trim_start_matches("http://").to_owned();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        // xorshift: deterministic garbage.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let prefixes: [&[u8]; 5] = [
        b"",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    ];
    for round in 0..50 {
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        let mut bytes = prefixes[round % prefixes.len()].to_vec();
        bytes.extend((0..(next() % 2048)).map(|_| next() as u8));
        let _ = stream.write_all(&bytes).await;
        let _ = stream.shutdown().await;
        let mut sink = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut sink)).await;
    }
    let (status, body) = json_call(&http1(), &server.endpoint, "ListStreams", json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = json_call(&h2c(), &server.endpoint, "ListStreams", json!({})).await;
    assert_eq!(status, 200);
    server.stop().await;
}

/// Sends one ListStreams on `stream` (HTTP/1.1, keep-alive) and reads the answer's status line.
async fn list_streams_on(stream: &mut tokio::net::TcpStream) -> std::io::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let request = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\n\
         X-Amz-Target: Kinesis_20131202.ListStreams\r\nAuthorization: {AUTH}\r\n\
         X-Amz-Date: 20260101T000000Z\r\nContent-Length: 2\r\n\r\n{{}}"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut buf = vec![0u8; 4096];
    let n = stream.read(&mut buf).await?;
    Ok(String::from_utf8_lossy(&buf[..n])
        .lines()
        .next()
        .unwrap_or("")
        .to_owned())
}

#[tokio::test]
async fn idle_keep_alive_connections_stay_open_for_the_idle_timeout() {
    use tokio::io::AsyncReadExt;
    assert!(
        kcl_emulator::server::DEFAULT_IDLE_TIMEOUT >= Duration::from_secs(90),
        "longer than the SDKs' connection pools keep idle connections"
    );
    let server = kcl_emulator::server::Server::builder()
        .idle_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let server = TestServer::start_server(server).await;
    let address = server.endpoint.trim_start_matches("http://").to_owned();
    let mut conn = tokio::net::TcpStream::connect(&address).await.unwrap();
    assert_eq!(list_streams_on(&mut conn).await.unwrap(), "HTTP/1.1 200 OK");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        list_streams_on(&mut conn).await.unwrap(),
        "HTTP/1.1 200 OK",
        "reused after an idle time below the timeout"
    );
    let idle = tokio::time::Instant::now();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(10), conn.read(&mut buf))
        .await
        .expect("closed by the server")
        .unwrap_or(0);
    assert_eq!(n, 0, "closed, not answered");
    let waited = idle.elapsed();
    assert!(
        waited >= Duration::from_millis(1900),
        "closed after {waited:?}, before the idle timeout"
    );
    server.stop().await;
}
