//! SIPp peers for the call tests: phones that register and then answer, ring or refuse; a
//! trunk on 127.0.0.2 that calls company numbers or takes calls out; and the message traces
//! SIPp writes, read back as (time, direction, first line) to check who got what, when.

use crate::support::{root, Server};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// A free UDP port on `ip` (loopback) for a SIPp instance.
pub fn free_port_on(ip: &str) -> u16 {
    UdpSocket::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A free UDP port on 127.0.0.1.
pub fn free_port() -> u16 {
    free_port_on("127.0.0.1")
}

/// An injection file with a login's credentials, for `-inf`.
pub fn credentials(dir: &Path, (user, password): (&str, &str)) -> String {
    let csv = dir.join(format!("{user}.csv"));
    std::fs::write(
        &csv,
        format!(
            "SEQUENTIAL\n{user};[authentication username={user} password={password}];{password};\n"
        ),
    )
    .unwrap();
    csv.to_string_lossy().into_owned()
}

/// SIPp on 127.0.0.1:`port` running `scenario` once against `target`.
pub fn sipp(target: SocketAddr, dir: &Path, scenario: &str, port: u16, extra: &[&str]) -> Command {
    sipp_on("127.0.0.1", target, dir, scenario, port, extra)
}

/// SIPp on `ip`:`port` running `scenario` once against `target`.
pub fn sipp_on(
    ip: &str,
    target: SocketAddr,
    dir: &Path,
    scenario: &str,
    port: u16,
    extra: &[&str],
) -> Command {
    let mut c = Command::new("sipp");
    c.arg(target.to_string())
        .args(["-sf", scenario, "-i", ip, "-p", &port.to_string()])
        .args(["-m", "1", "-nostdin"])
        .args(["-key", "domain", "acme.example", "-key", "expires", "300"])
        .args(["-timeout", "30s", "-timeout_error"])
        .args(extra)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

pub fn ok(out: &Output, who: &str) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{who} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A scenario of tests/sipp, or else of the bench kit.
pub fn scenario_path(name: &str) -> PathBuf {
    let own = root().join("tests/sipp").join(name);
    if own.exists() {
        own
    } else {
        root().join("bench/sip/sipp").join(name)
    }
}

/// Registers `login` from 127.0.0.1:`port`.
pub fn register(server: &Server, dir: &Path, login: (&str, &str), port: u16) {
    let csv = credentials(dir, login);
    let scenario = scenario_path("register_auth.xml");
    let out = sipp(
        server.sip.unwrap(),
        dir,
        scenario.to_str().unwrap(),
        port,
        &["-inf", &csv],
    )
    .output()
    .unwrap();
    ok(&out, &format!("registering {}", login.0));
}

/// A phone: `login` registered from a fresh port, then `scenario` waiting there for `calls`
/// calls, its messages traced to `<login>.log` in `dir`.
pub fn phone(
    server: &Server,
    dir: &Path,
    login: (&str, &str),
    scenario: &str,
    calls: u32,
) -> Child {
    let port = free_port();
    register(server, dir, login, port);
    let trace = dir.join(format!("{}.log", login.0));
    let scenario = scenario_path(scenario);
    sipp(
        server.sip.unwrap(),
        dir,
        scenario.to_str().unwrap(),
        port,
        &["-trace_msg", "-message_file", trace.to_str().unwrap()],
    )
    .args(["-m", &calls.to_string()])
    .spawn()
    .expect("sipp runs")
}

/// One message in a SIPp trace.
#[derive(Debug, Clone)]
pub struct Traced {
    /// Seconds since the epoch of the trace's clock (SIPp's local time; compare differences).
    pub at: f64,
    pub received: bool,
    /// The request or status line.
    pub line: String,
}

/// The messages SIPp traced to `path` (`-trace_msg -message_file`).
pub fn trace(path: &Path) -> Vec<Traced> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(stamp) = line.strip_prefix("----------------------------------------------- ")
        else {
            continue;
        };
        let Ok(time) = stamp.trim().parse::<jiff::civil::DateTime>() else {
            continue;
        };
        let at = time
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp().as_microsecond() as f64 / 1e6)
            .unwrap_or(0.0);
        let received = lines.next().is_some_and(|l| l.contains("received"));
        let first = lines.find(|l| !l.trim().is_empty()).unwrap_or("");
        out.push(Traced {
            at,
            received,
            line: first.trim().to_string(),
        });
    }
    out
}

/// When each request with `method` reached the peer that traced to `path`.
pub fn received(path: &Path, method: &str) -> Vec<f64> {
    trace(path)
        .into_iter()
        .filter(|t| t.received && t.line.starts_with(&format!("{method} ")))
        .map(|t| t.at)
        .collect()
}

/// A call without credentials from `ip` to `number` that must end with `code`.
pub fn call_refused(server: &Server, dir: &Path, ip: &str, number: &str, code: u16) -> Output {
    let text = std::fs::read_to_string(scenario_path("trunk_call_refused.xml")).unwrap();
    let scenario = dir.join(format!("refused_{code}.xml"));
    std::fs::write(&scenario, text.replace("[final]", &code.to_string())).unwrap();
    sipp_on(
        ip,
        server.sip.unwrap(),
        dir,
        scenario.to_str().unwrap(),
        free_port_on(ip),
        &["-s", number, "-key", "from_number", "+79161112233"],
    )
    .output()
    .unwrap()
}
