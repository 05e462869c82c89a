//! genesys-loader: Genesys Cloud history → partitioned Parquet on object storage → Snowflake.
//!
//! A tour, in the order data flows:
//! - [`datasets`] declares every dataset in one place: its tables, permissions, endpoints, how a
//!   range becomes chunks ([`plan`]), how a chunk is fetched and how a served item becomes rows.
//! - [`genesys`] talks to the API: one shared token ([`genesys::auth`]), bounded retries
//!   ([`genesys::retry`]), the read-only allowlist ([`genesys::allowlist`]), the reusable pagers
//!   ([`genesys::paging`], [`genesys::jobs`]).
//! - [`decode`] turns records into Arrow batches for the tables declared in `schemas/`
//!   ([`schema`]); unknown fields are kept in `extra_fields`, never dropped.
//! - [`sink`] writes date-partitioned Parquet through `object_store` (local folder or S3).
//! - [`snowflake`] renders the DDL, the run manifest and the run's idempotent load script.
//! - [`pipeline`] runs it all; the manifest is written last, as the commit.
//! - [`pipeline::fanout`] splits a run into chunks for Airflow and merges them back into one.
//! - [`progress`] counts what a run did, for the status line and the summary.
//! - [`gc`] lists (and removes) what no manifest names: stray data files, old raw pages, idle run state.
//! - [`preflight`] tells what the OAuth client can reach against what the datasets need.
//! - [`reconcile`] proves no detail rows went missing, against the platform's aggregates.

pub mod cli;
pub mod config;
pub mod datasets;
pub mod decode;
pub mod error;
pub mod gc;
pub mod genesys;
pub mod json;
pub mod pipeline;
pub mod plan;
pub mod preflight;
pub mod progress;
pub mod reconcile;
pub mod reference;
pub mod schema;
pub mod sink;
pub mod snowflake;
pub mod state;

pub use error::{Error, Result};
