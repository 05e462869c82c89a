//! A simulated Genesys Cloud org: a real HTTP server on loopback that serves the OAuth
//! client-credentials grant, the analytics conversation-detail endpoints (sync query and
//! async jobs), the conversation aggregate query, quality evaluations and forms, recording
//! metadata and the dimension listings (users, queues,
//! wrap-up codes, skills, languages, groups, teams, divisions) the way the platform does, over
//! data generated deterministically from a seed.
//!
//! It exists so the batch loader's integration tests, demo and benchmarks run against
//! realistic behaviour (start-of-day interval matching, overlap matching for jobs, lagging
//! data availability, pagination caps, duplicated rows across pages, token expiry and secret
//! rotation, transient faults) without a real org.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let sim = genesys_sim::Sim::start(genesys_sim::SimConfig::default()).await?;
//! println!("token endpoint: {}/oauth/token", sim.base_url());
//! # Ok(()) }
//! ```
//!
//! [`Org`] gives the same data without a server, for comparing the loader's output:
//! conversations ([`Org::conversations_started_in`]), dimension entities ([`Org::dimension`])
//! aggregates ([`Org::aggregate`]), evaluations ([`Org::evaluations_started_in`]), evaluation
//! forms ([`Org::evaluation_forms`]), recording metadata ([`Org::recordings_started_in`]) and
//! workforce management ([`Org::wfm_units`], [`Org::wfm_schedules`], [`Org::wfm_adherence`]).
//!
//! A tour: `data.rs` generates conversations and `dimensions.rs` the entities they point at;
//! `org.rs` caches generated days; `server.rs` holds the router and the `/api/v2` gateway;
//! `query.rs` and `jobs.rs` serve conversation details, `aggregates.rs` the aggregate query
//! `listings.rs` the dimension listings, `quality.rs` forms and evaluations, `recordings.rs`
//! recording metadata, `wfm.rs` workforce management; `access.rs` decides permissions and
//! divisions.

mod access;
mod aggregates;
mod auth;
mod config;
mod data;
mod dimensions;
mod downloads;
mod error;
mod jobs;
mod listings;
mod model;
mod org;
mod quality;
mod query;
mod recordings;
mod rng;
mod server;
mod stats;
mod wfm;

#[cfg(test)]
mod http_tests;

pub use access::Role;
pub use config::{FaultKind, RecordHook, SecretHandle, SimConfig, availability_lagging};
pub use data::DIVISIONS;
pub use org::Org;
pub use server::Sim;
pub use stats::Stats;
