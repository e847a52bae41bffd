//! `Presence`: what routing asks about the staff while it decides who rings — is the person
//! registered, on a call, when did they last receive one — kept live for every shard of the
//! engine at once (a call answered on one shard makes the person busy for all). `Live` is
//! one call's view of it, handed to routing: the staff member making the call is never offered
//! it (their own department does not ring them back).
//!
//! It also counts calls in progress for `server.limits`: per tenant (from a call's start to its
//! end) and per person (a caller from the start, a callee from the answer). A cap is taken in
//! one step under the count's lock (`take`), so two shards never both take the last place, and
//! every count a call took is given back when it finishes, however it ends.
//!
//! And each tenant's calls out through trunks, for `outbound.max_calls`, and the minutes they
//! talked in the last hour, for `outbound.max_minutes_per_hour`.

use super::directory::Tenant;
use crate::config::model::StaffId;
use crate::sip::registrar::{Aor, Location};
use crate::striped::Striped;
use std::collections::HashMap;

/// A staff member, as presence keys them: (tenant id, login).
type Who = (String, String);

/// Who is on a call, and who last received one when.
#[derive(Default)]
pub struct Presence {
    /// Answered calls each staff member is on now.
    talking: Striped<Who, u32>,
    /// When each staff member last received (answered) a call, in ms since the epoch —
    /// evenly's order. Loaded from the store at start.
    last_calls: Striped<Who, u64>,
    /// Calls in progress per tenant.
    tenant_calls: Striped<String, u32>,
    /// Calls in progress each staff member is on (as caller from the start, as callee from
    /// the answer).
    person_calls: Striped<Who, u32>,
    /// Calls out through trunks each tenant has now (by tenant id).
    outbound: Striped<String, u32>,
    /// What each tenant's calls out talked over the last hour.
    outbound_talk: Striped<String, Hour>,
}

/// Seconds talked per minute over the last 60 minutes.
#[derive(Clone, Copy, Debug)]
struct Hour {
    /// Seconds talked in each minute, by minute since the epoch modulo 60.
    seconds: [u32; 60],
    /// The newest minute written (since the epoch).
    minute: u64,
}

impl Hour {
    /// Forgets the minutes more than an hour before `minute`.
    fn advance(&mut self, minute: u64) {
        if minute <= self.minute {
            return;
        }
        let gone = (minute - self.minute).min(60);
        for m in 1..=gone {
            self.seconds[((self.minute + m) % 60) as usize] = 0;
        }
        self.minute = minute;
    }
}

impl Presence {
    /// Presence whose "last received a call" times start as `last_calls` (from the store).
    pub fn with_last_calls(last_calls: HashMap<Who, u64>) -> Presence {
        let presence = Presence::default();
        for (who, at) in last_calls {
            presence.last_calls.update(who, |v| *v = Some(at));
        }
        presence
    }

    /// `login` of `tenant` is on one more call (`delta` 1) or one fewer (-1).
    pub fn talking(&self, tenant: &str, login: &str, delta: i32) {
        self.talking
            .update((tenant.to_string(), login.to_string()), |n| {
                let left = n.unwrap_or(0).saturating_add_signed(delta);
                *n = (left > 0).then_some(left);
            });
    }

    /// Whether `login` of `tenant` is on a call.
    pub fn is_talking(&self, tenant: &str, login: &str) -> bool {
        self.talking
            .read(&(tenant.to_string(), login.to_string()), |n| n.is_some())
    }

    /// `login` of `tenant` received a call at `at_ms`.
    pub fn received(&self, tenant: &str, login: &str, at_ms: u64) {
        self.last_calls
            .update((tenant.to_string(), login.to_string()), |v| {
                *v = Some(v.unwrap_or(0).max(at_ms))
            });
    }

    /// When `login` of `tenant` last received a call.
    pub fn last_call(&self, tenant: &str, login: &str) -> Option<u64> {
        self.last_calls
            .read(&(tenant.to_string(), login.to_string()), |v| v.copied())
    }

    /// One more call for `tenant`, unless it has `cap` already (`0`: no cap); whether taken.
    pub fn take_tenant_call(&self, tenant: &str, cap: u32) -> bool {
        take(&self.tenant_calls, tenant.to_string(), cap)
    }

    /// A call of `tenant` ended.
    pub fn release_tenant_call(&self, tenant: &str) {
        release(&self.tenant_calls, tenant.to_string());
    }

    /// One more call for `login` of `tenant`, unless they are on `cap` already (`0`: no
    /// cap); whether taken.
    pub fn take_person_call(&self, tenant: &str, login: &str, cap: u32) -> bool {
        take(
            &self.person_calls,
            (tenant.to_string(), login.to_string()),
            cap,
        )
    }

    /// A call of `login` of `tenant` ended.
    pub fn release_person_call(&self, tenant: &str, login: &str) {
        release(&self.person_calls, (tenant.to_string(), login.to_string()));
    }

    /// Whether `login` of `tenant` is on `cap` calls or more (`0`: never).
    pub fn at_person_cap(&self, tenant: &str, login: &str, cap: u32) -> bool {
        cap > 0
            && self
                .person_calls
                .read(&(tenant.to_string(), login.to_string()), |n| {
                    n.copied().unwrap_or(0) >= cap
                })
    }

    /// Calls in progress of `tenant`.
    pub fn tenant_calls(&self, tenant: &str) -> u32 {
        self.tenant_calls
            .read(&tenant.to_string(), |n| n.copied().unwrap_or(0))
    }

    /// One more call out for `tenant`, unless it has `max` already (`None`: no cap); `false`
    /// when refused. Checked and counted under one lock, so shards cannot overshoot together.
    pub fn take_outbound(&self, tenant: &str, max: Option<u32>) -> bool {
        take(&self.outbound, tenant.to_string(), max.unwrap_or(0))
    }

    /// A call out of `tenant` taken with `take_outbound` ended.
    pub fn release_outbound(&self, tenant: &str) {
        release(&self.outbound, tenant.to_string());
    }

    /// A call out of `tenant` that ended at `now_ms` talked `seconds`.
    pub fn talked_out(&self, tenant: &str, seconds: u64, now_ms: u64) {
        let minute = now_ms / 60_000;
        self.outbound_talk.update(tenant.to_string(), |h| {
            let hour = h.get_or_insert(Hour {
                seconds: [0; 60],
                minute,
            });
            hour.advance(minute);
            let slot = &mut hour.seconds[(minute % 60) as usize];
            *slot = slot.saturating_add(u32::try_from(seconds).unwrap_or(u32::MAX));
        });
    }

    /// Whole minutes `tenant`'s calls out talked in the 60 minutes up to `now_ms` (calls are
    /// counted when they end).
    pub fn minutes_out(&self, tenant: &str, now_ms: u64) -> u64 {
        self.outbound_talk.read(tenant, |h| {
            h.map_or(0, |h| {
                let mut h = *h;
                h.advance(now_ms / 60_000);
                h.seconds.iter().map(|s| u64::from(*s)).sum::<u64>() / 60
            })
        })
    }

    /// Calls out through trunks `tenant` has now.
    pub fn outbound_calls(&self, tenant: &str) -> u32 {
        self.outbound.read(tenant, |n| n.copied().unwrap_or(0))
    }

    /// Staff on a call now, in all.
    pub fn on_calls(&self) -> usize {
        self.talking.len()
    }
}

/// One more in `counts` at `key` unless it is at `cap` (`0`: no cap), in one step.
fn take<K: std::hash::Hash + Eq>(counts: &Striped<K, u32>, key: K, cap: u32) -> bool {
    counts.update(key, |n| {
        let now = n.unwrap_or(0);
        if cap > 0 && now >= cap {
            return false;
        }
        *n = Some(now.saturating_add(1));
        true
    })
}

/// One fewer in `counts` at `key` (forgotten at zero).
fn release<K: std::hash::Hash + Eq>(counts: &Striped<K, u32>, key: K) {
    counts.update(key, |n| {
        let left = n.unwrap_or(0).saturating_sub(1);
        *n = (left > 0).then_some(left);
    });
}

/// One call's view of presence, for routing.
pub(super) struct Live<'a> {
    pub presence: &'a Presence,
    pub location: &'a dyn Location,
    pub tenant: &'a Tenant,
    /// The staff member making the call.
    pub caller: Option<&'a str>,
    pub now_ms: u64,
}

impl Live<'_> {
    fn login(&self, s: StaffId) -> &str {
        self.tenant.logins.get(s.0).map_or("", String::as_str)
    }
}

impl crate::routing::Presence for Live<'_> {
    fn registered(&self, s: StaffId) -> bool {
        let login = self.login(s);
        self.caller != Some(login)
            && !self
                .location
                .lookup(&Aor::new(&self.tenant.id, login), self.now_ms)
                .is_empty()
    }

    fn busy(&self, s: StaffId) -> bool {
        self.presence.is_talking(&self.tenant.id, self.login(s))
    }

    fn last_call(&self, s: StaffId) -> Option<u64> {
        self.presence.last_call(&self.tenant.id, self.login(s))
    }
}

/// Who of the running config's staff can take a callback now: registered, not on a call.
pub struct Free<'a> {
    pub presence: &'a Presence,
    pub location: &'a dyn Location,
    pub directory: &'a super::directory::Directory,
    pub now_ms: u64,
}

impl crate::routing::queue::Staffing for Free<'_> {
    fn free(&self, tenant: usize, staff: StaffId) -> bool {
        use crate::routing::Presence as _;
        let Some(tenant) = self
            .directory
            .config
            .tenants
            .get(tenant)
            .and_then(|t| self.directory.tenant(t.domain.as_str()))
        else {
            return false;
        };
        let live = Live {
            presence: self.presence,
            location: self.location,
            tenant,
            caller: None,
            now_ms: self.now_ms,
        };
        live.registered(staff) && !live.busy(staff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn talking_counts_up_and_down_and_last_calls_only_move_forward() {
        let p = Presence::with_last_calls(HashMap::from([(
            ("acme".to_string(), "anna".to_string()),
            100,
        )]));
        p.talking("acme", "anna", 1);
        p.talking("acme", "anna", 1);
        p.talking("acme", "anna", -1);
        assert!(p.is_talking("acme", "anna"));
        p.talking("acme", "anna", -1);
        assert!(!p.is_talking("acme", "anna"));
        assert_eq!(p.on_calls(), 0);
        p.received("acme", "anna", 50);
        assert_eq!(p.last_call("acme", "anna"), Some(100));
        p.received("acme", "anna", 150);
        assert_eq!(p.last_call("acme", "anna"), Some(150));
        assert_eq!(p.last_call("other", "anna"), None);
    }

    #[test]
    fn caps_are_taken_up_to_their_limit_and_given_back() {
        let p = Presence::default();
        assert!(p.take_tenant_call("acme", 2));
        assert!(p.take_tenant_call("acme", 2));
        assert!(!p.take_tenant_call("acme", 2), "the third is over the cap");
        assert!(p.take_tenant_call("other", 2), "tenants are counted apart");
        p.release_tenant_call("acme");
        assert!(p.take_tenant_call("acme", 2));
        assert!(p.take_tenant_call("acme", 0), "0 is no cap");
        assert_eq!(p.tenant_calls("acme"), 3);
        assert!(p.take_person_call("acme", "anna", 1));
        assert!(p.at_person_cap("acme", "anna", 1));
        assert!(!p.at_person_cap("acme", "anna", 0));
        assert!(!p.take_person_call("acme", "anna", 1));
        p.release_person_call("acme", "anna");
        p.release_person_call("acme", "anna");
        assert!(!p.at_person_cap("acme", "anna", 1), "never below zero");
        for _ in 0..3 {
            p.release_tenant_call("acme");
        }
        assert_eq!(p.tenant_calls("acme"), 0);
    }

    #[test]
    fn calls_out_are_capped_per_tenant() {
        let p = Presence::default();
        assert!(p.take_outbound("acme", Some(2)));
        assert!(p.take_outbound("acme", Some(2)));
        assert!(!p.take_outbound("acme", Some(2)));
        assert!(p.take_outbound("other", Some(2)));
        assert!(p.take_outbound("acme", None));
        assert_eq!(p.outbound_calls("acme"), 3);
        p.release_outbound("acme");
        p.release_outbound("acme");
        assert!(p.take_outbound("acme", Some(2)));
        assert_eq!(p.outbound_calls("acme"), 2);
    }
}
