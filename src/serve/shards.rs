//! The engine's driver: one `Engine` shard per core, each a task that owns its shard outright
//! (no lock around any of them), fed through a bounded queue and woken exactly at the
//! deadline the engine names. The socket tasks (`sip::transport`) hand every message to
//! the sink, which drops it unread when its source is banned (`engine::guard`), else to
//! `dispatch`, which parses it once and queues it for the shard its Call-ID names; a full queue
//! refuses new calls and registrations at once with 503 + `Retry-After` instead of queueing
//! them, and a request that waited in a queue longer than `SHED_AFTER` is refused the same way
//! when its shard gets to it — so the server sheds load instead of answering late.
//!
//! What the shards ask for is carried out here: bytes go out through the `Router`, media
//! commands to the relays (whose reports go straight back to the shard), call records and
//! changed registrations to the store writer, notices to the log.

use super::applier::Applier;
use crate::engine::directory::Directory;
use crate::engine::dispatch::{dispatch, overloaded, Dispatch};
use crate::engine::guard::Guard;
use crate::engine::io::{Input, Now, Output};
use crate::engine::limiter::{Limiter, Rules, Verdict};
use crate::engine::shard::Shard;
use crate::engine::{Engine, Settings, Shared};
use crate::media::relay::Relays;
use crate::sip::link::{Link, Locals, Peer};
use crate::sip::message::Message;
use crate::sip::registrar::{Aor, Binding};
use crate::sip::transport::{Router, Sink};
use crate::store::{self, CallRecord};
use crate::store::{CallHistory, Journal, Registrations};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// Messages one shard's queue holds.
const QUEUE: usize = 2048;
/// A request that starts something and waited longer than this is refused (503) instead.
const SHED_AFTER: Duration = Duration::from_millis(80);
/// Messages a shard takes in one go before it sends what they produced.
const BATCH: usize = 64;

/// A message waiting for its shard.
pub struct Inbound {
    from: Peer,
    message: Message,
    at: Instant,
}

/// What the server tells a shard besides messages.
#[derive(Clone, Debug)]
pub enum Command {
    Drain,
    EndCalls,
    /// Make this callback (its queue says it is due).
    Callback(Box<crate::routing::queue::Callback>),
}

/// What a shard tells the callback queue (`serve::callbacks`).
#[derive(Debug)]
pub enum Report {
    /// A caller ordered a callback.
    Ordered(crate::routing::queue::Order),
    /// An attempt ended.
    Ended {
        id: u64,
        attempt: crate::routing::queue::Attempt,
    },
}

/// Where the shards send their reports.
pub type Reports = mpsc::UnboundedSender<Report>;

/// A call for the store writer: in progress (for the journal) or finished (for the history).
/// One channel carries both, so a call's finish is never written before its start.
pub enum Call {
    Open(CallRecord),
    Finished(CallRecord),
}

/// What the store writer is handed: calls in progress and finished calls' records (written as
/// they come), and registrations that changed (kept here, the latest per AOR, and written once a second — a
/// phone refreshing its binding every few seconds costs one write a second at most, and no
/// wake-up per REGISTER).
#[derive(Clone, Default)]
pub struct Persist {
    records: Option<mpsc::UnboundedSender<Call>>,
    /// Where callbacks ordered and attempts ended are reported (`serve::callbacks`).
    callbacks: Option<Reports>,
    bindings: Arc<std::sync::Mutex<HashMap<Aor, Vec<Binding>>>>,
}

impl Persist {
    /// The same, reporting callbacks to `reports`.
    pub fn with_callbacks(mut self, reports: Reports) -> Persist {
        self.callbacks = Some(reports);
        self
    }

    fn callback(&self, report: Report) {
        if let Some(callbacks) = &self.callbacks {
            let _ = callbacks.send(report);
        }
    }

    pub(super) fn call(&self, call: Call) {
        if let Some(records) = &self.records {
            let _ = records.send(call);
        }
    }

    fn bindings(&self, aor: Aor, bindings: Vec<Binding>) {
        self.bindings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(aor, bindings);
    }

    /// Puts back bindings that could not be written, unless newer ones came meanwhile.
    fn restore_bindings(&self, bindings: Vec<(Aor, Vec<Binding>)>) {
        let mut map = self.bindings.lock().unwrap_or_else(|e| e.into_inner());
        for (aor, b) in bindings {
            map.entry(aor).or_insert(b);
        }
    }

    fn take_bindings(&self) -> Vec<(Aor, Vec<Binding>)> {
        std::mem::take(&mut *self.bindings.lock().unwrap_or_else(|e| e.into_inner()))
            .into_iter()
            .collect()
    }
}

/// The running shards.
pub struct Shards {
    commands: Vec<mpsc::UnboundedSender<Command>>,
    calls: Vec<Arc<AtomicUsize>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// The time now, on both clocks.
pub fn now() -> Now {
    Now {
        mono: Instant::now(),
        wall_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
    }
}

/// How many shards: one per core.
pub fn count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// What the shards run with.
pub struct Setup {
    pub locals: Locals,
    pub shared: Shared,
    pub relays: Arc<Relays>,
    pub directories: watch::Receiver<Option<Arc<Directory>>>,
    pub persist: Persist,
    pub cancel: CancellationToken,
}

/// The sink the sockets feed and the queues behind it, for `count` shards. A datagram from a
/// source `guard` has banned, or from one over its rate (`limiter`), is dropped before it is
/// parsed: no work, no answer.
pub fn sink(
    count: usize,
    guard: Arc<Guard>,
    limiter: Arc<Limiter>,
) -> (Sink, Vec<mpsc::Receiver<Inbound>>) {
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..count).map(|_| mpsc::channel(QUEUE)).unzip();
    let epoch = Instant::now();
    let sink: Sink = Arc::new(move |from: Peer, bytes: &[u8]| {
        if guard.has_bans() && guard.banned(from.addr.ip(), now().wall_ms) {
            return None;
        }
        let source = from.addr.ip();
        match limiter.check(source, epoch.elapsed().as_millis() as u64) {
            Verdict::Take => {}
            Verdict::Drop => return None,
            Verdict::DropAndLog { dropped } => {
                eprintln!(
                    "pbx serve: security: rate-limited {source}: {dropped} datagram(s) over its rate dropped"
                );
                return None;
            }
        }
        match dispatch(bytes, from, senders.len()) {
            Dispatch::KeepAlive => None,
            Dispatch::Malformed(answer) => answer,
            Dispatch::Shard { shard, message } => {
                let inbound = Inbound {
                    from,
                    message,
                    at: Instant::now(),
                };
                match senders[shard].try_send(inbound) {
                    Ok(()) => None,
                    Err(mpsc::error::TrySendError::Full(m)) => overloaded(&m.message, m.from),
                    Err(mpsc::error::TrySendError::Closed(_)) => None,
                }
            }
        }
    });
    (sink, receivers)
}

impl Shards {
    /// Starts one task per queue of `inboxes`.
    pub fn start(setup: Setup, inboxes: Vec<mpsc::Receiver<Inbound>>, router: Router) -> Shards {
        let count = inboxes.len();
        let mut seeds = crate::engine::random::Random::new(os_seed());
        let mut shards = Shards {
            commands: Vec::new(),
            calls: Vec::new(),
            tasks: Vec::new(),
        };
        for (index, inbox) in inboxes.into_iter().enumerate() {
            let (commands, command_rx) = mpsc::unbounded_channel();
            let calls = Arc::new(AtomicUsize::new(0));
            let settings = Settings {
                shard: Shard { index, count },
                locals: setup.locals.clone(),
                timers: Default::default(),
                registrations: Default::default(),
                seed: seeds.fork().bytes(),
            };
            let (media_events, media) = mpsc::unbounded_channel();
            let task = ShardTask {
                settings,
                shared: setup.shared.clone(),
                relays: setup.relays.clone(),
                directories: setup.directories.clone(),
                persist: setup.persist.clone(),
                router: router.clone(),
                calls: calls.clone(),
                cancel: setup.cancel.clone(),
                media_events,
            };
            shards
                .tasks
                .push(tokio::spawn(task.run(inbox, command_rx, media)));
            shards.commands.push(commands);
            shards.calls.push(calls);
        }
        shards
    }

    /// Tells every shard.
    pub fn command(&self, command: Command) {
        for c in &self.commands {
            let _ = c.send(command.clone());
        }
    }

    /// What starts callbacks on the shards.
    pub fn starter(&self) -> Starter {
        Starter(self.commands.clone())
    }

    /// Calls in progress on all shards.
    pub fn calls(&self) -> usize {
        self.calls.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// Waits for the shard tasks to end (after the cancel token fired).
    pub async fn join(self) {
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Starts callbacks on the shards, spread by id.
#[derive(Clone)]
pub struct Starter(Vec<mpsc::UnboundedSender<Command>>);

impl Starter {
    pub fn callback(&self, callback: crate::routing::queue::Callback) {
        if self.0.is_empty() {
            return;
        }
        let shard = (callback.id % self.0.len() as u64) as usize;
        let _ = self.0[shard].send(Command::Callback(Box::new(callback)));
    }
}

/// A fresh seed from the OS.
pub fn os_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).expect("the OS random source works");
    seed
}

struct ShardTask {
    settings: Settings,
    shared: Shared,
    relays: Arc<Relays>,
    directories: watch::Receiver<Option<Arc<Directory>>>,
    persist: Persist,
    router: Router,
    calls: Arc<AtomicUsize>,
    cancel: CancellationToken,
    /// Where the media driver reports what served callers do (keys, plays ended, recordings).
    media_events: crate::media::relay::Events,
}

impl ShardTask {
    async fn run(
        mut self,
        mut inbox: mpsc::Receiver<Inbound>,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut media: mpsc::UnboundedReceiver<crate::media::anchor::MediaEvent>,
    ) {
        let Some(directory) = self.directories.borrow_and_update().clone() else {
            return;
        };
        let mut engine = Engine::new(self.settings.clone(), self.shared.clone(), directory, now());
        let mut deadline = self.drive(&mut engine).await;
        loop {
            tokio::select! {
                _ = self.cancel.cancelled() => return,
                changed = self.directories.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let directory = self.directories.borrow_and_update().clone();
                    if let Some(directory) = directory {
                        engine.handle(Input::Config { now: now(), directory });
                    }
                }
                Some(event) = media.recv() => engine.handle(Input::Media { now: now(), event }),
                Some(command) = commands.recv() => match command {
                    Command::Drain => engine.handle(Input::Drain),
                    Command::EndCalls => engine.handle(Input::EndCalls(now())),
                    Command::Callback(callback) => {
                        engine.handle(Input::Callback { now: now(), callback: *callback })
                    }
                },
                first = inbox.recv() => {
                    let Some(first) = first else { return };
                    self.take(&mut engine, first).await;
                    for _ in 1..BATCH {
                        match inbox.try_recv() {
                            Ok(more) => self.take(&mut engine, more).await,
                            Err(_) => break,
                        }
                    }
                }
                _ = tokio::time::sleep_until(deadline.into()) => {
                    engine.handle(Input::Timeout(now()));
                }
            }
            deadline = self.drive(&mut engine).await;
            self.calls.store(engine.calls(), Ordering::Relaxed);
        }
    }

    /// One message for the engine — unless it waited too long and starts something new, then
    /// it is refused.
    async fn take(&self, engine: &mut Engine, m: Inbound) {
        if m.at.elapsed() > SHED_AFTER {
            if let Some(answer) = overloaded(&m.message, m.from) {
                self.router.send(answer).await;
                return;
            }
        }
        engine.handle(Input::Message {
            now: now(),
            from: m.from,
            message: m.message,
        });
    }

    /// Carries out everything the engine asks for; returns when to wake it.
    async fn drive(&self, engine: &mut Engine) -> Instant {
        let mut reports = Vec::new();
        loop {
            match engine.poll() {
                Output::Transmit(t) => self.router.send(t).await,
                Output::Media(command) => {
                    reports.extend(self.relays.command(command, &self.media_events))
                }
                Output::Record(record) => self.persist.call(Call::Finished(record)),
                Output::Journal(record) => self.persist.call(Call::Open(record)),
                Output::Bindings { aor, bindings } => {
                    self.persist.bindings(aor, bindings);
                }
                Output::Notice(notice) => eprintln!("pbx serve: {notice}"),
                Output::CallbackOrdered(order) => self.persist.callback(Report::Ordered(order)),
                Output::CallbackEnded { id, attempt } => {
                    self.persist.callback(Report::Ended { id, attempt })
                }
                Output::Timeout(at) => {
                    if reports.is_empty() {
                        return at;
                    }
                    let now = now();
                    for event in reports.drain(..) {
                        engine.handle(Input::Media { now, event });
                    }
                }
            }
        }
    }
}

/// The store writer and what feeds it.
pub fn writer(applier: Arc<Applier>) -> (Persist, tokio::task::JoinHandle<()>) {
    let (records, incoming) = mpsc::unbounded_channel();
    let persist = Persist {
        records: Some(records),
        callbacks: None,
        bindings: Arc::default(),
    };
    let task = tokio::spawn(write(applier, incoming, persist.clone()));
    (persist, task)
}

/// Call records kept in memory while the store cannot write them; past this, the oldest are
/// dropped (and the log says how many).
const WAITING_MAX: usize = 10_000;

/// What the store writer could not write yet.
#[derive(Default)]
struct Unwritten {
    /// Finished calls' records, oldest first.
    records: std::collections::VecDeque<CallRecord>,
    /// Calls in progress, by journal key (the latest state of each).
    open: HashMap<u64, CallRecord>,
    /// Whether the records include some of a batch whose write failed (part of which may
    /// have reached the disk: written again, those are skipped).
    retried: bool,
    /// Records dropped because too many waited.
    dropped: u64,
}

/// Writes what the shards hand over until every sender of records is gone: calls in progress
/// to the journal and records to the history, in batches, each flushed before the next is
/// taken (a crash loses no completed call, and a call the journal holds is closed at the next
/// start), the registrations that changed once a second and at the end. A call routing gave up
/// on says why, in the log as in its record. A missed call's letters (`notify.missed_calls`,
/// under the running config) go into the outbox in the flush of its record, so they are
/// enqueued exactly when the record is written: never lost with it, never twice.
///
/// A write that fails (a full disk, a read-only one) stops nothing: what it held waits in
/// memory (`WAITING_MAX` records at most, the oldest dropped past it) and the store's
/// `Health` says so — logged once, then once a minute. Every second after that, the data
/// directory is probed with a small write; once it takes one, the database is reopened
/// (sled refuses every write after a failed one) and what waited is written, records that
/// reached the disk all the same skipped.
async fn write(
    applier: Arc<Applier>,
    mut incoming: mpsc::UnboundedReceiver<Call>,
    persist: Persist,
) {
    // The writer keeps no sender of records: it ends when the shards' are gone.
    let Persist {
        records, bindings, ..
    } = persist;
    drop(records);
    let persist = Persist {
        records: None,
        callbacks: None,
        bindings,
    };
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut unwritten = Unwritten::default();
    // When the failing store was last probed.
    let mut probed: Option<Instant> = None;
    loop {
        let mut calls = Vec::new();
        let (open, ticked) = tokio::select! {
            first = incoming.recv() => match first {
                Some(c) => {
                    calls.push(c);
                    while let Ok(more) = incoming.try_recv() {
                        calls.push(more);
                    }
                    (true, false)
                }
                None => (false, false),
            },
            _ = tick.tick() => (true, true),
        };
        for r in calls.iter().filter_map(|c| match c {
            Call::Finished(r) => r.note.is_some().then_some(r),
            Call::Open(_) => None,
        }) {
            eprintln!(
                "pbx serve: call {} -> {} ({}): {} — answered {}",
                r.caller,
                r.callee,
                r.tenant,
                r.note.as_deref().unwrap_or(""),
                r.status.unwrap_or(0)
            );
        }
        unwritten.take(calls);
        let health = applier.store().health();
        health.set_waiting(unwritten.records.len());
        if ticked {
            if let Some(line) = health.due(Instant::now()) {
                eprintln!("pbx serve: {line}");
            }
        }
        let bindings = persist.take_bindings();
        if health.failing() {
            // Nothing is tried before the directory takes a write again, and that is looked
            // at once a second.
            let due = probed.is_none_or(|at| at.elapsed() >= Duration::from_secs(1));
            let ready = open && due && {
                probed = Some(Instant::now());
                let applier = applier.clone();
                let repaired = tokio::task::spawn_blocking(move || {
                    let store = applier.store();
                    store.probe().map_err(|e| e.to_string())?;
                    store.reopen().map_err(|e| store::reason(&e))
                })
                .await;
                match repaired {
                    Ok(Ok(())) => true,
                    Ok(Err(why)) => {
                        health.still(&why);
                        false
                    }
                    Err(_) => false,
                }
            };
            if !ready && open {
                persist.restore_bindings(bindings);
                continue;
            }
            // Another writer's failure, and nothing waits here: the reopen was the repair.
            if ready && unwritten.is_empty() && bindings.is_empty() {
                if let Some(line) = health.written(Instant::now()) {
                    eprintln!("pbx serve: {line}");
                }
            }
        }
        if !unwritten.is_empty() || !bindings.is_empty() {
            let writer = applier.clone();
            let batch = unwritten.batch();
            let retried = unwritten.retried;
            let written = tokio::task::spawn_blocking(move || {
                let store = writer.store();
                let (records, open) = &batch;
                let saved = (|| {
                    if !open.is_empty() {
                        store.journal_calls(open)?;
                    }
                    let records = if retried {
                        store.unwritten(records)?
                    } else {
                        records.clone()
                    };
                    if !records.is_empty() {
                        let letters = missed_call_letters(&writer, &records);
                        store.append_calls_with_letters(
                            &records,
                            &letters,
                            super::applier::now_ms(),
                        )?;
                    }
                    store.save_bindings(&bindings)
                })();
                (saved, bindings)
            })
            .await;
            let now = Instant::now();
            match written {
                Ok((Ok(()), _)) => {
                    unwritten.written();
                    health.set_waiting(0);
                    if let Some(line) = health.written(now) {
                        eprintln!("pbx serve: {line}");
                    }
                }
                Ok((Err(e), bindings)) => {
                    unwritten.retried = true;
                    persist.restore_bindings(bindings);
                    // The OS's own words when the directory refuses a write.
                    let prober = applier.clone();
                    let why = tokio::task::spawn_blocking(move || prober.store().probe())
                        .await
                        .ok()
                        .and_then(Result::err)
                        .map_or_else(|| store::reason(&e), |e| e.to_string());
                    if let Some(line) = health.failed(
                        "call records and registrations",
                        &why,
                        now,
                        super::applier::now_ms(),
                    ) {
                        eprintln!("pbx serve: {line}");
                    }
                    probed = Some(now);
                }
                Err(e) => eprintln!("pbx serve: the store writer failed: {e}"),
            }
        }
        if !open {
            if !unwritten.is_empty() {
                eprintln!(
                    "pbx serve: store: stopping with {} call record(s) that could not be written to {}",
                    unwritten.records.len(),
                    applier.store().dir().display()
                );
            }
            return;
        }
    }
}

impl Unwritten {
    /// Takes a batch of calls from the shards: a call finished needs no journal entry; the
    /// latest state of the others is kept.
    fn take(&mut self, calls: Vec<Call>) {
        for c in calls {
            match c {
                Call::Open(r) => {
                    if let Some(key) = r.journal {
                        self.open.insert(key, r);
                    }
                }
                Call::Finished(r) => {
                    if let Some(key) = r.journal {
                        self.open.remove(&key);
                    }
                    self.records.push_back(r);
                }
            }
        }
        while self.records.len() > WAITING_MAX {
            self.records.pop_front();
            self.dropped += 1;
        }
    }

    fn is_empty(&self) -> bool {
        self.records.is_empty() && self.open.is_empty()
    }

    /// What to write now (kept until it is written).
    fn batch(&self) -> (Vec<CallRecord>, Vec<CallRecord>) {
        (
            self.records.iter().cloned().collect(),
            self.open.values().cloned().collect(),
        )
    }

    /// The batch was written.
    fn written(&mut self) {
        if self.dropped > 0 {
            eprintln!(
                "pbx serve: store: {} call record(s) were dropped while the store could not write (more than {WAITING_MAX} waited)",
                self.dropped
            );
        }
        *self = Unwritten::default();
    }
}

/// The missed-call letters of `records` under the running config (none before one runs).
fn missed_call_letters(
    applier: &Applier,
    records: &[CallRecord],
) -> Vec<(String, serde_json::Value)> {
    let Some(running) = applier.running() else {
        return Vec::new();
    };
    records
        .iter()
        .flat_map(|r| {
            crate::mail::payload::missed_call_letters(&running.config, &running.resolution, r)
        })
        .collect()
}

/// The request limits of a running config: its rate, its trusted networks, and the addresses
/// its trunks call from.
pub fn limits(directory: &Directory) -> Rules {
    let security = &directory.config.server.security;
    Rules {
        rate: security.max_rate,
        trusted: security.trusted.clone(),
        trunks: directory
            .trunks
            .iter()
            .flat_map(|t| t.sources.iter().copied().chain(t.addr.map(|a| a.ip())))
            .collect(),
    }
}

/// Our address on each link: the bound one, or the public one for a wildcard.
pub fn locals(
    udp: &[std::net::SocketAddr],
    tcp: Option<std::net::SocketAddr>,
    tls: Option<std::net::SocketAddr>,
    public: Option<std::net::IpAddr>,
) -> Locals {
    let advertised = |bound: std::net::SocketAddr| {
        if bound.ip().is_unspecified() {
            std::net::SocketAddr::new(
                public.unwrap_or(std::net::IpAddr::from([127, 0, 0, 1])),
                bound.port(),
            )
        } else {
            bound
        }
    };
    let mut locals = Locals::default();
    for (i, a) in udp.iter().enumerate() {
        locals.set(Link::Udp(i), advertised(*a));
    }
    if let Some(a) = tcp {
        locals.set(Link::Tcp, advertised(a));
    }
    if let Some(a) = tls {
        locals.set(Link::Tls, advertised(a));
    }
    locals
}
