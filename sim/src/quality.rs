//! Quality management (genesys-api.md §7): evaluation forms with their published versions,
//! the evaluation search, and one evaluation by conversation and id.
//!
//! Everything is derived from the evaluations the conversation details carry: the same
//! evaluation ids, form versions, agents, evaluators, queues and total scores, visible from
//! the evaluation's `eventTime` on. Evaluations the details mark `deleted` are not served (the
//! search leaves them out, the single read answers 404). An evaluation is created 1 to 72
//! hours after its conversation ends, and a rescored one changes two days after that: the
//! "late evaluation" a nightly run over yesterday cannot see.
//!
//! The search answers `{pageSize, pageNumber, results}` without a total (as the platform's
//! `EvaluationSearchResponse`), requires a `DATE_RANGE` of at most 3 months, takes at most 100
//! per page and pages no further than `listing_result_cap` results.

use std::collections::HashSet;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use chrono::{DateTime, Days, Utc};
use serde_json::{Value, json};

use crate::access;
use crate::error::ApiError;
use crate::listings::{Listing, Params};
use crate::model::{Conversation, Evaluation, Id, Ts};
use crate::org::{Org, date_of};
use crate::rng::{Rng, mix};
use crate::server::AppState;

/// Reading forms.
pub(crate) const FORM_PERMISSIONS: &[&str] = &["quality:evaluationForm:view"];
/// Searching every evaluation.
pub(crate) const SEARCH_PERMISSIONS: &[&str] = &["quality:evaluation:searchAny"];
/// Reading one evaluation.
pub(crate) const VIEW_PERMISSIONS: &[&str] = &[
    "quality:evaluation:view",
    "quality:evaluation:assign",
    "quality:evaluation:release",
];

/// The largest search page.
const MAX_SEARCH_PAGE: u64 = 100;
/// The longest search time range (the API's "3 months").
const MAX_SEARCH_DAYS: i64 = 92;
const MS_HOUR: i64 = 3_600_000;
/// An evaluation is created within 72 hours of its conversation's end, and a rescore comes
/// 48 hours later: how far before a changed-date range its conversations can start.
const LATEST_CHANGE_AFTER_START_MS: i64 = 24 * MS_HOUR + 72 * MS_HOUR + 48 * MS_HOUR;

const GROUP_NAMES: [&str; 4] = ["Greeting", "Understanding", "Resolution", "Compliance"];
const QUESTIONS: [&str; 8] = [
    "Did the agent greet the customer by name?",
    "Did the agent verify the customer's identity?",
    "Did the agent restate the customer's issue?",
    "Was the customer's issue resolved?",
    "Did the agent offer further help?",
    "Did the agent follow the disclosure script?",
    "Was the tone professional throughout?",
    "Did the agent set expectations for next steps?",
];
const COMMENTS: [&str; 4] = [
    "Good empathy, but the hold was long.",
    "Missed the disclosure at the start of the call.",
    "Excellent resolution on first contact.",
    "Please confirm the callback number next time.",
];

/// One question of a form version: its ids and the values of its answer options.
struct Question {
    id: Id,
    context_id: Id,
    text: &'static str,
    is_kill: bool,
    is_critical: bool,
    /// `(answer id, context id, text, value)`.
    options: Vec<(Id, Id, &'static str, i64)>,
}

/// One question group of a form version.
struct Group {
    id: Id,
    context_id: Id,
    name: &'static str,
    weight: f64,
    questions: Vec<Question>,
}

/// A form version's structure: the shape from the form's context (the same in every version),
/// the ids from the version (each version has its own question and answer ids).
fn groups(seed: u64, version: Id, context: Id) -> Vec<Group> {
    let mut shape = Rng::new(mix(&[seed, 0xF0E4, context.0 as u64]));
    let mut ids = Rng::new(mix(&[seed, 0xF0E5, version.0 as u64]));
    let mut id = || Id(ids.uuid());
    let n_groups = 2 + shape.below(2) as usize;
    (0..n_groups)
        .map(|g| {
            let n_questions = 2 + shape.below(2) as usize;
            let questions = (0..n_questions)
                .map(|q| {
                    let text = QUESTIONS[(g * 3 + q) % QUESTIONS.len()];
                    let scale = shape.chance(0.5);
                    let answers: &[(&str, i64)] = if scale {
                        &[("Excellent", 10), ("Good", 5), ("Poor", 0)]
                    } else {
                        &[("Yes", 10), ("No", 0)]
                    };
                    Question {
                        id: id(),
                        context_id: id(),
                        text,
                        is_kill: g == n_groups - 1 && q == 0,
                        is_critical: q == 0,
                        options: answers.iter().map(|&(t, v)| (id(), id(), t, v)).collect(),
                    }
                })
                .collect();
            Group {
                id: id(),
                context_id: id(),
                name: GROUP_NAMES[g],
                weight: 1.0,
                questions,
            }
        })
        .collect()
}

/// When a form version was last modified: older versions earlier.
fn modified(position: usize) -> String {
    ["2026-03-02T09:00:00.000Z", "2025-09-01T09:00:00.000Z"][position.min(1)].to_string()
}

/// The org's form versions: `(id, name, context id, position among its context's versions,
/// newest first)`.
fn versions(org: &Org) -> Vec<(Id, &'static str, Id, usize)> {
    let forms = &org.reference().evaluation_forms;
    forms
        .iter()
        .enumerate()
        .map(|(i, &(id, name, context))| {
            let newer = forms[..i].iter().filter(|f| f.2 == context).count();
            (id, name, context, newer)
        })
        .collect()
}

/// A form version as `GET /api/v2/quality/forms/evaluations` lists it (no question groups).
fn form_summary((id, name, context, position): (Id, &str, Id, usize)) -> Value {
    json!({
        "id": id,
        "name": name,
        "modifiedDate": modified(position),
        "published": true,
        "contextId": context,
        "selfUri": format!("/api/v2/quality/forms/evaluations/{id}"),
    })
}

/// A form version with its question groups, questions and answer options
/// (`EvaluationFormResponse`).
fn form_full(seed: u64, version: (Id, &str, Id, usize)) -> Value {
    let (id, _, context, _) = version;
    let mut form = form_summary(version);
    form["weightMode"] = json!("SCALED");
    form["questionGroups"] = groups(seed, id, context)
        .iter()
        .map(|g| {
            json!({
                "id": g.id,
                "contextId": g.context_id,
                "name": g.name,
                "type": "questionGroup",
                "defaultAnswersToHighest": false,
                "defaultAnswersToNA": false,
                "naEnabled": g.name == "Compliance",
                "weight": g.weight,
                "manualWeight": false,
                "questions": g.questions.iter().map(|q| json!({
                    "id": q.id,
                    "contextId": q.context_id,
                    "text": q.text,
                    "helpText": format!("Score: {}", q.text),
                    "type": "multipleChoiceQuestion",
                    "naEnabled": false,
                    "commentsRequired": false,
                    "isKill": q.is_kill,
                    "isCritical": q.is_critical,
                    "answerOptions": q.options.iter().map(|(id, ctx, text, value)| json!({
                        "id": id, "contextId": ctx, "text": text, "value": value,
                    })).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    form
}

/// `GET /api/v2/quality/forms/evaluations`: the newest version of each form.
pub(crate) async fn forms(
    State(state): State<Arc<AppState>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    access::require(&state, FORM_PERMISSIONS)?;
    let params = Params::parse(raw.as_deref());
    let latest: Vec<Value> = versions(&state.org)
        .into_iter()
        .filter(|v| v.3 == 0)
        .map(form_summary)
        .collect();
    let refs: Vec<&Value> = latest.iter().collect();
    Listing::new("/api/v2/quality/forms/evaluations", 100).page(&state, &params, &refs)
}

/// `GET /api/v2/quality/forms/evaluations/{formId}/versions`: every version of the form's
/// context, newest first.
pub(crate) async fn form_versions(
    State(state): State<Arc<AppState>>,
    Path(form_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    access::require(&state, FORM_PERMISSIONS)?;
    let params = Params::parse(raw.as_deref());
    let all = versions(&state.org);
    let Some(context) = all.iter().find(|v| v.0.to_string() == form_id).map(|v| v.2) else {
        return Err(ApiError::not_found(format!(
            "Evaluation form {form_id} not found"
        )));
    };
    let mut of_context: Vec<_> = all.into_iter().filter(|v| v.2 == context).collect();
    of_context.sort_by_key(|v| v.3);
    let listed: Vec<Value> = of_context.into_iter().map(form_summary).collect();
    let refs: Vec<&Value> = listed.iter().collect();
    let path = format!("/api/v2/quality/forms/evaluations/{form_id}/versions");
    Listing::new(path, 100).page(&state, &params, &refs)
}

/// `GET /api/v2/quality/forms/evaluations/bulk?id=...` (at most 100 ids): whole form versions.
pub(crate) async fn forms_bulk(
    State(state): State<Arc<AppState>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    access::require(&state, FORM_PERMISSIONS)?;
    let params = Params::parse(raw.as_deref());
    let ids: HashSet<&str> = params.all("id").into_iter().collect();
    if ids.is_empty() || ids.len() > 100 {
        return Err(ApiError::bad_request(format!(
            "id must list between 1 and 100 form ids; got {}.",
            ids.len()
        )));
    }
    let seed = state.config.seed;
    let entities: Vec<Value> = versions(&state.org)
        .into_iter()
        .filter(|v| ids.contains(v.0.to_string().as_str()))
        .map(|v| form_full(seed, v))
        .collect();
    Ok(Json(json!({ "entities": entities })))
}

/// The quality API's media type of a conversation's first session.
fn media_type(conversation: &Conversation) -> &'static str {
    let media = conversation
        .participants
        .iter()
        .flat_map(|p| &p.sessions)
        .map(|s| s.media_type)
        .next()
        .unwrap_or("voice");
    match media {
        "voice" => "CALL",
        "chat" => "CHAT",
        "email" => "EMAIL",
        "message" => "MESSAGE",
        _ => "CALLBACK",
    }
}

fn reference(id: impl std::fmt::Display, path: &str) -> Value {
    json!({ "id": id.to_string(), "selfUri": format!("{path}/{id}") })
}

/// When an evaluation was last changed, as seen at `now`: a rescore comes 48 hours after it
/// was created.
fn changed_at(e: &Evaluation, now: Ts) -> Ts {
    if e.rescored && e.event_time.plus(48 * MS_HOUR) <= now {
        e.event_time.plus(48 * MS_HOUR)
    } else {
        e.event_time
    }
}

/// The whole evaluation (`EvaluationResponse`) the details' `e` stands for, as seen at `now`.
fn evaluation_json(seed: u64, c: &Conversation, e: &Evaluation, now: Ts) -> Value {
    let mut rng = Rng::new(mix(&[seed, 0xE7A1, e.evaluation_id.0 as u64]));
    let finished = e.evaluation_status == "Finished";
    let mut any_failed_kill = false;
    let mut max_total = 0i64;
    let group_scores: Vec<Value> = groups(seed, e.form_id, e.context_id)
        .iter()
        .map(|g| {
            let (mut got, mut max) = (0i64, 0i64);
            let scores: Vec<Value> = g
                .questions
                .iter()
                .map(|q| {
                    let (answer, _, _, value) = *rng.pick(&q.options);
                    let top = q.options.iter().map(|o| o.3).max().unwrap_or(0);
                    let failed = q.is_kill && value == 0;
                    any_failed_kill |= failed;
                    got += value;
                    max += top;
                    let mut s = json!({
                        "questionId": q.id,
                        "answerId": answer,
                        "score": value,
                        "markedNA": false,
                        "systemMarkedNA": false,
                        "failedKillQuestion": failed,
                    });
                    if rng.chance(0.2) {
                        s["comments"] = json!(*rng.pick(&COMMENTS));
                    }
                    s
                })
                .collect();
            max_total += max;
            let pct = if max == 0 {
                0.0
            } else {
                100.0 * got as f64 / max as f64
            };
            json!({
                "questionGroupId": g.id,
                "totalScore": pct,
                "maxTotalScore": 100.0,
                "markedNA": false,
                "systemMarkedNA": false,
                "totalCriticalScore": pct,
                "maxTotalCriticalScore": 100.0,
                "totalNonCriticalScore": pct,
                "maxTotalNonCriticalScore": 100.0,
                "totalScoreUnweighted": got as f64,
                "maxTotalScoreUnweighted": max as f64,
                "questionScores": scores,
            })
        })
        .collect();
    let mut answers = json!({
        "totalScore": e.o_total_score as f64,
        "totalCriticalScore": e.o_total_critical_score as f64,
        "totalNonCriticalScore": e.o_total_score as f64,
        "maxTotalRawScore": max_total as f64,
        "maxTotalRawCriticalScore": max_total as f64,
        "anyFailedKillQuestions": any_failed_kill,
        "questionGroupScores": group_scores,
    });
    if rng.chance(0.5) {
        answers["comments"] = json!(*rng.pick(&COMMENTS));
    }
    if rng.chance(0.2) {
        answers["agentComments"] = json!("Thanks, noted.");
    }
    let changed = changed_at(e, now);
    let assigned = e.event_time.plus(-MS_HOUR);
    let mut v = json!({
        "id": e.evaluation_id,
        "conversation": reference(c.conversation_id, "/api/v2/conversations"),
        "evaluationForm": {
            "id": e.form_id,
            "name": e.form_name,
            "contextId": e.context_id,
            "selfUri": format!("/api/v2/quality/forms/evaluations/{}", e.form_id),
        },
        "evaluator": reference(e.evaluator_id, "/api/v2/users"),
        "agent": reference(e.user_id, "/api/v2/users"),
        "queue": reference(e.queue_id, "/api/v2/routing/queues"),
        "status": if finished { "FINISHED" } else { "INPROGRESS" },
        "answers": answers,
        "agentHasRead": e.released && rng.chance(0.5),
        "assigneeApplicable": e.assignee_applicable,
        "assignedDate": assigned,
        "createdDate": assigned,
        "changedDate": changed,
        "mediaType": [media_type(c)],
        "divisionIds": c.division_ids,
        "rescore": e.rescored && changed != e.event_time,
        "conversationDate": c.conversation_start,
        "neverRelease": false,
        "assigned": true,
        "redacted": false,
        "isScoringIndex": false,
        "disputeCount": 0,
        "version": if e.rescored && changed != e.event_time { 2 } else { 1 },
        "declinedReview": false,
        "evaluationContextId": Id(u128::from(mix(&[seed, 0xC0E7, e.evaluation_id.0 as u64]))),
        "selfUri": format!(
            "/api/v2/quality/conversations/{}/evaluations/{}",
            c.conversation_id, e.evaluation_id
        ),
    });
    if let Some(end) = c.conversation_end {
        v["conversationEndDate"] = json!(end);
    }
    if finished {
        v["submittedDate"] = json!(e.event_time);
    }
    if e.released {
        v["releaseDate"] = json!(e.event_time);
    }
    v
}

/// The evaluations served at `now` of the conversations that started in `[from, to)`: not
/// deleted and already created.
fn evaluations_of_days(
    org: &Org,
    from: Ts,
    to: Ts,
    now: Ts,
) -> Vec<(Arc<Conversation>, Evaluation)> {
    let mut out = Vec::new();
    if to <= from {
        return out;
    }
    let mut day = date_of(from);
    let last = date_of(to.plus(-1).min(now));
    while day <= last {
        for c in org.day(day).iter() {
            if c.conversation_start < from || c.conversation_start >= to {
                continue;
            }
            let Some(rendered) = c.render(now, crate::model::Attributes::Omit) else {
                continue;
            };
            for e in rendered.evaluations.iter().flatten() {
                if !e.deleted {
                    out.push((Arc::clone(c), e.clone()));
                }
            }
        }
        day = day + Days::new(1);
    }
    out
}

/// A search criterion this simulator understands.
enum Criterion {
    Range { field: String, from: Ts, to: Ts },
    Exact { field: String, values: Vec<String> },
}

fn instant(v: &Value, what: &str) -> Result<Ts, ApiError> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|d| Ts::from_datetime(d.with_timezone(&Utc)))
        .ok_or_else(|| ApiError::bad_request(format!("{what} must be an ISO-8601 instant")))
}

fn criteria(body: &Value) -> Result<Vec<Criterion>, ApiError> {
    let mut out = Vec::new();
    for q in body["query"].as_array().into_iter().flatten() {
        let field = q["field"].as_str().unwrap_or_default().to_string();
        match q["type"].as_str() {
            Some("DATE_RANGE") => {
                if !matches!(
                    field.as_str(),
                    "conversationDate" | "createdDate" | "changedDate" | "submittedDate"
                ) {
                    return Err(ApiError::bad_request(format!(
                        "DATE_RANGE is not supported on field '{field}'"
                    )));
                }
                out.push(Criterion::Range {
                    from: instant(&q["startValue"], "startValue")?,
                    to: instant(&q["endValue"], "endValue")?,
                    field,
                });
            }
            Some("EXACT") => {
                let values: Vec<String> = q["values"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(String::from))
                            .collect()
                    })
                    .or_else(|| q["value"].as_str().map(|v| vec![v.to_string()]))
                    .unwrap_or_default();
                out.push(Criterion::Exact { field, values });
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "query type {other:?} is not supported"
                )));
            }
        }
    }
    Ok(out)
}

fn field_instant(v: &Value, field: &str) -> Option<Ts> {
    v[field]
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|d| Ts::from_datetime(d.with_timezone(&Utc)))
}

fn exact_value(v: &Value, field: &str) -> Option<String> {
    match field {
        "conversationId" => v["conversation"]["id"].as_str().map(String::from),
        "evaluationId" => v["id"].as_str().map(String::from),
        "formId" => v["evaluationForm"]["id"].as_str().map(String::from),
        "agentId" => v["agent"]["id"].as_str().map(String::from),
        "evaluatorId" => v["evaluator"]["id"].as_str().map(String::from),
        "evaluationStatus" => v["status"].as_str().map(String::from),
        _ => None,
    }
}

/// `POST /api/v2/quality/evaluations/search` (`quality:evaluation:searchAny`).
pub(crate) async fn search(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    access::require(&state, SEARCH_PERMISSIONS)?;
    let body: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("The request body is not JSON: {e}")))?;
    let criteria = criteria(&body)?;
    let ranges: Vec<(&str, Ts, Ts)> = criteria
        .iter()
        .filter_map(|c| match c {
            Criterion::Range { field, from, to } => Some((field.as_str(), *from, *to)),
            Criterion::Exact { .. } => None,
        })
        .collect();
    if ranges.is_empty() {
        return Err(ApiError::bad_request(
            "A time range is required: add a DATE_RANGE criterion.",
        ));
    }
    for &(field, from, to) in &ranges {
        if to.0 < from.0 || to.0 - from.0 > MAX_SEARCH_DAYS * 24 * MS_HOUR {
            return Err(ApiError::bad_request(format!(
                "The {field} range must be at most 3 months long."
            )));
        }
    }
    let size = match &body["pageSize"] {
        Value::Null => 25,
        v => v
            .as_u64()
            .filter(|n| (1..=MAX_SEARCH_PAGE).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "pageSize must be an integer between 1 and {MAX_SEARCH_PAGE}"
                ))
            })?,
    };
    let number = match &body["pageNumber"] {
        Value::Null => 1,
        v => v
            .as_u64()
            .filter(|n| *n >= 1)
            .ok_or_else(|| ApiError::bad_request("pageNumber must be at least 1"))?,
    };
    let cap = state.config.listing_result_cap;
    if size.saturating_mul(number) > cap {
        return Err(ApiError::bad_request(format!(
            "Paging may not exceed {cap} results. Narrow the query."
        )));
    }
    let now = state.now();
    // Conversations whose evaluations can fall in every range: a conversation-date range
    // bounds their start; a changed-, created- or submitted-date range bounds it from below
    // by the longest delay from a conversation's start to its evaluation's last change.
    let (mut from, mut to) = (Ts(i64::MIN), Ts(i64::MAX));
    for &(field, f, t) in &ranges {
        let f = if field == "conversationDate" {
            f
        } else {
            f.plus(-LATEST_CHANGE_AFTER_START_MS)
        };
        from = from.max(f);
        to = to.min(t);
    }
    let seed = state.config.seed;
    let mut results: Vec<Value> = evaluations_of_days(&state.org, from, to.min(now.plus(1)), now)
        .into_iter()
        .map(|(c, e)| evaluation_json(seed, &c, &e, now))
        .filter(|v| {
            criteria.iter().all(|c| match c {
                Criterion::Range { field, from, to } => {
                    field_instant(v, field).is_some_and(|t| t >= *from && t < *to)
                }
                Criterion::Exact { field, values } => {
                    exact_value(v, field).is_some_and(|x| values.contains(&x))
                }
            })
        })
        .collect();
    let sort_by = body["sortBy"].as_str().unwrap_or("conversationDate");
    let key_field = match sort_by {
        "createdDate" | "submittedDate" | "releaseDate" | "conversationDate" => sort_by,
        other => {
            return Err(ApiError::bad_request(format!(
                "sortBy {other:?} is not supported"
            )));
        }
    };
    results.sort_by(|a, b| {
        (field_instant(a, key_field), a["id"].as_str())
            .cmp(&(field_instant(b, key_field), b["id"].as_str()))
    });
    if body["sortOrder"].as_str() == Some("DESC") {
        results.reverse();
    }
    let page: Vec<Value> = results
        .into_iter()
        .skip(((number - 1) * size) as usize)
        .take(size as usize)
        .collect();
    Ok(Json(json!({
        "pageSize": size,
        "pageNumber": number,
        "results": page,
    })))
}

/// `GET /api/v2/quality/conversations/{conversationId}/evaluations/{evaluationId}`.
pub(crate) async fn evaluation(
    State(state): State<Arc<AppState>>,
    Path((conversation_id, evaluation_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    access::require(&state, VIEW_PERMISSIONS)?;
    let missing = || ApiError::not_found(format!("Evaluation {evaluation_id} not found"));
    let conversation = Id::parse(&conversation_id)
        .and_then(|id| state.org.find(id))
        .ok_or_else(missing)?;
    let now = state.now();
    let rendered = conversation
        .render(now, crate::model::Attributes::Omit)
        .ok_or_else(missing)?;
    let e = rendered
        .evaluations
        .iter()
        .flatten()
        .find(|e| e.evaluation_id.to_string() == evaluation_id && !e.deleted)
        .ok_or_else(missing)?;
    Ok(Json(evaluation_json(
        state.config.seed,
        &conversation,
        e,
        now,
    )))
}

/// The evaluations of conversations that started in `[from, to)` as the search serves them at
/// `now` (deleted ones left out), sorted by id: what tests compare an extract with.
pub(crate) fn evaluations_between(
    org: &Org,
    seed: u64,
    (from, to): (Ts, Ts),
    now: Ts,
) -> Vec<Value> {
    let mut out: Vec<Value> = evaluations_of_days(org, from, to, now)
        .into_iter()
        .map(|(c, e)| evaluation_json(seed, &c, &e, now))
        .collect();
    out.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    out
}

/// Every form version in full (`EvaluationFormResponse`).
pub(crate) fn all_forms(org: &Org, seed: u64) -> Vec<Value> {
    versions(org)
        .into_iter()
        .map(|v| form_full(seed, v))
        .collect()
}
