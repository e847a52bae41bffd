//! SIPp peers for the call tests: phones that register and then answer, ring or refuse; a
//! trunk on 127.0.0.2 that calls company numbers or takes calls out; and the message traces
//! SIPp writes, read back as (time, direction, first line) to check who got what, when.
//!
//! No port is ever chosen for a peer and handed to it later (another process could take it in
//! between). Each peer binds its own:
//!
//! - A SIPp caller needs no known port: SIPp is started without `-p` and binds one itself (it
//!   tries 5060, 5061, ... up to 5119 on its address, then lets the kernel choose; its media
//!   sockets likewise from 6000 up).
//! - A SIPp phone registers from the port it then answers on, in one process: its main
//!   scenario (tests/sipp/phone.xml) registers with digest authentication and then waits,
//!   while the calls the PBX sends it — new Call-IDs, so "out of call" messages for SIPp —
//!   each start a call of the out-of-call scenario (`-oocsf`), the UAS scenario the test
//!   names. The CANCEL, ACK and BYE of such a call match it by Call-ID. Each of those calls
//!   counts itself in a global variable at its end; the main scenario ends once the count is
//!   reached, so the process exits 0 when the phone took its calls (and times out, non-zero,
//!   when it did not). When it is done, the test unregisters the login again.
//! - A SIPp trunk or registrar (on 127.0.0.2), whose port goes into the server's config, is
//!   started first; the port it bound is read from /proc (`sipp_port`), then the config is
//!   written with it and the server started.
//! - Raw-socket peers bind port 0 and keep the socket (`register_from`).

use crate::support::{root, wait_for_or, Server};
use md5::{Digest, Md5};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

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

/// SIPp on 127.0.0.1 (a port of its own) running `scenario` once against `target`.
pub fn sipp(target: SocketAddr, dir: &Path, scenario: &str, extra: &[&str]) -> Command {
    sipp_on("127.0.0.1", target, dir, scenario, extra)
}

/// SIPp on `ip` (a port of its own) running `scenario` once against `target`.
pub fn sipp_on(
    ip: &str,
    target: SocketAddr,
    dir: &Path,
    scenario: &str,
    extra: &[&str],
) -> Command {
    let mut c = Command::new("sipp");
    c.arg(target.to_string())
        .args(["-sf", scenario, "-i", ip])
        .args(["-m", "1", "-nostdin"])
        .args(["-key", "domain", "acme.example", "-key", "expires", "300"])
        .args(["-timeout", "30s", "-timeout_error"])
        .args(extra)
        .current_dir(dir)
        .stdin(Stdio::null())
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

/// Waits for `child` and asserts it exited 0.
pub fn finished(child: Child, who: &str) {
    ok(&child.wait_with_output().unwrap(), who);
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

/// A transport of a bound socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Udp,
    Tcp,
}

/// A socket a process has bound (IPv4).
#[derive(Debug, Clone, Copy)]
pub struct Bound {
    pub proto: Proto,
    pub addr: SocketAddr,
    /// Its file descriptor in the process (the order the process opened its sockets in).
    pub fd: u32,
    /// A TCP socket in the LISTEN state.
    pub listening: bool,
}

/// The IPv4 UDP and TCP sockets process `pid` has bound now, by file descriptor, read from
/// `/proc/<pid>/fd` (socket inodes) and `/proc/net/udp` and `/proc/net/tcp` (Linux).
pub fn bound_ports(pid: u32) -> Vec<Bound> {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    let inodes: Vec<(u64, u32)> = fds
        .filter_map(Result::ok)
        .filter_map(|e| {
            let fd = e.file_name().to_str()?.parse().ok()?;
            let link = std::fs::read_link(e.path()).ok()?;
            let inode = link
                .to_str()?
                .strip_prefix("socket:[")?
                .strip_suffix(']')?
                .parse()
                .ok()?;
            Some((inode, fd))
        })
        .collect();
    let mut out = Vec::new();
    for (proto, table) in [(Proto::Udp, "/proc/net/udp"), (Proto::Tcp, "/proc/net/tcp")] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state), Some(inode)) = (cols.get(1), cols.get(3), cols.get(9))
            else {
                continue;
            };
            let Some(&(_, fd)) = inodes.iter().find(|(i, _)| Some(*i) == inode.parse().ok()) else {
                continue;
            };
            let Some((ip, port)) = local.split_once(':') else {
                continue;
            };
            let (Ok(ip), Ok(port)) = (u32::from_str_radix(ip, 16), u16::from_str_radix(port, 16))
            else {
                continue;
            };
            // The kernel prints the address in host order of its network-order bytes.
            let ip = std::net::Ipv4Addr::from(ip.to_le_bytes());
            out.push(Bound {
                proto,
                addr: SocketAddr::from((ip, port)),
                fd,
                listening: proto == Proto::Tcp && *state == "0A",
            });
        }
    }
    out.sort_by_key(|b| b.fd);
    out
}

/// The SIP port a SIPp process started without `-p` bound on `ip`, once it has: over UDP the
/// first UDP socket it opened on `ip` (its media sockets come after it; its control socket is
/// on 0.0.0.0), over TCP its listening socket on `ip`. Fails loudly if SIPp exits first or
/// takes more than 10 s.
pub fn sipp_port(child: &mut Child, ip: &str, proto: Proto) -> u16 {
    let ip: std::net::IpAddr = ip.parse().unwrap();
    let pid = child.id();
    let found = wait_for_or(
        &format!("SIPp (pid {pid}) to bind its {proto:?} SIP port on {ip}"),
        Duration::from_secs(10),
        || {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(Err(status));
            }
            bound_ports(pid)
                .into_iter()
                .find(|b| {
                    b.proto == proto && b.addr.ip() == ip && (proto == Proto::Udp || b.listening)
                })
                .map(|b| Ok(b.addr.port()))
        },
        || format!("its sockets: {:?}", bound_ports(pid)),
    );
    found.unwrap_or_else(|status| {
        panic!(
            "SIPp exited ({status}) before binding its port: {}",
            output_of(child)
        )
    })
}

/// What an exited child wrote.
fn output_of(child: &mut Child) -> String {
    use std::io::Read;
    let mut text = String::new();
    if let Some(out) = child.stdout.as_mut() {
        let _ = out.read_to_string(&mut text);
    }
    if let Some(err) = child.stderr.as_mut() {
        let _ = err.read_to_string(&mut text);
    }
    text
}

/// A SIPp peer on `ip` that waits for the PBX (a trunk, a registrar): started before the
/// server, its port read back with `sipp_port`. `transport` is SIPp's (`u1` or `t1`); its
/// messages are traced to `trace`.
pub fn listening_peer(
    ip: &str,
    dir: &Path,
    scenario: &str,
    transport: &str,
    trace: &Path,
    extra: &[&str],
) -> (Child, u16) {
    // The peer only answers; the address it would send new requests to is a dummy.
    let mut child = sipp_on(
        ip,
        "127.0.0.1:9".parse().unwrap(),
        dir,
        scenario_path(scenario).to_str().unwrap(),
        &[
            "-t",
            transport,
            "-trace_msg",
            "-message_file",
            trace.to_str().unwrap(),
        ],
    )
    .args(extra)
    .spawn()
    .expect("sipp runs");
    let proto = if transport.starts_with('t') {
        Proto::Tcp
    } else {
        Proto::Udp
    };
    let port = sipp_port(&mut child, ip, proto);
    (child, port)
}

/// A registered SIPp phone (see the module's doc); unregistered again by `finished` or `stop`.
pub struct Phone {
    /// The SIPp process, until it is waited for (a phone dropped before that is killed).
    child: Option<Child>,
    server: SocketAddr,
    user: String,
    password: String,
    /// Its message trace.
    pub trace: PathBuf,
}

/// A phone: `login` registered from SIPp's own port, answering `calls` calls there with the
/// UAS `scenario`, its messages traced to `<login>.log` in `dir`. Returns once registered.
pub fn phone(
    server: &Server,
    dir: &Path,
    login: (&str, &str),
    scenario: &str,
    calls: u32,
) -> Phone {
    phone_with(server, dir, login, scenario, calls, &[])
}

/// `phone` with `extra` SIPp arguments (say `-rtp_echo`).
pub fn phone_with(
    server: &Server,
    dir: &Path,
    login: (&str, &str),
    scenario: &str,
    calls: u32,
    extra: &[&str],
) -> Phone {
    let csv = credentials(dir, login);
    let trace = dir.join(format!("{}.log", login.0));
    let uas = std::fs::read_to_string(scenario_path(scenario)).unwrap();
    let ooc = dir.join(format!("{}-{scenario}", login.0));
    std::fs::write(&ooc, counted(&uas)).unwrap();
    let mut child = sipp(
        server.sip.unwrap(),
        dir,
        scenario_path("phone.xml").to_str().unwrap(),
        &[
            "-inf",
            &csv,
            "-oocsf",
            ooc.to_str().unwrap(),
            "-set",
            "calls",
            &calls.to_string(),
            "-trace_msg",
            "-message_file",
            trace.to_str().unwrap(),
        ],
    )
    .args(extra)
    .spawn()
    .expect("sipp runs");
    let up = server.wait_for(
        &format!("{}'s phone to register", login.0),
        Duration::from_secs(10),
        || match child.try_wait() {
            Ok(Some(status)) => Some(Err(status)),
            _ => registered(&trace).then_some(Ok(())),
        },
    );
    if let Err(status) = up {
        panic!(
            "{}'s phone exited ({status}) before it registered:\n{}",
            login.0,
            output_of(&mut child)
        );
    }
    Phone {
        child: Some(child),
        server: server.sip.unwrap(),
        user: login.0.to_string(),
        password: login.1.to_string(),
        trace,
    }
}

/// `uas` (a UAS scenario) counting each call it completes in the global variable `answered`,
/// which tests/sipp/phone.xml waits on.
fn counted(uas: &str) -> String {
    let open = uas.find("<scenario").expect("a scenario");
    let open = open + uas[open..].find('>').unwrap() + 1;
    let end = [
        "<timewait",
        "<ResponseTimeRepartition",
        "<CallLengthRepartition",
        "</scenario>",
    ]
    .iter()
    .filter_map(|tag| uas.rfind(tag))
    .min()
    .unwrap();
    format!(
        "{}\n  <Global variables=\"answered\"/>{}\n  <nop><action><add assign_to=\"answered\" value=\"1\"/></action></nop>\n  {}",
        &uas[..open],
        &uas[open..end],
        &uas[end..]
    )
}

/// Whether the phone tracing to `trace` has had its REGISTER answered 200.
fn registered(trace: &Path) -> bool {
    let text = std::fs::read_to_string(trace).unwrap_or_default();
    text.split("-----------------------------------------------")
        .any(|m| m.contains("SIP/2.0 200") && m.contains(" REGISTER"))
}

impl Phone {
    /// Waits for the phone to have taken its calls (SIPp exits 0), then unregisters it.
    pub fn finished(mut self, who: &str) {
        finished(self.child.take().unwrap(), who);
        unregister(self.server, (&self.user, &self.password));
    }

    /// Waits for the phone to have taken its calls (SIPp exits 0) and leaves its registration
    /// alone: for a server that is stopping (it would refuse the REGISTER, or be gone).
    pub fn ended(mut self, who: &str) {
        finished(self.child.take().unwrap(), who);
    }

    /// Stops a phone still waiting for calls, and unregisters it.
    pub fn stop(mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        unregister(self.server, (&self.user, &self.password));
    }
}

impl Drop for Phone {
    /// A phone a failed test left behind is not left running.
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
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
        &["-s", number, "-key", "from_number", "+79161112233"],
    )
    .output()
    .unwrap()
}

/// Registers `user` with digest authentication (MD5, qop=auth) from `socket`, its Contact
/// `contact` (`*` with expires 0 to unregister every device), for `expires` seconds, to the
/// PBX at `server`; the final status. The socket must have a read timeout.
pub fn register_from(
    socket: &UdpSocket,
    server: SocketAddr,
    (user, password): (&str, &str),
    contact: &str,
    expires: u32,
) -> u16 {
    let local = socket.local_addr().unwrap();
    let request = |cseq: u32, auth: &str| {
        format!(
            "REGISTER sip:acme.example SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKreg{cseq}x{}\r\nMax-Forwards: 70\r\nFrom: <sip:{user}@acme.example>;tag=r{}\r\nTo: <sip:{user}@acme.example>\r\nCall-ID: reg-{user}-{local}\r\nCSeq: {cseq} REGISTER\r\nContact: {contact}\r\n{auth}Expires: {expires}\r\nContent-Length: 0\r\n\r\n",
            local.port(),
            local.port()
        )
    };
    let exchange = |text: String| -> String {
        socket.send_to(text.as_bytes(), server).unwrap();
        let mut buf = [0u8; 65535];
        loop {
            let (n, _) = socket
                .recv_from(&mut buf)
                .unwrap_or_else(|e| panic!("no answer to {user}'s REGISTER: {e}"));
            let answer = String::from_utf8_lossy(&buf[..n]).into_owned();
            // Only final answers; a stray request or 100 Trying is not one.
            if answer.starts_with("SIP/2.0 ") && status(&answer) >= 200 {
                return answer;
            }
        }
    };
    let challenge = exchange(request(1, ""));
    if status(&challenge) != 401 {
        return status(&challenge);
    }
    let offer = challenge
        .lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(n, _)| n.trim().eq_ignore_ascii_case("WWW-Authenticate"))
        .map(|(_, v)| v.trim())
        .find(|v| v.contains("MD5") || !v.contains("algorithm="))
        .unwrap_or_else(|| panic!("no MD5 challenge: {challenge}"));
    let param = |name: &str| -> String {
        let start = offer.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        offer[start..].split('"').next().unwrap().to_string()
    };
    let (realm, nonce) = (param("realm"), param("nonce"));
    let md5 = |s: String| -> String {
        Md5::digest(s.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let ha1 = md5(format!("{user}:{realm}:{password}"));
    let ha2 = md5("REGISTER:sip:acme.example".to_string());
    let response = md5(format!("{ha1}:{nonce}:00000001:c0ffee:auth:{ha2}"));
    let auth = format!(
        "Authorization: Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"sip:acme.example\", response=\"{response}\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"c0ffee\"\r\n"
    );
    status(&exchange(request(2, &auth)))
}

/// Removes every registration of `login` (from a socket of its own), asserting the PBX agreed.
pub fn unregister(server: SocketAddr, login: (&str, &str)) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let status = register_from(&socket, server, login, "*", 0);
    assert_eq!(status, 200, "unregistering {}", login.0);
}

/// The status code of a response.
pub fn status(response: &str) -> u16 {
    response
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}
