//! The conversation-detail endpoints: the async jobs API for history, the synchronous query
//! for the recent tail (after the jobs' data availability date).
//!
//! Both stream raw pages into a bounded channel; the dataset's `admit` filters to the chunk's
//! start range and dedupes. The two paths differ in interval semantics (genesys-api.md §4.1,
//! §4.2): a job returns every conversation *overlapping* its interval, the query those that
//! started on a UTC day the interval touches and are active in it. Either way the caller keeps
//! only conversations whose start falls in the chunk, so both give the same rows.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::json;

use crate::error::{Error, Result};
use crate::genesys::ApiClient;
use crate::genesys::jobs::{self, JobSettings};
use crate::genesys::paging::{PageSender, is_result_cap, items, parse, send};

pub(crate) const QUERY_PATH: &str = "/api/v2/analytics/conversations/details/query";
pub(crate) const JOBS_PATH: &str = "/api/v2/analytics/conversations/details/jobs";
/// The synchronous query cannot page past this many results (HTTP 400 beyond).
pub const QUERY_RESULT_CAP: u64 = 100_000;

/// Paging and polling settings.
#[derive(Debug, Clone)]
pub struct DetailsSettings {
    /// Page size of the synchronous query (the API's maximum is 100).
    pub query_page_size: u32,
    /// Page size asked of job results.
    pub job_page_size: u32,
    /// Wait before the first job status poll (later waits grow, see [`JobSettings`]).
    pub job_poll_interval: Duration,
    /// Give up on a job that is not fulfilled after this long.
    pub job_timeout: Duration,
    /// The synchronous query's result cap: an interval with more results is split.
    pub query_result_cap: u64,
}

impl Default for DetailsSettings {
    fn default() -> Self {
        DetailsSettings {
            query_page_size: 100,
            job_page_size: 1000,
            job_poll_interval: Duration::from_secs(3),
            job_timeout: Duration::from_secs(2 * 3600),
            query_result_cap: QUERY_RESULT_CAP,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryTotals {
    #[serde(default)]
    total_hits: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Availability {
    data_availability_date: String,
}

/// The conversation-detail endpoints over a shared client.
pub struct ConversationApi<'a> {
    api: &'a ApiClient,
    settings: &'a DetailsSettings,
    /// Restricts results to these division ids (`--division`); empty: no filter.
    divisions: &'a [String],
}

/// An ISO-8601 interval as the analytics API wants it.
pub fn interval(start: DateTime<Utc>, end: DateTime<Utc>) -> String {
    format!(
        "{}/{}",
        start.to_rfc3339_opts(SecondsFormat::Millis, true),
        end.to_rfc3339_opts(SecondsFormat::Millis, true)
    )
}

impl<'a> ConversationApi<'a> {
    pub fn new(api: &'a ApiClient, settings: &'a DetailsSettings, divisions: &'a [String]) -> Self {
        ConversationApi {
            api,
            settings,
            divisions,
        }
    }

    /// Adds the division filter, if any, to a query or job body.
    fn with_filters(&self, mut body: serde_json::Value) -> serde_json::Value {
        if !self.divisions.is_empty() {
            let predicates: Vec<_> =
                self.divisions.iter().map(|d| json!({"type": "dimension", "dimension": "divisionId", "operator": "matches", "value": d})).collect();
            body["conversationFilters"] = json!([{"type": "or", "predicates": predicates}]);
        }
        body
    }

    /// The instant up to which job results are complete.
    pub async fn availability(&self) -> Result<DateTime<Utc>> {
        let path = format!("{JOBS_PATH}/availability");
        let resp = self.api.get(&path).await?;
        let a: Availability = parse(&path, &resp.body)?;
        DateTime::parse_from_rfc3339(&a.data_availability_date)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| Error::Payload {
                path,
                message: format!("dataAvailabilityDate {:?}: {e}", a.data_availability_date),
            })
    }

    /// Pages the synchronous query over `[start, end)` to the end of each interval, splitting
    /// an interval the platform will not page whole (its 400 at any page, or page 1's
    /// `totalHits` past the expected cap). Conversations of pages read before a split come
    /// again in the halves; the dataset keeps each once. Returns the number of pages sent.
    pub async fn fetch_query(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        tx: &PageSender,
    ) -> Result<u64> {
        let mut pending = vec![(start, end)];
        let mut pages = 0;
        let size = self.settings.query_page_size.max(1);
        let cap = self.settings.query_result_cap;
        // An interval the platform will not page to its end is halved; below a minute there
        // is nothing left to split, and the chunk fails rather than stopping short.
        let split = |pending: &mut Vec<_>, s, e, why: String| -> Result<()> {
            let half = (e - s) / 2;
            if half < chrono::Duration::minutes(1) {
                return Err(Error::Api {
                    method: "POST".into(),
                    path: QUERY_PATH.into(),
                    status: None,
                    message: format!(
                        "the conversations of {} cannot be read whole: {why}, and the interval is too short to split",
                        interval(s, e)
                    ),
                });
            }
            tracing::info!(interval = %interval(s, e), reason = %why, "splitting a query interval past the result cap");
            pending.push((s + half, e));
            pending.push((s, s + half));
            Ok(())
        };
        while let Some((s, e)) = pending.pop() {
            let mut page_number = 1u64;
            loop {
                let body = self.with_filters(json!({
                    "interval": interval(s, e),
                    "order": "asc",
                    "orderBy": "conversationStart",
                    "paging": {"pageSize": size, "pageNumber": page_number},
                }));
                // The platform's own answer is what counts: a 400 for paging past its cap, at
                // any page, whatever `totalHits` said (it is approximate and moves).
                let resp = match self.api.post_json(QUERY_PATH, &body).await {
                    Ok(resp) => resp,
                    Err(err) if is_result_cap(&err) => {
                        split(
                            &mut pending,
                            s,
                            e,
                            format!("page {page_number} is past the platform's paging cap ({err})"),
                        )?;
                        break;
                    }
                    Err(err) => return Err(err),
                };
                let page: QueryTotals = parse(QUERY_PATH, &resp.body)?;
                // The expected cap, when page 1 already says the interval passes it, saves
                // paging up to the refusal.
                if page_number == 1 && page.total_hits.unwrap_or(0) >= cap {
                    split(
                        &mut pending,
                        s,
                        e,
                        format!(
                            "{} hits, past the expected cap of {cap}",
                            page.total_hits.unwrap_or(0)
                        ),
                    )?;
                    break;
                }
                let conversations = items(QUERY_PATH, &resp.body, "conversations")?;
                let n = conversations.len() as u64;
                pages += send(tx, conversations, &resp.body).await?;
                if n < size as u64 {
                    break;
                }
                page_number += 1;
            }
        }
        Ok(pages)
    }

    /// The body of the details job over `[start, end)`.
    pub fn job_body(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> serde_json::Value {
        self.with_filters(json!({"interval": interval(start, end), "order": "asc", "orderBy": "conversationStart"}))
    }

    /// Runs an async job over `[start, end)` and pages its results (an expired job is
    /// submitted again, twice at most). With the run's `queue`, the job may already have been
    /// submitted, and the next one is submitted while this one is paged. Returns the number
    /// of pages sent.
    pub async fn fetch_job(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        tx: &PageSender,
        queue: Option<&jobs::JobQueue>,
    ) -> Result<u64> {
        let body = self.job_body(start, end);
        let settings = JobSettings {
            page_size: self.settings.job_page_size,
            poll_interval: self.settings.job_poll_interval,
            timeout: self.settings.job_timeout,
            ..JobSettings::default()
        };
        let what = format!("details job for {}", interval(start, end));
        jobs::run(
            self.api,
            JOBS_PATH,
            &body,
            "conversations",
            &settings,
            &what,
            tx,
            queue,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn intervals_use_millisecond_utc_instants() {
        let s = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
        let e = Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap();
        assert_eq!(
            interval(s, e),
            "2026-11-01T00:00:00.000Z/2026-11-02T00:00:00.000Z"
        );
    }
}
