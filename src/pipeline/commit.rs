//! The commit: totals, the load script and its steps, then the manifest, written last and
//! once.

use super::*;

/// Everything the commit step needs.
pub(super) struct Commit<'a> {
    pub(super) output: &'a Output,
    pub(super) run_id: &'a str,
    pub(super) started_at: DateTime<Utc>,
    pub(super) datasets: Vec<String>,
    pub(super) range: Range,
    pub(super) partitions: Vec<Partition>,
    pub(super) snapshots: Vec<Snapshot>,
    /// Each chunk's outcome, with its dataset's name.
    pub(super) outcomes: Vec<(String, ChunkOutcome)>,
    pub(super) stage: &'a str,
    pub(super) snowflake: &'a SnowflakeTarget,
    pub(super) source: SourceInfo,
    pub(super) divisions: DivisionReport,
    pub(super) api: crate::genesys::stats::ApiStatsSnapshot,
    /// Seconds the run worked (wall time of one process, or the chunks' sum for a merge).
    pub(super) seconds: f64,
    /// The write budget of the process that wrote the run's files (none for a merge, which
    /// writes none): its peak is logged, so an operator sizing `--write-buffer-mb` sees how
    /// much of it the run used.
    pub(super) write_budget: Option<&'a crate::sink::WriteBudget>,
}

/// Totals, the load script, then the manifest, written last.
pub(super) async fn commit(c: Commit<'_>) -> Result<RunSummary> {
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
    stats.chunks = c.outcomes.len() as u64;
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
            stats.rows += f.rows;
            stats.bytes += f.bytes;
            files.push(f);
        }
    }
    files.sort_by(|a, b| (&a.table, &a.path).cmp(&(&b.table, &b.path)));
    stats.seconds = (c.seconds * 1000.0).round() / 1000.0;
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
        write_buffer_peak_mb = c.write_budget.map(|b| mib(b.peak())),
        write_buffer_mb = c.write_budget.map(|b| mib(b.limit())),
        "run committed"
    );
    Ok(RunSummary {
        manifest_url: format!("{}/{}", c.output.url, Manifest::path(c.run_id)),
        script_url: format!("{}/{}", c.output.url, Manifest::script_path(c.run_id)),
        manifest,
    })
}

/// Bytes as MiB with one decimal, for logs.
fn mib(bytes: usize) -> f64 {
    (bytes as f64 / (1024.0 * 1024.0) * 10.0).round() / 10.0
}
