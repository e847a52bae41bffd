//! The engine: call control as a sans-io machine — one way in (`handle(Input)`), one way out
//! (`poll() -> Output`), the time and a seeded random source passed in, nothing read from the
//! world inside. The driver (`serve`) owns the sockets and the clock; a test harness can drive
//! phones, trunks and the engine on virtual time instead (`tests/`).
//!
//! An `Engine` is one shard: it holds the transactions and calls whose Call-IDs hash to it
//! (`shard`), so the server runs one per core and no lock covers them all. What the shards
//! share — registrations (`Location`), who is on a call (`Presence`), the digest nonce counts,
//! failed digest responses and bans (`Guard`), the relay port pool — is behind small striped
//! locks held for a lookup. Which shard takes a
//! message is `dispatch`'s business.
//!
//! The engine itself only dispatches: a REGISTER to `registration`, a new INVITE to
//! `admission` and then to `Calls`, in-dialog requests and answers to their call, the trunks'
//! registrations to `Trunks`. Every digest response those check goes past the `Guard`: a
//! banned source's messages are dropped unread, and a failed response may go unanswered.

pub mod admission;
pub mod call;
pub mod caller;
pub mod calls;
mod caps;
pub mod context;
pub mod directory;
pub mod dispatch;
pub mod guard;
pub mod history;
pub mod io;
pub mod leg;
pub mod limiter;
pub mod outbound;
pub mod presence;
pub mod random;
pub mod reason;
pub mod registration;
pub mod shard;
pub mod trunks;

#[cfg(test)]
mod guard_tests;
#[cfg(test)]
mod tests;

use admission::Admission;
use call::Start;
use calls::Calls;
use context::{Ctx, Index, Owner, Timer, Timers};
use directory::Directory;
use guard::{Attempt, Guard};
use io::{Input, Limit, Notice, Now, Output};
use presence::Presence;
use random::Random;
use shard::Shard;
use trunks::Trunks;

use crate::media::anchor::Ports;
use crate::sip::auth::DigestAuth;
use crate::sip::link::{Locals, Peer, Transmit};
use crate::sip::message::{Message, Method, Request, StatusCode};
use crate::sip::registrar::{Limits, Location, Registrar};
use crate::sip::transaction::{TimerConfig, TransactionKey};
use crate::sip::transactions::{Answer, Incoming, Transactions};
use crate::sip::uas;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Runs `$body` with `$ctx`, a `Ctx` lending the engine's parts (everything but `calls` and
/// `trunks`, which the body uses beside it).
macro_rules! with_ctx {
    ($engine:ident, $ctx:ident, $body:expr) => {{
        #[allow(unused_mut)]
        let mut $ctx = Ctx {
            now: $engine.now,
            shard: $engine.shard,
            locals: &$engine.locals,
            tx: &mut $engine.tx,
            out: &mut $engine.out,
            random: &mut $engine.random,
            timers: &mut $engine.timers,
            index: &mut $engine.index,
            location: $engine.shared.location.as_ref(),
            presence: $engine.shared.presence.as_ref(),
            ports: $engine.shared.ports.as_ref(),
        };
        $body
    }};
}

/// How often expired registrations are swept.
const SWEEP: Duration = Duration::from_secs(1);

/// What every shard shares.
#[derive(Clone)]
pub struct Shared {
    /// Registrations.
    pub location: Arc<dyn Location>,
    /// Who is on a call, who last received one.
    pub presence: Arc<Presence>,
    /// Relay port pairs.
    pub ports: Arc<dyn Ports>,
    /// Digest nonces (one secret, one replay record for all shards).
    pub auth: DigestAuth,
    /// Failed digest responses and bans.
    pub guard: Arc<Guard>,
}

/// How one shard is set up.
#[derive(Clone)]
pub struct Settings {
    pub shard: Shard,
    /// Our address on each link (Via, Contact).
    pub locals: Locals,
    pub timers: TimerConfig,
    pub registrations: Limits,
    /// The seed of this shard's randomness.
    pub seed: [u8; 32],
}

/// What the SIP layer has done, for logs and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub received: u64,
    pub malformed: u64,
    pub registrations: u64,
    /// Messages dropped unread: their source is banned.
    pub silenced: u64,
    /// Failed digest responses left unanswered (a ban began, or an account under attack).
    pub unanswered: u64,
}

/// One shard of call control.
pub struct Engine {
    shard: Shard,
    locals: Locals,
    directory: Arc<Directory>,
    shared: Shared,
    registrar: Registrar,
    tx: Transactions<Owner>,
    calls: Calls,
    index: Index,
    trunks: Option<Trunks>,
    random: Random,
    timers: Timers,
    out: VecDeque<Output>,
    draining: bool,
    /// The last time an input brought.
    now: Now,
    /// Requests refused over a table limit since its last notice, and when that was.
    over_tables: (u64, u64, Option<Instant>),
    pub stats: Stats,
}

impl Engine {
    /// Shard `settings.shard` running `directory` from `now`. The first shard also runs the
    /// trunks' registrations and sweeps expired registrations for all.
    pub fn new(settings: Settings, shared: Shared, directory: Arc<Directory>, now: Now) -> Engine {
        let first = settings.shard.index == 0;
        let mut engine = Engine {
            shard: settings.shard,
            locals: settings.locals,
            directory,
            shared,
            registrar: Registrar::new(settings.registrations),
            tx: Transactions::new(settings.timers),
            calls: Calls::default(),
            index: Index::default(),
            trunks: first.then(Trunks::default),
            random: Random::new(settings.seed),
            timers: Timers::default(),
            out: VecDeque::new(),
            draining: false,
            now,
            over_tables: (0, 0, None),
            stats: Stats::default(),
        };
        if first {
            engine.timers.set(now.mono, Timer::Trunks);
            engine.timers.set(now.mono, Timer::Sweep);
        }
        engine
    }

    /// The answer to `request` refused by `limit` (its status, `Retry-After` and `Reason`).
    fn refusal(&mut self, request: &Request, limit: &Limit) -> crate::sip::message::Response {
        let tag = self.random.tag();
        let (status, phrase) = caps::status(limit);
        let mut r = uas::respond(request, status, phrase, &tag);
        caps::decorate(&mut r, limit);
        r
    }

    /// This shard's even share of a server-wide `limit` (at least 1).
    fn share(&self, limit: u32) -> usize {
        (limit as usize).div_ceil(self.shard.count.max(1)).max(1)
    }

    /// A request refused over a table limit (`calls`, else `transactions`): counted, and told
    /// in a notice at most once a second.
    fn over_table(&mut self, calls: bool, limit: u32) {
        if calls {
            self.over_tables.0 += 1;
        } else {
            self.over_tables.1 += 1;
        }
        let due = self
            .over_tables
            .2
            .is_none_or(|last| self.now.mono >= last + Duration::from_secs(1));
        if !due {
            return;
        }
        self.over_tables.2 = Some(self.now.mono);
        let (c, t) = (self.over_tables.0, self.over_tables.1);
        self.over_tables.0 = 0;
        self.over_tables.1 = 0;
        let limits = &self.directory.config.server.limits;
        if c > 0 {
            let limit = if calls { limit } else { limits.calls };
            self.out
                .push_back(Output::Notice(Notice::Limit(Limit::Calls {
                    limit,
                    refused: c,
                })));
        }
        if t > 0 {
            let limit = if calls { limits.transactions } else { limit };
            self.out
                .push_back(Output::Notice(Notice::Limit(Limit::Transactions {
                    limit,
                    refused: t,
                })));
        }
    }

    /// Calls in progress on this shard.
    pub fn calls(&self) -> usize {
        self.calls.len()
    }

    /// Calls held, finished ones lingering for late answers included.
    pub fn calls_held(&self) -> usize {
        self.calls.held()
    }

    /// Server and client transactions alive.
    pub fn transactions(&self) -> (usize, usize) {
        self.tx.len()
    }

    /// Takes one input.
    pub fn handle(&mut self, input: Input) {
        match input {
            Input::Message { now, from, message } => {
                self.now = now;
                self.stats.received += 1;
                if self.shared.guard.banned(from.addr.ip(), now.wall_ms) {
                    self.stats.silenced += 1;
                    return;
                }
                match message {
                    Message::Request(r) => self.on_request(r, from),
                    Message::Response(r) => self.on_response(r),
                }
            }
            Input::Timeout(now) => {
                self.now = now;
                self.on_timeout();
            }
            Input::Media { now, event } => {
                self.now = now;
                with_ctx!(self, ctx, self.calls.on_media(event, &mut ctx));
            }
            Input::Config { now, directory } => {
                self.now = now;
                self.directory = directory;
                self.timers.set(now.mono, Timer::Trunks);
                if self.trunks.is_some() {
                    // Sources the new config trusts (or made trunks) are banned no longer.
                    let d = Arc::clone(&self.directory);
                    let lifted = self.shared.guard.forgive(|ip| exempt(&d, ip));
                    self.notify(lifted);
                }
            }
            Input::Drain => self.draining = true,
            Input::EndCalls(now) => {
                self.now = now;
                with_ctx!(self, ctx, self.calls.end_all(&mut ctx));
            }
            Input::Callback { now, callback } => {
                self.now = now;
                let directory = Arc::clone(&self.directory);
                with_ctx!(
                    self,
                    ctx,
                    self.calls.originate(directory, callback, &mut ctx)
                );
            }
        }
    }

    /// The next thing to do; `Output::Timeout` when there is nothing more for now.
    pub fn poll(&mut self) -> Output {
        if let Some(out) = self.out.pop_front() {
            return out;
        }
        let next = [
            self.tx.next_deadline(),
            self.timers.next(),
            self.trunks.as_ref().and_then(Trunks::next_deadline),
        ]
        .into_iter()
        .flatten()
        .min();
        Output::Timeout(next.unwrap_or(self.now.mono + Duration::from_secs(3600)))
    }

    fn on_timeout(&mut self) {
        let now = self.now;
        let mut sent = Vec::new();
        let timed_out = self.tx.on_timeout(now.mono, &mut sent);
        self.transmit(sent);
        for (owner, _) in timed_out {
            match owner {
                Owner::Trunk(label) => {
                    with_ctx!(self, ctx, {
                        if let Some(t) = self.trunks.as_mut() {
                            t.on_answer(&label, None, &mut ctx);
                        }
                    })
                }
                owner => with_ctx!(self, ctx, self.calls.on_timeout(owner, &mut ctx)),
            }
        }
        if self
            .trunks
            .as_ref()
            .and_then(Trunks::next_deadline)
            .is_some_and(|at| at <= now.mono)
        {
            self.timers.set(now.mono, Timer::Trunks);
        }
        while let Some(timer) = self.timers.pop_due(now.mono) {
            match timer {
                Timer::Trunks => {
                    let directory = Arc::clone(&self.directory);
                    with_ctx!(self, ctx, {
                        if let Some(t) = self.trunks.as_mut() {
                            t.reconcile(&directory, &mut ctx);
                            t.poll(&mut ctx);
                        }
                    })
                }
                Timer::Sweep => self.sweep(),
                other => with_ctx!(self, ctx, self.calls.on_timer(other, &mut ctx)),
            }
        }
    }

    /// Expired registrations are dropped (and forgotten by the store).
    fn sweep(&mut self) {
        for aor in self.shared.location.expire(self.now.wall_ms) {
            let bindings = self.shared.location.lookup(&aor, self.now.wall_ms);
            self.out.push_back(Output::Bindings { aor, bindings });
        }
        let ended = self
            .shared
            .guard
            .expire(&self.directory.security, self.now.wall_ms);
        self.notify(ended);
        self.timers.set(self.now.mono + SWEEP, Timer::Sweep);
    }

    fn notify(&mut self, events: Vec<guard::Event>) {
        self.out.extend(
            events
                .into_iter()
                .map(|e| Output::Notice(io::Notice::Security(e))),
        );
    }

    /// Tells the guard about a digest response `from` sent; whether to answer it.
    fn judge(&mut self, attempt: Option<Attempt>, from: Peer) -> bool {
        let Some(attempt) = attempt else {
            return true;
        };
        let ip = from.addr.ip();
        if exempt(&self.directory, ip) {
            return true;
        }
        if attempt.passed {
            self.shared
                .guard
                .succeeded(ip, &attempt.domain, &attempt.user);
            return true;
        }
        let judged =
            self.shared
                .guard
                .failed(ip, &attempt, &self.directory.security, self.now.wall_ms);
        self.notify(judged.events);
        if !judged.answer {
            self.stats.unanswered += 1;
        }
        judged.answer
    }

    fn transmit(&mut self, sent: Vec<Transmit>) {
        self.out.extend(sent.into_iter().map(Output::Transmit));
    }

    fn on_response(&mut self, response: crate::sip::message::Response) {
        let mut sent = Vec::new();
        let answer = self.tx.on_response(response, self.now.mono, &mut sent);
        self.transmit(sent);
        match answer {
            Answer::Owned {
                owner: Owner::Trunk(label),
                response,
                ..
            } => with_ctx!(self, ctx, {
                if let Some(t) = self.trunks.as_mut() {
                    t.on_answer(&label, Some(&response), &mut ctx);
                }
            }),
            Answer::Owned {
                owner,
                request,
                to,
                response,
            } => with_ctx!(
                self,
                ctx,
                self.calls
                    .on_answer(owner, &request, response, to, &mut ctx)
            ),
            Answer::Stray(response) => {
                let invite = response
                    .headers()
                    .cseq()
                    .is_ok_and(|c| c.method == Method::Invite);
                if invite && response.code().is_success() {
                    with_ctx!(self, ctx, self.calls.on_stray_2xx(&response, &mut ctx));
                }
            }
            Answer::Absorbed => {}
        }
    }

    fn on_request(&mut self, mut request: Request, from: Peer) {
        let Ok(via) = request.headers().top_via() else {
            self.stats.malformed += 1;
            return;
        };
        let (via, reply_to) = uas::stamp_received(&mut request, &via, from);
        let mut sent = Vec::new();
        let incoming = self
            .tx
            .on_request(&request, &via, reply_to, self.now.mono, &mut sent);
        self.transmit(sent);
        let key = match incoming {
            Incoming::Absorbed => return,
            Incoming::New(key) => key,
        };
        // The shard's share of the server's transactions: a new one beyond it is refused
        // without being kept.
        let limits = &self.directory.config.server.limits;
        let (servers, clients) = self.tx.len();
        if key.is_some() && servers + clients > self.share(limits.transactions) {
            if let Some(key) = &key {
                self.tx.discard(key);
            }
            let limit = limits.transactions;
            if *request.method() != Method::Ack {
                let busy = self.refusal(&request, &Limit::Transactions { limit, refused: 0 });
                self.reply(None, reply_to, &busy);
            }
            return self.over_table(false, limit);
        }
        if *request.method() == Method::Ack {
            // The ACK for a 2xx belongs to the dialog.
            return with_ctx!(self, ctx, self.calls.on_ack(&request, &mut ctx));
        }
        let tag = self.random.tag();
        if let Some(r) = uas::check_request(&request, &tag) {
            return self.reply(key.as_ref(), reply_to, &r);
        }
        let has_to_tag = request.headers().to().is_ok_and(|t| t.tag().is_some());
        match request.method() {
            Method::Invite if !has_to_tag => self.invite(request, from, reply_to, key),
            Method::Invite => {
                let answer = with_ctx!(
                    self,
                    ctx,
                    self.calls.on_reinvite(&request, key.clone(), &mut ctx)
                );
                let answer = answer.unwrap_or_else(|| uas::found_or_481(&request, false, &tag));
                self.reply(key.as_ref(), reply_to, &answer);
            }
            Method::Register => {
                let registration::Registered {
                    answer,
                    changed,
                    attempt,
                    refused,
                } = registration::register(
                    &request,
                    from,
                    &self.directory,
                    &self.shared.auth,
                    &self.registrar,
                    self.shared.location.as_ref(),
                    &mut self.random,
                    self.now,
                );
                if !self.judge(attempt, from) {
                    if let Some(key) = &key {
                        self.tx.discard(key);
                    }
                    return;
                }
                if answer.code() == StatusCode::OK {
                    self.stats.registrations += 1;
                }
                self.reply(key.as_ref(), reply_to, &answer);
                if let Some(limit) = refused {
                    self.out.push_back(Output::Notice(io::Notice::Limit(limit)));
                }
                if let Some(aor) = changed {
                    let bindings = self.shared.location.lookup(&aor, self.now.wall_ms);
                    self.out.push_back(Output::Bindings { aor, bindings });
                }
            }
            Method::Options => {
                let mut r = uas::respond(&request, StatusCode::OK, "OK", &tag);
                r.headers_mut().push("Allow", uas::ALLOW);
                r.headers_mut().push("Accept", "application/sdp");
                self.reply(key.as_ref(), reply_to, &r);
            }
            Method::Cancel => {
                let invite = request.headers().top_via().ok().and_then(|v| {
                    v.branch()
                        .and_then(|b| TransactionKey::server(b, &v.sent_by(), "INVITE"))
                });
                let found = invite
                    .as_ref()
                    .is_some_and(|k| self.index.invites.contains_key(k));
                // The 200 for the CANCEL goes out before the INVITE's 487 (RFC 3261 §9.2).
                let answer = uas::found_or_481(&request, found, &tag);
                self.reply(key.as_ref(), reply_to, &answer);
                if let (true, Some(invite)) = (found, invite) {
                    with_ctx!(self, ctx, self.calls.on_cancel(&invite, &mut ctx));
                }
            }
            Method::Bye => {
                let found = with_ctx!(self, ctx, self.calls.on_bye(&request, &mut ctx));
                let answer = uas::found_or_481(&request, found, &tag);
                self.reply(key.as_ref(), reply_to, &answer);
            }
            Method::Info => {
                let understood = with_ctx!(self, ctx, self.calls.on_info(&request, &mut ctx));
                let answer = match understood {
                    None => uas::found_or_481(&request, false, &tag),
                    Some(true) => uas::respond(&request, StatusCode::OK, "OK", &tag),
                    Some(false) => uas::respond(
                        &request,
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        "Unsupported Media Type",
                        &tag,
                    ),
                };
                self.reply(key.as_ref(), reply_to, &answer);
            }
            _ => self.reply(key.as_ref(), reply_to, &uas::not_allowed(&request, &tag)),
        }
    }

    /// A new INVITE: admission decides; a call starts, or the caller gets its answer.
    fn invite(
        &mut self,
        request: Request,
        from: Peer,
        reply_to: Peer,
        key: Option<TransactionKey>,
    ) {
        let cap = self.directory.config.server.limits.calls;
        if cap > 0 && self.calls.len() >= self.share(cap) {
            let busy = self.refusal(
                &request,
                &Limit::Calls {
                    limit: cap,
                    refused: 0,
                },
            );
            self.reply(key.as_ref(), reply_to, &busy);
            return self.over_table(true, cap);
        }
        let directory = Arc::clone(&self.directory);
        let mut attempt = None;
        let admission = admission::admit(
            &request,
            from,
            &directory,
            &self.shared.auth,
            self.draining,
            &mut self.random,
            self.now,
            &mut attempt,
        );
        if !self.judge(attempt, from) {
            if let Some(key) = &key {
                self.tx.discard(key);
            }
            return;
        }
        match (admission, key) {
            (Admission::Answer(r), key) => self.reply(key.as_ref(), reply_to, &r),
            (Admission::NotFound(r, record), key) => {
                self.reply(key.as_ref(), reply_to, &r);
                self.out.push_back(Output::Record(*record));
            }
            (Admission::Call { .. }, None) => {
                // An RFC 2543 client: no transaction to answer a call through.
                let tag = self.random.tag();
                let r = uas::respond(&request, StatusCode::BAD_REQUEST, "Branch Required", &tag);
                self.reply(None, reply_to, &r);
            }
            (
                Admission::Call {
                    domain,
                    caller,
                    callee,
                    entry,
                },
                Some(key),
            ) => {
                let start = Start {
                    request,
                    key,
                    from,
                    reply_to,
                    directory,
                    domain,
                    caller,
                    callee,
                    entry,
                };
                with_ctx!(self, ctx, self.calls.start(start, &mut ctx));
            }
        }
    }

    /// Answers through the server transaction, or statelessly when there is none. A digest
    /// challenge is always answered statelessly and its transaction dropped (as a stateless
    /// proxy answers): the request that follows carries credentials and a new branch, and a
    /// lost challenge is simply given again when the request is retransmitted — so half the
    /// transactions of every REGISTER and INVITE are never kept.
    fn reply(
        &mut self,
        key: Option<&TransactionKey>,
        reply_to: Peer,
        response: &crate::sip::message::Response,
    ) {
        let challenge = matches!(response.code().as_u16(), 401 | 407);
        match key {
            Some(key) if challenge => {
                self.tx.discard(key);
                self.out.push_back(Output::Transmit(Transmit {
                    to: reply_to,
                    bytes: response.to_bytes(),
                }));
            }
            Some(key) => {
                let mut sent = Vec::new();
                self.tx.respond(key, response, self.now.mono, &mut sent);
                self.transmit(sent);
            }
            None => self.out.push_back(Output::Transmit(Transmit {
                to: reply_to,
                bytes: response.to_bytes(),
            })),
        }
    }
}

/// Sources the guard never counts: the config's trusted networks and the trunks' addresses.
fn exempt(directory: &Directory, ip: std::net::IpAddr) -> bool {
    directory.security.trusts(ip) || !directory.trunks_from(ip).is_empty()
}
