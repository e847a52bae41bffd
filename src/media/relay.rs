//! `Relays`: the media driver that anchors calls' audio at the PBX — UDP port pairs from the
//! configured range, bound ahead of need by a refill task (so taking one for a call is a
//! memory operation), and one task per call relaying both ways. It carries out the engine's
//! `MediaCommand`s and reports `MediaEvent`s.
//!
//! Each side is first expected where its SDP said, then latched to the address its first
//! packet comes from (symmetric RTP, for NAT); after that, packets from anywhere else are
//! dropped. Ports are taken in turn through the range, so a port a call just freed is not
//! handed to the next call at once; ports this server holds are skipped without asking the
//! kernel. One pair serves one call: the range's even ports, halved, are how many calls can be
//! relayed at once (the default 10000-20000: 2,500). Payloads (any codec, RFC 4733
//! telephone-events) are relayed untouched.
//!
//! A caller side the PBX serves (`Serve`) is an `Endpoint` instead: the relay task hands it the
//! caller's packets (keys, recording) and drops what the callee side sends; one pacer task for
//! all served calls sends each its next packet every 20 ms, on a schedule that does not drift
//! (a late tick is caught up, a very late one skipped). `Bridge` makes the side a relay again on
//! the same ports. A finished recording is handed to the `Recordings` sink (the voicemail
//! writer), which never blocks.

use super::anchor::{Clip, Mailbox, MediaCommand, MediaEvent, PortPair, Ports, RelayId, Side};
use super::batch::Batch;
use super::endpoint::{Endpoint, Happened};
use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

/// Where what the driver reports goes: the shard that owns the call.
pub type Events = mpsc::UnboundedSender<MediaEvent>;

/// Where finished recordings go: `false` when the recording could not be taken (dropped).
pub type Recordings = Arc<dyn Fn(&Mailbox, Vec<i16>) -> bool + Send + Sync>;

/// How often a served caller gets a packet.
const PTIME: Duration = Duration::from_millis(20);
/// A pacer this late skips ahead instead of sending a burst.
const SKIP_AFTER: Duration = Duration::from_millis(200);

/// Pairs kept bound and ready: at most this many...
const READY: usize = 256;
/// ... and at most this share of the pairs the range holds, so a small range shared with other
/// processes is not all held idle by the pool.
const READY_SHARE: usize = 8;

/// Where one side's packets go, and whether that was learned from a packet.
#[derive(Clone, Copy, Default)]
struct Peer {
    addr: Option<SocketAddr>,
    latched: bool,
}

/// Both sides' peers, shared by the commands, the relay task and the pacer. Every change bumps
/// `version`, so the relay task keeps its own copy and takes the lock only when it changed (or
/// to latch), not per packet.
#[derive(Default)]
struct Peers {
    state: Mutex<[Peer; 2]>,
    version: AtomicU64,
}

impl Peers {
    fn change(&self, f: impl FnOnce(&mut [Peer; 2])) {
        let mut state = lock(&self.state);
        f(&mut state);
        self.version.fetch_add(1, Ordering::Release);
    }

    fn get(&self) -> [Peer; 2] {
        *lock(&self.state)
    }
}

/// A pair bound and waiting for a call.
struct Bound {
    caller: std::net::UdpSocket,
    callee: std::net::UdpSocket,
    pair: PortPair,
}

/// A pair taken by a call.
struct Active {
    /// Its two (bound) ports.
    ports: (u16, u16),
    stage: Stage,
    peers: Arc<Peers>,
    counts: Arc<[AtomicU64; 2]>,
    served: Arc<ServedCell>,
    secure: Arc<SecureCell>,
    /// The caller-facing socket, once started (the pacer sends on it).
    caller: Option<Arc<UdpSocket>>,
}

/// The SRTP of both sides (each `None` while it speaks plain RTP): the flag keeps the relay
/// task off the lock while neither does.
#[derive(Default)]
struct SecureCell {
    on: AtomicBool,
    sides: Mutex<[Option<Srtp>; 2]>,
}

/// One side's SRTP: what comes from it, and what goes to it.
struct Srtp {
    inbound: crate::media::srtp::Context,
    outbound: crate::media::srtp::Context,
}

impl SecureCell {
    /// `packet` from `from` as plain RTP; `None` when that side's SRTP refuses it.
    fn open(&self, from: Side, packet: &[u8]) -> Option<Vec<u8>> {
        let mut plain = packet.to_vec();
        if let Some(s) = lock(&self.sides)[from as usize].as_mut() {
            s.inbound.unprotect(&mut plain).ok()?;
        }
        Some(plain)
    }

    /// `packet` protected for `to`, when that side speaks SRTP.
    fn seal(&self, to: Side, packet: &[u8]) -> Option<Vec<u8>> {
        let mut sides = lock(&self.sides);
        let s = sides[to as usize].as_mut()?;
        let mut sealed = packet.to_vec();
        s.outbound.protect(&mut sealed);
        Some(sealed)
    }
}

/// A caller side the PBX serves: the flag keeps the relay task off the lock while it relays.
#[derive(Default)]
struct ServedCell {
    on: AtomicBool,
    state: Mutex<Option<Served>>,
}

/// What serving one caller takes.
struct Served {
    relay: RelayId,
    endpoint: Endpoint,
    events: Events,
    /// The box a running recording goes to.
    mailbox: Option<Box<Mailbox>>,
    recordings: Option<Recordings>,
}

impl Served {
    /// Reports what the endpoint says happened; a finished recording goes to its box.
    fn report(&mut self, out: &mut Vec<MediaEvent>) {
        while let Some(happened) = self.endpoint.poll() {
            let relay = self.relay;
            out.push(match happened {
                Happened::Digit(digit, via) => MediaEvent::Digit { relay, digit, via },
                Happened::PlayDone => MediaEvent::PlayDone(relay),
                Happened::Recorded {
                    pcm,
                    duration,
                    kept,
                } => {
                    let mailbox = self.mailbox.take();
                    let kept = match (kept, mailbox, &self.recordings) {
                        (true, Some(mailbox), Some(sink)) => sink(&mailbox, pcm),
                        _ => false,
                    };
                    MediaEvent::Recorded {
                        relay,
                        duration,
                        kept,
                    }
                }
            });
        }
    }

    /// Sends what happened to the shard.
    fn report_now(&mut self, scratch: &mut Vec<MediaEvent>) {
        self.report(scratch);
        for event in scratch.drain(..) {
            let _ = self.events.send(event);
        }
    }
}

/// How late the pacer's ticks were, in buckets of 1 ms (the last: 50 ms or more).
pub struct Lateness {
    buckets: [AtomicU64; 51],
}

impl Lateness {
    fn note(&self, late: Duration) {
        let ms = (late.as_millis() as usize).min(50);
        self.buckets[ms].fetch_add(1, Ordering::Relaxed);
    }

    /// How many ticks were late by 0, 1, 2 ... 49 ms, and by 50 ms or more.
    pub fn counts(&self) -> Vec<u64> {
        self.buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect()
    }
}

/// Where a taken pair is.
enum Stage {
    /// Its sockets, bound, until `Start`.
    Waiting(std::net::UdpSocket, std::net::UdpSocket),
    /// `Start` took the sockets and is spawning the task (outside the lock).
    Starting,
    /// The task relaying on the sockets; they close with it.
    Relaying(tokio::task::JoinHandle<()>),
}

/// The relays of a server: a port range on one address.
pub struct Relays {
    bind: IpAddr,
    advertised: IpAddr,
    min: u16,
    max: u16,
    /// The next port to try, and which even ports of the range this server holds.
    ports: Mutex<(u16, Vec<bool>)>,
    next_id: AtomicU64,
    ready: Mutex<VecDeque<Bound>>,
    active: Mutex<HashMap<RelayId, Active>>,
    low: Notify,
    /// The served callers the pacer sends to.
    serving: Mutex<HashMap<RelayId, Paced>>,
    /// Wakes the pacer when a caller is served (it sleeps while nobody is).
    first_served: Notify,
    recordings: Mutex<Option<Recordings>>,
    /// How late the pacer's ticks were.
    pub lateness: Lateness,
}

/// One served caller as the pacer sees it.
#[derive(Clone)]
struct Paced {
    cell: Arc<ServedCell>,
    socket: Arc<UdpSocket>,
    peers: Arc<Peers>,
    secure: Arc<SecureCell>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Relays {
    /// Relays binding `bind`, announced in SDP as `advertised`, using ports `min..=max`.
    pub fn new(bind: IpAddr, advertised: IpAddr, min: u16, max: u16) -> Relays {
        let min = min + min % 2;
        Relays {
            bind,
            advertised,
            min,
            max,
            ports: Mutex::new((
                min,
                vec![false; usize::from(max.saturating_sub(min)) / 2 + 1],
            )),
            next_id: AtomicU64::new(1),
            ready: Mutex::default(),
            active: Mutex::default(),
            low: Notify::new(),
            serving: Mutex::default(),
            first_served: Notify::new(),
            recordings: Mutex::default(),
            lateness: Lateness {
                buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            },
        }
    }

    /// Where finished recordings go (the voicemail writer); without one they are discarded.
    pub fn set_recordings(&self, sink: Recordings) {
        *lock(&self.recordings) = Some(sink);
    }

    /// Callers served now.
    pub fn served(&self) -> usize {
        lock(&self.serving).len()
    }

    /// Sends every served caller its next packet every 20 ms until `cancel` fires.
    pub async fn run_pacer(self: Arc<Self>, cancel: CancellationToken) {
        let mut next = Instant::now();
        let mut list: Vec<Paced> = Vec::new();
        let mut packet = Vec::with_capacity(200);
        let mut events = Vec::new();
        loop {
            next += PTIME;
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep_until(next.into()) => {}
            }
            let now = Instant::now();
            let late = now.saturating_duration_since(next);
            if late > SKIP_AFTER {
                next = now;
            }
            list.clear();
            list.extend(lock(&self.serving).values().cloned());
            if list.is_empty() {
                // Nobody to pace: sleep until someone is served (an idle server wakes for
                // nothing).
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = self.first_served.notified() => {}
                }
                next = Instant::now();
                continue;
            }
            self.lateness.note(late);
            for paced in &list {
                {
                    let mut state = lock(&paced.cell.state);
                    let Some(served) = state.as_mut() else {
                        continue;
                    };
                    served.endpoint.tick(&mut packet);
                    served.report_now(&mut events);
                }
                let to = paced.peers.get()[Side::Caller as usize].addr;
                if let Some(to) = to {
                    let sealed = paced
                        .secure
                        .on
                        .load(Ordering::Acquire)
                        .then(|| paced.secure.seal(Side::Caller, &packet))
                        .flatten();
                    let _ = paced
                        .socket
                        .try_send_to(sealed.as_deref().unwrap_or(&packet), to);
                }
            }
        }
    }

    /// Relays running now (taken by calls).
    pub fn active(&self) -> usize {
        lock(&self.active).len()
    }

    /// How many pairs the pool keeps ready: `READY`, or an eighth of the range if that is less
    /// (but at least 4).
    fn target(&self) -> usize {
        let pairs = (usize::from(self.max.saturating_sub(self.min)) / 2).div_ceil(2);
        READY.min(pairs / READY_SHARE).max(4)
    }

    /// Binds pairs until the pool's target is ready; returns how many are.
    pub fn fill(&self) -> usize {
        let target = self.target();
        loop {
            if lock(&self.ready).len() >= target {
                return target;
            }
            let (Some(caller), Some(callee)) = (self.bind_next(), self.bind_next()) else {
                return lock(&self.ready).len();
            };
            let (Ok(a), Ok(b)) = (caller.local_addr(), callee.local_addr()) else {
                continue;
            };
            let id = RelayId(self.next_id.fetch_add(1, Ordering::Relaxed));
            let pair = PortPair {
                id,
                caller: SocketAddr::new(self.advertised, a.port()),
                callee: SocketAddr::new(self.advertised, b.port()),
            };
            lock(&self.ready).push_back(Bound {
                caller,
                callee,
                pair,
            });
        }
    }

    /// Keeps the pool full until `cancel` fires.
    pub async fn run_refill(self: Arc<Self>, cancel: CancellationToken) {
        loop {
            let relays = self.clone();
            let _ = tokio::task::spawn_blocking(move || relays.fill()).await;
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = self.low.notified() => {}
            }
        }
    }

    /// Binds the next free even port of the range (one held here is skipped at once, one in
    /// use elsewhere after the kernel says so).
    fn bind_next(&self) -> Option<std::net::UdpSocket> {
        let span = u32::from(self.max.saturating_sub(self.min)) / 2 + 1;
        for _ in 0..span {
            let port = {
                let mut ports = lock(&self.ports);
                let (next, held) = &mut *ports;
                let port = *next;
                *next = if next.saturating_add(2) > self.max {
                    self.min
                } else {
                    *next + 2
                };
                let slot = usize::from((port - self.min) / 2);
                if held.get(slot).copied().unwrap_or(true) {
                    continue;
                }
                port
            };
            if let Ok(s) = std::net::UdpSocket::bind(SocketAddr::new(self.bind, port)) {
                if s.set_nonblocking(true).is_ok() {
                    self.hold(port, true);
                    return Some(s);
                }
            }
        }
        None
    }

    /// Marks `port` held here (or free again).
    fn hold(&self, port: u16, held: bool) {
        if port < self.min || port > self.max {
            return;
        }
        let slot = usize::from((port - self.min) / 2);
        if let Some(h) = lock(&self.ports).1.get_mut(slot) {
            *h = held;
        }
    }

    /// Carries out `command`; a `Close` answers with what the relay carried (after the
    /// recording it ended, if one ran). `Start` spawns the relay's task on the current tokio
    /// runtime. What a served caller does later is sent to `events`.
    pub fn command(&self, command: MediaCommand, events: &Events) -> Vec<MediaEvent> {
        match command {
            MediaCommand::Start(id) => {
                // The sockets are taken out under the lock; the task is spawned outside it.
                let (a, b, peers, counts, served, secure) = {
                    let mut active = lock(&self.active);
                    let Some(relay) = active.get_mut(&id) else {
                        return Vec::new();
                    };
                    match std::mem::replace(&mut relay.stage, Stage::Starting) {
                        Stage::Waiting(a, b) => (
                            a,
                            b,
                            relay.peers.clone(),
                            relay.counts.clone(),
                            relay.served.clone(),
                            relay.secure.clone(),
                        ),
                        // A second Start: nothing to do.
                        started => {
                            relay.stage = started;
                            return Vec::new();
                        }
                    }
                };
                // What reached the ports before the call took them (a previous call's party
                // still sending, a scanner) is dropped, not latched to.
                let mut buf = [0u8; 2048];
                while a.recv_from(&mut buf).is_ok() {}
                while b.recv_from(&mut buf).is_ok() {}
                let (Ok(a), Ok(b)) = (UdpSocket::from_std(a), UdpSocket::from_std(b)) else {
                    return Vec::new();
                };
                let a = Arc::new(a);
                let task = tokio::spawn(relay_task(a.clone(), b, peers, counts, served, secure));
                match lock(&self.active).get_mut(&id) {
                    Some(relay) => {
                        relay.stage = Stage::Relaying(task);
                        relay.caller = Some(a);
                    }
                    // Closed meanwhile: the task has nothing to relay for.
                    None => task.abort(),
                }
                Vec::new()
            }
            MediaCommand::Expect { relay, side, addr } => {
                if let Some(active) = lock(&self.active).get(&relay) {
                    active.peers.change(|peers| {
                        let peer = &mut peers[side as usize];
                        if !peer.latched {
                            peer.addr = Some(addr);
                        }
                    });
                }
                Vec::new()
            }
            MediaCommand::Repoint { relay, side, addr } => {
                if let Some(active) = lock(&self.active).get(&relay) {
                    active.peers.change(|peers| {
                        peers[side as usize] = Peer {
                            addr: Some(addr),
                            latched: false,
                        }
                    });
                }
                Vec::new()
            }
            MediaCommand::Close(relay) => {
                let mut out = self.unserve(relay, true);
                let active = lock(&self.active).remove(&relay);
                let (caller_to_callee, callee_to_caller) = match active {
                    Some(active) => {
                        // The sockets close with the task (or here, never started).
                        self.hold(active.ports.0, false);
                        self.hold(active.ports.1, false);
                        if let Stage::Relaying(task) = active.stage {
                            task.abort();
                        }
                        (
                            active.counts[0].load(Ordering::Relaxed),
                            active.counts[1].load(Ordering::Relaxed),
                        )
                    }
                    None => (0, 0),
                };
                out.push(MediaEvent::Closed {
                    relay,
                    caller_to_callee,
                    callee_to_caller,
                });
                out
            }
            MediaCommand::Serve { relay, codec } => {
                let Some((cell, paced)) = lock(&self.active).get(&relay).and_then(|a| {
                    Some((
                        a.served.clone(),
                        Paced {
                            cell: a.served.clone(),
                            socket: a.caller.clone()?,
                            peers: a.peers.clone(),
                            secure: a.secure.clone(),
                        },
                    ))
                }) else {
                    return Vec::new();
                };
                let seed = random_words(relay);
                {
                    let mut state = lock(&cell.state);
                    if state.is_none() {
                        *state = Some(Served {
                            relay,
                            endpoint: Endpoint::new(codec, seed.0, seed.1 as u16, seed.2),
                            events: events.clone(),
                            mailbox: None,
                            recordings: lock(&self.recordings).clone(),
                        });
                    }
                }
                cell.on.store(true, Ordering::Release);
                lock(&self.serving).insert(relay, paced);
                self.first_served.notify_one();
                Vec::new()
            }
            MediaCommand::Play {
                relay,
                clips,
                looped,
            } => {
                self.with_served(relay, |s| {
                    s.endpoint
                        .play(clips.into_iter().map(|Clip(a)| a).collect(), looped)
                });
                Vec::new()
            }
            MediaCommand::Record {
                relay,
                limits,
                into,
            } => {
                self.with_served(relay, |s| {
                    s.mailbox = Some(into);
                    s.endpoint.record(limits);
                });
                Vec::new()
            }
            MediaCommand::StopRecording(relay) => {
                let mut out = Vec::new();
                self.with_served(relay, |s| {
                    s.endpoint.stop_recording();
                    s.report(&mut out);
                });
                out
            }
            MediaCommand::Bridge(relay) => self.unserve(relay, false),
            MediaCommand::Secure { relay, side, keys } => {
                use crate::media::srtp::Context;
                if let Some(active) = lock(&self.active).get(&relay) {
                    lock(&active.secure.sides)[side as usize] = Some(Srtp {
                        inbound: Context::new(keys.suite, &keys.remote),
                        outbound: Context::new(keys.suite, &keys.local),
                    });
                    active.secure.on.store(true, Ordering::Release);
                }
                Vec::new()
            }
        }
    }

    /// Runs `f` on the served side of `relay`, if it is served.
    fn with_served(&self, relay: RelayId, f: impl FnOnce(&mut Served)) {
        let cell = lock(&self.active).get(&relay).map(|a| a.served.clone());
        if let Some(cell) = cell {
            if let Some(served) = lock(&cell.state).as_mut() {
                f(served);
            }
        }
    }

    /// The caller side of `relay` is no longer served; a running recording ends (and is kept
    /// if long enough) when `finish_recording`.
    fn unserve(&self, relay: RelayId, finish_recording: bool) -> Vec<MediaEvent> {
        lock(&self.serving).remove(&relay);
        let cell = lock(&self.active).get(&relay).map(|a| a.served.clone());
        let mut out = Vec::new();
        if let Some(cell) = cell {
            cell.on.store(false, Ordering::Release);
            if let Some(mut served) = lock(&cell.state).take() {
                if finish_recording && served.mailbox.is_some() {
                    served.endpoint.stop_recording();
                }
                served.report(&mut out);
            }
        }
        out
    }
}

/// Initial SSRC, sequence number and timestamp for a served caller: not guessable from the
/// outside (RFC 3550 §5.1), without a random source of its own.
fn random_words(relay: RelayId) -> (u32, u32, u32) {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(relay.0);
    let a = h.finish();
    h.write_u64(a);
    let b = h.finish();
    (a as u32, (a >> 32) as u32, b as u32)
}

impl Ports for Relays {
    fn take(&self) -> Option<PortPair> {
        let (bound, left) = {
            let mut ready = lock(&self.ready);
            (ready.pop_front(), ready.len())
        };
        if left < self.target() / 2 {
            self.low.notify_one();
        }
        let bound = bound?;
        let ports = (
            bound.caller.local_addr().map_or(0, |a| a.port()),
            bound.callee.local_addr().map_or(0, |a| a.port()),
        );
        lock(&self.active).insert(
            bound.pair.id,
            Active {
                ports,
                stage: Stage::Waiting(bound.caller, bound.callee),
                peers: Arc::default(),
                counts: Arc::default(),
                served: Arc::default(),
                secure: Arc::default(),
                caller: None,
            },
        );
        Some(bound.pair)
    }
}

/// Batches a relay task reads from one socket before it lets other tasks run.
const ROUNDS: usize = 4;

/// Relays between the caller-facing socket `a` and the callee-facing socket `b` until aborted;
/// while the caller side is served, its packets go to the endpoint and the callee's nowhere.
/// What waits on the socket that woke the task is read in batches (`Batch`: one system call
/// for what is there, and a short batch says the socket is drained), up to `ROUNDS` before the
/// task lets others run; a packet the kernel cannot take at once is dropped, as UDP would.
async fn relay_task(
    a: Arc<UdpSocket>,
    b: UdpSocket,
    peers: Arc<Peers>,
    counts: Arc<[AtomicU64; 2]>,
    served: Arc<ServedCell>,
    secure: Arc<SecureCell>,
) {
    let mut events = Vec::new();
    let mut relay = Relay {
        peers,
        local: [Peer::default(); 2],
        version: u64::MAX,
    };
    // Which sockets to read: both at first, then the one that woke the task.
    let mut ready = [true, true];
    loop {
        let mut busy = false;
        for from in [Side::Caller, Side::Callee] {
            if !ready[from as usize] {
                continue;
            }
            let (socket, other) = match from {
                Side::Caller => (&*a, &b),
                Side::Callee => (&b, &*a),
            };
            for round in 0..=ROUNDS {
                if round == ROUNDS {
                    busy = true;
                    break;
                }
                let more = Batch::with(|batch| {
                    let more = batch.read(socket);
                    for (packet, src) in batch.datagrams() {
                        let Some(to) = relay.accept(from, src) else {
                            continue;
                        };
                        // A side speaking SRTP: its packets opened here, sealed for the other.
                        let secured = secure.on.load(Ordering::Acquire);
                        let opened = if secured {
                            match secure.open(from, packet) {
                                Some(plain) => Some(plain),
                                None => continue,
                            }
                        } else {
                            None
                        };
                        let packet = opened.as_deref().unwrap_or(packet);
                        if served.on.load(Ordering::Acquire) {
                            if from == Side::Caller {
                                if let Some(s) = lock(&served.state).as_mut() {
                                    s.endpoint.receive(packet);
                                    s.report_now(&mut events);
                                }
                            }
                            continue;
                        }
                        if let Some(to) = to {
                            let toward = match from {
                                Side::Caller => Side::Callee,
                                Side::Callee => Side::Caller,
                            };
                            let sealed = if secured {
                                secure.seal(toward, packet)
                            } else {
                                None
                            };
                            let bytes = sealed.as_deref().unwrap_or(packet);
                            if other.try_send_to(bytes, to).is_ok() {
                                counts[from as usize].fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                    more
                });
                if !more {
                    ready[from as usize] = false;
                    break;
                }
            }
        }
        if busy {
            tokio::task::yield_now().await;
        } else {
            tokio::select! {
                _ = a.readable() => ready[Side::Caller as usize] = true,
                _ = b.readable() => ready[Side::Callee as usize] = true,
            }
        }
    }
}

/// A relay task's view of the peers: its own copy, refreshed when the shared one changed.
struct Relay {
    peers: Arc<Peers>,
    local: [Peer; 2],
    version: u64,
}

impl Relay {
    /// A packet from `src` on `from`'s side: `None` when it is not from the party that side
    /// latched to (dropped); else where the other side wants packets (if known yet).
    fn accept(&mut self, from: Side, src: SocketAddr) -> Option<Option<SocketAddr>> {
        let version = self.peers.version.load(Ordering::Acquire);
        if version != self.version {
            self.local = self.peers.get();
            self.version = version;
        }
        let me = self.local[from as usize];
        if !me.latched {
            // The first packet from this side: it is where the party really is.
            self.peers.change(|p| {
                if !p[from as usize].latched {
                    p[from as usize] = Peer {
                        addr: Some(src),
                        latched: true,
                    };
                }
            });
            self.version = self.peers.version.load(Ordering::Acquire);
            self.local = self.peers.get();
        }
        if self.local[from as usize].addr != Some(src) {
            return None;
        }
        Some(self.local[1 - from as usize].addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn recv(socket: &UdpSocket) -> (Vec<u8>, SocketAddr) {
        let mut buf = [0u8; 64];
        let (n, from) = tokio::time::timeout(Duration::from_secs(2), socket.recv_from(&mut buf))
            .await
            .expect("a packet within 2 s")
            .unwrap();
        (buf[..n].to_vec(), from)
    }

    /// Nothing arrives at `socket` within 200 ms (the point of the check).
    async fn silent(socket: &UdpSocket) -> bool {
        let mut buf = [0u8; 64];
        tokio::time::timeout(Duration::from_millis(200), socket.recv_from(&mut buf))
            .await
            .is_err()
    }

    fn events() -> Events {
        mpsc::unbounded_channel().0
    }

    fn started(relays: &Relays) -> PortPair {
        let pair = relays.take().expect("a ready pair");
        assert_eq!(
            relays.command(MediaCommand::Start(pair.id), &events()),
            vec![]
        );
        pair
    }

    #[tokio::test]
    async fn relays_both_ways_latches_and_reports_what_it_carried() {
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let relays = Relays::new(lo, lo, 41000, 42999);
        // 2,000 ports, 500 pairs: an eighth of them kept ready.
        assert_eq!(relays.fill(), 62);
        let caller = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let callee = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let pair = started(&relays);
        assert_eq!(pair.caller.port() % 2, 0);
        // The callee is expected where its SDP said; the caller is learned from its packets.
        relays.command(
            MediaCommand::Expect {
                relay: pair.id,
                side: Side::Callee,
                addr: callee.local_addr().unwrap(),
            },
            &events(),
        );
        for i in 0..5u8 {
            caller.send_to(&[i; 20], pair.caller).await.unwrap();
            assert_eq!(recv(&callee).await, (vec![i; 20], pair.callee));
            callee.send_to(&[i + 100; 20], pair.callee).await.unwrap();
            assert_eq!(recv(&caller).await, (vec![i + 100; 20], pair.caller));
        }
        // A stranger on the caller's side is dropped once the caller is latched.
        let stranger = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        stranger.send_to(b"noise", pair.caller).await.unwrap();
        assert!(silent(&callee).await);
        assert_eq!(
            relays.command(MediaCommand::Close(pair.id), &events()),
            vec![MediaEvent::Closed {
                relay: pair.id,
                caller_to_callee: 5,
                callee_to_caller: 5
            }]
        );
        assert_eq!(relays.active(), 0);
    }

    #[tokio::test]
    async fn a_side_speaking_srtp_is_opened_and_sealed_and_forgeries_are_dropped() {
        use crate::media::srtp::{Context, Suite};
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let relays = Relays::new(lo, lo, 49000, 49999);
        relays.fill();
        let caller = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let callee = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let pair = started(&relays);
        let (theirs, ours) = ([1u8; 30], [2u8; 30]);
        let suite = Suite::AesCm128HmacSha1_80;
        relays.command(
            MediaCommand::Secure {
                relay: pair.id,
                side: Side::Caller,
                keys: Box::new(crate::media::anchor::SrtpKeys {
                    suite,
                    remote: theirs,
                    local: ours,
                }),
            },
            &events(),
        );
        relays.command(
            MediaCommand::Expect {
                relay: pair.id,
                side: Side::Callee,
                addr: callee.local_addr().unwrap(),
            },
            &events(),
        );
        // The caller (SRTP) and the PBX, each with the other's key.
        let (mut caller_out, mut caller_in) =
            (Context::new(suite, &theirs), Context::new(suite, &ours));
        for seq in 0..5u16 {
            let plain = |seq: u16, fill: u8| {
                let mut p = vec![0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9];
                p[2..4].copy_from_slice(&seq.to_be_bytes());
                p.extend_from_slice(&[fill; 20]);
                p
            };
            let mut sealed = plain(seq, 7);
            caller_out.protect(&mut sealed);
            caller.send_to(&sealed, pair.caller).await.unwrap();
            assert_eq!(
                recv(&callee).await.0,
                plain(seq, 7),
                "opened for the callee"
            );
            callee.send_to(&plain(seq, 8), pair.callee).await.unwrap();
            let (mut got, _) = recv(&caller).await;
            assert_ne!(got, plain(seq, 8), "sealed for the caller");
            caller_in.unprotect(&mut got).unwrap();
            assert_eq!(got, plain(seq, 8));
        }
        // A packet not sealed with the caller's key goes nowhere.
        let mut forged = vec![0x80, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 9];
        forged.extend_from_slice(&[0; 30]);
        caller.send_to(&forged, pair.caller).await.unwrap();
        assert!(silent(&callee).await);
        relays.command(MediaCommand::Close(pair.id), &events());
    }

    #[tokio::test]
    async fn the_device_that_answers_replaces_the_one_that_sent_early_media() {
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let relays = Relays::new(lo, lo, 44000, 45999);
        relays.fill();
        let caller = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let early = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let answering = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let pair = started(&relays);
        // The caller is learned first; then one device plays early media: the callee side
        // latches to it.
        relays.command(
            MediaCommand::Expect {
                relay: pair.id,
                side: Side::Callee,
                addr: early.local_addr().unwrap(),
            },
            &events(),
        );
        caller.send_to(b"hello", pair.caller).await.unwrap();
        assert_eq!(recv(&early).await.0, b"hello");
        early.send_to(b"ringback", pair.callee).await.unwrap();
        assert_eq!(recv(&caller).await.0, b"ringback");
        // Another answers: its audio reaches the caller, the first device's no longer does.
        relays.command(
            MediaCommand::Repoint {
                relay: pair.id,
                side: Side::Callee,
                addr: answering.local_addr().unwrap(),
            },
            &events(),
        );
        answering.send_to(b"answer", pair.callee).await.unwrap();
        assert_eq!(recv(&caller).await.0, b"answer");
        early.send_to(b"late", pair.callee).await.unwrap();
        assert!(silent(&caller).await);
        // And the caller's audio goes to the answering device.
        caller.send_to(b"to you", pair.caller).await.unwrap();
        assert_eq!(recv(&answering).await.0, b"to you");
        relays.command(MediaCommand::Close(pair.id), &events());
    }

    #[tokio::test]
    async fn packets_that_reached_a_pair_before_its_call_are_not_latched_to() {
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let relays = Relays::new(lo, lo, 46000, 47999);
        relays.fill();
        let stale = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let caller = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let callee = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let pair = relays.take().unwrap();
        // Someone sends to the caller's port before the call starts relaying.
        stale.send_to(b"old call", pair.caller).await.unwrap();
        stale.send_to(b"old call", pair.callee).await.unwrap();
        // The kernel has queued them once a packet sent after them has arrived.
        let probe = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut buf = [0u8; 16];
        probe
            .send_to(b"p", probe.local_addr().unwrap())
            .await
            .unwrap();
        probe.recv_from(&mut buf).await.unwrap();
        relays.command(MediaCommand::Start(pair.id), &events());
        relays.command(
            MediaCommand::Expect {
                relay: pair.id,
                side: Side::Callee,
                addr: callee.local_addr().unwrap(),
            },
            &events(),
        );
        // The real caller is the one latched: its audio reaches the callee, and the callee's
        // reaches it.
        caller.send_to(b"hello", pair.caller).await.unwrap();
        assert_eq!(recv(&callee).await.0, b"hello");
        callee.send_to(b"back", pair.callee).await.unwrap();
        assert_eq!(recv(&caller).await, (b"back".to_vec(), pair.caller));
        assert!(silent(&stale).await, "nothing goes to the stale sender");
        relays.command(MediaCommand::Close(pair.id), &events());
    }

    #[tokio::test]
    async fn a_served_caller_hears_the_pbx_its_keys_are_reported_and_a_bridge_relays_again() {
        use crate::media::endpoint::Codec;
        use crate::media::g711::Law;
        use crate::media::prompt::Audio;
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let relays = Arc::new(Relays::new(lo, lo, 48000, 48999));
        relays.fill();
        let cancel = CancellationToken::new();
        tokio::spawn(relays.clone().run_pacer(cancel.clone()));
        let (tx, mut rx) = mpsc::unbounded_channel();
        let caller = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let callee = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let pair = relays.take().unwrap();
        relays.command(MediaCommand::Start(pair.id), &tx);
        for (side, sock) in [(Side::Caller, &caller), (Side::Callee, &callee)] {
            relays.command(
                MediaCommand::Expect {
                    relay: pair.id,
                    side,
                    addr: sock.local_addr().unwrap(),
                },
                &tx,
            );
        }
        let codec = Codec {
            law: Law::Mu,
            payload_type: 0,
            event_type: Some(101),
        };
        relays.command(
            MediaCommand::Serve {
                relay: pair.id,
                codec,
            },
            &tx,
        );
        assert_eq!(relays.served(), 1);
        // 320 samples of a loud square wave: two packets of it, then PlayDone, then silence.
        let clip = Arc::new(Audio::from_pcm(
            &(0..320)
                .map(|i| if i % 8 < 4 { 8000 } else { -8000 })
                .collect::<Vec<i16>>(),
        ));
        relays.command(
            MediaCommand::Play {
                relay: pair.id,
                clips: vec![Clip(clip.clone())],
                looped: false,
            },
            &tx,
        );
        let mut payloads = Vec::new();
        let mut buf = [0u8; 512];
        while payloads.len() < 4 {
            let (n, from) =
                tokio::time::timeout(Duration::from_secs(2), caller.recv_from(&mut buf))
                    .await
                    .expect("paced packets")
                    .unwrap();
            assert_eq!(from, pair.caller);
            let (header, payload) = crate::media::rtp::parse(&buf[..n]).unwrap();
            payloads.push((header.seq, payload.to_vec()));
        }
        let starts = payloads
            .iter()
            .position(|(_, p)| p.as_slice() == &clip.bytes(Law::Mu)[..160])
            .expect("the clip was played");
        assert_eq!(payloads[starts + 1].1, &clip.bytes(Law::Mu)[160..]);
        assert!(payloads
            .windows(2)
            .all(|w| w[1].0 == w[0].0.wrapping_add(1)));
        assert_eq!(
            tokio::time::timeout(Duration::from_secs(2), rx.recv())
                .await
                .unwrap(),
            Some(MediaEvent::PlayDone(pair.id))
        );
        // The callee's audio does not reach a served caller; the caller's keys are reported.
        callee.send_to(b"not for you", pair.callee).await.unwrap();
        let mut event = Vec::new();
        crate::media::rtp::write(
            &crate::media::rtp::Header {
                marker: true,
                payload_type: 101,
                seq: 1,
                timestamp: 160,
                ssrc: 7,
            },
            &[5, 10, 0, 160],
            &mut event,
        );
        caller.send_to(&event, pair.caller).await.unwrap();
        assert_eq!(
            tokio::time::timeout(Duration::from_secs(2), rx.recv())
                .await
                .unwrap(),
            Some(MediaEvent::Digit {
                relay: pair.id,
                digit: '5',
                via: crate::media::dtmf::Via::Rfc4733
            })
        );
        // Bridged: relayed both ways again, and nothing paced any more.
        relays.command(MediaCommand::Bridge(pair.id), &tx);
        assert_eq!(relays.served(), 0);
        callee.send_to(b"hello", pair.callee).await.unwrap();
        loop {
            let (n, _) = tokio::time::timeout(Duration::from_secs(2), caller.recv_from(&mut buf))
                .await
                .expect("relayed")
                .unwrap();
            if &buf[..n] == b"hello" {
                break;
            }
        }
        relays.command(MediaCommand::Close(pair.id), &tx);
        cancel.cancel();
    }

    #[test]
    fn ports_are_taken_in_turn_and_a_port_in_use_is_skipped() {
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        // Someone else holds the range's first port (an even one the system gave us).
        let squatter = std::iter::repeat_with(|| std::net::UdpSocket::bind("127.0.0.1:0").unwrap())
            .find(|s| {
                s.local_addr().unwrap().port() % 2 == 0 && s.local_addr().unwrap().port() < 65000
            })
            .unwrap();
        let first = squatter.local_addr().unwrap().port();
        let relays = Relays::new(lo, lo, first, first + 7);
        // Four even ports, one taken: at most one pair.
        assert!(relays.fill() <= 1);
        let ports: Vec<u16> = std::iter::from_fn(|| relays.take())
            .flat_map(|p| [p.caller.port(), p.callee.port()])
            .collect();
        assert!(
            ports
                .iter()
                .all(|p| p % 2 == 0 && (first + 2..=first + 7).contains(p)),
            "{ports:?}"
        );
        assert!(relays.take().is_none(), "none left");
    }
}
