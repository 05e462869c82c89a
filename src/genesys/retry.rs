//! Retry rules shared by the token provider and the API client: one policy, one backoff.
//!
//! Kept apart from both so neither imports the other for them (the way object_store keeps
//! `client/retry.rs`): a 429 waits for `Retry-After` plus jitter, transient failures back off
//! exponentially with full jitter, and attempts and total time are bounded.

use std::time::Duration;

use reqwest::header::HeaderMap;

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
pub fn backoff_delay(policy: &RetryPolicy, attempt: u32) -> Duration {
    let exp = policy
        .base_backoff
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let cap = exp.min(policy.max_backoff);
    cap.mul_f64(fastrand::f64()).max(Duration::from_millis(10))
}

/// `Retry-After` in seconds, with up to a second of jitter added.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
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

/// A transport error's text without the URL (which is harmless here, but kept short).
pub fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "connection dropped while reading the response"
    } else {
        "request failed"
    };
    let mut msg = kind.to_string();
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
