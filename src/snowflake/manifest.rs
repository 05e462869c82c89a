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

/// The lines a summary for people has in common (a run's, a chunk's): rows per table that
/// has any, then what was asked of the API.
pub(crate) fn push_rows_and_api<'t>(
    s: &mut String,
    rows: impl IntoIterator<Item = (&'t str, u64)>,
    api: &ApiStatsSnapshot,
    pages: u64,
) {
    use crate::progress::thousands;
    for (table, n) in rows.into_iter().filter(|(_, n)| *n > 0) {
        s.push_str(&format!("  {table:<34} {:>12} rows\n", thousands(n)));
    }
    s.push_str(&format!(
        "  API: {} requests, {} retries, {} answered 429, {} token requests, {} pages\n",
        thousands(api.requests),
        api.retries,
        api.rate_limited,
        api.token_requests,
        thousands(pages)
    ));
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
        let rows = self
            .tables
            .iter()
            .map(|(table, t)| (table.as_str(), t.rows));
        push_rows_and_api(&mut s, rows, &st.api, st.pages);
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
        let mut log = ManifestLog::list(output).await?;
        // Each read stops at a manifest it cannot read; the next one fails on it.
        while log.read.len() < log.runs.len() {
            log.read_older(usize::MAX).await?;
        }
        let mut all = log.read;
        all.reverse();
        Ok(all)
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

/// The committed runs' manifests, read newest first and only as far as a caller looks.
///
/// A nightly job commits a run a day, so an output root a year old holds hundreds of
/// manifests; `rebuild` of recent days needs the few newest, and reading them all cost a
/// GET each (one after the other on S3) and their parse before the first page was read.
/// Manifests are read a window at a time, concurrently, and kept for the next question.
pub struct ManifestLog<'o> {
    output: &'o crate::sink::Output,
    /// The run id of every manifest, oldest first (run ids sort by their start).
    runs: Vec<String>,
    /// The manifests read so far, newest first: `read[i]` is that of `runs[runs.len() - 1 - i]`.
    read: Vec<Manifest>,
    /// Manifests [`ManifestLog::get`] read on their own, beyond those searched.
    single: BTreeMap<String, Manifest>,
}

/// Manifests fetched at once when a search reaches past those already read. A rebuild of
/// recent days is answered by the first window; sixteen GETs at once take about one round
/// trip to S3 instead of sixteen, and a window holds a few MB at most.
const MANIFEST_WINDOW: usize = 16;

impl<'o> ManifestLog<'o> {
    /// Lists the manifests under `output` (one LIST; no manifest is read yet).
    pub async fn list(output: &'o crate::sink::Output) -> crate::Result<ManifestLog<'o>> {
        use futures::TryStreamExt;
        use object_store::ObjectStore;
        let prefix = object_store::path::Path::from(MANIFEST_DIR);
        let listed: Vec<_> = output
            .store
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|e| crate::Error::storage(format!("{}/{MANIFEST_DIR}", output.url), e))?;
        // Only `_manifests/<run_id>.json`: a file in a folder below is no run's manifest
        // (`Manifest::path` could not name it), nor are the `.sql` and `.steps.jsonl` beside.
        let mut runs: Vec<String> = listed
            .iter()
            .filter(|m| m.location.parts().count() == 2)
            .filter_map(|m| m.location.filename()?.strip_suffix(".json"))
            .map(str::to_string)
            .collect();
        runs.sort();
        Ok(ManifestLog {
            output,
            runs,
            read: Vec::new(),
            single: BTreeMap::new(),
        })
    }

    /// The first answer `f` gives, asking the manifests newest first: those read before, then
    /// older ones, read as needed. `None` when no manifest answers.
    pub async fn newest<T>(
        &mut self,
        mut f: impl FnMut(&Manifest) -> Option<T>,
    ) -> crate::Result<Option<T>> {
        let mut at = 0;
        loop {
            if let Some(found) = self.read[at..].iter().find_map(&mut f) {
                return Ok(Some(found));
            }
            at = self.read.len();
            if self.read_older(MANIFEST_WINDOW).await? == 0 {
                return Ok(None);
            }
        }
    }

    /// The manifest of `run_id`, if it has one: as a search read it, or read now on its own
    /// (so that a damaged newer manifest does not fail it).
    pub async fn get(&mut self, run_id: &str) -> crate::Result<Option<&Manifest>> {
        let Ok(from_oldest) = self.runs.binary_search_by(|r| r.as_str().cmp(run_id)) else {
            return Ok(None);
        };
        let at = self.runs.len() - 1 - from_oldest;
        if at < self.read.len() {
            return Ok(Some(&self.read[at]));
        }
        if !self.single.contains_key(run_id) {
            let m = read_one(self.output, run_id).await?;
            self.single.insert(run_id.to_string(), m);
        }
        Ok(self.single.get(run_id))
    }

    /// Reads up to `n` manifests older than those read so far, concurrently; how many it read.
    /// One that cannot be read fails only the read that reaches it: those newer than it in
    /// the same window are kept, and a search answered by them never sees the failure.
    async fn read_older(&mut self, n: usize) -> crate::Result<usize> {
        use futures::StreamExt;
        let (before, unread) = (self.read.len(), self.runs.len() - self.read.len());
        let batch: Vec<&String> = self.runs[..unread].iter().rev().take(n).collect();
        let output = self.output;
        let mut reads = futures::stream::iter(batch)
            .map(|run| read_one(output, run))
            .buffered(MANIFEST_WINDOW);
        while let Some(m) = reads.next().await {
            match m {
                Ok(m) => self.read.push(m),
                Err(e) if self.read.len() == before => return Err(e),
                // The reads after it are dropped unfinished.
                Err(_) => break,
            }
        }
        Ok(self.read.len() - before)
    }
}

/// The manifest of `run_id` under `output`.
async fn read_one(output: &crate::sink::Output, run_id: &str) -> crate::Result<Manifest> {
    let path = Manifest::path(run_id);
    let bytes = output.get(&path).await?;
    serde_json::from_slice(&bytes).map_err(|e| crate::Error::Storage {
        location: format!("{}/{path}", output.url),
        message: format!("not a manifest: {e}"),
    })
}

/// A manifest of conversations for tests: the given run, partitions and files, its range
/// from the first partition's start to the last one's end, and nothing else.
#[cfg(test)]
impl Manifest {
    pub(crate) fn for_test(
        run_id: &str,
        partitions: Vec<Partition>,
        files: Vec<FileWritten>,
    ) -> Manifest {
        Manifest {
            manifest_version: MANIFEST_VERSION,
            run_id: run_id.into(),
            tool: Tool {
                name: "genesys-loader".into(),
                version: "0".into(),
            },
            started_at: String::new(),
            finished_at: String::new(),
            datasets: vec!["conversations".into()],
            range: RangeInfo {
                from: partitions
                    .first()
                    .map_or_else(String::new, |p| p.from.clone()),
                to: partitions.last().map_or_else(String::new, |p| p.to.clone()),
            },
            partitions,
            snapshots: Vec::new(),
            tables: Default::default(),
            files,
            stage: "genesys_stage".into(),
            snowflake: SnowflakeTarget::default(),
            load_script: String::new(),
            load_steps: String::new(),
            source: SourceInfo {
                api_url: String::new(),
                data_availability: None,
                raw_runs: Vec::new(),
            },
            divisions: DivisionReport::default(),
            quarantine_files: Vec::new(),
            stats: Default::default(),
        }
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

    /// A committed run `run_id` that loaded `day` of conversations.
    fn committed(run_id: &str, day: &str) -> Manifest {
        let partition = Partition {
            dataset: "conversations".into(),
            column: "conversation_date".into(),
            value: day.into(),
            from: format!("{day}T00:00:00Z"),
            to: format!("{day}T23:59:59Z"),
            full_day: true,
            method: "job".into(),
            keep: None,
        };
        Manifest::for_test(run_id, vec![partition], Vec::new())
    }

    /// A search reads manifests newest first and stops where it is answered: a damaged
    /// manifest older than the answer is never read (`read_all`, which reads everything,
    /// names it), and a run read once is not read again.
    #[tokio::test]
    async fn the_log_reads_manifests_newest_first_and_only_as_far_as_asked() {
        let dir = tempfile::tempdir().unwrap();
        let out = crate::sink::Output::open(dir.path().to_str().unwrap()).unwrap();
        let runs: Vec<String> = (0..40)
            .map(|i| format!("20261101T0000{i:02}Z-run"))
            .collect();
        let day = |i: usize| format!("2026-10-{:02}", i % 20 + 1);
        for (i, run) in runs.iter().enumerate() {
            let m = serde_json::to_vec(&committed(run, &day(i))).unwrap();
            out.put(&Manifest::path(run), m.into()).await.unwrap();
        }
        out.put(&Manifest::steps_path(&runs[0]), "{}".into())
            .await
            .unwrap();
        out.put(&Manifest::path("20261031T000000Z-damaged"), "{".into())
            .await
            .unwrap();
        // In a folder below: no run's manifest (and not JSON of one either).
        out.put("_manifests/archive/20261201T000000Z-old.json", "{}".into())
            .await
            .unwrap();

        let mut log = ManifestLog::list(&out).await.unwrap();
        assert_eq!(log.runs.len(), 41, "only _manifests/*.json are manifests");
        let loaded = |d: String| {
            move |m: &Manifest| {
                m.partitions
                    .iter()
                    .any(|p| p.value == d)
                    .then(|| m.run_id.clone())
            }
        };
        // Days 2026-10-01..20 were loaded twice; the newer run answers, within one window.
        assert_eq!(
            log.newest(loaded(day(39))).await.unwrap(),
            Some(runs[39].clone())
        );
        assert_eq!(log.read.len(), MANIFEST_WINDOW);
        assert_eq!(
            log.newest(loaded(day(25))).await.unwrap(),
            Some(runs[25].clone())
        );
        assert_eq!(log.read.len(), MANIFEST_WINDOW);
        // A run no search reached is read on its own; the searches' reads stay as they were.
        let old = log.get(&runs[3]).await.unwrap().unwrap().run_id.clone();
        assert_eq!(old, runs[3]);
        assert_eq!(log.read.len(), MANIFEST_WINDOW);
        assert!(log.get("20261101T000000Z-none").await.unwrap().is_none());
        // A day nobody loaded reads everything, and so reaches the damaged manifest.
        let Err(err) = log.newest(loaded("2026-09-30".into())).await else {
            panic!("the damaged manifest was not reported");
        };
        assert!(
            err.to_string().contains("20261031T000000Z-damaged.json"),
            "{err}"
        );
        assert_eq!(
            log.read.len(),
            40,
            "every manifest newer than the damaged one"
        );

        let Err(err) = Manifest::read_all(&out).await else {
            panic!("read_all read past the damaged manifest");
        };
        assert!(err.to_string().contains("not a manifest"), "{err}");
        std::fs::remove_file(dir.path().join(Manifest::path("20261031T000000Z-damaged"))).unwrap();
        let all = Manifest::read_all(&out).await.unwrap();
        let ids: Vec<&str> = all.iter().map(|m| m.run_id.as_str()).collect();
        assert_eq!(
            ids,
            runs.iter().map(String::as_str).collect::<Vec<_>>(),
            "oldest first"
        );
        let mut log = ManifestLog::list(&out).await.unwrap();
        assert_eq!(log.newest(loaded("2026-09-30".into())).await.unwrap(), None);
        assert_eq!(log.read.len(), 40);
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
