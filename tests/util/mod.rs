//! Helpers shared by the integration tests: start the simulated org, run the real binary,
//! read back what it wrote.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use arrow_array::RecordBatch;
use chrono::{DateTime, TimeZone, Utc};
use genesys_loader::schema::TableSchema;
use genesys_loader::snowflake::Manifest;
use genesys_sim::{Org, Sim, SimConfig};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

pub const SECRET: &str = "sim-secret-for-tests-0123456789";
pub const TABLES: [&str; 5] = [
    "conversations",
    "participants",
    "sessions",
    "segments",
    "session_metrics",
];
/// The tables that take nested objects apart (flows, media stats, evaluations, ...).
pub const CHILD_TABLES: [&str; 10] = [
    "flows",
    "flow_outcomes",
    "media_endpoint_stats",
    "agent_groups",
    "proposed_agents",
    "segment_properties",
    "scored_agents",
    "evaluations",
    "surveys",
    "resolutions",
];

pub fn utc(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
}

/// A simulator config for a fixed past range: jobs serve up to `availability`, the query after.
pub fn sim_config(availability: DateTime<Utc>) -> SimConfig {
    let config = SimConfig {
        data_availability: availability,
        conversations_per_day: 60,
        ..SimConfig::default()
    };
    config.client_secret.set(SECRET);
    config
}

pub struct Run {
    pub output: Output,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(&self) -> bool {
        self.output.status.success()
    }
    pub fn code(&self) -> Option<i32> {
        self.output.status.code()
    }
    pub fn summary(&self) -> serde_json::Value {
        let last = self
            .stdout
            .lines()
            .last()
            .unwrap_or_else(|| panic!("no stdout; stderr:\n{}", self.stderr));
        serde_json::from_str(last).unwrap()
    }
}

/// Runs `genesys-loader extract` against the simulator with the usual credentials.
pub async fn extract(sim: &Sim, out: &str, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let mut args = vec![
        "extract".to_string(),
        "--api-url".into(),
        sim.base_url(),
        "--login-url".into(),
        sim.base_url(),
        "--out".into(),
        out.to_string(),
        "--job-poll-ms".into(),
        "20".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_genesys-loader"));
    cmd.args(&args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GENESYS_CLIENT_ID", "sim-client")
        .env("GENESYS_CLIENT_SECRET", SECRET)
        .env("GENESYS_LOG", "info");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = cmd.output().await.expect("run genesys-loader");
    Run {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        output,
    }
}

/// Row counts per conversation table of what the simulated org holds for conversations
/// started in the range, counted from the records themselves (not through the loader's code).
pub fn expected_rows(org: &Org, from: DateTime<Utc>, to: DateTime<Utc>) -> BTreeMap<String, u64> {
    count_rows(&org.conversations_started_in(from, to))
}

pub fn count_rows(convs: &[serde_json::Value]) -> BTreeMap<String, u64> {
    let mut n: BTreeMap<String, u64> = TABLES
        .iter()
        .chain(CHILD_TABLES.iter())
        .map(|t| (t.to_string(), 0))
        .collect();
    let len = |v: &serde_json::Value, k: &str| {
        v.get(k).and_then(|x| x.as_array()).map_or(0, |a| a.len()) as u64
    };
    let mut add = |t: &str, k: u64| *n.get_mut(t).unwrap() += k;
    for c in convs {
        add("conversations", 1);
        add("evaluations", len(c, "evaluations"));
        add("surveys", len(c, "surveys"));
        add("resolutions", len(c, "resolutions"));
        for p in c["participants"].as_array().unwrap() {
            add("participants", 1);
            for s in p["sessions"].as_array().unwrap() {
                add("sessions", 1);
                add("session_metrics", len(s, "metrics"));
                add("media_endpoint_stats", len(s, "mediaEndpointStats"));
                add("agent_groups", len(s, "agentGroups"));
                add("proposed_agents", len(s, "proposedAgents"));
                if let Some(flow) = s.get("flow").filter(|f| f.is_object()) {
                    add("flows", 1);
                    add("flow_outcomes", len(flow, "outcomes"));
                }
                for g in s
                    .get("segments")
                    .and_then(|x| x.as_array())
                    .into_iter()
                    .flatten()
                {
                    add("segments", 1);
                    add("segment_properties", len(g, "properties"));
                    add("scored_agents", len(g, "scoredAgents"));
                }
            }
        }
    }
    n
}

pub fn read_manifest(root: &Path) -> Manifest {
    let dir = root.join("_manifests");
    let json: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    assert_eq!(json.len(), 1, "expected one manifest in {}", dir.display());
    serde_json::from_slice(&std::fs::read(&json[0]).unwrap()).unwrap()
}

pub fn read_parquet(path: &Path) -> Vec<RecordBatch> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .map(|b| b.unwrap())
        .collect()
}

/// The schema of `schemas/<dataset>/<table>.json`, read from the checkout (not the copy in
/// the binary).
pub fn schema_file(table: &str) -> TableSchema {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
    let path = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path().join(format!("{table}.json")))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("no schemas/<dataset>/{table}.json"));
    TableSchema::parse(table, &std::fs::read_to_string(path).unwrap()).unwrap()
}

/// All files below `root`, relative, sorted.
pub fn files_below(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

/// Each table's rows per partition, without the run id (the one thing two runs of the same
/// range legitimately differ in).
pub fn contents(root: &Path, manifest: &Manifest) -> BTreeMap<(String, String), Vec<RecordBatch>> {
    let mut out: BTreeMap<(String, String), Vec<RecordBatch>> = BTreeMap::new();
    for f in &manifest.files {
        for b in read_parquet(&root.join(&f.path)) {
            let keep: Vec<usize> = (0..b.num_columns())
                .filter(|&i| b.schema().field(i).name() != "run_id")
                .collect();
            out.entry((f.table.clone(), f.partition.clone()))
                .or_default()
                .push(b.project(&keep).unwrap());
        }
    }
    out
}

/// Rows per table from a manifest.
pub fn rows(manifest: &Manifest) -> BTreeMap<String, u64> {
    manifest
        .tables
        .iter()
        .map(|(t, v)| (t.clone(), v.rows))
        .collect()
}

/// The manifest of one run.
pub fn manifest_of(root: &Path, run_id: &str) -> Manifest {
    let path = root.join("_manifests").join(format!("{run_id}.json"));
    serde_json::from_slice(
        &std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

/// The command line `extract` runs with against the simulator, for tests that drive the
/// process themselves (to kill it).
pub fn extract_command(sim: &Sim, out: &str, extra: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_genesys-loader"));
    cmd.args([
        "extract",
        "--api-url",
        &sim.base_url(),
        "--login-url",
        &sim.base_url(),
        "--out",
        out,
        "--job-poll-ms",
        "20",
    ])
    .args(extra)
    .env_clear()
    .env("PATH", std::env::var("PATH").unwrap_or_default())
    .env("GENESYS_CLIENT_ID", "sim-client")
    .env("GENESYS_CLIENT_SECRET", SECRET)
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    cmd
}

/// The simulator's org as of now: what tests compare the loader's output against.
pub fn org_of(sim: &Sim) -> Org {
    Org::new(
        sim.config().seed,
        sim.config().conversations_per_day,
        chrono::Utc::now(),
    )
}

/// The Python with fakesnow that scripts/test.sh installs (GENESYS_TEST_PYTHON). Without it a
/// test says so and skips its Snowflake part, unless GENESYS_REQUIRE_PYTHON_TESTS is set (as
/// scripts/test.sh and CI do).
pub fn python() -> Option<String> {
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
