//! A call's history record, completed when the call ends from what routing went through — the
//! number and departments, who was offered the call and who answered, ring and talk time, the
//! outcome and, when routing gave up, why (`GiveUp::reason`). Pure: the call hands over its
//! flow and times; the record goes out as `Output::Record`.

use super::directory::{Directory, Tenant};
use crate::routing::{Callee, Flow, Via};
use crate::store::{CallOutcome, CallRecord};

/// Completes `record` of a call that ended at `ended_ms` with `outcome` (and `status`, the SIP
/// status the caller got when it was not answered). An answered call's outcome says how it was
/// reached: directly, after a transfer, or forwarded outside.
pub(super) fn complete(
    record: &mut CallRecord,
    flow: &Flow,
    directory: &Directory,
    tenant: Option<&Tenant>,
    outcome: CallOutcome,
    status: Option<u16>,
    ended_ms: u64,
) {
    record.ended_ms = ended_ms;
    record.status = status;
    record.outcome = outcome;
    if let Some(tenant) = tenant {
        describe(record, flow, tenant, directory);
    }
    if outcome == CallOutcome::Answered {
        record.outcome = match flow.route().via {
            Via::Direct => CallOutcome::Answered,
            Via::Transferred => CallOutcome::Transferred,
            Via::Forwarded => CallOutcome::Forwarded,
        };
    }
    let end = record.answered_ms.unwrap_or(record.ended_ms);
    record.ring_ms = end.saturating_sub(record.started_ms);
    record.talk_ms = record
        .answered_ms
        .map_or(0, |a| record.ended_ms.saturating_sub(a));
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
    if let Some(why) = &route.gave_up {
        record.note.get_or_insert_with(|| why.reason().to_string());
    }
}
