//! `gc`: what an output holds that nothing will load or resume from.
//!
//! Runs that die leave data files no manifest names (the commit never happened), raw pages
//! accumulate, and run state outlives runs that are never resumed. `gc` lists them (and with
//! `--delete` removes them):
//! - data files (`*.parquet` outside the `_` folders) that no manifest and no chunk manifest
//!   names, older than the grace period: a run still writing has not named its files yet, so
//!   the grace period must exceed the longest run;
//! - raw pages (`_raw/`) older than `--raw-retention-days`, when given (`rebuild` needs them);
//! - run state (`_state/<key>/`) of a run that has not written anything for the grace period.
//!
//! A file a manifest or a chunk manifest names is never listed, whatever its age; manifests,
//! load scripts, chunk manifests and quarantined records are never listed either.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use futures::TryStreamExt;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::pipeline::fanout::{CHUNK_DIR, ChunkManifest};
use crate::sink::Output;
use crate::sink::raw::RAW_DIR;
use crate::snowflake::Manifest;
use crate::state::STATE_DIR;

/// What `gc` needs.
#[derive(Debug, Clone)]
pub struct GcConfig {
    pub output: Output,
    /// Unnamed data files and idle run state younger than this are left alone.
    pub grace: Duration,
    /// Raw pages older than this many days are listed; none: raw pages are kept.
    pub raw_retention_days: Option<u32>,
    pub delete: bool,
    pub now: DateTime<Utc>,
}

/// One object `gc` would remove, and why.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Candidate {
    pub path: String,
    /// `data`, `raw` or `state`.
    pub kind: &'static str,
    pub bytes: u64,
    pub last_modified: String,
}

#[derive(Debug, Serialize)]
pub struct GcReport {
    pub out: String,
    pub deleted: bool,
    /// Files named by a manifest or a chunk manifest: kept.
    pub named: usize,
    pub candidates: Vec<Candidate>,
}

impl GcReport {
    pub fn render_text(&self) -> String {
        let verb = if self.deleted {
            "deleted"
        } else {
            "would delete (run with --delete)"
        };
        let mut s = String::new();
        for c in &self.candidates {
            s.push_str(&format!(
                "{:<6} {:>12}  {}  {}\n",
                c.kind, c.bytes, c.last_modified, c.path
            ));
        }
        s.push_str(&format!(
            "{verb}: {} object(s), {:.1} MB; {} file(s) named by manifests kept\n",
            self.candidates.len(),
            self.candidates.iter().map(|c| c.bytes).sum::<u64>() as f64 / 1e6,
            self.named
        ));
        s
    }
}

pub async fn run(cfg: GcConfig) -> Result<GcReport> {
    let out = &cfg.output;
    let listed: Vec<ObjectMeta> = out
        .store
        .list(None)
        .try_collect()
        .await
        .map_err(|e| Error::storage(&out.url, e))?;
    let named = named_files(out, &listed).await?;
    let old = |m: &ObjectMeta, age: Duration| cfg.now - m.last_modified > age;
    let mut candidates = Vec::new();
    // Run state: a key's folder is stale when none of its objects changed for the grace period.
    let mut state: BTreeMap<String, Vec<&ObjectMeta>> = BTreeMap::new();
    for m in &listed {
        let path = m.location.as_ref();
        let top = path.split('/').next().unwrap_or_default();
        if named.contains(path) {
            continue;
        }
        if top == STATE_DIR {
            let key = path.split('/').take(2).collect::<Vec<_>>().join("/");
            state.entry(key).or_default().push(m);
        } else if top == RAW_DIR {
            if let Some(days) = cfg.raw_retention_days
                && old(m, Duration::days(i64::from(days)))
            {
                candidates.push(candidate(m, "raw"));
            }
        } else if !top.starts_with('_') && path.ends_with(".parquet") && old(m, cfg.grace) {
            candidates.push(candidate(m, "data"));
        }
    }
    for objects in state.values() {
        if objects.iter().all(|m| old(m, cfg.grace)) {
            candidates.extend(objects.iter().map(|m| candidate(m, "state")));
        }
    }
    candidates.sort_by(|a, b| (a.kind, &a.path).cmp(&(b.kind, &b.path)));
    if cfg.delete {
        for c in &candidates {
            out.store
                .delete(&object_store::path::Path::from(c.path.as_str()))
                .await
                .map_err(|e| Error::storage(format!("{}/{}", out.url, c.path), e))?;
        }
    }
    Ok(GcReport {
        out: out.url.clone(),
        deleted: cfg.delete,
        named: named.len(),
        candidates,
    })
}

fn candidate(m: &ObjectMeta, kind: &'static str) -> Candidate {
    Candidate {
        path: m.location.to_string(),
        kind,
        bytes: m.size,
        last_modified: m
            .last_modified
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}

/// Every file a manifest, a chunk manifest or a run's checkpoint names (data, scripts,
/// quarantined records).
/// A manifest that cannot be read stops `gc`: what it names is unknown, so nothing is safe.
async fn named_files(out: &Output, listed: &[ObjectMeta]) -> Result<HashSet<String>> {
    let mut named = HashSet::new();
    for m in Manifest::read_all(out).await? {
        named.insert(Manifest::path(&m.run_id));
        named.insert(m.load_script.clone());
        named.insert(m.load_steps.clone());
        named.extend(m.files.iter().map(|f| f.path.clone()));
        named.extend(m.quarantine_files.iter().cloned());
    }
    for meta in listed.iter().filter(|m| {
        let p = m.location.as_ref();
        p.starts_with(&format!("{CHUNK_DIR}/")) && p.ends_with(".json")
    }) {
        let path = meta.location.to_string();
        let c: ChunkManifest =
            serde_json::from_slice(&out.get(&path).await?).map_err(|e| Error::Storage {
                location: format!("{}/{path}", out.url),
                message: format!("not a chunk manifest: {e}"),
            })?;
        named.extend(c.outcome.files.iter().map(|f| f.path.clone()));
        named.extend(c.outcome.quarantine_files.iter().cloned());
        named.insert(path);
    }
    // A run in progress (or waiting to be resumed) commits the files its checkpoints name:
    // however old they are, they are named. An unreadable checkpoint is redone by the resume,
    // so it names nothing.
    for meta in listed.iter().filter(|m| {
        let p = m.location.as_ref();
        p.starts_with(&format!("{STATE_DIR}/")) && p.contains("/chunks/") && p.ends_with(".json")
    }) {
        let path = meta.location.to_string();
        if let Ok(c) = serde_json::from_slice::<crate::state::ChunkOutcome>(&out.get(&path).await?)
        {
            named.extend(c.files.iter().map(|f| f.path.clone()));
            named.extend(c.quarantine_files.iter().cloned());
        }
    }
    named.remove("");
    Ok(named)
}
