//! `Guard`: password guessing, counted and stopped. A pure state machine — the time comes in as
//! milliseconds, nothing reads a clock — shared by every engine shard (and read by the driver
//! before it even parses a datagram) through striped locks, like `Presence`.
//!
//! **What counts.** A failed digest response: a REGISTER or INVITE whose credentials were
//! checked against a password and were wrong (`Verdict::Wrong`: a wrong password, or an unknown
//! user — the two are counted alike, as they are answered alike, so counting reveals nothing).
//! Never counted: the first, unauthenticated request (every phone's first REGISTER gets a 401,
//! so a storm of phones behind one NAT address re-registering at once counts nothing); a right
//! password with an expired nonce (`stale`); a nonce we never issued — one from before a restart,
//! or made up — which tests no password (counting it would ban an office whose phones all
//! answer with the old nonce after a restart); a retransmission of a response already counted
//! (the same nonce, count, cnonce and response).
//!
//! **Per source.** `max_failures` failed responses from one IP address within `window` ban it
//! for `ban`. A banned source is answered by **silence**: the driver drops its datagrams before
//! parsing them, the engine drops whatever got past. Silence rather than 403: an attacker
//! learns nothing (not even that it was noticed: a 403 would tell it to move to its next
//! address at once, silence costs it a timeout), the server does no work (no parse, no digest,
//! no answer), and nothing is reflected at a forged source address. A success does not reset
//! the count: an attacker holding one account must not be able to clean its record between
//! guesses at others.
//!
//! **Per account.** An account that collects more than `account_failures` failed responses
//! within `window`, from all sources together, is under attack (many addresses, each staying
//! under the per-source limit). While it is, a failed response for it from an address that
//! never authenticated as it is counted double (the address is banned twice as fast) and gets
//! no answer. The account is never locked: a right password is accepted from anywhere, and
//! addresses it authenticated from before (its owner's phones, remembered per account) are
//! answered and counted as usual.
//!
//! **Exempt** are the config's `trusted` networks and the trunks' addresses: the engine does
//! not consult the guard for them at all.

use crate::config::model::{Network, Security};
use crate::sip::auth::Credentials;
use crate::striped::Striped;
use std::collections::VecDeque;
use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Addresses remembered per account as having authenticated as it.
const OWNERS: usize = 16;
/// Longest user or domain name written into a log line (they may be an attacker's text).
const LOGGED: usize = 64;

/// The rules, from the running config (so a reload changes them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub max_failures: u32,
    pub window_ms: u64,
    pub ban_ms: u64,
    pub account_failures: u32,
    pub trusted: Vec<Network>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy::from(&Security::default())
    }
}

impl From<&Security> for Policy {
    fn from(s: &Security) -> Policy {
        Policy {
            max_failures: s.max_failures.max(1),
            window_ms: s.window.as_millis() as u64,
            ban_ms: s.ban.as_millis() as u64,
            account_failures: s.account_failures.max(1),
            trusted: s.trusted.clone(),
        }
    }
}

impl Policy {
    /// Whether `ip` is in a trusted network.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|n| n.contains(ip))
    }
}

/// A digest response the engine checked: for which account, whether it passed, and its
/// fingerprint (a retransmission of it has the same).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    pub domain: String,
    pub user: String,
    pub passed: bool,
    pub fingerprint: u64,
}

impl Attempt {
    /// The response `c` for `domain`, checked: `passed` or wrong.
    pub fn of(c: &Credentials, domain: &str, passed: bool) -> Attempt {
        let text = format!(
            "{}\n{}\n{}\n{}",
            c.nonce,
            c.nc.as_deref().unwrap_or(""),
            c.cnonce.as_deref().unwrap_or(""),
            c.response
        );
        Attempt {
            domain: domain.to_string(),
            user: c.username.clone(),
            passed,
            fingerprint: super::shard::hash(&text),
        }
    }
}

/// A banned source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ban {
    pub source: IpAddr,
    /// Since the Unix epoch.
    pub until_ms: u64,
    /// Failed responses counted when it was banned.
    pub failures: u32,
    /// The account of the last one.
    pub user: String,
    pub domain: String,
}

/// What the guard reports, one log line each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A failed digest response was counted.
    Failed {
        source: IpAddr,
        user: String,
        domain: String,
    },
    /// A source was banned for `secs`.
    Banned { ban: Ban, secs: u64 },
    /// A ban ended (expired, lifted, or the source became trusted).
    Unbanned { source: IpAddr },
    /// An account started collecting failures from many sources.
    UnderAttack {
        user: String,
        domain: String,
        failures: u32,
        window_s: u64,
    },
}

/// The guard's verdict on a failed response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Judged {
    /// Answer it (a challenge) — or not at all.
    pub answer: bool,
    pub events: Vec<Event>,
}

/// One source's record.
#[derive(Default)]
struct Source {
    /// When each counted failure came (a double count appears twice), at most `max_failures`.
    failures: VecDeque<u64>,
    /// The fingerprint of the last response counted, and whether it was answered (its
    /// retransmissions are treated the same).
    last: Option<(u64, bool)>,
    banned: Option<Ban>,
}

/// One account's record of failures, from all sources.
#[derive(Default)]
struct Account {
    /// When the latest failures came, at most `account_failures + 1`.
    failures: VecDeque<u64>,
    /// Reported as under attack (until its failures leave the window).
    attacked: bool,
}

/// An account: (domain, user).
type Key = (String, String);

/// Failed responses and bans, shared by the shards.
#[derive(Default)]
pub struct Guard {
    sources: Striped<IpAddr, Source>,
    accounts: Striped<Key, Account>,
    owners: Striped<Key, Vec<IpAddr>>,
    /// Bans in force or not yet swept: zero lets `banned` skip the lookup.
    bans: AtomicUsize,
}

/// `::ffff:a.b.c.d` as `a.b.c.d`, so a dual-stack socket's view is the same source.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Drops what is older than the window.
fn prune(times: &mut VecDeque<u64>, now_ms: u64, window_ms: u64) {
    while times
        .front()
        .is_some_and(|t| now_ms.saturating_sub(*t) >= window_ms)
    {
        times.pop_front();
    }
}

impl Guard {
    /// Whether any ban may be in force (one atomic load: the driver asks this before it reads
    /// the clock for `banned`).
    pub fn has_bans(&self) -> bool {
        self.bans.load(Ordering::Relaxed) > 0
    }

    /// Whether `source` is banned at `now_ms`. Cheap when nobody is.
    pub fn banned(&self, source: IpAddr, now_ms: u64) -> bool {
        if self.bans.load(Ordering::Relaxed) == 0 {
            return false;
        }
        self.sources.read(&canonical(source), |s| {
            s.and_then(|s| s.banned.as_ref())
                .is_some_and(|b| b.until_ms > now_ms)
        })
    }

    /// `source` authenticated as `user` at `domain`: it is one of the account's own addresses
    /// from now on.
    pub fn succeeded(&self, source: IpAddr, domain: &str, user: &str) {
        let source = canonical(source);
        self.owners
            .update((domain.to_string(), user.to_string()), |owners| {
                let list = owners.get_or_insert_with(Vec::new);
                list.retain(|ip| *ip != source);
                list.insert(0, source);
                list.truncate(OWNERS);
            });
    }

    /// Whether `source` has authenticated as the account before.
    fn owns(&self, source: IpAddr, key: &Key) -> bool {
        self.owners
            .read(key, |o| o.is_some_and(|list| list.contains(&source)))
    }

    /// A failed response from `source` (not exempt): counts it, bans the source when it has
    /// failed too often, and says whether to answer it.
    pub fn failed(
        &self,
        source: IpAddr,
        attempt: &Attempt,
        policy: &Policy,
        now_ms: u64,
    ) -> Judged {
        let source = canonical(source);
        let mut events = Vec::new();
        // Already banned (another shard got there first) or a retransmission: nothing new.
        let seen = self.sources.read(&source, |s| {
            s.map(|s| {
                (
                    s.banned.as_ref().is_some_and(|b| b.until_ms > now_ms),
                    s.last.filter(|(f, _)| *f == attempt.fingerprint),
                )
            })
        });
        match seen {
            Some((true, _)) => {
                return Judged {
                    answer: false,
                    events,
                }
            }
            Some((false, Some((_, answer)))) => return Judged { answer, events },
            _ => {}
        }
        let key: Key = (attempt.domain.clone(), attempt.user.clone());
        let threshold = policy.account_failures as usize;
        let (attacked, started) = self.accounts.update(key.clone(), |a| {
            let a = a.get_or_insert_with(Account::default);
            prune(&mut a.failures, now_ms, policy.window_ms);
            a.failures.push_back(now_ms);
            while a.failures.len() > threshold + 1 {
                a.failures.pop_front();
            }
            let attacked = a.failures.len() > threshold;
            let started = attacked && !a.attacked;
            a.attacked = attacked;
            (attacked, started)
        });
        if started {
            events.push(Event::UnderAttack {
                user: attempt.user.clone(),
                domain: attempt.domain.clone(),
                failures: policy.account_failures + 1,
                window_s: policy.window_ms / 1000,
            });
        }
        let stranger = attacked && !self.owns(source, &key);
        let weight = if stranger { 2 } else { 1 };
        events.push(Event::Failed {
            source,
            user: attempt.user.clone(),
            domain: attempt.domain.clone(),
        });
        let max = policy.max_failures as usize;
        let ban = self.sources.update(source, |s| {
            let s = s.get_or_insert_with(Source::default);
            s.last = Some((attempt.fingerprint, !stranger));
            prune(&mut s.failures, now_ms, policy.window_ms);
            for _ in 0..weight {
                s.failures.push_back(now_ms);
            }
            let failures = s.failures.len() as u32;
            while s.failures.len() > max {
                s.failures.pop_front();
            }
            if failures < policy.max_failures {
                return None;
            }
            let ban = Ban {
                source,
                until_ms: now_ms.saturating_add(policy.ban_ms),
                failures,
                user: attempt.user.clone(),
                domain: attempt.domain.clone(),
            };
            if s.banned.replace(ban.clone()).is_none() {
                self.bans.fetch_add(1, Ordering::Relaxed);
            }
            s.failures.clear();
            Some(ban)
        });
        let banned = ban.is_some();
        if let Some(ban) = ban {
            events.push(Event::Banned {
                ban,
                secs: policy.ban_ms / 1000,
            });
        }
        Judged {
            answer: !banned && !stranger,
            events,
        }
    }

    /// Forgets what the window has left behind and ends the bans that are over; says whose.
    pub fn expire(&self, policy: &Policy, now_ms: u64) -> Vec<Event> {
        let mut ended = Vec::new();
        self.sources.retain(|ip, s| {
            if s.banned.as_ref().is_some_and(|b| b.until_ms <= now_ms) {
                s.banned = None;
                self.bans.fetch_sub(1, Ordering::Relaxed);
                ended.push(Event::Unbanned { source: *ip });
            }
            prune(&mut s.failures, now_ms, policy.window_ms);
            s.banned.is_some() || !s.failures.is_empty()
        });
        self.accounts.retain(|_, a| {
            prune(&mut a.failures, now_ms, policy.window_ms);
            !a.failures.is_empty()
        });
        ended.sort_by_key(|e| match e {
            Event::Unbanned { source } => Some(*source),
            _ => None,
        });
        ended
    }

    /// Lifts the ban on `source` (the admin API); its count starts again from nothing.
    pub fn lift(&self, source: IpAddr) -> Option<Ban> {
        let lifted = self.sources.update(canonical(source), |s| {
            let ban = s.as_mut()?.banned.take()?;
            // Its count goes with the ban.
            *s = None;
            Some(ban)
        });
        if lifted.is_some() {
            self.bans.fetch_sub(1, Ordering::Relaxed);
        }
        lifted
    }

    /// Lifts the bans of sources `exempt` says are now exempt (a reload trusted them).
    pub fn forgive(&self, exempt: impl Fn(IpAddr) -> bool) -> Vec<Event> {
        let mut lifted = Vec::new();
        self.sources.for_each(|ip, s| {
            if s.banned.is_some() && exempt(*ip) {
                lifted.push(*ip);
            }
        });
        lifted.sort();
        lifted
            .into_iter()
            .filter(|ip| self.lift(*ip).is_some())
            .map(|source| Event::Unbanned { source })
            .collect()
    }

    /// The bans in force at `now_ms`, by address.
    pub fn bans(&self, now_ms: u64) -> Vec<Ban> {
        let mut bans = Vec::new();
        self.sources.for_each(|_, s| {
            if let Some(b) = s.banned.as_ref().filter(|b| b.until_ms > now_ms) {
                bans.push(b.clone());
            }
        });
        bans.sort_by_key(|b| b.source);
        bans
    }
}

/// `text` for a log line: escaped (no line breaks or quotes an attacker could inject), cut.
fn logged(text: &str) -> String {
    let cut: String = text.chars().take(LOGGED).collect();
    let escaped: String = cut.escape_debug().collect();
    if cut.len() < text.len() {
        format!("{escaped}...")
    } else {
        escaped
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Failed {
                source,
                user,
                domain,
            } => write!(
                f,
                "security: failed digest response from {source} (user \"{}\" at {})",
                logged(user),
                logged(domain)
            ),
            Event::Banned { ban, secs } => write!(
                f,
                "security: banned {} for {secs} s after {} failed digest responses (last: user \"{}\" at {})",
                ban.source,
                ban.failures,
                logged(&ban.user),
                logged(&ban.domain)
            ),
            Event::Unbanned { source } => write!(f, "security: unbanned {source}"),
            Event::UnderAttack {
                user,
                domain,
                failures,
                window_s,
            } => write!(
                f,
                "security: account \"{}\" at {} under attack ({failures} failed digest responses in {window_s} s): addresses that never authenticated as it go unanswered",
                logged(user),
                logged(domain)
            ),
        }
    }
}
