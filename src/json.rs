//! A JSON value that borrows its strings from the text it was parsed from.
//!
//! The decoder reads every served record once, field by field, and keeps little of it as
//! JSON. `serde_json::Value` would give each record a tree of owned strings and B-tree maps
//! (an allocation per key and per string, a key comparison per insert) only to be taken apart
//! again; profiles of `rebuild` put that tree at about a sixth of its CPU. [`Json`] keeps keys
//! and unescaped strings as slices of the page, objects as vectors in the order served, and
//! numbers as `serde_json::Number`, so what it writes back out (JSON columns, `extra_fields`,
//! error messages) is byte for byte what a `Value` would write: keys sorted, the last of a
//! repeated key kept, numbers and escapes formatted by serde_json.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Number, Value};

/// An object's fields, in the order served.
pub type Fields<'a> = [(Cow<'a, str>, Json<'a>)];

/// A parsed JSON value borrowing from its text (or from a `Value`, see [`Json::from_value`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Json<'a> {
    Null,
    Bool(bool),
    Number(Number),
    Str(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
}

impl<'a> Json<'a> {
    /// Parses `text`, borrowing every string that needs no unescaping.
    pub fn parse(text: &'a str) -> serde_json::Result<Json<'a>> {
        let mut de = serde_json::Deserializer::from_str(text);
        let v = Json::deserialize(&mut de)?;
        de.end()?;
        Ok(v)
    }

    /// A view of `v` that borrows its strings: how records admitted as `Value`s are decoded.
    pub fn from_value(v: &'a Value) -> Json<'a> {
        match v {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Number(n) => Json::Number(n.clone()),
            Value::String(s) => Json::Str(Cow::Borrowed(s)),
            Value::Array(items) => Json::Array(items.iter().map(Json::from_value).collect()),
            Value::Object(m) => Json::Object(
                m.iter()
                    .map(|(k, v)| (Cow::Borrowed(k.as_str()), Json::from_value(v)))
                    .collect(),
            ),
        }
    }

    /// The owned `Value` of the same JSON (keys repeated in an object: the last one wins).
    pub fn to_value(&self) -> Value {
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => Value::Number(n.clone()),
            Json::Str(s) => Value::String(s.to_string()),
            Json::Array(items) => Value::Array(items.iter().map(Json::to_value).collect()),
            Json::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_value()))
                    .collect(),
            ),
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Json::Null)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Json::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Json::Number(n) => n.as_f64(),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Json<'a>]> {
        match self {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Fields<'a>> {
        match self {
            Json::Object(fields) => Some(fields),
            _ => None,
        }
    }

    /// The field `key` of an object (the last one, if served twice, as `Value` keeps).
    pub fn get(&self, key: &str) -> Option<&Json<'a>> {
        self.as_object().and_then(|f| field(f, key))
    }
}

/// The field `key` of an object's fields (the last one, if served twice).
pub fn field<'f, 'a>(fields: &'f Fields<'a>, key: &str) -> Option<&'f Json<'a>> {
    fields.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// Writes `fields` as a JSON object the way a `Value` would: keys in order, each once (the
/// last served).
pub fn serialize_fields<'x, 'a: 'x, S: Serializer>(
    fields: impl IntoIterator<Item = (&'x str, &'x Json<'a>)>,
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut sorted: Vec<(&str, &Json<'a>)> = fields.into_iter().collect();
    // Stable: of a repeated key, the last served stays last, and is the one kept.
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut map = s.serialize_map(None)?;
    for (i, (k, v)) in sorted.iter().enumerate() {
        if sorted.get(i + 1).is_some_and(|next| next.0 == *k) {
            continue;
        }
        map.serialize_entry(k, v)?;
    }
    map.end()
}

impl Serialize for Json<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => s.serialize_unit(),
            Json::Bool(b) => s.serialize_bool(*b),
            Json::Number(n) => n.serialize(s),
            Json::Str(v) => s.serialize_str(v),
            Json::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for i in items {
                    seq.serialize_element(i)?;
                }
                seq.end()
            }
            Json::Object(fields) => serialize_fields(fields.iter().map(|(k, v)| (&**k, v)), s),
        }
    }
}

impl fmt::Display for Json<'_> {
    /// Compact JSON, as `Value`'s `Display`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = serde_json::to_string(self).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Json<'de>, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Json<'de>, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Json<'de>, E> {
        // JSON text has no NaN or infinity; serde_json's `Value` makes such a number null too.
        Ok(Number::from_f64(v).map_or(Json::Null, Json::Number))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Owned(v.to_string())))
    }

    fn visit_string<E>(self, v: String) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Owned(v)))
    }

    fn visit_unit<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_none<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Json<'de>, D::Error> {
        Json::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element()? {
            items.push(v);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(8));
        while let Some(Key(k)) = map.next_key()? {
            fields.push((k, map.next_value()?));
        }
        Ok(Json::Object(fields))
    }
}

/// An object key, borrowed when the text allows (serde's own `Cow<str>` always copies).
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// What `Json` writes is what `Value` writes for the same text: keys sorted, a repeated
    /// key's last value, serde_json's numbers and escapes.
    #[test]
    fn it_writes_what_a_value_writes() {
        for text in [
            r#"{"b":1,"a":[1,2.5,-3,1e300,null,true],"c":{"z":"\u00e9\n\"q\"","y":{}}}"#,
            r#"{"k":1,"k":2,"a":0}"#,
            r#"[1.0,0.1,18446744073709551615,-9223372036854775808,"\ud83d\ude00"]"#,
            r#""plain""#,
            r#"{"crm.caseId":"CASE-1","":""}"#,
        ] {
            let value: Value = serde_json::from_str(text).unwrap();
            let json = Json::parse(text).unwrap();
            assert_eq!(json.to_string(), value.to_string(), "{text}");
            assert_eq!(json.to_value(), value, "{text}");
            assert_eq!(Json::from_value(&value).to_string(), value.to_string());
        }
    }

    #[test]
    fn strings_without_escapes_are_borrowed() {
        let text = r#"{"id":"c1","note":"a\tb"}"#;
        let json = Json::parse(text).unwrap();
        let fields = json.as_object().unwrap();
        assert!(matches!(fields[0].0, Cow::Borrowed("id")));
        assert!(matches!(fields[0].1, Json::Str(Cow::Borrowed("c1"))));
        assert!(matches!(fields[1].1, Json::Str(Cow::Owned(_))));
        assert_eq!(json.get("note").and_then(Json::as_str), Some("a\tb"));
    }

    #[test]
    fn a_repeated_key_reads_as_its_last_value() {
        let json = Json::parse(r#"{"k":1,"k":2}"#).unwrap();
        assert_eq!(json.get("k").and_then(Json::as_i64), Some(2));
        assert_eq!(json.to_value(), json!({"k": 2}));
    }

    #[test]
    fn trailing_text_is_an_error() {
        assert!(Json::parse(r#"{"a":1} x"#).is_err());
        assert!(Json::parse(r#"{"a":"#).is_err());
    }
}
