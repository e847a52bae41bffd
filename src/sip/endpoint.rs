//! `Endpoint`: the sans-io SIP server — bytes and timer expiries in, datagrams to send out.
//!
//! It parses (malformed requests get 400/505 when they can be answered, and are dropped
//! otherwise; malformed responses are dropped), keeps the RFC 3261 server transactions that
//! absorb retransmissions, applies the checks every request gets (mandatory headers, URI
//! scheme, `Require`, content type), and dispatches: REGISTER to digest authentication and the
//! registrar, OPTIONS answered, a new INVITE to `admission.rs` (who may call what), CANCEL,
//! BYE and in-dialog INVITEs to their call, the rest answered as not allowed or not
//! implemented. Responses go where RFC 3261 §18.2.2 and
//! RFC 3581 (`rport`) say, with `received=` filled in for phones behind NAT. The transport
//! task owns the sockets and the clock.

use super::auth::{Credentials, DigestAuth, Verdict};
use super::b2bua::Client;
use super::call::Calls;
use super::directory::Directory;
use super::message::{
    reject, Headers, Host, Message, Method, ParseError, Request, Response, Rport, StatusCode, Uri,
    Via,
};
use super::registrar::{
    ContactParam, Contacts, Limits, Outcome as RegOutcome, Register, Registrar, Transport,
};
use super::transaction::{
    Action, Reliability, ServerInvite, ServerNonInvite, Timer, TimerConfig, TransactionKey,
};
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How a message reached us, and so how answers go back: a UDP socket (by index) or the TCP
/// connection of a peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Link {
    Udp(usize),
    Tcp,
}

/// Where a message came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer {
    pub addr: SocketAddr,
    pub link: Link,
}

/// A message to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub to: SocketAddr,
    pub link: Link,
    pub bytes: Vec<u8>,
}

/// Where the endpoint reads the running directory from (a new one after every apply).
pub type DirectorySource = Box<dyn Fn() -> Option<Arc<Directory>> + Send>;

/// What the SIP layer has done, for logs and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub received: u64,
    pub malformed: u64,
    pub responses_ignored: u64,
    pub registrations: u64,
    pub auth_failures: u64,
}

/// Methods this server answers; listed in `Allow`.
const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER";

enum ServerTx {
    NonInvite(ServerNonInvite<Vec<u8>>),
    Invite(ServerInvite<Vec<u8>>),
}

impl ServerTx {
    fn on_timer(&mut self, timer: Timer, now: Instant) -> Vec<Action<Vec<u8>>> {
        match self {
            ServerTx::NonInvite(m) => m.on_timer(timer, now),
            ServerTx::Invite(m) => m.on_timer(timer, now),
        }
    }

    fn on_request_retransmission(&mut self, now: Instant) -> Vec<Action<Vec<u8>>> {
        match self {
            ServerTx::NonInvite(m) => m.on_request_retransmission(now),
            ServerTx::Invite(m) => m.on_request_retransmission(now),
        }
    }

    fn on_tu_response(&mut self, code: u16, bytes: Vec<u8>, now: Instant) -> Vec<Action<Vec<u8>>> {
        match self {
            ServerTx::NonInvite(m) => m.on_tu_response(code, bytes, now),
            ServerTx::Invite(m) => m.on_tu_response(code, bytes, now),
        }
    }
}

struct Transaction {
    machine: ServerTx,
    /// Where responses go.
    peer: SocketAddr,
    link: Link,
}

/// The SIP server core.
pub struct Endpoint {
    pub(super) directory: DirectorySource,
    pub(super) auth: DigestAuth,
    pub(super) registrar: Registrar,
    transactions: HashMap<TransactionKey, Transaction>,
    timers: BTreeMap<(Instant, u64), TimerOwner>,
    timer_seq: u64,
    pub(super) timer_config: TimerConfig,
    next_sweep: Option<Instant>,
    /// Our own address on each link (for Via and Contact of requests we send).
    pub(super) locals: HashMap<Link, SocketAddr>,
    /// Client transactions of the B2BUA, by branch and method.
    pub(super) clients: HashMap<String, Client>,
    pub(super) calls: Calls,
    /// Messages that must follow the response being built (the 487 after a CANCEL's 200).
    deferred: Vec<Outgoing>,
    /// The media relay calls are anchored at (`None`: SDP passes through unchanged).
    pub(super) media: Option<Box<dyn crate::media::relay::MediaAnchor>>,
    /// History records of calls that ended, for the transport to hand to the store.
    pub(super) records: Vec<crate::store::CallRecord>,
    /// Registrations with trunks' gateways, by trunk label (`Directory`'s `Trunk::label`).
    pub(super) trunk_regs: HashMap<String, super::trunk_registration::TrunkRegistration>,
    /// The config the trunk registrations were last matched with.
    pub(super) seen_directory: Option<Arc<Directory>>,
    /// Lines for the server log (`take_notices`).
    pub(super) notices: Vec<String>,
    /// The server is stopping: new calls are refused (503).
    pub(super) draining: bool,
    next_trunk_check: Instant,
    pub stats: Stats,
}

/// What a timer belongs to.
pub(super) enum TimerOwner {
    Server(TransactionKey, Timer),
    Client(String, Timer),
    /// A call's 200 retransmission to the caller.
    Call(u64),
    /// A call's routing deadline (the next step, a ring time running out).
    Flow(u64),
}

impl Endpoint {
    pub fn new(directory: DirectorySource) -> Endpoint {
        Endpoint {
            directory,
            auth: DigestAuth::new(),
            registrar: Registrar::new(Limits::default()),
            transactions: HashMap::new(),
            timers: BTreeMap::new(),
            timer_seq: 0,
            timer_config: TimerConfig::default(),
            next_sweep: None,
            locals: HashMap::new(),
            clients: HashMap::new(),
            calls: Calls::default(),
            deferred: Vec::new(),
            records: Vec::new(),
            media: None,
            trunk_regs: HashMap::new(),
            seen_directory: None,
            notices: Vec::new(),
            draining: false,
            next_trunk_check: Instant::now(),
            stats: Stats::default(),
        }
    }

    /// Tells the endpoint its own address on `link`, written into the requests it sends.
    pub fn set_local(&mut self, link: Link, addr: SocketAddr) {
        self.locals.insert(link, addr);
    }

    /// Anchors the audio of calls at `media`.
    pub fn set_media(&mut self, media: Box<dyn crate::media::relay::MediaAnchor>) {
        self.media = Some(media);
    }

    /// The history records of calls that ended since the last call.
    pub fn take_records(&mut self) -> Vec<crate::store::CallRecord> {
        std::mem::take(&mut self.records)
    }

    /// What operators should hear of (a trunk registered or failed), since the last call.
    pub fn take_notices(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notices)
    }

    /// Calls in progress.
    pub fn calls(&self) -> usize {
        self.calls.len()
    }

    pub(super) fn set_timer(&mut self, at: Instant, owner: TimerOwner) {
        self.timer_seq += 1;
        self.timers.insert((at, self.timer_seq), owner);
    }

    /// Sends `response` on the server transaction `key`.
    pub(super) fn server_respond(
        &mut self,
        key: &TransactionKey,
        response: Response,
        now: Instant,
        out: &mut Vec<Outgoing>,
    ) {
        let Some(tx) = self.transactions.get_mut(key) else {
            return;
        };
        let actions = tx
            .machine
            .on_tu_response(response.code().as_u16(), response.to_bytes(), now);
        self.carry_out(key, actions, out);
    }

    /// The earliest time `on_timers` has work.
    pub fn next_deadline(&self) -> Option<Instant> {
        let timer = self.timers.keys().next().map(|(at, _)| *at);
        [timer, self.next_sweep, Some(self.next_trunk_check)]
            .into_iter()
            .flatten()
            .min()
    }

    /// Fires every timer due at `now`, and expires registrations.
    pub fn on_timers(&mut self, now: Instant) -> Vec<Outgoing> {
        let mut out = Vec::new();
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            match entry.remove() {
                TimerOwner::Server(key, timer) => {
                    let Some(tx) = self.transactions.get_mut(&key) else {
                        continue;
                    };
                    let actions = tx.machine.on_timer(timer, now);
                    self.carry_out(&key, actions, &mut out);
                }
                TimerOwner::Client(key, timer) => {
                    let Some(client) = self.clients.get_mut(&key) else {
                        continue;
                    };
                    let actions = client.machine.on_timer(timer, now);
                    self.client_actions(&key, actions, now, &mut out);
                }
                TimerOwner::Call(id) => self.call_timer(id, now, &mut out),
                TimerOwner::Flow(id) => self.flow_timer(id, now, &mut out),
            }
        }
        if self.next_trunk_check <= now {
            self.next_trunk_check = now + super::trunk_registration::CHECK;
            self.check_trunks(now, &mut out);
        }
        if self.next_sweep.is_some_and(|at| at <= now) {
            self.registrar.expire(unix_ms());
            self.next_sweep = (!self.registrar.is_empty()).then(|| now + Duration::from_secs(1));
        }
        out
    }

    /// Handles one message (a datagram, or a frame of a TCP stream) from `peer`.
    pub fn on_message(&mut self, bytes: &[u8], peer: Peer, now: Instant) -> Vec<Outgoing> {
        self.on_parsed(bytes, Endpoint::parse(bytes), peer, now)
    }

    /// Parses a message without touching the endpoint's state, so a transport can do it
    /// before taking the endpoint's lock. `None` for a keep-alive.
    pub fn parse(bytes: &[u8]) -> Option<Result<Message, ParseError>> {
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return None; // keep-alive
        }
        Some(Message::parse(bytes))
    }

    /// Handles a message `parse` already read from `bytes`.
    pub fn on_parsed(
        &mut self,
        bytes: &[u8],
        parsed: Option<Result<Message, ParseError>>,
        peer: Peer,
        now: Instant,
    ) -> Vec<Outgoing> {
        let from = peer.addr;
        let link = peer.link;
        self.stats.received += 1;
        let Some(parsed) = parsed else {
            return Vec::new();
        };
        let message = match parsed {
            Ok(m) => m,
            Err(e) => {
                self.stats.malformed += 1;
                return self.reject_malformed(bytes, &e, peer);
            }
        };
        let mut request = match message {
            Message::Request(r) => r,
            Message::Response(r) => {
                let mut out = Vec::new();
                self.on_client_response(r, bytes, now, &mut out);
                return out;
            }
        };
        let Ok(via) = request.headers().top_via() else {
            self.stats.malformed += 1;
            return Vec::new();
        };
        let reply_to = match link {
            Link::Udp(_) => stamp_received(&mut request, &via, from),
            // Over TCP answers go back on the connection the request came on.
            Link::Tcp => {
                stamp_received(&mut request, &via, from);
                from
            }
        };
        if *request.method() == Method::Ack {
            // An ACK for a non-2xx final response belongs to its INVITE transaction.
            if let Some(key) = via
                .branch()
                .and_then(|b| TransactionKey::server(b, &via.sent_by(), "ACK"))
            {
                if let Some(Transaction {
                    machine: ServerTx::Invite(m),
                    ..
                }) = self.transactions.get_mut(&key)
                {
                    let actions = m.on_ack(now);
                    let mut out = Vec::new();
                    self.carry_out(&key, actions, &mut out);
                    return out;
                }
            }
            // The ACK for a 2xx belongs to the dialog.
            self.ack_call(&request);
            return Vec::new();
        }
        let key = via
            .branch()
            .and_then(|b| TransactionKey::server(b, &via.sent_by(), &request.method().to_string()));
        let mut out = Vec::new();
        if let Some(key) = &key {
            if let Some(tx) = self.transactions.get_mut(key) {
                let actions = tx.machine.on_request_retransmission(now);
                self.carry_out(key, actions, &mut out);
                return out;
            }
        }
        match key {
            // An RFC 2543 client (no magic cookie): answered, no transaction to match it.
            None => {
                if let Some(response) = self.answer(&request, peer, None, now, &mut out) {
                    out.push(Outgoing {
                        to: reply_to,
                        link,
                        bytes: response.to_bytes(),
                    });
                }
            }
            // The transaction exists before the request is handled, so whatever handles it
            // (a call's routing) can answer through it at any time.
            Some(key) => {
                let reliability = match link {
                    Link::Udp(_) => Reliability::Unreliable,
                    Link::Tcp => Reliability::Reliable,
                };
                let invite = *request.method() == Method::Invite;
                // The machine hands the request back only to pass it up, which already happened:
                // it keeps nothing of it.
                let raw = Vec::new();
                let (machine, first) = if invite {
                    let (m, a) = ServerInvite::new(raw, reliability, self.timer_config, now);
                    (ServerTx::Invite(m), a)
                } else {
                    let (m, a) = ServerNonInvite::new(raw, reliability, self.timer_config, now);
                    (ServerTx::NonInvite(m), a)
                };
                self.transactions.insert(
                    key.clone(),
                    Transaction {
                        machine,
                        peer: reply_to,
                        link,
                    },
                );
                self.carry_out(&key, first, &mut out);
                if let Some(response) = self.answer(&request, peer, Some(&key), now, &mut out) {
                    self.server_respond(&key, response, now, &mut out);
                }
            }
        }
        out.append(&mut self.deferred);
        out
    }

    /// Carries out a transaction's actions (the request it passes up was already handled).
    fn carry_out(
        &mut self,
        key: &TransactionKey,
        actions: Vec<Action<Vec<u8>>>,
        out: &mut Vec<Outgoing>,
    ) {
        let Some((peer, link)) = self.transactions.get(key).map(|t| (t.peer, t.link)) else {
            return;
        };
        for action in actions {
            match action {
                Action::Send(bytes) | Action::SendAck(bytes) => out.push(Outgoing {
                    to: peer,
                    link,
                    bytes,
                }),
                Action::SetTimer(timer, at) => {
                    self.set_timer(at, TimerOwner::Server(key.clone(), timer))
                }
                Action::Terminated => {
                    self.transactions.remove(key);
                }
                Action::PassUp(_) | Action::CancelTimer(_) | Action::TimedOut => {}
            }
        }
    }

    fn reject_malformed(&self, bytes: &[u8], e: &ParseError, peer: Peer) -> Vec<Outgoing> {
        let Some(response) = reject(bytes, e) else {
            return Vec::new();
        };
        let to = match (peer.link, response.headers().top_via()) {
            (Link::Udp(_), Ok(via)) => response_address(&via, peer.addr),
            _ => peer.addr,
        };
        vec![Outgoing {
            to,
            link: peer.link,
            bytes: response.to_bytes(),
        }]
    }

    /// The response the server gives to a new request; `None` when it was already given
    /// through the transaction (a call that started).
    fn answer(
        &mut self,
        request: &Request,
        peer: Peer,
        key: Option<&TransactionKey>,
        now: Instant,
        out: &mut Vec<Outgoing>,
    ) -> Option<Response> {
        if let Some(r) = check_request(request) {
            return Some(r);
        }
        if *request.method() == Method::Invite
            && request
                .headers()
                .to()
                .ok()
                .is_none_or(|t| t.tag().is_none())
        {
            return self.invite(request, peer, key, now, out);
        }
        Some(match request.method() {
            Method::Register => self.register(request, peer, now),
            Method::Options => {
                let mut r = respond(request, StatusCode::OK, "OK");
                r.headers_mut().push("Allow", ALLOW);
                r.headers_mut().push("Accept", "application/sdp");
                r
            }
            // An INVITE with a To tag belongs to a dialog: a re-INVITE passed to the other side.
            Method::Invite
                if request
                    .headers()
                    .to()
                    .ok()
                    .is_some_and(|t| t.tag().is_some()) =>
            {
                match self.reinvite(request, key, now, out) {
                    Some(r) => r,
                    None => in_dialog(request, false),
                }
            }
            Method::Cancel => {
                let invite = request.headers().top_via().ok().and_then(|v| {
                    v.branch()
                        .and_then(|b| TransactionKey::server(b, &v.sent_by(), "INVITE"))
                });
                // The 200 for the CANCEL goes out before the INVITE's 487 (RFC 3261 §9.2).
                let mut later = Vec::new();
                let cancelled = invite.is_some_and(|k| self.cancel_call(&k, now, &mut later));
                self.deferred.append(&mut later);
                in_dialog(request, cancelled)
            }
            Method::Bye => {
                let found = self.bye_call(request, now, out);
                in_dialog(request, found)
            }
            Method::Extension(_) => {
                let mut r = respond(request, StatusCode::NOT_IMPLEMENTED, "Not Implemented");
                r.headers_mut().push("Allow", ALLOW);
                r
            }
            _ => {
                let mut r = respond(
                    request,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "Method Not Allowed",
                );
                r.headers_mut().push("Allow", ALLOW);
                r
            }
        })
    }

    fn register(&mut self, request: &Request, peer: Peer, _now: Instant) -> Response {
        let now_ms = unix_ms();
        let domain = match request.uri() {
            Uri::Sip(u) => host_text(&u.host),
            Uri::Other(_) => {
                return respond(
                    request,
                    StatusCode::UNSUPPORTED_URI_SCHEME,
                    "Unsupported URI Scheme",
                )
            }
        };
        let Ok(to) = request.headers().to() else {
            return respond(request, StatusCode::BAD_REQUEST, "Bad To");
        };
        let login = match &to.uri {
            Uri::Sip(u) => u.user.clone().unwrap_or_default(),
            Uri::Other(_) => String::new(),
        };
        let credentials = request
            .headers()
            .get_all("Authorization")
            .filter_map(Credentials::parse)
            .find(|c| c.realm.eq_ignore_ascii_case(&domain));
        let Some(credentials) = credentials else {
            return self.challenge(request, &domain, false, StatusCode::UNAUTHORIZED);
        };
        let directory = (self.directory)();
        let tenant = directory.as_deref().and_then(|d| d.tenant(&domain));
        let user = tenant.and_then(|t| t.users.get(&credentials.username));
        let hashes = user.and_then(|u| u.hashes.as_ref());
        // The login authenticated must be the one registered (To).
        let hashes = hashes.filter(|_| credentials.username == login);
        match self
            .auth
            .verify(&credentials, "REGISTER", &domain, hashes, now_ms)
        {
            Verdict::Ok => {}
            Verdict::Stale => {
                return self.challenge(request, &domain, true, StatusCode::UNAUTHORIZED)
            }
            Verdict::Fail => {
                self.stats.auth_failures += 1;
                return self.challenge(request, &domain, false, StatusCode::UNAUTHORIZED);
            }
        }
        let Some(tenant) = tenant else {
            return self.challenge(request, &domain, false, StatusCode::UNAUTHORIZED);
        };
        let headers = request.headers();
        let contacts = if headers.contact_is_wildcard() {
            Contacts::All
        } else {
            match headers.contacts() {
                Ok(list) if list.is_empty() => Contacts::Query,
                Ok(list) => Contacts::List(
                    list.iter()
                        .map(|c| ContactParam {
                            uri: c.uri.to_string(),
                            expires: c.expires(),
                        })
                        .collect(),
                ),
                Err(_) => return respond(request, StatusCode::BAD_REQUEST, "Bad Contact"),
            }
        };
        let (Ok(call_id), Ok(cseq)) = (headers.call_id(), headers.cseq()) else {
            return respond(request, StatusCode::BAD_REQUEST, "Bad Request");
        };
        let register = Register {
            tenant: tenant.id.clone(),
            login: credentials.username.clone(),
            contacts,
            expires: headers.expires().ok().flatten(),
            call_id: call_id.to_string(),
            cseq: cseq.seq,
            source: peer.addr,
            transport: match peer.link {
                Link::Udp(_) => Transport::Udp,
                Link::Tcp => Transport::Tcp,
            },
        };
        match self.registrar.register(register, now_ms) {
            RegOutcome::Ok(bindings) => {
                self.stats.registrations += 1;
                if !bindings.is_empty() && self.next_sweep.is_none() {
                    self.next_sweep = Some(Instant::now() + Duration::from_secs(1));
                }
                let mut r = respond(request, StatusCode::OK, "OK");
                for (uri, expires) in bindings {
                    r.headers_mut()
                        .push("Contact", format!("<{uri}>;expires={expires}"));
                }
                r
            }
            RegOutcome::IntervalTooBrief { min_expires } => {
                let mut r = respond(
                    request,
                    StatusCode::INTERVAL_TOO_BRIEF,
                    "Interval Too Brief",
                );
                r.headers_mut().push("Min-Expires", min_expires.to_string());
                r
            }
            RegOutcome::BadRequest(reason) => respond(request, StatusCode::BAD_REQUEST, reason),
            RegOutcome::OutOfOrder => {
                respond(request, StatusCode::SERVER_INTERNAL_ERROR, "Out Of Order")
            }
        }
    }

    pub(super) fn challenge(
        &self,
        request: &Request,
        realm: &str,
        stale: bool,
        code: StatusCode,
    ) -> Response {
        let (reason, header) = if code == StatusCode::UNAUTHORIZED {
            ("Unauthorized", "WWW-Authenticate")
        } else {
            ("Proxy Authentication Required", "Proxy-Authenticate")
        };
        let mut r = respond(request, code, reason);
        let offered = (self.directory)()
            .map(|d| d.digest.clone())
            .unwrap_or_default();
        for c in self.auth.challenges(realm, stale, &offered, unix_ms()) {
            r.headers_mut().push(header, c);
        }
        r
    }
}

/// Checks every request gets before its method is looked at; `Some` is the answer.
fn check_request(request: &Request) -> Option<Response> {
    let h = request.headers();
    let first_defect = [
        h.from().err(),
        h.to().err(),
        h.call_id().err(),
        h.cseq().err(),
        h.max_forwards().err(),
        h.content_length().err(),
        h.expires().err(),
    ]
    .into_iter()
    .flatten()
    .next();
    if let Some(defect) = first_defect {
        return Some(respond(
            request,
            StatusCode::BAD_REQUEST,
            &format!("Bad Request ({defect})"),
        ));
    }
    if let Uri::Other(_) = request.uri() {
        return Some(respond(
            request,
            StatusCode::UNSUPPORTED_URI_SCHEME,
            "Unsupported URI Scheme",
        ));
    }
    let unsupported: Vec<String> = h
        .get_all("Require")
        .chain(h.get_all("Proxy-Require"))
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    if !unsupported.is_empty() {
        let mut r = respond(request, StatusCode::BAD_EXTENSION, "Bad Extension");
        r.headers_mut().push("Unsupported", unsupported.join(", "));
        return Some(r);
    }
    if *request.method() == Method::Invite {
        if !request.body().is_empty() {
            let sdp = h
                .content_type()
                .ok()
                .flatten()
                .is_some_and(|t| t.is("application", "sdp"));
            if !sdp {
                let mut r = respond(
                    request,
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "Unsupported Media Type",
                );
                r.headers_mut().push("Accept", "application/sdp");
                return Some(r);
            }
        }
        if let Ok(accept) = h.accept() {
            if !accept.is_empty()
                && !accept.iter().any(|t| {
                    t.is("application", "sdp") || t.is("application", "*") || t.is("*", "*")
                })
            {
                let mut r = respond(request, StatusCode::NOT_ACCEPTABLE, "Not Acceptable");
                r.headers_mut().push("Accept", "application/sdp");
                return Some(r);
            }
        }
    }
    None
}

/// The answer to a request for a call or transaction: 200, or 481 when there is none.
fn in_dialog(request: &Request, found: bool) -> Response {
    if found {
        respond(request, StatusCode::OK, "OK")
    } else {
        respond(
            request,
            StatusCode::CALL_DOES_NOT_EXIST,
            "Call/Transaction Does Not Exist",
        )
    }
}

/// A response with a To tag of our own (RFC 3261 §8.2.6.2).
pub(super) fn respond(request: &Request, code: StatusCode, reason: &str) -> Response {
    respond_with_tag(request, code, reason, None)
}

/// A response with our To tag `tag` (a random one when `None`; none on a 100).
pub(super) fn respond_with_tag(
    request: &Request,
    code: StatusCode,
    reason: &str,
    tag: Option<&str>,
) -> Response {
    let mut r = Message::response_to(request, code, reason);
    if code != StatusCode::TRYING {
        match tag {
            Some(tag) => {
                if let Ok(mut to) = r.headers().to() {
                    to.set_tag(tag);
                    r.headers_mut().set("To", to.to_string());
                }
            }
            None => add_to_tag(r.headers_mut()),
        }
    }
    r.headers_mut()
        .push("Server", concat!("pbx/", env!("CARGO_PKG_VERSION")));
    r
}

fn add_to_tag(headers: &mut Headers) {
    if let Ok(mut to) = headers.to() {
        if to.tag().is_none() {
            let mut random = [0u8; 6];
            let _ = getrandom::fill(&mut random);
            let tag: String = random.iter().map(|b| format!("{b:02x}")).collect();
            to.set_tag(&tag);
            headers.set("To", to.to_string());
        }
    }
}

/// Adds `received=` (and fills in `rport`) on the top Via when the request came from another
/// address than it says (RFC 3261 §18.2.1, RFC 3581); returns where responses go.
fn stamp_received(request: &mut Request, via: &Via, from: SocketAddr) -> SocketAddr {
    let mut stamped = via.clone();
    let sent_by_ip: Option<IpAddr> = match &via.host {
        Host::V4(a) => Some(IpAddr::V4(*a)),
        Host::V6(a) => Some(IpAddr::V6(*a)),
        Host::Name(_) => None,
    };
    let rport = via.rport();
    if sent_by_ip != Some(from.ip()) || rport.is_some() {
        stamped.params.set("received", Some(&from.ip().to_string()));
    }
    if rport.is_some() {
        stamped.params.set("rport", Some(&from.port().to_string()));
    }
    if stamped != *via {
        let headers = request.headers_mut();
        let first = headers.remove_first("Via");
        let rest = first.as_deref().and_then(|v| split_first_value(v).1);
        if let Some(rest) = rest {
            headers.push_front("Via", rest);
        }
        headers.push_front("Via", stamped.to_string());
    }
    response_address(&stamped, from)
}

/// The first comma-separated Via value and the rest, if the header line held several.
fn split_first_value(value: &str) -> (&str, Option<&str>) {
    let mut in_quotes = false;
    for (i, c) in value.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            ',' if !in_quotes => return (&value[..i], Some(value[i + 1..].trim())),
            _ => {}
        }
    }
    (value, None)
}

/// Where responses to a request with this (stamped) top Via go: the source with `rport`,
/// otherwise the source address with the Via's port (RFC 3261 §18.2.2).
fn response_address(via: &Via, from: SocketAddr) -> SocketAddr {
    match via.rport() {
        Some(Rport::Port(p)) => SocketAddr::new(from.ip(), p),
        Some(Rport::Requested) => from,
        None => SocketAddr::new(from.ip(), via.port.unwrap_or(5060)),
    }
}

pub(super) fn host_text(host: &Host) -> String {
    match host {
        Host::Name(n) => n.to_ascii_lowercase(),
        other => other.to_string(),
    }
}

pub(super) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
