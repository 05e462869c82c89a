//! `conversations`: conversation detail records, the core fact tables.
//!
//! Each UTC day of the range is a chunk, fetched with an async details job when the day ends
//! before the jobs' data availability date (the bulk path, which also carries participant
//! `attributes`) and with the synchronous query after it. A chunk keeps exactly the
//! conversations that started in it, once each, in the partition of their start's UTC date.

mod details;
pub mod scan;

pub use details::{DetailsSettings, QUERY_RESULT_CAP, interval};
pub(crate) use details::{JOBS_PATH, QUERY_PATH};

use chrono::{DateTime, Utc};
use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::{Value, json};

use super::{Admitted, Chunk, Dataset, Group, LoadMode, RunContext, Seen, Spec};
use crate::decode::{ConversationKey, conversation_key_json};
use crate::error::Result;
use crate::genesys::allowlist::Endpoint;
use crate::genesys::paging::PageSender;
use crate::json::Json;
use crate::plan::{Range, day_chunks};
use details::ConversationApi;

/// Every request reading conversation details makes (also made by the datasets that find
/// their conversations in the details).
pub(crate) const DETAIL_ENDPOINTS: [Endpoint; 5] = [
    Endpoint::post(QUERY_PATH),
    Endpoint::post(JOBS_PATH),
    Endpoint::get("/api/v2/analytics/conversations/details/jobs/availability"),
    Endpoint::get("/api/v2/analytics/conversations/details/jobs/{jobId}"),
    Endpoint::get("/api/v2/analytics/conversations/details/jobs/{jobId}/results"),
];

/// The permissions reading conversation details needs (any one).
pub(crate) const DETAIL_PERMISSIONS: &[&str] = &["analytics:conversationDetail:view"];

pub struct Conversations;

pub static CONVERSATIONS: Conversations = Conversations;

static SPEC: Spec = Spec {
    name: "conversations",
    group: Group::Facts,
    summary: "conversation detail records, by UTC day of their start (15 tables)",
    schemas: crate::schema_files!("conversations":
        "conversations",
        "participants",
        "sessions",
        "segments",
        "session_metrics",
        "flows",
        "flow_outcomes",
        "media_endpoint_stats",
        "agent_groups",
        "proposed_agents",
        "segment_properties",
        "scored_agents",
        "evaluations",
        "surveys",
        "resolutions",
    ),
    permissions: DETAIL_PERMISSIONS,
    division_scoped: true,
    endpoints: &DETAIL_ENDPOINTS,
    load: LoadMode::ReplacePartitions,
    headline: true,
    items_field: "conversations",
    includes: &[],
    routes: &[],
};

impl Dataset for Conversations {
    fn spec(&self) -> &Spec {
        &SPEC
    }

    fn plan<'a>(&'a self, run: &'a RunContext, range: Range) -> BoxFuture<'a, Result<Vec<Chunk>>> {
        async move {
            let api = ConversationApi::new(&run.api, &run.options.details, &run.divisions);
            let availability = api.availability().await?;
            run.facts
                .lock()
                .expect("facts")
                .insert("data_availability", crate::plan::fmt(availability));
            tracing::info!(
                data_availability = %crate::plan::fmt(availability),
                "conversation details: jobs up to the availability date, the query after"
            );
            let chunks = day_chunks(range, SPEC.name, |_, end| {
                if end <= availability { "job" } else { "query" }
            });
            // The jobs the run will submit, in order, so each is submitted while the one
            // before it is paged.
            run.jobs.expect(
                chunks
                    .iter()
                    .filter(|c| c.method == "job" && !run.done.contains(&c.key()))
                    .map(|c| api.job_body(c.start, c.end)),
            );
            Ok(chunks)
        }
        .boxed()
    }

    fn fetch<'a>(
        &'a self,
        run: &'a RunContext,
        chunk: &'a Chunk,
        tx: &'a PageSender,
    ) -> BoxFuture<'a, Result<u64>> {
        async move {
            let api = ConversationApi::new(&run.api, &run.options.details, &run.divisions);
            match chunk.method {
                "job" => {
                    api.fetch_job(chunk.start, chunk.end, tx, Some(&run.jobs))
                        .await
                }
                _ => api.fetch_query(chunk.start, chunk.end, tx).await,
            }
        }
        .boxed()
    }

    /// Keeps conversations that started in the chunk, once each: jobs return every
    /// conversation overlapping their interval, and query pages shift while data is live.
    fn admit<'a>(&self, item: Json<'a>, chunk: &Chunk, seen: &mut Seen) -> Result<Admitted<'a>> {
        Ok(match place(conversation_key_json(&item)?, chunk, seen)? {
            Ok(day) => Admitted::Rows(vec![(item, day)]),
            Err(not) => not,
        })
    }

    fn probes(&self, yesterday: DateTime<Utc>) -> Vec<(&'static str, String, Option<Value>)> {
        vec![
            (
                "GET",
                "/api/v2/analytics/conversations/details/jobs/availability".into(),
                None,
            ),
            (
                "POST",
                QUERY_PATH.into(),
                Some(json!({
                    "interval": interval(yesterday, yesterday + chrono::Duration::hours(1)),
                    "paging": {"pageSize": 1, "pageNumber": 1},
                })),
            ),
        ]
    }
}

/// The partition of a conversation in `chunk` (its UTC start date), or why it has none there:
/// it started outside the chunk, or was admitted before.
fn place(
    key: ConversationKey,
    chunk: &Chunk,
    seen: &mut Seen,
) -> Result<std::result::Result<chrono::NaiveDate, Admitted<'static>>> {
    let (start, end) = (chunk.start.timestamp_micros(), chunk.end.timestamp_micros());
    if key.start_micros < start || key.start_micros >= end {
        return Ok(Err(Admitted::Outside));
    }
    let day = key.day()?;
    if !seen.insert(key.id) {
        return Ok(Err(Admitted::Duplicate));
    }
    Ok(Ok(day))
}
