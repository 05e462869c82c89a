//! The run manifest: `<out>/_manifests/<run_id>.json`, written last, the run's commit point.
//!
//! It lists every data file of the run with its table, path (relative to the output root, so
//! a stage on that root names it directly), partition, rows, bytes and ETag, plus the range,
//! the partitions the run replaces, per-table totals and the run's API statistics. Airflow
//! tasks and the load script read nothing else.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::genesys::access::{Coverage, Division};
use crate::genesys::stats::ApiStatsSnapshot;
use crate::sink::FileWritten;

pub const MANIFEST_VERSION: u32 = 1;
pub const MANIFEST_DIR: &str = "_manifests";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub manifest_version: u32,
    pub run_id: String,
    pub tool: Tool,
    /// When the run started and finished (RFC 3339, UTC).
    pub started_at: String,
    pub finished_at: String,
    pub datasets: Vec<String>,
    /// The range whose conversations the run wrote: those with `from <= conversationStart < to`.
    pub range: RangeInfo,
    /// Every partition of the fact tables the run covers, with or without files: the load
    /// replaces all of them.
    pub partitions: Vec<Partition>,
    /// Dimension snapshots the run took: the load merges them by key.
    #[serde(default)]
    pub snapshots: Vec<Snapshot>,
    pub tables: BTreeMap<String, TableTotals>,
    pub files: Vec<FileWritten>,
    /// Snowflake stage over the output root, and the load script for this run.
    pub stage: String,
    /// Database and schema the load script qualifies table names with (none: the session's).
    #[serde(default)]
    pub snowflake: SnowflakeTarget,
    pub load_script: String,
    /// The load script's steps as plain statements, one JSON object a line, in the order the
    /// script runs them (`_manifests/<run_id>.steps.jsonl`), for tools that cannot run
    /// Snowflake Scripting.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub load_steps: String,
    pub source: SourceInfo,
    /// Divisions asked for (`--division`) and what the client's roles reach.
    #[serde(default)]
    pub divisions: DivisionReport,
    /// Files under `_quarantine/<run_id>/` holding the records that could not be decoded
    /// (JSON lines of reason and record as served); not loaded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quarantine_files: Vec<String>,
    pub stats: RunStats,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RangeInfo {
    pub from: String,
    pub to: String,
}

/// One date partition of a fact dataset's tables (`conversation_date`, `interval_date`).
/// `full_day` false means the range covers only part of the day, so the load replaces only rows
/// whose range column (`conversation_start`, `interval_start`) is in `[from, to)`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Partition {
    /// The dataset whose tables the partition belongs to (manifests before it named only
    /// conversations).
    #[serde(default = "conversations")]
    pub dataset: String,
    pub column: String,
    pub value: String,
    pub from: String,
    pub to: String,
    pub full_day: bool,
    /// How the chunk was fetched (`job`, `query`, `aggregate`, `raw` for a rebuild).
    pub method: String,
    /// Records of this partition the run could not decode (quarantined): the load keeps their
    /// earlier rows instead of deleting them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep: Option<KeptKeys>,
}

/// Rows a load must not delete: those whose `column` is one of `values`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KeptKeys {
    pub column: String,
    pub values: Vec<String>,
}

/// One dimension snapshot (`snapshot_date` partition of a dimension table).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Snapshot {
    pub table: String,
    pub column: String,
    pub value: String,
}

/// Division scope of a run's conversations.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct DivisionReport {
    /// Divisions the run was restricted to; empty: all the client can see.
    pub requested: Vec<Division>,
    /// Where the conversation-detail permission reaches; `missing` divisions' conversations are
    /// not in this run (the API filters them silently). None when not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<Coverage>,
    /// The run was made with `--allow-coverage-shrink`: its load replaces the days even when
    /// the run that last loaded them reached divisions this one does not.
    #[serde(default)]
    pub allow_coverage_shrink: bool,
    /// Per division-scoped dataset, which divisions' rows the run holds, and so which rows its
    /// load replaces. A dataset without an entry is replaced whole.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub scopes: BTreeMap<String, DivisionScope>,
}

/// What a division-scoped dataset's rows in one run cover: the load replaces these divisions'
/// rows and no others, and refuses (unless `allow_coverage_shrink`) when the run that last
/// loaded the same days reached divisions this one meant to cover but does not reach.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct DivisionScope {
    /// Ids of the divisions whose rows the load replaces (rows that carry one of them); absent:
    /// every division's rows, whole partitions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<Vec<String>>,
    /// Ids of the divisions the client's roles reach for this dataset, recorded per partition
    /// in `genesys_loaded_partitions`; absent: not known exactly (roles unreadable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reached: Option<Vec<String>>,
    /// Divisions the run meant to cover (those requested, or every division) that the client's
    /// roles do not reach: their rows are not in the run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreached: Vec<Division>,
}

impl DivisionScope {
    /// The scope of a run restricted to `requested` divisions (empty: all), given where the
    /// dataset's permission reaches (None: not read).
    ///
    /// - Reach unknown (not read, or no role reported): every requested division is assumed
    ///   reached; with no request, whole partitions are replaced, as nothing says otherwise.
    /// - No request: the divisions reached, or whole partitions when that is every division.
    /// - A request: the requested divisions the client reaches.
    ///
    /// A reach counted from unreadable roles (an upper bound) still bounds what is replaced,
    /// but is not recorded as the partitions' reach.
    pub fn of(requested: &[Division], coverage: Option<&Coverage>) -> DivisionScope {
        let ids = |ds: &[Division]| -> Vec<String> {
            let mut v: Vec<String> = ds.iter().map(|d| d.id.clone()).collect();
            v.sort();
            v.dedup();
            v
        };
        let Some(c) = coverage.filter(|c| !(c.divisions.is_empty() && c.missing.is_empty())) else {
            return DivisionScope {
                replaces: (!requested.is_empty()).then(|| ids(requested)),
                reached: None,
                unreached: Vec::new(),
            };
        };
        let reached = ids(&c.divisions);
        let (replaces, unreached) = if requested.is_empty() {
            let replaces = (!c.missing.is_empty()).then(|| reached.clone());
            (replaces, c.missing.clone())
        } else {
            let (inside, outside): (Vec<Division>, Vec<Division>) = requested
                .iter()
                .cloned()
                .partition(|d| reached.contains(&d.id));
            (Some(ids(&inside)), outside)
        };
        let mut unreached = unreached;
        unreached.sort();
        unreached.dedup();
        DivisionScope {
            replaces,
            reached: c.exact.then_some(reached),
            unreached,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SnowflakeTarget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TableTotals {
    /// `fact` (partition replace) or `dimension` (snapshot merge).
    #[serde(default)]
    pub kind: String,
    pub rows: u64,
    pub files: u64,
    pub bytes: u64,
    pub schema_version: u32,
    /// Records that could not be decoded (kept under `_quarantine/`, not loaded).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub quarantined: u64,
    /// Fields the schema does not know, with how many rows carried each (kept in `extra_fields`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unknown_fields: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SourceInfo {
    /// The API the data came from (empty for a rebuild).
    pub api_url: String,
    pub data_availability: Option<String>,
    /// For a rebuild: the runs whose raw pages the tables were re-derived from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub raw_runs: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RunStats {
    pub api: ApiStatsSnapshot,
    pub pages: u64,
    /// Conversations written (one row each in `conversations`).
    pub conversations: u64,
    /// Served items kept, per dataset (conversations, entities, aggregate groups).
    #[serde(default)]
    pub records: BTreeMap<String, u64>,
    /// Copies of a conversation already seen in the same chunk (pages shift while data is live).
    pub duplicates_dropped: u64,
    /// Conversations the API returned that started outside the chunk (they belong to another run
    /// or chunk: jobs return every conversation overlapping the interval).
    pub outside_range_dropped: u64,
    /// Records that could not be decoded, kept under `_quarantine/` and not loaded.
    #[serde(default)]
    pub quarantined: u64,
    /// Chunks the run is made of (after a merge: the chunk tasks').
    #[serde(default)]
    pub chunks: u64,
    /// Rows written over all tables, and the bytes of their files.
    #[serde(default)]
    pub rows: u64,
    #[serde(default)]
    pub bytes: u64,
    /// Seconds the run worked (for a merged run: the sum of its chunk tasks').
    pub seconds: f64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn conversations() -> String {
    "conversations".into()
}

impl Manifest {
    /// The run's summary for people: rows per table, then what it asked of the API.
    pub fn render_summary(&self) -> String {
        use crate::progress::thousands;
        let st = &self.stats;
        let mut s = format!(
            "run {} committed: {} chunk(s), {} file(s), {} rows, {:.1} MB in {:.1} s\n",
            self.run_id,
            st.chunks,
            self.files.len(),
            thousands(st.rows),
            st.bytes as f64 / 1e6,
            st.seconds
        );
        for (table, t) in self.tables.iter().filter(|(_, t)| t.rows > 0) {
            s.push_str(&format!("  {table:<34} {:>12} rows\n", thousands(t.rows)));
        }
        s.push_str(&format!(
            "  API: {} requests, {} retries, {} answered 429, {} token requests, {} pages\n",
            thousands(st.api.requests),
            st.api.retries,
            st.api.rate_limited,
            st.api.token_requests,
            thousands(st.pages)
        ));
        if st.quarantined > 0 {
            s.push_str(&format!(
                "  {} record(s) quarantined (not loaded)\n",
                st.quarantined
            ));
        }
        s
    }

    /// Every committed run's manifest under `output`, oldest first (run ids sort by start).
    pub async fn read_all(output: &crate::sink::Output) -> crate::Result<Vec<Manifest>> {
        use futures::TryStreamExt;
        use object_store::ObjectStore;
        let prefix = object_store::path::Path::from(MANIFEST_DIR);
        let listed: Vec<_> = output
            .store
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|e| crate::Error::storage(format!("{}/{MANIFEST_DIR}", output.url), e))?;
        let mut out: Vec<Manifest> = Vec::new();
        for meta in listed
            .iter()
            .filter(|m| m.location.as_ref().ends_with(".json"))
        {
            let bytes = output.get(meta.location.as_ref()).await?;
            let m: Manifest =
                serde_json::from_slice(&bytes).map_err(|e| crate::Error::Storage {
                    location: format!("{}/{}", output.url, meta.location),
                    message: format!("not a manifest: {e}"),
                })?;
            out.push(m);
        }
        out.sort_by(|a, b| a.run_id.cmp(&b.run_id));
        Ok(out)
    }

    pub fn path(run_id: &str) -> String {
        format!("{MANIFEST_DIR}/{run_id}.json")
    }

    pub fn script_path(run_id: &str) -> String {
        format!("{MANIFEST_DIR}/{run_id}.sql")
    }

    /// Not `.json`: whatever lists `_manifests/*.json` finds manifests only.
    pub fn steps_path(run_id: &str) -> String {
        format!("{MANIFEST_DIR}/{run_id}.steps.jsonl")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn division(id: &str) -> Division {
        Division {
            id: id.into(),
            name: format!("Division {id}"),
        }
    }

    fn coverage(reached: &[&str], missing: &[&str], exact: bool) -> Coverage {
        Coverage {
            granted: Some(!reached.is_empty()),
            divisions: reached.iter().map(|d| division(d)).collect(),
            missing: missing.iter().map(|d| division(d)).collect(),
            exact,
        }
    }

    #[test]
    fn a_run_replaces_only_the_divisions_it_extracted() {
        // Every division reached, none requested: whole partitions.
        let all = coverage(&["a", "b", "c"], &[], true);
        let s = DivisionScope::of(&[], Some(&all));
        assert_eq!(s.replaces, None);
        assert_eq!(s.reached, Some(vec!["a".into(), "b".into(), "c".into()]));
        assert!(s.unreached.is_empty());

        // A request: those divisions only.
        let s = DivisionScope::of(&[division("b")], Some(&all));
        assert_eq!(s.replaces, Some(vec!["b".into()]));

        // A client that lost a division: the divisions it still reaches, and the lost one named.
        let lost = coverage(&["a", "b"], &["c"], true);
        let s = DivisionScope::of(&[], Some(&lost));
        assert_eq!(s.replaces, Some(vec!["a".into(), "b".into()]));
        assert_eq!(s.unreached, [division("c")]);

        // A requested division the client does not reach: nothing of it is replaced.
        let s = DivisionScope::of(&[division("b"), division("c")], Some(&lost));
        assert_eq!(s.replaces, Some(vec!["b".into()]));
        assert_eq!(s.unreached, [division("c")]);

        // Reach unknown: what was asked for, and nothing recorded.
        let s = DivisionScope::of(&[], None);
        assert_eq!(s, DivisionScope::default());
        let s = DivisionScope::of(&[division("b")], Some(&coverage(&[], &[], false)));
        assert_eq!(s.replaces, Some(vec!["b".into()]));
        assert_eq!(s.reached, None);

        // An upper bound (unreadable roles) bounds the replacement but is not recorded.
        let s = DivisionScope::of(&[], Some(&coverage(&["a"], &["b"], false)));
        assert_eq!(s.replaces, Some(vec!["a".into()]));
        assert_eq!(s.reached, None);
    }

    /// The published contract names every dataset this build can write into a manifest.
    #[test]
    fn the_manifest_schema_lists_every_dataset() {
        let schema: serde_json::Value = serde_json::from_str(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/schemas/manifest.schema.json"
        )))
        .unwrap();
        let mut listed: Vec<&str> = schema["properties"]["datasets"]["items"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let mut built: Vec<&str> = crate::datasets::registry()
            .iter()
            .map(|d| d.spec().name)
            .collect();
        listed.sort();
        built.sort();
        assert_eq!(listed, built);
    }
}
