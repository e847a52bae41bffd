//! Re-INVITEs inside a call (hold, resume, a codec change): passed from one side to the other
//! with the audio still pointed at the relay, and the answer passed back the same way.

use super::b2bua::{
    caller_request, client_key, dialog_request, new_branch, relayed_body, via, ClientKind,
};
use super::endpoint::{respond_with_tag, Endpoint, Link, Outgoing};
use super::message::{Method, Request, Response, StatusCode};
use super::transaction::TransactionKey;
use std::time::Instant;

impl Endpoint {
    /// An INVITE inside one of our dialogs (hold, resume, a codec change): passed to the other
    /// side with its audio still pointed at the relay; the answer comes back the same way.
    /// `None` if no dialog matches (the caller answers 481).
    pub(super) fn reinvite(
        &mut self,
        request: &Request,
        key: Option<&TransactionKey>,
        now: Instant,
        out: &mut Vec<Outgoing>,
    ) -> Option<Response> {
        let h = request.headers();
        let (call_id, to) = (h.call_id().ok()?, h.to().ok()?);
        let &(id, side) = self
            .calls
            .dialogs
            .get(&(call_id.to_string(), to.tag()?.to_string()))?;
        let key = key?.clone();
        let relay = self.calls.calls.get(&id)?.relay;
        let sdp = std::str::from_utf8(request.body())
            .ok()
            .and_then(crate::media::sdp::audio_endpoint);
        let (relay_side, toward_callee) = match side {
            None => (crate::media::relay::Side::Caller, true),
            Some(_) => (crate::media::relay::Side::Callee, false),
        };
        if let (Some((relay_id, _, _)), Some(addr), Some(media)) = (relay, sdp, &mut self.media) {
            media.repoint(relay_id, relay_side, addr);
        }
        let branch = new_branch();
        let content_type = h.get("Content-Type").map(str::to_string);
        let call = self.calls.calls.get_mut(&id)?;
        let (mut forward, to, link) = if toward_callee {
            let leg = &mut call.legs[call.answered?];
            leg.cseq += 1;
            let via = via(&self.locals, leg.link, &branch);
            (
                dialog_request(Method::Invite, leg, leg.cseq, &via),
                leg.to,
                leg.link,
            )
        } else {
            let a = &mut call.a;
            a.cseq += 1;
            let via = via(&self.locals, a.link, &branch);
            (
                caller_request(Method::Invite, a, a.cseq, &via),
                a.peer,
                a.link,
            )
        };
        forward.headers_mut().push("Contact", self.contact(link));
        if let Some(ct) = content_type {
            forward.headers_mut().push("Content-Type", ct);
        }
        let toward = relay.map(|(_, a_side, b_side)| if toward_callee { b_side } else { a_side });
        forward.set_body(relayed_body(request.body(), toward));
        self.send_client(
            ClientKind::Invite,
            &forward,
            &branch,
            to,
            link,
            None,
            now,
            out,
        );
        if let Some(client) = self.clients.get_mut(&client_key(&branch, &Method::Invite)) {
            client.reinvite = Some((key, request.clone(), id, toward_callee));
        }
        Some(respond_with_tag(
            request,
            StatusCode::TRYING,
            "Trying",
            None,
        ))
    }

    /// The other side answered a passed-through re-INVITE: ACK a 2xx there, and answer the
    /// originating side the same way (its audio pointed at the relay).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn reinvite_answered(
        &mut self,
        origin: &TransactionKey,
        origin_request: &Request,
        id: u64,
        toward_callee: bool,
        r: Response,
        now: Instant,
        out: &mut Vec<Outgoing>,
    ) {
        let code = r.code().as_u16();
        if code < 200 {
            return;
        }
        let Some(call) = self.calls.calls.get(&id) else {
            return;
        };
        if code < 300 {
            // The ACK for a 2xx is the TU's, in the dialog, with the re-INVITE's CSeq.
            let ack = if toward_callee {
                call.answered.map(|i| {
                    let leg = &call.legs[i];
                    let via = via(&self.locals, leg.link, &new_branch());
                    (
                        dialog_request(Method::Ack, leg, leg.cseq, &via),
                        leg.to,
                        leg.link,
                    )
                })
            } else {
                let a = &call.a;
                let via = via(&self.locals, a.link, &new_branch());
                Some((caller_request(Method::Ack, a, a.cseq, &via), a.peer, a.link))
            };
            if let Some((ack, to, link)) = ack {
                out.push(Outgoing {
                    to,
                    link,
                    bytes: ack.to_bytes(),
                });
            }
        }
        let audio = std::str::from_utf8(r.body())
            .ok()
            .and_then(crate::media::sdp::audio_endpoint);
        let relay = call.relay;
        if let (Some((relay_id, _, _)), Some(addr), Some(media)) = (relay, audio, &mut self.media) {
            let side = if toward_callee {
                crate::media::relay::Side::Callee
            } else {
                crate::media::relay::Side::Caller
            };
            media.repoint(relay_id, side, addr);
        }
        let back_to = relay.map(|(_, a_side, b_side)| if toward_callee { a_side } else { b_side });
        let mut answer = respond_with_tag(origin_request, r.code(), r.reason(), None);
        // The originating side's dialog keeps our tag.
        if let Ok(to) = origin_request.headers().to() {
            answer.headers_mut().set("To", to.to_string());
        }
        let link = if toward_callee {
            call_link_a(self, id)
        } else {
            call_link_b(self, id)
        };
        answer.headers_mut().push("Contact", self.contact(link));
        if !r.body().is_empty() {
            if let Some(ct) = r.headers().get("Content-Type") {
                answer.headers_mut().push("Content-Type", ct);
            }
            answer.set_body(relayed_body(r.body(), back_to));
        }
        self.server_respond(origin, answer, now, out);
    }
}

fn call_link_a(e: &Endpoint, id: u64) -> Link {
    e.calls.calls.get(&id).map_or(Link::Udp(0), |c| c.a.link)
}

fn call_link_b(e: &Endpoint, id: u64) -> Link {
    e.calls
        .calls
        .get(&id)
        .and_then(|c| c.answered.map(|i| c.legs[i].link))
        .unwrap_or(Link::Udp(0))
}
