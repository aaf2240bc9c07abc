//! Unit tests of `server/codec.rs`.

use super::*;
use serde_json::json;

fn cbor_bytes(value: &Cbor) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(value, &mut out).unwrap();
    out
}

#[test]
fn indefinite_length_cbor_as_jackson_writes_it_is_accepted() {
    // {_ "StreamName": "s", "Data": (_ h'6869', h'21'), "Timestamp": 1(1500000000000) }
    let mut body = vec![0xbf];
    body.extend_from_slice(&[0x6a]);
    body.extend_from_slice(b"StreamName");
    body.extend_from_slice(&[0x61, b's']);
    body.extend_from_slice(&[0x64]);
    body.extend_from_slice(b"Data");
    body.extend_from_slice(&[0x5f, 0x42, b'h', b'i', 0x41, b'!', 0xff]);
    body.extend_from_slice(&[0x69]);
    body.extend_from_slice(b"Timestamp");
    body.extend_from_slice(&[0xc1, 0x1b]);
    body.extend_from_slice(&1_500_000_000_000_u64.to_be_bytes());
    body.push(0xff);
    let map = decode_request(WireFormat::Cbor, &body).unwrap();
    assert_eq!(map["StreamName"], "s");
    assert_eq!(
        map["Data"],
        base64::engine::general_purpose::STANDARD.encode(b"hi!")
    );
    assert_eq!(map["Timestamp"], 1_500_000_000);
}

#[test]
fn cbor_millis_survive_the_trip_through_seconds() {
    use crate::shapes::Timestamp;
    for millis in [
        0_i64,
        1,
        1001,
        1003,
        999,
        1000,
        1_700_000_000_123,
        1_764_093_600_001,
        1_764_093_600_999,
    ] {
        let seconds = millis_to_seconds(millis as f64).unwrap().as_f64().unwrap();
        assert_eq!(Timestamp::from_secs_f64(seconds).as_millis(), millis, "{millis}");
    }
}

#[test]
fn content_types_are_recognised() {
    assert_eq!(
        WireFormat::from_content_type("application/x-amz-json-1.1; charset=utf-8"),
        Some(WireFormat::Json)
    );
    assert_eq!(
        WireFormat::from_content_type("application/x-amz-cbor-1.1"),
        Some(WireFormat::Cbor)
    );
    assert_eq!(WireFormat::from_content_type("text/plain"), None);
    // AWS serves only its two protocols: plain JSON and CBOR media types are not among them.
    assert_eq!(WireFormat::from_content_type("application/json"), None);
    assert_eq!(WireFormat::from_content_type("application/cbor"), None);
}

#[test]
fn bytes_after_a_cbor_body_are_rejected_like_trailing_json() {
    let mut body = cbor_bytes(&Cbor::Map(vec![(
        Cbor::Text("StreamName".into()),
        Cbor::Text("s".into()),
    )]));
    assert!(decode_request(WireFormat::Cbor, &body).is_ok());
    body.push(0x01);
    let err = decode_request(WireFormat::Cbor, &body).unwrap_err();
    assert_eq!(err.code, "SerializationException");
    assert!(err.message.contains("1 trailing bytes"), "{}", err.message);
    let err = decode_request(WireFormat::Json, br#"{"StreamName":"s"} {}"#).unwrap_err();
    assert_eq!(err.code, "SerializationException");
}

#[test]
fn cbor_blobs_and_millis_become_base64_and_seconds() {
    let body = cbor_bytes(&Cbor::Map(vec![
        (Cbor::Text("StreamName".into()), Cbor::Text("s".into())),
        (Cbor::Text("Data".into()), Cbor::Bytes(b"hello".to_vec())),
        (
            Cbor::Text("Timestamp".into()),
            Cbor::Tag(1, Box::new(Cbor::Integer(1_500_000_000_250_i64.into()))),
        ),
        (Cbor::Text("Limit".into()), Cbor::Integer(10.into())),
        (Cbor::Text("Nothing".into()), Cbor::Null),
    ]));
    let mut map = decode_request(WireFormat::Cbor, &body).unwrap();
    let seconds = map["Timestamp"].as_f64().unwrap();
    assert_eq!(
        crate::types::Timestamp::from_secs_f64(seconds).as_millis(),
        1_500_000_000_250
    );
    map.remove("Timestamp");
    assert_eq!(
        Value::Object(map),
        json!({"StreamName": "s", "Data": "aGVsbG8=", "Limit": 10})
    );
}

#[test]
fn cbor_response_has_byte_strings_and_tagged_millis() {
    let value =
        json!({"Records": [{"Data": "aGVsbG8=", "ApproximateArrivalTimestamp": 1.5, "SequenceNumber": "1"}]});
    let out = encode_response(WireFormat::Cbor, &value);
    let back: Cbor = ciborium::de::from_reader(&out[..]).unwrap();
    let Cbor::Map(top) = back else { panic!("not a map") };
    let Cbor::Array(records) = &top[0].1 else {
        panic!("not an array")
    };
    let Cbor::Map(record) = &records[0] else {
        panic!("not a map")
    };
    let get = |name: &str| {
        record
            .iter()
            .find(|(k, _)| k == &Cbor::Text(name.into()))
            .map(|(_, v)| v.clone())
    };
    assert_eq!(get("Data"), Some(Cbor::Bytes(b"hello".to_vec())));
    assert_eq!(
        get("ApproximateArrivalTimestamp"),
        Some(Cbor::Tag(1, Box::new(Cbor::Integer(1500.into()))))
    );
    assert_eq!(get("SequenceNumber"), Some(Cbor::Text("1".into())));
}

#[test]
fn json_nulls_are_dropped_and_non_maps_rejected() {
    let map = decode_request(WireFormat::Json, br#"{"A": null, "B": {"C": null, "D": 1}}"#).unwrap();
    assert_eq!(Value::Object(map), json!({"B": {"D": 1}}));
    let err = decode_request(WireFormat::Json, b"[1,2]").unwrap_err();
    assert_eq!(err.code, "SerializationException");
    let err = decode_request(WireFormat::Json, b"{not json").unwrap_err();
    assert_eq!(err.code, "SerializationException");
}

#[test]
fn empty_body_is_an_empty_request() {
    assert!(decode_request(WireFormat::Json, b"").unwrap().is_empty());
    assert!(decode_request(WireFormat::Cbor, b"").unwrap().is_empty());
}

#[test]
fn deep_nesting_is_rejected() {
    let body = format!("{{\"A\":{}1{}}}", "[".repeat(100), "]".repeat(100));
    let err = decode_request(WireFormat::Json, body.as_bytes()).unwrap_err();
    assert_eq!(err.code, "SerializationException");
}

#[test]
fn errors_encode_in_both_formats() {
    let err = ApiError::validation("bad");
    let json: Value = serde_json::from_slice(&encode_error(WireFormat::Json, &err)).unwrap();
    assert_eq!(json, json!({"__type": "ValidationException", "message": "bad"}));
    let cbor = encode_error(WireFormat::Cbor, &err);
    let back = decode_request(WireFormat::Cbor, &cbor).unwrap();
    assert_eq!(
        Value::Object(back),
        json!({"__type": "ValidationException", "message": "bad"})
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn arb_cbor() -> impl Strategy<Value = Cbor> {
        let leaf = prop_oneof![
            Just(Cbor::Null),
            any::<bool>().prop_map(Cbor::Bool),
            any::<i64>().prop_map(|i| Cbor::Integer(i.into())),
            any::<u64>().prop_map(|i| Cbor::Integer(i.into())),
            any::<f64>().prop_map(Cbor::Float),
            proptest::collection::vec(any::<u8>(), 0..16).prop_map(Cbor::Bytes),
            "[a-zA-Z0-9]{0,8}".prop_map(Cbor::Text),
        ];
        leaf.prop_recursive(6, 64, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Cbor::Array),
                proptest::collection::vec(
                    (
                        prop_oneof![
                            Just("Data".to_owned()),
                            Just("Timestamp".to_owned()),
                            "[A-Z][a-z]{0,6}".prop_map(String::from)
                        ]
                        .prop_map(Cbor::Text),
                        inner.clone()
                    ),
                    0..6
                )
                .prop_map(Cbor::Map),
                (any::<u64>(), inner).prop_map(|(t, v)| Cbor::Tag(t, Box::new(v))),
            ]
        })
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            for format in [WireFormat::Json, WireFormat::Cbor] {
                if let Err(e) = decode_request(format, &bytes) {
                    prop_assert_eq!(e.code, "SerializationException");
                }
            }
        }

        #[test]
        fn arbitrary_cbor_values_decode_or_fail_cleanly(value in arb_cbor()) {
            let mut bytes = Vec::new();
            ciborium::ser::into_writer(&value, &mut bytes).unwrap();
            match decode_request(WireFormat::Cbor, &bytes) {
                Ok(map) => {
                    // Whatever decodes re-encodes in both formats without panicking.
                    let value = Value::Object(map);
                    let json = encode_response(WireFormat::Json, &value);
                    prop_assert!(serde_json::from_slice::<Value>(&json).is_ok());
                    let _ = encode_response(WireFormat::Cbor, &value);
                }
                Err(e) => prop_assert_eq!(e.code, "SerializationException"),
            }
        }

        #[test]
        fn truncated_cbor_fails_cleanly(value in arb_cbor(), cut in 0usize..64) {
            let mut bytes = Vec::new();
            ciborium::ser::into_writer(&value, &mut bytes).unwrap();
            let cut = cut.min(bytes.len());
            if let Err(e) = decode_request(WireFormat::Cbor, &bytes[..bytes.len() - cut]) {
                prop_assert_eq!(e.code, "SerializationException");
            }
        }

        #[test]
        fn json_requests_survive_a_cbor_round_trip(
            name in "[a-zA-Z0-9_.-]{1,128}",
            data in proptest::collection::vec(any::<u8>(), 0..64),
            millis in 0i64..4_000_000_000_000,
            limit in 1u32..10_000,
        ) {
            let request = serde_json::json!({
                "StreamName": name,
                "Records": [{"Data": base64::engine::general_purpose::STANDARD.encode(&data), "PartitionKey": "k"}],
                "Limit": limit,
                "Timestamp": millis as f64 / 1000.0,
            });
            let cbor = encode_response(WireFormat::Cbor, &request);
            let back = Value::Object(decode_request(WireFormat::Cbor, &cbor).unwrap());
            prop_assert_eq!(&back["StreamName"], &request["StreamName"]);
            prop_assert_eq!(&back["Records"], &request["Records"]);
            prop_assert_eq!(&back["Limit"], &request["Limit"]);
            let seconds = back["Timestamp"].as_f64().unwrap();
            prop_assert_eq!(crate::types::Timestamp::from_secs_f64(seconds).as_millis(), millis);
        }
    }
}

#[test]
fn a_json_put_records_body_decodes_straight_into_its_input() {
    let body = br#"{"StreamName":"s","Records":[{"Data":"aGk=","PartitionKey":"k"},{"Data":"","PartitionKey":"k","ExplicitHashKey":"1"}]}"#;
    let direct: crate::types::PutRecordsInput = serde_json::from_slice(body).expect("the direct path");
    assert_eq!(direct.records.len(), 2);
    assert_eq!(&direct.records[0].data[..], b"hi");
    let via = RequestBody::Json {
        operation: "PutRecords",
        bytes: bytes::Bytes::from_static(body),
    }
    .decode::<crate::types::PutRecordsInput>()
    .unwrap();
    assert_eq!(via, direct);
    // A null member falls back to the canonical form, where null is absent.
    let with_null =
        br#"{"StreamName":"s","Records":[{"Data":"aGk=","PartitionKey":"k","ExplicitHashKey":null}]}"#;
    let decoded = RequestBody::Json {
        operation: "PutRecords",
        bytes: bytes::Bytes::from_static(with_null),
    }
    .decode::<crate::types::PutRecordsInput>()
    .unwrap();
    assert_eq!(decoded.records[0].explicit_hash_key, None);
}
