//! The simulator's settings.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::access::Role;

/// Changes every conversation record as it is served (after rendering, before paging), e.g. to
/// fill every field of the SDK's models or to add fields a newer API version would send.
#[derive(Clone)]
pub struct RecordHook(pub Arc<dyn Fn(&mut serde_json::Value) + Send + Sync>);

impl RecordHook {
    pub fn new(f: impl Fn(&mut serde_json::Value) + Send + Sync + 'static) -> Self {
        RecordHook(Arc::new(f))
    }

    pub fn apply(&self, record: &mut serde_json::Value) {
        (self.0)(record)
    }
}

impl fmt::Debug for RecordHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecordHook")
    }
}

/// An injected transient fault (see [`SimConfig::fault_kinds`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    Unavailable503,
    /// 429 with `Retry-After: 1`.
    RateLimited429,
    Timeout504,
    InternalError500,
    /// Headers go out, then the body breaks off: the client sees a dropped connection.
    DroppedConnection,
    /// A good answer, after [`SimConfig::slow_response`].
    Slow,
    /// A 200 whose JSON body stops half-way (a proxy cut it short).
    TruncatedBody,
    /// A 200 whose body is not JSON at all (an HTML error page from a gateway).
    MalformedBody,
}

/// How the simulated org behaves. Every field has a realistic default; tests shorten the
/// token lifetime, pin "now" and turn on duplicates or faults as needed.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Seeds all generated data; the same seed gives the same org.
    pub seed: u64,
    /// Conversations started per UTC day.
    pub conversations_per_day: u32,
    /// The only OAuth client id the login service knows.
    pub client_id: String,
    /// The client's secret, shared with the server so tests can rotate it while it runs.
    pub client_secret: SecretHandle,
    /// Lifetime of issued access tokens (`expires_in`).
    pub token_lifetime: Duration,
    /// Jobs only see conversations that started up to here (the analytics lake lags).
    pub data_availability: DateTime<Utc>,
    /// Status polls answered QUEUED then PENDING before a job is FULFILLED.
    pub job_polls_before_fulfilled: u32,
    /// When set, a job is FULFILLED this long after its submission however often it is polled
    /// (as the platform's jobs are: by time, not by polls), and `job_polls_before_fulfilled`
    /// is not used. WFM's bulk adherence jobs are `Processing` for as long; without it they
    /// are `Complete` from the first poll.
    pub job_processing_time: Option<Duration>,
    /// Largest `paging.pageSize` the sync query accepts.
    pub max_query_page_size: u32,
    /// Largest `pageSize` job results accept.
    pub max_job_page_size: u32,
    /// Fraction of sync-query pages after the first that also repeat the previous page's last
    /// conversation at their start, as live data shifting between calls does.
    pub duplicate_rate: f64,
    /// Fraction of `/api/v2` requests answered with an injected transient fault, of the
    /// [`SimConfig::fault_kinds`] in turn.
    pub fault_rate: f64,
    /// The faults injected, in turn (default: 503, 429, 504).
    pub fault_kinds: Vec<FaultKind>,
    /// How long a [`FaultKind::Slow`] answer takes.
    pub slow_response: Duration,
    /// Enforce this many `/api/v2` requests per client per window (429 with `Retry-After`
    /// beyond); `None` reports a 300-per-minute limit in the headers without enforcing it.
    pub rate_limit_per_minute: Option<u32>,
    /// The enforced limit's window (a minute; tests may shorten it).
    pub rate_limit_window: Duration,
    /// Roles paired with the client, with their divisions.
    pub roles: Vec<Role>,
    /// A rotation ([`SecretHandle::set`]) also revokes every token issued before it.
    pub revoke_tokens_on_rotation: bool,
    /// Applied to every conversation record served by the query and job results.
    pub record_hook: Option<RecordHook>,
    /// The sync query refuses to page past this many results (the platform: 100,000).
    pub query_result_cap: u64,
    /// The first this-many jobs submitted expire instead of being fulfilled (their results are
    /// gone), as jobs left too long do.
    pub expire_first_jobs: u64,
    /// The next this-many jobs (after the expiring ones) end FAILED with an error message.
    pub fail_first_jobs: u64,
    /// The first job expires after serving this many result pages: its results vanish while
    /// a loader is paging them (a 404 on the next page).
    pub expire_first_job_after_pages: Option<u64>,
    /// The simulated present; `None` follows the real clock. Conversations starting after it
    /// do not exist yet, and those still running have no `conversationEnd`.
    pub now: Option<DateTime<Utc>>,
    /// Page-number dimension listings refuse `pageNumber × pageSize` beyond this (the
    /// platform: 10,000). Tests set it small to make a loader split users by state and queues
    /// or wrap-up codes by division.
    pub listing_result_cap: u64,
    /// The aggregate query refuses to answer more buckets (interval ÷ granularity) than this.
    pub aggregate_max_buckets: u64,
    /// The aggregate query refuses intervals longer than this many days.
    pub aggregate_max_interval_days: u64,
    /// WFM schedule searches covering at most this many agents answer inline.
    pub wfm_inline_max_agents: usize,
    /// Searches covering more agents than this answer `Processing` (the result would only come
    /// as a notification); those in between answer with a download URL.
    pub wfm_processing_above_agents: usize,
    /// How long a WFM download URL works.
    pub wfm_download_ttl: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            conversations_per_day: 120,
            client_id: "sim-client".to_string(),
            client_secret: SecretHandle::new("sim-secret"),
            token_lifetime: Duration::from_secs(24 * 3600),
            data_availability: availability_lagging(Utc::now(), 36),
            job_polls_before_fulfilled: 2,
            job_processing_time: None,
            max_query_page_size: 100,
            max_job_page_size: 1000,
            duplicate_rate: 0.0,
            fault_rate: 0.0,
            fault_kinds: vec![
                FaultKind::Unavailable503,
                FaultKind::RateLimited429,
                FaultKind::Timeout504,
            ],
            slow_response: Duration::from_secs(3),
            rate_limit_per_minute: None,
            rate_limit_window: Duration::from_secs(60),
            roles: vec![Role::least_privilege_loader()],
            revoke_tokens_on_rotation: false,
            record_hook: None,
            query_result_cap: 100_000,
            expire_first_jobs: 0,
            fail_first_jobs: 0,
            expire_first_job_after_pages: None,
            now: None,
            listing_result_cap: 10_000,
            aggregate_max_buckets: 2_000,
            aggregate_max_interval_days: 31,
            wfm_inline_max_agents: 6,
            wfm_processing_above_agents: 10,
            wfm_download_ttl: Duration::from_secs(300),
        }
    }
}

impl SimConfig {
    /// The same config with these roles paired with the client.
    pub fn with_roles(mut self, roles: Vec<Role>) -> Self {
        self.roles = roles;
        self
    }
}

/// `now` minus `lag_hours`, truncated to the hour: where the analytics lake's complete data
/// ends when it lags real time by that much.
pub fn availability_lagging(now: DateTime<Utc>, lag_hours: u32) -> DateTime<Utc> {
    let lagged = now.timestamp() - i64::from(lag_hours) * 3600;
    DateTime::from_timestamp(lagged - lagged.rem_euclid(3600), 0).unwrap_or(now)
}

/// A client secret that can be changed while the server runs (secret rotation). Clones share
/// the same value.
#[derive(Clone)]
pub struct SecretHandle {
    secret: Arc<RwLock<String>>,
    rotations: Arc<AtomicU64>,
}

impl SecretHandle {
    pub fn new(secret: &str) -> Self {
        Self {
            secret: Arc::new(RwLock::new(secret.to_string())),
            rotations: Arc::default(),
        }
    }

    /// Replaces the secret; the old one stops working for new token requests at once.
    pub fn set(&self, secret: &str) {
        *self.secret.write().unwrap_or_else(PoisonError::into_inner) = secret.to_string();
        self.rotations.fetch_add(1, Ordering::SeqCst);
    }

    pub fn get(&self) -> String {
        self.secret
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many times the secret was rotated.
    pub fn rotations(&self) -> u64 {
        self.rotations.load(Ordering::SeqCst)
    }
}

impl fmt::Debug for SecretHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHandle(<redacted>)")
    }
}
