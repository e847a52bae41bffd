//! `ServerInvite`: the INVITE server transaction (RFC 3261 §17.2.1, Figure 7).
//!
//! Created on an incoming INVITE, which it passes up. In Proceeding it sends the TU's
//! provisional responses and answers a retransmitted INVITE with the last of them. A 2xx from
//! the TU is sent and terminates the transaction at once — RFC 3261 behaviour: the TU
//! retransmits its 2xx and receives the ACK for it (RFC 6026's Accepted state is not
//! implemented). A 300-699 moves to Completed, which retransmits it on timer G (T1, doubling,
//! capped at T2; unreliable transports only) and on every retransmitted INVITE, until the ACK
//! arrives (Confirmed) or timer H (64·T1) gives up. Confirmed absorbs retransmitted ACKs until
//! timer I (T4; zero on a reliable transport, so the transaction ends at once).

use std::time::{Duration, Instant};

use super::{Action, Class, Reliability, State, Timer, TimerConfig};

/// An INVITE server transaction over messages of type `M`.
#[derive(Clone, Debug)]
pub struct ServerInvite<M> {
    request: M,
    reliability: Reliability,
    timers: TimerConfig,
    state: State,
    /// The response to resend on a retransmitted request: the last provisional one in
    /// Proceeding, the final one in Completed.
    last_response: Option<M>,
    /// The interval timer G was last armed with.
    interval: Duration,
}

impl<M: Clone> ServerInvite<M> {
    /// Creates the transaction for an incoming INVITE and passes it up to the TU. The
    /// transaction sends no 100 (Trying) of its own (it cannot build one): unless the TU will
    /// answer within 200 ms, it should give one to [`ServerInvite::on_tu_response`] at once
    /// (RFC 3261 §17.2.1).
    pub fn new(
        request: M,
        reliability: Reliability,
        timers: TimerConfig,
        _now: Instant,
    ) -> (Self, Vec<Action<M>>) {
        let machine = ServerInvite {
            request: request.clone(),
            reliability,
            timers,
            state: State::Proceeding,
            last_response: None,
            interval: Duration::ZERO,
        };
        (machine, vec![Action::PassUp(request)])
    }

    /// The state the transaction is in.
    pub fn state(&self) -> State {
        self.state
    }

    /// Whether the transaction is over (the driver may drop it).
    pub fn is_terminated(&self) -> bool {
        self.state == State::Terminated
    }

    /// The INVITE that created this transaction.
    pub fn request(&self) -> &M {
        &self.request
    }

    /// The INVITE was received again: resend the last provisional response (Proceeding) or the
    /// final one (Completed); absorb it otherwise. Never passed up.
    pub fn on_request_retransmission(&mut self, _now: Instant) -> Vec<Action<M>> {
        match (self.state, &self.last_response) {
            (State::Proceeding | State::Completed, Some(last)) => vec![Action::Send(last.clone())],
            _ => Vec::new(),
        }
    }

    /// The TU answers the INVITE with `response` whose status code is `status`. Accepted only
    /// in Proceeding; a response after the final one, or with a code outside 100-699, is
    /// ignored.
    pub fn on_tu_response(&mut self, status: u16, response: M, now: Instant) -> Vec<Action<M>> {
        let Some(class) = Class::of(status) else {
            return Vec::new();
        };
        if self.state != State::Proceeding {
            return Vec::new();
        }
        let mut actions = vec![Action::Send(response.clone())];
        match class {
            Class::Provisional => self.last_response = Some(response),
            Class::Success => self.terminate(&mut actions),
            Class::Failure => {
                self.last_response = Some(response);
                if let Some(g) = self.timers.initial(Timer::G, self.reliability) {
                    self.interval = g;
                    actions.push(Action::SetTimer(Timer::G, now + g));
                }
                if let Some(h) = self.timers.initial(Timer::H, self.reliability) {
                    actions.push(Action::SetTimer(Timer::H, now + h));
                }
                self.state = State::Completed;
            }
        }
        actions
    }

    /// An ACK matched to this transaction (the ACK for a non-2xx final response) arrived. In
    /// Completed it moves to Confirmed; anywhere else it is absorbed. Never passed up.
    pub fn on_ack(&mut self, now: Instant) -> Vec<Action<M>> {
        let mut actions = Vec::new();
        if self.state != State::Completed {
            return actions;
        }
        match self.timers.initial(Timer::I, self.reliability) {
            Some(i) if !i.is_zero() => {
                if self.reliability == Reliability::Unreliable {
                    actions.push(Action::CancelTimer(Timer::G));
                }
                actions.push(Action::CancelTimer(Timer::H));
                actions.push(Action::SetTimer(Timer::I, now + i));
                self.state = State::Confirmed;
            }
            _ => self.terminate(&mut actions),
        }
        actions
    }

    /// Timer `timer` of this transaction expired.
    pub fn on_timer(&mut self, timer: Timer, now: Instant) -> Vec<Action<M>> {
        let mut actions = Vec::new();
        match (self.state, timer) {
            (State::Completed, Timer::G) if self.reliability == Reliability::Unreliable => {
                if let Some(last) = &self.last_response {
                    self.interval = self.timers.backoff(self.interval, true);
                    actions.push(Action::Send(last.clone()));
                    actions.push(Action::SetTimer(Timer::G, now + self.interval));
                }
            }
            (State::Completed, Timer::H) => {
                actions.push(Action::TimedOut);
                self.terminate(&mut actions);
            }
            (State::Confirmed, Timer::I) => self.terminate(&mut actions),
            _ => {}
        }
        actions
    }

    fn terminate(&mut self, actions: &mut Vec<Action<M>>) {
        self.state = State::Terminated;
        self.last_response = None;
        actions.push(Action::Terminated);
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{rfc, run, t, Event::*, Msg::*};
    use super::super::{Action::*, Reliability::*, State as S, Timer::*};
    use super::ServerInvite;

    #[test]
    fn non_2xx_is_retransmitted_on_g_until_ack_then_confirmed_absorbs_acks() {
        let (machine, start) = ServerInvite::new(Req, Unreliable, rfc(), t(0));
        assert_eq!(start, vec![PassUp(Req)]);
        run(
            machine,
            vec![
                (10, Retransmit, S::Proceeding, vec![]),
                (20, Tu(100), S::Proceeding, vec![Send(Resp(100))]),
                (30, Retransmit, S::Proceeding, vec![Send(Resp(100))]),
                (40, Tu(180), S::Proceeding, vec![Send(Resp(180))]),
                (50, Retransmit, S::Proceeding, vec![Send(Resp(180))]),
                (60, Ack, S::Proceeding, vec![]),
                (
                    1_000,
                    Tu(486),
                    S::Completed,
                    vec![
                        Send(Resp(486)),
                        SetTimer(G, t(1_500)),
                        SetTimer(H, t(33_000)),
                    ],
                ),
                (
                    1_500,
                    Fire(G),
                    S::Completed,
                    vec![Send(Resp(486)), SetTimer(G, t(2_500))],
                ),
                (
                    2_500,
                    Fire(G),
                    S::Completed,
                    vec![Send(Resp(486)), SetTimer(G, t(4_500))],
                ),
                (
                    4_500,
                    Fire(G),
                    S::Completed,
                    vec![Send(Resp(486)), SetTimer(G, t(8_500))],
                ),
                (
                    8_500,
                    Fire(G),
                    S::Completed,
                    vec![Send(Resp(486)), SetTimer(G, t(12_500))],
                ),
                (9_000, Retransmit, S::Completed, vec![Send(Resp(486))]),
                (9_100, Tu(200), S::Completed, vec![]),
                (
                    10_000,
                    Ack,
                    S::Confirmed,
                    vec![CancelTimer(G), CancelTimer(H), SetTimer(I, t(15_000))],
                ),
                (11_000, Ack, S::Confirmed, vec![]),
                (12_000, Retransmit, S::Confirmed, vec![]),
                (12_500, Fire(G), S::Confirmed, vec![]),
                (15_000, Fire(I), S::Terminated, vec![Terminated]),
                (16_000, Ack, S::Terminated, vec![]),
                (33_000, Fire(H), S::Terminated, vec![]),
            ],
        );
    }

    #[test]
    fn missing_ack_times_out_on_h() {
        let (machine, _) = ServerInvite::new(Req, Unreliable, rfc(), t(0));
        run(
            machine,
            vec![
                (
                    0,
                    Tu(500),
                    S::Completed,
                    vec![Send(Resp(500)), SetTimer(G, t(500)), SetTimer(H, t(32_000))],
                ),
                (
                    500,
                    Fire(G),
                    S::Completed,
                    vec![Send(Resp(500)), SetTimer(G, t(1_500))],
                ),
                (32_000, Fire(H), S::Terminated, vec![TimedOut, Terminated]),
                (32_100, Retransmit, S::Terminated, vec![]),
            ],
        );
    }

    #[test]
    fn success_terminates_at_once() {
        let (machine, _) = ServerInvite::new(Req, Unreliable, rfc(), t(0));
        run(
            machine,
            vec![
                (0, Tu(180), S::Proceeding, vec![Send(Resp(180))]),
                (
                    5_000,
                    Tu(200),
                    S::Terminated,
                    vec![Send(Resp(200)), Terminated],
                ),
                (5_100, Retransmit, S::Terminated, vec![]),
                (5_200, Ack, S::Terminated, vec![]),
                (5_300, Tu(486), S::Terminated, vec![]),
            ],
        );
    }

    #[test]
    fn reliable_transport_arms_no_g_and_skips_confirmed() {
        let (machine, _) = ServerInvite::new(Req, Reliable, rfc(), t(0));
        run(
            machine,
            vec![
                (
                    100,
                    Tu(486),
                    S::Completed,
                    vec![Send(Resp(486)), SetTimer(H, t(32_100))],
                ),
                (600, Fire(G), S::Completed, vec![]),
                (700, Retransmit, S::Completed, vec![Send(Resp(486))]),
                (800, Ack, S::Terminated, vec![Terminated]),
            ],
        );
    }

    #[test]
    fn status_codes_outside_100_to_699_are_ignored() {
        let (machine, _) = ServerInvite::new(Req, Unreliable, rfc(), t(0));
        run(
            machine,
            vec![
                (0, Tu(0), S::Proceeding, vec![]),
                (1, Tu(700), S::Proceeding, vec![]),
                (2, Retransmit, S::Proceeding, vec![]),
            ],
        );
    }
}
