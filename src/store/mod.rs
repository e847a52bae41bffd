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
//! | `meta`     | `current-files`                      | JSON: [`Applied`] with each file's digest in place of its text |
//! | `meta`     | `current` (older stores; read if no `current-files`) | JSON [`Applied`]       |
//! | `config_files` | hex SHA-256 of a config file's text | the text: written once, however many revisions keep it (an apply changing one file of many writes that one) |
//! | `history`  | revision, u64 8 bytes big-endian     | JSON [`ApplyRecord`]                   |
//! | `staff`    | `tenant` NUL `identity` (UTF-8)      | JSON [`StaffState`]                    |
//! | `counters` | counter name (UTF-8)                 | u64, 8 bytes big-endian                |
//!
//! Each other tree is described in its own file (`calls.rs`, `profiles.rs`, `greetings.rs`, …).
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
//!
//! # A disk that fails
//!
//! After a failed write (a full or read-only disk) sled refuses every later write until the
//! database is opened again: [`Store::reopen`] does that in place, once [`Store::probe`] finds
//! the directory writable, and [`Store::health`] keeps what the server reports meanwhile
//! (`health.rs`). Whatever was flushed before the failure is read back by the reopen.

mod applies;
mod call_stats;
mod callbacks;
mod calls;
mod codec;
mod counters;
mod greetings;
mod health;
mod journal;
mod lock;
#[cfg(test)]
mod lock_tests;
mod outbox;
mod profiles;
mod registrations;
#[cfg(test)]
mod tests;
mod voicemail;

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sled::transaction::{ConflictableTransactionError, TransactionError};

pub use applies::{Applied, Applies, ApplyRecord, NewApply, StaffState};
pub use call_stats::{CallStats, Sums, Totals};
pub use callbacks::{Callback, CallbackQueue};
pub use calls::{CallHistory, CallOutcome, CallQuery, CallRecord};
pub use counters::Counters;
pub use greetings::Greetings;
pub use health::{reason, Health, Status};
pub use journal::{Journal, INTERRUPTED};
use lock::DirLock;
pub use outbox::{Delivery, Outbox, OutboxEntry};
pub use profiles::{Profile, Profiles};
pub use registrations::Registrations;
pub use voicemail::{Voicemail, VoicemailIndex};

/// How long [`Store::open`] waits for sled's own file lock once it holds the directory's.
const SLED_LOCK_WAIT: Duration = Duration::from_secs(2);
/// How often it tries again meanwhile.
const SLED_LOCK_RETRY: Duration = Duration::from_millis(20);

/// The file [`Store::probe`] writes (and removes).
const PROBE_FILE: &str = "write-probe";
/// How much it writes: room for sled's next writes.
const PROBE_BYTES: usize = 256 * 1024;

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
    /// The open database; `None` between a failed reopen and the next one. Each operation
    /// takes its own `Arc`, so a reopen never waits on a lock held by a reader.
    trees: RwLock<Option<Arc<Trees>>>,
    /// Serializes reopens.
    reopening: Mutex<()>,
    /// Whether writes fail, since when and why (`health.rs`).
    health: Health,
    /// Dropped after the database (fields drop in order), so the directory stays locked until
    /// sled has flushed and closed.
    _lock: DirLock,
}

/// The sled database and the trees every store keeps open.
struct Trees {
    db: sled::Db,
    /// sled's log file (`db` in the directory), for `fsync`.
    log: std::fs::File,
    meta: sled::Tree,
    history: sled::Tree,
    staff: sled::Tree,
    counters: sled::Tree,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// Maps a sled error into [`StoreError::Storage`].
pub(super) fn storage(op: &'static str) -> impl FnOnce(sled::Error) -> StoreError {
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
        let store = Store {
            dir: dir.to_owned(),
            trees: RwLock::new(Some(Arc::new(Trees::open(dir)?))),
            reopening: Mutex::new(()),
            health: Health::new(dir),
            _lock: lock,
        };
        // The hourly call statistics of a store written before they existed.
        call_stats::build(&store)?;
        Ok(store)
    }

    /// Closes the database and opens it again: after a failed write sled refuses every
    /// later one (its error is sticky), so once the directory can be written again, this is
    /// how writes resume without a restart. What was flushed before is read back from disk;
    /// what was not is gone from the database (its writer keeps it to write again). Fails
    /// like [`Store::open`]; the database stays closed (every operation failing) until a later
    /// reopen succeeds.
    pub fn reopen(&self) -> Result<(), StoreError> {
        let _one = self.reopening.lock().unwrap_or_else(|e| e.into_inner());
        // Dropped here; operations still running on it finish first (sled's own lock on its
        // files is released only then, and `Trees::open` waits for it).
        drop(self.trees.write().unwrap_or_else(|e| e.into_inner()).take());
        let trees = Trees::open(&self.dir)?;
        *self.trees.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(trees));
        Ok(())
    }

    /// Whether the directory takes a write now: a file of [`PROBE_BYTES`] written, synced
    /// and removed — the OS's own error when the disk is full or read-only. What decides
    /// that a failing store may be reopened.
    pub fn probe(&self) -> io::Result<()> {
        use std::io::Write;
        let path = self.dir.join(PROBE_FILE);
        let written = std::fs::File::create(&path).and_then(|mut f| {
            f.write_all(&[0u8; PROBE_BYTES])?;
            f.sync_all()
        });
        let removed = std::fs::remove_file(&path);
        written?;
        removed
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether writes to the store fail (what the server reports and logs).
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// The open database.
    fn trees(&self) -> Result<Arc<Trees>, StoreError> {
        self.trees
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| StoreError::Storage {
                op: "open",
                source: io::Error::other(
                    "the database is closed after a failed write until it can be opened again",
                ),
            })
    }

    /// The tree `name` (opened on first use).
    fn tree(&self, name: &'static str) -> Result<sled::Tree, StoreError> {
        self.trees()?.db.open_tree(name).map_err(storage(name))
    }

    /// Writes everything not yet on disk (counters) and waits for it.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.sync("flush")
    }

    /// sled's flush, then an `fsync` of its log: on Linux sled syncs what it wrote with
    /// `sync_file_range`, which leaves the file's size and block map to the file system's
    /// next journal commit — a power cut, or a file system that turns read-only after an
    /// error, within those seconds loses writes sled called flushed (found by
    /// `tests/it/disk.rs`). The `fsync` makes a flushed write durable.
    fn sync(&self, op: &'static str) -> Result<(), StoreError> {
        let trees = self.trees()?;
        trees.db.flush().map_err(storage(op))?;
        trees
            .log
            .sync_all()
            .map_err(|source| StoreError::Storage { op, source })
    }
}

impl Trees {
    /// Opens the sled database in `dir` (whose directory lock the caller holds).
    fn open(dir: &Path) -> Result<Trees, StoreError> {
        let open_err = |source: io::Error| StoreError::Open {
            dir: dir.to_owned(),
            source,
        };
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
        let log = std::fs::File::open(dir.join("db")).map_err(open_err)?;
        Ok(Trees {
            log,
            meta: tree("meta")?,
            history: tree("history")?,
            staff: tree("staff")?,
            counters: tree("counters")?,
            db,
        })
    }
}
