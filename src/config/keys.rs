//! The keys the config parser accepts, table by table, read from the parser's own serde structs (the
//! field lists serde derives for them and checks `deny_unknown_fields` against), so `docs/config.md`
//! and its test can never list a different set than the parser takes.

use serde::Deserialize;
use serde::de::{self, Visitor};

use super::{Alerts, RawAggregate, RawColors, RawConfig, RawExport, RawServer, RawSlot, RawStrip};

/// A table of the config file and the keys the parser accepts in it. `table` is `""` for the top
/// level (whose keys include the names of the tables), else the table's name (`"servers"` for
/// `[[servers]]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownTable {
    pub table: &'static str,
    pub keys: &'static [&'static str],
}

/// Every table of the config file with the keys the parser accepts in it.
pub fn known_keys() -> Vec<KnownTable> {
    vec![
        table::<RawConfig>(""),
        table::<RawServer>("servers"),
        table::<RawStrip>("strip"),
        table::<RawSlot>("slots"),
        table::<RawAggregate>("aggregate"),
        table::<RawColors>("colors"),
        table::<Alerts>("alerts"),
        table::<RawExport>("export"),
    ]
}

fn table<'de, T: Deserialize<'de>>(table: &'static str) -> KnownTable {
    KnownTable {
        table,
        keys: fields_of::<T>(),
    }
}

/// The field names serde's derived `Deserialize` of `T` hands to `deserialize_struct`: the keys it
/// accepts (an empty list for a type that is not a struct).
fn fields_of<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut fields = None;
    // The recorder always answers with an error once it has the names: that error is the end of
    // the walk, not a failure.
    let _stopped = T::deserialize(FieldRecorder {
        fields: &mut fields,
    });
    fields.unwrap_or(&[])
}

/// A deserializer that records the field list of the struct asked of it, and reads nothing.
struct FieldRecorder<'a> {
    fields: &'a mut Option<&'static [&'static str]>,
}

impl<'de> de::Deserializer<'de> for FieldRecorder<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom(
            "only a struct's field names are recorded",
        ))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.fields = Some(fields);
        Err(de::Error::custom("field names recorded"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::config::Config;

    #[test]
    fn the_known_keys_are_the_parsers_struct_fields() {
        let tables = known_keys();
        let keys = |name: &str| tables.iter().find(|t| t.table == name).unwrap().keys;
        assert_eq!(
            keys("strip"),
            ["port", "baud", "leds", "brightness", "gamma", "building"]
        );
        assert!(keys("").contains(&"poll_seconds") && keys("").contains(&"export"));
        assert!(keys("alerts").contains(&"quiet_hours"));
        for t in &tables {
            assert!(!t.keys.is_empty(), "{t:?}");
        }
    }

    #[test]
    fn a_key_outside_the_known_list_is_refused_naming_the_known_ones() {
        let e = Config::parse("[strip]\nlights = 3\n", None)
            .unwrap_err()
            .to_string();
        let strip = known_keys()
            .into_iter()
            .find(|t| t.table == "strip")
            .unwrap();
        for key in strip.keys {
            assert!(e.contains(&format!("`{key}`")), "{key}: {e}");
        }
    }
}
