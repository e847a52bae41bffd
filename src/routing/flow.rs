//! `Flow`: one call's way through the company's config — number -> schedule -> greeting or
//! menu -> destination -> ringing -> no-answer action -> ... -> voicemail — as a state
//! machine. It holds the config snapshot the call started with, so a reload never changes a
//! call mid-way, and records the call's `Route` for the history.
//!
//! Destinations it carries out: a person (their phones and mobile forwarding for their
//! `ring_time`), a department (a `Hunt` by its strategy for its `ring_time`), an external
//! number (through the trunk), a voice menu (`VoiceMenu`), a voicemail box (`Voicemail`),
//! hang up. No-answer actions: voicemail, forward to an external number (for its `timeout`,
//! then the voicemail of whoever had the forward), transfer to a person or department.
//!
//! What the caller hears, when the PBX serves it (the engine passes the callees' own ringback
//! and audio through otherwise):
//! - a number's `greeting`, in working hours, for a destination that rings: early media (183),
//!   the greeting once, then the ringback tone looped until someone answers;
//! - outside working hours with no `after_hours` destination: the PBX answers, plays the
//!   after-hours prompt and hangs up;
//! - a voice menu: the PBX answers and plays its prompt; a destination chosen there that rings
//!   is announced by the ringback tone, looped;
//! - voicemail: what rings is cancelled, the PBX answers (also after early media), plays the
//!   box's greeting and records; a `hangup` destination after the PBX answered hangs up (before,
//!   the call is refused).
//!
//! The caller hanging up ends the call in the engine at any time; the flow is simply dropped.

use super::action::{Action, Callee, Ended, Event, GiveUp, LegId, Presence, Refusal};
use super::callback::{self, CallbackOrder};
use super::hunt::{Ctx, Hunt, HuntEnd, HuntPlan, Legs};
use super::menu::{MenuEnd, VoiceMenu};
use super::number::Dialled;
use super::offer::{Choice, Offer};
use super::route::{NoChoice, Route, Step, Via};
use super::schedule;
use super::voicemail::Voicemail;
use crate::config::model::{
    Config, DepartmentId, Destination, NoAnswer, StaffId, Strategy, Target, Tenant,
};
use crate::config::values::E164;
use crate::media::sound::{Builtin, Sound, Tone};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Destinations followed without the caller choosing before a call gives up (validation
/// already forbids loops). A key chosen in a voice menu starts the count again.
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
    /// A callback the PBX makes: `department`'s members ring; the one who answers hears who is
    /// called back, then `number` is rung through the trunk and the two are connected.
    Callback {
        department: DepartmentId,
        number: E164,
    },
}

/// Whether the PBX serves the caller's audio.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Served {
    /// No: the caller hears what the callees send (their ringback).
    Not,
    /// Early media (183): the PBX plays while legs ring.
    Early,
    /// The PBX answered the call.
    Answered,
}

enum Phase {
    /// Ringing a person or a department; `no_answer` follows, with `mailbox` for voicemail.
    Hunt {
        hunt: Hunt,
        no_answer: NoAnswer,
        mailbox: Target,
        /// The impatient-caller offer (a department's, for a caller from outside).
        offer: Option<Offer>,
    },
    /// A no-answer forward ringing an external number until `until`, then `mailbox`.
    Forward {
        leg: LegId,
        until: Instant,
        mailbox: Target,
    },
    /// An external destination rung for as long as the caller waits.
    External {
        leg: LegId,
    },
    /// A voice menu.
    Menu(VoiceMenu),
    /// A voicemail box.
    Voicemail(Voicemail),
    /// The after-hours prompt plays; then the PBX hangs up.
    Closing,
    /// A caller who chose the callback confirms the number.
    Ordering(CallbackOrder),
    /// A callback: the department's members ring (nobody is on the line yet).
    CallbackHunt {
        hunt: Hunt,
        number: E164,
    },
    /// A callback: the member who answered hears who is called back.
    Announcing {
        number: E164,
    },
    /// A callback: the caller's number rings until `until`, the member hearing the ringback.
    CallingBack {
        leg: LegId,
        until: Instant,
    },
    Done,
}

/// One call's flow.
pub struct Flow {
    config: Arc<Config>,
    tenant: usize,
    phase: Phase,
    legs: Legs,
    served: Served,
    /// Destinations gone to since the caller last chose (a guard against endless transfers).
    destinations: u32,
    route: Route,
    /// The number an outside caller presented (what a callback would call).
    from: Option<String>,
    /// The number's own `impatient_after`, replacing the departments' `after`.
    offer_after: Option<Duration>,
}

impl Flow {
    /// Starts the flow of a call entering at `entry` (from `from`, the number an outside caller
    /// presented); `wall` is the current time of day for schedules. Returns the first actions.
    pub fn start(
        config: Arc<Config>,
        tenant: usize,
        entry: Entry,
        from: Option<&str>,
        now: Instant,
        wall: jiff::Timestamp,
        presence: &dyn Presence,
    ) -> (Flow, Vec<Action>) {
        let mut flow = Flow {
            config,
            tenant,
            phase: Phase::Done,
            legs: Legs::default(),
            served: Served::Not,
            destinations: 0,
            route: Route::default(),
            from: from.map(str::to_string),
            offer_after: None,
        };
        let mut out = Vec::new();
        let mut greeting = None;
        let destination = match entry {
            Entry::Number(i) => {
                let number = flow.config.tenants[tenant].numbers[i].clone();
                flow.route.number = Some(number.number.clone());
                flow.offer_after = number.impatient_after;
                let open = number.schedule.is_none_or(|s| {
                    schedule::is_open(&flow.config.tenants[tenant].schedules[s.0], wall)
                });
                if open {
                    greeting = number.greeting;
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
            Entry::Callback { department, number } => {
                flow.call_back(department, number, now, presence, &mut out);
                return (flow, out);
            }
        };
        match destination {
            Some(d) => {
                let (mark, steps) = (out.len(), flow.route.steps.len());
                flow.go(d, now, presence, &mut out);
                // The greeting replaces the ringback tone: only for a destination that rings.
                if let (Some(file), true) = (greeting, flow.ringing()) {
                    flow.served = Served::Early;
                    flow.route.steps.insert(steps, Step::Greeting);
                    let play = Action::Play {
                        sounds: vec![Sound::File(file)],
                        looped: false,
                    };
                    out.splice(mark..mark, [Action::EarlyMedia, play]);
                }
            }
            None => {
                flow.route.steps.push(Step::AfterHoursPrompt);
                flow.answer(&mut out);
                out.push(Action::Play {
                    sounds: vec![Sound::Builtin(Builtin::AfterHours)],
                    looped: false,
                });
                flow.phase = Phase::Closing;
            }
        }
        (flow, out)
    }

    /// Feeds one event in; returns what the engine must do.
    pub fn on_event(&mut self, event: Event, now: Instant, presence: &dyn Presence) -> Vec<Action> {
        let mut out = Vec::new();
        if event == Event::PlayDone
            && self.ringing()
            && self.served != Served::Not
            && !self.offer_playing()
        {
            // The greeting ended while legs still ring.
            out.push(ringback());
            return out;
        }
        let config = Arc::clone(&self.config);
        let tenant = &config.tenants[self.tenant];
        let phase = std::mem::replace(&mut self.phase, Phase::Done);
        self.phase = match (phase, event) {
            (
                Phase::Hunt {
                    mut hunt,
                    no_answer,
                    mailbox,
                    mut offer,
                },
                event,
            ) => {
                if let Some(o) = offer.as_mut() {
                    if event == Event::Tick && o.due(now) {
                        self.answer(&mut out);
                        o.play(&mut out);
                    }
                    if let Some(choice) = o.on_event(&event, now, &mut out) {
                        hunt.cancel_all(&mut out);
                        self.leave_queue(choice, mailbox, &mut out);
                        return out;
                    }
                }
                let end = {
                    let mut ctx = Ctx {
                        tenant,
                        presence,
                        legs: &mut self.legs,
                    };
                    hunt.on_event(&event, now, &mut ctx, &mut out)
                };
                match end {
                    None => Phase::Hunt {
                        hunt,
                        no_answer,
                        mailbox,
                        offer,
                    },
                    Some(HuntEnd::Answered(leg)) => {
                        self.answered(leg);
                        Phase::Done
                    }
                    Some(HuntEnd::NoAnswer) => {
                        self.no_answer(no_answer, mailbox, now, presence, &mut out);
                        std::mem::replace(&mut self.phase, Phase::Done)
                    }
                }
            }
            (
                Phase::Forward {
                    leg,
                    until,
                    mailbox,
                },
                event,
            ) => match event {
                Event::Answered(l) if l == leg => {
                    self.answered(leg);
                    Phase::Done
                }
                Event::Failed(l, _) if l == leg => {
                    self.voicemail(mailbox, &mut out);
                    std::mem::replace(&mut self.phase, Phase::Done)
                }
                Event::Tick if now >= until => {
                    out.push(Action::Cancel(leg));
                    self.voicemail(mailbox, &mut out);
                    std::mem::replace(&mut self.phase, Phase::Done)
                }
                _ => Phase::Forward {
                    leg,
                    until,
                    mailbox,
                },
            },
            (Phase::External { leg }, event) => match event {
                Event::Answered(l) if l == leg => {
                    self.answered(leg);
                    Phase::Done
                }
                Event::Failed(l, refusal) if l == leg => {
                    self.give_up(refusal, GiveUp::ExternalFailed, &mut out);
                    Phase::Done
                }
                _ => Phase::External { leg },
            },
            (Phase::Menu(mut menu), event) => {
                match menu.on_event(&event, now, tenant, &mut self.route.steps, &mut out) {
                    None => Phase::Menu(menu),
                    Some(end) => {
                        let next = match end {
                            MenuEnd::Go(d) => {
                                // The caller chose: a new chain of destinations begins.
                                self.destinations = 0;
                                Some(d)
                            }
                            MenuEnd::NoChoice(after) => {
                                let m = &tenant.menus[menu.id().0];
                                match after {
                                    NoChoice::NoInput => m.on_timeout.clone(),
                                    NoChoice::Invalid => m.on_invalid.clone(),
                                }
                            }
                        };
                        match next {
                            Some(d) => self.go_answered(d, now, presence, &mut out),
                            None => self.hangup(Ended::MenuNoChoice, &mut out),
                        }
                        std::mem::replace(&mut self.phase, Phase::Done)
                    }
                }
            }
            (Phase::Voicemail(mut voicemail), event) => {
                match voicemail.on_event(&event, &mut out) {
                    None => Phase::Voicemail(voicemail),
                    Some(why) => {
                        self.route.ended = Some(why);
                        Phase::Done
                    }
                }
            }
            (Phase::Ordering(mut order), event) => {
                match order.on_event(&event, now, &tenant.outbound, &mut out) {
                    None => Phase::Ordering(order),
                    Some(why) => {
                        self.route.ended = Some(why);
                        Phase::Done
                    }
                }
            }
            (Phase::CallbackHunt { mut hunt, number }, event) => {
                let end = {
                    let mut ctx = Ctx {
                        tenant,
                        presence,
                        legs: &mut self.legs,
                    };
                    hunt.on_event(&event, now, &mut ctx, &mut out)
                };
                match end {
                    None => Phase::CallbackHunt { hunt, number },
                    Some(HuntEnd::Answered(leg)) => {
                        // The member is on the line: told who is called back.
                        self.answered(leg);
                        self.served = Served::Answered;
                        let mut sounds = vec![Sound::Builtin(Builtin::CallbackAnnounce)];
                        sounds.extend(callback::spoken(&number, &tenant.outbound));
                        out.push(Action::Play {
                            sounds,
                            looped: false,
                        });
                        Phase::Announcing { number }
                    }
                    Some(HuntEnd::NoAnswer) => {
                        self.hangup(Ended::CallbackNoMember, &mut out);
                        Phase::Done
                    }
                }
            }
            (Phase::Announcing { number }, Event::PlayDone) => {
                out.push(ringback());
                let leg = self.legs.ring(Callee::External(number.into()), &mut out);
                let ring_time = tenant
                    .departments
                    .get(self.route.departments().last().map_or(0, |d| d.0))
                    .and_then(|d| d.impatient_callers.as_ref())
                    .map_or(Duration::from_secs(45), |ic| ic.callback.ring_time);
                Phase::CallingBack {
                    leg,
                    until: now + ring_time,
                }
            }
            (Phase::CallingBack { leg, until }, event) => match event {
                Event::Answered(l) if l == leg => Phase::Done,
                Event::Failed(l, _) if l == leg => {
                    self.hangup(Ended::CallbackUnreachable, &mut out);
                    Phase::Done
                }
                Event::Tick if now >= until => {
                    out.push(Action::Cancel(leg));
                    self.hangup(Ended::CallbackUnreachable, &mut out);
                    Phase::Done
                }
                _ => Phase::CallingBack { leg, until },
            },
            (phase @ Phase::Announcing { .. }, _) => phase,
            (Phase::Closing, Event::PlayDone) => {
                self.hangup(Ended::Closed, &mut out);
                Phase::Done
            }
            (Phase::Closing, _) => Phase::Closing,
            (Phase::Done, _) => Phase::Done,
        };
        out
    }

    /// When the engine must send the next `Tick`.
    pub fn next_deadline(&self) -> Option<Instant> {
        match &self.phase {
            Phase::Hunt { hunt, offer, .. } => {
                let offer = offer.as_ref().and_then(Offer::next_deadline);
                match (hunt.next_deadline(), offer) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            }
            Phase::Forward { until, .. } => Some(*until),
            Phase::Menu(menu) => menu.next_deadline(),
            Phase::Ordering(order) => order.next_deadline(),
            Phase::CallbackHunt { hunt, .. } => hunt.next_deadline(),
            Phase::CallingBack { until, .. } => Some(*until),
            Phase::External { .. }
            | Phase::Voicemail(_)
            | Phase::Closing
            | Phase::Announcing { .. }
            | Phase::Done => None,
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

    /// Whether the flow has finished (answered by a callee, refused, or hung up by the PBX).
    pub fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    fn tenant(&self) -> &Tenant {
        &self.config.tenants[self.tenant]
    }

    /// Whether legs ring (and a callee answering ends the flow).
    fn ringing(&self) -> bool {
        matches!(
            self.phase,
            Phase::Hunt { .. } | Phase::Forward { .. } | Phase::External { .. }
        )
    }

    /// Whether the impatient-caller offer plays now.
    fn offer_playing(&self) -> bool {
        matches!(&self.phase, Phase::Hunt { offer: Some(o), .. } if o.playing())
    }

    /// Whether this flow is a callback the PBX makes (a member answering is not the end).
    pub fn is_callback(&self) -> bool {
        matches!(
            self.phase,
            Phase::CallbackHunt { .. } | Phase::Announcing { .. } | Phase::CallingBack { .. }
        )
    }

    /// The caller left the department's queue from the offer (what rang is cancelled).
    fn leave_queue(&mut self, choice: Choice, mailbox: Target, out: &mut Vec<Action>) {
        self.route.steps.push(Step::OfferChoice(choice));
        match (choice, mailbox) {
            (Choice::Callback, Target::Department(d)) => {
                let order = CallbackOrder::start(
                    d,
                    self.from.as_deref(),
                    &self.config.tenants[self.tenant].outbound,
                    out,
                );
                self.phase = Phase::Ordering(order);
            }
            (Choice::Voicemail, _) | (Choice::Callback, Target::Staff(_)) => {
                self.voicemail(mailbox, out)
            }
        }
    }

    /// Starts a callback: `department`'s members ring for the department's `ring_time`.
    fn call_back(
        &mut self,
        department: DepartmentId,
        number: E164,
        now: Instant,
        presence: &dyn Presence,
        out: &mut Vec<Action>,
    ) {
        self.route.steps.push(Step::Department(department));
        let plan = department_plan(&self.tenant().departments[department.0]);
        let (hunt, end) = self.hunt(plan, now, presence, out);
        match end {
            Some(HuntEnd::NoAnswer) => self.hangup(Ended::CallbackNoMember, out),
            Some(HuntEnd::Answered(_)) | None => self.phase = Phase::CallbackHunt { hunt, number },
        }
    }

    fn answered(&mut self, leg: LegId) {
        self.route.answered = self.callee(leg).cloned();
    }

    /// The PBX answers the call, unless it has.
    fn answer(&mut self, out: &mut Vec<Action>) {
        if self.served != Served::Answered {
            self.served = Served::Answered;
            out.push(Action::Answer);
        }
    }

    fn give_up(&mut self, refusal: Refusal, why: GiveUp, out: &mut Vec<Action>) {
        self.route.gave_up = Some(why.clone());
        self.phase = Phase::Done;
        out.push(Action::Reject { refusal, why });
    }

    fn hangup(&mut self, why: Ended, out: &mut Vec<Action>) {
        self.route.ended = Some(why);
        self.phase = Phase::Done;
        out.push(Action::Hangup { why });
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
        let mut offer = None;
        let (plan, no_answer, mailbox) = match destination {
            Destination::Staff(s) => {
                let staff = &self.tenant().staff[s.0];
                let plan = HuntPlan {
                    members: vec![s],
                    strategy: Strategy::AllAtOnce,
                    step: Duration::ZERO,
                    ring_time: staff.ring_time,
                    skip_busy: false,
                };
                (plan, staff.no_answer.clone(), Target::Staff(s))
            }
            Destination::Department(d) => {
                self.route.steps.push(Step::Department(d));
                let dept = &self.tenant().departments[d.0];
                if self.from.is_some() {
                    offer = dept.impatient_callers.as_ref().map(|ic| {
                        let mut ic = ic.clone();
                        ic.after = self.offer_after.unwrap_or(ic.after);
                        Offer::new(&ic, now)
                    });
                }
                let no_answer = dept.no_answer.clone();
                (department_plan(dept), no_answer, Target::Department(d))
            }
            Destination::External(number) => return self.go_external(number.into(), out),
            Destination::Menu(m) => {
                self.answer(out);
                self.route.steps.push(Step::Menu(m));
                let menu = VoiceMenu::start(m, self.tenant(), out);
                self.phase = Phase::Menu(menu);
                return;
            }
            Destination::Voicemail(t) => return self.voicemail(t, out),
            Destination::Hangup if self.served == Served::Answered => {
                return self.hangup(Ended::Hangup, out)
            }
            Destination::Hangup => return self.give_up(Refusal::Unavailable, GiveUp::Hangup, out),
        };
        let (hunt, end) = self.hunt(plan, now, presence, out);
        match end {
            Some(HuntEnd::NoAnswer) => self.no_answer(no_answer, mailbox, now, presence, out),
            // A hunt cannot be answered before it rang.
            Some(HuntEnd::Answered(_)) | None => {
                self.phase = Phase::Hunt {
                    hunt,
                    no_answer,
                    mailbox,
                    offer,
                }
            }
        }
    }

    /// Sends a call the PBX answered to `destination`: one that rings is announced by the
    /// ringback tone (the menu's prompt stops).
    fn go_answered(
        &mut self,
        destination: Destination,
        now: Instant,
        presence: &dyn Presence,
        out: &mut Vec<Action>,
    ) {
        let mark = out.len();
        self.go(destination, now, presence, out);
        if self.ringing() {
            out.insert(mark, ringback());
        }
    }

    /// Starts ringing by `plan`.
    fn hunt(
        &mut self,
        plan: HuntPlan,
        now: Instant,
        presence: &dyn Presence,
        out: &mut Vec<Action>,
    ) -> (Hunt, Option<HuntEnd>) {
        let config = Arc::clone(&self.config);
        let mut ctx = Ctx {
            tenant: &config.tenants[self.tenant],
            presence,
            legs: &mut self.legs,
        };
        Hunt::start(plan, now, &mut ctx, out)
    }

    /// Rings an external number for as long as the caller waits.
    fn go_external(&mut self, number: Dialled, out: &mut Vec<Action>) {
        let leg = self.legs.ring(Callee::External(number), out);
        self.phase = Phase::External { leg };
    }

    /// The caller leaves a message in `mailbox` (nothing rings any more).
    fn voicemail(&mut self, mailbox: Target, out: &mut Vec<Action>) {
        self.answer(out);
        self.route.steps.push(Step::Voicemail(mailbox));
        let voicemail = Voicemail::start(mailbox, self.tenant(), out);
        self.phase = Phase::Voicemail(voicemail);
    }

    /// Nobody answered: the no-answer action; `mailbox` is the box of whoever was rung.
    fn no_answer(
        &mut self,
        action: NoAnswer,
        mailbox: Target,
        now: Instant,
        presence: &dyn Presence,
        out: &mut Vec<Action>,
    ) {
        match action {
            NoAnswer::Voicemail => self.voicemail(mailbox, out),
            NoAnswer::Forward { number, timeout } => {
                self.route.via = Via::Forwarded;
                self.route.steps.push(Step::Forwarded);
                let leg = self.legs.ring(Callee::External(number.into()), out);
                self.phase = Phase::Forward {
                    leg,
                    until: now + timeout,
                    mailbox,
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

/// How a department rings: its members by its strategy, those on a call skipped.
fn department_plan(dept: &crate::config::model::Department) -> HuntPlan {
    HuntPlan {
        members: dept.members.clone(),
        strategy: dept.strategy,
        step: dept.step,
        ring_time: dept.ring_time,
        skip_busy: true,
    }
}

/// The ringback tone, looped: what a caller the PBX serves hears while legs ring.
fn ringback() -> Action {
    Action::Play {
        sounds: vec![Sound::Tone(Tone::Ringback)],
        looped: true,
    }
}
