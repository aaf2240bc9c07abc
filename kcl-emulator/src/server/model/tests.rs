use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map};

use super::*;

fn check(operation: &str, request: Value) -> Result<(), ApiError> {
    let Value::Object(map) = request else {
        panic!("requests are structures")
    };
    model().validate(operation, &map)
}

fn validation_message(operation: &str, request: Value) -> String {
    let err = check(operation, request).expect_err("the request is invalid");
    assert_eq!(err.code, "ValidationException", "{}", err.message);
    err.message
}

#[test]
fn the_description_covers_the_whole_api() {
    let m = model();
    assert_eq!(m.operation_names().len(), 57);
    assert!(m.source.starts_with("botocore "), "{}", m.source);
    for name in m.operation_names() {
        assert!(m.operation(name).is_some());
    }
}

#[test]
fn a_missing_required_member_is_null() {
    let message = validation_message("PutRecord", json!({"StreamName": "s", "PartitionKey": "k"}));
    assert_eq!(
        message,
        "1 validation error detected: Value null at 'data' failed to satisfy constraint: Member must not be null"
    );
}

#[test]
fn an_unknown_enum_value_is_a_validation_error_listing_the_set() {
    let message = validation_message(
        "GetShardIterator",
        json!({"StreamName": "s", "ShardId": "shardId-000000000000", "ShardIteratorType": "FOO"}),
    );
    assert_eq!(
        message,
        "1 validation error detected: Value 'FOO' at 'shardIteratorType' failed to satisfy constraint: \
         Member must satisfy enum value set: [AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, TRIM_HORIZON, LATEST, AT_TIMESTAMP]"
    );
    let message = validation_message(
        "UpdateShardCount",
        json!({"StreamName": "s", "TargetShardCount": 2, "ScalingType": "FAST"}),
    );
    assert!(message.contains("Value 'FAST' at 'scalingType'"), "{message}");
    assert!(message.contains("enum value set: [UNIFORM_SCALING]"), "{message}");
}

#[test]
fn every_failed_constraint_is_reported_in_member_order() {
    let message = validation_message(
        "GetShardIterator",
        json!({"StreamName": "bad name!", "ShardId": "", "StartingSequenceNumber": "01"}),
    );
    // The empty shard id breaks two constraints (its length and its pattern): five in all.
    assert!(message.starts_with("5 validation errors detected: "), "{message}");
    let parts: Vec<&str> = message
        .trim_start_matches("5 validation errors detected: ")
        .split("; ")
        .collect();
    assert_eq!(parts.len(), 5, "{message}");
    assert!(
        parts[0].starts_with("Value 'bad name!' at 'streamName'"),
        "{message}"
    );
    assert!(parts[0].ends_with("pattern: [a-zA-Z0-9_.-]+"), "{message}");
    assert!(parts[1].starts_with("Value '' at 'shardId'"), "{message}");
    assert!(
        parts[1].ends_with("length greater than or equal to 1"),
        "{message}"
    );
    assert!(parts[2].starts_with("Value '' at 'shardId'"), "{message}");
    assert!(parts[2].ends_with("pattern: [a-zA-Z0-9_.-]+"), "{message}");
    assert!(
        parts[3].starts_with("Value null at 'shardIteratorType'"),
        "{message}"
    );
    assert!(
        parts[4].starts_with("Value '01' at 'startingSequenceNumber'"),
        "{message}"
    );
}

#[test]
fn list_items_and_map_entries_are_named_like_aws() {
    let message = validation_message(
        "PutRecords",
        json!({"StreamName": "s", "Records": [{"Data": "AA==", "PartitionKey": "k"}, {"PartitionKey": ""}]}),
    );
    assert!(
        message.contains("Value null at 'records.2.member.data'"),
        "{message}"
    );
    assert!(
        message.contains(
            "Value '' at 'records.2.member.partitionKey' failed to satisfy constraint: \
                          Member must have length greater than or equal to 1"
        ),
        "{message}"
    );
    let message = validation_message("AddTagsToStream", json!({"StreamName": "s", "Tags": {"": "v"}}));
    assert!(
        message.contains(
            "at 'tags' failed to satisfy constraint: Map keys must satisfy constraint: \
                          [Member must have length greater than or equal to 1]"
        ),
        "{message}"
    );
    let message = validation_message("PutRecords", json!({"StreamName": "s", "Records": []}));
    assert!(message.contains("Value '[]' at 'records'"), "{message}");
}

#[test]
fn values_of_the_wrong_type_are_serialization_errors() {
    for (operation, request) in [
        // A list where a structure belongs.
        ("PutRecords", json!({"StreamName": "s", "Records": [[]]})),
        // A numeric string where a timestamp belongs.
        (
            "GetShardIterator",
            json!({"StreamName": "s", "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_TIMESTAMP",
                   "Timestamp": "1700000000"}),
        ),
        ("ListShards", json!({"StreamName": "s", "MaxResults": "10"})),
        ("ListShards", json!({"StreamName": "s", "MaxResults": 1.5})),
        (
            "ListShards",
            json!({"StreamName": "s", "MaxResults": 4_294_967_296_i64}),
        ),
        (
            "PutRecord",
            json!({"StreamName": "s", "Data": 7, "PartitionKey": "k"}),
        ),
        ("ListStreams", json!({"ExclusiveStartStreamName": ["s"]})),
        ("AddTagsToStream", json!({"StreamName": "s", "Tags": {"k": 1}})),
        (
            "ListShards",
            json!({"StreamName": "s", "ShardFilter": "AT_LATEST"}),
        ),
    ] {
        let err = check(operation, request.clone()).expect_err("wrong types are refused");
        assert_eq!(
            err.code, "SerializationException",
            "{operation} {request}: {}",
            err.message
        );
    }
}

#[test]
fn valid_requests_and_unknown_members_pass() {
    check(
        "PutRecords",
        json!({"StreamName": "s", "Records": [{"Data": "AA==", "PartitionKey": "k"}], "Extra": 1}),
    )
    .unwrap();
    check(
        "GetShardIterator",
        json!({"StreamARN": "arn:aws:kinesis:us-west-2:123456789012:stream/s", "ShardId": "shardId-000000000000",
               "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": 1_700_000_000.5}),
    )
    .unwrap();
    check("ListStreams", json!({})).unwrap();
    check("NotAnOperation", json!({"x": 1})).unwrap();
}

#[test]
fn json_bodies_are_walked_without_building_them() {
    let m = model();
    assert!(m.validate_json("ListStreams", b"{}").is_ok());
    assert!(
        m.validate_json("ListStreams", br#"{"Limit": null}"#).is_ok(),
        "null is absent"
    );
    let err = m
        .validate_json("PutRecord", br#"{"StreamName":"s","PartitionKey":"k"}"#)
        .unwrap_err();
    assert_eq!(
        err.message,
        "1 validation error detected: Value null at 'data' failed to satisfy constraint: Member must not be null"
    );
    for bad in [&b"{oops"[..], b"[]", b"{} {}", br#"{"StreamName":"s"} x"#] {
        let err = m.validate_json("ListShards", bad).unwrap_err();
        assert_eq!(
            err.code,
            "SerializationException",
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn blob_lengths_are_measured_decoded() {
    // 10 MiB is the largest record (UpdateMaxRecordSize); one byte more is refused.
    let max = "A".repeat(10 * 1024 * 1024 / 3 * 4 + 4);
    assert!(base64_len(&max) > 10 * 1024 * 1024);
    let message = validation_message(
        "PutRecord",
        json!({"StreamName": "s", "Data": max, "PartitionKey": "k"}),
    );
    assert!(
        message.contains("Member must have length less than or equal to 10485760"),
        "{message}"
    );
    assert_eq!(base64_len("AAAA"), 3);
    assert_eq!(base64_len("AA=="), 1);
    assert_eq!(base64_len(""), 0);
}

// ---- The property: requests generated from the description, with chosen members broken ----

/// Strings that satisfy the description's patterns; a valid value for a patterned shape is the first that
/// fits (a new pattern in a regenerated description fails the test until an example is added here).
const PATTERN_EXAMPLES: &[&str] = &[
    "abc",
    "name_1",
    "123456789012",
    "123",
    "abcdefghij0123456789-abc",
    "arn:aws:kinesis:us-east-1:123456789012:stream/s1",
    "arn:aws:kinesis:us-east-1:123456789012:stream/s1/consumer/c1:1700000000",
    "arn:aws:kinesis:us-east-1:123456789012:channel/c1",
    "arn:aws:kinesis:us-east-1:123456789012:queue/q1",
    "arn:aws:iam::123456789012:role/r1",
    "arn:aws:s3:::bucket-1",
    "arn:aws:s3tables:us-east-1:123456789012:bucket/bucket-1",
    "arn:aws:glue:us-east-1:123456789012:schema/registry/schema",
];

/// A value of shape `id` that satisfies every constraint (small lists and maps, shallow structures).
fn valid(id: ShapeId, rng: &mut StdRng, depth: usize) -> Value {
    let m = model();
    let shape = m.shape(id);
    let (min, max) = (shape.min.unwrap_or(0), shape.max.unwrap_or(i64::MAX));
    match &shape.kind {
        Kind::Structure { members, required } => {
            let mut map = Map::new();
            for (i, member) in members.iter().enumerate() {
                if required.contains(&i) || (depth < 3 && rng.random_bool(0.3)) {
                    map.insert(member.name.clone(), valid(member.shape, rng, depth + 1));
                }
            }
            Value::Object(map)
        }
        Kind::List { member } => {
            let n = rng.random_range(min.max(if depth < 3 { 1 } else { 0 })..=max.min(min.max(1) + 2));
            Value::Array((0..n).map(|_| valid(*member, rng, depth + 1)).collect())
        }
        Kind::Map { key, value } => {
            let n = rng.random_range(min..=max.min(min.max(1) + 2));
            let mut map = Map::new();
            while (map.len() as i64) < n {
                let Value::String(k) = valid(*key, rng, depth + 1) else {
                    unreachable!()
                };
                map.insert(format!("{k}{}", map.len()), valid(*value, rng, depth + 1));
            }
            Value::Object(map)
        }
        Kind::String { pattern, values } => {
            if let Some(values) = values {
                return Value::String(values[rng.random_range(0..values.len())].clone());
            }
            if let Some((source, regex)) = pattern {
                let fits = PATTERN_EXAMPLES
                    .iter()
                    .find(|e| regex.is_match(e) && (e.len() as i64) >= min && (e.len() as i64) <= max);
                let example = fits.unwrap_or_else(|| panic!("no example fits {} ({source})", shape.name));
                return Value::String((*example).to_owned());
            }
            let len = rng.random_range(min..=max.min(min + 12));
            Value::String((0..len).map(|_| rng.random_range(b'a'..=b'z') as char).collect())
        }
        Kind::Integer | Kind::Long => json!(rng.random_range(min.max(-1000)..=max.min(min.max(0) + 1000))),
        Kind::Boolean => json!(rng.random_bool(0.5)),
        Kind::Blob => {
            let len = rng.random_range(min..=max.min(min + 16)) as usize;
            let bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            Value::String(base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                bytes,
            ))
        }
        Kind::Timestamp | Kind::Double => json!(1_700_000_000),
    }
}

/// A value of shape `id` that breaks its constraints, with how many constraints it breaks; `None` when the
/// shape has nothing to break.
fn broken(id: ShapeId, rng: &mut StdRng) -> Option<(Value, usize)> {
    let m = model();
    let shape = m.shape(id);
    let pattern_misses = |s: &str| match &shape.kind {
        Kind::String {
            pattern: Some((_, regex)),
            ..
        } => usize::from(!regex.is_match(s)),
        _ => 0,
    };
    let mut options: Vec<(Value, usize)> = Vec::new();
    match &shape.kind {
        Kind::String { values: Some(_), .. } => options.push((json!("NOT_A_MEMBER_OF_THE_SET"), 1)),
        Kind::String { .. } => {
            if let Some(min) = shape.min.filter(|m| *m > 0) {
                let s = "a".repeat(min as usize - 1);
                options.push((json!(s), 1 + pattern_misses(&s)));
            }
            if let Some(max) = shape.max.filter(|m| *m < 4096) {
                let Value::String(base) = valid(id, rng, 3) else {
                    unreachable!()
                };
                let s = format!(
                    "{base}{}",
                    "a".repeat(max as usize + 1 - base.len().min(max as usize))
                );
                options.push((json!(s), 1 + pattern_misses(&s)));
            }
            if let Kind::String { pattern: Some(_), .. } = &shape.kind {
                // Long enough, short enough, and outside every pattern here (none accepts a space and '!').
                let len = shape.min.unwrap_or(1).max(2) as usize;
                if shape.max.is_none_or(|max| len as i64 <= max) {
                    let s = format!("!{}", " ".repeat(len - 1));
                    options.push((json!(s), pattern_misses(&s)));
                }
            }
        }
        Kind::Integer | Kind::Long => {
            if let Some(min) = shape.min {
                options.push((json!(min - 1), 1));
            }
            if let Some(max) = shape.max {
                options.push((json!(max + 1), 1));
            }
        }
        Kind::List { member } => {
            if let Some(min) = shape.min.filter(|m| *m > 0) {
                let items: Vec<Value> = (0..min - 1).map(|_| valid(*member, rng, 3)).collect();
                options.push((Value::Array(items), 1));
            }
            if let Some(max) = shape.max.filter(|m| *m <= 600) {
                let items: Vec<Value> = (0..=max).map(|_| valid(*member, rng, 3)).collect();
                options.push((Value::Array(items), 1));
            }
        }
        Kind::Blob => {
            if let Some(max) = shape.max.filter(|m| *m <= 4096) {
                let s = "A".repeat((max as usize + 1).div_ceil(3) * 4);
                options.push((json!(s), 1));
            }
        }
        _ => {}
    }
    options.retain(|(_, n)| *n > 0);
    if options.is_empty() {
        None
    } else {
        let i = rng.random_range(0..options.len());
        Some(options.swap_remove(i))
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// For any operation, a request built from the description passes; with some members removed or
    /// broken, exactly the broken constraints are reported, all at once, each naming its member.
    #[test]
    fn generated_requests_report_exactly_the_constraints_they_break(seed in any::<u64>(), op_index in 0usize..57) {
        let m = model();
        let names = m.operation_names();
        let name = names[op_index % names.len()];
        let Some(input) = m.operation(name).and_then(|op| op.input) else {
            return Ok(());
        };
        let mut rng = StdRng::seed_from_u64(seed);
        let Value::Object(mut request) = valid(input, &mut rng, 0) else { unreachable!() };
        prop_assert!(m.validate(name, &request).is_ok(), "{name}: {request:?} should be valid");

        let Kind::Structure { members, required } = &m.shape(input).kind else { unreachable!() };
        let mut expected = 0;
        let mut paths = Vec::new();
        for (i, member) in members.iter().enumerate() {
            match rng.random_range(0..4) {
                0 => {
                    request.remove(&member.name);
                    if required.contains(&i) {
                        expected += 1;
                        paths.push(member.path.clone());
                    }
                }
                1 => {
                    if let Some((value, errors)) = broken(member.shape, &mut rng) {
                        request.insert(member.name.clone(), value);
                        expected += errors;
                        paths.push(member.path.clone());
                    }
                }
                _ => {}
            }
        }
        let result = m.validate(name, &request);
        // The walk over JSON bytes (the server's path) answers exactly as the walk over the decoded value.
        let bytes = serde_json::to_vec(&Value::Object(request.clone())).unwrap();
        prop_assert_eq!(&m.validate_json(name, &bytes), &result, "{}", name);
        if expected == 0 {
            prop_assert!(result.is_ok(), "{name}: {result:?}");
        } else {
            let err = result.expect_err("broken requests are refused");
            prop_assert_eq!(&err.code, "ValidationException");
            let plural = if expected == 1 { "" } else { "s" };
            let header = format!("{expected} validation error{plural} detected: ");
            prop_assert!(err.message.starts_with(&header), "{name}: expected {header:?}, got {}", err.message);
            for path in &paths {
                prop_assert!(err.message.contains(&format!(" at '{path}'")), "{name}: {path} not in {}", err.message);
            }
        }
    }

    /// Any member given a value of the wrong JSON type makes the request a SerializationException.
    #[test]
    fn a_value_of_the_wrong_type_is_a_serialization_error(seed in any::<u64>(), op_index in 0usize..57) {
        let m = model();
        let names = m.operation_names();
        let name = names[op_index % names.len()];
        let Some(input) = m.operation(name).and_then(|op| op.input) else {
            return Ok(());
        };
        let Kind::Structure { members, .. } = &m.shape(input).kind else { unreachable!() };
        if members.is_empty() {
            return Ok(());
        }
        let mut rng = StdRng::seed_from_u64(seed);
        let Value::Object(mut request) = valid(input, &mut rng, 0) else { unreachable!() };
        let member = &members[rng.random_range(0..members.len())];
        let wrong = match m.shape(member.shape).kind {
            Kind::String { .. } | Kind::Blob => json!({"not": "a string"}),
            Kind::Structure { .. } | Kind::Map { .. } => json!([1]),
            Kind::List { .. } => json!("not a list"),
            Kind::Integer | Kind::Long | Kind::Double | Kind::Timestamp => json!("12"),
            Kind::Boolean => json!("true"),
        };
        request.insert(member.name.clone(), wrong);
        let bytes = serde_json::to_vec(&Value::Object(request.clone())).unwrap();
        let from_bytes = m.validate_json(name, &bytes).expect_err("a wrong type is refused in JSON");
        prop_assert_eq!(&from_bytes.code, "SerializationException", "{}: {}", name, from_bytes.message);
        let err = m.validate(name, &request).expect_err("a wrong type is refused");
        prop_assert_eq!(&err.code, "SerializationException", "{}: {}", name, err.message);
    }
}

/// A value of the wrong JSON type for shape `id`.
fn wrong_type(id: ShapeId) -> Value {
    match model().shape(id).kind {
        Kind::String { .. } | Kind::Blob => json!({"not": "a string"}),
        Kind::Structure { .. } | Kind::Map { .. } => json!([1]),
        Kind::List { .. } => json!("not a list"),
        Kind::Integer | Kind::Long | Kind::Double | Kind::Timestamp => json!("12"),
        Kind::Boolean => json!("true"),
    }
}

/// Changes a valid value of shape `id` at any depth, each member or item with probability `rate`: removes
/// it, breaks its constraints, makes it null or a value of the wrong type; sometimes adds a member the
/// description does not know.
fn mutate(value: &mut Value, id: ShapeId, rate: f64, rng: &mut StdRng) {
    let m = model();
    match (&m.shape(id).kind, value) {
        (Kind::Structure { members, .. }, Value::Object(map)) => {
            for member in members {
                if !rng.random_bool(rate) {
                    if let Some(v) = map.get_mut(&member.name) {
                        mutate(v, member.shape, rate, rng);
                    }
                    continue;
                }
                match rng.random_range(0..4) {
                    0 => {
                        map.remove(&member.name);
                    }
                    1 => {
                        if let Some((v, _)) = broken(member.shape, rng) {
                            map.insert(member.name.clone(), v);
                        }
                    }
                    2 => {
                        map.insert(member.name.clone(), Value::Null);
                    }
                    _ => {
                        map.insert(member.name.clone(), wrong_type(member.shape));
                    }
                }
            }
            if rng.random_bool(rate / 2.0) {
                map.insert("NotAMember".into(), json!({"x": [1, null]}));
            }
        }
        (Kind::List { member }, Value::Array(items)) => {
            for item in items {
                if rng.random_bool(rate / 4.0) {
                    *item = Value::Null;
                } else {
                    mutate(item, *member, rate, rng);
                }
            }
        }
        (Kind::Map { value, .. }, Value::Object(map)) => {
            for v in map.values_mut() {
                mutate(v, *value, rate, rng);
            }
        }
        _ => {}
    }
}

/// The server's reading of a JSON body before the one-pass decode: the full walk, then the typed decode
/// (straight from the bytes, else from the canonical form).
fn two_pass<I: serde::de::DeserializeOwned>(operation: &str, bytes: &[u8]) -> Result<I, ApiError> {
    model().validate_json(operation, bytes)?;
    if let Ok(input) = serde_json::from_slice(bytes) {
        return Ok(input);
    }
    let map = crate::server::codec::decode_request(crate::server::codec::WireFormat::Json, bytes)?;
    serde_json::from_value(Value::Object(map)).map_err(|e| ApiError::serialization(e.to_string()))
}

/// Generates [`both_ways`] from the list of operations.
macro_rules! both_ways {
    ($(
        $(#[$doc:meta])*
        $op:ident => $method:ident($input:ident) -> $output:ident [$($flag:ident),+];
    )+) => {
        /// A JSON body of `operation` read into its typed input by the one-pass decode and by the two-pass
        /// reading, each as its `Debug` text or its error.
        /// Also whether the one pass took the body by itself.
        fn both_ways(operation: crate::Operation, bytes: &[u8]) -> ([Result<String, ApiError>; 2], bool) {
            match operation {
                $(crate::Operation::$op => {
                    let body = crate::server::codec::RequestBody::Json {
                        operation: operation.name(),
                        bytes: bytes::Bytes::copy_from_slice(bytes),
                    };
                    let took = model().decode_checked::<crate::types::$input>(operation.name(), bytes).is_some();
                    ([
                        body.decode::<crate::types::$input>().map(|i| format!("{i:?}")),
                        two_pass::<crate::types::$input>(operation.name(), bytes).map(|i| format!("{i:?}")),
                    ], took)
                })+
            }
        }
    };
}

crate::ops::operations!(both_ways);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// For any operation, the one-pass decode (check and typed input together) answers every body exactly
    /// as the full walk followed by the typed decode: the same input, or the same error. So it accepts
    /// nothing the walk refuses, whatever is broken, missing, null, of the wrong type or unknown, at any
    /// depth.
    #[test]
    fn the_one_pass_decode_answers_as_the_walk_then_the_decode(
        seed in any::<u64>(),
        op_index in 0usize..57,
        rate in prop_oneof![Just(0.0), 0.0f64..0.3],
    ) {
        let m = model();
        let names = m.operation_names();
        let name = names[op_index % names.len()];
        let Some(operation) = crate::Operation::from_name(name) else {
            return Ok(());
        };
        let Some(input) = m.operation(name).and_then(|op| op.input) else {
            return Ok(());
        };
        let mut rng = StdRng::seed_from_u64(seed);
        let mut request = valid(input, &mut rng, 0);
        mutate(&mut request, input, rate, &mut rng);
        let bytes = serde_json::to_vec(&request).unwrap();
        let ([one, two], took) = both_ways(operation, &bytes);
        prop_assert_eq!(&one, &two, "{}: {}", name, String::from_utf8_lossy(&bytes));
        // A valid request is read in the one pass.
        if rate == 0.0 {
            prop_assert!(took, "{}: {}", name, String::from_utf8_lossy(&bytes));
        }
    }
}

#[test]
fn the_one_pass_decode_takes_clean_bodies_and_leaves_the_rest_to_the_walk() {
    let m = model();
    let clean =
        br#"{"StreamName":"s","Records":[{"Data":"aGk=","PartitionKey":"k","ExplicitHashKey":"12"}]}"#;
    let input: crate::types::PutRecordsInput = m.decode_checked("PutRecords", clean).expect("a clean body");
    assert_eq!(&input.records[0].data[..], b"hi");
    for bad in [
        // A required member missing, in an item (the typed input would default it to empty).
        &br#"{"StreamName":"s","Records":[{"PartitionKey":"k"}]}"#[..],
        // A constraint broken in an item.
        br#"{"StreamName":"s","Records":[{"Data":"aGk=","PartitionKey":"k","ExplicitHashKey":"x"}]}"#,
        // A member the typed input does not keep, broken.
        br#"{"StreamName":"s","StreamId":"!","Records":[{"Data":"aGk=","PartitionKey":"k"}]}"#,
        // Trailing bytes, and a structure where a list belongs.
        br#"{"StreamName":"s","Records":[{"Data":"aGk=","PartitionKey":"k"}]} x"#,
        br#"{"StreamName":"s","Records":{}}"#,
    ] {
        assert!(
            m.decode_checked::<crate::types::PutRecordsInput>("PutRecords", bad)
                .is_none(),
            "{}",
            String::from_utf8_lossy(bad)
        );
        assert!(
            m.validate_json("PutRecords", bad).is_err(),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    // An enum given as a structure is never read as its variant.
    let shaped =
        br#"{"StreamName":"s","ShardId":"shardId-000000000000","ShardIteratorType":{"LATEST":null}}"#;
    assert!(m
        .decode_checked::<crate::types::GetShardIteratorInput>("GetShardIterator", shaped)
        .is_none());
    let plain = br#"{"StreamName":"s","ShardId":"shardId-000000000000","ShardIteratorType":"LATEST"}"#;
    assert!(m
        .decode_checked::<crate::types::GetShardIteratorInput>("GetShardIterator", plain)
        .is_some());
}
