//! `ClientInvite`: the INVITE client transaction (RFC 3261 §17.1.1, Figure 5).
//!
//! Calling retransmits the INVITE on timer A (T1, doubling, uncapped; unreliable transports
//! only) until a response arrives or timer B (64·T1) gives up. A provisional response moves to
//! Proceeding, where nothing is retransmitted and no timer runs (the TU's timer C bounds it).
//! A 2xx is passed up and terminates the transaction at once — RFC 3261 behaviour: the TU
//! acknowledges 2xx itself and sees their retransmissions directly (RFC 6026's Accepted state
//! is not implemented). A 300-699 is acknowledged ([`Action::SendAck`]), passed up, and
//! Completed absorbs its retransmissions, re-acknowledging each, until timer D.

use std::time::{Duration, Instant};

use super::{Action, Class, Reliability, State, Timer, TimerConfig};

/// An INVITE client transaction over responses of type `M`.
#[derive(Clone, Debug)]
pub struct ClientInvite<M> {
    request: M,
    reliability: Reliability,
    timers: TimerConfig,
    state: State,
    /// The interval timer A was last armed with.
    interval: Duration,
}

impl<M: Clone> ClientInvite<M> {
    /// Starts a transaction for `request` (an INVITE): sends it and arms timers A (unreliable
    /// transports only) and B.
    pub fn new(
        request: M,
        reliability: Reliability,
        timers: TimerConfig,
        now: Instant,
    ) -> (Self, Vec<Action<M>>) {
        let (actions, interval) =
            super::start_client(&request, Timer::A, Timer::B, reliability, &timers, now);
        let machine = ClientInvite {
            request,
            reliability,
            timers,
            state: State::Calling,
            interval,
        };
        (machine, actions)
    }

    /// The state the transaction is in.
    pub fn state(&self) -> State {
        self.state
    }

    /// Whether the transaction is over (the driver may drop it).
    pub fn is_terminated(&self) -> bool {
        self.state == State::Terminated
    }

    /// The INVITE this transaction sends.
    pub fn request(&self) -> &M {
        &self.request
    }

    /// A response matched to this transaction arrived. `status` is its status code; codes
    /// outside 100-699 are ignored.
    pub fn on_response(&mut self, status: u16, response: M, now: Instant) -> Vec<Action<M>> {
        let Some(class) = Class::of(status) else {
            return Vec::new();
        };
        let mut actions = Vec::new();
        match (self.state, class) {
            (State::Calling | State::Proceeding, Class::Provisional) => {
                actions.push(Action::PassUp(response));
                self.leave_calling(&mut actions);
                self.state = State::Proceeding;
            }
            (State::Calling | State::Proceeding, Class::Success) => {
                actions.push(Action::PassUp(response));
                self.terminate(&mut actions);
            }
            (State::Calling | State::Proceeding, Class::Failure) => {
                actions.push(Action::SendAck(response.clone()));
                actions.push(Action::PassUp(response));
                match self.timers.initial(Timer::D, self.reliability) {
                    Some(d) if !d.is_zero() => {
                        self.leave_calling(&mut actions);
                        actions.push(Action::SetTimer(Timer::D, now + d));
                        self.state = State::Completed;
                    }
                    _ => self.terminate(&mut actions),
                }
            }
            // A retransmitted final response: acknowledge it again, do not pass it up.
            (State::Completed, Class::Failure) => actions.push(Action::SendAck(response)),
            _ => {}
        }
        actions
    }

    /// Timer `timer` of this transaction expired.
    pub fn on_timer(&mut self, timer: Timer, now: Instant) -> Vec<Action<M>> {
        let mut actions = Vec::new();
        match (self.state, timer) {
            (State::Calling, Timer::A) if self.reliability == Reliability::Unreliable => {
                self.interval = self.timers.backoff(self.interval, false);
                actions.push(Action::Send(self.request.clone()));
                actions.push(Action::SetTimer(Timer::A, now + self.interval));
            }
            (State::Calling, Timer::B) => {
                actions.push(Action::TimedOut);
                self.terminate(&mut actions);
            }
            (State::Completed, Timer::D) => self.terminate(&mut actions),
            _ => {}
        }
        actions
    }

    /// Cancels Calling's timers when a response ends that state.
    fn leave_calling(&mut self, actions: &mut Vec<Action<M>>) {
        if self.state != State::Calling {
            return;
        }
        if self.reliability == Reliability::Unreliable {
            actions.push(Action::CancelTimer(Timer::A));
        }
        actions.push(Action::CancelTimer(Timer::B));
    }

    fn terminate(&mut self, actions: &mut Vec<Action<M>>) {
        self.state = State::Terminated;
        actions.push(Action::Terminated);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::tests::{rfc, run, t, Event::*, Msg::*};
    use super::super::{Action::*, Reliability::*, State as S, Timer::*, TimerConfig};
    use super::ClientInvite;

    #[test]
    fn unreliable_retransmits_on_a_doubling_until_b_times_out() {
        let (machine, start) = ClientInvite::new(Req, Unreliable, rfc(), t(0));
        assert_eq!(
            start,
            vec![Send(Req), SetTimer(A, t(500)), SetTimer(B, t(32_000))]
        );
        run(
            machine,
            vec![
                (
                    500,
                    Fire(A),
                    S::Calling,
                    vec![Send(Req), SetTimer(A, t(1_500))],
                ),
                (
                    1_500,
                    Fire(A),
                    S::Calling,
                    vec![Send(Req), SetTimer(A, t(3_500))],
                ),
                (
                    3_500,
                    Fire(A),
                    S::Calling,
                    vec![Send(Req), SetTimer(A, t(7_500))],
                ),
                (
                    7_500,
                    Fire(A),
                    S::Calling,
                    vec![Send(Req), SetTimer(A, t(15_500))],
                ),
                (
                    15_500,
                    Fire(A),
                    S::Calling,
                    vec![Send(Req), SetTimer(A, t(31_500))],
                ),
                (
                    31_500,
                    Fire(A),
                    S::Calling,
                    vec![Send(Req), SetTimer(A, t(63_500))],
                ),
                (32_000, Fire(B), S::Terminated, vec![TimedOut, Terminated]),
                // Late timers and responses after termination are ignored.
                (63_500, Fire(A), S::Terminated, vec![]),
                (63_600, Response(200), S::Terminated, vec![]),
            ],
        );
    }

    #[test]
    fn provisional_stops_retransmission_and_2xx_terminates_at_once() {
        let (machine, _) = ClientInvite::new(Req, Unreliable, rfc(), t(0));
        run(
            machine,
            vec![
                (
                    100,
                    Response(100),
                    S::Proceeding,
                    vec![PassUp(Resp(100)), CancelTimer(A), CancelTimer(B)],
                ),
                (500, Fire(A), S::Proceeding, vec![]),
                (32_000, Fire(B), S::Proceeding, vec![]),
                (
                    40_000,
                    Response(180),
                    S::Proceeding,
                    vec![PassUp(Resp(180))],
                ),
                (
                    41_000,
                    Response(200),
                    S::Terminated,
                    vec![PassUp(Resp(200)), Terminated],
                ),
                // 2xx retransmissions go to the TU directly, not through this transaction.
                (41_500, Response(200), S::Terminated, vec![]),
            ],
        );
    }

    #[test]
    fn non_2xx_is_acked_and_completed_absorbs_retransmissions_until_d() {
        let (machine, _) = ClientInvite::new(Req, Unreliable, rfc(), t(0));
        run(
            machine,
            vec![
                (
                    200,
                    Response(486),
                    S::Completed,
                    vec![
                        SendAck(Resp(486)),
                        PassUp(Resp(486)),
                        CancelTimer(A),
                        CancelTimer(B),
                        SetTimer(D, t(32_200)),
                    ],
                ),
                (500, Fire(A), S::Completed, vec![]),
                (1_200, Response(486), S::Completed, vec![SendAck(Resp(486))]),
                (1_300, Response(180), S::Completed, vec![]),
                (1_400, Response(200), S::Completed, vec![]),
                (32_000, Fire(B), S::Completed, vec![]),
                (32_200, Fire(D), S::Terminated, vec![Terminated]),
                (32_300, Response(486), S::Terminated, vec![]),
            ],
        );
    }

    #[test]
    fn non_2xx_after_provisional_cancels_nothing_more() {
        let (machine, _) = ClientInvite::new(Req, Unreliable, rfc(), t(0));
        run(
            machine,
            vec![
                (
                    100,
                    Response(180),
                    S::Proceeding,
                    vec![PassUp(Resp(180)), CancelTimer(A), CancelTimer(B)],
                ),
                (
                    9_000,
                    Response(603),
                    S::Completed,
                    vec![
                        SendAck(Resp(603)),
                        PassUp(Resp(603)),
                        SetTimer(D, t(41_000)),
                    ],
                ),
                (41_000, Fire(D), S::Terminated, vec![Terminated]),
            ],
        );
    }

    #[test]
    fn reliable_transport_arms_no_a_and_skips_completed() {
        let (machine, start) = ClientInvite::new(Req, Reliable, rfc(), t(0));
        assert_eq!(start, vec![Send(Req), SetTimer(B, t(32_000))]);
        run(
            machine,
            vec![
                (500, Fire(A), S::Calling, vec![]),
                (
                    600,
                    Response(180),
                    S::Proceeding,
                    vec![PassUp(Resp(180)), CancelTimer(B)],
                ),
                (
                    700,
                    Response(486),
                    S::Terminated,
                    vec![SendAck(Resp(486)), PassUp(Resp(486)), Terminated],
                ),
            ],
        );
        let (machine, _) = ClientInvite::new(Req, Reliable, rfc(), t(0));
        run(
            machine,
            vec![(32_000, Fire(B), S::Terminated, vec![TimedOut, Terminated])],
        );
    }

    #[test]
    fn status_codes_outside_100_to_699_are_ignored() {
        let (machine, _) = ClientInvite::new(Req, Unreliable, rfc(), t(0));
        run(
            machine,
            vec![
                (100, Response(99), S::Calling, vec![]),
                (200, Response(700), S::Calling, vec![]),
            ],
        );
    }

    #[test]
    fn timers_scale_with_t1() {
        let timers = TimerConfig {
            t1: Duration::from_millis(100),
            ..rfc()
        };
        let (machine, start) = ClientInvite::new(Req, Unreliable, timers, t(0));
        assert_eq!(
            start,
            vec![Send(Req), SetTimer(A, t(100)), SetTimer(B, t(6_400))]
        );
        run(
            machine,
            vec![
                (
                    100,
                    Fire(A),
                    S::Calling,
                    vec![Send(Req), SetTimer(A, t(300))],
                ),
                (
                    300,
                    Fire(A),
                    S::Calling,
                    vec![Send(Req), SetTimer(A, t(700))],
                ),
            ],
        );
    }
}
