//! Periods and times in the tenant's time zone: the dates a history filter names, the day,
//! week or month statistics cover, and how a moment or a length is written on a page.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

/// A window of time, `[since_ms, until_ms)`, in ms since the epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub since_ms: u64,
    pub until_ms: u64,
}

/// The length a statistics page covers.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    serde::Deserialize,
    serde::Serialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Length {
    #[default]
    Day,
    Week,
    Month,
}

impl Length {
    pub fn word(self) -> &'static str {
        match self {
            Length::Day => "day",
            Length::Week => "week",
            Length::Month => "month",
        }
    }
}

/// Reads `YYYY-MM-DD`.
pub fn date(text: &str) -> Result<Date, String> {
    text.trim()
        .parse::<Date>()
        .map_err(|_| format!("`{text}` is not a date (YYYY-MM-DD)"))
}

/// Today in `tz`.
pub fn today(tz: &TimeZone) -> Date {
    Timestamp::now().to_zoned(tz.clone()).date()
}

/// The start of `day` in `tz`, in ms since the epoch (0 before the epoch).
pub fn start_ms(day: Date, tz: &TimeZone) -> u64 {
    day.to_zoned(tz.clone())
        .map(|z| z.timestamp().as_millisecond().max(0) as u64)
        .unwrap_or(0)
}

/// The window from the start of `from` to the end of `to` (both days included).
pub fn days(from: Option<Date>, to: Option<Date>, tz: &TimeZone) -> Window {
    Window {
        since_ms: from.map_or(0, |d| start_ms(d, tz)),
        until_ms: to
            .and_then(|d| d.checked_add(1.day()).ok())
            .map_or(u64::MAX, |d| start_ms(d, tz)),
    }
}

/// The day, week (Monday first) or month holding `at`: its first day and its window.
pub fn period(length: Length, at: Date, tz: &TimeZone) -> (Date, Window) {
    let first = match length {
        Length::Day => at,
        Length::Week => {
            let back = i64::from(at.weekday().to_monday_zero_offset());
            at.checked_sub(back.days()).unwrap_or(at)
        }
        Length::Month => at.first_of_month(),
    };
    let next = match length {
        Length::Day => first.checked_add(1.day()),
        Length::Week => first.checked_add(1.week()),
        Length::Month => first.checked_add(1.month()),
    }
    .unwrap_or(first);
    (
        first,
        Window {
            since_ms: start_ms(first, tz),
            until_ms: start_ms(next, tz),
        },
    )
}

/// A moment as the tenant reads it: `2026-11-30 16:05:01`.
pub fn moment(ms: u64, tz: &TimeZone) -> String {
    Timestamp::from_millisecond(ms as i64)
        .map(|t| {
            t.to_zoned(tz.clone())
                .strftime("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default()
}

/// A length of time: `0:07`, `12:30`, `1:02:03`.
pub fn length(ms: u64) -> String {
    let s = ms / 1000;
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_local_days_weeks_and_months() {
        let tz = jiff::tz::db().get("Europe/Moscow").unwrap();
        let at = date("2026-11-26").unwrap(); // a Thursday
        let (first, w) = period(Length::Day, at, &tz);
        assert_eq!(first, at);
        assert_eq!(w.until_ms - w.since_ms, 86_400_000);
        // Midnight in Moscow is 21:00 UTC the day before.
        assert_eq!(moment(w.since_ms, &TimeZone::UTC), "2026-11-25 21:00:00");
        let (first, w) = period(Length::Week, at, &tz);
        assert_eq!(first, date("2026-11-23").unwrap());
        assert_eq!(w.until_ms - w.since_ms, 7 * 86_400_000);
        let (first, w) = period(Length::Month, at, &tz);
        assert_eq!(first, date("2026-11-01").unwrap());
        assert_eq!(w.until_ms - w.since_ms, 30 * 86_400_000);
        assert!(date("26-11-2026").is_err());
    }

    #[test]
    fn day_windows_include_both_ends() {
        let tz = TimeZone::UTC;
        let w = days(date("2026-11-01").ok(), date("2026-11-02").ok(), &tz);
        assert_eq!(w.until_ms - w.since_ms, 2 * 86_400_000);
        let open = days(None, None, &tz);
        assert_eq!((open.since_ms, open.until_ms), (0, u64::MAX));
        assert_eq!(length(7_400), "0:07");
        assert_eq!(length(750_000), "12:30");
        assert_eq!(length(3_723_000), "1:02:03");
    }
}
