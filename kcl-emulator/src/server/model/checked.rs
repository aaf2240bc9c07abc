//! One pass over a JSON body that decodes the operation's typed input and checks it against the
//! description at the same time.
//!
//! The server used to read every JSON body twice: once to check it ([`Model::validate_json`]) and once to
//! decode the operation's input. Here the typed decode drives the reading, and a thin layer between it and
//! the JSON reader sees every value on its way through: it runs the same checks as the walk (the walk's own
//! methods, at the value's shape in the description) and notes which structure members were given. A body
//! that passes every check is decoded once. When anything is off (a failed constraint, a missing required
//! member, a value of the wrong type, or a value the typed decode refuses), the caller answers from the
//! full walk instead, so error messages stay exactly the walk's: this pass only has to recognise a clean
//! request, never to word a failure. The property test in `tests.rs` checks, for every operation, that it
//! accepts nothing the walk refuses and decodes what the plain decode does.
//!
//! Keys are read here (as the walk reads them) and handed to the typed decode as plain strings; values the
//! typed input does not keep (members it ignores) are walked in full. Enums are read as strings and handed
//! to the typed decode as unit variants, so a JSON structure can never stand in for an enum value.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};

use serde::de::value::{BorrowedStrDeserializer, StrDeserializer};
use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor};

use super::{failure, length_constraints, Check, Key, Kind, Member, Model, Path, Walk};

impl Model {
    /// The typed input of `operation` decoded from a JSON body in one pass, if the body passes every check
    /// of the description and the typed decode takes it; `None` otherwise (the caller then answers from
    /// [`Model::validate_json`] and the plain decode, which word any failure).
    pub(crate) fn decode_checked<I: de::DeserializeOwned>(&self, operation: &str, body: &[u8]) -> Option<I> {
        let input = self.operation(operation)?.input?;
        let check = RefCell::new(Check::default());
        let present = Cell::new(false);
        let walk = Walk::root(self, &check, input);
        let mut de = serde_json::Deserializer::from_slice(body);
        let input = I::deserialize(Checked {
            de: &mut de,
            walk,
            present: &present,
        })
        .ok()?;
        de.end().ok()?;
        let check = check.into_inner();
        (present.get() && check.errors.is_empty() && check.mismatch.is_none()).then_some(input)
    }
}

/// A deserializer of one value at one shape: every value it hands on has been checked.
struct Checked<'a, D> {
    de: D,
    walk: Walk<'a, 'a, 'a>,
    /// Set when the value was read: whether it was given (`false` for null, which AWS reads as absent).
    present: &'a Cell<bool>,
}

/// The typed decode's visitor, behind the checks.
struct Checking<'a, V> {
    visitor: V,
    walk: Walk<'a, 'a, 'a>,
    present: &'a Cell<bool>,
}

/// A seed (a member's or an item's decode) that reads its value through [`Checked`].
struct CheckedSeed<'a, S> {
    seed: S,
    walk: Walk<'a, 'a, 'a>,
    present: &'a Cell<bool>,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for CheckedSeed<'_, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<S::Value, D::Error> {
        self.seed.deserialize(Checked {
            de,
            walk: self.walk,
            present: self.present,
        })
    }
}

/// Deserializer methods handed on with the visitor behind the checks.
macro_rules! forward {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
            let Checked { de, walk, present } = self;
            de.$method($($arg,)* Checking { visitor, walk, present })
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Checked<'_, D> {
    type Error = D::Error;

    forward! {
        deserialize_any();
        deserialize_bool();
        deserialize_i8();
        deserialize_i16();
        deserialize_i32();
        deserialize_i64();
        deserialize_i128();
        deserialize_u8();
        deserialize_u16();
        deserialize_u32();
        deserialize_u64();
        deserialize_u128();
        deserialize_f32();
        deserialize_f64();
        deserialize_char();
        deserialize_str();
        deserialize_string();
        deserialize_bytes();
        deserialize_byte_buf();
        deserialize_option();
        deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str);
        deserialize_seq();
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map();
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_identifier();
    }

    /// An enum is a string of an enum shape: read as a string, checked, and handed on as a unit variant.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let Checked { de, walk, present } = self;
        de.deserialize_str(EnumFromStr(Checking {
            visitor,
            walk,
            present,
        }))
    }

    /// A value the typed input does not keep is still checked, by the walk.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        let given = self.walk.deserialize(self.de)?;
        self.present.set(given);
        visitor.visit_unit()
    }

    fn is_human_readable(&self) -> bool {
        self.de.is_human_readable()
    }
}

/// A scalar visit: the walk's check, then the typed decode's visit of the same value.
macro_rules! scalar {
    ($($method:ident($v:ident: $ty:ty) => $walk:ident($conv:expr);)*) => {$(
        fn $method<E: de::Error>(self, $v: $ty) -> Result<V::Value, E> {
            let given = self.walk.$walk::<E>($conv)?;
            self.present.set(given);
            self.visitor.$method($v)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Checking<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.visitor.expecting(f)
    }

    scalar! {
        visit_bool(v: bool) => visit_bool(v);
        visit_i8(v: i8) => visit_i64(i64::from(v));
        visit_i16(v: i16) => visit_i64(i64::from(v));
        visit_i32(v: i32) => visit_i64(i64::from(v));
        visit_i64(v: i64) => visit_i64(v);
        visit_u8(v: u8) => visit_u64(u64::from(v));
        visit_u16(v: u16) => visit_u64(u64::from(v));
        visit_u32(v: u32) => visit_u64(u64::from(v));
        visit_u64(v: u64) => visit_u64(v);
        visit_f32(v: f32) => visit_f64(f64::from(v));
        visit_f64(v: f64) => visit_f64(v);
        visit_str(v: &str) => visit_str(v);
        visit_borrowed_str(v: &'de str) => visit_str(v);
        visit_string(v: String) => visit_str(&v);
    }

    fn visit_char<E: de::Error>(self, v: char) -> Result<V::Value, E> {
        let given = self.walk.visit_str::<E>(v.encode_utf8(&mut [0; 4]))?;
        self.present.set(given);
        self.visitor.visit_char(v)
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.present.set(false);
        self.visitor.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.present.set(false);
        self.visitor.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<V::Value, D::Error> {
        self.visitor.visit_some(Checked {
            de,
            walk: self.walk,
            present: self.present,
        })
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, de: D) -> Result<V::Value, D::Error> {
        self.visitor.visit_newtype_struct(Checked {
            de,
            walk: self.walk,
            present: self.present,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        let Kind::List { member } = self.walk.shape().kind else {
            return Err(self.walk.mismatch("a list"));
        };
        let count = Cell::new(0);
        let value = self.visitor.visit_seq(Items {
            seq,
            walk: self.walk,
            member,
            count: &count,
        })?;
        let mut failed = Vec::new();
        length_constraints(self.walk.shape(), count.get(), &mut failed);
        self.walk.fail("a list", &failed);
        self.present.set(true);
        Ok(value)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        let walk = self.walk;
        let given = Cell::new(0u128);
        let count = Cell::new(0);
        let value = match &walk.shape().kind {
            Kind::Structure { members, .. } => self.visitor.visit_map(Entries {
                map,
                walk,
                of: Of::Structure(members),
                given: &given,
                count: &count,
                value: None,
            })?,
            Kind::Map { key, value } => self.visitor.visit_map(Entries {
                map,
                walk,
                of: Of::Map(*key, *value),
                given: &given,
                count: &count,
                value: None,
            })?,
            _ => return Err(walk.mismatch("a structure")),
        };
        match &walk.shape().kind {
            Kind::Structure { members, required } => {
                for &index in required {
                    if given.get() & (1 << index) == 0 {
                        let path = Path::Member(walk.path, &members[index].path);
                        let message = failure("null", &path, "Member must not be null");
                        walk.check.borrow_mut().errors.push(message);
                    }
                }
            }
            _ => {
                let mut failed = Vec::new();
                length_constraints(walk.shape(), count.get(), &mut failed);
                walk.fail("a map", &failed);
            }
        }
        self.present.set(true);
        Ok(value)
    }
}

/// Reads an enum's value as a string of its shape and hands it on as a unit variant.
struct EnumFromStr<'a, V>(Checking<'a, V>);

impl<'de, V: Visitor<'de>> Visitor<'de> for EnumFromStr<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.visitor.expecting(f)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<V::Value, E> {
        let variant: StrDeserializer<'_, E> = v.into_deserializer();
        self.checked(v)?.visit_enum(variant)
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<V::Value, E> {
        self.checked(v)?.visit_enum(BorrowedStrDeserializer::<E>::new(v))
    }
}

impl<V> EnumFromStr<'_, V> {
    /// Checks the value at the enum's shape; the typed decode's visitor, to hand it on to.
    fn checked<E: de::Error>(self, v: &str) -> Result<V, E> {
        let Checking {
            visitor,
            walk,
            present,
        } = self.0;
        present.set(de::Visitor::<'_>::visit_str::<E>(walk, v)?);
        Ok(visitor)
    }
}

/// The items of a list, each read at the list's member shape.
struct Items<'a, A> {
    seq: A,
    walk: Walk<'a, 'a, 'a>,
    member: usize,
    count: &'a Cell<usize>,
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Items<'_, A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, A::Error> {
        let path = Path::Item(self.walk.path, self.count.get());
        let present = Cell::new(false);
        let item = self.seq.next_element_seed(CheckedSeed {
            seed,
            walk: self.walk.at(self.member, &path, self.walk.member),
            present: &present,
        })?;
        if item.is_some() {
            self.count.set(self.count.get() + 1);
        }
        Ok(item)
    }

    fn size_hint(&self) -> Option<usize> {
        self.seq.size_hint()
    }
}

/// What the entries of a JSON object are: a structure's members, or a map's keys and values.
enum Of<'a> {
    Structure(&'a [Member]),
    Map(usize, usize),
}

/// The entries of a structure or a map: keys read here, values at their shapes.
struct Entries<'a, A> {
    map: A,
    walk: Walk<'a, 'a, 'a>,
    of: Of<'a>,
    /// The structure members given (a bit each, as in the walk).
    given: &'a Cell<u128>,
    count: &'a Cell<usize>,
    /// The shape (and for a structure, the member index) of the value after the key just read.
    value: Option<(usize, Option<usize>)>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Entries<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error> {
        let Some(key) = self.map.next_key::<Key<'de>>()? else {
            return Ok(None);
        };
        self.count.set(self.count.get() + 1);
        self.value = match self.of {
            Of::Structure(members) => members
                .iter()
                .position(|m| m.name == *key)
                .map(|index| (members[index].shape, Some(index))),
            Of::Map(key_shape, value_shape) => {
                let key_walk = self.walk.at(key_shape, self.walk.path, self.walk.member);
                key_walk.visit_str::<A::Error>(&key)?;
                Some((value_shape, None))
            }
        };
        match key.0 {
            Cow::Borrowed(key) => seed.deserialize(BorrowedStrDeserializer::new(key)).map(Some),
            Cow::Owned(key) => seed.deserialize(key.into_deserializer()).map(Some),
        }
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        // A member the description does not know is not checked (AWS ignores it).
        let Some((shape, index)) = self.value.take() else {
            return self.map.next_value_seed(seed);
        };
        let path = match (index, &self.of) {
            (Some(i), Of::Structure(members)) => Path::Member(self.walk.path, &members[i].path),
            _ => Path::Member(self.walk.path, "entry"),
        };
        let present = Cell::new(false);
        let value = self.map.next_value_seed(CheckedSeed {
            seed,
            walk: self.walk.at(shape, &path, self.walk.member),
            present: &present,
        })?;
        if let Some(index) = index {
            // A member given twice counts as its last value, as in the walk.
            let bit = 1u128 << index;
            self.given.set(if present.get() {
                self.given.get() | bit
            } else {
                self.given.get() & !bit
            });
        }
        Ok(value)
    }

    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}
