//! The run's Snowflake load script: `<out>/_manifests/<run_id>.sql`.
//!
//! One transaction for the whole run: for each table, delete the partitions the run covers,
//! then `COPY INTO` exactly the run's files from the stage (at most 1,000 per statement, the
//! `FILES=` limit). `FORCE=TRUE` makes a re-run load the files again after the delete removed
//! their rows (load metadata would otherwise skip them), so running the script twice, or
//! loading a later re-extraction of the same days, never duplicates rows. A single transaction
//! across tables means readers never see a conversation without its participants.

use std::sync::Arc;

use super::manifest::{Manifest, Partition};
use super::quote;
use crate::error::{Error, Result};
use crate::schema::TableSchema;

/// Snowflake's limit on names in one `FILES=(...)` list.
pub const MAX_FILES_PER_COPY: usize = 1000;

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

/// The WHERE clause that selects the rows the run replaces in one table.
fn delete_predicate(table: &TableSchema, partitions: &[Partition]) -> Result<String> {
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
        if table.column("conversation_start").is_none() {
            return Err(Error::Schema {
                table: table.table.clone(),
                message: "a partial-day reload needs a conversation_start column".into(),
            });
        }
        terms.push(format!(
            "({col} = DATE {} AND conversation_start >= {}::TIMESTAMP_TZ AND conversation_start < {}::TIMESTAMP_TZ)",
            quote(&p.value),
            quote(&p.from),
            quote(&p.to)
        ));
    }
    Ok(terms.join("\n   OR "))
}

/// Renders the load script for a manifest.
pub fn script(manifest: &Manifest, tables: &[Arc<TableSchema>]) -> Result<String> {
    let stage = stage_reference(&manifest.stage)?;
    let mut sql = String::new();
    sql.push_str(&format!(
        "-- genesys-loader {} load script for run {}\n\
         -- Range: conversations that started in [{}, {}).\n\
         -- Loads exactly the files listed in {}; replaces the run's partitions, so it is safe to run again.\n\
         -- The stage {stage} must point at the output root ({}).\n\n",
        manifest.tool.version,
        manifest.run_id,
        manifest.range.from,
        manifest.range.to,
        Manifest::path(&manifest.run_id),
        "the folder that holds _manifests/"
    ));
    sql.push_str("BEGIN TRANSACTION;\n");
    for table in tables {
        let name = &table.table;
        if manifest.partitions.is_empty() {
            continue;
        }
        let files: Vec<&str> = manifest
            .files
            .iter()
            .filter(|f| &f.table == name)
            .map(|f| f.path.as_str())
            .collect();
        sql.push_str(&format!(
            "\n-- {name}: {} file(s), {} row(s)\n",
            files.len(),
            manifest.tables.get(name).map_or(0, |t| t.rows)
        ));
        sql.push_str(&format!(
            "DELETE FROM {name}\n WHERE {};\n",
            delete_predicate(table, &manifest.partitions)?
        ));
        for group in files.chunks(MAX_FILES_PER_COPY) {
            let list = group
                .iter()
                .map(|p| format!("  {}", quote(p)))
                .collect::<Vec<_>>()
                .join(",\n");
            sql.push_str(&format!(
                "COPY INTO {name}\n  FROM {stage}\n  FILES = (\n{list}\n  )\n  \
                 FILE_FORMAT = (TYPE = PARQUET USE_VECTORIZED_SCANNER = TRUE)\n  \
                 MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE\n  ON_ERROR = ABORT_STATEMENT\n  FORCE = TRUE;\n"
            ));
        }
    }
    sql.push_str("\nCOMMIT;\n");
    Ok(sql)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Catalog;
    use crate::sink::FileWritten;
    use crate::snowflake::manifest::*;

    fn manifest(files: usize, partial: bool) -> Manifest {
        let partitions = vec![
            Partition {
                column: "conversation_date".into(),
                value: "2026-11-01".into(),
                from: "2026-11-01T00:00:00Z".into(),
                to: "2026-11-02T00:00:00Z".into(),
                full_day: true,
                method: "job".into(),
            },
            Partition {
                column: "conversation_date".into(),
                value: "2026-11-02".into(),
                from: "2026-11-02T00:00:00Z".into(),
                to: "2026-11-02T06:00:00Z".into(),
                full_day: !partial,
                method: "query".into(),
            },
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
            tables: Default::default(),
            files,
            stage: "genesys_stage".into(),
            load_script: String::new(),
            source: SourceInfo {
                api_url: String::new(),
                data_availability: None,
            },
            stats: Default::default(),
        }
    }

    #[test]
    fn copies_are_split_at_a_thousand_files() {
        let tables = Catalog::builtin().dataset_tables("conversations");
        let sql = script(&manifest(2500, false), &tables).unwrap();
        assert_eq!(sql.matches("COPY INTO segments").count(), 3);
        assert_eq!(sql.matches("COPY INTO conversations").count(), 0);
        assert_eq!(sql.matches("DELETE FROM").count(), 5);
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
    fn stage_names_are_checked() {
        assert_eq!(stage_reference("genesys_stage").unwrap(), "@genesys_stage");
        assert_eq!(stage_reference("@db.sch.stg/").unwrap(), "@db.sch.stg");
        assert!(stage_reference("x; DROP TABLE t").is_err());
        assert!(stage_reference("@").is_err());
    }
}
