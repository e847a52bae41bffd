//! `Flow`: one call's way through the company's config — number -> schedule -> destination ->
//! ringing -> no-answer action -> ... — as a state machine. It holds the config snapshot the
//! call started with, so a reload never changes a call mid-way.
//!
//! Destinations it carries out: a person (their phones and mobile forwarding for their
//! `ring_time`), a department (a `Hunt` by its strategy for its `ring_time`), an external
//! number (through the trunk). No-answer actions: forward to an external number (for its
//! `timeout`, then voicemail), transfer to a person or department. Voicemail, voice menus and
//! the after-hours prompt need the media engine, which does not exist yet: a call whose next
//! step is one of them ends with 480 and says why (`GiveUp`) — never silently.

use super::action::{Action, Callee, Event, GiveUp, LegId, Presence, Refusal};
use super::hunt::{Ctx, Hunt, HuntEnd, HuntPlan, Legs};
use super::number::Dialled;
use super::schedule;
use crate::config::model::{
    Config, DepartmentId, Destination, NoAnswer, StaffId, Strategy, Target, Tenant,
};
use crate::config::values::E164;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Transfers followed before a call gives up (validation already forbids loops).
const MAX_DESTINATIONS: u32 = 16;

/// Where a call enters the flow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    /// An inbound call to the tenant's number (index into `numbers`).
    Number(usize),
    /// An internal call to a person's extension or login.
    Staff(StaffId),
    /// An internal call to a department's extension.
    Department(DepartmentId),
    /// A staff member dialled an external number.
    External(Dialled),
}

/// How the call reached whoever answered it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Via {
    /// The destination itself.
    #[default]
    Direct,
    /// After a no-answer transfer to another person or department.
    Transferred,
    /// After a no-answer forward to an external number.
    Forwarded,
}

/// What the call went through, for its history record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Route {
    /// The company number called.
    pub number: Option<E164>,
    /// Outside the number's working hours.
    pub after_hours: bool,
    /// Who answered.
    pub answered: Option<Callee>,
    pub via: Via,
    /// Why the call ended unanswered, when it did.
    pub gave_up: Option<GiveUp>,
    /// What it went through, in order.
    pub steps: Vec<Step>,
}

impl Route {
    /// The departments the call rang, in order.
    pub fn departments(&self) -> impl Iterator<Item = DepartmentId> + '_ {
        self.steps.iter().filter_map(|s| match s {
            Step::Department(d) => Some(*d),
            _ => None,
        })
    }
}

/// A step of a call's way through the config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// A department started ringing.
    Department(DepartmentId),
    /// Nobody answered: transferred to a person or department.
    Transferred,
    /// Nobody answered: forwarded to a number outside.
    Forwarded,
}

enum Phase {
    /// Ringing a person or a department; `no_answer` follows.
    Hunt {
        hunt: Hunt,
        no_answer: NoAnswer,
    },
    /// A no-answer forward ringing an external number until `until`, then voicemail.
    Forward {
        leg: LegId,
        until: Instant,
    },
    /// An external destination rung for as long as the caller waits.
    External {
        leg: LegId,
    },
    Done,
}

/// One call's flow.
pub struct Flow {
    config: Arc<Config>,
    tenant: usize,
    phase: Phase,
    legs: Legs,
    /// Destinations gone to (a guard against endless transfers).
    destinations: u32,
    route: Route,
}

impl Flow {
    /// Starts the flow of a call entering at `entry`; `wall` is the current time of day for
    /// schedules. Returns the first actions.
    pub fn start(
        config: Arc<Config>,
        tenant: usize,
        entry: Entry,
        now: Instant,
        wall: jiff::Timestamp,
        presence: &dyn Presence,
    ) -> (Flow, Vec<Action>) {
        let mut flow = Flow {
            config,
            tenant,
            phase: Phase::Done,
            legs: Legs::default(),
            destinations: 0,
            route: Route::default(),
        };
        let mut out = Vec::new();
        let destination = match entry {
            Entry::Number(i) => {
                let number = flow.config.tenants[tenant].numbers[i].clone();
                flow.route.number = Some(number.number.clone());
                let open = number.schedule.is_none_or(|s| {
                    schedule::is_open(&flow.config.tenants[tenant].schedules[s.0], wall)
                });
                if open {
                    Some(number.destination)
                } else {
                    flow.route.after_hours = true;
                    number.after_hours
                }
            }
            Entry::Staff(s) => Some(Destination::Staff(s)),
            Entry::Department(d) => Some(Destination::Department(d)),
            Entry::External(e) => {
                flow.go_external(e, &mut out);
                return (flow, out);
            }
        };
        match destination {
            Some(d) => flow.go(d, now, presence, &mut out),
            None => flow.give_up(Refusal::Unavailable, GiveUp::Closed, &mut out),
        }
        (flow, out)
    }

    /// Feeds one event in; returns what the engine must do.
    pub fn on_event(&mut self, event: Event, now: Instant, presence: &dyn Presence) -> Vec<Action> {
        let mut out = Vec::new();
        let phase = std::mem::replace(&mut self.phase, Phase::Done);
        self.phase = match (phase, event) {
            (
                Phase::Hunt {
                    mut hunt,
                    no_answer,
                },
                event,
            ) => {
                let end = {
                    let tenant = &self.config.tenants[self.tenant];
                    let mut ctx = Ctx {
                        tenant,
                        presence,
                        legs: &mut self.legs,
                    };
                    match event {
                        Event::Answered(leg) if hunt.owns(leg) => {
                            Some(hunt.on_answered(leg, &mut out))
                        }
                        Event::Failed(leg, refusal) => {
                            hunt.on_failed(leg, refusal, now, &mut ctx, &mut out)
                        }
                        Event::Tick => hunt.on_tick(now, &mut ctx, &mut out),
                        Event::Answered(_)
                        | Event::Digit(_)
                        | Event::PlayDone
                        | Event::Recorded { .. } => None,
                    }
                };
                match end {
                    None => Phase::Hunt { hunt, no_answer },
                    Some(HuntEnd::Answered(leg)) => {
                        self.answered(leg);
                        Phase::Done
                    }
                    Some(HuntEnd::NoAnswer) => {
                        self.no_answer(no_answer, &hunt.refusals, now, presence, &mut out);
                        std::mem::replace(&mut self.phase, Phase::Done)
                    }
                }
            }
            (Phase::Forward { leg, until }, event) => match event {
                Event::Answered(l) if l == leg => {
                    self.answered(leg);
                    Phase::Done
                }
                Event::Failed(l, _) if l == leg => {
                    self.give_up(Refusal::Unavailable, GiveUp::VoicemailUnavailable, &mut out);
                    Phase::Done
                }
                Event::Tick if now >= until => {
                    out.push(Action::Cancel(leg));
                    self.give_up(Refusal::Unavailable, GiveUp::VoicemailUnavailable, &mut out);
                    Phase::Done
                }
                _ => Phase::Forward { leg, until },
            },
            (Phase::External { leg }, event) => match event {
                Event::Answered(l) if l == leg => {
                    self.answered(leg);
                    Phase::Done
                }
                Event::Failed(l, refusal) if l == leg => {
                    self.give_up(overall(&[refusal]), GiveUp::ExternalFailed, &mut out);
                    Phase::Done
                }
                _ => Phase::External { leg },
            },
            (Phase::Done, _) => Phase::Done,
        };
        out
    }

    /// When the engine must send the next `Tick`.
    pub fn next_deadline(&self) -> Option<Instant> {
        match &self.phase {
            Phase::Hunt { hunt, .. } => hunt.next_deadline(),
            Phase::Forward { until, .. } => Some(*until),
            Phase::External { .. } | Phase::Done => None,
        }
    }

    /// What the call went through so far.
    pub fn route(&self) -> &Route {
        &self.route
    }

    /// Everyone the call was offered to, in order, once each.
    pub fn offered(&self) -> &[Callee] {
        &self.legs.offered
    }

    /// Who leg `leg` rings.
    pub fn callee(&self, leg: LegId) -> Option<&Callee> {
        self.legs
            .all
            .iter()
            .find(|(l, _)| *l == leg)
            .map(|(_, c)| c)
    }

    /// Whether the flow has finished (answered or given up).
    pub fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    fn tenant(&self) -> &Tenant {
        &self.config.tenants[self.tenant]
    }

    fn answered(&mut self, leg: LegId) {
        self.route.answered = self.callee(leg).cloned();
    }

    fn give_up(&mut self, refusal: Refusal, why: GiveUp, out: &mut Vec<Action>) {
        self.route.gave_up = Some(why.clone());
        self.phase = Phase::Done;
        out.push(Action::Reject { refusal, why });
    }

    /// Sends the call to `destination`.
    fn go(
        &mut self,
        destination: Destination,
        now: Instant,
        presence: &dyn Presence,
        out: &mut Vec<Action>,
    ) {
        self.destinations += 1;
        if self.destinations > MAX_DESTINATIONS {
            return self.give_up(Refusal::Unavailable, GiveUp::TooManySteps, out);
        }
        let (plan, no_answer) = match destination {
            Destination::Staff(s) => {
                let staff = &self.tenant().staff[s.0];
                let plan = HuntPlan {
                    members: vec![s],
                    strategy: Strategy::AllAtOnce,
                    step: Duration::ZERO,
                    ring_time: staff.ring_time,
                    skip_busy: false,
                };
                (plan, staff.no_answer.clone())
            }
            Destination::Department(d) => {
                self.route.steps.push(Step::Department(d));
                let dept = &self.tenant().departments[d.0];
                let plan = HuntPlan {
                    members: dept.members.clone(),
                    strategy: dept.strategy,
                    step: dept.step,
                    ring_time: dept.ring_time,
                    skip_busy: true,
                };
                (plan, dept.no_answer.clone())
            }
            Destination::External(number) => return self.go_external(number.into(), out),
            Destination::Menu(_) => {
                return self.give_up(Refusal::Unavailable, GiveUp::MenuUnavailable, out)
            }
            Destination::Voicemail(_) => {
                return self.give_up(Refusal::Unavailable, GiveUp::VoicemailDestination, out)
            }
            Destination::Hangup => return self.give_up(Refusal::Unavailable, GiveUp::Hangup, out),
        };
        let config = Arc::clone(&self.config);
        let (hunt, end) = {
            let mut ctx = Ctx {
                tenant: &config.tenants[self.tenant],
                presence,
                legs: &mut self.legs,
            };
            Hunt::start(plan, now, &mut ctx, out)
        };
        match end {
            Some(HuntEnd::NoAnswer) => {
                self.no_answer(no_answer, &hunt.refusals, now, presence, out)
            }
            // A hunt cannot be answered before it rang.
            Some(HuntEnd::Answered(_)) | None => self.phase = Phase::Hunt { hunt, no_answer },
        }
    }

    /// Rings an external number for as long as the caller waits.
    fn go_external(&mut self, number: Dialled, out: &mut Vec<Action>) {
        let leg = self.legs.ring(Callee::External(number), out);
        self.phase = Phase::External { leg };
    }

    /// Nobody answered: the no-answer action.
    fn no_answer(
        &mut self,
        action: NoAnswer,
        refusals: &[Refusal],
        now: Instant,
        presence: &dyn Presence,
        out: &mut Vec<Action>,
    ) {
        match action {
            NoAnswer::Voicemail => {
                self.give_up(overall(refusals), GiveUp::VoicemailUnavailable, out)
            }
            NoAnswer::Forward { number, timeout } => {
                self.route.via = Via::Forwarded;
                self.route.steps.push(Step::Forwarded);
                let leg = self.legs.ring(Callee::External(number.into()), out);
                self.phase = Phase::Forward {
                    leg,
                    until: now + timeout,
                };
            }
            NoAnswer::Transfer(target) => {
                self.route.via = Via::Transferred;
                self.route.steps.push(Step::Transferred);
                let destination = match target {
                    Target::Staff(s) => Destination::Staff(s),
                    Target::Department(d) => Destination::Department(d),
                };
                self.go(destination, now, presence, out);
            }
        }
    }
}

/// What the caller of a call nobody took is told: busy when everyone refused busy, declined
/// when everyone declined, otherwise unavailable.
fn overall(refusals: &[Refusal]) -> Refusal {
    if !refusals.is_empty() && refusals.iter().all(|r| *r == Refusal::Busy) {
        Refusal::Busy
    } else if !refusals.is_empty() && refusals.iter().all(|r| *r == Refusal::Declined) {
        Refusal::Declined
    } else {
        Refusal::Unavailable
    }
}
