//! `extract` and `rebuild`: plan → fetch (or read raw pages) → decode → write → commit, the same
//! path for every dataset (see [`crate::datasets`]; this module names none).
//!
//! Each dataset turns the range into chunks; chunks run a few at a time under one API client
//! (one token, one request budget). Within a chunk, the dataset's fetcher streams pages into a
//! bounded channel; the [`ChunkSink`] parses each page on the blocking pool (item by item),
//! lets the dataset admit each item as rows (dropping repeats and items that belong to another
//! chunk), appends them to the Arrow builders of the dataset's tables, and streams
//! the batches into one Parquet writer per table. A finished chunk is checkpointed (see
//! [`crate::state`]), so a killed run started again does only what is left; a dataset that
//! fails is reported by name while the others finish their chunks. When every chunk is done
//! the run writes its load script, then its manifest: the manifest is the commit point, so a
//! failed run leaves nothing a load would read.

mod chunk;
mod commit;
pub mod dry_run;
pub mod fanout;
mod rebuild;
mod schedule;

use chunk::{ChunkSink, ChunkTask};
pub use chunk::{Decoded, decode_page};
use commit::{Commit, commit};
pub use rebuild::rebuild;

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::datasets::{self, Admitted, Chunk, Dataset, LoadMode, Options, RunContext};
use crate::decode::TreeDecoder;
use crate::error::{Error, Result};
use crate::genesys::allowlist::Allowlist;
use crate::genesys::paging::{self, Page};
use crate::genesys::{ApiConfig, ApiStats, access};
use crate::plan::{Range, day_chunks, fmt};
use crate::schema::{Catalog, TableKind, TableSchema};
use crate::sink::{Output, PartitionWriter, WriterSettings, raw};
use crate::snowflake::manifest::{
    self, DivisionReport, DivisionScope, Manifest, Partition, RangeInfo, RunStats, Snapshot,
    SnowflakeTarget, SourceInfo, TableTotals, Tool,
};
use crate::snowflake::{load, steps};
use crate::state::{ChunkOutcome, RunState, run_key};

/// Where records that cannot be decoded are kept: `_quarantine/<run_id>/<dataset>/...`.
pub const QUARANTINE_DIR: &str = "_quarantine";

/// Pages buffered between fetch and decode, per chunk (a job page is about 5 MB of JSON; one
/// more is being decoded and one written).
const PAGE_BUFFER: usize = 2;

/// File sequence numbers reserved per attempt (see [`RunState::attempt`]).
const SEQ_PER_ATTEMPT: u32 = 10_000;

/// Everything `extract` needs, validated.
#[derive(Debug, Clone)]
pub struct ExtractConfig {
    /// Dataset or group names (`conversations`, `dimensions`, `all`).
    pub datasets: Vec<String>,
    pub range: Range,
    pub output: Output,
    pub api: ApiConfig,
    pub stage: String,
    /// Database and schema the load script qualifies table names with.
    pub snowflake: SnowflakeTarget,
    /// Restrict division-scoped datasets to these divisions (names or ids); empty: all the
    /// client sees.
    pub divisions: Vec<String>,
    /// Let the load script replace days even when the run that last loaded them reached
    /// divisions this run does not (`--allow-coverage-shrink`).
    pub allow_coverage_shrink: bool,
    /// Chunks fetched at once (default 2: analytics limits concurrent jobs per client).
    pub concurrency: usize,
    /// Per-dataset settings (paging, granularity, grouping).
    pub options: Options,
    pub writer: WriterSettings,
    /// Keep every API page, compressed, under `<out>/_raw/` for `rebuild`.
    pub keep_raw: bool,
    /// Ignore the checkpoints of an interrupted run and redo everything.
    pub force: bool,
    /// Records that cannot be decoded the run tolerates (quarantined, exit code 10); more
    /// fail it.
    pub max_quarantined: u64,
}

/// Everything `rebuild` needs: the tables are re-derived from raw pages, with no API call.
#[derive(Debug, Clone)]
pub struct RebuildConfig {
    /// Fact datasets to rebuild (default `conversations`).
    pub datasets: Vec<String>,
    pub range: Range,
    pub output: Output,
    pub stage: String,
    pub snowflake: SnowflakeTarget,
    pub concurrency: usize,
    pub writer: WriterSettings,
    /// As [`ExtractConfig::max_quarantined`].
    pub max_quarantined: u64,
}

/// What a finished run reports.
#[derive(Debug)]
pub struct RunSummary {
    pub manifest: Manifest,
    pub manifest_url: String,
    pub script_url: String,
}

/// `20261124T131605Z-7a3e204a`: the UTC start, then 32 bits whose top 10 are the start's
/// milliseconds and the rest random. Ids therefore sort by start time to the millisecond, which
/// the load scripts' order guard relies on, and two runs do not collide.
pub fn new_run_id(now: DateTime<Utc>) -> String {
    let millis = now.timestamp_subsec_millis().min(999);
    let suffix = (millis << 22) | (fastrand::u32(..) & 0x003F_FFFF);
    format!("{}-{suffix:08x}", now.format("%Y%m%dT%H%M%SZ"))
}

pub async fn extract(cfg: ExtractConfig) -> Result<RunSummary> {
    let clock = Instant::now();
    let datasets = datasets::resolve("--dataset", &cfg.datasets)?;
    let names: Vec<String> = datasets.iter().map(|d| d.spec().name.to_string()).collect();
    // What the run writes: a resume must be the same run, so anything that changes the rows,
    // or whether raw pages are kept, is part of the key.
    let key = run_key(&[
        &names.join(","),
        &fmt(cfg.range.from),
        &fmt(cfg.range.to),
        &cfg.divisions.join(","),
        &format!("keep_raw={}", cfg.keep_raw),
        &cfg.options.fingerprint(),
    ]);
    let state = RunState::begin(
        &cfg.output,
        &key,
        cfg.force,
        new_run_id(Utc::now()),
        Utc::now(),
    )
    .await?;
    let span = tracing::info_span!("run", run_id = %state.run_id);
    // An earlier attempt of this run that died after writing its manifest (the commit) but
    // before clearing its state: the run is done. Finish it; never rewrite the manifest.
    let manifest_path = Manifest::path(&state.run_id);
    if cfg.output.exists(&manifest_path).await? {
        let manifest: Manifest = serde_json::from_slice(&cfg.output.get(&manifest_path).await?)
            .map_err(|e| Error::Storage {
                location: format!("{}/{manifest_path}", cfg.output.url),
                message: format!("not a manifest: {e}"),
            })?;
        tracing::warn!(run_id = %state.run_id, "this run was already committed by an earlier attempt; clearing its state");
        state.finish().await?;
        return Ok(RunSummary {
            manifest_url: format!("{}/{manifest_path}", cfg.output.url),
            script_url: format!(
                "{}/{}",
                cfg.output.url,
                Manifest::script_path(&manifest.run_id)
            ),
            manifest,
        });
    }
    // A signal stops the run between awaits: finished chunks stay checkpointed, the lock is
    // released, nothing is committed, and the same command resumes.
    let committing = std::sync::atomic::AtomicBool::new(false);
    let result = {
        let work = extract_locked(&cfg, &datasets, &state, clock, &committing).instrument(span);
        tokio::pin!(work);
        tokio::select! {
        r = &mut work => r,
        signal = shutdown_signal() => {
            if committing.load(std::sync::atomic::Ordering::SeqCst) {
                // The commit has begun: let it finish rather than leave it in doubt.
                tracing::warn!(%signal, "stopping once the commit in progress is written");
                work.await
            } else {
                Err(Error::Interrupted(format!(
                    "{signal}: stopped; finished chunks are checkpointed under {}/_state/, and the same command resumes",
                    cfg.output.url
                )))
            }
        }
        }
    };
    match result {
        Ok(summary) => {
            state.finish().await?;
            Ok(summary)
        }
        Err(e) => {
            state.release().await;
            Err(e)
        }
    }
}

use tracing::Instrument;

/// Resolves when the process is asked to stop (SIGTERM from a scheduler, SIGINT from a
/// terminal), naming the signal.
async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            },
            _ => std::future::pending().await,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "interrupt"
    }
}

/// Reads what the client's roles reach for the division-scoped datasets (reported, never
/// guessed), and resolves the divisions the user restricted the run to.
async fn division_scope(
    cfg: &ExtractConfig,
    datasets: &[&'static dyn Dataset],
    client: &crate::genesys::ApiClient,
) -> Result<DivisionReport> {
    let scoped: Vec<&'static dyn Dataset> = datasets
        .iter()
        .copied()
        .filter(|d| d.spec().division_scoped)
        .collect();
    let mut report = DivisionReport {
        allow_coverage_shrink: cfg.allow_coverage_shrink,
        ..DivisionReport::default()
    };
    if scoped.is_empty() && cfg.divisions.is_empty() {
        return Ok(report);
    }
    // Until the roles are read, nothing is known of the reach.
    for d in &scoped {
        report
            .scopes
            .insert(d.spec().name.to_string(), DivisionScope::of(&[], None));
    }
    match access::read(client).await {
        Ok(access) => {
            report.requested = access.resolve_divisions(&cfg.divisions)?;
            for d in &scoped {
                let needs = d.spec().permissions;
                let coverage = access.coverage(needs);
                if coverage.granted == Some(false) {
                    tracing::warn!(dataset = d.spec().name, permission = ?needs, "no role of this client holds the permission this dataset needs");
                }
                if !coverage.missing.is_empty() {
                    let names: Vec<&str> =
                        coverage.missing.iter().map(|d| d.name.as_str()).collect();
                    tracing::warn!(
                        dataset = d.spec().name,
                        missing = ?names,
                        exact = coverage.exact,
                        "the client's roles do not reach these divisions: their rows are silently left out"
                    );
                }
                let scope = DivisionScope::of(&report.requested, Some(&coverage));
                if !scope.unreached.is_empty() && cfg.allow_coverage_shrink {
                    tracing::warn!(
                        dataset = d.spec().name,
                        "--allow-coverage-shrink: the load replaces these days without the divisions above, even where the last load had them"
                    );
                }
                report.scopes.insert(d.spec().name.to_string(), scope);
                // The manifest reports the first division-scoped dataset's coverage (the
                // registry's order puts the detail records first).
                if report.coverage.is_none() {
                    report.coverage = Some(coverage);
                }
            }
        }
        // The coverage report is advisory; only a division filter depends on it.
        Err(e @ (Error::Api { .. } | Error::Payload { .. } | Error::Permission { .. }))
            if cfg.divisions.is_empty() =>
        {
            tracing::warn!(error = %e, "cannot read the client's division coverage; the manifest will not report it");
        }
        Err(e) => return Err(e),
    }
    Ok(report)
}

/// Whether an error stops the whole run rather than one dataset: the output or the lock is
/// broken, or the credentials are.
fn fatal(e: &Error) -> bool {
    matches!(
        e,
        Error::Storage { .. }
            | Error::Locked(_)
            | Error::Auth { .. }
            | Error::Secret { .. }
            | Error::Io { .. }
    )
}

async fn extract_locked(
    cfg: &ExtractConfig,
    datasets: &[&'static dyn Dataset],
    state: &RunState,
    clock: Instant,
    committing: &std::sync::atomic::AtomicBool,
) -> Result<RunSummary> {
    let stats = Arc::new(ApiStats::default());
    let allowlist = Allowlist::new(datasets.iter().flat_map(|d| d.spec().endpoints.iter()));
    crate::progress::global().attach_api(stats.clone());
    let client = cfg.api.connect(stats.clone(), allowlist)?;
    let division_report = division_scope(cfg, datasets, &client).await?;
    let run = RunContext {
        api: client,
        divisions: division_report
            .requested
            .iter()
            .map(|d| d.id.clone())
            .collect(),
        options: cfg.options.clone(),
        // The run's start, kept across resumed attempts: a run resumed after midnight still
        // stamps (and checkpoints) its snapshots with the same date.
        snapshot_date: state.started_at.date_naive(),
        facts: Default::default(),
        jobs: Default::default(),
        done: state.done.keys().cloned().collect(),
    };

    // Plan every dataset; one that cannot be planned fails alone.
    let mut failed: BTreeMap<&'static str, Error> = BTreeMap::new();
    let mut chunks: Vec<(&'static dyn Dataset, Chunk)> = Vec::new();
    for ds in datasets {
        match ds.plan(&run, cfg.range).await {
            Ok(planned) => chunks.extend(planned.into_iter().map(|c| (*ds, c))),
            // Bad input (a range a dataset cannot take) fails before anything is fetched.
            Err(e) if fatal(&e) || matches!(e, Error::Input(_)) => return Err(e),
            Err(e) => {
                failed.insert(ds.spec().name, e);
            }
        }
    }
    crate::progress::global().set_chunks(chunks.len());
    tracing::info!(
        from = %fmt(cfg.range.from),
        to = %fmt(cfg.range.to),
        datasets = ?datasets.iter().map(|d| d.spec().name).collect::<Vec<_>>(),
        chunks = chunks.len(),
        resumed = state.done.len(),
        out = %cfg.output.url,
        "extracting"
    );

    let sink = Arc::new(
        ChunkSink::new(
            &cfg.output,
            &state.run_id,
            state.attempt,
            &cfg.writer,
            cfg.keep_raw,
        )
        .with_max_quarantined(cfg.max_quarantined),
    );
    let failed = Mutex::new(failed);
    // After a fatal error (storage, credentials) no further chunk is started.
    let stop = std::sync::atomic::AtomicBool::new(false);
    // Chunks start in the planned order, each as soon as a slot is free (`schedule`): a chunk
    // that finished no longer holds its slot until a longer one started before it is done, so
    // with two slots or more a dimension listing runs beside a day of recordings.
    let results: Vec<Result<Option<(String, ChunkOutcome)>>> = schedule::in_any_order(
        chunks.iter(),
        cfg.concurrency,
        |(ds, chunk)| {
            let (sink, run, failed, stop) = (sink.clone(), &run, &failed, &stop);
            async move {
                let key = chunk.key();
                if let Some(done) = state.done.get(&key) {
                    tracing::info!(chunk = %key, "chunk already done by the interrupted run; kept");
                    crate::progress::global().chunk_done(done);
                    return Ok(Some((ds.spec().name.to_string(), done.clone())));
                }
                if stop.load(std::sync::atomic::Ordering::Relaxed)
                    || failed.lock().expect("failed").contains_key(ds.spec().name)
                {
                    return Ok(None);
                }
                match sink.fetch_chunk(*ds, run, chunk).await {
                    Ok(outcome) => {
                        // A checkpoint that cannot be written is a storage error: fatal too.
                        if let Err(e) = state.checkpoint(&key, &outcome).await {
                            stop.store(true, std::sync::atomic::Ordering::Relaxed);
                            return Err(e);
                        }
                        crate::progress::global().chunk_done(&outcome);
                        Ok(Some((ds.spec().name.to_string(), outcome)))
                    }
                    Err(e) if fatal(&e) => {
                        stop.store(true, std::sync::atomic::Ordering::Relaxed);
                        Err(e)
                    }
                    Err(e) => {
                        tracing::error!(dataset = ds.spec().name, chunk = %key, error = %e, "chunk failed; the dataset's chunks not yet started are skipped");
                        failed.lock().expect("failed").entry(ds.spec().name).or_insert(e);
                        Ok(None)
                    }
                }
            }
        },
    )
    .await;
    let mut outcomes = Vec::new();
    for r in results {
        outcomes.extend(r?);
    }
    let mut failed = failed.into_inner().expect("failed");
    if !failed.is_empty() {
        let ok: Vec<&str> = datasets
            .iter()
            .map(|d| d.spec().name)
            .filter(|n| !failed.contains_key(n))
            .collect();
        for (name, e) in &failed {
            tracing::error!(
                dataset = name,
                exit_code = e.exit_code(),
                "dataset failed: {e}"
            );
        }
        if !ok.is_empty() {
            tracing::warn!(
                done = ?ok,
                "nothing was committed; the finished chunks are checkpointed and a rerun of the same command redoes only what failed"
            );
        }
        let (first, e) = failed.pop_first().expect("a failure");
        return Err(if failed.is_empty() {
            e
        } else {
            with_context(
                e,
                &format!(
                    "{first} failed, and so did {}",
                    failed.keys().copied().collect::<Vec<_>>().join(", ")
                ),
            )
        });
    }

    check_quarantine(&cfg.output, &state.run_id, &outcomes, cfg.max_quarantined)?;
    // The outcomes are in the chunks' order (`in_any_order` keeps it), one per chunk: a chunk
    // gives none only when the run stopped or its dataset failed, and both returned above.
    debug_assert_eq!(outcomes.len(), chunks.len());
    let outcome_of: BTreeMap<String, &(String, ChunkOutcome)> = chunks
        .iter()
        .map(|(_, c)| c.key())
        .zip(outcomes.iter())
        .collect();
    let mut partitions = Vec::new();
    let mut snapshots = Vec::new();
    for (ds, c) in &chunks {
        let (p, s) = load_units(*ds, c, outcome_of.get(&c.key()).map(|(_, o)| o));
        partitions.extend(p);
        snapshots.extend(s);
    }
    let availability = run
        .facts
        .lock()
        .expect("facts")
        .get("data_availability")
        .cloned();
    committing.store(true, std::sync::atomic::Ordering::SeqCst);
    commit(Commit {
        output: &cfg.output,
        run_id: &state.run_id,
        started_at: state.started_at,
        datasets: datasets.iter().map(|d| d.spec().name.to_string()).collect(),
        range: cfg.range,
        partitions,
        snapshots,
        outcomes,
        stage: &cfg.stage,
        snowflake: &cfg.snowflake,
        source: SourceInfo {
            api_url: cfg.api.api_url.clone(),
            data_availability: availability,
            raw_runs: Vec::new(),
        },
        divisions: division_report,
        api: stats.snapshot(),
        seconds: clock.elapsed().as_secs_f64(),
        write_budget: Some(&cfg.writer.budget),
    })
    .await
}

/// What a chunk adds to the load: the fact partition it replaces (keeping the rows of records
/// it quarantined), or the dimension snapshots it merges.
fn load_units(
    ds: &dyn Dataset,
    c: &Chunk,
    outcome: Option<&ChunkOutcome>,
) -> (Option<Partition>, Vec<Snapshot>) {
    match ds.spec().load {
        LoadMode::ReplacePartitions => {
            let mut p = partition(ds, c);
            if let Some(o) = outcome {
                p.keep = keep_of(ds, &o.kept_keys);
            }
            (Some(p), Vec::new())
        }
        LoadMode::MergeByKey => (
            None,
            datasets::tables(ds)
                .iter()
                .map(|t| Snapshot {
                    table: t.table.clone(),
                    column: t.partition_column.clone(),
                    value: c.partition.to_string(),
                })
                .collect(),
        ),
    }
}

/// Fails the run when more records could not be decoded than it tolerates; they stay under
/// `_quarantine/` for inspection, named by no manifest.
fn check_quarantine(
    output: &Output,
    run_id: &str,
    outcomes: &[(String, ChunkOutcome)],
    max: u64,
) -> Result<()> {
    let total: u64 = outcomes
        .iter()
        .flat_map(|(_, o)| o.quarantined.values())
        .sum();
    if total <= max {
        return Ok(());
    }
    let sample = outcomes
        .iter()
        .find_map(|(_, o)| o.quarantine_sample.clone())
        .unwrap_or_default();
    let reason = serde_json::from_str::<Value>(&sample)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_string))
        .unwrap_or_default();
    Err(Error::Payload {
        path: format!("{}/{QUARANTINE_DIR}/{run_id}/", output.url),
        message: format!(
            "{total} record(s) could not be decoded, more than --max-quarantined {max}; they are kept there. The first: {reason}"
        ),
    })
}

/// The same error with more said first.
fn with_context(e: Error, context: &str) -> Error {
    match e {
        Error::Api {
            method,
            path,
            status,
            message,
        } => Error::Api {
            method,
            path,
            status,
            message: format!("{context}: {message}"),
        },
        Error::Permission {
            method,
            path,
            message,
        } => Error::Permission {
            method,
            path,
            message: format!("{context}: {message}"),
        },
        Error::Payload { path, message } => Error::Payload {
            path,
            message: format!("{context}: {message}"),
        },
        Error::Input(m) => Error::Input(format!("{context}: {m}")),
        other => other,
    }
}

/// A dataset's root table (the first of its tables).
fn root_table(ds: &dyn Dataset) -> Result<Arc<TableSchema>> {
    datasets::tables(ds)
        .into_iter()
        .next()
        .ok_or_else(|| Error::Schema {
            table: ds.spec().name.to_string(),
            message: "the dataset declares no table".into(),
        })
}

/// The rows a partition's load must keep: those of records this run quarantined.
fn keep_of(ds: &dyn Dataset, keys: &[String]) -> Option<manifest::KeptKeys> {
    if keys.is_empty() {
        return None;
    }
    let root = datasets::tables(ds).into_iter().next()?;
    let mut values = keys.to_vec();
    values.sort();
    values.dedup();
    Some(manifest::KeptKeys {
        column: root.primary_key.first()?.clone(),
        values,
    })
}

fn partition(ds: &dyn Dataset, c: &Chunk) -> Partition {
    let column = datasets::tables(ds)
        .first()
        .map_or_else(String::new, |t| t.partition_column.clone());
    Partition {
        dataset: ds.spec().name.to_string(),
        column,
        value: c.partition.to_string(),
        from: fmt(c.start),
        to: fmt(c.end),
        full_day: c.full_day(),
        method: c.method.into(),
        keep: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_sort_by_start_time_within_a_second() {
        let t0 = DateTime::parse_from_rfc3339("2026-11-24T13:16:05.001Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut ids: Vec<String> = (0..50)
            .map(|i| new_run_id(t0 + chrono::Duration::milliseconds(i * 19)))
            .collect();
        let in_start_order = ids.clone();
        ids.sort();
        assert_eq!(ids, in_start_order);
        assert!(
            ids.iter()
                .all(|id| id.len() == "20261124T131605Z-7a3e204a".len())
        );
    }
}
