//! `Call`: one call the PBX carries as a B2BUA — the caller's side it answers, the legs it
//! rings, the relay its audio is anchored at, and the routing `Flow` that decides who rings.
//! This is where the engine meets routing: the call starts the flow, carries out its actions
//! (a person's phones — one leg per registered device — a mobile or an external number through
//! the tenant's trunk, failing over to the next trunk on 408/5xx; cancelling; refusing the
//! caller with a reason), and feeds it the legs' outcomes and its timer. Every leg to a trunk
//! starts through `through_trunk`, the toll-fraud gate: the tenant's `outbound` rules and its
//! cap of calls out (a refused number the caller dialled gets 403/503; a refused forward fails
//! like an unreachable number).
//!
//! SIP as a B2BUA does it: provisional answers (180/183, with early SDP) go back to the caller;
//! the first 2xx wins, is ACKed, and every other leg is cancelled (a leg gets its CANCEL only
//! once it answered provisionally, RFC 3261 §9.1); a leg answering after routing gave up on it,
//! or after its call ended, is ACKed and hung up; a trunk's digest challenge is answered once;
//! CANCEL and BYE come from either side; re-INVITEs (hold, resume) pass from one side to the
//! other; the caller's 200 is retransmitted until the ACK. Each side is its own dialog: no
//! Call-ID or tag of one appears in the other, and the SDP of both points at the relay.
//!
//! A finished call writes its record once and lingers only while a leg may still answer (at
//! most `LINGER`), so a late 200 is hung up rather than left ringing.
//!
//! The PBX can serve the caller's audio itself, as routing asks: early media (183 with our SDP
//! answer) for a greeting while the legs ring, or an answer (200) for a voice menu, voicemail
//! or the after-hours prompt. The caller's side of the relay then becomes a media endpoint
//! (`MediaCommand::Serve`) that plays routing's sounds, records, and reports the caller's keys
//! (RFC 4733 and in-band from the driver, SIP INFO here — merged so a press counts once). A leg
//! that answers later is bridged on the same ports, and the caller keeps the SDP it was given:
//! the legs were offered only the codec the caller was answered with.
//!
//! A call over a `server.limits` cap is refused before it starts (`caps`); one that starts
//! holds its places in the call counts until it finishes.

use super::caller::{CallerSide, CallerState, Serving};
use super::caps::{self, Holds};
use super::context::{CallId, Ctx, End, Owner, Timer, Toward};
use super::directory::{Directory, Tenant};
use super::history;
use super::io::Notice;
use super::leg::{Leg, LegState};
use super::outbound::Refused;
use super::presence::Live;
use super::reason;
use crate::config::model::Target as Mailbox;
use crate::media::anchor::{self, Clip, MediaCommand, PortPair, Side};
use crate::media::dtmf::{Merge, Via};
use crate::media::endpoint::Limits;
use crate::media::sdes::{self, Crypto};
use crate::media::sdp;
use crate::media::sound::Sound;
use crate::routing::{Action, Callee, Ended, Entry, Event, Flow, GiveUp, LegId, Refusal};
use crate::sip::dialog::{echo_record_route, Dialog};
use crate::sip::link::{Link, Peer};
use crate::sip::message::{Method, NameAddr, Request, Response, StatusCode, Uri};
use crate::sip::registrar::{Aor, Transport};
use crate::sip::transaction::TransactionKey;
use crate::sip::uas::respond;
use crate::store::{CallOutcome, CallRecord};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// How long a finished call waits for its legs' last answers before it is forgotten.
pub const LINGER: Duration = Duration::from_secs(32);

/// Who is calling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// An authenticated staff member (login).
    Staff(String),
    /// Someone outside, through a trunk: the number they presented.
    External(String),
    /// Nobody: the PBX calls a department's member and then this number back (a callback).
    Callback(String),
}

impl Caller {
    fn staff(&self) -> Option<&str> {
        match self {
            Caller::Staff(login) => Some(login),
            Caller::External(_) | Caller::Callback(_) => None,
        }
    }

    fn name(&self) -> &str {
        match self {
            Caller::Staff(s) | Caller::External(s) | Caller::Callback(s) => s,
        }
    }
}

/// A call admission decided to start.
pub struct Start {
    pub request: Request,
    pub key: TransactionKey,
    /// Where the caller's messages come from, and where answers go.
    pub from: Peer,
    pub reply_to: Peer,
    /// The config snapshot the call keeps for its whole life.
    pub directory: Arc<Directory>,
    /// The tenant's SIP domain.
    pub domain: String,
    pub caller: Caller,
    /// What was called, for the record.
    pub callee: String,
    pub entry: Entry,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Routing decides who rings; nobody answered yet.
    Routing,
    /// The caller talks to leg `.0`.
    Connected(usize),
    /// The record is written; only late answers are awaited.
    Finished,
}

/// A callback the PBX makes: its queue entry, and whether a member took it.
struct Calling {
    id: u64,
    ordered_ms: u64,
    dialled: Option<String>,
    /// A member answered: they are the call's first side from then on.
    reached: bool,
}

/// Where a new leg goes.
struct Target {
    uri: Uri,
    to_header: String,
    peer: Peer,
    trunk: Option<usize>,
}

/// One call.
pub struct Call {
    id: CallId,
    caller_side: CallerSide,
    caller: Caller,
    legs: Vec<Leg>,
    phase: Phase,
    relay: Option<PortPair>,
    flow: Flow,
    directory: Arc<Directory>,
    domain: String,
    record: CallRecord,
    /// The staff member who answered (on their phones or mobile).
    answered_by: Option<String>,
    /// When the flow's timer is set for.
    flow_timer: Option<std::time::Instant>,
    /// The finished record, until the engine takes it.
    finished: Option<CallRecord>,
    /// The caller's key presses, each way they came, counted once.
    digits: Merge,
    /// Its places in the tenant's and people's call counts (`server.limits`).
    holds: Holds,
    /// A staff member dialled a number outside: a refused call out refuses the call.
    dialled_out: bool,
    /// The call holds one of its tenant's calls out (`outbound.max_calls`).
    trunk_slot: bool,
    /// A refused call out was logged (once per call).
    refusal_logged: bool,
    /// This call is a callback the PBX makes.
    callback: Option<Calling>,
    /// The caller offered SRTP: the PBX's key for it (with the tag and suite it chose). The
    /// caller's side of the relay speaks SRTP; the legs are offered plain RTP.
    srtp: Option<Crypto>,
}

impl Call {
    /// Starts a call: the caller gets 100 at once, its audio is anchored at a relay pair, and
    /// everything else is as the flow decides. `None` when it cannot start (no relay ports,
    /// an unknown tenant): the caller has its answer.
    pub fn start(id: CallId, s: Start, ctx: &mut Ctx) -> Option<Call> {
        let tag = ctx.random.tag();
        let Some(tenant) = s.directory.tenant(&s.domain) else {
            let r = respond(&s.request, StatusCode::NOT_FOUND, "Not Found", &tag);
            ctx.respond(&s.key, &r);
            return None;
        };
        let limits = &s.directory.config.server.limits;
        let mut holds = match Holds::take(ctx.presence, limits, tenant, s.caller.staff(), &s.entry)
        {
            Ok(holds) => holds,
            Err(limit) => {
                let (status, phrase) = caps::status(&limit);
                let mut r = respond(&s.request, status, phrase, &tag);
                caps::decorate(&mut r, &limit);
                ctx.respond(&s.key, &r);
                let outcome = match limit {
                    super::io::Limit::TenantCalls { .. } => CallOutcome::Unavailable,
                    _ => CallOutcome::Busy,
                };
                let record = refused(
                    &s,
                    tenant,
                    ctx.now.wall_ms,
                    outcome,
                    status,
                    limit.to_string(),
                );
                ctx.out.push_back(super::io::Output::Record(record));
                ctx.out
                    .push_back(super::io::Output::Notice(Notice::Limit(limit)));
                return None;
            }
        };
        let offer = std::str::from_utf8(s.request.body())
            .ok()
            .and_then(sdp::audio_endpoint);
        let relay = match offer {
            None => None,
            Some(addr) => match ctx.ports.take() {
                Some(pair) => {
                    ctx.media(MediaCommand::Start(pair.id));
                    ctx.media(MediaCommand::Expect {
                        relay: pair.id,
                        side: Side::Caller,
                        addr,
                    });
                    Some(pair)
                }
                None => {
                    holds.release(ctx.presence);
                    let mut r = respond(
                        &s.request,
                        StatusCode::SERVICE_UNAVAILABLE,
                        "Service Unavailable",
                        &tag,
                    );
                    r.headers_mut()
                        .push("Retry-After", super::dispatch::RETRY_AFTER.to_string());
                    ctx.respond(&s.key, &r);
                    ctx.out
                        .push_back(super::io::Output::Notice(Notice::NoRelayPorts));
                    // The refused call leaves its record too.
                    let record = refused(
                        &s,
                        tenant,
                        ctx.now.wall_ms,
                        CallOutcome::Unavailable,
                        StatusCode::SERVICE_UNAVAILABLE,
                        "no relay ports were free".into(),
                    );
                    ctx.out.push_back(super::io::Output::Record(record));
                    return None;
                }
            },
        };
        // A caller offering SRTP gets it: its side of the relay is keyed from now on.
        let srtp = match (
            relay,
            std::str::from_utf8(s.request.body())
                .ok()
                .and_then(sdes::offered),
        ) {
            (Some(pair), Some(theirs)) => {
                let ours = Crypto {
                    key: ctx.random.bytes::<{ crate::media::srtp::KEY_LEN }>(),
                    ..theirs.clone()
                };
                ctx.media(MediaCommand::Secure {
                    relay: pair.id,
                    side: Side::Caller,
                    keys: Box::new(anchor::SrtpKeys {
                        suite: theirs.suite,
                        remote: theirs.key,
                        local: ours.key,
                    }),
                });
                Some(ours)
            }
            _ => None,
        };
        let trying = respond(&s.request, StatusCode::TRYING, "Trying", &tag);
        ctx.respond(&s.key, &trying);
        let Some(dialog) = Dialog::as_uas(&s.request, &tag, s.from) else {
            holds.release(ctx.presence);
            return None;
        };
        ctx.index
            .dialogs
            .insert((dialog.call_id.clone(), tag.clone()), (id, End::Caller));
        ctx.index.invites.insert(s.key.clone(), id);
        let record = CallRecord {
            tenant: tenant.id.clone(),
            caller: s.caller.name().to_string(),
            callee: s.callee.clone(),
            started_ms: ctx.now.wall_ms,
            journal: Some(u64::from_be_bytes(ctx.random.bytes::<8>())),
            ..CallRecord::default()
        };
        let (flow, actions) = start_flow(&s.directory, tenant, s.entry.clone(), &s.caller, ctx);
        let mut call = Call {
            id,
            caller_side: CallerSide {
                invite: s.request,
                key: s.key,
                reply_to: s.reply_to,
                dialog,
                state: CallerState::Waiting,
                serving: None,
            },
            caller: s.caller,
            legs: Vec::new(),
            phase: Phase::Routing,
            relay,
            flow,
            directory: s.directory,
            domain: s.domain,
            record,
            answered_by: None,
            flow_timer: None,
            finished: None,
            digits: Merge::new(),
            holds,
            dialled_out: matches!(s.entry, Entry::External(_)),
            trunk_slot: false,
            refusal_logged: false,
            callback: None,
            srtp,
        };
        call.carry_out(actions, ctx);
        call.journal(ctx);
        Some(call)
    }

    /// Starts a callback the PBX makes: the department's members ring, offered the PBX's own
    /// SDP at the caller's side of a relay pair (the member who answers takes the caller's
    /// place in the call); then the flow calls the number back. `None` when it cannot start
    /// (the department or tenant is gone, no relay ports): the attempt has failed.
    pub fn originate(
        id: CallId,
        directory: Arc<Directory>,
        callback: crate::routing::queue::Callback,
        ctx: &mut Ctx,
    ) -> Option<Call> {
        let fail = |why: &str, ctx: &mut Ctx| {
            ctx.out.push_back(super::io::Output::CallbackEnded {
                id: callback.id,
                attempt: crate::routing::queue::Attempt::Failed(why.to_string()),
            });
            None
        };
        let model = &directory.config;
        let Some((t, dept)) = model
            .tenants
            .iter()
            .position(|t| t.id == callback.tenant)
            .and_then(|t| {
                let d = model.tenants[t]
                    .departments
                    .iter()
                    .position(|d| d.id == callback.department)?;
                Some((t, d))
            })
        else {
            return fail("the department no longer exists", ctx);
        };
        let domain = model.tenants[t].domain.to_string();
        let Some(tenant) = directory.tenant(&domain) else {
            return fail("the department no longer exists", ctx);
        };
        let Ok(number) = crate::config::values::E164::parse(&callback.number) else {
            return fail("the number is not in E.164 form", ctx);
        };
        let Some(pair) = ctx.ports.take() else {
            ctx.out
                .push_back(super::io::Output::Notice(Notice::NoRelayPorts));
            return fail("no relay ports were free", ctx);
        };
        ctx.media(MediaCommand::Start(pair.id));
        // What the members' phones are offered, and the caller's side stands for until one
        // answers: an INVITE from the number called back, to the department.
        let tag = ctx.random.tag();
        let call_id = ctx.shard.call_id(ctx.random);
        let session = u64::from(u32::from_be_bytes(ctx.random.bytes::<4>()));
        let user = model.tenants[t].departments[dept]
            .extension
            .as_ref()
            .map_or(callback.department.clone(), |e| e.to_string());
        let uri: Uri = format!("sip:{user}@{domain}").parse().ok()?;
        let mut invite = Request::new(Method::Invite, uri);
        let h = invite.headers_mut();
        h.push("Via", ctx.via(Link::Udp(0)));
        h.push("Max-Forwards", "70");
        h.push(
            "From",
            format!("\"Callback\" <sip:{number}@{domain}>;tag={tag}"),
        );
        h.push("To", format!("<sip:{user}@{domain}>"));
        h.push("Call-ID", &call_id);
        h.push("CSeq", "1 INVITE");
        h.push("Content-Type", "application/sdp");
        invite.set_body(sdp::offer(pair.caller, session).into_bytes());
        let nowhere = Peer {
            addr: pair.caller,
            link: Link::Udp(0),
        };
        let dialog = Dialog::as_uas(&invite, &tag, nowhere)?;
        let key = crate::sip::transaction::TransactionKey::client(
            &format!("z9hG4bKcallback{}", callback.id),
            "INVITE",
        )?;
        let record = CallRecord {
            tenant: tenant.id.clone(),
            caller: callback.number.clone(),
            callee: callback.department.clone(),
            number: callback.dialled.clone(),
            started_ms: ctx.now.wall_ms,
            journal: Some(u64::from_be_bytes(ctx.random.bytes::<8>())),
            ..CallRecord::default()
        };
        let entry = Entry::Callback {
            department: crate::config::model::DepartmentId(dept),
            number,
        };
        let caller = Caller::Callback(callback.number.clone());
        let (flow, actions) = start_flow(&directory, tenant, entry, &caller, ctx);
        let mut call = Call {
            id,
            caller_side: CallerSide {
                invite,
                key,
                reply_to: nowhere,
                dialog,
                state: CallerState::Done,
                serving: None,
            },
            caller,
            legs: Vec::new(),
            phase: Phase::Routing,
            relay: Some(pair),
            flow,
            directory: Arc::clone(&directory),
            domain,
            record,
            answered_by: None,
            flow_timer: None,
            finished: None,
            digits: Merge::new(),
            holds: Holds::default(),
            dialled_out: false,
            trunk_slot: false,
            refusal_logged: false,
            callback: Some(Calling {
                id: callback.id,
                ordered_ms: callback.ordered_ms,
                dialled: callback.dialled,
                reached: false,
            }),
            srtp: None,
        };
        call.carry_out(actions, ctx);
        call.journal(ctx);
        Some(call)
    }

    /// The relay the call's audio is anchored at.
    pub fn relay(&self) -> Option<anchor::RelayId> {
        self.relay.map(|r| r.id)
    }

    /// Whether the call's record is written (it may linger for late answers).
    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Finished
    }

    /// Whether nothing is left to do: finished, and no leg or caller is owed an answer.
    pub fn is_over(&self) -> bool {
        self.phase == Phase::Finished
            && !self.caller_side.is_open()
            && !self.legs.iter().any(Leg::awaits_answer)
    }

    /// The finished record and the relay to close, once.
    pub fn take_record(&mut self) -> Option<(CallRecord, Option<PortPair>)> {
        self.finished.take().map(|r| (r, self.relay))
    }

    /// The index keys of this call, to forget it: its dialogs and the caller's INVITE.
    pub fn keys(&self) -> (Vec<(String, String)>, TransactionKey) {
        let mut dialogs = vec![(
            self.caller_side.dialog.call_id.clone(),
            self.caller_side.tag().to_string(),
        )];
        dialogs.extend(self.legs.iter().map(|l| (l.call_id().to_string(), l.tag())));
        (dialogs, self.caller_side.key.clone())
    }

    // ---- Routing ----------------------------------------------------------------------

    /// Feeds `event` to the flow and carries out what it decides.
    fn route(&mut self, event: Event, ctx: &mut Ctx) {
        let directory = Arc::clone(&self.directory);
        let Some(tenant) = directory.tenant(&self.domain) else {
            return;
        };
        let live = Live {
            presence: ctx.presence,
            location: ctx.location,
            tenant,
            caller: self.caller.staff(),
            now_ms: ctx.now.wall_ms,
        };
        let actions = self.flow.on_event(event, ctx.now.mono, &live);
        self.carry_out(actions, ctx);
    }

    fn carry_out(&mut self, actions: Vec<Action>, ctx: &mut Ctx) {
        let mut failed = Vec::new();
        for action in actions {
            match action {
                Action::Ring { leg, callee } => match self.ring(leg, &callee, ctx) {
                    Ok(true) => {}
                    // The number the caller dialled may not be called: they are told why.
                    Err(refused) if self.dialled_out => return self.refuse_out(&refused, ctx),
                    // Anything else (a forward, a mobile) fails like an unreachable number.
                    Ok(false) | Err(_) => failed.push(leg),
                },
                Action::Cancel(group) => {
                    for j in 0..self.legs.len() {
                        if self.legs[j].group == group {
                            self.cancel_leg(j, ctx);
                        }
                    }
                }
                Action::Reject { refusal, why } => self.reject(refusal, &why, ctx),
                Action::EarlyMedia => self.early_media(ctx),
                Action::Answer => self.answer_caller(ctx),
                Action::Play { sounds, looped } => self.play(&sounds, looped, ctx),
                Action::Record { mailbox } => self.record_into(mailbox, ctx),
                Action::StopRecording => {
                    if let Some(relay) = self.served_relay() {
                        ctx.media(MediaCommand::StopRecording(relay));
                    }
                }
                Action::Hangup { why } => self.hang_up(why, ctx),
                Action::OrderCallback { department, number } => {
                    self.order_callback(department, &number, ctx)
                }
            }
        }
        // A leg that could not even be started fails at once (one at a time: each may change
        // what the flow does next).
        for leg in failed {
            self.route(Event::Failed(leg, Refusal::Unavailable), ctx);
        }
        self.settle_trunk_slot(ctx);
        self.schedule_flow(ctx);
    }

    fn schedule_flow(&mut self, ctx: &mut Ctx) {
        if let Some(at) = self.flow.next_deadline() {
            if self.flow_timer != Some(at) {
                self.flow_timer = Some(at);
                ctx.timers.set(at, Timer::Flow(self.id));
            }
        }
    }

    /// The flow's timer fired.
    pub fn on_flow_timer(&mut self, ctx: &mut Ctx) {
        if self.phase == Phase::Routing && self.flow_timer.is_some_and(|at| at <= ctx.now.mono) {
            self.flow_timer = None;
            self.route(Event::Tick, ctx);
        }
    }

    /// Starts the legs of routing leg `group`; `false` when nothing could be rung (no phone
    /// registered, no trunk), `Refused` when a call out may not go.
    fn ring(&mut self, group: LegId, callee: &Callee, ctx: &mut Ctx) -> Result<bool, Refused> {
        let directory = Arc::clone(&self.directory);
        let Some(tenant) = directory.tenant(&self.domain) else {
            return Ok(false);
        };
        let targets = match callee {
            Callee::Devices(s) => {
                let login = tenant.logins.get(s.0).cloned().unwrap_or_default();
                let cap = directory.config.server.limits.calls_per_person;
                if ctx.presence.at_person_cap(&tenant.id, &login, cap) {
                    // A person at their cap is not rung: the hunt goes on without them.
                    return Ok(false);
                }
                ctx.location
                    .lookup(&Aor::new(&tenant.id, &login), ctx.now.wall_ms)
                    .into_iter()
                    .filter_map(|b| {
                        Some(Target {
                            uri: b.contact.parse().ok()?,
                            to_header: format!("<sip:{login}@{}>", tenant.domain),
                            peer: Peer {
                                addr: b.source,
                                link: match b.transport {
                                    Transport::Udp => Link::Udp(0),
                                    Transport::Tcp => Link::Tcp,
                                    Transport::Tls => Link::Tls,
                                },
                            },
                            trunk: None,
                        })
                    })
                    .collect()
            }
            Callee::Mobile(_, number) => {
                self.through_trunk(&directory, tenant, number.as_str(), None, ctx)?
            }
            Callee::External(number) => {
                self.through_trunk(&directory, tenant, number.as_str(), None, ctx)?
            }
        };
        let rang = !targets.is_empty();
        for target in targets {
            self.start_leg(group, target, tenant, ctx);
        }
        Ok(rang)
    }

    /// Where a call out to `number` goes (see `trunk_target`) — the one gate every leg to a
    /// trunk passes, whoever asked for it (a staff member dialling, a forward, a mobile, a
    /// failover): the tenant's `outbound` rules must allow the number, and the call takes one
    /// of the tenant's calls out (`max_calls`) with its first trunk leg. A refusal is logged
    /// once per call.
    fn through_trunk(
        &mut self,
        directory: &Directory,
        tenant: &Tenant,
        number: &str,
        after: Option<usize>,
        ctx: &mut Ctx,
    ) -> Result<Vec<Target>, Refused> {
        // What the staff member who dialled may call (their role's or own rules), else the
        // tenant's rules.
        let rules = match (&self.caller, self.dialled_out) {
            (Caller::Staff(login), true) => tenant
                .staff(login)
                .and_then(|s| tenant.policy.per_staff.get(&s.0))
                .unwrap_or(&tenant.policy),
            _ => &tenant.policy,
        };
        let checked = rules.check(number).map_err(Refused::Barred);
        let targets = match checked {
            Ok(()) => trunk_target(directory, tenant, number, after),
            Err(refused) => return Err(self.refused_out(tenant, number, refused, ctx)),
        };
        if !targets.is_empty() && !self.trunk_slot {
            if let Some(cap) = tenant.policy.max_minutes_per_hour {
                if ctx.presence.minutes_out(&tenant.id, ctx.now.wall_ms) >= u64::from(cap) {
                    return Err(self.refused_out(tenant, number, Refused::Minutes(cap), ctx));
                }
            }
            let max = tenant.policy.max_calls;
            if !ctx.presence.take_outbound(&tenant.id, max) {
                let refused = Refused::Full(max.unwrap_or(0));
                return Err(self.refused_out(tenant, number, refused, ctx));
            }
            self.trunk_slot = true;
        }
        Ok(targets)
    }

    /// `refused`, logged when it is the call's first.
    fn refused_out(
        &mut self,
        tenant: &Tenant,
        number: &str,
        refused: Refused,
        ctx: &mut Ctx,
    ) -> Refused {
        if !self.refusal_logged {
            self.refusal_logged = true;
            ctx.out
                .push_back(super::io::Output::Notice(Notice::OutboundRefused {
                    tenant: tenant.id.clone(),
                    number: number.to_string(),
                    why: refused.clone(),
                }));
        }
        refused
    }

    /// The call's slot among its tenant's calls out goes back once no leg to a trunk rings or
    /// talks (a forward that failed on to voicemail does not hold it).
    fn settle_trunk_slot(&mut self, ctx: &mut Ctx) {
        let busy = self.legs.iter().any(|l| {
            l.trunk.is_some() && (l.is_ringing() || matches!(l.state, LegState::Answered(_)))
        });
        if self.trunk_slot && (!busy || self.phase == Phase::Finished) {
            self.trunk_slot = false;
            if let Some(tenant) = self.directory.tenant(&self.domain) {
                ctx.presence.release_outbound(&tenant.id);
            }
        }
    }

    /// The caller dialled a number that may not be called (or not now): refused with 403 or
    /// 503, the call ends.
    fn refuse_out(&mut self, refused: &Refused, ctx: &mut Ctx) {
        self.cancel_all(ctx);
        if self.caller_side.state != CallerState::Waiting {
            return;
        }
        self.record.note = Some(refused.to_string());
        let response = refused.answer(&self.caller_side.invite, self.caller_side.tag());
        ctx.respond(&self.caller_side.key.clone(), &response);
        self.caller_side.state = CallerState::Done;
        self.finish(CallOutcome::Unavailable, Some(refused.status()), ctx);
    }

    /// The From of a new leg. Towards a phone: the caller as they called in. Towards a trunk:
    /// our address, with the caller's number for an outside caller (a forward keeps their
    /// caller ID) or the company's number for a staff member.
    fn leg_from(&self, tenant: &Tenant, to_trunk: bool, ctx: &mut Ctx) -> NameAddr {
        let invite = &self.caller_side.invite;
        let original = invite.headers().from().ok();
        let mut from = match (to_trunk, original) {
            (true, original) => {
                let user = match &self.caller {
                    Caller::Staff(login) => tenant.caller_id.as_deref().unwrap_or(login),
                    Caller::External(number) => number,
                    // The company number the caller called, so they know who calls back.
                    Caller::Callback(_) => self
                        .callback
                        .as_ref()
                        .and_then(|c| c.dialled.as_deref())
                        .or(tenant.caller_id.as_deref())
                        .unwrap_or("pbx"),
                };
                let (_, local) = ctx.locals.local(Link::Udp(0));
                let uri = format!("sip:{user}@{local}").parse();
                let mut n = NameAddr::new(uri.unwrap_or_else(|_| invite.uri().clone()));
                if self.callback.is_none() {
                    n.display_name = original.and_then(|f| f.display_name);
                }
                n
            }
            (false, Some(f)) => {
                let mut n = NameAddr::new(f.uri.clone());
                n.display_name = f.display_name.clone();
                n
            }
            (false, None) => NameAddr::new(invite.uri().clone()),
        };
        from.set_tag(&ctx.random.tag());
        from
    }

    /// Sends the INVITE of a new leg.
    fn start_leg(&mut self, group: LegId, target: Target, tenant: &Tenant, ctx: &mut Ctx) {
        let from = self.leg_from(tenant, target.trunk.is_some(), ctx);
        let invite = &self.caller_side.invite;
        let max_forwards = invite
            .headers()
            .max_forwards()
            .ok()
            .flatten()
            .unwrap_or(70)
            .saturating_sub(1)
            .max(1);
        // A callback's members are offered the caller's side of the relay (the one who answers
        // takes the caller's place); everyone else the callee's.
        let toward = if self.reaching_member() {
            self.relay.map(|r| r.caller)
        } else {
            self.relay.map(|r| r.callee)
        };
        let mut body = sided(
            self.srtp.as_ref(),
            Side::Callee,
            relayed_body(invite.body(), toward),
        );
        if let (Some(serving), Ok(text)) = (&self.caller_side.serving, std::str::from_utf8(&body)) {
            body = sdp::only(text, &serving.codec).into_bytes();
        }
        let content_type = invite.headers().get("Content-Type").map(str::to_string);
        let link = target.peer.link;
        let call_id = ctx.shard.call_id(ctx.random);
        let mut request = Request::new(Method::Invite, target.uri);
        let h = request.headers_mut();
        h.push("Via", ctx.via(link));
        h.push("Max-Forwards", max_forwards.to_string());
        h.push("From", from.to_string());
        h.push("To", &target.to_header);
        h.push("Call-ID", &call_id);
        h.push("CSeq", "1 INVITE");
        h.push("Contact", ctx.contact(link));
        if let Some(ct) = content_type {
            h.push("Content-Type", ct);
        }
        request.set_body(body);
        let i = self.legs.len();
        ctx.index.dialogs.insert(
            (call_id, from.tag().unwrap_or_default().to_string()),
            (self.id, End::Leg(i)),
        );
        self.legs.push(Leg {
            group,
            invite: request.clone(),
            target: target.peer,
            trunk: target.trunk,
            authenticated: false,
            state: LegState::Calling,
        });
        ctx.send(
            request,
            target.peer,
            Owner::Leg {
                call: self.id,
                leg: i,
            },
        );
    }

    /// Rings routing leg `group`'s number again through the trunk after `failed`, if the
    /// tenant has one.
    fn fail_over(&mut self, group: LegId, failed: usize, ctx: &mut Ctx) {
        let number = match self.flow.callee(group) {
            Some(Callee::External(n)) => n.to_string(),
            Some(Callee::Mobile(_, n)) => n.to_string(),
            _ => return,
        };
        let directory = Arc::clone(&self.directory);
        let Some(tenant) = directory.tenant(&self.domain) else {
            return;
        };
        let targets = self
            .through_trunk(&directory, tenant, &number, Some(failed), ctx)
            .unwrap_or_default();
        for target in targets {
            self.start_leg(group, target, tenant, ctx);
        }
    }

    // ---- Legs -------------------------------------------------------------------------

    /// An answer to leg `i`'s INVITE.
    pub fn on_leg_answer(&mut self, i: usize, response: Response, ctx: &mut Ctx) {
        if i >= self.legs.len() {
            return;
        }
        let code = response.code().as_u16();
        match code {
            100..=199 => self.leg_provisional(i, &response, ctx),
            200..=299 => self.leg_answered(i, response, ctx),
            401 | 407 if self.answer_challenge(i, &response, ctx) => {}
            _ => self.leg_failed(i, code, ctx),
        }
    }

    /// Leg `i`'s INVITE got no answer at all.
    pub fn on_leg_timeout(&mut self, i: usize, ctx: &mut Ctx) {
        if i < self.legs.len() {
            self.leg_failed(i, 408, ctx);
        }
    }

    fn leg_provisional(&mut self, i: usize, response: &Response, ctx: &mut Ctx) {
        match self.legs[i].state {
            LegState::CancelPending => {
                // Given up on before it answered provisionally: now it can be cancelled.
                self.send_cancel(i, ctx);
            }
            LegState::Calling | LegState::Proceeding => {
                self.legs[i].state = LegState::Proceeding;
                if response.code().as_u16() == 100
                    || self.phase != Phase::Routing
                    || self.reaching_member()
                {
                    return;
                }
                self.callee_audio(response, false, ctx);
                if self.caller_side.serving.is_some() {
                    return; // the caller hears the PBX until someone answers
                }
                let relayed = self.relay_response(response, ctx);
                ctx.respond(&self.caller_side.key.clone(), &relayed);
            }
            _ => {}
        }
    }

    fn leg_answered(&mut self, i: usize, response: Response, ctx: &mut Ctx) {
        let leg = &mut self.legs[i];
        let Some(dialog) = Dialog::as_uac(&leg.invite, &response, leg.target) else {
            return;
        };
        let via = ctx.via(leg.target.link);
        let ack = dialog.ack(leg.seq(), &via);
        ctx.transmit(dialog.next_hop(), ack.to_bytes());
        // Answered after routing moved on (its CANCEL crossed the 200), after another device
        // answered, or after the call ended: hung up at once.
        let wanted = leg.is_ringing() && self.phase == Phase::Routing;
        leg.state = LegState::Answered(Box::new(dialog));
        if !wanted {
            self.bye_leg(i, ctx);
            return;
        }
        if self.reaching_member() {
            return self.member_reached(i, &response, ctx);
        }
        self.callee_audio(&response, true, ctx);
        self.phase = Phase::Connected(i);
        self.record.answered_ms = Some(ctx.now.wall_ms);
        match &self.caller_side.serving {
            // The caller has our answer (and maybe a menu behind it): only the audio moves.
            Some(serving) => {
                if !serving.answered {
                    let ok = self.served_answer(StatusCode::OK, "OK", ctx);
                    self.confirm_caller(ok, ctx);
                }
                if let Some(relay) = self.relay {
                    ctx.media(MediaCommand::Bridge(relay.id));
                }
            }
            None => {
                let mut ok = self.relay_response(&response, ctx);
                if ok.headers().get("Content-Type").is_none() && !ok.body().is_empty() {
                    ok.headers_mut().push("Content-Type", "application/sdp");
                }
                self.confirm_caller(ok, ctx);
            }
        }
        for j in 0..self.legs.len() {
            if j != i {
                self.cancel_leg(j, ctx);
            }
        }
        // The person who took it counts as having received a call, and is on one now.
        let group = self.legs[i].group;
        let staff = match self.flow.callee(group) {
            Some(Callee::Devices(s) | Callee::Mobile(s, _)) => Some(*s),
            _ => None,
        };
        let directory = Arc::clone(&self.directory);
        if let (Some(s), Some(tenant)) = (staff, directory.tenant(&self.domain)) {
            let login = tenant.logins.get(s.0).cloned().unwrap_or_default();
            ctx.presence.received(&tenant.id, &login, ctx.now.wall_ms);
            self.holds.answered_by(ctx.presence, &login);
            self.answered_by = Some(login);
        }
        if self.callback.is_none() {
            self.count_talking(1, ctx); // a callback's member counts from when they answered
        }
        self.journal(ctx);
        self.route(Event::Answered(group), ctx);
    }

    /// Whether this is a callback still ringing the department's members.
    fn reaching_member(&self) -> bool {
        self.callback.as_ref().is_some_and(|c| !c.reached)
    }

    /// A member answered a callback (leg `i`, ACKed): they take the caller's place — their
    /// dialog is the caller's side, their audio the caller's side of the relay, served by the
    /// PBX — and the flow tells them who is called back.
    fn member_reached(&mut self, i: usize, response: &Response, ctx: &mut Ctx) {
        let LegState::Answered(dialog) = &self.legs[i].state else {
            return;
        };
        let dialog = (**dialog).clone();
        let codec = std::str::from_utf8(response.body())
            .ok()
            .and_then(sdp::choose);
        let (Some(codec), Some(relay)) = (codec, self.relay) else {
            self.bye_leg(i, ctx);
            self.cancel_all(ctx);
            self.record.note =
                Some("the member's phone answered with no audio codec the PBX speaks".into());
            return self.finish(CallOutcome::CallbackFailed, None, ctx);
        };
        ctx.index.dialogs.insert(
            (dialog.call_id.clone(), dialog.local_tag().to_string()),
            (self.id, End::Caller),
        );
        let leg = &mut self.legs[i];
        leg.state = LegState::Ended(200);
        let (reply_to, group) = (leg.target, leg.group);
        let side = &mut self.caller_side;
        side.serving = Some(Serving {
            codec,
            sdp: side.invite.body().to_vec(),
            answered: true,
        });
        side.dialog = dialog;
        side.reply_to = reply_to;
        side.state = CallerState::Confirmed;
        if let Some(addr) = body_audio(response.body()) {
            ctx.media(MediaCommand::Expect {
                relay: relay.id,
                side: Side::Caller,
                addr,
            });
        }
        ctx.media(MediaCommand::Serve {
            relay: relay.id,
            codec,
        });
        for j in 0..self.legs.len() {
            if j != i {
                self.cancel_leg(j, ctx);
            }
        }
        let directory = Arc::clone(&self.directory);
        if let (Some(Callee::Devices(s) | Callee::Mobile(s, _)), Some(tenant)) =
            (self.flow.callee(group), directory.tenant(&self.domain))
        {
            let login = tenant.logins.get(s.0).cloned().unwrap_or_default();
            ctx.presence.received(&tenant.id, &login, ctx.now.wall_ms);
            self.answered_by = Some(login);
        }
        if let Some(c) = &mut self.callback {
            c.reached = true;
        }
        self.count_talking(1, ctx);
        self.journal(ctx);
        self.route(Event::Answered(group), ctx);
    }

    /// The caller ordered a callback: it goes to its department's queue.
    fn order_callback(
        &mut self,
        department: crate::config::model::DepartmentId,
        number: &crate::config::values::E164,
        ctx: &mut Ctx,
    ) {
        let Some(tenant) = self.directory.tenant(&self.domain) else {
            return;
        };
        let model = &self.directory.config.tenants[tenant.index];
        let Some(dept) = model.departments.get(department.0) else {
            return;
        };
        ctx.out.push_back(super::io::Output::CallbackOrdered(
            crate::routing::queue::Order {
                tenant: tenant.id.clone(),
                department: dept.id.clone(),
                number: number.to_string(),
                dialled: self.flow.route().number.as_ref().map(ToString::to_string),
                called_ms: self.record.started_ms,
            },
        ));
    }

    /// Leg `i` ended without answering. When it was the last live leg of its routing leg,
    /// the flow hears of it.
    fn leg_failed(&mut self, i: usize, code: u16, ctx: &mut Ctx) {
        let leg = &mut self.legs[i];
        if !leg.awaits_answer() {
            return;
        }
        let ringing = leg.is_ringing();
        leg.state = LegState::Ended(code);
        if !ringing || self.phase != Phase::Routing {
            return;
        }
        let group = leg.group;
        // A gateway that failed (not the number: it timed out or answered 5xx) hands the call
        // to the tenant's next trunk.
        if let Some(t) = leg.trunk {
            if code == 408 || (500..600).contains(&code) {
                self.fail_over(group, t, ctx);
            }
        }
        let siblings = || self.legs.iter().filter(|l| l.group == group);
        if siblings().any(Leg::is_ringing) {
            return;
        }
        let codes: Vec<u16> = siblings()
            .filter_map(|l| match l.state {
                LegState::Ended(c) => Some(c),
                _ => None,
            })
            .collect();
        let refusal = if codes.iter().any(|c| *c == 486 || *c == 600) {
            Refusal::Busy
        } else if codes.contains(&603) {
            Refusal::Declined
        } else {
            Refusal::Unavailable
        };
        self.route(Event::Failed(group, refusal), ctx);
    }

    /// A trunk challenged leg `i`'s INVITE: send it again with credentials, once. `false`
    /// when the leg is not to a trunk with credentials, or they were already refused.
    fn answer_challenge(&mut self, i: usize, response: &Response, ctx: &mut Ctx) -> bool {
        let leg = &self.legs[i];
        if leg.authenticated || !leg.is_ringing() {
            return false;
        }
        let auth = leg
            .trunk
            .and_then(|t| self.directory.trunks.get(t))
            .and_then(|t| t.auth.clone());
        let Some((user, Some(password))) = auth else {
            return false;
        };
        let uri = leg.invite.uri().to_string();
        let Some((answer_header, authorization)) =
            crate::sip::auth::answer(response, "INVITE", &uri, &user, &password)
        else {
            return false;
        };
        let mut request = leg.invite.clone();
        let h = request.headers_mut();
        h.set("Via", ctx.via(leg.target.link));
        h.set("CSeq", format!("{} INVITE", leg.seq() + 1));
        h.push(answer_header, authorization);
        let target = leg.target;
        let leg = &mut self.legs[i];
        leg.invite = request.clone();
        leg.authenticated = true;
        leg.state = LegState::Calling;
        ctx.send(
            request,
            target,
            Owner::Leg {
                call: self.id,
                leg: i,
            },
        );
        true
    }

    /// Stops ringing leg `j`: a CANCEL now if it answered provisionally, else once it does.
    fn cancel_leg(&mut self, j: usize, ctx: &mut Ctx) {
        match self.legs[j].state {
            LegState::Proceeding => self.send_cancel(j, ctx),
            LegState::Calling => self.legs[j].state = LegState::CancelPending,
            _ => {}
        }
    }

    /// Stops ringing every leg.
    fn cancel_all(&mut self, ctx: &mut Ctx) {
        for j in 0..self.legs.len() {
            self.cancel_leg(j, ctx);
        }
    }

    /// The outcome of a call nobody took: missed when it was offered to someone, else
    /// `otherwise`.
    fn unanswered(&self, otherwise: CallOutcome) -> CallOutcome {
        if self.flow.offered().is_empty() {
            otherwise
        } else {
            CallOutcome::Missed
        }
    }

    fn send_cancel(&mut self, j: usize, ctx: &mut Ctx) {
        let leg = &mut self.legs[j];
        leg.state = LegState::Cancelled;
        ctx.send(leg.cancel(), leg.target, Owner::Fire);
    }

    /// Hangs up answered leg `i`.
    fn bye_leg(&mut self, i: usize, ctx: &mut Ctx) {
        let leg = &mut self.legs[i];
        if let LegState::Answered(dialog) = &mut leg.state {
            let via = ctx.via(dialog.peer.link);
            let bye = dialog.request(Method::Bye, &via);
            let to = dialog.next_hop();
            leg.state = LegState::Ended(200);
            ctx.send(bye, to, Owner::Fire);
        }
    }

    /// Hangs up the caller (after their 200).
    fn bye_caller(&mut self, ctx: &mut Ctx) {
        let side = &mut self.caller_side;
        if matches!(
            side.state,
            CallerState::Confirmed | CallerState::Answered { .. }
        ) {
            let via = ctx.via(side.dialog.peer.link);
            let bye = side.dialog.request(Method::Bye, &via);
            let to = side.dialog.next_hop();
            side.state = CallerState::Done;
            ctx.send(bye, to, Owner::Fire);
        }
    }

    // ---- The caller -------------------------------------------------------------------

    /// Routing gave up: every leg still ringing is cancelled and the caller is refused.
    fn reject(&mut self, refusal: Refusal, why: &GiveUp, ctx: &mut Ctx) {
        self.cancel_all(ctx);
        if self.callback.is_some() {
            self.record.note = Some(why.reason().to_string());
            self.bye_caller(ctx);
            return self.finish(CallOutcome::CallbackFailed, None, ctx);
        }
        if self.served_answered() {
            // Answered by the PBX already: hung up instead, saying why.
            self.record.note = Some(why.reason().to_string());
            self.bye_caller(ctx);
            let outcome = self.unanswered(CallOutcome::Unavailable);
            return self.finish(outcome, None, ctx);
        }
        if self.caller_side.state != CallerState::Waiting {
            return;
        }
        self.record.note = Some(why.reason().to_string());
        let status = reason::status(refusal);
        let mut response = respond(
            &self.caller_side.invite,
            status,
            status.canonical_reason(),
            self.caller_side.tag(),
        );
        reason::add_reason(&mut response, why);
        ctx.respond(&self.caller_side.key.clone(), &response);
        self.caller_side.state = CallerState::Done;
        let outcome = match refusal {
            Refusal::Busy => CallOutcome::Busy,
            Refusal::Declined => CallOutcome::Declined,
            Refusal::Unavailable if !self.flow.offered().is_empty() => CallOutcome::Missed,
            Refusal::Unavailable => CallOutcome::Unavailable,
        };
        self.finish(outcome, Some(status.as_u16()), ctx);
    }

    /// The caller's CANCEL (its 200 is already out): every leg is cancelled, the INVITE gets
    /// 487.
    pub fn on_cancel(&mut self, ctx: &mut Ctx) {
        // Too late once the caller has a final answer (the PBX's own 200 included).
        if self.phase != Phase::Routing || self.caller_side.state != CallerState::Waiting {
            return;
        }
        self.cancel_all(ctx);
        let response = respond(
            &self.caller_side.invite,
            StatusCode::REQUEST_TERMINATED,
            "Request Terminated",
            self.caller_side.tag(),
        );
        ctx.respond(&self.caller_side.key.clone(), &response);
        self.caller_side.state = CallerState::Done;
        self.finish(CallOutcome::Cancelled, Some(487), ctx);
    }

    /// A BYE in the dialog of `end`: the other side is hung up too.
    pub fn on_bye(&mut self, end: End, ctx: &mut Ctx) {
        match (end, self.phase) {
            (End::Caller, Phase::Connected(i)) => {
                self.caller_side.state = CallerState::Done;
                self.bye_leg(i, ctx);
                self.finish(CallOutcome::Answered, None, ctx);
            }
            (End::Caller, Phase::Routing) if self.served_answered() => {
                // The caller hung up on the PBX (a menu, voicemail: a recording running is
                // kept by the driver when the relay closes, and reported).
                self.caller_side.state = CallerState::Done;
                self.cancel_all(ctx);
                let outcome = self.unanswered(CallOutcome::Cancelled);
                self.finish(outcome, None, ctx);
            }
            (End::Caller, Phase::Routing) => self.on_cancel(ctx),
            (End::Leg(i), Phase::Connected(j)) if i == j => {
                self.legs[i].state = LegState::Ended(200);
                self.bye_caller(ctx);
                self.finish(CallOutcome::Answered, None, ctx);
            }
            (End::Leg(i), _) => {
                if let Some(leg) = self.legs.get_mut(i) {
                    if let LegState::Answered(_) = leg.state {
                        leg.state = LegState::Ended(200);
                    }
                }
            }
            (End::Caller, Phase::Finished) => self.caller_side.state = CallerState::Done,
        }
    }

    /// The caller's ACK for our 200.
    pub fn on_ack(&mut self) {
        if let CallerState::Answered { .. } = self.caller_side.state {
            self.caller_side.state = CallerState::Confirmed;
        }
    }

    /// The caller's 200 retransmission timer.
    pub fn on_caller_timer(&mut self, ctx: &mut Ctx) {
        let now = ctx.now.mono;
        let CallerState::Answered {
            ok,
            interval,
            next,
            until,
        } = &mut self.caller_side.state
        else {
            return;
        };
        if *next > now {
            return;
        }
        if now >= *until {
            // No ACK ever came (RFC 3261 §13.3.1.4): the call is ended on both sides.
            self.caller_side.state = CallerState::Done;
            if self.phase == Phase::Routing {
                // The PBX's own answer was never acknowledged.
                self.record.note = Some("the caller never acknowledged the answer".into());
                self.cancel_all(ctx);
                let via = ctx.via(self.caller_side.dialog.peer.link);
                let bye = self.caller_side.dialog.request(Method::Bye, &via);
                ctx.send(bye, self.caller_side.dialog.next_hop(), Owner::Fire);
                self.finish(CallOutcome::Cancelled, None, ctx);
            } else if let Phase::Connected(i) = self.phase {
                self.record.note = Some("the caller never acknowledged the answer".into());
                self.bye_leg(i, ctx);
                // The dialog was never confirmed, but a BYE ends it on the caller's side too.
                let via = ctx.via(self.caller_side.dialog.peer.link);
                let bye = self.caller_side.dialog.request(Method::Bye, &via);
                ctx.send(bye, self.caller_side.dialog.next_hop(), Owner::Fire);
                self.finish(CallOutcome::Answered, None, ctx);
            }
            return;
        }
        let bytes = ok.clone();
        *interval = (*interval * 2).min(ctx.tx.config().t2);
        *next = (now + *interval).min(*until);
        let at = *next;
        ctx.timers.set(at, Timer::Caller(self.id));
        ctx.transmit(self.caller_side.reply_to, bytes);
    }

    /// A 2xx retransmitted by leg `i` after its transaction ended: ACK it again.
    pub fn on_stray_2xx(&self, end: End, ctx: &mut Ctx) {
        if end == End::Caller && self.callback.as_ref().is_some_and(|c| c.reached) {
            // A callback's member: their 200 again, our ACK was lost.
            let dialog = &self.caller_side.dialog;
            let via = ctx.via(dialog.peer.link);
            let ack = dialog.ack(1, &via);
            ctx.transmit(dialog.next_hop(), ack.to_bytes());
            return;
        }
        if let End::Leg(i) = end {
            if let Some(LegState::Answered(dialog)) = self.legs.get(i).map(|l| &l.state) {
                let via = ctx.via(dialog.peer.link);
                let ack = dialog.ack(self.legs[i].seq(), &via);
                ctx.transmit(dialog.next_hop(), ack.to_bytes());
            }
        }
    }

    // ---- Re-INVITEs -------------------------------------------------------------------

    /// An INVITE in the dialog of `end` (hold, resume, a codec change): passed to the other
    /// side with its audio still pointed at the relay. `None` when there is no other side (the
    /// engine answers 481).
    pub fn on_reinvite(
        &mut self,
        end: End,
        request: &Request,
        key: TransactionKey,
        ctx: &mut Ctx,
    ) -> Option<Response> {
        if self.phase == Phase::Routing && end == End::Caller && self.served_answered() {
            return Some(self.reinvite_served(request, ctx));
        }
        let Phase::Connected(i) = self.phase else {
            return None;
        };
        let toward = match end {
            End::Caller => Toward::Callee,
            End::Leg(j) if j == i => Toward::Caller,
            End::Leg(_) => return None,
        };
        // The side that sent the re-INVITE wants its audio where its new SDP says.
        let from = match toward {
            Toward::Callee => Side::Caller,
            Toward::Caller => Side::Callee,
        };
        self.repoint(from, request.body(), ctx);
        let sender = match toward {
            Toward::Callee => Some(&mut self.caller_side.dialog),
            Toward::Caller => match &mut self.legs[i].state {
                LegState::Answered(d) => Some(&mut **d),
                _ => None,
            },
        };
        if let Some(sender) = sender {
            sender.refresh_target(request.headers());
        }
        let (dialog, toward_addr) = match toward {
            Toward::Callee => match &mut self.legs[i].state {
                LegState::Answered(d) => (&mut **d, self.relay.map(|r| r.callee)),
                _ => return None,
            },
            Toward::Caller => (&mut self.caller_side.dialog, self.relay.map(|r| r.caller)),
        };
        let link = dialog.peer.link;
        let via = ctx.via(link);
        let mut forward = dialog.request(Method::Invite, &via);
        forward.headers_mut().push("Contact", ctx.contact(link));
        if let Some(ct) = request.headers().get("Content-Type") {
            forward.headers_mut().push("Content-Type", ct);
        }
        let side = match toward {
            Toward::Callee => Side::Callee,
            Toward::Caller => Side::Caller,
        };
        forward.set_body(sided(
            self.srtp.as_ref(),
            side,
            relayed_body(request.body(), toward_addr),
        ));
        let to = dialog.next_hop();
        ctx.send(
            forward,
            to,
            Owner::ReInvite {
                call: self.id,
                toward,
                origin: key,
                request: Arc::new(request.clone()),
            },
        );
        Some(respond(request, StatusCode::TRYING, "Trying", ""))
    }

    /// A re-INVITE from a caller the PBX serves (a session refresh, hold in a menu): its audio
    /// goes where its new SDP says, and it gets the PBX's answer again.
    fn reinvite_served(&mut self, request: &Request, ctx: &mut Ctx) -> Response {
        self.repoint(Side::Caller, request.body(), ctx);
        self.caller_side.dialog.refresh_target(request.headers());
        let mut ok = respond(request, StatusCode::OK, "OK", "");
        ok.headers_mut()
            .push("Contact", ctx.contact(self.caller_side.dialog.peer.link));
        if let Some(serving) = &self.caller_side.serving {
            ok.headers_mut().push("Content-Type", "application/sdp");
            ok.set_body(serving.sdp.clone());
        }
        ok
    }

    /// The other side answered a passed-through re-INVITE: ACK a 2xx there, and answer the
    /// originating side the same way (its audio pointed at the relay).
    pub fn on_reinvite_answer(
        &mut self,
        toward: Toward,
        origin: &TransactionKey,
        origin_request: &Request,
        response: &Response,
        ctx: &mut Ctx,
    ) {
        let code = response.code().as_u16();
        if code < 200 {
            return;
        }
        let answered = match self.phase {
            Phase::Connected(i) => Some(i),
            _ => None,
        };
        let origin_link = match toward {
            Toward::Callee => self.caller_side.dialog.peer.link,
            Toward::Caller => answered.map_or(Link::Udp(0), |i| self.legs[i].target.link),
        };
        let dialog = match (toward, answered) {
            (Toward::Callee, Some(i)) => match &mut self.legs[i].state {
                LegState::Answered(d) => Some(&mut **d),
                _ => None,
            },
            (Toward::Caller, _) => Some(&mut self.caller_side.dialog),
            (Toward::Callee, None) => None,
        };
        if let (true, Some(dialog)) = (code < 300, dialog) {
            dialog.refresh_target(response.headers());
            // The ACK for a 2xx is ours, in the dialog, with the re-INVITE's CSeq.
            let via = ctx.via(dialog.peer.link);
            let ack = dialog.ack(dialog.local_seq, &via);
            ctx.transmit(dialog.next_hop(), ack.to_bytes());
        }
        let back_to = match toward {
            Toward::Callee => self.relay.map(|r| r.caller),
            Toward::Caller => self.relay.map(|r| r.callee),
        };
        // The side that answered wants its audio where its SDP says.
        let answering = match toward {
            Toward::Callee => Side::Callee,
            Toward::Caller => Side::Caller,
        };
        self.repoint(answering, response.body(), ctx);
        // The originating side's dialog keeps our tag (its To has it already).
        let mut answer = respond(origin_request, response.code(), response.reason(), "");
        answer
            .headers_mut()
            .push("Contact", ctx.contact(origin_link));
        if !response.body().is_empty() {
            if let Some(ct) = response.headers().get("Content-Type") {
                answer.headers_mut().push("Content-Type", ct);
            }
            let origin_side = match toward {
                Toward::Callee => Side::Caller,
                Toward::Caller => Side::Callee,
            };
            answer.set_body(sided(
                self.srtp.as_ref(),
                origin_side,
                relayed_body(response.body(), back_to),
            ));
        }
        ctx.respond(origin, &answer);
    }

    // ---- Ending -----------------------------------------------------------------------

    /// Ends the call now (the server stops): answered calls get a BYE on both sides, ringing
    /// ones CANCELs and 503 for the caller.
    pub fn end_now(&mut self, ctx: &mut Ctx) {
        match self.phase {
            Phase::Connected(i) => {
                self.bye_leg(i, ctx);
                self.bye_caller(ctx);
                self.finish(CallOutcome::Answered, None, ctx);
            }
            Phase::Routing if self.served_answered() => {
                self.cancel_all(ctx);
                self.record.note = Some("the server stopped".into());
                self.bye_caller(ctx);
                self.finish(CallOutcome::Cancelled, None, ctx);
            }
            Phase::Routing => {
                self.cancel_all(ctx);
                self.record.note = Some("the server stopped".into());
                let mut response = respond(
                    &self.caller_side.invite,
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Service Unavailable",
                    self.caller_side.tag(),
                );
                response.headers_mut().push("Retry-After", "60");
                ctx.respond(&self.caller_side.key.clone(), &response);
                self.caller_side.state = CallerState::Done;
                self.finish(CallOutcome::Unavailable, Some(503), ctx);
            }
            Phase::Finished => {}
        }
    }

    /// Completes the call's record, once; the call lingers until its legs settle.
    fn finish(&mut self, outcome: CallOutcome, status: Option<u16>, ctx: &mut Ctx) {
        if self.phase == Phase::Finished {
            return;
        }
        let talking = match &self.callback {
            Some(c) => c.reached,
            None => matches!(self.phase, Phase::Connected(_)),
        };
        if talking {
            self.count_talking(-1, ctx);
        }
        let outcome = self.callback_outcome(outcome, ctx);
        // A call out that talked counts towards its tenant's minutes out.
        if let (Phase::Connected(i), Some(answered)) = (self.phase, self.record.answered_ms) {
            if self.legs.get(i).is_some_and(|l| l.trunk.is_some()) {
                if let Some(tenant) = self.directory.tenant(&self.domain) {
                    let seconds = ctx.now.wall_ms.saturating_sub(answered) / 1000;
                    ctx.presence
                        .talked_out(&tenant.id, seconds, ctx.now.wall_ms);
                }
            }
        }
        self.holds.release(ctx.presence);
        self.phase = Phase::Finished;
        self.settle_trunk_slot(ctx);
        let mut record = std::mem::take(&mut self.record);
        self.complete(&mut record, outcome, status, ctx.now.wall_ms);
        if let (Some(c), None) = (&self.callback, &record.number) {
            record.number = c.dialled.clone();
        }
        self.finished = Some(record);
        ctx.timers
            .set(ctx.now.mono + LINGER, Timer::Linger(self.id));
    }

    /// A callback's outcome for its record (completed when the member and the caller talked,
    /// else failed — with why in the note), told to its queue; other calls' as they are.
    fn callback_outcome(&mut self, outcome: CallOutcome, ctx: &mut Ctx) -> CallOutcome {
        let Some(c) = &self.callback else {
            return outcome;
        };
        let completed = matches!(self.phase, Phase::Connected(_));
        let attempt = if completed {
            let after = ctx.now.wall_ms.saturating_sub(c.ordered_ms) / 1000;
            self.record.note = Some(format!(
                "called back {}m {}s after it was ordered",
                after / 60,
                after % 60
            ));
            crate::routing::queue::Attempt::Completed
        } else {
            let why = match &self.record.note {
                Some(note) => note.clone(),
                None if c.reached => Ended::CallbackAbandoned.reason().to_string(),
                None => Ended::CallbackNoMember.reason().to_string(),
            };
            self.record.note = Some(why.clone());
            crate::routing::queue::Attempt::Failed(why)
        };
        ctx.out
            .push_back(super::io::Output::CallbackEnded { id: c.id, attempt });
        if completed {
            CallOutcome::CallbackCompleted
        } else {
            CallOutcome::CallbackFailed
        }
    }

    /// `record` completed from the route so far, as ending now with `outcome`.
    fn complete(
        &self,
        record: &mut CallRecord,
        outcome: CallOutcome,
        status: Option<u16>,
        now_ms: u64,
    ) {
        record.answered_by = self.answered_by.clone();
        history::complete(
            record,
            &self.flow,
            &self.directory,
            self.directory.tenant(&self.domain),
            outcome,
            status,
            now_ms,
        );
    }

    /// The call as it stands goes to the journal of calls in progress (at its start and when
    /// answered), so a server that dies leaves it closed in the history at the next start.
    fn journal(&self, ctx: &mut Ctx) {
        if self.phase == Phase::Finished {
            return;
        }
        let mut snapshot = self.record.clone();
        let outcome = match self.phase {
            Phase::Connected(_) => CallOutcome::Answered,
            _ => CallOutcome::Unavailable,
        };
        self.complete(&mut snapshot, outcome, None, ctx.now.wall_ms);
        ctx.out.push_back(super::io::Output::Journal(snapshot));
    }

    /// The call's staff (its caller, whoever answered) are on one more call or one fewer.
    fn count_talking(&self, delta: i32, ctx: &mut Ctx) {
        let Some(tenant) = self.directory.tenant(&self.domain) else {
            return;
        };
        for login in self
            .caller
            .staff()
            .into_iter()
            .chain(self.answered_by.as_deref())
        {
            ctx.presence.talking(&tenant.id, login, delta);
        }
    }

    // ---- The PBX serves the caller ----------------------------------------------------

    /// The relay whose caller side the PBX serves, if it does.
    fn served_relay(&self) -> Option<anchor::RelayId> {
        self.caller_side.serving.as_ref()?;
        self.relay.map(|r| r.id)
    }

    /// Whether the PBX answered the caller itself (200 sent).
    fn served_answered(&self) -> bool {
        self.caller_side
            .serving
            .as_ref()
            .is_some_and(|s| s.answered)
    }

    /// Makes the caller's side served by the PBX, once; `false` when it cannot be: no relay (an
    /// INVITE without SDP) or no codec the PBX speaks.
    fn serve(&mut self, ctx: &mut Ctx) -> bool {
        if self.caller_side.serving.is_some() {
            return true;
        }
        let Some(relay) = self.relay else {
            return false;
        };
        let offer = std::str::from_utf8(self.caller_side.invite.body()).unwrap_or("");
        let Some(codec) = sdp::choose(offer) else {
            return false;
        };
        let session = u64::from(u32::from_be_bytes(ctx.random.bytes::<4>()));
        let answer = sdp::answer(&codec, relay.caller, session);
        let answer = sided(self.srtp.as_ref(), Side::Caller, answer.into_bytes());
        ctx.media(MediaCommand::Serve {
            relay: relay.id,
            codec,
        });
        self.caller_side.serving = Some(Serving {
            codec,
            sdp: answer,
            answered: false,
        });
        true
    }

    /// An answer to the caller's INVITE carrying the PBX's SDP.
    fn served_answer(&self, code: StatusCode, reason: &str, ctx: &Ctx) -> Response {
        let side = &self.caller_side;
        let mut r = respond(&side.invite, code, reason, side.tag());
        echo_record_route(&side.invite, &mut r);
        r.headers_mut()
            .push("Contact", ctx.contact(side.reply_to.link));
        if let Some(serving) = &side.serving {
            r.headers_mut().push("Content-Type", "application/sdp");
            r.set_body(serving.sdp.clone());
        }
        r
    }

    /// Sends the caller its 200, retransmitted until the ACK (over UDP).
    fn confirm_caller(&mut self, ok: Response, ctx: &mut Ctx) {
        ctx.respond(&self.caller_side.key.clone(), &ok);
        self.caller_side.state = if self.caller_side.reply_to.link.is_reliable() {
            CallerState::Confirmed
        } else {
            let t1 = ctx.tx.config().t1;
            let next = ctx.now.mono + t1;
            ctx.timers.set(next, Timer::Caller(self.id));
            CallerState::Answered {
                ok: ok.to_bytes(),
                interval: t1,
                next,
                until: ctx.now.mono + t1 * 64,
            }
        };
    }

    /// Early media: 183 with the PBX's audio while the legs ring. Without a way to serve it,
    /// the caller simply hears what the phones send.
    fn early_media(&mut self, ctx: &mut Ctx) {
        if self.caller_side.state != CallerState::Waiting || !self.serve(ctx) {
            return;
        }
        let progress = self.served_answer(StatusCode::SESSION_PROGRESS, "Session Progress", ctx);
        ctx.respond(&self.caller_side.key.clone(), &progress);
    }

    /// The PBX answers the caller itself. A caller it cannot serve audio to is refused with
    /// 488 instead (it could hear nothing).
    fn answer_caller(&mut self, ctx: &mut Ctx) {
        if self.served_answered() || self.caller_side.state != CallerState::Waiting {
            return;
        }
        if !self.serve(ctx) {
            self.cancel_all(ctx);
            let (status, why) = if self.relay.is_none() {
                (
                    StatusCode::TEMPORARILY_UNAVAILABLE,
                    "the PBX could not answer: the caller's INVITE offered no audio",
                )
            } else {
                (
                    StatusCode::NOT_ACCEPTABLE_HERE,
                    "the PBX could not answer: the caller offered no audio codec it speaks",
                )
            };
            self.record.note = Some(why.into());
            let r = respond(
                &self.caller_side.invite,
                status,
                status.canonical_reason(),
                self.caller_side.tag(),
            );
            ctx.respond(&self.caller_side.key.clone(), &r);
            self.caller_side.state = CallerState::Done;
            return self.finish(CallOutcome::Unavailable, Some(status.as_u16()), ctx);
        }
        let ok = self.served_answer(StatusCode::OK, "OK", ctx);
        self.confirm_caller(ok, ctx);
        if let Some(serving) = &mut self.caller_side.serving {
            serving.answered = true;
        }
    }

    /// Plays routing's sounds to the caller, as this call's config has them.
    fn play(&mut self, sounds: &[Sound], looped: bool, ctx: &mut Ctx) {
        let Some(relay) = self.served_relay() else {
            return;
        };
        let Some(tenant) = self.directory.tenant(&self.domain) else {
            return;
        };
        let model = &self.directory.config.tenants[tenant.index];
        let clips = sounds
            .iter()
            .filter_map(|s| self.directory.prompts.sound(model, s))
            .map(Clip)
            .collect();
        ctx.media(MediaCommand::Play {
            relay,
            clips,
            looped,
        });
    }

    /// Records the caller into `mailbox`'s voicemail, with the tenant's limits.
    fn record_into(&mut self, mailbox: Mailbox, ctx: &mut Ctx) {
        let Some(relay) = self.served_relay() else {
            return;
        };
        let Some(tenant) = self.directory.tenant(&self.domain) else {
            return;
        };
        let model = &self.directory.config.tenants[tenant.index];
        let name = match mailbox {
            Mailbox::Staff(s) => format!(
                "staff:{}",
                tenant.logins.get(s.0).cloned().unwrap_or_default()
            ),
            Mailbox::Department(d) => format!(
                "department:{}",
                model.departments.get(d.0).map_or("", |d| d.id.as_str())
            ),
        };
        let settings = &model.voicemail;
        ctx.media(MediaCommand::Record {
            relay,
            limits: Limits {
                max: settings.max_length,
                min: settings.min_length,
                silence: settings.silence,
            },
            into: Box::new(anchor::Mailbox {
                tenant: tenant.id.clone(),
                mailbox: name,
                caller: self.caller.name().to_string(),
                number: self.flow.route().number.as_ref().map(|n| n.to_string()),
                received_ms: ctx.now.wall_ms,
                keep: settings.keep,
            }),
        });
    }

    /// The PBX hangs up a call it answered.
    fn hang_up(&mut self, why: Ended, ctx: &mut Ctx) {
        self.cancel_all(ctx);
        if self.phase != Phase::Routing {
            return;
        }
        self.record.note = Some(why.reason().to_string());
        self.bye_caller(ctx);
        let outcome = match why {
            Ended::VoicemailLeft => CallOutcome::Voicemail,
            Ended::Closed => CallOutcome::Closed,
            Ended::CallbackOrdered => CallOutcome::CallbackRequested,
            Ended::VoicemailEmpty
            | Ended::MenuNoChoice
            | Ended::Hangup
            | Ended::CallbackNotOrdered => self.unanswered(CallOutcome::Unavailable),
            Ended::CallbackNoMember | Ended::CallbackUnreachable | Ended::CallbackAbandoned => {
                CallOutcome::CallbackFailed
            }
        };
        self.finish(outcome, None, ctx);
    }

    /// A key the caller pressed, by `via`: routing hears it once.
    fn digit(&mut self, digit: char, via: Via, ctx: &mut Ctx) {
        if self.phase == Phase::Routing
            && self.caller_side.serving.is_some()
            && self.digits.digit(digit, via, ctx.now.wall_ms)
        {
            self.route(Event::Digit(digit), ctx);
        }
    }

    /// The media driver reports on this call's served caller.
    pub fn on_media(&mut self, event: &anchor::MediaEvent, ctx: &mut Ctx) {
        match *event {
            anchor::MediaEvent::Digit { digit, via, .. } => self.digit(digit, via, ctx),
            anchor::MediaEvent::PlayDone(_) if self.phase == Phase::Routing => {
                self.route(Event::PlayDone, ctx)
            }
            anchor::MediaEvent::Recorded { duration, kept, .. } if self.phase == Phase::Routing => {
                self.route(Event::Recorded { duration, kept }, ctx)
            }
            _ => {}
        }
    }

    /// A SIP INFO in the caller's dialog: a key press (`application/dtmf-relay` or
    /// `application/dtmf`). `false` when the body is not one.
    pub fn on_info(&mut self, end: End, request: &Request, ctx: &mut Ctx) -> bool {
        let content_type = request.headers().get("Content-Type").unwrap_or("");
        let Some(digit) = crate::media::dtmf::parse_info(content_type, request.body()) else {
            return false;
        };
        if end == End::Caller {
            self.digit(digit, Via::Info, ctx);
        }
        true
    }

    // ---- Audio ------------------------------------------------------------------------

    /// A device's SDP (in a 18x or 2xx) tells where it wants audio: the relay sends there
    /// until the device's own packets arrive; the answering device replaces any that played
    /// early media.
    fn callee_audio(&self, response: &Response, answered: bool, ctx: &mut Ctx) {
        let (Some(relay), Some(addr)) = (self.relay, body_audio(response.body())) else {
            return;
        };
        let (relay, side) = (relay.id, Side::Callee);
        ctx.media(if answered {
            MediaCommand::Repoint { relay, side, addr }
        } else {
            MediaCommand::Expect { relay, side, addr }
        });
    }

    /// `side` wants its audio where the SDP in `body` says (a re-INVITE or its answer).
    fn repoint(&self, side: Side, body: &[u8], ctx: &mut Ctx) {
        if let (Some(relay), Some(addr)) = (self.relay, body_audio(body)) {
            ctx.media(MediaCommand::Repoint {
                relay: relay.id,
                side,
                addr,
            });
        }
    }

    /// A device's answer as the caller's: the caller's dialog identifiers, our tag, Contact and
    /// the Record-Route it came with, the device's body — its audio pointed at the relay.
    fn relay_response(&self, response: &Response, ctx: &Ctx) -> Response {
        let side = &self.caller_side;
        let mut r = respond(&side.invite, response.code(), response.reason(), side.tag());
        echo_record_route(&side.invite, &mut r);
        r.headers_mut()
            .push("Contact", ctx.contact(side.reply_to.link));
        if !response.body().is_empty() {
            if let Some(ct) = response.headers().get("Content-Type") {
                r.headers_mut().push("Content-Type", ct);
            }
            r.set_body(sided(
                self.srtp.as_ref(),
                Side::Caller,
                relayed_body(response.body(), self.relay.map(|p| p.caller)),
            ));
        }
        r
    }
}

/// The flow of a call from `caller` entering `tenant` at `entry`, started now.
fn start_flow(
    directory: &Directory,
    tenant: &Tenant,
    entry: Entry,
    caller: &Caller,
    ctx: &mut Ctx,
) -> (Flow, Vec<Action>) {
    let live = Live {
        presence: ctx.presence,
        location: ctx.location,
        tenant,
        caller: caller.staff(),
        now_ms: ctx.now.wall_ms,
    };
    let wall = jiff::Timestamp::from_millisecond(ctx.now.wall_ms as i64)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    // An outside caller's number is what a callback would call.
    let from = match caller {
        Caller::External(number) => Some(number.as_str()),
        Caller::Staff(_) | Caller::Callback(_) => None,
    };
    Flow::start(
        Arc::clone(&directory.config),
        tenant.index,
        entry,
        from,
        ctx.now.mono,
        wall,
        &live,
    )
}

/// The record of a call refused before it started (a limit, no relay ports): it ended as it
/// began, with `status` and why.
fn refused(
    s: &Start,
    tenant: &Tenant,
    now_ms: u64,
    outcome: CallOutcome,
    status: StatusCode,
    note: String,
) -> CallRecord {
    CallRecord {
        tenant: tenant.id.clone(),
        caller: s.caller.name().to_string(),
        callee: s.callee.clone(),
        started_ms: now_ms,
        ended_ms: now_ms,
        outcome,
        status: Some(status.as_u16()),
        note: Some(note),
        ..CallRecord::default()
    }
}

/// Where a call to `number` goes: the tenant's first outbound trunk that resolved (after
/// `after`, when that one failed), with the number rewritten for it.
fn trunk_target(
    directory: &Directory,
    tenant: &Tenant,
    number: &str,
    after: Option<usize>,
) -> Vec<Target> {
    let skip = after
        .and_then(|t| tenant.outbound.iter().position(|&i| i == t))
        .map_or(0, |p| p + 1);
    let Some((i, addr)) = tenant.outbound[skip.min(tenant.outbound.len())..]
        .iter()
        .find_map(|&i| Some((i, directory.trunks.get(i)?.addr?)))
    else {
        return Vec::new();
    };
    let trunk = &directory.trunks[i];
    let dialled = crate::routing::rewrite(&trunk.outbound_rewrite, number);
    let (link, param) = if trunk.tcp {
        (Link::Tcp, ";transport=tcp")
    } else {
        (Link::Udp(0), "")
    };
    let Ok(uri) = format!("sip:{dialled}@{addr}{param}").parse::<Uri>() else {
        return Vec::new();
    };
    vec![Target {
        uri,
        to_header: format!("<sip:{dialled}@{addr}>"),
        peer: Peer { addr, link },
        trunk: Some(i),
    }]
}

/// `body` (SDP, or anything else, as it is) as `side` is to get it when the caller speaks SRTP
/// (`srtp`): SRTP with the PBX's key towards the caller, plain RTP towards the legs.
fn sided(srtp: Option<&Crypto>, side: Side, body: Vec<u8>) -> Vec<u8> {
    let (Some(crypto), Ok(text)) = (srtp, std::str::from_utf8(&body)) else {
        return body;
    };
    match side {
        Side::Caller => sdes::secured(text, crypto).into_bytes(),
        Side::Callee => sdes::plain(text).into_bytes(),
    }
}

/// Where the SDP in `body` wants its audio.
fn body_audio(body: &[u8]) -> Option<SocketAddr> {
    std::str::from_utf8(body).ok().and_then(sdp::audio_endpoint)
}

/// `body` with its audio pointed at `relay_to`, when there is a relay and the body is SDP
/// with audio; otherwise as it is.
fn relayed_body(body: &[u8], relay_to: Option<SocketAddr>) -> Vec<u8> {
    match (relay_to, std::str::from_utf8(body)) {
        (Some(to), Ok(text)) if sdp::audio_endpoint(text).is_some() => {
            sdp::point_at(text, to).into_bytes()
        }
        _ => body.to_vec(),
    }
}
