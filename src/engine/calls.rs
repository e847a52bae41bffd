//! `Calls`: every call of one shard, and how events find theirs — a leg's answers through the
//! owner of its transaction, in-dialog requests (ACK, BYE, re-INVITE) through the dialog index,
//! a CANCEL through the caller's INVITE transaction. After each event the call's record, once
//! finished, goes out (when the call had a relay, after the media driver reported what the
//! relay carried, or `RECORD_WAIT` at most), and a call with nothing left to wait for is
//! forgotten together with its index entries.

use super::call::{Call, Start};
use super::context::{CallId, Ctx, End, Owner, Timer};
use super::io::Output;
use crate::media::anchor::{MediaCommand, MediaEvent, RelayId};
use crate::sip::message::{Request, Response};
use crate::sip::transaction::TransactionKey;
use crate::store::CallRecord;
use std::collections::HashMap;
use std::time::Duration;

/// How long a finished call's record waits for its relay's packet counts.
const RECORD_WAIT: Duration = Duration::from_secs(2);

/// The calls of one shard.
#[derive(Default)]
pub struct Calls {
    calls: HashMap<CallId, Call>,
    next: CallId,
    /// Records of finished calls waiting for their relay's counts.
    closing: HashMap<RelayId, CallRecord>,
    /// How many of `calls` are finished (lingering for late answers).
    finished: usize,
    /// Which call each relay is, for what the media driver reports.
    relays: HashMap<RelayId, CallId>,
}

impl Calls {
    /// Calls in progress (finished calls lingering for late answers not counted).
    pub fn len(&self) -> usize {
        self.calls.len() - self.finished
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls held, lingering ones included.
    pub fn held(&self) -> usize {
        self.calls.len()
    }

    /// Starts a call.
    pub fn start(&mut self, start: Start, ctx: &mut Ctx) {
        let id = self.next;
        self.next += 1;
        if let Some(call) = Call::start(id, start, ctx) {
            if let Some(relay) = call.relay() {
                self.relays.insert(relay, id);
            }
            self.calls.insert(id, call);
            self.settle(id, ctx);
        }
    }

    /// Starts a callback the PBX makes (`Call::originate`).
    pub fn originate(
        &mut self,
        directory: std::sync::Arc<super::directory::Directory>,
        callback: crate::routing::queue::Callback,
        ctx: &mut Ctx,
    ) {
        let id = self.next;
        self.next += 1;
        if let Some(call) = Call::originate(id, directory, callback, ctx) {
            if let Some(relay) = call.relay() {
                self.relays.insert(relay, id);
            }
            self.calls.insert(id, call);
            self.settle(id, ctx);
        }
    }

    /// An answer one of the calls' client transactions passed up.
    pub fn on_answer(
        &mut self,
        owner: Owner,
        request: &Request,
        response: Response,
        to: crate::sip::link::Peer,
        ctx: &mut Ctx,
    ) {
        match owner {
            Owner::Leg { call, leg } => match self.calls.get_mut(&call) {
                Some(c) => {
                    c.on_leg_answer(leg, response, ctx);
                    self.settle(call, ctx);
                }
                None => orphan(request, &response, to, ctx),
            },
            Owner::ReInvite {
                call,
                toward,
                origin,
                request: origin_request,
            } => {
                if let Some(c) = self.calls.get_mut(&call) {
                    c.on_reinvite_answer(toward, &origin, &origin_request, &response, ctx);
                    self.settle(call, ctx);
                }
            }
            Owner::Fire | Owner::Trunk(_) => {}
        }
    }

    /// A client transaction of a call got no answer.
    pub fn on_timeout(&mut self, owner: Owner, ctx: &mut Ctx) {
        if let Owner::Leg { call, leg } = owner {
            if let Some(c) = self.calls.get_mut(&call) {
                c.on_leg_timeout(leg, ctx);
                self.settle(call, ctx);
            }
        }
    }

    /// One of the calls' timers fired.
    pub fn on_timer(&mut self, timer: Timer, ctx: &mut Ctx) {
        match timer {
            Timer::Flow(id) => {
                if let Some(c) = self.calls.get_mut(&id) {
                    c.on_flow_timer(ctx);
                    self.settle(id, ctx);
                }
            }
            Timer::Caller(id) => {
                if let Some(c) = self.calls.get_mut(&id) {
                    c.on_caller_timer(ctx);
                    self.settle(id, ctx);
                }
            }
            Timer::Record(relay) => {
                if let Some(record) = self.closing.remove(&relay) {
                    ctx.out.push_back(Output::Record(record));
                }
            }
            Timer::Linger(id) => {
                if self.calls.get(&id).is_some_and(Call::is_finished) {
                    self.forget(id, ctx);
                }
            }
            Timer::Sweep | Timer::Trunks => {}
        }
    }

    /// The media driver reports.
    pub fn on_media(&mut self, event: MediaEvent, ctx: &mut Ctx) {
        match event {
            MediaEvent::Closed {
                relay,
                caller_to_callee,
                callee_to_caller,
            } => {
                self.relays.remove(&relay);
                if let Some(mut record) = self.closing.remove(&relay) {
                    record.rtp_caller_to_callee = caller_to_callee;
                    record.rtp_callee_to_caller = callee_to_caller;
                    ctx.out.push_back(Output::Record(record));
                }
            }
            // A caller who hung up while recording left a message all the same.
            MediaEvent::Recorded {
                relay, kept: true, ..
            } if self.closing.contains_key(&relay) => {
                if let Some(record) = self.closing.get_mut(&relay) {
                    record.outcome = crate::store::CallOutcome::Voicemail;
                    record.note = Some(crate::routing::Ended::VoicemailLeft.reason().into());
                }
            }
            MediaEvent::Digit { relay, .. }
            | MediaEvent::PlayDone(relay)
            | MediaEvent::Recorded { relay, .. } => {
                let Some(&id) = self.relays.get(&relay) else {
                    return;
                };
                if let Some(c) = self.calls.get_mut(&id) {
                    c.on_media(&event, ctx);
                    self.settle(id, ctx);
                }
            }
        }
    }

    /// A SIP INFO; `None` when it names none of our dialogs (481), else whether it was a key
    /// press we understood (else 415).
    pub fn on_info(&mut self, request: &Request, ctx: &mut Ctx) -> Option<bool> {
        let (id, end) = dialog_of(request, ctx)?;
        let call = self.calls.get_mut(&id)?;
        let understood = call.on_info(end, request, ctx);
        self.settle(id, ctx);
        Some(understood)
    }

    /// The caller's CANCEL for INVITE transaction `invite` (its 200 is already out).
    pub fn on_cancel(&mut self, invite: &TransactionKey, ctx: &mut Ctx) {
        let Some(&id) = ctx.index.invites.get(invite) else {
            return;
        };
        if let Some(c) = self.calls.get_mut(&id) {
            c.on_cancel(ctx);
            self.settle(id, ctx);
        }
    }

    /// A BYE; whether it names one of our dialogs.
    pub fn on_bye(&mut self, request: &Request, ctx: &mut Ctx) -> bool {
        let Some((id, end)) = dialog_of(request, ctx) else {
            return false;
        };
        if let Some(c) = self.calls.get_mut(&id) {
            c.on_bye(end, ctx);
            self.settle(id, ctx);
        }
        true
    }

    /// An ACK for a 2xx.
    pub fn on_ack(&mut self, request: &Request, ctx: &mut Ctx) {
        if let Some((id, End::Caller)) = dialog_of(request, ctx) {
            if let Some(c) = self.calls.get_mut(&id) {
                c.on_ack();
                self.settle(id, ctx);
            }
        }
    }

    /// A re-INVITE in one of our dialogs; `None` when it names none (481).
    pub fn on_reinvite(
        &mut self,
        request: &Request,
        key: Option<TransactionKey>,
        ctx: &mut Ctx,
    ) -> Option<Response> {
        let (id, end) = dialog_of(request, ctx)?;
        let call = self.calls.get_mut(&id)?;
        let answer = call.on_reinvite(end, request, key?, ctx);
        self.settle(id, ctx);
        answer
    }

    /// A 2xx to one of our INVITEs arrived after its transaction ended: ACK it again.
    pub fn on_stray_2xx(&mut self, response: &Response, ctx: &mut Ctx) {
        let h = response.headers();
        let (Ok(call_id), Ok(from)) = (h.call_id(), h.from()) else {
            return;
        };
        let Some(tag) = from.tag() else { return };
        let key = (call_id.to_string(), tag.to_string());
        if let Some(&(id, end)) = ctx.index.dialogs.get(&key) {
            if let Some(c) = self.calls.get(&id) {
                c.on_stray_2xx(end, ctx);
            }
        }
    }

    /// Ends every call now.
    pub fn end_all(&mut self, ctx: &mut Ctx) {
        let ids: Vec<CallId> = self.calls.keys().copied().collect();
        for id in ids {
            if let Some(c) = self.calls.get_mut(&id) {
                c.end_now(ctx);
                self.settle(id, ctx);
            }
        }
    }

    /// After an event of call `id`: its finished record goes out, and a call with nothing
    /// left to wait for is forgotten.
    fn settle(&mut self, id: CallId, ctx: &mut Ctx) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if let Some((record, relay)) = call.take_record() {
            self.finished += 1;
            match relay {
                Some(pair) => {
                    ctx.media(MediaCommand::Close(pair.id));
                    self.closing.insert(pair.id, record);
                    ctx.timers
                        .set(ctx.now.mono + RECORD_WAIT, Timer::Record(pair.id));
                }
                None => ctx.out.push_back(Output::Record(record)),
            }
        }
        if call.is_over() {
            self.forget(id, ctx);
        }
    }

    fn forget(&mut self, id: CallId, ctx: &mut Ctx) {
        if let Some(call) = self.calls.remove(&id) {
            // Only finished calls are forgotten.
            self.finished -= usize::from(call.is_finished());
            let (dialogs, invite) = call.keys();
            for key in dialogs {
                ctx.index.dialogs.remove(&key);
            }
            ctx.index.invites.remove(&invite);
        }
    }
}

/// The call and side an in-dialog request names: its Call-ID and To tag (our tag).
fn dialog_of(request: &Request, ctx: &Ctx) -> Option<(CallId, End)> {
    let h = request.headers();
    let call_id = h.call_id().ok()?;
    let to = h.to().ok()?;
    let key = (call_id.to_string(), to.tag()?.to_string());
    ctx.index.dialogs.get(&key).copied()
}

/// A leg answered after its call was forgotten: a 200 is ACKed and hung up at once, from what
/// our INVITE and its answer say.
fn orphan(invite: &Request, response: &Response, to: crate::sip::link::Peer, ctx: &mut Ctx) {
    if !response.code().is_success() {
        return;
    }
    let Some(mut dialog) = crate::sip::dialog::Dialog::as_uac(invite, response, to) else {
        return;
    };
    let seq = invite.headers().cseq().map_or(1, |c| c.seq);
    let via = ctx.via(to.link);
    ctx.transmit(dialog.next_hop(), dialog.ack(seq, &via).to_bytes());
    let via = ctx.via(to.link);
    let bye = dialog.request(crate::sip::message::Method::Bye, &via);
    let hop = dialog.next_hop();
    ctx.send(bye, hop, Owner::Fire);
}
