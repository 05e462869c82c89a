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

/// An object's fields, owned (what [`Json::Object`] holds).
pub type FieldVec<'a> = Vec<(Cow<'a, str>, Json<'a>)>;

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
        if let Some((v, end)) = fast::value_at(text)
            && text.as_bytes()[end..].iter().all(|b| fast::is_space(*b))
        {
            return Ok(v);
        }
        let mut de = serde_json::Deserializer::from_str(text);
        let v = Json::deserialize(&mut de)?;
        de.end()?;
        Ok(v)
    }

    /// Parses the value `text` starts with (after any whitespace), and says where its text
    /// ends; `None` when `text` holds only whitespace. The value's end is where serde_json's
    /// `StreamDeserializer` puts it, and a value it refuses is refused with its error.
    pub fn parse_prefix(text: &'a str) -> Option<serde_json::Result<(Json<'a>, usize)>> {
        if let Some(parsed) = fast::value_at(text) {
            return Some(Ok(parsed));
        }
        serde_prefix(text)
    }

    /// A view of `v` that borrows its strings: how a record held as a `Value` (one made in
    /// code, as tests and benches do) is decoded.
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

    /// The owned `Value` of the same JSON (keys repeated in an object: the last one wins):
    /// what tests compare rows with, as the decoder reads them.
    #[cfg(test)]
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

/// Takes the field `key` out of an object's fields, as `Map::remove` would: the value is the
/// last one served, and no field of that name is left behind.
pub fn take_field<'a>(fields: &mut FieldVec<'a>, key: &str) -> Option<Json<'a>> {
    let [taken] = take_fields(fields, [key]);
    taken
}

/// [`take_field`] of each of `keys`, in one pass over the fields: an aggregate's metric
/// entry gives up its name, qualifier and statistics, for every row.
pub fn take_fields<'a, const N: usize>(
    fields: &mut FieldVec<'a>,
    keys: [&str; N],
) -> [Option<Json<'a>>; N] {
    let mut taken = [const { None }; N];
    fields.retain_mut(|(k, v)| match keys.iter().position(|key| k == key) {
        Some(at) => {
            taken[at] = Some(std::mem::replace(v, Json::Null));
            false
        }
        None => true,
    });
    taken
}

/// An object's fields as a `Value` holds them: in key order, each key once (the last served).
fn in_key_order<'x, 'a: 'x>(
    fields: impl IntoIterator<Item = (&'x str, &'x Json<'a>)>,
) -> Vec<(&'x str, &'x Json<'a>)> {
    let mut sorted: Vec<(&str, &Json<'a>)> = fields.into_iter().collect();
    // Stable: of a repeated key, the last served stays last, and is the one kept.
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut kept: Vec<(&str, &Json<'a>)> = Vec::with_capacity(sorted.len());
    for f in sorted {
        match kept.last_mut() {
            Some(last) if last.0 == f.0 => *last = f,
            _ => kept.push(f),
        }
    }
    kept
}

/// Writes `fields` as a JSON object the way a `Value` would: keys in order, each once (the
/// last served).
fn serialize_fields<'x, 'a: 'x, S: Serializer>(
    fields: impl IntoIterator<Item = (&'x str, &'x Json<'a>)>,
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(None)?;
    for (k, v) in in_key_order(fields) {
        map.serialize_entry(k, v)?;
    }
    map.end()
}

/// Appends `fields` as a JSON object to `out`, as [`serialize_fields`] writes it (keys sorted,
/// each once, the last served), without serde's call per value: this is how JSON columns and
/// `extra_fields` are written, a few times per row.
pub fn write_fields(fields: &[(&str, &Json<'_>)], out: &mut Vec<u8>) {
    write_object(fields, |f| (f.0, f.1), out);
}

impl Json<'_> {
    /// A copy that borrows nothing (every string owned), to keep beyond its page.
    pub fn to_owned_json(&self) -> Json<'static> {
        match self {
            Json::Null => Json::Null,
            Json::Bool(b) => Json::Bool(*b),
            Json::Number(n) => Json::Number(n.clone()),
            Json::Str(s) => Json::Str(Cow::Owned(s.to_string())),
            Json::Array(items) => Json::Array(items.iter().map(Json::to_owned_json).collect()),
            Json::Object(fields) => Json::Object(
                fields
                    .iter()
                    .map(|(k, v)| (Cow::Owned(k.to_string()), v.to_owned_json()))
                    .collect(),
            ),
        }
    }

    /// Appends this value's compact JSON text to `out`: the bytes `serde_json::to_writer`
    /// writes for it (and so a `Value`'s), byte for byte. Numbers and strings that need an
    /// escape are serde_json's own; a string that needs none (found sixteen bytes at a time on
    /// x86-64, eight elsewhere) is copied whole, where serde_json looks up every byte.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Json::Null => out.extend_from_slice(b"null"),
            Json::Bool(true) => out.extend_from_slice(b"true"),
            Json::Bool(false) => out.extend_from_slice(b"false"),
            Json::Number(n) => write_with_serde(n, out),
            Json::Str(s) => write_str(s, out),
            Json::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    item.write_to(out);
                }
                out.push(b']');
            }
            Json::Object(fields) => write_object(fields, |(k, v)| (&**k, v), out),
        }
    }
}

/// An object's fields in key order, each key once (the last served, as a `Value` keeps it).
/// Fields served in order already (or an object of one field) are written as they are.
fn write_object<'x, 'a: 'x, T>(
    fields: &'x [T],
    entry: impl Fn(&'x T) -> (&'x str, &'x Json<'a>),
    out: &mut Vec<u8>,
) {
    out.push(b'{');
    let ordered = fields.windows(2).all(|w| entry(&w[0]).0 < entry(&w[1]).0);
    if ordered {
        for (i, f) in fields.iter().enumerate() {
            let (k, v) = entry(f);
            write_entry(i == 0, k, v, out);
        }
    } else {
        for (i, (k, v)) in in_key_order(fields.iter().map(&entry))
            .into_iter()
            .enumerate()
        {
            write_entry(i == 0, k, v, out);
        }
    }
    out.push(b'}');
}

fn write_entry(first: bool, key: &str, value: &Json<'_>, out: &mut Vec<u8>) {
    if !first {
        out.push(b',');
    }
    write_str(key, out);
    out.push(b':');
    value.write_to(out);
}

/// A string in quotes: copied whole when no byte of it needs an escape (a quote, a
/// backslash, a byte below 0x20: serde_json escapes those and no other), else serde_json's.
fn write_str(s: &str, out: &mut Vec<u8>) {
    if fast::special(s.as_bytes(), 0).is_some() {
        return write_with_serde(s, out);
    }
    out.reserve(s.len() + 2);
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
}

/// serde_json's text for `v`. Writing a string or a number to memory cannot fail; were it to,
/// what it wrote is taken back and `null` written, so the text stays JSON.
fn write_with_serde<T: Serialize + ?Sized>(v: &T, out: &mut Vec<u8>) {
    let start = out.len();
    if serde_json::to_writer(&mut *out, v).is_err() {
        out.truncate(start);
        out.extend_from_slice(b"null");
    }
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

/// serde_json's reading of the value `text` starts with, and where it ends (its
/// `StreamDeserializer`); `None` when `text` holds only whitespace.
fn serde_prefix<'a, T: Deserialize<'a>>(text: &'a str) -> Option<serde_json::Result<(T, usize)>> {
    let mut one = serde_json::Deserializer::from_str(text).into_iter::<T>();
    let v = one.next()?;
    Some(v.map(|v| (v, one.byte_offset())))
}

/// A reader of the JSON that pages are made of, for [`Json::parse`] and [`Json::parse_prefix`]:
/// objects, arrays, plain strings, integers and literals, read straight from the bytes.
///
/// serde_json's parse into [`Json`] goes through its visitor traits for every value and key,
/// and was a fifth of `rebuild`'s instructions. This reader takes the common shapes only and
/// gives up (`None`) on anything else: then serde_json reads the whole value again, so an
/// escape-heavy item, a malformed one (and its error message) or a deep one is read exactly as
/// before. A string with an escape, and a number with a fraction or an exponent, are handed
/// to serde_json on their own, so every number and every unescaped string is serde_json's.
mod fast {
    use std::borrow::Cow;

    use super::{Json, Key, serde_prefix};

    /// Nesting this reader takes on itself; deeper values are serde_json's (whose limit is 128).
    const MAX_DEPTH: u32 = 100;

    pub(super) fn is_space(b: u8) -> bool {
        matches!(b, b' ' | b'\n' | b'\t' | b'\r')
    }

    /// The value `text` starts with and where it ends, or `None` if this reader does not take
    /// it (or `text` is only whitespace).
    pub(super) fn value_at(text: &str) -> Option<(Json<'_>, usize)> {
        let mut r = Reader {
            text,
            b: text.as_bytes(),
            i: 0,
            depth: 0,
        };
        r.space();
        let v = r.value()?;
        // serde_json's stream checks what follows a value that does not close itself.
        if !matches!(v, Json::Object(_) | Json::Array(_) | Json::Str(_))
            && !matches!(
                r.b.get(r.i),
                None | Some(
                    b' ' | b'\n' | b'\t' | b'\r' | b'"' | b':' | b',' | b']' | b'}' | b'[' | b'{'
                )
            )
        {
            return None;
        }
        Some((v, r.i))
    }

    struct Reader<'a> {
        text: &'a str,
        b: &'a [u8],
        i: usize,
        depth: u32,
    }

    impl<'a> Reader<'a> {
        fn space(&mut self) {
            while self.b.get(self.i).is_some_and(|b| is_space(*b)) {
                self.i += 1;
            }
        }

        fn value(&mut self) -> Option<Json<'a>> {
            match *self.b.get(self.i)? {
                b'"' => self.string().map(Json::Str),
                b'{' => self.object(),
                b'[' => self.array(),
                b'n' => self.literal(b"null", Json::Null),
                b't' => self.literal(b"true", Json::Bool(true)),
                b'f' => self.literal(b"false", Json::Bool(false)),
                b'-' | b'0'..=b'9' => self.number(),
                _ => None,
            }
        }

        fn literal(&mut self, word: &[u8], v: Json<'a>) -> Option<Json<'a>> {
            let end = self.i + word.len();
            (self.b.get(self.i..end)? == word).then(|| {
                self.i = end;
                v
            })
        }

        /// A string at its opening quote: borrowed when plain, serde_json's when escaped.
        #[inline]
        fn string(&mut self) -> Option<Cow<'a, str>> {
            let start = self.i + 1;
            let end = special(self.b, start)?;
            if self.b[end] == b'"' {
                self.i = end + 1;
                return Some(Cow::Borrowed(&self.text[start..end]));
            }
            if self.b[end] != b'\\' {
                return None; // a control character: serde_json refuses it
            }
            let (Key(s), len) = serde_prefix(&self.text[self.i..])?.ok()?;
            self.i += len;
            Some(s)
        }

        /// An integer of up to 18 digits (which cannot overflow); others are serde_json's.
        fn number(&mut self) -> Option<Json<'a>> {
            let start = self.i;
            let negative = self.b[self.i] == b'-';
            self.i += usize::from(negative);
            let digits = self.i;
            let mut n: u64 = 0;
            while let Some(&c @ b'0'..=b'9') = self.b.get(self.i) {
                n = n.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
                self.i += 1;
            }
            let count = self.i - digits;
            if matches!(self.b.get(self.i), Some(b'.' | b'e' | b'E')) || count > 18 {
                let (v, len) = serde_prefix(&self.text[start..])?.ok()?;
                self.i = start + len;
                return Some(v);
            }
            // No digits, a leading zero, or -0 (a float to serde_json): not taken.
            if count == 0 || (count > 1 && self.b[digits] == b'0') || (negative && n == 0) {
                return None;
            }
            Some(Json::Number(if negative {
                (-(n as i64)).into()
            } else {
                n.into()
            }))
        }

        fn object(&mut self) -> Option<Json<'a>> {
            if self.enter(b'}')? {
                return Some(Json::Object(Vec::new()));
            }
            let mut fields = Vec::with_capacity(8);
            loop {
                if self.b.get(self.i) != Some(&b'"') {
                    return None;
                }
                let k = self.string()?;
                self.space();
                if self.b.get(self.i) != Some(&b':') {
                    return None;
                }
                self.i += 1;
                self.space();
                fields.push((k, self.value()?));
                if self.closed(b'}')? {
                    return Some(Json::Object(fields));
                }
            }
        }

        fn array(&mut self) -> Option<Json<'a>> {
            if self.enter(b']')? {
                return Some(Json::Array(Vec::new()));
            }
            let mut items = Vec::new();
            loop {
                items.push(self.value()?);
                if self.closed(b']')? {
                    return Some(Json::Array(items));
                }
            }
        }

        /// Steps past an opening bracket, one level deeper, and past `close` if it follows
        /// at once: whether the object or array was empty.
        fn enter(&mut self, close: u8) -> Option<bool> {
            self.depth += 1;
            self.i += 1;
            if self.depth > MAX_DEPTH {
                return None;
            }
            self.space();
            if self.b.get(self.i) != Some(&close) {
                return Some(false);
            }
            self.leave();
            Some(true)
        }

        /// After a member: past a comma (`false`, more follow) or past `close` (`true`).
        fn closed(&mut self, close: u8) -> Option<bool> {
            self.space();
            match *self.b.get(self.i)? {
                b',' => {
                    self.i += 1;
                    self.space();
                    Some(false)
                }
                c if c == close => {
                    self.leave();
                    Some(true)
                }
                _ => None,
            }
        }

        /// Steps past a closing bracket, one level up.
        fn leave(&mut self) {
            self.i += 1;
            self.depth -= 1;
        }
    }

    /// [`special`] over the whole 16-byte blocks from `*i` on; `*i` is left at the first byte
    /// not looked at when none is found.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "sse2")]
    #[inline]
    fn special_sse2(b: &[u8], i: &mut usize) -> Option<usize> {
        use std::arch::x86_64::{
            _mm_cmpeq_epi8, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set_epi64x,
            _mm_set1_epi8,
        };
        let (quote, backslash, control) = (
            _mm_set1_epi8(b'"' as i8),
            _mm_set1_epi8(b'\\' as i8),
            _mm_set1_epi8(0x1f),
        );
        while let Some(chunk) = b.get(*i..*i + 16) {
            let half = |h: &[u8]| i64::from_le_bytes(h.try_into().unwrap_or_default());
            let v = _mm_set_epi64x(half(&chunk[8..]), half(&chunk[..8]));
            // A byte at most 0x1f is its own maximum with 0x1f.
            let hits = _mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                _mm_cmpeq_epi8(_mm_max_epu8(v, control), control),
            );
            let mask = _mm_movemask_epi8(hits) as u32;
            if mask != 0 {
                return Some(*i + mask.trailing_zeros() as usize);
            }
            *i += 16;
        }
        None
    }

    /// The first quote, backslash or control character (byte below 0x20) of `b` from `from`:
    /// what ends a plain string, and exactly the bytes serde_json escapes, which the writer
    /// ([`super::Json::write_to`]) relies on to copy a string whole. Sixteen bytes at a time with SSE2 (part of every x86-64), eight at a time
    /// elsewhere, then byte by byte.
    #[inline]
    pub(super) fn special(b: &[u8], from: usize) -> Option<usize> {
        let mut i = from;
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: SSE2 is part of the x86-64 baseline: every x86-64 processor has it.
            if let Some(found) = unsafe { special_sse2(b, &mut i) } {
                return Some(found);
            }
        }
        const fn splat(c: u8) -> u64 {
            u64::from_ne_bytes([c; 8])
        }
        // Each test marks the matching bytes of a word by their high bit, the lowest mark
        // exactly (a borrow can only add marks above a true one).
        let below = |x: u64, n: u8| x.wrapping_sub(splat(n)) & !x & splat(0x80);
        while let Some(word) = b.get(i..i + 8) {
            let w = u64::from_le_bytes(word.try_into().unwrap_or_default());
            let hits = below(w ^ splat(b'"'), 1) | below(w ^ splat(b'\\'), 1) | below(w, 0x20);
            if hits != 0 {
                return Some(i + (hits.trailing_zeros() / 8) as usize);
            }
            i += 8;
        }
        let tail = b.get(i..).unwrap_or_default();
        tail.iter()
            .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
            .map(|k| i + k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Taking fields does what `Map::remove` of each would: the last value served of each key,
    /// no field of those names left behind, the others left in order.
    #[test]
    fn fields_are_taken_as_a_map_would_give_them_up() {
        let text =
            r#"{"stats": 1, "metric": "a", "x": true, "stats": 2, "y": null, "metric": "b"}"#;
        let Json::Object(mut fields) = Json::parse(text).unwrap() else {
            panic!("an object")
        };
        let mut map = serde_json::from_str::<Value>(text).unwrap();
        let map = map.as_object_mut().unwrap();
        let [metric, qualifier, stats] = take_fields(&mut fields, ["metric", "qualifier", "stats"]);
        for (key, taken) in [
            ("metric", metric),
            ("qualifier", qualifier),
            ("stats", stats),
        ] {
            assert_eq!(taken.map(|v| v.to_value()), map.remove(key), "{key}");
        }
        let left: Vec<&str> = fields.iter().map(|(k, _)| &**k).collect();
        assert_eq!(left, ["x", "y"]);
        assert_eq!(take_field(&mut fields, "y"), Some(Json::Null));
        assert_eq!(take_field(&mut fields, "y"), None);
    }

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

    fn serde_parse(text: &str) -> serde_json::Result<Json<'_>> {
        let mut de = serde_json::Deserializer::from_str(text);
        let v = Json::deserialize(&mut de)?;
        de.end()?;
        Ok(v)
    }

    /// Random JSON-like text: valid values with odd numbers, escapes, control characters and
    /// whitespace, often damaged by a byte put in, taken out or changed.
    fn random_text(rng: &mut fastrand::Rng) -> String {
        fn value(rng: &mut fastrand::Rng, depth: u32, out: &mut String) {
            let space = |rng: &mut fastrand::Rng, out: &mut String| {
                for _ in 0..rng.usize(0..3).saturating_sub(1) {
                    out.push([' ', '\n', '\t', '\r'][rng.usize(0..4)]);
                }
            };
            space(rng, out);
            match if depth > 4 {
                rng.u32(0..5)
            } else {
                rng.u32(0..8)
            } {
                0 => out.push_str(["null", "true", "false", "nul", "truex"][rng.usize(0..5)]),
                1 | 2 => out.push_str(
                    [
                        "0",
                        "-0",
                        "7",
                        "-12",
                        "01",
                        "-",
                        "1.5",
                        "-0.0",
                        "1e3",
                        "2E-2",
                        "1.",
                        "123456789012345678",
                        "1234567890123456789",
                        "18446744073709551615",
                        "18446744073709551616",
                        "-9223372036854775808",
                        "-9223372036854775809",
                        "1e400",
                        "0.1",
                        "-",
                        "00",
                        "3x",
                    ][rng.usize(0..22)],
                ),
                3 | 4 => {
                    out.push('"');
                    for _ in 0..rng.usize(0..40) {
                        match rng.u32(0..30) {
                            0 => out.push_str(
                                [
                                    "\\n",
                                    "\\\"",
                                    "\\u00e9",
                                    "\\ud83d\\ude00",
                                    "\\ud800",
                                    "\\x",
                                    "\\\\",
                                ][rng.usize(0..7)],
                            ),
                            1 => out.push(char::from(rng.u8(0..0x20))),
                            2 => out.push('é'),
                            3 => out.push('😀'),
                            _ => out.push(char::from(rng.u8(0x20..0x7f))),
                        }
                    }
                    out.push('"');
                }
                5 | 6 => {
                    out.push('{');
                    let n = rng.usize(0..5);
                    for i in 0..n {
                        space(rng, out);
                        out.push_str(
                            ["\"a\"", "\"b\"", "\"k\\n\"", "\"\"", "\"a\""][rng.usize(0..5)],
                        );
                        space(rng, out);
                        out.push(':');
                        value(rng, depth + 1, out);
                        if i + 1 < n || rng.u32(0..20) == 0 {
                            out.push(',');
                        }
                    }
                    space(rng, out);
                    out.push('}');
                }
                _ => {
                    out.push('[');
                    let n = rng.usize(0..5);
                    for i in 0..n {
                        value(rng, depth + 1, out);
                        if i + 1 < n || rng.u32(0..20) == 0 {
                            out.push(',');
                        }
                    }
                    space(rng, out);
                    out.push(']');
                }
            }
            space(rng, out);
        }
        let mut out = String::new();
        value(rng, 0, &mut out);
        if rng.bool() {
            let mut bytes = out.into_bytes();
            let at = rng.usize(0..=bytes.len());
            match rng.u32(0..3) {
                0 => bytes.insert(at, b",]}:\"x0 -."[rng.usize(0..10)]),
                1 if at < bytes.len() => drop(bytes.remove(at)),
                _ if at < bytes.len() => bytes[at] = b"{}[]\",:0\\"[rng.usize(0..9)],
                _ => {}
            }
            out = String::from_utf8_lossy(&bytes).into_owned();
        }
        if rng.u32(0..4) == 0 {
            out.push_str([",", " ", "]", "x", " 1", "{}"][rng.usize(0..6)]);
        }
        out
    }

    /// The reader gives what serde_json gives, value, end and error alike, for text good and
    /// bad; of 20,000 texts, many are read by the reader itself (not all given back to serde).
    #[test]
    fn the_reader_agrees_with_serde_json() {
        let mut rng = fastrand::Rng::with_seed(5);
        let mut taken = 0;
        for _ in 0..20_000 {
            let text = random_text(&mut rng);
            taken += usize::from(fast::value_at(&text).is_some());
            let (ours, theirs) = (Json::parse_prefix(&text), serde_prefix::<Json>(&text));
            match (&ours, &theirs) {
                (Some(Ok(a)), Some(Ok(b))) => assert_eq!(a, b, "{text:?}"),
                (Some(Err(a)), Some(Err(b))) => assert_eq!(a.to_string(), b.to_string()),
                (None, None) => {}
                _ => panic!("{text:?}: {ours:?} against {theirs:?}"),
            }
            match (Json::parse(&text), serde_parse(&text)) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{text:?}"),
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
                (a, b) => panic!("{text:?}: {a:?} against {b:?}"),
            }
        }
        assert!(taken > 5_000, "the reader took {taken} texts");
        // Nesting about the reader's limit (100) and serde_json's (128), and escapes that
        // serde_json refuses.
        let deep = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
        let mut fixed: Vec<String> = [99, 100, 101, 127, 128, 129].map(deep).to_vec();
        fixed.extend([r#""\udc00""#, r#""\u12""#, r#"{"\ud800":1}"#, r#""\q""#].map(String::from));
        for text in &fixed {
            match (Json::parse_prefix(text), serde_prefix::<Json>(text)) {
                (Some(Ok(a)), Some(Ok(b))) => assert_eq!(a, b, "{text:?}"),
                (Some(Err(a)), Some(Err(b))) => assert_eq!(a.to_string(), b.to_string()),
                (a, b) => panic!("{text:?}: {a:?} against {b:?}"),
            }
        }
        assert!(fast::value_at(&deep(100)).is_some() && fast::value_at(&deep(101)).is_none());
        assert!(
            serde_prefix::<Json>(&deep(129)).is_some_and(|r| r.is_err()),
            "serde_json's limit"
        );
    }

    /// A string's end is found wherever it falls in the blocks read at once, and a control
    /// character in it is left to serde_json (which refuses it).
    #[test]
    fn the_end_of_a_string_is_found_in_every_position() {
        for len in 0..40 {
            let body = "é".repeat(len / 2) + &"a".repeat(len % 2);
            for (mark, taken) in [("\"", true), ("\\n\"", true), ("\u{1}\"", false)] {
                let text = format!("\"{body}{mark}");
                assert_eq!(fast::value_at(&text).is_some(), taken, "{text:?}");
                match (Json::parse_prefix(&text), serde_prefix::<Json>(&text)) {
                    (Some(Ok(a)), Some(Ok(b))) => assert_eq!(a, b),
                    (Some(Err(a)), Some(Err(b))) => assert_eq!(a.to_string(), b.to_string()),
                    (a, b) => panic!("{text:?}: {a:?} against {b:?}"),
                }
            }
        }
    }

    /// The writer gives serde_json's bytes (and so a `Value`'s) for every value the random
    /// texts parse to: escapes, numbers, keys out of order and repeated, nesting; and for
    /// strings whose escapes fall in every position of a sixteen-byte block.
    #[test]
    fn the_writer_agrees_with_serde_json() {
        let mut rng = fastrand::Rng::with_seed(11);
        let mut written = 0;
        for _ in 0..20_000 {
            let text = random_text(&mut rng);
            let Ok(json) = Json::parse(&text) else {
                continue;
            };
            let mut ours = Vec::new();
            json.write_to(&mut ours);
            assert_eq!(ours, serde_json::to_vec(&json).unwrap(), "{text:?}");
            let value: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(ours, serde_json::to_vec(&value).unwrap(), "{text:?}");
            written += 1;
        }
        assert!(written > 5_000, "{written} values written");
        for len in 0..40 {
            for mark in [
                r#"\""#, r"\\", r"\n", r"\u0001", r"\u001f", "é", r"\u007f", "",
            ] {
                let body = format!("{}{mark}{}", "a".repeat(len), "b".repeat(len % 7));
                let value = Value::String(serde_json::from_str(&format!(r#""{body}""#)).unwrap());
                let json = Json::from_value(&value);
                let mut ours = Vec::new();
                json.write_to(&mut ours);
                assert_eq!(ours, serde_json::to_vec(&value).unwrap(), "{body:?}");
            }
        }
        let fields = Json::parse(r#"{"b":1,"a":"x\\ty","b":[true,null,{}]}"#).unwrap();
        let pairs: Vec<(&str, &Json)> = fields
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (&**k, v))
            .collect();
        let mut ours = Vec::new();
        write_fields(&pairs, &mut ours);
        assert_eq!(
            String::from_utf8(ours).unwrap(),
            r#"{"a":"x\\ty","b":[true,null,{}]}"#
        );
    }

    #[test]
    fn trailing_text_is_an_error() {
        assert!(Json::parse(r#"{"a":1} x"#).is_err());
        assert!(Json::parse(r#"{"a":"#).is_err());
    }
}
