//! The Genesys Cloud Platform API: hosts, authentication, the HTTP client and the
//! conversation-detail endpoints.

pub mod auth;
pub mod client;
pub mod conversations;
pub mod listing;
pub mod regions;
pub mod stats;

pub use auth::{Credentials, SecretSource, TokenProvider};
pub use client::{ApiClient, RetryPolicy};
pub use stats::ApiStats;
