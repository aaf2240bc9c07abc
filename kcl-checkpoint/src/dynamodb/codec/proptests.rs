//! Property tests of the item codec: every lease survives a round trip through an item.

use super::*;
use proptest::prelude::*;

fn attribute_value() -> impl Strategy<Value = AttributeValue> {
    prop_oneof![
        ".{0,12}".prop_map(AttributeValue::S),
        prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            any::<f64>().prop_map(|n| n.to_string()),
            "[0-9.eE+-]{0,8}".prop_map(String::from),
        ]
        .prop_map(AttributeValue::N),
        proptest::collection::vec(any::<u8>(), 0..8).prop_map(|b| AttributeValue::B(Blob::new(b))),
        proptest::collection::vec(".{0,6}", 0..3).prop_map(AttributeValue::Ss),
        any::<bool>().prop_map(AttributeValue::Bool),
    ]
}

fn attribute_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(LEASE_KEY.to_owned()),
        Just(LEASE_OWNER.to_owned()),
        Just(LEASE_COUNTER.to_owned()),
        Just(CHECKPOINT.to_owned()),
        Just(CHECKPOINT_SUB_SEQUENCE.to_owned()),
        Just(PENDING_CHECKPOINT.to_owned()),
        Just(PENDING_CHECKPOINT_SUB_SEQUENCE.to_owned()),
        Just(PENDING_CHECKPOINT_STATE.to_owned()),
        Just(OWNER_SWITCHES.to_owned()),
        Just(PARENT_SHARD_IDS.to_owned()),
        Just(CHILD_SHARD_IDS.to_owned()),
        Just(STARTING_HASH_KEY.to_owned()),
        Just(ENDING_HASH_KEY.to_owned()),
        Just(THROUGHPUT_KBPS.to_owned()),
        Just(CHECKPOINT_OWNER.to_owned()),
    ]
}

fn lease() -> impl Strategy<Value = Lease> {
    (
        "[a-zA-Z0-9:-]{1,30}",
        proptest::option::of("[a-z0-9-]{1,10}"),
        any::<u64>(),
        (any::<u128>(), any::<u64>()),
        proptest::option::of((any::<u128>(), any::<u64>())),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 1..16)),
        any::<u64>(),
        proptest::collection::btree_set("[a-z0-9-]{1,10}", 0..3),
        proptest::option::of((any::<u128>(), any::<u128>())),
    )
        .prop_map(
            |(key, owner, counter, (seq, sub), pending, state, switches, parents, range)| {
                let mut lease = Lease::new(key, ExtendedSequenceNumber::with_sub_sequence(seq.into(), sub));
                lease.owner = owner;
                lease.counter = counter;
                lease.pending_checkpoint =
                    pending.map(|(p, s)| ExtendedSequenceNumber::with_sub_sequence(p.into(), s));
                lease.pending_checkpoint_state = state.map(Bytes::from);
                lease.owner_switches_since_checkpoint = switches;
                // In memory, a multi-stream lease's parents and children are lease keys of its stream.
                let parents: BTreeSet<String> = match lease.key.stream() {
                    Some(stream) => parents
                        .iter()
                        .map(|p| LeaseKey::multi_stream(&stream, p).as_str().to_owned())
                        .collect(),
                    None => parents,
                };
                lease.child_shard_ids = parents.clone();
                lease.parent_shard_ids = parents;
                lease.hash_key_range = range
                    .map(|(a, b)| HashKeyRange::new(a.min(b), a.max(b)).unwrap_or_else(HashKeyRange::full));
                lease
            },
        )
}

proptest! {
    #[test]
    fn leases_round_trip(lease in lease()) {
        prop_assert_eq!(lease_from_item(&lease_to_item(&lease)).unwrap(), lease);
    }

    #[test]
    fn arbitrary_items_never_panic(entries in proptest::collection::vec((attribute_name(), attribute_value()), 0..16)) {
        let item: Item = entries.into_iter().collect();
        match lease_from_item(&item) {
            Ok(lease) => prop_assert_eq!(Some(&AttributeValue::S(lease.key.as_str().to_owned())), item.get(LEASE_KEY)),
            Err(malformed) => prop_assert!(!malformed.attribute.is_empty()),
        }
    }
}
