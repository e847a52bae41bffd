//! `Throttle`: how many wrong sign-ins the cabinet takes, per account and per source address.
//! Failures are counted within a window; an account (whether it exists or not: the key is what
//! was typed) or an address at its limit gets "too many attempts" without its password being
//! checked until the window has passed since its oldest counted failure. A right password
//! clears the account's count. Pure: the time is passed in.
//!
//! Counting unknown accounts the same as known ones keeps the answers alike; a throttled
//! account can still be opened by nobody, its owner included, until the window passes — the
//! price of not telling the owner's attempts from a guesser's.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Wrong passwords for one account within [`WINDOW`] before it is throttled.
pub const PER_ACCOUNT: usize = 5;
/// Wrong passwords from one address within [`WINDOW`] before it is throttled.
pub const PER_SOURCE: usize = 20;
/// How long a failure counts.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Keys kept per map; beyond, entries with nothing left in the window are dropped first.
const MAX_KEYS: usize = 100_000;

/// Recent failures by key (see the module doc).
#[derive(Debug, Default)]
pub struct Throttle {
    accounts: Mutex<HashMap<String, VecDeque<Instant>>>,
    sources: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

/// The account key: the domain (case-insensitive) and the login as typed.
pub fn account_key(domain: &str, login: &str) -> String {
    format!(
        "{}\u{0}{}",
        domain.trim().to_ascii_lowercase(),
        login.trim()
    )
}

fn recent(list: &mut VecDeque<Instant>, now: Instant) -> usize {
    while list
        .front()
        .is_some_and(|t| now.saturating_duration_since(*t) >= WINDOW)
    {
        list.pop_front();
    }
    list.len()
}

fn count<K: std::hash::Hash + Eq>(map: &mut HashMap<K, VecDeque<Instant>>, key: K, now: Instant) {
    if map.len() >= MAX_KEYS {
        map.retain(|_, list| recent(list, now) > 0);
    }
    let list = map.entry(key).or_default();
    list.push_back(now);
    // Only the newest `limit` matter; keep the list bounded however many arrive.
    while list.len() > PER_SOURCE.max(PER_ACCOUNT) {
        list.pop_front();
    }
}

impl Throttle {
    /// Whether an attempt for `account` from `source` may be checked now.
    pub fn allows(&self, account: &str, source: IpAddr, now: Instant) -> bool {
        let account_ok = {
            let mut map = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
            map.get_mut(account)
                .is_none_or(|l| recent(l, now) < PER_ACCOUNT)
        };
        let source_ok = {
            let mut map = self.sources.lock().unwrap_or_else(|e| e.into_inner());
            map.get_mut(&source)
                .is_none_or(|l| recent(l, now) < PER_SOURCE)
        };
        account_ok && source_ok
    }

    /// Counts a wrong password (or an unknown account) for `account` from `source`.
    pub fn failed(&self, account: &str, source: IpAddr, now: Instant) {
        count(
            &mut self.accounts.lock().unwrap_or_else(|e| e.into_inner()),
            account.to_owned(),
            now,
        );
        count(
            &mut self.sources.lock().unwrap_or_else(|e| e.into_inner()),
            source,
            now,
        );
    }

    /// A right password: the account's failures are forgotten (the address's are not).
    pub fn succeeded(&self, account: &str) {
        self.accounts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(account);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    #[test]
    fn an_account_is_throttled_after_its_failures_until_the_window_passes() {
        let t = Throttle::default();
        let t0 = Instant::now();
        let acct = account_key("Acme.Example ", "ivan");
        assert_eq!(acct, account_key("acme.example", "ivan"));
        for i in 0..PER_ACCOUNT {
            assert!(t.allows(&acct, ip(i as u8), t0));
            // From a different address each time: the account's count still grows.
            t.failed(&acct, ip(i as u8), t0 + Duration::from_secs(i as u64));
        }
        assert!(!t.allows(&acct, ip(99), t0 + Duration::from_secs(10)));
        assert!(t.allows(&account_key("acme.example", "maria"), ip(99), t0));
        // The first failure leaves the window: one more try.
        assert!(t.allows(&acct, ip(99), t0 + WINDOW));
        t.succeeded(&acct);
        assert!(t.allows(&acct, ip(99), t0 + Duration::from_secs(10)));
    }

    #[test]
    fn an_address_is_throttled_across_accounts() {
        let t = Throttle::default();
        let t0 = Instant::now();
        for i in 0..PER_SOURCE {
            let acct = account_key("acme.example", &format!("user{i}"));
            assert!(t.allows(&acct, ip(1), t0));
            t.failed(&acct, ip(1), t0);
        }
        let fresh = account_key("acme.example", "fresh");
        assert!(!t.allows(&fresh, ip(1), t0), "this address is throttled");
        assert!(t.allows(&fresh, ip(2), t0), "another address is not");
        // Success on one account does not clear the address.
        t.succeeded(&fresh);
        assert!(!t.allows(&fresh, ip(1), t0));
        assert!(t.allows(&fresh, ip(1), t0 + WINDOW));
    }
}
