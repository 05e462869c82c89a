//! Conversation-detail endpoints: the async jobs API for history, the synchronous query for
//! the recent tail (after the jobs' data availability date).
//!
//! Both stream raw pages into a bounded channel; the caller decodes, filters to the chunk's
//! start range and dedupes. The two paths differ in interval semantics (genesys-api.md §4.1,
//! §4.2): a job returns every conversation *overlapping* its interval, the query those that
//! started on a UTC day the interval touches and are active in it. Either way the caller keeps
//! only conversations whose start falls in the chunk, so both give the same rows.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;
use tokio::sync::mpsc;

use super::client::ApiClient;
use crate::error::{Error, Result};

const QUERY_PATH: &str = "/api/v2/analytics/conversations/details/query";
const JOBS_PATH: &str = "/api/v2/analytics/conversations/details/jobs";
/// The synchronous query cannot page past this many results (HTTP 400 beyond).
pub const QUERY_RESULT_CAP: u64 = 100_000;

/// One page of conversations, still undecoded.
#[derive(Debug)]
pub struct Page {
    pub conversations: Vec<Box<RawValue>>,
    /// The response body as served, for the raw zone.
    pub raw: bytes::Bytes,
}

/// Paging and polling settings.
#[derive(Debug, Clone)]
pub struct DetailsSettings {
    /// Page size of the synchronous query (the API's maximum is 100).
    pub query_page_size: u32,
    /// Page size asked of job results.
    pub job_page_size: u32,
    /// Time between job status polls.
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
struct QueryResponse {
    #[serde(default)]
    conversations: Option<Vec<Box<RawValue>>>,
    #[serde(default)]
    total_hits: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JobSubmitted {
    job_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JobStatus {
    state: String,
    #[serde(default)]
    error_message: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JobResults {
    #[serde(default)]
    conversations: Option<Vec<Box<RawValue>>>,
    #[serde(default)]
    cursor: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Availability {
    data_availability_date: String,
}

/// The conversation-detail endpoints over a shared client.
pub struct ConversationApi {
    api: Arc<ApiClient>,
    settings: DetailsSettings,
    /// Restricts results to these division ids (`--division`); empty: no filter.
    divisions: Vec<String>,
}

/// An ISO-8601 interval as the analytics API wants it.
pub fn interval(start: DateTime<Utc>, end: DateTime<Utc>) -> String {
    format!(
        "{}/{}",
        start.to_rfc3339_opts(SecondsFormat::Millis, true),
        end.to_rfc3339_opts(SecondsFormat::Millis, true)
    )
}

fn parse<'a, T: Deserialize<'a>>(path: &str, body: &'a [u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| Error::Payload {
        path: path.to_string(),
        message: e.to_string(),
    })
}

impl ConversationApi {
    pub fn new(api: Arc<ApiClient>, settings: DetailsSettings, divisions: Vec<String>) -> Self {
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

    /// Pages the synchronous query over `[start, end)`, splitting the interval while a query
    /// would pass the API's result cap. Returns the number of pages sent.
    pub async fn fetch_query(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        tx: &mpsc::Sender<Page>,
    ) -> Result<u64> {
        let mut pending = vec![(start, end)];
        let mut pages = 0;
        while let Some((s, e)) = pending.pop() {
            let size = self.settings.query_page_size.max(1);
            let mut page_number = 1u64;
            loop {
                let body = self.with_filters(json!({
                    "interval": interval(s, e),
                    "order": "asc",
                    "orderBy": "conversationStart",
                    "paging": {"pageSize": size, "pageNumber": page_number},
                }));
                let resp = self.api.post_json(QUERY_PATH, &body).await?;
                let page: QueryResponse = parse(QUERY_PATH, &resp.body)?;
                let cap = self.settings.query_result_cap;
                if page_number == 1 && page.total_hits.unwrap_or(0) >= cap {
                    let half = (e - s) / 2;
                    if half < chrono::Duration::minutes(1) {
                        return Err(Error::Api {
                            method: "POST".into(),
                            path: QUERY_PATH.into(),
                            status: None,
                            message: format!(
                                "interval {} still has more than {cap} results",
                                interval(s, e)
                            ),
                        });
                    }
                    tracing::info!(interval = %interval(s, e), total_hits = page.total_hits, "splitting a query interval past the result cap");
                    pending.push((s + half, e));
                    pending.push((s, s + half));
                    break;
                }
                let conversations = page.conversations.unwrap_or_default();
                let n = conversations.len() as u64;
                pages += send(tx, conversations, &resp.body).await?;
                if n < size as u64 || (page_number + 1) * size as u64 > cap {
                    break;
                }
                page_number += 1;
            }
        }
        Ok(pages)
    }

    /// Runs an async job over `[start, end)` and pages its results. An expired job is
    /// submitted again (twice at most). Returns the number of pages sent.
    pub async fn fetch_job(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        tx: &mpsc::Sender<Page>,
    ) -> Result<u64> {
        let mut submissions = 0;
        'submit: loop {
            submissions += 1;
            let body = self.with_filters(json!({"interval": interval(start, end), "order": "asc", "orderBy": "conversationStart"}));
            let resp = self.api.post_json(JOBS_PATH, &body).await?;
            let job: JobSubmitted = parse(JOBS_PATH, &resp.body)?;
            let status_path = format!("{JOBS_PATH}/{}", job.job_id);
            tracing::debug!(job_id = %job.job_id, interval = %interval(start, end), "submitted a details job");
            let waited = Instant::now();
            loop {
                let status: JobStatus =
                    parse(&status_path, &self.api.get(&status_path).await?.body)?;
                match status.state.as_str() {
                    "FULFILLED" => break,
                    "QUEUED" | "PENDING" | "RUNNING" => {}
                    "EXPIRED" if submissions < 3 => continue 'submit,
                    other => {
                        return Err(Error::Api {
                            method: "GET".into(),
                            path: status_path,
                            status: None,
                            message: format!(
                                "details job for {} ended {other}: {}",
                                interval(start, end),
                                status.error_message.unwrap_or_default()
                            ),
                        });
                    }
                }
                if waited.elapsed() > self.settings.job_timeout {
                    return Err(Error::Api {
                        method: "GET".into(),
                        path: status_path,
                        status: None,
                        message: format!(
                            "details job not fulfilled after {:?}",
                            self.settings.job_timeout
                        ),
                    });
                }
                tokio::time::sleep(self.settings.job_poll_interval).await;
            }
            let mut pages = 0;
            let mut cursor: Option<String> = None;
            loop {
                let mut path = format!(
                    "{status_path}/results?pageSize={}",
                    self.settings.job_page_size
                );
                if let Some(c) = &cursor {
                    path.push_str("&cursor=");
                    path.push_str(
                        &url::form_urlencoded::byte_serialize(c.as_bytes()).collect::<String>(),
                    );
                }
                let resp = match self.api.get(&path).await {
                    // Results can expire between polls and paging; start over with a new job.
                    Err(Error::Api {
                        status: Some(404), ..
                    }) if submissions < 3 => continue 'submit,
                    other => other?,
                };
                let page: JobResults = parse(&status_path, &resp.body)?;
                pages += send(tx, page.conversations.unwrap_or_default(), &resp.body).await?;
                match page.cursor {
                    Some(c) if !c.is_empty() => cursor = Some(c),
                    _ => return Ok(pages),
                }
            }
        }
    }
}

/// Sends a page downstream unless it is empty; returns the number of pages sent (0 or 1).
async fn send(
    tx: &mpsc::Sender<Page>,
    conversations: Vec<Box<RawValue>>,
    raw: &bytes::Bytes,
) -> Result<u64> {
    if conversations.is_empty() {
        return Ok(0);
    }
    let page = Page {
        conversations,
        raw: raw.clone(),
    };
    tx.send(page)
        .await
        .map_err(|_| Error::Input("the page consumer stopped".into()))?;
    Ok(1)
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
