//! Shared helpers: running the real `pbx` binary and finding the repository's files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// How often the waits below look again.
const POLL: Duration = Duration::from_millis(20);

/// Waits until `condition` holds, looking every 20 ms; panics with `what` (what was awaited)
/// and `context()` (say, the server's log) when `within` has passed without it.
pub fn wait_until_or(
    what: &str,
    within: Duration,
    mut condition: impl FnMut() -> bool,
    context: impl FnOnce() -> String,
) {
    wait_for_or(what, within, || condition().then_some(()), context)
}

/// Waits until `probe` gives a value and returns it; panics with `what` and `context()` when
/// `within` has passed without one.
pub fn wait_for_or<T>(
    what: &str,
    within: Duration,
    mut probe: impl FnMut() -> Option<T>,
    context: impl FnOnce() -> String,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        if Instant::now() >= deadline {
            let context = context();
            let sep = if context.is_empty() { "" } else { ":\n" };
            panic!("waited {within:?} for {what}, in vain{sep}{context}");
        }
        std::thread::sleep(POLL);
    }
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `pbx` with `args` in `dir`.
pub fn pbx(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pbx"))
        .args(args)
        .current_dir(dir)
        .env_remove("PBX_ADMIN_TOKEN")
        .output()
        .expect("the pbx binary runs")
}

/// stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A line-by-line diff good enough to read in a test failure.
pub fn diff(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    let mut out = String::new();
    for i in 0..e.len().max(a.len()) {
        match (e.get(i), a.get(i)) {
            (Some(x), Some(y)) if x == y => out.push_str(&format!("  {x}\n")),
            (x, y) => {
                if let Some(x) = x {
                    out.push_str(&format!("- {x}\n"));
                }
                if let Some(y) = y {
                    out.push_str(&format!("+ {y}\n"));
                }
            }
        }
    }
    out
}

/// A `pbx serve` running on loopback in its own directory; killed when dropped.
pub struct Server {
    pub dir: tempfile::TempDir,
    pub url: String,
    /// The UDP address SIP is served on, when the config has one.
    pub sip: Option<std::net::SocketAddr>,
    /// The TCP address SIP is served on, when the config has one.
    pub sip_tcp: Option<std::net::SocketAddr>,
    /// The TLS address SIP is served on, when the config has one.
    pub sip_tls: Option<std::net::SocketAddr>,
    child: std::process::Child,
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

/// The admin token the test servers use.
pub const TOKEN: &str = "test-admin-token-0123456789";

impl Server {
    /// Writes `yaml` as pbx.yaml in a fresh directory (its `server.http.listen` should be
    /// `127.0.0.1:0`) and starts the server.
    pub fn start(yaml: &str) -> Server {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pbx.yaml"), yaml).unwrap();
        Server::start_in(dir)
    }

    /// Starts a server on the pbx.yaml already in `dir`.
    pub fn start_in(dir: tempfile::TempDir) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_pbx"));
        command.args(["serve", "--config", "pbx.yaml"]);
        Server::spawn(dir, command)
    }

    /// Starts a server on the pbx.yaml already in `dir` through `wrapper` (a program and its
    /// arguments, say `nsenter -t <pid> -m --wd=<dir>`), which must exec `pbx serve --config
    /// <dir>/pbx.yaml` as the process it starts.
    pub fn start_through(dir: tempfile::TempDir, wrapper: &[&str]) -> Server {
        let mut command = Command::new(wrapper[0]);
        let config = dir.path().join("pbx.yaml");
        command.args(&wrapper[1..]).args([
            env!("CARGO_BIN_EXE_pbx"),
            "serve",
            "--config",
            config.to_str().unwrap(),
        ]);
        Server::spawn(dir, command)
    }

    /// Runs `command` (a `pbx serve`) in `dir` and waits for it to serve.
    fn spawn(dir: tempfile::TempDir, mut command: Command) -> Server {
        use std::io::BufRead;
        let mut child = command
            .current_dir(dir.path())
            .env("PBX_ADMIN_TOKEN", TOKEN)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("pbx serve starts");
        let stderr = child.stderr.take().unwrap();
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(rest) = line.split("admin API on ").nth(1) {
                    let _ = tx.send(rest.split(',').next().unwrap_or("").to_string());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| {
                panic!(
                    "pbx serve did not start:\n{}",
                    log.lock().unwrap().join("\n")
                )
            });
        let sip = log.lock().unwrap().iter().find_map(|l| {
            l.split("SIP on udp ")
                .nth(1)
                .and_then(|a| a.trim().parse().ok())
        });
        let sip_tls = log.lock().unwrap().iter().find_map(|l| {
            l.split("SIP on tls ")
                .nth(1)
                .and_then(|a| a.trim().parse().ok())
        });
        let sip_tcp = log.lock().unwrap().iter().find_map(|l| {
            l.split("SIP on tcp ")
                .nth(1)
                .and_then(|a| a.trim().parse().ok())
        });
        Server {
            dir,
            url,
            sip,
            sip_tcp,
            sip_tls,
            child,
            log,
        }
    }

    /// The newest call records of `tenant`, once at least `n` are there (they are written
    /// asynchronously); panics, with the log, if they are not there within 15 s.
    pub fn history(&self, tenant: &str, n: usize) -> Vec<serde_json::Value> {
        let path = format!("/api/v1/calls?tenant={tenant}");
        let last = std::cell::RefCell::new(serde_json::Value::Null);
        wait_for_or(
            &format!("{n} call record(s) of {tenant}"),
            Duration::from_secs(15),
            || {
                let (status, body) = self.call("GET", &path, Some(TOKEN), None);
                assert_eq!(status, 200, "{body}");
                let records = body.as_array().cloned().unwrap_or_default();
                *last.borrow_mut() = body;
                (records.len() >= n).then_some(records)
            },
            || format!("the records: {}\nthe log:\n{}", last.borrow(), self.log()),
        )
    }

    /// Waits until `condition` holds; panics after `within` with `what` and the server's log.
    pub fn wait_until(&self, what: &str, within: Duration, condition: impl FnMut() -> bool) {
        wait_until_or(what, within, condition, || self.log())
    }

    /// Waits until `probe` gives a value; panics after `within` with `what` and the server's
    /// log.
    pub fn wait_for<T>(&self, what: &str, within: Duration, probe: impl FnMut() -> Option<T>) -> T {
        wait_for_or(what, within, probe, || self.log())
    }

    /// Everything the server logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Waits until the log contains `needle` (or fails after 15 s).
    pub fn wait_for_log(&self, needle: &str) {
        self.wait_until(
            &format!("the server to log {needle:?}"),
            Duration::from_secs(15),
            || self.log().contains(needle),
        );
    }

    /// Kills the server with SIGKILL and returns its directory (data included).
    pub fn kill(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }

    /// Stops the server with SIGTERM and waits for it.
    pub fn stop(mut self) -> tempfile::TempDir {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }

    /// Sends SIGTERM without waiting.
    pub fn terminate(&self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
    }

    /// Waits (up to `within`) for the server to exit by itself; its exit code and directory.
    pub fn exited(mut self, within: Duration) -> (Option<i32>, tempfile::TempDir) {
        let log = self.log.clone();
        let child = &mut self.child;
        let status = wait_for_or(
            "the server to stop",
            within,
            || child.try_wait().ok().flatten(),
            || log.lock().unwrap().join("\n"),
        );
        (
            status.code(),
            std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap()),
        )
    }

    /// Sends SIGHUP.
    pub fn hangup(&self) {
        let _ = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status();
    }

    /// An HTTP call to the admin API: (status, JSON body).
    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> (u16, serde_json::Value) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let url = format!("{}{path}", self.url);
        let auth = token.map(|t| format!("Bearer {t}"));
        let response = match (method, body) {
            ("GET", _) => {
                let mut r = agent.get(&url);
                if let Some(a) = &auth {
                    r = r.header("Authorization", a);
                }
                r.call()
            }
            (_, body) => {
                let mut r = agent.post(&url).header("Content-Type", "application/json");
                if let Some(a) = &auth {
                    r = r.header("Authorization", a);
                }
                r.send(body.unwrap_or("").as_bytes())
            }
        };
        let mut response = response.expect("the admin API answers");
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }

    /// The running revision.
    pub fn revision(&self) -> u64 {
        self.call("GET", "/api/v1/state", Some(TOKEN), None).1["revision"]
            .as_u64()
            .unwrap()
    }

    /// Waits until the revision is at least `rev`.
    pub fn wait_for_revision(&self, rev: u64) {
        self.wait_until(&format!("revision {rev}"), Duration::from_secs(15), || {
            self.revision() >= rev
        });
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A small config for server tests: `staff` is YAML list items for tenant `acme`.
pub fn server_config(staff: &str) -> String {
    format!(
        "version: 1\nserver:\n  http: {{ listen: \"127.0.0.1:0\" }}\n  sip:\n    listen: [{{ transport: udp, address: \"127.0.0.1:0\" }}, {{ transport: tcp, address: \"127.0.0.1:0\" }}]\n    digest_algorithms: [md5, sha-256]\ntenants:\n  - id: acme\n    name: Acme\n    domain: acme.example\n    max_users: 100\n    staff:\n{staff}"
    )
}
