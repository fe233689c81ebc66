//! Borrowed views of JSON: an object as `(key, raw value)` pairs, scalars read on demand.
//! Nothing here builds a DOM; unread values stay as slices of the input.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// A string that borrows from the input when it has no escapes.
pub(crate) struct CowStr<'a>(pub Cow<'a, str>);

impl<'de> Deserialize<'de> for CowStr<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CowStrVisitor;
        impl<'de> Visitor<'de> for CowStrVisitor {
            type Value = CowStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(CowStrVisitor)
    }
}

/// A JSON object's members in input order, values left unparsed.
pub(crate) struct ObjectFields<'a>(pub Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for ObjectFields<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = ObjectFields<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(24));
                while let Some(CowStr(key)) = map.next_key::<CowStr<'de>>()? {
                    let value: &'de RawValue = map.next_value()?;
                    fields.push((key, value));
                }
                Ok(ObjectFields(fields))
            }
        }
        deserializer.deserialize_map(FieldsVisitor)
    }
}

impl<'a> ObjectFields<'a> {
    pub fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    pub fn has(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }
}

/// The JSON kind of a raw value, from its first byte (the value is already validated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

pub(crate) fn kind(raw: &RawValue) -> Kind {
    match raw.get().as_bytes().first() {
        Some(b'n') => Kind::Null,
        Some(b't' | b'f') => Kind::Bool,
        Some(b'"') => Kind::String,
        Some(b'[') => Kind::Array,
        Some(b'{') => Kind::Object,
        _ => Kind::Number,
    }
}

/// Parses a raw object; `None` when the value is not an object.
pub(crate) fn object(raw: &RawValue) -> Option<ObjectFields<'_>> {
    if kind(raw) != Kind::Object {
        return None;
    }
    serde_json::from_str(raw.get()).ok()
}

/// Parses a raw array into its raw elements; `None` when the value is not an array.
pub(crate) fn array(raw: &RawValue) -> Option<Vec<&RawValue>> {
    if kind(raw) != Kind::Array {
        return None;
    }
    serde_json::from_str(raw.get()).ok()
}

/// Reads a string value; `Ok(None)` for null, `Err(())` for any other kind.
pub(crate) fn string(raw: &RawValue) -> Result<Option<Cow<'_, str>>, ()> {
    match kind(raw) {
        Kind::Null => Ok(None),
        Kind::String => serde_json::from_str::<CowStr>(raw.get())
            .map(|s| Some(s.0))
            .map_err(|_| ()),
        _ => Err(()),
    }
}

/// A scalar as text in the manner of Athena's `json_extract_scalar`: strings unquoted,
/// numbers and booleans as written, null as `None`; arrays and objects as JSON text.
pub(crate) fn text(raw: &RawValue) -> Option<Cow<'_, str>> {
    match kind(raw) {
        Kind::Null => None,
        Kind::String => string(raw).ok().flatten(),
        _ => Some(Cow::Borrowed(raw.get())),
    }
}

/// Counts the elements of the `Records` array that parse before a syntax error, so the
/// error can name the record it is in.
pub(crate) fn records_before_error(bytes: &[u8]) -> Option<usize> {
    use std::cell::Cell;

    struct Counting<'c>(&'c Cell<usize>);
    impl<'de> Visitor<'de> for Counting<'_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an array")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element::<de::IgnoredAny>()?.is_some() {
                self.0.set(self.0.get() + 1);
            }
            Ok(())
        }
    }
    impl<'de> de::DeserializeSeed<'de> for Counting<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_seq(self)
        }
    }
    struct Top<'c>(&'c Cell<usize>, &'c Cell<bool>);
    impl<'de> Visitor<'de> for Top<'_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(CowStr(key)) = map.next_key::<CowStr>()? {
                if key == "Records" {
                    self.1.set(true);
                    map.next_value_seed(Counting(self.0))?;
                } else {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
            Ok(())
        }
    }
    let count = Cell::new(0);
    let in_records = Cell::new(false);
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let _ = deserializer.deserialize_map(Top(&count, &in_records));
    in_records.get().then(|| count.get())
}
