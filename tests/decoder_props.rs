//! The decoder never panics on what an API might serve, for every dataset's tables: arbitrary
//! JSON (with the field names the schemas read), and real records from the simulated org with
//! parts replaced, removed or retyped. A record it refuses leaves nothing behind: the batches
//! it makes afterwards have whole rows only (every column as long as the batch), and it goes
//! on decoding good records.
//!
//! Cases per property: 128, or `PROPTEST_CASES`.

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use arrow_array::RecordBatch;
use chrono::{NaiveDate, TimeZone, Utc};
use genesys_loader::datasets::{self, Dataset};
use genesys_loader::decode::{ConversationDecoder, TreeDecoder};
use genesys_loader::schema::{Catalog, Source, TableSchema};
use genesys_sim::Org;
use proptest::prelude::*;
use serde_json::{Value, json};

const RUN_ID: &str = "20261001T000000Z-00000000";

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 10, 1).unwrap()
}

/// Real records: a day of conversations and every dimension's entities, as the simulator
/// serves them.
fn seeds() -> &'static [Value] {
    static SEEDS: OnceLock<Vec<Value>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let org = Org::new(7, 40, Utc::now());
        let from = Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap();
        let mut all = org.conversations_started_in(from, from + chrono::Duration::days(1));
        for name in [
            "users",
            "queues",
            "wrap-up-codes",
            "skills",
            "languages",
            "groups",
            "teams",
            "divisions",
        ] {
            all.extend(org.dimension(name).into_iter().take(5));
        }
        let to = from + chrono::Duration::days(1);
        all.extend(org.evaluations_started_in(from, to).into_iter().take(5));
        all.extend(org.evaluation_forms().into_iter().take(2));
        all
    })
}

/// A record each dataset decodes, to show a decoder still works after refusing one: a real
/// one where the simulator serves the item as the decoder takes it, otherwise one made from the
/// root table's schema with every required field set.
fn good_record(ds: &dyn Dataset) -> Value {
    let seeds = seeds();
    match ds.spec().name {
        "conversations" => seeds[0].clone(),
        "conversation-aggregates" => json!({
            "intervalStart": "2026-10-01T00:00:00.000Z",
            "intervalEnd": "2026-10-01T00:30:00.000Z",
            "groupKey": "queueId=q1|mediaType=voice",
            "metric": "nOffered",
            "view": false,
            "granularity": "PT30M",
            "count": 3,
        }),
        _ => {
            let tables = datasets::tables(ds);
            let root = &tables[0];
            let mut record = json!({"id": "entity-1", "name": "a good entity"});
            // Nested paths first, so `conversation.id` and a column of the whole
            // `conversation` agree on one object.
            let mut required: Vec<_> = root.columns.iter().filter(|c| !c.nullable).collect();
            let steps_of = |c: &genesys_loader::schema::Column| match &c.source {
                Source::Field(f) => vec![f.clone()],
                Source::Path(steps) => steps.clone(),
                _ => Vec::new(),
            };
            required.sort_by_key(|c| std::cmp::Reverse(steps_of(c).len()));
            for c in required {
                let steps = steps_of(c);
                if !steps.is_empty() {
                    let value = match c.ty.snowflake_type() {
                        "TIMESTAMP_TZ(6)" => json!("2026-10-01T12:00:00.000Z"),
                        "DATE" => json!("2026-10-01"),
                        "NUMBER(38,0)" => json!(1),
                        "FLOAT" => json!(1.5),
                        "BOOLEAN" => json!(true),
                        "ARRAY" => json!([]),
                        _ => json!(format!("{}-1", c.name)),
                    };
                    let mut at = &mut record;
                    for step in &steps[..steps.len() - 1] {
                        at = at
                            .as_object_mut()
                            .unwrap()
                            .entry(step.to_string())
                            .or_insert_with(|| json!({}));
                    }
                    let last = steps[steps.len() - 1].as_str();
                    if at.get(last).is_none() {
                        at[last] = value;
                    }
                }
            }
            match envelope_field(&tables) {
                Some(field) => json!({ field: [record] }),
                None => record,
            }
        }
    }
}

/// The first root's list field when a dataset's records are envelopes of several root lists
/// (a schedule's shifts and time-off markers), else None.
fn envelope_field(tables: &[Arc<TableSchema>]) -> Option<String> {
    let roots = tables.iter().filter(|t| !t.path.contains('.')).count();
    (roots > 1).then(|| tables[0].path.trim_end_matches("[]").to_string())
}

/// The root rows a record accepted by a dataset's decoder makes: one, or for an envelope as
/// many as its first root list holds.
fn root_rows(tables: &[Arc<TableSchema>], record: &Value) -> usize {
    match envelope_field(tables) {
        Some(field) => record
            .get(&field)
            .and_then(Value::as_array)
            .map_or(0, Vec::len),
        None => 1,
    }
}

/// Every field name a schema reads, so generated objects reach the columns, not only
/// `extra_fields`.
fn field_names() -> Vec<String> {
    let mut names = BTreeSet::new();
    for t in Catalog::builtin().tables() {
        for step in t.path.split('.') {
            names.insert(step.trim_end_matches("[]").to_string());
        }
        names.extend(t.nested.iter().cloned());
        for c in &t.columns {
            match &c.source {
                Source::Field(f) => {
                    names.insert(f.clone());
                }
                Source::Path(steps) => names.extend(steps.iter().cloned()),
                Source::Parent { field, .. } => {
                    names.insert(field.clone());
                }
                _ => {}
            }
        }
    }
    names.into_iter().collect()
}

/// Strings shaped like what the columns parse (instants, dates), and some that almost are.
const TEXTS: &[&str] = &[
    "2026-10-01T12:34:56.789Z",
    "2026-10-01T23:59:59.999999999+14:00",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "2026-13-45T99:00:00Z",
    "2026-10-01",
    "2026-02-30",
    "",
    "voice",
    "c-1",
];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("JSON has no NaN or infinity", |f| {
            serde_json::Number::from_f64(f).map(Value::Number)
        }),
        prop::sample::select(vec![0.5, -1.0, 1e300, 9.5e15, 12.0]).prop_map(|f| json!(f)),
        any::<String>().prop_map(Value::String),
        prop::sample::select(TEXTS).prop_map(|s| Value::String(s.to_string())),
    ]
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let names = field_names();
    scalar().prop_recursive(5, 64, 6, move |inner| {
        let key = prop_oneof![
            4 => prop::sample::select(names.clone()),
            1 => any::<String>(),
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key, inner), 0..8)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// One change to a record: at the node `at` picks (any field or list item, at any depth).
#[derive(Debug, Clone)]
enum Mutation {
    Replace(Value),
    Remove,
    /// The node, wrapped in a list (an object where a list is expected, and the reverse).
    Wrap,
}

fn mutation() -> impl Strategy<Value = (prop::sample::Index, Mutation)> {
    let change = prop_oneof![
        3 => arbitrary_json().prop_map(Mutation::Replace),
        2 => Just(Mutation::Remove),
        1 => Just(Mutation::Wrap),
    ];
    (any::<prop::sample::Index>(), change)
}

/// JSON pointers to every node below the root.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                pointers(child, p, out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                pointers(child, p, out);
            }
        }
        _ => {}
    }
}

fn apply(record: &mut Value, at: &prop::sample::Index, change: &Mutation) {
    let mut all = Vec::new();
    pointers(record, String::new(), &mut all);
    if all.is_empty() {
        return;
    }
    let pointer = at.get(&all).clone();
    match change {
        Mutation::Replace(v) => *record.pointer_mut(&pointer).unwrap() = v.clone(),
        Mutation::Wrap => {
            let node = record.pointer_mut(&pointer).unwrap();
            *node = Value::Array(vec![node.take()]);
        }
        Mutation::Remove => {
            let (parent, last) = pointer.rsplit_once('/').unwrap();
            let last = last.replace("~1", "/").replace("~0", "~");
            match record.pointer_mut(parent).unwrap() {
                Value::Object(m) => {
                    m.remove(&last);
                }
                Value::Array(items) => {
                    items.remove(last.parse::<usize>().unwrap());
                }
                _ => unreachable!("a pointer's parent is a container"),
            }
        }
    }
}

fn mutated_record() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(seeds()),
        prop::collection::vec(mutation(), 1..4),
    )
        .prop_map(|(seed, changes)| {
            let mut record = seed.clone();
            for (at, change) in &changes {
                apply(&mut record, at, change);
            }
            record
        })
}

/// Every column as long as its batch, the batch of the table's schema, and the number of rows
/// of each table.
fn whole_rows(batches: &[(Arc<TableSchema>, RecordBatch)]) -> Vec<usize> {
    batches
        .iter()
        .map(|(schema, batch)| {
            assert_eq!(batch.schema(), schema.arrow_schema(), "{}", schema.table);
            for (i, column) in batch.columns().iter().enumerate() {
                assert_eq!(
                    column.len(),
                    batch.num_rows(),
                    "{}: column {} is not as long as the batch",
                    schema.table,
                    schema.columns[i].name
                );
            }
            batch.num_rows()
        })
        .collect()
}

/// Feeds `record` to every dataset's decoder and to the conversation decoder: Ok or Err, never
/// a panic; a refused record leaves no row; the decoder then decodes a good record.
fn decode_everywhere(record: &Value) {
    for ds in datasets::registry() {
        let tables = datasets::tables(*ds);
        let mut decoder = TreeDecoder::new(&tables, RUN_ID).unwrap();
        let pushed = decoder.push(record, day());
        let rows = whole_rows(&decoder.finish().expect("batches after any push"));
        match pushed {
            Ok(()) => assert_eq!(
                rows[0],
                root_rows(&tables, record),
                "{}: root rows",
                ds.spec().name
            ),
            Err(_) => assert!(
                rows.iter().all(|&n| n == 0),
                "{}: a refused record left rows {rows:?}",
                ds.spec().name
            ),
        }
        decoder
            .push(&good_record(*ds), day())
            .unwrap_or_else(|e| panic!("{}: a good record after that: {e}", ds.spec().name));
        assert_eq!(
            whole_rows(&decoder.finish().unwrap())[0],
            1,
            "{}",
            ds.spec().name
        );
    }

    let mut decoder = ConversationDecoder::new(Catalog::builtin(), RUN_ID).unwrap();
    let pushed = decoder.push(record);
    let rows = whole_rows(&decoder.finish().expect("batches after any push"));
    match pushed {
        Ok(()) => assert_eq!(rows[0], 1, "conversations: one root row"),
        Err(_) => assert!(rows.iter().all(|&n| n == 0), "left rows {rows:?}"),
    }
    decoder.push(&seeds()[0]).unwrap();
    assert_eq!(whole_rows(&decoder.finish().unwrap())[0], 1);
}

/// 128 cases per property (a few seconds), or `PROPTEST_CASES`.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(128);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_json_never_panics_a_decoder_and_a_refused_record_leaves_no_row(
        record in arbitrary_json()
    ) {
        decode_everywhere(&record);
    }

    #[test]
    fn mutated_real_records_never_panic_a_decoder_and_a_refused_record_leaves_no_row(
        record in mutated_record()
    ) {
        decode_everywhere(&record);
    }
}

#[test]
fn the_real_records_decode() {
    for record in seeds() {
        decode_everywhere(record);
    }
}
