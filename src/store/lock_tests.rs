//! Tests of the store directory's lock: two `Store`s of one process exclude each other by any
//! path to the directory, another process is kept off (and a refused second open in this
//! process does not lift that), and a child forked while a store is open — holding copies of
//! every descriptor, as any child does between fork and exec — does not keep the directory
//! locked once the parent closes the store.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::lock::{is_claimed, DirLock};
use super::{Store, StoreError};

/// Environment variable carrying the store directory to `lock_probe_child`.
const PROBE_DIR_VAR: &str = "PBX_STORE_LOCK_PROBE_DIR";

/// A child forked from the test process that never execs: it holds copies of all the
/// process's descriptors (a `Store`'s among them) until it is killed.
struct ForkedChild {
    pid: libc::pid_t,
    reaped: bool,
}

impl ForkedChild {
    fn fork() -> ForkedChild {
        // SAFETY: the child only calls pause, which is async-signal-safe, and touches no
        // lock or allocator of the multi-threaded parent.
        match unsafe { libc::fork() } {
            -1 => panic!("fork: {}", std::io::Error::last_os_error()),
            0 => loop {
                unsafe { libc::pause() };
            },
            pid => ForkedChild { pid, reaped: false },
        }
    }

    /// Whether the child has not exited yet.
    fn is_running(&self) -> bool {
        let mut status = 0;
        // SAFETY: polls our own child without blocking.
        unsafe { libc::waitpid(self.pid, &mut status, libc::WNOHANG) == 0 }
    }

    /// Kills the child and reaps it, which closes its copies of the descriptors.
    fn kill(mut self) {
        self.reap();
    }

    fn reap(&mut self) {
        if !self.reaped {
            self.reaped = true;
            let mut status = 0;
            // SAFETY: signals and waits on our own child, which cannot outlive SIGKILL.
            unsafe {
                libc::kill(self.pid, libc::SIGKILL);
                libc::waitpid(self.pid, &mut status, 0);
            }
        }
    }
}

impl Drop for ForkedChild {
    fn drop(&mut self) {
        self.reap();
    }
}

/// Polls `done` until it holds; panics after 10 s.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_second_store_of_the_process_is_refused_by_any_path() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let by_other_path = dir.path().join("sub").join("..");
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    for path in [dir.path(), &by_other_path] {
        match Store::open(path) {
            Err(e @ StoreError::Locked { .. }) => {
                assert!(e.to_string().contains("in use"), "{e}");
            }
            other => panic!("expected Locked for {}, got {other:?}", path.display()),
        }
    }
    drop(store);
    Store::open(&by_other_path).unwrap();
}

/// Not a test on its own: the child process of `another_process_is_kept_off`. Tries to open
/// the store named by `PROBE_DIR_VAR` and prints what happened.
#[test]
#[ignore = "run by another_process_is_kept_off as a child process"]
fn lock_probe_child() {
    let Some(dir) = std::env::var_os(PROBE_DIR_VAR) else {
        return;
    };
    match Store::open(Path::new(&dir)) {
        Ok(_) => println!("probe: opened"),
        Err(StoreError::Locked { .. }) => println!("probe: locked"),
        Err(e) => println!("probe: failed: {e}"),
    }
}

/// What `lock_probe_child` says about `dir`.
fn probe(dir: &Path) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "store::lock_tests::lock_probe_child",
            "--nocapture",
            "--ignored",
        ])
        .env(PROBE_DIR_VAR, dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("probe: "))
        .unwrap_or_else(|| panic!("the probe said nothing: {stdout}"))
        .to_owned()
}

#[test]
fn another_process_is_kept_off() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    // A refused open in this process must not lift the process's lock on the way out.
    assert!(matches!(
        Store::open(dir.path()),
        Err(StoreError::Locked { .. })
    ));
    assert_eq!(probe(dir.path()), "locked");
    drop(store);
    assert_eq!(probe(dir.path()), "opened");
}

/// The flake this lock fixes: a reopen found the directory still locked by a child that
/// another test had just spawned and that had not exec'd yet.
#[test]
fn a_forked_child_does_not_keep_the_directory_locked() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let child = ForkedChild::fork();
    drop(store);
    assert!(child.is_running());
    let lock = DirLock::acquire(dir.path())
        .expect("free at once, though the child holds the parent's descriptors");
    assert!(child.is_running());
    drop(lock);
    child.kill();
    Store::open(dir.path()).unwrap();
}

/// `Store::open` while such a child still runs succeeds: it takes the directory at once,
/// then waits out sled's own lock (an `flock` the child shares) until the child is gone.
#[test]
fn reopening_while_a_forked_child_runs_waits_for_sleds_lock() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let child = ForkedChild::fork();
    drop(store);
    let path = dir.path().to_owned();
    let opener = std::thread::spawn(move || Store::open(&path).map(drop));
    wait_until("the opener holds the directory", || {
        is_claimed(dir.path()) || opener.is_finished()
    });
    assert!(child.is_running());
    child.kill();
    opener.join().unwrap().expect("reopened");
}

/// Guards the helper, and shows the cause: a forked child holds the parent's descriptors, and
/// with them an `flock` (what `store.lock` used to carry), until it is gone.
#[test]
fn a_forked_child_holds_an_flock_until_killed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    let file = std::fs::File::create(&path).unwrap();
    file.try_lock().unwrap();
    let child = ForkedChild::fork();
    drop(file);
    let again = std::fs::File::open(&path).unwrap();
    assert!(again.try_lock().is_err(), "the child shares the flock");
    child.kill();
    again.try_lock().expect("free once the child is gone");
}
