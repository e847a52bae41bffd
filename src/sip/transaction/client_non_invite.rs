//! `ClientNonInvite`: the non-INVITE client transaction (RFC 3261 §17.1.2, Figure 6).
//!
//! Trying retransmits the request on timer E (T1, doubling, capped at T2; unreliable
//! transports only); a provisional response moves to Proceeding, where E keeps firing every T2.
//! Timer F (64·T1) gives up in either state. A final response (200-699) is passed up and
//! Completed absorbs its retransmissions until timer K (T4; zero on a reliable transport, so
//! the transaction ends at once).

use std::time::{Duration, Instant};

use super::{Action, Class, Reliability, State, Timer, TimerConfig};

/// A non-INVITE client transaction (REGISTER, BYE, CANCEL, OPTIONS, ...) over messages of
/// type `M`.
#[derive(Clone, Debug)]
pub struct ClientNonInvite<M> {
    request: M,
    reliability: Reliability,
    timers: TimerConfig,
    state: State,
    /// The interval timer E was last armed with.
    interval: Duration,
}

impl<M: Clone> ClientNonInvite<M> {
    /// Starts a transaction for `request`: sends it and arms timers E (unreliable transports
    /// only) and F.
    pub fn new(
        request: M,
        reliability: Reliability,
        timers: TimerConfig,
        now: Instant,
    ) -> (Self, Vec<Action<M>>) {
        let (actions, interval) =
            super::start_client(&request, Timer::E, Timer::F, reliability, &timers, now);
        let machine = ClientNonInvite {
            request,
            reliability,
            timers,
            state: State::Trying,
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

    /// The request this transaction sends.
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
            (State::Trying | State::Proceeding, Class::Provisional) => {
                actions.push(Action::PassUp(response));
                self.state = State::Proceeding;
            }
            (State::Trying | State::Proceeding, Class::Success | Class::Failure) => {
                actions.push(Action::PassUp(response));
                match self.timers.initial(Timer::K, self.reliability) {
                    Some(k) if !k.is_zero() => {
                        if self.reliability == Reliability::Unreliable {
                            actions.push(Action::CancelTimer(Timer::E));
                        }
                        actions.push(Action::CancelTimer(Timer::F));
                        actions.push(Action::SetTimer(Timer::K, now + k));
                        self.state = State::Completed;
                    }
                    _ => self.terminate(&mut actions),
                }
            }
            // Completed absorbs retransmitted responses; Terminated ignores everything.
            _ => {}
        }
        actions
    }

    /// Timer `timer` of this transaction expired.
    pub fn on_timer(&mut self, timer: Timer, now: Instant) -> Vec<Action<M>> {
        let mut actions = Vec::new();
        match (self.state, timer) {
            (State::Trying | State::Proceeding, Timer::E)
                if self.reliability == Reliability::Unreliable =>
            {
                self.interval = if self.state == State::Trying {
                    self.timers.backoff(self.interval, true)
                } else {
                    self.timers.t2
                };
                actions.push(Action::Send(self.request.clone()));
                actions.push(Action::SetTimer(Timer::E, now + self.interval));
            }
            (State::Trying | State::Proceeding, Timer::F) => {
                actions.push(Action::TimedOut);
                self.terminate(&mut actions);
            }
            (State::Completed, Timer::K) => self.terminate(&mut actions),
            _ => {}
        }
        actions
    }

    fn terminate(&mut self, actions: &mut Vec<Action<M>>) {
        self.state = State::Terminated;
        actions.push(Action::Terminated);
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{rfc, run, t, Event::*, Msg::*};
    use super::super::{Action::*, Reliability::*, State as S, Timer::*};
    use super::ClientNonInvite;

    #[test]
    fn unreliable_retransmits_on_e_capped_at_t2_until_f_times_out() {
        let (machine, start) = ClientNonInvite::new(Req, Unreliable, rfc(), t(0));
        assert_eq!(
            start,
            vec![Send(Req), SetTimer(E, t(500)), SetTimer(F, t(32_000))]
        );
        run(
            machine,
            vec![
                (
                    500,
                    Fire(E),
                    S::Trying,
                    vec![Send(Req), SetTimer(E, t(1_500))],
                ),
                (
                    1_500,
                    Fire(E),
                    S::Trying,
                    vec![Send(Req), SetTimer(E, t(3_500))],
                ),
                (
                    3_500,
                    Fire(E),
                    S::Trying,
                    vec![Send(Req), SetTimer(E, t(7_500))],
                ),
                (
                    7_500,
                    Fire(E),
                    S::Trying,
                    vec![Send(Req), SetTimer(E, t(11_500))],
                ),
                (
                    11_500,
                    Fire(E),
                    S::Trying,
                    vec![Send(Req), SetTimer(E, t(15_500))],
                ),
                (
                    27_500,
                    Fire(E),
                    S::Trying,
                    vec![Send(Req), SetTimer(E, t(31_500))],
                ),
                (
                    31_500,
                    Fire(E),
                    S::Trying,
                    vec![Send(Req), SetTimer(E, t(35_500))],
                ),
                (32_000, Fire(F), S::Terminated, vec![TimedOut, Terminated]),
                (35_500, Fire(E), S::Terminated, vec![]),
                (35_600, Response(200), S::Terminated, vec![]),
            ],
        );
    }

    #[test]
    fn proceeding_retransmits_every_t2_and_final_completes_until_k() {
        let (machine, _) = ClientNonInvite::new(Req, Unreliable, rfc(), t(0));
        run(
            machine,
            vec![
                (
                    500,
                    Fire(E),
                    S::Trying,
                    vec![Send(Req), SetTimer(E, t(1_500))],
                ),
                (1_000, Response(100), S::Proceeding, vec![PassUp(Resp(100))]),
                (
                    1_500,
                    Fire(E),
                    S::Proceeding,
                    vec![Send(Req), SetTimer(E, t(5_500))],
                ),
                (
                    5_500,
                    Fire(E),
                    S::Proceeding,
                    vec![Send(Req), SetTimer(E, t(9_500))],
                ),
                (6_000, Response(180), S::Proceeding, vec![PassUp(Resp(180))]),
                (
                    7_000,
                    Response(200),
                    S::Completed,
                    vec![
                        PassUp(Resp(200)),
                        CancelTimer(E),
                        CancelTimer(F),
                        SetTimer(K, t(12_000)),
                    ],
                ),
                (7_100, Response(200), S::Completed, vec![]),
                (7_200, Response(180), S::Completed, vec![]),
                (9_500, Fire(E), S::Completed, vec![]),
                (12_000, Fire(K), S::Terminated, vec![Terminated]),
                (32_000, Fire(F), S::Terminated, vec![]),
            ],
        );
    }

    #[test]
    fn final_in_trying_and_timeout_in_proceeding() {
        let (machine, _) = ClientNonInvite::new(Req, Unreliable, rfc(), t(0));
        run(
            machine,
            vec![(
                100,
                Response(404),
                S::Completed,
                vec![
                    PassUp(Resp(404)),
                    CancelTimer(E),
                    CancelTimer(F),
                    SetTimer(K, t(5_100)),
                ],
            )],
        );
        let (machine, _) = ClientNonInvite::new(Req, Unreliable, rfc(), t(0));
        run(
            machine,
            vec![
                (100, Response(100), S::Proceeding, vec![PassUp(Resp(100))]),
                (32_000, Fire(F), S::Terminated, vec![TimedOut, Terminated]),
            ],
        );
    }

    #[test]
    fn reliable_transport_arms_no_e_and_skips_completed() {
        let (machine, start) = ClientNonInvite::new(Req, Reliable, rfc(), t(0));
        assert_eq!(start, vec![Send(Req), SetTimer(F, t(32_000))]);
        run(
            machine,
            vec![
                (500, Fire(E), S::Trying, vec![]),
                (600, Response(100), S::Proceeding, vec![PassUp(Resp(100))]),
                (2_000, Fire(E), S::Proceeding, vec![]),
                (
                    2_100,
                    Response(200),
                    S::Terminated,
                    vec![PassUp(Resp(200)), Terminated],
                ),
                (2_200, Response(200), S::Terminated, vec![]),
            ],
        );
    }
}
