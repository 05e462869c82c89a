//! The date range of a run, and how datasets cut it into day chunks.
//!
//! A day chunk is one UTC day of the range (or the part of it the range covers): the unit of
//! fetching, writing, checkpointing and retry. Every record belongs to the chunk its instant
//! falls in, so chunks never share a record and each fills exactly one date partition.

use chrono::{DateTime, Days, NaiveDate, NaiveTime, SecondsFormat, Utc};

use crate::datasets::Chunk;
use crate::error::{Error, Result};

/// `[from, to)` in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

pub fn day_start(d: NaiveDate) -> DateTime<Utc> {
    d.and_time(NaiveTime::MIN).and_utc()
}

/// Parses a `--from`/`--to` value: a UTC date (`2026-11-01`, meaning its midnight) or an
/// RFC 3339 instant (`2026-11-01T06:00:00Z`, any offset).
pub fn parse_bound(flag: &str, value: &str) -> Result<DateTime<Utc>> {
    let v = value.trim();
    if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        return Ok(day_start(d));
    }
    DateTime::parse_from_rfc3339(v).map(|t| t.with_timezone(&Utc)).map_err(|_| {
        Error::Input(format!(
            "{flag} {value:?} is neither a date (YYYY-MM-DD) nor an RFC 3339 instant (2026-11-01T06:00:00Z)"
        ))
    })
}

pub fn parse_date(flag: &str, value: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .map_err(|_| Error::Input(format!("{flag} {value:?} is not a date (YYYY-MM-DD)")))
}

impl Range {
    /// Resolves the range flags: `--date D`, or `--from` with an optional `--to` (default: the
    /// start of today, UTC), or nothing at all: the nightly run, which covers the last
    /// `lookback_days` whole UTC days (default 1: yesterday), so records that changed after
    /// the fact (wrap-ups, evaluations, late metrics) are re-extracted and replaced.
    pub fn from_flags(
        from: Option<&str>,
        to: Option<&str>,
        date: Option<&str>,
        lookback_days: Option<u32>,
        now: DateTime<Utc>,
    ) -> Result<Range> {
        let today = now.date_naive();
        if let Some(n) = lookback_days {
            if from.is_some() || to.is_some() || date.is_some() {
                return Err(Error::Input(
                    "--lookback-days sets the nightly window; do not combine it with --from, --to or --date".into(),
                ));
            }
            if n == 0 || n > 366 {
                return Err(Error::Input(format!(
                    "--lookback-days {n} must be between 1 and 366"
                )));
            }
        }
        let range = match (from, to, date) {
            (Some(_), _, Some(d)) | (None, Some(_), Some(d)) => {
                return Err(Error::Input(format!(
                    "--date {d} cannot be combined with --from/--to"
                )));
            }
            (None, None, Some(d)) => {
                let d = parse_date("--date", d)?;
                Range {
                    from: day_start(d),
                    to: day_start(d + Days::new(1)),
                }
            }
            (Some(f), t, None) => Range {
                from: parse_bound("--from", f)?,
                to: match t {
                    Some(t) => parse_bound("--to", t)?,
                    None => day_start(today),
                },
            },
            (None, Some(_), None) => return Err(Error::Input("--to needs --from".into())),
            (None, None, None) => Range {
                from: day_start(today - Days::new(u64::from(lookback_days.unwrap_or(1)))),
                to: day_start(today),
            },
        };
        if range.from >= range.to {
            return Err(Error::Input(format!(
                "the range is empty: --from {} is not before --to {}",
                fmt(range.from),
                fmt(range.to)
            )));
        }
        Ok(range)
    }

    /// Never ask for conversations up to "now": they are still arriving. The end is clamped to
    /// `now - margin`; a range entirely in the future is an error.
    pub fn clamp_to_now(self, now: DateTime<Utc>, margin: chrono::Duration) -> Result<Range> {
        let limit = now - margin;
        if self.from >= limit {
            return Err(Error::Input(format!(
                "the range starts at {}, which is not in the past yet",
                fmt(self.from)
            )));
        }
        if self.to > limit {
            tracing::warn!(requested_to = %fmt(self.to), effective_to = %fmt(limit), "range end is too recent; clamped");
            return Ok(Range {
                from: self.from,
                to: limit,
            });
        }
        Ok(self)
    }
}

/// The UTC days `range` touches, as chunks of `dataset`, each clipped to the range; `method`
/// names how a chunk is fetched given its `[start, end)`.
pub fn day_chunks(
    range: Range,
    dataset: &'static str,
    method: impl Fn(DateTime<Utc>, DateTime<Utc>) -> &'static str,
) -> Vec<Chunk> {
    let mut out = Vec::new();
    let mut day = range.from.date_naive();
    while day_start(day) < range.to {
        let next = day_start(day + Days::new(1));
        let start = range.from.max(day_start(day));
        let end = range.to.min(next);
        out.push(Chunk {
            dataset,
            partition: day,
            start,
            end,
            method: method(start, end),
        });
        day = day + Days::new(1);
    }
    out
}

/// The one chunk of a snapshot dataset (a dimension listed whole): partitioned by the run's
/// snapshot date and covering that UTC day.
pub fn snapshot_chunk(dataset: &'static str, day: NaiveDate) -> Chunk {
    Chunk {
        dataset,
        partition: day,
        start: day_start(day),
        end: day_start(day + Days::new(1)),
        method: "listing",
    }
}

/// An instant as the API writes them (`2026-10-01T08:15:00.000Z`).
pub fn fmt_millis(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn fmt(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, 11, 0, 0).unwrap()
    }

    #[test]
    fn no_flags_means_yesterday_utc() {
        let r = Range::from_flags(None, None, None, None, now()).unwrap();
        assert_eq!(fmt(r.from), "2026-11-23T00:00:00Z");
        assert_eq!(fmt(r.to), "2026-11-24T00:00:00Z");
    }

    #[test]
    fn lookback_covers_the_last_whole_days_and_stands_alone() {
        let r = Range::from_flags(None, None, None, Some(3), now()).unwrap();
        assert_eq!(fmt(r.from), "2026-11-21T00:00:00Z");
        assert_eq!(fmt(r.to), "2026-11-24T00:00:00Z");
        assert!(Range::from_flags(None, None, Some("2026-11-01"), Some(3), now()).is_err());
        assert!(Range::from_flags(None, None, None, Some(0), now()).is_err());
    }

    #[test]
    fn dates_and_instants_are_accepted() {
        let r =
            Range::from_flags(Some("2026-11-01"), Some("2026-11-08"), None, None, now()).unwrap();
        assert_eq!(day_chunks(r, "d", |_, _| "job").len(), 7);
        let r = Range::from_flags(
            Some("2026-11-01T06:00:00+01:00"),
            Some("2026-11-02T12:00:00Z"),
            None,
            None,
            now(),
        )
        .unwrap();
        let c = day_chunks(r, "d", |_, _| "job");
        assert_eq!(c.len(), 2);
        assert_eq!(fmt(c[0].start), "2026-11-01T05:00:00Z");
        assert!(!c[0].full_day() && !c[1].full_day());
        assert_eq!(fmt(c[1].end), "2026-11-02T12:00:00Z");
    }

    #[test]
    fn bad_ranges_name_the_problem() {
        let e = Range::from_flags(Some("2026-11-08"), Some("2026-11-01"), None, None, now())
            .unwrap_err();
        assert!(e.to_string().contains("range is empty"), "{e}");
        let e = Range::from_flags(Some("11/01/2026"), None, None, None, now()).unwrap_err();
        assert!(e.to_string().contains("--from \"11/01/2026\""), "{e}");
        let e = Range::from_flags(None, Some("2026-11-01"), None, None, now()).unwrap_err();
        assert!(e.to_string().contains("--to needs --from"), "{e}");
        let e = Range::from_flags(Some("2026-11-01"), None, Some("2026-11-02"), None, now())
            .unwrap_err();
        assert!(e.to_string().contains("cannot be combined"), "{e}");
        let e = Range::from_flags(None, None, Some("2026-02-30"), None, now()).unwrap_err();
        assert!(e.to_string().contains("not a date"), "{e}");
    }

    #[test]
    fn chunks_switch_to_the_query_after_the_availability_date() {
        let r =
            Range::from_flags(Some("2026-11-20"), Some("2026-11-24"), None, None, now()).unwrap();
        let avail = Utc.with_ymd_and_hms(2026, 11, 22, 6, 0, 0).unwrap();
        let method = |_, end| if end <= avail { "job" } else { "query" };
        let m: Vec<_> = day_chunks(r, "d", method)
            .iter()
            .map(|c| c.method)
            .collect();
        assert_eq!(m, ["job", "job", "query", "query"]);
    }

    #[test]
    fn the_end_is_kept_clear_of_now() {
        let r =
            Range::from_flags(Some("2026-11-24"), Some("2026-11-25"), None, None, now()).unwrap();
        let c = r.clamp_to_now(now(), chrono::Duration::minutes(5)).unwrap();
        assert_eq!(fmt(c.to), "2026-11-24T10:55:00Z");
        let r = Range::from_flags(Some("2026-11-25"), None, None, None, now());
        assert!(r.is_err());
    }
}
