//! The engine's one way in and one way out: every `Input` it takes (a message, the time
//! passing, a media event, a new config, stopping) and every `Output` it asks of its driver
//! (bytes to send, a media command, a finished call's record, bindings to persist, a line for
//! the operator, and last the time to be woken at). Time comes in with the inputs as `Now`;
//! nothing inside reads a clock.

use super::directory::Directory;
use crate::media::anchor::{MediaCommand, MediaEvent};
use crate::routing::queue::{Attempt, Callback, Order};
use crate::sip::link::{Peer, Transmit};
use crate::sip::message::Message;
use crate::sip::registrar::{Aor, Binding};
use crate::store::CallRecord;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

/// The time as the driver read it: monotonic for timers, the wall clock (ms since the Unix
/// epoch) for records, registrations and schedules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now {
    pub mono: Instant,
    pub wall_ms: u64,
}

impl Now {
    /// `ms` milliseconds later on both clocks.
    pub fn after_ms(self, ms: u64) -> Now {
        Now {
            mono: self.mono + std::time::Duration::from_millis(ms),
            wall_ms: self.wall_ms + ms,
        }
    }

    /// The wall clock at monotonic instant `at` (at or after this one).
    pub fn wall_at(self, at: Instant) -> u64 {
        self.wall_ms + at.saturating_duration_since(self.mono).as_millis() as u64
    }
}

/// Everything the engine is told. (Inputs are moved once, straight into `handle`: the size of
/// a parsed message is not worth a box.)
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Input {
    /// A message arrived from `from` (parsed by `dispatch`).
    Message {
        now: Now,
        from: Peer,
        message: Message,
    },
    /// Time passed: whatever is due fires.
    Timeout(Now),
    /// The media driver reports.
    Media { now: Now, event: MediaEvent },
    /// A new running config (an apply, a password rotation): new calls use it, calls in
    /// progress keep theirs.
    Config { now: Now, directory: Arc<Directory> },
    /// Stop taking new calls: they get 503 with `Retry-After`; calls in progress go on.
    Drain,
    /// End every call in progress now: a BYE to both sides of answered calls, CANCEL and 503
    /// for ringing ones.
    EndCalls(Now),
    /// Make this callback now (its queue says it is due): the department's members ring.
    Callback { now: Now, callback: Callback },
}

/// Everything the engine asks for. (Outputs are moved once, out of `poll`.)
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Output {
    /// Send these bytes.
    Transmit(Transmit),
    /// Tell the media driver.
    Media(MediaCommand),
    /// A call ended: its history record (write it; it leaves the journal).
    Record(CallRecord),
    /// A call in progress as it stands (started, answered): keep it in the journal until
    /// its record comes.
    Journal(CallRecord),
    /// An address of record's bindings changed (persist them; empty: forget it).
    Bindings { aor: Aor, bindings: Vec<Binding> },
    /// Something the operator should hear of.
    Notice(Notice),
    /// A caller ordered a callback: into its department's queue.
    CallbackOrdered(Order),
    /// An attempt of callback `id` ended (its call's record comes separately).
    CallbackEnded { id: u64, attempt: Attempt },
    /// Nothing more for now: call `handle(Input::Timeout)` at this instant (or earlier with
    /// any other input).
    Timeout(Instant),
}

/// Lines for the server log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// A trunk registered with its gateway.
    TrunkRegistered {
        trunk: String,
        gateway: SocketAddr,
        granted: u32,
    },
    /// A trunk's registration failed; it is retried.
    TrunkFailed {
        trunk: String,
        gateway: SocketAddr,
        code: u16,
        retry_s: u64,
    },
    /// A trunk taken out of the config unregistered.
    TrunkUnregistered {
        trunk: String,
        gateway: SocketAddr,
        code: u16,
    },
    /// A call came when no relay ports were ready; it was refused with 503.
    NoRelayPorts,
    /// Password guessing: a failed digest response, a ban, its end, an account under attack.
    Security(super::guard::Event),
    /// A request refused by a `server.limits` cap.
    Limit(Limit),
    /// A call out through a trunk was not started (once per call): the number is not allowed,
    /// or the tenant is at its cap of calls out.
    OutboundRefused {
        tenant: String,
        number: String,
        why: super::outbound::Refused,
    },
}

/// A `server.limits` cap that refused a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Limit {
    /// A REGISTER would have added a device beyond `contacts_per_person` (403).
    Contacts {
        tenant: String,
        login: String,
        limit: usize,
        source: SocketAddr,
    },
    /// A call beyond the tenant's `calls_per_tenant` (503).
    TenantCalls { tenant: String, limit: u32 },
    /// A call from (or dialled straight to) a person at `calls_per_person` (486).
    PersonCalls {
        tenant: String,
        login: String,
        limit: u32,
        /// Whether the person was the caller (else the callee).
        calling: bool,
    },
    /// New calls beyond the server's `calls` got 503 (`refused` of them since the last
    /// notice: one line a second at most).
    Calls { limit: u32, refused: u64 },
    /// New requests beyond the server's `transactions` got 503 without one (`refused` of
    /// them since the last notice).
    Transactions { limit: u32, refused: u64 },
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Contacts {
                tenant,
                login,
                limit,
                source,
            } => write!(
                f,
                "limit: {login}@{tenant}: REGISTER from {source} refused with 403, it would add a device beyond contacts_per_person {limit}"
            ),
            Limit::TenantCalls { tenant, limit } => write!(
                f,
                "limit: tenant {tenant}: a call refused with 503, {limit} call(s) in progress (calls_per_tenant)"
            ),
            Limit::PersonCalls {
                tenant,
                login,
                limit,
                calling,
            } => write!(
                f,
                "limit: {login}@{tenant}: a call {} refused with 486, {limit} call(s) in progress (calls_per_person)",
                if *calling { "from them" } else { "to them" }
            ),
            Limit::Calls { limit, refused } => write!(
                f,
                "limit: {refused} new call(s) refused with 503, the server has its {limit} calls in progress (calls)"
            ),
            Limit::Transactions { limit, refused } => write!(
                f,
                "limit: {refused} request(s) refused with 503, the server keeps its {limit} transactions (transactions)"
            ),
        }
    }
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Notice::TrunkRegistered {
                trunk,
                gateway,
                granted,
            } => write!(f, "trunk {trunk} registered with {gateway} for {granted} s"),
            Notice::TrunkFailed {
                trunk,
                gateway,
                code,
                retry_s,
            } => write!(
                f,
                "trunk {trunk}: registration with {gateway} failed ({code}), retrying in {retry_s} s"
            ),
            Notice::TrunkUnregistered {
                trunk,
                gateway,
                code,
            } => write!(f, "trunk {trunk}: unregistered from {gateway} ({code})"),
            Notice::Security(event) => write!(f, "{event}"),
            Notice::Limit(limit) => write!(f, "{limit}"),
            Notice::OutboundRefused {
                tenant,
                number,
                why,
            } => write!(f, "tenant {tenant}: call out to {number} not started: {why}"),
            Notice::NoRelayPorts => write!(
                f,
                "no RTP relay ports ready (server.rtp range exhausted?): a call was refused with 503"
            ),
        }
    }
}
