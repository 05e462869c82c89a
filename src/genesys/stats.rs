//! Counters of what a run asked of the API, reported in the manifest and the run summary.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct ApiStats {
    pub requests: AtomicU64,
    pub token_requests: AtomicU64,
    pub retries: AtomicU64,
    pub rate_limited: AtomicU64,
    pub server_errors: AtomicU64,
    pub unauthorized: AtomicU64,
    pub downloads: AtomicU64,
}

impl ApiStats {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A plain copy for reports.
    pub fn snapshot(&self) -> ApiStatsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ApiStatsSnapshot {
            requests: get(&self.requests),
            token_requests: get(&self.token_requests),
            retries: get(&self.retries),
            rate_limited: get(&self.rate_limited),
            server_errors: get(&self.server_errors),
            unauthorized: get(&self.unauthorized),
            downloads: get(&self.downloads),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ApiStatsSnapshot {
    /// API requests sent (each retry counts), not counting token requests.
    pub requests: u64,
    pub token_requests: u64,
    pub retries: u64,
    /// 429 answers.
    pub rate_limited: u64,
    /// 5xx answers, timeouts and dropped connections.
    pub server_errors: u64,
    /// 401 answers (a token the API no longer accepted).
    pub unauthorized: u64,
    /// Downloads from pre-signed URLs (not API requests: they use no token and no budget).
    #[serde(default)]
    pub downloads: u64,
}
