//! Who may call what: an INVITE's way into a call. From a trunk's address to one of the
//! company numbers that trunk serves, it is a call from outside and is taken without a
//! challenge; anything else must come from a staff member authenticated by digest, and names a
//! colleague (extension or login), a department's extension, one of the company's numbers, or
//! — through the tenant's trunks — a number outside. The call itself is `call.rs`'s.

use super::auth::{Credentials, Verdict};
use super::call::Caller;
use super::directory::Directory;
use super::endpoint::{host_text, respond, respond_with_tag, unix_ms, Endpoint, Outgoing, Peer};
use super::message::{Request, Response, StatusCode, Uri};
use super::transaction::TransactionKey;
use crate::routing::{Dialled, Entry};
use crate::store::{CallOutcome, CallRecord};
use std::sync::Arc;
use std::time::Instant;

impl Endpoint {
    /// A new INVITE (the module's rules; 503 while the server drains). `None` once the call
    /// started: it answers for itself.
    pub(super) fn invite(
        &mut self,
        request: &Request,
        peer: Peer,
        key: Option<&TransactionKey>,
        now: Instant,
        out: &mut Vec<Outgoing>,
    ) -> Option<Response> {
        if self.draining {
            let mut r = respond(
                request,
                StatusCode::SERVICE_UNAVAILABLE,
                "Service Unavailable",
            );
            r.headers_mut().push("Retry-After", "60");
            return Some(r);
        }
        let directory = (self.directory)();
        if let (Some(dir), Some(key)) = (&directory, key) {
            let trunks = dir.trunks_from(peer.addr.ip());
            if self.inbound(request, peer, key, dir, &trunks, now, out) {
                return None;
            }
        }
        let domain = match request.headers().from().map(|f| f.uri) {
            Ok(Uri::Sip(u)) => host_text(&u.host),
            _ => String::new(),
        };
        let credentials = request
            .headers()
            .get_all("Proxy-Authorization")
            .filter_map(Credentials::parse)
            .next();
        let Some(credentials) = credentials else {
            return Some(self.challenge(
                request,
                &domain,
                false,
                StatusCode::PROXY_AUTHENTICATION_REQUIRED,
            ));
        };
        let hashes = directory
            .as_deref()
            .and_then(|d| d.tenant(&domain))
            .and_then(|t| t.users.get(&credentials.username))
            .and_then(|u| u.hashes.as_ref());
        match self
            .auth
            .verify(&credentials, "INVITE", &domain, hashes, unix_ms())
        {
            Verdict::Ok => {}
            Verdict::Stale => {
                return Some(self.challenge(
                    request,
                    &domain,
                    true,
                    StatusCode::PROXY_AUTHENTICATION_REQUIRED,
                ))
            }
            Verdict::Fail => {
                self.stats.auth_failures += 1;
                return Some(self.challenge(
                    request,
                    &domain,
                    false,
                    StatusCode::PROXY_AUTHENTICATION_REQUIRED,
                ));
            }
        }
        let (Some(directory), Some(key)) = (directory, key) else {
            return Some(respond(request, StatusCode::BAD_REQUEST, "Branch Required"));
        };
        let Some(tenant) = directory.tenant(&domain) else {
            return Some(respond(request, StatusCode::NOT_FOUND, "Not Found"));
        };
        // The Request-URI names a colleague (extension or login), a department's extension,
        // one of the company's numbers, or a number outside.
        let target = match request.uri() {
            Uri::Sip(u) => u.user.clone().unwrap_or_default(),
            Uri::Other(_) => String::new(),
        };
        let login = tenant
            .extensions
            .get(&target)
            .cloned()
            .or_else(|| tenant.users.contains_key(&target).then(|| target.clone()));
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
            let now_ms = unix_ms();
            self.records.push(CallRecord {
                tenant: tenant.id.clone(),
                caller: credentials.username.clone(),
                callee: target,
                started_ms: now_ms,
                ended_ms: now_ms,
                outcome: CallOutcome::NotFound,
                status: Some(404),
                ..CallRecord::default()
            });
            return Some(respond_with_tag(
                request,
                StatusCode::NOT_FOUND,
                "Not Found",
                None,
            ));
        };
        let domain = tenant.domain.clone();
        let caller = Caller::Staff(credentials.username.clone());
        self.start_call(
            request, peer, key, directory, &domain, caller, callee, entry, now, out,
        );
        None
    }

    /// An INVITE from one of `trunks` (the trunks sending from the request's address) to a
    /// company number they serve (after the trunk's inbound rewrites): the call starts, and
    /// `true`. Anything else is for the staff path, which challenges it.
    #[allow(clippy::too_many_arguments)]
    fn inbound(
        &mut self,
        request: &Request,
        peer: Peer,
        key: &TransactionKey,
        directory: &Arc<Directory>,
        trunks: &[usize],
        now: Instant,
        out: &mut Vec<Outgoing>,
    ) -> bool {
        let user = |uri: &Uri| match uri {
            Uri::Sip(u) => u.user.clone().unwrap_or_default(),
            Uri::Other(_) => String::new(),
        };
        // The number called is the Request-URI's user — or, from a provider that sends calls
        // to the registered contact (`sip:<trunk user>@pbx`), the To's.
        let called = [
            Some(user(request.uri())),
            request.headers().to().ok().map(|t| user(&t.uri)),
        ];
        let calling = request
            .headers()
            .from()
            .map(|f| user(&f.uri))
            .unwrap_or_default();
        for &t in trunks {
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
            let caller =
                Caller::External(crate::routing::rewrite(&trunk.inbound_rewrite, &calling));
            let domain = tenant.domain.clone();
            self.start_call(
                request,
                peer,
                key,
                Arc::clone(directory),
                &domain,
                caller,
                number,
                Entry::Number(i),
                now,
                out,
            );
            return true;
        }
        false
    }
}
