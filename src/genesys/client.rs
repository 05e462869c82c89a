//! The HTTP client every API call goes through: bearer token, bounded retries, and a
//! read-only allowlist.
//!
//! Retry rules follow the platform's documented semantics: a 429 waits for `Retry-After`
//! (plus jitter, so concurrent tasks do not retry in lock-step); 502/503/504, timeouts and
//! dropped connections back off exponentially with full jitter; a 500 is retried only a couple
//! of times; 400/403/404 are never retried blindly; a 401 drops the token and retries once with
//! a new one. Attempts and total retry time are bounded.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;

use super::auth::{TokenProvider, without_url};
use super::rate_limit::RateLimiter;
use super::stats::ApiStats;
use crate::error::{Error, Result};

/// How hard to try before giving up on a request.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts per request, the first included (default 6).
    pub max_attempts: u32,
    /// First backoff step; doubles per attempt up to `max_backoff` (default 500 ms).
    pub base_backoff: Duration,
    /// Largest single wait (default 30 s).
    pub max_backoff: Duration,
    /// Give up once this much time has gone into one request's retries (default 5 min).
    pub max_elapsed: Duration,
    /// Attempts for an HTTP 500, which is usually not transient (default 3).
    pub max_attempts_on_500: u32,
    /// Per-attempt timeout (default 120 s: analytics queries can be slow).
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_elapsed: Duration::from_secs(300),
            max_attempts_on_500: 3,
            request_timeout: Duration::from_secs(120),
        }
    }
}

/// Full-jitter exponential backoff for the given attempt (1-based).
pub(crate) fn backoff_delay(policy: &RetryPolicy, attempt: u32) -> Duration {
    let exp = policy
        .base_backoff
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let cap = exp.min(policy.max_backoff);
    cap.mul_f64(fastrand::f64()).max(Duration::from_millis(10))
}

/// `Retry-After` in seconds, with up to a second of jitter added.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs: f64 = headers
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(
        Duration::from_secs_f64(secs.clamp(0.0, 600.0))
            + Duration::from_millis(fastrand::u64(0..1000)),
    )
}

/// Only reads leave the process: any GET, and the POSTs that run analytics queries and jobs.
/// Everything else (PUT, PATCH, DELETE, other POSTs) is refused before it is sent.
pub fn is_read_only(method: &Method, path: &str) -> bool {
    let path = path.split('?').next().unwrap_or(path);
    if !path.starts_with("/api/v2/") || path.contains("..") {
        return false;
    }
    match *method {
        Method::GET | Method::HEAD => true,
        Method::POST => {
            path.starts_with("/api/v2/analytics/")
                && (path.ends_with("/query")
                    || path.ends_with("/details/jobs")
                    || path.ends_with("/aggregates/jobs"))
        }
        _ => false,
    }
}

/// A successful response.
#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub body: Bytes,
}

/// The API client shared by all tasks of a run.
pub struct ApiClient {
    http: reqwest::Client,
    api_url: String,
    tokens: TokenProvider,
    retry: RetryPolicy,
    limiter: RateLimiter,
    stats: Arc<ApiStats>,
}

impl ApiClient {
    pub fn new(
        http: reqwest::Client,
        api_url: &str,
        tokens: TokenProvider,
        retry: RetryPolicy,
        limiter: RateLimiter,
        stats: Arc<ApiStats>,
    ) -> Self {
        ApiClient {
            http,
            api_url: api_url.trim_end_matches('/').to_string(),
            tokens,
            retry,
            limiter,
            stats,
        }
    }

    /// Builds the HTTP client used for both the login and the API host.
    pub fn http_client(retry: &RetryPolicy) -> Result<reqwest::Client> {
        reqwest::Client::builder()
            .user_agent(concat!("genesys-loader/", env!("CARGO_PKG_VERSION")))
            .timeout(retry.request_timeout)
            .connect_timeout(Duration::from_secs(20))
            .pool_idle_timeout(Duration::from_secs(50))
            .build()
            .map_err(|e| Error::Input(format!("cannot build the HTTP client: {e}")))
    }

    pub fn stats(&self) -> &Arc<ApiStats> {
        &self.stats
    }

    pub async fn get(&self, path: &str) -> Result<Response> {
        self.send(Method::GET, path, None).await
    }

    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> Result<Response> {
        self.send(Method::POST, path, Some(Bytes::from(body.to_string())))
            .await
    }

    /// Sends a request with retries; see the module docs for the rules.
    pub async fn send(&self, method: Method, path: &str, body: Option<Bytes>) -> Result<Response> {
        if !is_read_only(&method, path) {
            return Err(Error::Api {
                method: method.to_string(),
                path: path.to_string(),
                status: None,
                message: "refused before sending: not a read-only endpoint (this loader never writes to Genesys Cloud)".into(),
            });
        }
        let url = format!("{}{}", self.api_url, path);
        let started = Instant::now();
        let mut attempt = 0u32;
        let mut reauthenticated = false;
        loop {
            attempt += 1;
            let token = self.tokens.token().await?;
            let mut req = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(token.value.expose_secret())
                .header(reqwest::header::ACCEPT, "application/json");
            if let Some(b) = &body {
                req = req
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(b.clone());
            }
            self.limiter.acquire().await;
            ApiStats::bump(&self.stats.requests);
            let outcome = match req.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    self.limiter.observe(&headers).await;
                    match resp.bytes().await {
                        Ok(body) => Ok((status, headers, body)),
                        Err(e) => Err(without_url(&e)),
                    }
                }
                Err(e) => Err(without_url(&e)),
            };
            let (reason, wait, correlation) = match outcome {
                Ok((status, _, body)) if status.is_success() => {
                    return Ok(Response { status, body });
                }
                Ok((status, headers, body)) => {
                    let correlation = header(&headers, "inin-correlation-id");
                    let message = error_message(&body, status);
                    let fail = |message: String| Error::Api {
                        method: method.to_string(),
                        path: path.to_string(),
                        status: Some(status.as_u16()),
                        message,
                    };
                    match status.as_u16() {
                        401 if !reauthenticated => {
                            ApiStats::bump(&self.stats.unauthorized);
                            reauthenticated = true;
                            tracing::warn!(%path, correlation_id = %correlation, "token refused (401); fetching a new one");
                            self.tokens.invalidate(&token).await;
                            attempt -= 1; // a re-authentication is not a failed attempt
                            continue;
                        }
                        403 => {
                            return Err(Error::Permission {
                                method: method.to_string(),
                                path: path.to_string(),
                                message: format!("{message} (correlation id {correlation})"),
                            });
                        }
                        429 => {
                            ApiStats::bump(&self.stats.rate_limited);
                            let wait = retry_after(&headers)
                                .unwrap_or_else(|| backoff_delay(&self.retry, attempt));
                            // Every task waits out the window, not just this one.
                            self.limiter.back_off(wait).await;
                            (format!("HTTP 429: {message}"), wait, correlation)
                        }
                        500 if attempt < self.retry.max_attempts_on_500 => {
                            ApiStats::bump(&self.stats.server_errors);
                            (
                                format!("HTTP 500: {message}"),
                                backoff_delay(&self.retry, attempt),
                                correlation,
                            )
                        }
                        502..=504 => {
                            ApiStats::bump(&self.stats.server_errors);
                            (
                                format!("HTTP {}: {message}", status.as_u16()),
                                backoff_delay(&self.retry, attempt),
                                correlation,
                            )
                        }
                        _ => {
                            return Err(fail(format!(
                                "HTTP {}: {message} (correlation id {correlation})",
                                status.as_u16()
                            )));
                        }
                    }
                }
                Err(transport) => {
                    ApiStats::bump(&self.stats.server_errors);
                    (
                        transport,
                        backoff_delay(&self.retry, attempt),
                        "-".to_string(),
                    )
                }
            };
            if attempt >= self.retry.max_attempts
                || started.elapsed() + wait > self.retry.max_elapsed
            {
                return Err(Error::Api {
                    method: method.to_string(),
                    path: path.to_string(),
                    status: None,
                    message: format!(
                        "gave up after {attempt} attempts in {:.0?}: {reason}",
                        started.elapsed()
                    ),
                });
            }
            ApiStats::bump(&self.stats.retries);
            tracing::warn!(
                %path,
                attempt,
                wait_ms = wait.as_millis() as u64,
                correlation_id = %correlation,
                reason = %reason,
                "request failed; retrying"
            );
            tokio::time::sleep(wait).await;
        }
    }
}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_string()
}

/// The `message` of a platform error body, or the start of whatever came back.
fn error_message(body: &[u8], status: StatusCode) -> String {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        message: Option<String>,
        code: Option<String>,
    }
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(ErrorBody {
            message: Some(m),
            code,
        }) => match code {
            Some(c) => format!("{m} [{c}]"),
            None => m,
        },
        _ => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            if text.is_empty() {
                status.canonical_reason().unwrap_or("no body").to_string()
            } else {
                text.chars().take(300).collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_reads_are_allowed() {
        assert!(is_read_only(&Method::GET, "/api/v2/users?pageSize=1"));
        assert!(is_read_only(
            &Method::POST,
            "/api/v2/analytics/conversations/details/query"
        ));
        assert!(is_read_only(
            &Method::POST,
            "/api/v2/analytics/conversations/details/jobs"
        ));
        assert!(!is_read_only(
            &Method::DELETE,
            "/api/v2/analytics/conversations/details/jobs/1"
        ));
        assert!(!is_read_only(&Method::POST, "/api/v2/users"));
        assert!(!is_read_only(&Method::POST, "/api/v2/recording/jobs"));
        assert!(!is_read_only(&Method::PUT, "/api/v2/routing/queues/1"));
        assert!(!is_read_only(&Method::PATCH, "/api/v2/users/1"));
        assert!(!is_read_only(&Method::GET, "/oauth/clients"));
        assert!(!is_read_only(
            &Method::POST,
            "/api/v2/analytics/../users/query"
        ));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default();
        for attempt in 1..20 {
            assert!(backoff_delay(&p, attempt) <= p.max_backoff);
        }
    }

    #[test]
    fn retry_after_is_honoured_with_jitter() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", "3".parse().unwrap());
        let d = retry_after(&h).unwrap();
        assert!(d >= Duration::from_secs(3) && d < Duration::from_secs(4));
    }

    #[test]
    fn platform_error_bodies_are_summarised() {
        let body = br#"{"message":"Pagination may not exceed 100000 results.","code":"bad.request","status":400}"#;
        assert_eq!(
            error_message(body, StatusCode::BAD_REQUEST),
            "Pagination may not exceed 100000 results. [bad.request]"
        );
    }
}
