//! Unit tests of the item codec: round trips, the Java KCL attribute names and types, malformed items.

use super::*;
use crate::sequence::SequenceNumber;

fn java_item() -> Item {
    // Exactly what a Java KCL 2.x worker writes for a checkpointed, owned lease after a split.
    HashMap::from([
        (LEASE_KEY.to_owned(), s("shardId-000000000002")),
        (LEASE_OWNER.to_owned(), s("worker-1")),
        (LEASE_COUNTER.to_owned(), AttributeValue::N("42".into())),
        (OWNER_SWITCHES.to_owned(), AttributeValue::N("1".into())),
        (
            CHECKPOINT.to_owned(),
            s("49590338271490256608559692538361571095921575989136588898"),
        ),
        (CHECKPOINT_SUB_SEQUENCE.to_owned(), AttributeValue::N("3".into())),
        (
            PARENT_SHARD_IDS.to_owned(),
            AttributeValue::Ss(vec!["shardId-000000000000".into()]),
        ),
        (STARTING_HASH_KEY.to_owned(), s("0")),
        (
            ENDING_HASH_KEY.to_owned(),
            s("170141183460469231731687303715884105727"),
        ),
    ])
}

#[test]
fn decodes_a_java_item() {
    let lease = lease_from_item(&java_item()).unwrap();
    assert_eq!(lease.key.as_str(), "shardId-000000000002");
    assert_eq!(lease.owner.as_deref(), Some("worker-1"));
    assert_eq!(lease.counter, 42);
    assert_eq!(lease.owner_switches_since_checkpoint, 1);
    assert_eq!(
        lease.checkpoint,
        ExtendedSequenceNumber::with_sub_sequence(
            SequenceNumber::new("49590338271490256608559692538361571095921575989136588898").unwrap(),
            3
        )
    );
    assert_eq!(
        lease.hash_key_range,
        HashKeyRange::new(0, 170_141_183_460_469_231_731_687_303_715_884_105_727)
    );
    assert_eq!(lease.parent_shard_ids.len(), 1);
    assert!(lease.pending_checkpoint.is_none());
}

#[test]
fn round_trips_every_field() {
    let mut lease = Lease::new(
        "123456789012:orders:1700000000:shardId-000000000001",
        ExtendedSequenceNumber::ShardEnd,
    )
    .with_parents(["123456789012:orders:1700000000:shardId-000000000000"])
    .with_hash_key_range(HashKeyRange::full())
    .with_owner("w");
    lease.counter = 7;
    lease.pending_checkpoint = Some(ExtendedSequenceNumber::with_sub_sequence(
        SequenceNumber::from(99),
        2,
    ));
    lease.pending_checkpoint_state = Some(Bytes::from_static(b"state"));
    lease.child_shard_ids = [
        "123456789012:orders:1700000000:shardId-000000000003".to_owned(),
        "123456789012:orders:1700000000:shardId-000000000004".to_owned(),
    ]
    .into();
    lease.throughput_kbps = Some(12.5);
    lease.checkpoint_owner = Some("w".into());
    let item = lease_to_item(&lease);
    assert_eq!(item.get(SHARD_ID), Some(&s("shardId-000000000001")));
    assert_eq!(item.get(STREAM_NAME), Some(&s("123456789012:orders:1700000000")));
    // Parents and children are stored as plain shard ids, as the Java KCL stores them.
    assert_eq!(
        item.get(PARENT_SHARD_IDS),
        Some(&AttributeValue::Ss(vec!["shardId-000000000000".into()]))
    );
    assert_eq!(
        item.get(CHILD_SHARD_IDS),
        Some(&AttributeValue::Ss(vec![
            "shardId-000000000003".into(),
            "shardId-000000000004".into()
        ]))
    );
    assert_eq!(lease_from_item(&item).unwrap(), lease);
}

#[test]
fn decodes_a_java_multi_stream_item_with_parents_as_lease_keys() {
    // What a Java KCL worker in multi-stream mode writes for a child of a split: plain shard ids in
    // `parentShardId` and `childShardIds`.
    let item = HashMap::from([
        (
            LEASE_KEY.to_owned(),
            s("123456789012:orders:1700000000:shardId-000000000001"),
        ),
        (LEASE_COUNTER.to_owned(), AttributeValue::N("3".into())),
        (CHECKPOINT.to_owned(), s("SHARD_END")),
        (STREAM_NAME.to_owned(), s("123456789012:orders:1700000000")),
        (SHARD_ID.to_owned(), s("shardId-000000000001")),
        (
            PARENT_SHARD_IDS.to_owned(),
            AttributeValue::Ss(vec!["shardId-000000000000".into()]),
        ),
        (
            CHILD_SHARD_IDS.to_owned(),
            AttributeValue::Ss(vec!["shardId-000000000002".into(), "shardId-000000000003".into()]),
        ),
    ]);
    let lease = lease_from_item(&item).unwrap();
    assert_eq!(
        lease.parent_shard_ids,
        ["123456789012:orders:1700000000:shardId-000000000000".to_owned()].into()
    );
    assert_eq!(
        lease.child_shard_ids,
        [
            "123456789012:orders:1700000000:shardId-000000000002".to_owned(),
            "123456789012:orders:1700000000:shardId-000000000003".to_owned()
        ]
        .into()
    );
    // Written back exactly as the Java KCL wrote it.
    let again = lease_to_item(&lease);
    for attribute in [
        PARENT_SHARD_IDS,
        CHILD_SHARD_IDS,
        STREAM_NAME,
        SHARD_ID,
        LEASE_KEY,
    ] {
        assert_eq!(again.get(attribute), item.get(attribute), "{attribute}");
    }

    // Ids already in the multi-stream form (written by an earlier kcl-rs) are read as they are; a
    // single-stream lease's ids are never touched.
    let mut prefixed = item.clone();
    prefixed.insert(
        PARENT_SHARD_IDS.to_owned(),
        AttributeValue::Ss(vec!["123456789012:orders:1700000000:shardId-000000000000".into()]),
    );
    assert_eq!(
        lease_from_item(&prefixed).unwrap().parent_shard_ids,
        lease.parent_shard_ids
    );
    let plain = lease_from_item(&java_item()).unwrap();
    assert_eq!(plain.parent_shard_ids, ["shardId-000000000000".to_owned()].into());
}

#[test]
fn reports_the_item_and_attribute_at_fault() {
    let mut item = java_item();
    item.insert(LEASE_COUNTER.into(), s("42"));
    let err = lease_from_item(&item).unwrap_err();
    assert_eq!(err.key.as_deref(), Some("shardId-000000000002"));
    assert_eq!(err.attribute, LEASE_COUNTER);

    let mut item = java_item();
    item.remove(CHECKPOINT);
    assert_eq!(lease_from_item(&item).unwrap_err().attribute, CHECKPOINT);

    let mut item = java_item();
    item.insert(CHECKPOINT.into(), s("not-a-number"));
    assert_eq!(lease_from_item(&item).unwrap_err().attribute, CHECKPOINT);

    let mut item = java_item();
    item.insert(PARENT_SHARD_IDS.into(), s("shardId-000000000000"));
    assert_eq!(lease_from_item(&item).unwrap_err().attribute, PARENT_SHARD_IDS);

    let mut item = java_item();
    item.insert(LEASE_COUNTER.into(), AttributeValue::N("-1".into()));
    assert_eq!(lease_from_item(&item).unwrap_err().attribute, LEASE_COUNTER);

    let mut item = java_item();
    item.remove(ENDING_HASH_KEY);
    assert_eq!(lease_from_item(&item).unwrap_err().attribute, ENDING_HASH_KEY);

    let mut item = java_item();
    item.remove(LEASE_KEY);
    let err = lease_from_item(&item).unwrap_err();
    assert_eq!((err.key, err.attribute.as_str()), (None, LEASE_KEY));
}
