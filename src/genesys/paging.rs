//! The platform's listing styles as page streams: page-number listings and cursor listings,
//! both followed through the `nextUri` each page carries (genesys-api.md §6), and one GET per
//! key. (Async jobs are in [`super::jobs`]; pre-signed downloads are
//! [`ApiClient::download`].)
//!
//! Pages are sent down a bounded channel still undecoded (the items as raw JSON plus the body as
//! served, for the raw zone), so fetching runs ahead of decoding by a few pages at most.

use std::collections::HashSet;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::sync::mpsc;

use super::client::ApiClient;
use crate::error::{Error, Result};

/// Stops a listing that never ends (a server bug) instead of paging forever.
const MAX_PAGES: u64 = 100_000;

/// One page of items, still undecoded.
#[derive(Debug)]
pub struct Page {
    /// The items of the page's list field (`entities`, `conversations`, `results`).
    pub items: Vec<Box<RawValue>>,
    /// The response body as served, for the raw zone.
    pub raw: Bytes,
}

/// Where pages go: the decode stage's bounded queue.
pub type PageSender = mpsc::Sender<Page>;

/// Sends a page downstream unless it is empty; returns the number of pages sent (0 or 1).
pub async fn send(tx: &PageSender, items: Vec<Box<RawValue>>, raw: &Bytes) -> Result<u64> {
    if items.is_empty() {
        return Ok(0);
    }
    let page = Page {
        items,
        raw: raw.clone(),
    };
    tx.send(page)
        .await
        .map_err(|_| Error::Input("the page consumer stopped".into()))?;
    Ok(1)
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
    ListField(field)
        .deserialize(&mut de)
        .and_then(|items| de.end().map(|()| items))
        .map_err(|e| Error::Payload {
            path: path.to_string(),
            message: if e.is_data() {
                format!("{field} is not a list: {e}")
            } else {
                e.to_string()
            },
        })
}

/// Reads a page object, keeping the items of one list field (the last, should it repeat).
struct ListField<'f>(&'f str);

impl<'de> serde::de::DeserializeSeed<'de> for ListField<'_> {
    type Value = Vec<Box<RawValue>>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for ListField<'_> {
    type Value = Vec<Box<RawValue>>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "a page object with a {} list", self.0)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == self.0 {
                items = map
                    .next_value::<Option<Vec<Box<RawValue>>>>()?
                    .unwrap_or_default();
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(items)
    }
}

/// A page's top-level fields, each still raw: one scan of the body serves its list and its
/// paging fields alike.
pub type RawEnvelope = std::collections::HashMap<String, Box<RawValue>>;

/// Takes the list in `field` out of a parsed envelope (absent or null: empty).
pub fn items_of(path: &str, envelope: &mut RawEnvelope, field: &str) -> Result<Vec<Box<RawValue>>> {
    match envelope.remove(field) {
        None => Ok(Vec::new()),
        Some(raw) if raw.get() == "null" => Ok(Vec::new()),
        Some(raw) => serde_json::from_str(raw.get()).map_err(|e| Error::Payload {
            path: path.to_string(),
            message: format!("{field} is not a list: {e}"),
        }),
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
        let items = items(path, &resp.body, field)?;
        let n = items.len();
        pages += send(tx, items, &resp.body).await?;
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
        while let Some(page) = rx.recv().await {
            out.extend(page.items);
        }
        out
    };
    let (fetched, items) = tokio::join!(fetch, gather);
    fetched?;
    Ok(items)
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
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(item.get());
    }
    body.push_str("]}");
    send(tx, items, &Bytes::from(body)).await
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
