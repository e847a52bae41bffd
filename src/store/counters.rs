//! Runtime counters behind the `Counters` trait: named counters, and when each staff member
//! last received a call (evenly's order; written by `calls.rs` in the same flush as the call
//! records). Counters are not flushed on every change: sled flushes in the background (every
//! 500 ms) and on drop, and `Store::flush` forces it.

use super::codec::decode_u64;
use super::{abort, storage, transaction_error, Store, StoreError};
use std::collections::HashMap;

/// Counters of a server.
pub trait Counters {
    /// Adds `delta` to the counter `key` (absent = 0) and returns the new value. Not flushed:
    /// see the module doc.
    fn counter_add(&self, key: &str, delta: u64) -> Result<u64, StoreError>;

    /// The value of the counter `key`; 0 when it was never added to.
    fn counter(&self, key: &str) -> Result<u64, StoreError>;
    /// When each staff member (tenant id, login) last answered a call, in ms since the epoch.
    fn last_calls(&self) -> Result<HashMap<(String, String), u64>, StoreError>;
}

impl Counters for Store {
    /// Adds `delta` to the counter `key` (absent = 0) and returns the new value. Not flushed:
    /// see the module doc.
    fn counter_add(&self, key: &str, delta: u64) -> Result<u64, StoreError> {
        let what = format!("counter {key}");
        self.trees()?
            .counters
            .transaction(|tx| {
                let old = match tx.get(key.as_bytes())? {
                    Some(v) => match decode_u64(&what, &v) {
                        Ok(n) => n,
                        Err(e) => return abort(e),
                    },
                    None => 0,
                };
                let Some(new) = old.checked_add(delta) else {
                    return abort(StoreError::CounterOverflow {
                        key: key.to_owned(),
                    });
                };
                tx.insert(key.as_bytes(), &new.to_be_bytes()[..])?;
                Ok(new)
            })
            .map_err(transaction_error("add to counter"))
    }

    /// The value of the counter `key`; 0 when it was never added to.
    fn counter(&self, key: &str) -> Result<u64, StoreError> {
        let value = self
            .trees()?
            .counters
            .get(key.as_bytes())
            .map_err(storage("read counter"))?;
        value.map_or(Ok(0), |v| decode_u64(&format!("counter {key}"), &v))
    }

    fn last_calls(&self) -> Result<HashMap<(String, String), u64>, StoreError> {
        let mut out = HashMap::new();
        for item in self.tree("last_calls")?.iter() {
            let (key, value) = item.map_err(storage("read last calls"))?;
            let ids = super::codec::split_staff_key(&key)?;
            let Ok(bytes) = <[u8; 8]>::try_from(&value[..]) else {
                return Err(StoreError::Corrupt {
                    what: format!("last call {}/{}", ids.0, ids.1),
                    detail: "not a time".into(),
                });
            };
            out.insert(ids, u64::from_be_bytes(bytes));
        }
        Ok(out)
    }
}
