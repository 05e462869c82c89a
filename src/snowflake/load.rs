//! The run's Snowflake load script, `<out>/_manifests/<run_id>.sql`, and its steps as plain
//! statements, `<out>/_manifests/<run_id>.steps.jsonl`: both rendered from one [`Plan`] (see
//! [`super::steps`]), so what the fakesnow proof runs is what the script runs.
//!
//! The session time zone is set to UTC first (the vectorized scanner reads UTC-adjusted Parquet
//! timestamps as TIMESTAMP_LTZ, which land in TIMESTAMP_TZ columns with the session's offset).
//! Then one transaction for the whole run, so readers never see a conversation without its
//! participants, and a failure anywhere leaves the warehouse as it was:
//! - **order guard**, first: `genesys_loaded_partitions` records which run last loaded each day
//!   (and each dimension); a script refuses to replace days that a *newer* run (run ids sort by
//!   start time) has already loaded, so re-running an old script (say, clearing an old Airflow
//!   load task) can never put older data over newer. Re-running the same script is fine.
//! - **coverage guard**: the record also keeps the divisions the loading client reached; a run
//!   that does not reach a division it meant to cover (every division, or those it asked for)
//!   is refused when the run that last loaded the same days reached it, unless it was made with
//!   `--allow-coverage-shrink`. So is a run that could not tell what it reached, after one that
//!   could.
//! - **fact tables** (partitioned by a date, e.g. `conversation_date`): the rows of the
//!   partitions the run covers (for a partial day, only the rows whose range column falls in
//!   the run's range) are replaced by exactly the run's files, `COPY INTO` at most 1,000 per
//!   statement (the `FILES=` limit). `FORCE=TRUE` loads the files even when load metadata
//!   remembers them (a re-run), which is safe because their rows were deleted first. When the
//!   run holds only some divisions' rows (`--division`, or a client that does not reach every
//!   division), only the rows of those divisions are replaced: the root table's rows whose
//!   division column (`division_ids`) holds one of them, the child tables' rows of the same
//!   keys, and older copies of the keys the run loaded again. A dataset whose rows carry no
//!   division is replaced whole, and only by a run that asked for no division.
//! - **dimension tables** (a full snapshot per run): empty the transient staging table, copy the
//!   snapshot into it, and `MERGE` it into the table by key, deduplicated first with
//!   `QUALIFY ROW_NUMBER() ... = 1` (MERGE with duplicate source keys is an error in Snowflake).
//! - every COPY is a transformation listing every column (`$1:"name"`), so that JSON text
//!   columns load as objects and arrays through `PARSE_JSON` (loaded as is, Parquet text lands
//!   in a VARIANT as a JSON string).
//! - **reconciliation**: per table, the rows the run loaded (`run_id` = this run) must equal the
//!   manifest's count, or the load raises, before `COMMIT`, and nothing of the run is committed.

use std::sync::Arc;

use super::manifest::{DivisionScope, Manifest, Partition};
use super::steps::{Assertions, Plan, Step};
use super::{ident, quote};
use crate::error::{Error, Result};
use crate::schema::{ColumnType, TableKind, TableSchema};

/// Snowflake's limit on names in one `FILES=(...)` list.
pub const MAX_FILES_PER_COPY: usize = 1000;

/// The table recording which run last loaded each partition (created by `ddl`).
pub const LOADS_TABLE: &str = "genesys_loaded_partitions";

/// Normalises and checks a stage reference (`genesys_stage`, `@db.schema.stage`, `@stage/path`).
pub fn stage_reference(stage: &str) -> Result<String> {
    let s = stage.trim();
    let s = s.strip_prefix('@').unwrap_or(s);
    let ok = !s.is_empty()
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '$' | '/' | '"' | '-' | '%' | '~')
        });
    if !ok {
        return Err(Error::Input(format!(
            "--stage {stage:?} is not a stage name (expected e.g. @genesys_stage or @db.schema.stage)"
        )));
    }
    Ok(format!("@{}", s.trim_end_matches('/')))
}

/// Checks an unquoted Snowflake identifier (database or schema name).
pub fn identifier(flag: &str, name: &str) -> Result<String> {
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if ok {
        Ok(name.to_string())
    } else {
        Err(Error::Input(format!(
            "{flag} {name:?} is not an unquoted Snowflake identifier (letters, digits, _ and $)"
        )))
    }
}

/// Qualifies object names with the target database and schema, when given.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub database: Option<String>,
    pub schema: Option<String>,
}

impl Names {
    pub fn table(&self, name: &str) -> String {
        match (&self.database, &self.schema) {
            (Some(d), Some(s)) => format!("{d}.{s}.{name}"),
            (None, Some(s)) => format!("{s}.{name}"),
            _ => name.to_string(),
        }
    }

    /// A stage given without a schema lives next to the tables.
    pub fn stage(&self, stage: &str) -> String {
        let bare = stage.trim_start_matches('@');
        let name_part = bare.split('/').next().unwrap_or(bare);
        if name_part.contains('.') {
            format!("@{bare}")
        } else {
            format!("@{}", self.table(bare))
        }
    }
}

/// Session settings the script makes before its block.
pub const SESSION: &[&str] = &["ALTER SESSION SET TIMEZONE = 'UTC'"];

/// The partitions a run covers in one dataset's tables.
fn partitions_of<'a>(dataset: &str, manifest: &'a Manifest) -> Vec<&'a Partition> {
    manifest
        .partitions
        .iter()
        .filter(|p| p.dataset == dataset)
        .collect()
}

/// The rows of `partitions` in a table: whole days by the partition column, a partial day by
/// its range column too. `alias` qualifies the columns.
fn partition_predicate(
    table: &TableSchema,
    partitions: &[&Partition],
    alias: Option<&str>,
) -> Result<String> {
    let q = |c: &str| match alias {
        Some(a) => format!("{a}.{}", ident(c)),
        None => ident(c),
    };
    let col = q(&table.partition_column);
    let full: Vec<String> = partitions
        .iter()
        .filter(|p| p.full_day)
        .map(|p| format!("DATE {}", quote(&p.value)))
        .collect();
    let mut terms = Vec::new();
    if !full.is_empty() {
        terms.push(format!("{col} IN ({})", full.join(", ")));
    }
    for p in partitions.iter().filter(|p| !p.full_day) {
        let Some(at) = &table.range_column else {
            return Err(Error::Schema {
                table: table.table.clone(),
                message: "a partial-day reload needs a range_column".into(),
            });
        };
        let at = q(at);
        terms.push(format!(
            "({col} = DATE {} AND {at} >= {}::TIMESTAMP_TZ AND {at} < {}::TIMESTAMP_TZ)",
            quote(&p.value),
            quote(&p.from),
            quote(&p.to)
        ));
    }
    let replaced = terms.join("\n   OR ");
    // Records the run quarantined keep their earlier rows: the run has nothing to put back.
    let mut kept: Vec<&str> = Vec::new();
    let mut kept_column = None;
    for k in partitions.iter().filter_map(|p| p.keep.as_ref()) {
        if table.column(&k.column).is_some() {
            kept_column = Some(k.column.as_str());
            kept.extend(k.values.iter().map(String::as_str));
        }
    }
    Ok(match kept_column {
        Some(column) if !kept.is_empty() => {
            let list: Vec<String> = kept.iter().map(|v| quote(v)).collect();
            format!(
                "({replaced})\n   AND {} NOT IN ({})",
                q(column),
                list.join(", ")
            )
        }
        _ => replaced,
    })
}

/// Items joined by `, `, wrapped before `width` columns; the first line starts at column
/// `start`, the others after `indent`.
fn wrapped(items: &[String], start: usize, indent: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = start;
    for (i, item) in items.iter().enumerate() {
        let piece = if i + 1 < items.len() {
            format!("{item},")
        } else {
            item.clone()
        };
        if i > 0 {
            if line + 1 + piece.len() > width {
                out.push('\n');
                out.push_str(indent);
                line = indent.len();
            } else {
                out.push(' ');
                line += 1;
            }
        }
        out.push_str(&piece);
        line += piece.len();
    }
    out
}

/// `COPY INTO` statements for a list of files, at most 1,000 per statement. Each is a
/// transformation naming every column: `$1:"name"` reads the Parquet column of that exact
/// (lower-case) name, and JSON text goes through `PARSE_JSON`, so it lands as an object or an
/// array rather than a string.
fn copies(target: &str, table: &TableSchema, stage: &str, files: &[&str]) -> Vec<String> {
    let columns: Vec<String> = table.columns.iter().map(|c| ident(&c.name)).collect();
    let values: Vec<String> = table
        .columns
        .iter()
        .map(|c| {
            let field = format!("$1:\"{}\"", c.name);
            if c.ty == ColumnType::Json {
                format!("PARSE_JSON({field}::VARCHAR)")
            } else {
                field
            }
        })
        .collect();
    let columns = wrapped(&columns, 4, "    ", 96);
    let values = wrapped(&values, 11, "           ", 96);
    files
        .chunks(MAX_FILES_PER_COPY)
        .map(|group| {
            let list = group
                .iter()
                .map(|p| format!("    {}", quote(p)))
                .collect::<Vec<_>>()
                .join(",\n");
            format!(
                "COPY INTO {target} (\n    {columns}\n  )\n  FROM (\n    SELECT {values}\n      FROM {stage}\n  )\n  \
                 FILES = (\n{list}\n  )\n  \
                 FILE_FORMAT = (TYPE = PARQUET USE_VECTORIZED_SCANNER = TRUE)\n  \
                 ON_ERROR = ABORT_STATEMENT\n  FORCE = TRUE"
            )
        })
        .collect()
}

/// What the plan is built with.
struct Builder<'a> {
    manifest: &'a Manifest,
    names: Names,
    stage: String,
    /// The run id as a SQL literal.
    run: String,
    asserts: Assertions,
    steps: Vec<Step>,
}

impl<'a> Builder<'a> {
    fn dml(&mut self, sql: String, note: Option<String>) {
        self.steps.push(Step::Dml { sql, note });
    }

    fn files(&self, table: &str) -> Vec<&'a str> {
        let manifest: &'a Manifest = self.manifest;
        manifest
            .files
            .iter()
            .filter(|f| f.table == table)
            .map(|f| f.path.as_str())
            .collect()
    }

    fn rows(&self, table: &str) -> u64 {
        self.manifest.tables.get(table).map_or(0, |t| t.rows)
    }

    /// A division's name, from what the run reported, with its id.
    fn division_name(&self, id: &str) -> String {
        let d = &self.manifest.divisions;
        d.requested
            .iter()
            .chain(
                d.coverage
                    .iter()
                    .flat_map(|c| c.divisions.iter().chain(&c.missing)),
            )
            .chain(d.scopes.values().flat_map(|s| s.unreached.iter()))
            .find(|d| d.id == id)
            .map_or_else(|| id.to_string(), |d| format!("{} ({id})", d.name))
    }

    /// Deletes, then copies, every partition of a fact dataset's tables.
    fn replace_whole(
        &mut self,
        tables: &[&Arc<TableSchema>],
        partitions: &[&Partition],
        why: &str,
    ) -> Result<()> {
        for (i, table) in tables.iter().enumerate() {
            let target = self.names.table(&table.table);
            let files = self.files(&table.table);
            let mut note = format!(
                "{}: replace {} partition(s) with {} file(s), {} row(s)",
                table.table,
                partitions.len(),
                files.len(),
                self.rows(&table.table)
            );
            if i == 0 && !why.is_empty() {
                note.push_str(&format!("\n{why}"));
            }
            let predicate = partition_predicate(table, partitions, None)?;
            self.dml(
                format!("DELETE FROM {target}\n WHERE {predicate}"),
                Some(note),
            );
            for copy in copies(&target, table, &self.stage, &files) {
                self.dml(copy, None);
            }
        }
        Ok(())
    }

    /// Replaces only the rows of some divisions: those of the root table whose division column
    /// holds one of `ids`, and every table's rows of the same keys; then the older copies of
    /// the keys this run loaded again (a conversation whose divisions changed since).
    fn replace_divisions(
        &mut self,
        tables: &[&Arc<TableSchema>],
        partitions: &[&Partition],
        division_column: &str,
        ids: &[String],
    ) -> Result<()> {
        let root = tables[0];
        let [key] = root.primary_key.as_slice() else {
            return Err(Error::Schema {
                table: root.table.clone(),
                message: "replacing some divisions' rows needs a one-column key on the table that holds the division column".into(),
            });
        };
        if let Some(t) = tables.iter().find(|t| t.column(key).is_none()) {
            return Err(Error::Schema {
                table: t.table.clone(),
                message: format!(
                    "replacing some divisions' rows of {} needs the key {key} in every table of its dataset",
                    root.dataset
                ),
            });
        }
        let k = ident(key);
        let root_target = self.names.table(&root.table);
        let run = self.run.clone();
        // The keys whose rows the load replaces: those in the divisions, and those this run
        // loaded (after the root's COPY: the re-extracted keys, whatever their divisions were).
        let mut keys = Vec::new();
        if !ids.is_empty() {
            let list: Vec<String> = ids.iter().map(|i| quote(i)).collect();
            keys.push(format!(
                "{k} IN (SELECT s.{k} FROM {root_target} AS s, LATERAL FLATTEN(input => s.{}) AS f\n     \
                 WHERE ({}) AND f.value::VARCHAR IN ({}))",
                ident(division_column),
                partition_predicate(root, partitions, Some("s"))?,
                list.join(", ")
            ));
        }
        keys.push(format!(
            "{k} IN (SELECT r.{k} FROM {root_target} AS r\n     WHERE ({}) AND r.run_id = {run})",
            partition_predicate(root, partitions, Some("r"))?
        ));
        let keys = keys.join("\n    OR ");
        let names: Vec<String> = ids.iter().map(|i| self.division_name(i)).collect();
        let divisions = if names.is_empty() {
            "no division".to_string()
        } else {
            names.join(", ")
        };

        let root_predicate = partition_predicate(root, partitions, None)?;
        let files = self.files(&root.table);
        self.dml(
            format!("DELETE FROM {root_target}\n WHERE ({root_predicate}) AND run_id = {run}"),
            Some(format!(
                "{}: replace the rows of {divisions} in {} partition(s); the other divisions' rows stay.\n\
                 {}: {} file(s), {} row(s). First, the rows an earlier execution of this script loaded.",
                root.dataset,
                partitions.len(),
                root.table,
                files.len(),
                self.rows(&root.table)
            )),
        );
        for copy in copies(&root_target, root, &self.stage, &files) {
            self.dml(copy, None);
        }
        for (i, child) in tables[1..].iter().enumerate() {
            let target = self.names.table(&child.table);
            let predicate = partition_predicate(child, partitions, None)?;
            let note = (i == 0).then(|| {
                format!(
                    "The child tables' rows of the replaced keys: those of {divisions}, and those {} holds again.",
                    root.table
                )
            });
            self.dml(
                format!("DELETE FROM {target}\n WHERE ({predicate})\n   AND ({keys})"),
                note,
            );
        }
        self.dml(
            format!(
                "DELETE FROM {root_target}\n WHERE ({root_predicate}) AND run_id <> {run}\n   AND ({keys})"
            ),
            Some(format!(
                "The older {} rows of the replaced keys.",
                root.table
            )),
        );
        for child in &tables[1..] {
            let target = self.names.table(&child.table);
            let files = self.files(&child.table);
            let note = format!(
                "{}: {} file(s), {} row(s)",
                child.table,
                files.len(),
                self.rows(&child.table)
            );
            for (i, copy) in copies(&target, child, &self.stage, &files)
                .into_iter()
                .enumerate()
            {
                self.dml(copy, (i == 0).then(|| note.clone()));
            }
        }
        Ok(())
    }

    /// Copies a dimension snapshot into staging and merges it by key.
    fn merge_snapshot(&mut self, table: &TableSchema) {
        let name = &table.table;
        let target = self.names.table(name);
        let staging = self.names.table(&table.staging_table());
        let files = self.files(name);
        let cols: Vec<String> = table.columns.iter().map(|c| ident(&c.name)).collect();
        let key = &table.primary_key;
        self.dml(
            format!("DELETE FROM {staging}"),
            Some(format!(
                "{name}: merge a snapshot of {} file(s), {} row(s), by {}",
                files.len(),
                self.rows(name),
                key.join(", ")
            )),
        );
        for copy in copies(&staging, table, &self.stage, &files) {
            self.dml(copy, None);
        }
        let on = key
            .iter()
            .map(|k| format!("t.{k} = s.{k}"))
            .collect::<Vec<_>>()
            .join(" AND ");
        let set = cols
            .iter()
            .filter(|c| !key.iter().any(|k| *k == **c))
            .map(|c| format!("t.{c} = s.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let values = cols
            .iter()
            .map(|c| format!("s.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        self.dml(
            format!(
                "MERGE INTO {target} AS t\n  USING (\n    SELECT * FROM {staging} WHERE run_id = {}\n    \
                 QUALIFY ROW_NUMBER() OVER (PARTITION BY {} ORDER BY {} DESC) = 1\n  ) AS s\n  \
                 ON {on}\n  WHEN MATCHED THEN UPDATE SET {set}\n  \
                 WHEN NOT MATCHED THEN INSERT ({}) VALUES ({values})",
                self.run,
                key.join(", "),
                table.partition_column,
                cols.join(", "),
            ),
            None,
        );
    }
}

/// The tables of a run grouped by dataset, in their order (parents first).
fn by_dataset(tables: &[Arc<TableSchema>]) -> Vec<(&str, Vec<&Arc<TableSchema>>)> {
    let mut out: Vec<(&str, Vec<&Arc<TableSchema>>)> = Vec::new();
    for t in tables {
        match out.iter_mut().find(|(d, _)| *d == t.dataset) {
            Some((_, v)) => v.push(t),
            None => out.push((t.dataset.as_str(), vec![t])),
        }
    }
    out
}

/// `conversation-aggregates` → `conversation_aggregates`, for exception names.
fn name_part(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// The load of a manifest: `tables` are the tables of the run's datasets.
pub fn plan(manifest: &Manifest, tables: &[Arc<TableSchema>]) -> Result<Plan> {
    let names = Names {
        database: manifest.snowflake.database.clone(),
        schema: manifest.snowflake.schema.clone(),
    };
    let stage = names.stage(&stage_reference(&manifest.stage)?);
    let run_id = &manifest.run_id;
    let mut b = Builder {
        manifest,
        stage: stage.clone(),
        run: quote(run_id),
        names,
        asserts: Assertions::default(),
        steps: Vec::new(),
    };
    let loads = b.names.table(LOADS_TABLE);
    let grouped = by_dataset(tables);

    // What the run loads, per dataset: the partitions (a day of facts, or a dimension's
    // snapshot date) to record, and the record's scope.
    let mut records: Vec<(&str, Vec<String>, Option<&DivisionScope>)> = Vec::new();
    let mut scopes = Vec::new();
    for (dataset, ts) in &grouped {
        let scope = manifest.divisions.scopes.get(*dataset);
        if ts.iter().any(|t| t.kind == TableKind::Fact) {
            let days: Vec<String> = partitions_of(dataset, manifest)
                .iter()
                .map(|p| p.value.clone())
                .collect();
            if days.is_empty() {
                continue;
            }
            let list: Vec<String> = days.iter().map(|d| format!("DATE {}", quote(d))).collect();
            scopes.push(format!(
                "(dataset = {} AND partition_value IN ({}))",
                quote(dataset),
                list.join(", ")
            ));
            records.push((dataset, days, scope));
        } else {
            let snaps: Vec<String> = manifest
                .snapshots
                .iter()
                .filter(|s| ts.iter().any(|t| t.table == s.table))
                .map(|s| s.value.clone())
                .collect();
            if snaps.is_empty() {
                continue;
            }
            // Any newer snapshot of a dimension is newer data, whatever its date.
            scopes.push(format!("(dataset = {})", quote(dataset)));
            records.push((dataset, snaps, None));
        }
    }

    // Guards, before any change.
    if !scopes.is_empty() {
        let scope = scopes.join("\n      OR ");
        let guard = b.asserts.count(
            "newer_run_loaded".into(),
            format!(
                "refusing to load run {run_id}: a newer run already loaded some of its partitions (see {loads}); load that run or a newer one"
            ),
            &format!("FROM {loads}\n WHERE run_id > {} AND ({scope})", b.run),
            0,
            Some("Order guard: refuse to replace partitions that a newer run already loaded.".into()),
        )?;
        b.steps.push(Step::Guard(guard));
    }
    if !manifest.divisions.allow_coverage_shrink {
        for (dataset, days, scope) in &records {
            let Some(scope) = scope else { continue };
            let days: Vec<String> = days.iter().map(|d| format!("DATE {}", quote(d))).collect();
            let days = days.join(", ");
            if !scope.unreached.is_empty() {
                let named: Vec<String> = scope
                    .unreached
                    .iter()
                    .map(|d| format!("{} ({})", d.name, d.id))
                    .collect();
                let ids: Vec<String> = scope.unreached.iter().map(|d| quote(&d.id)).collect();
                let guard = b.asserts.count(
                    format!("coverage_shrank_{}", name_part(dataset)),
                    format!(
                        "refusing to load run {run_id}: its client does not reach {} for {dataset}, and the run that last loaded some of its days did; extract again with a client that reaches them, or with --allow-coverage-shrink to load without them",
                        named.join(", ")
                    ),
                    &format!(
                        "FROM {loads} AS l, LATERAL FLATTEN(input => l.divisions) AS f\n WHERE l.dataset = {} AND l.partition_value IN ({days})\n   AND f.value::VARCHAR IN ({})",
                        quote(dataset),
                        ids.join(", ")
                    ),
                    0,
                    Some(format!(
                        "Coverage guard: refuse to load {dataset} without divisions the last load of these days reached."
                    )),
                )?;
                b.steps.push(Step::Guard(guard));
            }
            if scope.reached.is_none() {
                let guard = b.asserts.count(
                    format!("coverage_unknown_{}", name_part(dataset)),
                    format!(
                        "refusing to load run {run_id}: it could not tell which divisions its client reaches for {dataset}, and the run that last loaded some of its days could; extract again once the client's roles are readable, or with --allow-coverage-shrink"
                    ),
                    &format!(
                        "FROM {loads}\n WHERE dataset = {} AND partition_value IN ({days}) AND divisions IS NOT NULL",
                        quote(dataset)
                    ),
                    0,
                    Some(format!(
                        "Coverage guard: this run could not read which divisions it reaches for {dataset}."
                    )),
                )?;
                b.steps.push(Step::Guard(guard));
            }
        }
    }

    // The changes.
    for (dataset, ts) in &grouped {
        let facts: Vec<&Arc<TableSchema>> = ts
            .iter()
            .copied()
            .filter(|t| t.kind == TableKind::Fact)
            .collect();
        if !facts.is_empty() {
            let partitions = partitions_of(dataset, manifest);
            if partitions.is_empty() {
                continue;
            }
            let replaces = manifest
                .divisions
                .scopes
                .get(*dataset)
                .and_then(|s| s.replaces.as_ref());
            match (replaces, &facts[0].division_column) {
                (Some(ids), Some(column)) => {
                    b.replace_divisions(&facts, &partitions, column, ids)?
                }
                (Some(_), None) if !manifest.divisions.requested.is_empty() => {
                    return Err(Error::Input(format!(
                        "{dataset}: its rows carry no division, so a run restricted to divisions cannot replace them without losing the others'; extract it without --division"
                    )));
                }
                (Some(ids), None) => {
                    let why = format!(
                        "Its rows carry no division: replaced whole, with what the {} division(s) this run reaches hold.",
                        ids.len()
                    );
                    b.replace_whole(&facts, &partitions, &why)?
                }
                (None, _) => b.replace_whole(&facts, &partitions, "")?,
            }
        }
        for t in ts.iter().filter(|t| t.kind == TableKind::Dimension) {
            if manifest.snapshots.iter().any(|s| s.table == t.table) {
                b.merge_snapshot(t);
            }
        }
    }

    // Record this run as the last to load its partitions, with the divisions it reached.
    if !records.is_empty() {
        b.dml(
            format!("DELETE FROM {loads}\n WHERE {}", scopes.join("\n    OR ")),
            Some("Record this run as the last to load its partitions, with the divisions it reached.".into()),
        );
        for (dataset, days, scope) in &records {
            let divisions = match scope.and_then(|s| s.reached.as_ref()) {
                Some(ids) => format!(
                    "ARRAY_CONSTRUCT({})",
                    ids.iter().map(|i| quote(i)).collect::<Vec<_>>().join(", ")
                ),
                None => "NULL".into(),
            };
            let rows: Vec<String> = days
                .iter()
                .map(|d| format!("      ({}, DATE {})", quote(dataset), quote(d)))
                .collect();
            b.dml(
                format!(
                    "INSERT INTO {loads} (dataset, partition_value, run_id, loaded_at, divisions)\n  \
                     SELECT column1, column2, {}, CURRENT_TIMESTAMP(), {divisions}\n    FROM VALUES\n{}",
                    b.run,
                    rows.join(",\n")
                ),
                None,
            );
        }
    }

    // Reconciliation: each table holds exactly the manifest's rows of this run.
    let mut loaded = Vec::new();
    for (dataset, ts) in &grouped {
        for t in ts {
            let target = match t.kind {
                TableKind::Fact if partitions_of(dataset, manifest).is_empty() => continue,
                TableKind::Dimension if !manifest.snapshots.iter().any(|s| s.table == t.table) => {
                    continue;
                }
                TableKind::Fact => b.names.table(&t.table),
                TableKind::Dimension => b.names.table(&t.staging_table()),
            };
            let rows = b.rows(&t.table);
            let note = loaded.is_empty().then(|| {
                "Reconciliation: each table holds exactly the manifest's rows of this run."
                    .to_string()
            });
            let check = b.asserts.count(
                format!("reconciliation_failed_{}", name_part(&t.table)),
                format!(
                    "reconciliation failed: {target} does not hold the {rows} rows of run {run_id} that the manifest lists"
                ),
                &format!("FROM {target} WHERE run_id = {}", b.run),
                rows,
                note,
            )?;
            b.steps.push(Step::Check(check));
            loaded.push(format!("{} {rows}", t.table));
        }
    }

    let mut header = vec![
        format!(
            "genesys-loader {} load script for run {run_id}",
            manifest.tool.version
        ),
        format!(
            "Range: {} that started in [{}, {}).",
            manifest.datasets.join(", "),
            manifest.range.from,
            manifest.range.to
        ),
        format!(
            "Loads exactly the files listed in {}; safe to run again.",
            Manifest::path(run_id)
        ),
        format!("{stage} must point at the output root (the folder that holds _manifests/)."),
    ];
    for (dataset, scope) in &manifest.divisions.scopes {
        if let Some(ids) = &scope.replaces {
            let names: Vec<String> = ids.iter().map(|i| b.division_name(i)).collect();
            header.push(format!(
                "Divisions: only {dataset} rows of {} are replaced.",
                if names.is_empty() {
                    "no division".to_string()
                } else {
                    names.join(", ")
                }
            ));
        }
    }
    header.extend(
        [
            "",
            "After the session settings, one statement: a Snowflake Scripting block that runs every",
            "step in one transaction and commits, or on any error rolls back and re-raises it, so",
            "nothing is committed unless every step succeeds, whatever the runner does after an error.",
            "Run the whole file (snowsql -f, the Python connector's execute_string, Airflow's",
            "SnowflakeHook.run). A refused guard or a failed check raises its own exception, named for",
            "what failed (newer_run_loaded, coverage_shrank_<dataset>, reconciliation_failed_<table>);",
            "its message names the table or dataset, the expected count and the run. For the figure",
            "found (the rows a table holds, the newer run's id), run the query just above its IF.",
        ]
        .map(String::from),
    );
    header.push(format!(
        "The same steps as plain statements, one a line: {}.",
        Manifest::steps_path(run_id)
    ));
    Ok(Plan {
        run_id: run_id.clone(),
        header,
        session: SESSION.iter().map(|s| s.to_string()).collect(),
        steps: b.steps,
        returns: format!("loaded run {run_id}: {}", loaded.join(", ")),
    })
}

/// Renders the load script for a manifest; `tables` are the tables of the run's datasets.
pub fn script(manifest: &Manifest, tables: &[Arc<TableSchema>]) -> Result<String> {
    super::steps::block(&plan(manifest, tables)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Catalog;
    use crate::sink::FileWritten;
    use crate::snowflake::manifest::*;

    fn partition(day: &str, from: &str, to: &str, full_day: bool) -> Partition {
        Partition {
            dataset: "conversations".into(),
            column: "conversation_date".into(),
            value: day.into(),
            from: from.into(),
            to: to.into(),
            full_day,
            method: "job".into(),
            keep: None,
        }
    }

    fn manifest(files: usize, partial: bool) -> Manifest {
        let partitions = vec![
            partition(
                "2026-11-01",
                "2026-11-01T00:00:00Z",
                "2026-11-02T00:00:00Z",
                true,
            ),
            partition(
                "2026-11-02",
                "2026-11-02T00:00:00Z",
                "2026-11-02T06:00:00Z",
                !partial,
            ),
        ];
        let files = (0..files)
            .map(|i| FileWritten {
                table: "segments".into(),
                path: format!("segments/conversation_date=2026-11-01/part-r-{i:05}.parquet"),
                partition: "2026-11-01".into(),
                rows: 1,
                bytes: 1,
                e_tag: None,
            })
            .collect();
        Manifest::for_test("r", partitions, files)
    }

    #[test]
    fn quarantined_records_keep_their_earlier_rows() {
        let tables = Catalog::builtin().dataset_tables("conversations");
        let mut p = partition(
            "2026-11-01",
            "2026-11-01T00:00:00Z",
            "2026-11-02T00:00:00Z",
            true,
        );
        p.keep = Some(crate::snowflake::manifest::KeptKeys {
            column: "conversation_id".into(),
            values: vec!["c-bad".into()],
        });
        let sql = partition_predicate(&tables[1], &[&p], None).unwrap();
        assert_eq!(
            sql,
            "(conversation_date IN (DATE '2026-11-01'))\n   AND conversation_id NOT IN ('c-bad')"
        );
    }

    #[test]
    fn copies_are_split_at_a_thousand_files() {
        let tables = Catalog::builtin().dataset_tables("conversations");
        let sql = script(&manifest(2500, false), &tables).unwrap();
        assert_eq!(sql.matches("COPY INTO segments (").count(), 3);
        assert_eq!(sql.matches("COPY INTO conversations").count(), 0);
        assert_eq!(
            sql.matches("DELETE FROM").count(),
            16,
            "15 tables and the load record"
        );
        assert_eq!(sql.matches("THEN RAISE reconciliation_failed_").count(), 15);
        let guard = sql.find("RAISE newer_run_loaded").unwrap();
        assert!(
            guard < sql.find("DELETE FROM conversations").unwrap(),
            "the guard runs before any change"
        );
        assert!(sql.contains(
            "INSERT INTO genesys_loaded_partitions (dataset, partition_value, run_id, loaded_at, divisions)"
        ));
        assert!(sql.contains("conversation_date IN (DATE '2026-11-01', DATE '2026-11-02')"));
        assert!(sql.starts_with("-- genesys-loader") && sql.trim_end().ends_with("$$;"));
    }

    /// Regression: guards raised an error through `IFF(cond, 'ok', TO_NUMBER('text'))`, which
    /// relies on lazy evaluation, and ran as loose statements inside BEGIN ... COMMIT, so a
    /// runner that carried on after a failed one committed the DELETE without the COPY.
    #[test]
    fn the_load_is_one_block_that_rolls_back_on_any_error() {
        let tables = Catalog::builtin().dataset_tables("conversations");
        let m = manifest(3, true);
        let plan = plan(&m, &tables).unwrap();
        let sql = crate::snowflake::steps::block(&plan).unwrap();
        assert!(!sql.contains("IFF(") && !sql.contains("TO_NUMBER"), "{sql}");

        // Only the session settings stand outside the block.
        let (outside, block) = sql.split_once("EXECUTE IMMEDIATE $$\n").unwrap();
        let statements: Vec<&str> = outside
            .lines()
            .filter(|l| !l.starts_with("--") && !l.trim().is_empty())
            .collect();
        assert_eq!(statements, ["ALTER SESSION SET TIMEZONE = 'UTC';"]);
        assert!(block.ends_with("END;\n$$;\n"), "{block}");

        // DECLARE: the counter and one exception per guard and check, numbered in order.
        let (declare, body) = block.split_once("\nBEGIN\n").unwrap();
        let mut declared = declare.lines();
        assert_eq!(declared.next(), Some("DECLARE"));
        assert_eq!(declared.next(), Some("  counted INTEGER DEFAULT 0;"));
        let assertions: Vec<&crate::snowflake::steps::Assertion> = plan
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::Guard(a) | Step::Check(a) => Some(a),
                Step::Dml { .. } => None,
            })
            .collect();
        assert_eq!(
            assertions.len(),
            1 + 15,
            "the order guard and a check per table"
        );
        for (a, line) in assertions.iter().zip(declared.by_ref()) {
            assert_eq!(
                line,
                format!(
                    "  {} EXCEPTION ({}, {});",
                    a.exception,
                    a.code,
                    quote(&a.message)
                )
            );
        }
        assert_eq!(declared.next(), None);

        // BEGIN TRANSACTION, every step in order, COMMIT, then the handler.
        assert!(body.starts_with("  BEGIN TRANSACTION;\n"), "{body}");
        let mut at = 0;
        for step in &plan.steps {
            let text = match step {
                Step::Dml { sql, .. } => format!("{};\n", indent(sql)),
                Step::Guard(a) | Step::Check(a) => format!(
                    "{};\n  IF (counted <> {}) THEN RAISE {}; END IF;\n",
                    indent(&a.sql.replacen(
                        "SELECT COUNT(*) ",
                        "SELECT COUNT(*) INTO :counted ",
                        1
                    )),
                    a.expected,
                    a.exception
                ),
            };
            let found = body[at..]
                .find(&text)
                .unwrap_or_else(|| panic!("step not found in order:\n{text}"));
            at += found + text.len();
        }
        let rest: String = body[at..].split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            rest.starts_with("COMMIT; RETURN 'loaded run r: ")
                && rest.ends_with("EXCEPTION WHEN OTHER THEN ROLLBACK; RAISE; END; $$;"),
            "{rest}"
        );
        // The guard comes before any change, the checks after all of them.
        assert!(matches!(plan.steps[0], Step::Guard(_)));
        let first_check = plan
            .steps
            .iter()
            .position(|s| matches!(s, Step::Check(_)))
            .unwrap();
        assert!(
            plan.steps[first_check..]
                .iter()
                .all(|s| matches!(s, Step::Check(_)))
        );
    }

    fn indent(sql: &str) -> String {
        sql.lines()
            .map(|l| format!("  {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Regression: Parquet text loaded into a VARIANT with MATCH_BY_COLUMN_NAME is a JSON
    /// string, not an object.
    #[test]
    fn json_columns_are_parsed_and_every_column_is_named() {
        let tables = Catalog::builtin().dataset_tables("conversations");
        let sql = script(&manifest(1, false), &tables).unwrap();
        assert!(!sql.contains("MATCH_BY_COLUMN_NAME"));
        let segments = Catalog::builtin().table("segments").unwrap();
        for c in &segments.columns {
            let field = format!("$1:\"{}\"", c.name);
            let expected = if c.ty == crate::schema::ColumnType::Json {
                format!("PARSE_JSON({field}::VARCHAR)")
            } else {
                field
            };
            assert!(
                sql.contains(&expected),
                "{} is not read as {expected}",
                c.name
            );
        }
        let copy = &sql[sql.find("COPY INTO segments (").unwrap()..];
        let listed = &copy[..copy.find(')').unwrap()];
        let listed: Vec<&str> = listed["COPY INTO segments (".len()..]
            .split(',')
            .map(str::trim)
            .collect();
        let want: Vec<String> = segments.columns.iter().map(|c| ident(&c.name)).collect();
        assert_eq!(listed, want);
        let users = Catalog::builtin().dataset_tables("users");
        let mut m = manifest(0, false);
        m.partitions.clear();
        m.datasets = vec!["users".into()];
        m.snapshots = vec![Snapshot {
            table: "users".into(),
            column: "snapshot_date".into(),
            value: "2026-11-24".into(),
        }];
        m.files = vec![FileWritten {
            table: "users".into(),
            path: "users/snapshot_date=2026-11-24/part-r-00000.parquet".into(),
            partition: "2026-11-24".into(),
            rows: 4,
            bytes: 1,
            e_tag: None,
        }];
        let sql = script(&m, &users).unwrap();
        assert!(
            sql.contains("\"AUTHORIZATION\""),
            "reserved names are quoted"
        );
        assert!(
            sql.contains("PARSE_JSON($1:\"authorization\"::VARCHAR)"),
            "{sql}"
        );
        assert!(sql.contains("PARSE_JSON($1:\"extra_fields\"::VARCHAR)"));
    }

    fn scoped(m: &mut Manifest, replaces: Option<&[&str]>, unreached: &[&str]) {
        let division = |id: &str| crate::genesys::access::Division {
            id: id.into(),
            name: format!("Name {id}"),
        };
        m.divisions.scopes.insert(
            "conversations".into(),
            DivisionScope {
                replaces: replaces.map(|r| r.iter().map(|s| s.to_string()).collect()),
                reached: Some(vec!["d1".into(), "d2".into()]),
                unreached: unreached.iter().map(|d| division(d)).collect(),
            },
        );
    }

    /// Regression: a run made with `--division X` deleted whole days, every division's rows.
    #[test]
    fn a_division_scoped_run_replaces_only_its_divisions_rows() {
        let tables = Catalog::builtin().dataset_tables("conversations");
        let mut m = manifest(1, false);
        scoped(&mut m, Some(&["d1"]), &[]);
        let sql = script(&m, &tables).unwrap();
        assert!(
            !sql.contains("DELETE FROM segments\n   WHERE conversation_date IN (DATE '2026-11-01', DATE '2026-11-02');"),
            "a whole-day delete:\n{sql}"
        );
        assert!(sql.contains(
            "conversation_id IN (SELECT s.conversation_id FROM conversations AS s, LATERAL FLATTEN(input => s.division_ids) AS f"
        ), "{sql}");
        assert!(sql.contains("AND f.value::VARCHAR IN ('d1'))"), "{sql}");
        let order = |needle: &str| {
            sql.find(needle)
                .unwrap_or_else(|| panic!("{needle}:\n{sql}"))
        };
        assert!(order("AND run_id = 'r';") < order("DELETE FROM segments\n"));
        assert!(order("DELETE FROM segments\n") < order("AND run_id <> 'r'"));
        assert!(order("AND run_id <> 'r'") < order("COPY INTO segments ("));
        assert!(
            sql.contains("ARRAY_CONSTRUCT('d1', 'd2')"),
            "the reach is recorded"
        );
        assert!(!sql.contains("RAISE coverage_shrank"), "nothing unreached");
        assert!(sql.contains("Divisions: only conversations rows of d1 are replaced."));
    }

    /// Regression: a client that lost a division replaced whole days with fewer rows.
    #[test]
    fn a_run_that_reaches_fewer_divisions_is_refused_unless_allowed() {
        let tables = Catalog::builtin().dataset_tables("conversations");
        let mut m = manifest(1, false);
        scoped(&mut m, Some(&["d1", "d2"]), &["d3"]);
        let sql = script(&m, &tables).unwrap();
        assert!(sql.contains(
            "coverage_shrank_conversations EXCEPTION (-20002, 'refusing to load run r: its client does not reach Name d3 (d3) for conversations"
        ), "{sql}");
        assert!(sql.contains("AND f.value::VARCHAR IN ('d3');\n  IF (counted <> 0) THEN RAISE coverage_shrank_conversations;"), "{sql}");
        assert!(
            sql.find("RAISE coverage_shrank_conversations").unwrap()
                < sql.find("DELETE FROM").unwrap()
        );
        m.divisions.allow_coverage_shrink = true;
        let sql = script(&m, &tables).unwrap();
        assert!(!sql.contains("RAISE coverage_shrank"), "{sql}");
        assert!(
            sql.contains("f.value::VARCHAR IN ('d1', 'd2'))"),
            "still only what it reached"
        );
    }

    #[test]
    fn a_run_that_cannot_tell_its_reach_is_refused_after_one_that_could() {
        let tables = Catalog::builtin().dataset_tables("conversations");
        let mut m = manifest(1, false);
        m.divisions
            .scopes
            .insert("conversations".into(), DivisionScope::default());
        let sql = script(&m, &tables).unwrap();
        assert!(sql.contains("AND divisions IS NOT NULL;\n  IF (counted <> 0) THEN RAISE coverage_unknown_conversations;"), "{sql}");
        assert!(
            sql.contains("CURRENT_TIMESTAMP(), NULL"),
            "nothing recorded as reached"
        );
        assert!(
            sql.contains("DELETE FROM segments\n   WHERE conversation_date IN"),
            "whole days"
        );
    }

    #[test]
    fn rows_without_a_division_are_replaced_whole_and_never_per_division() {
        let tables = Catalog::builtin().dataset_tables("conversation-aggregates");
        let mut m = manifest(0, false);
        for p in &mut m.partitions {
            p.dataset = "conversation-aggregates".into();
            p.column = "interval_date".into();
            p.full_day = true;
        }
        m.datasets = vec!["conversation-aggregates".into()];
        m.divisions.scopes.insert(
            "conversation-aggregates".into(),
            DivisionScope {
                replaces: Some(vec!["d1".into()]),
                reached: Some(vec!["d1".into()]),
                unreached: Vec::new(),
            },
        );
        let sql = script(&m, &tables).unwrap();
        assert!(
            sql.contains("DELETE FROM conversation_aggregates\n   WHERE interval_date IN"),
            "{sql}"
        );
        m.divisions.requested = vec![crate::genesys::access::Division {
            id: "d1".into(),
            name: "One".into(),
        }];
        let e = script(&m, &tables).unwrap_err().to_string();
        assert!(e.contains("extract it without --division"), "{e}");
    }

    #[test]
    fn partial_days_delete_only_the_covered_starts() {
        let tables = Catalog::builtin().dataset_tables("conversations");
        let sql = script(&manifest(1, true), &tables).unwrap();
        assert!(sql.contains(
            "(conversation_date = DATE '2026-11-02' AND conversation_start >= '2026-11-02T00:00:00Z'::TIMESTAMP_TZ AND conversation_start < '2026-11-02T06:00:00Z'::TIMESTAMP_TZ)"
        ), "{sql}");
    }

    #[test]
    fn names_are_qualified_with_database_and_schema() {
        let tables = Catalog::builtin().dataset_tables("conversations");
        let mut m = manifest(1, false);
        m.snowflake = SnowflakeTarget {
            database: Some("RAW".into()),
            schema: Some("GENESYS".into()),
        };
        let sql = script(&m, &tables).unwrap();
        assert!(sql.contains("DELETE FROM RAW.GENESYS.segments"));
        assert!(sql.contains("COPY INTO RAW.GENESYS.segments ("));
        assert!(sql.contains("      FROM @RAW.GENESYS.genesys_stage\n"));
        let names = Names {
            database: Some("A".into()),
            schema: Some("B".into()),
        };
        assert_eq!(names.stage("@other.sch.stg/sub"), "@other.sch.stg/sub");
    }

    #[test]
    fn dimensions_merge_a_deduplicated_snapshot() {
        let tables = Catalog::builtin().dataset_tables("divisions");
        let mut m = manifest(0, false);
        m.partitions.clear();
        m.snapshots = vec![Snapshot {
            table: "divisions".into(),
            column: "snapshot_date".into(),
            value: "2026-11-24".into(),
        }];
        m.files = vec![FileWritten {
            table: "divisions".into(),
            path: "divisions/snapshot_date=2026-11-24/part-r-00000.parquet".into(),
            partition: "2026-11-24".into(),
            rows: 4,
            bytes: 1,
            e_tag: None,
        }];
        let sql = script(&m, &tables).unwrap();
        assert!(sql.contains("DELETE FROM divisions_staging;"));
        assert!(sql.contains("COPY INTO divisions_staging"));
        assert!(sql.contains(
            "QUALIFY ROW_NUMBER() OVER (PARTITION BY id ORDER BY snapshot_date DESC) = 1"
        ));
        assert!(sql.contains("ON t.id = s.id"));
        assert!(!sql.contains("t.id = s.id, "), "the key is not updated");
        assert!(sql.contains("FROM divisions_staging WHERE run_id = 'r'"));
    }

    #[test]
    fn stage_names_and_identifiers_are_checked() {
        assert_eq!(stage_reference("genesys_stage").unwrap(), "@genesys_stage");
        assert_eq!(stage_reference("@db.sch.stg/").unwrap(), "@db.sch.stg");
        assert!(stage_reference("x; DROP TABLE t").is_err());
        assert!(stage_reference("@").is_err());
        assert!(identifier("--schema", "GENESYS_RAW").is_ok());
        assert!(identifier("--schema", "1abc").is_err());
        assert!(identifier("--database", "a;b").is_err());
    }
}
