//! Snapshot tests of generated SQL: the DDL and the load script of a fixed two-day run.
//! A change to either shows up as a diff here; `UPDATE_SNAPSHOTS=1 cargo test --test snapshots`
//! rewrites the files after a deliberate change.

use std::path::PathBuf;

use genesys_loader::schema::Catalog;
use genesys_loader::sink::FileWritten;
use genesys_loader::snowflake::ddl::{self, DdlOptions};
use genesys_loader::snowflake::load::{self, Names};
use genesys_loader::snowflake::manifest::*;

fn snapshot(name: &str, actual: &str) {
    snapshot_at(&format!("tests/snapshots/{name}"), actual);
}

/// Compares `actual` with the checked-in file at `relative` (from the crate root).
fn snapshot_at(relative: &str, actual: &str) {
    let name = relative;
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_SNAPSHOTS=1 creates it)", path.display()));
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b);
        panic!(
            "{name} changed (first differing line {:?}); UPDATE_SNAPSHOTS=1 accepts it\n--- actual ---\n{actual}",
            first.map(|i| i + 1)
        );
    }
}

fn two_day_manifest() -> Manifest {
    let run_id = "20261103T031500Z-0a1b2c3d";
    let days = ["2026-11-01", "2026-11-02"];
    let mut files = Vec::new();
    let mut tables = std::collections::BTreeMap::new();
    for t in Catalog::builtin().dataset_tables("conversations") {
        let mut totals = TableTotals {
            kind: "fact".into(),
            schema_version: t.version,
            ..Default::default()
        };
        for (i, day) in days.iter().enumerate() {
            let rows = 100 * (i as u64 + 1);
            files.push(FileWritten {
                table: t.table.clone(),
                path: format!(
                    "{}/conversation_date={day}/part-{run_id}-00000.parquet",
                    t.table
                ),
                partition: day.to_string(),
                rows,
                bytes: 1000,
                e_tag: None,
            });
            totals.rows += rows;
            totals.files += 1;
            totals.bytes += 1000;
        }
        tables.insert(t.table.clone(), totals);
    }
    Manifest {
        manifest_version: MANIFEST_VERSION,
        run_id: run_id.into(),
        tool: Tool {
            name: "genesys-loader".into(),
            version: "0.1.0".into(),
        },
        started_at: "2026-11-03T03:15:00Z".into(),
        finished_at: "2026-11-03T03:16:00Z".into(),
        datasets: vec!["conversations".into()],
        range: RangeInfo {
            from: "2026-11-01T00:00:00Z".into(),
            to: "2026-11-03T00:00:00Z".into(),
        },
        partitions: days
            .iter()
            .enumerate()
            .map(|(i, d)| Partition {
                dataset: "conversations".into(),
                column: "conversation_date".into(),
                value: d.to_string(),
                from: format!("{d}T00:00:00Z"),
                to: format!("2026-11-0{}T00:00:00Z", i + 2),
                full_day: true,
                method: if i == 0 { "job".into() } else { "query".into() },
                keep: None,
            })
            .collect(),
        snapshots: Vec::new(),
        tables,
        files,
        stage: "@genesys_stage".into(),
        snowflake: SnowflakeTarget {
            database: Some("RAW".into()),
            schema: Some("GENESYS".into()),
        },
        load_script: format!("_manifests/{run_id}.sql"),
        load_steps: format!("_manifests/{run_id}.steps.jsonl"),
        source: SourceInfo {
            api_url: "https://api.mypurecloud.ie".into(),
            data_availability: None,
            raw_runs: Vec::new(),
        },
        divisions: DivisionReport::default(),
        quarantine_files: Vec::new(),
        stats: RunStats::default(),
    }
}

#[test]
fn load_script_of_a_two_day_run() {
    let sql = load::script(
        &two_day_manifest(),
        &Catalog::builtin().dataset_tables("conversations"),
    )
    .unwrap();
    snapshot("load_two_days.sql", &sql);
}

/// The same run restricted to one division: only that division's rows are replaced.
#[test]
fn load_script_of_a_division_scoped_run() {
    let mut m = two_day_manifest();
    let sales = genesys_loader::genesys::access::Division {
        id: "7d9c2b1a-0e4f-4a6b-8c2d-3e4f5a6b7c02".into(),
        name: "Sales".into(),
    };
    m.divisions.requested = vec![sales.clone()];
    m.divisions.scopes.insert(
        "conversations".into(),
        DivisionScope {
            replaces: Some(vec![sales.id.clone()]),
            reached: Some(vec![sales.id.clone()]),
            unreached: Vec::new(),
        },
    );
    let sql = load::script(&m, &Catalog::builtin().dataset_tables("conversations")).unwrap();
    snapshot("load_one_division.sql", &sql);
}

#[test]
fn ddl_of_every_table() {
    let sql = ddl::render(Catalog::builtin().tables(), &DdlOptions::default()).unwrap();
    snapshot(
        "ddl.sql",
        &sql.replace(env!("CARGO_PKG_VERSION"), "<version>"),
    );
}

#[test]
fn ddl_qualified_for_a_database_and_schema() {
    let opts = DdlOptions {
        names: Names {
            database: Some("RAW".into()),
            schema: Some("GENESYS".into()),
        },
        ..Default::default()
    };
    let sql = ddl::render(&Catalog::builtin().dataset_tables("divisions"), &opts).unwrap();
    snapshot(
        "ddl_divisions_qualified.sql",
        &sql.replace(env!("CARGO_PKG_VERSION"), "<version>"),
    );
}

/// The README links the table reference in `docs/tables.md`: it must say what `docs` prints
/// from the schemas of this build.
#[test]
fn the_table_reference_is_current() {
    snapshot_at(
        "docs/tables.md",
        &genesys_loader::reference::tables_markdown(),
    );
}
