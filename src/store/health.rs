//! `Health`: whether writes to the store's directory fail — since when, why, how many, and
//! how many call records wait in memory to be written. It is what the admin API's `/healthz`
//! shows (`Status`) and what the server logs: one line when writes start failing, then at
//! most one a minute (`REPEAT`) with the count of failures since the last, and one when they
//! work again — a full disk never floods the log. The lines are returned, not printed, and
//! time is passed in, so the rules are tested without a clock.

use super::StoreError;
use serde::Serialize;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often a failing store is reported again while it keeps failing.
pub const REPEAT: Duration = Duration::from_secs(60);

/// The store's health, shared by everything that writes to it.
#[derive(Debug)]
pub struct Health {
    dir: PathBuf,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    failing: Option<Failing>,
    /// Call records waiting in memory to be written.
    waiting: usize,
}

#[derive(Debug)]
struct Failing {
    since: Instant,
    since_ms: u64,
    /// The latest reason.
    error: String,
    failures: u64,
    /// Failures not in a log line yet, and when the last line was.
    unlogged: u64,
    logged: Instant,
}

/// The store's health as `/healthz` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Status {
    /// `ok`, or `failing` while writes to the data directory fail.
    pub state: &'static str,
    /// The data directory.
    pub dir: String,
    /// Since when writes fail (ms since the epoch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since_ms: Option<u64>,
    /// Why, as the OS said it (`No space left on device (os error 28)`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Failed writes since then.
    pub failures: u64,
    /// Finished calls' records kept in memory until they can be written.
    pub waiting: usize,
}

impl Health {
    /// A healthy store in `dir`.
    pub fn new(dir: &Path) -> Health {
        Health {
            dir: dir.to_owned(),
            state: Mutex::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A write failed while writing `what`, for `error`; the line to log, if one is due: the
    /// first failure's at once, later ones counted into [`Health::due`]'s line.
    pub fn failed(&self, what: &str, error: &str, now: Instant, now_ms: u64) -> Option<String> {
        let mut state = self.state();
        let waiting = state.waiting;
        match &mut state.failing {
            Some(f) => {
                f.failures += 1;
                f.unlogged += 1;
                f.error = error.to_owned();
                None
            }
            None => {
                state.failing = Some(Failing {
                    since: now,
                    since_ms: now_ms,
                    error: error.to_owned(),
                    failures: 1,
                    unlogged: 0,
                    logged: now,
                });
                Some(format!(
                    "store: cannot write to the data directory {} ({what}): {error}; calls go on, \
                     their records wait in memory ({waiting} now) until it takes writes again: \
                     free space there or make it writable",
                    self.dir.display()
                ))
            }
        }
    }

    /// `error` happened while writing `what`, now: the line to log, if any. A failure of
    /// the disk (sled's I/O) counts as [`Health::failed`] does — so the writer that reopens
    /// the store learns of it, whoever wrote — and gives a line only when it is the first;
    /// any other error (a conflict, a bad value) is not the disk's and always gives its line.
    pub fn report(&self, what: &str, error: &StoreError) -> Option<String> {
        if !matches!(error, StoreError::Storage { .. }) {
            return Some(format!("cannot write {what}: {error}"));
        }
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        self.failed(what, &reason(error), Instant::now(), now_ms)
    }

    /// Why writes fail now, for a reason found without a write (a probe): replaces the
    /// error shown, counts nothing.
    pub fn still(&self, error: &str) {
        if let Some(f) = &mut self.state().failing {
            f.error = error.to_owned();
        }
    }

    /// A write succeeded; the line to log when writes had been failing.
    pub fn written(&self, now: Instant) -> Option<String> {
        let f = self.state().failing.take()?;
        Some(format!(
            "store: writing to the data directory {} again, after {} s and {} failed write(s)",
            self.dir.display(),
            now.saturating_duration_since(f.since).as_secs(),
            f.failures
        ))
    }

    /// The line due at `now` while writes keep failing: at most one per [`REPEAT`], saying
    /// how many failed since the last.
    pub fn due(&self, now: Instant) -> Option<String> {
        let mut state = self.state();
        let waiting = state.waiting;
        let f = state.failing.as_mut()?;
        if now.saturating_duration_since(f.logged) < REPEAT {
            return None;
        }
        let line = format!(
            "store: still cannot write to the data directory {}: {} ({} failed write(s) in the \
             last {} s; {waiting} call record(s) waiting in memory)",
            self.dir.display(),
            f.error,
            f.unlogged,
            now.saturating_duration_since(f.logged).as_secs()
        );
        f.unlogged = 0;
        f.logged = now;
        Some(line)
    }

    /// Whether writes fail now.
    pub fn failing(&self) -> bool {
        self.state().failing.is_some()
    }

    /// How many call records wait in memory to be written.
    pub fn set_waiting(&self, waiting: usize) {
        self.state().waiting = waiting;
    }

    /// The health as `/healthz` shows it.
    pub fn status(&self) -> Status {
        let state = self.state();
        let f = state.failing.as_ref();
        Status {
            state: if f.is_some() { "failing" } else { "ok" },
            dir: self.dir.display().to_string(),
            since_ms: f.map(|f| f.since_ms),
            error: f.map(|f| f.error.clone()),
            failures: f.map_or(0, |f| f.failures),
            waiting: state.waiting,
        }
    }
}

/// What went wrong in words an operator knows: the OS's own for a full or read-only disk
/// (sled passes those on as text), else the error as it is.
pub fn reason(error: &StoreError) -> String {
    let (StoreError::Storage { source, .. } | StoreError::Open { source, .. }) = error else {
        return error.to_string();
    };
    let known = match source.kind() {
        io::ErrorKind::StorageFull => Some((28, "No space left on device")),
        io::ErrorKind::ReadOnlyFilesystem => Some((30, "Read-only file system")),
        io::ErrorKind::QuotaExceeded => Some((122, "Disk quota exceeded")),
        io::ErrorKind::PermissionDenied => Some((13, "Permission denied")),
        _ => None,
    };
    match (source.raw_os_error(), known) {
        (None, Some((code, text))) => format!("{text} (os error {code})"),
        _ => source.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health() -> Health {
        Health::new(Path::new("/var/lib/pbx"))
    }

    #[test]
    fn the_first_failure_is_logged_at_once_then_one_line_a_minute_with_the_count() {
        let h = health();
        let t0 = Instant::now();
        let full = "No space left on device (os error 28)";
        h.set_waiting(3);
        let first = h.failed("call history", full, t0, 1000).unwrap();
        assert!(first.contains("/var/lib/pbx"), "{first}");
        assert!(first.contains(full), "{first}");
        assert!(first.contains("(3 now)"), "{first}");
        for s in 1..=59 {
            assert_eq!(
                h.failed("call history", full, t0 + Duration::from_secs(s), 0),
                None
            );
            assert_eq!(h.due(t0 + Duration::from_secs(s)), None);
        }
        let repeat = h.due(t0 + REPEAT).unwrap();
        assert!(repeat.starts_with("store: still cannot write"), "{repeat}");
        assert!(
            repeat.contains("59 failed write(s) in the last 60 s"),
            "{repeat}"
        );
        assert_eq!(h.due(t0 + REPEAT + Duration::from_secs(1)), None);
        let status = h.status();
        assert_eq!(
            (
                status.state,
                status.since_ms,
                status.failures,
                status.waiting
            ),
            ("failing", Some(1000), 60, 3)
        );
        assert_eq!(status.error.as_deref(), Some(full));
        let back = h.written(t0 + Duration::from_secs(90)).unwrap();
        assert!(
            back.contains("again, after 90 s and 60 failed write(s)"),
            "{back}"
        );
        assert_eq!(h.status().state, "ok");
        assert_eq!(h.written(t0 + Duration::from_secs(91)), None, "logged once");
        assert_eq!(h.due(t0 + Duration::from_secs(1000)), None);
    }

    #[test]
    fn sled_s_text_of_a_full_or_read_only_disk_reads_as_the_os_says_it() {
        let storage = |kind| StoreError::Storage {
            op: "flush",
            source: io::Error::new(kind, "Os { code: 28, kind: StorageFull, .. }"),
        };
        assert_eq!(
            reason(&storage(io::ErrorKind::StorageFull)),
            "No space left on device (os error 28)"
        );
        assert_eq!(
            reason(&storage(io::ErrorKind::ReadOnlyFilesystem)),
            "Read-only file system (os error 30)"
        );
        let os = StoreError::Storage {
            op: "flush",
            source: io::Error::from_raw_os_error(28),
        };
        assert_eq!(reason(&os), "No space left on device (os error 28)");
    }
}
