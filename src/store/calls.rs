//! Call history: one record per finished call, written in batches and flushed before the
//! batch is acknowledged, so a crash loses no completed call. Keyed by end time and id, so the
//! newest come first when read backwards.

use super::{Store, StoreError};
use serde::{Deserialize, Serialize};

/// How a call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    /// Someone answered; the call was talked and hung up.
    Answered,
    /// Every device was busy.
    Busy,
    /// The callee declined.
    Declined,
    /// The caller hung up before anyone answered.
    Cancelled,
    /// Nobody could be reached (not registered, no answer, errors).
    Unavailable,
    /// No such extension or person.
    NotFound,
}

/// One finished call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    pub tenant: String,
    /// The caller's login.
    pub caller: String,
    /// The callee's login.
    pub callee: String,
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
    /// Appends `records` and flushes once for the whole batch.
    pub fn append_calls(&self, records: &[CallRecord]) -> Result<(), StoreError> {
        let calls = self
            .db
            .open_tree("calls")
            .map_err(|e| StoreError::Storage {
                op: "open calls",
                source: e.into(),
            })?;
        for r in records {
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

    /// The newest `limit` call records of `tenant` (all tenants when `None`), newest first.
    pub fn calls(&self, tenant: Option<&str>, limit: usize) -> Result<Vec<CallRecord>, StoreError> {
        let calls = self
            .db
            .open_tree("calls")
            .map_err(|e| StoreError::Storage {
                op: "open calls",
                source: e.into(),
            })?;
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
            status: None,
            rtp_caller_to_callee: 0,
            rtp_callee_to_caller: 0,
        }
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
