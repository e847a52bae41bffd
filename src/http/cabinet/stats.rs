//! Statistics for a day, week or month: per tenant, per department and per person — calls,
//! answered, missed, answer rate, average and longest wait, talk time — counted from the call
//! history of that window in one pass.
//!
//! What counts (`store::call_stats::dimensions`): a tenant's calls are all its records; a
//! department's, the calls that rang it (answered: someone answered); a person's, the calls
//! offered to them or dialled to them (answered: they answered). Missed is calls less
//! answered. The wait is the ringing time (until the answer, or until the call gave up);
//! talk time is summed. Read from the store's hourly sums, so a month costs its hours, not
//! its calls.

use super::period::{self, Length, Window};
use super::rights::{Scope, Viewer};
use super::Problem;
use crate::config::model::Tenant;
use crate::store::{CallStats, StoreError};
use serde::Serialize;

/// One row of a statistics table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Row {
    /// A department's id or a login (empty for the tenant).
    pub id: String,
    /// What the row is named on a page.
    pub name: String,
    pub calls: u64,
    pub answered: u64,
    pub missed: u64,
    /// Answered out of calls, in whole per cent (0 with no calls).
    pub answer_rate: u64,
    pub average_wait_ms: u64,
    pub longest_wait_ms: u64,
    pub talk_ms: u64,
    /// The times as `m:ss` (or `h:mm:ss`).
    pub average_wait: String,
    pub longest_wait: String,
    pub talk: String,
    #[serde(skip)]
    wait_total_ms: u64,
}

impl Row {
    fn new(id: &str, name: &str) -> Row {
        Row {
            id: id.to_owned(),
            name: name.to_owned(),
            ..Row::default()
        }
    }

    fn finish(&mut self) {
        self.missed = self.calls - self.answered;
        if let Some(average) = self.wait_total_ms.checked_div(self.calls) {
            self.answer_rate = (self.answered * 100 + self.calls / 2) / self.calls;
            self.average_wait_ms = average;
        }
        self.average_wait = period::length(self.average_wait_ms);
        self.longest_wait = period::length(self.longest_wait_ms);
        self.talk = period::length(self.talk_ms);
    }
}

/// The statistics of one window.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Stats {
    /// The whole tenant (`None` for a viewer who sees only their own).
    pub tenant: Option<Row>,
    pub departments: Vec<Row>,
    /// Staff in config order (only the viewer's own row for `Scope::Own`).
    pub people: Vec<Row>,
}

/// The statistics of `tenant`'s calls that ended within `window`, as `scope` may see them,
/// from the store's hourly sums (`store::CallStats`).
pub fn count(
    store: &impl CallStats,
    tenant: &Tenant,
    logins: &[String],
    scope: &Scope,
    window: Window,
) -> Result<Stats, StoreError> {
    let totals = store.call_stats(&tenant.id, window.since_ms, window.until_ms)?;
    let row = |dim: String, id: &str, name: &str| {
        let mut r = Row::new(id, name);
        if let Some(s) = totals.get(&dim) {
            r.calls = s.calls;
            r.answered = s.answered;
            r.wait_total_ms = s.wait_ms;
            r.longest_wait_ms = s.longest_wait_ms;
            r.talk_ms = s.talk_ms;
        }
        r.finish();
        r
    };
    let people: Vec<Row> = tenant
        .staff
        .iter()
        .zip(logins)
        .filter(|(_, login)| match scope {
            Scope::Company => true,
            Scope::Own(own) => *login == own,
        })
        .map(|(s, login)| row(format!("person:{login}"), login, &s.name))
        .collect();
    Ok(match scope {
        Scope::Company => Stats {
            tenant: Some(row(String::new(), "", &tenant.name)),
            departments: tenant
                .departments
                .iter()
                .map(|d| row(format!("department:{}", d.id), &d.id, &d.name))
                .collect(),
            people,
        },
        Scope::Own(_) => Stats {
            tenant: None,
            departments: Vec::new(),
            people,
        },
    })
}

/// The query string of a statistics page.
#[derive(Clone, Debug, Default, serde::Deserialize, schemars::JsonSchema)]
pub struct Params {
    /// `day` (default), `week` or `month`.
    pub period: Option<Length>,
    /// A day of the period, `YYYY-MM-DD` (default: today in the tenant's time zone).
    #[serde(default)]
    pub at: String,
}

/// The statistics of one period, as a page or the JSON API shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Report {
    pub period: Length,
    /// The first day of the period.
    pub first: String,
    /// The period's window, ms since the epoch.
    pub since_ms: u64,
    pub until_ms: u64,
    #[serde(flatten)]
    pub stats: Stats,
}

/// The statistics `viewer` may see for `params`. Reads the store: call it off the async
/// runtime.
pub fn for_viewer(viewer: &Viewer, params: &Params) -> Result<Report, Problem> {
    let tenant = viewer.tenant();
    let tz = tenant.timezone.tz();
    let at = match params.at.trim() {
        "" => period::today(&tz),
        text => period::date(text).map_err(Problem::BadRequest)?,
    };
    let length = params.period.unwrap_or_default();
    let (first, window) = period::period(length, at, &tz);
    let logins: Vec<String> = viewer.running.resolution.staff[viewer.tenant_index]
        .iter()
        .map(|e| e.login.clone())
        .collect();
    let stats = count(
        viewer.applier.store(),
        tenant,
        &logins,
        &viewer.scope(),
        window,
    )
    .map_err(|e| Problem::Internal(e.to_string()))?;
    Ok(Report {
        period: length,
        first: first.to_string(),
        since_ms: window.since_ms,
        until_ms: window.until_ms,
        stats,
    })
}

/// A bar per row — answered and missed calls side by side in one bar — as an SVG drawing,
/// with every name escaped. `title` labels the drawing for screen readers.
pub fn chart(rows: &[Row], title: &str, answered: &str, missed: &str) -> String {
    const BAR: u64 = 22;
    const LABEL: u64 = 180;
    const WIDTH: u64 = 420;
    let most = rows.iter().map(|r| r.calls).max().unwrap_or(0).max(1);
    let height = BAR * rows.len() as u64 + 30;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"{}\" height=\"{height}\" viewBox=\"0 0 {} {height}\" font-family=\"sans-serif\" font-size=\"12\"><title>{}</title>",
        LABEL + WIDTH + 60,
        LABEL + WIDTH + 60,
        escape(title)
    );
    for (i, r) in rows.iter().enumerate() {
        let y = i as u64 * BAR;
        let a = r.answered * WIDTH / most;
        let m = r.missed * WIDTH / most;
        svg.push_str(&format!(
            "<text x=\"0\" y=\"{}\">{}</text><rect x=\"{LABEL}\" y=\"{}\" width=\"{a}\" height=\"16\" fill=\"#2e7d32\"><title>{}: {}</title></rect><rect x=\"{}\" y=\"{}\" width=\"{m}\" height=\"16\" fill=\"#c62828\"><title>{}: {}</title></rect><text x=\"{}\" y=\"{}\">{}</text>",
            y + 14,
            escape(&r.name),
            y + 2,
            escape(answered),
            r.answered,
            LABEL + a,
            y + 2,
            escape(missed),
            r.missed,
            LABEL + a + m + 4,
            y + 14,
            r.calls,
        ));
    }
    let y = BAR * rows.len() as u64 + 10;
    svg.push_str(&format!(
        "<rect x=\"{LABEL}\" y=\"{y}\" width=\"12\" height=\"12\" fill=\"#2e7d32\"/><text x=\"{}\" y=\"{}\">{}</text><rect x=\"{}\" y=\"{y}\" width=\"12\" height=\"12\" fill=\"#c62828\"/><text x=\"{}\" y=\"{}\">{}</text></svg>",
        LABEL + 16,
        y + 11,
        escape(answered),
        LABEL + 140,
        LABEL + 156,
        y + 11,
        escape(missed),
    ));
    svg
}

/// Text made safe for XML and HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{CallHistory, CallOutcome, CallRecord, Store};

    fn tenant() -> Tenant {
        let yaml = "version: 1\ntenants:\n  - id: acme\n    name: Acme\n    domain: acme.example\n    max_users: 10\n    staff:\n      - { name: Ivan, login: ivan }\n      - { name: Maria, login: maria }\n    departments:\n      - { id: sales, name: Sales, strategy: all_at_once, members: [ivan, maria] }\n";
        crate::config::validate::validate_text(yaml)
            .unwrap()
            .tenants
            .remove(0)
            .as_ref()
            .clone()
    }

    fn call(ended: u64, ring: u64, talk: u64, answered_by: Option<&str>) -> CallRecord {
        CallRecord {
            tenant: "acme".into(),
            caller: "+7900".into(),
            callee: "sales".into(),
            departments: vec!["sales".into()],
            offered: vec!["ivan".into(), "maria".into()],
            answered_by: answered_by.map(str::to_string),
            answered_ms: answered_by.map(|_| ended - talk),
            ring_ms: ring,
            talk_ms: talk,
            started_ms: ended - ring - talk,
            ended_ms: ended,
            outcome: if answered_by.is_some() {
                CallOutcome::Answered
            } else {
                CallOutcome::Missed
            },
            ..CallRecord::default()
        }
    }

    #[test]
    fn rows_count_calls_answers_waits_and_talk() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .append_calls(&[
                call(10_000, 2_000, 5_000, Some("ivan")),
                call(20_000, 4_000, 7_000, Some("maria")),
                call(30_000, 9_000, 0, None),
                // Outside the window.
                call(90_000, 1_000, 1_000, Some("ivan")),
            ])
            .unwrap();
        let logins = vec!["ivan".to_string(), "maria".to_string()];
        let window = Window {
            since_ms: 0,
            until_ms: 60_000,
        };
        let s = count(&store, &tenant(), &logins, &Scope::Company, window).unwrap();
        let t = s.tenant.unwrap();
        assert_eq!(
            (t.calls, t.answered, t.missed, t.answer_rate),
            (3, 2, 1, 67)
        );
        assert_eq!((t.average_wait_ms, t.longest_wait_ms), (5_000, 9_000));
        assert_eq!(t.talk_ms, 12_000);
        assert_eq!(s.departments[0].calls, 3);
        let ivan = &s.people[0];
        assert_eq!((ivan.calls, ivan.answered, ivan.missed), (3, 1, 2));
        assert_eq!(ivan.answer_rate, 33);

        let own = count(
            &store,
            &tenant(),
            &logins,
            &Scope::Own("maria".into()),
            window,
        )
        .unwrap();
        assert_eq!(own.tenant, None);
        assert!(own.departments.is_empty());
        assert_eq!(own.people.len(), 1);
        assert_eq!(
            (own.people[0].id.as_str(), own.people[0].answered),
            ("maria", 1)
        );
    }

    #[test]
    fn the_chart_escapes_names() {
        let mut row = Row::new("x", "<script>&");
        row.calls = 3;
        row.answered = 2;
        row.finish();
        let svg = chart(&[row], "Calls", "answered", "missed");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("&lt;script&gt;&amp;"));
        assert!(!svg.contains("<script>"));
    }
}
