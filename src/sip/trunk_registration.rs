//! `TrunkRegistration`: the PBX registering with a provider's gateway (`register: true` on a
//! trunk), so that the provider delivers the company's inbound calls to it. One per trunk, kept
//! in step with the running config: a REGISTER with the trunk's user as address-of-record and
//! the PBX as Contact; a digest challenge answered once per attempt with the trunk's
//! credentials; the binding refreshed at 80 % of what the gateway granted; a failure (refused,
//! no answer) retried after `RETRY`; a trunk that stops registering (removed, or
//! `register: false`) unregisters (Expires: 0). Registering, failing and unregistering are
//! logged.

use super::b2bua::{new_branch, random_token, ClientKind};
use super::directory::Directory;
use super::endpoint::{Endpoint, Link, Outgoing};
use super::message::{Method, Request, Response};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The registration lifetime asked for.
const EXPIRES: u32 = 600;
/// How long after a failure the next attempt starts.
const RETRY: Duration = Duration::from_secs(30);
/// How often the endpoint looks for a new config's trunks.
pub(super) const CHECK: Duration = Duration::from_secs(1);

/// One trunk's registration.
pub(super) struct TrunkRegistration {
    target: SocketAddr,
    link: Link,
    host: String,
    user: String,
    password: String,
    call_id: String,
    from_tag: String,
    cseq: u32,
    /// The current attempt already answered a challenge.
    challenged: bool,
    next_at: Option<Instant>,
    /// The last attempt succeeded.
    registered: bool,
    /// The trunk is gone from the config: unregistering.
    leaving: bool,
}

impl TrunkRegistration {
    fn new(
        target: SocketAddr,
        link: Link,
        host: &str,
        user: &str,
        password: &str,
        now: Instant,
    ) -> Self {
        TrunkRegistration {
            target,
            link,
            host: host.to_string(),
            user: user.to_string(),
            password: password.to_string(),
            call_id: format!("{}@pbx", random_token(12)),
            from_tag: random_token(6),
            cseq: 0,
            challenged: false,
            next_at: Some(now),
            registered: false,
            leaving: false,
        }
    }

    fn same_as(&self, other: &TrunkRegistration) -> bool {
        (
            self.target,
            self.link,
            &self.host,
            &self.user,
            &self.password,
        ) == (
            other.target,
            other.link,
            &other.host,
            &other.user,
            &other.password,
        )
    }
}

impl Endpoint {
    /// Keeps one registration per trunk of the running config that asks for it, and sends
    /// the REGISTERs that are due.
    pub(super) fn check_trunks(&mut self, now: Instant, out: &mut Vec<Outgoing>) {
        if let Some(directory) = (self.directory)() {
            let changed = self
                .seen_directory
                .as_ref()
                .is_none_or(|seen| !Arc::ptr_eq(seen, &directory));
            if changed {
                self.reconcile_trunks(&directory, now);
                self.seen_directory = Some(directory);
            }
        }
        let due: Vec<String> = self
            .trunk_regs
            .iter()
            .filter(|(_, r)| r.next_at.is_some_and(|at| at <= now))
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            self.send_register(&id, None, now, out);
        }
    }

    fn reconcile_trunks(&mut self, directory: &Directory, now: Instant) {
        let mut wanted = std::collections::HashSet::new();
        for t in directory.trunks.iter().filter(|t| t.register) {
            let (Some(addr), Some((user, Some(password)))) = (t.addr, &t.auth) else {
                continue;
            };
            wanted.insert(t.label.clone());
            let link = if t.tcp { Link::Tcp } else { Link::Udp(0) };
            let r = TrunkRegistration::new(addr, link, &t.host, user, password, now);
            if !self
                .trunk_regs
                .get(&t.label)
                .is_some_and(|old| old.same_as(&r) && !old.leaving)
            {
                self.trunk_regs.insert(t.label.clone(), r);
            }
        }
        // A trunk no longer registering says so to its gateway (Expires: 0), then is dropped.
        self.trunk_regs.retain(|id, r| {
            if wanted.contains(id) || r.leaving {
                return true;
            }
            r.leaving = true;
            r.challenged = false;
            r.next_at = Some(now);
            r.registered
        });
    }

    /// Sends trunk `id`'s REGISTER, with `authorization` (header name and value) when it
    /// answers a challenge.
    fn send_register(
        &mut self,
        id: &str,
        authorization: Option<(&str, String)>,
        now: Instant,
        out: &mut Vec<Outgoing>,
    ) {
        let Some(link) = self.trunk_regs.get(id).map(|r| r.link) else {
            return;
        };
        let branch = new_branch();
        let via = self.via(link, &branch);
        let (proto, local) = self.local(link);
        let Some(r) = self.trunk_regs.get_mut(id) else {
            return;
        };
        r.cseq += 1;
        r.next_at = None;
        let Ok(uri) = format!("sip:{}:{}", r.host, r.target.port()).parse() else {
            return;
        };
        let mut request = Request::new(Method::Register, uri);
        let h = request.headers_mut();
        h.push("Via", via);
        h.push("Max-Forwards", "70");
        h.push(
            "From",
            format!("<sip:{}@{}>;tag={}", r.user, r.host, r.from_tag),
        );
        h.push("To", format!("<sip:{}@{}>", r.user, r.host));
        h.push("Call-ID", &r.call_id);
        h.push("CSeq", format!("{} REGISTER", r.cseq));
        let transport = proto.to_ascii_lowercase();
        h.push(
            "Contact",
            format!("<sip:{}@{local};transport={transport}>", r.user),
        );
        h.push("Expires", if r.leaving { 0 } else { EXPIRES }.to_string());
        if let Some((name, value)) = authorization {
            h.push(name, value);
        }
        let target = r.target;
        self.send_client(
            ClientKind::NonInvite,
            &request,
            &branch,
            target,
            link,
            None,
            now,
            out,
        );
        if let Some(client) = self
            .clients
            .get_mut(&super::b2bua::client_key(&branch, &Method::Register))
        {
            client.registration = Some(id.to_string());
        }
    }

    /// The gateway answered trunk `id`'s REGISTER (`None`: it never did).
    pub(super) fn register_answered(
        &mut self,
        id: &str,
        response: Option<&Response>,
        now: Instant,
        out: &mut Vec<Outgoing>,
    ) {
        let code = response.map_or(408, |r| r.code().as_u16());
        if code < 200 {
            return;
        }
        let Some(r) = self.trunk_regs.get_mut(id) else {
            return;
        };
        if (code == 401 || code == 407) && !r.challenged {
            let (challenge, answer) = if code == 401 {
                ("WWW-Authenticate", "Authorization")
            } else {
                ("Proxy-Authenticate", "Proxy-Authorization")
            };
            let uri = format!("sip:{}:{}", r.host, r.target.port());
            let value = response.and_then(|resp| {
                resp.headers().get_all(challenge).find_map(|c| {
                    super::auth::authorization(c, "REGISTER", &uri, &r.user, &r.password)
                })
            });
            if let Some(value) = value {
                r.challenged = true;
                return self.send_register(id, Some((answer, value)), now, out);
            }
        }
        r.challenged = false;
        if r.leaving {
            let notice = format!("trunk {id}: unregistered from {} ({code})", r.target);
            self.trunk_regs.remove(id);
            self.notices.push(notice);
            return;
        }
        let was_registered = r.registered;
        if (200..300).contains(&code) {
            let granted = response.and_then(granted_expires).unwrap_or(EXPIRES).max(1);
            r.registered = true;
            r.next_at = Some(now + Duration::from_millis(u64::from(granted) * 800));
            if !was_registered {
                let notice = format!("trunk {id} registered with {} for {granted} s", r.target);
                self.notices.push(notice);
            }
        } else {
            r.registered = false;
            r.next_at = Some(now + RETRY);
            let notice = format!(
                "trunk {id}: registration with {} failed ({code}), retrying in {} s",
                r.target,
                RETRY.as_secs()
            );
            self.notices.push(notice);
        }
    }
}

/// The lifetime the gateway granted: the Contact's `expires`, else the Expires header.
fn granted_expires(response: &Response) -> Option<u32> {
    let h = response.headers();
    let from_contact = h
        .contacts()
        .ok()
        .and_then(|c| c.iter().find_map(|c| c.expires()));
    from_contact.or_else(|| h.expires().ok().flatten())
}
