//! `extract`: plan → fetch → decode → write → commit.
//!
//! Chunks (UTC days) run a few at a time. Within a chunk, the fetcher streams raw pages into a
//! bounded channel; the consumer parses each page on the blocking pool (conversations in
//! parallel with rayon), keeps only conversations that started in the chunk and were not seen
//! before in it, appends them to the Arrow builders, and streams the batches into one Parquet
//! writer per table. When every chunk is done the run writes its load script, then its
//! manifest: the manifest is the commit point, so a failed run leaves nothing a load would read.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use futures::{StreamExt, TryStreamExt};
use rayon::prelude::*;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::decode::{ConversationDecoder, EntityDecoder, conversation_key};
use crate::error::{Error, Result};
use crate::genesys::conversations::{ConversationApi, DetailsSettings, Page};
use crate::genesys::{ApiClient, ApiConfig, ApiStats};
use crate::genesys::{access, listing, permissions};
use crate::plan::{Chunk, FetchMethod, Range, fmt};
use crate::schema::{Catalog, TableSchema};
use crate::sink::{FileWritten, Output, PartitionWriter, WriterSettings};
use crate::snowflake::load;
use crate::snowflake::manifest::{
    self, DivisionReport, Manifest, Partition, RangeInfo, RunStats, Snapshot, SnowflakeTarget,
    SourceInfo, TableTotals, Tool,
};

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
}

/// What a finished run reports.
#[derive(Debug)]
pub struct RunSummary {
    pub manifest: Manifest,
    pub manifest_url: String,
    pub script_url: String,
}

/// Pages buffered between fetch and decode, per chunk.
const PAGE_BUFFER: usize = 4;

pub fn new_run_id(now: DateTime<Utc>) -> String {
    format!("{}-{:08x}", now.format("%Y%m%dT%H%M%SZ"), fastrand::u32(..))
}

/// What one chunk produced.
#[derive(Debug, Default)]
struct ChunkOutcome {
    files: Vec<FileWritten>,
    conversations: u64,
    pages: u64,
    duplicates: u64,
    outside: u64,
}

/// State shared by all chunks of a run.
struct Run {
    run_id: String,
    client: Arc<ApiClient>,
    api: ConversationApi,
    output: Output,
    tables: Vec<Arc<TableSchema>>,
    writer: WriterSettings,
    unknown: Mutex<BTreeMap<(String, String), u64>>,
}

pub async fn extract(cfg: ExtractConfig) -> Result<RunSummary> {
    let started = Utc::now();
    let clock = Instant::now();
    let mut datasets: Vec<String> = Vec::new();
    for d in &cfg.datasets {
        if !DATASETS.contains(&d.as_str()) {
            return Err(Error::Input(format!(
                "unknown dataset {d:?}; this version extracts: {}",
                DATASETS.join(", ")
            )));
        }
        if !datasets.contains(d) {
            datasets.push(d.clone());
        }
    }
    let facts = datasets.iter().any(|d| d == "conversations");
    let run_id = new_run_id(started);
    let span = tracing::info_span!("run", run_id = %run_id);
    let _enter = span.enter();

    let stats = Arc::new(ApiStats::default());
    let client = cfg.api.connect(stats.clone())?;

    // Division scope: what the client's roles reach (reported, never guessed), and the
    // divisions the user restricted the run to.
    let mut division_report = DivisionReport::default();
    if facts || !cfg.divisions.is_empty() {
        let access = match access::read(&client).await {
            Ok(a) => Some(a),
            // The coverage report is advisory; only a division filter depends on it.
            Err(e @ (Error::Api { .. } | Error::Payload { .. } | Error::Permission { .. }))
                if cfg.divisions.is_empty() =>
            {
                tracing::warn!(error = %e, "cannot read the client's division coverage; the manifest will not report it");
                None
            }
            Err(e) => return Err(e),
        };
        if let Some(access) = access {
            division_report.requested = access.resolve_divisions(&cfg.divisions)?;
            let needs = permissions::requirement("conversations").map_or(&[][..], |r| r.any_of);
            let coverage = access.coverage(needs);
            if coverage.granted == Some(false) {
                tracing::warn!(permission = ?needs, "no role of this client holds the conversation-detail permission");
            }
            if !coverage.missing.is_empty() {
                let names: Vec<&str> = coverage.missing.iter().map(|d| d.name.as_str()).collect();
                tracing::warn!(
                    missing = ?names,
                    exact = coverage.exact,
                    "the client's roles do not reach these divisions: their conversations are silently left out"
                );
            }
            division_report.coverage = Some(coverage);
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
            data_availability = %fmt(availability),
            out = %cfg.output.url,
            "extracting conversation details"
        );
        (Some(availability), chunks)
    } else {
        (None, Vec::new())
    };

    let run_tables: Vec<Arc<TableSchema>> = datasets
        .iter()
        .flat_map(|d| Catalog::builtin().dataset_tables(d))
        .collect();
    let run = Arc::new(Run {
        run_id: run_id.clone(),
        client,
        api,
        output: cfg.output.clone(),
        tables: Catalog::builtin().dataset_tables("conversations"),
        writer: cfg.writer.clone(),
        unknown: Mutex::new(BTreeMap::new()),
    });

    let mut outcomes: Vec<ChunkOutcome> = futures::stream::iter(chunks.iter().copied())
        .map(|chunk| {
            let run = run.clone();
            async move { run.chunk(chunk).await }
        })
        .buffered(cfg.concurrency.max(1))
        .try_collect()
        .await?;
    let snapshot_day = started.date_naive();
    let mut snapshots = Vec::new();
    for dim in DIMENSIONS
        .iter()
        .filter(|d| datasets.iter().any(|x| x == d.dataset))
    {
        outcomes.push(run.clone().snapshot(dim, snapshot_day).await?);
        snapshots.push(Snapshot {
            table: dim.table.to_string(),
            column: "snapshot_date".into(),
            value: snapshot_day.to_string(),
        });
    }

    // Commit: totals, load script, then the manifest (last).
    let mut tables: BTreeMap<String, TableTotals> = run
        .tables
        .iter()
        .map(|t| {
            (
                t.table.clone(),
                TableTotals {
                    schema_version: t.version,
                    ..Default::default()
                },
            )
        })
        .collect();
    let mut files = Vec::new();
    let mut run_stats = RunStats::default();
    for o in outcomes {
        run_stats.conversations += o.conversations;
        run_stats.pages += o.pages;
        run_stats.duplicates_dropped += o.duplicates;
        run_stats.outside_range_dropped += o.outside;
        for f in o.files {
            let t = tables.entry(f.table.clone()).or_default();
            t.rows += f.rows;
            t.files += 1;
            t.bytes += f.bytes;
            files.push(f);
        }
    }
    for ((table, field), n) in run.unknown.lock().expect("unknown-field counts").iter() {
        if let Some(t) = tables.get_mut(table) {
            t.unknown_fields.insert(field.clone(), *n);
        }
    }
    files.sort_by(|a, b| (&a.table, &a.path).cmp(&(&b.table, &b.path)));
    run_stats.api = stats.snapshot();
    run_stats.seconds = (clock.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;

    let partitions = chunks
        .iter()
        .map(|c| Partition {
            column: "conversation_date".into(),
            value: c.day.to_string(),
            from: fmt(c.start),
            to: fmt(c.end),
            full_day: c.full_day(),
            method: match c.method {
                FetchMethod::Job => "job".into(),
                FetchMethod::Query => "query".into(),
            },
        })
        .collect();
    let mut manifest = Manifest {
        manifest_version: manifest::MANIFEST_VERSION,
        run_id: run_id.clone(),
        tool: Tool {
            name: "genesys-loader".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        started_at: started.to_rfc3339_opts(SecondsFormat::Secs, true),
        finished_at: String::new(),
        datasets: datasets.clone(),
        range: RangeInfo {
            from: fmt(cfg.range.from),
            to: fmt(cfg.range.to),
        },
        partitions,
        snapshots,
        tables,
        files,
        stage: load::stage_reference(&cfg.stage)?,
        snowflake: cfg.snowflake.clone(),
        load_script: Manifest::script_path(&run_id),
        source: SourceInfo {
            api_url: cfg.api.api_url.clone(),
            data_availability: availability.map(fmt),
        },
        divisions: division_report,
        stats: run_stats,
    };
    let script = load::script(&manifest, &run_tables)?;
    cfg.output
        .put(&Manifest::script_path(&run_id), Bytes::from(script))
        .await?;
    manifest.finished_at = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Encode {
        table: "manifest".into(),
        message: e.to_string(),
    })?;
    cfg.output
        .put(&Manifest::path(&run_id), Bytes::from(json))
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
        manifest_url: format!("{}/{}", cfg.output.url, Manifest::path(&run_id)),
        script_url: format!("{}/{}", cfg.output.url, Manifest::script_path(&run_id)),
        manifest,
    })
}

impl Run {
    /// Takes a full snapshot of a dimension listing into its `snapshot_date` partition.
    async fn snapshot(
        self: Arc<Self>,
        dim: &Dimension,
        day: chrono::NaiveDate,
    ) -> Result<ChunkOutcome> {
        let schema = Catalog::builtin()
            .table(dim.table)
            .cloned()
            .ok_or_else(|| Error::Schema {
                table: dim.table.to_string(),
                message: "missing from the catalog".into(),
            })?;
        let entities = listing::fetch_all(&self.client, dim.path, LISTING_PAGE_SIZE).await?;
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
        self.note_unknown(unknown);
        let mut writer = PartitionWriter::new(
            self.output.clone(),
            schema,
            day.to_string(),
            self.run_id.clone(),
            self.writer.clone(),
        )?;
        writer.write(&batch).await?;
        let files = writer.finish().await?;
        tracing::info!(
            dataset = dim.dataset,
            rows = batch.num_rows(),
            fetched,
            "snapshot done"
        );
        Ok(ChunkOutcome {
            files,
            duplicates: dups,
            ..Default::default()
        })
    }

    async fn chunk(self: Arc<Self>, chunk: Chunk) -> Result<ChunkOutcome> {
        let (tx, rx) = mpsc::channel::<Page>(PAGE_BUFFER);
        let fetch = {
            let run = self.clone();
            async move {
                let r = match chunk.method {
                    FetchMethod::Job => run.api.fetch_job(chunk.start, chunk.end, &tx).await,
                    FetchMethod::Query => run.api.fetch_query(chunk.start, chunk.end, &tx).await,
                };
                drop(tx);
                r
            }
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
            })
            .collect::<Result<Vec<_>>>()?;
        let mut decoder = Some(ConversationDecoder::new(Catalog::builtin(), &self.run_id)?);
        let mut seen = Some(HashSet::<String>::new());
        let mut outcome = ChunkOutcome::default();
        let (start, end) = (chunk.start.timestamp_micros(), chunk.end.timestamp_micros());
        while let Some(page) = rx.recv().await {
            let (mut dec, mut ids) = (decoder.take().expect("decoder"), seen.take().expect("seen"));
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
                Ok((dec, ids, batches, unknown, kept, dups, outside))
            })
            .await
            .map_err(|e| Error::Encode {
                table: "conversations".into(),
                message: format!("decode task failed: {e}"),
            })??;
            let (dec, ids, batches, unknown, kept, dups, outside) = decoded;
            decoder = Some(dec);
            seen = Some(ids);
            outcome.conversations += kept;
            outcome.duplicates += dups;
            outcome.outside += outside;
            self.note_unknown(unknown);
            for (writer, (_, batch)) in writers.iter_mut().zip(batches.iter()) {
                writer.write(batch).await?;
            }
        }
        for w in writers {
            outcome.files.extend(w.finish().await?);
        }
        Ok(outcome)
    }

    /// Adds unknown-field counts and warns once per (table, field) per run.
    fn note_unknown(&self, counts: BTreeMap<(String, String), u64>) {
        if counts.is_empty() {
            return;
        }
        let mut all = self.unknown.lock().expect("unknown-field counts");
        for (key, n) in counts {
            let entry = all.entry(key.clone()).or_insert(0);
            if *entry == 0 {
                tracing::warn!(
                    table = %key.0,
                    field = %key.1,
                    "the API returned a field this schema does not know; it is kept in extra_fields"
                );
            }
            *entry += n;
        }
    }
}
