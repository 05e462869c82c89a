//! Crash safety: a run killed (SIGKILL) at any point and started again with the same arguments
//! does only what is left and commits the same rows as an uninterrupted run; a second run of
//! the same command is refused while the first holds the lock; and `rebuild` re-derives the
//! tables from the raw zone, with no API call, equal row for row to the extraction.

mod util;

use std::time::Duration;

use genesys_sim::Sim;
use util::*;

/// Four days, paced so the run lasts a few seconds: room to kill it part-way.
const ARGS: [&str; 10] = [
    "--from",
    "2026-10-01",
    "--to",
    "2026-10-05",
    "--page-size",
    "10",
    "--max-requests-per-minute",
    "300",
    "--concurrency",
    "1",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_run_resumed_equals_an_uninterrupted_one() {
    let sim = Sim::start(sim_config(utc(2026, 10, 3, 0))).await.unwrap();
    let reference = tempfile::tempdir().unwrap();
    let run = extract(&sim, reference.path().to_str().unwrap(), &ARGS, &[]).await;
    assert!(run.ok(), "{}", run.stderr);
    let m_ref = read_manifest(reference.path());
    let expected = contents(reference.path(), &m_ref);

    for kill_after_ms in [300u64, 1500, 3000] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().to_str().unwrap();
        let mut child = extract_command(&sim, out, &ARGS).spawn().unwrap();
        tokio::time::sleep(Duration::from_millis(kill_after_ms)).await;
        child.start_kill().unwrap(); // SIGKILL: no cleanup of any kind
        let status = child.wait().await.unwrap();
        assert!(
            !status.success(),
            "the run finished before the kill at {kill_after_ms} ms; slow it down"
        );
        assert!(
            !dir.path().join("_manifests").exists(),
            "a killed run must not commit"
        );

        let resumed = extract(&sim, out, &ARGS, &[]).await;
        assert!(
            resumed.ok(),
            "resume after {kill_after_ms} ms: {}",
            resumed.stderr
        );
        let m = read_manifest(dir.path());
        assert_eq!(
            rows(&m),
            rows(&m_ref),
            "rows after a kill at {kill_after_ms} ms"
        );
        assert_eq!(
            contents(dir.path(), &m),
            expected,
            "row for row after a kill at {kill_after_ms} ms"
        );
        assert_eq!(m.partitions.len(), 4, "the manifest covers the whole range");
        for f in &m.files {
            assert!(dir.path().join(&f.path).exists(), "{}", f.path);
            assert!(
                f.path.contains(&m.run_id),
                "{} is not of run {}",
                f.path,
                m.run_id
            );
        }
        let state = dir.path().join("_state");
        assert!(
            !state.exists() || files_below(&state).is_empty(),
            "state left after commit: {:?}",
            files_below(&state)
        );
        if kill_after_ms >= 1500 {
            assert!(
                resumed.stderr.contains("resuming an interrupted run"),
                "{}",
                resumed.stderr
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_of_the_same_command_is_refused_while_the_first_runs() {
    let sim = Sim::start(sim_config(utc(2026, 10, 3, 0))).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let first = extract_command(&sim, out, &ARGS).spawn().unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let second = extract(&sim, out, &ARGS, &[]).await;
    assert_eq!(second.code(), Some(8), "{}", second.stderr);
    assert!(
        second.stderr.contains("is extracting the same range"),
        "{}",
        second.stderr
    );
    let first = first.wait_with_output().await.unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    // The lock is gone with the run: the same command runs again (a fresh run).
    let third = extract(&sim, out, &ARGS, &[]).await;
    assert!(third.ok(), "{}", third.stderr);
    assert!(
        !third.stderr.contains("resuming"),
        "a committed run leaves nothing to resume"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_from_raw_pages_equals_the_extraction_with_no_api_call() {
    let sim = Sim::start(sim_config(utc(2026, 10, 2, 0))).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let run = extract(
        &sim,
        out,
        &[
            "--from",
            "2026-10-01",
            "--to",
            "2026-10-03",
            "--page-size",
            "25",
            "--job-page-size",
            "25",
            "--keep-raw",
        ],
        &[],
    )
    .await;
    assert!(run.ok(), "{}", run.stderr);
    let extracted = manifest_of(dir.path(), run.summary()["run_id"].as_str().unwrap());
    assert!(
        dir.path()
            .join("_raw/conversations/conversation_date=2026-10-01")
            .is_dir()
    );
    let requests_before = sim.stats().requests();

    let rebuild = |range: &[&str]| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_genesys-loader"))
            .arg("rebuild")
            .args(range)
            .args(["--out", out])
            .env_clear()
            .output()
    };
    let rebuilt = rebuild(&["--from", "2026-10-01", "--to", "2026-10-03"])
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&rebuilt.stderr);
    assert!(rebuilt.status.success(), "{stderr}");
    let summary: serde_json::Value = serde_json::from_str(
        String::from_utf8_lossy(&rebuilt.stdout)
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    let m = manifest_of(dir.path(), summary["run_id"].as_str().unwrap());
    assert_eq!(
        sim.stats().requests(),
        requests_before,
        "rebuild must not call the API"
    );
    assert_eq!(m.source.raw_runs, vec![extracted.run_id.clone()]);
    assert!(m.partitions.iter().all(|p| p.method == "raw"));
    assert_eq!(rows(&m), rows(&extracted));
    assert_eq!(contents(dir.path(), &m), contents(dir.path(), &extracted));

    let missing = rebuild(&["--date", "2026-10-09"]).await.unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no raw pages for 2026-10-09"));

    // A raw page that cannot be read fails the rebuild, naming it, and leaves no file behind:
    // what the day's chunk wrote from the pages before it is deleted.
    let parquet_files = || {
        files_below(dir.path())
            .iter()
            .filter(|f| f.ends_with(".parquet"))
            .count()
    };
    let before = parquet_files();
    let day = dir
        .path()
        .join("_raw/conversations/conversation_date=2026-10-01");
    let mut pages: Vec<_> = std::fs::read_dir(&day)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    pages.sort();
    let last = pages.last().unwrap();
    assert!(pages.len() > 1, "{pages:?}");
    std::fs::write(last, b"not a zstd frame").unwrap();
    let damaged = rebuild(&["--date", "2026-10-01"]).await.unwrap();
    let stderr = String::from_utf8_lossy(&damaged.stderr);
    assert!(!damaged.status.success(), "{stderr}");
    let name = last.file_name().unwrap().to_str().unwrap();
    assert!(stderr.contains(name), "{stderr}");
    assert_eq!(parquet_files(), before, "{stderr}");
}

/// Regression: a rebuild from the raw pages of a `--division Sales` run wrote a load that
/// replaced whole days, every division's rows. It replaces what those pages hold, as the run
/// did, and refuses when it cannot tell what they hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_replaces_only_the_divisions_its_raw_pages_hold() {
    let sim = Sim::start(sim_config(utc(2026, 10, 2, 0))).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let (sales_id, sales) = genesys_sim::DIVISIONS[1];
    let run = extract(
        &sim,
        out,
        &["--date", "2026-10-01", "--division", sales, "--keep-raw"],
        &[],
    )
    .await;
    assert!(run.ok(), "{}", run.stderr);
    let extracted = manifest_of(dir.path(), run.summary()["run_id"].as_str().unwrap());
    assert_eq!(
        extracted.divisions.scopes["conversations"].replaces,
        Some(vec![sales_id.to_string()])
    );

    let rebuild = || {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_genesys-loader"))
            .args(["rebuild", "--date", "2026-10-01", "--out", out])
            .env_clear()
            .output()
    };
    let rebuilt = rebuild().await.unwrap();
    assert!(
        rebuilt.status.success(),
        "{}",
        String::from_utf8_lossy(&rebuilt.stderr)
    );
    let summary: serde_json::Value = serde_json::from_str(
        String::from_utf8_lossy(&rebuilt.stdout)
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    let m = manifest_of(dir.path(), summary["run_id"].as_str().unwrap());
    assert_eq!(m.divisions.scopes, extracted.divisions.scopes);
    let script = std::fs::read_to_string(dir.path().join(&m.load_script)).unwrap();
    assert!(
        script.contains(&format!("f.value::VARCHAR IN ('{sales_id}')")),
        "{script}"
    );

    // Without the raw run's manifest, its pages are not a committed run's: refused.
    std::fs::remove_file(
        dir.path()
            .join(format!("_manifests/{}.json", extracted.run_id)),
    )
    .unwrap();
    let refused = rebuild().await.unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("no committed run loaded it"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}
