//! Call statistics kept as the history is written (`CallStats`): per tenant and hour (UTC),
//! the sums of each dimension a record counts in — the tenant, each department it rang, each
//! person it was offered or dialled to — so a month is read from its ~744 hours instead of
//! every record of it. An hour a window only partly covers (a time zone off by half an hour,
//! a window that does not start on the hour) is counted from its records.
//!
//! | tree         | key                                          | value                          |
//! |--------------|----------------------------------------------|--------------------------------|
//! | `call_stats` | `tenant` NUL hour (`ended_ms` / 3,600,000, BE) | JSON map: dimension -> [`Sums`] |
//! | `meta`       | `call_stats`                                 | present once the sums hold every record |
//!
//! Dimensions: `""` the tenant (answered: by anyone), `department:<id>` (answered: by anyone),
//! `person:<login>` (answered: by them). The sums are updated in the flush of their records'
//! batch; a store written before they existed has them built once when it is opened.

use super::codec::{decode, encode};
use super::{storage, Store, StoreError};
use super::{CallHistory, CallQuery, CallRecord};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// One hour, in ms.
const HOUR_MS: u64 = 3_600_000;
/// The `meta` key saying the sums are complete.
const BUILT_KEY: &[u8] = b"call_stats";

/// The sums of one dimension over some calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sums {
    pub calls: u64,
    pub answered: u64,
    /// Ringing time summed (until answered or given up), in ms.
    pub wait_ms: u64,
    pub longest_wait_ms: u64,
    pub talk_ms: u64,
}

impl Sums {
    /// Counts one call.
    pub fn add(&mut self, r: &CallRecord, answered: bool) {
        self.calls += 1;
        self.answered += u64::from(answered);
        self.wait_ms += r.ring_ms;
        self.longest_wait_ms = self.longest_wait_ms.max(r.ring_ms);
        self.talk_ms += r.talk_ms;
    }

    /// Adds the calls of `other`.
    pub fn merge(&mut self, other: &Sums) {
        self.calls += other.calls;
        self.answered += other.answered;
        self.wait_ms += other.wait_ms;
        self.longest_wait_ms = self.longest_wait_ms.max(other.longest_wait_ms);
        self.talk_ms += other.talk_ms;
    }
}

/// The dimensions `r` counts in, each with whether it was answered there.
pub fn dimensions(r: &CallRecord) -> Vec<(String, bool)> {
    let answered = r.answered_ms.is_some();
    let mut out = vec![(String::new(), answered)];
    for d in &r.departments {
        let dim = format!("department:{d}");
        if !out.iter().any(|(x, _)| *x == dim) {
            out.push((dim, answered));
        }
    }
    // People it was offered or dialled to (a mobile offer names its owner first).
    let people = r
        .offered
        .iter()
        .map(|o| o.split(" (").next().unwrap_or(o.as_str()))
        .chain(std::iter::once(r.callee.as_str()))
        .chain(r.answered_by.as_deref());
    for login in people {
        if login.is_empty() || login == r.caller {
            continue;
        }
        let dim = format!("person:{login}");
        if !out.iter().any(|(x, _)| *x == dim) {
            let by_them = r.answered_by.as_deref() == Some(login);
            out.push((dim, by_them));
        }
    }
    out
}

/// Sums by dimension.
pub type Totals = BTreeMap<String, Sums>;

fn add_record(totals: &mut Totals, r: &CallRecord) {
    for (dim, answered) in dimensions(r) {
        totals.entry(dim).or_default().add(r, answered);
    }
}

fn bucket_key(tenant: &str, hour: u64) -> Result<Vec<u8>, StoreError> {
    let mut key = super::codec::staff_prefix(tenant)?;
    key.extend_from_slice(&hour.to_be_bytes());
    Ok(key)
}

/// Statistics read from the sums.
pub trait CallStats {
    /// The sums of `tenant`'s calls that ended in `[since_ms, until_ms)`, by dimension.
    fn call_stats(&self, tenant: &str, since_ms: u64, until_ms: u64) -> Result<Totals, StoreError>;
}

impl CallStats for Store {
    fn call_stats(&self, tenant: &str, since_ms: u64, until_ms: u64) -> Result<Totals, StoreError> {
        let mut totals = Totals::new();
        if since_ms >= until_ms {
            return Ok(totals);
        }
        let first = since_ms.div_ceil(HOUR_MS);
        let last = until_ms / HOUR_MS;
        if first >= last {
            scan_into(self, &mut totals, tenant, since_ms, until_ms)?;
            return Ok(totals);
        }
        scan_into(self, &mut totals, tenant, since_ms, first * HOUR_MS)?;
        let tree = self.tree("call_stats")?;
        let range = bucket_key(tenant, first)?..bucket_key(tenant, last)?;
        for item in tree.range(range) {
            let (key, value) = item.map_err(storage("read call stats"))?;
            let bucket: Totals = decode("call stats", &value).map_err(|e| match e {
                StoreError::Corrupt { detail, .. } => StoreError::Corrupt {
                    what: format!("call stats {key:?}"),
                    detail,
                },
                e => e,
            })?;
            for (dim, sums) in &bucket {
                totals.entry(dim.clone()).or_default().merge(sums);
            }
        }
        scan_into(self, &mut totals, tenant, last * HOUR_MS, until_ms)?;
        Ok(totals)
    }
}

/// Counts `tenant`'s records of `[since_ms, until_ms)` one by one.
fn scan_into(
    store: &Store,
    totals: &mut Totals,
    tenant: &str,
    since_ms: u64,
    until_ms: u64,
) -> Result<(), StoreError> {
    if since_ms >= until_ms {
        return Ok(());
    }
    let mut query = CallQuery {
        tenant: Some(tenant.to_owned()),
        since_ms: Some(since_ms),
        until_ms: Some(until_ms),
        before: None,
        limit: 2000,
    };
    loop {
        let records = store.calls(&query)?;
        for r in records.iter().filter(|r| r.tenant == tenant) {
            add_record(totals, r);
        }
        if records.len() < query.limit {
            return Ok(());
        }
        query.before = records.last().and_then(|r| r.cursor.clone());
    }
}

/// Adds `records` to their hours' sums (one read and write per tenant and hour).
pub(super) fn add(store: &Store, records: &[CallRecord]) -> Result<(), StoreError> {
    let mut buckets: HashMap<(String, u64), Totals> = HashMap::new();
    for r in records {
        add_record(
            buckets
                .entry((r.tenant.clone(), r.ended_ms / HOUR_MS))
                .or_default(),
            r,
        );
    }
    let tree = store.tree("call_stats")?;
    for ((tenant, hour), add) in buckets {
        let key = bucket_key(&tenant, hour)?;
        let mut bucket: Totals = match tree.get(&key).map_err(storage("read call stats"))? {
            Some(v) => decode("call stats", &v)?,
            None => Totals::new(),
        };
        for (dim, sums) in &add {
            bucket.entry(dim.clone()).or_default().merge(sums);
        }
        tree.insert(key, encode("call stats", &bucket)?)
            .map_err(storage("write call stats"))?;
    }
    Ok(())
}

/// Builds the sums from every record, once: for a store written before they existed.
pub(super) fn build(store: &Store) -> Result<(), StoreError> {
    if store
        .trees()?
        .meta
        .get(BUILT_KEY)
        .map_err(storage("read meta"))?
        .is_some()
    {
        return Ok(());
    }
    let tree = store.tree("call_stats")?;
    tree.clear().map_err(storage("clear call stats"))?;
    let mut query = CallQuery {
        limit: 5000,
        ..CallQuery::default()
    };
    loop {
        let records = store.calls(&query)?;
        add(store, &records)?;
        if records.len() < query.limit {
            break;
        }
        query.before = records.last().and_then(|r| r.cursor.clone());
    }
    store
        .trees()?
        .meta
        .insert(BUILT_KEY, &[1u8][..])
        .map_err(storage("write meta"))?;
    store.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::CallOutcome;

    fn record(tenant: &str, ended_ms: u64, i: u64) -> CallRecord {
        let answered =
            (!i.is_multiple_of(3)).then_some(if i.is_multiple_of(2) { "anna" } else { "oleg" });
        CallRecord {
            tenant: tenant.into(),
            caller: if i.is_multiple_of(5) {
                "oleg".into()
            } else {
                "+7900".into()
            },
            callee: "sales".into(),
            departments: if i.is_multiple_of(4) {
                vec![]
            } else {
                vec!["sales".into()]
            },
            offered: vec!["anna".into(), "oleg (mobile +7916)".into()],
            answered_by: answered.map(str::to_owned),
            answered_ms: answered.map(|_| ended_ms - 1),
            ring_ms: i * 7 % 5000,
            talk_ms: i * 13 % 9000,
            started_ms: ended_ms - 10,
            ended_ms,
            outcome: if answered.is_some() {
                CallOutcome::Answered
            } else {
                CallOutcome::Missed
            },
            ..CallRecord::default()
        }
    }

    /// The sums of a window counted from every record, the slow way.
    fn scanned(records: &[CallRecord], tenant: &str, since: u64, until: u64) -> Totals {
        let mut t = Totals::new();
        for r in records
            .iter()
            .filter(|r| r.tenant == tenant && r.ended_ms >= since && r.ended_ms < until)
        {
            add_record(&mut t, r);
        }
        t
    }

    #[test]
    fn the_sums_of_any_window_equal_counting_every_record() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        // Calls every 7 minutes over three days, two tenants.
        let records: Vec<CallRecord> = (1..=620u64)
            .map(|i| record(if i % 7 == 0 { "b" } else { "a" }, i * 7 * 60_000 + i, i))
            .collect();
        for batch in records.chunks(50) {
            store.append_calls(batch).unwrap();
        }
        for (since, until) in [
            (0, u64::MAX),
            (HOUR_MS / 2, 30 * HOUR_MS + HOUR_MS / 4),
            (5 * HOUR_MS, 29 * HOUR_MS),
            (10 * HOUR_MS + 1, 10 * HOUR_MS + 1_800_000),
            (20 * HOUR_MS, 20 * HOUR_MS),
        ] {
            for tenant in ["a", "b"] {
                let got = store.call_stats(tenant, since, until).unwrap();
                assert_eq!(
                    got,
                    scanned(&records, tenant, since, until),
                    "{tenant} {since}..{until}"
                );
            }
        }
        let all = store.call_stats("a", 0, u64::MAX).unwrap();
        assert!(all["person:anna"].answered > 0 && all.contains_key("department:sales"));
        assert!(
            !all.contains_key("person:+7900"),
            "the caller is not a callee"
        );
    }

    #[test]
    fn a_store_from_before_the_sums_gets_them_built_once_when_opened() {
        let dir = tempfile::tempdir().unwrap();
        let records: Vec<CallRecord> = (1..=30u64).map(|i| record("a", i * HOUR_MS, i)).collect();
        {
            let store = Store::open(dir.path()).unwrap();
            store.append_calls(&records).unwrap();
            // As if written before the sums existed.
            store.tree("call_stats").unwrap().clear().unwrap();
            store.trees().unwrap().meta.remove(BUILT_KEY).unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let got = store.call_stats("a", 0, u64::MAX).unwrap();
        assert_eq!(got, scanned(&records, "a", 0, u64::MAX));
        assert_eq!(got[""].calls, 30);
    }
}
