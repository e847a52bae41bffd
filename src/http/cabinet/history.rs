//! The call history as the cabinet shows it: the filters a page or `GET .../history` takes
//! (period, number, department, person, outcome), read from the store's per-tenant index
//! newest first, a page at a time, and narrowed to the viewer's `Scope` before anything else.
//!
//! The store pages by tenant and time only; the other filters are applied to what it reads,
//! so a page reads on until it has `limit` matches, or [`SCAN`] records, whichever comes
//! first. `next` is the cursor of the last record read: the following page goes on from there
//! (a page cut short by the scan limit says so by having a `next` and fewer records).

use super::period::{self, Window};
use super::rights::{Scope, Viewer};
use super::Problem;
use crate::store::{CallHistory, CallOutcome, CallQuery, CallRecord, StoreError};
use serde::{Deserialize, Serialize};

/// Records one page shows by default, and at most.
pub const PAGE: usize = 50;
pub const MAX_PAGE: usize = 500;
/// Records one request reads from the store at most.
pub const SCAN: usize = 20_000;

/// The query string of a history page (every field optional; empty means "any").
#[derive(Clone, Debug, Default, Deserialize, Serialize, schemars::JsonSchema)]
pub struct Params {
    /// First day, `YYYY-MM-DD`, in the tenant's time zone.
    #[serde(default)]
    pub from: String,
    /// Last day (included).
    #[serde(default)]
    pub to: String,
    /// Part of the company number, the caller's or the callee's number.
    #[serde(default)]
    pub number: String,
    /// A department's id.
    #[serde(default)]
    pub department: String,
    /// A staff login: calls they made, were offered or answered.
    #[serde(default)]
    pub person: String,
    /// An outcome word (`answered`, `missed`, `voicemail`, ...).
    #[serde(default)]
    pub outcome: String,
    /// The `next` of the previous page.
    #[serde(default)]
    pub before: String,
    /// Records per page (default 50, at most 500).
    pub limit: Option<usize>,
}

/// The filters, read and checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub window: Option<Window>,
    pub number: Option<String>,
    pub department: Option<String>,
    pub person: Option<String>,
    pub outcome: Option<CallOutcome>,
}

fn some(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// Reads an outcome word.
pub fn outcome(word: &str) -> Result<CallOutcome, String> {
    serde_json::from_value(serde_json::Value::String(word.trim().to_owned()))
        .map_err(|_| format!("`{word}` is not an outcome"))
}

/// Every outcome word, in the order a form lists them.
pub const OUTCOMES: &[&str] = &[
    "answered",
    "transferred",
    "forwarded",
    "missed",
    "busy",
    "declined",
    "cancelled",
    "unavailable",
    "not_found",
    "voicemail",
    "closed",
];

impl Params {
    /// The filters, with dates read in `tz`; an error names what could not be read.
    pub fn filter(&self, tz: &jiff::tz::TimeZone) -> Result<Filter, String> {
        let from = some(&self.from).map(|d| period::date(&d)).transpose()?;
        let to = some(&self.to).map(|d| period::date(&d)).transpose()?;
        Ok(Filter {
            window: (from.is_some() || to.is_some()).then(|| period::days(from, to, tz)),
            number: some(&self.number),
            department: some(&self.department),
            person: some(&self.person),
            outcome: some(&self.outcome).map(|o| outcome(&o)).transpose()?,
        })
    }

    /// The page size asked for, within bounds.
    pub fn limit(&self) -> usize {
        self.limit.unwrap_or(PAGE).clamp(1, MAX_PAGE)
    }
}

/// Whether `login` took part in `r`: made it, was called, was offered it (on a phone or their
/// mobile) or answered it.
pub fn involves(r: &CallRecord, login: &str) -> bool {
    r.caller == login
        || r.callee == login
        || r.answered_by.as_deref() == Some(login)
        || r.offered.iter().any(|o| {
            o == login
                || o.strip_prefix(login)
                    .is_some_and(|rest| rest.starts_with(" ("))
        })
}

/// Whether `login` was offered `r` or answered it (the calls they received).
pub fn received(r: &CallRecord, login: &str) -> bool {
    r.caller != login && involves(r, login)
}

impl Filter {
    /// Whether `r` passes the filters other than the window.
    pub fn matches(&self, r: &CallRecord) -> bool {
        self.number.as_ref().is_none_or(|n| {
            r.number.as_deref().is_some_and(|x| x.contains(n.as_str()))
                || r.caller.contains(n.as_str())
                || r.callee.contains(n.as_str())
        }) && self
            .department
            .as_ref()
            .is_none_or(|d| r.departments.contains(d))
            && self.person.as_ref().is_none_or(|p| involves(r, p))
            && self.outcome.is_none_or(|o| r.outcome == o)
    }
}

/// One page of the history.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    pub records: Vec<CallRecord>,
    /// Where the next page starts, when there may be one.
    pub next: Option<String>,
}

/// Reads one page of `tenant`'s calls for `scope`, `filter`ed, older than `before`.
pub fn page(
    store: &impl CallHistory,
    tenant: &str,
    scope: &Scope,
    filter: &Filter,
    before: Option<String>,
    limit: usize,
) -> Result<Page, StoreError> {
    let batch = (limit * 4).clamp(100, 1000);
    let mut query = CallQuery {
        tenant: Some(tenant.to_owned()),
        since_ms: filter.window.map(|w| w.since_ms),
        until_ms: filter.window.map(|w| w.until_ms),
        before,
        limit: batch,
    };
    let mut out = Page::default();
    let mut read = 0;
    loop {
        let records = store.calls(&query)?;
        let exhausted = records.len() < batch;
        for r in records {
            read += 1;
            let cursor = r.cursor.clone();
            let visible = match scope {
                Scope::Company => true,
                Scope::Own(login) => involves(&r, login),
            };
            // Another tenant's record never comes from the tenant's index; checked anyway.
            if visible && r.tenant == tenant && filter.matches(&r) {
                out.records.push(r);
            }
            if out.records.len() == limit || read >= SCAN {
                out.next = cursor;
                return Ok(out);
            }
            query.before = cursor;
        }
        if exhausted {
            return Ok(out);
        }
    }
}

/// A call as a page or the JSON API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Call {
    pub started_ms: u64,
    pub ended_ms: u64,
    /// When it ended, in the tenant's time zone.
    pub ended: String,
    pub caller: String,
    pub callee: String,
    pub number: Option<String>,
    pub departments: Vec<String>,
    pub offered: Vec<String>,
    pub answered_by: Option<String>,
    pub ring_ms: u64,
    pub talk_ms: u64,
    /// `ring_ms` and `talk_ms` as `m:ss`.
    pub ring: String,
    pub talk: String,
    /// The outcome word (`answered`, `missed`, ...).
    pub outcome: String,
    pub note: Option<String>,
    /// Where the record is in the history.
    pub cursor: Option<String>,
}

impl Call {
    pub fn new(r: CallRecord, tz: &jiff::tz::TimeZone) -> Call {
        Call {
            ended: period::moment(r.ended_ms, tz),
            ring: period::length(r.ring_ms),
            talk: period::length(r.talk_ms),
            outcome: serde_json::to_value(r.outcome)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            started_ms: r.started_ms,
            ended_ms: r.ended_ms,
            caller: r.caller,
            callee: r.callee,
            number: r.number,
            departments: r.departments,
            offered: r.offered,
            answered_by: r.answered_by,
            ring_ms: r.ring_ms,
            talk_ms: r.talk_ms,
            note: r.note,
            cursor: r.cursor,
        }
    }
}

/// A page of the history as `viewer` may see it, for `params`. Reads the store: call it off
/// the async runtime.
pub fn for_viewer(
    viewer: &Viewer,
    params: &Params,
) -> Result<(Vec<Call>, Option<String>), Problem> {
    let tz = viewer.tenant().timezone.tz();
    let filter = params.filter(&tz).map_err(Problem::BadRequest)?;
    let before = some(&params.before);
    let store = viewer_store(viewer);
    let p = page(
        store,
        &viewer.tenant().id,
        &viewer.scope(),
        &filter,
        before,
        params.limit(),
    )
    .map_err(|e| match e {
        StoreError::InvalidKey { .. } => Problem::BadRequest(e.to_string()),
        e => Problem::Internal(e.to_string()),
    })?;
    Ok((
        p.records.into_iter().map(|r| Call::new(r, &tz)).collect(),
        p.next,
    ))
}

/// The store the viewer's data is read from.
pub(super) fn viewer_store(viewer: &Viewer) -> &crate::store::Store {
    viewer.applier.store()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn record(i: u64, caller: &str, offered: &[&str], answered: Option<&str>) -> CallRecord {
        CallRecord {
            tenant: "acme".into(),
            caller: caller.into(),
            callee: "+74950000001".into(),
            number: Some("+74950000001".into()),
            departments: if i.is_multiple_of(2) {
                vec!["sales".into()]
            } else {
                vec![]
            },
            offered: offered.iter().map(|s| s.to_string()).collect(),
            answered_by: answered.map(str::to_string),
            answered_ms: answered.map(|_| i * 1000 - 500),
            started_ms: i * 1000 - 900,
            ended_ms: i * 1000,
            outcome: if answered.is_some() {
                CallOutcome::Answered
            } else {
                CallOutcome::Missed
            },
            ..CallRecord::default()
        }
    }

    #[test]
    fn involvement_counts_mobiles_but_not_prefixes_of_other_logins() {
        let r = record(1, "+7900", &["ivan (mobile +7916)", "ivanov"], None);
        assert!(involves(&r, "ivan"));
        assert!(involves(&r, "ivanov"));
        assert!(!involves(&r, "iva"));
        assert!(received(&r, "ivan"));
        let made = record(1, "ivan", &[], None);
        assert!(involves(&made, "ivan") && !received(&made, "ivan"));
    }

    #[test]
    fn pages_apply_scope_and_filters_and_walk_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut batch: Vec<CallRecord> = (1..=40u64)
            .map(|i| {
                if i.is_multiple_of(4) {
                    record(i, "+7900", &["ivan"], Some("ivan"))
                } else {
                    record(i, "+7900", &["maria"], None)
                }
            })
            .collect();
        let mut other = record(41, "+7900", &["ivan"], Some("ivan"));
        other.tenant = "globex".into();
        batch.push(other);
        store.append_calls(&batch).unwrap();

        let own = Scope::Own("ivan".into());
        let all = Filter::default();
        let p = page(&store, "acme", &own, &all, None, 3).unwrap();
        let ends: Vec<u64> = p.records.iter().map(|r| r.ended_ms / 1000).collect();
        assert_eq!(
            ends,
            [40, 36, 32],
            "only ivan's, newest first, not globex's"
        );
        let p2 = page(&store, "acme", &own, &all, p.next.clone(), 100).unwrap();
        assert_eq!(p2.records.len(), 7);
        assert_eq!(p2.next, None, "the end");

        let missed_in_sales = Filter {
            department: Some("sales".into()),
            outcome: Some(CallOutcome::Missed),
            ..Filter::default()
        };
        let p = page(&store, "acme", &Scope::Company, &missed_in_sales, None, 100).unwrap();
        assert_eq!(p.records.len(), 10, "even and not a multiple of 4");
        let tz = jiff::tz::TimeZone::UTC;
        let params = Params {
            outcome: "nonsense".into(),
            ..Params::default()
        };
        assert!(params.filter(&tz).is_err());
        let params = Params {
            person: "maria".into(),
            number: "0001".into(),
            limit: Some(10_000),
            ..Params::default()
        };
        let f = params.filter(&tz).unwrap();
        assert_eq!(params.limit(), MAX_PAGE);
        let p = page(&store, "acme", &Scope::Company, &f, None, 100).unwrap();
        assert_eq!(p.records.len(), 30);
        assert!(OUTCOMES.iter().all(|o| outcome(o).is_ok()));
    }
}
