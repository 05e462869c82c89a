//! Client-side pacing under the org's request limit, shared by every task of a run.
//!
//! Three signals, in order of authority:
//! - our own budget: a token bucket refilled at `--max-requests-per-minute` (default 240, below
//!   the platform's 300 per client so other tools sharing the client keep some room), with a
//!   small burst so short runs are not slowed;
//! - the platform's `inin-ratelimit-allowed/count/reset` headers: when few requests remain in
//!   the current window, hold every task until it resets, rather than run into 429s;
//! - a 429's `Retry-After`: every task waits, not just the one that was refused, so concurrent
//!   tasks do not retry into the same wall in lock-step.

use std::time::Duration;

use tokio::time::Instant;

use reqwest::header::HeaderMap;
use tokio::sync::Mutex;

/// Pacing settings.
#[derive(Debug, Clone)]
pub struct RateLimitPolicy {
    /// Requests per minute we allow ourselves (default 240).
    pub max_per_minute: u32,
    /// Requests that may go out back to back before pacing starts (default 10).
    pub burst: u32,
    /// Stop sending when the server's window has this many requests or fewer left (default 3).
    pub server_margin: u64,
}

impl Default for RateLimitPolicy {
    fn default() -> Self {
        RateLimitPolicy {
            max_per_minute: 240,
            burst: 10,
            server_margin: 3,
        }
    }
}

#[derive(Debug)]
struct State {
    /// Tokens in the bucket (fractional, refilled continuously).
    tokens: f64,
    refilled_at: Instant,
    /// No request before this instant (server window exhausted, or a 429's Retry-After).
    hold_until: Option<Instant>,
}

#[derive(Debug)]
pub struct RateLimiter {
    policy: RateLimitPolicy,
    per_second: f64,
    state: Mutex<State>,
}

impl RateLimiter {
    pub fn new(policy: RateLimitPolicy) -> Self {
        let per_second = f64::from(policy.max_per_minute.max(1)) / 60.0;
        let burst = f64::from(policy.burst.max(1));
        RateLimiter {
            policy,
            per_second,
            state: Mutex::new(State {
                tokens: burst,
                refilled_at: Instant::now(),
                hold_until: None,
            }),
        }
    }

    /// Waits until a request may be sent. Reserving under the lock and sleeping outside it
    /// keeps callers in arrival order without holding the lock while asleep.
    pub async fn acquire(&self) {
        let wait = {
            let mut s = self.state.lock().await;
            let now = Instant::now();
            let burst = f64::from(self.policy.burst.max(1));
            s.tokens = (s.tokens
                + now.duration_since(s.refilled_at).as_secs_f64() * self.per_second)
                .min(burst);
            s.refilled_at = now;
            let mut wait = Duration::ZERO;
            if let Some(h) = s.hold_until {
                if h > now {
                    wait = h - now;
                } else {
                    s.hold_until = None;
                }
            }
            // Take a token now; a negative balance is the queue of callers ahead of us.
            s.tokens -= 1.0;
            if s.tokens < 0.0 {
                wait = wait.max(Duration::from_secs_f64(-s.tokens / self.per_second));
            }
            wait
        };
        if !wait.is_zero() {
            tracing::trace!(wait_ms = wait.as_millis() as u64, "pacing");
            tokio::time::sleep(wait).await;
        }
    }

    /// Reads the platform's rate-limit headers from a response.
    pub async fn observe(&self, headers: &HeaderMap) {
        let num = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<f64>().ok();
        let (Some(allowed), Some(count), Some(reset)) = (
            num("inin-ratelimit-allowed"),
            num("inin-ratelimit-count"),
            num("inin-ratelimit-reset"),
        ) else {
            return;
        };
        let remaining = (allowed - count).max(0.0) as u64;
        if remaining <= self.policy.server_margin {
            let until = Instant::now() + Duration::from_secs_f64(reset.clamp(0.0, 120.0));
            tracing::debug!(
                remaining,
                reset_secs = reset,
                "server window nearly used up; holding requests until it resets"
            );
            self.hold(until).await;
        }
    }

    /// Holds every caller until `wait` has passed (a 429's `Retry-After`).
    pub async fn back_off(&self, wait: Duration) {
        self.hold(Instant::now() + wait).await;
    }

    async fn hold(&self, until: Instant) {
        let mut s = self.state.lock().await;
        if s.hold_until.is_none_or(|h| h < until) {
            s.hold_until = Some(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn paces_after_the_burst() {
        let l = RateLimiter::new(RateLimitPolicy {
            max_per_minute: 60,
            burst: 2,
            server_margin: 0,
        });
        let t = tokio::time::Instant::now();
        for _ in 0..4 {
            l.acquire().await;
        }
        // Two immediately, then one per second.
        let elapsed = t.elapsed();
        assert!(
            elapsed >= Duration::from_millis(1990) && elapsed < Duration::from_millis(2100),
            "{elapsed:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_nearly_used_window_holds_until_reset() {
        let l = RateLimiter::new(RateLimitPolicy {
            max_per_minute: 6000,
            burst: 100,
            server_margin: 3,
        });
        let mut h = HeaderMap::new();
        h.insert("inin-ratelimit-allowed", "300".parse().unwrap());
        h.insert("inin-ratelimit-count", "298".parse().unwrap());
        h.insert("inin-ratelimit-reset", "7".parse().unwrap());
        l.observe(&h).await;
        let t = tokio::time::Instant::now();
        l.acquire().await;
        assert!(t.elapsed() >= Duration::from_secs(7));
        // Plenty left: no hold.
        h.insert("inin-ratelimit-count", "10".parse().unwrap());
        l.observe(&h).await;
        let t = tokio::time::Instant::now();
        l.acquire().await;
        assert!(t.elapsed() < Duration::from_millis(50));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_holds_everyone() {
        let l = std::sync::Arc::new(RateLimiter::new(RateLimitPolicy {
            max_per_minute: 6000,
            burst: 100,
            server_margin: 0,
        }));
        l.back_off(Duration::from_secs(5)).await;
        let t = tokio::time::Instant::now();
        let a = tokio::spawn({
            let l = l.clone();
            async move { l.acquire().await }
        });
        l.acquire().await;
        a.await.unwrap();
        assert!(t.elapsed() >= Duration::from_secs(5));
    }
}
