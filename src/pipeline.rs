//! `extract` and `rebuild`: plan → fetch (or read raw pages) → decode → write → commit, the same
//! path for every dataset (see [`crate::datasets`]; this module names none).
//!
//! Each dataset turns the range into chunks; chunks run a few at a time under one API client
//! (one token, one request budget). Within a chunk, the dataset's fetcher streams pages into a
//! bounded channel; the [`ChunkSink`] parses each page on the blocking pool (items in parallel
//! with rayon), lets the dataset admit each item as rows (dropping repeats and items that belong
//! to another chunk), appends them to the Arrow builders of the dataset's tables, and streams
//! the batches into one Parquet writer per table. A finished chunk is checkpointed (see
//! [`crate::state`]), so a killed run started again does only what is left; a dataset that
//! fails is reported by name while the others finish their chunks. When every chunk is done
//! the run writes its load script, then its manifest: the manifest is the commit point, so a
//! failed run leaves nothing a load would read.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use futures::StreamExt;
use rayon::prelude::*;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::datasets::{self, Admission, Chunk, Dataset, LoadMode, Options, RunContext};
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

/// Pages buffered between fetch and decode, per chunk.
const PAGE_BUFFER: usize = 4;

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
    let results: Vec<Result<Option<(String, ChunkOutcome)>>> = futures::stream::iter(chunks.iter())
        .map(|(ds, chunk)| {
            let (sink, run, failed, stop) = (sink.clone(), &run, &failed, &stop);
            async move {
                let key = chunk.key();
                if let Some(done) = state.done.get(&key) {
                    tracing::info!(chunk = %key, "chunk already done by the interrupted run; kept");
                    return Ok(Some((ds.spec().name.to_string(), done.clone())));
                }
                if stop.load(std::sync::atomic::Ordering::Relaxed)
                    || failed.lock().expect("failed").contains_key(ds.spec().name)
                {
                    return Ok(None);
                }
                match sink.fetch_chunk(*ds, run, chunk).await {
                    Ok(outcome) => {
                        state.checkpoint(&key, &outcome).await?;
                        Ok(Some((ds.spec().name.to_string(), outcome)))
                    }
                    Err(e) if fatal(&e) => {
                        stop.store(true, std::sync::atomic::Ordering::Relaxed);
                        Err(e)
                    }
                    Err(e) => {
                        tracing::error!(dataset = ds.spec().name, chunk = %key, error = %e, "chunk failed; the dataset's other chunks are skipped");
                        failed.lock().expect("failed").entry(ds.spec().name).or_insert(e);
                        Ok(None)
                    }
                }
            }
        })
        .buffered(cfg.concurrency.max(1))
        .collect()
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
    // `buffered` keeps the chunks' order, and a run with a failure stopped above.
    let outcome_of: BTreeMap<String, &(String, ChunkOutcome)> = chunks
        .iter()
        .map(|(_, c)| c.key())
        .zip(outcomes.iter())
        .collect();
    let mut partitions = Vec::new();
    let mut snapshots = Vec::new();
    for (ds, c) in &chunks {
        match ds.spec().load {
            LoadMode::ReplacePartitions => {
                let mut p = partition(*ds, c);
                if let Some((_, o)) = outcome_of.get(&c.key()) {
                    p.keep = keep_of(*ds, &o.kept_keys);
                }
                partitions.push(p);
            }
            LoadMode::MergeByKey => {
                snapshots.extend(datasets::tables(*ds).iter().map(|t| Snapshot {
                    table: t.table.clone(),
                    column: t.partition_column.clone(),
                    value: c.partition.to_string(),
                }))
            }
        }
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
        clock,
    })
    .await
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

/// Re-derives the tables of fact datasets over `range` from the raw zone, with no API call:
/// the pages of the latest run that kept them, for each day.
pub async fn rebuild(cfg: RebuildConfig) -> Result<RunSummary> {
    let clock = Instant::now();
    let started = Utc::now();
    let run_id = new_run_id(started);
    let span = tracing::info_span!("rebuild", run_id = %run_id);
    rebuild_inner(cfg, run_id, started, clock)
        .instrument(span)
        .await
}

async fn rebuild_inner(
    cfg: RebuildConfig,
    run_id: String,
    started: DateTime<Utc>,
    clock: Instant,
) -> Result<RunSummary> {
    let datasets = datasets::resolve("--dataset", &cfg.datasets)?;
    // Only committed runs are trusted: pages of a run that was killed or failed (no manifest)
    // or that covered part of a day would replace good rows with fewer.
    let committed = Manifest::read_all(&cfg.output).await?;
    // Every day must have such pages, or the rebuild would replace a partition with nothing.
    let mut sources = Vec::new();
    let mut chunks = Vec::new();
    for ds in &datasets {
        if ds.spec().load != LoadMode::ReplacePartitions {
            return Err(Error::Input(format!(
                "rebuild re-derives partitioned datasets; {} is a snapshot, extract it again instead",
                ds.spec().name
            )));
        }
        let column = root_table(*ds)?.partition_column.clone();
        for c in day_chunks(cfg.range, ds.spec().name, |_, _| "raw") {
            let day = c.partition.to_string();
            let mut runs = raw::pages_by_run(&cfg.output, ds.spec().name, &column, &day).await?;
            // The newest committed extraction that loaded the day is what the warehouse holds;
            // rebuilding from anything older would load older rows over it. (Rebuilds are
            // passed over: they hold no pages of their own.)
            let newest = committed.iter().rev().find_map(|m| {
                m.partitions
                    .iter()
                    .find(|p| p.dataset == ds.spec().name && p.value == day && p.method != "raw")
                    .map(|p| (m.run_id.clone(), p.full_day))
            });
            let refuse = |why: String| {
                Error::Input(format!(
                    "no raw pages for {day} of a committed run that covered the whole day, under {}/{}: {why}; extract that day with --keep-raw first",
                    cfg.output.url,
                    raw::day_dir(ds.spec().name, &column, &day)
                ))
            };
            let run = match newest {
                None => return Err(refuse("no committed run loaded it".into())),
                Some((run, false)) => {
                    return Err(refuse(format!(
                        "the newest run that loaded it, {run}, covered part of the day"
                    )));
                }
                Some((run, true)) => run,
            };
            let Some(pages) = runs.remove(&run) else {
                return Err(refuse(format!(
                    "the newest run that loaded it, {run}, kept no raw pages"
                )));
            };
            let ignored: Vec<&String> = runs.keys().filter(|r| **r > run).collect();
            if !ignored.is_empty() {
                tracing::warn!(%day, used = %run, ignored = ?ignored, "newer raw pages of runs that did not commit are not used");
            }
            // A resumed run's day may hold pages of an attempt that died before finishing it;
            // the attempt that finished the day is the last one that wrote pages for it.
            let attempt = |p: &String| raw::page_seq(p).map(|s| s / u64::from(SEQ_PER_ATTEMPT));
            let last = pages.iter().filter_map(attempt).max();
            let pages: Vec<String> = pages.into_iter().filter(|p| attempt(p) == last).collect();
            sources.push((*ds, c.clone(), run, pages));
            chunks.push((*ds, c));
        }
    }
    let divisions = rebuilt_scope(&cfg.output, &sources).await?;
    let sink = Arc::new(
        ChunkSink::new(&cfg.output, &run_id, 0, &cfg.writer, false)
            .with_max_quarantined(cfg.max_quarantined),
    );
    let results: Vec<Result<(String, ChunkOutcome)>> = futures::stream::iter(sources.iter())
        .map(|(ds, chunk, _, pages)| {
            let (sink, output) = (sink.clone(), cfg.output.clone());
            async move {
                let (tx, rx) = mpsc::channel::<Page>(PAGE_BUFFER);
                let field = ds.spec().items_field;
                let read = async move {
                    let mut n = 0u64;
                    for path in pages {
                        let data = output.get(path).await?;
                        let loc = format!("{}/{path}", output.url);
                        let body =
                            tokio::task::spawn_blocking(move || raw::decompress(&loc, &data))
                                .await
                                .map_err(|e| Error::Storage {
                                    location: path.clone(),
                                    message: e.to_string(),
                                })??;
                        let body = Bytes::from(body);
                        let items = paging::items(path, &body, field)?;
                        n += paging::send(&tx, items, &body).await?;
                    }
                    Ok::<u64, Error>(n)
                };
                let (read, outcome) = tokio::join!(read, sink.clone().consume(*ds, chunk, rx));
                let mut outcome = outcome?;
                outcome.pages = read?;
                Ok::<_, Error>((ds.spec().name.to_string(), outcome))
            }
        })
        .buffered(cfg.concurrency.max(1))
        .collect()
        .await;
    let outcomes = results.into_iter().collect::<Result<Vec<_>>>()?;
    check_quarantine(&cfg.output, &run_id, &outcomes, cfg.max_quarantined)?;
    let mut raw_runs: Vec<String> = sources.iter().map(|(_, _, r, _)| r.clone()).collect();
    raw_runs.sort();
    raw_runs.dedup();
    commit(Commit {
        output: &cfg.output,
        run_id: &run_id,
        started_at: started,
        datasets: datasets.iter().map(|d| d.spec().name.to_string()).collect(),
        range: cfg.range,
        partitions: chunks.iter().map(|(ds, c)| partition(*ds, c)).collect(),
        snapshots: Vec::new(),
        outcomes,
        stage: &cfg.stage,
        snowflake: &cfg.snowflake,
        source: SourceInfo {
            api_url: String::new(),
            data_availability: None,
            raw_runs,
        },
        divisions,
        api: Default::default(),
        clock,
    })
    .await
}

/// The division scope of rebuilt days: that of the runs whose raw pages they are re-derived
/// from (their manifests say it), which must agree per dataset. A rebuild replaces no more
/// than those runs extracted.
async fn rebuilt_scope(
    output: &Output,
    sources: &[(&'static dyn Dataset, Chunk, String, Vec<String>)],
) -> Result<DivisionReport> {
    let mut report = DivisionReport::default();
    let mut read: BTreeMap<&str, Manifest> = BTreeMap::new();
    for (ds, chunk, run, _) in sources {
        if !ds.spec().division_scoped {
            continue;
        }
        if !read.contains_key(run.as_str()) {
            let path = Manifest::path(run);
            let bytes = output.get(&path).await.map_err(|e| {
                Error::Input(format!(
                    "the raw pages of {} for {} come from run {run}, whose manifest cannot be read ({e}): which divisions they hold is unknown, so rebuilding them could replace other divisions' rows",
                    ds.spec().name,
                    chunk.partition
                ))
            })?;
            let m: Manifest = serde_json::from_slice(&bytes).map_err(|e| Error::Payload {
                path: format!("{}/{path}", output.url),
                message: e.to_string(),
            })?;
            read.insert(run, m);
        }
        let source = &read[run.as_str()].divisions;
        // Manifests written before scopes were recorded: the same rule from what they report.
        let scope = source
            .scopes
            .get(ds.spec().name)
            .cloned()
            .unwrap_or_else(|| DivisionScope::of(&source.requested, source.coverage.as_ref()));
        match report.scopes.get(ds.spec().name) {
            Some(seen) if *seen != scope => {
                return Err(Error::Input(format!(
                    "the raw pages of {} in this range come from runs that extracted different divisions (run {run}, for {}, differs); rebuild those days separately",
                    ds.spec().name,
                    chunk.partition
                )));
            }
            Some(_) => {}
            None => {
                report.scopes.insert(ds.spec().name.to_string(), scope);
            }
        }
        for d in &source.requested {
            if !report.requested.contains(d) {
                report.requested.push(d.clone());
            }
        }
        if report.coverage.is_none() {
            report.coverage = source.coverage.clone();
        }
        report.allow_coverage_shrink |= source.allow_coverage_shrink;
    }
    Ok(report)
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

/// Everything the commit step needs.
struct Commit<'a> {
    output: &'a Output,
    run_id: &'a str,
    started_at: DateTime<Utc>,
    datasets: Vec<String>,
    range: Range,
    partitions: Vec<Partition>,
    snapshots: Vec<Snapshot>,
    /// Each chunk's outcome, with its dataset's name.
    outcomes: Vec<(String, ChunkOutcome)>,
    stage: &'a str,
    snowflake: &'a SnowflakeTarget,
    source: SourceInfo,
    divisions: DivisionReport,
    api: crate::genesys::stats::ApiStatsSnapshot,
    clock: Instant,
}

/// Totals, the load script, then the manifest, written last.
async fn commit(c: Commit<'_>) -> Result<RunSummary> {
    let run_tables: Vec<Arc<TableSchema>> = c
        .datasets
        .iter()
        .flat_map(|d| Catalog::builtin().dataset_tables(d))
        .collect();
    let mut tables: BTreeMap<String, TableTotals> = run_tables
        .iter()
        .map(|t| {
            let kind = match t.kind {
                TableKind::Fact => "fact",
                TableKind::Dimension => "dimension",
            };
            (
                t.table.clone(),
                TableTotals {
                    kind: kind.into(),
                    schema_version: t.version,
                    ..Default::default()
                },
            )
        })
        .collect();
    let mut files = Vec::new();
    let mut quarantine_files = Vec::new();
    let mut stats = RunStats {
        api: c.api,
        ..Default::default()
    };
    for (dataset, o) in c.outcomes {
        *stats.records.entry(dataset.clone()).or_default() += o.records;
        if datasets::get(&dataset).is_some_and(|d| d.spec().headline) {
            stats.conversations += o.records;
        }
        stats.pages += o.pages;
        stats.duplicates_dropped += o.duplicates;
        stats.outside_range_dropped += o.outside;
        for (table, n) in &o.quarantined {
            stats.quarantined += n;
            if let Some(t) = tables.get_mut(table) {
                t.quarantined += n;
            }
        }
        quarantine_files.extend(o.quarantine_files.iter().cloned());
        for (key, n) in o.unknown {
            let (table, field) = key.split_once('.').unwrap_or((key.as_str(), ""));
            if let Some(t) = tables.get_mut(table) {
                *t.unknown_fields.entry(field.to_string()).or_default() += n;
            }
        }
        for f in o.files {
            let t = tables.entry(f.table.clone()).or_default();
            t.rows += f.rows;
            t.files += 1;
            t.bytes += f.bytes;
            files.push(f);
        }
    }
    files.sort_by(|a, b| (&a.table, &a.path).cmp(&(&b.table, &b.path)));
    stats.seconds = (c.clock.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
    let mut manifest = Manifest {
        manifest_version: manifest::MANIFEST_VERSION,
        run_id: c.run_id.to_string(),
        tool: Tool {
            name: "genesys-loader".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        started_at: c.started_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        finished_at: String::new(),
        datasets: c.datasets,
        range: RangeInfo {
            from: fmt(c.range.from),
            to: fmt(c.range.to),
        },
        partitions: c.partitions,
        snapshots: c.snapshots,
        tables,
        files,
        stage: load::stage_reference(c.stage)?,
        snowflake: c.snowflake.clone(),
        load_script: Manifest::script_path(c.run_id),
        load_steps: Manifest::steps_path(c.run_id),
        source: c.source,
        divisions: c.divisions,
        quarantine_files,
        stats,
    };
    // The script and its steps come from the same plan: what the proof runs is what loads.
    // Both are written create-only. Ones already there belong to an attempt of this run that
    // died before its manifest (the commit point) was written: never committed, so they are
    // replaced when they differ (a newer binary, other Snowflake names).
    let plan = load::plan(&manifest, &run_tables)?;
    for (path, body) in [
        (
            Manifest::steps_path(c.run_id),
            Bytes::from(plan.to_jsonl()?),
        ),
        (
            Manifest::script_path(c.run_id),
            Bytes::from(steps::block(&plan)?),
        ),
    ] {
        if !c.output.put_new(&path, body.clone()).await? && c.output.get(&path).await? != body {
            tracing::warn!(path = %path, "replacing the uncommitted load script of an earlier attempt");
            c.output.put(&path, body).await?;
        }
    }
    manifest.finished_at = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Encode {
        table: "manifest".into(),
        message: e.to_string(),
    })?;
    if !c
        .output
        .put_new(&Manifest::path(c.run_id), Bytes::from(json))
        .await?
    {
        return Err(Error::Storage {
            location: format!("{}/{}", c.output.url, Manifest::path(c.run_id)),
            message: "this run is already committed; its manifest is not overwritten".into(),
        });
    }
    tracing::info!(
        conversations = manifest.stats.conversations,
        files = manifest.files.len(),
        seconds = manifest.stats.seconds,
        api_requests = manifest.stats.api.requests,
        token_requests = manifest.stats.api.token_requests,
        retries = manifest.stats.api.retries,
        "run committed"
    );
    Ok(RunSummary {
        manifest_url: format!("{}/{}", c.output.url, Manifest::path(c.run_id)),
        script_url: format!("{}/{}", c.output.url, Manifest::script_path(c.run_id)),
        manifest,
    })
}

/// Turns a chunk's pages into Parquet files (and, optionally, raw pages).
struct ChunkSink {
    run_id: String,
    first_seq: u32,
    output: Output,
    writer: WriterSettings,
    keep_raw: bool,
    /// (table, field) pairs already warned about in this run.
    warned: Mutex<HashSet<(String, String)>>,
    /// Records the run tolerates quarantining; one more fails the chunk at once.
    max_quarantined: u64,
    /// Records quarantined so far by this process, over all chunks.
    quarantined: std::sync::atomic::AtomicU64,
}

/// One page, decoded: the builders handed back, the batches, and the counts.
struct Decoded {
    decoder: TreeDecoder,
    seen: HashSet<String>,
    batches: Vec<(Arc<TableSchema>, arrow_array::RecordBatch)>,
    unknown: BTreeMap<(String, String), u64>,
    kept: u64,
    duplicates: u64,
    outside: u64,
    raw: Option<Bytes>,
    /// Records that could not be decoded: JSON lines of reason and record.
    quarantined: Vec<String>,
    /// Their keys, where they have one.
    kept_keys: Vec<String>,
}

impl ChunkSink {
    fn new(
        output: &Output,
        run_id: &str,
        attempt: u32,
        writer: &WriterSettings,
        keep_raw: bool,
    ) -> Self {
        ChunkSink {
            run_id: run_id.to_string(),
            first_seq: attempt.saturating_mul(SEQ_PER_ATTEMPT),
            output: output.clone(),
            writer: writer.clone(),
            keep_raw,
            warned: Mutex::new(HashSet::new()),
            max_quarantined: u64::MAX,
            quarantined: Default::default(),
        }
    }

    /// Fails a chunk as soon as the run has quarantined more than `max` records.
    fn with_max_quarantined(mut self, max: u64) -> Self {
        self.max_quarantined = max;
        self
    }

    /// Fetches one chunk from the API and writes it.
    async fn fetch_chunk(
        self: &Arc<Self>,
        ds: &'static dyn Dataset,
        run: &RunContext,
        chunk: &Chunk,
    ) -> Result<ChunkOutcome> {
        let (tx, rx) = mpsc::channel::<Page>(PAGE_BUFFER);
        let fetch = async move {
            let r = ds.fetch(run, chunk, &tx).await;
            drop(tx);
            r
        };
        let (fetched, consumed) = tokio::join!(fetch, self.clone().consume(ds, chunk, rx));
        // A consumer failure makes the fetcher fail too ("consumer stopped"): report the cause.
        let mut outcome = consumed?;
        outcome.pages = fetched?;
        tracing::info!(
            dataset = ds.spec().name,
            partition = %chunk.partition,
            method = chunk.method,
            records = outcome.records,
            pages = outcome.pages,
            files = outcome.files.len(),
            "chunk done"
        );
        Ok(outcome)
    }

    async fn consume(
        self: Arc<Self>,
        ds: &'static dyn Dataset,
        chunk: &Chunk,
        mut rx: mpsc::Receiver<Page>,
    ) -> Result<ChunkOutcome> {
        let tables = datasets::tables(ds);
        let column = root_table(ds)?.partition_column.clone();
        let partition = chunk.partition.to_string();
        let mut writers = tables
            .iter()
            .map(|t| {
                PartitionWriter::new(
                    self.output.clone(),
                    t.clone(),
                    partition.clone(),
                    self.run_id.clone(),
                    self.writer.clone(),
                )
                .map(|w| w.with_first_seq(self.first_seq))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut state = Some((
            TreeDecoder::new(&tables, &self.run_id)?,
            HashSet::<String>::new(),
        ));
        let mut outcome = ChunkOutcome::default();
        let mut raw_seq = u64::from(self.first_seq);
        let mut quarantine_seq = u64::from(self.first_seq);
        let root = tables.first().map_or_else(String::new, |t| t.table.clone());
        // On any failure below, every writer is aborted: no multipart upload is left open in
        // the bucket, and no file of this chunk is left behind.
        let written: Result<()> = async {
            while let Some(page) = rx.recv().await {
                let (decoder, seen) = state.take().expect("decoder");
                let (keep_raw, chunk_owned) = (self.keep_raw, chunk.clone());
                let d = tokio::task::spawn_blocking(move || {
                    decode_page(ds, &chunk_owned, page, decoder, seen, keep_raw)
                })
                .await
                .map_err(|e| Error::Encode {
                    table: ds.spec().name.into(),
                    message: format!("decode task failed: {e}"),
                })??;
                state = Some((d.decoder, d.seen));
                outcome.records += d.kept;
                outcome.duplicates += d.duplicates;
                outcome.outside += d.outside;
                self.note_unknown(d.unknown, &mut outcome);
                if let Some(z) = d.raw {
                    let path =
                        raw::page_path(ds.spec().name, &column, &partition, &self.run_id, raw_seq);
                    self.output.put(&path, z).await?;
                    raw_seq += 1;
                }
                if !d.quarantined.is_empty() {
                    let path = format!(
                        "{QUARANTINE_DIR}/{}/{}/{column}={partition}/{:06}.jsonl",
                        self.run_id,
                        ds.spec().name,
                        quarantine_seq
                    );
                    quarantine_seq += 1;
                    tracing::warn!(
                        dataset = ds.spec().name,
                        %partition,
                        records = d.quarantined.len(),
                        path = %path,
                        "records that cannot be decoded were quarantined"
                    );
                    *outcome.quarantined.entry(root.clone()).or_default() +=
                        d.quarantined.len() as u64;
                    if outcome.quarantine_sample.is_none() {
                        outcome.quarantine_sample = d.quarantined.first().cloned();
                    }
                    outcome.kept_keys.extend(d.kept_keys);
                    let n = d.quarantined.len() as u64;
                    let mut body = d.quarantined.join("\n");
                    body.push('\n');
                    self.output.put(&path, Bytes::from(body)).await?;
                    outcome.quarantine_files.push(path);
                    let total = self
                        .quarantined
                        .fetch_add(n, std::sync::atomic::Ordering::Relaxed)
                        + n;
                    if total > self.max_quarantined {
                        // No point reading on: the run will not commit.
                        check_quarantine(
                            &self.output,
                            &self.run_id,
                            &[(String::new(), outcome.clone())],
                            self.max_quarantined,
                        )?;
                        return Err(Error::Payload {
                            path: format!("{}/{QUARANTINE_DIR}/{}/", self.output.url, self.run_id),
                            message: format!(
                                "{total} record(s) could not be decoded, more than --max-quarantined {}",
                                self.max_quarantined
                            ),
                        });
                    }
                }
                for (writer, (_, batch)) in writers.iter_mut().zip(d.batches.iter()) {
                    writer.write(batch).await?;
                }
            }
            Ok(())
        }
        .await;
        if let Err(e) = written {
            for w in writers {
                w.abort().await;
            }
            return Err(e);
        }
        let mut failed = None;
        for w in writers {
            if failed.is_some() {
                w.abort().await;
                continue;
            }
            match w.finish().await {
                Ok(files) => outcome.files.extend(files),
                Err(e) => failed = Some(e),
            }
        }
        if let Some(e) = failed {
            PartitionWriter::discard(&self.output, &outcome.files).await;
            return Err(e);
        }
        Ok(outcome)
    }

    /// Counts unknown fields into the chunk's outcome and warns once per (table, field) per run.
    fn note_unknown(&self, counts: BTreeMap<(String, String), u64>, outcome: &mut ChunkOutcome) {
        if counts.is_empty() {
            return;
        }
        let mut warned = self.warned.lock().expect("warned set");
        for ((table, field), n) in counts {
            if warned.insert((table.clone(), field.clone())) {
                tracing::warn!(
                    table = %table,
                    field = %field,
                    "the API returned a field this schema does not know; it is kept in extra_fields"
                );
            }
            *outcome
                .unknown
                .entry(format!("{table}.{field}"))
                .or_default() += n;
        }
    }
}

/// Decodes one page on the blocking pool: items parsed in parallel, admitted by the dataset in
/// the order served, appended to the builders.
fn decode_page(
    ds: &'static dyn Dataset,
    chunk: &Chunk,
    page: Page,
    mut decoder: TreeDecoder,
    mut seen: HashSet<String>,
    keep_raw: bool,
) -> Result<Decoded> {
    let field = ds.spec().items_field;
    let parsed: Vec<Value> = page
        .items
        .par_iter()
        .map(|raw| datasets::parse_item(raw, &format!("{field}[]")))
        .collect::<Result<_>>()?;
    let (mut kept, mut duplicates, mut outside) = (0u64, 0u64, 0u64);
    let mut quarantined = Vec::new();
    let mut kept_keys = Vec::new();
    for (raw_item, item) in page.items.iter().zip(parsed) {
        // A record that cannot be decoded is kept aside (quarantined) with the reason, and the
        // rest of the page goes on; the run decides whether that many is acceptable.
        let admitted = match ds.admit(item, chunk, &mut seen) {
            Ok(a) => a,
            Err(e) => {
                quarantined.push(quarantine_line(&e, raw_item.get()));
                kept_keys.extend(record_key(ds, raw_item.get()));
                continue;
            }
        };
        match admitted {
            Admission::Rows(rows) => {
                kept += 1;
                for (row, date) in rows {
                    if date != chunk.partition {
                        return Err(Error::Payload {
                            path: format!("{field}[]"),
                            message: format!(
                                "a {} row dated {date} was admitted into the chunk of {}",
                                ds.spec().name,
                                chunk.partition
                            ),
                        });
                    }
                    if let Err(e) = decoder.push(&row, date) {
                        quarantined.push(quarantine_line(&e, &row.to_string()));
                        kept_keys.extend(record_key(ds, &row.to_string()));
                    }
                }
            }
            Admission::Duplicate => duplicates += 1,
            Admission::Outside => outside += 1,
        }
    }
    let batches = decoder.finish()?;
    let unknown = decoder.take_unknown_fields();
    let raw = if keep_raw {
        Some(raw::compress(&page.raw)?)
    } else {
        None
    };
    Ok(Decoded {
        decoder,
        seen,
        batches,
        unknown,
        kept,
        duplicates,
        outside,
        raw,
        quarantined,
        kept_keys,
    })
}

/// The key of a record, when its dataset's root table has a one-column key read from a field
/// (`conversation_id` from `conversationId`): how the load keeps the earlier rows of a record
/// this run could not decode instead of deleting them.
fn record_key(ds: &dyn Dataset, record: &str) -> Option<String> {
    let root = datasets::tables(ds).into_iter().next()?;
    let [key] = root.primary_key.as_slice() else {
        return None;
    };
    let crate::schema::Source::Field(field) = &root.column(key)?.source else {
        return None;
    };
    let v: Value = serde_json::from_str(record).ok()?;
    v.get(field)?.as_str().map(str::to_string)
}

/// One line of a quarantine file: the reason and the record as served.
fn quarantine_line(e: &Error, record: &str) -> String {
    let record: Box<serde_json::value::RawValue> =
        serde_json::value::RawValue::from_string(record.to_string()).unwrap_or_else(|_| {
            serde_json::value::to_raw_value(record).expect("a string serialises")
        });
    serde_json::json!({"error": e.to_string(), "record": record}).to_string()
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
