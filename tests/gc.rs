//! `gc` lists and removes what no manifest names (stray data files, raw pages past their
//! retention, idle run state) and never a file a manifest names, however old.

mod util;

use std::path::Path;
use std::time::{Duration, SystemTime};

use genesys_sim::Sim;
use util::*;

/// Makes a file look `days` old.
fn age(path: &Path, days: u64) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(days * 86_400))
        .unwrap();
}

fn gc(out: &Path, extra: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_genesys-loader"))
        .args(["gc", "--json", "--out", out.to_str().unwrap()])
        .args(extra)
        .env_clear()
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    let json = serde_json::from_str(stdout.trim()).unwrap_or(serde_json::Value::Null);
    (o.status.code(), json, stderr)
}

fn listed(report: &serde_json::Value) -> Vec<(String, String)> {
    report["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["kind"].as_str().unwrap().to_string(),
                c["path"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_removes_what_no_manifest_names_and_nothing_else() {
    let sim = Sim::start(sim_config(utc(2026, 10, 2, 6))).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let run = extract(
        &sim,
        out.to_str().unwrap(),
        &["--date", "2026-10-01", "--keep-raw"],
        &[],
    )
    .await;
    assert!(run.ok(), "{}", run.stderr);
    let manifest = read_manifest(&out);
    // What a killed run leaves: a data file no manifest names, and its run state.
    let stray =
        "conversations/conversation_date=2026-10-01/part-20261001T000000Z-00000000-00000.parquet";
    let state = "_state/0123456789abcdef/lock.json";
    for p in [stray, state] {
        std::fs::create_dir_all(out.join(p).parent().unwrap()).unwrap();
        std::fs::write(out.join(p), b"left by a killed run").unwrap();
    }
    // What a run being resumed has: an old file its (fresh) checkpoint names, to be committed.
    let resumed =
        "conversations/conversation_date=2026-10-02/part-20261002T000000Z-00000000-00000.parquet";
    let checkpoint = "_state/fedcba9876543210/chunks/conversations=2026-10-02.json";
    let outcome = genesys_loader::state::ChunkOutcome {
        files: vec![genesys_loader::sink::FileWritten {
            table: "conversations".into(),
            path: resumed.into(),
            partition: "2026-10-02".into(),
            rows: 1,
            bytes: 20,
            e_tag: None,
        }],
        ..Default::default()
    };
    for (p, body) in [
        (resumed, b"written by the run".to_vec()),
        (checkpoint, serde_json::to_vec(&outcome).unwrap()),
    ] {
        std::fs::create_dir_all(out.join(p).parent().unwrap()).unwrap();
        std::fs::write(out.join(p), body).unwrap();
    }
    // Every file, named ones included, ten days old (the resumed run's state is fresh).
    let all = files_below(&out);
    for f in &all {
        age(&out.join(f), 10);
    }
    age(&out.join(checkpoint), 0);
    let raw: Vec<&String> = all.iter().filter(|f| f.starts_with("_raw/")).collect();
    assert!(!raw.is_empty());

    // A grace period longer than their age: nothing to list.
    let (code, report, err) = gc(&out, &["--grace-hours", "300"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(listed(&report).is_empty(), "{report}");

    // Listed, not removed; raw pages only with a retention.
    let (code, report, err) = gc(&out, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        listed(&report),
        [
            ("data".to_string(), stray.to_string()),
            ("state".to_string(), state.to_string())
        ]
    );
    assert_eq!(files_below(&out), all, "listing removed something");
    let (_, report, _) = gc(&out, &["--raw-retention-days", "7"]);
    assert_eq!(listed(&report).len(), 2 + raw.len());

    // Removed: exactly the listed files; every file the manifest names is still there.
    let (code, report, err) = gc(&out, &["--raw-retention-days", "7", "--delete"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(report["deleted"], true);
    let left = files_below(&out);
    let expected: Vec<String> = all
        .iter()
        .filter(|f| !f.starts_with("_raw/") && *f != stray && *f != state)
        .cloned()
        .collect();
    assert_eq!(left, expected);
    for f in &manifest.files {
        assert!(left.contains(&f.path), "{} was removed", f.path);
    }
    assert!(left.contains(&manifest.load_script));
    assert!(
        left.iter().any(|f| f == resumed),
        "a checkpointed file was removed"
    );

    // Bad input is one line and exit 2.
    let (code, _, err) = gc(&out, &["--grace-hours", "0"]);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}
