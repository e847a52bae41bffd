//! Checks of a working-hours schedule: its time zone, each `HH:MM-HH:MM` range, ranges of one
//! day not overlapping (the `weekdays` shorthand included), and holiday dates and spans.

use super::Ctx;
use crate::config::clock::{self, Date, TimeRange};
use crate::config::diagnostic::{Code, Diagnostic};
use crate::config::model::{self, Timezone};
use crate::config::path::ConfigPath;
use crate::config::raw;
use crate::config::values::ValueError;

/// The days of `WeeklyHours`, Monday first, with the ranges written for each.
fn days(h: &raw::WeeklyHours) -> [(&'static str, &Vec<String>); 7] {
    [
        ("monday", &h.monday),
        ("tuesday", &h.tuesday),
        ("wednesday", &h.wednesday),
        ("thursday", &h.thursday),
        ("friday", &h.friday),
        ("saturday", &h.saturday),
        ("sunday", &h.sunday),
    ]
}

pub(super) fn check_schedule(
    ctx: &mut Ctx,
    s: &raw::Schedule,
    tenant_tz: Option<&Timezone>,
    path: &ConfigPath,
) -> Option<model::Schedule> {
    let timezone = match &s.timezone {
        None => tenant_tz.cloned(),
        Some(tz) => ctx
            .value(clock::validate_timezone(tz), &path.key("timezone"))
            .map(|_| Timezone(tz.clone())),
    };
    let hours = path.key("hours");
    let mut ok = true;
    let parse = |ctx: &mut Ctx,
                 ok: &mut bool,
                 list: &[String],
                 key: &'static str|
     -> Vec<(TimeRange, ConfigPath)> {
        list.iter()
            .enumerate()
            .filter_map(|(i, r)| {
                let p = hours.key(key).index(i);
                let parsed = ctx.value(TimeRange::parse(r), &p);
                *ok &= parsed.is_some();
                parsed.map(|t| (t, p))
            })
            .collect()
    };
    let weekdays = parse(ctx, &mut ok, &s.hours.weekdays, "weekdays");
    let mut week: [Vec<TimeRange>; 7] = Default::default();
    for (d, (name, list)) in days(&s.hours).into_iter().enumerate() {
        let mut ranges = parse(ctx, &mut ok, list, name);
        if d < 5 {
            ranges.extend(weekdays.iter().cloned());
        }
        ranges.sort_by_key(|(r, _)| (r.start(), r.end()));
        for pair in ranges.windows(2) {
            let ((a, pa), (b, pb)) = (&pair[0], &pair[1]);
            if a.overlaps(b) {
                let mut diag = Diagnostic::error(
                    Code::ScheduleOverlap,
                    pb.clone(),
                    format!("on {name}, {b} overlaps {a}"),
                );
                diag.location = ctx.sources.locate(pb);
                ctx.related(&mut diag, pa, "the other range");
                diag.help =
                    Some("merge the two ranges into one, or make them meet end to start".into());
                ctx.out.push(diag);
                ok = false;
            }
        }
        week[d] = ranges.into_iter().map(|(r, _)| r).collect();
    }
    let mut holidays = Vec::new();
    for (i, h) in s.holidays.iter().enumerate() {
        let p = path.key("holidays").index(i);
        match parse_holiday(h) {
            Ok(Some(span)) => holidays.push(span),
            Ok(None) => {
                ctx.error(
                    Code::Date,
                    &p,
                    format!("holiday span `{h}` ends before it starts"),
                )
                .help = Some("write the first day, `..`, then the last day".into());
                ok = false;
            }
            Err(e) => {
                ctx.value::<()>(Err(e), &p);
                ok = false;
            }
        }
    }
    ok.then_some(())?;
    Some(model::Schedule {
        id: s.id.clone(),
        timezone: timezone?,
        week,
        holidays,
    })
}

/// `YYYY-MM-DD` or `YYYY-MM-DD..YYYY-MM-DD`; `Ok(None)` for a span whose last day comes
/// before its first.
fn parse_holiday(text: &str) -> Result<Option<(Date, Date)>, ValueError> {
    match text.split_once("..") {
        None => Date::parse(text.trim()).map(|d| Some((d, d))),
        Some((a, b)) => {
            let (a, b) = (Date::parse(a.trim())?, Date::parse(b.trim())?);
            Ok((a <= b).then_some((a, b)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holiday_spans() {
        assert!(parse_holiday("2026-01-01").unwrap().is_some());
        assert!(parse_holiday("2026-01-01..2026-01-08").unwrap().is_some());
        assert_eq!(parse_holiday("2026-01-08..2026-01-01"), Ok(None));
        assert!(parse_holiday("2026-02-30").is_err());
    }
}
