//! Call history: one record per finished call, written in batches and flushed before the
//! batch is acknowledged, so a crash loses no completed call. Keyed by end time and id, so the
//! newest come first when read backwards.

use super::{Store, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

fn last_call_key(tenant: &str, login: &str) -> Vec<u8> {
    format!("{tenant}\0{login}").into_bytes()
}

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
}

impl Store {
    /// Appends `records` and flushes once for the whole batch. The staff member who answered
    /// a call has its time as their last received call (evenly's counter) in the same flush.
    pub fn append_calls(&self, records: &[CallRecord]) -> Result<(), StoreError> {
        let calls = self.tree("calls")?;
        let last = self.tree("last_calls")?;
        for r in records {
            if let (Some(login), Some(at)) = (&r.answered_by, r.answered_ms) {
                let key = last_call_key(&r.tenant, login);
                let newer = |old: Option<&[u8]>| {
                    let old = old.and_then(|v| v.try_into().ok()).map(u64::from_be_bytes);
                    Some(old.unwrap_or(0).max(at).to_be_bytes().to_vec())
                };
                last.fetch_and_update(key, newer)
                    .map_err(|e| StoreError::Storage {
                        op: "write last call",
                        source: e.into(),
                    })?;
            }
            let id = self.db.generate_id().map_err(|e| StoreError::Storage {
                op: "call id",
                source: e.into(),
            })?;
            let mut key = r.ended_ms.to_be_bytes().to_vec();
            key.extend_from_slice(&id.to_be_bytes());
            let value = serde_json::to_vec(r).map_err(|source| StoreError::Encode {
                what: "call record".into(),
                source,
            })?;
            calls.insert(key, value).map_err(|e| StoreError::Storage {
                op: "write call",
                source: e.into(),
            })?;
        }
        calls.flush().map_err(|e| StoreError::Storage {
            op: "flush calls",
            source: e.into(),
        })?;
        Ok(())
    }

    /// When each staff member (tenant id, login) last answered a call, in ms since the epoch.
    pub fn last_calls(&self) -> Result<HashMap<(String, String), u64>, StoreError> {
        let mut out = HashMap::new();
        for item in self.tree("last_calls")?.iter() {
            let (key, value) = item.map_err(|e| StoreError::Storage {
                op: "read last calls",
                source: e.into(),
            })?;
            let text = String::from_utf8_lossy(&key);
            let (Some((tenant, login)), Ok(bytes)) =
                (text.split_once('\0'), <[u8; 8]>::try_from(&value[..]))
            else {
                return Err(StoreError::Corrupt {
                    what: format!("last call {text:?}"),
                    detail: "not a tenant, a login and a time".into(),
                });
            };
            out.insert(
                (tenant.to_string(), login.to_string()),
                u64::from_be_bytes(bytes),
            );
        }
        Ok(out)
    }

    pub(super) fn tree(&self, name: &'static str) -> Result<sled::Tree, StoreError> {
        self.db.open_tree(name).map_err(|e| StoreError::Storage {
            op: name,
            source: e.into(),
        })
    }

    /// The newest `limit` call records of `tenant` (all tenants when `None`), newest first.
    pub fn calls(&self, tenant: Option<&str>, limit: usize) -> Result<Vec<CallRecord>, StoreError> {
        let calls = self.tree("calls")?;
        let mut out = Vec::new();
        for item in calls.iter().rev() {
            let (key, value) = item.map_err(|e| StoreError::Storage {
                op: "read calls",
                source: e.into(),
            })?;
            let r: CallRecord =
                serde_json::from_slice(&value).map_err(|e| StoreError::Corrupt {
                    what: format!(
                        "call {}",
                        key.iter().map(|b| format!("{b:02x}")).collect::<String>()
                    ),
                    detail: e.to_string(),
                })?;
            if tenant.is_none_or(|t| t == r.tenant) {
                out.push(r);
                if out.len() >= limit {
                    break;
                }
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
        let last = store.last_calls().unwrap();
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
        let a = store.calls(Some("a"), 10).unwrap();
        assert_eq!(a.iter().map(|r| r.ended_ms).collect::<Vec<_>>(), [300, 100]);
        assert_eq!(store.calls(None, 2).unwrap().len(), 2);
    }
}
