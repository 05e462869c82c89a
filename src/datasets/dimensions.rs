//! The dimensions: reference listings (users, queues, divisions, ...) snapshotted whole on
//! every run, one row of [`LISTINGS`] each.
//!
//! A dimension is one chunk: the run's UTC date, its `snapshot_date` partition. It is paged to
//! the end at the endpoint's largest page size, in the endpoint's paging style; a listing the
//! platform refuses to page to the end (its result cap) is split (users by state, queues and
//! wrap-up codes by division) so it still comes back whole. The load MERGEs the snapshot by
//! `id`: an entity that disappears from the listing keeps its row, with the `snapshot_date` of
//! the last snapshot that saw it, because conversation history still points at it.

use chrono::{DateTime, Utc};
use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::Value;

use super::{
    Admitted, Chunk, Dataset, Group, LoadMode, RunContext, Seen, Spec, admit_listed, entity_id,
};
use crate::error::{Error, Result};
use crate::genesys::allowlist::Endpoint;
use crate::genesys::paging::{self, PageSender, Paging};
use crate::json::Json;
use crate::plan::Range;

/// Listing settings shared by the dimensions.
#[derive(Debug, Clone, Default)]
pub struct ListingSettings {
    /// Page size to ask for instead of each endpoint's largest (tests use small pages).
    pub page_size: Option<u32>,
}

/// How a listing too large to page whole is split.
#[derive(Debug, Clone, Copy)]
pub enum Split {
    /// It cannot be: a listing past the cap fails, naming the cap.
    None,
    /// One listing per value of a query parameter (`state=active`, ...).
    Values(&'static str, &'static [&'static str]),
    /// One listing per division of the org (`divisionId=...`).
    Divisions,
}

/// One dimension: a listing endpoint and how to page it.
pub struct Listing {
    spec: Spec,
    /// The listing, with any fixed query parameters (`/api/v2/users?state=any`).
    path: &'static str,
    paging: Paging,
    /// The endpoint's largest page size: 100, the platform's usual maximum for listings
    /// (genesys-api.md §6; larger per-endpoint maxima such as 500 are unverified).
    page_size: u32,
    split: Split,
}

const ENTITIES: &str = "entities";

/// Every dimension of this build.
pub static LISTINGS: [Listing; 8] = [
    Listing {
        spec: Spec {
            name: "users",
            group: Group::Dimensions,
            summary: "users in every state (active, inactive, deleted): agents who left still resolve",
            schemas: crate::schema_files!("users": "users"),
            permissions: &[],
            division_scoped: false,
            endpoints: &[Endpoint::get("/api/v2/users")],
            load: LoadMode::MergeByKey,
            headline: false,
            items_field: ENTITIES,
            includes: &[],
            routes: &[],
        },
        path: "/api/v2/users?state=any",
        paging: Paging::PageNumber,
        page_size: 100,
        split: Split::Values("state", &["active", "inactive", "deleted"]),
    },
    Listing {
        spec: Spec {
            name: "queues",
            group: Group::Dimensions,
            summary: "routing queues with their media, ACW and routing settings",
            schemas: crate::schema_files!("queues": "queues"),
            permissions: &["routing:queue:view"],
            division_scoped: false,
            endpoints: &[Endpoint::get("/api/v2/routing/queues")],
            load: LoadMode::MergeByKey,
            headline: false,
            items_field: ENTITIES,
            includes: &[],
            routes: &[],
        },
        path: "/api/v2/routing/queues",
        paging: Paging::PageNumber,
        page_size: 100,
        split: Split::Divisions,
    },
    Listing {
        spec: Spec {
            name: "divisions",
            group: Group::Dimensions,
            summary: "the org's divisions",
            schemas: crate::schema_files!("divisions": "divisions"),
            permissions: &[],
            division_scoped: false,
            endpoints: &[Endpoint::get("/api/v2/authorization/divisions")],
            load: LoadMode::MergeByKey,
            headline: false,
            items_field: ENTITIES,
            includes: &[],
            routes: &[],
        },
        path: "/api/v2/authorization/divisions",
        paging: Paging::PageNumber,
        page_size: 100,
        split: Split::None,
    },
    Listing {
        spec: Spec {
            name: "wrapup-codes",
            group: Group::Dimensions,
            summary: "wrap-up codes (segments' wrap_up_code joins here)",
            schemas: crate::schema_files!("wrapup-codes": "wrapup_codes"),
            permissions: &["routing:wrapupCode:view"],
            division_scoped: false,
            endpoints: &[Endpoint::get("/api/v2/routing/wrapupcodes")],
            load: LoadMode::MergeByKey,
            headline: false,
            items_field: ENTITIES,
            includes: &[],
            routes: &[],
        },
        path: "/api/v2/routing/wrapupcodes",
        paging: Paging::PageNumber,
        page_size: 100,
        split: Split::Divisions,
    },
    Listing {
        spec: Spec {
            name: "skills",
            group: Group::Dimensions,
            summary: "routing skills",
            schemas: crate::schema_files!("skills": "skills"),
            permissions: &["routing:skill:view"],
            division_scoped: false,
            endpoints: &[Endpoint::get("/api/v2/routing/skills")],
            load: LoadMode::MergeByKey,
            headline: false,
            items_field: ENTITIES,
            includes: &[],
            routes: &[],
        },
        path: "/api/v2/routing/skills",
        paging: Paging::PageNumber,
        page_size: 100,
        split: Split::None,
    },
    Listing {
        spec: Spec {
            name: "languages",
            group: Group::Dimensions,
            summary: "routing languages",
            schemas: crate::schema_files!("languages": "languages"),
            permissions: &[],
            division_scoped: false,
            endpoints: &[Endpoint::get("/api/v2/routing/languages")],
            load: LoadMode::MergeByKey,
            headline: false,
            items_field: ENTITIES,
            includes: &[],
            routes: &[],
        },
        path: "/api/v2/routing/languages",
        paging: Paging::PageNumber,
        page_size: 100,
        split: Split::None,
    },
    Listing {
        spec: Spec {
            name: "groups",
            group: Group::Dimensions,
            summary: "directory groups",
            schemas: crate::schema_files!("groups": "groups"),
            permissions: &[],
            division_scoped: false,
            endpoints: &[Endpoint::get("/api/v2/groups")],
            load: LoadMode::MergeByKey,
            headline: false,
            items_field: ENTITIES,
            includes: &[],
            routes: &[],
        },
        path: "/api/v2/groups",
        paging: Paging::PageNumber,
        page_size: 100,
        split: Split::None,
    },
    Listing {
        spec: Spec {
            name: "teams",
            group: Group::Dimensions,
            summary: "work teams (participants' team_id joins here)",
            schemas: crate::schema_files!("teams": "teams"),
            permissions: &["groups:team:view"],
            division_scoped: false,
            endpoints: &[Endpoint::get("/api/v2/teams")],
            load: LoadMode::MergeByKey,
            headline: false,
            items_field: ENTITIES,
            includes: &[],
            routes: &[],
        },
        path: "/api/v2/teams",
        paging: Paging::Cursor,
        page_size: 100,
        split: Split::None,
    },
];

/// The dimensions as datasets.
pub fn all() -> impl Iterator<Item = &'static dyn Dataset> {
    LISTINGS.iter().map(|l| l as &'static dyn Dataset)
}

impl Listing {
    fn page_size(&self, run: &RunContext) -> u32 {
        run.options
            .listing
            .page_size
            .map_or(self.page_size, |p| p.clamp(1, self.page_size))
    }

    /// Pages `path` to its end.
    async fn list(&self, run: &RunContext, path: &str, tx: &PageSender) -> Result<u64> {
        paging::list(
            &run.api,
            path,
            self.paging,
            self.page_size(run),
            ENTITIES,
            tx,
        )
        .await
    }

    /// The listing split by `param`: one listing per value.
    async fn split_list(
        &self,
        run: &RunContext,
        param: &str,
        values: &[String],
        tx: &PageSender,
    ) -> Result<u64> {
        let (base, sep) = match self.path.split_once('?') {
            // The fixed parameter that the split replaces (`state=any`) is dropped.
            Some((base, query)) => {
                let kept: Vec<&str> = query
                    .split('&')
                    .filter(|kv| !kv.starts_with(&format!("{param}=")))
                    .collect();
                if kept.is_empty() {
                    (base.to_string(), '?')
                } else {
                    (format!("{base}?{}", kept.join("&")), '&')
                }
            }
            None => (self.path.to_string(), '?'),
        };
        let mut pages = 0;
        for v in values {
            let path = format!("{base}{sep}{param}={v}");
            pages += self.list(run, &path, tx).await.map_err(|e| {
                if paging::is_result_cap(&e) {
                    Error::Api {
                        method: "GET".into(),
                        path: path.clone(),
                        status: Some(400),
                        message: format!(
                            "the {} listing is past the platform's paging cap even split by {param}: {e}",
                            self.spec.name
                        ),
                    }
                } else {
                    e
                }
            })?;
        }
        Ok(pages)
    }
}

impl Dataset for Listing {
    fn spec(&self) -> &Spec {
        &self.spec
    }

    fn plan<'a>(&'a self, run: &'a RunContext, _range: Range) -> BoxFuture<'a, Result<Vec<Chunk>>> {
        let chunk = crate::plan::snapshot_chunk(self.spec().name, run.snapshot_date);
        async move { Ok(vec![chunk]) }.boxed()
    }

    fn fetch<'a>(
        &'a self,
        run: &'a RunContext,
        _chunk: &'a Chunk,
        tx: &'a PageSender,
    ) -> BoxFuture<'a, Result<u64>> {
        async move {
            let whole = self.list(run, self.path, tx).await;
            match whole {
                Err(e) if paging::is_result_cap(&e) => {
                    let (param, values): (&str, Vec<String>) = match self.split {
                        Split::None => {
                            return Err(Error::Api {
                                method: "GET".into(),
                                path: self.path.into(),
                                status: Some(400),
                                message: format!(
                                    "the {} listing is past the platform's paging cap and cannot be split: {e}",
                                    self.spec.name
                                ),
                            });
                        }
                        Split::Values(param, values) => {
                            (param, values.iter().map(|v| v.to_string()).collect())
                        }
                        Split::Divisions => {
                            let divisions = paging::collect(
                                &run.api,
                                "/api/v2/authorization/divisions",
                                Paging::PageNumber,
                                100,
                                ENTITIES,
                            )
                            .await?;
                            let ids = divisions
                                .iter()
                                .filter_map(|d| {
                                    let v: Value = serde_json::from_str(d.get()).ok()?;
                                    entity_id(&v).map(str::to_string)
                                })
                                .collect();
                            ("divisionId", ids)
                        }
                    };
                    tracing::info!(
                        dataset = self.spec.name,
                        split_by = param,
                        parts = values.len(),
                        "the listing passes the platform's paging cap; listing it in parts"
                    );
                    // Pages of the refused listing already sent repeat in the parts; `admit`
                    // keeps each id once.
                    Ok(self.split_list(run, param, &values, tx).await?)
                }
                other => other,
            }
        }
        .boxed()
    }

    /// Keeps each entity once (listings shift while paged, and split listings overlap the
    /// part of the whole listing that was read before the cap).
    fn admit<'a>(&self, item: Json<'a>, chunk: &Chunk, seen: &mut Seen) -> Result<Admitted<'a>> {
        Ok(admit_listed(item, chunk, seen))
    }

    fn probes(&self, _yesterday: DateTime<Utc>) -> Vec<(&'static str, String, Option<Value>)> {
        let sep = if self.path.contains('?') { '&' } else { '?' };
        vec![("GET", format!("{}{sep}pageSize=1", self.path), None)]
    }
}
