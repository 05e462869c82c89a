//! End to end: the real binary against the simulated org, writing to a local folder.

mod util;

use std::collections::{BTreeMap, HashSet};

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, TimestampMicrosecondType};
use genesys_sim::Sim;
use util::*;

/// Three days: the first from an async job, the others from the synchronous query.
fn range() -> (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) {
    (utc(2026, 10, 1, 0), utc(2026, 10, 4, 0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extract_writes_exactly_what_the_org_served() {
    let sim = Sim::start(sim_config(utc(2026, 10, 2, 6))).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = extract(
        &sim,
        dir.path().to_str().unwrap(),
        &["--from", "2026-10-01", "--to", "2026-10-04"],
        &[],
    )
    .await;
    assert!(run.ok(), "exit {:?}\n{}", run.code(), run.stderr);

    let (from, to) = range();
    let org = org_of(&sim);
    let expected = expected_rows(&org, from, to);
    assert!(expected["conversations"] > 100 && expected["segments"] > expected["sessions"]);

    let manifest = read_manifest(dir.path());
    let got: BTreeMap<String, u64> = manifest
        .tables
        .iter()
        .map(|(t, v)| (t.clone(), v.rows))
        .collect();
    assert_eq!(got, expected, "manifest rows per table vs the org's");
    let methods: Vec<&str> = manifest
        .partitions
        .iter()
        .map(|p| p.method.as_str())
        .collect();
    assert_eq!(methods, ["job", "query", "query"]);
    assert!(manifest.partitions.iter().all(|p| p.full_day));
    // The job path sees conversations that started the day before and overlap the range:
    // they must have been dropped, not written.
    assert!(
        manifest.stats.outside_range_dropped > 0,
        "the simulator should serve overlapping conversations"
    );

    // Every listed file exists, its row count is the Parquet's, its schema is schemas/<table>.json,
    // and each row sits in the partition of its conversation's start date.
    let mut ids = HashSet::new();
    let mut rows_read: BTreeMap<String, u64> = BTreeMap::new();
    for f in &manifest.files {
        let path = dir.path().join(&f.path);
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            f.bytes,
            "{}",
            f.path
        );
        assert!(f.path.starts_with(&format!(
            "{}/conversation_date={}/part-{}-",
            f.table, f.partition, manifest.run_id
        )));
        let batches = read_parquet(&path);
        let schema = schema_file(&f.table).arrow_schema();
        let mut n = 0;
        for b in &batches {
            assert_eq!(b.schema(), schema, "{} schema", f.path);
            n += b.num_rows() as u64;
            let dates = b
                .column_by_name("conversation_date")
                .unwrap()
                .as_primitive::<Date32Type>();
            let starts = b
                .column_by_name("conversation_start")
                .unwrap()
                .as_primitive::<TimestampMicrosecondType>();
            for i in 0..b.num_rows() {
                let day = chrono::DateTime::from_timestamp_micros(starts.value(i))
                    .unwrap()
                    .date_naive();
                assert_eq!(dates.value_as_date(i).unwrap(), day, "{} row {i}", f.path);
                assert_eq!(day.to_string(), f.partition);
            }
            if f.table == "conversations" {
                let col = b
                    .column_by_name("conversation_id")
                    .unwrap()
                    .as_string::<i32>();
                for id in col.iter() {
                    assert!(
                        ids.insert(id.unwrap().to_string()),
                        "conversation {} written twice",
                        id.unwrap()
                    );
                }
            }
        }
        assert_eq!(n, f.rows, "{} rows", f.path);
        *rows_read.entry(f.table.clone()).or_default() += n;
    }
    let nonzero: BTreeMap<String, u64> = expected
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(t, n)| (t.clone(), *n))
        .collect();
    assert_eq!(rows_read, nonzero, "rows read back from the Parquet files");
    let expected_ids: HashSet<String> = org
        .conversations_started_in(from, to)
        .iter()
        .map(|c| c["conversationId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, expected_ids);

    // Job results carry participant attributes; they land in the JSON column.
    let attrs = manifest
        .files
        .iter()
        .filter(|f| f.table == "participants" && f.partition == "2026-10-01")
        .flat_map(|f| read_parquet(&dir.path().join(&f.path)))
        .map(|b| {
            b.column_by_name("attributes").unwrap().len()
                - b.column_by_name("attributes").unwrap().null_count()
        })
        .sum::<usize>();
    assert!(attrs > 0, "job results should carry participant attributes");

    // The load script names exactly the manifest's files, and the summary on stdout agrees.
    let sql = std::fs::read_to_string(dir.path().join(&manifest.load_script)).unwrap();
    for f in &manifest.files {
        assert!(
            sql.contains(&format!("'{}'", f.path)),
            "{} missing from the load script",
            f.path
        );
    }
    let tables_with_files: std::collections::BTreeSet<&str> =
        manifest.files.iter().map(|f| f.table.as_str()).collect();
    assert_eq!(sql.matches("COPY INTO").count(), tables_with_files.len());
    assert!(tables_with_files.len() >= 12, "{tables_with_files:?}");
    assert!(sql.contains(
        "conversation_date IN (DATE '2026-10-01', DATE '2026-10-02', DATE '2026-10-03')"
    ));
    let summary = run.summary();
    assert_eq!(summary["conversations"], expected["conversations"]);
    // One token for the whole run, never one per call.
    assert_eq!(manifest.stats.api.token_requests, 1);
    assert!(manifest.stats.api.requests > 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_records_across_pages_are_written_once() {
    let mut config = sim_config(utc(2026, 9, 1, 0));
    config.duplicate_rate = 0.5;
    let sim = Sim::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // A small page size makes many pages, so the shifted pages repeat records.
    let run = extract(
        &sim,
        dir.path().to_str().unwrap(),
        &["--date", "2026-10-05", "--page-size", "5"],
        &[],
    )
    .await;
    assert!(run.ok(), "{}", run.stderr);
    let manifest = read_manifest(dir.path());
    let org = org_of(&sim);
    let expected = expected_rows(&org, utc(2026, 10, 5, 0), utc(2026, 10, 6, 0));
    let got: BTreeMap<String, u64> = manifest
        .tables
        .iter()
        .map(|(t, v)| (t.clone(), v.rows))
        .collect();
    assert_eq!(got, expected);
    assert!(
        manifest.stats.duplicates_dropped > 0,
        "{:?} query pages {}",
        manifest.stats,
        sim.stats().query_pages()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_faults_are_retried_and_the_output_is_unchanged() {
    let mut config = sim_config(utc(2026, 10, 2, 0));
    config.fault_rate = 0.15;
    let sim = Sim::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = extract(
        &sim,
        dir.path().to_str().unwrap(),
        &[
            "--from",
            "2026-10-01",
            "--to",
            "2026-10-03",
            "--page-size",
            "25",
        ],
        &[],
    )
    .await;
    assert!(run.ok(), "{}", run.stderr);
    let manifest = read_manifest(dir.path());
    let org = org_of(&sim);
    let got: BTreeMap<String, u64> = manifest
        .tables
        .iter()
        .map(|(t, v)| (t.clone(), v.rows))
        .collect();
    assert_eq!(
        got,
        expected_rows(&org, utc(2026, 10, 1, 0), utc(2026, 10, 3, 0))
    );
    assert!(sim.stats().faults_injected() > 0);
    assert_eq!(manifest.stats.api.retries, sim.stats().faults_injected());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_day_range_keeps_only_its_conversations_and_bounds_the_delete() {
    let sim = Sim::start(sim_config(utc(2026, 9, 1, 0))).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = extract(
        &sim,
        dir.path().to_str().unwrap(),
        &[
            "--from",
            "2026-10-05T06:00:00Z",
            "--to",
            "2026-10-05T18:00:00Z",
        ],
        &[],
    )
    .await;
    assert!(run.ok(), "{}", run.stderr);
    let manifest = read_manifest(dir.path());
    let org = org_of(&sim);
    let got: BTreeMap<String, u64> = manifest
        .tables
        .iter()
        .map(|(t, v)| (t.clone(), v.rows))
        .collect();
    assert_eq!(
        got,
        expected_rows(&org, utc(2026, 10, 5, 6), utc(2026, 10, 5, 18))
    );
    assert!(!manifest.partitions[0].full_day);
    let sql = std::fs::read_to_string(dir.path().join(&manifest.load_script)).unwrap();
    assert!(sql.contains("conversation_start >= '2026-10-05T06:00:00Z'::TIMESTAMP_TZ AND conversation_start < '2026-10-05T18:00:00Z'::TIMESTAMP_TZ"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_fails_clearly_and_commits_nothing() {
    let sim = Sim::start(sim_config(utc(2026, 9, 1, 0))).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = extract(
        &sim,
        dir.path().to_str().unwrap(),
        &["--date", "2026-10-05"],
        &[("GENESYS_CLIENT_SECRET", "not-the-secret")],
    )
    .await;
    assert_eq!(run.code(), Some(3), "{}", run.stderr);
    assert!(run.stderr.contains("invalid_client"), "{}", run.stderr);
    assert!(
        !run.stderr.contains("not-the-secret"),
        "the secret leaked into the log"
    );
    assert!(!dir.path().join("_manifests").exists());
    assert_eq!(sim.stats().api_requests(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_secret_file_wins_and_the_secret_never_appears_in_output() {
    let sim = Sim::start(sim_config(utc(2026, 9, 1, 0))).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("secret");
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
    let out = dir.path().join("out");
    let run = extract(
        &sim,
        out.to_str().unwrap(),
        &[
            "--date",
            "2026-10-05",
            "--client-secret-file",
            secret_file.to_str().unwrap(),
            "--log",
            "debug",
        ],
        &[("GENESYS_CLIENT_SECRET", "wrong-but-ignored")],
    )
    .await;
    assert!(run.ok(), "{}", run.stderr);
    for text in [&run.stdout, &run.stderr] {
        assert!(!text.contains(SECRET), "secret in output");
    }
    for f in files_below(&out) {
        let bytes = std::fs::read(out.join(&f)).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(SECRET),
            "secret in {f}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_flags_exit_2_and_write_nothing() {
    let sim = Sim::start(sim_config(utc(2026, 9, 1, 0))).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    for (args, needle) in [
        (
            vec!["--from", "2026-10-08", "--to", "2026-10-01"],
            "range is empty",
        ),
        (
            vec!["--date", "2026-13-01"],
            "--date \"2026-13-01\" is not a date",
        ),
        (
            vec!["--date", "2026-10-01", "--dataset", "calls"],
            "unknown dataset \"calls\"",
        ),
        (
            vec!["--date", "2026-10-01", "--page-size", "500"],
            "--page-size 500",
        ),
        (
            vec!["--date", "2026-10-01", "--stage", "x; drop table t"],
            "is not a stage name",
        ),
    ] {
        let run = extract(&sim, out.to_str().unwrap(), &args, &[]).await;
        assert_eq!(run.code(), Some(2), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(needle), "{args:?}: {}", run.stderr);
    }
    assert!(!out.join("_manifests").exists());
}

#[test]
fn ddl_covers_every_table_from_schemas() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_genesys-loader"))
        .arg("ddl")
        .output()
        .unwrap();
    assert!(out.status.success());
    let ddl = String::from_utf8(out.stdout).unwrap();
    for t in TABLES {
        let schema = schema_file(t);
        assert!(
            ddl.contains(&format!("CREATE TABLE IF NOT EXISTS {t} (")),
            "{t}"
        );
        for c in &schema.columns {
            assert!(ddl.contains(&format!("  {} ", c.name)), "{t}.{}", c.name);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lookback_run_replaces_exactly_its_window() {
    let sim = Sim::start(sim_config(utc(2026, 9, 1, 0))).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = extract(
        &sim,
        dir.path().to_str().unwrap(),
        &["--lookback-days", "3"],
        &[],
    )
    .await;
    assert!(run.ok(), "{}", run.stderr);
    let manifest = read_manifest(dir.path());
    let today = chrono::Utc::now().date_naive();
    let days: Vec<String> = (1..=3)
        .rev()
        .map(|d| (today - chrono::Days::new(d)).to_string())
        .collect();
    let got: Vec<&str> = manifest
        .partitions
        .iter()
        .map(|p| p.value.as_str())
        .collect();
    assert_eq!(got, days.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(manifest.partitions.iter().all(|p| p.full_day));
    let sql = std::fs::read_to_string(dir.path().join(&manifest.load_script)).unwrap();
    let dates = days
        .iter()
        .map(|d| format!("DATE '{d}'"))
        .collect::<Vec<_>>()
        .join(", ");
    assert!(
        sql.contains(&format!("conversation_date IN ({dates})")),
        "{sql}"
    );

    let both = extract(
        &sim,
        dir.path().join("x").to_str().unwrap(),
        &["--lookback-days", "3", "--date", "2026-10-01"],
        &[],
    )
    .await;
    assert_eq!(both.code(), Some(2));
    assert!(
        both.stderr
            .contains("--lookback-days sets the nightly window"),
        "{}",
        both.stderr
    );
}
