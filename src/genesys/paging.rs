//! The platform's listing styles as page streams: page-number listings and cursor listings,
//! both followed through the `nextUri` each page carries (genesys-api.md §6), and one GET per
//! key. (Async jobs are in [`super::jobs`]; pre-signed downloads are
//! [`ApiClient::download`].)
//!
//! Pages are sent down a bounded channel still undecoded (the items as raw JSON plus the body as
//! served, for the raw zone), so fetching runs ahead of decoding by a few pages at most.

use std::collections::HashSet;
use std::ops::Range;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::sync::mpsc;

use super::client::ApiClient;
use crate::error::{Error, Result};
use crate::json::Json;

/// Stops a listing that never ends (a server bug) instead of paging forever.
const MAX_PAGES: u64 = 100_000;

/// One page of items, still undecoded: each item's JSON text as served, without a copy when
/// the page was cut from its body ([`Page::cut`]) or is read whole ([`Page::whole`]).
#[derive(Debug)]
pub struct Page {
    /// UTF-8 text holding the items (the body they were cut from or are read from, or the
    /// items one after another).
    text: Bytes,
    /// Where each item of the page's list field (`entities`, `conversations`, `results`)
    /// lies in `text`.
    spans: Vec<Range<usize>>,
    /// The page's other top-level fields (`cursor`, `pageCount`): where each key (between
    /// its quotes) and its value lie in `text`. Empty for a page built from items.
    fields: Vec<(Range<usize>, Range<usize>)>,
    /// The response body as served, for the raw zone (empty when it is not kept).
    pub raw: Bytes,
    /// A page read whole ([`Page::whole`]): where it was read from, for errors. Its items are
    /// found as they are parsed, and `spans` and `fields` are empty.
    whole: Option<String>,
}

impl Page {
    /// The items of the list in `field` of a page `body`, read in place (see
    /// [`scan_page`]); `raw` is what the raw zone keeps of the page (the body itself, or
    /// nothing).
    pub fn cut(path: &str, body: Bytes, field: &str, raw: Bytes) -> Result<Page> {
        let (spans, fields) = scan_page(&body, field).map_err(|message| Error::Payload {
            path: path.to_string(),
            message,
        })?;
        Ok(Page {
            text: body,
            spans,
            fields,
            raw,
            whole: None,
        })
    }

    /// A page `body` whose items are found as they are parsed ([`Page::parse_items`]), in one
    /// pass, instead of cut apart first: for a rebuild, which reads no other field of the page.
    /// Cutting first read every byte of the page once more (8% of the instructions of a day's
    /// `rebuild`; benches/profile.md, "Seventh round").
    /// `path` names the page in errors.
    pub fn whole(path: &str, body: Bytes) -> Page {
        Page {
            text: body,
            spans: Vec::new(),
            fields: Vec::new(),
            raw: Bytes::new(),
            whole: Some(path.to_string()),
        }
    }

    /// A page of items already cut apart (each copied once, one after another).
    pub fn from_items(items: &[Box<RawValue>], raw: Bytes) -> Page {
        let mut text = String::with_capacity(items.iter().map(|i| i.get().len()).sum());
        let mut spans = Vec::with_capacity(items.len());
        for item in items {
            let start = text.len();
            text.push_str(item.get());
            spans.push(start..text.len());
        }
        Page {
            text: Bytes::from(text),
            spans,
            fields: Vec::new(),
            raw,
            whole: None,
        }
    }

    /// The JSON text of the page's top-level field `name` (not its list), as served.
    pub fn field(&self, name: &str) -> Option<&str> {
        let (_, value) = self
            .fields
            .iter()
            .rev()
            .find(|(k, _)| key_is(&self.text[k.clone()], name))?;
        std::str::from_utf8(&self.text[value.clone()]).ok()
    }

    /// The number of items cut (none for a page read whole: they are counted as parsed).
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether the page is known to hold no item (a page read whole is not known to).
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty() && self.whole.is_none()
    }

    /// The page's text, checked to be UTF-8 (once per call).
    ///
    /// Checked by `simdutf8`, with SIMD instructions sixteen or thirty-two bytes a step, where
    /// the standard library's check is scalar (a word at a time for ASCII): the check was 1.2%
    /// of a conversation day's instructions. Its `compat` errors say where the text stops
    /// being UTF-8, as the standard one does.
    fn text(&self) -> Result<&str> {
        simdutf8::compat::from_utf8(&self.text).map_err(|e| Error::Payload {
            path: self.whole.as_deref().unwrap_or("a page").to_string(),
            message: format!("the page is not UTF-8: {e}"),
        })
    }

    /// The items' JSON texts, in the order served, of a page cut apart. A page read whole
    /// has not been cut: its items are reached through [`Page::parse_items`].
    pub fn items(&self) -> Result<impl ExactSizeIterator<Item = &str> + '_> {
        if let Some(path) = &self.whole {
            return Err(Error::Input(format!(
                "the page {path} is read whole: its items are reached by parsing it"
            )));
        }
        let text = self.text()?;
        // Every span starts and ends at an ASCII byte (a bracket, quote or literal), so it
        // falls on character boundaries.
        Ok(self
            .spans
            .iter()
            .map(move |r| text.get(r.clone()).unwrap_or_default()))
    }

    /// Calls `each` with every item of the list `field`, in the order served: its JSON text
    /// as served and that text parsed. An item that is not JSON stops the page with an error
    /// naming the list.
    pub fn parse_items<'p>(
        &'p self,
        field: &str,
        mut each: impl FnMut(&'p str, Json<'p>) -> Result<()>,
    ) -> Result<()> {
        let Some(path) = &self.whole else {
            for raw in self.items()? {
                each(raw, Json::parse(raw).map_err(|e| item_error(field, e))?)?;
            }
            return Ok(());
        };
        parse_whole(self.text()?, field, each).map_err(|e| match e {
            Whole::Scan(message) => Error::Payload {
                path: path.clone(),
                message,
            },
            Whole::Item(at, e) => Error::Payload {
                path: path.clone(),
                message: format!("the item of {field} at byte {at} is not JSON: {e}"),
            },
            Whole::Each(e) => e,
        })
    }
}

/// Why a page read whole stopped: its shape, an item that is not JSON (where it starts in the
/// page; serde's line and column count from there), or the caller.
enum Whole {
    Scan(String),
    Item(usize, serde_json::Error),
    Each(Error),
}

/// An item that is not JSON, named by its list (`conversations[]`).
fn item_error(field: &str, e: serde_json::Error) -> Error {
    Error::Payload {
        path: format!("{field}[]"),
        message: e.to_string(),
    }
}

/// The items of the list `field` of the page `text`, parsed one after another as the page is
/// read ([`walk_page`]): each item is parsed where it lies ([`Json::parse_prefix`]), and its
/// text as served is where the parse ended.
fn parse_whole<'p>(
    text: &'p str,
    field: &str,
    mut each: impl FnMut(&'p str, Json<'p>) -> Result<()>,
) -> std::result::Result<(), Whole> {
    let item = |s: &mut Scan<'p>| {
        let start = s.i;
        let (item, len) = match Json::parse_prefix(&text[start..]) {
            Some(Ok(parsed)) => parsed,
            Some(Err(e)) => return Err(Whole::Item(start, e)),
            None => return Err(Whole::Scan(s.unexpected("an item"))),
        };
        s.i = start + len;
        each(&text[start..s.i], item).map_err(Whole::Each)
    };
    walk_page(text.as_bytes(), field, item, |_, _| {})
}

impl From<String> for Whole {
    fn from(message: String) -> Whole {
        Whole::Scan(message)
    }
}

/// Why a page that holds its list twice is refused.
fn repeated(field: &str) -> String {
    format!("the page holds its {field} list twice")
}

/// Where pages go: the decode stage's bounded queue.
pub type PageSender = mpsc::Sender<Page>;

/// Sends a page downstream unless it is empty; returns the number of pages sent (0 or 1).
pub async fn send(tx: &PageSender, items: Vec<Box<RawValue>>, raw: &Bytes) -> Result<u64> {
    send_page(tx, Page::from_items(&items, raw.clone())).await
}

/// Sends a page downstream unless it is known to be empty (a page read whole is sent as it
/// is); returns the number of pages sent (0 or 1).
pub async fn send_page(tx: &PageSender, page: Page) -> Result<u64> {
    if page.is_empty() {
        return Ok(0);
    }
    tx.send(page)
        .await
        .map_err(|_| Error::Input("the page consumer stopped".into()))?;
    Ok(1)
}

/// The page's top-level fields other than its list: (key between its quotes, value).
type Fields = Vec<(Range<usize>, Range<usize>)>;

/// Where the items of the list in `field` of the JSON object `body` lie (none when the field
/// is absent or null), and where the page's other top-level fields lie. A page that holds its
/// list twice is refused: keeping either list would drop the other's items unseen.
///
/// A structural scan: strings are skipped a word at a time (see [`quote_or_backslash`]),
/// brackets counted, every byte read once and nothing copied. It checks the page's shape (an
/// object, the field a list, nothing after the object); each item's own JSON is checked when
/// it is parsed. Pages come from the API (whose client has already checked the body is JSON)
/// or from the raw zone.
fn scan_page(body: &[u8], field: &str) -> std::result::Result<(Vec<Range<usize>>, Fields), String> {
    let (mut spans, mut fields) = (Vec::new(), Vec::new());
    let item = |s: &mut Scan<'_>| s.value().map(|v| spans.push(v));
    walk_page(body, field, item, |key, value| fields.push((key, value)))?;
    Ok((spans, fields))
}

/// Reads the page object `body`, checking its shape (an object, `field` a list or null and
/// there once, nothing after the object): `item` reads each item of the list from the cursor
/// (whitespace skipped), `other` takes each other top-level field (its key between the quotes,
/// its value). What [`scan_page`] and [`parse_whole`] share.
fn walk_page<'b, E: From<String>>(
    body: &'b [u8],
    field: &str,
    mut item: impl FnMut(&mut Scan<'b>) -> std::result::Result<(), E>,
    mut other: impl FnMut(Range<usize>, Range<usize>),
) -> std::result::Result<(), E> {
    let mut s = Scan { b: body, i: 0 };
    let mut listed = false;
    s.expect(b'{')?;
    let mut more = !s.closes(b'}');
    while more {
        s.ws();
        let key = s.string()?;
        s.expect(b':')?;
        if !key_is(&body[key.start + 1..key.end - 1], field) {
            other(key.start + 1..key.end - 1, s.value()?);
        } else if std::mem::replace(&mut listed, true) {
            return Err(repeated(field).into());
        } else if s.peek() != Some(b'[') {
            s.not_a_list(field)?;
        } else {
            s.i += 1;
            let mut items = !s.closes(b']');
            while items {
                s.ws();
                item(&mut s)?;
                items = s.next_element(b']')?;
            }
        }
        more = s.next_element(b'}')?;
    }
    s.ws();
    if s.i != body.len() {
        return Err(s.unexpected("the end of the page").into());
    }
    Ok(())
}

/// Whether a served key (its text between the quotes) is `field`.
fn key_is(raw: &[u8], field: &str) -> bool {
    if raw.contains(&b'\\') {
        // An escaped key: compare what it means.
        let quoted = [b"\"".as_slice(), raw, b"\"".as_slice()].concat();
        serde_json::from_slice::<String>(&quoted).is_ok_and(|k| k == field)
    } else {
        raw == field.as_bytes()
    }
}

/// A cursor over a page's bytes, for [`scan_page`].
struct Scan<'b> {
    b: &'b [u8],
    i: usize,
}

impl Scan<'_> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    /// The next byte after whitespace.
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    fn unexpected(&self, wanted: &str) -> String {
        match self.b.get(self.i) {
            Some(c) => format!(
                "expected {wanted} at byte {}, found {:?}",
                self.i,
                char::from(*c)
            ),
            None => format!("expected {wanted} at byte {}, found the end", self.i),
        }
    }

    fn expect(&mut self, c: u8) -> std::result::Result<(), String> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.unexpected(&format!("{:?}", char::from(c))))
        }
    }

    /// At the start of a list or object (its opening bracket read): whether it is empty, its
    /// `close` then read too.
    fn closes(&mut self, close: u8) -> bool {
        let empty = self.peek() == Some(close);
        if empty {
            self.i += 1;
        }
        empty
    }

    /// After an element of a list or object: whether another follows (a `,`, read), or the
    /// list ends (its `close`, read).
    fn next_element(&mut self, close: u8) -> std::result::Result<bool, String> {
        match self.peek() {
            Some(b',') => {
                self.i += 1;
                Ok(true)
            }
            Some(c) if c == close => {
                self.i += 1;
                Ok(false)
            }
            _ => Err(self.unexpected(&format!("',' or '{}'", char::from(close)))),
        }
    }

    /// A value where the list `field` should be: `null` (no items) is read, anything else
    /// refused.
    fn not_a_list(&mut self, field: &str) -> std::result::Result<(), String> {
        let v = self.value()?;
        match &self.b[v] {
            b"null" => Ok(()),
            other => Err(format!(
                "{field} is not a list: {}",
                String::from_utf8_lossy(&other[..other.len().min(40)])
            )),
        }
    }

    /// A string at the cursor, quotes included.
    fn string(&mut self) -> std::result::Result<Range<usize>, String> {
        let start = self.i;
        if self.b.get(start) != Some(&b'"') {
            return Err(self.unexpected("a string"));
        }
        self.i += 1;
        loop {
            match quote_or_backslash(self.b, self.i) {
                Some(k) if self.b[k] == b'\\' => self.i = k + 2,
                Some(k) => {
                    self.i = k + 1;
                    return Ok(start..self.i);
                }
                None => {
                    self.i = self.b.len();
                    return Err(format!("a string starting at byte {start} does not end"));
                }
            }
        }
    }

    /// A value at the cursor (after whitespace): a string, an object or list (brackets
    /// counted, strings skipped), or a literal up to the next delimiter.
    fn value(&mut self) -> std::result::Result<Range<usize>, String> {
        self.ws();
        let start = self.i;
        match self.b.get(start) {
            Some(b'"') => self.string(),
            Some(b'{' | b'[') => {
                let mut depth = 0usize;
                while let Some(&c) = self.b.get(self.i) {
                    match c {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.i += 1;
                                return Ok(start..self.i);
                            }
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
                Err(format!("a value starting at byte {start} does not end"))
            }
            Some(_) => {
                while let Some(c) = self.b.get(self.i) {
                    if matches!(c, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                        break;
                    }
                    self.i += 1;
                }
                Ok(start..self.i)
            }
            None => Err(self.unexpected("a value")),
        }
    }
}

/// Where the first `"` or `\\` at or after `from` lies in `b`: the end of a string, or an
/// escape in it.
///
/// Most strings of a page are short (keys, ids, instants, codes), where `memchr`'s set-up
/// costs more than the scan: the string is read eight bytes at a time, each word tested whole
/// (the last few bytes one by one). On a day of 5,000 conversations this took the page scan
/// from 9.0 to 7.7 instructions per byte of page (cachegrind; benches/profile.md, "Seventh
/// round"). Stopping at brackets the same way, outside strings, was slower than reading the
/// few bytes between strings one by one.
fn quote_or_backslash(b: &[u8], from: usize) -> Option<usize> {
    const fn splat(c: u8) -> u64 {
        u64::from_ne_bytes([c; 8])
    }
    // The high bit of each zero byte of `x`. Bits above the lowest may be false (a borrow);
    // the lowest is exact, and it is the only one read.
    let zero_bytes = |x: u64| x.wrapping_sub(splat(0x01)) & !x & splat(0x80);
    let mut i = from;
    while let Some(word) = b.get(i..i + 8) {
        let w = u64::from_le_bytes(word.try_into().unwrap_or_default());
        let hits = zero_bytes(w ^ splat(b'"')) | zero_bytes(w ^ splat(b'\\'));
        if hits != 0 {
            return Some(i + (hits.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    let tail = b.get(i..).unwrap_or_default();
    tail.iter()
        .position(|&c| c == b'"' || c == b'\\')
        .map(|k| i + k)
}

/// Parses a JSON body into `T`, naming the endpoint on failure.
pub fn parse<'a, T: Deserialize<'a>>(path: &str, body: &'a [u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| Error::Payload {
        path: path.to_string(),
        message: e.to_string(),
    })
}

/// The items of a page's list field, e.g. `entities` of a listing or `conversations` of a
/// details page; an absent or null field is an empty page.
///
/// One scan of the body: the list's items are cut out as they are read, the other fields
/// skipped (still checked to be JSON).
pub fn items(path: &str, body: &[u8], field: &str) -> Result<Vec<Box<RawValue>>> {
    use serde::de::DeserializeSeed;
    let mut de = serde_json::Deserializer::from_slice(body);
    let (items, twice) = ListField(field)
        .deserialize(&mut de)
        .and_then(|items| de.end().map(|()| items))
        .map_err(|e| Error::Payload {
            path: path.to_string(),
            message: if e.is_data() {
                format!("{field} is not a list: {e}")
            } else {
                e.to_string()
            },
        })?;
    if twice {
        return Err(Error::Payload {
            path: path.to_string(),
            message: repeated(field),
        });
    }
    Ok(items)
}

/// Reads a page object, keeping the items of one list field, and whether the page holds the
/// list twice (which [`items`] refuses).
struct ListField<'f>(&'f str);

impl<'de> serde::de::DeserializeSeed<'de> for ListField<'_> {
    type Value = (Vec<Box<RawValue>>, bool);

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for ListField<'_> {
    type Value = (Vec<Box<RawValue>>, bool);

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "a page object with a {} list", self.0)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let (mut items, mut listed, mut twice) = (Vec::new(), false, false);
        while let Some(key) = map.next_key::<String>()? {
            if key == self.0 && !listed {
                listed = true;
                items = map
                    .next_value::<Option<Vec<Box<RawValue>>>>()?
                    .unwrap_or_default();
            } else {
                twice |= key == self.0;
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok((items, twice))
    }
}

/// How a listing pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    /// `pageSize` + `pageNumber` (1-based); `nextUri` names the next page, `pageCount` the last.
    PageNumber,
    /// `pageSize` + an opaque `after` cursor carried in `nextUri`.
    Cursor,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    #[serde(default)]
    next_uri: Option<String>,
    #[serde(default)]
    page_count: Option<u64>,
    #[serde(default)]
    page_number: Option<u64>,
}

/// Pages a listing to its end, following `nextUri`, and sends every page down `tx`.
/// `path` may carry query parameters of its own (`?state=deleted`). Returns pages sent.
///
/// `nextUri` is followed only when it stays on the API host under `/api/v2/` (the bearer token
/// is never sent elsewhere); a listing that repeats a page URI is an error, not a loop.
pub async fn list(
    api: &ApiClient,
    path: &str,
    paging: Paging,
    page_size: u32,
    field: &str,
    tx: &PageSender,
) -> Result<u64> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut next = Some(match paging {
        Paging::PageNumber => format!("{path}{sep}pageSize={page_size}&pageNumber=1"),
        Paging::Cursor => format!("{path}{sep}pageSize={page_size}"),
    });
    let mut seen = HashSet::new();
    let mut pages = 0;
    let mut number = 1u64;
    while let Some(url) = next.take() {
        if !seen.insert(url.clone()) || number > MAX_PAGES {
            return Err(Error::Payload {
                path: path.to_string(),
                message: format!("the listing does not end: page {url} was served before"),
            });
        }
        let resp = api.get(&url).await?;
        let envelope: Envelope = parse(path, &resp.body)?;
        let page = Page::cut(path, resp.body.clone(), field, resp.body.clone())?;
        let n = page.len();
        pages += send_page(tx, page).await?;
        next = match envelope.next_uri.filter(|u| !u.is_empty()) {
            Some(uri) => Some(api.relative(&uri).ok_or_else(|| Error::Payload {
                path: path.to_string(),
                message: "nextUri points outside the API host; not followed".into(),
            })?),
            // Some listings omit nextUri: fall back to the page count, then to a short page.
            None if paging == Paging::PageNumber && n > 0 => {
                let current = envelope.page_number.unwrap_or(number);
                let more = match envelope.page_count {
                    Some(count) => current < count,
                    // Neither: a full page may have a next one; a short page is the last.
                    None => n >= page_size as usize,
                };
                more.then(|| format!("{path}{sep}pageSize={page_size}&pageNumber={}", current + 1))
            }
            None => None,
        };
        number += 1;
    }
    Ok(pages)
}

/// Every item of a listing, in the order served (for small listings read whole, like the
/// org's divisions during the access check).
pub async fn collect(
    api: &ApiClient,
    path: &str,
    paging: Paging,
    page_size: u32,
    field: &str,
) -> Result<Vec<Box<RawValue>>> {
    let (tx, mut rx) = mpsc::channel::<Page>(4);
    let fetch = async move {
        let r = list(api, path, paging, page_size, field, &tx).await;
        drop(tx);
        r
    };
    let gather = async {
        let mut out = Vec::new();
        let mut bad = None;
        while let Some(page) = rx.recv().await {
            let items = match page.items() {
                Ok(items) => items,
                Err(e) => {
                    bad.get_or_insert(e);
                    continue;
                }
            };
            for item in items {
                match RawValue::from_string(item.to_string()) {
                    Ok(raw) => out.push(raw),
                    Err(e) => {
                        bad.get_or_insert(Error::Payload {
                            path: format!("{path} {field}[]"),
                            message: e.to_string(),
                        });
                    }
                }
            }
        }
        bad.map_or(Ok(out), Err)
    };
    let (fetched, items) = tokio::join!(fetch, gather);
    fetched?;
    items
}

/// How often a long fan-out says how far it is.
const PROGRESS_EVERY: u64 = 500;

/// What a fan-out of one GET per key did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FanOut {
    /// Pages sent downstream.
    pub pages: u64,
    /// Requests answered with a body.
    pub answered: u64,
    /// Requests answered 404: an entity that is not there (deleted, never recorded).
    pub missing: u64,
}

/// One GET per key (`/api/v2/conversations/{id}/recordingmetadata`, one evaluation), at most
/// `concurrency` in flight, drawing on the client's shared rate limiter like any other request.
///
/// Each answer goes through `item` (which may reshape or scrub it, or attach what the caller
/// knows about the key) and the resulting items are sent in pages of `batch`, each page an
/// envelope `{"<field>": [...]}`: the raw zone then holds a few pages per chunk rather than
/// one file per request, and reads them back like any listing. A 404 is counted and skipped;
/// any other error (a 403 naming the missing permission, retries exhausted) ends the fan-out.
pub async fn get_each<K>(
    api: &ApiClient,
    requests: Vec<(String, K)>,
    concurrency: usize,
    (field, batch): (&str, usize),
    mut item: impl FnMut(K, Box<RawValue>) -> Result<Vec<Box<RawValue>>>,
    tx: &PageSender,
) -> Result<FanOut> {
    use futures::StreamExt;
    let total = requests.len();
    let mut answers = futures::stream::iter(requests)
        .map(|(path, key)| async move {
            match api.get(&path).await {
                Ok(resp) => Ok((key, Some(resp.body))),
                Err(Error::Api {
                    status: Some(404), ..
                }) => Ok((key, None)),
                Err(e) => Err(e),
            }
        })
        .buffered(concurrency.max(1));
    let mut done = FanOut::default();
    let mut pending: Vec<Box<RawValue>> = Vec::new();
    while let Some(answer) = answers.next().await {
        let (key, body) = answer?;
        let answered = done.answered + done.missing + 1;
        if answered.is_multiple_of(PROGRESS_EVERY) {
            tracing::info!(field, answered, of = total, "one request per key: progress");
        }
        let Some(body) = body else {
            done.missing += 1;
            continue;
        };
        done.answered += 1;
        let text = String::from_utf8(body.to_vec()).map_err(|e| Error::Payload {
            path: "one GET per key".into(),
            message: format!("the answer is not UTF-8: {e}"),
        })?;
        let raw = RawValue::from_string(text).map_err(|e| Error::Payload {
            path: "one GET per key".into(),
            message: format!("the answer is not JSON: {e}"),
        })?;
        pending.extend(item(key, raw)?);
        if pending.len() >= batch.max(1) {
            done.pages += send_envelope(tx, field, std::mem::take(&mut pending)).await?;
        }
    }
    done.pages += send_envelope(tx, field, pending).await?;
    Ok(done)
}

/// Sends items as one page whose body is `{"<field>": [items]}` (nothing when empty).
pub async fn send_envelope(tx: &PageSender, field: &str, items: Vec<Box<RawValue>>) -> Result<u64> {
    if items.is_empty() {
        return Ok(0);
    }
    let mut body = String::with_capacity(
        items.iter().map(|i| i.get().len() + 1).sum::<usize>() + field.len() + 8,
    );
    body.push_str("{\"");
    body.push_str(field);
    body.push_str("\":[");
    // The page's items are read where the body holds them: no second copy.
    let mut spans = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        let start = body.len();
        body.push_str(item.get());
        spans.push(start..body.len());
    }
    body.push_str("]}");
    let body = Bytes::from(body);
    let page = Page {
        text: body.clone(),
        spans,
        fields: Vec::new(),
        raw: body,
        whole: None,
    };
    send_page(tx, page).await
}

/// Whether an error is the platform refusing to page past its result cap ("Paging may not
/// exceed 10000 results", "Pagination may not exceed 100000 results"): the signal to split the
/// request into smaller ones rather than fail.
pub fn is_result_cap(e: &Error) -> bool {
    match e {
        Error::Api {
            status: Some(400),
            message,
            ..
        } => {
            let m = message.to_ascii_lowercase();
            (m.contains("pagination") || m.contains("paging")) && m.contains("exceed")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_field_is_read_and_absent_is_empty() {
        let body = br#"{"entities":[{"id":"a"},{"id":"b"}],"pageCount":1}"#;
        let got = items("/x", body, "entities").unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].get(), r#"{"id":"b"}"#);
        assert!(
            items("/x", br#"{"total":0}"#, "entities")
                .unwrap()
                .is_empty()
        );
        assert!(
            items("/x", br#"{"entities":null}"#, "entities")
                .unwrap()
                .is_empty()
        );
        let e = items("/x", br#"{"entities":{}}"#, "entities").unwrap_err();
        assert!(e.to_string().contains("entities is not a list"), "{e}");
        let e = items("/x", br#"{"entities":[1],"entities":[2]}"#, "entities").unwrap_err();
        assert!(
            e.to_string()
                .ends_with("the page holds its entities list twice"),
            "{e}"
        );
    }

    fn item_spans(body: &[u8], field: &str) -> std::result::Result<Vec<Range<usize>>, String> {
        scan_page(body, field).map(|(spans, _)| spans)
    }

    /// The structural scan cuts exactly the items serde's parser cuts, on pages compact and
    /// pretty, with strings full of quotes, backslashes, brackets and non-ASCII text.
    #[test]
    fn the_scan_cuts_items_as_serde_does() {
        fn value(rng: &mut fastrand::Rng, depth: u32) -> serde_json::Value {
            use serde_json::json;
            let text = |rng: &mut fastrand::Rng| {
                let parts = [
                    "a", "\"", "\\", "{", "}", "[", "]", ",", ":", " ", "é", "😀", "\n", "\u{1}",
                ];
                // Up to 40 parts: strings that cross the word boundaries of
                // `quote_or_backslash`, with escapes anywhere in a word.
                (0..rng.usize(0..40))
                    .map(|_| parts[rng.usize(..parts.len())])
                    .collect::<String>()
            };
            match (depth, rng.u8(0..7)) {
                (0, _) | (_, 0) => json!(text(rng)),
                (_, 1) => json!(rng.i64(..)),
                (_, 2) => json!(rng.f64() * 1e6),
                (_, 3) => match rng.u8(0..3) {
                    0 => json!(true),
                    1 => json!(false),
                    _ => serde_json::Value::Null,
                },
                (_, 4) => serde_json::Value::Array(
                    (0..rng.usize(0..4))
                        .map(|_| value(rng, depth - 1))
                        .collect(),
                ),
                _ => serde_json::Value::Object(
                    (0..rng.usize(0..5))
                        .map(|_| (text(rng), value(rng, depth - 1)))
                        .collect(),
                ),
            }
        }
        let mut rng = fastrand::Rng::with_seed(11);
        for round in 0..300 {
            let list: Vec<serde_json::Value> =
                (0..rng.usize(0..6)).map(|_| value(&mut rng, 4)).collect();
            let page = serde_json::json!({
                "before": value(&mut rng, 3),
                "conversations": list,
                "cursor": "c\"}]",
            });
            for text in [
                page.to_string(),
                serde_json::to_string_pretty(&page).unwrap(),
            ] {
                let body = text.as_bytes();
                let ours: Vec<&str> = item_spans(body, "conversations")
                    .unwrap()
                    .into_iter()
                    .map(|r| &text[r])
                    .collect();
                let serde: Vec<String> = items("/x", body, "conversations")
                    .unwrap()
                    .iter()
                    .map(|r| r.get().to_string())
                    .collect();
                assert_eq!(ours, serde, "round {round}: {text}");
                let page = Page::cut(
                    "/x",
                    Bytes::from(text.clone()),
                    "conversations",
                    Bytes::new(),
                )
                .unwrap();
                assert_eq!(page.field("cursor"), Some(r#""c\"}]""#));
                assert_eq!(page.items().unwrap().collect::<Vec<_>>(), ours);
                // Read whole, the page hands on the same items, each with its text as served
                // and that text parsed.
                assert_eq!(whole_items(&text, "conversations").unwrap(), ours, "{text}");
            }
        }
    }

    /// The items a page read whole hands on, each checked to be the parse of its text.
    fn whole_items(text: &str, field: &str) -> Result<Vec<String>> {
        let page = Page::whole("raw/page-1.json.zst", Bytes::from(text.to_string()));
        let mut got = Vec::new();
        page.parse_items(field, |raw, parsed| {
            assert_eq!(parsed, Json::parse(raw).unwrap());
            got.push(raw.to_string());
            Ok(())
        })?;
        Ok(got)
    }

    /// A page read whole is refused for what the scan refuses, and for an item that is not
    /// JSON, with the page named; a list served twice is refused both ways (keeping one of
    /// them would drop the other's items unseen).
    #[test]
    fn a_page_read_whole_is_refused_as_the_scan_refuses_it() {
        for (body, why) in [
            (r#"{"entities":[{"id":"a"}"#, "expected"),
            (r#"{"entities":[{"id":"a}]}"#, "not JSON"),
            (
                r#"{"entities":[{"id":"a"} {"id":"b"}]}"#,
                "expected ',' or ']'",
            ),
            (r#"{"entities":[]} x"#, "the end of the page"),
            (r#"{"entities":{"id":"a"}}"#, "entities is not a list"),
            (r#"[{"id":"a"}]"#, "expected '{'"),
            ("", "expected '{'"),
            (
                r#"{"entities":[1],"n":2,"entities":[3]}"#,
                "holds its entities list twice",
            ),
            (
                r#"{"entities":[1],"ent\u0069ties":[3]}"#,
                "holds its entities list twice",
            ),
            (r#"{"entities":[1,]}"#, "not JSON"),
            (r#"{"entities":[1],"cursor":"c}"#, "does not end"),
        ] {
            let e = whole_items(body, "entities").unwrap_err().to_string();
            assert!(
                e.contains(why) && e.contains("raw/page-1.json.zst"),
                "{body}: {e}"
            );
        }
        let twice = item_spans(br#"{"entities":[1],"entities":[2]}"#, "entities").unwrap_err();
        assert!(twice.contains("holds its entities list twice"), "{twice}");
        let page = Page::whole(
            "raw/page-2",
            Bytes::from_static(b"{\"entities\":[\"\xff\"]}"),
        );
        let e = page.parse_items("entities", |_, _| Ok(())).unwrap_err();
        let e = e.to_string();
        // Where the text stops being UTF-8 is named, as the standard library's check names it.
        assert!(
            e.contains("raw/page-2") && e.contains("not UTF-8") && e.contains("from index 14"),
            "{e}"
        );
        for (body, n) in [
            (r#"{"entities":null,"n":1}"#, 0),
            (r#"{"entities":[ ]}"#, 0),
            ("{}", 0),
            (
                r#" { "n" : [1] , "entities" : [ 1 , "two" , {"x":[]} ] } "#,
                3,
            ),
        ] {
            assert_eq!(whole_items(body, "entities").unwrap().len(), n, "{body}");
        }
        // What the caller returns stops the page.
        let page = Page::whole("p", Bytes::from_static(br#"{"entities":[1,2]}"#));
        let e = page
            .parse_items("entities", |_, _| Err(Error::Input("stop".into())))
            .unwrap_err();
        assert!(matches!(e, Error::Input(m) if m == "stop"));
    }

    #[test]
    fn a_page_of_the_wrong_shape_is_refused_by_the_scan() {
        for (body, why) in [
            (r#"{"entities":[{"id":"a"}"#, "expected"),
            (r#"{"entities":[{"id":"a}]}"#, "does not end"),
            (r#"{"entities":[]} x"#, "the end of the page"),
            ("{\"entities\":[\"a\\", "does not end"),
            (r#"{"entities":{"id":"a"}}"#, "entities is not a list"),
            (r#"[{"id":"a"}]"#, "expected '{'"),
            ("", "expected '{'"),
        ] {
            let e = item_spans(body.as_bytes(), "entities").unwrap_err();
            assert!(e.contains(why), "{body}: {e}");
        }
        assert_eq!(
            item_spans(br#"{"entities":null,"n":1}"#, "entities"),
            Ok(vec![])
        );
        assert_eq!(item_spans(br#"{}"#, "entities"), Ok(vec![]));
        // An escaped key is compared by what it means.
        let spans = item_spans(br#"{"ent\u0069ties":[1, 2]}"#, "entities").unwrap();
        assert_eq!(spans.len(), 2);
    }

    #[test]
    fn the_result_cap_is_recognised_by_its_message() {
        let cap = |m: &str| Error::Api {
            method: "GET".into(),
            path: "/api/v2/users".into(),
            status: Some(400),
            message: m.into(),
        };
        assert!(is_result_cap(&cap(
            "HTTP 400: Paging may not exceed 10000 results. [bad.request]"
        )));
        assert!(is_result_cap(&cap(
            "HTTP 400: Pagination may not exceed 500 results. [bad.request]"
        )));
        assert!(!is_result_cap(&cap(
            "HTTP 400: invalid date [invalid.date]"
        )));
    }
}
