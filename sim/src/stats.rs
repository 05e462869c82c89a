//! Request counters, so tests and benchmarks can assert how the loader used the API.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

/// Counters of what the simulator served. Shared with the server; read at any time.
#[derive(Debug, Default)]
pub struct Stats {
    requests: AtomicU64,
    token_requests: AtomicU64,
    api_requests: AtomicU64,
    faults_injected: AtomicU64,
    query_pages: AtomicU64,
    jobs_submitted: AtomicU64,
    job_result_pages: AtomicU64,
    rate_limited: AtomicU64,
    forbidden: AtomicU64,
    unauthorized: AtomicU64,
    tokens_issued: AtomicU64,
    by_path: Mutex<BTreeMap<String, u64>>,
    wfm_answers: Mutex<BTreeMap<String, u64>>,
}

impl Stats {
    /// WFM answers served, by shape (`inline`, `download`, `processing`) and adherence jobs
    /// (`adherence-job`).
    pub fn wfm_answers(&self) -> BTreeMap<String, u64> {
        self.wfm_answers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Counts one WFM answer of `kind`; returns how many of that kind have been served.
    pub(crate) fn record_wfm_answer(&self, kind: &str) -> u64 {
        let mut answers = self
            .wfm_answers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let n = answers.entry(kind.to_string()).or_default();
        *n += 1;
        *n
    }

    /// Every HTTP request received.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Requests to `POST /oauth/token`, successful or not.
    pub fn token_requests(&self) -> u64 {
        self.token_requests.load(Ordering::Relaxed)
    }

    /// Requests under `/api/v2`, including rejected and faulted ones.
    pub fn api_requests(&self) -> u64 {
        self.api_requests.load(Ordering::Relaxed)
    }

    /// Requests answered with an injected fault (`SimConfig::fault_rate`).
    pub fn faults_injected(&self) -> u64 {
        self.faults_injected.load(Ordering::Relaxed)
    }

    /// Sync-query pages served successfully.
    pub fn query_pages(&self) -> u64 {
        self.query_pages.load(Ordering::Relaxed)
    }

    /// Jobs accepted.
    pub fn jobs_submitted(&self) -> u64 {
        self.jobs_submitted.load(Ordering::Relaxed)
    }

    /// Job result pages served successfully.
    pub fn job_result_pages(&self) -> u64 {
        self.job_result_pages.load(Ordering::Relaxed)
    }

    /// 429s the enforced rate limit answered (injected 429s count as faults instead).
    pub fn rate_limited(&self) -> u64 {
        self.rate_limited.load(Ordering::Relaxed)
    }

    /// 403s for a missing permission.
    pub fn forbidden(&self) -> u64 {
        self.forbidden.load(Ordering::Relaxed)
    }

    /// 401s for a missing, unknown, expired or revoked token.
    pub fn unauthorized(&self) -> u64 {
        self.unauthorized.load(Ordering::Relaxed)
    }

    /// Access tokens issued.
    pub fn tokens_issued(&self) -> u64 {
        self.tokens_issued.load(Ordering::Relaxed)
    }

    pub(crate) fn record_rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record_forbidden(&self) {
        self.forbidden.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record_unauthorized(&self) {
        self.unauthorized.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record_token_issued(&self) {
        self.tokens_issued.fetch_add(1, Ordering::Relaxed);
    }

    /// Requests per `"METHOD /route/template"` (e.g.
    /// `"GET /api/v2/analytics/conversations/details/jobs/{jobId}"`); requests matching no
    /// route are counted under `"METHOD *"`.
    pub fn by_path(&self) -> BTreeMap<String, u64> {
        self.by_path
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn record_request(&self, route: String, api: bool, token: bool) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if api {
            self.api_requests.fetch_add(1, Ordering::Relaxed);
        }
        if token {
            self.token_requests.fetch_add(1, Ordering::Relaxed);
        }
        *self
            .by_path
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(route)
            .or_default() += 1;
    }

    /// Counts an injected fault and returns how many came before it (which picks its kind).
    pub(crate) fn record_fault(&self) -> u64 {
        self.faults_injected.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn record_query_page(&self) {
        self.query_pages.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record_job_submitted(&self) {
        self.jobs_submitted.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record_job_result_page(&self) {
        self.job_result_pages.fetch_add(1, Ordering::Relaxed);
    }
}
