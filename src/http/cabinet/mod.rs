//! The web cabinet: staff sign in with their login, their company's domain and their phone's
//! password, and see what their role gives them — the call history and statistics (the
//! company's, or a restricted user's own), and for administrators the applied config, its
//! apply history and password resets. Server-rendered HTML (`pages`) and the same data as JSON
//! (`api`), served by its own listener (`server.cabinet.listen`) next to the admin API.
//!
//! Every route but sign-in goes through [`Cabinet::viewer`]: a live session (`session`), the
//! staff member still in the running config with the password the session was opened with,
//! the route's tenant theirs, and their role allowed the route's `rights::Area`. Everything
//! that changes something carries the session's CSRF token (a form field, or `X-CSRF-Token`).

pub mod admin;
pub mod api;
pub mod history;
pub mod multipart;
pub mod openapi;
pub mod pages;
pub mod period;
pub mod profile;
pub mod rights;
pub mod session;
pub mod signin;
pub mod stats;
pub mod throttle;
pub mod view;
pub mod voicemail;

use crate::config::model::Language;
use crate::serve::applier::Applier;
use axum::http::HeaderMap;
use axum::Router;
use rights::{may, Area, Denied, Viewer};
use session::{Session, Sessions};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;
use throttle::Throttle;

/// What the cabinet's routes share.
pub struct Cabinet {
    pub applier: Arc<Applier>,
    pub sessions: Sessions,
    pub throttle: Throttle,
    /// The pages when no config runs yet (the running config's otherwise: `views()`).
    builtin_views: Arc<view::Views>,
    /// Password checks running at once (argon2 takes up to 19 MiB each): one per core; more
    /// wait their turn, so a flood of sign-ins cannot take the memory.
    pub hashing: tokio::sync::Semaphore,
    /// Uploads read and converted at once (a greeting is up to 40 MiB): two; more wait their
    /// turn, so slow or many uploads cost bounded memory and never hold up sign-ins.
    pub uploads: tokio::sync::Semaphore,
}

/// The cabinet's routes: the pages and the JSON API.
pub fn router(cabinet: Arc<Cabinet>) -> Router {
    pages::routes()
        .merge(api::routes())
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .with_state(cabinet)
}

/// Why a request with a viewer could not be answered with its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// A filter, date or cursor that cannot be read: 400.
    BadRequest(String),
    /// No such staff member (of the viewer's tenant): 404.
    NotFound,
    /// The change is not possible (a password the config sets): 409.
    Conflict(String),
    /// The store failed: 500.
    Internal(String),
}

/// Why a sign-in was not let in, as the person signing in is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// Wrong login, domain or password — one answer for all of them.
    Failed,
    /// Too many failures for this account or from this address.
    Throttled,
    /// No config runs, or the server holds too many sessions.
    Unavailable,
}

impl Cabinet {
    pub fn new(applier: Arc<Applier>) -> Cabinet {
        Cabinet {
            applier,
            sessions: Sessions::default(),
            throttle: Throttle::default(),
            builtin_views: Arc::new(view::Views::new()),
            hashing: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            ),
            uploads: tokio::sync::Semaphore::new(2),
        }
    }

    /// The pages and strings of the running config (the deployment's replacements laid over
    /// the shipped ones), or the shipped ones.
    pub fn views(&self) -> Arc<view::Views> {
        self.applier
            .running()
            .map_or_else(|| self.builtin_views.clone(), |r| r.views.clone())
    }

    /// `server.cabinet` of the running config.
    pub fn settings(&self) -> crate::config::model::Cabinet {
        self.applier
            .running()
            .map(|r| r.config.server.cabinet.clone())
            .unwrap_or_default()
    }

    /// Whether cookies are to be `Secure`: the config says so, or a TLS proxy in front says
    /// the request came over HTTPS.
    pub fn secure(&self, headers: &HeaderMap) -> bool {
        self.settings().secure_cookies
            || headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.eq_ignore_ascii_case("https"))
    }

    /// The live session the request's cookie names (its last use moved to now).
    pub fn session(&self, headers: &HeaderMap) -> Option<(String, Session)> {
        let id = session::cookie(headers, session::COOKIE)?;
        let idle = self.settings().session_idle;
        let s = self.sessions.touch(id, Instant::now(), idle)?;
        Some((id.to_owned(), s))
    }

    /// The signed-in staff member making a request to `tenant`'s `area`, or why not.
    pub fn viewer(&self, headers: &HeaderMap, tenant: &str, area: Area) -> Result<Viewer, Denied> {
        let (id, s) = self.session(headers).ok_or(Denied::SignIn)?;
        let viewer = self.resolve(&s).ok_or_else(|| {
            // Removed from the config, or the password changed: the session is over.
            self.sessions.close(&id);
            Denied::SignIn
        })?;
        if viewer.tenant().id != tenant {
            return Err(Denied::NotFound);
        }
        if !may(viewer.role, area) {
            return Err(Denied::Forbidden);
        }
        Ok(viewer)
    }

    /// The staff member a session belongs to, under the running config, if they are still
    /// there with the same password.
    fn resolve(&self, s: &Session) -> Option<Viewer> {
        let running = self.applier.running()?;
        let ti = running
            .config
            .tenants
            .iter()
            .position(|t| t.id == s.tenant)?;
        let si = running
            .resolution
            .staff
            .get(ti)?
            .iter()
            .position(|e| e.login == s.login)?;
        let t = &running.config.tenants[ti];
        let hashes = running
            .directory
            .tenant(&t.domain)?
            .users
            .get(&s.login)?
            .hashes
            .as_ref()?;
        if hashes.sha256 != s.ha1_sha256 {
            return None;
        }
        Some(Viewer {
            role: t.staff[si].role,
            running: running.clone(),
            applier: self.applier.clone(),
            tenant_index: ti,
            staff_index: si,
            login: s.login.clone(),
            csrf: s.csrf.clone(),
        })
    }

    /// The language to answer a request in: its session's tenant's, else the browser's
    /// (`Accept-Language`; never the language of a domain typed into the sign-in form, which
    /// would tell whether that company is here).
    pub fn language(&self, headers: &HeaderMap) -> Language {
        self.session(headers)
            .and_then(|(_, s)| self.resolve(&s))
            .map_or_else(|| accepted_language(headers), |v| v.language())
    }

    /// Signs in: throttling, the check (off the runtime), the session. Answers no sooner than
    /// `signin::FLOOR` after it began, whatever the outcome; the operator's log gets the
    /// reason of a refusal. Returns the session's cookie value and the account.
    pub async fn sign_in(
        self: &Arc<Self>,
        source: IpAddr,
        domain: &str,
        login: &str,
        password: &str,
    ) -> Result<(String, signin::Account), Refused> {
        let started = tokio::time::Instant::now();
        let result = self.try_sign_in(source, domain, login, password).await;
        tokio::time::sleep_until(started + signin::FLOOR).await;
        result
    }

    async fn try_sign_in(
        self: &Arc<Self>,
        source: IpAddr,
        domain: &str,
        login: &str,
        password: &str,
    ) -> Result<(String, signin::Account), Refused> {
        let key = throttle::account_key(domain, login);
        if !self.throttle.allows(&key, source, Instant::now()) {
            log(&format!(
                "sign-in of {login:?} at {domain:?} from {source} throttled (too many failures)"
            ));
            return Err(Refused::Throttled);
        }
        let Some(running) = self.applier.running() else {
            return Err(Refused::Unavailable);
        };
        let cabinet = self.clone();
        let (d, l, p) = (domain.to_owned(), login.to_owned(), password.to_owned());
        let _turn = self
            .hashing
            .acquire()
            .await
            .map_err(|_| Refused::Unavailable)?;
        let checked = tokio::task::spawn_blocking(move || {
            signin::check(&running, cabinet.applier.store(), &d, &l, &p)
        })
        .await
        .map_err(|_| Refused::Unavailable)?;
        match checked {
            Ok(account) => {
                self.throttle.succeeded(&key);
                let idle = self.settings().session_idle;
                let id = self
                    .sessions
                    .open(
                        &account.tenant,
                        &account.login,
                        &account.ha1_sha256,
                        Instant::now(),
                        idle,
                    )
                    .ok_or(Refused::Unavailable)?;
                log(&format!(
                    "{} of tenant {} signed in from {source}",
                    account.login, account.tenant
                ));
                Ok((id, account))
            }
            Err(failure) => {
                self.throttle.failed(&key, source, Instant::now());
                log(&format!(
                    "sign-in of {login:?} at {domain:?} from {source} refused: {failure}"
                ));
                Err(Refused::Failed)
            }
        }
    }
}

/// The first of Russian and English in the request's `Accept-Language`, by weight; Russian
/// when it names neither.
pub fn accepted_language(headers: &HeaderMap) -> Language {
    let Some(value) = headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
    else {
        return Language::default();
    };
    let mut best: Option<(f32, Language)> = None;
    for item in value.split(',') {
        let mut parts = item.trim().split(';');
        let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        let language = match tag.split('-').next() {
            Some("ru") => Language::Ru,
            Some("en") => Language::En,
            _ => continue,
        };
        if best.is_none_or(|(w, _)| q > w) {
            best = Some((q, language));
        }
    }
    best.map_or_else(Language::default, |(_, l)| l)
}

/// A line in the server's log.
fn log(message: &str) {
    eprintln!("pbx serve: cabinet: {message}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_browsers_language_is_read_by_weight() {
        let lang = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert("accept-language", v.parse().unwrap());
            accepted_language(&h)
        };
        assert_eq!(lang("en-US,en;q=0.9"), Language::En);
        assert_eq!(lang("de-DE, ru;q=0.8, en;q=0.5"), Language::Ru);
        assert_eq!(lang("ru;q=0.3, en-GB;q=0.7"), Language::En);
        assert_eq!(lang("fr"), Language::Ru);
        assert_eq!(accepted_language(&HeaderMap::new()), Language::Ru);
    }
}
