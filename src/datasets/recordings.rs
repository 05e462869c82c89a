//! `recordings`: recording metadata (no media, no media URL) of the conversations that started
//! in the range and were recorded.
//!
//! Each UTC day is a chunk: its conversation details tell which conversations were recorded
//! (`sessions[].recording`, `participants[].screenRecording`), then one
//! `GET /api/v2/conversations/{id}/recordingmetadata` per recorded conversation, a bounded
//! number at once under the run's shared rate limiter. A 404 (nothing recorded after all) is
//! counted, not an error; a 403 fails the dataset once, naming the permission.
//!
//! The served answer is a list of recordings that does not say when its conversation started,
//! so each conversation's answer is kept (raw zone included) as one item
//! `{conversationId, conversationStart, recordings}`: the start decides the partition, and a
//! rebuild reads it back alone. Nested annotations are flattened into rows, each naming its
//! parent.

use chrono::{DateTime, Utc};
use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::conversations::{DETAIL_ENDPOINTS, DETAIL_PERMISSIONS, scan};
use super::quality::scrub;
use super::{Admitted, Chunk, Dataset, Group, LoadMode, Route, RunContext, Seen, Spec};
use crate::decode::parse_instant;
use crate::error::{Error, Result};
use crate::genesys::allowlist::Endpoint;
use crate::genesys::paging::{self, PageSender};
use crate::json::{Json, field, take_field};
use crate::plan::{Range, day_chunks};

const METADATA_PATH: &str = "/api/v2/conversations/{conversationId}/recordingmetadata";

/// Any one of these reads recording metadata.
const PERMISSIONS: &[&str] = &[
    "recording:recording:view",
    "recording:recordingSegment:view",
    "recording:snippetRecording:view",
    "recording:screenRecording:view",
];

/// Conversations per raw page.
const BATCH: usize = 100;

/// The served fields that hold free text, as paths into one recording as served
/// (annotations nest: every level is listed down to the depth the platform uses).
pub const FREE_TEXT: &[&str] = &[
    "annotations[].description",
    "annotations[].annotations[].description",
    "annotations[].annotations[].annotations[].description",
];

pub struct Recordings;
pub static RECORDINGS: Recordings = Recordings;

const ENDPOINTS: [Endpoint; 6] = [
    Endpoint::get(METADATA_PATH),
    DETAIL_ENDPOINTS[0],
    DETAIL_ENDPOINTS[1],
    DETAIL_ENDPOINTS[2],
    DETAIL_ENDPOINTS[3],
    DETAIL_ENDPOINTS[4],
];

static SPEC: Spec = Spec {
    name: "recordings",
    group: Group::Facts,
    summary: "recording metadata (media, file state, archive and delete dates, annotations) of recorded conversations, by UTC day of their start (2 tables)",
    schemas: crate::schema_files!("recordings": "recordings", "recording_annotations"),
    permissions: PERMISSIONS,
    division_scoped: false,
    endpoints: &ENDPOINTS,
    load: LoadMode::ReplacePartitions,
    headline: false,
    items_field: "entities",
    includes: &[],
    routes: &[Route {
        name: "conversation details, then one read per recorded conversation",
        needs: &[DETAIL_PERMISSIONS, PERMISSIONS],
    }],
};

/// Flattens nested annotations into `out`, each naming the annotation it was nested in. A
/// nested `annotations` that is not a list stays in its annotation (in `extra_fields`).
fn flatten<'a>(list: Vec<Json<'a>>, parent: Option<&Json<'a>>, out: &mut Vec<Json<'a>>) {
    for mut a in list {
        let mut nested = None;
        if let Json::Object(o) = &mut a {
            match take_field(o, "annotations") {
                Some(Json::Null) | None => {}
                Some(list @ Json::Array(_)) => nested = Some(list),
                Some(other) => o.push(("annotations".into(), other)),
            }
            if let Some(p) = parent {
                o.push(("parentAnnotationId".into(), p.clone()));
            }
        }
        let id = a.get("id").filter(|id| id.as_str().is_some()).cloned();
        out.push(a);
        if let Some(Json::Array(children)) = nested {
            flatten(children, id.as_ref(), out);
        }
    }
}

impl Dataset for Recordings {
    fn spec(&self) -> &Spec {
        &SPEC
    }

    fn plan<'a>(&'a self, _run: &'a RunContext, range: Range) -> BoxFuture<'a, Result<Vec<Chunk>>> {
        async move { Ok(day_chunks(range, SPEC.name, |_, _| "per-conversation")) }.boxed()
    }

    fn fetch<'a>(
        &'a self,
        run: &'a RunContext,
        chunk: &'a Chunk,
        tx: &'a PageSender,
    ) -> BoxFuture<'a, Result<u64>> {
        async move {
            let seen = scan::conversations(run, chunk.start, chunk.end).await?;
            let recorded: Vec<(String, (String, DateTime<Utc>))> = seen
                .iter()
                .filter(|c| c.recorded)
                .map(|c| {
                    (
                        format!("/api/v2/conversations/{}/recordingmetadata", c.id),
                        (c.id.clone(), c.start),
                    )
                })
                .collect();
            let asked = recorded.len();
            let drop_text = run.options.fanout.drop_free_text;
            let done = paging::get_each(
                &run.api,
                recorded,
                run.options.fanout.concurrency,
                ("entities", BATCH),
                |(id, start), raw| {
                    let mut recordings: Value = super::parse_item(&raw, "recordingmetadata")?;
                    if drop_text {
                        for r in recordings.as_array_mut().into_iter().flatten() {
                            scrub(r, FREE_TEXT);
                        }
                    }
                    let item = json!({
                        "conversationId": id,
                        "conversationStart": crate::plan::fmt_millis(start),
                        "recordings": recordings,
                    });
                    Ok(vec![to_raw(&item)?])
                },
                tx,
            )
            .await?;
            tracing::info!(
                dataset = SPEC.name,
                day = %chunk.partition,
                conversations = seen.len(),
                recorded = asked,
                without_recording = done.missing,
                "recording metadata read"
            );
            Ok(done.pages)
        }
        .boxed()
    }

    /// One row per recording of a conversation that started in the chunk, each once, with
    /// the conversation's start and its annotations flattened. The rows borrow from the page;
    /// a field served twice counts by its last value, as in a `Value`.
    fn admit<'a>(&self, item: Json<'a>, chunk: &Chunk, seen: &mut Seen) -> Result<Admitted<'a>> {
        let bad = |message: String| Error::Payload {
            path: "entities[]".into(),
            message,
        };
        let conversation = item
            .get("conversationId")
            .and_then(Json::as_str)
            .ok_or_else(|| bad("an item has no conversationId".into()))?
            .to_string();
        let start_value = item
            .get("conversationStart")
            .filter(|s| s.as_str().is_some())
            .cloned()
            .ok_or_else(|| bad(format!("conversation {conversation}: no conversationStart")))?;
        let start_text = start_value.as_str().unwrap_or_default();
        let start = parse_instant(start_text)
            .and_then(DateTime::from_timestamp_micros)
            .ok_or_else(|| {
                bad(format!(
                    "conversation {conversation}: unreadable start {start_text:?}"
                ))
            })?;
        if start < chunk.start || start >= chunk.end {
            return Ok(Admitted::Outside);
        }
        let Json::Object(mut item) = item else {
            unreachable!("an item with a conversationId is an object")
        };
        let Some(Json::Array(recordings)) = take_field(&mut item, "recordings") else {
            return Err(bad(format!(
                "conversation {conversation}: recordings is not a list"
            )));
        };
        let mut rows = Vec::new();
        for r in recordings {
            let Json::Object(mut obj) = r else {
                return Err(bad(format!(
                    "conversation {conversation}: a recording is not an object"
                )));
            };
            let id = field(&obj, "id")
                .and_then(Json::as_str)
                .ok_or_else(|| {
                    bad(format!(
                        "conversation {conversation}: a recording has no id"
                    ))
                })?
                .to_string();
            if !seen.insert(id) {
                continue;
            }
            obj.push(("conversationStart".into(), start_value.clone()));
            match take_field(&mut obj, "annotations") {
                Some(Json::Array(nested)) => {
                    let mut flat = Vec::new();
                    flatten(nested, None, &mut flat);
                    obj.push(("annotations".into(), Json::Array(flat)));
                }
                Some(Json::Null) | None => {}
                // Not a list: kept as served, so the decoder refuses (quarantines) the record.
                Some(other) => obj.push(("annotations".into(), other)),
            }
            rows.push((Json::Object(obj), start.date_naive()));
        }
        if rows.is_empty() {
            return Ok(Admitted::Duplicate);
        }
        Ok(Admitted::Rows(rows))
    }

    fn probes(&self, _yesterday: DateTime<Utc>) -> Vec<(&'static str, String, Option<Value>)> {
        // No conversation id is known before a run: an id that cannot exist answers 404 when
        // the permission is there and 403 when it is not.
        vec![(
            "GET",
            "/api/v2/conversations/00000000-0000-4000-8000-000000000000/recordingmetadata".into(),
            None,
        )]
    }
}

fn to_raw(v: &Value) -> Result<Box<RawValue>> {
    serde_json::value::to_raw_value(v).map_err(|e| Error::Payload {
        path: "recordingmetadata".into(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_annotations_become_rows_naming_their_parent() {
        let text = r#"[
            {"id": "a", "annotations": [{"id": "b", "annotations": [{"id": "c"}]}]},
            {"id": "d", "annotations": null},
            {"id": "e", "annotations": {"odd": 1}}
        ]"#;
        let Json::Array(list) = Json::parse(text).unwrap() else {
            panic!("a list")
        };
        let mut out = Vec::new();
        flatten(list, None, &mut out);
        assert_eq!(
            out.iter().map(Json::to_value).collect::<Vec<_>>(),
            vec![
                json!({"id": "a"}),
                json!({"id": "b", "parentAnnotationId": "a"}),
                json!({"id": "c", "parentAnnotationId": "b"}),
                json!({"id": "d"}),
                // Not a list: kept in its annotation, not dropped.
                json!({"id": "e", "annotations": {"odd": 1}}),
            ]
        );
    }

    #[test]
    fn a_conversations_recordings_become_rows_once_each() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
        let chunk = Chunk {
            dataset: SPEC.name,
            partition: day,
            start: crate::plan::day_start(day),
            end: crate::plan::day_start(day) + chrono::Duration::days(1),
            method: "per-conversation",
        };
        let mut seen = Seen::default();
        let mut admit = |text: &str| match RECORDINGS
            .admit(Json::parse(text).unwrap(), &chunk, &mut seen)
            .unwrap()
        {
            Admitted::Rows(rows) => json!(
                rows.iter()
                    .map(|(r, d)| {
                        assert_eq!(*d, day);
                        r.to_value()
                    })
                    .collect::<Vec<_>>()
            ),
            other => json!(format!("{other:?}")),
        };
        let item = r#"{"conversationId": "c1", "conversationStart": "2026-11-02T10:00:00.000Z",
            "recordings": [
                {"id": "r1", "conversationStart": "own", "annotations": [{"id": "a",
                    "annotations": [{"id": "b", "parentAnnotationId": "own"}]}]},
                {"id": "r2", "annotations": {"odd": 1}},
                {"id": "r3", "annotations": null, "id": "r4"}
            ]}"#;
        let start = "2026-11-02T10:00:00.000Z";
        assert_eq!(
            admit(item),
            json!([
                {"id": "r1", "conversationStart": start,
                    "annotations": [{"id": "a"}, {"id": "b", "parentAnnotationId": "a"}]},
                // Not a list: kept as served, for the decoder to refuse the record.
                {"id": "r2", "conversationStart": start, "annotations": {"odd": 1}},
                {"id": "r4", "conversationStart": start},
            ])
        );
        assert_eq!(admit(item), json!("Duplicate"));
        let earlier = r#"{"conversationId": "c2", "conversationStart": "2026-11-01T23:59:59Z",
            "recordings": [{"id": "r5"}]}"#;
        assert_eq!(admit(earlier), json!("Outside"));
    }
}
