//! The Snowflake load, proven: three runs (a backfill, its re-run, and an overlapping nightly
//! window) loaded one after the other into fakesnow leave exactly the org's rows, with no
//! duplicate; every statement parses as Snowflake SQL; a reconciliation mismatch fails the
//! load and commits nothing; a run of one division keeps the others' rows; a run whose client
//! lost a division is refused unless allowed (scripts/check_snowflake.py does the Python side).
//!
//! Needs the venv that scripts/test.sh installs (GENESYS_TEST_PYTHON). Without it the test says
//! so and passes, unless GENESYS_REQUIRE_PYTHON_TESTS is set (as scripts/test.sh and CI do).

mod util;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use genesys_sim::Sim;
use util::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_load_into_snowflake_exactly_once() {
    let Some(python) = python() else { return };
    let sim = Sim::start(sim_config(utc(2026, 10, 2, 12))).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lake");
    let out_s = out.to_str().unwrap();
    let datasets = ["--dataset", "conversations", "--dataset", "divisions"];

    // A two-day backfill, the same backfill again, then a window overlapping its second day.
    let mut manifests = Vec::new();
    for range in [
        ["2026-10-01", "2026-10-03"],
        ["2026-10-01", "2026-10-03"],
        ["2026-10-02", "2026-10-04"],
    ] {
        let mut args = vec!["--from", range[0], "--to", range[1]];
        args.extend_from_slice(&datasets);
        let run = extract(&sim, out_s, &args, &[]).await;
        assert!(run.ok(), "{}", run.stderr);
        let summary = run.summary();
        let run_id = summary["run_id"].as_str().unwrap().to_string();
        manifests.push(out.join("_manifests").join(format!("{run_id}.json")));
    }

    let ddl = std::process::Command::new(env!("CARGO_BIN_EXE_genesys-loader"))
        .arg("ddl")
        .output()
        .unwrap();
    assert!(ddl.status.success());
    let ddl_path = dir.path().join("ddl.sql");
    std::fs::write(&ddl_path, &ddl.stdout).unwrap();

    // Every stage template (and an upgrade) must parse too, though fakesnow cannot run them.
    let mut parse_only = Vec::new();
    for template in ["s3", "s3compat", "gcs", "azure"] {
        let mut args = vec![
            "ddl",
            "--database",
            "RAW",
            "--schema",
            "GENESYS",
            "--stage-template",
            template,
        ];
        if template == "s3compat" {
            args.extend([
                "--stage-url",
                "s3compat://lake/genesys/",
                "--endpoint",
                "storage.example.com",
            ]);
        }
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_genesys-loader"))
            .args(&args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{template}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let path = dir.path().join(format!("ddl-{template}.sql"));
        std::fs::write(&path, &out.stdout).unwrap();
        parse_only.push(path);
    }
    let upgrade = std::process::Command::new(env!("CARGO_BIN_EXE_genesys-loader"))
        .args(["ddl", "--upgrade-from", "1"])
        .output()
        .unwrap();
    assert!(upgrade.status.success());
    let upgrade_sql = String::from_utf8_lossy(&upgrade.stdout).to_string();
    assert_eq!(
        upgrade_sql.matches("CREATE TABLE IF NOT EXISTS").count(),
        11,
        "the ten v2 tables and the load record are created on upgrade"
    );
    let path = dir.path().join("ddl-upgrade.sql");
    std::fs::write(&path, upgrade_sql).unwrap();
    parse_only.push(path);

    let org = org_of(&sim);
    let mut expect: BTreeMap<String, u64> =
        expected_rows(&org, utc(2026, 10, 1, 0), utc(2026, 10, 4, 0));
    expect.insert("divisions".into(), genesys_sim::DIVISIONS.len() as u64);

    let extra: Vec<String> = parse_only
        .iter()
        .flat_map(|p| ["--parse-only".to_string(), p.display().to_string()])
        .collect();
    prove(&python, &out, &ddl_path, &expect, &manifests, &extra);
}

/// Runs scripts/check_snowflake.py: the runs' load steps in fakesnow, in order, must leave
/// `expect` rows per table; `extra` adds flags (`--expect-refused RUN:TEXT`, `--parse-only`).
fn prove(
    python: &str,
    out: &Path,
    ddl: &Path,
    expect: &BTreeMap<String, u64>,
    manifests: &[PathBuf],
    extra: &[String],
) {
    let expect_path = ddl.with_file_name("expect.json");
    std::fs::write(&expect_path, serde_json::to_vec(expect).unwrap()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/check_snowflake.py");
    let result = std::process::Command::new(python)
        .arg("-W")
        .arg("ignore")
        .arg(script)
        .arg("--root")
        .arg(out)
        .arg("--ddl")
        .arg(ddl)
        .arg("--expect")
        .arg(&expect_path)
        .args(extra)
        .args(manifests)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&result.stdout);
    println!("{stdout}");
    assert!(
        result.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
}

/// `genesys-loader ddl` for the conversation tables, written next to the output.
fn conversations_ddl(dir: &Path) -> PathBuf {
    let ddl = std::process::Command::new(env!("CARGO_BIN_EXE_genesys-loader"))
        .args(["ddl", "--dataset", "conversations"])
        .output()
        .unwrap();
    assert!(ddl.status.success());
    let path = dir.join("ddl.sql");
    std::fs::write(&path, &ddl.stdout).unwrap();
    path
}

/// Extracts conversations over two days; returns the manifest's path.
async fn extract_days(sim: &Sim, out: &Path, extra: &[&str]) -> PathBuf {
    let mut args = vec![
        "--dataset",
        "conversations",
        "--from",
        "2026-10-01",
        "--to",
        "2026-10-03",
    ];
    args.extend_from_slice(extra);
    let run = extract(sim, out.to_str().unwrap(), &args, &[]).await;
    assert!(run.ok(), "{}", run.stderr);
    let run_id = run.summary()["run_id"].as_str().unwrap().to_string();
    out.join("_manifests").join(format!("{run_id}.json"))
}

/// Regression: a run made with `--division Sales` deleted whole days, so loading it after a
/// full run left only Sales' conversations. Its load must replace Sales' rows and keep the
/// others'.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_division_scoped_load_keeps_the_other_divisions_rows() {
    let Some(python) = python() else { return };
    let sim = Sim::start(sim_config(utc(2026, 10, 2, 12))).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lake");
    let (sales_id, sales) = genesys_sim::DIVISIONS[1];
    let full = extract_days(&sim, &out, &[]).await;
    let scoped = extract_days(&sim, &out, &["--division", sales]).await;

    let manifest: genesys_loader::snowflake::Manifest =
        serde_json::from_slice(&std::fs::read(&scoped).unwrap()).unwrap();
    assert_eq!(
        manifest.divisions.scopes["conversations"].replaces,
        Some(vec![sales_id.to_string()])
    );
    let whole = rows(&manifest);
    let org = org_of(&sim);
    let expect = expected_rows(&org, utc(2026, 10, 1, 0), utc(2026, 10, 3, 0));
    assert!(
        whole["conversations"] < expect["conversations"],
        "the Sales run holds fewer conversations than the org"
    );

    let ddl = conversations_ddl(dir.path());
    prove(&python, &out, &ddl, &expect, &[full, scoped], &[]);
}

/// Regression: a client that lost a division replaced whole days with fewer rows. Its load is
/// refused, naming the division, unless it was extracted with `--allow-coverage-shrink`; then it
/// replaces the divisions it reaches and keeps the lost one's rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_reaching_fewer_divisions_is_refused_by_name_unless_allowed() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lake");
    let (lost_id, lost) = genesys_sim::DIVISIONS[3];
    let full = {
        let sim = Sim::start(sim_config(utc(2026, 10, 2, 12))).await.unwrap();
        extract_days(&sim, &out, &[]).await
    };
    let mut role = genesys_sim::Role::least_privilege_loader();
    role.divisions.retain(|d| d != lost_id);
    let sim = Sim::start(sim_config(utc(2026, 10, 2, 12)).with_roles(vec![role]))
        .await
        .unwrap();
    let shrunk = extract_days(&sim, &out, &[]).await;
    let allowed = extract_days(&sim, &out, &["--allow-coverage-shrink"]).await;

    let shrunk_id = shrunk.file_stem().unwrap().to_str().unwrap().to_string();
    let org = org_of(&sim);
    let expect = expected_rows(&org, utc(2026, 10, 1, 0), utc(2026, 10, 3, 0));
    let manifest: genesys_loader::snowflake::Manifest =
        serde_json::from_slice(&std::fs::read(&allowed).unwrap()).unwrap();
    assert!(
        rows(&manifest)["conversations"] < expect["conversations"],
        "some conversations are in {lost} only, which the shrunk client cannot see"
    );
    assert_eq!(
        manifest.divisions.scopes["conversations"].unreached[0].id,
        lost_id
    );
    let ddl = conversations_ddl(dir.path());
    prove(
        &python,
        &out,
        &ddl,
        &expect,
        &[full, shrunk, allowed],
        &[
            "--expect-refused".into(),
            format!("{shrunk_id}:{lost} ({lost_id})"),
        ],
    );
}
