//! `ServerNonInvite`: the non-INVITE server transaction (RFC 3261 §17.2.2, Figure 8).
//!
//! Created on an incoming non-INVITE request, which it passes up. Trying discards retransmitted
//! requests; a provisional response from the TU moves to Proceeding, which answers them with the
//! last provisional response. A final response (200-699) moves to Completed, which answers
//! retransmitted requests with it until timer J (64·T1; zero on a reliable transport, so the
//! transaction ends at once). Nothing is retransmitted on a timer: the client retransmits.

use std::time::Instant;

use super::{Action, Class, Reliability, State, Timer, TimerConfig};

/// A non-INVITE server transaction over messages of type `M`.
#[derive(Clone, Debug)]
pub struct ServerNonInvite<M> {
    request: M,
    reliability: Reliability,
    timers: TimerConfig,
    state: State,
    /// The response to resend on a retransmitted request: the last provisional one in
    /// Proceeding, the final one in Completed.
    last_response: Option<M>,
}

impl<M: Clone> ServerNonInvite<M> {
    /// Creates the transaction for an incoming non-INVITE request and passes it up to the TU.
    pub fn new(
        request: M,
        reliability: Reliability,
        timers: TimerConfig,
        _now: Instant,
    ) -> (Self, Vec<Action<M>>) {
        let machine = ServerNonInvite {
            request: request.clone(),
            reliability,
            timers,
            state: State::Trying,
            last_response: None,
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

    /// The request that created this transaction.
    pub fn request(&self) -> &M {
        &self.request
    }

    /// The request was received again: discarded in Trying; answered with the last provisional
    /// response (Proceeding) or the final one (Completed). Never passed up.
    pub fn on_request_retransmission(&mut self, _now: Instant) -> Vec<Action<M>> {
        match (self.state, &self.last_response) {
            (State::Proceeding | State::Completed, Some(last)) => vec![Action::Send(last.clone())],
            _ => Vec::new(),
        }
    }

    /// The TU answers the request with `response` whose status code is `status`. Accepted in
    /// Trying and Proceeding; a response after the final one, or with a code outside 100-699,
    /// is ignored.
    pub fn on_tu_response(&mut self, status: u16, response: M, now: Instant) -> Vec<Action<M>> {
        let Some(class) = Class::of(status) else {
            return Vec::new();
        };
        if !matches!(self.state, State::Trying | State::Proceeding) {
            return Vec::new();
        }
        let mut actions = vec![Action::Send(response.clone())];
        if class == Class::Provisional {
            self.last_response = Some(response);
            self.state = State::Proceeding;
            return actions;
        }
        match self.timers.initial(Timer::J, self.reliability) {
            Some(j) if !j.is_zero() => {
                self.last_response = Some(response);
                actions.push(Action::SetTimer(Timer::J, now + j));
                self.state = State::Completed;
            }
            _ => self.terminate(&mut actions),
        }
        actions
    }

    /// Timer `timer` of this transaction expired.
    pub fn on_timer(&mut self, timer: Timer, _now: Instant) -> Vec<Action<M>> {
        let mut actions = Vec::new();
        if (self.state, timer) == (State::Completed, Timer::J) {
            self.terminate(&mut actions);
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
    use super::ServerNonInvite;

    #[test]
    fn retransmitted_requests_get_the_last_response_until_j() {
        let (machine, start) = ServerNonInvite::new(Req, Unreliable, rfc(), t(0));
        assert_eq!(start, vec![PassUp(Req)]);
        run(
            machine,
            vec![
                (100, Retransmit, S::Trying, vec![]),
                (200, Fire(J), S::Trying, vec![]),
                (300, Tu(100), S::Proceeding, vec![Send(Resp(100))]),
                (400, Retransmit, S::Proceeding, vec![Send(Resp(100))]),
                (500, Tu(183), S::Proceeding, vec![Send(Resp(183))]),
                (
                    600,
                    Tu(200),
                    S::Completed,
                    vec![Send(Resp(200)), SetTimer(J, t(32_600))],
                ),
                (700, Retransmit, S::Completed, vec![Send(Resp(200))]),
                (800, Tu(500), S::Completed, vec![]),
                (32_600, Fire(J), S::Terminated, vec![Terminated]),
                (32_700, Retransmit, S::Terminated, vec![]),
            ],
        );
    }

    #[test]
    fn final_straight_from_trying() {
        let (machine, _) = ServerNonInvite::new(Req, Unreliable, rfc(), t(0));
        run(
            machine,
            vec![(
                50,
                Tu(404),
                S::Completed,
                vec![Send(Resp(404)), SetTimer(J, t(32_050))],
            )],
        );
    }

    #[test]
    fn reliable_transport_terminates_on_the_final_response() {
        let (machine, _) = ServerNonInvite::new(Req, Reliable, rfc(), t(0));
        run(
            machine,
            vec![
                (0, Tu(100), S::Proceeding, vec![Send(Resp(100))]),
                (
                    10,
                    Tu(404),
                    S::Terminated,
                    vec![Send(Resp(404)), Terminated],
                ),
                (20, Retransmit, S::Terminated, vec![]),
                (32_010, Fire(J), S::Terminated, vec![]),
            ],
        );
    }
}
