//! The Genesys Cloud Platform API: hosts, authentication, retries, the HTTP client with its
//! read-only allowlist, and the reusable pagers (listings, cursors, async jobs) datasets use.

pub mod access;
pub mod allowlist;
pub mod auth;
pub mod client;
pub mod jobs;
pub mod paging;
pub mod permissions;
pub mod rate_limit;
pub mod regions;
pub mod retry;
pub mod stats;

pub use auth::{Credentials, SecretSource, TokenProvider};
pub use client::ApiClient;
pub use rate_limit::{RateLimitPolicy, RateLimiter};
pub use retry::RetryPolicy;
pub use stats::ApiStats;

use std::sync::Arc;

use crate::error::Result;

/// Where the API is and how to talk to it.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub api_url: String,
    pub login_url: String,
    pub credentials: Credentials,
    pub retry: RetryPolicy,
    pub rate_limit: RateLimitPolicy,
    /// How long to wait for a rotated secret (see [`TokenProvider::with_rotation_grace`]).
    pub rotation_grace: std::time::Duration,
}

impl ApiConfig {
    /// One client for the whole run: one HTTP connection pool, one token, one rate limiter.
    /// `allowlist` holds the requests the run may send (see [`allowlist`]).
    pub fn connect(
        &self,
        stats: Arc<ApiStats>,
        allowlist: allowlist::Allowlist,
    ) -> Result<Arc<ApiClient>> {
        let http = ApiClient::http_client(&self.retry)?;
        let tokens = TokenProvider::new(
            http.clone(),
            &self.login_url,
            self.credentials.clone(),
            self.retry.clone(),
            stats.clone(),
        )
        .with_rotation_grace(self.rotation_grace);
        Ok(Arc::new(ApiClient::new(
            http,
            &self.api_url,
            tokens,
            self.retry.clone(),
            RateLimiter::new(self.rate_limit.clone()),
            stats,
            allowlist,
        )))
    }
}
