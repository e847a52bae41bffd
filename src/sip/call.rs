//! `Call`: one call the PBX is carrying — the caller's dialog (A), the legs it rings, and the
//! routing `Flow` that decides who rings. This file is where the engine meets routing: it
//! starts the flow, carries out its actions (ringing a person's phones, a mobile or an external
//! number through a trunk; cancelling; refusing the caller), feeds it the legs' outcomes and
//! its timer, and ends the call (its history record is `history.rs`'s). The SIP mechanics of
//! the legs (responses, CANCEL, BYE) are the B2BUA's (`b2bua.rs`), re-INVITEs `reinvite.rs`'s.

use super::b2bua::{new_branch, random_token, relayed_body, ClientKind};
use super::directory::{Directory, Tenant};
use super::endpoint::{respond_with_tag, unix_ms, Endpoint, Link, Outgoing, Peer, TimerOwner};
use super::message::{Method, NameAddr, Request, StatusCode, Uri};
use super::registrar::Transport;
use super::transaction::TransactionKey;
use crate::config::model::StaffId;
use crate::routing::{self, Action, Callee, Entry, Event, Flow, GiveUp, LegId, Refusal};
use crate::store::{CallOutcome, CallRecord};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum LegState {
    Calling,
    Ringing,
    Answered,
    Done,
}

/// One SIP dialog the PBX started: a phone of a person, or a trunk.
pub(super) struct Leg {
    /// The routing leg it carries (a person's phones are one routing leg, several dialogs).
    pub(super) group: LegId,
    pub(super) request: Request,
    pub(super) branch: String,
    pub(super) to: SocketAddr,
    pub(super) link: Link,
    pub(super) state: LegState,
    /// The device's To tag and Contact, once it answered.
    pub(super) remote_tag: Option<String>,
    pub(super) remote_target: Option<Uri>,
    pub(super) final_code: Option<u16>,
    /// Our last CSeq in the device's dialog.
    pub(super) cseq: u32,
    /// The trunk it goes through (index into the directory's trunks), and whether we already
    /// answered the trunk's digest challenge.
    pub(super) trunk: Option<usize>,
    pub(super) authenticated: bool,
    /// Cancelled before any provisional answer: the CANCEL goes when one arrives.
    pub(super) cancel_pending: bool,
}

/// The caller's side.
pub(super) struct ALeg {
    pub(super) invite: Request,
    pub(super) key: TransactionKey,
    pub(super) peer: SocketAddr,
    pub(super) link: Link,
    /// Our tag in the caller's dialog.
    pub(super) tag: String,
    pub(super) call_id: String,
    pub(super) remote_target: Option<Uri>,
    /// Our CSeq for requests we send in the caller's dialog.
    pub(super) cseq: u32,
    /// The 200 sent, retransmitted until ACKed.
    pub(super) ok: Option<Vec<u8>>,
    pub(super) retransmit: Duration,
    pub(super) ok_deadline: Option<Instant>,
}

/// Who is calling.
#[derive(Clone, Debug)]
pub(super) enum Caller {
    /// An authenticated staff member.
    Staff(String),
    /// Someone outside, through a trunk: the number they presented.
    External(String),
}

impl Caller {
    /// The staff member's login, for a call from inside.
    pub(super) fn staff(&self) -> Option<&str> {
        match self {
            Caller::Staff(login) => Some(login),
            Caller::External(_) => None,
        }
    }
}

/// One call.
pub(super) struct Call {
    pub(super) a: ALeg,
    pub(super) legs: Vec<Leg>,
    pub(super) answered: Option<usize>,
    /// The media relay: its id and the addresses the caller and the callee send to.
    pub(super) relay: Option<(u64, SocketAddr, SocketAddr)>,
    /// The history record, completed when the call ends.
    pub(super) record: CallRecord,
    /// The routing (taken out while it is being fed an event).
    pub(super) flow: Option<Flow>,
    /// The config snapshot the call started with.
    pub(super) directory: Arc<Directory>,
    pub(super) domain: String,
    caller: Caller,
    /// The staff member who answered (on their phones or mobile).
    pub(super) answered_by: Option<String>,
    /// When the flow's timer is set for.
    flow_timer: Option<Instant>,
    /// The record is written; the call stays only while its 200 awaits the caller's ACK.
    pub(super) ended: bool,
}

/// Every call, and how requests find theirs.
#[derive(Default)]
pub(super) struct Calls {
    pub(super) calls: HashMap<u64, Call>,
    pub(super) next: u64,
    /// (Call-ID, our tag) -> call and side (`None`: the caller, `Some(leg)`: a device).
    pub(super) dialogs: HashMap<(String, String), (u64, Option<usize>)>,
    /// The caller's INVITE transaction -> call (for CANCEL).
    pub(super) by_invite: HashMap<TransactionKey, u64>,
    /// When each staff member (tenant id, login) last received a call, in ms since the epoch
    /// (evenly's order). Loaded from the store at start, kept current as calls are answered.
    pub(super) last_calls: HashMap<(String, String), u64>,
    /// How many answered calls each staff member (tenant id, login) is on now.
    pub(super) talking: HashMap<(String, String), u32>,
}

impl Call {
    /// The user name and password towards trunk `t`.
    pub(super) fn directory_trunk_auth(&self, t: usize) -> Option<(String, Option<String>)> {
        self.directory.trunks.get(t)?.auth.clone()
    }
}

impl Calls {
    pub(super) fn len(&self) -> usize {
        self.calls.len()
    }

    /// Call `id`'s staff members (its caller, whoever answered) are on one more call (`+1`)
    /// or one fewer (`-1`).
    pub(super) fn count_talking(&mut self, id: u64, delta: i32) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let caller = call.caller.staff().map(str::to_string);
        for login in caller.into_iter().chain(call.answered_by.clone()) {
            let key = (call.record.tenant.clone(), login);
            let n = self.talking.entry(key.clone()).or_default();
            *n = n.saturating_add_signed(delta);
            if *n == 0 {
                self.talking.remove(&key);
            }
        }
    }
}

/// What routing sees of the staff: the live registrations, calls and counters. The staff
/// member making the call is never offered it (their department does not ring them back).
struct Live<'a> {
    endpoint: &'a Endpoint,
    tenant: &'a Tenant,
    caller: Option<String>,
    now_ms: u64,
}

impl Live<'_> {
    fn login(&self, s: StaffId) -> &str {
        self.tenant.logins.get(s.0).map_or("", String::as_str)
    }
}

impl routing::Presence for Live<'_> {
    fn registered(&self, s: StaffId) -> bool {
        self.caller.as_deref() != Some(self.login(s))
            && !self
                .endpoint
                .registrar
                .lookup(&self.tenant.id, self.login(s), self.now_ms)
                .is_empty()
    }

    fn busy(&self, s: StaffId) -> bool {
        let key = (self.tenant.id.clone(), self.login(s).to_string());
        self.endpoint
            .calls
            .talking
            .get(&key)
            .is_some_and(|n| *n > 0)
    }

    fn last_call(&self, s: StaffId) -> Option<u64> {
        let key = (self.tenant.id.clone(), self.login(s).to_string());
        self.endpoint.calls.last_calls.get(&key).copied()
    }
}

impl Endpoint {
    /// Seeds when each staff member last received a call (from the store, at start).
    pub fn set_last_calls(&mut self, last: HashMap<(String, String), u64>) {
        self.calls.last_calls = last;
    }

    /// A new call from `caller` entering routing at `entry`: the caller gets 100 at once, and
    /// everything else as the flow decides. `callee` names what was called, for the record.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn start_call(
        &mut self,
        request: &Request,
        peer: Peer,
        key: &TransactionKey,
        directory: Arc<Directory>,
        domain: &str,
        caller: Caller,
        callee: String,
        entry: Entry,
        now: Instant,
        out: &mut Vec<Outgoing>,
    ) {
        let headers = request.headers();
        let Ok(call_id) = headers.call_id() else {
            let r = respond_with_tag(request, StatusCode::BAD_REQUEST, "Bad Request", None);
            return self.server_respond(key, r, now, out);
        };
        let Some(tenant) = directory.tenant(domain) else {
            let r = respond_with_tag(request, StatusCode::NOT_FOUND, "Not Found", None);
            return self.server_respond(key, r, now, out);
        };
        let trying = respond_with_tag(request, StatusCode::TRYING, "Trying", None);
        self.server_respond(key, trying, now, out);
        let id = self.calls.next;
        self.calls.next += 1;
        // Anchor the audio: every leg is offered the relay's callee side.
        let offer = std::str::from_utf8(request.body())
            .ok()
            .and_then(crate::media::sdp::audio_endpoint);
        let relay = match (&mut self.media, offer) {
            (Some(media), Some(caller_audio)) => media.open().map(|(relay_id, a_side, b_side)| {
                media.expect(relay_id, crate::media::relay::Side::Caller, caller_audio);
                (relay_id, a_side, b_side)
            }),
            _ => None,
        };
        let a = ALeg {
            invite: request.clone(),
            key: key.clone(),
            peer: peer.addr,
            link: peer.link,
            tag: random_token(6),
            call_id: call_id.to_string(),
            remote_target: headers
                .contacts()
                .ok()
                .and_then(|c| c.first().map(|c| c.uri.clone())),
            cseq: 0,
            ok: None,
            retransmit: self.timer_config.t1,
            ok_deadline: None,
        };
        self.calls
            .dialogs
            .insert((a.call_id.clone(), a.tag.clone()), (id, None));
        self.calls.by_invite.insert(key.clone(), id);
        let tenant_id = tenant.id.clone();
        let caller_name = match &caller {
            Caller::Staff(l) | Caller::External(l) => l.clone(),
        };
        let (flow, actions) = {
            let live = Live {
                endpoint: self,
                tenant,
                caller: caller.staff().map(str::to_string),
                now_ms: unix_ms(),
            };
            Flow::start(
                Arc::clone(&directory.config),
                tenant.index,
                entry,
                now,
                jiff::Timestamp::now(),
                &live,
            )
        };
        self.calls.calls.insert(
            id,
            Call {
                a,
                legs: Vec::new(),
                answered: None,
                relay,
                record: CallRecord {
                    tenant: tenant_id,
                    caller: caller_name,
                    callee,
                    started_ms: unix_ms(),
                    ..CallRecord::default()
                },
                flow: Some(flow),
                directory,
                domain: domain.to_ascii_lowercase(),
                caller,
                answered_by: None,
                flow_timer: None,
                ended: false,
            },
        );
        self.carry_out_route(id, actions, now, out);
    }

    /// Feeds `event` to the call's flow and carries out what it decides.
    pub(super) fn route_event(
        &mut self,
        id: u64,
        event: Event,
        now: Instant,
        out: &mut Vec<Outgoing>,
    ) {
        let Some(call) = self.calls.calls.get_mut(&id) else {
            return;
        };
        let Some(mut flow) = call.flow.take() else {
            return;
        };
        let directory = Arc::clone(&call.directory);
        let caller = call.caller.staff().map(str::to_string);
        let Some(tenant) = directory.tenant(&call.domain) else {
            return;
        };
        let actions = flow.on_event(
            event,
            now,
            &Live {
                endpoint: self,
                tenant,
                caller,
                now_ms: unix_ms(),
            },
        );
        if let Some(call) = self.calls.calls.get_mut(&id) {
            call.flow = Some(flow);
        }
        self.carry_out_route(id, actions, now, out);
    }

    /// The flow's timer fired.
    pub(super) fn flow_timer(&mut self, id: u64, now: Instant, out: &mut Vec<Outgoing>) {
        let Some(call) = self.calls.calls.get_mut(&id) else {
            return;
        };
        if call.flow_timer.is_some_and(|at| at <= now) {
            call.flow_timer = None;
            self.route_event(id, Event::Tick, now, out);
        }
    }

    fn carry_out_route(
        &mut self,
        id: u64,
        actions: Vec<Action>,
        now: Instant,
        out: &mut Vec<Outgoing>,
    ) {
        let mut failed = Vec::new();
        for action in actions {
            match action {
                Action::Ring { leg, callee } => {
                    if !self.ring(id, leg, &callee, now, out) {
                        failed.push(leg);
                    }
                }
                Action::Cancel(group) => {
                    let live: Vec<usize> = self.calls.calls.get(&id).map_or(Vec::new(), |c| {
                        (0..c.legs.len())
                            .filter(|&j| {
                                c.legs[j].group == group
                                    && matches!(
                                        c.legs[j].state,
                                        LegState::Calling | LegState::Ringing
                                    )
                            })
                            .collect()
                    });
                    for j in live {
                        self.cancel_leg(id, j, now, out);
                    }
                }
                Action::Reject { code, why } => self.reject(id, code, why, now, out),
            }
        }
        if failed.is_empty() {
            return self.schedule_flow(id);
        }
        // A leg that could not even be started fails at once (one at a time: each may change
        // what the flow does next; each schedules the flow's timer).
        for leg in failed {
            self.route_event(id, Event::Failed(leg, Refusal::Unavailable), now, out);
        }
    }

    fn schedule_flow(&mut self, id: u64) {
        let Some(call) = self.calls.calls.get_mut(&id) else {
            return;
        };
        let deadline = call.flow.as_ref().and_then(Flow::next_deadline);
        if let Some(at) = deadline {
            if call.flow_timer != Some(at) {
                call.flow_timer = Some(at);
                self.set_timer(at, TimerOwner::Flow(id));
            }
        }
    }

    /// Starts the SIP dialogs of routing leg `group`. `false` when nothing could be rung (no
    /// phone registered, no trunk).
    fn ring(
        &mut self,
        id: u64,
        group: LegId,
        callee: &Callee,
        now: Instant,
        out: &mut Vec<Outgoing>,
    ) -> bool {
        let Some(call) = self.calls.calls.get(&id) else {
            return false;
        };
        let directory = Arc::clone(&call.directory);
        let Some(tenant) = directory.tenant(&call.domain) else {
            return false;
        };
        let targets: Vec<(Uri, String, SocketAddr, Link, Option<usize>)> = match callee {
            Callee::Devices(s) => {
                let login = tenant.logins.get(s.0).cloned().unwrap_or_default();
                self.registrar
                    .lookup(&tenant.id, &login, unix_ms())
                    .into_iter()
                    .filter_map(|b| {
                        let uri = b.contact.parse::<Uri>().ok()?;
                        let link = match b.transport {
                            Transport::Udp => Link::Udp(0),
                            Transport::Tcp => Link::Tcp,
                        };
                        Some((
                            uri,
                            format!("<sip:{login}@{}>", tenant.domain),
                            b.source,
                            link,
                            None,
                        ))
                    })
                    .collect()
            }
            Callee::Mobile(_, number) => {
                self.trunk_target(&directory, tenant, number.as_str(), None)
            }
            Callee::External(number) => {
                self.trunk_target(&directory, tenant, number.as_str(), None)
            }
        };
        let mut rang = false;
        for (uri, to_header, to, link, trunk) in targets {
            let from = self.leg_from(id, tenant, trunk.is_some());
            self.start_leg(id, group, uri, &to_header, from, to, link, trunk, now, out);
            rang = true;
        }
        rang
    }

    /// Where a call to `number` goes: the tenant's first outbound trunk that resolved (after
    /// `after`, when that one failed), with the number rewritten for it.
    fn trunk_target(
        &self,
        directory: &Directory,
        tenant: &Tenant,
        number: &str,
        after: Option<usize>,
    ) -> Vec<(Uri, String, SocketAddr, Link, Option<usize>)> {
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
        let dialled = routing::rewrite(&trunk.outbound_rewrite, number);
        let (link, param) = if trunk.tcp {
            (Link::Tcp, ";transport=tcp")
        } else {
            (Link::Udp(0), "")
        };
        let Ok(uri) = format!("sip:{dialled}@{addr}{param}").parse::<Uri>() else {
            return Vec::new();
        };
        vec![(uri, format!("<sip:{dialled}@{addr}>"), addr, link, Some(i))]
    }

    /// The From of a new leg. Towards a phone: the caller as they called in. Towards a trunk:
    /// our address, with the caller's number for an outside caller (a forward keeps their
    /// caller ID) or the company's number for a staff member.
    fn leg_from(&self, id: u64, tenant: &Tenant, to_trunk: bool) -> NameAddr {
        let call = &self.calls.calls[&id];
        let original = call.a.invite.headers().from().ok();
        let mut from = match (to_trunk, original) {
            (true, original) => {
                let user = match &call.caller {
                    Caller::Staff(login) => tenant.caller_id.as_deref().unwrap_or(login),
                    Caller::External(number) => number,
                };
                let (_, local) = self.local(Link::Udp(0));
                let uri = format!("sip:{user}@{local}").parse();
                let mut n = NameAddr::new(uri.unwrap_or_else(|_| call.a.invite.uri().clone()));
                n.display_name = original.and_then(|f| f.display_name);
                n
            }
            (false, Some(f)) => {
                let mut n = NameAddr::new(f.uri.clone());
                n.display_name = f.display_name.clone();
                n
            }
            (false, None) => NameAddr::new(call.a.invite.uri().clone()),
        };
        from.set_tag(&random_token(6));
        from
    }

    /// Sends the INVITE of a new leg.
    #[allow(clippy::too_many_arguments)]
    fn start_leg(
        &mut self,
        id: u64,
        group: LegId,
        uri: Uri,
        to_header: &str,
        from: NameAddr,
        to: SocketAddr,
        link: Link,
        trunk: Option<usize>,
        now: Instant,
        out: &mut Vec<Outgoing>,
    ) {
        let Some(call) = self.calls.calls.get(&id) else {
            return;
        };
        let invite = &call.a.invite;
        let max_forwards = invite
            .headers()
            .max_forwards()
            .ok()
            .flatten()
            .unwrap_or(70)
            .saturating_sub(1)
            .max(1);
        let body = relayed_body(invite.body(), call.relay.map(|(_, _, b_side)| b_side));
        let content_type = invite.headers().get("Content-Type").map(str::to_string);
        let branch = new_branch();
        let mut request = Request::new(Method::Invite, uri);
        let h = request.headers_mut();
        h.push("Via", self.via(link, &branch));
        h.push("Max-Forwards", max_forwards.to_string());
        h.push("From", from.to_string());
        h.push("To", to_header);
        h.push("Call-ID", format!("{}@pbx", random_token(12)));
        h.push("CSeq", "1 INVITE");
        h.push("Contact", self.contact(link));
        if let Some(ct) = content_type {
            h.push("Content-Type", ct);
        }
        request.set_body(body);
        let call_id = request
            .headers()
            .call_id()
            .map(str::to_string)
            .unwrap_or_default();
        let tag = from.tag().map(str::to_string).unwrap_or_default();
        let Some(call) = self.calls.calls.get_mut(&id) else {
            return;
        };
        let i = call.legs.len();
        call.legs.push(Leg {
            group,
            request: request.clone(),
            branch: branch.clone(),
            to,
            link,
            state: LegState::Calling,
            remote_tag: None,
            remote_target: None,
            final_code: None,
            cseq: 1,
            trunk,
            authenticated: false,
            cancel_pending: false,
        });
        self.calls.dialogs.insert((call_id, tag), (id, Some(i)));
        self.send_client(
            ClientKind::Invite,
            &request,
            &branch,
            to,
            link,
            Some((id, i)),
            now,
            out,
        );
    }

    /// Leg `i` ended without answering. When it was the last live dialog of its routing leg,
    /// the flow hears of it.
    pub(super) fn leg_failed(
        &mut self,
        id: u64,
        i: usize,
        code: u16,
        now: Instant,
        out: &mut Vec<Outgoing>,
    ) {
        let Some(call) = self.calls.calls.get_mut(&id) else {
            return;
        };
        if matches!(call.legs[i].state, LegState::Done | LegState::Answered) {
            return;
        }
        call.legs[i].state = LegState::Done;
        call.legs[i].final_code = Some(code);
        let group = call.legs[i].group;
        // A gateway that failed (not the number: it timed out or answered 5xx) hands the call
        // to the tenant's next trunk.
        if let Some(t) = call.legs[i].trunk {
            if (code == 408 || (500..600).contains(&code)) && call.answered.is_none() {
                self.fail_over(id, group, t, now, out);
            }
        }
        let Some(call) = self.calls.calls.get(&id) else {
            return;
        };
        let siblings: Vec<&Leg> = call.legs.iter().filter(|l| l.group == group).collect();
        if call.answered.is_some()
            || siblings
                .iter()
                .any(|l| matches!(l.state, LegState::Calling | LegState::Ringing))
        {
            return;
        }
        let codes: Vec<u16> = siblings.iter().filter_map(|l| l.final_code).collect();
        let refusal = if codes.iter().any(|c| *c == 486 || *c == 600) {
            Refusal::Busy
        } else if codes.contains(&603) {
            Refusal::Declined
        } else {
            Refusal::Unavailable
        };
        self.route_event(id, Event::Failed(group, refusal), now, out);
    }

    /// Rings routing leg `group`'s number again through the trunk after `failed`, if the
    /// tenant has one.
    fn fail_over(
        &mut self,
        id: u64,
        group: LegId,
        failed: usize,
        now: Instant,
        out: &mut Vec<Outgoing>,
    ) {
        let Some(call) = self.calls.calls.get(&id) else {
            return;
        };
        let number = match call.flow.as_ref().and_then(|f| f.callee(group)) {
            Some(Callee::External(n)) => n.to_string(),
            Some(Callee::Mobile(_, n)) => n.to_string(),
            _ => return,
        };
        let directory = Arc::clone(&call.directory);
        let Some(tenant) = directory.tenant(&call.domain) else {
            return;
        };
        for (uri, to_header, to, link, trunk) in
            self.trunk_target(&directory, tenant, &number, Some(failed))
        {
            let from = self.leg_from(id, tenant, true);
            self.start_leg(id, group, uri, &to_header, from, to, link, trunk, now, out);
        }
    }

    /// Leg `i` answered and the caller is connected to it: routing hears of it, and the person
    /// who took it counts as having received a call.
    pub(super) fn leg_connected(
        &mut self,
        id: u64,
        i: usize,
        now: Instant,
        out: &mut Vec<Outgoing>,
    ) {
        let Some(call) = self.calls.calls.get_mut(&id) else {
            return;
        };
        let group = call.legs[i].group;
        let staff = match call.flow.as_ref().and_then(|f| f.callee(group)) {
            Some(Callee::Devices(s) | Callee::Mobile(s, _)) => Some(*s),
            _ => None,
        };
        let directory = Arc::clone(&call.directory);
        let tenant = directory.tenant(&call.domain);
        if let (Some(s), Some(tenant)) = (staff, tenant) {
            let login = tenant.logins.get(s.0).cloned().unwrap_or_default();
            call.answered_by = Some(login.clone());
            self.calls
                .last_calls
                .insert((tenant.id.clone(), login), unix_ms());
        }
        self.calls.count_talking(id, 1);
        self.route_event(id, Event::Answered(group), now, out);
    }

    /// Routing gave up: every leg still ringing is cancelled and the caller gets `code`.
    fn reject(&mut self, id: u64, code: u16, why: GiveUp, now: Instant, out: &mut Vec<Outgoing>) {
        let Some(call) = self.calls.calls.get(&id) else {
            return;
        };
        let live: Vec<usize> = (0..call.legs.len())
            .filter(|&j| matches!(call.legs[j].state, LegState::Calling | LegState::Ringing))
            .collect();
        for j in live {
            self.cancel_leg(id, j, now, out);
        }
        let Some(call) = self.calls.calls.get_mut(&id) else {
            return;
        };
        call.record.note = Some(why.reason().to_string());
        let status = StatusCode::new(code).unwrap_or(StatusCode::TEMPORARILY_UNAVAILABLE);
        let response = respond_with_tag(
            &call.a.invite,
            status,
            status.canonical_reason(),
            Some(&call.a.tag),
        );
        let key = call.a.key.clone();
        let offered = call.flow.as_ref().is_some_and(|f| !f.offered().is_empty());
        let outcome = match code {
            486 => CallOutcome::Busy,
            603 => CallOutcome::Declined,
            404 => CallOutcome::NotFound,
            _ if offered => CallOutcome::Missed,
            _ => CallOutcome::Unavailable,
        };
        self.server_respond(&key, response, now, out);
        self.finish(id, outcome, Some(code));
    }

    pub(super) fn end_call(&mut self, id: u64) {
        let calls = &mut self.calls;
        // Forget the call's own dialogs and transaction (not a scan of every call's).
        if let Some(call) = calls.calls.get(&id) {
            calls
                .dialogs
                .remove(&(call.a.call_id.clone(), call.a.tag.clone()));
            for leg in &call.legs {
                let h = leg.request.headers();
                if let (Ok(call_id), Ok(from)) = (h.call_id(), h.from()) {
                    let tag = from.tag().unwrap_or_default().to_string();
                    calls.dialogs.remove(&(call_id.to_string(), tag));
                }
            }
            calls.by_invite.remove(&call.a.key);
        }
        // An answered call stays until its BYE; one that ended before answering goes now, but
        // a caller's 200 still being retransmitted keeps the call until the ACK or timeout.
        if calls.calls.get(&id).is_some_and(|c| c.a.ok.is_none()) {
            calls.calls.remove(&id);
        }
    }
}
