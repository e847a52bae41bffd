//! The test harness the machines' timeline tests share — a fake clock ([`t`]), a stand-in
//! message type ([`Msg`]), one [`Event`] type for all four machines and the scripted-timeline
//! runner ([`run`]) — and the property-style tests that throw seeded random event sequences at
//! every machine and check the invariants no script could enumerate.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::{
    Action, ClientInvite, ClientNonInvite, Reliability, ServerInvite, ServerNonInvite, State,
    Timer, TimerConfig,
};

/// A stand-in for a SIP message: the machines never look inside one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Msg {
    /// The request the transaction is about.
    Req,
    /// A response with this status code.
    Resp(u16),
}

/// The fake clock: `ms` milliseconds after a fixed base instant.
pub(super) fn t(ms: u64) -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now) + Duration::from_millis(ms)
}

/// Something that happens to a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Event {
    /// Client: a response with this status arrives.
    Response(u16),
    /// A timer expires.
    Fire(Timer),
    /// Server: the request arrives again.
    Retransmit,
    /// Server: the TU answers with this status.
    Tu(u16),
    /// INVITE server: an ACK arrives.
    Ack,
}

/// One scripted step: at `ms`, `event` happens; the machine must answer exactly `actions` and
/// be in `state` afterwards.
pub(super) type Step = (u64, Event, State, Vec<Action<Msg>>);

/// The four machines behind one event interface.
pub(super) trait Machine {
    /// The events this machine accepts.
    const EVENTS: &'static [EventKind];
    fn apply(&mut self, event: Event, now: Instant) -> Vec<Action<Msg>>;
    fn state(&self) -> State;
    fn is_terminated(&self) -> bool;
}

#[derive(Clone, Copy, Debug)]
pub(super) enum EventKind {
    Response,
    Fire,
    Retransmit,
    Tu,
    Ack,
}

impl Machine for ClientInvite<Msg> {
    const EVENTS: &'static [EventKind] = &[EventKind::Response, EventKind::Fire];
    fn apply(&mut self, event: Event, now: Instant) -> Vec<Action<Msg>> {
        match event {
            Event::Response(s) => self.on_response(s, Msg::Resp(s), now),
            Event::Fire(timer) => self.on_timer(timer, now),
            other => panic!("{other:?} is not an INVITE client event"),
        }
    }
    fn state(&self) -> State {
        self.state()
    }
    fn is_terminated(&self) -> bool {
        self.is_terminated()
    }
}

impl Machine for ClientNonInvite<Msg> {
    const EVENTS: &'static [EventKind] = &[EventKind::Response, EventKind::Fire];
    fn apply(&mut self, event: Event, now: Instant) -> Vec<Action<Msg>> {
        match event {
            Event::Response(s) => self.on_response(s, Msg::Resp(s), now),
            Event::Fire(timer) => self.on_timer(timer, now),
            other => panic!("{other:?} is not a non-INVITE client event"),
        }
    }
    fn state(&self) -> State {
        self.state()
    }
    fn is_terminated(&self) -> bool {
        self.is_terminated()
    }
}

impl Machine for ServerInvite<Msg> {
    const EVENTS: &'static [EventKind] = &[
        EventKind::Retransmit,
        EventKind::Tu,
        EventKind::Ack,
        EventKind::Fire,
    ];
    fn apply(&mut self, event: Event, now: Instant) -> Vec<Action<Msg>> {
        match event {
            Event::Retransmit => self.on_request_retransmission(now),
            Event::Tu(s) => self.on_tu_response(s, Msg::Resp(s), now),
            Event::Ack => self.on_ack(now),
            Event::Fire(timer) => self.on_timer(timer, now),
            other => panic!("{other:?} is not an INVITE server event"),
        }
    }
    fn state(&self) -> State {
        self.state()
    }
    fn is_terminated(&self) -> bool {
        self.is_terminated()
    }
}

impl Machine for ServerNonInvite<Msg> {
    const EVENTS: &'static [EventKind] = &[EventKind::Retransmit, EventKind::Tu, EventKind::Fire];
    fn apply(&mut self, event: Event, now: Instant) -> Vec<Action<Msg>> {
        match event {
            Event::Retransmit => self.on_request_retransmission(now),
            Event::Tu(s) => self.on_tu_response(s, Msg::Resp(s), now),
            Event::Fire(timer) => self.on_timer(timer, now),
            other => panic!("{other:?} is not a non-INVITE server event"),
        }
    }
    fn state(&self) -> State {
        self.state()
    }
    fn is_terminated(&self) -> bool {
        self.is_terminated()
    }
}

/// Plays `steps` against `machine`, failing with the step's index and time on the first
/// difference in actions or resulting state.
pub(super) fn run<T: Machine>(mut machine: T, steps: Vec<Step>) {
    for (i, (ms, event, state, expected)) in steps.into_iter().enumerate() {
        let actions = machine.apply(event, t(ms));
        assert_eq!(
            actions, expected,
            "step {i} (t={ms}ms, {event:?}): actions differ"
        );
        assert_eq!(
            machine.state(),
            state,
            "step {i} (t={ms}ms, {event:?}): state differs"
        );
    }
}

/// The default timers (T1 500 ms, T2 4 s, T4 5 s).
pub(super) fn rfc() -> TimerConfig {
    TimerConfig::default()
}

#[test]
fn timer_values_follow_rfc_3261_table_4() {
    use Reliability::{Reliable, Unreliable};
    let c = rfc();
    let ms = |n| Some(Duration::from_millis(n));
    let table = [
        (Timer::A, ms(500), None),
        (Timer::B, ms(32_000), ms(32_000)),
        (Timer::D, ms(32_000), ms(0)),
        (Timer::E, ms(500), None),
        (Timer::F, ms(32_000), ms(32_000)),
        (Timer::G, ms(500), None),
        (Timer::H, ms(32_000), ms(32_000)),
        (Timer::I, ms(5_000), ms(0)),
        (Timer::J, ms(32_000), ms(0)),
        (Timer::K, ms(5_000), ms(0)),
    ];
    for (timer, unreliable, reliable) in table {
        assert_eq!(
            c.initial(timer, Unreliable),
            unreliable,
            "{timer:?} unreliable"
        );
        assert_eq!(c.initial(timer, Reliable), reliable, "{timer:?} reliable");
    }
}

/// A xorshift64 generator: deterministic, dependency-free randomness for the property tests.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const STATUSES: &[u16] = &[
    0, 99, 100, 180, 183, 200, 202, 302, 404, 486, 500, 603, 699, 700,
];
const TIMERS: &[Timer] = &[
    Timer::A,
    Timer::B,
    Timer::D,
    Timer::E,
    Timer::F,
    Timer::G,
    Timer::H,
    Timer::I,
    Timer::J,
    Timer::K,
];

/// What a machine may do, for the property checks.
struct Rules {
    /// Client machines send the request; servers send responses.
    client: bool,
    /// The timers this machine may arm.
    timers: &'static [Timer],
    /// Its retransmission timer, never armed on a reliable transport.
    retransmit: Option<Timer>,
    /// Every state it has; the random runs must visit all of them.
    states: &'static [State],
}

/// Throws `runs` random event sequences at machines made by `start` and checks the
/// invariants every machine keeps.
fn fuzz<T: Machine>(
    rules: Rules,
    start: impl Fn(Reliability, TimerConfig, Instant) -> (T, Vec<Action<Msg>>),
) {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut visited = Vec::new();
    for run_index in 0..2_000 {
        let reliability = if run_index % 2 == 0 {
            Reliability::Unreliable
        } else {
            Reliability::Reliable
        };
        let timers = if run_index % 3 == 0 {
            TimerConfig {
                t1: Duration::from_millis(100),
                t2: Duration::from_millis(700),
                t4: Duration::from_millis(900),
            }
        } else {
            rfc()
        };
        let mut now = t(0);
        let (mut machine, initial) = start(reliability, timers, now);
        let mut log = vec![(None, initial)];
        let mut terminated = false;
        // The final response: received (clients) or sent (servers).
        let mut final_response: Option<Msg> = None;
        for _ in 0..40 {
            now += Duration::from_millis(rng.next() % 5_000);
            let event = match rng.pick(T::EVENTS) {
                EventKind::Response => Event::Response(rng.pick(STATUSES)),
                EventKind::Tu => Event::Tu(rng.pick(STATUSES)),
                EventKind::Fire => Event::Fire(rng.pick(TIMERS)),
                EventKind::Retransmit => Event::Retransmit,
                EventKind::Ack => Event::Ack,
            };
            let actions = machine.apply(event, now);
            log.push((Some(event), actions));
            let actions = &log.last().unwrap().1;
            let context = || format!("run {run_index}, {reliability:?}: {log:#?}");
            if terminated {
                assert!(actions.is_empty(), "acted after Terminated; {}", context());
                continue;
            }
            for (i, action) in actions.iter().enumerate() {
                let last = i + 1 == actions.len();
                match *action {
                    Action::Terminated => assert!(last, "Terminated not last; {}", context()),
                    Action::TimedOut => assert_eq!(
                        actions.get(i + 1),
                        Some(&Action::Terminated),
                        "TimedOut without Terminated; {}",
                        context()
                    ),
                    Action::SetTimer(timer, at) => {
                        assert!(at >= now, "timer in the past; {}", context());
                        assert!(
                            rules.timers.contains(&timer),
                            "foreign timer; {}",
                            context()
                        );
                        if reliability == Reliability::Reliable {
                            assert_ne!(Some(timer), rules.retransmit, "{}", context());
                        }
                    }
                    Action::CancelTimer(timer) => {
                        assert!(
                            rules.timers.contains(&timer),
                            "foreign timer; {}",
                            context()
                        );
                    }
                    Action::Send(msg) if rules.client => {
                        assert_eq!(msg, Msg::Req, "client sent a response; {}", context());
                        assert!(
                            final_response.is_none(),
                            "resent after final; {}",
                            context()
                        );
                    }
                    Action::Send(msg) => {
                        let Msg::Resp(status) = msg else {
                            panic!("server sent the request; {}", context());
                        };
                        if let Some(done) = final_response {
                            assert_eq!(msg, done, "sent after the final; {}", context());
                        } else if status >= 200 {
                            final_response = Some(msg);
                        }
                    }
                    Action::PassUp(msg) => {
                        assert!(rules.client, "server passed up twice; {}", context());
                        assert!(final_response.is_none(), "second final; {}", context());
                        if let Msg::Resp(status) = msg {
                            if status >= 200 {
                                final_response = Some(msg);
                            }
                        }
                    }
                    Action::SendAck(msg) => {
                        assert!(rules.client, "{}", context());
                        let Msg::Resp(status) = msg else {
                            panic!("ACK for a request; {}", context());
                        };
                        assert!((300..=699).contains(&status), "{}", context());
                        let passed_up_now = actions.contains(&Action::PassUp(msg));
                        assert!(
                            final_response.is_some() || passed_up_now,
                            "ACK before final; {}",
                            context()
                        );
                    }
                }
            }
            terminated = actions.last() == Some(&Action::Terminated);
            assert_eq!(machine.is_terminated(), terminated, "{}", context());
            assert_eq!(machine.state() == State::Terminated, terminated);
            if !visited.contains(&machine.state()) {
                visited.push(machine.state());
            }
        }
    }
    for state in rules.states {
        assert!(visited.contains(state), "no random run reached {state:?}");
    }
}

#[test]
fn client_invite_keeps_its_invariants_under_random_events() {
    let rules = Rules {
        client: true,
        timers: &[Timer::A, Timer::B, Timer::D],
        retransmit: Some(Timer::A),
        states: &[
            State::Calling,
            State::Proceeding,
            State::Completed,
            State::Terminated,
        ],
    };
    fuzz(rules, |r, c, now| ClientInvite::new(Msg::Req, r, c, now));
}

#[test]
fn client_non_invite_keeps_its_invariants_under_random_events() {
    let rules = Rules {
        client: true,
        timers: &[Timer::E, Timer::F, Timer::K],
        retransmit: Some(Timer::E),
        states: &[
            State::Trying,
            State::Proceeding,
            State::Completed,
            State::Terminated,
        ],
    };
    fuzz(rules, |r, c, now| ClientNonInvite::new(Msg::Req, r, c, now));
}

#[test]
fn server_invite_keeps_its_invariants_under_random_events() {
    let rules = Rules {
        client: false,
        timers: &[Timer::G, Timer::H, Timer::I],
        retransmit: Some(Timer::G),
        states: &[
            State::Proceeding,
            State::Completed,
            State::Confirmed,
            State::Terminated,
        ],
    };
    fuzz(rules, |r, c, now| {
        let (machine, initial) = ServerInvite::new(Msg::Req, r, c, now);
        assert_eq!(initial, vec![Action::PassUp(Msg::Req)]);
        (machine, Vec::new())
    });
}

#[test]
fn server_non_invite_keeps_its_invariants_under_random_events() {
    let rules = Rules {
        client: false,
        timers: &[Timer::J],
        retransmit: None,
        states: &[
            State::Trying,
            State::Proceeding,
            State::Completed,
            State::Terminated,
        ],
    };
    fuzz(rules, |r, c, now| {
        let (machine, initial) = ServerNonInvite::new(Msg::Req, r, c, now);
        assert_eq!(initial, vec![Action::PassUp(Msg::Req)]);
        (machine, Vec::new())
    });
}
