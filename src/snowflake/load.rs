//! The run's Snowflake load script: `<out>/_manifests/<run_id>.sql`.
//!
//! One transaction for the whole run, so readers never see a conversation without its
//! participants, and a failure anywhere leaves the warehouse as it was:
//! - **fact tables** (partitioned by a date, e.g. `conversation_date`): delete the partitions
//!   of their dataset that the run covers (for a partial day, only the rows whose range column
//!   falls in the run's range),
//!   then `COPY INTO` exactly the run's files from the stage (at most 1,000 per statement, the
//!   `FILES=` limit). `FORCE=TRUE` loads the files even when load metadata remembers them (a
//!   re-run), which is safe because the delete removed their rows first.
//! - **dimension tables** (a full snapshot per run): empty the transient staging table, copy the
//!   snapshot into it, and `MERGE` it into the table by key, deduplicated first with
//!   `QUALIFY ROW_NUMBER() ... = 1` (MERGE with duplicate source keys is an error in Snowflake).
//! - **reconciliation**: per table, the rows the run loaded (`run_id` = this run) must equal the
//!   manifest's count; on a mismatch the check fails with a message naming the table and both
//!   counts, before `COMMIT`, so nothing of the run is committed.
//!
//! - **order guard**: `genesys_loaded_partitions` records which run last loaded each day (and
//!   each dimension); a script refuses to replace days that a *newer* run (run ids sort by start
//!   time) has already loaded, so re-running an old script (say, clearing an old Airflow load
//!   task) can never put older data over newer. Re-running the same script is fine.
//!
//! Run it with stop-on-error (snowsql `-o exit_on_error=true`, or one statement at a time from
//! Airflow): a statement that fails leaves the transaction open, and Snowflake rolls an open
//! transaction back when the session ends.

use std::sync::Arc;

use super::manifest::{Manifest, Partition};
use super::{ident, quote};
use crate::error::{Error, Result};
use crate::schema::{TableKind, TableSchema};

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

/// The partitions a run covers for one table: those of the table's dataset.
fn partitions_of<'a>(table: &TableSchema, manifest: &'a Manifest) -> Vec<&'a Partition> {
    manifest
        .partitions
        .iter()
        .filter(|p| p.dataset == table.dataset)
        .collect()
}

/// The WHERE clause that selects the rows the run replaces in one fact table.
fn delete_predicate(table: &TableSchema, partitions: &[&Partition]) -> Result<String> {
    let col = &table.partition_column;
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
                ident(column),
                list.join(", ")
            )
        }
        _ => replaced,
    })
}

/// `COPY INTO` statements for a list of files, at most 1,000 per statement.
fn copies(target: &str, stage: &str, files: &[&str]) -> String {
    let mut sql = String::new();
    for group in files.chunks(MAX_FILES_PER_COPY) {
        let list = group
            .iter()
            .map(|p| format!("    {}", quote(p)))
            .collect::<Vec<_>>()
            .join(",\n");
        sql.push_str(&format!(
            "COPY INTO {target}\n  FROM {stage}\n  FILES = (\n{list}\n  )\n  \
             FILE_FORMAT = (TYPE = PARQUET USE_VECTORIZED_SCANNER = TRUE)\n  \
             MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE\n  ON_ERROR = ABORT_STATEMENT\n  FORCE = TRUE;\n"
        ));
    }
    sql
}

/// A statement that fails, naming the table and both counts, unless `target` holds exactly
/// `expected` rows of this run.
fn reconcile(label: &str, target: &str, run_id: &str, expected: u64) -> String {
    format!(
        "SELECT IFF(loaded = {expected}, 'ok', TO_VARCHAR(TO_NUMBER('reconciliation failed: {label} loaded ' || loaded || ' rows of run {run_id}, the manifest lists {expected}'))) AS {label}_reconciled\n  \
         FROM (SELECT COUNT(*) AS loaded FROM {target} WHERE run_id = {});\n",
        quote(run_id)
    )
}

/// Renders the load script for a manifest; `tables` are the tables of the run's datasets.
pub fn script(manifest: &Manifest, tables: &[Arc<TableSchema>]) -> Result<String> {
    let names = Names {
        database: manifest.snowflake.database.clone(),
        schema: manifest.snowflake.schema.clone(),
    };
    let stage = names.stage(&stage_reference(&manifest.stage)?);
    let run_id = &manifest.run_id;
    let mut sql = format!(
        "-- genesys-loader {} load script for run {run_id}\n\
         -- Range: {} that started in [{}, {}).\n\
         -- Loads exactly the files listed in {}; safe to run again.\n\
         -- {stage} must point at the output root (the folder that holds _manifests/).\n\
         -- Run with stop-on-error: nothing is committed unless every statement succeeds.\n\n\
         BEGIN TRANSACTION;\n",
        manifest.tool.version,
        manifest.datasets.join(", "),
        manifest.range.from,
        manifest.range.to,
        Manifest::path(run_id),
    );
    let mut checks = String::new();
    for table in tables {
        let name = &table.table;
        let target = names.table(name);
        let rows = manifest.tables.get(name).map_or(0, |t| t.rows);
        let files: Vec<&str> = manifest
            .files
            .iter()
            .filter(|f| &f.table == name)
            .map(|f| f.path.as_str())
            .collect();
        match table.kind {
            TableKind::Fact => {
                let partitions = partitions_of(table, manifest);
                if partitions.is_empty() {
                    continue;
                }
                sql.push_str(&format!(
                    "\n-- {name}: replace {} partition(s) with {} file(s), {rows} row(s)\n",
                    partitions.len(),
                    files.len()
                ));
                sql.push_str(&format!(
                    "DELETE FROM {target}\n WHERE {};\n",
                    delete_predicate(table, &partitions)?
                ));
                sql.push_str(&copies(&target, &stage, &files));
                checks.push_str(&reconcile(name, &target, run_id, rows));
            }
            TableKind::Dimension => {
                if !manifest.snapshots.iter().any(|s| &s.table == name) {
                    continue;
                }
                let staging = names.table(&table.staging_table());
                let cols: Vec<String> = table.columns.iter().map(|c| ident(&c.name)).collect();
                let key = &table.primary_key;
                sql.push_str(&format!(
                    "\n-- {name}: merge a snapshot of {} file(s), {rows} row(s), by {}\n",
                    files.len(),
                    key.join(", ")
                ));
                sql.push_str(&format!("DELETE FROM {staging};\n"));
                sql.push_str(&copies(&staging, &stage, &files));
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
                sql.push_str(&format!(
                    "MERGE INTO {target} AS t\n  USING (\n    SELECT * FROM {staging} WHERE run_id = {}\n    \
                     QUALIFY ROW_NUMBER() OVER (PARTITION BY {} ORDER BY {} DESC) = 1\n  ) AS s\n  \
                     ON {on}\n  WHEN MATCHED THEN UPDATE SET {set}\n  \
                     WHEN NOT MATCHED THEN INSERT ({}) VALUES ({values});\n",
                    quote(run_id),
                    key.join(", "),
                    table.partition_column,
                    cols.join(", "),
                ));
                checks.push_str(&reconcile(name, &staging, run_id, rows));
            }
        }
    }
    if let Some((guard, record)) = order_guard(manifest, tables, &names) {
        // The guard goes first, so a refused script changes nothing.
        let at = sql
            .find("BEGIN TRANSACTION;\n")
            .map(|i| i + "BEGIN TRANSACTION;\n".len())
            .unwrap_or(0);
        sql.insert_str(at, &guard);
        sql.push_str(&record);
    }
    if !checks.is_empty() {
        sql.push_str(
            "\n-- Reconciliation: each table holds exactly the manifest's rows of this run.\n",
        );
        sql.push_str(&checks);
    }
    sql.push_str("\nCOMMIT;\n");
    Ok(sql)
}

/// The statements that refuse a run older than the last one to load its partitions, and that
/// record this run as the last one.
fn order_guard(
    manifest: &Manifest,
    tables: &[Arc<TableSchema>],
    names: &Names,
) -> Option<(String, String)> {
    let loads = names.table(LOADS_TABLE);
    let run = quote(&manifest.run_id);
    let mut scopes = Vec::new();
    let mut rows = Vec::new();
    let fact_datasets: std::collections::BTreeSet<&str> = tables
        .iter()
        .filter(|t| t.kind == TableKind::Fact)
        .map(|t| t.dataset.as_str())
        .collect();
    for dataset in fact_datasets {
        let partitions: Vec<&Partition> = manifest
            .partitions
            .iter()
            .filter(|p| p.dataset == dataset)
            .collect();
        if partitions.is_empty() {
            continue;
        }
        let days: Vec<String> = partitions
            .iter()
            .map(|p| format!("DATE {}", quote(&p.value)))
            .collect();
        scopes.push(format!(
            "(dataset = {} AND partition_value IN ({}))",
            quote(dataset),
            days.join(", ")
        ));
        rows.extend(
            partitions
                .iter()
                .map(|p| (dataset.to_string(), p.value.clone())),
        );
    }
    for snap in &manifest.snapshots {
        if let Some(t) = tables.iter().find(|t| t.table == snap.table) {
            // Any newer snapshot of a dimension is newer data, whatever its date.
            scopes.push(format!("(dataset = {})", quote(&t.dataset)));
            rows.push((t.dataset.clone(), snap.value.clone()));
        }
    }
    if scopes.is_empty() {
        return None;
    }
    let scope = scopes.join("\n      OR ");
    let guard = format!(
        "\n-- Order guard: refuse to replace days that a newer run has already loaded.\n\
         SELECT IFF(newer = 0, 'ok', TO_VARCHAR(TO_NUMBER('refusing to load run {id}: the newer run ' || latest || ' already loaded ' || newer || ' of its partitions; load that run or a newer one'))) AS order_guard\n  \
         FROM (SELECT COUNT(*) AS newer, MAX(run_id) AS latest FROM {loads}\n    \
         WHERE run_id > {run} AND ({scope}));\n",
        id = manifest.run_id,
    );
    let values: Vec<String> = rows
        .iter()
        .map(|(d, day)| {
            format!(
                "  ({}, DATE {}, {run}, CURRENT_TIMESTAMP())",
                quote(d),
                quote(day)
            )
        })
        .collect();
    let record = format!(
        "\n-- Record this run as the last to load its partitions.\n\
         DELETE FROM {loads}\n WHERE {scope};\n\
         INSERT INTO {loads} (dataset, partition_value, run_id, loaded_at) VALUES\n{};\n",
        values.join(",\n")
    );
    Some((guard, record))
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
        Manifest {
            manifest_version: MANIFEST_VERSION,
            run_id: "r".into(),
            tool: Tool {
                name: "genesys-loader".into(),
                version: "0".into(),
            },
            started_at: String::new(),
            finished_at: String::new(),
            datasets: vec!["conversations".into()],
            range: RangeInfo {
                from: "2026-11-01T00:00:00Z".into(),
                to: "2026-11-02T06:00:00Z".into(),
            },
            partitions,
            snapshots: Vec::new(),
            tables: Default::default(),
            files,
            stage: "genesys_stage".into(),
            snowflake: SnowflakeTarget::default(),
            load_script: String::new(),
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
        let sql = delete_predicate(&tables[1], &[&p]).unwrap();
        assert_eq!(
            sql,
            "(conversation_date IN (DATE '2026-11-01'))\n   AND conversation_id NOT IN ('c-bad')"
        );
    }

    #[test]
    fn copies_are_split_at_a_thousand_files() {
        let tables = Catalog::builtin().dataset_tables("conversations");
        let sql = script(&manifest(2500, false), &tables).unwrap();
        assert_eq!(sql.matches("COPY INTO segments").count(), 3);
        assert_eq!(sql.matches("COPY INTO conversations").count(), 0);
        assert_eq!(
            sql.matches("DELETE FROM").count(),
            16,
            "15 tables and the load record"
        );
        assert_eq!(sql.matches("_reconciled").count(), 15);
        let guard = sql.find("AS order_guard").unwrap();
        assert!(
            guard < sql.find("DELETE FROM conversations").unwrap(),
            "the guard runs before any change"
        );
        assert!(sql.contains("INSERT INTO genesys_loaded_partitions (dataset, partition_value, run_id, loaded_at) VALUES"));
        assert!(sql.contains("conversation_date IN (DATE '2026-11-01', DATE '2026-11-02')"));
        assert!(sql.starts_with("-- genesys-loader") && sql.trim_end().ends_with("COMMIT;"));
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
        assert!(sql.contains("COPY INTO RAW.GENESYS.segments\n  FROM @RAW.GENESYS.genesys_stage"));
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
