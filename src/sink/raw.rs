//! The raw zone: API pages kept as served, zstd-compressed, under
//! `<out>/_raw/<dataset>/<partition column>=<day>/<run_id>-<seq>.json.zst`
//! (`_raw/conversations/conversation_date=2026-11-01/...`).
//!
//! With `--keep-raw`, `rebuild` can re-derive every table from these pages with no API call,
//! so a schema change (a new column, a new child table) never forces a re-extraction against
//! the rate limit. Pages are stored whole: conversations outside the day, and repeats, are
//! filtered at decode time exactly as during extraction.

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::ObjectStore;
use object_store::path::Path;

use super::store::Output;
use crate::error::{Error, Result};

pub const RAW_DIR: &str = "_raw";
const ZSTD_LEVEL: i32 = 3;

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

pub fn compress(page: &[u8]) -> Result<Bytes> {
    zstd::bulk::compress(page, ZSTD_LEVEL)
        .map(Bytes::from)
        .map_err(|e| Error::Encode {
            table: "raw page".into(),
            message: e.to_string(),
        })
}

pub fn decompress(location: &str, data: &[u8]) -> Result<Vec<u8>> {
    zstd::stream::decode_all(data).map_err(|e| Error::Storage {
        location: location.to_string(),
        message: format!("not a zstd page: {e}"),
    })
}

/// The pages of the latest run that kept raw pages for `day`, in the order they were served.
/// Run ids start with their UTC start time, so the largest is the latest.
pub async fn latest_pages(
    output: &Output,
    dataset: &str,
    column: &str,
    day: &str,
) -> Result<Option<(String, Vec<String>)>> {
    let dir = day_dir(dataset, column, day);
    let listed: Vec<_> = output
        .store
        .list(Some(&Path::from(dir.as_str())))
        .try_collect()
        .await
        .map_err(|e| Error::storage(format!("{}/{dir}", output.url), e))?;
    let mut pages: Vec<(String, String)> = listed
        .iter()
        .filter_map(|m| {
            let name = m.location.filename()?;
            let stem = name.strip_suffix(".json.zst")?;
            let (run_id, _seq) = stem.rsplit_once('-')?;
            Some((run_id.to_string(), m.location.to_string()))
        })
        .collect();
    let Some(latest) = pages.iter().map(|(r, _)| r.clone()).max() else {
        return Ok(None);
    };
    pages.retain(|(r, _)| *r == latest);
    pages.sort();
    Ok(Some((latest, pages.into_iter().map(|(_, p)| p).collect())))
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
    async fn the_latest_run_wins() {
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
        let (run, pages) = latest_pages(&out, "conversations", "conversation_date", "2026-10-01")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(run, "20261002T000000Z-bbbbbbbb");
        assert_eq!(pages.len(), 2);
        assert!(pages[0].ends_with("-000000.json.zst"));
        assert!(
            latest_pages(&out, "conversations", "conversation_date", "2026-10-02")
                .await
                .unwrap()
                .is_none()
        );
    }
}
