//! `Transactions`: the transaction layer of RFC 3261 §17 over the four pure machines of
//! `transaction/` — which transaction a message belongs to, the machines' timers, and what goes
//! on the wire. Sans-io: messages and the current time in, `Transmit`s out; the caller's own
//! `owner` value rides on every client transaction and comes back with its responses and
//! time-outs, so the transaction user never keeps a map of its own.
//!
//! A request that is not a retransmission gets a server transaction (when it carries an RFC
//! 3261 branch; ACK never does: an ACK for a non-2xx answer is absorbed by its INVITE
//! transaction, one for a 2xx belongs to the dialog). The transaction user answers through
//! [`Transactions::respond`] whenever it likes — at once, or after routing decided. Requests the
//! user sends get a client transaction: retransmitted, timed out, the non-2xx ACK built here
//! (§17.1.1.3), and only the responses the machine passes up reach the user.

use super::link::{Peer, Transmit};
use super::message::{Method, Request, Response, Via};
use super::transaction::{
    Action, ClientInvite, ClientNonInvite, Reliability, ServerInvite, ServerNonInvite, Timer,
    TimerConfig, TransactionKey,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

/// The machines keep messages as shared bytes: a retransmission copies nothing.
type Wire = Arc<[u8]>;

enum ServerMachine {
    NonInvite(ServerNonInvite<Wire>),
    Invite(ServerInvite<Wire>),
}

enum ClientMachine {
    NonInvite(ClientNonInvite<Wire>),
    Invite(ClientInvite<Wire>),
}

struct Server {
    machine: ServerMachine,
    /// Where its responses go.
    to: Peer,
}

struct Client<O> {
    machine: ClientMachine,
    to: Peer,
    owner: O,
    /// The request, for the non-2xx ACK and for the user (a late answer to hang up).
    request: Arc<Request>,
}

/// What a request turned out to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A retransmission (or an ACK for a non-2xx answer): its transaction took care of it.
    Absorbed,
    /// A new request for the user, with its server transaction when it has one (an RFC 2543
    /// request without a magic-cookie branch, and an ACK for a 2xx, have none).
    New(Option<TransactionKey>),
}

/// What a response turned out to be.
pub enum Answer<O> {
    /// A response one of our client transactions passes up to its owner, with its request.
    Owned {
        owner: O,
        request: Arc<Request>,
        /// Where the request went.
        to: Peer,
        response: Response,
    },
    /// Taken care of by its transaction (a retransmission).
    Absorbed,
    /// No transaction: a 2xx to an INVITE retransmitted after its transaction ended (the user
    /// acknowledges it again from the dialog), or something stray.
    Stray(Response),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Server,
    Client,
}

/// Every transaction of one engine.
pub struct Transactions<O> {
    config: TimerConfig,
    servers: HashMap<TransactionKey, Server>,
    clients: HashMap<TransactionKey, Client<O>>,
    timers: BTreeMap<(Instant, u64), (Side, TransactionKey, Timer)>,
    seq: u64,
}

impl<O: Clone> Transactions<O> {
    pub fn new(config: TimerConfig) -> Self {
        Transactions {
            config,
            servers: HashMap::new(),
            clients: HashMap::new(),
            timers: BTreeMap::new(),
            seq: 0,
        }
    }

    /// The timer values in use.
    pub fn config(&self) -> TimerConfig {
        self.config
    }

    /// Server and client transactions alive.
    pub fn len(&self) -> (usize, usize) {
        (self.servers.len(), self.clients.len())
    }

    /// A request arrived (`via`: its top Via, already stamped with `received`/`rport`);
    /// responses go to `reply_to`.
    pub fn on_request(
        &mut self,
        request: &Request,
        via: &Via,
        reply_to: Peer,
        now: Instant,
        out: &mut Vec<Transmit>,
    ) -> Incoming {
        let method = request.method();
        let key = via
            .branch()
            .and_then(|b| TransactionKey::server(b, &via.sent_by(), &method.to_string()));
        let Some(key) = key else {
            return Incoming::New(None);
        };
        if *method == Method::Ack {
            // An ACK for a non-2xx final answer belongs to its INVITE transaction.
            let actions = match self.servers.get_mut(&key) {
                Some(Server {
                    machine: ServerMachine::Invite(m),
                    ..
                }) => m.on_ack(now),
                _ => return Incoming::New(None),
            };
            self.server_actions(&key, actions, out);
            return Incoming::Absorbed;
        }
        if let Some(server) = self.servers.get_mut(&key) {
            let actions = match &mut server.machine {
                ServerMachine::NonInvite(m) => m.on_request_retransmission(now),
                ServerMachine::Invite(m) => m.on_request_retransmission(now),
            };
            self.server_actions(&key, actions, out);
            return Incoming::Absorbed;
        }
        let reliability = reliability(reply_to);
        // The machine hands the request back only to pass it up, which the caller does: it
        // keeps nothing of it.
        let empty: Wire = Arc::from(&[][..]);
        let (machine, actions) = if *method == Method::Invite {
            let (m, a) = ServerInvite::new(empty, reliability, self.config, now);
            (ServerMachine::Invite(m), a)
        } else {
            let (m, a) = ServerNonInvite::new(empty, reliability, self.config, now);
            (ServerMachine::NonInvite(m), a)
        };
        self.servers.insert(
            key.clone(),
            Server {
                machine,
                to: reply_to,
            },
        );
        self.server_actions(&key, actions, out);
        Incoming::New(Some(key))
    }

    /// Forgets server transaction `key` without answering through it (the user answers
    /// statelessly); a retransmission of its request is then new again.
    pub fn discard(&mut self, key: &TransactionKey) {
        self.servers.remove(key);
    }

    /// Sends `response` through server transaction `key` (nothing if it is gone).
    pub fn respond(
        &mut self,
        key: &TransactionKey,
        response: &Response,
        now: Instant,
        out: &mut Vec<Transmit>,
    ) {
        let Some(server) = self.servers.get_mut(key) else {
            return;
        };
        let code = response.code().as_u16();
        let bytes: Wire = Arc::from(response.to_bytes());
        let actions = match &mut server.machine {
            ServerMachine::NonInvite(m) => m.on_tu_response(code, bytes, now),
            ServerMachine::Invite(m) => m.on_tu_response(code, bytes, now),
        };
        self.server_actions(key, actions, out);
    }

    /// Sends `request` (its top Via carries our fresh branch) to `to` in a new client
    /// transaction owned by `owner`. `None` when the request has no usable branch.
    pub fn send(
        &mut self,
        request: Request,
        to: Peer,
        owner: O,
        now: Instant,
        out: &mut Vec<Transmit>,
    ) -> Option<TransactionKey> {
        let via = request.headers().top_via().ok()?;
        let method = request.method().clone();
        let key = TransactionKey::client(via.branch()?, &method.to_string())?;
        let bytes: Wire = Arc::from(request.to_bytes());
        let reliability = reliability(to);
        let (machine, actions) = if method == Method::Invite {
            let (m, a) = ClientInvite::new(bytes, reliability, self.config, now);
            (ClientMachine::Invite(m), a)
        } else {
            let (m, a) = ClientNonInvite::new(bytes, reliability, self.config, now);
            (ClientMachine::NonInvite(m), a)
        };
        self.clients.insert(
            key.clone(),
            Client {
                machine,
                to,
                owner,
                request: Arc::new(request),
            },
        );
        // A client machine's first actions are sends and timers only.
        self.client_actions(&key, actions, None, out);
        Some(key)
    }

    /// The owner of client transaction `key`, to change what it belongs to.
    pub fn owner_mut(&mut self, key: &TransactionKey) -> Option<&mut O> {
        self.clients.get_mut(key).map(|c| &mut c.owner)
    }

    /// A response arrived.
    pub fn on_response(
        &mut self,
        response: Response,
        now: Instant,
        out: &mut Vec<Transmit>,
    ) -> Answer<O> {
        let (Ok(via), Ok(cseq)) = (response.headers().top_via(), response.headers().cseq()) else {
            return Answer::Stray(response);
        };
        let key = via
            .branch()
            .and_then(|b| TransactionKey::client(b, &cseq.method.to_string()));
        let Some(key) = key.filter(|k| self.clients.contains_key(k)) else {
            return Answer::Stray(response);
        };
        let code = response.code().as_u16();
        let empty: Wire = Arc::from(&[][..]);
        let actions = match self.clients.get_mut(&key).map(|c| &mut c.machine) {
            Some(ClientMachine::Invite(m)) => m.on_response(code, empty, now),
            Some(ClientMachine::NonInvite(m)) => m.on_response(code, empty, now),
            None => return Answer::Absorbed,
        };
        let owner = self
            .clients
            .get(&key)
            .map(|c| (c.owner.clone(), c.request.clone(), c.to));
        let passed = self.client_actions(&key, actions, Some(&response), out);
        match (owner, passed) {
            (Some((owner, request, to)), true) => Answer::Owned {
                owner,
                request,
                to,
                response,
            },
            _ => Answer::Absorbed,
        }
    }

    /// The earliest time `on_timeout` has work.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.keys().next().map(|(at, _)| *at)
    }

    /// Fires every timer due at `now`; returns the owners of client transactions that timed
    /// out (no final answer within timer B or F), with their requests.
    pub fn on_timeout(&mut self, now: Instant, out: &mut Vec<Transmit>) -> Vec<(O, Arc<Request>)> {
        let mut timed_out = Vec::new();
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let (side, key, timer) = entry.remove();
            match side {
                Side::Server => {
                    let actions = match self.servers.get_mut(&key).map(|s| &mut s.machine) {
                        Some(ServerMachine::NonInvite(m)) => m.on_timer(timer, now),
                        Some(ServerMachine::Invite(m)) => m.on_timer(timer, now),
                        None => continue,
                    };
                    self.server_actions(&key, actions, out);
                }
                Side::Client => {
                    let owner = self
                        .clients
                        .get(&key)
                        .map(|c| (c.owner.clone(), c.request.clone()));
                    let actions = match self.clients.get_mut(&key).map(|c| &mut c.machine) {
                        Some(ClientMachine::NonInvite(m)) => m.on_timer(timer, now),
                        Some(ClientMachine::Invite(m)) => m.on_timer(timer, now),
                        None => continue,
                    };
                    let timed = actions.iter().any(|a| matches!(a, Action::TimedOut));
                    self.client_actions(&key, actions, None, out);
                    if let (true, Some(owner)) = (timed, owner) {
                        timed_out.push(owner);
                    }
                }
            }
        }
        timed_out
    }

    fn arm(&mut self, side: Side, key: &TransactionKey, timer: Timer, at: Instant) {
        self.seq += 1;
        self.timers
            .insert((at, self.seq), (side, key.clone(), timer));
    }

    fn server_actions(
        &mut self,
        key: &TransactionKey,
        actions: Vec<Action<Wire>>,
        out: &mut Vec<Transmit>,
    ) {
        let Some(to) = self.servers.get(key).map(|s| s.to) else {
            return;
        };
        for action in actions {
            match action {
                Action::Send(bytes) | Action::SendAck(bytes) => out.push(Transmit {
                    to,
                    bytes: bytes.to_vec(),
                }),
                Action::SetTimer(timer, at) => self.arm(Side::Server, key, timer, at),
                Action::Terminated => {
                    self.servers.remove(key);
                }
                Action::PassUp(_) | Action::CancelTimer(_) | Action::TimedOut => {}
            }
        }
    }

    /// Carries out a client machine's actions; `response` is the one just fed to it (what
    /// `PassUp` and `SendAck` refer to). Whether the response is passed up.
    fn client_actions(
        &mut self,
        key: &TransactionKey,
        actions: Vec<Action<Wire>>,
        response: Option<&Response>,
        out: &mut Vec<Transmit>,
    ) -> bool {
        let Some((to, request)) = self.clients.get(key).map(|c| (c.to, c.request.clone())) else {
            return false;
        };
        let mut passed = false;
        for action in actions {
            match action {
                Action::Send(bytes) => out.push(Transmit {
                    to,
                    bytes: bytes.to_vec(),
                }),
                Action::SendAck(_) => {
                    if let Some(ack) = response.and_then(|r| non_2xx_ack(&request, r)) {
                        out.push(Transmit {
                            to,
                            bytes: ack.to_bytes(),
                        });
                    }
                }
                Action::PassUp(_) => passed = true,
                Action::SetTimer(timer, at) => self.arm(Side::Client, key, timer, at),
                Action::Terminated => {
                    self.clients.remove(key);
                }
                Action::CancelTimer(_) | Action::TimedOut => {}
            }
        }
        passed
    }
}

fn reliability(peer: Peer) -> Reliability {
    if peer.link.is_reliable() {
        Reliability::Reliable
    } else {
        Reliability::Unreliable
    }
}

/// The ACK for a non-2xx final answer to our INVITE (RFC 3261 §17.1.1.3): the INVITE's
/// Request-URI, top Via, From, Call-ID, Route and CSeq number, the answer's To.
fn non_2xx_ack(invite: &Request, response: &Response) -> Option<Request> {
    let mut ack = Request::new(Method::Ack, invite.uri().clone());
    let src = invite.headers();
    let h = ack.headers_mut();
    h.push("Via", src.get("Via")?);
    h.push("Max-Forwards", "70");
    h.push("From", src.get("From")?);
    h.push("To", response.headers().get("To")?);
    h.push("Call-ID", src.get("Call-ID")?);
    h.push("CSeq", format!("{} ACK", src.cseq().ok()?.seq));
    for route in src.get_all("Route") {
        h.push("Route", route);
    }
    Some(ack)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::link::Link;
    use crate::sip::message::{Message, StatusCode};
    use std::time::Duration;

    fn peer() -> Peer {
        Peer {
            addr: "10.0.0.2:5060".parse().unwrap(),
            link: Link::Udp(0),
        }
    }

    fn request(text: &str) -> Request {
        match Message::parse(text.replace('\n', "\r\n").as_bytes()).unwrap() {
            Message::Request(r) => r,
            Message::Response(_) => panic!("a request"),
        }
    }

    fn response(text: &str) -> Response {
        let text = text.replace("\r\n", "\n").replace('\n', "\r\n");
        match Message::parse(text.as_bytes()).unwrap() {
            Message::Response(r) => r,
            Message::Request(_) => panic!("a response"),
        }
    }

    const INVITE: &str = "INVITE sip:bob@b.example SIP/2.0\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKone\nFrom: <sip:a@a.example>;tag=1\nTo: <sip:bob@b.example>\nCall-ID: c1\nCSeq: 1 INVITE\nMax-Forwards: 70\nContent-Length: 0\n\n";

    fn first_line(t: &Transmit) -> String {
        String::from_utf8_lossy(&t.bytes)
            .lines()
            .next()
            .unwrap_or("")
            .to_string()
    }

    #[test]
    fn a_server_transaction_answers_retransmissions_and_absorbs_the_non_2xx_ack() {
        let t0 = Instant::now();
        let mut layer: Transactions<u32> = Transactions::new(TimerConfig::default());
        let invite = request(INVITE);
        let via = invite.headers().top_via().unwrap();
        let mut out = Vec::new();
        let Incoming::New(Some(key)) = layer.on_request(&invite, &via, peer(), t0, &mut out) else {
            panic!("a new transaction");
        };
        let busy = Message::response_to(&invite, StatusCode::BUSY_HERE, "Busy Here");
        layer.respond(&key, &busy, t0, &mut out);
        assert_eq!(out.len(), 1);
        // The INVITE again: the same answer, from the transaction.
        assert_eq!(
            layer.on_request(&invite, &via, peer(), t0, &mut out),
            Incoming::Absorbed
        );
        assert_eq!(first_line(&out[1]), "SIP/2.0 486 Busy Here");
        // Timer G retransmits the answer until the ACK.
        layer.on_timeout(t0 + Duration::from_millis(500), &mut out);
        assert_eq!(out.len(), 3);
        let ack = request(
            &INVITE
                .replace("INVITE sip", "ACK sip")
                .replace("1 INVITE", "1 ACK"),
        );
        assert_eq!(
            layer.on_request(&ack, &via, peer(), t0, &mut out),
            Incoming::Absorbed
        );
        layer.on_timeout(t0 + Duration::from_secs(2), &mut out);
        assert_eq!(out.len(), 3, "no retransmission after the ACK");
    }

    #[test]
    fn a_client_transaction_passes_answers_up_acks_failures_and_times_out() {
        let t0 = Instant::now();
        let mut layer: Transactions<&str> = Transactions::new(TimerConfig::default());
        let mut out = Vec::new();
        let key = layer
            .send(request(INVITE), peer(), "leg 1", t0, &mut out)
            .unwrap();
        assert_eq!(out.len(), 1);
        let ringing = response("SIP/2.0 180 Ringing\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKone\nFrom: <sip:a@a.example>;tag=1\nTo: <sip:bob@b.example>;tag=2\nCall-ID: c1\nCSeq: 1 INVITE\nContent-Length: 0\n\n");
        match layer.on_response(ringing.clone(), t0, &mut out) {
            Answer::Owned {
                owner, response, ..
            } => {
                assert_eq!((owner, response.code().as_u16()), ("leg 1", 180))
            }
            _ => panic!("passed up"),
        }
        let busy = response(
            &String::from_utf8_lossy(&ringing.to_bytes()).replace("180 Ringing", "486 Busy Here"),
        );
        assert!(matches!(
            layer.on_response(busy.clone(), t0, &mut out),
            Answer::Owned { .. }
        ));
        assert_eq!(
            first_line(out.last().unwrap()),
            "ACK sip:bob@b.example SIP/2.0"
        );
        // Its retransmission is acknowledged again, not passed up.
        assert!(matches!(
            layer.on_response(busy, t0, &mut out),
            Answer::Absorbed
        ));
        assert_eq!(
            first_line(out.last().unwrap()),
            "ACK sip:bob@b.example SIP/2.0"
        );
        assert!(layer.owner_mut(&key).is_some());
        layer.on_timeout(t0 + Duration::from_secs(40), &mut out);
        assert!(layer.owner_mut(&key).is_none(), "timer D ended it");

        // Nobody answers another: timer B times it out and the owner hears of it.
        let other = INVITE.replace("z9hG4bKone", "z9hG4bKtwo");
        layer.send(request(&other), peer(), "leg 2", t0, &mut out);
        let timed_out = layer.on_timeout(t0 + Duration::from_secs(33), &mut out);
        assert_eq!(timed_out.len(), 1);
        assert_eq!(timed_out[0].0, "leg 2");
        // A 2xx without a transaction is stray: the dialog acknowledges it again.
        let ok = response(
            &String::from_utf8_lossy(&ringing.to_bytes()).replace("180 Ringing", "200 OK"),
        );
        assert!(matches!(
            layer.on_response(ok, t0, &mut out),
            Answer::Stray(_)
        ));
    }
}
