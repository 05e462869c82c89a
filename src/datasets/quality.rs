//! `evaluations`: quality evaluations with every question group and question score, and
//! `evaluation-forms`: the forms (every published version) that turn those ids into text.
//!
//! Evaluations are partitioned by the UTC day of the evaluated conversation, like the
//! conversation tables, and replaced per day. Each day is read with the evaluation search
//! (`quality:evaluation:searchAny`), 100 evaluations per request. When the search answers 403
//! the run falls back, without failing, to the evaluation ids the day's conversation details
//! list, each read with `GET /api/v2/quality/conversations/{c}/evaluations/{e}`
//! (`quality:evaluation:view`): one request per evaluation plus the details.
//!
//! Late evaluations: an evaluation made weeks after its conversation belongs to that old day,
//! and the load replaces whole days, so it is never written alone. With
//! `--evaluations-changed-since-days N` planning searches the evaluations changed in the N days
//! before the range's end and adds every older conversation day they belong to, re-extracted
//! whole.

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, Days, Duration, NaiveDate, SecondsFormat, Utc};
use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::conversations::{DETAIL_ENDPOINTS, DETAIL_PERMISSIONS, scan};
use super::{
    Admitted, Chunk, Dataset, Group, LoadMode, Route, RunContext, Seen, Spec, admit_listed,
    entity_id,
};
use crate::decode::parse_instant;
use crate::error::{Error, Result};
use crate::genesys::allowlist::Endpoint;
use crate::genesys::paging::{self, PageSender, Paging};
use crate::json::{FieldVec, Json, field, take_field};
use crate::plan::{Range, day_chunks, day_start};

const SEARCH_PATH: &str = "/api/v2/quality/evaluations/search";
const ONE_PATH: &str = "/api/v2/quality/conversations/{conversationId}/evaluations/{evaluationId}";
const FORMS_PATH: &str = "/api/v2/quality/forms/evaluations";
const VERSIONS_PATH: &str = "/api/v2/quality/forms/evaluations/{formId}/versions";
const BULK_PATH: &str = "/api/v2/quality/forms/evaluations/bulk";

/// The search's page size (its maximum is unverified; 100 is the platform's usual).
const SEARCH_PAGE: u64 = 100;
/// The search's longest time range ("3 months"), kept short of 92 days.
const SEARCH_SPAN_DAYS: u64 = 90;
/// Form ids per bulk read (the API's maximum).
const BULK_IDS: usize = 100;
/// Evaluations per raw page on the one-by-one route.
const BATCH: usize = 100;

const SEARCH_PERMISSION: &str = "quality:evaluation:searchAny";
const VIEW_PERMISSIONS: &[&str] = &[
    "quality:evaluation:view",
    "quality:evaluation:assign",
    "quality:evaluation:release",
];

/// The served fields that hold free text (`--drop-free-text` removes them before anything is
/// written), as paths into an evaluation as served.
pub const FREE_TEXT: &[&str] = &[
    "answers.comments",
    "answers.privateComments",
    "answers.agentComments",
    "answers.questionGroupScores[].questionScores[].comments",
    "answers.questionGroupScores[].questionScores[].aiAnswer.explanation",
    "answers.questionGroupScores[].questionScores[].multipleSelectQuestionOptionScores[].comments",
];

/// Settings of the `evaluations` dataset.
#[derive(Debug, Clone, Default)]
pub struct EvaluationSettings {
    /// Re-extract the conversation days whose evaluations changed in the N days before the
    /// range's end (`--evaluations-changed-since-days`).
    pub changed_since_days: Option<u32>,
}

pub struct Evaluations;
pub static EVALUATIONS: Evaluations = Evaluations;

const EVALUATION_ENDPOINTS: [Endpoint; 7] = [
    Endpoint::post(SEARCH_PATH),
    Endpoint::get(ONE_PATH),
    DETAIL_ENDPOINTS[0],
    DETAIL_ENDPOINTS[1],
    DETAIL_ENDPOINTS[2],
    DETAIL_ENDPOINTS[3],
    DETAIL_ENDPOINTS[4],
];

static SPEC: Spec = Spec {
    name: "evaluations",
    group: Group::Facts,
    summary: "quality evaluations with every question group and question score, by UTC day of the evaluated conversation (3 tables)",
    schemas: crate::schema_files!("evaluations":
        "quality_evaluations",
        "quality_question_group_scores",
        "quality_question_scores",
    ),
    permissions: &[
        SEARCH_PERMISSION,
        "quality:evaluation:view",
        "quality:evaluation:assign",
        "quality:evaluation:release",
    ],
    division_scoped: false,
    endpoints: &EVALUATION_ENDPOINTS,
    load: LoadMode::ReplacePartitions,
    headline: false,
    items_field: "results",
    includes: &["evaluation-forms"],
    routes: &[
        Route {
            name: "evaluation search (100 per request)",
            needs: &[&[SEARCH_PERMISSION]],
        },
        Route {
            name: "conversation details, then one read per evaluation",
            needs: &[DETAIL_PERMISSIONS, VIEW_PERMISSIONS],
        },
    ],
};

/// The facts key remembering, for the rest of the run, that the search answered 403.
const SEARCH_REFUSED: &str = "evaluations_search_refused";

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A search body for evaluations whose `field` falls in `[start, end)`.
fn search_body(
    field: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    (size, page): (u64, u64),
) -> Value {
    json!({
        "query": [{
            "type": "DATE_RANGE",
            "field": field,
            "startValue": iso(start),
            "endValue": iso(end),
        }],
        "pageSize": size,
        "pageNumber": page,
        "sortBy": "conversationDate",
        "sortOrder": "ASC",
    })
}

/// Pages the search over `[start, end)` of `field` to its end (a short page is the last: the
/// answer carries no total), handing each page to `each`. An interval the platform will not
/// page whole (its result cap) is halved, down to a minute. Returns the pages read.
async fn search<'a>(
    run: &'a RunContext,
    field: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    mut each: impl FnMut(bytes::Bytes, Vec<Box<RawValue>>) -> BoxFuture<'a, Result<()>>,
) -> Result<u64> {
    let size = run.options.listing.page_size.map_or(SEARCH_PAGE, u64::from);
    let mut pending = vec![(start, end)];
    let mut pages = 0;
    while let Some((from, to)) = pending.pop() {
        let mut number = 1;
        loop {
            let resp = match run
                .api
                .post_json(SEARCH_PATH, &search_body(field, from, to, (size, number)))
                .await
            {
                Err(e) if paging::is_result_cap(&e) && to - from > Duration::minutes(1) => {
                    let mid = from + (to - from) / 2;
                    tracing::info!(from = %iso(from), to = %iso(to), "the evaluation search passes the paging cap; searching it in halves");
                    pending.push((mid, to));
                    pending.push((from, mid));
                    break;
                }
                other => other?,
            };
            let items = paging::items(SEARCH_PATH, &resp.body, "results")?;
            let n = items.len() as u64;
            each(resp.body, items).await?;
            pages += 1;
            if n < size {
                break;
            }
            number += 1;
        }
    }
    Ok(pages)
}

/// Removes the served free-text fields at `paths` (`a.b[].c`) from `value`.
pub fn scrub(value: &mut Value, paths: &[&str]) {
    fn walk(v: &mut Value, steps: &[&str]) {
        let Some((first, rest)) = steps.split_first() else {
            return;
        };
        let (name, list) = match first.strip_suffix("[]") {
            Some(n) => (n, true),
            None => (*first, false),
        };
        let Some(obj) = v.as_object_mut() else {
            return;
        };
        if rest.is_empty() {
            obj.remove(name);
            return;
        }
        match obj.get_mut(name) {
            Some(Value::Array(items)) if list => items.iter_mut().for_each(|i| walk(i, rest)),
            Some(inner) if !list => walk(inner, rest),
            _ => {}
        }
    }
    for p in paths {
        let steps: Vec<&str> = p.split('.').collect();
        walk(value, &steps);
    }
}

/// The item as it is kept: scrubbed of free text when the run drops it.
fn kept(run: &RunContext, raw: Box<RawValue>, paths: &[&str]) -> Result<Box<RawValue>> {
    if !run.options.fanout.drop_free_text {
        return Ok(raw);
    }
    let mut v: Value = super::parse_item(&raw, "a served item")?;
    scrub(&mut v, paths);
    serde_json::value::to_raw_value(&v).map_err(|e| Error::Payload {
        path: "a served item".into(),
        message: e.to_string(),
    })
}

/// Sends a search page downstream, scrubbed when the run drops free text.
async fn forward(
    run: &RunContext,
    body: bytes::Bytes,
    items: Vec<Box<RawValue>>,
    tx: &PageSender,
) -> Result<()> {
    if run.options.fanout.drop_free_text {
        let items = items
            .into_iter()
            .map(|i| kept(run, i, FREE_TEXT))
            .collect::<Result<Vec<_>>>()?;
        paging::send_envelope(tx, "results", items).await?;
    } else {
        paging::send(tx, items, &body).await?;
    }
    Ok(())
}

impl Evaluations {
    /// The conversation days before the range whose evaluations changed in the `days` before
    /// its end.
    async fn changed_days(
        &self,
        run: &RunContext,
        range: Range,
        days: u32,
    ) -> Result<BTreeSet<NaiveDate>> {
        let mut found = BTreeSet::new();
        let mut start = range.to - Duration::days(i64::from(days));
        while start < range.to {
            let end = (start + Duration::days(SEARCH_SPAN_DAYS as i64)).min(range.to);
            let mut changed = Vec::new();
            search(run, "changedDate", start, end, |_, items| {
                changed.extend(items);
                async { Ok(()) }.boxed()
            })
            .await?;
            for item in changed {
                let v: Value = super::parse_item(&item, "results[]")?;
                let day = conversation_date(&v)?.date_naive();
                if day_start(day) < range.from {
                    found.insert(day);
                }
            }
            start = end;
        }
        Ok(found)
    }

    /// The day's evaluations one by one, from the evaluation ids its conversation details
    /// list.
    async fn fetch_one_by_one(
        &self,
        run: &RunContext,
        chunk: &Chunk,
        tx: &PageSender,
    ) -> Result<u64> {
        let seen = scan::conversations(run, chunk.start, chunk.end).await?;
        let requests: Vec<(String, ())> = seen
            .iter()
            .flat_map(|c| {
                c.evaluations.iter().map(move |e| {
                    (
                        format!("/api/v2/quality/conversations/{}/evaluations/{e}", c.id),
                        (),
                    )
                })
            })
            .collect();
        let asked = requests.len();
        let done = paging::get_each(
            &run.api,
            requests,
            run.options.fanout.concurrency,
            ("results", BATCH),
            |(), raw| Ok(vec![kept(run, raw, FREE_TEXT)?]),
            tx,
        )
        .await?;
        tracing::info!(
            dataset = SPEC.name,
            day = %chunk.partition,
            conversations = seen.len(),
            evaluations = asked,
            gone = done.missing,
            "evaluations read one by one"
        );
        Ok(done.pages)
    }
}

/// The evaluated conversation's start (`conversationDate`).
fn conversation_date(v: &Value) -> Result<DateTime<Utc>> {
    conversation_date_of(
        v.get("conversationDate").and_then(Value::as_str),
        entity_id(v),
    )
}

/// The instant of an evaluation's `conversationDate` as served (`text`), or an error naming
/// the evaluation (`id`).
fn conversation_date_of(text: Option<&str>, id: Option<&str>) -> Result<DateTime<Utc>> {
    text.and_then(parse_instant)
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(|| Error::Payload {
            path: "results[].conversationDate".into(),
            message: format!(
                "evaluation {}: no readable conversationDate",
                id.unwrap_or("without an id")
            ),
        })
}

impl Dataset for Evaluations {
    fn spec(&self) -> &Spec {
        &SPEC
    }

    fn plan<'a>(&'a self, run: &'a RunContext, range: Range) -> BoxFuture<'a, Result<Vec<Chunk>>> {
        async move {
            let mut chunks = day_chunks(range, SPEC.name, |_, _| "search");
            if let Some(days) = run.options.evaluations.changed_since_days {
                let late = self.changed_days(run, range, days).await?;
                tracing::info!(
                    days = late.len(),
                    "evaluations: conversation days before the range with evaluations changed in the last {days} days, re-extracted whole"
                );
                let mut extra: Vec<Chunk> = late
                    .into_iter()
                    .map(|day| Chunk {
                        dataset: SPEC.name,
                        partition: day,
                        start: day_start(day),
                        end: day_start(day + Days::new(1)),
                        method: "search",
                    })
                    .collect();
                extra.append(&mut chunks);
                chunks = extra;
            }
            Ok(chunks)
        }
        .boxed()
    }

    fn fetch<'a>(
        &'a self,
        run: &'a RunContext,
        chunk: &'a Chunk,
        tx: &'a PageSender,
    ) -> BoxFuture<'a, Result<u64>> {
        async move {
            let refused = run.facts.lock().expect("facts").contains_key(SEARCH_REFUSED);
            if !refused {
                let searched = search(run, "conversationDate", chunk.start, chunk.end, |body, items| {
                    async move { forward(run, body, items, tx).await }.boxed()
                })
                .await;
                match searched {
                    Err(Error::Permission { message, .. }) => {
                        tracing::warn!(
                            "the evaluation search is refused ({message}); reading evaluations one by one from the conversation details instead (grant {SEARCH_PERMISSION} for one request per 100 evaluations)"
                        );
                        run.facts
                            .lock()
                            .expect("facts")
                            .insert(SEARCH_REFUSED, "true".into());
                    }
                    other => return other,
                }
            }
            self.fetch_one_by_one(run, chunk, tx).await
        }
        .boxed()
    }

    /// Keeps evaluations of conversations that started in the chunk, once each, and flattens
    /// the scoring set (`answers`) into the evaluation: its totals become columns of
    /// `quality_evaluations` and its question group scores that table's children. The row
    /// borrows from the page; a field served twice counts by its last value, as in a `Value`.
    fn admit<'a>(&self, item: Json<'a>, chunk: &Chunk, seen: &mut Seen) -> Result<Admitted<'a>> {
        let id = item.get("id").and_then(Json::as_str);
        let start = conversation_date_of(item.get("conversationDate").and_then(Json::as_str), id)?;
        let id = id
            .ok_or_else(|| Error::Payload {
                path: "results[].id".into(),
                message: "an evaluation has no id".into(),
            })?
            .to_string();
        let Json::Object(mut obj) = item else {
            unreachable!("an evaluation with an id is an object")
        };
        if start < chunk.start || start >= chunk.end {
            return Ok(Admitted::Outside);
        }
        if !seen.insert(id) {
            return Ok(Admitted::Duplicate);
        }
        match take_field(&mut obj, "answers") {
            Some(Json::Object(answers)) => {
                // Checked against the evaluation's own fields only: a name the scoring set
                // serves twice goes the same way both times, and its last value counts.
                let own = obj.len();
                let mut rest: FieldVec<'a> = Vec::new();
                for (k, v) in answers {
                    if field(&obj[..own], &k).is_some() {
                        // A name the evaluation itself uses stays under `answers` (and lands
                        // in extra_fields, with a warning) rather than overwrite it.
                        rest.push((k, v));
                    } else {
                        obj.push((k, v));
                    }
                }
                if !rest.is_empty() {
                    obj.push(("answers".into(), Json::Object(rest)));
                }
            }
            Some(Json::Null) | None => {}
            // Anything else is not a scoring set: kept as served, in extra_fields.
            Some(other) => obj.push(("answers".into(), other)),
        }
        Ok(Admitted::Rows(vec![(
            Json::Object(obj),
            start.date_naive(),
        )]))
    }

    fn probes(&self, yesterday: DateTime<Utc>) -> Vec<(&'static str, String, Option<Value>)> {
        let body = search_body(
            "conversationDate",
            yesterday,
            yesterday + Duration::hours(1),
            (1, 1),
        );
        vec![("POST", SEARCH_PATH.into(), Some(body))]
    }
}

pub struct EvaluationForms;
pub static EVALUATION_FORMS: EvaluationForms = EvaluationForms;

static FORMS_SPEC: Spec = Spec {
    name: "evaluation-forms",
    group: Group::Dimensions,
    summary: "evaluation forms, every published version, with question groups, questions and answer options (4 tables)",
    schemas: crate::schema_files!("evaluation-forms":
        "quality_forms",
        "quality_form_question_groups",
        "quality_form_questions",
        "quality_form_answer_options",
    ),
    permissions: &["quality:evaluationForm:view"],
    division_scoped: false,
    endpoints: &[
        Endpoint::get(FORMS_PATH),
        Endpoint::get(VERSIONS_PATH),
        Endpoint::get(BULK_PATH),
    ],
    load: LoadMode::MergeByKey,
    headline: false,
    items_field: "entities",
    includes: &[],
    routes: &[],
};

impl Dataset for EvaluationForms {
    fn spec(&self) -> &Spec {
        &FORMS_SPEC
    }

    fn plan<'a>(&'a self, run: &'a RunContext, _range: Range) -> BoxFuture<'a, Result<Vec<Chunk>>> {
        let chunk = crate::plan::snapshot_chunk(FORMS_SPEC.name, run.snapshot_date);
        async move { Ok(vec![chunk]) }.boxed()
    }

    /// Lists the forms, then each form's versions, then reads every version whole (question
    /// groups included) with the bulk read, 100 at a time.
    fn fetch<'a>(
        &'a self,
        run: &'a RunContext,
        _chunk: &'a Chunk,
        tx: &'a PageSender,
    ) -> BoxFuture<'a, Result<u64>> {
        async move {
            let size = run.options.listing.page_size.unwrap_or(100);
            let forms =
                paging::collect(&run.api, FORMS_PATH, Paging::PageNumber, size, "entities").await?;
            let mut versions: Vec<String> = Vec::new();
            let mut known = HashSet::new();
            for form in &forms {
                let v: Value = super::parse_item(form, "entities[]")?;
                let Some(id) = entity_id(&v) else { continue };
                let path = format!("{FORMS_PATH}/{id}/versions");
                for version in
                    paging::collect(&run.api, &path, Paging::PageNumber, size, "entities").await?
                {
                    let v: Value = super::parse_item(&version, "entities[]")?;
                    if let Some(vid) = entity_id(&v)
                        && known.insert(vid.to_string())
                    {
                        versions.push(vid.to_string());
                    }
                }
                // A form whose versions listing leaves out the form itself still counts.
                if known.insert(id.to_string()) {
                    versions.push(id.to_string());
                }
            }
            let mut pages = 0;
            for ids in versions.chunks(BULK_IDS) {
                let query: String = ids
                    .iter()
                    .map(|i| format!("id={i}"))
                    .collect::<Vec<_>>()
                    .join("&");
                let path = format!("{BULK_PATH}?{query}");
                let resp = run.api.get(&path).await?;
                let items = paging::items(BULK_PATH, &resp.body, "entities")?;
                pages += paging::send(tx, items, &resp.body).await?;
            }
            tracing::info!(
                forms = forms.len(),
                versions = versions.len(),
                "evaluation forms read"
            );
            Ok(pages)
        }
        .boxed()
    }

    fn admit<'a>(&self, item: Json<'a>, chunk: &Chunk, seen: &mut Seen) -> Result<Admitted<'a>> {
        Ok(admit_listed(item, chunk, seen))
    }

    fn probes(&self, _yesterday: DateTime<Utc>) -> Vec<(&'static str, String, Option<Value>)> {
        vec![("GET", format!("{FORMS_PATH}?pageSize=1"), None)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_removes_free_text_at_every_depth() {
        let mut v = json!({
            "id": "e1",
            "answers": {
                "comments": "x", "totalScore": 80.0,
                "questionGroupScores": [
                    {"questionScores": [{"questionId": "q", "comments": "y", "aiAnswer": {"explanation": "z", "answerId": "a"}}]},
                    {"questionScores": null}
                ]
            }
        });
        scrub(&mut v, FREE_TEXT);
        assert_eq!(
            v,
            json!({
                "id": "e1",
                "answers": {
                    "totalScore": 80.0,
                    "questionGroupScores": [
                        {"questionScores": [{"questionId": "q", "aiAnswer": {"answerId": "a"}}]},
                        {"questionScores": null}
                    ]
                }
            })
        );
    }

    #[test]
    fn answers_are_flattened_into_the_evaluation() {
        let chunk = Chunk {
            dataset: "evaluations",
            partition: NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
            start: day_start(NaiveDate::from_ymd_opt(2026, 10, 1).unwrap()),
            end: day_start(NaiveDate::from_ymd_opt(2026, 10, 2).unwrap()),
            method: "search",
        };
        let mut seen = Seen::default();
        // The row as the decoder reads it (the last of a field served twice), or what else
        // the item became.
        let mut admit = |text: &str| match EVALUATIONS
            .admit(Json::parse(text).unwrap(), &chunk, &mut seen)
            .unwrap()
        {
            Admitted::Rows(rows) => {
                assert_eq!(rows.len(), 1);
                rows[0].0.to_value()
            }
            other => json!(format!("{other:?}")),
        };
        let item = r#"{"id": "e1", "conversationDate": "2026-10-01T10:00:00.000Z", "status": "FINISHED",
            "answers": {"totalScore": 80.0, "status": "clash", "questionGroupScores": [], "totalScore": 90.0}}"#;
        assert_eq!(
            admit(item),
            json!({"id": "e1", "conversationDate": "2026-10-01T10:00:00.000Z", "status": "FINISHED",
                "totalScore": 90.0, "questionGroupScores": [], "answers": {"status": "clash"}})
        );
        assert_eq!(admit(item), json!("Duplicate"));
        assert_eq!(
            admit(r#"{"id": "e2", "conversationDate": "2026-09-30T23:59:59.000Z"}"#),
            json!("Outside")
        );
        // A null scoring set is nothing to keep; one that is not an object stays as served
        // (in extra_fields), not dropped.
        assert_eq!(
            admit(r#"{"id": "e3", "conversationDate": "2026-10-01T10:00:00Z", "answers": null}"#),
            json!({"id": "e3", "conversationDate": "2026-10-01T10:00:00Z"})
        );
        assert_eq!(
            admit(r#"{"id": "e4", "conversationDate": "2026-10-01T10:00:00Z", "answers": [1]}"#),
            json!({"id": "e4", "conversationDate": "2026-10-01T10:00:00Z", "answers": [1]})
        );
        // A scoring set's own `answers` is flattened like any name, and the names that clash
        // with the evaluation's take its place; the last `answers` served is the one read.
        assert_eq!(
            admit(
                r#"{"id": "e5", "conversationDate": "2026-10-01T10:00:00Z", "status": "s",
                "answers": {"answers": 1, "status": "c"}}"#
            ),
            json!({"id": "e5", "conversationDate": "2026-10-01T10:00:00Z", "status": "s",
                "answers": {"status": "c"}})
        );
        assert_eq!(
            admit(
                r#"{"id": "e6", "conversationDate": "2026-10-01T10:00:00Z",
                "answers": {"answers": 1}, "answers": {"answers": 2, "totalScore": 3}}"#
            ),
            json!({"id": "e6", "conversationDate": "2026-10-01T10:00:00Z", "answers": 2,
                "totalScore": 3})
        );
        assert_eq!(
            admit(
                r#"{"id": "e7", "conversationDate": "2026-10-01T10:00:00Z",
                "answers": {"totalScore": 3}, "answers": 4}"#
            ),
            json!({"id": "e7", "conversationDate": "2026-10-01T10:00:00Z", "answers": 4})
        );
    }
}
