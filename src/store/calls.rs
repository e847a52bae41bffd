//! Call history behind the `CallHistory` trait: one record per finished call, written in
//! batches and flushed before the batch is acknowledged, so a crash loses no completed call.
//! Read by time and tenant, newest first, a page at a time — from an index per tenant, never
//! by scanning every record.
//!
//! | tree              | key                                  | value                   |
//! |-------------------|--------------------------------------|-------------------------|
//! | `calls`           | `ended_ms` (8 bytes BE) `id` (8, BE) | JSON [`CallRecord`]     |
//! | `calls_by_tenant` | `tenant` NUL `ended_ms` `id`         | empty                   |
//! | `last_calls`      | `tenant` NUL `login`                 | u64 ms BE (`counters`)  |
//!
//! A batch may carry letters (missed-call notices) that go into the outbox in the same flush,
//! and updates the hourly statistics (`call_stats.rs`) in it too.

use super::{storage, Store, StoreError};
use serde::{Deserialize, Serialize};

/// How a call ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    /// Someone answered; the call was talked and hung up.
    Answered,
    /// Answered after a no-answer transfer to another person or department.
    Transferred,
    /// Answered on an external number the call was forwarded to.
    Forwarded,
    /// Offered to people, nobody answered (and what would follow — voicemail — is not there).
    Missed,
    /// Every device was busy.
    Busy,
    /// The callee declined.
    Declined,
    /// The caller hung up before anyone answered.
    Cancelled,
    /// Nobody could be reached (not registered, no route, errors).
    #[default]
    Unavailable,
    /// No such extension or person.
    NotFound,
    /// The caller left a voicemail message.
    Voicemail,
    /// Outside working hours: the caller heard the after-hours prompt.
    Closed,
    /// The caller ordered a callback from the impatient-caller offer (and hung up).
    CallbackRequested,
    /// A callback the PBX made: a member and the caller talked (`answered_by`; `note` says
    /// how long after the order).
    CallbackCompleted,
    /// A callback attempt that failed (`note` says why); it is retried or given up.
    CallbackFailed,
}

/// One finished call.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    pub tenant: String,
    /// The caller: a staff login, or the number an outside caller presented.
    pub caller: String,
    /// What was called: a login, a department's extension, a company number, a number outside.
    pub callee: String,
    /// The company number the call came in on.
    #[serde(default)]
    pub number: Option<String>,
    /// The call came outside the number's working hours.
    #[serde(default)]
    pub after_hours: bool,
    /// Departments it rang, in order (ids).
    #[serde(default)]
    pub departments: Vec<String>,
    /// Everyone it was offered to, in order: logins, `login (mobile +7...)`, outside numbers.
    #[serde(default)]
    pub offered: Vec<String>,
    /// The staff member who answered (on a phone or their mobile).
    #[serde(default)]
    pub answered_by: Option<String>,
    /// Where it was answered, in the words of `offered`.
    #[serde(default)]
    pub answered_on: Option<String>,
    /// Ringing time (until answered or given up) and talk time, in ms.
    #[serde(default)]
    pub ring_ms: u64,
    #[serde(default)]
    pub talk_ms: u64,
    /// Why a call ended unanswered, when routing gave up.
    #[serde(default)]
    pub note: Option<String>,
    pub started_ms: u64,
    /// When it was answered, if it was.
    pub answered_ms: Option<u64>,
    pub ended_ms: u64,
    pub outcome: CallOutcome,
    /// The SIP status the caller got when the call was not answered.
    pub status: Option<u16>,
    /// RTP packets the PBX relayed from the caller to the callee, and back.
    #[serde(default)]
    pub rtp_caller_to_callee: u64,
    #[serde(default)]
    pub rtp_callee_to_caller: u64,
    /// Where this record is in the history (read back only): pass it as `before` to read
    /// the page of older records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// The call's key in the journal of calls in progress (`store::journal`), not kept in
    /// the history.
    #[serde(skip)]
    pub journal: Option<u64>,
}

/// Which records to read: newest first, `limit` at most.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallQuery {
    /// One tenant's, or every tenant's.
    pub tenant: Option<String>,
    /// Calls that ended at or after this time (ms since the epoch).
    pub since_ms: Option<u64>,
    /// Calls that ended before this time.
    pub until_ms: Option<u64>,
    /// Only records older than the one with this `cursor` (the next page).
    pub before: Option<String>,
    pub limit: usize,
}

/// The call history of a server.
pub trait CallHistory {
    /// Appends `records` and flushes once for the whole batch. The staff member who answered
    /// a call has its time as their last received call (evenly's counter) in the same flush.
    fn append_calls(&self, records: &[CallRecord]) -> Result<(), StoreError> {
        self.append_calls_with_letters(records, &[], 0)
    }

    /// Appends `records` as [`CallHistory::append_calls`] does, and enqueues `letters`
    /// (kind, payload; due at `now_ms`) in the outbox in the same flush, written before the
    /// records: a record that survives a crash has its letters, and a batch written is never
    /// written again, so each letter is enqueued once.
    fn append_calls_with_letters(
        &self,
        records: &[CallRecord],
        letters: &[(String, serde_json::Value)],
        now_ms: u64,
    ) -> Result<(), StoreError>;

    /// The records `query` asks for, newest first, each with its `cursor`.
    fn calls(&self, query: &CallQuery) -> Result<Vec<CallRecord>, StoreError>;

    /// Those of `records` the history does not hold yet (an equal record, ended at the same
    /// millisecond): what to append again after a batch's write failed, part of which may
    /// have reached the disk all the same.
    fn unwritten(&self, records: &[CallRecord]) -> Result<Vec<CallRecord>, StoreError>;
}

/// `ended_ms` and `id` as a key (and as the cursor's bytes).
fn time_key(ended_ms: u64, id: u64) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&ended_ms.to_be_bytes());
    key[8..].copy_from_slice(&id.to_be_bytes());
    key
}

fn cursor_of(key: &[u8]) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}

fn cursor_key(cursor: &str) -> Result<[u8; 16], StoreError> {
    let bad = || StoreError::InvalidKey {
        key: cursor.to_string(),
        reason: "not a call history cursor",
    };
    if cursor.len() != 32 || !cursor.is_ascii() {
        return Err(bad());
    }
    let mut key = [0u8; 16];
    for (i, b) in key.iter_mut().enumerate() {
        *b = u8::from_str_radix(&cursor[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(key)
}

impl CallHistory for Store {
    fn append_calls_with_letters(
        &self,
        records: &[CallRecord],
        letters: &[(String, serde_json::Value)],
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let outbox = self.tree("outbox")?;
        for (kind, payload) in letters {
            let id = self
                .trees()?
                .db
                .generate_id()
                .map_err(storage("outbox id"))?;
            let entry = super::outbox::new_entry(id, kind, payload.clone(), now_ms);
            outbox
                .insert(
                    id.to_be_bytes(),
                    super::codec::encode("outbox entry", &entry)?,
                )
                .map_err(storage("write outbox"))?;
        }
        let calls = self.tree("calls")?;
        let open = self.tree("open_calls")?;
        let by_tenant = self.tree("calls_by_tenant")?;
        let last = self.tree("last_calls")?;
        for r in records {
            if let (Some(login), Some(at)) = (&r.answered_by, r.answered_ms) {
                let key = super::codec::staff_key(&r.tenant, login)?;
                let newer = |old: Option<&[u8]>| {
                    let old = old.and_then(|v| v.try_into().ok()).map(u64::from_be_bytes);
                    Some(old.unwrap_or(0).max(at).to_be_bytes().to_vec())
                };
                last.fetch_and_update(key, newer)
                    .map_err(storage("write last call"))?;
            }
            let id = self.trees()?.db.generate_id().map_err(storage("call id"))?;
            let key = time_key(r.ended_ms, id);
            let mut record = r.clone();
            record.cursor = None;
            let value = serde_json::to_vec(&record).map_err(|source| StoreError::Encode {
                what: "call record".into(),
                source,
            })?;
            calls.insert(key, value).map_err(storage("write call"))?;
            let mut index = super::codec::staff_prefix(&r.tenant)?;
            index.extend_from_slice(&key);
            by_tenant
                .insert(index, &[][..])
                .map_err(storage("write call index"))?;
        }
        // The hourly statistics, flushed with the records.
        super::call_stats::add(self, records)?;
        // A finished call leaves the journal of calls in progress, flushed with its record.
        for key in records.iter().filter_map(|r| r.journal) {
            open.remove(key.to_be_bytes())
                .map_err(storage("remove open call"))?;
        }
        self.sync("flush calls")?;
        Ok(())
    }

    fn calls(&self, query: &CallQuery) -> Result<Vec<CallRecord>, StoreError> {
        let calls = self.tree("calls")?;
        // The window of keys: [since, min(until, before)).
        let low = time_key(query.since_ms.unwrap_or(0), 0);
        let mut high = time_key(query.until_ms.unwrap_or(u64::MAX), 0);
        if let Some(cursor) = &query.before {
            high = high.min(cursor_key(cursor)?);
        }
        let mut out = Vec::new();
        if query.limit == 0 || low >= high {
            return Ok(out);
        }
        let mut push = |key: &[u8], value: &[u8]| -> Result<bool, StoreError> {
            let mut r: CallRecord =
                serde_json::from_slice(value).map_err(|e| StoreError::Corrupt {
                    what: format!("call {}", cursor_of(key)),
                    detail: e.to_string(),
                })?;
            r.cursor = Some(cursor_of(key));
            out.push(r);
            Ok(out.len() < query.limit)
        };
        match &query.tenant {
            None => {
                for item in calls.range(low..high).rev() {
                    let (key, value) = item.map_err(storage("read calls"))?;
                    if !push(&key, &value)? {
                        break;
                    }
                }
            }
            Some(tenant) => {
                let prefix = super::codec::staff_prefix(tenant)?;
                let from = [prefix.as_slice(), &low].concat();
                let to = [prefix.as_slice(), &high].concat();
                let index = self.tree("calls_by_tenant")?;
                for item in index.range(from..to).rev() {
                    let (key, _) = item.map_err(storage("read call index"))?;
                    let time = &key[prefix.len()..];
                    let Some(value) = calls.get(time).map_err(storage("read call"))? else {
                        continue;
                    };
                    if !push(time, &value)? {
                        break;
                    }
                }
            }
        }
        Ok(out)
    }

    fn unwritten(&self, records: &[CallRecord]) -> Result<Vec<CallRecord>, StoreError> {
        let calls = self.tree("calls")?;
        let mut out = Vec::new();
        for r in records {
            let mut wanted = r.clone();
            wanted.cursor = None;
            wanted.journal = None;
            let mut held = false;
            for item in calls.range(time_key(r.ended_ms, 0)..=time_key(r.ended_ms, u64::MAX)) {
                let (_, value) = item.map_err(storage("read calls"))?;
                if serde_json::from_slice::<CallRecord>(&value).is_ok_and(|s| s == wanted) {
                    held = true;
                    break;
                }
            }
            if !held {
                out.push(r.clone());
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(tenant: &str, ended: u64) -> CallRecord {
        CallRecord {
            tenant: tenant.into(),
            caller: "ivan".into(),
            callee: "maria".into(),
            started_ms: ended - 10,
            answered_ms: Some(ended - 5),
            ended_ms: ended,
            outcome: CallOutcome::Answered,
            ..CallRecord::default()
        }
    }

    #[test]
    fn letters_written_with_a_batch_are_in_the_outbox_after_a_reopen() {
        use crate::store::{Delivery, Outbox};
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            let letters = vec![(
                "missed_call_letter".to_owned(),
                serde_json::json!({"email": "anna@example.com"}),
            )];
            store
                .append_calls_with_letters(&[record("a", 100)], &letters, 42)
                .unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let entries = store.outbox(10).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].kind, "missed_call_letter");
        assert_eq!(
            entries[0].delivery,
            Delivery::Pending {
                next_attempt_ms: 42
            }
        );
        let query = CallQuery {
            limit: 10,
            ..CallQuery::default()
        };
        assert_eq!(store.calls(&query).unwrap().len(), 1);
    }

    #[test]
    fn the_last_call_each_person_answered_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            let answered = |tenant: &str, login: &str, at: u64| CallRecord {
                answered_by: Some(login.into()),
                ..record(tenant, at + 5)
            };
            store
                .append_calls(&[answered("a", "maria", 100), answered("a", "oleg", 70)])
                .unwrap();
            // An older answer (records of one batch can end out of order) does not go back.
            store
                .append_calls(&[answered("a", "maria", 50), answered("b", "maria", 10)])
                .unwrap();
            // Unanswered calls count for nobody.
            store.append_calls(&[record("a", 500)]).unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let last = crate::store::Counters::last_calls(&store).unwrap();
        let key = |t: &str, l: &str| (t.to_string(), l.to_string());
        assert_eq!(last.len(), 3, "{last:?}");
        assert_eq!(last[&key("a", "maria")], 100);
        assert_eq!(last[&key("a", "oleg")], 70);
        assert_eq!(last[&key("b", "maria")], 10);
    }

    #[test]
    fn records_survive_reopen_newest_first_per_tenant() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            store
                .append_calls(&[record("a", 100), record("b", 200), record("a", 300)])
                .unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let query = |tenant: Option<&str>, limit| CallQuery {
            tenant: tenant.map(str::to_string),
            limit,
            ..CallQuery::default()
        };
        let a = store.calls(&query(Some("a"), 10)).unwrap();
        assert_eq!(a.iter().map(|r| r.ended_ms).collect::<Vec<_>>(), [300, 100]);
        assert_eq!(store.calls(&query(None, 2)).unwrap().len(), 2);
    }

    #[test]
    fn pages_walk_back_through_a_tenants_calls_within_a_window() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let batch: Vec<CallRecord> = (1..=30)
            .map(|i| record(if i % 3 == 0 { "b" } else { "a" }, i * 100))
            .collect();
        store.append_calls(&batch).unwrap();
        let ends = |records: &[CallRecord]| records.iter().map(|r| r.ended_ms).collect::<Vec<_>>();
        let mut query = CallQuery {
            tenant: Some("a".into()),
            since_ms: Some(500),
            until_ms: Some(2_000),
            limit: 4,
            ..CallQuery::default()
        };
        let first = store.calls(&query).unwrap();
        assert_eq!(ends(&first), [1900, 1700, 1600, 1400]);
        query.before = first.last().unwrap().cursor.clone();
        let second = store.calls(&query).unwrap();
        assert_eq!(ends(&second), [1300, 1100, 1000, 800]);
        query.before = second.last().unwrap().cursor.clone();
        assert_eq!(ends(&store.calls(&query).unwrap()), [700, 500]);
        query.before = Some("not a cursor".into());
        assert!(matches!(
            store.calls(&query),
            Err(StoreError::InvalidKey { .. })
        ));
        // Tenant b sees only its own.
        let b = store
            .calls(&CallQuery {
                tenant: Some("b".into()),
                limit: 100,
                ..CallQuery::default()
            })
            .unwrap();
        assert_eq!(b.len(), 10);
        assert!(b.iter().all(|r| r.tenant == "b"));
    }

    #[test]
    fn a_batch_written_again_skips_the_records_the_history_already_holds() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let held = record("a", 100);
        store.append_calls(std::slice::from_ref(&held)).unwrap();
        let mut other = record("a", 100);
        other.caller = "oleg".into();
        let mut read_back = store.calls(&CallQuery {
            limit: 1,
            ..CallQuery::default()
        });
        let read_back = read_back.as_mut().unwrap().pop().unwrap();
        let batch = [read_back, other.clone(), record("a", 200)];
        let todo = store.unwritten(&batch).unwrap();
        assert_eq!(todo, [other, record("a", 200)]);
    }

    #[test]
    fn a_reopened_store_holds_what_was_flushed_and_takes_writes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.append_calls(&[record("a", 100)]).unwrap();
        let reader = store.calls(&CallQuery {
            limit: 10,
            ..CallQuery::default()
        });
        store.reopen().unwrap();
        store.append_calls(&[record("a", 200)]).unwrap();
        let all = store
            .calls(&CallQuery {
                limit: 10,
                ..CallQuery::default()
            })
            .unwrap();
        assert_eq!(reader.unwrap().len(), 1);
        assert_eq!(all.len(), 2);
        store.probe().unwrap();
        assert!(!dir.path().join("write-probe").exists());
    }
}
