//! Platform listings (`GET` with `pageSize`/`pageNumber`, answering `entities`, `pageCount`):
//! the shape of the dimension endpoints (divisions, users, queues, ...).

use serde::Deserialize;
use serde_json::value::RawValue;

use super::client::ApiClient;
use crate::error::{Error, Result};

/// Stops a listing that never ends (a server bug) instead of paging forever.
const MAX_PAGES: u64 = 100_000;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Listing {
    #[serde(default)]
    entities: Option<Vec<Box<RawValue>>>,
    #[serde(default)]
    page_count: Option<u64>,
}

/// Every entity of a listing, in the order served.
pub async fn fetch_all(api: &ApiClient, path: &str, page_size: u32) -> Result<Vec<Box<RawValue>>> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut out = Vec::new();
    for page in 1..=MAX_PAGES {
        let url = format!("{path}{sep}pageSize={page_size}&pageNumber={page}");
        let resp = api.get(&url).await?;
        let listing: Listing = serde_json::from_slice(&resp.body).map_err(|e| Error::Payload {
            path: path.to_string(),
            message: e.to_string(),
        })?;
        let entities = listing.entities.unwrap_or_default();
        let n = entities.len();
        out.extend(entities);
        let last = match listing.page_count {
            Some(count) => page >= count,
            None => n < page_size as usize,
        };
        if n == 0 || last {
            return Ok(out);
        }
    }
    Err(Error::Payload {
        path: path.to_string(),
        message: format!("listing did not end after {MAX_PAGES} pages"),
    })
}
