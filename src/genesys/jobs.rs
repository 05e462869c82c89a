//! The analytics async-jobs driver (genesys-api.md §4.2, §5.2): submit a query, poll its
//! status until it is fulfilled, then page its results with the cursor. An expired job (or
//! results that vanish while being paged, a 404) is submitted again, a bounded number of times.
//!
//! Polls back off (a job that takes minutes costs a handful of polls), on a schedule counted
//! from the submission; and a run that knows its next jobs ([`JobQueue`]) submits the next one
//! while the current one's results are paged, so its wait overlaps the paging and its first
//! poll usually finds it done.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::client::ApiClient;
use super::paging::{Page, PageSender, parse, send_page};
use crate::error::{Error, Result};

/// Polling and paging settings of one kind of job.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// Page size asked of job results.
    pub page_size: u32,
    /// Wait before the first status poll; each later wait is `poll_backoff` times the one
    /// before, up to `max_poll_interval`. A job that takes minutes then costs a handful of
    /// polls instead of one every few seconds.
    pub poll_interval: Duration,
    /// Longest wait between status polls (default 30 s).
    pub max_poll_interval: Duration,
    /// Growth of the wait from one poll to the next (default 1.5).
    pub poll_backoff: f64,
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
            max_poll_interval: Duration::from_secs(30),
            poll_backoff: 1.5,
            timeout: Duration::from_secs(2 * 3600),
            max_submissions: 3,
        }
    }
}

/// When to poll a job: on a schedule counted from its submission, each wait `poll_backoff`
/// times the one before, up to `max_poll_interval` ([`JobSettings`]). A job that takes minutes
/// then costs a handful of polls, not one every few seconds; every kind of job the platform
/// runs (analytics jobs, WFM's bulk adherence) is polled this way, since all share the run's
/// request budget.
#[derive(Debug)]
pub struct PollSchedule {
    next: Instant,
    wait: Duration,
    ceiling: Duration,
    backoff: f64,
}

impl PollSchedule {
    /// The first poll `first` after `submitted` (kept between `poll_interval` and the ceiling).
    pub fn new(submitted: Instant, first: Duration, settings: &JobSettings) -> Self {
        let ceiling = settings.max_poll_interval.max(settings.poll_interval);
        let wait = first.clamp(settings.poll_interval, ceiling);
        PollSchedule {
            next: submitted + wait,
            wait,
            ceiling,
            backoff: settings.poll_backoff.max(1.0),
        }
    }

    /// Waits until the next poll is due, and schedules the one after it.
    pub async fn tick(&mut self) {
        tokio::time::sleep_until(self.next.into()).await;
        self.wait = self.wait.mul_f64(self.backoff).min(self.ceiling);
        self.next = self.next.max(Instant::now()) + self.wait;
    }
}

/// The jobs a run will run, in order, and those submitted ahead of their turn; shared by the
/// run's chunks. Keys are the jobs' request bodies.
#[derive(Debug, Default)]
pub struct JobQueue {
    inner: Mutex<QueueState>,
}

#[derive(Debug, Default)]
struct QueueState {
    order: Vec<String>,
    slots: HashMap<String, Slot>,
    /// How long the run's last job took on the platform's clock (see [`JobQueue::observe`]):
    /// the first poll of the next job waits a little longer, so a job like the ones before
    /// costs one status poll.
    took: Option<Duration>,
}

#[derive(Debug)]
enum Slot {
    /// Being submitted ahead.
    Claimed,
    /// Submitted ahead: job id and when.
    Ahead(String, Instant),
    /// Its chunk has started.
    Started,
}

impl JobQueue {
    /// Declares the jobs the run will run, in the order it runs them.
    pub fn expect(&self, bodies: impl IntoIterator<Item = serde_json::Value>) {
        let mut q = self.inner.lock().expect("job queue");
        q.order.extend(bodies.into_iter().map(|b| b.to_string()));
    }

    /// Marks `key` started and hands over its job if one was submitted ahead. A job being
    /// submitted ahead right now is waited for (a submission is one request), so it is not
    /// submitted twice; a submission that never ends (its task was cancelled) is waited for
    /// 30 seconds at most.
    async fn start(&self, key: &str) -> Option<(String, Instant)> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            {
                let mut q = self.inner.lock().expect("job queue");
                let claimed = matches!(q.slots.get(key), Some(Slot::Claimed));
                if !claimed || Instant::now() >= deadline {
                    return match q.slots.insert(key.to_string(), Slot::Started) {
                        Some(Slot::Ahead(id, at)) => Some((id, at)),
                        _ => None,
                    };
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The next expected job after `key` that has neither started nor been submitted, claimed
    /// for submission ahead.
    fn claim_next(&self, key: &str) -> Option<String> {
        let mut q = self.inner.lock().expect("job queue");
        let at = q.order.iter().position(|k| k == key)?;
        let next = q.order[at + 1..]
            .iter()
            .find(|k| !q.slots.contains_key(*k))?
            .clone();
        q.slots.insert(next.clone(), Slot::Claimed);
        Some(next)
    }

    /// Keeps a job submitted ahead for its chunk (unless the chunk started meanwhile and
    /// submitted its own).
    fn keep(&self, key: String, job_id: String, at: Instant) {
        let mut q = self.inner.lock().expect("job queue");
        if let Some(slot @ Slot::Claimed) = q.slots.get_mut(&key) {
            *slot = Slot::Ahead(job_id, at);
        }
    }

    /// The wait before a job's first poll, learned from the jobs before it (none yet: `None`):
    /// a tenth more than the last one took.
    fn first_wait(&self) -> Option<Duration> {
        self.inner
            .lock()
            .expect("job queue")
            .took
            .map(|t| t.mul_f64(1.1))
    }

    /// Learns from a job the platform says took `took` (completion minus submission, both its
    /// own timestamps) and that was seen done `after` its submission (this client's clock).
    ///
    /// Only a job that was done well before the poll that found it says how long jobs take:
    /// one done at the moment it was polled may have been waiting for that poll (a platform
    /// that finishes jobs when polled), and learning from it would lengthen every next wait
    /// by the wait before it, without end.
    fn observe(&self, took: Duration, after: Duration) {
        let margin = (after / 10).max(Duration::from_millis(250));
        if after.saturating_sub(took) > margin {
            self.inner.lock().expect("job queue").took = Some(took);
        }
    }

    /// Gives a claimed job back to its chunk when submitting it ahead failed.
    fn keep_failed(&self, key: &str) {
        let mut q = self.inner.lock().expect("job queue");
        if let Some(Slot::Claimed) = q.slots.get(key) {
            q.slots.remove(key);
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
    #[serde(default)]
    submission_date: Option<String>,
    #[serde(default)]
    completion_date: Option<String>,
}

impl Status {
    /// How long the job took by the platform's clock, when it says.
    fn took(&self) -> Option<Duration> {
        let at = |d: &Option<String>| d.as_deref().and_then(crate::decode::parse_instant);
        let micros = at(&self.completion_date)? - at(&self.submission_date)?;
        u64::try_from(micros).ok().map(Duration::from_micros)
    }
}

/// Submits a job; returns its id.
async fn submit(api: &ApiClient, jobs_path: &str, body: &serde_json::Value) -> Result<String> {
    let resp = api.post_json(jobs_path, body).await?;
    Ok(parse::<Submitted>(jobs_path, &resp.body)?.job_id)
}

/// Runs one job at `jobs_path` (e.g. `/api/v2/analytics/conversations/details/jobs`) with
/// `body`, and sends each results page (the list in `field`) down `tx`. `what` names the job
/// in errors. With a `queue`, the job may have been submitted ahead, and the queue's next job
/// is submitted once this one's results are ready. Returns the number of pages sent.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    api: &ApiClient,
    jobs_path: &str,
    body: &serde_json::Value,
    field: &str,
    settings: &JobSettings,
    what: &str,
    tx: &PageSender,
    queue: Option<&JobQueue>,
) -> Result<u64> {
    let mut submissions = 0;
    // Pages sent before a resubmission were decoded too (their repeats are dropped downstream).
    let mut pages = 0;
    let key = body.to_string();
    let mut ahead = match queue {
        Some(q) => q.start(&key).await,
        None => None,
    };
    'submit: loop {
        submissions += 1;
        let again = submissions < settings.max_submissions;
        let (job_id, submitted) = match ahead.take() {
            Some(job) => job,
            None => (submit(api, jobs_path, body).await?, Instant::now()),
        };
        let status_path = format!("{jobs_path}/{job_id}");
        tracing::debug!(%job_id, %what, "submitted a job");
        // Polls on a schedule from the submission, each wait longer than the one before: a
        // job submitted ahead is polled at once, and a slow job costs few polls.
        let first = queue
            .and_then(JobQueue::first_wait)
            .unwrap_or(settings.poll_interval);
        let mut polls = PollSchedule::new(submitted, first, settings);
        loop {
            polls.tick().await;
            let status: Status = parse(&status_path, &api.get(&status_path).await?.body)?;
            match status.state.as_str() {
                "FULFILLED" => {
                    if let (Some(q), Some(took)) = (queue, status.took()) {
                        q.observe(took, submitted.elapsed());
                    }
                    break;
                }
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
            if submitted.elapsed() > settings.timeout {
                return Err(Error::Api {
                    method: "GET".into(),
                    path: status_path,
                    status: None,
                    message: format!("{what} not fulfilled after {:?}", settings.timeout),
                });
            }
        }
        // The results are ready: the run's next job starts on the server while these are paged.
        if let Some(q) = queue
            && let Some(next) = q.claim_next(&key)
        {
            let next_body: serde_json::Value =
                serde_json::from_str(&next).expect("a queued body is JSON");
            match submit(api, jobs_path, &next_body).await {
                Ok(id) => q.keep(next, id, Instant::now()),
                // Its own chunk submits it again when its turn comes.
                Err(e) => {
                    q.keep_failed(&next);
                    tracing::debug!(error = %e, "could not submit the next job ahead");
                }
            }
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
            let page = Page::cut(&status_path, resp.body.clone(), field, resp.body.clone())?;
            let next = page
                .field("cursor")
                .and_then(|c| serde_json::from_str::<Option<String>>(c).ok())
                .flatten();
            pages += send_page(tx, page).await?;
            match next {
                Some(c) if !c.is_empty() => cursor = Some(c),
                _ => return Ok(pages),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first poll of a job waits a tenth longer than the last job took on the platform's
    /// clock, learned only from jobs that were done well before the poll that found them.
    #[test]
    fn the_first_poll_waits_as_long_as_the_jobs_before_took() {
        let q = JobQueue::default();
        let ms = Duration::from_millis;
        assert_eq!(q.first_wait(), None);
        // Done at the moment it was polled: nothing learned (it may have waited for the poll).
        q.observe(ms(7400), ms(7500));
        assert_eq!(q.first_wait(), None);
        q.observe(ms(5000), ms(7500));
        assert_eq!(q.first_wait(), Some(ms(5500)));
        // Seen done at the first poll, a little after it was: the estimate stands.
        q.observe(ms(5200), ms(5500));
        assert_eq!(q.first_wait(), Some(ms(5500)));
        q.observe(ms(2000), ms(5500));
        assert_eq!(q.first_wait(), Some(ms(2200)));
        let status: Status = serde_json::from_str(
            r#"{"state":"FULFILLED","submissionDate":"2026-11-30T10:00:00.000Z","completionDate":"2026-11-30T10:00:05.250Z"}"#,
        )
        .unwrap();
        assert_eq!(status.took(), Some(ms(5250)));
    }

    /// A chunk that starts while its job is being submitted ahead takes that job instead of
    /// submitting its own; a job submitted ahead is handed over once; unknown keys get none.
    #[tokio::test]
    async fn a_job_being_submitted_ahead_is_waited_for_and_handed_over() {
        let q = std::sync::Arc::new(JobQueue::default());
        q.expect([serde_json::json!({"day": 1}), serde_json::json!({"day": 2})]);
        let (first, second) = (r#"{"day":1}"#, r#"{"day":2}"#.to_string());
        assert!(q.start(first).await.is_none());
        assert_eq!(q.claim_next(first).as_deref(), Some(second.as_str()));
        let starting = tokio::spawn({
            let (q, second) = (q.clone(), second.clone());
            async move { q.start(&second).await }
        });
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert!(
            !starting.is_finished(),
            "the start did not wait for the claim"
        );
        q.keep(second.clone(), "job-2".into(), Instant::now());
        let handed = starting.await.unwrap();
        assert_eq!(handed.map(|(id, _)| id).as_deref(), Some("job-2"));
        assert!(q.start(&second).await.is_none(), "handed over twice");
        assert!(q.claim_next(&second).is_none());
    }
}
