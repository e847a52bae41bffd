//! Stopping without cutting calls short: while the server drains, new calls are refused with
//! 503 and `Retry-After` (admission.rs), calls in progress go on; when the grace period is over,
//! whatever is left is ended properly — answered calls with a BYE to both sides, ringing ones
//! with CANCELs and a 503 to the caller — and every one leaves its history record.

use super::call::LegState;
use super::endpoint::{respond_with_tag, Endpoint, Outgoing};
use super::message::StatusCode;
use crate::store::CallOutcome;
use std::time::Instant;

impl Endpoint {
    /// Stops taking new calls.
    pub fn drain(&mut self) {
        self.draining = true;
    }

    /// Ends every call in progress; returns what must be sent.
    pub fn hang_up_all(&mut self, now: Instant) -> Vec<Outgoing> {
        let mut out = Vec::new();
        let ids: Vec<u64> = self.calls.calls.keys().copied().collect();
        for id in ids {
            let Some(call) = self.calls.calls.get(&id) else {
                continue;
            };
            if let Some(i) = call.answered {
                self.bye_leg(id, i, now, &mut out);
                self.bye_caller(id, now, &mut out);
                self.finish(id, CallOutcome::Answered, None);
                continue;
            }
            let live: Vec<usize> = (0..call.legs.len())
                .filter(|&j| matches!(call.legs[j].state, LegState::Calling | LegState::Ringing))
                .collect();
            for j in live {
                self.cancel_leg(id, j, now, &mut out);
            }
            let Some(call) = self.calls.calls.get_mut(&id) else {
                continue;
            };
            call.record.note = Some("the server stopped".into());
            let status = StatusCode::SERVICE_UNAVAILABLE;
            let mut response = respond_with_tag(
                &call.a.invite,
                status,
                "Service Unavailable",
                Some(&call.a.tag),
            );
            response.headers_mut().push("Retry-After", "60");
            let key = call.a.key.clone();
            self.server_respond(&key, response, now, &mut out);
            self.finish(id, CallOutcome::Unavailable, Some(503));
        }
        out
    }
}
