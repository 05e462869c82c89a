//! Fan-out past one machine: `plan` cuts a run into chunks, `extract --chunk` runs exactly one
//! of them (in its own process, on any worker), and `manifest merge` commits them as one run.
//!
//! The run id is fixed when the run is planned and travels with every chunk: the rows a chunk
//! writes carry it (the load script reconciles and merges on `run_id`), and its files are named
//! by it. Each chunk writes a chunk manifest, `_chunks/<run_id>/<dataset>/<partition>.json`,
//! create-only, once its files are closed: a chunk task that finds its chunk manifest is done
//! already (idempotent), and one killed half-way is simply run again (its stray files are
//! named by no manifest; `gc` lists them). The merge checks that the chunk manifests are
//! exactly the plan's, none missing and none twice, then writes the one load script and the
//! one manifest through the same commit as a whole run.

use super::*;

use crate::genesys::stats::ApiStatsSnapshot;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Where chunk manifests live: `_chunks/<run_id>/<dataset>/<partition>.json`.
pub const CHUNK_DIR: &str = "_chunks";

/// Version of the chunk manifest's shape.
pub const CHUNK_MANIFEST_VERSION: u32 = 1;

/// A planned run: its id, range, datasets and chunks.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Plan {
    pub run_id: String,
    pub from: String,
    pub to: String,
    pub datasets: Vec<String>,
    /// Sum of the chunks' estimates.
    pub estimated_requests: u64,
    pub chunks: Vec<PlannedChunk>,
}

/// One chunk as `plan --json` prints it and `extract --chunk` takes it back: everything a task
/// needs to run it on its own.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlannedChunk {
    /// `dataset/partition`, unique in the plan (`conversations/2026-11-01`).
    pub id: String,
    pub dataset: String,
    pub partition: String,
    pub start: String,
    pub end: String,
    /// How the chunk is fetched (`job`, `query`, `listing`, `aggregate`, `search`).
    pub method: String,
    /// API requests the chunk is expected to send (see [`estimated_requests`]).
    pub estimated_requests: u64,
    pub run_id: String,
    pub plan: PlanRef,
}

/// What every chunk of a plan shares, so the merge can tell the plan's chunks apart from
/// others and count them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlanRef {
    pub from: String,
    pub to: String,
    pub datasets: Vec<String>,
    /// Chunks in the plan: the merge refuses fewer.
    pub chunks: usize,
}

/// What one chunk task leaves behind for the merge.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChunkManifest {
    pub chunk_manifest_version: u32,
    pub run_id: String,
    pub chunk: PlannedChunk,
    pub started_at: String,
    pub finished_at: String,
    pub seconds: f64,
    /// The fact partition the chunk replaces, or none for a dimension.
    pub partition: Option<Partition>,
    pub snapshots: Vec<Snapshot>,
    pub outcome: ChunkOutcome,
    pub divisions: DivisionReport,
    pub source: SourceInfo,
    pub api: ApiStatsSnapshot,
}

impl ChunkManifest {
    pub fn path(run_id: &str, chunk_id: &str) -> String {
        format!("{CHUNK_DIR}/{run_id}/{chunk_id}.json")
    }
}

/// What `extract --chunk` reports.
#[derive(Debug)]
pub struct ChunkSummary {
    pub manifest: ChunkManifest,
    pub manifest_url: String,
    /// False when the chunk manifest that stands is another task's: one that had done the
    /// chunk before this task started, or (`raced`) one that committed it while this task ran.
    pub ran: bool,
    /// Another task committed the chunk while this one ran it: this task's requests were
    /// spent and its files are named by no manifest (`gc` lists them).
    pub raced: bool,
}

impl ChunkSummary {
    /// The chunk's outcome for a person reading the task's log (stderr), as a whole run has
    /// its summary; the JSON line on stdout is for the DAG.
    pub fn render_text(&self) -> String {
        use crate::progress::thousands;
        let m = &self.manifest;
        let rows = self.rows();
        let bytes: u64 = m.outcome.files.iter().map(|f| f.bytes).sum();
        // The figures below are always those of the manifest that stands.
        let verb = match (self.ran, self.raced) {
            (true, _) => "written",
            (false, false) => "already written by an earlier task; nothing done",
            (false, true) => {
                "committed by another task while this one ran it (this task's files are \
                 unused; gc lists them); that task wrote"
            }
        };
        let mut s = format!(
            "chunk {} of run {} {verb}: {} file(s), {} rows, {:.1} MB in {:.1} s\n",
            m.chunk.id,
            m.run_id,
            m.outcome.files.len(),
            thousands(rows.values().sum()),
            bytes as f64 / 1e6,
            m.seconds
        );
        let per_table = rows.iter().map(|(table, n)| (table.as_str(), *n));
        crate::snowflake::manifest::push_rows_and_api(&mut s, per_table, &m.api, m.outcome.pages);
        let quarantined: u64 = m.outcome.quarantined.values().sum();
        if quarantined > 0 {
            s.push_str(&format!(
                "  {quarantined} record(s) quarantined (counted at the merge; not loaded)\n"
            ));
        }
        s.push_str(&format!("  chunk manifest: {}\n", self.manifest_url));
        s
    }

    /// Rows written per table, as the chunk manifest that stands lists its files.
    pub fn rows(&self) -> BTreeMap<String, u64> {
        let mut rows = BTreeMap::new();
        for f in &self.manifest.outcome.files {
            *rows.entry(f.table.clone()).or_insert(0) += f.rows;
        }
        rows
    }
}

/// A chunk to run: its id (re-planned from the flags) or the plan's JSON for it.
#[derive(Debug, Clone)]
pub enum ChunkRef {
    Id { id: String, run_id: String },
    Planned(Box<PlannedChunk>),
}

impl ChunkRef {
    /// `--chunk` as given: a JSON object from `plan --json`, or an id with `--run-id`.
    pub fn parse(value: &str, run_id: Option<&str>) -> Result<ChunkRef> {
        let v = value.trim();
        if v.starts_with('{') {
            let chunk: PlannedChunk = serde_json::from_str(v).map_err(|e| {
                Error::Input(format!(
                    "--chunk is not a chunk as `plan --json` prints it: {e}"
                ))
            })?;
            check_run_id("--chunk's run_id", &chunk.run_id)?;
            if let Some(r) = run_id.filter(|r| *r != chunk.run_id) {
                return Err(Error::Input(format!(
                    "--run-id {r} differs from the chunk's run_id {}",
                    chunk.run_id
                )));
            }
            return Ok(ChunkRef::Planned(Box::new(chunk)));
        }
        let run_id = run_id.ok_or_else(|| {
            Error::Input(format!(
                "--chunk {v} needs --run-id (the run id `plan` printed), or give the chunk's JSON"
            ))
        })?;
        check_run_id("--run-id", run_id)?;
        match v.split_once('/') {
            Some((d, p)) if datasets::get(d).is_some() && !p.is_empty() => Ok(ChunkRef::Id {
                id: v.to_string(),
                run_id: run_id.to_string(),
            }),
            _ => Err(Error::Input(format!(
                "--chunk {v:?} is not a chunk id (dataset/partition, e.g. conversations/2026-11-01) of a dataset of this version ({})",
                datasets::names_list()
            ))),
        }
    }
}

/// Checks a run id's shape (`20261124T131605Z-7a3e204a`): the load scripts' order guard
/// sorts runs by it, so a made-up id could let an older run replace a newer one's days.
pub fn check_run_id(what: &str, id: &str) -> Result<NaiveDate> {
    let ok = id.len() == 25
        && id.as_bytes()[8] == b'T'
        && id.as_bytes()[15] == b'Z'
        && id.as_bytes()[16] == b'-'
        && id[17..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && chrono::NaiveDateTime::parse_from_str(&id[..15], "%Y%m%dT%H%M%S").is_ok();
    if !ok {
        return Err(Error::Input(format!(
            "{what} {id:?} is not a run id like 20261124T131605Z-7a3e204a (take the one `plan` prints)"
        )));
    }
    Ok(NaiveDate::parse_from_str(&id[..8], "%Y%m%d").expect("checked above"))
}

/// Requests a chunk of this method is expected to send: a rough figure for sizing the fan-out
/// and the rate budget, not a bound. An async job is submitted, polled a few times and read
/// in pages; the synchronous query reads a few pages; a listing or search a couple of pages;
/// an aggregate query is one request. Per-conversation fetches (recordings, evaluation
/// details) add one request per record, which no plan knows before listing them.
pub fn estimated_requests(method: &str) -> u64 {
    match method {
        "job" => 6,
        "query" => 3,
        "aggregate" => 1,
        "listing" | "search" => 2,
        _ => 2,
    }
}

/// Plans the run: each dataset cuts the range into chunks, calling only what planning needs
/// (e.g. the jobs' data availability date). Nothing is written.
pub async fn plan(cfg: &ExtractConfig, run_id: String) -> Result<Plan> {
    let snapshot_date = check_run_id("--run-id", &run_id)?;
    let datasets = datasets::resolve("--dataset", &cfg.datasets)?;
    let stats = Arc::new(ApiStats::default());
    let allowlist = Allowlist::new(datasets.iter().flat_map(|d| d.spec().endpoints.iter()));
    let client = cfg.api.connect(stats, allowlist)?;
    // Division ids only matter when the run is restricted to divisions.
    let divisions = if cfg.divisions.is_empty() {
        Vec::new()
    } else {
        access::read(&client)
            .await?
            .resolve_divisions(&cfg.divisions)?
            .into_iter()
            .map(|d| d.id)
            .collect()
    };
    let run = RunContext {
        api: client,
        divisions,
        options: cfg.options.clone(),
        snapshot_date,
        facts: Default::default(),
        jobs: Default::default(),
        done: Default::default(),
    };
    let mut chunks = Vec::new();
    for ds in &datasets {
        let planned = ds
            .plan(&run, cfg.range)
            .await
            .map_err(|e| with_context(e, &format!("planning {}", ds.spec().name)))?;
        chunks.extend(planned);
    }
    let names: Vec<String> = datasets.iter().map(|d| d.spec().name.to_string()).collect();
    let plan_ref = PlanRef {
        from: fmt(cfg.range.from),
        to: fmt(cfg.range.to),
        datasets: names.clone(),
        chunks: chunks.len(),
    };
    let chunks: Vec<PlannedChunk> = chunks
        .iter()
        .map(|c| PlannedChunk {
            id: c.key(),
            dataset: c.dataset.to_string(),
            partition: c.partition.to_string(),
            start: fmt(c.start),
            end: fmt(c.end),
            method: c.method.to_string(),
            estimated_requests: estimated_requests(c.method),
            run_id: run_id.clone(),
            plan: plan_ref.clone(),
        })
        .collect();
    Ok(Plan {
        run_id,
        from: plan_ref.from,
        to: plan_ref.to,
        datasets: names,
        estimated_requests: chunks.iter().map(|c| c.estimated_requests).sum(),
        chunks,
    })
}

/// Runs exactly one chunk and writes its chunk manifest; a chunk already done is reported, not
/// run again.
pub async fn extract_chunk(cfg: ExtractConfig, chunk: ChunkRef) -> Result<ChunkSummary> {
    let clock = Instant::now();
    let planned = match chunk {
        ChunkRef::Planned(p) => *p,
        ChunkRef::Id { id, run_id } => {
            let plan = plan(&cfg, run_id).await?;
            plan.chunks
                .into_iter()
                .find(|c| c.id == id)
                .ok_or_else(|| {
                    Error::Input(format!(
                        "--chunk {id} is not a chunk of the plan for {} .. {} (datasets {}); `plan` lists them",
                        fmt(cfg.range.from),
                        fmt(cfg.range.to),
                        cfg.datasets.join(",")
                    ))
                })?
        }
    };
    let run_id = planned.run_id.clone();
    let snapshot_date = check_run_id("the chunk's run_id", &run_id)?;
    let ds = datasets::get(&planned.dataset).ok_or_else(|| {
        Error::Input(format!(
            "the chunk's dataset {:?} is not one of this version ({})",
            planned.dataset,
            datasets::names_list()
        ))
    })?;
    let range = Range {
        from: crate::plan::parse_bound("the chunk's plan.from", &planned.plan.from)?,
        to: crate::plan::parse_bound("the chunk's plan.to", &planned.plan.to)?,
    };
    let manifest_path = ChunkManifest::path(&run_id, &planned.id);
    let manifest_url = format!("{}/{manifest_path}", cfg.output.url);
    if cfg.output.exists(&manifest_path).await? {
        tracing::info!(chunk = %planned.id, manifest = %manifest_url, "chunk already done; not run again");
        return Ok(ChunkSummary {
            manifest: read_chunk_manifest(&cfg.output, &manifest_path).await?,
            manifest_url,
            ran: false,
            raced: false,
        });
    }
    let key = run_key(&[
        "chunk",
        &run_id,
        &planned.id,
        &planned.plan.from,
        &planned.plan.to,
        &cfg.divisions.join(","),
        &format!("keep_raw={}", cfg.keep_raw),
        &cfg.options.fingerprint(),
    ]);
    let state = RunState::begin(&cfg.output, &key, cfg.force, run_id.clone(), Utc::now()).await?;
    let span = tracing::info_span!("chunk", run_id = %run_id, chunk = %planned.id);
    let result = run_one(&cfg, ds, &planned, range, snapshot_date, &state, clock)
        .instrument(span)
        .await;
    match result {
        Ok(manifest) => {
            let body = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Encode {
                table: "chunk manifest".into(),
                message: e.to_string(),
            })?;
            if !cfg
                .output
                .put_new(&manifest_path, Bytes::from(body))
                .await?
            {
                // Another task ran the same chunk at the same time and committed first: its
                // manifest stands, and this task's files are named by none.
                tracing::warn!(manifest = %manifest_url, "the chunk was committed by another task meanwhile; keeping that one");
                state.finish().await?;
                return Ok(ChunkSummary {
                    manifest: read_chunk_manifest(&cfg.output, &manifest_path).await?,
                    manifest_url,
                    ran: false,
                    raced: true,
                });
            }
            state.finish().await?;
            Ok(ChunkSummary {
                manifest,
                manifest_url,
                ran: true,
                raced: false,
            })
        }
        Err(e) => {
            state.release().await;
            Err(e)
        }
    }
}

async fn run_one(
    cfg: &ExtractConfig,
    ds: &'static dyn Dataset,
    planned: &PlannedChunk,
    range: Range,
    snapshot_date: NaiveDate,
    state: &RunState,
    clock: Instant,
) -> Result<ChunkManifest> {
    let stats = Arc::new(ApiStats::default());
    crate::progress::global().attach_api(stats.clone());
    crate::progress::global().set_chunks(1);
    let allowlist = Allowlist::new(ds.spec().endpoints.iter());
    let client = cfg.api.connect(stats.clone(), allowlist)?;
    let divisions = division_scope(cfg, &[ds], &client).await?;
    let run = RunContext {
        api: client,
        divisions: divisions.requested.iter().map(|d| d.id.clone()).collect(),
        options: cfg.options.clone(),
        snapshot_date,
        facts: Default::default(),
        jobs: Default::default(),
        done: Default::default(),
    };
    // Re-plan the chunk's dataset over the plan's range: the chunk must still be one of its
    // chunks, and is run as planned now (a day may have moved from query to job).
    let chunk = ds
        .plan(&run, range)
        .await?
        .into_iter()
        .find(|c| c.key() == planned.id)
        .ok_or_else(|| {
            Error::Input(format!(
                "chunk {} is not among the chunks of {} for {} .. {} any more; plan again",
                planned.id,
                ds.spec().name,
                planned.plan.from,
                planned.plan.to
            ))
        })?;
    // A chunk task runs one chunk: planning declared the range's jobs, but submitting the
    // next day's ahead would spend a request on a job no task of this plan reads.
    let run = RunContext {
        jobs: Default::default(),
        ..run
    };
    let outcome = match state.done.get(&planned.id) {
        Some(done) => done.clone(),
        None => {
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
            let outcome = sink.fetch_chunk(ds, &run, &chunk).await?;
            state.checkpoint(&planned.id, &outcome).await?;
            outcome
        }
    };
    crate::progress::global().chunk_done(&outcome);
    let (partition, snapshots) = load_units(ds, &chunk, Some(&outcome));
    let availability = run
        .facts
        .lock()
        .expect("facts")
        .get("data_availability")
        .cloned();
    let now = Utc::now();
    Ok(ChunkManifest {
        chunk_manifest_version: CHUNK_MANIFEST_VERSION,
        run_id: state.run_id.clone(),
        chunk: PlannedChunk {
            method: chunk.method.to_string(),
            start: fmt(chunk.start),
            end: fmt(chunk.end),
            ..planned.clone()
        },
        started_at: state.started_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        finished_at: now.to_rfc3339_opts(SecondsFormat::Secs, true),
        seconds: (clock.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
        partition,
        snapshots,
        outcome,
        divisions,
        source: SourceInfo {
            api_url: cfg.api.api_url.clone(),
            data_availability: availability,
            raw_runs: Vec::new(),
        },
        api: stats.snapshot(),
    })
}

async fn read_chunk_manifest(output: &Output, path: &str) -> Result<ChunkManifest> {
    // A chunk manifest named on the command line that is not there is bad input (a wrong
    // path, a chunk not run yet), not a storage failure.
    if !output.exists(path).await? {
        return Err(Error::Input(format!(
            "no chunk manifest at {}/{path}: run that chunk (extract --chunk) or check the path",
            output.url
        )));
    }
    serde_json::from_slice(&output.get(path).await?).map_err(|e| Error::Storage {
        location: format!("{}/{path}", output.url),
        message: format!("not a chunk manifest: {e}"),
    })
}

/// Everything `manifest merge` needs.
#[derive(Debug, Clone)]
pub struct MergeConfig {
    pub output: Output,
    pub run_id: String,
    /// Chunk manifests (relative to the output root, or as `extract --chunk` printed them);
    /// empty: every chunk manifest of the run under `_chunks/<run_id>/`.
    pub chunk_manifests: Vec<String>,
    pub stage: String,
    pub snowflake: SnowflakeTarget,
    pub max_quarantined: u64,
}

/// Combines a plan's chunk manifests into one committed run: one manifest, one load script.
/// Refuses chunk manifests of another run or plan, a chunk given twice, and a missing chunk.
/// A run already merged is reported as it is (an Airflow retry of the merge).
pub async fn merge(cfg: MergeConfig) -> Result<RunSummary> {
    check_run_id("--run-id", &cfg.run_id)?;
    let out = &cfg.output;
    let manifest_path = Manifest::path(&cfg.run_id);
    if out.exists(&manifest_path).await? {
        let manifest: Manifest =
            serde_json::from_slice(&out.get(&manifest_path).await?).map_err(|e| {
                Error::Storage {
                    location: format!("{}/{manifest_path}", out.url),
                    message: format!("not a manifest: {e}"),
                }
            })?;
        tracing::warn!(run_id = %cfg.run_id, "this run is already merged; its manifest stands");
        return Ok(RunSummary {
            manifest_url: format!("{}/{manifest_path}", out.url),
            script_url: format!("{}/{}", out.url, Manifest::script_path(&cfg.run_id)),
            manifest,
        });
    }
    let paths: Vec<String> = if cfg.chunk_manifests.is_empty() {
        list_chunk_manifests(out, &cfg.run_id).await?
    } else {
        cfg.chunk_manifests
            .iter()
            .map(|p| relative_to(out, p))
            .collect::<Result<_>>()?
    };
    if paths.is_empty() {
        return Err(Error::Input(format!(
            "no chunk manifests of run {} under {}/{CHUNK_DIR}/{}/",
            cfg.run_id, out.url, cfg.run_id
        )));
    }
    let mut chunks: Vec<ChunkManifest> = Vec::new();
    for p in &paths {
        chunks.push(read_chunk_manifest(out, p).await?);
    }
    let combined = combine(&cfg.run_id, chunks)?;
    let outcomes: Vec<(String, ChunkOutcome)> = combined
        .chunks
        .iter()
        .map(|c| (c.chunk.dataset.clone(), c.outcome.clone()))
        .collect();
    check_quarantine(out, &cfg.run_id, &outcomes, cfg.max_quarantined)?;
    // The status line shows the chunks merged (their rows and bytes) while the commit writes.
    let progress = crate::progress::global();
    progress.set_chunks(outcomes.len());
    for (_, o) in &outcomes {
        progress.rows(o.files.iter().map(|f| f.rows).sum());
        progress.chunk_done(o);
    }
    let range = Range {
        from: crate::plan::parse_bound("plan.from", &combined.plan.from)?,
        to: crate::plan::parse_bound("plan.to", &combined.plan.to)?,
    };
    commit(Commit {
        output: out,
        run_id: &cfg.run_id,
        started_at: combined.started_at,
        datasets: combined.plan.datasets.clone(),
        range,
        partitions: combined
            .chunks
            .iter()
            .filter_map(|c| c.partition.clone())
            .collect(),
        snapshots: combined
            .chunks
            .iter()
            .flat_map(|c| c.snapshots.clone())
            .collect(),
        outcomes,
        stage: &cfg.stage,
        snowflake: &cfg.snowflake,
        source: combined.source,
        divisions: combined.divisions,
        api: combined.api,
        seconds: combined.seconds,
        write_budget: None,
    })
    .await
}

/// The chunk manifests of one run, checked and in the order a whole run lists its chunks.
struct Combined {
    plan: PlanRef,
    chunks: Vec<ChunkManifest>,
    started_at: DateTime<Utc>,
    source: SourceInfo,
    divisions: DivisionReport,
    api: ApiStatsSnapshot,
    seconds: f64,
}

fn combine(run_id: &str, mut chunks: Vec<ChunkManifest>) -> Result<Combined> {
    if let Some(c) = chunks.iter().find(|c| c.run_id != run_id) {
        return Err(Error::Input(format!(
            "chunk manifest of {} belongs to run {}, not {run_id}",
            c.chunk.id, c.run_id
        )));
    }
    let plan = chunks[0].chunk.plan.clone();
    if let Some(c) = chunks.iter().find(|c| c.chunk.plan != plan) {
        return Err(Error::Input(format!(
            "chunk {} was planned for {} .. {} ({}), chunk {} for {} .. {} ({}): not one plan",
            chunks[0].chunk.id,
            plan.from,
            plan.to,
            plan.datasets.join(","),
            c.chunk.id,
            c.chunk.plan.from,
            c.chunk.plan.to,
            c.chunk.plan.datasets.join(",")
        )));
    }
    let mut seen = HashSet::new();
    let twice: Vec<&str> = chunks
        .iter()
        .filter(|c| !seen.insert(c.chunk.id.as_str()))
        .map(|c| c.chunk.id.as_str())
        .collect();
    if !twice.is_empty() {
        return Err(Error::Input(format!(
            "chunk(s) given more than once: {}",
            twice.join(", ")
        )));
    }
    if chunks.len() != plan.chunks {
        return Err(Error::Input(format!(
            "run {run_id} was planned as {} chunks and {} chunk manifest(s) were given: {} missing; run them (extract --chunk) first",
            plan.chunks,
            chunks.len(),
            plan.chunks.saturating_sub(chunks.len())
        )));
    }
    let order = |name: &str| {
        plan.datasets
            .iter()
            .position(|d| d == name)
            .unwrap_or(usize::MAX)
    };
    chunks.sort_by(|a, b| {
        (order(&a.chunk.dataset), &a.chunk.start, &a.chunk.id).cmp(&(
            order(&b.chunk.dataset),
            &b.chunk.start,
            &b.chunk.id,
        ))
    });
    let started_at = chunks
        .iter()
        .filter_map(|c| DateTime::parse_from_rfc3339(&c.started_at).ok())
        .map(|t| t.with_timezone(&Utc))
        .min()
        .unwrap_or_else(Utc::now);
    let divisions = one_division_scope(&chunks)?;
    let mut api = ApiStatsSnapshot::default();
    let mut source = chunks[0].source.clone();
    for c in &chunks {
        if source.data_availability.is_none() {
            source.data_availability = c.source.data_availability.clone();
        }
        let a = &c.api;
        api.requests += a.requests;
        api.token_requests += a.token_requests;
        api.retries += a.retries;
        api.rate_limited += a.rate_limited;
        api.server_errors += a.server_errors;
        api.unauthorized += a.unauthorized;
        api.downloads += a.downloads;
    }
    let seconds = chunks.iter().map(|c| c.seconds).sum();
    Ok(Combined {
        plan,
        chunks,
        started_at,
        source,
        divisions,
        api,
        seconds,
    })
}

/// Every chunk manifest of a run under `_chunks/<run_id>/`.
async fn list_chunk_manifests(output: &Output, run_id: &str) -> Result<Vec<String>> {
    use futures::TryStreamExt;
    use object_store::ObjectStore;
    let prefix = object_store::path::Path::from(format!("{CHUNK_DIR}/{run_id}"));
    let listed: Vec<_> = output
        .store
        .list(Some(&prefix))
        .try_collect()
        .await
        .map_err(|e| Error::storage(format!("{}/{prefix}", output.url), e))?;
    let mut paths: Vec<String> = listed
        .into_iter()
        .map(|m| m.location.to_string())
        .filter(|p| p.ends_with(".json"))
        .collect();
    paths.sort();
    Ok(paths)
}

/// A chunk manifest's path relative to the output root, from the relative path or the URL
/// `extract --chunk` printed.
fn relative_to(output: &Output, given: &str) -> Result<String> {
    let g = given.trim();
    let local = output.url.strip_prefix("file://");
    let rel = g
        .strip_prefix(&format!("{}/", output.url))
        .or_else(|| local.and_then(|l| g.strip_prefix(&format!("{l}/"))))
        .unwrap_or(g);
    if rel.contains("://") || rel.starts_with('/') || !rel.starts_with(&format!("{CHUNK_DIR}/")) {
        return Err(Error::Input(format!(
            "{given} is not a chunk manifest under {}/{CHUNK_DIR}/",
            output.url
        )));
    }
    Ok(rel.to_string())
}

/// The division scope the merged run's load applies to every partition: every chunk must have
/// run with the same one (each dataset's chunks the same coverage and scope). A chunk that
/// reached other divisions (a role changed during the
/// backfill, or a task given another `--division`) would make the load replace rows it did not
/// re-extract, or copy rows it did not delete; such chunks are refused, naming the first that
/// differs.
fn one_division_scope(chunks: &[ChunkManifest]) -> Result<DivisionReport> {
    let first = &chunks[0];
    let refuse = |a: &ChunkManifest, b: &ChunkManifest, what: &str| {
        Error::Input(format!(
            "chunks {} and {} of run {} differ in {what}: one load cannot replace both days' rows correctly; run those chunks again with the same divisions and roles",
            a.chunk.id, b.chunk.id, a.run_id
        ))
    };
    // Per dataset, the first chunk seen: its coverage and scope are the dataset's.
    let mut by_dataset: BTreeMap<&str, &ChunkManifest> = BTreeMap::new();
    for c in chunks {
        if c.divisions.requested != first.divisions.requested {
            return Err(refuse(first, c, "the divisions asked for"));
        }
        if c.divisions.allow_coverage_shrink != first.divisions.allow_coverage_shrink {
            return Err(refuse(first, c, "--allow-coverage-shrink"));
        }
        let same = by_dataset.entry(c.chunk.dataset.as_str()).or_insert(c);
        if same.divisions.coverage != c.divisions.coverage {
            return Err(refuse(same, c, "the divisions the client's roles reach"));
        }
        if same.divisions.scopes != c.divisions.scopes {
            return Err(refuse(
                same,
                c,
                "the divisions whose rows the load replaces",
            ));
        }
    }
    let mut divisions = first.divisions.clone();
    for c in chunks {
        for (dataset, scope) in &c.divisions.scopes {
            divisions
                .scopes
                .entry(dataset.clone())
                .or_insert_with(|| scope.clone());
        }
        if divisions.coverage.is_none() {
            divisions.coverage = c.divisions.coverage.clone();
        }
    }
    Ok(divisions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk_manifest(id: &str, run_id: &str, chunks: usize) -> ChunkManifest {
        let (dataset, partition) = id.split_once('/').unwrap();
        ChunkManifest {
            chunk_manifest_version: 1,
            run_id: run_id.into(),
            chunk: PlannedChunk {
                id: id.into(),
                dataset: dataset.into(),
                partition: partition.into(),
                start: format!("{partition}T00:00:00Z"),
                end: format!("{partition}T23:59:59Z"),
                method: "job".into(),
                estimated_requests: 6,
                run_id: run_id.into(),
                plan: PlanRef {
                    from: "2026-11-01T00:00:00Z".into(),
                    to: "2026-11-03T00:00:00Z".into(),
                    datasets: vec!["conversations".into(), "queues".into()],
                    chunks,
                },
            },
            started_at: "2026-11-03T01:00:00Z".into(),
            finished_at: "2026-11-03T01:00:05Z".into(),
            seconds: 5.0,
            partition: None,
            snapshots: Vec::new(),
            outcome: ChunkOutcome::default(),
            divisions: DivisionReport::default(),
            source: SourceInfo {
                api_url: "https://api".into(),
                data_availability: None,
                raw_runs: Vec::new(),
            },
            api: ApiStatsSnapshot {
                requests: 4,
                ..Default::default()
            },
        }
    }

    const RUN: &str = "20261103T010000Z-0123abcd";

    #[test]
    fn run_ids_are_checked() {
        assert_eq!(
            check_run_id("--run-id", RUN).unwrap(),
            NaiveDate::from_ymd_opt(2026, 11, 3).unwrap()
        );
        for bad in [
            "run-1",
            "20261103T010000Z-0123ABCD",
            "20261340T010000Z-0123abcd",
            "",
        ] {
            assert!(check_run_id("--run-id", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_merge_refuses_missing_duplicated_and_foreign_chunks() {
        let ok = || {
            vec![
                chunk_manifest("queues/2026-11-03", RUN, 3),
                chunk_manifest("conversations/2026-11-02", RUN, 3),
                chunk_manifest("conversations/2026-11-01", RUN, 3),
            ]
        };
        let c = combine(RUN, ok()).unwrap();
        let ids: Vec<&str> = c.chunks.iter().map(|c| c.chunk.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "conversations/2026-11-01",
                "conversations/2026-11-02",
                "queues/2026-11-03"
            ]
        );
        assert_eq!((c.api.requests, c.seconds), (12, 15.0));

        let mut missing = ok();
        missing.pop();
        let e = combine(RUN, missing).err().unwrap().to_string();
        assert!(
            e.contains("planned as 3 chunks") && e.contains("1 missing"),
            "{e}"
        );

        let mut twice = ok();
        twice[2] = chunk_manifest("conversations/2026-11-02", RUN, 3);
        let e = combine(RUN, twice).err().unwrap().to_string();
        assert!(
            e.contains("more than once: conversations/2026-11-02"),
            "{e}"
        );

        let mut foreign = ok();
        foreign[1] = chunk_manifest("conversations/2026-11-02", "20261103T010000Z-ffffffff", 3);
        let e = combine(RUN, foreign).err().unwrap().to_string();
        assert!(
            e.contains("belongs to run 20261103T010000Z-ffffffff"),
            "{e}"
        );

        let mut other_plan = ok();
        other_plan[0].chunk.plan.to = "2026-11-04T00:00:00Z".into();
        let e = combine(RUN, other_plan).err().unwrap().to_string();
        assert!(e.contains("not one plan"), "{e}");
    }
}
