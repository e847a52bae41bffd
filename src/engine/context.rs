//! What a call works with while it handles an event: the time, the transaction layer, the
//! output queue, randomness, the engine's timers and dialog index, and the shared state
//! (location, presence, relay ports) — lent by the engine for the length of one event, so no
//! call holds any of it and no type's methods spread over the engine's files.

use super::io::{Now, Output};
use super::presence::Presence;
use super::random::Random;
use super::shard::Shard;
use crate::media::anchor::{MediaCommand, Ports, RelayId};
use crate::sip::link::{Link, Locals, Peer, Transmit};
use crate::sip::message::{Request, Response};
use crate::sip::registrar::Location;
use crate::sip::transaction::TransactionKey;
use crate::sip::transactions::Transactions;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

/// A call of one shard.
pub type CallId = u64;

/// Which way a re-INVITE goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Toward {
    Caller,
    Callee,
}

/// Which side of a call a dialog is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// The caller's dialog (the PBX answered it).
    Caller,
    /// One of the legs the PBX started (by index).
    Leg(usize),
}

/// What a client transaction belongs to; it comes back with every answer.
#[derive(Clone, Debug)]
pub enum Owner {
    /// A leg's INVITE.
    Leg { call: CallId, leg: usize },
    /// A re-INVITE passed from one side of a call to the other: the originating side's
    /// transaction and request, to answer.
    ReInvite {
        call: CallId,
        toward: Toward,
        origin: TransactionKey,
        request: Arc<Request>,
    },
    /// A request whose answer changes nothing (BYE, CANCEL).
    Fire,
    /// A trunk's REGISTER (by trunk label).
    Trunk(String),
}

/// How requests find their call.
#[derive(Default)]
pub struct Index {
    /// (Call-ID, our tag) -> call and side.
    pub dialogs: HashMap<(String, String), (CallId, End)>,
    /// The caller's INVITE transaction -> call (for CANCEL).
    pub invites: HashMap<TransactionKey, CallId>,
}

/// What an engine timer is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// A call's routing deadline.
    Flow(CallId),
    /// A call's 200 retransmission to the caller.
    Caller(CallId),
    /// A finished call's record waits for its relay's counts until then.
    Record(RelayId),
    /// A finished call stops waiting for its legs' last answers.
    Linger(CallId),
    /// Registrations expire (one shard sweeps for all).
    Sweep,
    /// Trunk registrations are due.
    Trunks,
}

/// The engine's own timers (the transactions keep theirs). Stale ones are harmless: whoever
/// a timer is for checks it is still due.
#[derive(Default)]
pub struct Timers {
    map: BTreeMap<(Instant, u64), Timer>,
    seq: u64,
}

impl Timers {
    pub fn set(&mut self, at: Instant, timer: Timer) {
        self.seq += 1;
        self.map.insert((at, self.seq), timer);
    }

    pub fn next(&self) -> Option<Instant> {
        self.map.keys().next().map(|(at, _)| *at)
    }

    /// The next timer due at `now`, taken off.
    pub fn pop_due(&mut self, now: Instant) -> Option<Timer> {
        let entry = self.map.first_entry()?;
        if entry.key().0 > now {
            return None;
        }
        Some(entry.remove())
    }
}

/// What a call is lent for one event.
pub struct Ctx<'a> {
    pub now: Now,
    pub shard: Shard,
    pub locals: &'a Locals,
    pub tx: &'a mut Transactions<Owner>,
    pub out: &'a mut VecDeque<Output>,
    pub random: &'a mut Random,
    pub timers: &'a mut Timers,
    pub index: &'a mut Index,
    pub location: &'a dyn Location,
    pub presence: &'a Presence,
    pub ports: &'a dyn Ports,
}

impl Ctx<'_> {
    /// A Via for a new request over `link`, with a fresh branch.
    pub fn via(&mut self, link: Link) -> String {
        let branch = self.random.branch();
        self.locals.via(link, &branch)
    }

    /// Our Contact over `link`.
    pub fn contact(&self, link: Link) -> String {
        self.locals.contact(link, "pbx")
    }

    /// Sends `request` (with our fresh Via on top) to `to` in a client transaction.
    pub fn send(&mut self, request: Request, to: Peer, owner: Owner) {
        let mut sent = Vec::new();
        self.tx.send(request, to, owner, self.now.mono, &mut sent);
        self.out.extend(sent.into_iter().map(Output::Transmit));
    }

    /// Answers through server transaction `key`.
    pub fn respond(&mut self, key: &TransactionKey, response: &Response) {
        let mut sent = Vec::new();
        self.tx.respond(key, response, self.now.mono, &mut sent);
        self.out.extend(sent.into_iter().map(Output::Transmit));
    }

    /// Sends bytes outside any transaction (an ACK for a 2xx, a 2xx retransmission).
    pub fn transmit(&mut self, to: Peer, bytes: Vec<u8>) {
        self.out.push_back(Output::Transmit(Transmit { to, bytes }));
    }

    pub fn media(&mut self, command: MediaCommand) {
        self.out.push_back(Output::Media(command));
    }
}
