//! The contract every dataset passes (the object_store `integration.rs` pattern): against the
//! simulated org it plans a range, fetches, decodes and writes it; its rows equal what the
//! simulator served (compared by key and count, computed from the simulator's own data, not
//! through the loader's code); `ddl` covers its tables; and its load scripts load it into
//! fakesnow exactly once (scripts/check_snowflake.py), a re-run included.
//!
//! The simulator is set up with small platform caps, so listings that pass them must be split
//! and aggregates queries halved, as a large org's would be.

mod util;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, TimestampMicrosecondType};
use genesys_loader::datasets;
use genesys_sim::{Org, Sim};
use serde_json::json;
use util::*;

const FROM: &str = "2026-10-01";
const TO: &str = "2026-10-03";

/// The simulator's name for a dimension.
fn sim_name(dataset: &str) -> &str {
    match dataset {
        "wrapup-codes" => "wrap-up-codes",
        other => other,
    }
}

/// What the org holds for `dataset` over the range: rows per table, and the keys of the root
/// table's rows.
fn expected(org: &Org, dataset: &str) -> (BTreeMap<String, u64>, BTreeSet<String>) {
    let (from, to) = (utc(2026, 10, 1, 0), utc(2026, 10, 3, 0));
    match dataset {
        "conversations" => {
            let convs = org.conversations_started_in(from, to);
            let keys = convs
                .iter()
                .map(|c| c["conversationId"].as_str().unwrap().to_string())
                .collect();
            (count_rows(&convs), keys)
        }
        "conversation-aggregates" => {
            let mut keys = BTreeSet::new();
            for day in ["2026-10-01", "2026-10-02"] {
                let body = json!({
                    "interval": format!("{day}T00:00:00.000Z/{}", next_day(day)),
                    "granularity": "PT30M",
                    "groupBy": ["queueId", "mediaType"],
                    "metrics": datasets::aggregates::METRICS,
                });
                let answer = org.aggregate(&body, None).unwrap();
                for r in answer["results"].as_array().unwrap() {
                    let mut pairs: Vec<String> = r["group"]
                        .as_object()
                        .unwrap()
                        .iter()
                        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
                        .collect();
                    pairs.sort();
                    for d in r["data"].as_array().unwrap() {
                        let start = d["interval"].as_str().unwrap().split('/').next().unwrap();
                        let micros = chrono::DateTime::parse_from_rfc3339(start)
                            .unwrap()
                            .timestamp_micros();
                        for m in d["metrics"].as_array().unwrap() {
                            keys.insert(format!(
                                "{micros}|{}|{}|{}",
                                pairs.join("|"),
                                m["metric"].as_str().unwrap(),
                                m["stats"]["count"].as_i64().unwrap_or(-1)
                            ));
                        }
                    }
                }
            }
            let rows = BTreeMap::from([("conversation_aggregates".to_string(), keys.len() as u64)]);
            (rows, keys)
        }
        "evaluations" => {
            let evaluations = org.evaluations_started_in(from, to);
            let mut groups = 0;
            let mut questions = 0;
            for e in &evaluations {
                for g in e["answers"]["questionGroupScores"].as_array().unwrap() {
                    groups += 1;
                    questions += g["questionScores"].as_array().unwrap().len() as u64;
                }
            }
            let rows = BTreeMap::from([
                ("quality_evaluations".to_string(), evaluations.len() as u64),
                ("quality_question_group_scores".to_string(), groups),
                ("quality_question_scores".to_string(), questions),
            ]);
            (rows, ids(&evaluations))
        }
        "evaluation-forms" => {
            let forms = org.evaluation_forms();
            let (mut groups, mut questions, mut options) = (0, 0, 0);
            for f in &forms {
                for g in f["questionGroups"].as_array().unwrap() {
                    groups += 1;
                    for q in g["questions"].as_array().unwrap() {
                        questions += 1;
                        options += q["answerOptions"].as_array().unwrap().len() as u64;
                    }
                }
            }
            let rows = BTreeMap::from([
                ("quality_forms".to_string(), forms.len() as u64),
                ("quality_form_question_groups".to_string(), groups),
                ("quality_form_questions".to_string(), questions),
                ("quality_form_answer_options".to_string(), options),
            ]);
            (rows, ids(&forms))
        }
        "recordings" => {
            let recordings = org.recordings_started_in(from, to, true);
            fn annotations(list: &serde_json::Value) -> u64 {
                list.as_array().map_or(0, |a| {
                    a.iter().map(|x| 1 + annotations(&x["annotations"])).sum()
                })
            }
            let nested: u64 = recordings
                .iter()
                .map(|r| annotations(&r["annotations"]))
                .sum();
            let rows = BTreeMap::from([
                ("recordings".to_string(), recordings.len() as u64),
                ("recording_annotations".to_string(), nested),
            ]);
            (rows, ids(&recordings))
        }
        "wfm-units" => {
            let units = org.wfm_units();
            let count = |f: &dyn Fn(&serde_json::Value) -> usize| -> u64 {
                units.iter().map(|u| f(u) as u64).sum()
            };
            let rows = BTreeMap::from([
                ("wfm_business_units".to_string(), units.len() as u64),
                (
                    "wfm_management_units".to_string(),
                    count(&|u| u["managementUnits"].as_array().unwrap().len()),
                ),
                (
                    "wfm_management_unit_users".to_string(),
                    count(&|u| {
                        u["managementUnits"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|m| m["users"].as_array().unwrap().len())
                            .sum()
                    }),
                ),
                (
                    "wfm_activity_codes".to_string(),
                    count(&|u| u["activityCodes"].as_array().unwrap().len()),
                ),
            ]);
            let keys = units
                .iter()
                .map(|u| u["id"].as_str().unwrap().to_string())
                .collect();
            (rows, keys)
        }
        "wfm-schedules" => {
            let (mut shifts, mut activities, mut markers) = (0, 0, 0);
            let mut keys = BTreeSet::new();
            for result in org.wfm_schedules(from, to) {
                for s in result["agentSchedules"].as_array().unwrap() {
                    for shift in s["shifts"].as_array().unwrap() {
                        shifts += 1;
                        activities += shift["activities"].as_array().unwrap().len() as u64;
                        keys.insert(shift["id"].as_str().unwrap().to_string());
                    }
                    markers += s["fullDayTimeOffMarkers"].as_array().unwrap().len() as u64;
                }
            }
            let rows = BTreeMap::from([
                ("wfm_shifts".to_string(), shifts),
                ("wfm_shift_activities".to_string(), activities),
                ("wfm_time_off_markers".to_string(), markers),
            ]);
            (rows, keys)
        }
        "wfm-adherence" => {
            let (mut exceptions, mut keys) = (0, BTreeSet::new());
            for result in org.wfm_adherence(from, to) {
                let origin =
                    chrono::DateTime::parse_from_rfc3339(result["startDate"].as_str().unwrap())
                        .unwrap()
                        .timestamp_micros();
                for u in result["userResults"].as_array().unwrap() {
                    exceptions += u["exceptionInfo"].as_array().unwrap().len() as u64;
                    for d in u["dayMetrics"].as_array().unwrap() {
                        let offset = d["dayStartOffsetSeconds"].as_i64().unwrap() * 1_000_000;
                        keys.insert(format!(
                            "{}|{}",
                            u["userId"].as_str().unwrap(),
                            origin + offset
                        ));
                    }
                }
            }
            let rows = BTreeMap::from([
                ("wfm_adherence_days".to_string(), keys.len() as u64),
                ("wfm_adherence_exceptions".to_string(), exceptions),
            ]);
            (rows, keys)
        }
        dim => {
            let entities = org.dimension(sim_name(dim));
            assert!(!entities.is_empty(), "the simulator serves no {dim}");
            let table = dim.replace('-', "_");
            let keys: BTreeSet<String> = entities
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_string())
                .collect();
            (BTreeMap::from([(table, keys.len() as u64)]), keys)
        }
    }
}

fn ids(entities: &[serde_json::Value]) -> BTreeSet<String> {
    entities
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect()
}

fn next_day(day: &str) -> String {
    let d = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap() + chrono::Days::new(1);
    format!("{d}T00:00:00.000Z")
}

/// The keys of the rows the loader wrote for `dataset`, read back from its Parquet files.
fn written_keys(
    root: &Path,
    manifest: &genesys_loader::snowflake::Manifest,
    dataset: &str,
) -> BTreeSet<String> {
    let root_table = datasets::tables(datasets::get(dataset).unwrap())[0]
        .table
        .clone();
    let mut keys = BTreeSet::new();
    for f in manifest.files.iter().filter(|f| f.table == root_table) {
        for b in read_parquet(&root.join(&f.path)) {
            for row in 0..b.num_rows() {
                let text = |c: &str| {
                    b.column_by_name(c)
                        .unwrap()
                        .as_string::<i32>()
                        .value(row)
                        .to_string()
                };
                keys.insert(match dataset {
                    "conversations" => text("conversation_id"),
                    "conversation-aggregates" => {
                        let start = b
                            .column_by_name("interval_start")
                            .unwrap()
                            .as_primitive::<TimestampMicrosecondType>()
                            .value(row);
                        let count = b
                            .column_by_name("count")
                            .unwrap()
                            .as_primitive::<Int64Type>();
                        let count = if count.is_null(row) {
                            -1
                        } else {
                            count.value(row)
                        };
                        format!("{start}|{}|{}|{count}", text("group_key"), text("metric"))
                    }
                    "wfm-adherence" => {
                        let start = b
                            .column_by_name("day_start")
                            .unwrap()
                            .as_primitive::<TimestampMicrosecondType>()
                            .value(row);
                        format!("{}|{start}", text("user_id"))
                    }
                    _ => text("id"),
                });
            }
        }
    }
    keys
}

async fn contract(dataset: &str) {
    let mut config = sim_config(utc(2026, 10, 2, 12));
    // Small platform caps: with pages of 6, the users listing (52) must be split by state,
    // queues and wrap-up codes (56 each) by division, and a day of half-hour aggregates (48
    // buckets) halved.
    config.listing_result_cap = 48;
    config.aggregate_max_buckets = 30;
    let sim = Sim::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lake");
    let out_s = out.to_str().unwrap();

    // Plan, fetch, decode, write, commit; then the same range again (a re-run).
    let args = [
        "--dataset",
        dataset,
        "--from",
        FROM,
        "--to",
        TO,
        "--listing-page-size",
        "6",
    ];
    let mut manifests = Vec::new();
    for _ in 0..2 {
        let run = extract(&sim, out_s, &args, &[]).await;
        assert!(run.ok(), "{dataset}: {}", run.stderr);
        let run_id = run.summary()["run_id"].as_str().unwrap().to_string();
        manifests.push(manifest_of(&out, &run_id));
    }
    let manifest = &manifests[1];
    // The dataset and those it includes (evaluations take their forms along, the schedules
    // their units), in registry order.
    let taken: Vec<&str> = datasets::resolve("--dataset", &[dataset.to_string()])
        .unwrap()
        .iter()
        .map(|d| d.spec().name)
        .collect();
    assert_eq!(manifest.datasets, taken);

    // Rows equal what the simulator served: counts per table, and the root table's keys.
    let org = org_of(&sim);
    let (rows_expected, keys_expected) = expected(&org, dataset);
    let tables: Vec<String> = datasets::tables(datasets::get(dataset).unwrap())
        .iter()
        .map(|t| t.table.clone())
        .collect();
    assert_eq!(
        rows(manifest)
            .into_iter()
            .filter(|(t, _)| tables.contains(t))
            .collect::<BTreeMap<_, _>>(),
        rows_expected,
        "{dataset}: rows per table"
    );
    assert_eq!(
        written_keys(&out, manifest, dataset),
        keys_expected,
        "{dataset}: keys"
    );

    // The DDL covers every table of the dataset.
    let ddl = std::process::Command::new(env!("CARGO_BIN_EXE_genesys-loader"))
        .args(["ddl", "--dataset", dataset])
        .output()
        .unwrap();
    assert!(ddl.status.success());
    let ddl_sql = String::from_utf8(ddl.stdout).unwrap();
    for t in &tables {
        assert!(
            ddl_sql.contains(&format!("CREATE TABLE IF NOT EXISTS {t} (")),
            "{dataset}: the DDL has no {t}"
        );
    }

    // The load scripts load it into fakesnow exactly once.
    let Some(python) = python() else { return };
    let ddl_path = dir.path().join("ddl.sql");
    std::fs::write(&ddl_path, &ddl_sql).unwrap();
    let expect_path = dir.path().join("expect.json");
    std::fs::write(&expect_path, serde_json::to_vec(&rows_expected).unwrap()).unwrap();
    let manifest_paths: Vec<_> = manifests
        .iter()
        .map(|m| out.join("_manifests").join(format!("{}.json", m.run_id)))
        .collect();
    let result = std::process::Command::new(python)
        .arg("-W")
        .arg("ignore")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scripts/check_snowflake.py"
        ))
        .arg("--root")
        .arg(&out)
        .arg("--ddl")
        .arg(&ddl_path)
        .arg("--expect")
        .arg(&expect_path)
        .args(&manifest_paths)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(
        result.status.success() && stdout.contains(" passed, 0 failed"),
        "{dataset}:\n{stdout}\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
}

/// One test per dataset; the list must name every dataset of the build.
macro_rules! contracts {
    ($($test:ident => $dataset:literal),* $(,)?) => {
        const CONTRACTED: &[&str] = &[$($dataset),*];
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                contract($dataset).await;
            }
        )*
    };
}

contracts! {
    conversations => "conversations",
    conversation_aggregates => "conversation-aggregates",
    users => "users",
    queues => "queues",
    divisions => "divisions",
    wrapup_codes => "wrapup-codes",
    skills => "skills",
    languages => "languages",
    groups => "groups",
    teams => "teams",
    evaluations => "evaluations",
    evaluation_forms => "evaluation-forms",
    recordings => "recordings",
    wfm_units => "wfm-units",
    wfm_schedules => "wfm-schedules",
    wfm_adherence => "wfm-adherence",
}

/// `--dataset all`: every dataset in one run, under one client and one request budget, rows
/// equal to what the simulator served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_datasets_run_together_with_the_served_rows() {
    let sim = Sim::start(sim_config(utc(2026, 10, 2, 12))).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = extract(
        &sim,
        dir.path().to_str().unwrap(),
        &["--dataset", "all", "--from", FROM, "--to", TO],
        &[],
    )
    .await;
    assert!(run.ok(), "{}", run.stderr);
    let manifest = read_manifest(dir.path());
    let org = org_of(&sim);
    let mut want = BTreeMap::new();
    for d in datasets::registry() {
        assert!(manifest.datasets.iter().any(|x| x == d.spec().name));
        want.extend(expected(&org, d.spec().name).0);
    }
    assert_eq!(rows(&manifest), want);
    assert_eq!(
        run.summary()["datasets"].as_array().unwrap().len(),
        datasets::registry().len()
    );
    // One token for the whole run, whatever the number of datasets.
    assert_eq!(manifest.stats.api.token_requests, 1);
}

#[test]
fn every_dataset_of_the_build_runs_the_contract() {
    let mut all: Vec<&str> = datasets::registry().iter().map(|d| d.spec().name).collect();
    let mut contracted = CONTRACTED.to_vec();
    all.sort();
    contracted.sort();
    assert_eq!(all, contracted);
}

/// A dataset the client may not read fails alone and by name: the others finish and are
/// checkpointed, nothing is committed, and once the role is fixed a rerun of the same command
/// fetches only what failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forbidden_dataset_fails_by_name_and_the_rerun_redoes_only_it() {
    let mut role = genesys_sim::Role::least_privilege_loader();
    role.permissions.retain(|p| p != "groups:team:view");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let args = [
        "--dataset",
        "users,teams,queues",
        "--from",
        FROM,
        "--to",
        TO,
    ];
    {
        let sim = Sim::start(sim_config(utc(2026, 10, 2, 12)).with_roles(vec![role]))
            .await
            .unwrap();
        let run = extract(&sim, out, &args, &[]).await;
        assert_eq!(run.code(), Some(4), "{}", run.stderr);
        assert!(
            run.stderr.contains("dataset=\"teams\"") && run.stderr.contains("groups:team:view"),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("redoes only what failed"),
            "{}",
            run.stderr
        );
        assert!(!dir.path().join("_manifests").exists(), "nothing committed");
    }
    let sim = Sim::start(sim_config(utc(2026, 10, 2, 12))).await.unwrap();
    let run = extract(&sim, out, &args, &[]).await;
    assert!(run.ok(), "{}", run.stderr);
    assert!(run.stderr.contains("chunk already done"), "{}", run.stderr);
    let requested: Vec<String> = sim.stats().by_path().into_keys().collect();
    assert!(
        requested.iter().any(|p| p.contains("/api/v2/teams")),
        "{requested:?}"
    );
    assert!(
        !requested
            .iter()
            .any(|p| p.contains("/api/v2/users") || p.contains("/api/v2/routing/queues")),
        "the finished datasets are not fetched again: {requested:?}"
    );
    let manifest = read_manifest(dir.path());
    assert_eq!(manifest.datasets, ["users", "queues", "teams"]);
}
