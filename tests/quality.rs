//! Evaluations and recordings beyond the contract suite: the fallback when the evaluation
//! search is refused, late evaluations, dropping free text, a refused recordings read, and a
//! killed fan-out resumed.

mod util;

use std::collections::BTreeSet;
use std::io::Read;

use arrow_array::Array;
use arrow_array::cast::AsArray;
use genesys_sim::{Org, Role, Sim};
use tokio::io::{AsyncBufReadExt, BufReader};
use util::*;

/// The ids in the `id` column of a table's files.
fn ids_of(
    root: &std::path::Path,
    manifest: &genesys_loader::snowflake::Manifest,
    table: &str,
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for f in manifest.files.iter().filter(|f| f.table == table) {
        for b in read_parquet(&root.join(&f.path)) {
            let ids = b.column_by_name("id").unwrap().as_string::<i32>();
            out.extend((0..b.num_rows()).map(|i| ids.value(i).to_string()));
        }
    }
    out
}

fn ids(entities: &[serde_json::Value]) -> BTreeSet<String> {
    entities
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect()
}

/// Without `quality:evaluation:searchAny` the run reads each evaluation the details list, one
/// request each, and writes the same evaluations as the search would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_search_falls_back_to_one_read_per_evaluation() {
    let mut role = Role::least_privilege_loader();
    role.permissions
        .retain(|p| p != "quality:evaluation:searchAny");
    let sim = Sim::start(sim_config(utc(2026, 10, 2, 12)).with_roles(vec![role]))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = extract(
        &sim,
        dir.path().to_str().unwrap(),
        &[
            "--dataset",
            "evaluations",
            "--from",
            "2026-10-01",
            "--to",
            "2026-10-03",
        ],
        &[],
    )
    .await;
    assert!(run.ok(), "{}", run.stderr);
    assert!(
        run.stderr.contains("reading evaluations one by one"),
        "{}",
        run.stderr
    );
    let manifest = read_manifest(dir.path());
    let want = org_of(&sim).evaluations_started_in(utc(2026, 10, 1, 0), utc(2026, 10, 3, 0));
    assert!(!want.is_empty());
    assert_eq!(
        ids_of(dir.path(), &manifest, "quality_evaluations"),
        ids(&want)
    );
    let reads: u64 = sim
        .stats()
        .by_path()
        .iter()
        .filter(|(p, _)| p.starts_with("GET /api/v2/quality/conversations/"))
        .map(|(_, n)| *n)
        .sum();
    // One read per evaluation the details list: the served ones, and the deleted ones the
    // details still name are not asked for.
    assert_eq!(reads, want.len() as u64);
}

/// An evaluation made days after its conversation lands in that conversation's day only when
/// the day is re-extracted whole: `--evaluations-changed-since-days` finds the days.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_evaluations_re_extract_their_conversation_days_whole() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let early = utc(2026, 10, 2, 6);
    let late = utc(2026, 10, 6, 6);
    let day1 = (utc(2026, 10, 1, 0), utc(2026, 10, 2, 0));

    // The night after 1 October: few of its evaluations exist yet.
    let mut config = sim_config(early);
    config.now = Some(early);
    let sim = Sim::start(config.clone()).await.unwrap();
    let run = extract(
        &sim,
        out,
        &["--dataset", "evaluations", "--date", "2026-10-01"],
        &[],
    )
    .await;
    assert!(run.ok(), "{}", run.stderr);
    let first = read_manifest(dir.path());
    let then = Org::new(config.seed, config.conversations_per_day, early);
    let now = Org::new(config.seed, config.conversations_per_day, late);
    let seen_then = ids(&then.evaluations_started_in(day1.0, day1.1));
    let seen_now = ids(&now.evaluations_started_in(day1.0, day1.1));
    assert_eq!(ids_of(dir.path(), &first, "quality_evaluations"), seen_then);
    assert!(
        seen_now.len() > seen_then.len(),
        "the simulator makes late evaluations"
    );
    drop(sim);

    // Four nights later, a nightly run over 5 October with the option takes 1 October again,
    // whole; without it, 1 October is not touched.
    let mut config = sim_config(late);
    config.now = Some(late);
    let sim = Sim::start(config).await.unwrap();
    let plain = tempfile::tempdir().unwrap();
    let run = extract(
        &sim,
        plain.path().to_str().unwrap(),
        &["--dataset", "evaluations", "--date", "2026-10-05"],
        &[],
    )
    .await;
    assert!(run.ok(), "{}", run.stderr);
    let m = read_manifest(plain.path());
    assert!(
        m.partitions.iter().all(|p| p.value == "2026-10-05"),
        "{:?}",
        m.partitions
    );

    let run = extract(
        &sim,
        out,
        &[
            "--dataset",
            "evaluations",
            "--date",
            "2026-10-05",
            "--evaluations-changed-since-days",
            "7",
        ],
        &[],
    )
    .await;
    assert!(run.ok(), "{}", run.stderr);
    let runs: Vec<_> = std::fs::read_dir(dir.path().join("_manifests"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    let second = runs
        .iter()
        .map(|p| {
            serde_json::from_slice::<genesys_loader::snowflake::Manifest>(
                &std::fs::read(p).unwrap(),
            )
            .unwrap()
        })
        .find(|m| m.run_id != first.run_id)
        .unwrap();
    let days: BTreeSet<&str> = second
        .partitions
        .iter()
        .filter(|p| p.dataset == "evaluations")
        .map(|p| p.value.as_str())
        .collect();
    assert!(
        days.contains("2026-10-01") && days.contains("2026-10-05"),
        "{days:?}"
    );
    assert!(
        second.partitions.iter().all(|p| p.full_day),
        "old days are taken whole"
    );
    // The re-extracted day holds every evaluation of 1 October as of now, not only the late
    // ones: the load replaces the day without losing the earlier ones.
    let day1_files: Vec<_> = second
        .files
        .iter()
        .filter(|f| f.table == "quality_evaluations" && f.path.contains("2026-10-01"))
        .cloned()
        .collect();
    let mut got = BTreeSet::new();
    for f in &day1_files {
        for b in read_parquet(&dir.path().join(&f.path)) {
            let ids = b.column_by_name("id").unwrap().as_string::<i32>();
            got.extend((0..b.num_rows()).map(|i| ids.value(i).to_string()));
        }
    }
    assert_eq!(got, seen_now);
}

/// `--drop-free-text`: comments and annotation descriptions are null in the tables and absent
/// from the raw zone, while the simulator did serve them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_free_text_lands_nowhere() {
    let sim = Sim::start(sim_config(utc(2026, 10, 2, 12))).await.unwrap();
    let org = org_of(&sim);
    let (from, to) = (utc(2026, 10, 1, 0), utc(2026, 10, 2, 0));
    let served_comments: Vec<String> = org
        .evaluations_started_in(from, to)
        .iter()
        .filter_map(|e| e["answers"]["comments"].as_str().map(String::from))
        .collect();
    let served_bookmarks: Vec<String> = org
        .recordings_started_in(from, to, true)
        .iter()
        .flat_map(|r| r["annotations"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a["description"].as_str().map(String::from))
        .collect();
    assert!(!served_comments.is_empty() && !served_bookmarks.is_empty());

    let dir = tempfile::tempdir().unwrap();
    let run = extract(
        &sim,
        dir.path().to_str().unwrap(),
        &[
            "--dataset",
            "evaluations,recordings",
            "--date",
            "2026-10-01",
            "--drop-free-text",
            "--keep-raw",
        ],
        &[],
    )
    .await;
    assert!(run.ok(), "{}", run.stderr);
    let manifest = read_manifest(dir.path());
    for (table, column) in [
        ("quality_evaluations", "comments"),
        ("quality_evaluations", "agent_comments"),
        ("quality_question_scores", "comments"),
        ("recording_annotations", "description"),
    ] {
        let mut rows = 0;
        for f in manifest.files.iter().filter(|f| f.table == table) {
            for b in read_parquet(&dir.path().join(&f.path)) {
                let c = b.column_by_name(column).unwrap();
                assert_eq!(c.null_count(), c.len(), "{table}.{column} holds text");
                rows += b.num_rows();
            }
        }
        assert!(rows > 0, "{table} has rows");
    }
    // Nor in the raw pages.
    let mut raw_pages = 0;
    for path in files_below(&dir.path().join("_raw")) {
        let mut text = String::new();
        zstd::stream::read::Decoder::new(
            std::fs::File::open(dir.path().join("_raw").join(&path)).unwrap(),
        )
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
        raw_pages += 1;
        for t in served_comments.iter().chain(&served_bookmarks) {
            assert!(!text.contains(t.as_str()), "{path} holds {t:?}");
        }
    }
    assert!(raw_pages > 0);
}

/// A client without a recording permission: the dataset fails naming the permission, after a
/// handful of refused requests, not one per conversation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_recordings_read_names_the_permission_once() {
    let mut role = Role::least_privilege_loader();
    role.permissions.retain(|p| !p.starts_with("recording:"));
    let sim = Sim::start(sim_config(utc(2026, 10, 2, 12)).with_roles(vec![role]))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = extract(
        &sim,
        dir.path().to_str().unwrap(),
        &[
            "--dataset",
            "recordings",
            "--from",
            "2026-10-01",
            "--to",
            "2026-10-03",
        ],
        &[],
    )
    .await;
    assert_eq!(run.code(), Some(4), "{}", run.stderr);
    let failed: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("dataset failed"))
        .collect();
    assert_eq!(failed.len(), 1, "{}", run.stderr);
    assert!(
        failed[0].contains("recording:recording:view"),
        "{}",
        failed[0]
    );
    let refused: u64 = sim
        .stats()
        .by_path()
        .iter()
        .filter(|(p, _)| p.ends_with("/recordingmetadata"))
        .map(|(_, n)| *n)
        .sum();
    // At most the requests in flight when the first 403 came back (4 per day, 2 days).
    assert!((1..=8).contains(&refused), "{refused} refused requests");
    assert!(!dir.path().join("_manifests").exists());
}

/// A recordings run killed after its first day and started again does only the rest, and
/// commits every recording of the range once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_fan_out_resumes_where_it_stopped() {
    let sim = Sim::start(sim_config(utc(2026, 10, 3, 12))).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let args = [
        "--dataset",
        "recordings",
        "--from",
        "2026-10-01",
        "--to",
        "2026-10-04",
        "--concurrency",
        "1",
        "--max-requests-per-minute",
        "600",
    ];
    let mut cmd = extract_command(&sim, out, &args);
    cmd.env("GENESYS_LOG", "info");
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    // One day at a time: a line after the first "chunk done" comes from the second day,
    // which starts only once the first is checkpointed.
    let mut first_day_done = false;
    let mut second_day_started = false;
    while let Some(line) = lines.next_line().await.unwrap() {
        if first_day_done {
            second_day_started = true;
            break;
        }
        first_day_done = line.contains("chunk done");
    }
    assert!(second_day_started, "the run ended before a day was done");
    child.start_kill().unwrap();
    let status = child.wait().await.unwrap();
    assert!(!status.success(), "the run finished before the kill");
    assert!(
        !dir.path().join("_manifests").exists(),
        "a killed run must not commit"
    );

    let before = sim.stats().by_path();
    let resumed = extract(&sim, out, &args, &[]).await;
    assert!(resumed.ok(), "{}", resumed.stderr);
    assert!(
        resumed.stderr.contains("chunk already done"),
        "{}",
        resumed.stderr
    );
    let manifest = read_manifest(dir.path());
    let want = org_of(&sim).recordings_started_in(utc(2026, 10, 1, 0), utc(2026, 10, 4, 0), true);
    assert_eq!(ids_of(dir.path(), &manifest, "recordings"), ids(&want));
    assert_eq!(
        rows(&manifest)["recordings"],
        want.len() as u64,
        "none twice"
    );
    // The resumed run read metadata for two days, not three.
    let after = sim.stats().by_path();
    let reads = |m: &std::collections::BTreeMap<String, u64>| -> u64 {
        m.iter()
            .filter(|(p, _)| p.ends_with("/recordingmetadata"))
            .map(|(_, n)| *n)
            .sum()
    };
    let recorded_per_day = want.len() as u64 / 3;
    assert!(
        reads(&after) - reads(&before) < 3 * recorded_per_day,
        "the finished day was read again"
    );
}

/// The raw pages of evaluations and recordings (search pages, and the envelopes the one-by-one
/// reads are kept in) rebuild the same rows with no API call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evaluations_and_recordings_rebuild_from_their_raw_pages() {
    let sim = Sim::start(sim_config(utc(2026, 10, 2, 12))).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let run = extract(
        &sim,
        out,
        &[
            "--dataset",
            "evaluations,recordings",
            "--date",
            "2026-10-01",
            "--keep-raw",
        ],
        &[],
    )
    .await;
    assert!(run.ok(), "{}", run.stderr);
    let extracted = manifest_of(dir.path(), run.summary()["run_id"].as_str().unwrap());
    let requests = sim.stats().requests();
    let rebuilt = tokio::process::Command::new(env!("CARGO_BIN_EXE_genesys-loader"))
        .args([
            "rebuild",
            "--dataset",
            "evaluations,recordings",
            "--date",
            "2026-10-01",
            "--out",
            out,
        ])
        .env_clear()
        .output()
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
        requests,
        "rebuild must not call the API"
    );
    // The forms are a snapshot, not rebuilt; the partitioned tables are, row for row.
    let partitioned = |m: &genesys_loader::snowflake::Manifest| {
        contents(dir.path(), m)
            .into_iter()
            .filter(|((table, _), _)| !table.starts_with("quality_form"))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    assert!(!partitioned(&m).is_empty());
    assert_eq!(partitioned(&m), partitioned(&extracted));
}
