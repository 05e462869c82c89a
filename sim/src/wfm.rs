//! Workforce management (genesys-api.md §8): business units in three time zones, their
//! management units (whose agents are the users conversations use), activity codes, published
//! schedules and historical adherence.
//!
//! - **Units.** "Americas" (America/New_York, weeks from Sunday; DST ends 2026-11-01),
//!   "EMEA" (Europe/Berlin, weeks from Monday; its activity codes are served as a download
//!   URL) and "APAC" (Australia/Sydney, weeks from Monday, east of UTC so its local week
//!   straddles UTC dates; DST starts 2026-10-04). Forty agents: 20, 12 and 8.
//! - **Schedules.** Every agent works five local days a week at a start hour of its own (06,
//!   09, 12 or 15 local), 8.5 hours of on-queue work, breaks and a meal; one day in five weeks
//!   is a full-day time off instead. The agent-schedule search answers deterministically by
//!   how many agents a request covers: inline up to `wfm_inline_max_agents`, as a download URL
//!   (no bearer token accepted, expiring after `wfm_download_ttl`) up to
//!   `wfm_processing_above_agents`, and `Processing` (never completed: the platform would
//!   deliver it as a notification) above.
//! - **Adherence.** Derived from the agents' own conversations: a conversation an agent takes
//!   outside an on-queue activity of its schedule is an exception. The bulk job answers 202
//!   `Processing`; the first poll completes it with one download URL per item.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde_json::{Value, json};

use crate::access;
use crate::error::ApiError;
use crate::model::{Id, format_instant};
use crate::org::Org;
use crate::rng::{Rng, mix};
use crate::server::AppState;

/// Any one of these reads the management units' agents and the activity codes.
const UNIT_PERMISSIONS: &[&str] = &[
    "wfm:schedule:view",
    "wfm:publishedSchedule:view",
    "wfm:historicalAdherence:view",
];
const SCHEDULE_PERMISSIONS: &[&str] = &["wfm:schedule:view", "wfm:publishedSchedule:view"];
const ADHERENCE_PERMISSIONS: &[&str] = &["wfm:historicalAdherence:view"];

const BASE: &str = "/api/v2/workforcemanagement";

/// A shift's activities: (category, minutes).
const PATTERN: &[(&str, i64)] = &[
    ("OnQueueWork", 120),
    ("Break", 15),
    ("OnQueueWork", 105),
    ("Meal", 30),
    ("OnQueueWork", 120),
    ("Break", 15),
    ("OnQueueWork", 105),
];
const CATEGORIES: &[(&str, &str, bool)] = &[
    ("OnQueueWork", "On Queue", true),
    ("Break", "Break", true),
    ("Meal", "Meal", false),
    ("TimeOff", "Vacation", true),
];

#[derive(Debug)]
pub(crate) struct BusinessUnit {
    pub(crate) id: Id,
    name: &'static str,
    pub(crate) tz: Tz,
    week_start: Weekday,
    /// Whether its activity codes come as a download URL.
    codes_by_download: bool,
    pub(crate) units: Vec<ManagementUnit>,
    /// (id, category, name, paid), in CATEGORIES order.
    codes: Vec<(Id, &'static str, &'static str, bool)>,
}

#[derive(Debug)]
pub(crate) struct ManagementUnit {
    pub(crate) id: Id,
    name: &'static str,
    /// Indices into the reference's agents.
    pub(crate) agents: Vec<usize>,
}

/// The WFM side of the org.
#[derive(Debug)]
pub(crate) struct Wfm {
    seed: u64,
    pub(crate) units: Vec<BusinessUnit>,
    agent_ids: Vec<Id>,
}

/// One generated shift.
#[derive(Debug, Clone)]
struct Shift {
    id: Id,
    agent: usize,
    start: DateTime<Utc>,
    /// (start, minutes, category).
    activities: Vec<(DateTime<Utc>, i64, &'static str)>,
    week: NaiveDate,
}

/// A business unit's layout: name, zone, week start, codes by download, management units
/// (name, agent indices).
type Layout = (
    &'static str,
    Tz,
    Weekday,
    bool,
    &'static [(&'static str, std::ops::Range<usize>)],
);

/// An interval of instants.
type Span = (DateTime<Utc>, DateTime<Utc>);

fn week_of(date: NaiveDate, start: Weekday) -> NaiveDate {
    let back = (7 + date.weekday().num_days_from_monday() - start.num_days_from_monday()) % 7;
    date - Days::new(u64::from(back))
}

fn local(tz: Tz, date: NaiveDate, minutes: i64) -> DateTime<Utc> {
    let mut at = date.and_time(NaiveTime::MIN) + chrono::Duration::minutes(minutes);
    loop {
        if let Some(t) = tz.from_local_datetime(&at).earliest() {
            return t.with_timezone(&Utc);
        }
        at += chrono::Duration::minutes(15);
    }
}

fn days_number(d: NaiveDate) -> u64 {
    d.num_days_from_ce() as u64
}

impl Wfm {
    pub(crate) fn new(org: &Org) -> Self {
        let reference = org.reference();
        let seed = reference.org_id.0 as u64;
        let mut rng = Rng::new(mix(&[seed, u64::from_be_bytes(*b"sim:wfm!")]));
        let mut id = || Id(rng.uuid());
        let layout: [Layout; 3] = [
            (
                "Americas",
                chrono_tz::America::New_York,
                Weekday::Sun,
                false,
                &[("Americas Support", 0..12), ("Americas Sales", 12..20)],
            ),
            (
                "EMEA",
                chrono_tz::Europe::Berlin,
                Weekday::Mon,
                true,
                &[("EMEA Support", 20..32)],
            ),
            (
                "APAC",
                chrono_tz::Australia::Sydney,
                Weekday::Mon,
                false,
                &[("APAC Support", 32..40)],
            ),
        ];
        let units = layout
            .iter()
            .map(|(name, tz, start, download, mus)| BusinessUnit {
                id: id(),
                name,
                tz: *tz,
                week_start: *start,
                codes_by_download: *download,
                units: mus
                    .iter()
                    .map(|(n, r)| ManagementUnit {
                        id: id(),
                        name: n,
                        agents: r.clone().collect(),
                    })
                    .collect(),
                codes: CATEGORIES
                    .iter()
                    .map(|(c, n, p)| (id(), *c, *n, *p))
                    .collect(),
            })
            .collect();
        Wfm {
            seed,
            units,
            agent_ids: reference.agents.iter().map(|a| a.id).collect(),
        }
    }

    fn unit(&self, id: &str) -> Option<&BusinessUnit> {
        self.units.iter().find(|b| b.id.to_string() == id)
    }

    fn management_unit(&self, id: &str) -> Option<(&BusinessUnit, &ManagementUnit)> {
        self.units
            .iter()
            .flat_map(|b| b.units.iter().map(move |m| (b, m)))
            .find(|(_, m)| m.id.to_string() == id)
    }

    fn code(bu: &BusinessUnit, category: &str) -> Id {
        bu.codes
            .iter()
            .find(|c| c.1 == category)
            .map_or(Id(0), |c| c.0)
    }

    /// Whether `agent` is off on the `k`-th day (0..7) of its week; `Some(true)`: a full-day
    /// time off instead of a shift.
    fn day_kind(&self, agent: usize, week: NaiveDate, k: u64) -> Option<bool> {
        let a = agent as u64;
        if k == a % 7 || k == (a + 1) % 7 {
            return None;
        }
        let time_off = k == (a + 3) % 7 && (a + days_number(week) / 7).is_multiple_of(5);
        Some(time_off)
    }

    fn start_minutes(agent: usize) -> i64 {
        (6 + 3 * (agent as i64 % 4)) * 60
    }

    /// The shift (or time off, as `Err(date)`) of `agent` on local `date`, if it works then.
    fn shift(
        &self,
        bu: &BusinessUnit,
        agent: usize,
        date: NaiveDate,
    ) -> Option<Result<Shift, NaiveDate>> {
        let week = week_of(date, bu.week_start);
        let k = (date - week).num_days() as u64;
        match self.day_kind(agent, week, k)? {
            true => Some(Err(date)),
            false => {
                let start = local(bu.tz, date, Self::start_minutes(agent));
                let mut at = start;
                let activities = PATTERN
                    .iter()
                    .map(|(c, m)| {
                        let a = (at, *m, *c);
                        at += chrono::Duration::minutes(*m);
                        a
                    })
                    .collect();
                Some(Ok(Shift {
                    id: Id(Rng::new(mix(&[self.seed, agent as u64, days_number(date)])).uuid()),
                    agent,
                    start,
                    activities,
                    week,
                }))
            }
        }
    }

    /// Local dates whose shifts or markers may start in `[from, to)`.
    fn local_dates(bu: &BusinessUnit, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<NaiveDate> {
        let first = from.with_timezone(&bu.tz).date_naive() - Days::new(1);
        let last = to.with_timezone(&bu.tz).date_naive() + Days::new(1);
        first.iter_days().take_while(|d| *d <= last).collect()
    }

    fn schedule_id(&self, bu: &BusinessUnit, week: NaiveDate) -> Id {
        Id(Rng::new(mix(&[self.seed, bu.id.0 as u64, days_number(week)])).uuid())
    }

    /// The agent schedules of `agents` (indices) in `bu` with shifts and markers starting in
    /// `[from, to)`: the search result (`BuAgentSchedulesSearchResponse`).
    fn search(
        &self,
        bu: &BusinessUnit,
        agents: &[usize],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Value {
        let mut schedules = Vec::new();
        let mut weeks = Vec::new();
        for &agent in agents {
            let (mut shifts, mut markers) = (Vec::new(), Vec::new());
            for date in Self::local_dates(bu, from, to) {
                match self.shift(bu, agent, date) {
                    Some(Ok(s)) if s.start >= from && s.start < to => {
                        if !weeks.contains(&s.week) {
                            weeks.push(s.week);
                        }
                        shifts.push(self.render_shift(bu, &s));
                    }
                    Some(Err(d)) => {
                        let offset = Self::start_minutes(agent);
                        let start = local(bu.tz, d, 0) + chrono::Duration::minutes(offset);
                        if start >= from && start < to {
                            markers.push(json!({
                                "businessUnitDate": d.to_string(),
                                "startOffsetMinutes": offset,
                                "endOffsetMinutes": offset + 480,
                                "lengthMinutes": 480,
                                "description": "Vacation",
                                "activityCodeId": Self::code(bu, "TimeOff").to_string(),
                                "paid": true,
                                "payableMinutes": 480,
                                "timeOffRequestId": Id(Rng::new(mix(&[self.seed, agent as u64, days_number(d), 7])).uuid()).to_string(),
                                "timeOffRequestSyncVersion": 1,
                            }));
                        }
                    }
                    _ => {}
                }
            }
            if shifts.is_empty() && markers.is_empty() {
                continue;
            }
            let user = self.agent_ids[agent];
            schedules.push(json!({
                "user": {"id": user.to_string(), "selfUri": format!("/api/v2/users/{user}")},
                "shifts": shifts,
                "fullDayTimeOffMarkers": markers,
            }));
        }
        json!({
            "agentSchedules": schedules,
            "businessUnitTimeZone": bu.tz.name(),
            "publishedSchedules": weeks.iter().map(|w| json!({
                "id": self.schedule_id(bu, *w).to_string(),
                "weekDate": w.to_string(),
                "weekCount": 1,
            })).collect::<Vec<_>>(),
        })
    }

    fn render_shift(&self, bu: &BusinessUnit, s: &Shift) -> Value {
        let schedule = self.schedule_id(bu, s.week);
        json!({
            "id": s.id.to_string(),
            "startDate": format_instant(s.start),
            "lengthMinutes": PATTERN.iter().map(|p| p.1).sum::<i64>(),
            "activities": s.activities.iter().map(|(at, m, c)| json!({
                "startDate": format_instant(*at),
                "lengthMinutes": m,
                "description": c,
                "activityCodeId": Self::code(bu, c).to_string(),
                "paid": *c != "Meal",
                "payableMinutes": if *c == "Meal" { 0 } else { *m },
            })).collect::<Vec<_>>(),
            "manuallyEdited": false,
            "schedule": {"id": schedule.to_string(), "weekDate": s.week.to_string(), "selfUri": format!("{BASE}/businessunits/{}/weeks/{}/schedules/{schedule}", bu.id, s.week)},
            "workPlanId": Id(Rng::new(mix(&[self.seed, s.agent as u64 % 4, 11])).uuid()).to_string(),
        })
    }

    /// One bulk adherence result (`WfmHistoricalAdherenceBulkResult`) for a management unit over
    /// `[from, to)`, days counted in `tz`.
    fn adherence(
        &self,
        org: &Org,
        mu: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        tz: Tz,
    ) -> Option<Value> {
        let (bu, unit) = self.management_unit(mu)?;
        // The days of the range, in the job's time zone.
        let mut days = Vec::new();
        let mut date = from.with_timezone(&tz).date_naive();
        loop {
            let start = local(tz, date, 0).max(from);
            if start >= to {
                break;
            }
            days.push((start, local(tz, date + Days::new(1), 0).min(to)));
            date = date + Days::new(1);
        }
        // Each agent's conversations started in the range: (start, end).
        let mut talks: HashMap<Id, Vec<Span>> = HashMap::new();
        for conversation in org.conversations_started_in(from, to) {
            let start = parse(&conversation["conversationStart"]);
            let end = conversation
                .get("conversationEnd")
                .map(parse)
                .unwrap_or(start);
            for p in conversation["participants"]
                .as_array()
                .into_iter()
                .flatten()
            {
                if p["purpose"] == "agent"
                    && let Some(u) = p["userId"].as_str()
                    && let Some(id) = self.agent_ids.iter().find(|a| a.to_string() == u)
                {
                    talks.entry(*id).or_default().push((start, end));
                }
            }
        }
        let mut users = Vec::new();
        for &agent in &unit.agents {
            let shifts: Vec<Shift> = Self::local_dates(bu, from - chrono::Duration::days(1), to)
                .into_iter()
                .filter_map(|d| self.shift(bu, agent, d).and_then(Result::ok))
                .collect();
            let mut exceptions = Vec::new();
            let mut metrics = Vec::new();
            let mine = talks
                .get(&self.agent_ids[agent])
                .cloned()
                .unwrap_or_default();
            for &(day_start, day_end) in &days {
                let scheduled: Vec<&Shift> = shifts
                    .iter()
                    .filter(|s| s.start >= day_start && s.start < day_end)
                    .collect();
                let schedule_secs: i64 = scheduled.len() as i64 * 510 * 60;
                let on_queue_secs: i64 = scheduled.len() as i64 * 450 * 60;
                let (mut count, mut duration, mut actual) = (0i64, 0i64, 0i64);
                let mut starts = Vec::new();
                for &(start, end) in mine.iter().filter(|(s, _)| *s >= day_start && *s < day_end) {
                    actual += (end - start).num_seconds();
                    let activity =
                        shifts
                            .iter()
                            .flat_map(|s| s.activities.iter())
                            .find(|(at, m, _)| {
                                start >= *at && start < *at + chrono::Duration::minutes(*m)
                            });
                    let inside = activity.is_some_and(|(at, m, c)| {
                        *c == "OnQueueWork" && end <= *at + chrono::Duration::minutes(*m)
                    });
                    if inside || starts.contains(&start) {
                        continue;
                    }
                    starts.push(start);
                    count += 1;
                    duration += (end - start).num_seconds();
                    let category = activity.map_or("Unscheduled", |a| a.2);
                    exceptions.push(json!({
                        "startOffsetSeconds": (start - from).num_seconds(),
                        "endOffsetSeconds": (end - from).num_seconds(),
                        "scheduledActivityCodeId": activity.map(|a| Self::code(bu, a.2).to_string()),
                        "scheduledActivityCategory": category,
                        "actualActivityCodeId": Self::code(bu, "OnQueueWork").to_string(),
                        "actualActivityCategory": "OnQueueWork",
                        "systemPresence": "OnQueue",
                        "routingStatus": "INTERACTING",
                        "impact": if category == "Unscheduled" { "Positive" } else { "Negative" },
                        "secondaryPresenceLookupId": "1",
                    }));
                }
                let pct = |part: i64, whole: i64| {
                    if whole == 0 {
                        100.0
                    } else {
                        (100.0 * part as f64 / whole as f64).clamp(0.0, 100.0)
                    }
                };
                metrics.push(json!({
                    "dayStartOffsetSeconds": (day_start - from).num_seconds(),
                    "adherenceScheduleSeconds": schedule_secs,
                    "conformanceScheduleSeconds": on_queue_secs,
                    "conformanceActualSeconds": actual,
                    "exceptionCount": count,
                    "exceptionDurationSeconds": duration,
                    "impactSeconds": duration,
                    "scheduleLengthSeconds": schedule_secs,
                    "actualLengthSeconds": actual,
                    "adherencePercentage": pct(schedule_secs - duration, schedule_secs),
                    "conformancePercentage": pct(actual, on_queue_secs),
                }));
            }
            users.push(json!({
                "userId": self.agent_ids[agent].to_string(),
                "adherencePercentage": metrics.first().map_or(json!(100.0), |m| m["adherencePercentage"].clone()),
                "conformancePercentage": metrics.first().map_or(json!(100.0), |m| m["conformancePercentage"].clone()),
                "impact": if exceptions.is_empty() { "Neutral" } else { "Negative" },
                "exceptionInfo": exceptions,
                "dayMetrics": metrics,
            }));
        }
        Some(json!({
            "startDate": format_instant(from),
            "endDate": format_instant(to),
            "managementUnitId": mu,
            "userResults": users,
            "lookupIdToSecondaryPresenceId": {"1": Self::code(bu, "OnQueueWork").to_string()},
        }))
    }
}

/// A weekday as the API spells it (`Sunday`).
fn day_name(d: Weekday) -> &'static str {
    [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ][d.num_days_from_monday() as usize]
}

fn parse(v: &Value) -> DateTime<Utc> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map_or(DateTime::<Utc>::MIN_UTC, |t| t.with_timezone(&Utc))
}

impl Org {
    /// The WFM hierarchy as `wfm-units` reads it: per business unit, its management units with
    /// their agents (`managementUnits[].users[]`) and its activity codes (`activityCodes[]`).
    pub fn wfm_units(&self) -> Vec<Value> {
        let wfm = Wfm::new(self);
        wfm.units
            .iter()
            .map(|bu| {
                json!({
                    "id": bu.id.to_string(),
                    "managementUnits": bu.units.iter().map(|m| json!({
                        "id": m.id.to_string(),
                        "users": m.agents.iter().map(|a| json!({"id": wfm.agent_ids[*a].to_string()})).collect::<Vec<_>>(),
                    })).collect::<Vec<_>>(),
                    "activityCodes": bu.codes.iter().map(|c| json!({"id": c.0.to_string()})).collect::<Vec<_>>(),
                })
            })
            .collect()
    }

    /// Every published agent schedule with shifts or full-day time off starting in `[from,
    /// to)`, over all business units (as the search serves them, plus `businessUnitTimeZone`).
    pub fn wfm_schedules(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Value> {
        let wfm = Wfm::new(self);
        wfm.units
            .iter()
            .map(|bu| {
                let agents: Vec<usize> = bu.units.iter().flat_map(|m| m.agents.clone()).collect();
                wfm.search(bu, &agents, from, to)
            })
            .collect()
    }

    /// Bulk adherence results for every management unit over `[from, to)`, in UTC days.
    pub fn wfm_adherence(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Value> {
        let wfm = Wfm::new(self);
        let ids: Vec<String> = wfm
            .units
            .iter()
            .flat_map(|b| b.units.iter().map(|m| m.id.to_string()))
            .collect();
        ids.iter()
            .filter_map(|mu| wfm.adherence(self, mu, from, to, chrono_tz::UTC))
            .collect()
    }
}

/// Bulk adherence jobs by id.
#[derive(Debug, Default)]
pub(crate) struct AdherenceJobs {
    jobs: Mutex<HashMap<String, AdherenceJob>>,
}

/// One bulk adherence job: its results' download URLs, and when it was submitted (it completes
/// by time when the simulator has a job processing time).
#[derive(Debug)]
struct AdherenceJob {
    urls: Vec<String>,
    submitted: std::time::Instant,
}

fn wfm(state: &AppState) -> Wfm {
    Wfm::new(&state.org)
}

/// The URL of a published download, on the host the request came to.
fn publish(state: &AppState, headers: &HeaderMap, body: &Value) -> String {
    let token = state.downloads.publish(
        state.config.seed,
        Bytes::from(body.to_string()),
        state.config.wfm_download_ttl,
    );
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!(
        "http://{host}/downloads/{token}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature={}",
        &token[..16]
    )
}

/// `GET /api/v2/workforcemanagement/businessunits`: not paged.
pub(crate) async fn business_units(State(state): State<Arc<AppState>>) -> Json<Value> {
    let entities: Vec<Value> = wfm(&state)
        .units
        .iter()
        .map(|b| {
            json!({
                "id": b.id.to_string(),
                "name": b.name,
                "authorized": true,
                "division": {"id": crate::data::DIVISIONS[0].0, "selfUri": format!("/api/v2/authorization/divisions/{}", crate::data::DIVISIONS[0].0)},
                "selfUri": format!("{BASE}/businessunits/{}", b.id),
            })
        })
        .collect();
    Json(json!({ "entities": entities }))
}

fn unknown_unit(id: &str) -> ApiError {
    ApiError::not_found(format!("Business unit {id} was not found."))
}

/// `GET .../businessunits/{id}` (`expand=settings` adds the settings).
pub(crate) async fn business_unit(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let wfm = wfm(&state);
    let bu = wfm.unit(&id).ok_or_else(|| unknown_unit(&id))?;
    let mut out = json!({
        "id": bu.id.to_string(),
        "name": bu.name,
        "division": {"id": crate::data::DIVISIONS[0].0},
        "selfUri": format!("{BASE}/businessunits/{}", bu.id),
    });
    if q.get("expand")
        .is_some_and(|e| e.split(',').any(|x| x == "settings"))
    {
        out["settings"] = json!({
            "startDayOfWeek": day_name(bu.week_start),
            "timeZone": bu.tz.name(),
            "metadata": {"version": 3, "dateModified": "2026-01-05T10:00:00Z"},
        });
    }
    Ok(Json(out))
}

/// `GET .../businessunits/{id}/managementunits`.
pub(crate) async fn management_units(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let wfm = wfm(&state);
    let bu = wfm.unit(&id).ok_or_else(|| unknown_unit(&id))?;
    let entities: Vec<Value> = bu
        .units
        .iter()
        .map(|m| {
            json!({
                "id": m.id.to_string(),
                "name": m.name,
                "businessUnit": {"id": bu.id.to_string(), "selfUri": format!("{BASE}/businessunits/{}", bu.id)},
                "startDayOfWeek": day_name(bu.week_start),
                "timeZone": bu.tz.name(),
                "division": {"id": crate::data::DIVISIONS[0].0},
                "version": 2,
                "metadata": {"version": 2, "dateModified": "2026-01-05T10:00:00Z"},
                "dateModified": "2026-01-05T10:00:00Z",
                "selfUri": format!("{BASE}/managementunits/{}", m.id),
            })
        })
        .collect();
    Ok(Json(json!({ "entities": entities })))
}

/// `GET .../managementunits/{id}/users`.
pub(crate) async fn management_unit_users(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    access::require(&state, UNIT_PERMISSIONS)?;
    let wfm = wfm(&state);
    let (_, mu) = wfm
        .management_unit(&id)
        .ok_or_else(|| ApiError::not_found(format!("Management unit {id} was not found.")))?;
    let entities: Vec<Value> = mu
        .agents
        .iter()
        .map(|a| {
            let id = wfm.agent_ids[*a];
            json!({"id": id.to_string(), "selfUri": format!("/api/v2/users/{id}")})
        })
        .collect();
    Ok(Json(json!({ "entities": entities })))
}

/// `GET .../businessunits/{id}/activitycodes`: inline, or as a download URL for the unit that
/// uses the download service (and whenever `forceDownloadService=true`).
pub(crate) async fn activity_codes(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    access::require(&state, UNIT_PERMISSIONS)?;
    let wfm = wfm(&state);
    let bu = wfm.unit(&id).ok_or_else(|| unknown_unit(&id))?;
    let entities: Vec<Value> = bu
        .codes
        .iter()
        .map(|(cid, category, name, paid)| {
            json!({
                "id": cid.to_string(),
                "name": name,
                "active": true,
                "defaultCode": true,
                "category": category,
                "lengthInMinutes": match *category { "Break" => 15, "Meal" => 30, _ => 60 },
                "countsAsPaidTime": paid,
                "countsAsWorkTime": *category == "OnQueueWork",
                "agentTimeOffSelectable": *category == "TimeOff",
                "countsTowardShrinkage": *category != "OnQueueWork",
                "plannedShrinkage": *category != "OnQueueWork",
                "interruptible": false,
                "secondaryPresences": [],
                "metadata": {"version": 1, "dateModified": "2026-01-05T10:00:00Z"},
                "selfUri": format!("{BASE}/businessunits/{}/activitycodes/{cid}", bu.id),
            })
        })
        .collect();
    let listing = json!({ "entities": entities });
    if bu.codes_by_download || q.get("forceDownloadService").is_some_and(|v| v == "true") {
        return Ok(Json(
            json!({ "downloadUrl": publish(&state, &headers, &listing) }),
        ));
    }
    Ok(Json(listing))
}

fn instant_field(body: &Value, field: &str) -> Result<DateTime<Utc>, ApiError> {
    body.get(field)
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "{field} is required and must be an ISO-8601 instant"
            ))
        })
}

/// The agent-schedule search for a business unit or a management unit; the answer's shape
/// depends on how many agents the request covers.
fn search(
    state: &AppState,
    headers: &HeaderMap,
    bu: &BusinessUnit,
    agents: Vec<usize>,
    wfm: &Wfm,
    body: &Value,
) -> Result<Json<Value>, ApiError> {
    let (from, to) = (
        instant_field(body, "startDate")?,
        instant_field(body, "endDate")?,
    );
    if to <= from || to - from > chrono::Duration::days(32) {
        return Err(ApiError::bad_request(
            "The date range must be positive and at most 32 days.",
        ));
    }
    let agents: Vec<usize> = match body.get("userIds").and_then(Value::as_array) {
        Some(ids) => agents
            .into_iter()
            .filter(|a| {
                ids.iter()
                    .any(|i| i.as_str() == Some(&wfm.agent_ids[*a].to_string()))
            })
            .collect(),
        None => agents,
    };
    let operation = Id(Rng::new(mix(&[
        wfm.seed,
        from.timestamp() as u64,
        agents.len() as u64,
    ]))
    .uuid())
    .to_string();
    let config = &state.config;
    if agents.len() > config.wfm_processing_above_agents {
        state.stats.record_wfm_answer("processing");
        return Ok(Json(
            json!({"status": "Processing", "operationId": operation, "progress": 0}),
        ));
    }
    let result = wfm.search(bu, &agents, from, to);
    if agents.len() > config.wfm_inline_max_agents {
        state.stats.record_wfm_answer("download");
        return Ok(Json(json!({
            "status": "Complete",
            "operationId": operation,
            "progress": 100,
            "downloadUrl": publish(state, headers, &result),
        })));
    }
    state.stats.record_wfm_answer("inline");
    Ok(Json(
        json!({"status": "Complete", "operationId": operation, "progress": 100, "result": result}),
    ))
}

/// `POST .../businessunits/{id}/agentschedules/search`.
pub(crate) async fn search_business_unit(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    access::require(&state, SCHEDULE_PERMISSIONS)?;
    let body: Value =
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let wfm = wfm(&state);
    let bu = wfm.unit(&id).ok_or_else(|| unknown_unit(&id))?;
    let agents = bu.units.iter().flat_map(|m| m.agents.clone()).collect();
    search(&state, &headers, bu, agents, &wfm, &body)
}

/// `POST .../managementunits/{id}/agentschedules/search`.
pub(crate) async fn search_management_unit(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    access::require(&state, SCHEDULE_PERMISSIONS)?;
    let body: Value =
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let wfm = wfm(&state);
    let (bu, mu) = wfm
        .management_unit(&id)
        .ok_or_else(|| ApiError::not_found(format!("Management unit {id} was not found.")))?;
    search(&state, &headers, bu, mu.agents.clone(), &wfm, &body)
}

/// `POST .../adherence/historical/bulk`: 202 `Processing`, results published as downloads.
pub(crate) async fn adherence_bulk(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    access::require(&state, ADHERENCE_PERMISSIONS)?;
    let body: Value =
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let tz: Tz = body
        .get("timeZone")
        .and_then(Value::as_str)
        .unwrap_or("UTC")
        .parse()
        .map_err(|_| ApiError::bad_request("timeZone must be an Olson time zone"))?;
    let wfm = wfm(&state);
    let mut urls = Vec::new();
    for item in body
        .get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (from, to) = (
            instant_field(item, "startDate")?,
            instant_field(item, "endDate")?,
        );
        if to <= from || to - from > chrono::Duration::days(7) {
            return Err(ApiError::bad_request(
                "An item's range must be positive and at most 7 days with exceptions.",
            ));
        }
        let mu = item
            .get("managementUnitId")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let result = wfm
            .adherence(&state.org, mu, from, to, tz)
            .ok_or_else(|| ApiError::not_found(format!("Management unit {mu} was not found.")))?;
        urls.push(publish(&state, &headers, &result));
    }
    let id = Id(Rng::new(mix(&[
        wfm.seed,
        state.stats.record_wfm_answer("adherence-job"),
    ]))
    .uuid())
    .to_string();
    if urls.is_empty() {
        return Ok(
            Json(json!({"job": {"id": id, "status": "Complete"}, "downloadUrls": []}))
                .into_response(),
        );
    }
    state
        .adherence_jobs
        .jobs
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(
            id.clone(),
            AdherenceJob {
                urls,
                submitted: std::time::Instant::now(),
            },
        );
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"job": {"id": id, "status": "Processing", "selfUri": format!("{BASE}/adherence/historical/bulk/jobs/{id}")}})),
    )
        .into_response())
}

/// `GET .../adherence/historical/bulk/jobs/{jobId}`: `Processing` until the configured job
/// processing time has passed since the submission (by time, however often it is polled),
/// then complete with its download URLs; complete from the first poll without one.
pub(crate) async fn adherence_job(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let jobs = state
        .adherence_jobs
        .jobs
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let job = jobs
        .get(&id)
        .ok_or_else(|| ApiError::not_found(format!("Job {id} was not found.")))?;
    if let Some(processing) = state.config.job_processing_time
        && job.submitted.elapsed() < processing
    {
        return Ok(Json(json!({"job": {"id": id, "status": "Processing"}})));
    }
    Ok(Json(
        json!({"job": {"id": id, "status": "Complete"}, "downloadUrls": job.urls}),
    ))
}
