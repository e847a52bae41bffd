//! `Phone`: a scripted SIP user agent for the deterministic harness — a desk phone that
//! registers and answers as its script says, a caller that dials, a trunk's gateway that
//! challenges and takes calls, a provider's registrar. It runs on the same protocol pieces as
//! the engine (the transaction layer retransmits for it on a lossy network) and on the
//! harness's virtual clock; everything it sends comes back to the `World` as datagrams.

use crate::engine::random::Random;
use crate::sip::dialog::Dialog;
use crate::sip::link::{Link, Peer, Transmit};
use crate::sip::message::{Message, Method, Request, Response, StatusCode};
use crate::sip::transaction::{TimerConfig, TransactionKey};
use crate::sip::transactions::{Answer as TxAnswer, Incoming, Transactions};
use crate::sip::uas::{respond, stamp_received};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// How a phone answers an INVITE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// 180 at once, 200 (with SDP) after `after`; hangs up after `hold` if given.
    Pick {
        after: Duration,
        hold: Option<Duration>,
    },
    /// 180, and rings until cancelled.
    Ring,
    /// 100 Trying only, then nothing.
    Trying,
    /// This final status at once (486 busy, 603 decline, 480, 503...).
    Refuse(u16),
    /// Nothing at all.
    Silent,
}

impl Answer {
    /// Picks up at once and waits for the other side to hang up.
    pub fn pick() -> Answer {
        Answer::Pick {
            after: Duration::ZERO,
            hold: None,
        }
    }

    /// Picks up after `secs` seconds.
    pub fn pick_after(secs: f64) -> Answer {
        Answer::Pick {
            after: Duration::from_secs_f64(secs),
            hold: None,
        }
    }
}

/// How an outgoing call of the phone ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Answered (and hung up by one side, or still up).
    Answered,
    /// Refused with this final status.
    Refused(u16),
    /// Nothing came back.
    TimedOut,
}

/// What a client transaction of the phone is for.
#[derive(Clone, Debug)]
enum Role {
    Register,
    Invite(String),
    /// A re-INVITE.
    ReInvite,
    Other,
}

/// An incoming call being answered.
struct Incoming_ {
    invite: Request,
    key: Option<TransactionKey>,
    tag: String,
    finished: bool,
    /// Once answered.
    dialog: Option<Dialog>,
}

/// An outgoing call.
struct Outgoing {
    invite: Request,
    dialog: Option<Dialog>,
    hold: Option<Duration>,
    authenticated: bool,
    outcome: Option<Outcome>,
}

enum Later {
    /// Answer incoming call `call_id` with 200.
    Pick(String),
    /// Hang up call `call_id` (incoming or outgoing).
    Bye(String),
    /// Cancel outgoing call `call_id`.
    Cancel(String),
}

/// A scripted user agent.
pub struct Phone {
    pub name: String,
    pub addr: SocketAddr,
    pub link: Link,
    pbx: Peer,
    /// Login and password to register and call with; the domain.
    login: Option<(String, String)>,
    domain: String,
    /// Challenge incoming INVITEs once and expect these credentials (a trunk's gateway).
    pub challenge_invites: Option<(String, String)>,
    /// Offer (and answer) SRTP with an SDES key.
    pub srtp: bool,
    /// Answer REGISTERs: challenge, then grant this many seconds (a provider's registrar).
    pub registrar: Option<u32>,
    tx: Transactions<Role>,
    answers: VecDeque<Answer>,
    pub default_answer: Answer,
    incoming: HashMap<String, Incoming_>,
    outgoing: HashMap<String, Outgoing>,
    later: BTreeMap<(Instant, u64), Later>,
    seq: u64,
    random: Random,
    pub registered: bool,
    /// Final answers to REGISTER, in order.
    pub register_answers: Vec<u16>,
    /// Every outgoing call's outcome, in order of dialling (by Call-ID).
    order: Vec<String>,
    /// Challenged Call-IDs (gateway).
    challenged: HashMap<String, bool>,
}

impl Phone {
    pub fn new(name: &str, addr: SocketAddr, link: Link, pbx: Peer, domain: &str) -> Phone {
        Phone {
            name: name.to_string(),
            addr,
            link,
            pbx,
            login: None,
            domain: domain.to_string(),
            challenge_invites: None,
            srtp: false,
            registrar: None,
            tx: Transactions::new(TimerConfig::default()),
            answers: VecDeque::new(),
            default_answer: Answer::pick(),
            incoming: HashMap::new(),
            outgoing: HashMap::new(),
            later: BTreeMap::new(),
            seq: 0,
            random: Random::new([addr.port() as u8; 32]),
            registered: false,
            register_answers: Vec::new(),
            order: Vec::new(),
            challenged: HashMap::new(),
        }
    }

    /// The phone logs in as `login` with `password`.
    pub fn with_login(mut self, login: &str, password: &str) -> Phone {
        self.login = Some((login.to_string(), password.to_string()));
        self
    }

    /// The outcome of the phone's `n`th outgoing call.
    pub fn outcome(&self, n: usize) -> Option<Outcome> {
        let id = self.order.get(n)?;
        self.outgoing.get(id)?.outcome.clone()
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        [
            self.tx.next_deadline(),
            self.later.keys().next().map(|k| k.0),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn peer(&self) -> Peer {
        self.pbx
    }

    fn via(&mut self) -> String {
        let branch = self.random.branch();
        let proto = if self.link == Link::Tcp { "TCP" } else { "UDP" };
        format!("SIP/2.0/{proto} {};branch={branch};rport", self.addr)
    }

    fn sdp(&self) -> String {
        let (profile, crypto) = if self.srtp {
            (
                "RTP/SAVP",
                "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WnD7c1ksDGs+dIefCEo8omPg4uO8DYIinNGL5yxQ\r\n",
            )
        } else {
            ("RTP/AVP", "")
        };
        format!(
            "v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio {port} {profile} 0 101\r\na=rtpmap:101 telephone-event/8000\r\n{crypto}",
            ip = self.addr.ip(),
            port = self.addr.port() + 1000
        )
    }

    fn at(&mut self, when: Instant, what: Later) {
        self.seq += 1;
        self.later.insert((when, self.seq), what);
    }

    /// Sends REGISTER (the answer to the PBX's challenge follows by itself).
    pub fn register(&mut self, now: Instant, expires: u32, out: &mut Vec<Transmit>) {
        let Some((login, _)) = self.login.clone() else {
            return;
        };
        let call_id = format!("reg-{}@{}", self.name, self.addr);
        let mut r = Request::new(
            Method::Register,
            format!("sip:{}", self.domain).parse().unwrap(),
        );
        let h = r.headers_mut();
        h.push("Via", self.via());
        h.push("Max-Forwards", "70");
        h.push(
            "From",
            format!("<sip:{login}@{}>;tag={}", self.domain, self.name),
        );
        h.push("To", format!("<sip:{login}@{}>", self.domain));
        h.push("Call-ID", call_id);
        self.seq += 1;
        h.push("CSeq", format!("{} REGISTER", self.seq));
        let transport = if self.link == Link::Tcp {
            ";transport=tcp"
        } else {
            ""
        };
        h.push("Contact", format!("<sip:{login}@{}{transport}>", self.addr));
        h.push("Expires", expires.to_string());
        let peer = self.peer();
        self.tx.send(r, peer, Role::Register, now, out);
    }

    /// Dials `target` (a URI user: extension, number); hangs up after `hold` once answered,
    /// or cancels after `cancel_after` if not answered by then. Returns the Call-ID.
    pub fn dial(
        &mut self,
        target: &str,
        hold: Option<Duration>,
        cancel_after: Option<Duration>,
        now: Instant,
        out: &mut Vec<Transmit>,
    ) -> String {
        let call_id = format!("{}@{}", self.random.token(8), self.addr);
        let user = self
            .login
            .as_ref()
            .map_or_else(|| "+79161112233".to_string(), |l| l.0.clone());
        let mut r = Request::new(
            Method::Invite,
            format!("sip:{target}@{}", self.domain).parse().unwrap(),
        );
        let h = r.headers_mut();
        h.push("Via", self.via());
        h.push("Max-Forwards", "70");
        h.push(
            "From",
            format!("<sip:{user}@{}>;tag={}", self.domain, self.random.tag()),
        );
        h.push("To", format!("<sip:{target}@{}>", self.domain));
        h.push("Call-ID", &call_id);
        h.push("CSeq", "1 INVITE");
        h.push("Contact", format!("<sip:{user}@{}>", self.addr));
        h.push("Content-Type", "application/sdp");
        r.set_body(self.sdp());
        self.outgoing.insert(
            call_id.clone(),
            Outgoing {
                invite: r.clone(),
                dialog: None,
                hold,
                authenticated: false,
                outcome: None,
            },
        );
        self.order.push(call_id.clone());
        if let Some(after) = cancel_after {
            self.at(now + after, Later::Cancel(call_id.clone()));
        }
        let peer = self.peer();
        self.tx
            .send(r, peer, Role::Invite(call_id.clone()), now, out);
        call_id
    }

    /// A datagram from `from`.
    pub fn receive(
        &mut self,
        bytes: &[u8],
        from: SocketAddr,
        now: Instant,
        out: &mut Vec<Transmit>,
    ) {
        let Ok(message) = Message::parse(bytes) else {
            return;
        };
        let from = Peer {
            addr: from,
            link: self.link,
        };
        match message {
            Message::Request(r) => self.request(r, from, now, out),
            Message::Response(r) => self.response(r, now, out),
        }
    }

    /// Fires what is due at `now`.
    pub fn timeout(&mut self, now: Instant, out: &mut Vec<Transmit>) {
        for (role, _) in self.tx.on_timeout(now, out) {
            if let Role::Invite(id) = role {
                if let Some(c) = self.outgoing.get_mut(&id) {
                    c.outcome.get_or_insert(Outcome::TimedOut);
                }
            }
        }
        while let Some(entry) = self.later.first_entry() {
            if entry.key().0 > now {
                break;
            }
            match entry.remove() {
                Later::Pick(id) => self.pick(&id, now, out),
                Later::Bye(id) => self.bye(&id, now, out),
                Later::Cancel(id) => self.cancel(&id, now, out),
            }
        }
    }

    fn request(&mut self, mut r: Request, from: Peer, now: Instant, out: &mut Vec<Transmit>) {
        let Ok(via) = r.headers().top_via() else {
            return;
        };
        let (via, reply_to) = stamp_received(&mut r, &via, from);
        let key = match self.tx.on_request(&r, &via, reply_to, now, out) {
            Incoming::Absorbed => return,
            Incoming::New(key) => key,
        };
        let call_id = r.headers().call_id().unwrap_or_default().to_string();
        let tag = self.random.tag();
        let reply =
            |tx: &mut Transactions<Role>, resp: Response, out: &mut Vec<Transmit>| match &key {
                Some(k) => tx.respond(k, &resp, now, out),
                None => out.push(Transmit {
                    to: reply_to,
                    bytes: resp.to_bytes(),
                }),
            };
        match r.method() {
            Method::Invite if r.headers().to().is_ok_and(|t| t.tag().is_some()) => {
                // A re-INVITE: accepted with our SDP.
                let mut ok = respond(&r, StatusCode::OK, "OK", &tag);
                ok.headers_mut()
                    .push("Contact", format!("<sip:{}@{}>", self.name, self.addr));
                ok.headers_mut().push("Content-Type", "application/sdp");
                ok.set_body(self.sdp());
                reply(&mut self.tx, ok, out);
            }
            Method::Invite => {
                if let Some((user, password)) = self.challenge_invites.clone() {
                    if !self.challenged.contains_key(&call_id) {
                        self.challenged.insert(call_id.clone(), true);
                        let mut c = respond(
                            &r,
                            StatusCode::PROXY_AUTHENTICATION_REQUIRED,
                            "Proxy Authentication Required",
                            &tag,
                        );
                        c.headers_mut().push(
                            "Proxy-Authenticate",
                            format!(
                                r#"Digest realm="{}", nonce="gw{}", qop="auth""#,
                                self.domain, self.seq
                            ),
                        );
                        return reply(&mut self.tx, c, out);
                    }
                    let ok = r
                        .headers()
                        .get("Proxy-Authorization")
                        .and_then(crate::sip::auth::Credentials::parse)
                        .is_some_and(|c| digest_ok(&c, "INVITE", &user, &password));
                    if !ok {
                        let f = respond(&r, StatusCode::FORBIDDEN, "Forbidden", &tag);
                        return reply(&mut self.tx, f, out);
                    }
                }
                let answer = self
                    .answers
                    .pop_front()
                    .unwrap_or_else(|| self.default_answer.clone());
                self.incoming.insert(
                    call_id.clone(),
                    Incoming_ {
                        invite: r.clone(),
                        key: key.clone(),
                        tag: tag.clone(),
                        finished: false,
                        dialog: None,
                    },
                );
                match answer {
                    Answer::Pick { after, hold } => {
                        let ringing = respond(&r, StatusCode::RINGING, "Ringing", &tag);
                        reply(&mut self.tx, ringing, out);
                        self.at(now + after, Later::Pick(call_id.clone()));
                        if let Some(hold) = hold {
                            self.at(now + after + hold, Later::Bye(call_id));
                        }
                    }
                    Answer::Ring => {
                        let ringing = respond(&r, StatusCode::RINGING, "Ringing", &tag);
                        reply(&mut self.tx, ringing, out);
                    }
                    Answer::Trying => {
                        let trying = respond(&r, StatusCode::TRYING, "Trying", &tag);
                        reply(&mut self.tx, trying, out);
                    }
                    Answer::Refuse(code) => {
                        let code = StatusCode::new(code).unwrap();
                        let resp = respond(&r, code, code.canonical_reason(), &tag);
                        reply(&mut self.tx, resp, out);
                        if let Some(c) = self.incoming.get_mut(&call_id) {
                            c.finished = true;
                        }
                    }
                    Answer::Silent => {}
                }
            }
            Method::Cancel => {
                let ok = respond(&r, StatusCode::OK, "OK", &tag);
                reply(&mut self.tx, ok, out);
                if let Some(c) = self.incoming.get_mut(&call_id) {
                    if !c.finished {
                        c.finished = true;
                        let terminated = respond(
                            &c.invite,
                            StatusCode::REQUEST_TERMINATED,
                            "Request Terminated",
                            &c.tag,
                        );
                        if let Some(k) = &c.key {
                            self.tx.respond(k, &terminated, now, out);
                        }
                    }
                }
                self.later.retain(
                    |_, l| !matches!(l, Later::Pick(id) | Later::Bye(id) if *id == call_id),
                );
            }
            Method::Bye => {
                let ok = respond(&r, StatusCode::OK, "OK", &tag);
                reply(&mut self.tx, ok, out);
                self.incoming.remove(&call_id);
                if let Some(c) = self.outgoing.get_mut(&call_id) {
                    c.dialog = None;
                }
                self.later
                    .retain(|_, l| !matches!(l, Later::Bye(id) if *id == call_id));
            }
            Method::Register => {
                let Some(grant) = self.registrar else { return };
                let resp = if r.headers().get("Authorization").is_none() {
                    let mut c = respond(&r, StatusCode::UNAUTHORIZED, "Unauthorized", &tag);
                    c.headers_mut().push(
                        "WWW-Authenticate",
                        format!(
                            r#"Digest realm="{}", nonce="reg{}", qop="auth""#,
                            self.domain, self.seq
                        ),
                    );
                    c
                } else {
                    let mut ok = respond(&r, StatusCode::OK, "OK", &tag);
                    let expires: u32 = r
                        .headers()
                        .get("Expires")
                        .and_then(|e| e.parse().ok())
                        .unwrap_or(grant);
                    ok.headers_mut()
                        .push("Expires", expires.min(grant).to_string());
                    ok
                };
                reply(&mut self.tx, resp, out);
            }
            Method::Ack => {}
            _ => {
                let ok = respond(&r, StatusCode::OK, "OK", &tag);
                reply(&mut self.tx, ok, out);
            }
        }
    }

    fn response(&mut self, r: Response, now: Instant, out: &mut Vec<Transmit>) {
        let code = r.code().as_u16();
        match self.tx.on_response(r, now, out) {
            TxAnswer::Owned {
                owner: Role::Register,
                request,
                response,
                ..
            } => {
                if code == 401 && !request.headers().contains("Authorization") {
                    let Some((login, password)) = self.login.clone() else {
                        return;
                    };
                    let uri = request.uri().to_string();
                    let Some((header, auth)) =
                        crate::sip::auth::answer(&response, "REGISTER", &uri, &login, &password)
                    else {
                        return;
                    };
                    let mut again = (*request).clone();
                    again.headers_mut().set("Via", self.via());
                    self.seq += 1;
                    again
                        .headers_mut()
                        .set("CSeq", format!("{} REGISTER", self.seq));
                    again.headers_mut().push(header, auth);
                    let peer = self.peer();
                    self.tx.send(again, peer, Role::Register, now, out);
                } else if code >= 200 {
                    self.register_answers.push(code);
                    self.registered = (200..300).contains(&code);
                }
            }
            TxAnswer::Owned {
                owner: Role::Invite(id),
                request,
                response,
                to,
            } => self.invite_answered(&id, &request, response, to, now, out),
            TxAnswer::Owned {
                owner: Role::ReInvite,
                request,
                response,
                to,
            } if response.code().is_success() => {
                let seq = request.headers().cseq().map_or(1, |c| c.seq);
                if let Some(d) = Dialog::as_uac(&request, &response, to) {
                    let via = self.via();
                    out.push(Transmit {
                        to: d.next_hop(),
                        bytes: d.ack(seq, &via).to_bytes(),
                    });
                }
            }
            TxAnswer::Stray(response) if response.code().is_success() => {
                // A retransmitted 200: ACK it again.
                let id = response.headers().call_id().unwrap_or_default().to_string();
                if let Some(d) = self.outgoing.get(&id).and_then(|c| c.dialog.clone()) {
                    let via = self.via();
                    let ack = d.ack(1.max(d.local_seq), &via);
                    out.push(Transmit {
                        to: d.next_hop(),
                        bytes: ack.to_bytes(),
                    });
                }
            }
            _ => {}
        }
    }

    fn invite_answered(
        &mut self,
        id: &str,
        request: &Request,
        response: Response,
        to: Peer,
        now: Instant,
        out: &mut Vec<Transmit>,
    ) {
        let code = response.code().as_u16();
        let Some(call) = self.outgoing.get_mut(id) else {
            return;
        };
        match code {
            100..=199 => {}
            200..=299 => {
                let Some(dialog) = Dialog::as_uac(request, &response, to) else {
                    return;
                };
                let seq = request.headers().cseq().map_or(1, |c| c.seq);
                let branch = self.random.branch();
                let proto = if self.link == Link::Tcp { "TCP" } else { "UDP" };
                let via = format!("SIP/2.0/{proto} {};branch={branch};rport", self.addr);
                let ack = dialog.ack(seq, &via);
                out.push(Transmit {
                    to: dialog.next_hop(),
                    bytes: ack.to_bytes(),
                });
                if call.outcome.is_none() {
                    call.outcome = Some(Outcome::Answered);
                    call.dialog = Some(dialog);
                    if let Some(hold) = call.hold {
                        let id = id.to_string();
                        self.at(now + hold, Later::Bye(id));
                    }
                }
            }
            401 | 407 if !call.authenticated => {
                let Some((login, password)) = self.login.clone() else {
                    call.outcome = Some(Outcome::Refused(code));
                    return;
                };
                let uri = request.uri().to_string();
                let Some((answer, auth)) =
                    crate::sip::auth::answer(&response, "INVITE", &uri, &login, &password)
                else {
                    return;
                };
                let mut again = request.clone();
                let branch = self.random.branch();
                let proto = if self.link == Link::Tcp { "TCP" } else { "UDP" };
                again.headers_mut().set(
                    "Via",
                    format!("SIP/2.0/{proto} {};branch={branch};rport", self.addr),
                );
                again.headers_mut().set("CSeq", "2 INVITE");
                again.headers_mut().push(answer, auth);
                call.authenticated = true;
                call.invite = again.clone();
                let peer = self.pbx;
                self.tx
                    .send(again, peer, Role::Invite(id.to_string()), now, out);
            }
            _ => {
                call.outcome.get_or_insert(Outcome::Refused(code));
            }
        }
    }

    fn pick(&mut self, id: &str, now: Instant, out: &mut Vec<Transmit>) {
        let sdp = self.sdp();
        let Some(c) = self.incoming.get_mut(id) else {
            return;
        };
        if c.finished {
            return;
        }
        c.finished = true;
        let mut ok = respond(&c.invite, StatusCode::OK, "OK", &c.tag);
        ok.headers_mut()
            .push("Contact", format!("<sip:{}@{}>", self.name, self.addr));
        ok.headers_mut().push("Content-Type", "application/sdp");
        ok.set_body(sdp);
        if let Some(k) = &c.key {
            self.tx.respond(k, &ok, now, out);
        }
        c.dialog = Dialog::as_uas(&c.invite, &c.tag, self.pbx);
    }

    /// A re-INVITE (hold) in the phone's first answered call.
    pub fn reinvite(&mut self, now: Instant, out: &mut Vec<Transmit>) {
        let via = self.via();
        // A Contact of its own, as a phone that moved lines would send (a target refresh).
        let contact = format!("<sip:{}@{};line=2>", self.name, self.addr);
        let sdp = self.sdp().replace("a=rtpmap", "a=sendonly\r\na=rtpmap");
        let dialog = self
            .incoming
            .values_mut()
            .find_map(|c| c.dialog.as_mut())
            .or_else(|| self.outgoing.values_mut().find_map(|c| c.dialog.as_mut()));
        let Some(dialog) = dialog else { return };
        let mut r = dialog.request(Method::Invite, &via);
        r.headers_mut().push("Contact", contact);
        r.headers_mut().push("Content-Type", "application/sdp");
        r.set_body(sdp);
        let to = dialog.next_hop();
        self.tx.send(r, to, Role::ReInvite, now, out);
    }

    /// A key press as SIP INFO (`application/dtmf-relay`) in the phone's first call it placed.
    pub fn info(&mut self, digit: char, now: Instant, out: &mut Vec<Transmit>) {
        let via = self.via();
        let Some(dialog) = self.outgoing.values_mut().find_map(|c| c.dialog.as_mut()) else {
            return;
        };
        let mut r = dialog.request(Method::Info, &via);
        r.headers_mut()
            .push("Content-Type", "application/dtmf-relay");
        r.set_body(format!("Signal={digit}\r\nDuration=160\r\n"));
        let to = dialog.next_hop();
        self.tx.send(r, to, Role::Other, now, out);
    }

    /// Hangs up the first call the phone placed that was answered.
    pub fn hang_up(&mut self, now: Instant, out: &mut Vec<Transmit>) {
        let id = self
            .order
            .iter()
            .find(|id| self.outgoing.get(*id).is_some_and(|c| c.dialog.is_some()))
            .cloned();
        if let Some(id) = id {
            self.bye(&id, now, out);
        }
    }

    fn bye(&mut self, id: &str, now: Instant, out: &mut Vec<Transmit>) {
        let via = self.via();
        let (request, to) = if let Some(c) = self.outgoing.get_mut(id) {
            let Some(d) = c.dialog.as_mut() else { return };
            (d.request(Method::Bye, &via), d.next_hop())
        } else if let Some(c) = self.incoming.remove(id) {
            let Some(mut d) = c.dialog else { return };
            (d.request(Method::Bye, &via), d.next_hop())
        } else {
            return;
        };
        self.tx.send(request, to, Role::Other, now, out);
    }

    fn cancel(&mut self, id: &str, now: Instant, out: &mut Vec<Transmit>) {
        let Some(c) = self.outgoing.get(id) else {
            return;
        };
        if c.outcome.is_some() {
            return;
        }
        let invite = &c.invite;
        let mut cancel = Request::new(Method::Cancel, invite.uri().clone());
        for name in ["Via", "From", "To", "Call-ID"] {
            if let Some(v) = invite.headers().get(name) {
                cancel.headers_mut().push(name, v);
            }
        }
        let seq = invite.headers().cseq().map_or(1, |c| c.seq);
        cancel.headers_mut().push("CSeq", format!("{seq} CANCEL"));
        cancel.headers_mut().push("Max-Forwards", "70");
        let peer = self.pbx;
        self.tx.send(cancel, peer, Role::Other, now, out);
    }
}

/// Whether digest credentials `c` for `method` are right for `user` and `password` (MD5,
/// `qop=auth`), as a gateway checks them.
fn digest_ok(c: &crate::sip::auth::Credentials, method: &str, user: &str, password: &str) -> bool {
    use md5::{Digest, Md5};
    let hex = |s: String| -> String {
        Md5::digest(s.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let ha1 = hex(format!("{user}:{}:{password}", c.realm));
    let ha2 = hex(format!("{method}:{}", c.uri));
    let (Some(nc), Some(cnonce), Some(qop)) = (&c.nc, &c.cnonce, &c.qop) else {
        return false;
    };
    let expected = hex(format!("{ha1}:{}:{nc}:{cnonce}:{qop}:{ha2}", c.nonce));
    c.username == user && c.response == expected
}
