//! `rebuild`: the same decode, write and commit path, fed from the raw zone instead of the
//! API; only the pages of the newest committed run of each day are trusted.

use super::*;
use crate::snowflake::ManifestLog;

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
    let datasets = datasets::resolve_named("--dataset", &cfg.datasets)?;
    // Only committed runs are trusted: pages of a run that was killed or failed (no manifest)
    // or that covered part of a day would replace good rows with fewer.
    // Read newest first, and only as far back as the days asked for need.
    let mut committed = ManifestLog::list(&cfg.output).await?;
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
            let newest = committed
                .newest(|m| {
                    m.partitions
                        .iter()
                        .find(|p| {
                            p.dataset == ds.spec().name && p.value == day && p.method != "raw"
                        })
                        .map(|p| (m.run_id.clone(), p.full_day))
                })
                .await?;
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
    let divisions = rebuilt_scope(&mut committed, &sources).await?;
    let sink = Arc::new(
        ChunkSink::new(&cfg.output, &run_id, 0, &cfg.writer, false)
            .with_max_quarantined(cfg.max_quarantined),
    );
    crate::progress::global().set_chunks(sources.len());
    let mut raw_runs: Vec<String> = sources.iter().map(|(_, _, r, _)| r.clone()).collect();
    raw_runs.sort();
    raw_runs.dedup();
    // Each day is a task of its own, so the days' Parquet encoding (which runs where the day's
    // pages are consumed) spreads over the runtime's workers instead of sharing the one thread
    // that polls the run (benches/profile.md, "Tenth round"). A day that finishes starts the
    // next at once, even while an earlier day is still writing its last row groups (`schedule`).
    let outcomes =
        super::schedule::in_any_order(sources, cfg.concurrency, |(ds, chunk, _, pages)| {
            rebuild_day(ds, chunk, pages, sink.clone(), cfg.output.clone())
        })
        .await
        .into_iter()
        .collect::<Result<Vec<_>>>()?;
    check_quarantine(&cfg.output, &run_id, &outcomes, cfg.max_quarantined)?;
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
        seconds: clock.elapsed().as_secs_f64(),
        write_budget: Some(&cfg.writer.budget),
    })
    .await
}

/// One day re-derived from its raw `pages`: read and decompressed in order, decoded and written
/// by `sink` as a task of its own.
fn rebuild_day(
    ds: &'static dyn Dataset,
    chunk: Chunk,
    pages: Vec<String>,
    sink: Arc<ChunkSink>,
    output: Output,
) -> ChunkTask<(String, ChunkOutcome)> {
    ChunkTask::spawn(ds.spec().name, async move {
        let (tx, rx) = mpsc::channel::<Page>(PAGE_BUFFER);
        let store = &output;
        let read = async move {
            let mut n = 0u64;
            for path in &pages {
                let data = store.get(path).await?;
                let loc = format!("{}/{path}", store.url);
                let body = tokio::task::spawn_blocking(move || raw::decompress(&loc, &data))
                    .await
                    .map_err(|e| Error::Storage {
                        location: path.clone(),
                        message: e.to_string(),
                    })??;
                // The items are read in place, found as they are parsed (a rebuild
                // reads no other field of a page); the page keeps no second copy for
                // the raw zone (a rebuild writes no raw pages).
                let page = Page::whole(path, Bytes::from(body));
                n += paging::send_page(&tx, page).await?;
            }
            Ok::<u64, Error>(n)
        };
        let (read, outcome) = tokio::join!(read, sink.consume(ds, &chunk, rx));
        let mut outcome = outcome?;
        // A page that could not be read ends the chunk early; the files written from
        // the pages before it would be left behind, referred to by nothing.
        outcome.pages = match read {
            Ok(n) => n,
            Err(e) => {
                PartitionWriter::discard(&output, &outcome.files).await;
                return Err(e);
            }
        };
        crate::progress::global().chunk_done(&outcome);
        Ok::<_, Error>((ds.spec().name.to_string(), outcome))
    })
}

/// The division scope of rebuilt days: that of the runs whose raw pages they are re-derived
/// from (their manifests say it), which must agree per dataset. A rebuild replaces no more
/// than those runs extracted.
async fn rebuilt_scope(
    committed: &mut ManifestLog<'_>,
    sources: &[(&'static dyn Dataset, Chunk, String, Vec<String>)],
) -> Result<DivisionReport> {
    let mut report = DivisionReport::default();
    for (ds, chunk, run, _) in sources {
        if !ds.spec().division_scoped {
            continue;
        }
        let unreadable = |why: String| {
            Error::Input(format!(
                "the raw pages of {} for {} come from run {run}, whose manifest cannot be read ({why}): which divisions they hold is unknown, so rebuilding them could replace other divisions' rows",
                ds.spec().name,
                chunk.partition
            ))
        };
        let source = match committed.get(run).await {
            Ok(Some(m)) => &m.divisions,
            Ok(None) => return Err(unreadable(format!("no {}", Manifest::path(run)))),
            Err(e) => return Err(unreadable(e.to_string())),
        };
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
