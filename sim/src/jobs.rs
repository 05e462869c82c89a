//! Asynchronous conversation-detail jobs (genesys-api.md §4.2): submit, poll, page results
//! by cursor, delete, and the data-availability date.
//!
//! A job's result set is fixed at submission (like a snapshot of the lake) and served with
//! participant `attributes`. Status moves QUEUED → PENDING → FULFILLED as it is polled, so
//! loaders exercise their polling loop without waiting on real time.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use serde_json::json;

use crate::access;
use crate::error::ApiError;
use crate::model::{Attributes, Conversation, Id, Ts, format_instant};
use crate::org::{Key, Matching};
use crate::query::JobQuery;
use crate::rng::{Rng, mix};
use crate::server::{AppState, DETAIL_PERMISSIONS};

/// Job results' default page size when `pageSize` is omitted.
const DEFAULT_RESULTS_PAGE_SIZE: usize = 100;

/// How long results stay available after submission.
const RESULTS_LIFETIME_HOURS: i64 = 24;

/// Submitted jobs by id.
#[derive(Debug)]
pub(crate) struct JobStore {
    jobs: Mutex<HashMap<String, Job>>,
    submitted: AtomicU64,
}

#[derive(Debug)]
struct Job {
    results: Arc<[Key]>,
    /// "Now" at submission: results are rendered as the lake saw them then.
    seen_at: Ts,
    /// Keys the cursor checksum, so cursors from another job are rejected.
    key: u64,
    submitted: DateTime<Utc>,
    polls: u32,
    completed: Option<DateTime<Utc>>,
    /// Reports EXPIRED once done, and serves no results (see `SimConfig::expire_first_jobs`).
    expires: bool,
    /// Reports FAILED once done, with an error message (see `SimConfig::fail_first_jobs`).
    fails: bool,
    /// Expires after serving this many result pages (see
    /// `SimConfig::expire_first_job_after_pages`): its results vanish mid-paging.
    expire_after_pages: Option<u64>,
    /// Result pages served so far.
    pages_served: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JobState {
    Queued,
    Pending,
    Fulfilled,
    Expired,
    Failed,
}

impl JobState {
    fn name(self) -> &'static str {
        match self {
            JobState::Queued => "QUEUED",
            JobState::Pending => "PENDING",
            JobState::Fulfilled => "FULFILLED",
            JobState::Expired => "EXPIRED",
            JobState::Failed => "FAILED",
        }
    }
}

impl Job {
    fn state(&self) -> JobState {
        match (self.completed, self.polls) {
            (Some(_), _) if self.expires => JobState::Expired,
            (Some(_), _) if self.fails => JobState::Failed,
            (Some(_), _) => JobState::Fulfilled,
            (None, 0 | 1) => JobState::Queued,
            (None, _) => JobState::Pending,
        }
    }

    fn cursor(&self, offset: usize) -> String {
        let check = mix(&[self.key, offset as u64]) as u32;
        URL_SAFE_NO_PAD.encode(format!("{offset}:{check:08x}"))
    }

    /// The offset a cursor points at, if it is one this job issued.
    fn offset_of(&self, cursor: &str) -> Option<usize> {
        let decoded = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
        let (offset, _) = decoded.split_once(':')?;
        let offset: usize = offset.parse().ok()?;
        (offset < self.results.len() && self.cursor(offset) == cursor).then_some(offset)
    }
}

impl JobStore {
    pub(crate) fn new() -> Self {
        Self {
            jobs: Mutex::default(),
            submitted: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Job>> {
        self.jobs.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn job_not_found(job_id: &str) -> ApiError {
    ApiError::not_found(format!("Job {job_id} was not found."))
}

/// `POST /api/v2/analytics/conversations/details/jobs` → 202 `{jobId}`.
pub(crate) async fn submit(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    access::require(&state, DETAIL_PERMISSIONS)?;
    let query = JobQuery::parse(&body)?;
    let now = state.now();
    let visible = access::visible_divisions(&state, DETAIL_PERMISSIONS);
    let horizon = now.min(Ts::from_datetime(state.config.data_availability));
    let matching = if query.start_of_day_matching {
        Matching::StartOfDay
    } else {
        Matching::Overlap
    };
    let mut selected = state
        .org
        .select(query.interval, matching, (now, horizon), |c| {
            query.selection.matches(c, now) && c.visible_in(visible.as_ref())
        });
    query.selection.order(&mut selected);
    if let Some(limit) = query.limit {
        selected.truncate(limit);
    }
    let results: Arc<[Key]> = selected.iter().map(|s| s.key).collect();
    let n = state.jobs.submitted.fetch_add(1, Ordering::Relaxed);
    let key = mix(&[state.config.seed, u64::from_be_bytes(*b"sim:jobs"), n]);
    let job_id = Id(Rng::new(key).uuid()).to_string();
    state.jobs.lock().insert(
        job_id.clone(),
        Job {
            results,
            seen_at: now,
            key,
            submitted: Utc::now(),
            polls: 0,
            completed: None,
            expires: n < state.config.expire_first_jobs,
            fails: n >= state.config.expire_first_jobs
                && n < state.config.expire_first_jobs + state.config.fail_first_jobs,
            expire_after_pages: state.config.expire_first_job_after_pages.filter(|_| n == 0),
            pages_served: 0,
        },
    );
    state.stats.record_job_submitted();
    Ok((StatusCode::ACCEPTED, Json(json!({ "jobId": job_id }))).into_response())
}

/// `GET .../jobs/{jobId}`: each poll advances the job until it is FULFILLED.
pub(crate) async fn status(
    State(state): State<Arc<AppState>>,
    Path(job_id): Path<String>,
) -> Result<Response, ApiError> {
    access::require(&state, DETAIL_PERMISSIONS)?;
    let mut jobs = state.jobs.lock();
    let job = jobs
        .get_mut(&job_id)
        .ok_or_else(|| job_not_found(&job_id))?;
    job.polls = job.polls.saturating_add(1);
    // When the job finished: by time, as the platform's jobs do (its completion date is then
    // when it finished, however late it is polled), or at the poll that ends it.
    let finished = match state.config.job_processing_time {
        Some(processing) => TimeDelta::from_std(processing)
            .ok()
            .and_then(|d| job.submitted.checked_add_signed(d))
            .filter(|at| Utc::now() >= *at),
        None => (job.polls > state.config.job_polls_before_fulfilled).then(Utc::now),
    };
    if job.completed.is_none() {
        job.completed = finished;
    }
    let mut body = json!({
        "state": job.state().name(),
        "submissionDate": format_instant(job.submitted),
        "expirationDate": format_instant(job.submitted + TimeDelta::hours(RESULTS_LIFETIME_HOURS)),
    });
    if let Some(completed) = job.completed {
        body["completionDate"] = json!(format_instant(completed));
    }
    if job.state() == JobState::Failed {
        body["errorMessage"] =
            json!("The job failed: an internal error occurred while processing it.");
    }
    Ok(Json(body).into_response())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultsPage {
    conversations: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
    data_availability_date: String,
}

/// `GET .../jobs/{jobId}/results?cursor=&pageSize=`.
pub(crate) async fn results(
    State(state): State<Arc<AppState>>,
    Path(job_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    access::require(&state, DETAIL_PERMISSIONS)?;
    let mut cursor = None;
    let mut page_size = None;
    for (key, value) in form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes()) {
        match &*key {
            "cursor" if !value.is_empty() => cursor = Some(value.into_owned()),
            "pageSize" => page_size = Some(value.into_owned()),
            _ => {}
        }
    }
    let max = state.config.max_job_page_size as usize;
    let page_size = match page_size {
        None => DEFAULT_RESULTS_PAGE_SIZE.min(max),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "pageSize must be an integer between 1 and {max}; got '{text}'."
                )));
            }
        },
    };
    let (results, seen_at, offset, next_cursor) = {
        let mut jobs = state.jobs.lock();
        let job = jobs
            .get_mut(&job_id)
            .ok_or_else(|| job_not_found(&job_id))?;
        if job
            .expire_after_pages
            .is_some_and(|n| job.pages_served >= n)
        {
            job.expires = true;
        }
        job.pages_served += 1;
        let job_state = job.state();
        if job_state == JobState::Failed {
            return Err(ApiError::bad_request(format!(
                "Job {job_id} is FAILED; it has no results."
            )));
        }
        if job_state == JobState::Expired {
            return Err(ApiError::not_found(format!(
                "Job {job_id} has expired; its results are gone."
            )));
        }
        if job_state != JobState::Fulfilled {
            return Err(ApiError::bad_request(format!(
                "Job {job_id} is {}; results are available once it is FULFILLED.",
                job_state.name()
            )));
        }
        let offset = match cursor {
            None => 0,
            Some(c) => job
                .offset_of(&c)
                .ok_or_else(|| ApiError::bad_request(format!("Invalid cursor '{c}'.")))?,
        };
        let end = (offset + page_size).min(job.results.len());
        let next = (end < job.results.len()).then(|| job.cursor(end));
        (Arc::clone(&job.results), job.seen_at, offset, next)
    };
    let end = (offset + page_size).min(results.len());
    let records: Vec<Arc<Conversation>> = results[offset..end]
        .iter()
        .filter_map(|&key| state.org.get(key))
        .collect();
    let page = ResultsPage {
        conversations: crate::server::served(
            &state,
            records
                .iter()
                .filter_map(|c| c.render(seen_at, Attributes::Include)),
        ),
        cursor: next_cursor,
        data_availability_date: format_instant(state.config.data_availability),
    };
    state.stats.record_job_result_page();
    Ok(Json(page).into_response())
}

/// `DELETE .../jobs/{jobId}` → 204.
pub(crate) async fn delete(
    State(state): State<Arc<AppState>>,
    Path(job_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .jobs
        .lock()
        .remove(&job_id)
        .map(|_| StatusCode::NO_CONTENT)
        .ok_or_else(|| job_not_found(&job_id))
}

/// `GET .../jobs/availability` → `{dataAvailabilityDate}`.
pub(crate) async fn availability(
    State(state): State<Arc<AppState>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    // Only the first of the detail permissions is listed for this endpoint.
    access::require(&state, &DETAIL_PERMISSIONS[..1])?;
    Ok(Json(json!({
        "dataAvailabilityDate": format_instant(state.config.data_availability),
    })))
}
