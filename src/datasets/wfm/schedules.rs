//! `wfm-schedules`: the published agent schedules (genesys-api.md §8.2), as shifts, their
//! activities and full-day time-off markers.
//!
//! Each UTC day is a chunk. For every business unit, the day becomes the unit's weeks that
//! cover it (its first day of the week, in its time zone: a unit east of UTC starts its week on
//! the UTC day before), and each week is asked of the published-schedule search
//! (`POST .../businessunits/{id}/agentschedules/search` over the week's UTC bounds). The answer
//! comes in one of three shapes: the result inline, a pre-signed `downloadUrl` (fetched without
//! the bearer token, never logged), or `Processing`, which the platform only ever completes
//! through a notification: the request is then made smaller and asked again, one management
//! unit at a time, then halves of its agents. The chunk keeps the shifts and markers that start
//! on its UTC day, so a run over `[from, to)` writes the shifts that start in it.

use chrono::{DateTime, Days, NaiveDate, Utc};
use futures::FutureExt;
use futures::future::BoxFuture;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{
    BUSINESS_UNITS, BusinessUnit, business_units, instant, iso, local_midnight,
    management_unit_users, management_units, object_list, root_lists, send_items, shifted,
    time_zone, weeks_covering, whole_day_chunks,
};
use crate::datasets::{Admitted, Chunk, Dataset, Group, LoadMode, RunContext, Seen, Spec};
use crate::error::{Error, Result};
use crate::genesys::allowlist::Endpoint;
use crate::genesys::paging::{PageSender, parse};
use crate::json::{FieldVec, Json, field, take_field};
use crate::plan::Range;

const ITEMS: &str = "agentSchedules";

pub struct WfmSchedules;

pub static WFM_SCHEDULES: WfmSchedules = WfmSchedules;

static SPEC: Spec = Spec {
    name: "wfm-schedules",
    group: Group::Facts,
    summary: "published WFM shifts, their activities and time-off markers, by UTC day of the start",
    schemas: crate::schema_files!("wfm-schedules": "wfm_shifts", "wfm_shift_activities", "wfm_time_off_markers"),
    permissions: &["wfm:schedule:view", "wfm:publishedSchedule:view"],
    division_scoped: false,
    endpoints: &[
        Endpoint::get(BUSINESS_UNITS),
        Endpoint::get("/api/v2/workforcemanagement/businessunits/{businessUnitId}"),
        Endpoint::get("/api/v2/workforcemanagement/businessunits/{businessUnitId}/managementunits"),
        Endpoint::get("/api/v2/workforcemanagement/managementunits/{managementUnitId}/users"),
        Endpoint::post(
            "/api/v2/workforcemanagement/businessunits/{businessUnitId}/agentschedules/search",
        ),
        Endpoint::post(
            "/api/v2/workforcemanagement/managementunits/{managementUnitId}/agentschedules/search",
        ),
    ],
    load: LoadMode::ReplacePartitions,
    headline: false,
    items_field: ITEMS,
    includes: &["wfm-units"],
    routes: &[],
};

/// `BuAsyncAgentSchedulesSearchResponse`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    status: String,
    #[serde(default)]
    result: Option<Map<String, Value>>,
    #[serde(default)]
    download_url: Option<String>,
}

/// One search request: a business unit's or a management unit's week, perhaps for some agents.
struct Search {
    path: String,
    users: Option<Vec<String>>,
    label: String,
}

impl WfmSchedules {
    /// The search result for one request, or `None` when the platform answers `Processing`.
    async fn ask(
        &self,
        run: &RunContext,
        search: &Search,
        (start, end): (DateTime<Utc>, DateTime<Utc>),
    ) -> Result<Option<Map<String, Value>>> {
        let mut body = json!({"startDate": iso(start), "endDate": iso(end)});
        if let Some(users) = &search.users {
            body["userIds"] = json!(users);
        }
        let resp = run.api.post_json(&search.path, &body).await?;
        let answer: Answer = parse(&search.path, &resp.body)?;
        match answer.status.as_str() {
            "Complete" => {}
            "Processing" => return Ok(None),
            other => {
                return Err(Error::Api {
                    method: "POST".into(),
                    path: search.path.clone(),
                    status: Some(resp.status.as_u16()),
                    message: format!("the schedule search for {} ended {other}", search.label),
                });
            }
        }
        match (answer.result, answer.download_url.filter(|u| !u.is_empty())) {
            (_, Some(url)) => {
                let what = format!("the schedules of {}", search.label);
                let body = run.api.download(&url, &what).await?.body;
                Ok(Some(parse(&what, &body)?))
            }
            (Some(result), None) => Ok(Some(result)),
            (None, None) => Ok(Some(Map::new())),
        }
    }

    /// One business unit's week, made smaller while the platform answers `Processing`.
    async fn week(
        &self,
        run: &RunContext,
        bu: &BusinessUnit,
        week: NaiveDate,
        tx: &PageSender,
    ) -> Result<u64> {
        let bounds = (
            local_midnight(bu.time_zone, week),
            local_midnight(bu.time_zone, week + Days::new(7)),
        );
        let mut pending = vec![Search {
            path: format!("{BUSINESS_UNITS}/{}/agentschedules/search", bu.id),
            users: None,
            label: format!("business unit {} week {week}", bu.id),
        }];
        let mut pages = 0;
        let mut units: Option<Vec<String>> = None;
        while let Some(search) = pending.pop() {
            if let Some(result) = self.ask(run, &search, bounds).await? {
                pages += self.send_result(bu, result, tx).await?;
                continue;
            }
            tracing::info!(request = %search.label, "the schedule search is still processing; asking for less");
            match &search.users {
                // The business unit: one management unit at a time.
                None if search.path.starts_with(BUSINESS_UNITS) => {
                    let ids = match &units {
                        Some(ids) => ids.clone(),
                        None => {
                            let ids: Vec<String> = management_units(&run.api, &bu.id)
                                .await?
                                .iter()
                                .filter_map(|m| m.get("id").and_then(Value::as_str))
                                .map(str::to_string)
                                .collect();
                            units = Some(ids.clone());
                            ids
                        }
                    };
                    for mu in ids.into_iter().rev() {
                        pending.push(Search {
                            path: format!(
                                "/api/v2/workforcemanagement/managementunits/{mu}/agentschedules/search"
                            ),
                            users: None,
                            label: format!("management unit {mu} week {week}"),
                        });
                    }
                }
                // A management unit: halves of its agents, down to one.
                users => {
                    let users = match users {
                        Some(u) => u.clone(),
                        None => {
                            let mu = search
                                .path
                                .trim_start_matches("/api/v2/workforcemanagement/managementunits/")
                                .split('/')
                                .next()
                                .unwrap_or_default()
                                .to_string();
                            management_unit_users(&run.api, &mu).await?
                        }
                    };
                    if users.len() <= 1 && search.users.is_some() {
                        return Err(Error::Api {
                            method: "POST".into(),
                            path: search.path.clone(),
                            status: None,
                            message: format!(
                                "the schedule search for {} is still processing for a single agent; \
                                 its result would only come as a notification",
                                search.label
                            ),
                        });
                    }
                    let (a, b) = users.split_at(users.len().div_ceil(2));
                    for half in [b, a] {
                        if !half.is_empty() {
                            pending.push(Search {
                                path: search.path.clone(),
                                users: Some(half.to_vec()),
                                label: format!("{} ({} agents)", search.label, half.len()),
                            });
                        }
                    }
                }
            }
        }
        Ok(pages)
    }

    /// Sends a search result's agent schedules, each marked with its business unit and time
    /// zone (which `admit` needs and the items do not carry).
    async fn send_result(
        &self,
        bu: &BusinessUnit,
        mut result: Map<String, Value>,
        tx: &PageSender,
    ) -> Result<u64> {
        let zone = result
            .get("businessUnitTimeZone")
            .and_then(Value::as_str)
            .unwrap_or(bu.time_zone.name())
            .to_string();
        let items = match result.remove(ITEMS) {
            Some(Value::Array(items)) => items,
            None | Some(Value::Null) => Vec::new(),
            Some(_) => {
                return Err(Error::Payload {
                    path: ITEMS.into(),
                    message: "agentSchedules is not a list".into(),
                });
            }
        };
        let items = items
            .into_iter()
            .map(|mut s| {
                if let Some(o) = s.as_object_mut() {
                    o.insert("businessUnitId".into(), json!(bu.id));
                    o.insert("timeZone".into(), json!(zone));
                }
                s
            })
            .collect();
        send_items(tx, ITEMS, items, "agent schedules").await
    }
}

/// Fields of an agent schedule that are read, or added by `fetch`; any other is copied onto
/// each of its rows, where the schema keeps it in `extra_fields`.
const SCHEDULE_FIELDS: &[&str] = &[
    "user",
    "shifts",
    "fullDayTimeOffMarkers",
    "businessUnitId",
    "timeZone",
];

impl Dataset for WfmSchedules {
    fn spec(&self) -> &Spec {
        &SPEC
    }

    fn plan<'a>(&'a self, _run: &'a RunContext, range: Range) -> BoxFuture<'a, Result<Vec<Chunk>>> {
        async move { whole_day_chunks(SPEC.name, "query", range) }.boxed()
    }

    fn fetch<'a>(
        &'a self,
        run: &'a RunContext,
        chunk: &'a Chunk,
        tx: &'a PageSender,
    ) -> BoxFuture<'a, Result<u64>> {
        async move {
            let mut pages = 0;
            for bu in business_units(&run.api).await? {
                for week in weeks_covering(&bu, chunk.start, chunk.end) {
                    pages += self.week(run, &bu, week, tx).await?;
                }
            }
            Ok(pages)
        }
        .boxed()
    }

    /// One agent schedule becomes an envelope of the shifts and markers that start on the
    /// chunk's UTC day, each carrying the agent, business unit and time zone; a marker's UTC
    /// start and end are its business-unit date's local midnight plus its offsets. The rows
    /// borrow from the page; a field served twice counts by its last value, as in a `Value`.
    fn admit<'a>(&self, item: Json<'a>, chunk: &Chunk, seen: &mut Seen) -> Result<Admitted<'a>> {
        let what = "agentSchedules[]";
        let fail = |message: String| Error::Payload {
            path: what.into(),
            message,
        };
        let Json::Object(mut schedule) = item else {
            return Err(fail("an agent schedule is not an object".into()));
        };
        let user_id = field(&schedule, "user")
            .and_then(|u| u.get("id"))
            .filter(|id| id.as_str().is_some())
            .cloned()
            .ok_or_else(|| fail("an agent schedule has no user id".into()))?;
        let user = user_id.as_str().unwrap_or_default().to_string();
        let zone = field(&schedule, "timeZone").cloned().unwrap_or(Json::Null);
        let tz = time_zone(zone.as_str(), what)?;
        let shifts = take_field(&mut schedule, "shifts");
        let markers = take_field(&mut schedule, "fullDayTimeOffMarkers");
        // What every row of the schedule carries, in the order a `Map` took the inserts: a
        // field of the schedule that `fetch` did not add overrides the three before it.
        let mut common: FieldVec<'a> = vec![
            ("userId".into(), user_id),
            (
                "businessUnitId".into(),
                field(&schedule, "businessUnitId")
                    .cloned()
                    .unwrap_or(Json::Null),
            ),
            ("timeZone".into(), zone),
        ];
        common.extend(
            schedule
                .iter()
                .filter(|(k, _)| !SCHEDULE_FIELDS.contains(&&**k))
                .cloned(),
        );
        // A user reference with more than id and selfUri keeps the rest.
        if let Some(Json::Object(u)) = field(&schedule, "user")
            && u.iter().any(|(k, _)| k != "id" && k != "selfUri")
        {
            common.push(("user".into(), Json::Object(u.clone())));
        }
        let (mut kept_shifts, mut repeated) = (Vec::new(), false);
        for mut shift in object_list(shifts, "shifts", what)? {
            let start = instant(&shift, "startDate", "shifts[]")?;
            if start.date_naive() != chunk.partition {
                continue;
            }
            let id = field(&shift, "id")
                .and_then(Json::as_str)
                .ok_or_else(|| fail("a shift has no id".into()))?;
            if !seen.insert(format!("shift/{id}")) {
                repeated = true;
                continue;
            }
            shift.extend(common.iter().cloned());
            kept_shifts.push(Json::Object(shift));
        }
        let mut kept_markers = Vec::new();
        for mut marker in object_list(markers, "fullDayTimeOffMarkers", what)? {
            let date = field(&marker, "businessUnitDate")
                .and_then(Json::as_str)
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .ok_or_else(|| fail("a time-off marker has no businessUnitDate".into()))?;
            let offset = |name: &str| field(&marker, name).and_then(Json::as_i64);
            let midnight = local_midnight(tz, date);
            let minutes = offset("startOffsetMinutes").unwrap_or(0);
            let start = shifted(midnight, minutes, chrono::TimeDelta::try_minutes)
                .ok_or_else(|| fail(format!("startOffsetMinutes {minutes} is out of range")))?;
            if start.date_naive() != chunk.partition {
                continue;
            }
            if !seen.insert(format!("marker/{user}/{date}/{minutes}")) {
                repeated = true;
                continue;
            }
            let end = offset("endOffsetMinutes")
                .map(|m| {
                    shifted(midnight, m, chrono::TimeDelta::try_minutes)
                        .map(iso)
                        .ok_or_else(|| fail(format!("endOffsetMinutes {m} is out of range")))
                })
                .transpose()?;
            marker.push(("startDate".into(), Json::Str(iso(start).into())));
            marker.push((
                "endDate".into(),
                end.map_or(Json::Null, |e| Json::Str(e.into())),
            ));
            marker.extend(common.iter().cloned());
            kept_markers.push(Json::Object(marker));
        }
        Ok(root_lists(
            [
                ("shifts", kept_shifts),
                ("fullDayTimeOffMarkers", kept_markers),
            ],
            repeated,
            chunk.partition,
        ))
    }

    /// The schedule search needs a business unit's id, which only a listing gives: the probe
    /// is that listing (the permission itself is checked against the client's roles).
    fn probes(&self, _yesterday: DateTime<Utc>) -> Vec<(&'static str, String, Option<Value>)> {
        vec![("GET", BUSINESS_UNITS.to_string(), None)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::day_start;

    /// The chunk of 2 November 2026.
    fn chunk() -> Chunk {
        let day = NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
        Chunk {
            dataset: SPEC.name,
            partition: day,
            start: day_start(day),
            end: day_start(day) + chrono::Duration::days(1),
            method: "query",
        }
    }

    /// The rows a schedule makes, as the decoder reads them (the last of a field served twice
    /// counts), or what else it became.
    fn admit(text: &str, seen: &mut Seen) -> Value {
        let chunk = chunk();
        match WFM_SCHEDULES
            .admit(Json::parse(text).unwrap(), &chunk, seen)
            .unwrap()
        {
            Admitted::Rows(rows) => {
                assert_eq!(rows.len(), 1);
                assert_eq!(rows[0].1, chunk.partition);
                rows[0].0.to_value()
            }
            other => json!(format!("{other:?}")),
        }
    }

    #[test]
    fn a_schedule_becomes_the_days_shifts_and_markers_carrying_the_agent() {
        let item = r#"{
            "user": {"id": "u1", "selfUri": "/u1", "name": "Ann"},
            "businessUnitId": "b1", "timeZone": "America/New_York", "note": "x",
            "shifts": [
                {"id": "s1", "startDate": "2026-11-02T14:00:00Z", "activities": [{"activityCodeId": "a"}]},
                {"id": "s2", "startDate": "2026-11-03T14:00:00Z"},
                {"id": "s3", "startDate": "2026-11-02T20:00:00Z", "userId": "other", "id": "s4"}
            ],
            "fullDayTimeOffMarkers": [
                {"businessUnitDate": "2026-11-02", "startOffsetMinutes": 0, "endOffsetMinutes": 1440},
                {"businessUnitDate": "2026-11-01", "startOffsetMinutes": 0}
            ]
        }"#;
        let common = json!({
            "userId": "u1", "businessUnitId": "b1", "timeZone": "America/New_York", "note": "x",
            "user": {"id": "u1", "selfUri": "/u1", "name": "Ann"},
        });
        let with_common = |mut row: Value| {
            for (k, v) in common.as_object().unwrap() {
                row[k] = v.clone();
            }
            row
        };
        let mut seen = Seen::default();
        assert_eq!(
            admit(item, &mut seen),
            json!({
                "shifts": [
                    with_common(json!({"id": "s1", "startDate": "2026-11-02T14:00:00Z",
                        "activities": [{"activityCodeId": "a"}]})),
                    // A field served twice counts by its last value; the agent's id is the
                    // schedule's, whatever the shift says.
                    with_common(json!({"id": "s4", "startDate": "2026-11-02T20:00:00Z"})),
                ],
                // Local midnight in New York (UTC-5 after 1 November) plus the offsets; the
                // marker of 1 November starts on that UTC day and is not this chunk's.
                "fullDayTimeOffMarkers": [with_common(json!({
                    "businessUnitDate": "2026-11-02", "startOffsetMinutes": 0,
                    "endOffsetMinutes": 1440, "startDate": "2026-11-02T05:00:00Z",
                    "endDate": "2026-11-03T05:00:00Z"}))],
            })
        );
        assert_eq!(admit(item, &mut seen), json!("Duplicate"));
        let later = r#"{"user": {"id": "u1"}, "timeZone": "UTC",
            "shifts": [{"id": "s9", "startDate": "2026-11-03T00:00:00Z"}]}"#;
        assert_eq!(admit(later, &mut seen), json!("Outside"));
        // A field of the schedule that `fetch` did not add is carried too, and overrides the
        // agent's id and the computed start, as the schedule's own fields did in a `Map`.
        let own = r#"{"user": {"id": "u2"}, "timeZone": "UTC", "userId": "x", "startDate": "s",
            "fullDayTimeOffMarkers": [{"businessUnitDate": "2026-11-02", "startDate": "m"}]}"#;
        assert_eq!(
            admit(own, &mut seen)["fullDayTimeOffMarkers"][0],
            json!({"businessUnitDate": "2026-11-02", "startDate": "s", "endDate": null,
                "userId": "x", "businessUnitId": null, "timeZone": "UTC"})
        );
    }

    #[test]
    fn a_schedule_that_cannot_be_read_is_refused_naming_why() {
        let chunk = chunk();
        for (text, message) in [
            (r#"{"timeZone": "UTC", "shifts": []}"#, "no user id"),
            (
                r#"{"user": {"id": "u1"}, "timeZone": "Mars/Base"}"#,
                "not an IANA time zone",
            ),
            (
                r#"{"user": {"id": "u1"}, "timeZone": "UTC", "shifts": {}}"#,
                "shifts is not a list",
            ),
            (
                r#"{"user": {"id": "u1"}, "timeZone": "UTC", "shifts": [1]}"#,
                "shifts[] holds a non-object",
            ),
            (
                r#"{"user": {"id": "u1"}, "timeZone": "UTC", "shifts": [{"startDate": "2026-11-02T01:00:00Z"}]}"#,
                "a shift has no id",
            ),
            (
                r#"{"user": {"id": "u1"}, "timeZone": "UTC", "fullDayTimeOffMarkers": [{}]}"#,
                "no businessUnitDate",
            ),
            (
                r#"{"user": {"id": "u1"}, "timeZone": "UTC", "fullDayTimeOffMarkers": [{"businessUnitDate": "2026-11-02", "startOffsetMinutes": 9223372036854775807}]}"#,
                "out of range",
            ),
            (r#"[1]"#, "not an object"),
        ] {
            let e = WFM_SCHEDULES
                .admit(Json::parse(text).unwrap(), &chunk, &mut Seen::default())
                .unwrap_err();
            assert!(e.to_string().contains(message), "{text}: {e}");
        }
    }
}
