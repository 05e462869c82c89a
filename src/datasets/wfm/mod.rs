//! Workforce management (genesys-api.md §8): the business-unit hierarchy as dimensions
//! ([`units`]), published agent schedules ([`schedules`]) and historical adherence
//! ([`adherence`]).
//!
//! What the three share lives here: the business units and their settings (time zone, first
//! day of the week), the weeks a UTC day falls in, local dates turned into UTC instants, and
//! the platform's "answer" envelopes that carry a result inline or as a pre-signed download
//! URL. Items whose parts come from several endpoints are assembled into one composite item
//! and sent as a page whose body is `{"<items_field>": [...]}`, so the raw zone and `rebuild`
//! read exactly what was decoded, and a download URL (a credential) is never part of a page.
//! Schedules and adherence also share how an item becomes rows of their two root tables
//! ([`root_lists`], [`object_list`]).

pub mod adherence;
pub mod schedules;
pub mod units;

use bytes::Bytes;
use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::datasets::Admitted;
use crate::error::{Error, Result};
use crate::genesys::ApiClient;
use crate::genesys::paging::{PageSender, parse, send};
use crate::json::{FieldVec, Fields, Json, field};
use crate::plan::{Range, day_chunks, fmt};

use super::Chunk;

pub(crate) const BUSINESS_UNITS: &str = "/api/v2/workforcemanagement/businessunits";

/// A business unit as the schedules and adherence need it.
#[derive(Debug, Clone)]
pub(crate) struct BusinessUnit {
    pub id: String,
    pub time_zone: Tz,
    pub week_start: Weekday,
}

#[derive(Deserialize)]
struct Listing {
    #[serde(default)]
    entities: Vec<Map<String, Value>>,
}

/// `GET` a listing that is not paged (business units, management units, their users) and
/// return its `entities`.
pub(crate) async fn entities(api: &ApiClient, path: &str) -> Result<Vec<Map<String, Value>>> {
    let resp = api.get(path).await?;
    Ok(parse::<Listing>(path, &resp.body)?.entities)
}

fn id_of(entity: &Map<String, Value>, what: &str) -> Result<String> {
    entity
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| Error::Payload {
            path: what.to_string(),
            message: "an entity has no id".into(),
        })
}

/// The org's business units with their settings (`?expand=settings`: time zone and first day
/// of the week), in listing order.
pub(crate) async fn business_units(api: &ApiClient) -> Result<Vec<BusinessUnit>> {
    let mut out = Vec::new();
    for bu in entities(api, BUSINESS_UNITS).await? {
        let id = id_of(&bu, BUSINESS_UNITS)?;
        let path = format!("{BUSINESS_UNITS}/{id}?expand=settings");
        let full: Map<String, Value> = parse(&path, &api.get(&path).await?.body)?;
        let settings = full.get("settings").cloned().unwrap_or(Value::Null);
        out.push(BusinessUnit {
            time_zone: time_zone(settings.get("timeZone").and_then(Value::as_str), &path)?,
            week_start: week_start(settings.get("startDayOfWeek"), &path)?,
            id,
        });
    }
    Ok(out)
}

/// The management units of a business unit.
pub(crate) async fn management_units(
    api: &ApiClient,
    business_unit: &str,
) -> Result<Vec<Map<String, Value>>> {
    entities(
        api,
        &format!("{BUSINESS_UNITS}/{business_unit}/managementunits"),
    )
    .await
}

/// The ids of a management unit's agents.
pub(crate) async fn management_unit_users(api: &ApiClient, unit: &str) -> Result<Vec<String>> {
    let path = format!("/api/v2/workforcemanagement/managementunits/{unit}/users");
    entities(api, &path)
        .await?
        .iter()
        .map(|u| id_of(u, &path))
        .collect()
}

/// An IANA time zone as served (`America/New_York`).
pub(crate) fn time_zone(name: Option<&str>, what: &str) -> Result<Tz> {
    let name = name.unwrap_or_default();
    name.parse::<Tz>().map_err(|_| Error::Payload {
        path: what.to_string(),
        message: format!("{name:?} is not an IANA time zone"),
    })
}

fn week_start(v: Option<&Value>, what: &str) -> Result<Weekday> {
    let name = v.and_then(Value::as_str).unwrap_or_default();
    name.parse::<Weekday>().map_err(|_| Error::Payload {
        path: what.to_string(),
        message: format!("{name:?} is not a day of the week"),
    })
}

/// The UTC instant of local midnight of `date` in `tz`. Where a DST change skips midnight
/// (some zones change at 00:00), the first instant of the local day.
pub(crate) fn local_midnight(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    let mut at = date.and_time(NaiveTime::MIN);
    loop {
        if let Some(t) = tz.from_local_datetime(&at).earliest() {
            return t.with_timezone(&Utc);
        }
        at += chrono::Duration::minutes(15);
    }
}

/// The first day of the week `date` falls in, for weeks starting on `start`.
pub(crate) fn week_of(date: NaiveDate, start: Weekday) -> NaiveDate {
    let back = (7 + date.weekday().num_days_from_monday() - start.num_days_from_monday()) % 7;
    date - Days::new(u64::from(back))
}

/// The business unit's weeks (their first local dates) that the UTC instants `[start, end)`
/// touch: one, or two when a week boundary falls inside (a unit east of UTC sees its Monday
/// begin on the UTC Sunday).
pub(crate) fn weeks_covering(
    bu: &BusinessUnit,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Vec<NaiveDate> {
    let first = start.with_timezone(&bu.time_zone).date_naive();
    let last = (end - chrono::Duration::microseconds(1))
        .with_timezone(&bu.time_zone)
        .date_naive();
    let mut weeks = Vec::new();
    let mut day = first;
    while day <= last {
        let w = week_of(day, bu.week_start);
        if !weeks.contains(&w) {
            weeks.push(w);
        }
        day = day + Days::new(1);
    }
    weeks
}

/// UTC-day chunks of a range of whole days: WFM facts are replaced a whole UTC day at a time.
pub(crate) fn whole_day_chunks(
    dataset: &'static str,
    method: &'static str,
    range: Range,
) -> Result<Vec<Chunk>> {
    for (flag, at) in [("--from", range.from), ("--to", range.to)] {
        if at.time() != NaiveTime::MIN {
            return Err(Error::Input(format!(
                "{flag} {} is not a UTC midnight; {dataset} is extracted in whole UTC days",
                fmt(at)
            )));
        }
    }
    Ok(day_chunks(range, dataset, |_, _| method))
}

/// A composite page: `items` under `field`, serialised as the page's body.
pub(crate) async fn send_items(
    tx: &PageSender,
    field: &str,
    items: Vec<Value>,
    what: &str,
) -> Result<u64> {
    let mut envelope = Map::new();
    envelope.insert(field.to_string(), Value::Array(items));
    let body = Value::Object(envelope);
    let raw = Bytes::from(body.to_string());
    let Value::Object(mut envelope) = body else {
        unreachable!("built as an object")
    };
    let Some(Value::Array(items)) = envelope.remove(field) else {
        unreachable!("built with the list")
    };
    let items = items
        .iter()
        .map(|v| {
            serde_json::value::to_raw_value(v).map_err(|e| Error::Payload {
                path: what.to_string(),
                message: e.to_string(),
            })
        })
        .collect::<Result<Vec<Box<RawValue>>>>()?;
    send(tx, items, &raw).await
}

/// What an item that feeds two root tables (a schedule's shifts and markers, an agent's
/// adherence days and exceptions) becomes: one record naming each table's list of the rows
/// kept for `day` (see [`crate::decode::TreeDecoder`]), or, when none was kept, a duplicate if
/// any was `repeated` (seen before in the chunk), else outside the chunk.
pub(crate) fn root_lists<'a>(
    lists: [(&'static str, Vec<Json<'a>>); 2],
    repeated: bool,
    day: NaiveDate,
) -> Admitted<'a> {
    if lists.iter().all(|(_, rows)| rows.is_empty()) {
        return if repeated {
            Admitted::Duplicate
        } else {
            Admitted::Outside
        };
    }
    let fields = lists
        .into_iter()
        .map(|(name, rows)| (name.into(), Json::Array(rows)))
        .collect();
    Admitted::Rows(vec![(Json::Object(fields), day)])
}

/// The objects of a list taken out of an item (`name` the list's field, `what` the item's
/// path, for messages): none when it is absent or null; anything but a list of objects fails the
/// item.
pub(crate) fn object_list<'a>(
    value: Option<Json<'a>>,
    name: &str,
    what: &str,
) -> Result<Vec<FieldVec<'a>>> {
    let fail = |message: String| Error::Payload {
        path: what.to_string(),
        message,
    };
    match value {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::Array(a)) => a
            .into_iter()
            .map(|v| match v {
                Json::Object(o) => Ok(o),
                _ => Err(fail(format!("{name}[] holds a non-object"))),
            })
            .collect(),
        Some(_) => Err(fail(format!("{name} is not a list"))),
    }
}

/// The field `name` of an item as an instant, or an error naming the field.
pub(crate) fn instant(item: &Fields<'_>, name: &str, what: &str) -> Result<DateTime<Utc>> {
    field(item, name)
        .and_then(Json::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| Error::Payload {
            path: what.to_string(),
            message: format!("{name} is missing or not an instant"),
        })
}

/// `at` moved by `amount` (seconds or minutes, as `unit` makes it), or `None` when that is
/// beyond what an instant holds: a damaged offset fails its record instead of the process.
pub(crate) fn shifted(
    at: DateTime<Utc>,
    amount: i64,
    unit: fn(i64) -> Option<chrono::TimeDelta>,
) -> Option<DateTime<Utc>> {
    unit(amount).and_then(|d| at.checked_add_signed(d))
}

/// An instant as the API writes it (`2026-10-01T06:00:00Z`).
pub(crate) fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bu(tz: Tz, start: Weekday) -> BusinessUnit {
        BusinessUnit {
            id: "b".into(),
            time_zone: tz,
            week_start: start,
        }
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_utc_day_falls_in_the_units_local_weeks() {
        // 2026-10-04 is a Sunday. Sydney (UTC+10, weeks from Monday): the UTC Sunday is local
        // Sunday 10:00 to Monday 10:00, so it touches the week of Sep 28 and of Oct 5.
        let sydney = bu(chrono_tz::Australia::Sydney, Weekday::Mon);
        let (s, e) = (
            crate::plan::day_start(day("2026-10-04")),
            crate::plan::day_start(day("2026-10-05")),
        );
        assert_eq!(
            weeks_covering(&sydney, s, e),
            [day("2026-09-28"), day("2026-10-05")]
        );
        // New York, weeks from Sunday: the same UTC day is Sat 20:00 to Sun 20:00 local.
        let ny = bu(chrono_tz::America::New_York, Weekday::Sun);
        assert_eq!(
            weeks_covering(&ny, s, e),
            [day("2026-09-27"), day("2026-10-04")]
        );
        // A UTC Wednesday is inside one week everywhere.
        let (s, e) = (
            crate::plan::day_start(day("2026-10-07")),
            crate::plan::day_start(day("2026-10-08")),
        );
        assert_eq!(weeks_covering(&ny, s, e), [day("2026-10-04")]);
    }

    #[test]
    fn local_midnight_follows_daylight_saving() {
        let sydney = chrono_tz::Australia::Sydney;
        // Before the change on 2026-10-04 Sydney is UTC+10, after it UTC+11.
        assert_eq!(
            iso(local_midnight(sydney, day("2026-10-04"))),
            "2026-10-03T14:00:00Z"
        );
        assert_eq!(
            iso(local_midnight(sydney, day("2026-10-05"))),
            "2026-10-04T13:00:00Z"
        );
        // A zone that skips midnight (Santiago, 2026-09-06 00:00 -> 01:00) starts at 01:00.
        let santiago = chrono_tz::America::Santiago;
        assert_eq!(
            iso(local_midnight(santiago, day("2026-09-06"))),
            "2026-09-06T04:00:00Z"
        );
    }

    #[test]
    fn partial_days_are_refused() {
        let range = Range {
            from: crate::plan::day_start(day("2026-10-01")) + chrono::Duration::hours(6),
            to: crate::plan::day_start(day("2026-10-02")),
        };
        let e = whole_day_chunks("wfm-adherence", "job", range).unwrap_err();
        assert!(e.to_string().contains("whole UTC days"), "{e}");
    }
}
