//! `Hunt`: ringing a group of people — a department by its strategy, or one person for a
//! direct call — until someone answers or the ring time runs out.
//!
//! The strategies, as the seed describes them:
//! - all at once: every available member rings at once;
//! - in order: one member at a time in the listed order, each for `step`; the previous one is
//!   cancelled when the next starts; after the last, round again from the first;
//! - evenly: like in order, in the order of who has gone longest without receiving a call;
//! - increasing: like in order, but nobody is cancelled as the next one is added.
//!
//! A member is available when they have a registered phone and (for departments) are not on a
//! call. Their mobile forwarding applies wherever they ring: `instant` rings the mobile instead
//! of the phones (whether or not the phones are available), `delayed` adds the mobile after its
//! delay — or at once when the phones are not available. A member nobody can reach is skipped.
//! A member who refuses (busy, decline, every phone failed) moves a sequential hunt on at once.

use super::action::{Action, Callee, Event, Presence};
use super::LegId;
use crate::config::model::{Forwarding, StaffId, Strategy, Tenant};
use std::time::{Duration, Instant};

/// How a hunt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HuntEnd {
    Answered(LegId),
    /// The ring time ran out, or nobody could be reached: the no-answer action applies.
    NoAnswer,
}

/// The shortest step a hunt takes, whatever its plan says: validation refuses a step below
/// it, and a zero step that slipped through would otherwise ring the next member at the same
/// instant again and again without time passing.
pub const MIN_STEP: Duration = Duration::from_secs(1);

/// Who the hunt rings, and how.
#[derive(Clone, Debug)]
pub struct HuntPlan {
    pub members: Vec<StaffId>,
    pub strategy: Strategy,
    pub step: Duration,
    pub ring_time: Duration,
    /// Departments skip members on a call; a direct call rings a busy person anyway.
    pub skip_busy: bool,
}

/// One member being rung: their phones and/or mobile.
#[derive(Clone, Debug)]
struct Offer {
    member: usize,
    legs: Vec<LegId>,
    /// For delayed forwarding: when the mobile joins.
    mobile_at: Option<Instant>,
}

/// A group being rung.
#[derive(Clone, Debug)]
pub struct Hunt {
    plan: HuntPlan,
    ends: Instant,
    /// The member the next step tries first, counted across rounds (member = cursor % n).
    cursor: usize,
    /// Where the current round ends (a multiple of the member count).
    round_end: usize,
    next_step: Option<Instant>,
    offers: Vec<Offer>,
}

/// Every leg a call rang, and everyone it was offered to.
#[derive(Clone, Debug, Default)]
pub struct Legs {
    pub all: Vec<(LegId, Callee)>,
    /// Every callee offered the call, in order, once each (for the history record).
    pub offered: Vec<Callee>,
}

impl Legs {
    /// A new leg ringing `callee`.
    pub fn ring(&mut self, callee: Callee, out: &mut Vec<Action>) -> LegId {
        let leg = LegId(self.all.len() as u32 + 1);
        if !self.offered.contains(&callee) {
            self.offered.push(callee.clone());
        }
        self.all.push((leg, callee.clone()));
        out.push(Action::Ring { leg, callee });
        leg
    }
}

/// What a hunt needs from its surroundings for one step.
pub struct Ctx<'a> {
    pub tenant: &'a Tenant,
    pub presence: &'a dyn Presence,
    pub legs: &'a mut Legs,
}

impl Hunt {
    /// Starts ringing. Evenly orders the members by who waited longest for a call (never
    /// first, then oldest), keeping the listed order among equals.
    pub fn start(
        mut plan: HuntPlan,
        now: Instant,
        ctx: &mut Ctx,
        out: &mut Vec<Action>,
    ) -> (Hunt, Option<HuntEnd>) {
        if plan.strategy == Strategy::Evenly {
            plan.members
                .sort_by_key(|s| ctx.presence.last_call(*s).map_or((0, 0), |t| (1, t)));
        }
        // Bounded work per event: every step moves time forward.
        plan.step = plan.step.max(MIN_STEP);
        let n = plan.members.len();
        let mut hunt = Hunt {
            ends: now + plan.ring_time,
            plan,
            cursor: 0,
            round_end: n,
            next_step: None,
            offers: Vec::new(),
        };
        let end = hunt.advance(now, false, ctx, out);
        (hunt, end)
    }

    /// When the hunt next has something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        let mobile = self.offers.iter().filter_map(|o| o.mobile_at).min();
        [Some(self.ends), self.next_step, mobile]
            .into_iter()
            .flatten()
            .min()
    }

    /// Whether `leg` is one of the hunt's live legs.
    pub fn owns(&self, leg: LegId) -> bool {
        self.offers.iter().any(|o| o.legs.contains(&leg))
    }

    /// Time passed.
    pub fn on_tick(
        &mut self,
        now: Instant,
        ctx: &mut Ctx,
        out: &mut Vec<Action>,
    ) -> Option<HuntEnd> {
        if now >= self.ends {
            self.cancel_all(out);
            return Some(HuntEnd::NoAnswer);
        }
        for i in 0..self.offers.len() {
            if self.offers[i].mobile_at.is_some_and(|at| at <= now) {
                self.offers[i].mobile_at = None;
                let staff = self.plan.members[self.offers[i].member];
                if let Some(number) = mobile_of(ctx.tenant, staff) {
                    let leg = ctx.legs.ring(Callee::Mobile(staff, number), out);
                    self.offers[i].legs.push(leg);
                }
            }
        }
        if self.next_step.is_some_and(|at| at <= now) {
            return self.advance(now, true, ctx, out);
        }
        None
    }

    /// Feeds one of the flow's events in: a leg of the hunt answering or failing, or time
    /// passing (other events are not the hunt's); `Some` when the hunt ended.
    pub fn on_event(
        &mut self,
        event: &Event,
        now: Instant,
        ctx: &mut Ctx,
        out: &mut Vec<Action>,
    ) -> Option<HuntEnd> {
        match *event {
            Event::Answered(leg) if self.owns(leg) => Some(self.on_answered(leg, out)),
            Event::Failed(leg, _) => self.on_failed(leg, now, ctx, out),
            Event::Tick => self.on_tick(now, ctx, out),
            _ => None,
        }
    }

    /// A leg answered: every other leg is cancelled.
    pub fn on_answered(&mut self, leg: LegId, out: &mut Vec<Action>) -> HuntEnd {
        for offer in &mut self.offers {
            offer.legs.retain(|l| *l != leg);
        }
        self.cancel_all(out);
        HuntEnd::Answered(leg)
    }

    /// A leg ended unanswered (however it refused: what follows is the same).
    pub fn on_failed(
        &mut self,
        leg: LegId,
        now: Instant,
        ctx: &mut Ctx,
        out: &mut Vec<Action>,
    ) -> Option<HuntEnd> {
        let i = self.offers.iter().position(|o| o.legs.contains(&leg))?;
        let offer = &mut self.offers[i];
        offer.legs.retain(|l| *l != leg);
        if !offer.legs.is_empty() {
            return None;
        }
        // Nothing of this member rings any more (a pending mobile is dropped: they refused).
        self.offers.remove(i);
        match self.plan.strategy {
            Strategy::AllAtOnce => self.offers.is_empty().then_some(HuntEnd::NoAnswer),
            // The next member at once, rather than waiting out the step — but not round
            // again: when everyone of this round refused, the no-answer action applies.
            _ => self.advance(now, false, ctx, out),
        }
    }

    /// Rings the next step's members; `wrap`: a sequential hunt may start the next round.
    fn advance(
        &mut self,
        now: Instant,
        wrap: bool,
        ctx: &mut Ctx,
        out: &mut Vec<Action>,
    ) -> Option<HuntEnd> {
        let n = self.plan.members.len();
        match self.plan.strategy {
            Strategy::AllAtOnce => {
                if self.offers.is_empty() && self.next_step.is_none() {
                    for m in 0..n {
                        self.offer(m, now, ctx, out);
                    }
                }
                self.next_step = None;
            }
            strategy => {
                let keep = strategy == Strategy::Increasing;
                let mut found = None;
                for k in 0..n {
                    let at = self.cursor + k;
                    if at >= self.round_end {
                        // Increasing adds each member once; the others go round.
                        if keep || !wrap {
                            break;
                        }
                        self.round_end += n;
                    }
                    let m = at % n;
                    if self.offers.iter().any(|o| o.member == m) || self.reachable(m, ctx) {
                        found = Some((at, m));
                        break;
                    }
                }
                self.next_step = None;
                if let Some((at, m)) = found {
                    if !keep {
                        let others: Vec<usize> = (0..self.offers.len())
                            .filter(|&i| self.offers[i].member != m)
                            .collect();
                        for i in others.into_iter().rev() {
                            let offer = self.offers.remove(i);
                            out.extend(offer.legs.into_iter().map(Action::Cancel));
                        }
                    }
                    if !self.offers.iter().any(|o| o.member == m) {
                        self.offer(m, now, ctx, out);
                    }
                    self.cursor = at + 1;
                    if !keep || self.cursor < n {
                        self.next_step = Some(now + self.plan.step);
                    }
                } else {
                    self.cursor = self.round_end;
                }
            }
        }
        self.offers.is_empty().then(|| {
            self.next_step = None;
            HuntEnd::NoAnswer
        })
    }

    fn reachable(&self, m: usize, ctx: &Ctx) -> bool {
        let staff = self.plan.members[m];
        let forwarding = ctx.tenant.staff[staff.0]
            .mobile
            .as_ref()
            .map_or(Forwarding::Off, |mb| mb.forwarding);
        forwarding != Forwarding::Off || self.phones_available(staff, ctx)
    }

    fn phones_available(&self, staff: StaffId, ctx: &Ctx) -> bool {
        ctx.presence.registered(staff) && !(self.plan.skip_busy && ctx.presence.busy(staff))
    }

    /// Rings member `m` as their forwarding says; nothing if they cannot be reached.
    fn offer(&mut self, m: usize, now: Instant, ctx: &mut Ctx, out: &mut Vec<Action>) {
        let staff = self.plan.members[m];
        let mobile = ctx.tenant.staff[staff.0].mobile.clone();
        let phones = self.phones_available(staff, ctx);
        let mut offer = Offer {
            member: m,
            legs: Vec::new(),
            mobile_at: None,
        };
        match mobile {
            Some(mb) if mb.forwarding == Forwarding::Instant => {
                offer
                    .legs
                    .push(ctx.legs.ring(Callee::Mobile(staff, mb.number), out));
            }
            Some(mb) if mb.forwarding == Forwarding::Delayed => {
                if phones {
                    offer.legs.push(ctx.legs.ring(Callee::Devices(staff), out));
                    offer.mobile_at = Some(now + mb.delay);
                } else {
                    offer
                        .legs
                        .push(ctx.legs.ring(Callee::Mobile(staff, mb.number), out));
                }
            }
            _ if phones => offer.legs.push(ctx.legs.ring(Callee::Devices(staff), out)),
            _ => return,
        }
        self.offers.push(offer);
    }

    /// Stops ringing: every leg is cancelled (the caller left the queue).
    pub fn cancel_all(&mut self, out: &mut Vec<Action>) {
        for offer in self.offers.drain(..) {
            out.extend(offer.legs.into_iter().map(Action::Cancel));
        }
        self.next_step = None;
    }
}

fn mobile_of(tenant: &Tenant, staff: StaffId) -> Option<crate::config::values::E164> {
    tenant.staff[staff.0]
        .mobile
        .as_ref()
        .map(|m| m.number.clone())
}
