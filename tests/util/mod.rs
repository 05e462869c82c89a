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

/// Row counts per table of what the simulated org holds for conversations started in the range.
pub fn expected_rows(org: &Org, from: DateTime<Utc>, to: DateTime<Utc>) -> BTreeMap<String, u64> {
    let convs = org.conversations_started_in(from, to);
    let mut n: BTreeMap<String, u64> = TABLES.iter().map(|t| (t.to_string(), 0)).collect();
    let len = |v: &serde_json::Value, k: &str| {
        v.get(k).and_then(|x| x.as_array()).map_or(0, |a| a.len()) as u64
    };
    for c in &convs {
        *n.get_mut("conversations").unwrap() += 1;
        for p in c["participants"].as_array().unwrap() {
            *n.get_mut("participants").unwrap() += 1;
            for s in p["sessions"].as_array().unwrap() {
                *n.get_mut("sessions").unwrap() += 1;
                *n.get_mut("segments").unwrap() += len(s, "segments");
                *n.get_mut("session_metrics").unwrap() += len(s, "metrics");
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

/// The schema of `schemas/<table>.json`, read from the checkout (not the copy in the binary).
pub fn schema_file(table: &str) -> TableSchema {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schemas")
        .join(format!("{table}.json"));
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
