//! The media driver under load, in one process on loopback: `cargo bench --bench media`.
//!
//! The driver (`media::relay::Relays`: the pacer and the per-call relay tasks) runs on a tokio
//! runtime of ONE worker thread, so "per core" means what it says; the load generator and the
//! receivers are plain threads of their own, and CPU is read per thread from
//! `/proc/self/task/*/stat`, so only the driver's thread is counted.
//!
//! 1. Playback: N callers served at once, each playing a looped prompt (paced every 20 ms) to a
//!    receiver that counts packets. A level passes when the pacer's p99 lateness is ≤ 5 ms,
//!    every packet arrived, and the driver used ≤ 60 % of its core.
//! 2. Recording: N callers served and recorded at once while the load thread streams 20 ms
//!    PCMU packets of a tone to each; when the recordings stop, every frame must be in them
//!    (no silence filled in for a lost packet).
//! 3. Relay: N relayed calls, the load thread streaming 20 ms packets both ways through each;
//!    the receivers count what came through. A level passes with < 1 % loss.
//!
//! 4. The anchor: the relay test's load through rtpengine (userspace forwarding, one worker
//!    thread; `rtpengine` from Debian's rtpengine-daemon), its calls set up over the ng
//!    protocol on `RTPENGINE_NG` (default 22222), its whole process's CPU counted.
//!
//! Memory per served call is the resident memory the playback level added, divided by N.
//!
//!   cargo bench --bench media -- [playback 250,500,1000] [record 250,500] [relay 500,1000]
//!                                 [rtpengine 500,1000]
//!   MEDIA_SECONDS=10 (how long each level runs)

use pbx::media::anchor::{Clip, Mailbox, MediaCommand, MediaEvent, PortPair, Ports, Side};
use pbx::media::endpoint::{Codec, Limits};
use pbx::media::g711::{self, Law};
use pbx::media::prompt::Audio;
use pbx::media::relay::Relays;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const LOCALHOST: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let seconds: u64 = std::env::var("MEDIA_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let mut plan: Vec<(String, Vec<usize>)> = Vec::new();
    let mut it = args.iter();
    while let Some(kind) = it.next() {
        let levels = it
            .next()
            .map(|l| l.split(',').filter_map(|n| n.parse().ok()).collect())
            .unwrap_or_default();
        plan.push((kind.clone(), levels));
    }
    if plan.is_empty() {
        plan = vec![
            ("playback".into(), vec![250, 500, 1000, 1500]),
            ("record".into(), vec![250, 500]),
            ("relay".into(), vec![250, 500, 1000]),
        ];
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("media-driver")
        .enable_all()
        .build()
        .expect("a runtime");
    let mut base = 20000u16;
    for (kind, levels) in plan {
        match kind.as_str() {
            "playback" => println!(
                "\n| served callers playing | packets arrived | pacer lateness p50 / p99 / max | driver CPU | memory per call | verdict |\n|---|---|---|---|---|---|"
            ),
            "record" => println!(
                "\n| callers recorded at once | frames sent | frames recorded | dropped | driver CPU | verdict |\n|---|---|---|---|---|---|"
            ),
            "relay" => println!(
                "\n| relayed calls | packets sent (both ways) | received | loss | driver CPU | per core | verdict |\n|---|---|---|---|---|---|---|"
            ),
            "rtpengine" => println!(
                "\n| calls through rtpengine (the anchor) | packets sent (both ways) | received | loss | rtpengine CPU | per core | verdict |\n|---|---|---|---|---|---|---|"
            ),
            other => {
                eprintln!("unknown measure {other}: playback, record, relay or rtpengine");
                std::process::exit(2);
            }
        }
        for n in levels {
            // Each level its own port range (nothing of the last one is reused), starting over
            // at the bottom when the top is reached (those levels are long closed).
            let span = (n * 4 + 600) as u16;
            if u32::from(base) + u32::from(span) > 65000 {
                base = 20000;
            }
            let range = (base, base + span);
            let relays = Arc::new(Relays::new(LOCALHOST, LOCALHOST, range.0, range.1));
            base = base.saturating_add(span + 2);
            match kind.as_str() {
                "playback" => playback(&runtime, relays, n, seconds),
                "record" => record(&runtime, relays, n, seconds),
                "rtpengine" => rtpengine(n, seconds, range),
                _ => relay(&runtime, relays, n, seconds),
            }
        }
    }
}

/// CPU seconds the driver's thread(s) have used.
fn driver_cpu() -> f64 {
    let tick = 100.0; // USER_HZ
    let mut total = 0u64;
    for task in std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let Some((name, rest)) = stat.split_once(") ") else {
            continue;
        };
        if !name.ends_with("media-driver") {
            continue;
        }
        let f: Vec<&str> = rest.split_whitespace().collect();
        total += f[11].parse::<u64>().unwrap_or(0) + f[12].parse::<u64>().unwrap_or(0);
    }
    total as f64 / tick
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

/// `n` pairs from `relays`, started.
fn pairs(
    runtime: &tokio::runtime::Runtime,
    relays: &Relays,
    n: usize,
    events: &mpsc::UnboundedSender<MediaEvent>,
) -> Vec<PortPair> {
    let _guard = runtime.enter();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        match relays.take() {
            Some(p) => {
                relays.command(MediaCommand::Start(p.id), events);
                out.push(p);
            }
            None => {
                if relays.fill() == 0 {
                    panic!("no ports left after {} pairs", out.len());
                }
            }
        }
    }
    out
}

/// A receiving socket with a large buffer, and a thread counting what it gets until `stop`;
/// the socket can send too (`try_clone`). The thread drains the socket every millisecond
/// rather than sleeping in `recv`: a receiver blocked in `recv` would be woken by every packet,
/// and on loopback that wake-up is paid by the sender — the driver — which is not what a relay
/// sending to the network pays.
fn receiver(stop: Arc<AtomicBool>) -> (UdpSocket, Arc<AtomicU64>, std::thread::JoinHandle<()>) {
    let socket = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )
    .unwrap();
    force_buffer(&socket, libc::SO_RCVBUFFORCE, 16 << 20);
    socket.bind(&SocketAddr::new(LOCALHOST, 0).into()).unwrap();
    let socket: UdpSocket = socket.into();
    socket.set_nonblocking(true).unwrap();
    let other = socket.try_clone().unwrap();
    let count = Arc::new(AtomicU64::new(0));
    let c = count.clone();
    let thread = std::thread::Builder::new()
        .name("receiver".into())
        .spawn(move || {
            let mut buf = [0u8; 2048];
            while !stop.load(Ordering::Relaxed) {
                while socket.recv(&mut buf).is_ok() {
                    c.fetch_add(1, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        })
        .unwrap();
    (other, count, thread)
}

/// Sets a socket buffer beyond `net.core.rmem_max`/`wmem_max` when running as root (the
/// `*FORCE` options), else as large as the system allows.
fn force_buffer(socket: &socket2::Socket, option: libc::c_int, bytes: usize) {
    use std::os::fd::AsRawFd;
    let size = bytes as libc::c_int;
    // SAFETY: a valid socket descriptor and a pointer to an int of the size given.
    let forced = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            option,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    } == 0;
    if !forced {
        let _ = if option == libc::SO_RCVBUFFORCE {
            socket.set_recv_buffer_size(bytes)
        } else {
            socket.set_send_buffer_size(bytes)
        };
    }
}

/// A sending socket with a large buffer.
fn sender() -> UdpSocket {
    let socket = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )
    .unwrap();
    force_buffer(&socket, libc::SO_SNDBUFFORCE, 8 << 20);
    socket.bind(&SocketAddr::new(LOCALHOST, 0).into()).unwrap();
    socket.into()
}

/// Sends one 20 ms PCMU packet to each of `targets` every 20 ms for `seconds` from `socket`
/// (each target its own sequence), retrying a full buffer rather than losing the packet;
/// returns how many it sent.
fn stream(socket: &UdpSocket, targets: &[SocketAddr], seconds: u64, payload: &[u8]) -> u64 {
    let mut sent = 0;
    let start = Instant::now();
    let packets = seconds * 50;
    let mut buf = Vec::with_capacity(200);
    for k in 0..packets {
        let due = start + Duration::from_millis(20 * k);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        for (i, to) in targets.iter().enumerate() {
            buf.clear();
            pbx::media::rtp::write(
                &pbx::media::rtp::Header {
                    marker: k == 0,
                    payload_type: 0,
                    seq: k as u16,
                    timestamp: (k * 160) as u32,
                    ssrc: i as u32 + 1,
                },
                payload,
                &mut buf,
            );
            loop {
                match socket.send_to(&buf, to) {
                    Ok(_) => break,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::yield_now()
                    }
                    Err(e) => {
                        eprintln!("the load generator could not send: {e}");
                        break;
                    }
                }
            }
            sent += 1;
        }
    }
    sent
}

/// 20 ms of a 440 Hz tone in PCMU.
fn tone_frame() -> Vec<u8> {
    let pcm: Vec<i16> = (0..160)
        .map(|i| (6000.0 * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / 8000.0).sin()) as i16)
        .collect();
    let mut out = Vec::new();
    g711::encode_into(Law::Mu, &pcm, &mut out);
    out
}

const PCMU: Codec = Codec {
    law: Law::Mu,
    payload_type: 0,
    event_type: Some(101),
};

fn playback(runtime: &tokio::runtime::Runtime, relays: Arc<Relays>, n: usize, seconds: u64) {
    let cancel = tokio_util::sync::CancellationToken::new();
    runtime.spawn(relays.clone().run_pacer(cancel.clone()));
    let (events, mut rx) = mpsc::unbounded_channel();
    let stop = Arc::new(AtomicBool::new(false));
    let (sink, received, thread) = receiver(stop.clone());
    let sink = sink.local_addr().unwrap();
    let prompt = Arc::new(Audio::from_pcm(
        &(0..8000 * 5)
            .map(|i| (5000.0 * (i as f64 * 0.3).sin()) as i16)
            .collect::<Vec<_>>(),
    ));
    let before = rss_kib();
    let pairs = pairs(runtime, &relays, n, &events);
    for p in &pairs {
        relays.command(
            MediaCommand::Expect {
                relay: p.id,
                side: Side::Caller,
                addr: sink,
            },
            &events,
        );
        relays.command(
            MediaCommand::Serve {
                relay: p.id,
                codec: PCMU,
            },
            &events,
        );
        relays.command(
            MediaCommand::Play {
                relay: p.id,
                clips: vec![Clip(prompt.clone())],
                looped: true,
            },
            &events,
        );
    }
    // Settle a second, then measure.
    std::thread::sleep(Duration::from_secs(1));
    let after = rss_kib();
    let got0 = received.load(Ordering::Relaxed);
    let cpu0 = driver_cpu();
    let hist0 = relays.lateness.counts();
    std::thread::sleep(Duration::from_secs(seconds));
    let cpu = (driver_cpu() - cpu0) / seconds as f64;
    let got = received.load(Ordering::Relaxed) - got0;
    let hist: Vec<u64> = relays
        .lateness
        .counts()
        .iter()
        .zip(&hist0)
        .map(|(a, b)| a - b)
        .collect();
    for p in &pairs {
        relays.command(MediaCommand::Close(p.id), &events);
    }
    cancel.cancel();
    stop.store(true, Ordering::Relaxed);
    let _ = thread.join();
    while rx.try_recv().is_ok() {}
    let expected = (n as u64) * seconds * 50;
    let (p50, p99, max) = (
        quantile(&hist, 0.5),
        quantile(&hist, 0.99),
        quantile(&hist, 1.0),
    );
    let arrived = got as f64 / expected as f64;
    let ok = p99 <= 5 && arrived >= 0.99 && cpu <= 0.60;
    println!(
        "| {n} | {:.1} % ({got} of {expected}) | {p50} / {p99} / {max} ms | {:.0} % | {} B | {} |",
        arrived * 100.0,
        cpu * 100.0,
        (after.saturating_sub(before)) * 1024 / n as u64,
        if ok { "pass" } else { "fail" }
    );
}

/// The lateness (ms) that `share` of the ticks in `hist` stayed within.
fn quantile(hist: &[u64], share: f64) -> u64 {
    let total: u64 = hist.iter().sum();
    let want = ((total as f64) * share).ceil() as u64;
    let mut seen = 0;
    for (ms, c) in hist.iter().enumerate() {
        seen += c;
        if seen >= want.max(1) {
            return ms as u64;
        }
    }
    hist.len() as u64
}

fn record(runtime: &tokio::runtime::Runtime, relays: Arc<Relays>, n: usize, seconds: u64) {
    let cancel = tokio_util::sync::CancellationToken::new();
    runtime.spawn(relays.clone().run_pacer(cancel.clone()));
    // What each recording holds: its frames, and how many of them are silence filled in.
    let frames = Arc::new(Mutex::new(HashMap::<String, (u64, u64)>::new()));
    let seen = frames.clone();
    relays.set_recordings(Arc::new(move |m: &Mailbox, pcm: Vec<i16>| {
        let filled = pcm
            .chunks(160)
            .filter(|f| f.iter().all(|&s| s == 0))
            .count() as u64;
        seen.lock()
            .unwrap()
            .insert(m.mailbox.clone(), ((pcm.len() / 160) as u64, filled));
        true
    }));
    let (events, mut rx) = mpsc::unbounded_channel();
    let stop = Arc::new(AtomicBool::new(false));
    let (sink, _received, thread) = receiver(stop.clone());
    let sink = sink.local_addr().unwrap();
    let pairs = pairs(runtime, &relays, n, &events);
    for (i, p) in pairs.iter().enumerate() {
        relays.command(
            MediaCommand::Expect {
                relay: p.id,
                side: Side::Caller,
                addr: sink,
            },
            &events,
        );
        relays.command(
            MediaCommand::Serve {
                relay: p.id,
                codec: PCMU,
            },
            &events,
        );
        relays.command(
            MediaCommand::Record {
                relay: p.id,
                limits: Limits {
                    max: Duration::from_secs(600),
                    min: Duration::ZERO,
                    silence: Duration::ZERO,
                },
                into: Box::new(Mailbox {
                    tenant: "bench".into(),
                    mailbox: format!("staff:{i}"),
                    caller: "load".into(),
                    number: None,
                    received_ms: 0,
                    keep: 1,
                }),
            },
            &events,
        );
    }
    let targets: Vec<SocketAddr> = pairs.iter().map(|p| p.caller).collect();
    let payload = tone_frame();
    let cpu0 = driver_cpu();
    let load = std::thread::Builder::new()
        .name("load".into())
        .spawn(move || stream(&sender(), &targets, seconds, &payload))
        .unwrap();
    let sent = load.join().unwrap();
    let cpu = (driver_cpu() - cpu0) / seconds as f64;
    std::thread::sleep(Duration::from_millis(300));
    for p in &pairs {
        relays.command(MediaCommand::StopRecording(p.id), &events);
        relays.command(MediaCommand::Close(p.id), &events);
    }
    cancel.cancel();
    stop.store(true, Ordering::Relaxed);
    let _ = thread.join();
    while rx.try_recv().is_ok() {}
    let frames = frames.lock().unwrap();
    let recorded: u64 = frames.values().map(|(f, filled)| f - filled).sum();
    let dropped = sent.saturating_sub(recorded);
    println!(
        "| {n} | {sent} | {recorded} | {dropped} | {:.0} % | {} |",
        cpu * 100.0,
        if dropped == 0 && frames.len() == n {
            "pass"
        } else {
            "fail"
        }
    );
}

fn relay(runtime: &tokio::runtime::Runtime, relays: Arc<Relays>, n: usize, seconds: u64) {
    let (events, mut rx) = mpsc::unbounded_channel();
    let stop = Arc::new(AtomicBool::new(false));
    // Each side one socket: it sends every call's packets of that side and counts what the
    // relay sends back to it (the relay latches to where packets come from).
    let caller = receiver(stop.clone());
    let callee = receiver(stop.clone());
    let pairs = pairs(runtime, &relays, n, &events);
    for p in &pairs {
        for (side, socket) in [(Side::Caller, &caller.0), (Side::Callee, &callee.0)] {
            relays.command(
                MediaCommand::Expect {
                    relay: p.id,
                    side,
                    addr: socket.local_addr().unwrap(),
                },
                &events,
            );
        }
    }
    let callers: Vec<SocketAddr> = pairs.iter().map(|p| p.caller).collect();
    let callees: Vec<SocketAddr> = pairs.iter().map(|p| p.callee).collect();
    let (sent, got, cpu) = both_ways(caller, callee, callers, callees, seconds, &stop, driver_cpu);
    for p in &pairs {
        relays.command(MediaCommand::Close(p.id), &events);
    }
    while rx.try_recv().is_ok() {}
    report(n, sent, got, cpu);
}

/// A side of the relay test: its socket, what it received, its receiving thread.
type Party = (UdpSocket, Arc<AtomicU64>, std::thread::JoinHandle<()>);

/// Streams 20 ms packets both ways through `n` relayed calls for `seconds` — the caller party
/// to `callers` (the relay's caller-facing ports), the callee party to `callees` — and counts
/// what came through; `cpu` reads the relay's CPU seconds. Returns (sent, received, share of a
/// core), and stops the receivers.
fn both_ways(
    caller: Party,
    callee: Party,
    callers: Vec<SocketAddr>,
    callees: Vec<SocketAddr>,
    seconds: u64,
    stop: &AtomicBool,
    cpu: impl Fn() -> f64,
) -> (u64, u64, f64) {
    let payload = tone_frame();
    let cpu0 = cpu();
    let (caller_socket, to_caller, caller_thread) = caller;
    let (callee_socket, to_callee, callee_thread) = callee;
    let p1 = payload.clone();
    let a = std::thread::Builder::new()
        .name("load".into())
        .spawn(move || stream(&caller_socket, &callers, seconds, &p1))
        .unwrap();
    let b = std::thread::Builder::new()
        .name("load".into())
        .spawn(move || stream(&callee_socket, &callees, seconds, &payload))
        .unwrap();
    let sent = a.join().unwrap() + b.join().unwrap();
    let used = (cpu() - cpu0) / seconds as f64;
    std::thread::sleep(Duration::from_millis(500));
    let got = to_callee.load(Ordering::Relaxed) + to_caller.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    let _ = (callee_thread.join(), caller_thread.join());
    (sent, got, used)
}

fn report(n: usize, sent: u64, got: u64, cpu: f64) {
    let loss = 1.0 - got as f64 / sent as f64;
    let per_core = if cpu > 0.0 {
        n as f64 / cpu
    } else {
        f64::INFINITY
    };
    println!(
        "| {n} | {sent} | {got} | {:.2} % | {:.0} % | ≈ {:.0} calls | {} |",
        loss * 100.0,
        cpu * 100.0,
        per_core,
        if loss < 0.01 { "pass" } else { "fail" }
    );
}

/// The anchor: the same load through rtpengine (userspace forwarding, one worker thread),
/// calls set up over its ng control protocol; its whole process's CPU is counted.
fn rtpengine(n: usize, seconds: u64, ports: (u16, u16)) {
    let ng: u16 = std::env::var("RTPENGINE_NG")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(22222);
    let mut child = std::process::Command::new("rtpengine")
        .args([
            "-f",
            "-E",
            "-L",
            "3",
            "-i",
            "127.0.0.1",
            "-t",
            "-1",
            "--num-threads",
            "1",
        ])
        .args(["--config-file=none", "-n", &format!("127.0.0.1:{ng}")])
        .args(["-m", &ports.0.to_string(), "-M", &ports.1.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("rtpengine is installed (bench/media.sh installs rtpengine-daemon)");
    let control = UdpSocket::bind("127.0.0.1:0").unwrap();
    control
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let ng_addr = SocketAddr::new(LOCALHOST, ng);
    let mut seq = 0u64;
    let mut ask = |body: Vec<u8>| -> Vec<u8> {
        for _ in 0..50 {
            seq += 1;
            let cookie = format!("b{seq} ");
            let mut msg = cookie.clone().into_bytes();
            msg.extend_from_slice(&body);
            control.send_to(&msg, ng_addr).unwrap();
            let mut buf = vec![0u8; 65536];
            if let Ok(len) = control.recv(&mut buf) {
                if buf[..len].starts_with(cookie.as_bytes()) {
                    return buf[cookie.len()..len].to_vec();
                }
            }
        }
        panic!("rtpengine does not answer on port {ng}");
    };
    let bencode = |pairs: &[(&str, &str)]| -> Vec<u8> {
        let mut out = b"d".to_vec();
        for (k, v) in pairs {
            out.extend_from_slice(format!("{}:{k}{}:{v}", k.len(), v.len()).as_bytes());
        }
        out.push(b'e');
        out
    };
    assert!(String::from_utf8_lossy(&ask(bencode(&[("command", "ping")]))).contains("pong"));
    let stop = Arc::new(AtomicBool::new(false));
    let caller = receiver(stop.clone());
    let callee = receiver(stop.clone());
    let sdp = |addr: SocketAddr| {
        format!(
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {} RTP/AVP 0\r\n",
            addr.port()
        )
    };
    let port_of = |answer: &[u8]| -> u16 {
        let text = String::from_utf8_lossy(answer);
        text.split("m=audio ")
            .nth(1)
            .and_then(|r| r.split(' ').next()?.parse().ok())
            .unwrap_or_else(|| panic!("rtpengine answered {text}"))
    };
    let (caller_sdp, callee_sdp) = (
        sdp(caller.0.local_addr().unwrap()),
        sdp(callee.0.local_addr().unwrap()),
    );
    let mut callers = Vec::with_capacity(n);
    let mut callees = Vec::with_capacity(n);
    for i in 0..n {
        let call = format!("call{i}");
        let offer = ask(bencode(&[
            ("command", "offer"),
            ("call-id", &call),
            ("from-tag", "caller"),
            ("sdp", &caller_sdp),
        ]));
        callees.push(SocketAddr::new(LOCALHOST, port_of(&offer)));
        let answer = ask(bencode(&[
            ("command", "answer"),
            ("call-id", &call),
            ("from-tag", "caller"),
            ("to-tag", "callee"),
            ("sdp", &callee_sdp),
        ]));
        callers.push(SocketAddr::new(LOCALHOST, port_of(&answer)));
    }
    let pid = child.id();
    let cpu = move || {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks = f.get(11).and_then(|t| t.parse::<u64>().ok()).unwrap_or(0)
            + f.get(12).and_then(|t| t.parse::<u64>().ok()).unwrap_or(0);
        ticks as f64 / 100.0
    };
    let (sent, got, used) = both_ways(caller, callee, callers, callees, seconds, &stop, cpu);
    let _ = child.kill();
    let _ = child.wait();
    report(n, sent, got, used);
}
