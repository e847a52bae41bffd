//! A data directory that fills up or cannot be written: the server's data directory is a
//! small tmpfs of its own, mounted in a mount namespace (`unshare -m`) that a holder process
//! keeps while the test runs; servers are started in it with `nsenter`, and the test fills
//! and frees the tmpfs the same way. While the disk is full, calls are set up and answered,
//! the log says once why the store cannot write, `/healthz` says `degraded`; once space is
//! back, what waited is written without a restart, and after a restart the store holds
//! every call, once. A read-only or full data directory stops `pbx serve` at start, naming
//! the directory and the OS's reason.
//!
//! A file system that turns itself read-only after an error (ext4's `errors=remount-ro`,
//! an image on a loop device, the error triggered through sysfs) is the other way a data
//! directory becomes read-only under a running server — Linux refuses to remount one
//! read-only while files on it are open for writing: calls go on, the log says why once, and
//! after the file system is checked and mounted again the store holds what was written.
//!
//! These tests need root (mount namespaces, `mount`, loop devices) and e2fsprogs, as CI has;
//! without them they fail saying so, never pass silently.

use crate::peers::{credentials, ok, phone, scenario_path, sipp};
use crate::support::{server_config, wait_for_or, Server, TOKEN};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

const CALLER: (&str, &str) = ("ivan", "ivan-secret-2024");
const CALLEE: (&str, &str) = ("maria", "maria-secret-2024");
const CALLEE_EXTENSION: &str = "202";

/// A file system mounted at `at` in a mount namespace of its own, which a holder process
/// (`cat` reading the test's pipe) keeps until this is dropped.
struct Namespace {
    holder: Child,
    at: PathBuf,
}

impl Namespace {
    /// Mounts a tmpfs with `options` (`size=4m`, `ro,size=1m`) at `at` in a new mount
    /// namespace; panics, saying why, when mount namespaces are not available.
    fn tmpfs(at: &Path, options: &str) -> Namespace {
        Namespace::mount(at, &format!("mount -t tmpfs -o {options} pbx-test"))
    }

    /// Runs `mount` (a command to which the mount point is appended) in a new mount
    /// namespace.
    fn mount(at: &Path, mount: &str) -> Namespace {
        std::fs::create_dir_all(at).unwrap();
        let script = format!("{mount} '{}' && echo mounted && exec cat", at.display());
        let mut holder = Command::new("unshare")
            .args(["-m", "sh", "-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run unshare ({e}): these tests need util-linux (unshare, nsenter) and root")
            });
        let mut line = String::new();
        let _ = std::io::BufReader::new(holder.stdout.take().unwrap()).read_line(&mut line);
        if line.trim() != "mounted" {
            drop(holder.stdin.take());
            let out = holder.wait_with_output().unwrap();
            panic!(
                "cannot mount in a mount namespace of its own (`unshare -m sh -c \"{mount} ...\"` failed: {}), \
                 so a full or read-only data directory cannot be tested: run these tests as root \
                 with util-linux, loop devices and e2fsprogs (CI does), or leave them out with \
                 `--skip disk::`",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Namespace {
            holder,
            at: at.to_owned(),
        }
    }

    /// `nsenter` into the namespace, working in `dir`: the prefix of a command run in it.
    fn enter(&self, dir: &Path) -> Vec<String> {
        vec![
            "nsenter".into(),
            "-t".into(),
            self.holder.id().to_string(),
            "-m".into(),
            format!("--wd={}", dir.display()),
        ]
    }

    /// Runs `script` with `sh` in the namespace.
    fn run(&self, script: &str) -> Output {
        let mut enter = self.enter(Path::new("/"));
        enter.extend(["sh".into(), "-c".into(), script.into()]);
        Command::new(&enter[0]).args(&enter[1..]).output().unwrap()
    }

    /// Fills the tmpfs to the last byte (with `filler`).
    fn fill(&self) {
        let out = self.run(&format!(
            "dd if=/dev/zero of='{0}/filler' bs=4k 2>/dev/null; df -k '{0}' | tail -1",
            self.at.display()
        ));
        let df = String::from_utf8_lossy(&out.stdout);
        let free: u64 = df
            .split_whitespace()
            .nth(3)
            .and_then(|f| f.parse().ok())
            .unwrap();
        assert_eq!(free, 0, "the tmpfs is full: {df}");
    }

    /// Makes the file system (an ext4 one mounted with `errors=remount-ro`) turn itself
    /// read-only, as after an error it found.
    fn fail_ext4(&self) {
        let out = self.run(&format!(
            "echo 1 > /sys/fs/ext4/$(basename $(findmnt -n -o SOURCE '{}'))/trigger_fs_error",
            self.at.display()
        ));
        assert!(out.status.success(), "{out:?}");
    }

    /// Frees what `fill` took.
    fn free(&self) {
        let out = self.run(&format!("rm '{}/filler'", self.at.display()));
        assert!(out.status.success(), "{out:?}");
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        // `cat` ends with its input, and the namespace (and the tmpfs) with it once the
        // servers in it are gone.
        drop(self.holder.stdin.take());
        let _ = self.holder.wait();
    }
}

/// The two people's config, its store in `data`.
fn config(data: &Path) -> String {
    server_config(&format!(
        "      - {{ name: Ivan, login: {}, extension: \"201\", password: \"{}\" }}\n      - {{ name: Maria, login: {}, extension: \"{CALLEE_EXTENSION}\", password: \"{}\" }}\n",
        CALLER.0, CALLER.1, CALLEE.0, CALLEE.1
    ))
    .replacen(
        "server:\n",
        &format!("server:\n  data_dir: \"{}\"\n", data.display()),
        1,
    )
}

/// Starts the server of `dir` in `namespace`.
fn start(dir: tempfile::TempDir, namespace: &Namespace) -> Server {
    let enter = namespace.enter(dir.path());
    let enter: Vec<&str> = enter.iter().map(String::as_str).collect();
    Server::start_through(dir, &enter)
}

/// Ivan calls Maria `calls` times (10 a second, each held 100 ms); SIPp exits 0 only if every
/// call was answered and hung up.
fn calls(server: &Server, dir: &Path, calls: u32) -> Output {
    let csv = credentials(dir, CALLER);
    let scenario = scenario_path("uac_call.xml");
    sipp(
        server.sip.unwrap(),
        dir,
        scenario.to_str().unwrap(),
        &[
            "-inf",
            &csv,
            "-s",
            CALLEE_EXTENSION,
            "-d",
            "100",
            "-r",
            "10",
            "-m",
            &calls.to_string(),
        ],
    )
    .output()
    .unwrap()
}

/// `/healthz`.
fn health(server: &Server) -> serde_json::Value {
    let (status, body) = server.call("GET", "/healthz", None, None);
    assert_eq!(status, 200, "{body}");
    body
}

/// Every call record of acme, once they are `n` (the admin API's newest 10,000).
fn records(server: &Server, n: usize) -> Vec<serde_json::Value> {
    let mut last = Vec::new();
    server.wait_until(
        &format!("{n} call records"),
        Duration::from_secs(30),
        || {
            let (_, body) = server.call(
                "GET",
                "/api/v1/calls?tenant=acme&limit=10000",
                Some(TOKEN),
                None,
            );
            last = body.as_array().cloned().unwrap_or_default();
            last.len() >= n
        },
    );
    last
}

#[test]
fn a_full_data_directory_fails_no_call_and_loses_no_record() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let tmpfs = Namespace::tmpfs(&data, "size=4m");
    std::fs::write(dir.path().join("pbx.yaml"), config(&data)).unwrap();
    let server = start(dir, &tmpfs);
    let peers = tempfile::tempdir().unwrap();
    let _callee = phone(&server, peers.path(), CALLEE, "uas_answer.xml", 10_000);
    ok(
        &calls(&server, peers.path(), 1),
        "a call before the disk fills",
    );
    let mut made = 1;
    records(&server, made);

    // The disk fills: a call or two may still find room in a page the store had begun.
    tmpfs.fill();
    server.wait_until("a write to fail", Duration::from_secs(60), || {
        ok(&calls(&server, peers.path(), 1), "a call as the disk fills");
        made += 1;
        health(&server)["store"]["state"] == "failing"
    });
    // While it is full, calls go on.
    ok(&calls(&server, peers.path(), 20), "20 calls on a full disk");
    made += 20;
    let health_full = health(&server);
    assert_eq!(health_full["status"], "degraded", "{health_full}");
    let store = &health_full["store"];
    assert_eq!(store["dir"], data.display().to_string(), "{health_full}");
    assert_eq!(
        store["error"], "No space left on device (os error 28)",
        "{health_full}"
    );
    server.wait_until("20 records waiting", Duration::from_secs(10), || {
        health(&server)["store"]["waiting"].as_u64() >= Some(20)
    });
    // One line says why; the failures that follow are counted, not logged one by one.
    let log = server.log();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("cannot write to the data directory"))
        .collect();
    assert_eq!(lines.len(), 1, "{log}");
    assert!(
        lines[0].contains(&format!(
            "store: cannot write to the data directory {}",
            data.display()
        )) && lines[0].contains("No space left on device (os error 28)"),
        "{}",
        lines[0]
    );
    assert!(!log.contains("panicked"), "{log}");

    // Space comes back: what waited is written, and new calls are, without a restart.
    tmpfs.free();
    server.wait_until("the store to write again", Duration::from_secs(30), || {
        health(&server)["store"]["state"] == "ok"
    });
    server.wait_for_log(&format!(
        "store: writing to the data directory {} again",
        data.display()
    ));
    ok(
        &calls(&server, peers.path(), 1),
        "a call after space is back",
    );
    made += 1;
    let written = records(&server, made);
    assert_eq!(written.len(), made, "every call once");
    assert_eq!(health(&server)["status"], "ok");

    // After a restart the store opens and holds every call, once.
    let dir = server.stop();
    let server = start(dir, &tmpfs);
    let kept = records(&server, made);
    assert_eq!(kept.len(), made, "every call once after the restart");
    assert!(kept.iter().all(|r| r["outcome"] == "answered"), "{kept:?}");
}

/// Runs `pbx serve` on `dir`'s config in `namespace`, expecting it to stop by itself: its
/// exit code and stderr.
fn refused_start(dir: &Path, namespace: &Namespace) -> (Option<i32>, String) {
    let enter = namespace.enter(dir);
    let config = dir.join("pbx.yaml");
    let mut child = Command::new(&enter[0])
        .args(&enter[1..])
        .args([
            env!("CARGO_BIN_EXE_pbx"),
            "serve",
            "--config",
            config.to_str().unwrap(),
        ])
        .env("PBX_ADMIN_TOKEN", TOKEN)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_for_or(
        "pbx serve to stop",
        Duration::from_secs(20),
        || child.try_wait().ok().flatten(),
        String::new,
    );
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    (status.code(), stderr)
}

#[test]
fn a_read_only_or_full_data_directory_stops_the_start_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::write(dir.path().join("pbx.yaml"), config(&data)).unwrap();
    let read_only = Namespace::tmpfs(&data, "ro,size=1m");
    let (code, stderr) = refused_start(dir.path(), &read_only);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "cannot write the data directory {}: Read-only file system (os error 30)",
            data.display()
        )) && stderr.contains("server.data_dir"),
        "{stderr}"
    );
    drop(read_only);

    let full = Namespace::tmpfs(&data, "size=1m");
    full.fill();
    let (code, stderr) = refused_start(dir.path(), &full);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "cannot write the data directory {}",
            data.display()
        )) && stderr.contains("No space left on device (os error 28)"),
        "{stderr}"
    );
}

#[test]
fn an_apply_on_a_full_data_directory_is_refused_and_goes_through_once_space_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let tmpfs = Namespace::tmpfs(&data, "size=4m");
    std::fs::write(dir.path().join("pbx.yaml"), config(&data)).unwrap();
    let server = start(dir, &tmpfs);
    // A comment makes the new text large: it cannot fit in what the store's files already
    // hold (a small one might, and then the apply rightly goes through).
    let yaml = config(&data).replace(
        "    staff:\n",
        "    staff:\n      - { name: Oleg, login: oleg, extension: \"203\" }\n",
    ) + &format!("# {}\n", "x".repeat(64 * 1024));
    let body =
        serde_json::json!({ "bundle": { "main": "pbx.yaml", "files": { "pbx.yaml": yaml } } })
            .to_string();
    tmpfs.fill();
    let (status, answer) = server.call("POST", "/api/v1/apply", Some(TOKEN), Some(&body));
    assert_eq!(status, 500, "{answer}");
    let full = health(&server);
    assert_eq!(
        (&full["status"], &full["store"]["error"]),
        (
            &serde_json::json!("degraded"),
            &serde_json::json!("No space left on device (os error 28)")
        ),
        "{full}"
    );
    assert_eq!(server.revision(), 1);
    tmpfs.free();
    server.wait_until("the store to write again", Duration::from_secs(30), || {
        health(&server)["status"] == "ok"
    });
    let (status, answer) = server.call("POST", "/api/v1/apply", Some(TOKEN), Some(&body));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(server.revision(), 2);
    let dir = server.stop();
    let server = start(dir, &tmpfs);
    assert_eq!(server.revision(), 2, "{}", server.log());
}

#[test]
fn a_data_directory_turning_read_only_under_calls_fails_none_and_keeps_what_was_written() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let image = dir.path().join("data.ext4");
    let made = |cmd: &mut Command| {
        let status = cmd.status().unwrap_or_else(|e| {
            panic!("{cmd:?} cannot run ({e}): this test needs e2fsprogs (CI has it)")
        });
        assert!(status.success(), "{cmd:?}");
    };
    made(Command::new("truncate").args(["-s", "16M"]).arg(&image));
    made(Command::new("mkfs.ext4").args(["-q", "-F"]).arg(&image));
    let ext4 = Namespace::mount(
        &data,
        &format!("mount -o loop,errors=remount-ro '{}'", image.display()),
    );
    std::fs::write(dir.path().join("pbx.yaml"), config(&data)).unwrap();
    let server = start(dir, &ext4);
    let peers = tempfile::tempdir().unwrap();
    let _callee = phone(&server, peers.path(), CALLEE, "uas_answer.xml", 10_000);
    ok(&calls(&server, peers.path(), 3), "3 calls before");
    let written = records(&server, 3).len();

    // The file system finds an error and turns read-only (ext4's errors=remount-ro).
    ext4.fail_ext4();
    ok(
        &calls(&server, peers.path(), 10),
        "10 calls on a read-only disk",
    );
    let last = std::cell::RefCell::new(serde_json::Value::Null);
    wait_for_or(
        "the store to fail",
        Duration::from_secs(15),
        || {
            *last.borrow_mut() = health(&server);
            (last.borrow()["store"]["error"] == "Read-only file system (os error 30)").then_some(())
        },
        || format!("{}\n{}", last.borrow(), server.log()),
    );
    ok(&calls(&server, peers.path(), 10), "10 more");
    let log = server.log();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("cannot write to the data directory"))
        .collect();
    assert_eq!(lines.len(), 1, "{log}");
    assert!(
        lines[0].contains("Read-only file system (os error 30)"),
        "{log}"
    );
    assert_eq!(health(&server)["status"], "degraded");

    // Such a file system is repaired offline: the server stops (saying what it could not
    // write), the file system is checked and mounted again, and the store holds every record
    // written before the error.
    let dir = server.stop();
    let repaired = ext4.run(&format!(
        "umount '{0}' && (e2fsck -fy '{1}' >/dev/null; [ $? -le 1 ]) && mount -o loop '{1}' '{0}'",
        data.display(),
        image.display()
    ));
    assert!(repaired.status.success(), "{repaired:?}");
    let server = start(dir, &ext4);
    let kept = records(&server, written);
    assert_eq!(kept.len(), written, "{kept:?}");
    assert_eq!(health(&server)["status"], "ok");
}
