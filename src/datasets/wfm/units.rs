//! `wfm-units`: the WFM hierarchy as dimensions, snapshotted whole on every run like the other
//! dimensions (one chunk, the run's UTC date, merged by key).
//!
//! The hierarchy comes from four endpoints (genesys-api.md §8.1): the business units, each
//! one's settings (`?expand=settings`: time zone, first day of the week), its management units,
//! each of those's agents, and its activity codes, which the platform may hand out as a
//! pre-signed download URL instead of inline. One composite item per business unit carries all
//! of it (`managementUnits[].users[]`, `activityCodes[]`), so the four tables are one tree for
//! the decoder.

use chrono::{DateTime, Utc};
use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::{Map, Value};

use super::{BUSINESS_UNITS, entities, management_units, send_items};
use crate::datasets::{
    Admitted, Chunk, Dataset, Group, LoadMode, RunContext, Seen, Spec, admit_listed, entity_id,
};
use crate::error::{Error, Result};
use crate::genesys::allowlist::Endpoint;
use crate::genesys::paging::{PageSender, parse};
use crate::json::Json;
use crate::plan::Range;

/// Any one of these lets a client read the management units' agents (and, as far as the
/// platform documents it, the activity codes): genesys-api.md §11.
pub(crate) const UNIT_PERMISSIONS: &[&str] = &[
    "wfm:schedule:view",
    "wfm:publishedSchedule:view",
    "wfm:historicalAdherence:view",
];

pub struct WfmUnits;

pub static WFM_UNITS: WfmUnits = WfmUnits;

static SPEC: Spec = Spec {
    name: "wfm-units",
    group: Group::Dimensions,
    summary: "WFM business units, management units and their agents, activity codes",
    schemas: crate::schema_files!("wfm-units": "wfm_business_units", "wfm_management_units", "wfm_management_unit_users", "wfm_activity_codes"),
    permissions: UNIT_PERMISSIONS,
    division_scoped: false,
    endpoints: &[
        Endpoint::get(BUSINESS_UNITS),
        Endpoint::get("/api/v2/workforcemanagement/businessunits/{businessUnitId}"),
        Endpoint::get("/api/v2/workforcemanagement/businessunits/{businessUnitId}/managementunits"),
        Endpoint::get("/api/v2/workforcemanagement/managementunits/{managementUnitId}/users"),
        Endpoint::get("/api/v2/workforcemanagement/businessunits/{businessUnitId}/activitycodes"),
    ],
    load: LoadMode::MergeByKey,
    headline: false,
    items_field: "entities",
    includes: &[],
    routes: &[],
};

impl WfmUnits {
    /// One business unit with everything under it.
    async fn composite(&self, run: &RunContext, mut bu: Map<String, Value>) -> Result<Value> {
        let api = &run.api;
        let id = entity_id(&Value::Object(bu.clone()))
            .map(str::to_string)
            .ok_or_else(|| Error::Payload {
                path: BUSINESS_UNITS.into(),
                message: "a business unit has no id".into(),
            })?;
        let path = format!("{BUSINESS_UNITS}/{id}?expand=settings");
        let full: Map<String, Value> = parse(&path, &api.get(&path).await?.body)?;
        if let Some(settings) = full.get("settings") {
            bu.insert("settings".into(), settings.clone());
        }
        let mut units = Vec::new();
        for mut mu in management_units(api, &id).await? {
            let mu_id = mu.get("id").and_then(Value::as_str).unwrap_or_default();
            let users_path = format!("/api/v2/workforcemanagement/managementunits/{mu_id}/users");
            // A user reference's `id` is the agent's user id: named so in the row.
            let users = entities(api, &users_path).await?.into_iter().map(|mut u| {
                if let Some(id) = u.remove("id") {
                    u.insert("userId".into(), id);
                }
                Value::Object(u)
            });
            mu.insert("users".into(), Value::Array(users.collect()));
            units.push(Value::Object(mu));
        }
        bu.insert("managementUnits".into(), Value::Array(units));
        bu.insert(
            "activityCodes".into(),
            Value::Array(self.activity_codes(run, &id).await?),
        );
        Ok(Value::Object(bu))
    }

    /// A business unit's activity codes, inline or from the download URL the platform answers
    /// with instead (its body is the same listing).
    async fn activity_codes(&self, run: &RunContext, bu: &str) -> Result<Vec<Value>> {
        let path = format!("{BUSINESS_UNITS}/{bu}/activitycodes");
        let mut listing: Map<String, Value> = parse(&path, &run.api.get(&path).await?.body)?;
        if let Some(url) = listing
            .remove("downloadUrl")
            .and_then(|u| u.as_str().map(str::to_string))
            .filter(|u| !u.is_empty())
        {
            let what = format!("the activity codes of business unit {bu}");
            let body = run.api.download(&url, &what).await?.body;
            listing = parse(&what, &body)?;
        }
        match listing.remove("entities") {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(codes)) => Ok(codes),
            Some(_) => Err(Error::Payload {
                path,
                message: "entities is not a list".into(),
            }),
        }
    }
}

impl Dataset for WfmUnits {
    fn spec(&self) -> &Spec {
        &SPEC
    }

    fn plan<'a>(&'a self, run: &'a RunContext, _range: Range) -> BoxFuture<'a, Result<Vec<Chunk>>> {
        let chunk = crate::plan::snapshot_chunk(SPEC.name, run.snapshot_date);
        async move { Ok(vec![chunk]) }.boxed()
    }

    fn fetch<'a>(
        &'a self,
        run: &'a RunContext,
        _chunk: &'a Chunk,
        tx: &'a PageSender,
    ) -> BoxFuture<'a, Result<u64>> {
        async move {
            let mut pages = 0;
            for bu in entities(&run.api, BUSINESS_UNITS).await? {
                let item = self.composite(run, bu).await?;
                pages += send_items(tx, SPEC.items_field, vec![item], BUSINESS_UNITS).await?;
            }
            Ok(pages)
        }
        .boxed()
    }

    fn admit<'a>(&self, item: Json<'a>, chunk: &Chunk, seen: &mut Seen) -> Result<Admitted<'a>> {
        Ok(admit_listed(item, chunk, seen))
    }

    fn probes(&self, _yesterday: DateTime<Utc>) -> Vec<(&'static str, String, Option<Value>)> {
        vec![("GET", BUSINESS_UNITS.to_string(), None)]
    }
}
