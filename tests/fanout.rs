//! Fan-out: a backfill cut by `plan`, run chunk by chunk (`extract --chunk`), and merged
//! (`manifest merge`) is the same run as one `extract` over the range, row for row; and
//! `--dry-run` touches nothing.

mod util;

use std::path::Path;

use genesys_sim::Sim;
use util::*;

const RANGE: [&str; 4] = ["--from", "2026-10-01", "--to", "2026-10-04"];

/// Runs the binary against the simulator with the usual credentials (for commands other than
/// a plain extract).
async fn loader(sim: &Sim, args: &[&str]) -> Run {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_genesys-loader"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GENESYS_API_URL", sim.base_url())
        .env("GENESYS_LOGIN_URL", sim.base_url())
        .env("GENESYS_CLIENT_ID", "sim-client")
        .env("GENESYS_CLIENT_SECRET", SECRET)
        .env("GENESYS_JOB_POLL_MS", "20")
        .env("GENESYS_LOG", "warn")
        .output()
        .await
        .expect("run genesys-loader");
    Run {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        output,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_fanned_out_and_merged_equals_one_extract() {
    // Jobs serve up to 2026-10-02 06:00, the query after: the plan holds both kinds of chunk.
    let sim = Sim::start(sim_config(utc(2026, 10, 2, 6))).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fanned = dir.path().join("fanned");
    let fanned_s = fanned.to_str().unwrap();
    let datasets = ["--dataset", "conversations,queues"];

    let plan = loader(&sim, &[&["plan", "--json"][..], &RANGE, &datasets].concat()).await;
    assert!(plan.ok(), "{}", plan.stderr);
    let plan = plan.summary();
    let run_id = plan["run_id"].as_str().unwrap().to_string();
    let chunks = plan["chunks"].as_array().unwrap();
    let ids: Vec<&str> = chunks.iter().map(|c| c["id"].as_str().unwrap()).collect();
    let today = chrono::Utc::now().date_naive().to_string();
    assert_eq!(
        ids,
        [
            "conversations/2026-10-01",
            "conversations/2026-10-02",
            "conversations/2026-10-03",
            &format!("queues/{today}"),
        ]
    );
    let methods: Vec<&str> = chunks
        .iter()
        .map(|c| c["method"].as_str().unwrap())
        .collect();
    assert_eq!(methods, ["job", "query", "query", "listing"]);
    assert!(plan["estimated_requests"].as_u64().unwrap() >= chunks.len() as u64);
    assert!(!fanned.exists(), "plan must not create the output");

    // Each chunk in its own process, as an Airflow mapped task would run it.
    let mut chunk_manifests = Vec::new();
    for c in chunks {
        let json = c.to_string();
        let run = loader(&sim, &["extract", "--chunk", &json, "--out", fanned_s]).await;
        assert!(run.ok(), "{}: {}", c["id"], run.stderr);
        let s = run.summary();
        assert_eq!(s["ran"], true);
        // The task's log says what it wrote, as a whole run's does: the rows per table are
        // those of the JSON line.
        let id = c["id"].as_str().unwrap();
        assert!(
            run.stderr
                .contains(&format!("chunk {id} of run {run_id} written: ")),
            "{}",
            run.stderr
        );
        for (table, rows) in s["rows"].as_object().unwrap() {
            let line = format!("{table} {rows} rows");
            let said = run.stderr.lines().any(|l| {
                l.split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .replace(',', "")
                    == line
            });
            assert!(said || rows == 0, "{line} not in {}", run.stderr);
        }
        chunk_manifests.push(s["chunk_manifest"].as_str().unwrap().to_string());
    }
    // A retried task finds its chunk done and does nothing (the same files, no new request).
    let again = loader(
        &sim,
        &[
            "extract", "--chunk", ids[0], "--run-id", &run_id, "--out", fanned_s,
        ]
        .iter()
        .chain(RANGE.iter())
        .chain(datasets.iter())
        .copied()
        .collect::<Vec<_>>(),
    )
    .await;
    assert!(again.ok(), "{}", again.stderr);
    assert_eq!(again.summary()["ran"], false);
    assert!(
        again
            .stderr
            .contains("already written by an earlier task; nothing done"),
        "{}",
        again.stderr
    );
    assert_eq!(
        again.summary()["chunk_manifest"],
        chunk_manifests[0].as_str()
    );

    // The merge refuses a missing chunk and a chunk given twice, writing nothing.
    let base = ["manifest", "merge", "--out", fanned_s, "--run-id", &run_id];
    let missing: Vec<&str> = base
        .iter()
        .copied()
        .chain(chunk_manifests[1..].iter().map(String::as_str))
        .collect();
    let refused = loader(&sim, &missing).await;
    assert_eq!(refused.code(), Some(2), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("planned as 4 chunks") && refused.stderr.contains("1 missing"),
        "{}",
        refused.stderr
    );
    let twice: Vec<&str> = missing
        .iter()
        .copied()
        .chain([chunk_manifests[1].as_str()])
        .collect();
    let refused = loader(&sim, &twice).await;
    assert_eq!(refused.code(), Some(2), "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("more than once: conversations/2026-10-02"),
        "{}",
        refused.stderr
    );
    assert!(!fanned.join("_manifests").exists());
    // And chunks that saw the client's division reach differently (a role changed between
    // two tasks): one load would apply one scope to both days.
    let second = fanned
        .join("_chunks")
        .join(&run_id)
        .join("conversations/2026-10-02.json");
    let original = std::fs::read(&second).unwrap();
    let mut edited: serde_json::Value = serde_json::from_slice(&original).unwrap();
    let exact = edited["divisions"]["coverage"]["exact"].as_bool().unwrap();
    edited["divisions"]["coverage"]["exact"] = serde_json::json!(!exact);
    std::fs::write(&second, serde_json::to_vec(&edited).unwrap()).unwrap();
    let refused = loader(&sim, &base).await;
    assert_eq!(refused.code(), Some(2), "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("differ in the divisions the client's roles reach"),
        "{}",
        refused.stderr
    );
    assert!(!fanned.join("_manifests").exists());
    std::fs::write(&second, original).unwrap();

    // All of the run's chunk manifests (none named: every one under _chunks/<run_id>/).
    let merged = loader(&sim, &base).await;
    assert!(merged.ok(), "{}", merged.stderr);
    assert_eq!(merged.summary()["run_id"], run_id.as_str());
    // A retried merge reports the committed run and leaves it as it is.
    let manifest_path = fanned.join("_manifests").join(format!("{run_id}.json"));
    let committed = std::fs::read(&manifest_path).unwrap();
    let remerged = loader(&sim, &base).await;
    assert!(remerged.ok(), "{}", remerged.stderr);
    assert_eq!(std::fs::read(&manifest_path).unwrap(), committed);

    // One extract over the same range, into the same output (a later run of the same days).
    let one = extract(&sim, fanned_s, &[&RANGE[..], &datasets].concat(), &[]).await;
    assert!(one.ok(), "{}", one.stderr);
    let whole_id = one.summary()["run_id"].as_str().unwrap().to_string();

    let (a, b) = (
        manifest_of(&fanned, &whole_id),
        manifest_of(&fanned, &run_id),
    );
    assert_eq!(rows(&a), rows(&b), "rows per table");
    assert_eq!(a.partitions, b.partitions);
    assert_eq!(a.snapshots, b.snapshots);
    assert_eq!(a.datasets, b.datasets);
    assert_eq!(a.range, b.range);
    assert_eq!(b.stats.chunks, 4);
    assert_eq!(b.stats.rows, b.tables.values().map(|t| t.rows).sum::<u64>());
    assert!(b.stats.api.requests > 0 && b.stats.bytes > 0);
    // The same rows, value for value (the run id aside), in every table and partition.
    assert_eq!(contents(&fanned, &a), contents(&fanned, &b));
    // Every row of the fanned-out run carries the merged run's id: its load reconciles on it.
    for f in &b.files {
        assert!(f.path.contains(&run_id), "{}", f.path);
    }

    load_into_fakesnow(dir.path(), &fanned, &[&run_id, &whole_id], &rows(&a));
}

/// The merged run's load script, then the single extract's, load in fakesnow exactly the rows
/// of the range (the second replacing the first's days), and the merged run's order guard
/// refuses it after the newer run.
fn load_into_fakesnow(
    dir: &Path,
    out: &Path,
    run_ids: &[&str],
    expect: &std::collections::BTreeMap<String, u64>,
) {
    let Some(python) = python() else { return };
    let ddl = std::process::Command::new(env!("CARGO_BIN_EXE_genesys-loader"))
        .args(["ddl", "--dataset", "conversations,queues"])
        .output()
        .unwrap();
    let ddl_path = dir.join("ddl.sql");
    std::fs::write(&ddl_path, &ddl.stdout).unwrap();
    let expect_path = dir.join("expect.json");
    std::fs::write(&expect_path, serde_json::to_vec(expect).unwrap()).unwrap();
    let result = std::process::Command::new(python)
        .args([
            "-W",
            "ignore",
            concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/check_snowflake.py"),
        ])
        .arg("--root")
        .arg(out)
        .arg("--ddl")
        .arg(&ddl_path)
        .arg("--expect")
        .arg(&expect_path)
        .args(
            run_ids
                .iter()
                .map(|r| out.join("_manifests").join(format!("{r}.json"))),
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(
        result.status.success() && stdout.contains(" passed, 0 failed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_prints_the_plan_and_touches_nothing() {
    let sim = Sim::start(sim_config(utc(2026, 10, 2, 6))).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // An output folder with a committed run in it, and one that does not exist yet.
    let existing = dir.path().join("existing");
    let first = extract(
        &sim,
        existing.to_str().unwrap(),
        &["--date", "2026-10-01"],
        &[],
    )
    .await;
    assert!(first.ok(), "{}", first.stderr);
    let before = files_below(&existing);
    let absent = dir.path().join("absent");
    for out in [&existing, &absent] {
        let run = loader(
            &sim,
            &[
                &["extract", "--dry-run", "--out", out.to_str().unwrap()][..],
                &RANGE,
            ]
            .concat(),
        )
        .await;
        assert!(run.ok(), "{}", run.stderr);
        let s = run.summary();
        assert_eq!(s["dry_run"], true);
        assert_eq!(s["plan"]["chunks"].as_array().unwrap().len(), 3);
        assert!(
            s["writes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|w| w["folder"] == "conversations/conversation_date=2026-10-03/")
        );
        assert_eq!(s["load"]["replaces"].as_array().unwrap().len(), 3 * 15);
        assert!(
            run.stderr.contains("dry run: nothing is written"),
            "{}",
            run.stderr
        );
    }
    assert_eq!(
        files_below(&existing),
        before,
        "the dry run changed the output"
    );
    assert!(!absent.exists(), "the dry run created the output folder");
}
