//! Time values of the config: durations (`20s`, `1m30s`), times of day and `HH:MM-HH:MM`
//! ranges, calendar dates, and IANA time zones. Each parses with a `ValueError` that says
//! exactly what is wrong.

use super::values::{string_value, DurationProblem, TimeRangeProblem, ValueError, MAX_DURATION};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

/// Parses a duration: `20s`, `1m30s`, `2m`, `1h`, `1h15m`, `500ms`, or a bare number of seconds
/// (`20`). Units go from large to small, each at most once; the total may not exceed 24h.
pub fn parse_duration(s: &str) -> Result<Duration, ValueError> {
    let err = |problem| ValueError::DurationInvalid {
        value: s.to_owned(),
        problem,
    };
    if s.is_empty() {
        return Err(err(DurationProblem::Empty));
    }
    if s.starts_with('-') {
        return Err(err(DurationProblem::Negative));
    }
    let max_ms = MAX_DURATION.as_millis() as u64;
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return match s.parse::<u64>() {
            Ok(secs) if secs <= max_ms / 1000 => Ok(Duration::from_secs(secs)),
            _ => Err(err(DurationProblem::TooLong)),
        };
    }
    let mut rest = s;
    let mut last_rank = None;
    let mut total_ms: u64 = 0;
    while let Some(first) = rest.chars().next() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(err(if first.is_ascii_alphabetic() {
                DurationProblem::MissingNumber
            } else {
                DurationProblem::UnexpectedChar(first)
            }));
        }
        let number: u64 = rest[..digits]
            .parse()
            .map_err(|_| err(DurationProblem::TooLong))?;
        rest = &rest[digits..];
        let letters = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        if letters == 0 {
            return Err(err(match rest.chars().next() {
                None => DurationProblem::MissingUnit,
                Some(c) => DurationProblem::UnexpectedChar(c),
            }));
        }
        let (rank, unit_ms) = match &rest[..letters] {
            "h" => (0, 3_600_000),
            "m" => (1, 60_000),
            "s" => (2, 1_000),
            "ms" => (3, 1),
            unit => return Err(err(DurationProblem::UnknownUnit(unit.to_owned()))),
        };
        if last_rank >= Some(rank) {
            return Err(err(DurationProblem::UnitOrder));
        }
        last_rank = Some(rank);
        total_ms = number
            .checked_mul(unit_ms)
            .and_then(|ms| total_ms.checked_add(ms))
            .filter(|&ms| ms <= max_ms)
            .ok_or_else(|| err(DurationProblem::TooLong))?;
        rest = &rest[letters..];
    }
    Ok(Duration::from_millis(total_ms))
}

/// The canonical short form of a duration (`1h15m`, `1m30s`, `20s`, `500ms`, `0s`); anything
/// below a millisecond is dropped. [`parse_duration`] reads it back.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".to_owned();
    }
    let parts = [
        (ms / 3_600_000, "h"),
        (ms / 60_000 % 60, "m"),
        (ms / 1000 % 60, "s"),
        (ms % 1000, "ms"),
    ];
    parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect()
}

/// A time of day in whole minutes since midnight, 00:00 to 24:00 inclusive (24:00 is the end of
/// the day, useful only as the end of a [`TimeRange`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClockTime(u16);

impl ClockTime {
    /// 00:00.
    pub const MIDNIGHT: ClockTime = ClockTime(0);
    /// 24:00.
    pub const END_OF_DAY: ClockTime = ClockTime(24 * 60);

    /// Parses `H:MM` or `HH:MM` (`9:00`, `09:00`, `24:00`).
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let parsed = s.split_once(':').and_then(|(h, m)| {
            let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
            if !(1..=2).contains(&h.len()) || m.len() != 2 || !digits(h) || !digits(m) {
                return None;
            }
            let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
            (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(ClockTime(h * 60 + m))
        });
        parsed.ok_or_else(|| ValueError::ClockTimeInvalid {
            value: s.to_owned(),
        })
    }

    /// The time `minutes` after midnight, if at most 24:00.
    pub fn from_minutes(minutes: u16) -> Option<Self> {
        (minutes <= 24 * 60).then_some(ClockTime(minutes))
    }

    /// Minutes since midnight, 0 to 1440.
    pub fn minutes(self) -> u16 {
        self.0
    }

    /// The hour, 0 to 24.
    pub fn hour(self) -> u8 {
        (self.0 / 60) as u8
    }

    /// The minute within the hour, 0 to 59.
    pub fn minute(self) -> u8 {
        (self.0 % 60) as u8
    }
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour(), self.minute())
    }
}

string_value!(ClockTime, {
    "type": "string",
    "pattern": "^(([01]?[0-9]|2[0-3]):[0-5][0-9]|24:00)$",
    "description": "Time of day, HH:MM, from 00:00 to 24:00."
});

/// A non-empty span within one day, `start` inclusive and `end` exclusive, `start < end`.
/// Fields are private so that a range cannot be built backwards; use [`TimeRange::new`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimeRange {
    start: ClockTime,
    end: ClockTime,
}

impl TimeRange {
    /// Parses `09:00-18:00` (spaces around `-` allowed).
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let err = |problem| ValueError::TimeRangeInvalid {
            value: s.to_owned(),
            problem,
        };
        let (start, end) = s
            .split_once('-')
            .ok_or_else(|| err(TimeRangeProblem::MissingDash))?;
        let time = |t: &str| {
            let t = t.trim_matches(' ');
            ClockTime::parse(t).map_err(|_| err(TimeRangeProblem::BadTime(t.to_owned())))
        };
        Self::checked(s, time(start)?, time(end)?)
    }

    /// The range from `start` to `end`, if `end` is after `start` on the same day.
    pub fn new(start: ClockTime, end: ClockTime) -> Result<Self, ValueError> {
        Self::checked(&format!("{start}-{end}"), start, end)
    }

    fn checked(value: &str, start: ClockTime, end: ClockTime) -> Result<Self, ValueError> {
        let err = |problem| ValueError::TimeRangeInvalid {
            value: value.to_owned(),
            problem,
        };
        if start == ClockTime::END_OF_DAY {
            Err(err(TimeRangeProblem::StartsAtEndOfDay))
        } else if end == ClockTime::MIDNIGHT {
            Err(err(TimeRangeProblem::EndsAtMidnight))
        } else if end == start {
            Err(err(TimeRangeProblem::Empty))
        } else if end < start {
            Err(ValueError::TimeRangeCrossesMidnight {
                value: value.to_owned(),
                start: start.to_string(),
                end: end.to_string(),
            })
        } else {
            Ok(TimeRange { start, end })
        }
    }

    /// The first minute in the range.
    pub fn start(&self) -> ClockTime {
        self.start
    }

    /// The minute the range ends at (not part of it).
    pub fn end(&self) -> ClockTime {
        self.end
    }

    /// Whether `t` is within `[start, end)`.
    pub fn contains(&self, t: ClockTime) -> bool {
        self.start <= t && t < self.end
    }

    /// Whether the two ranges share a minute; ranges that only touch (`09:00-12:00` and
    /// `12:00-13:00`) do not overlap.
    pub fn overlaps(&self, other: &TimeRange) -> bool {
        self.start < other.end && other.start < self.end
    }
}

impl fmt::Display for TimeRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start, self.end)
    }
}

string_value!(TimeRange, {
    "type": "string",
    "pattern": "^\\d{1,2}:\\d{2} *- *\\d{1,2}:\\d{2}$",
    "description": "Time range within one day, START-END, e.g. 09:00-18:00; the end is after the start (split ranges that cross midnight)."
});

/// A calendar date written strictly `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date(jiff::civil::Date);

impl Date {
    /// Parses `YYYY-MM-DD` (exactly four, two and two digits) naming a day in the calendar.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let b = s.as_bytes();
        let shape_ok = b.len() == 10
            && b.iter().enumerate().all(|(i, c)| match i {
                4 | 7 => *c == b'-',
                _ => c.is_ascii_digit(),
            });
        let date = shape_ok
            .then(|| {
                let (y, m, d) = (
                    s[0..4].parse().ok()?,
                    s[5..7].parse().ok()?,
                    s[8..10].parse().ok()?,
                );
                jiff::civil::Date::new(y, m, d).ok()
            })
            .flatten();
        date.map(Date).ok_or_else(|| ValueError::DateInvalid {
            value: s.to_owned(),
        })
    }

    /// The jiff date.
    pub fn get(self) -> jiff::civil::Date {
        self.0
    }
}

impl From<Date> for jiff::civil::Date {
    fn from(d: Date) -> Self {
        d.0
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

string_value!(Date, {
    "type": "string",
    "format": "date",
    "pattern": "^\\d{4}-\\d{2}-\\d{2}$",
    "description": "Calendar date, YYYY-MM-DD."
});

/// Looks `name` up in the IANA time zone database bundled with jiff. The lookup ignores case;
/// `iana_name()` on the result gives the canonical spelling.
pub fn validate_timezone(name: &str) -> Result<jiff::tz::TimeZone, ValueError> {
    jiff::tz::db()
        .get(name)
        .map_err(|_| ValueError::TimezoneUnknown {
            value: name.to_owned(),
        })
}

/// Every IANA time zone name the database knows, sorted, for "did you mean" hints.
pub fn timezone_names() -> Vec<String> {
    let mut names: Vec<String> = jiff::tz::db()
        .available()
        .map(|n| n.as_str().to_owned())
        .collect();
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::values::tests::{code, message};

    #[test]
    fn durations() {
        let ok = [
            ("20s", 20_000),
            ("1m30s", 90_000),
            ("2m", 120_000),
            ("1h", 3_600_000),
            ("1h15m", 4_500_000),
            ("500ms", 500),
            ("1s500ms", 1500),
            ("20", 20_000),
            ("0", 0),
            ("0s", 0),
            ("24h", 86_400_000),
            ("86400", 86_400_000),
        ];
        for (s, ms) in ok {
            assert_eq!(parse_duration(s), Ok(Duration::from_millis(ms)), "{s}");
        }
        let bad = [
            ("", DurationProblem::Empty),
            ("-5s", DurationProblem::Negative),
            ("1m30", DurationProblem::MissingUnit),
            ("m", DurationProblem::MissingNumber),
            ("5d", DurationProblem::UnknownUnit("d".into())),
            ("5 s", DurationProblem::UnexpectedChar(' ')),
            ("1.5s", DurationProblem::UnexpectedChar('.')),
            ("30s1m", DurationProblem::UnitOrder),
            ("1m1m", DurationProblem::UnitOrder),
            ("721h", DurationProblem::TooLong),
            ("720h1ms", DurationProblem::TooLong),
            ("2592001", DurationProblem::TooLong),
            ("99999999999999999999", DurationProblem::TooLong),
            ("99999999999999999h", DurationProblem::TooLong),
        ];
        for (s, problem) in bad {
            assert_eq!(
                parse_duration(s),
                Err(ValueError::DurationInvalid {
                    value: s.into(),
                    problem
                }),
                "{s}"
            );
        }
        assert_eq!(code(parse_duration("x")), "duration-invalid");
    }

    #[test]
    fn duration_format_round_trips() {
        let cases = [
            (90_000, "1m30s"),
            (20_000, "20s"),
            (500, "500ms"),
            (0, "0s"),
        ];
        for (ms, s) in cases {
            assert_eq!(format_duration(Duration::from_millis(ms)), s);
        }
        assert_eq!(format_duration(Duration::from_secs(4500)), "1h15m");
        for ms in (0..=86_400_000u64)
            .step_by(1_234_567)
            .chain([86_400_000, 3_600_001])
        {
            let d = Duration::from_millis(ms);
            assert_eq!(parse_duration(&format_duration(d)), Ok(d), "{ms}");
        }
    }

    #[test]
    fn clock_times() {
        let ok = [
            ("09:00", 540),
            ("9:00", 540),
            ("00:00", 0),
            ("23:59", 1439),
            ("24:00", 1440),
        ];
        for (s, minutes) in ok {
            assert_eq!(ClockTime::parse(s).unwrap().minutes(), minutes, "{s}");
        }
        for bad in [
            "25:00", "09:60", "0900", "24:01", "", "9:0", "009:00", "+9:00", "9:00 ",
        ] {
            assert_eq!(code(ClockTime::parse(bad)), "clock-time-invalid", "{bad}");
        }
        assert_eq!(ClockTime::parse("9:05").unwrap().to_string(), "09:05");
        assert_eq!(ClockTime::from_minutes(1441), None);
    }

    #[test]
    fn time_ranges() {
        let r = TimeRange::parse("09:00-18:00").unwrap();
        assert_eq!((r.start().minutes(), r.end().minutes()), (540, 1080));
        assert_eq!(TimeRange::parse("9:00 - 18:00"), Ok(r));
        assert_eq!(r.to_string(), "09:00-18:00");
        assert!(TimeRange::parse("22:00-24:00").is_ok());
        let cases = [
            ("0900", "time-range-invalid"),
            ("09:00-25:00", "time-range-invalid"),
            ("09:00-09:00", "time-range-invalid"),
            ("22:00-00:00", "time-range-invalid"),
            ("24:00-02:00", "time-range-invalid"),
            ("22:00-02:00", "time-range-crosses-midnight"),
        ];
        for (bad, expected) in cases {
            assert_eq!(code(TimeRange::parse(bad)), expected, "{bad}");
        }
        assert_eq!(
            message(TimeRange::parse("22:00-02:00")),
            "time range `22:00-02:00` crosses midnight; split it into 22:00-24:00 and \
             00:00-02:00 on the next day"
        );
        assert!(message(TimeRange::parse("09:00-25:00")).contains("`25:00` is not a time"));
        let t = |s| TimeRange::parse(s).unwrap();
        assert!(!t("09:00-12:00").overlaps(&t("12:00-13:00")));
        assert!(t("09:00-12:30").overlaps(&t("12:00-13:00")));
        assert!(t("09:00-18:00").overlaps(&t("10:00-11:00")));
        assert!(t("10:00-11:00").overlaps(&t("09:00-18:00")));
        assert!(r.contains(ClockTime::parse("09:00").unwrap()));
        assert!(!r.contains(ClockTime::parse("18:00").unwrap()));
        assert!(TimeRange::new(ClockTime::END_OF_DAY, ClockTime::MIDNIGHT).is_err());
    }

    #[test]
    fn dates() {
        let d = Date::parse("2024-02-29").unwrap();
        assert_eq!(d.get(), jiff::civil::date(2024, 2, 29));
        assert_eq!(d.to_string(), "2024-02-29");
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-1-01",
            "24-01-01",
            "2024/01/01",
            "2024-01-01 ",
        ] {
            assert_eq!(code(Date::parse(bad)), "date-invalid", "{bad}");
        }
    }

    #[test]
    fn timezones() {
        assert_eq!(
            validate_timezone("Europe/Moscow").unwrap().iana_name(),
            Some("Europe/Moscow")
        );
        assert!(validate_timezone("UTC").is_ok());
        assert_eq!(
            message(validate_timezone("Europe/Moskow")),
            "`Europe/Moskow` is not an IANA time zone name"
        );
        assert_eq!(code(validate_timezone("")), "timezone-unknown");
        let names = timezone_names();
        assert!(names.iter().any(|n| n == "Europe/Moscow"));
        assert!(names.windows(2).all(|w| w[0] < w[1]));
    }
}
