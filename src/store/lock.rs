//! The store directory's lock, [`DirLock`]: at most one open [`Store`](super::Store) per
//! directory, across processes and within one.
//!
//! Across processes it is a POSIX record lock (`fcntl(F_SETLK)`, a write lock over all of
//! `store.lock`). Such a lock belongs to the process, not to the open file: a child forked
//! while a store is open does not get it, so the directory is free the moment the parent
//! closes the store, even while a child that has not yet exec'd still holds copies of the
//! parent's descriptors. (`flock` — what `File::try_lock` uses — belongs to the open file
//! description that such a child shares, so it stayed held until the child exec'd or exited.)
//!
//! Record locks never conflict within one process, and closing *any* descriptor of the file
//! drops all of the process's locks on it. So within the process a registry of claimed
//! directories (canonical paths) does the excluding, and it is checked *before* `store.lock`
//! is opened: while one `Store` holds a directory, nothing else in the process opens or
//! closes that file. A claim is released only after the file is closed.

use std::collections::BTreeSet;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use super::StoreError;

/// The lock file in the store directory.
const LOCK_FILE: &str = "store.lock";

/// The canonical store directories a `DirLock` of this process holds.
static CLAIMED: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

/// This process's exclusive hold on a store directory; released when dropped.
#[derive(Debug)]
pub(super) struct DirLock {
    /// `store.lock`, carrying the record lock. Declared first so that it is closed (dropping
    /// the record lock) before `claim` lets another `DirLock` of this process open the file.
    _file: File,
    /// The directory's entry in [`CLAIMED`].
    _claim: Claim,
}

impl DirLock {
    /// Takes the lock on `dir` (which must exist). [`StoreError::Locked`] if another process
    /// or another `DirLock` of this one holds it; [`StoreError::Open`] if the lock file cannot
    /// be opened or locked.
    pub(super) fn acquire(dir: &Path) -> Result<DirLock, StoreError> {
        let open_err = |source: io::Error| StoreError::Open {
            dir: dir.to_owned(),
            source,
        };
        let locked = || StoreError::Locked {
            dir: dir.to_owned(),
        };
        let claim = Claim::take(dir.canonicalize().map_err(open_err)?).ok_or_else(locked)?;
        // Dropped before `claim` if anything below fails (locals drop in reverse order).
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(claim.0.join(LOCK_FILE))
            .map_err(open_err)?;
        if !try_write_lock(&file).map_err(open_err)? {
            return Err(locked());
        }
        Ok(DirLock {
            _file: file,
            _claim: claim,
        })
    }
}

/// A directory in [`CLAIMED`], removed when dropped.
#[derive(Debug)]
struct Claim(PathBuf);

impl Claim {
    /// Claims `dir` for this process; `None` if it already is.
    fn take(dir: PathBuf) -> Option<Claim> {
        let mut claimed = CLAIMED.lock().unwrap_or_else(PoisonError::into_inner);
        // Built only on success: a `Claim` dropped here would deadlock on the guard and
        // remove the other holder's entry.
        claimed.insert(dir.clone()).then(|| Claim(dir))
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        CLAIMED
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.0);
    }
}

/// Whether a `DirLock` of this process holds `dir` (for tests that wait for one).
#[cfg(test)]
pub(super) fn is_claimed(dir: &Path) -> bool {
    let dir = dir.canonicalize().unwrap();
    CLAIMED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .contains(&dir)
}

/// Sets a write record lock over the whole of `file` without waiting: `Ok(false)` when
/// another process holds a conflicting lock.
fn try_write_lock(file: &File) -> io::Result<bool> {
    // SAFETY: `flock` is a plain C struct for which all zeroes is a valid value.
    let mut region: libc::flock = unsafe { std::mem::zeroed() };
    region.l_type = libc::F_WRLCK as libc::c_short;
    region.l_whence = libc::SEEK_SET as libc::c_short;
    // l_start = 0 and l_len = 0: from the start to the end of the file, however long.
    // SAFETY: the descriptor is open for the whole call and `region` is a valid `flock`.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLK, &region) } == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EACCES | libc::EAGAIN) => Ok(false),
        _ => Err(e),
    }
}
