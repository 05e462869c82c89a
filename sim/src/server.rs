//! The HTTP server: routes, the `/api/v2` gateway (auth, headers, fault injection, error
//! bodies) and the handle tests hold on to.

use std::borrow::Cow;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde::Serialize;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::auth::{self, RATE_LIMIT_PER_MINUTE, RateWindow, TokenStore};
use crate::config::{FaultKind, SimConfig};
use crate::error::ApiError;
use crate::jobs::{self, JobStore};
use crate::model::{Attributes, Conversation, Id, Ts};
use crate::org::{Key, Matching, Org};
use crate::query::DetailsQuery;
use crate::rng::{Rng, mix, unit};
use crate::stats::Stats;
use crate::{access, aggregates, listings};

const JOBS: &str = "/api/v2/analytics/conversations/details/jobs";

/// Everything the handlers share.
#[derive(Debug)]
pub(crate) struct AppState {
    pub(crate) config: SimConfig,
    pub(crate) org: Org,
    pub(crate) tokens: TokenStore,
    pub(crate) jobs: JobStore,
    pub(crate) stats: Arc<Stats>,
    /// The pre-signed download host's files.
    pub(crate) downloads: crate::downloads::Downloads,
    /// WFM bulk adherence jobs.
    pub(crate) adherence_jobs: crate::wfm::AdherenceJobs,
    /// Numbers requests, for correlation ids and fault decisions.
    sequence: AtomicU64,
    /// The enforced rate limit's current window: (start, requests counted).
    window: Mutex<(Instant, u32)>,
}

/// The permission the conversation-detail endpoints need (any one of them).
pub(crate) const DETAIL_PERMISSIONS: &[&str] = &[
    "analytics:conversationDetail:view",
    "analytics:agentConversationDetail:view",
];

impl AppState {
    pub(crate) fn new(config: SimConfig) -> Self {
        let now = config.now.unwrap_or_else(Utc::now);
        Self {
            org: Org::new(config.seed, config.conversations_per_day, now),
            tokens: TokenStore::new(config.seed),
            jobs: JobStore::new(),
            stats: Arc::default(),
            downloads: Default::default(),
            adherence_jobs: Default::default(),
            sequence: AtomicU64::new(0),
            window: Mutex::new((Instant::now(), 0)),
            config,
        }
    }

    /// The simulated present: pinned by the config, or the real clock.
    pub(crate) fn now(&self) -> Ts {
        Ts::from_datetime(self.config.now.unwrap_or_else(Utc::now))
    }

    fn correlation_id(&self, sequence: u64) -> String {
        let stream = u64::from_be_bytes(*b"sim:corr");
        Id(Rng::new(mix(&[self.config.seed, stream, sequence])).uuid()).to_string()
    }

    /// Whether request number `sequence` gets a fault, and which: the configured kinds in turn.
    fn injected_fault(&self, sequence: u64) -> Option<FaultKind> {
        let rate = self.config.fault_rate;
        let stream = u64::from_be_bytes(*b"sim:flt!");
        let kinds = &self.config.fault_kinds;
        if rate <= 0.0
            || kinds.is_empty()
            || unit(mix(&[self.config.seed, stream, sequence])) >= rate
        {
            return None;
        }
        Some(kinds[(self.stats.record_fault() % kinds.len() as u64) as usize])
    }

    /// Counts a request against the enforced limit: its window, or the seconds to wait.
    fn rate_limit(&self, limit: u32) -> Result<RateWindow, u64> {
        let mut window = self.window.lock().unwrap_or_else(PoisonError::into_inner);
        let length = self.config.rate_limit_window;
        if window.0.elapsed() >= length {
            *window = (Instant::now(), 0);
        }
        let left = length.saturating_sub(window.0.elapsed());
        let reset_secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        if window.1 >= limit {
            return Err(reset_secs.max(1));
        }
        window.1 += 1;
        Ok(RateWindow {
            count: window.1,
            reset_secs,
        })
    }
}

/// A response whose body breaks off after a few bytes: the connection drops mid-answer.
fn dropped_connection() -> Response {
    let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(Bytes::from_static(b"{\"conversations\":[")),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "injected: connection dropped",
        )),
    ];
    let mut response = Response::new(axum::body::Body::from_stream(futures_util::stream::iter(
        chunks,
    )));
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Builds the router serving both the login host's and the API host's routes.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/oauth/token", post(auth::token))
        .route("/api/v2/tokens/me", get(tokens_me))
        .route("/api/v2/authorization/divisions", get(listings::divisions))
        .route("/api/v2/authorization/roles/{roleId}", get(access::role))
        .route("/api/v2/users", get(listings::users))
        .route("/api/v2/users/{userId}", get(user))
        .route("/downloads/{token}", get(crate::downloads::get))
        .route("/api/v2/routing/queues", get(listings::queues))
        .route("/api/v2/routing/wrapupcodes", get(listings::wrap_up_codes))
        .route("/api/v2/routing/skills", get(listings::skills))
        .route("/api/v2/routing/languages", get(listings::languages))
        .route("/api/v2/groups", get(listings::groups))
        .route("/api/v2/teams", get(listings::teams))
        .route("/api/v2/analytics/conversations/details/query", post(query))
        .route(
            "/api/v2/quality/forms/evaluations",
            get(crate::quality::forms),
        )
        .route(
            "/api/v2/quality/forms/evaluations/bulk",
            get(crate::quality::forms_bulk),
        )
        .route(
            "/api/v2/quality/forms/evaluations/{formId}/versions",
            get(crate::quality::form_versions),
        )
        .route(
            "/api/v2/quality/evaluations/search",
            post(crate::quality::search),
        )
        .route(
            "/api/v2/quality/conversations/{conversationId}/evaluations/{evaluationId}",
            get(crate::quality::evaluation),
        )
        .route(
            "/api/v2/conversations/{conversationId}/recordingmetadata",
            get(crate::recordings::metadata_of),
        )
        .route(
            "/api/v2/analytics/conversations/aggregates/query",
            post(aggregates::query),
        )
        .merge(wfm_routes())
        .route(JOBS, post(jobs::submit))
        // Static segment: axum prefers it over the `{jobId}` capture below.
        .route(&format!("{JOBS}/availability"), get(jobs::availability))
        .route(
            &format!("{JOBS}/{{jobId}}"),
            get(jobs::status).delete(jobs::delete),
        )
        .route(&format!("{JOBS}/{{jobId}}/results"), get(jobs::results))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(Arc::clone(&state), gateway))
        .with_state(state)
}

/// Workforce management (`wfm.rs`).
fn wfm_routes() -> Router<Arc<AppState>> {
    use crate::wfm;
    const BU: &str = "/api/v2/workforcemanagement/businessunits";
    Router::new()
        .route(BU, get(wfm::business_units))
        .route(&format!("{BU}/{{buId}}"), get(wfm::business_unit))
        .route(
            &format!("{BU}/{{buId}}/managementunits"),
            get(wfm::management_units),
        )
        .route(
            &format!("{BU}/{{buId}}/activitycodes"),
            get(wfm::activity_codes),
        )
        .route(
            &format!("{BU}/{{buId}}/agentschedules/search"),
            post(wfm::search_business_unit),
        )
        .route(
            "/api/v2/workforcemanagement/managementunits/{muId}/users",
            get(wfm::management_unit_users),
        )
        .route(
            "/api/v2/workforcemanagement/managementunits/{muId}/agentschedules/search",
            post(wfm::search_management_unit),
        )
        .route(
            "/api/v2/workforcemanagement/adherence/historical/bulk",
            post(wfm::adherence_bulk),
        )
        .route(
            "/api/v2/workforcemanagement/adherence/historical/bulk/jobs/{jobId}",
            get(wfm::adherence_job),
        )
}

async fn not_found() -> ApiError {
    ApiError::not_found("The requested resource was not found.")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method.not.allowed",
        "The HTTP method is not allowed for this resource.",
    )
}

/// Runs around every request: counts it, and for `/api/v2` checks the bearer token, adds
/// the correlation and rate-limit headers, injects configured faults, and renders
/// [`ApiError`]s into the platform's error body with the request's correlation id.
async fn gateway(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("*", MatchedPath::as_str)
        .to_string();
    let path = request.uri().path();
    let api = path == "/api/v2" || path.starts_with("/api/v2/");
    let token_route = route == "/oauth/token";
    state
        .stats
        .record_request(format!("{} {route}", request.method()), api, token_route);
    let sequence = state.sequence.fetch_add(1, Ordering::Relaxed);
    let correlation_id = state.correlation_id(sequence);
    if !api {
        let response = next.run(request).await;
        return render_error(response, &correlation_id);
    }

    let revoked_before = state
        .config
        .revoke_tokens_on_rotation
        .then(|| state.config.client_secret.rotations());
    let mut window = state.tokens.authorize(request.headers(), revoked_before);
    let mut allowed = RATE_LIMIT_PER_MINUTE;
    let response = match window {
        None => {
            state.stats.record_unauthorized();
            ApiError::bad_credentials().into_response()
        }
        Some(_) => {
            let limited = state.config.rate_limit_per_minute.map(|limit| {
                allowed = limit;
                state.rate_limit(limit)
            });
            match limited {
                Some(Err(wait)) => {
                    state.stats.record_rate_limited();
                    ApiError::too_many_requests(wait).into_response()
                }
                limited => {
                    if let Some(Ok(w)) = limited {
                        window = Some(w);
                    }
                    match state.injected_fault(sequence) {
                        None => next.run(request).await,
                        Some(FaultKind::Slow) => {
                            tokio::time::sleep(state.config.slow_response).await;
                            next.run(request).await
                        }
                        Some(FaultKind::DroppedConnection) => dropped_connection(),
                        Some(FaultKind::TruncatedBody) => (
                            [(axum::http::header::CONTENT_TYPE, "application/json")],
                            "{\"conversations\":[{\"conversationId\":\"4f1c",
                        )
                            .into_response(),
                        Some(FaultKind::MalformedBody) => (
                            [(axum::http::header::CONTENT_TYPE, "text/html")],
                            "<html><body><h1>502 Bad Gateway</h1></body></html>",
                        )
                            .into_response(),
                        Some(FaultKind::Unavailable503) => ApiError::new(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "service.unavailable",
                            "The service is currently unavailable.",
                        )
                        .into_response(),
                        Some(FaultKind::RateLimited429) => {
                            ApiError::too_many_requests(1).into_response()
                        }
                        Some(FaultKind::Timeout504) => ApiError::new(
                            StatusCode::GATEWAY_TIMEOUT,
                            "request.timeout",
                            "The request timed out.",
                        )
                        .into_response(),
                        Some(FaultKind::InternalError500) => ApiError::new(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            "internal.server.error",
                            "The server encountered an unexpected error.",
                        )
                        .into_response(),
                    }
                }
            }
        }
    };
    let mut response = render_error(response, &correlation_id);
    let window = window.unwrap_or(RateWindow {
        count: 0,
        reset_secs: 60,
    });
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&correlation_id) {
        headers.insert(HeaderName::from_static("inin-correlation-id"), value);
    }
    for (name, value) in [
        ("inin-ratelimit-allowed", u64::from(allowed)),
        ("inin-ratelimit-count", u64::from(window.count)),
        ("inin-ratelimit-reset", window.reset_secs),
    ] {
        headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
    }
    response
}

/// Replaces a bodiless [`ApiError`] response with the full error body.
fn render_error(mut response: Response, context_id: &str) -> Response {
    match response.extensions_mut().remove::<ApiError>() {
        Some(error) => error.into_body_response(context_id),
        None => response,
    }
}

/// `GET /api/v2/users/{userId}`: one user in any state, or 404.
async fn user(
    State(state): State<Arc<AppState>>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    state
        .org
        .dimension("users")
        .into_iter()
        .find(|u| u["id"] == id.as_str())
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("User {id} was not found.")))
}

/// `GET /api/v2/tokens/me`: who the token belongs to and its role–division grants.
async fn tokens_me(State(state): State<Arc<AppState>>) -> Json<serde_json::Value> {
    let reference = state.org.reference();
    let organization = json!({ "id": reference.org_id, "name": "Simulated Org" });
    let role_divisions = access::role_divisions(&state);
    Json(json!({
        "organization": organization,
        "homeOrganization": organization,
        "OAuthClient": {
            "id": state.config.client_id,
            "name": "Sim loader client",
            "authorizedGrantType": "CLIENT-CREDENTIALS",
            "roleDivisions": role_divisions,
            "organization": organization,
        },
    }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct QueryPage {
    #[serde(skip_serializing_if = "Option::is_none")]
    conversations: Option<Vec<serde_json::Value>>,
    total_hits: usize,
}

/// Records as served: rendered, then passed through the config's record hook, if any.
pub(crate) fn served<'a>(
    state: &AppState,
    records: impl Iterator<Item = Cow<'a, Conversation>>,
) -> Vec<serde_json::Value> {
    records
        .map(|r| {
            let mut v = serde_json::to_value(&*r).unwrap_or_default();
            if let Some(hook) = &state.config.record_hook {
                hook.apply(&mut v);
            }
            v
        })
        .collect()
}

/// `POST /api/v2/analytics/conversations/details/query`: one page of the sync query.
async fn query(State(state): State<Arc<AppState>>, body: Bytes) -> Result<Response, ApiError> {
    access::require(&state, DETAIL_PERMISSIONS)?;
    let query = DetailsQuery::parse(&body, state.config.max_query_page_size)?;
    let cap = state.config.query_result_cap;
    if query.page_size.saturating_mul(query.page_number) > cap {
        return Err(ApiError::bad_request(format!(
            "Pagination may not exceed {cap} results."
        )));
    }
    let now = state.now();
    // Conversations outside the client's divisions are left out silently, as on the platform.
    let visible = access::visible_divisions(&state, DETAIL_PERMISSIONS);
    let mut matches = state
        .org
        .select(query.interval, Matching::StartOfDay, (now, now), |c| {
            query.selection.matches(c, now) && c.visible_in(visible.as_ref())
        });
    query.selection.order(&mut matches);
    let total_hits = matches.len();
    let size = query.page_size as usize;
    let offset = (query.page_number as usize - 1) * size;
    let records: Option<Vec<Arc<Conversation>>> = (offset < total_hits).then(|| {
        let mut page: Vec<Key> = matches[offset..(offset + size).min(total_hits)]
            .iter()
            .map(|s| s.key)
            .collect();
        // Live data shifting between calls makes a page repeat the previous page's last row.
        let (from, to) = query.interval;
        let stream = u64::from_be_bytes(*b"sim:dups");
        let roll = mix(&[
            state.config.seed,
            stream,
            from.0 as u64,
            to.0 as u64,
            query.page_number,
        ]);
        if offset > 0 && unit(roll) < state.config.duplicate_rate {
            page.insert(0, matches[offset - 1].key);
        }
        page.into_iter()
            .filter_map(|key| state.org.get(key))
            .collect()
    });
    let conversations = records.as_ref().map(|records| {
        served(
            &state,
            records
                .iter()
                .filter_map(|c| c.render(now, Attributes::Omit)),
        )
    });
    state.stats.record_query_page();
    Ok(Json(QueryPage {
        conversations,
        total_hits,
    })
    .into_response())
}

/// A running simulator. Dropping it (or [`Sim::shutdown`]) stops the server.
#[derive(Debug)]
pub struct Sim {
    addr: SocketAddr,
    config: SimConfig,
    stats: Arc<Stats>,
    state: Arc<AppState>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Sim {
    /// Binds 127.0.0.1 on a free port and serves on the current tokio runtime.
    pub async fn start(config: SimConfig) -> std::io::Result<Sim> {
        Self::start_on(config, 0).await
    }

    /// Like [`Sim::start`] on a chosen port (0 picks a free one).
    pub async fn start_on(config: SimConfig, port: u16) -> std::io::Result<Sim> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(AppState::new(config.clone()));
        let stats = Arc::clone(&state.stats);
        let app = router(Arc::clone(&state));
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                // Either an explicit shutdown or the handle being dropped stops the server.
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                eprintln!("genesys-sim: server error: {e}");
            }
        });
        Ok(Sim {
            addr,
            config,
            stats,
            state,
            shutdown: Some(shutdown),
        })
    }

    /// `http://127.0.0.1:PORT`: both the login host and the API host.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn stats(&self) -> Arc<Stats> {
        Arc::clone(&self.stats)
    }

    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// Publishes `body` on the pre-signed download host for `ttl`; returns its URL, which
    /// carries its own signature and must be fetched without a bearer token.
    pub fn publish_download(&self, body: Vec<u8>, ttl: std::time::Duration) -> String {
        let token = self
            .state
            .downloads
            .publish(self.config.seed, Bytes::from(body), ttl);
        format!(
            "{}/downloads/{token}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature={}",
            self.base_url(),
            &token[..16]
        )
    }

    /// Stops accepting connections; requests in flight finish.
    pub fn shutdown(self) {
        drop(self);
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}
