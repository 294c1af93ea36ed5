//! Lenient JSON pieces for typed, streaming deserialisation of answers we do not control: a field of the
//! wrong type reads as "not there" instead of failing the whole answer, and whatever is skipped is read
//! past without being kept (no `serde_json::Value` of the whole body is ever built). [`Field`] is the
//! borrowing [`Scalar`]: for an answer read into memory first, its strings point into the body.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A scalar field as it came: absent, `null`, a string, a number, a boolean, or something else
/// (an array or object, skipped).
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Scalar {
    #[default]
    Absent,
    Null,
    Str(String),
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    Bool(bool),
    Other,
}

impl Scalar {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Scalar::Str(s) => Some(s),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Str(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar::Str(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar::Unsigned(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar::Signed(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar::Float(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar::Bool(v))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Scalar, D::Error> {
                Scalar::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
        }
        d.deserialize_any(V)
    }
}

/// A scalar field borrowed from the body it was read from: like [`Scalar`], but a string without
/// escapes is not copied.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Field<'a> {
    #[default]
    Absent,
    Null,
    Str(Cow<'a, str>),
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    Bool(bool),
    Other,
}

impl Field<'_> {
    /// The field was sent (with any value, `null` included).
    pub fn is_present(&self) -> bool {
        !matches!(self, Field::Absent)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Field::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A non-negative integer.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Field::Unsigned(n) => Some(n),
            Field::Signed(n) => u64::try_from(n).ok(),
            _ => None,
        }
    }

    /// An integer that fits an `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Field::Signed(n) => Some(n),
            Field::Unsigned(n) => i64::try_from(n).ok(),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Field::Bool(b) => Some(b),
            _ => None,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Field<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Field<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Field<'de>, E> {
                Ok(Field::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Field<'de>, E> {
                Ok(Field::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Field<'de>, E> {
                Ok(Field::Str(Cow::Owned(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Field<'de>, E> {
                Ok(Field::Unsigned(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Field<'de>, E> {
                Ok(Field::Signed(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Field<'de>, E> {
                Ok(Field::Float(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Field<'de>, E> {
                Ok(Field::Bool(v))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Field<'de>, E> {
                Ok(Field::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Field<'de>, E> {
                Ok(Field::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Field<'de>, D::Error> {
                Field::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Field<'de>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Field::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Field<'de>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Field::Other)
            }
        }
        d.deserialize_any(V)
    }
}

/// An object read as `T`, or `None` for any other JSON value (skipped).
#[derive(Debug, Clone, PartialEq)]
pub struct Object<T>(pub Option<T>);

impl<T> Default for Object<T> {
    fn default() -> Self {
        Object(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Object<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Object<T>, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(|t| Object(Some(t)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Object<T>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Object(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Object<T>, D::Error> {
                Object::deserialize(d)
            }
            fn visit_none<E: de::Error>(self) -> Result<Object<T>, E> {
                Ok(Object(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Object<T>, E> {
                Ok(Object(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Object<T>, E> {
                Ok(Object(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Object<T>, E> {
                Ok(Object(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Object<T>, E> {
                Ok(Object(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Object<T>, E> {
                Ok(Object(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Object<T>, E> {
                Ok(Object(None))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A list field: absent or `null`, a list (whose elements are read as `T`), or something else.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum List<T> {
    #[default]
    Missing,
    Items(Vec<T>),
    Other,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = List<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<List<T>, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<T>()? {
                    items.push(item);
                }
                Ok(List::Items(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<List<T>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(List::Other)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<List<T>, D::Error> {
                List::deserialize(d)
            }
            fn visit_none<E: de::Error>(self) -> Result<List<T>, E> {
                Ok(List::Missing)
            }
            fn visit_unit<E: de::Error>(self) -> Result<List<T>, E> {
                Ok(List::Missing)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<List<T>, E> {
                Ok(List::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<List<T>, E> {
                Ok(List::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<List<T>, E> {
                Ok(List::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<List<T>, E> {
                Ok(List::Other)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<List<T>, E> {
                Ok(List::Other)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[derive(Debug, Default, serde::Deserialize)]
    #[serde(default)]
    struct Probe<'a> {
        #[serde(borrow)]
        s: Field<'a>,
        #[serde(borrow)]
        o: Object<Inner<'a>>,
        #[serde(borrow)]
        l: List<Object<Inner<'a>>>,
    }

    #[derive(Debug, Default, serde::Deserialize, PartialEq)]
    #[serde(default)]
    struct Inner<'a> {
        #[serde(borrow)]
        n: Field<'a>,
    }

    fn probe(text: &str) -> Probe<'_> {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn wrong_types_read_as_not_there_and_are_skipped() {
        let p =
            probe(r#"{"s": {"deep": [1, {"x": 2}]}, "o": [1, 2], "l": {"a": 1}, "extra": [[[]]]}"#);
        assert_eq!(p.s, Field::Other);
        assert_eq!(p.o, Object(None));
        assert_eq!(p.l, List::Other);
        let p = probe(r#"{"s": "x", "o": {"n": -3}, "l": [{"n": 1}, "junk", null, {"n": true}]}"#);
        assert_eq!(p.s.as_str(), Some("x"));
        assert_eq!(p.o.0.unwrap().n.as_i64(), Some(-3));
        let List::Items(items) = p.l else {
            panic!("a list");
        };
        assert_eq!(items.len(), 4);
        assert_eq!(items[0].0.as_ref().unwrap().n.as_u64(), Some(1));
        assert_eq!(items[1], Object(None));
        assert_eq!(items[3].0.as_ref().unwrap().n.as_bool(), Some(true));
    }

    #[derive(Debug, Default, serde::Deserialize)]
    #[serde(default)]
    struct Borrowing<'a> {
        #[serde(borrow)]
        s: Field<'a>,
        #[serde(borrow)]
        l: List<Field<'a>>,
    }

    #[test]
    fn fields_borrow_plain_strings_from_the_body_and_read_the_rest_like_scalars() {
        let body = br#"{"s": "team/api", "l": ["a\nb", 7, -2, true, null, {"x": [1]}, 1.5]}"#;
        let b: Borrowing<'_> = serde_json::from_slice(body).unwrap();
        assert!(
            matches!(b.s, Field::Str(Cow::Borrowed("team/api"))),
            "{:?}",
            b.s
        );
        let List::Items(items) = b.l else {
            panic!("a list");
        };
        assert!(
            matches!(&items[0], Field::Str(Cow::Owned(s)) if s == "a\nb"),
            "an escaped string is copied: {:?}",
            items[0]
        );
        assert_eq!(items[1].as_u64(), Some(7));
        assert_eq!(items[2].as_i64(), Some(-2));
        assert_eq!(items[2].as_u64(), None);
        assert_eq!(items[3].as_bool(), Some(true));
        assert_eq!(items[4], Field::Null);
        assert_eq!(items[5], Field::Other);
        assert_eq!(items[6], Field::Float(1.5));
        let absent: Borrowing<'_> = serde_json::from_slice(b"{}").unwrap();
        assert!(!absent.s.is_present());
    }

    #[test]
    fn absent_and_null_are_told_apart() {
        let p = probe(r#"{"l": null}"#);
        assert!(!p.s.is_present());
        assert_eq!(p.l, List::Missing);
        assert!(probe(r#"{"s": null}"#).s.is_present());
    }

    #[test]
    fn numbers_saturate_into_their_type_or_are_not_there() {
        assert_eq!(probe(r#"{"s": -1}"#).s.as_u64(), None);
        assert_eq!(probe(r#"{"s": 18446744073709551615}"#).s.as_i64(), None);
        assert_eq!(probe(r#"{"s": 1.5}"#).s.as_u64(), None);
    }
}
