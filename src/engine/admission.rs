//! Who may call what: an INVITE's way into a call. From a trunk's address to one of the
//! company numbers that trunk serves, it is a call from outside and is taken without a
//! challenge; anything else must come from a staff member authenticated by digest, and names a
//! colleague (extension or login), a department's extension, one of the company's numbers, or
//! — through the tenant's trunks — a number outside. While the server drains, new calls get 503
//! with `Retry-After`. Pure: the decision comes back as data (with the digest response checked,
//! for the `Guard`); the call itself is `call.rs`'s.

use super::call::Caller;
use super::directory::Directory;
use super::guard::Attempt;
use super::io::Now;
use super::random::Random;
use crate::routing::{Dialled, Entry};
use crate::sip::auth::{Credentials, DigestAuth, Verdict};
use crate::sip::link::Peer;
use crate::sip::message::{Request, Response, StatusCode, Uri};
use crate::sip::uas::{host_text, respond, user_of};
use crate::store::{CallOutcome, CallRecord};
use std::sync::Arc;

/// What to do with a new INVITE.
#[derive(Debug)]
pub enum Admission {
    /// Start a call in tenant `domain`.
    Call {
        domain: String,
        caller: Caller,
        /// What was called, for the record.
        callee: String,
        entry: Entry,
    },
    /// Answer this (a challenge, 503 while draining, 400).
    Answer(Box<Response>),
    /// Nothing by that name: 404, and the attempt's record.
    NotFound(Box<Response>, Box<CallRecord>),
}

/// Decides about INVITE `request` from `from` (a tag for our answer comes from `random`);
/// `attempt` is set to the digest response it carried, when one was checked.
#[allow(clippy::too_many_arguments)]
pub fn admit(
    request: &Request,
    from: Peer,
    directory: &Arc<Directory>,
    auth: &DigestAuth,
    draining: bool,
    random: &mut Random,
    now: Now,
    attempt: &mut Option<Attempt>,
) -> Admission {
    let tag = random.tag();
    if draining {
        let mut r = respond(
            request,
            StatusCode::SERVICE_UNAVAILABLE,
            "Service Unavailable",
            &tag,
        );
        r.headers_mut().push("Retry-After", "60");
        return Admission::Answer(Box::new(r));
    }
    if let Some(call) = inbound(request, from, directory) {
        return call;
    }
    let domain = match request.headers().from().map(|f| f.uri) {
        Ok(Uri::Sip(u)) => host_text(&u.host),
        _ => String::new(),
    };
    let challenge = |stale: bool, random: &mut Random| {
        Admission::Answer(Box::new(auth.challenge(
            request,
            &domain,
            stale,
            true,
            &directory.digest,
            now.wall_ms,
            random.bytes(),
            &tag,
        )))
    };
    let credentials = request
        .headers()
        .get_all("Proxy-Authorization")
        .filter_map(Credentials::parse)
        .next();
    let Some(credentials) = credentials else {
        return challenge(false, random);
    };
    match auth.verify_account(
        &credentials,
        "INVITE",
        &domain,
        directory.as_ref(),
        now.wall_ms,
    ) {
        Verdict::Ok => *attempt = Some(Attempt::of(&credentials, &domain, true)),
        Verdict::Stale => return challenge(true, random),
        Verdict::Wrong => {
            *attempt = Some(Attempt::of(&credentials, &domain, false));
            return challenge(false, random);
        }
        Verdict::Fail => return challenge(false, random),
    }
    let Some(tenant) = directory.tenant(&domain) else {
        let r = respond(request, StatusCode::NOT_FOUND, "Not Found", &tag);
        return Admission::Answer(Box::new(r));
    };
    // The Request-URI names a colleague (extension or login), a department's extension, one
    // of the company's numbers, or a number outside. Digits are always a number: a login is
    // looked up only for a target with something else in it (validation refuses digit-only
    // logins; a running config from before that rule still cannot capture `112` or an
    // extension).
    let target = user_of(request.uri());
    let is_number = target.bytes().all(|b| b.is_ascii_digit() || b == b'+');
    let login = tenant
        .extensions
        .get(&target)
        .cloned()
        .or_else(|| (!is_number && tenant.users.contains_key(&target)).then(|| target.clone()));
    let (entry, callee) = if let Some(s) = login.as_deref().and_then(|l| tenant.staff(l)) {
        (Entry::Staff(s), login.unwrap_or_default())
    } else if let Some(d) = tenant.departments.get(&target) {
        (Entry::Department(*d), target)
    } else if let Some(i) = directory
        .number(&target)
        .filter(|(owner, _)| owner.index == tenant.index)
        .map(|(_, i)| i)
    {
        // The company's own number, dialled from inside: its flow, without the trunk.
        (Entry::Number(i), target)
    } else if let Some(n) = Dialled::parse(&target).filter(|_| !tenant.outbound.is_empty()) {
        (Entry::External(n), target)
    } else {
        let record = CallRecord {
            tenant: tenant.id.clone(),
            caller: credentials.username.clone(),
            callee: target,
            started_ms: now.wall_ms,
            ended_ms: now.wall_ms,
            outcome: CallOutcome::NotFound,
            status: Some(404),
            ..CallRecord::default()
        };
        let r = respond(request, StatusCode::NOT_FOUND, "Not Found", &tag);
        return Admission::NotFound(Box::new(r), Box::new(record));
    };
    Admission::Call {
        domain: tenant.domain.clone(),
        caller: Caller::Staff(credentials.username.clone()),
        callee,
        entry,
    }
}

/// An INVITE from a trunk's address to a company number the trunk serves (after its inbound
/// rewrites) is a call from outside. Anything else is for the staff path, which challenges it.
fn inbound(request: &Request, from: Peer, directory: &Directory) -> Option<Admission> {
    let trunks = directory.trunks_from(from.addr.ip());
    if trunks.is_empty() {
        return None;
    }
    // The number called is the Request-URI's user — or, from a provider that sends calls to
    // the registered contact (`sip:<trunk user>@pbx`), the To's.
    let called = [
        Some(user_of(request.uri())),
        request.headers().to().ok().map(|t| user_of(&t.uri)),
    ];
    let calling = request
        .headers()
        .from()
        .map(|f| user_of(&f.uri))
        .unwrap_or_default();
    for t in trunks {
        let trunk = &directory.trunks[t];
        let found = called.iter().flatten().find_map(|c| {
            let number = crate::routing::rewrite(&trunk.inbound_rewrite, c);
            directory
                .number(&number)
                .map(|(tenant, i)| (tenant, i, number))
        });
        let Some((tenant, i, number)) = found else {
            continue;
        };
        if trunk.tenant.is_some_and(|owner| owner != tenant.index) {
            continue;
        }
        return Some(Admission::Call {
            domain: tenant.domain.clone(),
            caller: Caller::External(crate::routing::rewrite(&trunk.inbound_rewrite, &calling)),
            callee: number,
            entry: Entry::Number(i),
        });
    }
    None
}
