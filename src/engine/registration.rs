//! A REGISTER from a phone: the tenant found by the Request-URI's domain, the staff member
//! authenticated by digest (the login authenticated must be the one registered; an unknown
//! user gets exactly the answer a wrong password gets), and the bindings changed by the
//! registrar's rules over the shared location. Pure: the answer comes back, with the address
//! of record whose bindings changed (to persist) and the digest response checked, if one was
//! (for the `Guard`). The most devices a person may register is `server.limits.
//! contacts_per_person` of the running config; a REGISTER that would add one beyond it gets
//! 403 with a `Warning` saying so, and a `limit:` notice for the log.

use super::directory::Directory;
use super::guard::Attempt;
use super::io::{Limit, Now};
use super::random::Random;
use crate::sip::auth::{Credentials, DigestAuth, Verdict};
use crate::sip::link::{Link, Peer};
use crate::sip::message::{Request, Response, StatusCode, Uri};
use crate::sip::registrar::{
    Aor, ContactParam, Contacts, Location, Outcome, Register, Registrar, Transport,
};
use crate::sip::uas::{host_text, respond, user_of};

/// What a REGISTER came to.
pub struct Registered {
    pub answer: Response,
    /// The AOR whose bindings it changed.
    pub changed: Option<Aor>,
    /// The digest response it carried, when one was checked (passed or wrong).
    pub attempt: Option<Attempt>,
    /// The limit that refused it, if one did (for the log).
    pub refused: Option<Limit>,
}

/// The answer to `request`, the AOR whose bindings it changed, the response it carried.
#[allow(clippy::too_many_arguments)]
pub fn register(
    request: &Request,
    from: Peer,
    directory: &Directory,
    auth: &DigestAuth,
    registrar: &Registrar,
    location: &dyn Location,
    random: &mut Random,
    now: Now,
) -> Registered {
    let mut attempt = None;
    let mut refused = None;
    let (answer, changed) = answer(
        request,
        from,
        directory,
        auth,
        registrar,
        location,
        random,
        now,
        &mut attempt,
        &mut refused,
    );
    Registered {
        answer,
        changed,
        attempt,
        refused,
    }
}

#[allow(clippy::too_many_arguments)]
fn answer(
    request: &Request,
    from: Peer,
    directory: &Directory,
    auth: &DigestAuth,
    registrar: &Registrar,
    location: &dyn Location,
    random: &mut Random,
    now: Now,
    attempt: &mut Option<Attempt>,
    refused: &mut Option<Limit>,
) -> (Response, Option<Aor>) {
    let tag = random.tag();
    let domain = match request.uri() {
        Uri::Sip(u) => host_text(&u.host),
        Uri::Other(_) => {
            let r = respond(
                request,
                StatusCode::UNSUPPORTED_URI_SCHEME,
                "Unsupported URI Scheme",
                &tag,
            );
            return (r, None);
        }
    };
    let Ok(to) = request.headers().to() else {
        return (
            respond(request, StatusCode::BAD_REQUEST, "Bad To", &tag),
            None,
        );
    };
    let login = user_of(&to.uri);
    let challenge = |stale: bool, random: &mut Random| {
        let r = auth.challenge(
            request,
            &domain,
            stale,
            false,
            &directory.digest,
            now.wall_ms,
            random.bytes(),
            &tag,
        );
        (r, None)
    };
    let credentials = request
        .headers()
        .get_all("Authorization")
        .filter_map(Credentials::parse)
        .find(|c| c.realm.eq_ignore_ascii_case(&domain));
    let Some(credentials) = credentials else {
        return challenge(false, random);
    };
    let tenant = directory.tenant(&domain);
    // The login authenticated must be the one registered (To).
    let hashes = tenant
        .and_then(|t| t.users.get(&credentials.username))
        .and_then(|u| u.hashes.as_ref())
        .filter(|_| credentials.username == login);
    match auth.verify(&credentials, "REGISTER", &domain, hashes, now.wall_ms) {
        Verdict::Ok => *attempt = Some(Attempt::of(&credentials, &domain, true)),
        Verdict::Stale => return challenge(true, random),
        Verdict::Wrong => {
            *attempt = Some(Attempt::of(&credentials, &domain, false));
            return challenge(false, random);
        }
        Verdict::Fail => return challenge(false, random),
    }
    let Some(tenant) = tenant else {
        return challenge(false, random);
    };
    let headers = request.headers();
    let contacts = if headers.contact_is_wildcard() {
        Contacts::All
    } else {
        match headers.contacts() {
            Ok(list) if list.is_empty() => Contacts::Query,
            Ok(list) => Contacts::List(
                list.iter()
                    .map(|c| ContactParam {
                        uri: c.uri.to_string(),
                        expires: c.expires(),
                    })
                    .collect(),
            ),
            Err(_) => {
                let r = respond(request, StatusCode::BAD_REQUEST, "Bad Contact", &tag);
                return (r, None);
            }
        }
    };
    let (Ok(call_id), Ok(cseq)) = (headers.call_id(), headers.cseq()) else {
        return (
            respond(request, StatusCode::BAD_REQUEST, "Bad Request", &tag),
            None,
        );
    };
    let changes = !matches!(contacts, Contacts::Query);
    let register = Register {
        tenant: tenant.id.clone(),
        login: credentials.username.clone(),
        contacts,
        expires: headers.expires().ok().flatten(),
        call_id: call_id.to_string(),
        cseq: cseq.seq,
        source: from.addr,
        transport: match from.link {
            Link::Udp(_) => Transport::Udp,
            Link::Tcp => Transport::Tcp,
            Link::Tls => Transport::Tls,
        },
    };
    let max = directory.config.server.limits.contacts_per_person;
    let registrar = registrar.with_max_contacts(usize::try_from(max).unwrap_or(usize::MAX));
    match registrar.register(location, register, now.wall_ms) {
        Outcome::Ok(bindings) => {
            let mut r = respond(request, StatusCode::OK, "OK", &tag);
            for (uri, expires) in bindings {
                r.headers_mut()
                    .push("Contact", format!("<{uri}>;expires={expires}"));
            }
            let aor = changes.then(|| Aor::new(&tenant.id, &credentials.username));
            (r, aor)
        }
        Outcome::IntervalTooBrief { min_expires } => {
            let mut r = respond(
                request,
                StatusCode::INTERVAL_TOO_BRIEF,
                "Interval Too Brief",
                &tag,
            );
            r.headers_mut().push("Min-Expires", min_expires.to_string());
            (r, None)
        }
        Outcome::BadRequest(reason) => (
            respond(request, StatusCode::BAD_REQUEST, reason, &tag),
            None,
        ),
        Outcome::TooManyContacts { limit } => {
            let mut r = respond(request, StatusCode::FORBIDDEN, "Too Many Devices", &tag);
            let text = format!("Too many registered devices: at most {limit}");
            r.headers_mut()
                .push("Warning", format!("399 {domain} \"{text}\""));
            *refused = Some(Limit::Contacts {
                tenant: tenant.id.clone(),
                login: credentials.username.clone(),
                limit,
                source: from.addr,
            });
            (r, None)
        }
        Outcome::OutOfOrder => (
            respond(
                request,
                StatusCode::SERVER_INTERNAL_ERROR,
                "Out Of Order",
                &tag,
            ),
            None,
        ),
    }
}
