//! Working hours: whether a company schedule takes calls at a given moment, and when that next
//! changes. This module owns the reading of a validated `model::Schedule` at run time: the
//! weekly `HH:MM-HH:MM` ranges (start inclusive, end exclusive, `24:00` meaning the end of the
//! day) and the inclusive holiday date spans, all taken in the schedule's own time zone. It is
//! pure: the caller passes the moment, and nothing here reads the clock, does I/O or keeps
//! state.

use crate::config::clock::ClockTime;
use crate::config::model::Schedule;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// How far ahead `next_change` looks, in days of 24 hours.
const SEARCH_DAYS: i64 = 400;

/// Whether `schedule` takes calls at `at`: in its time zone, the date is not inside a holiday span and the local time of day falls in one of that weekday's ranges (start inclusive, end exclusive).
pub fn is_open(schedule: &Schedule, at: jiff::Timestamp) -> bool {
    open_at(schedule, &schedule.timezone.tz(), at)
}

/// The next moment after `at` when `is_open` changes value (for logs and tests), searching at most 400 days ahead; None if it never changes.
pub fn next_change(schedule: &Schedule, at: jiff::Timestamp) -> Option<jiff::Timestamp> {
    let tz = schedule.timezone.tz();
    let limit = at
        .checked_add(SignedDuration::from_hours(SEARCH_DAYS * 24))
        .unwrap_or(Timestamp::MAX);
    let mut moments = candidates(schedule, &tz, at, limit);
    moments.retain(|t| at < *t && *t <= limit);
    moments.sort_unstable();
    moments.dedup();
    // `is_open` is constant between two consecutive candidates, so the first candidate with the
    // other value is the change.
    let now = open_at(schedule, &tz, at);
    moments
        .into_iter()
        .find(|&t| open_at(schedule, &tz, t) != now)
}

/// `is_open` with the zone already looked up.
fn open_at(schedule: &Schedule, tz: &TimeZone, at: Timestamp) -> bool {
    open_local(schedule, tz.to_datetime(at))
}

/// Whether the schedule is open at a wall-clock date and time of its zone.
fn open_local(schedule: &Schedule, local: DateTime) -> bool {
    let date = local.date();
    let holiday = schedule
        .holidays
        .iter()
        .any(|(first, last)| first.get() <= date && date <= last.get());
    if holiday {
        return false;
    }
    // Whole minutes: 08:59:59 is still 08:59.
    let minutes = local.hour() as u16 * 60 + local.minute() as u16;
    let Some(time) = ClockTime::from_minutes(minutes) else {
        return false;
    };
    let day = date.weekday().to_monday_zero_offset() as usize;
    schedule.week[day].iter().any(|range| range.contains(time))
}

/// Every moment up to `limit` (and some before `at`) at which `is_open` could change value:
///
/// - every instant the zone shows a local day's midnight or one of its range starts and ends
///   (both instants of a wall-clock time repeated by a fold; the two readings of one skipped by
///   a gap are harmless extra candidates);
/// - every offset transition of the zone, where a boundary skipped by a gap takes effect.
///
/// Local days run from the day before `at`'s to the day after `limit`'s, since an offset change
/// can move a wall-clock time's instant across either end.
fn candidates(
    schedule: &Schedule,
    tz: &TimeZone,
    at: Timestamp,
    limit: Timestamp,
) -> Vec<Timestamp> {
    let mut out: Vec<Timestamp> = tz
        .following(at)
        .map(|transition| transition.timestamp())
        .take_while(|t| *t <= limit)
        .collect();
    let first_day = tz.to_datetime(at).date();
    let first_day = first_day.yesterday().unwrap_or(first_day);
    let last_day = tz.to_datetime(limit).date();
    let last_day = last_day.tomorrow().unwrap_or(last_day);
    let mut day = first_day;
    loop {
        push_day(schedule, tz, day, &mut out);
        if day >= last_day {
            break;
        }
        match day.tomorrow() {
            Ok(next) => day = next,
            Err(_) => break,
        }
    }
    out
}

/// The instants of `day`'s midnight and of its ranges' starts and ends (a `24:00` end is the
/// next day's midnight, pushed with that day).
fn push_day(schedule: &Schedule, tz: &TimeZone, day: Date, out: &mut Vec<Timestamp>) {
    let ranges = &schedule.week[day.weekday().to_monday_zero_offset() as usize];
    let boundaries = std::iter::once(ClockTime::MIDNIGHT)
        .chain(ranges.iter().flat_map(|r| [r.start(), r.end()]))
        .filter(|t| *t < ClockTime::END_OF_DAY);
    for time in boundaries {
        let local = day.at(time.hour() as i8, time.minute() as i8, 0, 0);
        let instants = tz.to_ambiguous_timestamp(local);
        out.extend(instants.earlier().ok());
        out.extend(instants.later().ok());
    }
}

#[cfg(test)]
mod tests {
    //! `Timezone`'s field is private to `config`, so the zone is obtained the public way: a small
    //! YAML config validated by `validate::validate_text`. Everything else of a `Schedule` is
    //! built directly.

    use super::*;
    use crate::config::clock::{Date as ConfigDate, TimeRange};
    use crate::config::model::Timezone;
    use crate::config::validate::validate_text;

    /// The validated `Timezone` for an IANA name.
    fn zone(name: &str) -> Timezone {
        let yaml = format!(
            "version: 1
tenants:
  - id: a
    name: A
    domain: a.example
    max_users: 10
    timezone: {name}
    schedules:
      - id: office
        hours: {{ weekdays: [\"09:00-18:00\"] }}
    numbers:
      - {{ number: \"+74950000001\", schedule: office, destination: hangup }}
"
        );
        let config = validate_text(&yaml).unwrap_or_else(|d| panic!("{d:?}"));
        let tz = config.tenants[0].schedules[0].timezone.clone();
        assert_eq!(tz.name(), name);
        tz
    }

    const NONE: &[&str] = &[];
    const OFFICE: &[&str] = &["09:00-18:00"];
    const ALL_DAY: &[&str] = &["00:00-24:00"];

    /// A schedule in zone `tz` with the ranges of each day, Monday first, and holiday spans.
    fn schedule(tz: &str, week: [&[&str]; 7], holidays: &[(&str, &str)]) -> Schedule {
        Schedule {
            id: "office".into(),
            timezone: zone(tz),
            week: week.map(|day| day.iter().map(|r| TimeRange::parse(r).unwrap()).collect()),
            holidays: holidays
                .iter()
                .map(|(a, b)| (ConfigDate::parse(a).unwrap(), ConfigDate::parse(b).unwrap()))
                .collect(),
        }
    }

    /// Weekdays 09:00-18:00; closed at the weekend.
    fn office(tz: &str, holidays: &[(&str, &str)]) -> Schedule {
        let w = OFFICE;
        schedule(tz, [w, w, w, w, w, NONE, NONE], holidays)
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    /// Checks `is_open` at each `(instant, expected)`.
    fn check_open(schedule: &Schedule, cases: &[(&str, bool)]) {
        for &(at, expected) in cases {
            assert_eq!(is_open(schedule, ts(at)), expected, "is_open at {at}");
        }
    }

    /// Checks `next_change` from each `(instant, expected)`, and that an answer really is a
    /// change: the value differs there and is still the old one a nanosecond before.
    fn check_next(schedule: &Schedule, cases: &[(&str, Option<&str>)]) {
        for &(at, expected) in cases {
            let got = next_change(schedule, ts(at));
            assert_eq!(got, expected.map(ts), "next_change from {at}");
            if let Some(t) = got {
                let before = t - SignedDuration::from_nanos(1);
                let was = is_open(schedule, ts(at));
                assert_ne!(is_open(schedule, t), was, "no change at {t} (from {at})");
                assert_eq!(
                    is_open(schedule, before),
                    was,
                    "change before {t} (from {at})"
                );
            }
        }
    }

    // 2026-01-05 is a Monday.

    #[test]
    fn office_hours_in_utc() {
        let s = office("UTC", &[]);
        check_open(
            &s,
            &[
                ("2026-01-05T00:00:00Z", false),
                ("2026-01-05T08:59:00Z", false),
                ("2026-01-05T08:59:59.999Z", false),
                ("2026-01-05T09:00:00Z", true),
                ("2026-01-05T12:00:00Z", true),
                ("2026-01-05T17:59:00Z", true),
                ("2026-01-05T17:59:59Z", true),
                ("2026-01-05T18:00:00Z", false),
                ("2026-01-05T18:01:00Z", false),
                ("2026-01-09T12:00:00Z", true),
                ("2026-01-10T12:00:00Z", false),
                ("2026-01-11T09:00:00Z", false),
                ("2026-01-11T12:00:00Z", false),
                ("2026-01-12T09:00:00Z", true),
            ],
        );
    }

    #[test]
    fn holiday_spans_are_closed_inclusive() {
        // Tuesday 6th to Wednesday 7th, plus a single day (Friday 9th).
        let s = office(
            "UTC",
            &[("2026-01-06", "2026-01-07"), ("2026-01-09", "2026-01-09")],
        );
        check_open(
            &s,
            &[
                ("2026-01-05T17:59:00Z", true),
                ("2026-01-06T09:00:00Z", false),
                ("2026-01-06T12:00:00Z", false),
                ("2026-01-07T12:00:00Z", false),
                ("2026-01-07T17:59:00Z", false),
                ("2026-01-08T09:00:00Z", true),
                ("2026-01-08T12:00:00Z", true),
                ("2026-01-09T12:00:00Z", false),
                ("2026-01-12T09:00:00Z", true),
            ],
        );
        check_next(
            &s,
            &[
                ("2026-01-05T12:00:00Z", Some("2026-01-05T18:00:00Z")),
                ("2026-01-05T18:00:00Z", Some("2026-01-08T09:00:00Z")),
                ("2026-01-08T18:00:00Z", Some("2026-01-12T09:00:00Z")),
            ],
        );
        // Open all day: the holiday's first and the following midnight are the changes.
        let all = ALL_DAY;
        let s = schedule("UTC", [all; 7], &[("2026-01-06", "2026-01-07")]);
        check_next(
            &s,
            &[
                ("2026-01-05T12:00:00Z", Some("2026-01-06T00:00:00Z")),
                ("2026-01-06T00:00:00Z", Some("2026-01-08T00:00:00Z")),
            ],
        );
    }

    #[test]
    fn local_time_of_a_zone_east_of_utc() {
        // Asia/Vladivostok is UTC+10 all year.
        let s = office("Asia/Vladivostok", &[("2026-01-07", "2026-01-07")]);
        check_open(
            &s,
            &[
                // Sunday 23:00 UTC is Monday 09:00 there.
                ("2026-01-04T22:59:00Z", false),
                ("2026-01-04T23:00:00Z", true),
                ("2026-01-05T07:59:00Z", true),
                ("2026-01-05T08:00:00Z", false),
                // Friday 23:00 UTC is Saturday 09:00 there.
                ("2026-01-09T23:00:00Z", false),
                // Tuesday 23:30 UTC is Wednesday 09:30 there: the holiday.
                ("2026-01-06T23:30:00Z", false),
                // Wednesday 23:30 UTC is Thursday 09:30 there, though the UTC date is the holiday.
                ("2026-01-07T23:30:00Z", true),
            ],
        );
    }

    #[test]
    fn new_york_across_dst() {
        // DST starts on Sunday 2026-03-08 (EST -5 -> EDT -4) and ends on Sunday 2026-11-01.
        let s = office("America/New_York", &[]);
        check_open(
            &s,
            &[
                // Friday 6 March, EST: 09:00 is 14:00 UTC.
                ("2026-03-06T13:30:00Z", false),
                ("2026-03-06T13:59:00Z", false),
                ("2026-03-06T14:00:00Z", true),
                ("2026-03-06T22:59:00Z", true),
                ("2026-03-06T23:00:00Z", false),
                // Monday 9 March, EDT: 09:00 is 13:00 UTC.
                ("2026-03-09T12:59:00Z", false),
                ("2026-03-09T13:00:00Z", true),
                ("2026-03-09T13:30:00Z", true),
                ("2026-03-09T21:59:00Z", true),
                ("2026-03-09T22:00:00Z", false),
                // Monday 2 November, EST again.
                ("2026-11-02T13:30:00Z", false),
                ("2026-11-02T14:00:00Z", true),
            ],
        );
        check_next(
            &s,
            &[
                ("2026-03-06T18:00:00Z", Some("2026-03-06T23:00:00Z")),
                ("2026-03-06T23:00:00Z", Some("2026-03-09T13:00:00Z")),
                ("2026-10-30T22:00:00Z", Some("2026-11-02T14:00:00Z")),
            ],
        );
    }

    #[test]
    fn ranges_in_a_dst_gap_and_fold() {
        // On Sunday 2026-03-08 New York skips 02:00-03:00 (07:00 UTC becomes 03:00 EDT); on
        // Sunday 2026-11-01 it repeats 01:00-02:00 (06:00 UTC goes back to 01:00 EST).
        let gap = schedule(
            "America/New_York",
            [NONE, NONE, NONE, NONE, NONE, NONE, &["02:30-04:00"]],
            &[],
        );
        check_open(
            &gap,
            &[
                ("2026-03-08T06:59:59Z", false),
                ("2026-03-08T07:00:00Z", true),
                ("2026-03-08T07:59:59Z", true),
                ("2026-03-08T08:00:00Z", false),
            ],
        );
        check_next(
            &gap,
            &[
                ("2026-03-08T06:00:00Z", Some("2026-03-08T07:00:00Z")),
                ("2026-03-08T07:00:00Z", Some("2026-03-08T08:00:00Z")),
                // The next Sunday, EDT: 02:30 is 06:30 UTC.
                ("2026-03-08T08:00:00Z", Some("2026-03-15T06:30:00Z")),
            ],
        );
        let fold = schedule(
            "America/New_York",
            [NONE, NONE, NONE, NONE, NONE, NONE, &["01:30-05:00"]],
            &[],
        );
        check_open(
            &fold,
            &[
                ("2026-11-01T05:00:00Z", false),
                ("2026-11-01T05:30:00Z", true),
                ("2026-11-01T06:00:00Z", false),
                ("2026-11-01T06:29:00Z", false),
                ("2026-11-01T06:30:00Z", true),
                ("2026-11-01T09:59:00Z", true),
                ("2026-11-01T10:00:00Z", false),
            ],
        );
        check_next(
            &fold,
            &[
                ("2026-11-01T05:00:00Z", Some("2026-11-01T05:30:00Z")),
                ("2026-11-01T05:30:00Z", Some("2026-11-01T06:00:00Z")),
                ("2026-11-01T06:00:00Z", Some("2026-11-01T06:30:00Z")),
                ("2026-11-01T06:30:00Z", Some("2026-11-01T10:00:00Z")),
            ],
        );
    }

    #[test]
    fn range_ending_at_end_of_day() {
        // Wednesday and Friday 22:00-24:00, Saturday 00:00-02:00.
        let late: &[&str] = &["22:00-24:00"];
        let s = schedule(
            "UTC",
            [NONE, NONE, late, NONE, late, &["00:00-02:00"], NONE],
            &[],
        );
        check_open(
            &s,
            &[
                ("2026-01-07T21:59:59Z", false),
                ("2026-01-07T22:00:00Z", true),
                ("2026-01-07T23:59:00Z", true),
                ("2026-01-07T23:59:59.999Z", true),
                ("2026-01-08T00:00:00Z", false),
                ("2026-01-09T23:59:59Z", true),
                ("2026-01-10T00:00:00Z", true),
                ("2026-01-10T01:59:00Z", true),
                ("2026-01-10T02:00:00Z", false),
            ],
        );
        check_next(
            &s,
            &[
                ("2026-01-07T22:00:00Z", Some("2026-01-08T00:00:00Z")),
                ("2026-01-08T00:00:00Z", Some("2026-01-09T22:00:00Z")),
                // Friday night runs into Saturday without a change at midnight.
                ("2026-01-09T22:30:00Z", Some("2026-01-10T02:00:00Z")),
            ],
        );
    }

    #[test]
    fn next_change_from_friday_evening_is_monday_opening() {
        check_next(
            &office("UTC", &[]),
            &[
                ("2026-01-09T19:00:00Z", Some("2026-01-12T09:00:00Z")),
                ("2026-01-09T18:00:00Z", Some("2026-01-12T09:00:00Z")),
                ("2026-01-10T12:00:00Z", Some("2026-01-12T09:00:00Z")),
                ("2026-01-12T08:59:00Z", Some("2026-01-12T09:00:00Z")),
                ("2026-01-12T08:59:59.5Z", Some("2026-01-12T09:00:00Z")),
                ("2026-01-12T09:00:00Z", Some("2026-01-12T18:00:00Z")),
                ("2026-01-12T10:00:00Z", Some("2026-01-12T18:00:00Z")),
            ],
        );
        // Friday 19:00 in Vladivostok (09:00 UTC) -> Monday 09:00 there, Sunday 23:00 UTC.
        check_next(
            &office("Asia/Vladivostok", &[]),
            &[("2026-01-09T09:00:00Z", Some("2026-01-11T23:00:00Z"))],
        );
    }

    #[test]
    fn next_change_none_when_constant_or_beyond_400_days() {
        let all = ALL_DAY;
        check_next(
            &schedule("UTC", [all; 7], &[]),
            &[("2026-01-01T00:00:00Z", None)],
        );
        check_next(
            &schedule("Europe/Berlin", [NONE; 7], &[("2026-01-01", "2026-01-05")]),
            &[("2026-01-01T00:00:00Z", None)],
        );
        // 2026-01-01 00:00 UTC + 400 days = 2027-02-05 00:00 UTC: included, a day later is not.
        check_next(
            &schedule("UTC", [all; 7], &[("2027-02-05", "2027-02-05")]),
            &[("2026-01-01T00:00:00Z", Some("2027-02-05T00:00:00Z"))],
        );
        check_next(
            &schedule("UTC", [all; 7], &[("2027-02-06", "2027-02-06")]),
            &[("2026-01-01T00:00:00Z", None)],
        );
    }
}
