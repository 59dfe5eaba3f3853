//! Reading one top-level field of a JSON line without building the whole object
//! (the partition key, the event time), while checking that the line is an object.

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;
use std::fmt;

struct Find<'n>(&'n str);

impl<'de> DeserializeSeed<'de> for Find<'_> {
    type Value = Option<Value>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Option<Value>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Find<'_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Value>, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == self.0 {
                found = Some(map.next_value::<Value>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// The value of top-level field `name` of a JSON object line (`None` when
/// absent), or what is wrong with the line.
pub fn top_level(line: &str, name: &str) -> Result<Option<Value>, String> {
    let mut de = serde_json::Deserializer::from_str(line);
    let v = Find(name).deserialize(&mut de).map_err(|e| {
        if e.classify() == serde_json::error::Category::Data {
            "expected a JSON object".to_string()
        } else {
            format!("invalid JSON: {e}")
        }
    })?;
    de.end().map_err(|e| format!("invalid JSON: {e}"))?;
    Ok(v)
}

/// Checks that a line is one JSON object.
pub fn check_object(line: &str) -> Result<(), String> {
    top_level(line, "\u{0}").map(|_| ())
}

/// A partition key from a field: strings as they are, numbers and booleans as
/// their JSON text; absent, null, empty or too long is an error.
pub fn partition_key(line: &str, field: &str) -> Result<String, String> {
    let key = match top_level(line, field)? {
        None | Some(Value::Null) => {
            return Err(format!(
                "no partition key: field {field:?} is missing or null"
            ))
        }
        Some(Value::String(s)) => s,
        Some(v @ (Value::Number(_) | Value::Bool(_))) => v.to_string(),
        Some(_) => {
            return Err(format!(
                "partition key field {field:?} is not a string or number"
            ))
        }
    };
    if key.is_empty() {
        return Err(format!("no partition key: field {field:?} is empty"));
    }
    if key.chars().count() > super::batch::MAX_PARTITION_KEY_CHARS {
        return Err(format!(
            "partition key in {field:?} is longer than {} characters",
            super::batch::MAX_PARTITION_KEY_CHARS
        ));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_top_level_fields_only() {
        let l = r#"{"a":{"container_id":"X"},"container_id":"MSKU1","n":3}"#;
        assert_eq!(
            top_level(l, "container_id").unwrap(),
            Some(Value::String("MSKU1".into()))
        );
        assert_eq!(top_level(l, "zz").unwrap(), None);
        assert_eq!(partition_key(l, "n").unwrap(), "3");
    }

    #[test]
    fn rejects_what_is_not_an_object() {
        assert!(top_level("[1,2]", "a").unwrap_err().contains("object"));
        assert!(top_level("{\"a\":1", "a")
            .unwrap_err()
            .contains("invalid JSON"));
        assert!(top_level("{\"a\":1} x", "a")
            .unwrap_err()
            .contains("invalid JSON"));
        assert!(check_object("{}").is_ok());
    }

    #[test]
    fn partition_key_must_be_present() {
        assert!(partition_key(r#"{"container_id":null}"#, "container_id")
            .unwrap_err()
            .contains("missing"));
        assert!(partition_key(r#"{"x":1}"#, "container_id")
            .unwrap_err()
            .contains("missing"));
        assert!(partition_key(r#"{"container_id":""}"#, "container_id")
            .unwrap_err()
            .contains("empty"));
        let long = format!(r#"{{"container_id":"{}"}}"#, "x".repeat(257));
        assert!(partition_key(&long, "container_id")
            .unwrap_err()
            .contains("256"));
    }
}
