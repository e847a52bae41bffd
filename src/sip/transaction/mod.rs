//! The RFC 3261 §17 transaction state machines, sans-io: no sockets, no tasks, no sleeping and
//! no clock reads. Each machine is fed events (a response, a request retransmission, a response
//! from the TU, a timer expiry) together with the caller's `now`, and answers with a list of
//! [`Action`]s — messages to send, messages to pass up, timers to arm or cancel — that the
//! transport driver carries out. RFC 3261's state tables thereby become table tests.
//!
//! Messages are opaque values of the caller's type `M` (the codec lives in `sip::message`);
//! a machine only needs a response's status code, which the caller passes alongside it.
//!
//! This module owns what the four machines share: [`Timer`] and its RFC 3261 Table 4 values
//! ([`TimerConfig`]), [`Reliability`], [`Action`] and [`State`]. The machines are
//! [`ClientInvite`], [`ClientNonInvite`], [`ServerInvite`] and [`ServerNonInvite`];
//! [`TransactionKey`] is how the driver matches a message to its transaction.
//!
//! Contract with the driver:
//! - Carry out a returned action list in order. `SetTimer(t, at)` replaces any armed timer `t`
//!   of the same transaction; `CancelTimer(t)` disarms it. Deliver an expiry with `on_timer`.
//! - After [`Action::Terminated`] the transaction is finished: drop it together with every timer
//!   still armed for it (machines do not cancel timers before terminating). Any event given to
//!   a terminated machine returns no actions.
//! - A timer that fires in a state where it no longer applies (a cancellation that raced the
//!   expiry) is ignored, so delivering a stale expiry is harmless.
//! - Timers whose RFC value is zero on a reliable transport (D, I, J, K) are not armed at all:
//!   the machine terminates in the same step. Retransmission timers (A, E, G) are never armed on
//!   a reliable transport.

mod client_invite;
mod client_non_invite;
mod key;
mod server_invite;
mod server_non_invite;

/// How a client transaction starts (RFC 3261 §17.1.1.2, §17.1.2.2): the request is sent, the
/// `retransmit` timer armed (unreliable transports only) and the `timeout` timer armed. Returns
/// the actions and the retransmit interval armed (zero when none).
fn start_client<M: Clone>(
    request: &M,
    retransmit: Timer,
    timeout: Timer,
    reliability: Reliability,
    timers: &TimerConfig,
    now: Instant,
) -> (Vec<Action<M>>, Duration) {
    let mut actions = vec![Action::Send(request.clone())];
    let interval = timers.initial(retransmit, reliability);
    if let Some(r) = interval {
        actions.push(Action::SetTimer(retransmit, now + r));
    }
    if let Some(t) = timers.initial(timeout, reliability) {
        actions.push(Action::SetTimer(timeout, now + t));
    }
    (actions, interval.unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests;

pub use client_invite::ClientInvite;
pub use client_non_invite::ClientNonInvite;
pub use key::{is_rfc3261_branch, TransactionKey, MAGIC_COOKIE};
pub use server_invite::ServerInvite;
pub use server_non_invite::ServerNonInvite;

use std::time::{Duration, Instant};

/// The RFC 3261 transaction timers (Table 4). Timer C (the INVITE proxy timer) belongs to the
/// TU, not to a transaction, and is not here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    /// INVITE client: retransmit the request (unreliable transports only).
    A,
    /// INVITE client: give up waiting for any response (64·T1).
    B,
    /// INVITE client: wait in Completed for retransmitted final responses.
    D,
    /// Non-INVITE client: retransmit the request (unreliable transports only).
    E,
    /// Non-INVITE client: give up waiting for a final response (64·T1).
    F,
    /// INVITE server: retransmit the non-2xx final response (unreliable transports only).
    G,
    /// INVITE server: give up waiting for the ACK (64·T1).
    H,
    /// INVITE server: wait in Confirmed for retransmitted ACKs.
    I,
    /// Non-INVITE server: wait in Completed for retransmitted requests.
    J,
    /// Non-INVITE client: wait in Completed for retransmitted responses.
    K,
}

/// Whether the transport retransmits for us (TCP, TLS) or not (UDP). It decides whether the
/// retransmission timers run and how long the wait states last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reliability {
    /// A reliable, connection-oriented transport (TCP, TLS, SCTP).
    Reliable,
    /// An unreliable transport (UDP).
    Unreliable,
}

/// The base values RFC 3261 Table 4 derives every timer from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerConfig {
    /// RTT estimate (default 500 ms).
    pub t1: Duration,
    /// The maximum retransmission interval for non-INVITE requests and INVITE responses
    /// (default 4 s).
    pub t2: Duration,
    /// The maximum time a message stays in the network (default 5 s).
    pub t4: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        TimerConfig {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

impl TimerConfig {
    /// Timer D on an unreliable transport: "at least 32 seconds" (RFC 3261 §17.1.1.2).
    pub const TIMER_D_UNRELIABLE: Duration = Duration::from_secs(32);

    /// The first value of `timer` on a transport of the given reliability, per RFC 3261
    /// Table 4. `None` means the timer is not used on that transport (A, E and G on a reliable
    /// one); `Some(Duration::ZERO)` means it expires at once (D, I, J and K on a reliable one).
    /// Retransmission timers then grow as each machine describes.
    pub fn initial(&self, timer: Timer, reliability: Reliability) -> Option<Duration> {
        let unreliable = reliability == Reliability::Unreliable;
        let unless_reliable = |d: Duration| if unreliable { d } else { Duration::ZERO };
        match timer {
            Timer::A | Timer::E | Timer::G => unreliable.then_some(self.t1),
            Timer::B | Timer::F | Timer::H => Some(self.t1 * 64),
            Timer::D => Some(unless_reliable(Self::TIMER_D_UNRELIABLE)),
            Timer::I | Timer::K => Some(unless_reliable(self.t4)),
            Timer::J => Some(unless_reliable(self.t1 * 64)),
        }
    }

    /// The retransmission interval after `previous`: doubled, and capped at T2 when `capped`
    /// (timers E and G; timer A is not capped).
    fn backoff(&self, previous: Duration, capped: bool) -> Duration {
        let doubled = previous.saturating_mul(2);
        if capped {
            doubled.min(self.t2)
        } else {
            doubled
        }
    }
}

/// What a machine asks its driver to do. Plain data; the driver carries the actions out in
/// order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action<M> {
    /// Transmit (or retransmit) this message to the peer over the transaction's transport.
    Send(M),
    /// INVITE client only: build the ACK for this non-2xx final response (RFC 3261 §17.1.1.3:
    /// same Request-URI, Call-ID, From, CSeq number and top Via as the INVITE, the To of the
    /// response, method ACK) and send it. Emitted again for each retransmission of the final
    /// response, so the driver may cache the ACK it built.
    SendAck(M),
    /// Deliver this message to the transaction user: a response (client machines) or the
    /// request that created the transaction (server machines).
    PassUp(M),
    /// Arm `timer` to expire at the given instant, replacing it if it is armed.
    SetTimer(Timer, Instant),
    /// Disarm `timer`.
    CancelTimer(Timer),
    /// Tell the TU the transaction failed by timeout: timer B or F (no final response) or H
    /// (no ACK). Always followed by [`Action::Terminated`].
    TimedOut,
    /// The transaction is over: the driver drops it and all of its timers.
    Terminated,
}

/// The state of a transaction. Each machine uses a subset: INVITE client Calling, Proceeding,
/// Completed, Terminated; non-INVITE client Trying, Proceeding, Completed, Terminated; INVITE
/// server Proceeding, Completed, Confirmed, Terminated; non-INVITE server Trying, Proceeding,
/// Completed, Terminated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// INVITE client: the INVITE is sent, no response yet.
    Calling,
    /// Non-INVITE client or server: no provisional or final response yet.
    Trying,
    /// A provisional response was received (client) or sent (server).
    Proceeding,
    /// A final response was received (client) or a non-2xx final sent (INVITE server) or any
    /// final sent (non-INVITE server); absorbing retransmissions.
    Completed,
    /// INVITE server: the ACK arrived; absorbing ACK retransmissions.
    Confirmed,
    /// Finished; the machine ignores every event.
    Terminated,
}

/// The class of a status code as the machines see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    /// 100-199.
    Provisional,
    /// 200-299.
    Success,
    /// 300-699.
    Failure,
}

impl Class {
    /// The class of `status`, or `None` for a code outside 100-699 (which machines ignore).
    fn of(status: u16) -> Option<Class> {
        match status {
            100..=199 => Some(Class::Provisional),
            200..=299 => Some(Class::Success),
            300..=699 => Some(Class::Failure),
            _ => None,
        }
    }
}
