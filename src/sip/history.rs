//! A call's history record: completed when the call ends from what routing went through — the
//! number and departments, who was offered the call and who answered, ring and talk time, the
//! outcome and, when routing gave up, why (`GiveUp::reason`) — and handed to the store by the
//! transport.

use super::directory::{Directory, Tenant};
use super::endpoint::{unix_ms, Endpoint};
use crate::routing::{Callee, Flow, Via};
use crate::store::{CallOutcome, CallRecord};

impl Endpoint {
    /// Writes the call's history record and forgets the call. An answered call's outcome says
    /// how it was reached (directly, after a transfer, or forwarded outside).
    pub(super) fn finish(&mut self, id: u64, outcome: CallOutcome, status: Option<u16>) {
        // Once per call, whatever ends it.
        let first = self
            .calls
            .calls
            .get_mut(&id)
            .is_some_and(|call| !std::mem::replace(&mut call.ended, true));
        if !first {
            return self.end_call(id);
        }
        if self
            .calls
            .calls
            .get(&id)
            .is_some_and(|c| c.answered.is_some())
        {
            self.calls.count_talking(id, -1);
        }
        let relay = self.calls.calls.get(&id).and_then(|c| c.relay);
        let (to_callee, to_caller) = match (relay, &mut self.media) {
            (Some((relay_id, _, _)), Some(media)) => media.close(relay_id),
            _ => (0, 0),
        };
        if let Some(call) = self.calls.calls.get(&id) {
            let mut record = call.record.clone();
            record.rtp_caller_to_callee = to_callee;
            record.rtp_callee_to_caller = to_caller;
            record.ended_ms = unix_ms();
            record.status = status;
            record.outcome = outcome;
            if let (Some(flow), Some(tenant)) = (&call.flow, call.directory.tenant(&call.domain)) {
                describe(&mut record, flow, tenant, &call.directory);
                if outcome == CallOutcome::Answered {
                    record.outcome = match flow.route().via {
                        Via::Direct => CallOutcome::Answered,
                        Via::Transferred => CallOutcome::Transferred,
                        Via::Forwarded => CallOutcome::Forwarded,
                    };
                }
            }
            record.answered_by = call.answered_by.clone();
            let end = record.answered_ms.unwrap_or(record.ended_ms);
            record.ring_ms = end.saturating_sub(record.started_ms);
            record.talk_ms = record
                .answered_ms
                .map_or(0, |a| record.ended_ms.saturating_sub(a));
            self.records.push(record);
        }
        self.end_call(id);
    }
}

/// Fills the routing part of a history record: the number and department the call came
/// through, who was offered it, who answered.
fn describe(record: &mut CallRecord, flow: &Flow, tenant: &Tenant, directory: &Directory) {
    let name = |c: &Callee| match c {
        Callee::Devices(s) => tenant.logins.get(s.0).cloned().unwrap_or_default(),
        Callee::Mobile(s, n) => format!(
            "{} (mobile {n})",
            tenant.logins.get(s.0).map_or("", String::as_str)
        ),
        Callee::External(n) => n.to_string(),
    };
    let route = flow.route();
    record.number = route.number.as_ref().map(ToString::to_string);
    let departments = &directory.config.tenants[tenant.index].departments;
    record.departments = route
        .departments()
        .map(|d| departments[d.0].id.clone())
        .collect();
    record.offered = flow.offered().iter().map(name).collect();
    record.answered_on = route.answered.as_ref().map(name);
    record.after_hours = route.after_hours;
}
