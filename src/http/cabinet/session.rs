//! `Sessions`: who is signed in to the cabinet. A session is a random id in a cookie
//! (`HttpOnly`, `SameSite=Strict`, `Secure` over TLS) and its state kept here, in memory, keyed
//! by the id's SHA-256 (the id itself is never kept): the tenant and login it belongs to, its
//! CSRF token, the password it was opened with and when it was last used. It ends on sign-out,
//! after `server.cabinet.session_idle` without a request, when the password changes (a reset
//! signs everyone out) and when the server restarts.

use crate::credentials::{constant_time_eq, hex};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The session cookie's name.
pub const COOKIE: &str = "pbx_session";
/// The cookie holding the sign-in form's CSRF token (double submit: no session exists yet).
pub const SIGNIN_COOKIE: &str = "pbx_signin";

/// Sessions one account may hold at once; signing in beyond ends its least recently used.
const PER_ACCOUNT: usize = 20;
/// Sessions held at once in all; beyond, idle ones are dropped first, then sign-in is refused.
const MAX_SESSIONS: usize = 100_000;

/// One signed-in browser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// The tenant's id.
    pub tenant: String,
    pub login: String,
    /// Sent in every form and in `X-CSRF-Token` on JSON requests that change something.
    pub csrf: String,
    /// The SHA-256 HA1 of the password signed in with: a different one now ends the session.
    pub ha1_sha256: String,
    pub last_seen: Instant,
}

/// The sessions of the server (see the module doc).
#[derive(Debug, Default)]
pub struct Sessions {
    by_key: Mutex<HashMap<String, Session>>,
}

/// A random token: 32 bytes from the OS, as hex.
pub fn token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random number generator failed");
    hex(&bytes)
}

/// Whether a presented token equals the expected one (constant time).
pub fn same_token(expected: &str, given: &str) -> bool {
    !expected.is_empty() && constant_time_eq(expected.as_bytes(), given.as_bytes())
}

fn key(id: &str) -> String {
    hex(&Sha256::digest(id.as_bytes()))
}

impl Sessions {
    /// Opens a session; returns its id (for the cookie), or `None` when the server holds
    /// [`MAX_SESSIONS`] live ones.
    pub fn open(
        &self,
        tenant: &str,
        login: &str,
        ha1_sha256: &str,
        now: Instant,
        idle: Duration,
    ) -> Option<String> {
        let mut map = self.by_key.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_SESSIONS {
            map.retain(|_, s| now.saturating_duration_since(s.last_seen) < idle);
            if map.len() >= MAX_SESSIONS {
                return None;
            }
        }
        let mut own: Vec<(String, Instant)> = map
            .iter()
            .filter(|(_, s)| s.tenant == tenant && s.login == login)
            .map(|(k, s)| (k.clone(), s.last_seen))
            .collect();
        if own.len() >= PER_ACCOUNT {
            own.sort_by_key(|(_, seen)| *seen);
            for (k, _) in own.iter().take(own.len() + 1 - PER_ACCOUNT) {
                map.remove(k);
            }
        }
        let id = token();
        map.insert(
            key(&id),
            Session {
                tenant: tenant.to_owned(),
                login: login.to_owned(),
                csrf: token(),
                ha1_sha256: ha1_sha256.to_owned(),
                last_seen: now,
            },
        );
        Some(id)
    }

    /// The live session with cookie value `id`, its last use moved to `now`; an expired one is
    /// ended and `None` returned.
    pub fn touch(&self, id: &str, now: Instant, idle: Duration) -> Option<Session> {
        let mut map = self.by_key.lock().unwrap_or_else(|e| e.into_inner());
        let k = key(id);
        let session = map.get_mut(&k)?;
        if now.saturating_duration_since(session.last_seen) >= idle {
            map.remove(&k);
            return None;
        }
        session.last_seen = now;
        Some(session.clone())
    }

    /// Moves the session with cookie value `id` to a new password (changed in it), so it lives
    /// on while the account's other sessions end.
    pub fn rebind(&self, id: &str, ha1_sha256: &str) {
        if let Some(s) = self
            .by_key
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(&key(id))
        {
            s.ha1_sha256 = ha1_sha256.to_owned();
        }
    }

    /// Ends the session with cookie value `id`, if there is one.
    pub fn close(&self, id: &str) {
        self.by_key
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key(id));
    }

    /// Sessions held now (live or not yet noticed to have expired).
    pub fn len(&self) -> usize {
        self.by_key.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether no session is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The `Set-Cookie` value opening a session cookie (or the sign-in form's CSRF cookie).
pub fn set_cookie(name: &str, value: &str, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value removing a cookie.
pub fn clear_cookie(name: &str, secure: bool) -> String {
    format!(
        "{name}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The value of cookie `name` in a request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDLE: Duration = Duration::from_secs(3600);

    #[test]
    fn a_session_lives_while_used_and_ends_when_idle_or_closed() {
        let sessions = Sessions::default();
        let t0 = Instant::now();
        let id = sessions.open("acme", "ivan", "h", t0, IDLE).unwrap();
        assert_eq!(id.len(), 64);
        let s = sessions.touch(&id, t0 + IDLE / 2, IDLE).unwrap();
        assert_eq!((s.tenant.as_str(), s.login.as_str()), ("acme", "ivan"));
        assert_eq!(s.csrf.len(), 64);
        // Used half-way, so it lives another full idle period from then.
        assert!(sessions.touch(&id, t0 + IDLE, IDLE).is_some());
        assert!(sessions.touch(&id, t0 + IDLE * 2, IDLE).is_none(), "idle");
        assert!(sessions.is_empty(), "an expired session is forgotten");

        let id = sessions.open("acme", "ivan", "h", t0, IDLE).unwrap();
        sessions.close(&id);
        assert!(sessions.touch(&id, t0, IDLE).is_none());
        assert!(sessions.touch("not a session", t0, IDLE).is_none());
    }

    #[test]
    fn an_account_holds_at_most_its_share_of_sessions() {
        let sessions = Sessions::default();
        let t0 = Instant::now();
        let ids: Vec<String> = (0..PER_ACCOUNT + 3)
            .map(|i| {
                let at = t0 + Duration::from_secs(i as u64);
                sessions.open("acme", "ivan", "h", at, IDLE).unwrap()
            })
            .collect();
        assert_eq!(sessions.len(), PER_ACCOUNT);
        let at = t0 + Duration::from_secs(100);
        assert!(
            sessions.touch(&ids[0], at, IDLE).is_none(),
            "the oldest went"
        );
        assert!(sessions.touch(ids.last().unwrap(), at, IDLE).is_some());
        sessions.open("acme", "maria", "h", at, IDLE).unwrap();
        assert_eq!(sessions.len(), PER_ACCOUNT + 1, "another account's own");
    }

    #[test]
    fn cookies_are_http_only_strict_and_secure_when_asked() {
        assert_eq!(
            set_cookie(COOKIE, "abc", false),
            "pbx_session=abc; Path=/; HttpOnly; SameSite=Strict"
        );
        assert!(set_cookie(COOKIE, "abc", true).ends_with("; Secure"));
        let mut headers = axum::http::HeaderMap::new();
        headers.append("cookie", "a=1; pbx_session=xyz".parse().unwrap());
        headers.append("cookie", "b=2".parse().unwrap());
        assert_eq!(cookie(&headers, COOKIE), Some("xyz"));
        assert_eq!(cookie(&headers, "b"), Some("2"));
        assert_eq!(cookie(&headers, "c"), None);
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("", ""), "no token matches nothing");
    }
}
