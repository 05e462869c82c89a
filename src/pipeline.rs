//! `extract` and `rebuild`: plan → fetch (or read raw pages) → decode → write → commit.
//!
//! Chunks (UTC days) run a few at a time. Within a chunk, the fetcher streams pages into a
//! bounded channel; the [`ChunkSink`] parses each page on the blocking pool (conversations in
//! parallel with rayon), keeps only conversations that started in the chunk and were not seen
//! before in it, appends them to the Arrow builders, and streams the batches into one Parquet
//! writer per table. A finished chunk is checkpointed (see [`crate::state`]), so a killed run
//! started again does only what is left. When every chunk is done the run writes its load
//! script, then its manifest: the manifest is the commit point, so a failed run leaves nothing
//! a load would read.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use futures::{StreamExt, TryStreamExt};
use rayon::prelude::*;
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::sync::mpsc;

use crate::decode::{ConversationDecoder, EntityDecoder, conversation_key};
use crate::error::{Error, Result};
use crate::genesys::conversations::{ConversationApi, DetailsSettings, Page};
use crate::genesys::{ApiClient, ApiConfig, ApiStats, access, listing, permissions};
use crate::plan::{Chunk, FetchMethod, Range, fmt};
use crate::schema::{Catalog, TableKind, TableSchema};
use crate::sink::{Output, PartitionWriter, WriterSettings, raw};
use crate::snowflake::load;
use crate::snowflake::manifest::{
    self, DivisionReport, Manifest, Partition, RangeInfo, RunStats, Snapshot, SnowflakeTarget,
    SourceInfo, TableTotals, Tool,
};
use crate::state::{ChunkOutcome, RunState, run_key};

/// The datasets this build can extract.
pub const DATASETS: &[&str] = &["conversations", "divisions"];

/// A dimension dataset: a listing endpoint snapshotted whole on every run.
struct Dimension {
    dataset: &'static str,
    table: &'static str,
    path: &'static str,
}

const DIMENSIONS: &[Dimension] = &[Dimension {
    dataset: "divisions",
    table: "divisions",
    path: "/api/v2/authorization/divisions",
}];

/// Page size for listing endpoints (the platform's usual maximum).
const LISTING_PAGE_SIZE: u32 = 100;

/// Pages buffered between fetch and decode, per chunk.
const PAGE_BUFFER: usize = 4;

/// File sequence numbers reserved per attempt (see [`RunState::attempt`]).
const SEQ_PER_ATTEMPT: u32 = 10_000;

/// Everything `extract` needs, validated.
#[derive(Debug, Clone)]
pub struct ExtractConfig {
    pub datasets: Vec<String>,
    pub range: Range,
    pub output: Output,
    pub api: ApiConfig,
    pub stage: String,
    /// Database and schema the load script qualifies table names with.
    pub snowflake: SnowflakeTarget,
    /// Restrict conversations to these divisions (names or ids); empty: all the client sees.
    pub divisions: Vec<String>,
    /// Chunks fetched at once (default 2: analytics limits concurrent jobs per client).
    pub concurrency: usize,
    pub details: DetailsSettings,
    pub writer: WriterSettings,
    /// Keep every API page, compressed, under `<out>/_raw/` for `rebuild`.
    pub keep_raw: bool,
    /// Ignore the checkpoints of an interrupted run and redo everything.
    pub force: bool,
}

/// Everything `rebuild` needs: the tables are re-derived from raw pages, with no API call.
#[derive(Debug, Clone)]
pub struct RebuildConfig {
    pub range: Range,
    pub output: Output,
    pub stage: String,
    pub snowflake: SnowflakeTarget,
    pub concurrency: usize,
    pub writer: WriterSettings,
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

fn checked_datasets(given: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for d in given {
        if !DATASETS.contains(&d.as_str()) {
            return Err(Error::Input(format!(
                "unknown dataset {d:?}; this version extracts: {}",
                DATASETS.join(", ")
            )));
        }
        if !out.contains(d) {
            out.push(d.clone());
        }
    }
    Ok(out)
}

pub async fn extract(cfg: ExtractConfig) -> Result<RunSummary> {
    let clock = Instant::now();
    let datasets = checked_datasets(&cfg.datasets)?;
    let facts = datasets.iter().any(|d| d == "conversations");
    let key = run_key(&[
        &datasets.join(","),
        &fmt(cfg.range.from),
        &fmt(cfg.range.to),
        &cfg.divisions.join(","),
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
    let _enter = span.enter();
    let result = extract_locked(&cfg, &datasets, facts, &state, clock).await;
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

async fn extract_locked(
    cfg: &ExtractConfig,
    datasets: &[String],
    facts: bool,
    state: &RunState,
    clock: Instant,
) -> Result<RunSummary> {
    let stats = Arc::new(ApiStats::default());
    let client = cfg.api.connect(stats.clone())?;

    // Division scope: what the client's roles reach (reported, never guessed), and the
    // divisions the user restricted the run to.
    let mut division_report = DivisionReport::default();
    if facts || !cfg.divisions.is_empty() {
        match access::read(&client).await {
            Ok(access) => {
                division_report.requested = access.resolve_divisions(&cfg.divisions)?;
                let needs = permissions::requirement("conversations").map_or(&[][..], |r| r.any_of);
                let coverage = access.coverage(needs);
                if coverage.granted == Some(false) {
                    tracing::warn!(permission = ?needs, "no role of this client holds the conversation-detail permission");
                }
                if !coverage.missing.is_empty() {
                    let names: Vec<&str> =
                        coverage.missing.iter().map(|d| d.name.as_str()).collect();
                    tracing::warn!(
                        missing = ?names,
                        exact = coverage.exact,
                        "the client's roles do not reach these divisions: their conversations are silently left out"
                    );
                }
                division_report.coverage = Some(coverage);
            }
            // The coverage report is advisory; only a division filter depends on it.
            Err(e @ (Error::Api { .. } | Error::Payload { .. } | Error::Permission { .. }))
                if cfg.divisions.is_empty() =>
            {
                tracing::warn!(error = %e, "cannot read the client's division coverage; the manifest will not report it");
            }
            Err(e) => return Err(e),
        }
    }
    let api = ConversationApi::new(
        client.clone(),
        cfg.details.clone(),
        division_report
            .requested
            .iter()
            .map(|d| d.id.clone())
            .collect(),
    );

    let (availability, chunks) = if facts {
        let availability = api.availability().await?;
        let chunks = cfg.range.chunks(availability);
        tracing::info!(
            from = %fmt(cfg.range.from),
            to = %fmt(cfg.range.to),
            chunks = chunks.len(),
            resumed = state.done.len(),
            data_availability = %fmt(availability),
            out = %cfg.output.url,
            "extracting conversation details"
        );
        (Some(availability), chunks)
    } else {
        (None, Vec::new())
    };

    let sink = Arc::new(ChunkSink::new(
        &cfg.output,
        &state.run_id,
        state.attempt,
        &cfg.writer,
        cfg.keep_raw,
    ));
    let api = Arc::new(api);
    let mut outcomes: Vec<ChunkOutcome> = futures::stream::iter(chunks.iter().copied())
        .map(|chunk| {
            let (sink, api) = (sink.clone(), api.clone());
            async move {
                let key = chunk_key(&chunk);
                if let Some(done) = state.done.get(&key) {
                    tracing::info!(day = %chunk.day, "chunk already done by the interrupted run; kept");
                    return Ok(done.clone());
                }
                let outcome = sink.fetch_chunk(&api, chunk).await?;
                state.checkpoint(&key, &outcome).await?;
                Ok::<_, Error>(outcome)
            }
        })
        .buffered(cfg.concurrency.max(1))
        .try_collect()
        .await?;

    let snapshot_day = Utc::now().date_naive();
    let mut snapshots = Vec::new();
    for dim in DIMENSIONS
        .iter()
        .filter(|d| datasets.iter().any(|x| x == d.dataset))
    {
        outcomes.push(sink.snapshot(&client, dim, snapshot_day).await?);
        snapshots.push(Snapshot {
            table: dim.table.to_string(),
            column: "snapshot_date".into(),
            value: snapshot_day.to_string(),
        });
    }

    let partitions = chunks
        .iter()
        .map(|c| {
            partition(
                c,
                match c.method {
                    FetchMethod::Job => "job",
                    FetchMethod::Query => "query",
                },
            )
        })
        .collect();
    commit(Commit {
        output: &cfg.output,
        run_id: &state.run_id,
        started_at: state.started_at,
        datasets: datasets.to_vec(),
        range: cfg.range,
        partitions,
        snapshots,
        outcomes,
        stage: &cfg.stage,
        snowflake: &cfg.snowflake,
        source: SourceInfo {
            api_url: cfg.api.api_url.clone(),
            data_availability: availability.map(fmt),
            raw_runs: Vec::new(),
        },
        divisions: division_report,
        api: stats.snapshot(),
        clock,
    })
    .await
}

/// Re-derives the conversation tables of `range` from the raw zone, with no API call: the
/// pages of the latest run that kept them, for each day.
pub async fn rebuild(cfg: RebuildConfig) -> Result<RunSummary> {
    let clock = Instant::now();
    let started = Utc::now();
    let run_id = new_run_id(started);
    let span = tracing::info_span!("rebuild", run_id = %run_id);
    let _enter = span.enter();
    // Every day must have raw pages, or the rebuild would replace a partition with nothing.
    let chunks = cfg.range.chunks(cfg.range.to);
    let mut sources = Vec::new();
    for c in &chunks {
        let day = c.day.to_string();
        match raw::latest_pages(&cfg.output, "conversations", &day).await? {
            Some((run, pages)) => sources.push((*c, run, pages)),
            None => {
                return Err(Error::Input(format!(
                    "no raw pages for {day} under {}/{}; extract that day with --keep-raw first",
                    cfg.output.url,
                    raw::day_dir("conversations", &day)
                )));
            }
        }
    }
    let sink = Arc::new(ChunkSink::new(&cfg.output, &run_id, 0, &cfg.writer, false));
    let outcomes: Vec<ChunkOutcome> = futures::stream::iter(sources.iter().cloned())
        .map(|(chunk, _, pages)| {
            let (sink, output) = (sink.clone(), cfg.output.clone());
            async move {
                let (tx, rx) = mpsc::channel::<Page>(PAGE_BUFFER);
                let read = async move {
                    let mut n = 0u64;
                    for path in pages {
                        let data = output.get(&path).await?;
                        let loc = format!("{}/{path}", output.url);
                        let body =
                            tokio::task::spawn_blocking(move || raw::decompress(&loc, &data))
                                .await
                                .map_err(|e| Error::Storage {
                                    location: path.clone(),
                                    message: e.to_string(),
                                })??;
                        let page = parse_page(&path, Bytes::from(body))?;
                        tx.send(page)
                            .await
                            .map_err(|_| Error::Input("the page consumer stopped".into()))?;
                        n += 1;
                    }
                    Ok::<u64, Error>(n)
                };
                let (read, outcome) = tokio::join!(read, sink.clone().consume(chunk, rx));
                let mut outcome = outcome?;
                outcome.pages = read?;
                Ok::<_, Error>(outcome)
            }
        })
        .buffered(cfg.concurrency.max(1))
        .try_collect()
        .await?;
    let mut raw_runs: Vec<String> = sources.iter().map(|(_, r, _)| r.clone()).collect();
    raw_runs.sort();
    raw_runs.dedup();
    commit(Commit {
        output: &cfg.output,
        run_id: &run_id,
        started_at: started,
        datasets: vec!["conversations".into()],
        range: cfg.range,
        partitions: chunks.iter().map(|c| partition(c, "raw")).collect(),
        snapshots: Vec::new(),
        outcomes,
        stage: &cfg.stage,
        snowflake: &cfg.snowflake,
        source: SourceInfo {
            api_url: String::new(),
            data_availability: None,
            raw_runs,
        },
        divisions: DivisionReport::default(),
        api: Default::default(),
        clock,
    })
    .await
}

/// A raw page (as served by the query or job endpoints) back into a [`Page`].
fn parse_page(path: &str, body: Bytes) -> Result<Page> {
    #[derive(serde::Deserialize)]
    struct Conversations {
        #[serde(default)]
        conversations: Option<Vec<Box<RawValue>>>,
    }
    let c: Conversations = serde_json::from_slice(&body).map_err(|e| Error::Payload {
        path: path.to_string(),
        message: e.to_string(),
    })?;
    Ok(Page {
        conversations: c.conversations.unwrap_or_default(),
        raw: body,
    })
}

fn chunk_key(c: &Chunk) -> String {
    format!("conversations/{}", c.day)
}

fn partition(c: &Chunk, method: &str) -> Partition {
    Partition {
        column: "conversation_date".into(),
        value: c.day.to_string(),
        from: fmt(c.start),
        to: fmt(c.end),
        full_day: c.full_day(),
        method: method.into(),
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
    outcomes: Vec<ChunkOutcome>,
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
    let mut stats = RunStats {
        api: c.api,
        ..Default::default()
    };
    for o in c.outcomes {
        stats.conversations += o.conversations;
        stats.pages += o.pages;
        stats.duplicates_dropped += o.duplicates;
        stats.outside_range_dropped += o.outside;
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
        source: c.source,
        divisions: c.divisions,
        stats,
    };
    let script = load::script(&manifest, &run_tables)?;
    c.output
        .put(&Manifest::script_path(c.run_id), Bytes::from(script))
        .await?;
    manifest.finished_at = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Encode {
        table: "manifest".into(),
        message: e.to_string(),
    })?;
    c.output
        .put(&Manifest::path(c.run_id), Bytes::from(json))
        .await?;
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
    tables: Vec<Arc<TableSchema>>,
    writer: WriterSettings,
    keep_raw: bool,
    /// (table, field) pairs already warned about in this run.
    warned: Mutex<HashSet<(String, String)>>,
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
            tables: Catalog::builtin().dataset_tables("conversations"),
            writer: writer.clone(),
            keep_raw,
            warned: Mutex::new(HashSet::new()),
        }
    }

    /// Fetches one chunk from the API and writes it.
    async fn fetch_chunk(
        self: &Arc<Self>,
        api: &ConversationApi,
        chunk: Chunk,
    ) -> Result<ChunkOutcome> {
        let (tx, rx) = mpsc::channel::<Page>(PAGE_BUFFER);
        let fetch = async move {
            let r = match chunk.method {
                FetchMethod::Job => api.fetch_job(chunk.start, chunk.end, &tx).await,
                FetchMethod::Query => api.fetch_query(chunk.start, chunk.end, &tx).await,
            };
            drop(tx);
            r
        };
        let (fetched, consumed) = tokio::join!(fetch, self.clone().consume(chunk, rx));
        // A consumer failure makes the fetcher fail too ("consumer stopped"): report the cause.
        let mut outcome = consumed?;
        outcome.pages = fetched?;
        tracing::info!(
            day = %chunk.day,
            method = ?chunk.method,
            conversations = outcome.conversations,
            pages = outcome.pages,
            files = outcome.files.len(),
            "chunk done"
        );
        Ok(outcome)
    }

    async fn consume(
        self: Arc<Self>,
        chunk: Chunk,
        mut rx: mpsc::Receiver<Page>,
    ) -> Result<ChunkOutcome> {
        let partition = chunk.day.to_string();
        let mut writers = self
            .tables
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
        let mut decoder = Some(ConversationDecoder::new(Catalog::builtin(), &self.run_id)?);
        let mut seen = Some(HashSet::<String>::new());
        let mut outcome = ChunkOutcome::default();
        let mut raw_seq = u64::from(self.first_seq);
        let (start, end) = (chunk.start.timestamp_micros(), chunk.end.timestamp_micros());
        while let Some(page) = rx.recv().await {
            let (mut dec, mut ids) = (decoder.take().expect("decoder"), seen.take().expect("seen"));
            let keep_raw = self.keep_raw;
            let decoded = tokio::task::spawn_blocking(move || -> Result<_> {
                let parsed: Vec<Value> = page
                    .conversations
                    .par_iter()
                    .map(|raw| serde_json::from_str::<Value>(raw.get()))
                    .collect::<std::result::Result<_, _>>()
                    .map_err(|e| Error::Payload {
                        path: "conversations[]".into(),
                        message: e.to_string(),
                    })?;
                let (mut kept, mut dups, mut outside) = (0u64, 0u64, 0u64);
                for conv in &parsed {
                    let key = conversation_key(conv)?;
                    if key.start_micros < start || key.start_micros >= end {
                        outside += 1;
                    } else if !ids.insert(key.id) {
                        dups += 1;
                    } else {
                        dec.push(conv)?;
                        kept += 1;
                    }
                }
                let batches = dec.finish()?;
                let unknown = dec.take_unknown_fields();
                let raw = if keep_raw {
                    Some(raw::compress(&page.raw)?)
                } else {
                    None
                };
                Ok((dec, ids, batches, unknown, kept, dups, outside, raw))
            })
            .await
            .map_err(|e| Error::Encode {
                table: "conversations".into(),
                message: format!("decode task failed: {e}"),
            })??;
            let (dec, ids, batches, unknown, kept, dups, outside, raw_page) = decoded;
            decoder = Some(dec);
            seen = Some(ids);
            outcome.conversations += kept;
            outcome.duplicates += dups;
            outcome.outside += outside;
            self.note_unknown(unknown, &mut outcome);
            if let Some(z) = raw_page {
                self.output
                    .put(
                        &raw::page_path("conversations", &partition, &self.run_id, raw_seq),
                        z,
                    )
                    .await?;
                raw_seq += 1;
            }
            for (writer, (_, batch)) in writers.iter_mut().zip(batches.iter()) {
                writer.write(batch).await?;
            }
        }
        for w in writers {
            outcome.files.extend(w.finish().await?);
        }
        Ok(outcome)
    }

    /// Takes a full snapshot of a dimension listing into its `snapshot_date` partition.
    async fn snapshot(
        &self,
        client: &ApiClient,
        dim: &Dimension,
        day: NaiveDate,
    ) -> Result<ChunkOutcome> {
        let schema = Catalog::builtin()
            .table(dim.table)
            .cloned()
            .ok_or_else(|| Error::Schema {
                table: dim.table.to_string(),
                message: "missing from the catalog".into(),
            })?;
        let entities = listing::fetch_all(client, dim.path, LISTING_PAGE_SIZE).await?;
        let fetched = entities.len() as u64;
        let (run_id, table) = (self.run_id.clone(), schema.clone());
        let (batch, unknown, dups) = tokio::task::spawn_blocking(move || -> Result<_> {
            let mut dec = EntityDecoder::new(table, &run_id, day)?;
            let mut seen = HashSet::new();
            let mut dups = 0u64;
            for raw in &entities {
                let v: Value = serde_json::from_str(raw.get()).map_err(|e| Error::Payload {
                    path: "entities[]".into(),
                    message: e.to_string(),
                })?;
                // Listings can shift while paged; keep the first copy of each id.
                let id = v.get("id").and_then(Value::as_str).map(str::to_string);
                if id.is_some_and(|id| !seen.insert(id)) {
                    dups += 1;
                    continue;
                }
                dec.push(&v)?;
            }
            Ok((dec.finish()?, dec.take_unknown_fields(), dups))
        })
        .await
        .map_err(|e| Error::Encode {
            table: dim.table.into(),
            message: format!("decode task failed: {e}"),
        })??;
        let mut outcome = ChunkOutcome {
            duplicates: dups,
            ..Default::default()
        };
        self.note_unknown(unknown, &mut outcome);
        let mut writer = PartitionWriter::new(
            self.output.clone(),
            schema,
            day.to_string(),
            self.run_id.clone(),
            self.writer.clone(),
        )?
        .with_first_seq(self.first_seq);
        writer.write(&batch).await?;
        outcome.files = writer.finish().await?;
        tracing::info!(
            dataset = dim.dataset,
            rows = batch.num_rows(),
            fetched,
            "snapshot done"
        );
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
