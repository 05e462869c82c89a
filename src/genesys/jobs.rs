//! The analytics async-jobs driver (genesys-api.md §4.2, §5.2): submit a query, poll its
//! status until it is fulfilled, then page its results with the cursor. An expired job (or
//! results that vanish while being paged, a 404) is submitted again, a bounded number of times.

use std::time::{Duration, Instant};

use serde::Deserialize;

use super::client::ApiClient;
use super::paging::{PageSender, RawEnvelope, items_of, parse, send};
use crate::error::{Error, Result};

/// Polling and paging settings of one kind of job.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// Page size asked of job results.
    pub page_size: u32,
    /// Time between status polls.
    pub poll_interval: Duration,
    /// Give up on a job that is not fulfilled after this long.
    pub timeout: Duration,
    /// Submissions of the same job (the first included) when it expires.
    pub max_submissions: u32,
}

impl Default for JobSettings {
    fn default() -> Self {
        JobSettings {
            page_size: 1000,
            poll_interval: Duration::from_secs(3),
            timeout: Duration::from_secs(2 * 3600),
            max_submissions: 3,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Submitted {
    job_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    state: String,
    #[serde(default)]
    error_message: Option<String>,
}

/// Runs one job at `jobs_path` (e.g. `/api/v2/analytics/conversations/details/jobs`) with
/// `body`, and sends each results page (the list in `field`) down `tx`. `what` names the job
/// in errors. Returns the number of pages sent.
pub async fn run(
    api: &ApiClient,
    jobs_path: &str,
    body: &serde_json::Value,
    field: &str,
    settings: &JobSettings,
    what: &str,
    tx: &PageSender,
) -> Result<u64> {
    let mut submissions = 0;
    // Pages sent before a resubmission were decoded too (their repeats are dropped downstream).
    let mut pages = 0;
    'submit: loop {
        submissions += 1;
        let again = submissions < settings.max_submissions;
        let resp = api.post_json(jobs_path, body).await?;
        let job: Submitted = parse(jobs_path, &resp.body)?;
        let status_path = format!("{jobs_path}/{}", job.job_id);
        tracing::debug!(job_id = %job.job_id, %what, "submitted a job");
        let waited = Instant::now();
        loop {
            let status: Status = parse(&status_path, &api.get(&status_path).await?.body)?;
            match status.state.as_str() {
                "FULFILLED" => break,
                "QUEUED" | "PENDING" | "RUNNING" => {}
                // A failed or expired job is submitted again, a bounded number of times.
                "EXPIRED" | "FAILED" if again => {
                    tracing::warn!(%what, state = %status.state, error = status.error_message.as_deref().unwrap_or(""), "the job ended without results; submitting it again");
                    continue 'submit;
                }
                other => {
                    return Err(Error::Api {
                        method: "GET".into(),
                        path: status_path,
                        status: None,
                        message: format!(
                            "{what} ended {other}: {}",
                            status.error_message.unwrap_or_default()
                        ),
                    });
                }
            }
            if waited.elapsed() > settings.timeout {
                return Err(Error::Api {
                    method: "GET".into(),
                    path: status_path,
                    status: None,
                    message: format!("{what} not fulfilled after {:?}", settings.timeout),
                });
            }
            tokio::time::sleep(settings.poll_interval).await;
        }
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("{status_path}/results?pageSize={}", settings.page_size);
            if let Some(c) = &cursor {
                path.push_str("&cursor=");
                path.push_str(
                    &url::form_urlencoded::byte_serialize(c.as_bytes()).collect::<String>(),
                );
            }
            let resp = match api.get(&path).await {
                // Results can expire between polls and paging; start over with a new job.
                Err(Error::Api {
                    status: Some(404), ..
                }) if again => continue 'submit,
                other => other?,
            };
            let mut page: RawEnvelope = parse(&status_path, &resp.body)?;
            let next = page
                .get("cursor")
                .and_then(|c| serde_json::from_str::<Option<String>>(c.get()).ok())
                .flatten();
            pages += send(tx, items_of(&status_path, &mut page, field)?, &resp.body).await?;
            match next {
                Some(c) if !c.is_empty() => cursor = Some(c),
                _ => return Ok(pages),
            }
        }
    }
}
