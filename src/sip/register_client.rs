//! `RegisterClient`: the client side of registration (RFC 3261 §10.2) — the PBX registering
//! with a provider's gateway so that the provider delivers calls to it. Pure: time in, REGISTER
//! requests (without a Via: the caller's transaction layer adds it) and what happened out.
//!
//! One binding: the user as address-of-record, the PBX as Contact. A digest challenge is
//! answered once per attempt; the binding is refreshed at 80 % of what the gateway granted; a
//! failure (refused, no answer) is retried after `RETRY`; `leave` unregisters (Expires: 0).

use super::auth::answer;
use super::link::Peer;
use super::message::{Method, Request, Response};
use std::time::{Duration, Instant};

/// The registration lifetime asked for.
pub const EXPIRES: u32 = 600;
/// How long after a failure the next attempt starts.
pub const RETRY: Duration = Duration::from_secs(30);

/// Who registers where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The gateway's address.
    pub target: Peer,
    /// The gateway's host as configured (the domain of the address-of-record).
    pub host: String,
    pub user: String,
    pub password: String,
    /// Our Contact (`<sip:user@our-address;transport=...>`).
    pub contact: String,
}

/// What an answer (or its absence) meant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Send this REGISTER again, now with credentials.
    Retry(Request),
    /// Registered for the first time (or again after a failure), for `granted` seconds.
    Registered { granted: u32 },
    /// A refresh went through.
    Refreshed,
    /// Refused with `code` (408: no answer); the next attempt is after `RETRY`.
    Failed { code: u16 },
    /// Unregistered (`code` is the gateway's last answer); the client is done.
    Left { code: u16 },
    /// A provisional answer, or nothing to do.
    Nothing,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// The next REGISTER goes at `at`.
    Due { at: Instant },
    /// A REGISTER is out; `challenged` once it carried credentials.
    Waiting { challenged: bool },
}

/// One account's registration.
#[derive(Clone, Debug)]
pub struct RegisterClient {
    account: Account,
    call_id: String,
    from_tag: String,
    cseq: u32,
    state: State,
    registered: bool,
    leaving: bool,
}

impl RegisterClient {
    /// A client for `account` whose first REGISTER is due at `now`; `call_id` and `from_tag`
    /// stay for its whole life.
    pub fn new(account: Account, call_id: String, from_tag: String, now: Instant) -> Self {
        RegisterClient {
            account,
            call_id,
            from_tag,
            cseq: 0,
            state: State::Due { at: now },
            registered: false,
            leaving: false,
        }
    }

    pub fn account(&self) -> &Account {
        &self.account
    }

    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    /// Whether the last attempt succeeded.
    pub fn is_registered(&self) -> bool {
        self.registered
    }

    /// Whether it is unregistering.
    pub fn is_leaving(&self) -> bool {
        self.leaving
    }

    /// When the next REGISTER is due (`None` while one is out).
    pub fn next_deadline(&self) -> Option<Instant> {
        match self.state {
            State::Due { at } => Some(at),
            State::Waiting { .. } => None,
        }
    }

    /// The REGISTER due at `now`, if one is.
    pub fn poll(&mut self, now: Instant) -> Option<Request> {
        match self.state {
            State::Due { at } if at <= now => {
                self.state = State::Waiting { challenged: false };
                Some(self.request(None))
            }
            _ => None,
        }
    }

    /// Unregister: a REGISTER with Expires 0 goes at once (or when the one out is answered).
    /// `false` when there is nothing to undo (it never registered): the client is done.
    pub fn leave(&mut self, now: Instant) -> bool {
        self.leaving = true;
        if let State::Due { .. } = self.state {
            self.state = State::Due { at: now };
        }
        self.registered
    }

    /// The gateway answered the REGISTER out (`None`: it never did).
    pub fn on_answer(&mut self, response: Option<&Response>, now: Instant) -> Step {
        let code = response.map_or(408, |r| r.code().as_u16());
        let State::Waiting { challenged } = self.state else {
            return Step::Nothing;
        };
        if code < 200 {
            return Step::Nothing;
        }
        if (code == 401 || code == 407) && !challenged {
            let uri = self.uri();
            let (user, password) = (&self.account.user, &self.account.password);
            if let Some(answer) = response.and_then(|r| answer(r, "REGISTER", &uri, user, password))
            {
                self.state = State::Waiting { challenged: true };
                return Step::Retry(self.request(Some(answer)));
            }
        }
        if self.leaving {
            self.state = State::Due {
                at: now + Duration::from_secs(365 * 24 * 3600),
            };
            self.registered = false;
            return Step::Left { code };
        }
        let was_registered = self.registered;
        if (200..300).contains(&code) {
            let granted = response.and_then(granted_expires).unwrap_or(EXPIRES).max(1);
            self.registered = true;
            self.state = State::Due {
                at: now + Duration::from_millis(u64::from(granted) * 800),
            };
            if was_registered {
                Step::Refreshed
            } else {
                Step::Registered { granted }
            }
        } else {
            self.registered = false;
            self.state = State::Due { at: now + RETRY };
            Step::Failed { code }
        }
    }

    fn uri(&self) -> String {
        format!(
            "sip:{}:{}",
            self.account.host,
            self.account.target.addr.port()
        )
    }

    fn request(&mut self, authorization: Option<(&str, String)>) -> Request {
        self.cseq += 1;
        let a = &self.account;
        let uri = self.uri().parse().unwrap_or_else(|_| {
            format!("sip:{}", a.target.addr)
                .parse()
                .expect("an address is a URI")
        });
        let mut request = Request::new(Method::Register, uri);
        let h = request.headers_mut();
        h.push("Max-Forwards", "70");
        h.push(
            "From",
            format!("<sip:{}@{}>;tag={}", a.user, a.host, self.from_tag),
        );
        h.push("To", format!("<sip:{}@{}>", a.user, a.host));
        h.push("Call-ID", &self.call_id);
        h.push("CSeq", format!("{} REGISTER", self.cseq));
        h.push("Contact", &a.contact);
        h.push(
            "Expires",
            if self.leaving { 0 } else { EXPIRES }.to_string(),
        );
        if let Some((name, value)) = authorization {
            h.push(name, value);
        }
        request
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::link::Link;
    use crate::sip::message::{Message, StatusCode};

    fn client(t0: Instant) -> RegisterClient {
        let account = Account {
            target: Peer {
                addr: "192.0.2.5:5060".parse().unwrap(),
                link: Link::Udp(0),
            },
            host: "gw.example".into(),
            user: "trunkuser".into(),
            password: "secret".into(),
            contact: "<sip:trunkuser@192.0.2.1:5060;transport=udp>".into(),
        };
        RegisterClient::new(account, "reg1@pbx".into(), "f1".into(), t0)
    }

    fn answer(request: &Request, code: StatusCode, extra: &[(&str, &str)]) -> Response {
        let mut r = Message::response_to(request, code, code.canonical_reason());
        for (name, value) in extra {
            r.headers_mut().push(name, *value);
        }
        r
    }

    #[test]
    fn registers_through_a_challenge_refreshes_and_leaves() {
        let t0 = Instant::now();
        let mut c = client(t0);
        let first = c.poll(t0).expect("due at once");
        assert!(c.poll(t0).is_none(), "one at a time");
        assert_eq!(first.headers().get("Expires"), Some("600"));
        let challenge = answer(
            &first,
            StatusCode::UNAUTHORIZED,
            &[(
                "WWW-Authenticate",
                r#"Digest realm="gw.example", nonce="n1", qop="auth""#,
            )],
        );
        let Step::Retry(second) = c.on_answer(Some(&challenge), t0) else {
            panic!("answered with credentials");
        };
        assert!(second
            .headers()
            .get("Authorization")
            .unwrap()
            .contains("username=\"trunkuser\""));
        assert_eq!(second.headers().cseq().unwrap().seq, 2);
        // A second challenge in the same attempt is a failure, retried later.
        assert_eq!(
            c.on_answer(Some(&answer(&second, StatusCode::UNAUTHORIZED, &[])), t0),
            Step::Failed { code: 401 }
        );
        assert_eq!(c.next_deadline(), Some(t0 + RETRY));
        let third = c.poll(t0 + RETRY).unwrap();
        let ok = answer(&third, StatusCode::OK, &[("Expires", "100")]);
        assert_eq!(
            c.on_answer(Some(&ok), t0 + RETRY),
            Step::Registered { granted: 100 }
        );
        assert_eq!(
            c.next_deadline(),
            Some(t0 + RETRY + Duration::from_secs(80))
        );
        let refresh = c.poll(t0 + RETRY + Duration::from_secs(80)).unwrap();
        assert_eq!(
            c.on_answer(Some(&answer(&refresh, StatusCode::OK, &[])), t0),
            Step::Refreshed
        );
        assert!(c.leave(t0));
        let bye = c.poll(t0).unwrap();
        assert_eq!(bye.headers().get("Expires"), Some("0"));
        assert_eq!(c.on_answer(None, t0), Step::Left { code: 408 });
        assert!(!c.is_registered());
    }
}
