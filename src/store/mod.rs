//! The embedded store: what was applied (the running config, its revision and history), the
//! generated staff credentials, and runtime counters. sled sits behind this typed API; no sled
//! type appears in a public signature, so another backend can replace it.
//!
//! # Layout
//!
//! One sled database in the store directory, plus `store.lock`, which carries the lock that
//! keeps a second [`Store`] — of another process or of this one — off the directory while one
//! is open (`lock.rs`: a POSIX record lock, which a forked child does not inherit, and a
//! registry within the process). Trees and encodings:
//!
//! | tree       | key                                  | value                                  |
//! |------------|--------------------------------------|----------------------------------------|
//! | `meta`     | `revision`                           | u64, 8 bytes big-endian (absent = 0)   |
//! | `meta`     | `current`                            | JSON [`Applied`]                       |
//! | `history`  | revision, u64 8 bytes big-endian     | JSON [`ApplyRecord`]                   |
//! | `staff`    | `tenant` NUL `identity` (UTF-8)      | JSON [`StaffState`]                    |
//! | `counters` | counter name (UTF-8)                 | u64, 8 bytes big-endian                |
//!
//! Big-endian revision keys make `history` iterate in revision order. JSON values ignore
//! unknown fields, so a field added later must be `#[serde(default)]` to read older values.
//!
//! # Durability
//!
//! [`Store::record_apply`] and [`Store::set_password`] commit in one sled transaction and
//! flush to disk before returning: once they return `Ok`, a `kill -9` cannot lose the write.
//! [`Store::counter_add`] does not flush; sled flushes in the background (every 500 ms) and on
//! drop, and [`Store::flush`] forces it.

mod calls;
mod codec;
mod lock;
#[cfg(test)]
mod lock_tests;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};

use crate::credentials::DigestHashes;
pub use calls::{CallOutcome, CallRecord};
use codec::{decode, decode_u64, encode, CURRENT_KEY, REVISION_KEY};
use lock::DirLock;

/// How long [`Store::open`] waits for sled's own file lock once it holds the directory's.
const SLED_LOCK_WAIT: Duration = Duration::from_secs(2);
/// How often it tries again meanwhile.
const SLED_LOCK_RETRY: Duration = Duration::from_millis(20);

/// What one tenant's staff member got generated; never changes once written (only rotation
/// changes the password hashes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffState {
    /// The SIP login the member registers with.
    pub login: String,
    /// The extension generated for the member, when one was.
    pub extension: Option<String>,
    /// The digest hashes of the member's password, when one was generated.
    pub password: Option<DigestHashes>,
    /// The digest realm the hashes were computed for.
    pub realm: String,
    /// When the password was set, in milliseconds since the Unix epoch.
    pub password_set_at_ms: u64,
}

/// The config that is running, as the files it came from (file name -> YAML text).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// The revision this apply created; the first apply is 1.
    pub revision: u64,
    /// The config files, file name -> YAML text.
    pub files: BTreeMap<String, String>,
    /// [`config_digest`] of `files`.
    pub digest: String,
    /// When it was applied, in milliseconds since the Unix epoch.
    pub applied_at_ms: u64,
    /// Who applied it.
    pub actor: String,
    /// A one-line description of the change.
    pub summary: String,
}

/// One entry of the apply history (no file contents).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyRecord {
    /// The revision the apply created.
    pub revision: u64,
    /// When it was applied, in milliseconds since the Unix epoch.
    pub applied_at_ms: u64,
    /// Who applied it.
    pub actor: String,
    /// [`config_digest`] of the files applied.
    pub digest: String,
    /// A one-line description of the change.
    pub summary: String,
}

/// Everything one apply writes, committed atomically.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewApply {
    /// The config files, file name -> YAML text.
    pub files: BTreeMap<String, String>,
    /// Who applies it.
    pub actor: String,
    /// A one-line description of the change.
    pub summary: String,
    /// Generated values written or updated by this apply: (tenant id, identity, state).
    pub staff: Vec<(String, String, StaffState)>,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store directory or database could not be created or opened.
    #[error("cannot open the store in {}: {source}", dir.display())]
    Open {
        /// The store directory.
        dir: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Another process (or another `Store` in this one) has the store open.
    #[error("the store in {} is in use by another process (another pbx running?)", dir.display())]
    Locked {
        /// The store directory.
        dir: PathBuf,
    },
    /// Reading or writing the database failed.
    #[error("store {op} failed: {source}")]
    Storage {
        /// What was being done, e.g. `record apply`.
        op: &'static str,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A stored value cannot be decoded.
    #[error("the store holds a corrupt value for {what}: {detail}")]
    Corrupt {
        /// The key, e.g. `staff acme/ivan.petrov` or `meta current`.
        what: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A value could not be encoded as JSON.
    #[error("cannot encode {what}: {source}")]
    Encode {
        /// What was being encoded.
        what: String,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// The store is not at the revision the caller planned against; nothing was changed.
    #[error("the store is at revision {actual}, not {expected}: someone applied in between")]
    Conflict {
        /// The revision the caller expected.
        expected: u64,
        /// The revision the store is at.
        actual: u64,
    },
    /// The staff member has no stored state.
    #[error("no stored state for staff {tenant}/{identity}")]
    NotFound {
        /// The tenant id.
        tenant: String,
        /// The staff member's identity.
        identity: String,
    },
    /// A tenant id or identity cannot be used as a key.
    #[error("invalid store key {key:?}: {reason}")]
    InvalidKey {
        /// The offending name.
        key: String,
        /// Why it cannot be used.
        reason: &'static str,
    },
    /// A counter would exceed `u64::MAX`; it was left unchanged.
    #[error("counter {key} would overflow")]
    CounterOverflow {
        /// The counter name.
        key: String,
    },
}

/// Hex SHA-256 over the files in name order (for each: name, NUL, text, NUL); the
/// [`Applied::digest`] of a file set, so a caller can tell whether files differ from the
/// running config.
pub fn config_digest(files: &BTreeMap<String, String>) -> String {
    codec::config_digest(files)
}

/// The embedded store. Open once per process; share it behind an `Arc` (it is `Send + Sync`).
pub struct Store {
    dir: PathBuf,
    db: sled::Db,
    meta: sled::Tree,
    history: sled::Tree,
    staff: sled::Tree,
    counters: sled::Tree,
    /// Dropped after the database (fields drop in order), so the directory stays locked until
    /// sled has flushed and closed.
    _lock: DirLock,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// Maps a sled error into [`StoreError::Storage`].
fn storage(op: &'static str) -> impl FnOnce(sled::Error) -> StoreError {
    move |e| StoreError::Storage {
        op,
        source: e.into(),
    }
}

/// Maps the outcome of a transaction whose aborts carry a [`StoreError`].
fn transaction_error(op: &'static str) -> impl FnOnce(TransactionError<StoreError>) -> StoreError {
    move |e| match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => storage(op)(e),
    }
}

/// Aborts a transaction with a [`StoreError`].
fn abort<T>(e: StoreError) -> Result<T, ConflictableTransactionError<StoreError>> {
    Err(ConflictableTransactionError::Abort(e))
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Store {
    /// Opens (creating if needed) the store in `dir`. Fails with [`StoreError::Locked`] while
    /// another `Store` on the same directory is open, in this process or another.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let open_err = |source: io::Error| StoreError::Open {
            dir: dir.to_owned(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(open_err)?;
        let lock = DirLock::acquire(dir)?;
        // Holding the directory's lock, sled's own lock (an `flock` on its `db` file) can still
        // be held for a moment by a `Store` of this process that was just dropped and whose
        // background flusher is finishing, or by a child this process forked, which shares
        // the descriptor until it execs (or exits). Both pass quickly; wait rather than fail.
        let deadline = Instant::now() + SLED_LOCK_WAIT;
        let db = loop {
            match sled::Config::new().path(dir).open() {
                Ok(db) => break db,
                Err(sled::Error::Io(e))
                    if e.to_string().contains("could not acquire lock")
                        && Instant::now() < deadline =>
                {
                    std::thread::sleep(SLED_LOCK_RETRY);
                }
                Err(e) => return Err(open_err(e.into())),
            }
        };
        let tree = |name: &str| db.open_tree(name).map_err(|e| open_err(e.into()));
        Ok(Store {
            dir: dir.to_owned(),
            meta: tree("meta")?,
            history: tree("history")?,
            staff: tree("staff")?,
            counters: tree("counters")?,
            db,
            _lock: lock,
        })
    }

    /// The running config, or `None` when nothing was applied yet.
    pub fn current(&self) -> Result<Option<Applied>, StoreError> {
        let value = self
            .meta
            .get(CURRENT_KEY)
            .map_err(storage("read current config"))?;
        value.map(|v| decode("meta current", &v)).transpose()
    }

    /// The revision of the running config; 0 when nothing was applied.
    pub fn revision(&self) -> Result<u64, StoreError> {
        let value = self
            .meta
            .get(REVISION_KEY)
            .map_err(storage("read revision"))?;
        value.map_or(Ok(0), |v| decode_u64("meta revision", &v))
    }

    /// Records an apply atomically (one transaction over the revision counter, the current
    /// config, the history entry and the staff states) and flushes to disk before returning:
    /// once this returns `Ok`, a `kill -9` cannot lose it. `expected_revision`: if `Some(r)`
    /// and the current revision is not `r`, fails with [`StoreError::Conflict`] and changes
    /// nothing.
    pub fn record_apply(
        &self,
        apply: NewApply,
        expected_revision: Option<u64>,
    ) -> Result<Applied, StoreError> {
        let mut staff = Vec::with_capacity(apply.staff.len());
        for (tenant, identity, state) in &apply.staff {
            let key = codec::staff_key(tenant, identity)?;
            let value = encode(&codec::staff_what(&key), state)?;
            staff.push((key, value));
        }
        let digest = codec::config_digest(&apply.files);
        let applied_at_ms = now_ms();

        let applied = (&self.meta, &self.history, &self.staff)
            .transaction(|(meta, history, staff_tree)| {
                let actual = match meta.get(REVISION_KEY)? {
                    Some(v) => match decode_u64("meta revision", &v) {
                        Ok(r) => r,
                        Err(e) => return abort(e),
                    },
                    None => 0,
                };
                if let Some(expected) = expected_revision {
                    if expected != actual {
                        return abort(StoreError::Conflict { expected, actual });
                    }
                }
                let Some(revision) = actual.checked_add(1) else {
                    return abort(StoreError::Corrupt {
                        what: "meta revision".to_owned(),
                        detail: "at u64::MAX".to_owned(),
                    });
                };
                let applied = Applied {
                    revision,
                    files: apply.files.clone(),
                    digest: digest.clone(),
                    applied_at_ms,
                    actor: apply.actor.clone(),
                    summary: apply.summary.clone(),
                };
                let record = ApplyRecord {
                    revision,
                    applied_at_ms,
                    actor: apply.actor.clone(),
                    digest: digest.clone(),
                    summary: apply.summary.clone(),
                };
                let (current, record) = match (
                    encode("meta current", &applied),
                    encode(&format!("history {revision}"), &record),
                ) {
                    (Ok(c), Ok(r)) => (c, r),
                    (Err(e), _) | (_, Err(e)) => return abort(e),
                };
                for (key, value) in &staff {
                    staff_tree.insert(key.as_slice(), value.as_slice())?;
                }
                history.insert(&revision.to_be_bytes()[..], record)?;
                meta.insert(CURRENT_KEY, current)?;
                meta.insert(REVISION_KEY, &revision.to_be_bytes()[..])?;
                Ok(applied)
            })
            .map_err(transaction_error("record apply"))?;
        self.flush()?;
        Ok(applied)
    }

    /// The latest `limit` entries of the apply history, newest first.
    pub fn history(&self, limit: usize) -> Result<Vec<ApplyRecord>, StoreError> {
        self.history
            .iter()
            .rev()
            .take(limit)
            .map(|entry| {
                let (key, value) = entry.map_err(storage("read history"))?;
                let revision = decode_u64("history key", &key)?;
                decode(&format!("history {revision}"), &value)
            })
            .collect()
    }

    /// The stored staff states of one tenant, by identity.
    pub fn staff_states(&self, tenant: &str) -> Result<BTreeMap<String, StaffState>, StoreError> {
        let prefix = codec::staff_prefix(tenant)?;
        self.staff
            .scan_prefix(&prefix)
            .map(|entry| {
                let (key, value) = entry.map_err(storage("read staff states"))?;
                let (_, identity) = codec::split_staff_key(&key)?;
                Ok((identity, decode(&codec::staff_what(&key), &value)?))
            })
            .collect()
    }

    /// Every stored staff state, by (tenant id, identity).
    pub fn all_staff_states(&self) -> Result<BTreeMap<(String, String), StaffState>, StoreError> {
        self.staff
            .iter()
            .map(|entry| {
                let (key, value) = entry.map_err(storage("read staff states"))?;
                let ids = codec::split_staff_key(&key)?;
                Ok((ids, decode(&codec::staff_what(&key), &value)?))
            })
            .collect()
    }

    /// Replaces one staff member's password hashes (rotation), flushed before returning.
    /// [`StoreError::NotFound`] if the identity has no state.
    pub fn set_password(
        &self,
        tenant: &str,
        identity: &str,
        password: DigestHashes,
        at_ms: u64,
    ) -> Result<StaffState, StoreError> {
        let key = codec::staff_key(tenant, identity)?;
        let what = codec::staff_what(&key);
        let state = self
            .staff
            .transaction(|tx| {
                let Some(value) = tx.get(&key)? else {
                    return abort(StoreError::NotFound {
                        tenant: tenant.to_owned(),
                        identity: identity.to_owned(),
                    });
                };
                let mut state: StaffState = match decode(&what, &value) {
                    Ok(s) => s,
                    Err(e) => return abort(e),
                };
                state.password = Some(password.clone());
                state.password_set_at_ms = at_ms;
                match encode(&what, &state) {
                    Ok(v) => tx.insert(key.as_slice(), v)?,
                    Err(e) => return abort(e),
                };
                Ok(state)
            })
            .map_err(transaction_error("set password"))?;
        self.flush()?;
        Ok(state)
    }

    /// Adds `delta` to the counter `key` (absent = 0) and returns the new value. Not flushed:
    /// see the module doc.
    pub fn counter_add(&self, key: &str, delta: u64) -> Result<u64, StoreError> {
        let what = format!("counter {key}");
        self.counters
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
    pub fn counter(&self, key: &str) -> Result<u64, StoreError> {
        let value = self
            .counters
            .get(key.as_bytes())
            .map_err(storage("read counter"))?;
        value.map_or(Ok(0), |v| decode_u64(&format!("counter {key}"), &v))
    }

    /// Writes everything not yet on disk (counters) and waits for it.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map_err(storage("flush"))?;
        Ok(())
    }
}
