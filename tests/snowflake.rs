//! The Snowflake load, proven: three runs (a backfill, its re-run, and an overlapping nightly
//! window) loaded one after the other into fakesnow leave exactly the org's rows, with no
//! duplicate; every statement parses as Snowflake SQL; a reconciliation mismatch fails the
//! script and commits nothing (scripts/check_snowflake.py does the Python side).
//!
//! Needs the venv that scripts/test.sh installs (GENESYS_TEST_PYTHON). Without it the test says
//! so and passes, unless GENESYS_REQUIRE_PYTHON_TESTS is set (as scripts/test.sh and CI do).

mod util;

use std::collections::BTreeMap;

use genesys_sim::Sim;
use util::*;

fn python() -> Option<String> {
    match std::env::var("GENESYS_TEST_PYTHON") {
        Ok(p) if !p.is_empty() => Some(p),
        _ => {
            assert!(
                std::env::var("GENESYS_REQUIRE_PYTHON_TESTS").is_err(),
                "GENESYS_TEST_PYTHON is not set: run scripts/test.sh"
            );
            eprintln!("skipped: GENESYS_TEST_PYTHON is not set (scripts/test.sh sets it up)");
            None
        }
    }
}

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
    let expect_path = dir.path().join("expect.json");
    std::fs::write(&expect_path, serde_json::to_vec(&expect).unwrap()).unwrap();

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/check_snowflake.py");
    let mut cmd = std::process::Command::new(python);
    cmd.arg("-W")
        .arg("ignore")
        .arg(script)
        .arg("--root")
        .arg(&out)
        .arg("--ddl")
        .arg(&ddl_path)
        .arg("--expect")
        .arg(&expect_path);
    for p in &parse_only {
        cmd.arg("--parse-only").arg(p);
    }
    cmd.args(&manifests);
    let result = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&result.stdout);
    println!("{stdout}");
    assert!(
        result.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
}
