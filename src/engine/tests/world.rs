//! `World`: the deterministic harness — the engine (one shard or several), scripted phones and
//! trunks, and a network of datagrams between them, all on a virtual clock with no sockets.
//! Time jumps from one event to the next, so a call that takes a minute runs in
//! milliseconds, the same way every time. Datagrams can be dropped, delayed or duplicated by
//! rule; every one delivered is traced (when, from, to, first line) for the scenarios to check
//! who got what at which second. The media driver is a fake that answers `Close` at once.

use super::phone::{Answer, Phone};
use crate::config::generated::resolve;
use crate::config::validate::validate_text;
use crate::engine::directory::Directory;
use crate::engine::dispatch::{dispatch, Dispatch};
use crate::engine::io::{Input, Notice, Now, Output};
use crate::engine::presence::Presence;
use crate::engine::shard::Shard;
use crate::engine::{Engine, Settings, Shared};
use crate::media::anchor::{MediaCommand, MediaEvent, PortPair, Ports, RelayId};
use crate::sip::auth::DigestAuth;
use crate::sip::link::{Link, Locals, Peer, Transmit};
use crate::sip::location::MemoryLocation;
use crate::sip::registrar::{Aor, Binding};
use crate::store::CallRecord;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The PBX's address in the harness.
pub const PBX: &str = "127.0.0.1:5060";
/// The wall clock at the start: Wednesday 2026-11-25 09:00 UTC.
pub const WALL0: u64 = 1_795_597_200_000;

/// Relay pairs with made-up addresses; `exhausted` makes the pool run dry.
#[derive(Default)]
pub struct FakePorts {
    next: AtomicU64,
    pub exhausted: std::sync::atomic::AtomicBool,
}

impl Ports for FakePorts {
    fn take(&self) -> Option<PortPair> {
        if self.exhausted.load(Ordering::Relaxed) {
            return None;
        }
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let port = 20000 + 2 * (n as u16 % 5000);
        Some(PortPair {
            id: RelayId(n + 1),
            caller: SocketAddr::from(([127, 0, 0, 1], port)),
            callee: SocketAddr::from(([127, 0, 0, 1], port + 1)),
        })
    }
}

/// A phone of the world.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhoneId(pub usize);

/// A datagram in flight.
#[derive(Clone, Debug)]
pub struct Datagram {
    pub from: SocketAddr,
    pub to: SocketAddr,
    pub link: Link,
    pub bytes: Vec<u8>,
}

impl Datagram {
    /// The request or status line.
    pub fn line(&self) -> String {
        String::from_utf8_lossy(&self.bytes)
            .lines()
            .next()
            .unwrap_or("")
            .to_string()
    }
}

/// What a fault does to the datagrams it matches.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    Drop,
    Duplicate,
    Delay(Duration),
}

struct Rule {
    to: SocketAddr,
    line_starts: String,
    fault: Fault,
    times: usize,
}

/// One datagram delivered.
#[derive(Clone, Debug)]
pub struct Traced {
    /// Seconds since the world started.
    pub at: f64,
    pub from: SocketAddr,
    pub to: SocketAddr,
    pub line: String,
    pub text: String,
}

/// The harness.
pub struct World {
    t0: Instant,
    now: Instant,
    shards: Vec<Engine>,
    deadlines: Vec<Instant>,
    location: Arc<MemoryLocation>,
    presence: Arc<Presence>,
    pub ports: Arc<FakePorts>,
    auth: DigestAuth,
    pub guard: Arc<crate::engine::guard::Guard>,
    pub directory: Arc<Directory>,
    pub pbx: SocketAddr,
    phones: Vec<Phone>,
    net: BTreeMap<(Instant, u64), Datagram>,
    seq: u64,
    rules: Vec<Rule>,
    latency: Duration,
    pub records: Vec<CallRecord>,
    pub trace: Vec<Traced>,
    pub notices: Vec<Notice>,
    pub stored: BTreeMap<Aor, Vec<Binding>>,
    pub media: Vec<MediaCommand>,
    /// The journal of calls in progress, as the store writer would keep it.
    pub journal: BTreeMap<u64, CallRecord>,
    /// The callback queue, as `serve::callbacks` keeps it (looked at by `start_callbacks`).
    pub callbacks: crate::routing::queue::Queue,
    /// How each callback attempt ended, in order.
    pub attempts: Vec<(u64, crate::routing::queue::Attempt)>,
    domain: String,
}

/// The directory of a config (explicit passwords; nothing generated is stored).
pub fn directory(yaml: &str) -> Arc<Directory> {
    let config = validate_text(yaml).unwrap_or_else(|d| panic!("the config is invalid: {d:#?}"));
    let resolution = resolve(&config, &BTreeMap::new(), &mut || {
        "generated-password".into()
    });
    let prompts = crate::media::prompt::Prompts::load(&config).expect("the prompts load");
    Arc::new(Directory::build(
        Arc::new(config),
        &resolution,
        &BTreeMap::new(),
        Arc::new(prompts),
    ))
}

impl World {
    /// A world running `yaml` on one shard.
    pub fn new(yaml: &str) -> World {
        World::sharded(yaml, 1)
    }

    /// A world running `yaml` on `count` shards.
    pub fn sharded(yaml: &str, count: usize) -> World {
        let t0 = Instant::now();
        let directory = directory(yaml);
        let domain = directory.config.tenants[0].domain.clone();
        let mut world = World {
            t0,
            now: t0,
            shards: Vec::new(),
            deadlines: Vec::new(),
            location: Arc::new(MemoryLocation::default()),
            presence: Arc::new(Presence::default()),
            ports: Arc::default(),
            auth: DigestAuth::new([5; 32]),
            guard: Arc::default(),
            directory,
            pbx: PBX.parse().unwrap(),
            phones: Vec::new(),
            net: BTreeMap::new(),
            seq: 0,
            rules: Vec::new(),
            latency: Duration::from_millis(1),
            records: Vec::new(),
            trace: Vec::new(),
            notices: Vec::new(),
            stored: BTreeMap::new(),
            media: Vec::new(),
            journal: BTreeMap::new(),
            callbacks: Default::default(),
            attempts: Vec::new(),
            domain,
        };
        world.boot(count);
        world
    }

    /// (Re)starts the engine's shards on the shared state the world holds.
    fn boot(&mut self, count: usize) {
        let mut locals = Locals::default();
        locals.set(Link::Udp(0), self.pbx);
        locals.set(Link::Tcp, self.pbx);
        let shared = Shared {
            location: self.location.clone(),
            presence: self.presence.clone(),
            ports: self.ports.clone(),
            auth: self.auth.clone(),
            guard: self.guard.clone(),
        };
        let now = self.now();
        self.shards = (0..count)
            .map(|index| {
                let settings = Settings {
                    shard: Shard { index, count },
                    locals: locals.clone(),
                    timers: Default::default(),
                    registrations: Default::default(),
                    seed: [index as u8 + 1; 32],
                };
                Engine::new(settings, shared.clone(), self.directory.clone(), now)
            })
            .collect();
        self.deadlines = vec![self.now; count];
        for i in 0..count {
            self.drain_outputs(i);
        }
    }

    /// Stops the server and starts it again: calls in flight are lost, registrations and
    /// evenly's counters come back from what the store kept.
    pub fn restart(&mut self) {
        let now = self.now();
        let last: HashMap<(String, String), u64> = self
            .records
            .iter()
            .filter_map(|r| Some(((r.tenant.clone(), r.answered_by.clone()?), r.answered_ms?)))
            .fold(HashMap::new(), |mut m, (k, at)| {
                let e = m.entry(k).or_insert(0);
                *e = (*e).max(at);
                m
            });
        self.presence = Arc::new(Presence::with_last_calls(last));
        self.location = Arc::new(MemoryLocation::with(
            self.stored.iter().map(|(a, b)| (a.clone(), b.clone())),
            now.wall_ms,
        ));
        self.auth = DigestAuth::new([6; 32]);
        // Bans live in memory, as the server's do.
        self.guard = Arc::default();
        self.net.retain(|_, d| d.to != self.pbx);
        let count = self.shards.len();
        self.boot(count);
    }

    /// The time now, on both clocks.
    pub fn now(&self) -> Now {
        let since = self.now - self.t0;
        Now {
            mono: self.now,
            wall_ms: WALL0 + since.as_millis() as u64,
        }
    }

    /// Seconds since the world started.
    pub fn secs(&self) -> f64 {
        (self.now - self.t0).as_secs_f64()
    }

    /// A phone at `addr` (UDP) logging in as `login`/`password`, answering as `answer` says.
    pub fn phone(&mut self, login: &str, password: &str, addr: &str, answer: Answer) -> PhoneId {
        self.phone_on(login, password, addr, Link::Udp(0), answer)
    }

    /// A phone on `link`.
    pub fn phone_on(
        &mut self,
        login: &str,
        password: &str,
        addr: &str,
        link: Link,
        answer: Answer,
    ) -> PhoneId {
        let pbx = Peer {
            addr: self.pbx,
            link,
        };
        let mut phone = Phone::new(
            login,
            addr.parse().unwrap(),
            link,
            pbx,
            &self.domain.clone(),
        )
        .with_login(login, password);
        phone.default_answer = answer;
        self.phones.push(phone);
        PhoneId(self.phones.len() - 1)
    }

    /// A peer without a login at `addr` (a trunk's gateway, an outside caller, a registrar).
    pub fn peer(&mut self, name: &str, addr: &str, link: Link, answer: Answer) -> PhoneId {
        let pbx = Peer {
            addr: self.pbx,
            link,
        };
        let mut phone = Phone::new(name, addr.parse().unwrap(), link, pbx, &self.domain.clone());
        phone.default_answer = answer;
        self.phones.push(phone);
        PhoneId(self.phones.len() - 1)
    }

    pub fn phone_mut(&mut self, id: PhoneId) -> &mut Phone {
        &mut self.phones[id.0]
    }

    pub fn phone_ref(&self, id: PhoneId) -> &Phone {
        &self.phones[id.0]
    }

    /// Registers phone `id` and runs until the PBX answered (panics after 10 s).
    pub fn register(&mut self, id: PhoneId) {
        self.register_for(id, 300);
    }

    /// Phone `id` sends a REGISTER and the world runs `secs`, answered or not.
    pub fn try_register(&mut self, id: PhoneId, secs: f64) {
        let mut out = Vec::new();
        let now = self.now;
        self.phones[id.0].register(now, 300, &mut out);
        self.send_from(id, out);
        self.run(secs);
    }

    /// Statistics of all shards, added up.
    pub fn stats(&self) -> crate::engine::Stats {
        let mut sum = crate::engine::Stats::default();
        for e in &self.shards {
            sum.received += e.stats.received;
            sum.malformed += e.stats.malformed;
            sum.registrations += e.stats.registrations;
            sum.silenced += e.stats.silenced;
            sum.unanswered += e.stats.unanswered;
        }
        sum
    }

    /// Registers phone `id` for `expires` seconds.
    pub fn register_for(&mut self, id: PhoneId, expires: u32) {
        let before = self.phones[id.0].register_answers.len();
        let mut out = Vec::new();
        let now = self.now;
        self.phones[id.0].register(now, expires, &mut out);
        self.send_from(id, out);
        let deadline = self.now + Duration::from_secs(10);
        while self.phones[id.0].register_answers.len() == before {
            assert!(
                self.now < deadline,
                "{} got no answer to REGISTER",
                self.phones[id.0].name
            );
            self.run(0.05);
        }
    }

    /// Phone `id` dials `target`; hangs up `hold` seconds after the answer (if given), cancels
    /// after `cancel_after` seconds unanswered (if given).
    pub fn dial(
        &mut self,
        id: PhoneId,
        target: &str,
        hold: Option<f64>,
        cancel_after: Option<f64>,
    ) -> String {
        let mut out = Vec::new();
        let now = self.now;
        let call_id = self.phones[id.0].dial(
            target,
            hold.map(Duration::from_secs_f64),
            cancel_after.map(Duration::from_secs_f64),
            now,
            &mut out,
        );
        self.send_from(id, out);
        call_id
    }

    /// Phone `id` sends a re-INVITE (hold) in its answered call.
    pub fn reinvite(&mut self, id: PhoneId) {
        let mut out = Vec::new();
        let now = self.now;
        self.phones[id.0].reinvite(now, &mut out);
        self.send_from(id, out);
    }

    /// Phone `id` presses `digit`, sent as SIP INFO.
    pub fn info(&mut self, id: PhoneId, digit: char) {
        let mut out = Vec::new();
        let now = self.now;
        self.phones[id.0].info(digit, now, &mut out);
        self.send_from(id, out);
    }

    /// Phone `id` hangs up its answered call.
    pub fn hang_up(&mut self, id: PhoneId) {
        let mut out = Vec::new();
        let now = self.now;
        self.phones[id.0].hang_up(now, &mut out);
        self.send_from(id, out);
    }

    /// The media driver reports `event` (on the first shard: the scenarios that serve callers
    /// run one).
    pub fn media_event(&mut self, event: MediaEvent) {
        let now = self.now();
        self.shards[0].handle(Input::Media { now, event });
        self.drain_outputs(0);
    }

    /// Whether the fake driver is recording on `relay`: a `Record` not followed by a
    /// `StopRecording`.
    fn recording(&self, relay: RelayId) -> bool {
        self.media
            .iter()
            .rev()
            .find_map(|c| match c {
                MediaCommand::Record { relay: r, .. } if *r == relay => Some(true),
                MediaCommand::StopRecording(r) if *r == relay => Some(false),
                _ => None,
            })
            .unwrap_or(false)
    }

    /// Starts the callbacks the queue says are due now (each on the shard its id picks, as
    /// the server does); their ids.
    pub fn start_callbacks(&mut self) -> Vec<u64> {
        let now = self.now();
        let (start, _) = {
            let free = crate::engine::presence::Free {
                presence: &self.presence,
                location: self.location.as_ref(),
                directory: &self.directory,
                now_ms: now.wall_ms,
            };
            self.callbacks
                .due(now.wall_ms, &self.directory.config, &free)
        };
        let ids = start.iter().map(|c| c.id).collect();
        for callback in start {
            let shard = (callback.id % self.shards.len() as u64) as usize;
            self.shards[shard].handle(Input::Callback { now, callback });
            self.drain_outputs(shard);
        }
        ids
    }

    /// The relay of the last call the PBX served.
    pub fn served_relay(&self) -> RelayId {
        self.media
            .iter()
            .rev()
            .find_map(|c| match c {
                MediaCommand::Serve { relay, .. } => Some(*relay),
                _ => None,
            })
            .expect("a caller was served")
    }

    /// The next `times` datagrams to `to` whose first line starts with `line_starts` suffer
    /// `fault`.
    pub fn fault(&mut self, to: SocketAddr, line_starts: &str, fault: Fault, times: usize) {
        self.rules.push(Rule {
            to,
            line_starts: line_starts.to_string(),
            fault,
            times,
        });
    }

    /// Feeds an input to every shard (a config, stopping).
    pub fn tell_all(&mut self, input: impl Fn(Now) -> Input) {
        for i in 0..self.shards.len() {
            let now = self.now();
            self.shards[i].handle(input(now));
            self.drain_outputs(i);
        }
    }

    /// Applies a new config: new calls use it.
    pub fn reload(&mut self, yaml: &str) {
        let directory = directory(yaml);
        self.directory = directory.clone();
        self.tell_all(|now| Input::Config {
            now,
            directory: directory.clone(),
        });
    }

    /// Calls in progress on all shards.
    pub fn calls(&self) -> usize {
        self.shards.iter().map(Engine::calls).sum()
    }

    /// Calls held, lingering ones included, and transactions alive, on all shards.
    pub fn held(&self) -> (usize, usize) {
        let calls = self.shards.iter().map(Engine::calls_held).sum();
        let tx = self
            .shards
            .iter()
            .map(|e| {
                let (s, c) = e.transactions();
                s + c
            })
            .sum();
        (calls, tx)
    }

    /// Runs `secs` of virtual time.
    pub fn run(&mut self, secs: f64) {
        let end = self.now + Duration::from_secs_f64(secs);
        let mut steps = 0u32;
        loop {
            steps += 1;
            assert!(steps < 1_000_000, "the world does not settle");
            let next_packet = self.net.keys().next().map(|k| k.0);
            let next_engine = self.deadlines.iter().min().copied();
            let next_phone = self.phones.iter().filter_map(Phone::next_deadline).min();
            let next = [next_packet, next_engine, next_phone]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(t) if t <= end => {
                    self.now = self.now.max(t);
                    self.step();
                }
                _ => {
                    self.now = end;
                    return;
                }
            }
        }
    }

    /// Does everything due now.
    fn step(&mut self) {
        while let Some(entry) = self.net.first_entry() {
            if entry.key().0 > self.now {
                break;
            }
            let d = entry.remove();
            self.deliver(d);
        }
        for i in 0..self.shards.len() {
            if self.deadlines[i] <= self.now {
                let now = self.now();
                self.shards[i].handle(Input::Timeout(now));
                self.drain_outputs(i);
            }
        }
        for p in 0..self.phones.len() {
            if self.phones[p]
                .next_deadline()
                .is_some_and(|t| t <= self.now)
            {
                let mut out = Vec::new();
                let now = self.now;
                self.phones[p].timeout(now, &mut out);
                self.send_from(PhoneId(p), out);
            }
        }
    }

    fn deliver(&mut self, d: Datagram) {
        let text = String::from_utf8_lossy(&d.bytes).into_owned();
        self.trace.push(Traced {
            at: self.secs(),
            from: d.from,
            to: d.to,
            line: d.line(),
            text,
        });
        if d.to == self.pbx {
            let from = Peer {
                addr: d.from,
                link: d.link,
            };
            match dispatch(&d.bytes, from, self.shards.len()) {
                Dispatch::KeepAlive => {}
                Dispatch::Malformed(answer) => {
                    if let Some(t) = answer {
                        self.send_from_pbx(t);
                    }
                }
                Dispatch::Shard { shard, message } => {
                    let now = self.now();
                    self.shards[shard].handle(Input::Message { now, from, message });
                    self.drain_outputs(shard);
                }
            }
            return;
        }
        if let Some(p) = self.phones.iter().position(|p| p.addr == d.to) {
            let mut out = Vec::new();
            let now = self.now;
            self.phones[p].receive(&d.bytes, d.from, now, &mut out);
            self.send_from(PhoneId(p), out);
        }
    }

    fn drain_outputs(&mut self, shard: usize) {
        loop {
            let mut events = Vec::new();
            loop {
                match self.shards[shard].poll() {
                    Output::Transmit(t) => self.send_from_pbx(t),
                    Output::Media(command) => {
                        if let MediaCommand::Close(relay) = command {
                            // A recording running when the relay closes ends with it, kept.
                            if self.recording(relay) {
                                events.push(MediaEvent::Recorded {
                                    relay,
                                    duration: Duration::from_secs(5),
                                    kept: true,
                                });
                            }
                            events.push(MediaEvent::Closed {
                                relay,
                                caller_to_callee: 50,
                                callee_to_caller: 50,
                            });
                        }
                        self.media.push(command);
                    }
                    Output::Record(r) => {
                        if let Some(key) = r.journal {
                            self.journal.remove(&key);
                        }
                        self.records.push(r)
                    }
                    Output::Journal(r) => {
                        if let Some(key) = r.journal {
                            self.journal.insert(key, r);
                        }
                    }
                    Output::Bindings { aor, bindings } => {
                        if bindings.is_empty() {
                            self.stored.remove(&aor);
                        } else {
                            self.stored.insert(aor, bindings);
                        }
                    }
                    Output::Notice(n) => self.notices.push(n),
                    Output::CallbackOrdered(order) => {
                        let now = self.now().wall_ms;
                        self.callbacks.order(order, now);
                    }
                    Output::CallbackEnded { id, attempt } => {
                        let now = self.now().wall_ms;
                        self.attempts.push((id, attempt.clone()));
                        self.callbacks
                            .ended(id, attempt, now, &self.directory.config);
                    }
                    Output::Timeout(at) => {
                        self.deadlines[shard] = at;
                        break;
                    }
                }
            }
            if events.is_empty() {
                return;
            }
            let now = self.now();
            for event in events {
                self.shards[shard].handle(Input::Media { now, event });
            }
        }
    }

    fn send_from_pbx(&mut self, t: Transmit) {
        let from = self.pbx;
        self.enqueue(Datagram {
            from,
            to: t.to.addr,
            link: t.to.link,
            bytes: t.bytes,
        });
    }

    /// Phone `id` sends `bytes` to the PBX as they are (a request no phone logic makes).
    pub fn send_raw(&mut self, id: PhoneId, bytes: Vec<u8>) {
        let (from, link) = (self.phones[id.0].addr, self.phones[id.0].link);
        let to = self.pbx;
        self.enqueue(Datagram {
            from,
            to,
            link,
            bytes,
        });
    }

    fn send_from(&mut self, id: PhoneId, out: Vec<Transmit>) {
        let (from, link) = (self.phones[id.0].addr, self.phones[id.0].link);
        for t in out {
            self.enqueue(Datagram {
                from,
                to: t.to.addr,
                link,
                bytes: t.bytes,
            });
        }
    }

    fn enqueue(&mut self, d: Datagram) {
        let line = d.line();
        let mut at = self.now + self.latency;
        let mut copies = 1;
        if let Some(rule) = self
            .rules
            .iter_mut()
            .find(|r| r.times > 0 && r.to == d.to && line.starts_with(&r.line_starts))
        {
            rule.times -= 1;
            match rule.fault {
                Fault::Drop => copies = 0,
                Fault::Duplicate => copies = 2,
                Fault::Delay(by) => at += by,
            }
        }
        for _ in 0..copies {
            self.seq += 1;
            self.net.insert((at, self.seq), d.clone());
        }
    }

    // ---- What happened ----------------------------------------------------------------

    /// When phone `id` received requests with `method` (seconds since the world started).
    pub fn received(&self, id: PhoneId, method: &str) -> Vec<f64> {
        let addr = self.phones[id.0].addr;
        self.trace
            .iter()
            .filter(|t| t.to == addr && t.line.starts_with(&format!("{method} ")))
            .map(|t| t.at)
            .collect()
    }

    /// Asserts phone `id` first received a `method` request `want` seconds after `t0` (within
    /// 10 ms: virtual time is exact but for the network's 1 ms a hop).
    #[track_caller]
    pub fn arrives(&self, id: PhoneId, method: &str, t0: f64, want: f64) {
        let what = format!("{}'s {method}", self.phones[id.0].name);
        super::at(&what, self.received(id, method).first(), t0, want);
    }

    /// The first lines of everything phone `id` received, in order.
    pub fn lines_to(&self, id: PhoneId) -> Vec<String> {
        let addr = self.phones[id.0].addr;
        self.trace
            .iter()
            .filter(|t| t.to == addr)
            .map(|t| t.line.clone())
            .collect()
    }

    /// The full texts phone `id` received.
    pub fn texts_to(&self, id: PhoneId) -> Vec<String> {
        let addr = self.phones[id.0].addr;
        self.trace
            .iter()
            .filter(|t| t.to == addr)
            .map(|t| t.text.clone())
            .collect()
    }

    /// Final status lines phone `id` received (responses of 200 and above).
    pub fn finals_to(&self, id: PhoneId) -> Vec<u16> {
        self.lines_to(id)
            .iter()
            .filter_map(|l| l.strip_prefix("SIP/2.0 ")?.get(..3)?.parse().ok())
            .filter(|c: &u16| *c >= 200)
            .collect()
    }

    /// The last call record.
    pub fn record(&self) -> &CallRecord {
        self.records.last().expect("a call record")
    }
}
