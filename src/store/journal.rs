//! The journal of calls in progress behind the `Journal` trait: a call is written here when it
//! starts and again when it is answered, and leaves when its history record is appended (the
//! same `append_calls` removes it, flushed together). What is still here when the server
//! starts is a call the process did not live to finish (a kill, a crash, a power cut):
//! `recover_calls` closes each into the history, so no call that reached the journal is
//! missing from it. A call shorter than one of the writer's batches can still be lost with
//! the process — the journal is written in the same batches as the history.
//!
//! | tree        | key                 | value               |
//! |-------------|---------------------|---------------------|
//! | `open_calls`| journal key (8, BE) | JSON [`CallRecord`] |

use super::calls::{CallHistory, CallOutcome, CallRecord};
use super::{storage, Store, StoreError};

/// The note of a call closed at startup.
pub const INTERRUPTED: &str = "the server stopped while the call was in progress";

/// Where calls in progress are kept until their record is written.
pub trait Journal {
    /// Writes (or rewrites) these calls in progress; each must carry its `journal` key.
    fn journal_calls(&self, open: &[CallRecord]) -> Result<(), StoreError>;
    /// The calls in progress the journal holds.
    fn open_calls(&self) -> Result<Vec<CallRecord>, StoreError>;
    /// Closes every call left in the journal into the history, as ended at `now_ms`; how many.
    fn recover_calls(&self, now_ms: u64) -> Result<usize, StoreError>;
}

impl Journal for Store {
    fn journal_calls(&self, open: &[CallRecord]) -> Result<(), StoreError> {
        let tree = self.tree("open_calls")?;
        for r in open {
            let Some(key) = r.journal else { continue };
            let value = super::codec::encode("open call", r)?;
            tree.insert(key.to_be_bytes(), value)
                .map_err(storage("write open call"))?;
        }
        self.sync("flush open calls")?;
        Ok(())
    }

    fn open_calls(&self) -> Result<Vec<CallRecord>, StoreError> {
        let tree = self.tree("open_calls")?;
        let mut out = Vec::new();
        for entry in tree.iter() {
            let (key, value) = entry.map_err(storage("read open calls"))?;
            let mut r: CallRecord =
                serde_json::from_slice(&value).map_err(|e| StoreError::Corrupt {
                    what: format!("open call {key:?}"),
                    detail: e.to_string(),
                })?;
            r.journal = key.as_ref().try_into().ok().map(u64::from_be_bytes);
            out.push(r);
        }
        Ok(out)
    }

    fn recover_calls(&self, now_ms: u64) -> Result<usize, StoreError> {
        let open = self.open_calls()?;
        let closed: Vec<CallRecord> = open
            .into_iter()
            .map(|mut r| {
                r.ended_ms = now_ms.max(r.started_ms);
                r.ring_ms = r.answered_ms.unwrap_or(r.ended_ms) - r.started_ms;
                r.talk_ms = r.answered_ms.map_or(0, |a| r.ended_ms.saturating_sub(a));
                r.outcome = if r.answered_ms.is_some() {
                    CallOutcome::Answered
                } else {
                    CallOutcome::Unavailable
                };
                r.note = Some(INTERRUPTED.into());
                r
            })
            .collect();
        // Appending removes them from the journal.
        self.append_calls(&closed)?;
        Ok(closed.len())
    }
}
