//! Workforce management against the simulated org: every answer shape of the schedule search
//! (inline, download URL, Processing made smaller) and of the hierarchy and adherence
//! (download URLs, a polled job) is taken; a download URL never reaches a log or an output
//! file; a range across a daylight-saving change gives the right UTC instants; a missing WFM
//! permission fails the dataset by name.

mod util;

use std::collections::BTreeMap;
use std::path::Path;

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMicrosecondType;
use arrow_schema::DataType;
use chrono::{DateTime, Timelike, Utc};
use genesys_sim::Sim;
use util::*;

/// Every Parquet file under `root`, read back.
fn batches(root: &Path) -> Vec<(String, RecordBatch)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "parquet") {
                let table = p
                    .strip_prefix(root)
                    .unwrap()
                    .components()
                    .next()
                    .unwrap()
                    .as_os_str()
                    .to_string_lossy()
                    .to_string();
                for b in read_parquet(&p) {
                    out.push((table.clone(), b));
                }
            }
        }
    }
    out
}

/// Every text file under `root` (manifests, load scripts, state), as one string.
fn texts(root: &Path) -> String {
    let mut out = String::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(t) = std::fs::read_to_string(&p) {
                out.push_str(&t);
            }
        }
    }
    out
}

fn instants(b: &RecordBatch, column: &str) -> Vec<DateTime<Utc>> {
    let c = b
        .column_by_name(column)
        .unwrap()
        .as_primitive::<TimestampMicrosecondType>();
    (0..b.num_rows())
        .map(|i| DateTime::from_timestamp_micros(c.value(i)).unwrap())
        .collect()
}

fn strings(b: &RecordBatch, column: &str) -> Vec<String> {
    let c = b.column_by_name(column).unwrap().as_string::<i32>();
    (0..b.num_rows()).map(|i| c.value(i).to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_shape_is_taken_and_no_download_url_is_kept() {
    let sim = Sim::start(sim_config(utc(2026, 10, 9, 12))).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = extract(
        &sim,
        dir.path().to_str().unwrap(),
        &[
            "--dataset",
            "wfm-schedules,wfm-adherence",
            "--from",
            "2026-10-05",
            "--to",
            "2026-10-07",
            "--log",
            "genesys_loader=trace",
        ],
        &[],
    )
    .await;
    assert!(run.ok(), "{}", run.stderr);
    // The simulator answered every shape: a business unit of 20 agents and a management
    // unit of 12 are Processing (asked again smaller), 8 agents come as a download URL, 6
    // inline; the adherence jobs were accepted and polled.
    let answers = sim.stats().wfm_answers();
    for shape in ["inline", "download", "processing", "adherence-job"] {
        assert!(
            answers.get(shape).copied().unwrap_or(0) > 0,
            "{shape}: {answers:?}"
        );
    }
    let by_path = sim.stats().by_path();
    let requested = |needle: &str| by_path.iter().any(|(p, n)| p.contains(needle) && *n > 0);
    assert!(requested("/downloads/"), "{by_path:?}");
    assert!(
        requested("managementunits/{muId}/agentschedules/search"),
        "{by_path:?}"
    );
    assert!(requested("bulk/jobs/{jobId}"), "{by_path:?}");

    // No download URL in the log (at trace), the summary or any output file.
    let out = texts(dir.path());
    for text in [&run.stderr, &run.stdout, &out] {
        assert!(!text.contains("/downloads/"), "a download URL leaked");
        assert!(
            !text.contains("X-Amz-Signature"),
            "a download signature leaked"
        );
    }
    for (table, b) in batches(dir.path()) {
        for (i, f) in b.schema().fields().iter().enumerate() {
            if f.data_type() == &DataType::Utf8 {
                let c = b.column(i).as_string::<i32>();
                for v in c.iter().flatten() {
                    assert!(!v.contains("/downloads/"), "{table}.{}: {v}", f.name());
                }
            }
        }
    }
}

/// Sydney moves from UTC+10 to UTC+11 on 2026-10-04 at 02:00 local. Every APAC shift and
/// time-off marker starts at a whole local hour of the agent's pattern (06, 09, 12 or 15),
/// before and after the change, and the instants equal the simulator's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_range_across_a_dst_change_gives_the_right_utc_instants() {
    let sim = Sim::start(sim_config(utc(2026, 10, 9, 12))).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = extract(
        &sim,
        dir.path().to_str().unwrap(),
        &[
            "--dataset",
            "wfm-schedules",
            "--from",
            "2026-10-02",
            "--to",
            "2026-10-06",
        ],
        &[],
    )
    .await;
    assert!(run.ok(), "{}", run.stderr);
    let org = org_of(&sim);
    let mut want: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
    let sydney_unit = org
        .wfm_units()
        .into_iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .nth(2)
        .unwrap();
    for result in org.wfm_schedules(utc(2026, 10, 2, 0), utc(2026, 10, 6, 0)) {
        for s in result["agentSchedules"].as_array().unwrap() {
            for shift in s["shifts"].as_array().unwrap() {
                let at = DateTime::parse_from_rfc3339(shift["startDate"].as_str().unwrap())
                    .unwrap()
                    .with_timezone(&Utc);
                want.insert(shift["id"].as_str().unwrap().to_string(), at);
            }
        }
    }
    let mut got = BTreeMap::new();
    let (mut offsets, mut markers) = (std::collections::BTreeSet::new(), 0);
    for (table, b) in batches(dir.path()) {
        match table.as_str() {
            "wfm_shifts" => {
                let units = strings(&b, "business_unit_id");
                let zones = strings(&b, "time_zone");
                for ((id, at), (unit, zone)) in strings(&b, "id")
                    .into_iter()
                    .zip(instants(&b, "start_date"))
                    .zip(units.into_iter().zip(zones))
                {
                    if unit == sydney_unit {
                        assert_eq!(zone, "Australia/Sydney");
                        let local = at.with_timezone(&chrono_tz::Australia::Sydney);
                        assert!(
                            [6, 9, 12, 15].contains(&local.hour()) && local.minute() == 0,
                            "shift {id} starts at {local}"
                        );
                        offsets.insert(local.offset().to_string());
                    }
                    got.insert(id, at);
                }
            }
            "wfm_time_off_markers" => {
                for (at, zone) in instants(&b, "start_date")
                    .into_iter()
                    .zip(strings(&b, "time_zone"))
                {
                    let tz: chrono_tz::Tz = zone.parse().unwrap();
                    let local = at.with_timezone(&tz);
                    assert!([6, 9, 12, 15].contains(&local.hour()), "{local}");
                    markers += 1;
                }
            }
            _ => {}
        }
    }
    assert_eq!(got, want, "shift instants");
    assert_eq!(
        offsets.len(),
        2,
        "both sides of the change are in the range: {offsets:?}"
    );
    assert!(markers > 0, "no time-off marker in the range");
}

/// An adherence job that takes a while is polled with backoff, as analytics jobs are: a job
/// of 1.5 s polled from a first wait of 20 ms (`--job-poll-ms 20`) costs about ten polls, not
/// the 68 a fixed interval made. A slow host makes fewer polls, never more (the schedule is
/// counted from the submission), so the bound holds whatever the machine's speed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_adherence_job_is_polled_with_backoff() {
    let mut config = sim_config(utc(2026, 10, 9, 12));
    config.job_processing_time = Some(std::time::Duration::from_millis(1500));
    let sim = Sim::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = extract(
        &sim,
        dir.path().to_str().unwrap(),
        &[
            "--dataset",
            "wfm-adherence",
            "--from",
            "2026-10-05",
            "--to",
            "2026-10-06",
            // The run's own pacing (240 a minute by default) would space fixed polls too.
            "--max-requests-per-minute",
            "100000",
        ],
        &[],
    )
    .await;
    assert!(run.ok(), "{}", run.stderr);
    let polls: u64 = sim
        .stats()
        .by_path()
        .iter()
        .filter(|(p, _)| p.contains("adherence/historical/bulk/jobs/{jobId}"))
        .map(|(_, n)| *n)
        .sum();
    // It was Processing when first polled, and complete within a dozen polls.
    assert!(
        (2..=12).contains(&polls),
        "{polls} polls of the adherence job"
    );
    let rows: usize = batches(dir.path())
        .iter()
        .filter(|(t, _)| t == "wfm_adherence_days")
        .map(|(_, b)| b.num_rows())
        .sum();
    assert!(rows > 0, "no adherence rows");
}

/// A client without the WFM permissions fails the schedules by name (exit 4).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_wfm_permission_fails_the_dataset_by_name() {
    let mut role = genesys_sim::Role::least_privilege_loader();
    role.permissions.retain(|p| !p.starts_with("wfm:"));
    let sim = Sim::start(sim_config(utc(2026, 10, 9, 12)).with_roles(vec![role]))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = extract(
        &sim,
        dir.path().to_str().unwrap(),
        &[
            "--dataset",
            "wfm-schedules",
            "--from",
            "2026-10-05",
            "--to",
            "2026-10-06",
        ],
        &[],
    )
    .await;
    assert_eq!(run.code(), Some(4), "{}", run.stderr);
    assert!(
        run.stderr.contains("wfm:publishedSchedule:view"),
        "{}",
        run.stderr
    );
}
