//! The raw zone: API pages kept as served, zstd-compressed, under
//! `<out>/_raw/<dataset>/<partition column>=<day>/<run_id>-<seq>.json.zst`
//! (`_raw/conversations/conversation_date=2026-11-01/...`).
//!
//! With `--keep-raw`, `rebuild` can re-derive every table from these pages with no API call,
//! so a schema change (a new column, a new child table) never forces a re-extraction against
//! the rate limit. Pages are stored whole: conversations outside the day, and repeats, are
//! filtered at decode time exactly as during extraction.

use std::collections::BTreeMap;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::ObjectStore;
use object_store::path::Path;

use super::store::Output;
use crate::error::{Error, Result};

pub const RAW_DIR: &str = "_raw";
/// Level 1: on job pages, faster than 3 and no bigger (about 8:1 either way).
const ZSTD_LEVEL: i32 = 1;

/// The folder of one dataset's pages for one partition (`column=day`).
pub fn day_dir(dataset: &str, column: &str, day: &str) -> String {
    format!("{RAW_DIR}/{dataset}/{column}={day}")
}

/// The object one page is kept in.
pub fn page_path(dataset: &str, column: &str, day: &str, run_id: &str, seq: u64) -> String {
    format!(
        "{}/{run_id}-{seq:06}.json.zst",
        day_dir(dataset, column, day)
    )
}

/// The sequence number of a page object (`.../<run_id>-000012.json.zst` is 12).
pub fn page_seq(path: &str) -> Option<u64> {
    let name = path.rsplit('/').next()?;
    let stem = name.strip_suffix(".json.zst")?;
    stem.rsplit_once('-')?.1.parse().ok()
}

pub fn compress(page: &[u8]) -> Result<Bytes> {
    zstd::bulk::compress(page, ZSTD_LEVEL)
        .map(Bytes::from)
        .map_err(|e| Error::Encode {
            table: "raw page".into(),
            message: e.to_string(),
        })
}

/// A page's text. Pages are written in one frame that records its size: read into one
/// buffer of that size (a stream would grow its buffer and copy the page several times over).
/// A size past what such a page could be (a damaged header) is read as a stream instead.
pub fn decompress(location: &str, data: &[u8]) -> Result<Vec<u8>> {
    let fail = |e: std::io::Error| Error::Storage {
        location: location.to_string(),
        message: format!("not a zstd page: {e}"),
    };
    match zstd::zstd_safe::get_frame_content_size(data) {
        Ok(Some(size)) if size <= MAX_PAGE_BYTES => {
            zstd::bulk::decompress(data, size as usize).map_err(fail)
        }
        _ => zstd::stream::decode_all(data).map_err(fail),
    }
}

/// The largest page [`decompress`] reads in one piece (1 GiB; a page is a few MB).
const MAX_PAGE_BYTES: u64 = 1 << 30;

/// Every run's pages for `day`, by run id, each run's pages in the order they were served.
/// Which of them may be trusted is the caller's to decide: only committed runs (their
/// manifest exists) whose range covered the whole day.
pub async fn pages_by_run(
    output: &Output,
    dataset: &str,
    column: &str,
    day: &str,
) -> Result<BTreeMap<String, Vec<String>>> {
    let dir = day_dir(dataset, column, day);
    let listed: Vec<_> = output
        .store
        .list(Some(&Path::from(dir.as_str())))
        .try_collect()
        .await
        .map_err(|e| Error::storage(format!("{}/{dir}", output.url), e))?;
    let mut runs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in &listed {
        let Some(name) = m.location.filename() else {
            continue;
        };
        let Some((run_id, _seq)) = name
            .strip_suffix(".json.zst")
            .and_then(|s| s.rsplit_once('-'))
        else {
            continue;
        };
        runs.entry(run_id.to_string())
            .or_default()
            .push(m.location.to_string());
    }
    for pages in runs.values_mut() {
        pages.sort();
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_round_trip() {
        let page = br#"{"conversations":[{"conversationId":"c1"}]}"#;
        let z = compress(page).unwrap();
        assert_eq!(decompress("x", &z).unwrap(), page);
        assert!(
            decompress("x", b"not zstd")
                .unwrap_err()
                .to_string()
                .contains("not a zstd page")
        );
    }

    #[tokio::test]
    async fn pages_are_grouped_by_run_in_serving_order() {
        let dir = tempfile::tempdir().unwrap();
        let out = Output::open(dir.path().to_str().unwrap()).unwrap();
        for (run, seq) in [
            ("20261001T000000Z-aaaaaaaa", 0),
            ("20261002T000000Z-bbbbbbbb", 1),
            ("20261002T000000Z-bbbbbbbb", 0),
        ] {
            out.put(
                &page_path("conversations", "conversation_date", "2026-10-01", run, seq),
                compress(b"{}").unwrap(),
            )
            .await
            .unwrap();
        }
        let runs = pages_by_run(&out, "conversations", "conversation_date", "2026-10-01")
            .await
            .unwrap();
        assert_eq!(runs.len(), 2);
        let pages = &runs["20261002T000000Z-bbbbbbbb"];
        assert_eq!(pages.len(), 2);
        assert!(pages[0].ends_with("-000000.json.zst"));
        assert!(
            pages_by_run(&out, "conversations", "conversation_date", "2026-10-02")
                .await
                .unwrap()
                .is_empty()
        );
    }
}
