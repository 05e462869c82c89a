//! Nothing lost: records that fill every field of the SDK's models come out with every value
//! somewhere in the tables; fields a newer API would add land in `extra_fields`, counted and
//! warned about once; and the interval rules (the query's result cap, expired jobs) do not
//! cost a row.

mod util;

use std::collections::{BTreeMap, BTreeSet};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use genesys_sim::{RecordHook, Sim};
use serde_json::{Map, Value, json};
use util::*;

type Models = BTreeMap<String, Vec<(String, String)>>;

fn models() -> Models {
    let fixture: Value = serde_json::from_str(include_str!("fixtures/sdk_models.json")).unwrap();
    fixture["models"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(m, fields)| {
            let fields = fields
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    (
                        f["name"].as_str().unwrap().to_string(),
                        f["type"].as_str().unwrap().to_string(),
                    )
                })
                .collect();
            (m.clone(), fields)
        })
        .collect()
}

/// Gives every absent field of `model` (and of the models nested in it) a distinct value.
fn fill(models: &Models, model: &str, obj: &mut Map<String, Value>, seq: &mut i64) {
    for (name, ty) in &models[model] {
        *seq += 1;
        let n = *seq;
        let nested = |t: &str| models.contains_key(t).then(|| t.to_string());
        let inner = ty.strip_prefix("list[").and_then(|t| t.strip_suffix(']'));
        if let Some(m) = inner.and_then(nested) {
            let list = obj.entry(name.clone()).or_insert_with(|| json!([{}]));
            if list.as_array().is_some_and(|l| l.is_empty()) {
                *list = json!([{}]);
            }
            for item in list.as_array_mut().unwrap() {
                fill(models, &m, item.as_object_mut().unwrap(), seq);
            }
            continue;
        }
        if let Some(m) = nested(ty) {
            let o = obj.entry(name.clone()).or_insert_with(|| json!({}));
            fill(models, &m, o.as_object_mut().unwrap(), seq);
            continue;
        }
        if obj.get(name).is_some_and(|v| !v.is_null()) {
            continue;
        }
        let value = match ty.as_str() {
            "str" => json!(format!("fill-{name}-{n}")),
            "datetime" => json!(format!(
                "2026-09-01T00:{:02}:{:02}.{:03}Z",
                n / 60 % 60,
                n % 60,
                n % 1000
            )),
            "int" => json!(1_000_000 + n),
            "float" => json!(n as f64 + 0.25),
            "bool" => json!(true),
            "list[str]" => json!([format!("fill-{name}-{n}")]),
            "list[int]" => json!([2_000_000 + n]),
            "dict(str, str)" => json!({ format!("fill.{name}"): format!("v{n}") }),
            other => panic!("no filler for {other}"),
        };
        obj.insert(name.clone(), value);
    }
}

fn fill_hook() -> RecordHook {
    let models = models();
    RecordHook::new(move |record| {
        let mut seq = 0;
        fill(
            &models,
            "AnalyticsConversation",
            record.as_object_mut().unwrap(),
            &mut seq,
        );
    })
}

/// Every scalar of a JSON value, normalised: instants as epoch microseconds.
fn leaves(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => m.values().for_each(|v| leaves(v, out)),
        Value::Array(a) => a.iter().for_each(|v| leaves(v, out)),
        Value::String(s) => {
            out.insert(match genesys_loader::decode::parse_instant(s) {
                Some(us) => us.to_string(),
                None => s.clone(),
            });
        }
        Value::Number(n) => {
            out.insert(match n.as_i64() {
                Some(i) => i.to_string(),
                None => n.as_f64().unwrap().to_string(),
            });
        }
        Value::Bool(b) => {
            out.insert(b.to_string());
        }
        Value::Null => {}
    }
}

/// Every value of an Arrow column, normalised like [`leaves`]; JSON text is taken apart.
fn column_values(a: &ArrayRef, out: &mut BTreeSet<String>) {
    for i in 0..a.len() {
        if a.is_null(i) {
            continue;
        }
        match a.data_type() {
            DataType::Utf8 => {
                let s = a.as_string::<i32>().value(i);
                match serde_json::from_str::<Value>(s) {
                    Ok(v @ (Value::Object(_) | Value::Array(_))) => leaves(&v, out),
                    _ => {
                        out.insert(s.to_string());
                    }
                }
            }
            DataType::Int64 => {
                out.insert(a.as_primitive::<Int64Type>().value(i).to_string());
            }
            DataType::Float64 => {
                out.insert(a.as_primitive::<Float64Type>().value(i).to_string());
            }
            DataType::Boolean => {
                out.insert(a.as_boolean().value(i).to_string());
            }
            DataType::Timestamp(..) => {
                out.insert(
                    a.as_primitive::<TimestampMicrosecondType>()
                        .value(i)
                        .to_string(),
                );
            }
            DataType::List(_) => column_values(&a.as_list::<i32>().value(i), out),
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_filling_every_model_field_keep_every_value() {
    let mut config = sim_config(utc(2026, 10, 2, 0));
    config.record_hook = Some(fill_hook());
    let sim = Sim::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The first day comes from a job (with attributes), the second from the query.
    let run = extract(
        &sim,
        dir.path().to_str().unwrap(),
        &["--from", "2026-10-01", "--to", "2026-10-03"],
        &[],
    )
    .await;
    assert!(run.ok(), "{}", run.stderr);
    let manifest = read_manifest(dir.path());
    for (table, totals) in &manifest.tables {
        assert!(
            totals.unknown_fields.is_empty(),
            "{table}: {:?}",
            totals.unknown_fields
        );
        assert!(
            totals.rows > 0,
            "{table} is empty although every field was filled"
        );
    }

    let org = org_of(&sim);
    let hook = fill_hook();
    let mut expected = BTreeSet::new();
    let served = [(utc(2026, 10, 1, 0), true), (utc(2026, 10, 2, 0), false)];
    for (day, from_job) in served {
        for mut record in org.conversations_started_in(day, day + chrono::Duration::days(1)) {
            if !from_job {
                // The query never serves participant attributes; only jobs do.
                for p in record["participants"].as_array_mut().unwrap() {
                    p.as_object_mut().unwrap().remove("attributes");
                }
            }
            hook.apply(&mut record);
            leaves(&record, &mut expected);
        }
    }
    let mut found = BTreeSet::new();
    for f in &manifest.files {
        for b in read_parquet(&dir.path().join(&f.path)) {
            for c in b.columns() {
                column_values(c, &mut found);
            }
        }
    }
    let missing: Vec<&String> = expected.difference(&found).take(20).collect();
    println!(
        "{} distinct served values, all found: {}",
        expected.len(),
        missing.is_empty()
    );
    assert!(
        missing.is_empty(),
        "served values found in no column: {missing:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fields_a_newer_api_adds_are_kept_counted_and_warned_about_once() {
    let mut config = sim_config(utc(2026, 10, 2, 0));
    config.record_hook = Some(RecordHook::new(|record| {
        let id = record["conversationId"].as_str().unwrap().to_string();
        record["futureConversationFlag"] = json!(format!("flag-{id}"));
        for p in record["participants"].as_array_mut().unwrap() {
            for s in p["sessions"].as_array_mut().unwrap() {
                s["futureSessionScore"] = json!(42);
                for g in s["segments"].as_array_mut().into_iter().flatten() {
                    g["futureSegmentTags"] = json!(["a", "b"]);
                }
            }
        }
    }));
    let sim = Sim::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = extract(
        &sim,
        dir.path().to_str().unwrap(),
        &["--from", "2026-10-01", "--to", "2026-10-03"],
        &[],
    )
    .await;
    assert!(run.ok(), "{}", run.stderr);
    let m = read_manifest(dir.path());
    let unknown = |t: &str, f: &str| m.tables[t].unknown_fields.get(f).copied().unwrap_or(0);
    assert_eq!(
        unknown("conversations", "futureConversationFlag"),
        m.tables["conversations"].rows
    );
    assert_eq!(
        unknown("sessions", "futureSessionScore"),
        m.tables["sessions"].rows
    );
    assert_eq!(
        unknown("segments", "futureSegmentTags"),
        m.tables["segments"].rows
    );
    assert_eq!(
        run.stderr.matches("this schema does not know").count(),
        3,
        "one warning per field:\n{}",
        run.stderr
    );

    for f in m.files.iter().filter(|f| f.table == "conversations") {
        for b in read_parquet(&dir.path().join(&f.path)) {
            let ids = b
                .column_by_name("conversation_id")
                .unwrap()
                .as_string::<i32>();
            let extra = b.column_by_name("extra_fields").unwrap().as_string::<i32>();
            for i in 0..b.num_rows() {
                let v: Value = serde_json::from_str(extra.value(i)).unwrap();
                assert_eq!(
                    v["futureConversationFlag"],
                    format!("flag-{}", ids.value(i)),
                    "in its own row"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interval_past_the_result_cap_is_split_without_losing_a_row() {
    let mut config = sim_config(utc(2026, 9, 1, 0));
    config.query_result_cap = 20;
    let sim = Sim::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--date",
        "2026-10-05",
        "--page-size",
        "5",
        "--query-result-cap",
        "20",
    ];
    let run = extract(&sim, dir.path().to_str().unwrap(), &args, &[]).await;
    assert!(run.ok(), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("splitting a query interval past the result cap"),
        "{}",
        run.stderr
    );
    let org = org_of(&sim);
    assert_eq!(
        rows(&read_manifest(dir.path())),
        expected_rows(&org, utc(2026, 10, 5, 0), utc(2026, 10, 6, 0))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_job_is_submitted_again() {
    let mut config = sim_config(utc(2026, 10, 9, 0));
    config.expire_first_jobs = 1;
    let sim = Sim::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = extract(
        &sim,
        dir.path().to_str().unwrap(),
        &["--date", "2026-10-05"],
        &[],
    )
    .await;
    assert!(run.ok(), "{}", run.stderr);
    assert_eq!(
        sim.stats().jobs_submitted(),
        2,
        "the expired job is replaced by one new job"
    );
    let org = org_of(&sim);
    assert_eq!(
        rows(&read_manifest(dir.path())),
        expected_rows(&org, utc(2026, 10, 5, 0), utc(2026, 10, 6, 0))
    );
}
