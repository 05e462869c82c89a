//! genesys-loader: Genesys Cloud history → partitioned Parquet on object storage → Snowflake.
//!
//! A tour, in the order data flows:
//! - [`plan`] turns the date range into chunks (UTC days), each fetched with an async
//!   analytics job (history) or the synchronous query (the tail after the data availability date).
//! - [`genesys`] talks to the API: one shared token ([`genesys::auth`]), bounded retries and a
//!   read-only allowlist ([`genesys::client`]), the conversation-detail pagers
//!   ([`genesys::conversations`]).
//! - [`decode`] turns conversation records into Arrow batches for the tables declared in
//!   `schemas/` ([`schema`]); unknown fields are kept in `extra_fields`, never dropped.
//! - [`sink`] writes date-partitioned Parquet through `object_store` (local folder or S3).
//! - [`snowflake`] renders the DDL, the run manifest and the run's idempotent load script.
//! - [`pipeline`] runs it all; the manifest is written last, as the commit.
//! - [`preflight`] tells what the OAuth client can reach against what the datasets need.

pub mod cli;
pub mod decode;
pub mod error;
pub mod genesys;
pub mod pipeline;
pub mod plan;
pub mod preflight;
pub mod schema;
pub mod sink;
pub mod snowflake;
pub mod state;

pub use error::{Error, Result};
