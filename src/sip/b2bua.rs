//! The B2BUA: the SIP side of a call's legs. A call is dialogs the PBX owns — the caller's
//! (A), answered by the PBX, and one per phone or trunk it rings (`call.rs` decides which,
//! as routing says). Nothing of one dialog's Call-ID or tags appears in another.
//!
//! Provisional answers (180/183, with early SDP) go back to the caller; the first 2xx wins, is
//! ACKed at once, and every other leg gets CANCEL; a leg's refusal goes to routing, which
//! decides what rings next. A trunk's digest challenge is answered once with its credentials.
//! CANCEL from the caller cancels every leg (a leg gets its CANCEL once it has answered
//! provisionally, RFC 3261 §9.1); a leg answering after routing gave up on it, or after its call
//! ended, is ACKed and hung up. BYE from either side ends the other. The caller's 200 is
//! retransmitted until its ACK (RFC 3261 §13.3.1.4). Audio is pointed at the relay.

use super::call::{ALeg, Leg, LegState};
use super::endpoint::{respond_with_tag, unix_ms, Endpoint, Link, Outgoing, TimerOwner};
use super::message::{Method, Request, Response, StatusCode};
use super::transaction::{
    Action, ClientInvite, ClientNonInvite, Reliability, Timer, TransactionKey,
};
use crate::store::CallOutcome;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

/// A client transaction the B2BUA started.
pub(super) enum ClientTx {
    Invite(ClientInvite<Vec<u8>>),
    NonInvite(ClientNonInvite<Vec<u8>>),
}

impl ClientTx {
    pub(super) fn on_timer(&mut self, timer: Timer, now: Instant) -> Vec<Action<Vec<u8>>> {
        match self {
            ClientTx::Invite(m) => m.on_timer(timer, now),
            ClientTx::NonInvite(m) => m.on_timer(timer, now),
        }
    }

    fn on_response(&mut self, code: u16, bytes: Vec<u8>, now: Instant) -> Vec<Action<Vec<u8>>> {
        match self {
            ClientTx::Invite(m) => m.on_response(code, bytes, now),
            ClientTx::NonInvite(m) => m.on_response(code, bytes, now),
        }
    }
}

/// A client transaction and where it goes.
pub(super) struct Client {
    pub(super) machine: ClientTx,
    pub(super) to: SocketAddr,
    pub(super) link: Link,
    /// The call and leg it belongs to (`None` for BYE/CANCEL whose answers do not matter).
    pub(super) leg: Option<(u64, usize)>,
    /// For a re-INVITE passed through: the originating side's transaction to answer and its
    /// request, the call, and whether the re-INVITE went to the callee (else to the caller).
    pub(super) reinvite: Option<(TransactionKey, Request, u64, bool)>,
    /// For a trunk's REGISTER: the trunk.
    pub(super) registration: Option<String>,
}

pub(super) fn random_token(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    let _ = getrandom::fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A fresh branch for a request we send (RFC 3261 magic cookie first).
pub(super) fn new_branch() -> String {
    format!("z9hG4bK{}", random_token(8))
}

impl Endpoint {
    /// Our Via for a request sent over `link`.
    pub(super) fn via(&self, link: Link, branch: &str) -> String {
        via(&self.locals, link, branch)
    }

    /// Our Contact over `link`.
    pub(super) fn contact(&self, link: Link) -> String {
        let (proto, addr) = self.local(link);
        format!("<sip:pbx@{addr};transport={}>", proto.to_ascii_lowercase())
    }

    pub(super) fn local(&self, link: Link) -> (&'static str, SocketAddr) {
        local(&self.locals, link)
    }

    /// Starts a client transaction for `request`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn send_client(
        &mut self,
        kind: ClientKind,
        request: &Request,
        branch: &str,
        to: SocketAddr,
        link: Link,
        leg: Option<(u64, usize)>,
        now: Instant,
        out: &mut Vec<Outgoing>,
    ) {
        let reliability = if link == Link::Tcp {
            Reliability::Reliable
        } else {
            Reliability::Unreliable
        };
        let bytes = request.to_bytes();
        let (machine, actions) = match kind {
            ClientKind::Invite => {
                let (m, a) = ClientInvite::new(bytes, reliability, self.timer_config, now);
                (ClientTx::Invite(m), a)
            }
            ClientKind::NonInvite => {
                let (m, a) = ClientNonInvite::new(bytes, reliability, self.timer_config, now);
                (ClientTx::NonInvite(m), a)
            }
        };
        let key = client_key(branch, request.method());
        self.clients.insert(
            key.clone(),
            Client {
                machine,
                to,
                link,
                leg,
                reinvite: None,
                registration: None,
            },
        );
        self.client_actions(&key, actions, now, out);
    }

    /// Carries out a client transaction's actions.
    pub(super) fn client_actions(
        &mut self,
        key: &str,
        actions: Vec<Action<Vec<u8>>>,
        now: Instant,
        out: &mut Vec<Outgoing>,
    ) {
        let Some((to, link, leg)) = self.clients.get(key).map(|c| (c.to, c.link, c.leg)) else {
            return;
        };
        // Read before the actions: `Terminated` removes the transaction.
        let reinvite = self.clients.get(key).and_then(|c| c.reinvite.clone());
        let registration = self.clients.get(key).and_then(|c| c.registration.clone());
        // A leg whose call has ended: its INVITE, to hang up an answer that comes anyway.
        let orphan = match (leg, self.clients.get(key).map(|c| &c.machine)) {
            (Some((id, _)), Some(ClientTx::Invite(m))) if !self.calls.calls.contains_key(&id) => {
                Some(m.request().clone())
            }
            _ => None,
        };
        let mut passed = Vec::new();
        for action in actions {
            match action {
                Action::Send(bytes) => out.push(Outgoing { to, link, bytes }),
                Action::SendAck(response) => {
                    let invite = match self.clients.get(key).map(|c| &c.machine) {
                        Some(ClientTx::Invite(m)) => Some(m.request().clone()),
                        _ => None,
                    };
                    if let Some(ack) = invite.and_then(|invite| non_2xx_ack(&invite, &response)) {
                        out.push(Outgoing {
                            to,
                            link,
                            bytes: ack,
                        });
                    }
                }
                Action::PassUp(response) => passed.push(response),
                Action::SetTimer(timer, at) => {
                    self.set_timer(at, TimerOwner::Client(key.to_string(), timer))
                }
                Action::TimedOut => {
                    if let Some(trunk) = &registration {
                        self.register_answered(trunk, None, now, out);
                    }
                    if let Some((id, i)) = leg {
                        self.leg_failed(id, i, 408, now, out);
                    }
                }
                Action::Terminated => {
                    self.clients.remove(key);
                }
                Action::CancelTimer(_) => {}
            }
        }
        if let Some(trunk) = registration {
            for bytes in passed {
                if let Ok(super::message::Message::Response(r)) =
                    super::message::Message::parse(&bytes)
                {
                    self.register_answered(&trunk, Some(&r), now, out);
                }
            }
            return;
        }
        if let Some((origin, origin_request, id, toward_callee)) = reinvite {
            for bytes in passed {
                if let Ok(super::message::Message::Response(r)) =
                    super::message::Message::parse(&bytes)
                {
                    self.reinvite_answered(
                        &origin,
                        &origin_request,
                        id,
                        toward_callee,
                        r,
                        now,
                        out,
                    );
                }
            }
            return;
        }
        if let Some((id, i)) = leg {
            for bytes in passed {
                if let Ok(super::message::Message::Response(r)) =
                    super::message::Message::parse(&bytes)
                {
                    match &orphan {
                        Some(invite) if r.code().is_success() => {
                            self.hang_up_orphan(invite, &r, to, link, now, out)
                        }
                        Some(_) => {}
                        None => self.leg_response(id, i, r, now, out),
                    }
                }
            }
        }
    }

    /// A device answered after its call ended (its CANCEL crossed the 200, the caller hung up
    /// meanwhile): ACK the 200 and hang up at once, from what our INVITE and its answer say.
    fn hang_up_orphan(
        &mut self,
        invite: &[u8],
        response: &Response,
        to: SocketAddr,
        link: Link,
        now: Instant,
        out: &mut Vec<Outgoing>,
    ) {
        use super::message::Message;
        let Ok(Message::Request(invite)) = Message::parse(invite) else {
            return;
        };
        let target = response
            .headers()
            .contacts()
            .ok()
            .and_then(|c| c.first().map(|c| c.uri.clone()))
            .unwrap_or_else(|| invite.uri().clone());
        let seq = invite.headers().cseq().map_or(1, |c| c.seq);
        let in_dialog = |method: Method, seq: u32, branch: &str| {
            let mut r = Request::new(method.clone(), target.clone());
            let h = r.headers_mut();
            h.push("Via", self.via(link, branch));
            h.push("Max-Forwards", "70");
            for name in ["From", "Call-ID"] {
                if let Some(v) = invite.headers().get(name) {
                    h.push(name, v);
                }
            }
            if let Some(v) = response.headers().get("To") {
                h.push("To", v);
            }
            h.push("CSeq", format!("{seq} {method}"));
            r
        };
        let ack = in_dialog(Method::Ack, seq, &new_branch());
        out.push(Outgoing {
            to,
            link,
            bytes: ack.to_bytes(),
        });
        let branch = new_branch();
        let bye = in_dialog(Method::Bye, seq + 1, &branch);
        self.send_client(
            ClientKind::NonInvite,
            &bye,
            &branch,
            to,
            link,
            None,
            now,
            out,
        );
    }

    /// A response arrived for one of our client transactions.
    pub(super) fn on_client_response(
        &mut self,
        response: Response,
        bytes: &[u8],
        now: Instant,
        out: &mut Vec<Outgoing>,
    ) {
        let Ok(via) = response.headers().top_via() else {
            return;
        };
        let Ok(cseq) = response.headers().cseq() else {
            return;
        };
        let key = client_key(via.branch().unwrap_or(""), &cseq.method);
        let code = response.code().as_u16();
        let Some(client) = self.clients.get_mut(&key) else {
            // A retransmitted 2xx after the INVITE transaction ended: ACK it again.
            if code / 100 == 2 && cseq.method == Method::Invite {
                self.reack(&response, out);
            }
            return;
        };
        let actions = client.machine.on_response(code, bytes.to_vec(), now);
        self.client_actions(&key, actions, now, out);
    }

    fn leg_response(
        &mut self,
        id: u64,
        i: usize,
        response: Response,
        now: Instant,
        out: &mut Vec<Outgoing>,
    ) {
        let code = response.code().as_u16();
        match code {
            100 => {}
            101..=199 => {
                let Some(link) = self.calls.calls.get(&id).map(|c| c.a.link) else {
                    return;
                };
                let contact = self.contact(link);
                let Some(call) = self.calls.calls.get_mut(&id) else {
                    return;
                };
                if call.legs[i].state == LegState::Done {
                    // Given up on before it rang: now it can be cancelled.
                    if std::mem::take(&mut call.legs[i].cancel_pending) {
                        self.send_cancel(id, i, now, out);
                    }
                    return;
                }
                if call.answered.is_some() {
                    return;
                }
                call.legs[i].state = LegState::Ringing;
                let relay_to = self.note_callee_audio(id, &response, false);
                let Some(call) = self.calls.calls.get(&id) else {
                    return;
                };
                let relay = relay_response(&call.a, &response, contact, relay_to);
                let key = call.a.key.clone();
                self.server_respond(&key, relay, now, out);
            }
            200..=299 => self.leg_answered(id, i, response, now, out),
            401 | 407 if self.answer_challenge(id, i, &response, now, out) => {}
            _ => self.leg_failed(id, i, code, now, out),
        }
    }

    fn leg_answered(
        &mut self,
        id: u64,
        i: usize,
        response: Response,
        now: Instant,
        out: &mut Vec<Outgoing>,
    ) {
        let ack_bytes;
        let (to, link);
        // Answered after routing gave up on it (its CANCEL crossed the 200).
        let dropped;
        {
            let Some(call) = self.calls.calls.get_mut(&id) else {
                return;
            };
            let leg = &mut call.legs[i];
            dropped = leg.state == LegState::Done;
            leg.cancel_pending = false;
            leg.remote_tag = response
                .headers()
                .to()
                .ok()
                .and_then(|t| t.tag().map(str::to_string));
            leg.remote_target = response
                .headers()
                .contacts()
                .ok()
                .and_then(|c| c.first().map(|c| c.uri.clone()));
            leg.state = LegState::Answered;
            to = leg.to;
            link = leg.link;
            ack_bytes =
                dialog_request(Method::Ack, leg, 1, &via(&self.locals, link, &new_branch()))
                    .to_bytes();
        }
        out.push(Outgoing {
            to,
            link,
            bytes: ack_bytes,
        });
        let already = self.calls.calls.get(&id).and_then(|c| c.answered);
        if already.is_some() || dropped {
            // Another device answered first, or routing moved on: hung up at once.
            self.bye_leg(id, i, now, out);
            return;
        }
        let contact = self.contact(self.calls.calls[&id].a.link);
        let relay_to = self.note_callee_audio(id, &response, true);
        let Some(call) = self.calls.calls.get_mut(&id) else {
            return;
        };
        call.answered = Some(i);
        call.record.answered_ms = Some(unix_ms());
        let mut ok = relay_response(&call.a, &response, contact, relay_to);
        if ok.headers().get("Content-Type").is_none() && !ok.body().is_empty() {
            ok.headers_mut().push("Content-Type", "application/sdp");
        }
        let bytes = ok.to_bytes();
        call.a.ok = Some(bytes.clone());
        let reliable = call.a.link == Link::Tcp;
        let key = call.a.key.clone();
        let others: Vec<usize> = (0..call.legs.len())
            .filter(|&j| {
                j != i && matches!(call.legs[j].state, LegState::Calling | LegState::Ringing)
            })
            .collect();
        self.server_respond(&key, ok, now, out);
        if !reliable {
            let at = now + self.timer_config.t1;
            if let Some(call) = self.calls.calls.get_mut(&id) {
                call.a.ok_deadline = Some(now + self.timer_config.t1 * 64);
            }
            self.set_timer(at, TimerOwner::Call(id));
        }
        for j in others {
            self.cancel_leg(id, j, now, out);
        }
        self.leg_connected(id, i, now, out);
    }

    /// A trunk challenged one of our INVITEs: send it again with credentials, once. `false`
    /// when the leg is not to a trunk with credentials, or they were already refused.
    fn answer_challenge(
        &mut self,
        id: u64,
        i: usize,
        response: &Response,
        now: Instant,
        out: &mut Vec<Outgoing>,
    ) -> bool {
        let Some(call) = self.calls.calls.get(&id) else {
            return false;
        };
        let leg = &call.legs[i];
        if leg.authenticated || leg.state == LegState::Done {
            return false;
        }
        let Some((user, Some(password))) = leg.trunk.and_then(|t| call.directory_trunk_auth(t))
        else {
            return false;
        };
        let (challenge_header, answer_header) = if response.code().as_u16() == 401 {
            ("WWW-Authenticate", "Authorization")
        } else {
            ("Proxy-Authenticate", "Proxy-Authorization")
        };
        let uri = leg.request.uri().to_string();
        let Some(authorization) = response
            .headers()
            .get_all(challenge_header)
            .find_map(|c| super::auth::authorization(c, "INVITE", &uri, &user, &password))
        else {
            return false;
        };
        let branch = new_branch();
        let mut request = leg.request.clone();
        let h = request.headers_mut();
        h.set("Via", self.via(leg.link, &branch));
        h.set("CSeq", "2 INVITE");
        h.push(answer_header, authorization);
        let (to, link) = (leg.to, leg.link);
        let Some(call) = self.calls.calls.get_mut(&id) else {
            return false;
        };
        let leg = &mut call.legs[i];
        leg.request = request.clone();
        leg.branch = branch.clone();
        leg.cseq = 2;
        leg.authenticated = true;
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
        true
    }

    /// CANCEL from the caller: every device still ringing is cancelled; the INVITE gets 487.
    pub(super) fn cancel_call(
        &mut self,
        invite_key: &TransactionKey,
        now: Instant,
        out: &mut Vec<Outgoing>,
    ) -> bool {
        let Some(&id) = self.calls.by_invite.get(invite_key) else {
            return false;
        };
        let Some(call) = self.calls.calls.get(&id) else {
            return false;
        };
        if call.answered.is_some() {
            return true;
        }
        let pending: Vec<usize> = (0..call.legs.len())
            .filter(|&j| matches!(call.legs[j].state, LegState::Calling | LegState::Ringing))
            .collect();
        for j in pending {
            self.cancel_leg(id, j, now, out);
        }
        if let Some(call) = self.calls.calls.get(&id) {
            let response = respond_with_tag(
                &call.a.invite,
                StatusCode::REQUEST_TERMINATED,
                "Request Terminated",
                Some(&call.a.tag),
            );
            let key = call.a.key.clone();
            self.server_respond(&key, response, now, out);
        }
        self.finish(id, CallOutcome::Cancelled, Some(487));
        true
    }

    /// Stops ringing leg `j`. A leg that has not answered provisionally yet gets its CANCEL
    /// when it does (RFC 3261 §9.1: no CANCEL before a provisional response).
    pub(super) fn cancel_leg(&mut self, id: u64, j: usize, now: Instant, out: &mut Vec<Outgoing>) {
        let Some(call) = self.calls.calls.get_mut(&id) else {
            return;
        };
        let leg = &mut call.legs[j];
        let ringing = leg.state == LegState::Ringing;
        leg.state = LegState::Done;
        leg.final_code = Some(487);
        leg.cancel_pending = !ringing;
        if ringing {
            self.send_cancel(id, j, now, out);
        }
    }

    fn send_cancel(&mut self, id: u64, j: usize, now: Instant, out: &mut Vec<Outgoing>) {
        let Some(leg) = self.calls.calls.get(&id).map(|c| &c.legs[j]) else {
            return;
        };
        let mut cancel = Request::new(Method::Cancel, leg.request.uri().clone());
        let src = leg.request.headers();
        for name in ["Via", "From", "To", "Call-ID"] {
            if let Some(v) = src.get(name) {
                cancel.headers_mut().push(name, v);
            }
        }
        cancel
            .headers_mut()
            .push("CSeq", format!("{} CANCEL", leg.cseq));
        cancel.headers_mut().push("Max-Forwards", "70");
        let (branch, to, link) = (leg.branch.clone(), leg.to, leg.link);
        self.send_client(
            ClientKind::NonInvite,
            &cancel,
            &branch,
            to,
            link,
            None,
            now,
            out,
        );
    }

    pub(super) fn bye_leg(&mut self, id: u64, i: usize, now: Instant, out: &mut Vec<Outgoing>) {
        let Some(call) = self.calls.calls.get_mut(&id) else {
            return;
        };
        let leg = &mut call.legs[i];
        leg.state = LegState::Done;
        let branch = new_branch();
        let via = via(&self.locals, leg.link, &branch);
        leg.cseq += 1;
        let bye = dialog_request(Method::Bye, leg, leg.cseq, &via);
        let (to, link) = (leg.to, leg.link);
        self.send_client(
            ClientKind::NonInvite,
            &bye,
            &branch,
            to,
            link,
            None,
            now,
            out,
        );
    }

    /// A BYE in one of our dialogs: the other side is hung up too. `false` if no dialog matches.
    pub(super) fn bye_call(
        &mut self,
        request: &Request,
        now: Instant,
        out: &mut Vec<Outgoing>,
    ) -> bool {
        let h = request.headers();
        let (Ok(call_id), Ok(to)) = (h.call_id(), h.to()) else {
            return false;
        };
        let Some(tag) = to.tag() else { return false };
        let Some(&(id, side)) = self
            .calls
            .dialogs
            .get(&(call_id.to_string(), tag.to_string()))
        else {
            return false;
        };
        match side {
            None => {
                if let Some(i) = self.calls.calls.get(&id).and_then(|c| c.answered) {
                    self.bye_leg(id, i, now, out);
                }
            }
            Some(_) => self.bye_caller(id, now, out),
        }
        self.finish(id, CallOutcome::Answered, None);
        true
    }

    pub(super) fn bye_caller(&mut self, id: u64, now: Instant, out: &mut Vec<Outgoing>) {
        let Some(call) = self.calls.calls.get_mut(&id) else {
            return;
        };
        let a = &mut call.a;
        a.cseq += 1;
        let branch = new_branch();
        let via = via(&self.locals, a.link, &branch);
        let bye = caller_request(Method::Bye, a, a.cseq, &via);
        let (peer, link) = (a.peer, a.link);
        self.send_client(
            ClientKind::NonInvite,
            &bye,
            &branch,
            peer,
            link,
            None,
            now,
            out,
        );
    }

    /// An ACK in the caller's dialog (for our 200): stop retransmitting the 200.
    pub(super) fn ack_call(&mut self, request: &Request) {
        let h = request.headers();
        let (Ok(call_id), Ok(to)) = (h.call_id(), h.to()) else {
            return;
        };
        let Some(tag) = to.tag() else { return };
        if let Some(&(id, None)) = self
            .calls
            .dialogs
            .get(&(call_id.to_string(), tag.to_string()))
        {
            if let Some(call) = self.calls.calls.get_mut(&id) {
                call.a.ok = None;
            }
        }
    }

    /// The caller's 200 retransmission timer.
    pub(super) fn call_timer(&mut self, id: u64, now: Instant, out: &mut Vec<Outgoing>) {
        let t2 = self.timer_config.t2;
        let Some(call) = self.calls.calls.get_mut(&id) else {
            return;
        };
        let Some(bytes) = call.a.ok.clone() else {
            return;
        };
        if call.a.ok_deadline.is_some_and(|d| now >= d) {
            call.a.ok = None;
            if call.ended {
                return self.end_call(id);
            }
            // No ACK ever came (RFC 3261 §13.3.1.4): the call is ended on both sides.
            call.record.note = Some("the caller never acknowledged the answer".into());
            if let Some(i) = call.answered {
                self.bye_leg(id, i, now, out);
            }
            self.bye_caller(id, now, out);
            return self.finish(id, CallOutcome::Answered, None);
        }
        out.push(Outgoing {
            to: call.a.peer,
            link: call.a.link,
            bytes,
        });
        call.a.retransmit = (call.a.retransmit * 2).min(t2);
        let at = now + call.a.retransmit;
        self.set_timer(at, TimerOwner::Call(id));
    }

    /// A 2xx retransmitted by a device after its transaction ended: ACK it again.
    fn reack(&self, response: &Response, out: &mut Vec<Outgoing>) {
        let h = response.headers();
        let (Ok(call_id), Ok(from)) = (h.call_id(), h.from()) else {
            return;
        };
        let Some(tag) = from.tag() else { return };
        let Some(&(id, Some(i))) = self
            .calls
            .dialogs
            .get(&(call_id.to_string(), tag.to_string()))
        else {
            return;
        };
        let Some(leg) = self.calls.calls.get(&id).and_then(|c| c.legs.get(i)) else {
            return;
        };
        let ack = dialog_request(
            Method::Ack,
            leg,
            1,
            &via(&self.locals, leg.link, &new_branch()),
        );
        out.push(Outgoing {
            to: leg.to,
            link: leg.link,
            bytes: ack.to_bytes(),
        });
    }

    /// A device's SDP (in a 18x or 2xx) tells where it wants audio: the relay sends there until
    /// the device's own packets arrive. Returns the relay's caller side, to point the caller at.
    fn note_callee_audio(
        &mut self,
        id: u64,
        response: &Response,
        answered: bool,
    ) -> Option<SocketAddr> {
        let (relay_id, a_side, _) = self.calls.calls.get(&id)?.relay?;
        let audio = std::str::from_utf8(response.body())
            .ok()
            .and_then(crate::media::sdp::audio_endpoint);
        if let (Some(audio), Some(media)) = (audio, &mut self.media) {
            let side = crate::media::relay::Side::Callee;
            if answered {
                // Whoever played early media before, the answering device is the callee now.
                media.repoint(relay_id, side, audio);
            } else {
                media.expect(relay_id, side, audio);
            }
        }
        Some(a_side)
    }
}

/// What kind of client transaction to start.
#[derive(Clone, Copy)]
pub(super) enum ClientKind {
    Invite,
    NonInvite,
}

/// Client transactions are keyed by branch and method (a CANCEL shares its INVITE's branch).
pub(super) fn client_key(branch: &str, method: &Method) -> String {
    let method = if *method == Method::Ack {
        "INVITE".to_string()
    } else {
        method.to_string()
    };
    format!("{branch}|{method}")
}

/// Our transport name and address on `link` (any of ours when that link has none).
fn local(locals: &HashMap<Link, SocketAddr>, link: Link) -> (&'static str, SocketAddr) {
    let proto = if link == Link::Tcp { "TCP" } else { "UDP" };
    let addr = locals
        .get(&link)
        .or_else(|| locals.values().next())
        .copied()
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 5060)));
    (proto, addr)
}

/// Our Via on `link` with `branch` (usable while a call is borrowed: it takes only `locals`).
pub(super) fn via(locals: &HashMap<Link, SocketAddr>, link: Link, branch: &str) -> String {
    let (proto, addr) = local(locals, link);
    format!("SIP/2.0/{proto} {addr};branch={branch};rport")
}

/// The ACK for a non-2xx final answer to our INVITE (RFC 3261 §17.1.1.3): the INVITE's
/// Request-URI, top Via, From, Call-ID and CSeq number, the answer's To.
fn non_2xx_ack(invite: &[u8], response: &[u8]) -> Option<Vec<u8>> {
    use super::message::Message;
    let (Ok(Message::Request(invite)), Ok(Message::Response(r))) =
        (Message::parse(invite), Message::parse(response))
    else {
        return None;
    };
    let mut ack = Request::new(Method::Ack, invite.uri().clone());
    let src = invite.headers();
    let h = ack.headers_mut();
    h.push("Via", src.get("Via")?);
    h.push("Max-Forwards", "70");
    h.push("From", src.get("From")?);
    h.push("To", r.headers().get("To")?);
    h.push("Call-ID", src.get("Call-ID")?);
    h.push("CSeq", format!("{} ACK", src.cseq().ok()?.seq));
    Some(ack.to_bytes())
}

/// An in-dialog request to the caller (BYE, re-INVITE, the ACK for a re-INVITE's 2xx): our tag
/// as From, the caller's as To, sent to the caller's Contact.
pub(super) fn caller_request(method: Method, a: &ALeg, cseq: u32, via: &str) -> Request {
    let target = a
        .remote_target
        .clone()
        .unwrap_or_else(|| a.invite.uri().clone());
    let mut r = Request::new(method.clone(), target);
    let from = a.invite.headers().from().ok();
    let to = a.invite.headers().to().ok();
    let h = r.headers_mut();
    h.push("Via", via);
    h.push("Max-Forwards", "70");
    if let Some(mut to) = to {
        to.set_tag(&a.tag);
        h.push("From", to.to_string());
    }
    if let Some(from) = from {
        h.push("To", from.to_string());
    }
    h.push("Call-ID", &a.call_id);
    h.push("CSeq", format!("{cseq} {method}"));
    r
}

/// An in-dialog request to a device (ACK for its 2xx, BYE).
pub(super) fn dialog_request(method: Method, leg: &Leg, cseq: u32, via: &str) -> Request {
    let target = leg
        .remote_target
        .clone()
        .unwrap_or_else(|| leg.request.uri().clone());
    let mut r = Request::new(method.clone(), target);
    let src = leg.request.headers();
    let h = r.headers_mut();
    h.push("Via", via);
    h.push("Max-Forwards", "70");
    if let Some(v) = src.get("From") {
        h.push("From", v);
    }
    if let Ok(mut to) = src.to() {
        if let Some(tag) = &leg.remote_tag {
            to.set_tag(tag);
        }
        h.push("To", to.to_string());
    }
    if let Some(v) = src.get("Call-ID") {
        h.push("Call-ID", v);
    }
    h.push("CSeq", format!("{cseq} {method}"));
    r
}

/// A device's answer as the caller's: the caller's dialog identifiers, our tag and Contact, the
/// device's body.
/// A device's answer as the caller's: the caller's dialog identifiers, our tag and Contact, the
/// device's body — its audio pointed at the relay's caller side when the call is relayed.
pub(super) fn relay_response(
    a: &ALeg,
    response: &Response,
    contact: String,
    relay_to: Option<SocketAddr>,
) -> Response {
    let mut r = respond_with_tag(&a.invite, response.code(), response.reason(), Some(&a.tag));
    r.headers_mut().push("Contact", contact);
    if !response.body().is_empty() {
        if let Some(ct) = response.headers().get("Content-Type") {
            r.headers_mut().push("Content-Type", ct);
        }
        r.set_body(relayed_body(response.body(), relay_to));
    }
    r
}

/// `body` with its audio pointed at `relay_to`, when there is a relay and the body is SDP
/// with audio; otherwise as it is.
pub(super) fn relayed_body(body: &[u8], relay_to: Option<SocketAddr>) -> Vec<u8> {
    match (relay_to, std::str::from_utf8(body)) {
        (Some(to), Ok(sdp)) if crate::media::sdp::audio_endpoint(sdp).is_some() => {
            crate::media::sdp::point_at(sdp, to).into_bytes()
        }
        _ => body.to_vec(),
    }
}
