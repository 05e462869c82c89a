//! `wfm-adherence`: historical adherence through the bulk job (genesys-api.md §8.3): per agent
//! and UTC day, the day's metrics, and each exception with its UTC start and end.
//!
//! Each UTC day is a chunk and one job: `POST .../adherence/historical/bulk` in time zone UTC
//! over `[day 00:00Z, next day 00:00Z)` with one item per management unit of every business
//! unit, exceptions included. A day is far inside the API's range limits (31 days, 7 with
//! exceptions), so a range of any length is split by construction. When the answer is not
//! complete, `GET .../bulk/jobs/{jobId}` is polled until it is; then every download URL is read
//! (without the bearer token, never logged), or the inline `downloadResult`. Exceptions are
//! kept in the chunk of the UTC day they start in.

use std::borrow::Cow;
use std::time::Instant;

use chrono::{DateTime, Utc};
use futures::FutureExt;
use futures::future::BoxFuture;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{
    business_units, instant, iso, management_units, object_list, root_lists, send_items, shifted,
    whole_day_chunks,
};
use crate::datasets::{Admitted, Chunk, Dataset, Group, LoadMode, RunContext, Seen, Spec};
use crate::error::{Error, Result};
use crate::genesys::allowlist::Endpoint;
use crate::genesys::jobs::{JobSettings, PollSchedule};
use crate::genesys::paging::{PageSender, parse};
use crate::json::{Fields, Json, field, take_field};
use crate::plan::Range;

pub(crate) const BULK_PATH: &str = "/api/v2/workforcemanagement/adherence/historical/bulk";
const ITEMS: &str = "userResults";

pub struct WfmAdherence;

pub static WFM_ADHERENCE: WfmAdherence = WfmAdherence;

static SPEC: Spec = Spec {
    name: "wfm-adherence",
    group: Group::Facts,
    summary: "historical adherence per agent and UTC day, and its exceptions",
    schemas: crate::schema_files!("wfm-adherence": "wfm_adherence_days", "wfm_adherence_exceptions"),
    permissions: &["wfm:historicalAdherence:view"],
    division_scoped: false,
    endpoints: &[
        Endpoint::get(super::BUSINESS_UNITS),
        Endpoint::get("/api/v2/workforcemanagement/businessunits/{businessUnitId}"),
        Endpoint::get("/api/v2/workforcemanagement/businessunits/{businessUnitId}/managementunits"),
        Endpoint::post(BULK_PATH),
        Endpoint::get("/api/v2/workforcemanagement/adherence/historical/bulk/jobs/{jobId}"),
    ],
    load: LoadMode::ReplacePartitions,
    headline: false,
    items_field: ITEMS,
    includes: &["wfm-units"],
    routes: &[],
};

/// `WfmHistoricalAdherenceBulkResponse`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    job: Job,
    #[serde(default)]
    download_urls: Option<Vec<String>>,
    #[serde(default)]
    download_result: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
struct Job {
    id: String,
    status: String,
}

impl WfmAdherence {
    /// Submits the day's job, polls it to completion, and sends every result.
    async fn day(&self, run: &RunContext, chunk: &Chunk, tx: &PageSender) -> Result<u64> {
        let mut items = Vec::new();
        for bu in business_units(&run.api).await? {
            for mu in management_units(&run.api, &bu.id).await? {
                items.push(json!({
                    "managementUnitId": mu.get("id"),
                    "startDate": iso(chunk.start),
                    "endDate": iso(chunk.end),
                    "includeExceptions": true,
                    "includeActuals": false,
                }));
            }
        }
        if items.is_empty() {
            return Ok(0);
        }
        let body = json!({"timeZone": "UTC", "items": items});
        let resp = run.api.post_json(BULK_PATH, &body).await?;
        let mut answer: Answer = parse(BULK_PATH, &resp.body)?;
        // Polled as analytics jobs are, backing off from `--job-poll-ms`: a job that takes
        // minutes costs a handful of the run's requests.
        let settings = JobSettings {
            poll_interval: run.options.details.job_poll_interval,
            timeout: run.options.details.job_timeout,
            ..JobSettings::default()
        };
        let started = Instant::now();
        let mut polls = PollSchedule::new(started, settings.poll_interval, &settings);
        while answer.job.status != "Complete" {
            let path = format!("{BULK_PATH}/jobs/{}", answer.job.id);
            if answer.job.status == "Error" || started.elapsed() > settings.timeout {
                return Err(Error::Api {
                    method: "GET".into(),
                    path,
                    status: None,
                    message: format!(
                        "the adherence job for {} is {} after {:.0?}",
                        chunk.partition,
                        answer.job.status,
                        started.elapsed()
                    ),
                });
            }
            polls.tick().await;
            answer = parse(&path, &run.api.get(&path).await?.body)?;
        }
        let mut pages = 0;
        if let Some(result) = answer.download_result {
            pages += self.send_result(result, tx).await?;
        }
        for (i, url) in answer.download_urls.unwrap_or_default().iter().enumerate() {
            let what = format!(
                "adherence result {} of the job for {}",
                i + 1,
                chunk.partition
            );
            let body = run.api.download(url, &what).await?.body;
            pages += self.send_result(parse(&what, &body)?, tx).await?;
        }
        Ok(pages)
    }

    /// Sends one result's user results, each marked with the result's management unit, start
    /// and secondary-presence lookup (which `admit` needs and the items do not carry).
    async fn send_result(&self, mut result: Map<String, Value>, tx: &PageSender) -> Result<u64> {
        let users = match result.remove(ITEMS) {
            Some(Value::Array(u)) => u,
            None | Some(Value::Null) => Vec::new(),
            Some(_) => {
                return Err(Error::Payload {
                    path: ITEMS.into(),
                    message: "userResults is not a list".into(),
                });
            }
        };
        let items = users
            .into_iter()
            .map(|mut u| {
                if let Some(o) = u.as_object_mut() {
                    for (from, to) in [
                        ("managementUnitId", "managementUnitId"),
                        ("startDate", "jobStartDate"),
                        ("endDate", "jobEndDate"),
                        (
                            "lookupIdToSecondaryPresenceId",
                            "lookupIdToSecondaryPresenceId",
                        ),
                    ] {
                        o.insert(to.into(), result.get(from).cloned().unwrap_or(Value::Null));
                    }
                }
                u
            })
            .collect();
        send_items(tx, ITEMS, items, "adherence results").await
    }
}

/// Fields of a user result that are read, or added by `fetch`; any other is copied onto each
/// of its day rows, where the schema keeps it in `extra_fields`.
const RESULT_FIELDS: &[&str] = &[
    "userId",
    "adherencePercentage",
    "conformancePercentage",
    "impact",
    "dayMetrics",
    "exceptionInfo",
    "managementUnitId",
    "jobStartDate",
    "jobEndDate",
    "lookupIdToSecondaryPresenceId",
];

impl Dataset for WfmAdherence {
    fn spec(&self) -> &Spec {
        &SPEC
    }

    fn plan<'a>(&'a self, _run: &'a RunContext, range: Range) -> BoxFuture<'a, Result<Vec<Chunk>>> {
        async move { whole_day_chunks(SPEC.name, "job", range) }.boxed()
    }

    fn fetch<'a>(
        &'a self,
        run: &'a RunContext,
        chunk: &'a Chunk,
        tx: &'a PageSender,
    ) -> BoxFuture<'a, Result<u64>> {
        self.day(run, chunk, tx).boxed()
    }

    /// One agent's result becomes an envelope of its day rows and its exceptions that start on
    /// the chunk's day, with UTC instants computed from the offsets (relative to the job's
    /// start). The rows borrow from the page; a field served twice counts by its last value,
    /// as in a `Value`.
    fn admit<'a>(&self, item: Json<'a>, chunk: &Chunk, seen: &mut Seen) -> Result<Admitted<'a>> {
        let what = "userResults[]";
        let fail = |message: String| Error::Payload {
            path: what.into(),
            message,
        };
        let Json::Object(mut result) = item else {
            return Err(fail("a user result is not an object".into()));
        };
        let user = field(&result, "userId")
            .and_then(Json::as_str)
            .ok_or_else(|| fail("a user result has no userId".into()))?
            .to_string();
        let origin = instant(&result, "jobStartDate", what)?;
        let day_metrics = take_field(&mut result, "dayMetrics");
        let exception_info = take_field(&mut result, "exceptionInfo");
        let common = [
            (
                "userId",
                field(&result, "userId").cloned().unwrap_or(Json::Null),
            ),
            (
                "managementUnitId",
                field(&result, "managementUnitId")
                    .cloned()
                    .unwrap_or(Json::Null),
            ),
        ];
        let at = |o: &Fields<'a>, name: &str| match field(o, name).and_then(Json::as_i64) {
            None => Ok(None),
            Some(s) => shifted(origin, s, chrono::TimeDelta::try_seconds)
                .map(Some)
                .ok_or_else(|| fail(format!("{name} {s} is out of range"))),
        };
        let (mut days, mut exceptions, mut repeated) = (Vec::new(), Vec::new(), false);
        for mut day in object_list(day_metrics, "dayMetrics", what)? {
            let start = at(&day, "dayStartOffsetSeconds")?.unwrap_or(origin);
            if start.date_naive() != chunk.partition {
                continue;
            }
            let start = iso(start);
            if !seen.insert(format!("day/{user}/{start}")) {
                repeated = true;
                continue;
            }
            day.push(("dayStart".into(), Json::Str(start.into())));
            for (from, to) in [
                ("adherencePercentage", "rangeAdherencePercentage"),
                ("conformancePercentage", "rangeConformancePercentage"),
                ("impact", "rangeImpact"),
            ] {
                let value = field(&result, from).cloned().unwrap_or(Json::Null);
                day.push((to.into(), value));
            }
            day.extend(
                result
                    .iter()
                    .filter(|(k, _)| !RESULT_FIELDS.contains(&&**k))
                    .cloned(),
            );
            day.extend(common.iter().map(|(k, v)| (Cow::Borrowed(*k), v.clone())));
            days.push(Json::Object(day));
        }
        let lookup = field(&result, "lookupIdToSecondaryPresenceId").and_then(Json::as_object);
        for mut exception in object_list(exception_info, "exceptionInfo", what)? {
            let start = at(&exception, "startOffsetSeconds")?
                .ok_or_else(|| fail("an exception has no startOffsetSeconds".into()))?;
            if start.date_naive() != chunk.partition {
                continue;
            }
            let start = iso(start);
            if !seen.insert(format!("exception/{user}/{start}")) {
                repeated = true;
                continue;
            }
            let end = at(&exception, "endOffsetSeconds")?
                .map_or(Json::Null, |end| Json::Str(iso(end).into()));
            let presence = field(&exception, "secondaryPresenceLookupId")
                .and_then(Json::as_str)
                .and_then(|l| lookup.and_then(|m| field(m, l)))
                .cloned()
                .unwrap_or(Json::Null);
            exception.extend([
                ("startDate".into(), Json::Str(start.into())),
                ("endDate".into(), end),
                ("secondaryPresenceId".into(), presence),
            ]);
            exception.extend(common.iter().map(|(k, v)| (Cow::Borrowed(*k), v.clone())));
            exceptions.push(Json::Object(exception));
        }
        Ok(root_lists(
            [("dayMetrics", days), ("exceptionInfo", exceptions)],
            repeated,
            chunk.partition,
        ))
    }

    /// A job with no items asks for nothing, but the permission is checked all the same.
    fn probes(&self, _yesterday: DateTime<Utc>) -> Vec<(&'static str, String, Option<Value>)> {
        vec![(
            "POST",
            BULK_PATH.to_string(),
            Some(json!({"timeZone": "UTC", "items": []})),
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn a_user_result_becomes_its_days_and_exceptions_of_the_chunk_day() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        let chunk = Chunk {
            dataset: "wfm-adherence",
            partition: day,
            start: crate::plan::day_start(day),
            end: crate::plan::day_start(day) + chrono::Duration::days(1),
            method: "job",
        };
        // userId served twice (the last counts); an exception of the next day; one without an
        // end; a secondary presence looked up by its id.
        let text = r#"{"userId": "u0", "userId": "u1", "managementUnitId": "m1",
            "jobStartDate": "2026-11-28T00:00:00Z", "adherencePercentage": 90.5, "extra": 1,
            "lookupIdToSecondaryPresenceId": {"1": "p-1"},
            "dayMetrics": [{"dayStartOffsetSeconds": 0, "exceptionCount": 2}],
            "exceptionInfo": [
              {"startOffsetSeconds": 3600, "endOffsetSeconds": 3700, "secondaryPresenceLookupId": "1"},
              {"startOffsetSeconds": 7200},
              {"startOffsetSeconds": 90000, "endOffsetSeconds": 90060}]}"#;
        let mut seen = Seen::default();
        let admitted = WFM_ADHERENCE
            .admit(Json::parse(text).unwrap(), &chunk, &mut seen)
            .unwrap();
        let Admitted::Rows(rows) = admitted else {
            panic!("not admitted");
        };
        let envelope = rows[0].0.to_value();
        assert_eq!(rows[0].1, day);
        let days = envelope["dayMetrics"].as_array().unwrap();
        assert_eq!(days.len(), 1);
        assert_eq!(days[0]["dayStart"], "2026-11-28T00:00:00Z");
        assert_eq!(days[0]["userId"], "u1");
        assert_eq!(days[0]["managementUnitId"], "m1");
        assert_eq!(days[0]["rangeAdherencePercentage"], 90.5);
        assert_eq!(days[0]["rangeImpact"], Value::Null);
        assert_eq!(days[0]["extra"], 1);
        let exceptions = envelope["exceptionInfo"].as_array().unwrap();
        assert_eq!(exceptions.len(), 2);
        assert_eq!(exceptions[0]["startDate"], "2026-11-28T01:00:00Z");
        assert_eq!(exceptions[0]["endDate"], "2026-11-28T01:01:40Z");
        assert_eq!(exceptions[0]["secondaryPresenceId"], "p-1");
        assert_eq!(exceptions[1]["endDate"], Value::Null);
        assert_eq!(exceptions[1]["secondaryPresenceId"], Value::Null);
        // The same result again adds nothing.
        let again = WFM_ADHERENCE
            .admit(Json::parse(text).unwrap(), &chunk, &mut seen)
            .unwrap();
        assert!(matches!(again, Admitted::Duplicate));
        // An offset beyond what an instant holds fails the record, naming it.
        let huge = r#"{"userId": "u", "jobStartDate": "2026-11-28T00:00:00Z",
            "exceptionInfo": [{"startOffsetSeconds": 9223372036854775807}]}"#;
        let err = WFM_ADHERENCE
            .admit(Json::parse(huge).unwrap(), &chunk, &mut seen)
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("startOffsetSeconds 9223372036854775807 is out of range"),
            "{err}"
        );
    }
}
