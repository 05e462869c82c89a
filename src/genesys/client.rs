//! The HTTP client every API call goes through: bearer token, bounded retries, and a
//! read-only allowlist ([`super::allowlist`]): only the requests the run's datasets declare.
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

use super::allowlist::Allowlist;
use super::auth::TokenProvider;
use super::rate_limit::RateLimiter;
use super::retry::{RetryPolicy, backoff_delay, retry_after, without_url};
use super::stats::ApiStats;
use crate::error::{Error, Result};

/// Where a request goes.
enum Target<'a> {
    /// A path on the API host, with the bearer token.
    Api(&'a str),
    /// A pre-signed URL, without it; `label` names it in errors instead of the URL.
    Download { url: &'a str, label: &'a str },
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
    allowlist: Allowlist,
}

impl ApiClient {
    pub fn new(
        http: reqwest::Client,
        api_url: &str,
        tokens: TokenProvider,
        retry: RetryPolicy,
        limiter: RateLimiter,
        stats: Arc<ApiStats>,
        allowlist: Allowlist,
    ) -> Self {
        ApiClient {
            http,
            api_url: api_url.trim_end_matches('/').to_string(),
            tokens,
            retry,
            limiter,
            stats,
            allowlist,
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

    /// A `nextUri` as a path on the API host, or `None` when it points anywhere else (the
    /// bearer token is only ever sent to the API host).
    pub fn relative(&self, uri: &str) -> Option<String> {
        let path = match uri.strip_prefix(&self.api_url) {
            Some(rest) => rest,
            None if uri.starts_with('/') => uri,
            None => return None,
        };
        (path.starts_with("/api/v2/") && !path.contains("..")).then(|| path.to_string())
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

    /// Downloads what a pre-signed URL the API handed out points at (a WFM schedule, an
    /// export), under the same retry rules as API requests. The URL is a credential in itself:
    /// it is sent without the bearer token (which must never leave for another host), never
    /// logged, and errors name it only as "the download URL for `what`". It is not an API
    /// request, so it does not draw on the request budget.
    pub async fn download(&self, url: &str, what: &str) -> Result<Response> {
        let parsed = url::Url::parse(url).ok();
        let loopback = parsed
            .as_ref()
            .and_then(|u| u.host())
            .is_some_and(|h| match h {
                url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
                url::Host::Ipv4(ip) => ip.is_loopback(),
                url::Host::Ipv6(ip) => ip.is_loopback(),
            });
        let scheme_ok = match parsed.as_ref().map(|u| u.scheme()) {
            Some("https") => true,
            Some("http") => loopback,
            _ => false,
        };
        let label = format!("(the download URL for {what})");
        if !scheme_ok {
            return Err(Error::Payload {
                path: label,
                message: "not an https URL; not followed".into(),
            });
        }
        self.execute(Method::GET, Target::Download { url, label: &label }, None)
            .await
    }

    /// Sends a request with retries; see the module docs for the rules.
    pub async fn send(&self, method: Method, path: &str, body: Option<Bytes>) -> Result<Response> {
        if !self.allowlist.permits(&method, path) {
            return Err(Error::Api {
                method: method.to_string(),
                path: path.to_string(),
                status: None,
                message: "refused before sending: not a read-only endpoint of the run's datasets (this loader never writes to Genesys Cloud)".into(),
            });
        }
        self.execute(method, Target::Api(path), body).await
    }

    async fn execute(
        &self,
        method: Method,
        target: Target<'_>,
        body: Option<Bytes>,
    ) -> Result<Response> {
        let (url, path, api) = match target {
            Target::Api(path) => (format!("{}{}", self.api_url, path), path, true),
            Target::Download { url, label } => (url.to_string(), label, false),
        };
        let started = Instant::now();
        let mut attempt = 0u32;
        let mut reauthenticated = false;
        loop {
            attempt += 1;
            let mut req = self
                .http
                .request(method.clone(), &url)
                .header(reqwest::header::ACCEPT, "application/json");
            let token = if api {
                let token = self.tokens.token().await?;
                req = req.bearer_auth(token.value.expose_secret());
                Some(token)
            } else {
                None
            };
            if let Some(b) = &body {
                req = req
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(b.clone());
            }
            if api {
                self.limiter.acquire().await;
                ApiStats::bump(&self.stats.requests);
            } else {
                ApiStats::bump(&self.stats.downloads);
            }
            let outcome = match req.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    if api {
                        self.limiter.observe(&headers).await;
                    }
                    match resp.bytes().await {
                        Ok(body) => Ok((status, headers, body)),
                        Err(e) => Err(without_url(&e)),
                    }
                }
                Err(e) => Err(without_url(&e)),
            };
            let (reason, wait, correlation) = match outcome {
                // A body cut short (or garbled) on the way arrives with a 200: it is a transport
                // failure like a dropped connection, and retried as one, never decoded.
                Ok((status, _, body)) if status.is_success() => match complete_json(&body) {
                    Ok(()) => return Ok(Response { status, body }),
                    Err(e) => {
                        ApiStats::bump(&self.stats.server_errors);
                        (
                            format!("the response body is not complete JSON ({e})"),
                            backoff_delay(&self.retry, attempt),
                            "-".to_string(),
                        )
                    }
                },
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
                        401 if !reauthenticated && let Some(token) = &token => {
                            ApiStats::bump(&self.stats.unauthorized);
                            reauthenticated = true;
                            tracing::warn!(%path, correlation_id = %correlation, "token refused (401); fetching a new one");
                            self.tokens.invalidate(token).await;
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

/// Whether a body is one whole JSON document (an empty body, as some endpoints answer, too).
fn complete_json(body: &[u8]) -> std::result::Result<(), serde_json::Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    serde_json::from_slice::<serde::de::IgnoredAny>(body).map(|_| ())
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
    fn truncated_bodies_are_not_complete_json() {
        assert!(complete_json(br#"{"conversations":[{"a":1}]}"#).is_ok());
        assert!(complete_json(b"").is_ok());
        assert!(complete_json(br#"{"conversations":[{"a":1}"#).is_err());
        assert!(complete_json(b"<html>gateway</html>").is_err());
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
