//! `Holds`: the places in `server.limits`' call counts one call holds — its tenant's, its
//! caller's (a staff member calling), and whoever answered it — taken in `Presence` when the
//! call starts (or is answered) and given back once when it finishes, however it finishes
//! (hung up, cancelled, refused by routing, ended by a drain, its legs timing out).
//!
//! A call over a cap is refused before anything else happens: over the tenant's
//! `calls_per_tenant` with 503 and `Retry-After` (the company's capacity is full for the
//! moment — a trunk may retry or go elsewhere, nothing is wrong with the callee), and a call
//! from a person at `calls_per_person`, or dialled straight to one, with 486 Busy Here (RFC 3261
//! §21.4.24: the person cannot take another call now). A department does not ring a member at
//! their cap (`Call::ring` asks `at_person_cap`), so its hunt goes on to the next.

use super::directory::Tenant;
use super::dispatch::RETRY_AFTER;
use super::io::Limit;
use super::presence::Presence;
use crate::config::model::Limits;
use crate::routing::Entry;
use crate::sip::message::{Response, StatusCode};

/// The counts a call holds, given back by `release`.
#[derive(Debug, Default)]
pub(super) struct Holds {
    /// The tenant whose call count it holds a place in.
    tenant: Option<String>,
    /// The logins of that tenant whose counts it holds a place in.
    logins: Vec<String>,
}

impl Holds {
    /// The places a new call of `tenant` from `caller` (a staff login) to `entry` needs, or
    /// the limit that refuses it (nothing held then).
    pub fn take(
        presence: &Presence,
        limits: &Limits,
        tenant: &Tenant,
        caller: Option<&str>,
        entry: &Entry,
    ) -> Result<Holds, Limit> {
        let cap = limits.calls_per_person;
        if let Entry::Staff(s) = entry {
            let callee = tenant.logins.get(s.0).map_or("", String::as_str);
            if presence.at_person_cap(&tenant.id, callee, cap) {
                return Err(Limit::PersonCalls {
                    tenant: tenant.id.clone(),
                    login: callee.to_string(),
                    limit: cap,
                    calling: false,
                });
            }
        }
        let mut holds = Holds::default();
        if let Some(login) = caller {
            if !presence.take_person_call(&tenant.id, login, cap) {
                return Err(Limit::PersonCalls {
                    tenant: tenant.id.clone(),
                    login: login.to_string(),
                    limit: cap,
                    calling: true,
                });
            }
            holds.logins.push(login.to_string());
        }
        if !presence.take_tenant_call(&tenant.id, limits.calls_per_tenant) {
            holds.release(presence);
            return Err(Limit::TenantCalls {
                tenant: tenant.id.clone(),
                limit: limits.calls_per_tenant,
            });
        }
        holds.tenant = Some(tenant.id.clone());
        Ok(holds)
    }

    /// `login` answered the call: they are on one more call until it ends.
    pub fn answered_by(&mut self, presence: &Presence, login: &str) {
        if let Some(tenant) = &self.tenant {
            presence.take_person_call(tenant, login, 0);
            self.logins.push(login.to_string());
        }
    }

    /// Gives back every place held (a second call does nothing).
    pub fn release(&mut self, presence: &Presence) {
        let tenant = self.tenant.take();
        for login in self.logins.drain(..) {
            presence.release_person_call(tenant.as_deref().unwrap_or(""), &login);
        }
        if let Some(tenant) = tenant {
            presence.release_tenant_call(&tenant);
        }
    }
}

/// The status a call refused by `limit` gets, and its reason phrase.
pub(super) fn status(limit: &Limit) -> (StatusCode, &'static str) {
    match limit {
        Limit::TenantCalls { .. } | Limit::Calls { .. } | Limit::Transactions { .. } => {
            (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")
        }
        _ => (StatusCode::BUSY_HERE, "Busy Here"),
    }
}

/// What a refusal adds to its response: `Retry-After` to a 503, and a `Reason` (RFC 3326)
/// naming the limit either way.
pub(super) fn decorate(response: &mut Response, limit: &Limit) {
    let cause = response.code().as_u16();
    let text = match limit {
        Limit::TenantCalls { .. } => {
            response
                .headers_mut()
                .push("Retry-After", RETRY_AFTER.to_string());
            "too many calls in progress for the company"
        }
        Limit::Calls { .. } | Limit::Transactions { .. } => {
            response
                .headers_mut()
                .push("Retry-After", RETRY_AFTER.to_string());
            "the server is at its limit"
        }
        Limit::PersonCalls { calling: true, .. } => "the caller is on too many calls",
        Limit::PersonCalls { .. } => "the callee is on too many calls",
        Limit::Contacts { .. } => "too many devices",
    };
    response
        .headers_mut()
        .push("Reason", format!("SIP;cause={cause};text=\"{text}\""));
}
