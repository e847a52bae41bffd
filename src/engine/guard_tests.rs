//! `Guard` on a fake clock: thresholds, the window sliding, bans ending, exemptions, a storm
//! of legitimate phones, and an account attacked from many addresses while its owner goes on.

use super::guard::{Attempt, Event, Guard, Policy};
use std::net::IpAddr;

const MIN: u64 = 60_000;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn policy() -> Policy {
    Policy {
        max_failures: 5,
        window_ms: 10 * MIN,
        ban_ms: 15 * MIN,
        account_failures: 20,
        trusted: vec!["10.0.0.0/8".parse().unwrap()],
    }
}

/// A response for `user`; `n` makes each one different (a new nonce or count).
fn attempt(user: &str, passed: bool, n: u64) -> Attempt {
    Attempt {
        domain: "acme.example".into(),
        user: user.into(),
        passed,
        fingerprint: n,
    }
}

fn banned_events(events: &[Event]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Event::Banned { .. }))
        .count()
}

#[test]
fn the_fifth_failure_within_the_window_bans_and_the_ban_ends() {
    let g = Guard::default();
    let p = policy();
    let bad = ip("203.0.113.5");
    for n in 1..=4 {
        let j = g.failed(bad, &attempt("ivan", false, n), &p, n * 1000);
        assert!(j.answer, "failure {n} is answered");
        assert_eq!(banned_events(&j.events), 0);
        assert!(!g.banned(bad, n * 1000));
    }
    let j = g.failed(bad, &attempt("ivan", false, 5), &p, 5000);
    assert!(!j.answer, "the banning failure goes unanswered");
    let line = j
        .events
        .iter()
        .find(|e| matches!(e, Event::Banned { .. }))
        .expect("a ban")
        .to_string();
    assert_eq!(
        line,
        "security: banned 203.0.113.5 for 900 s after 5 failed digest responses (last: user \"ivan\" at acme.example)"
    );
    assert!(g.banned(bad, 5000));
    assert!(!g.banned(ip("203.0.113.6"), 5000), "only that address");
    // While banned, nothing is counted or answered.
    let j = g.failed(bad, &attempt("ivan", false, 6), &p, 6000);
    assert_eq!((j.answer, j.events.len()), (false, 0));
    let bans = g.bans(6000);
    assert_eq!(bans.len(), 1);
    assert_eq!(
        (bans[0].until_ms, bans[0].failures, bans[0].user.as_str()),
        (5000 + 15 * MIN, 5, "ivan")
    );
    // Still banned a moment before the end; the sweep ends it on time and says so.
    assert!(g.banned(bad, 5000 + 15 * MIN - 1));
    assert!(g.expire(&p, 5000 + 15 * MIN - 1).is_empty());
    assert!(!g.banned(bad, 5000 + 15 * MIN));
    let ended = g.expire(&p, 5000 + 15 * MIN);
    assert_eq!(ended, [Event::Unbanned { source: bad }]);
    assert_eq!(ended[0].to_string(), "security: unbanned 203.0.113.5");
    assert!(g.bans(5000 + 15 * MIN).is_empty());
    // The count starts again from nothing.
    let j = g.failed(bad, &attempt("ivan", false, 7), &p, 5000 + 15 * MIN + 1);
    assert!(j.answer);
}

#[test]
fn failures_older_than_the_window_do_not_count() {
    let g = Guard::default();
    let p = policy();
    let slow = ip("198.51.100.1");
    // Four failures, then one more every 3 minutes: the oldest keep leaving the window.
    let mut t = 0;
    for n in 0..20 {
        let j = g.failed(slow, &attempt("ivan", false, n), &p, t);
        assert!(j.answer, "failure {n} at {t} ms");
        t += 3 * MIN;
    }
    // Five inside ten minutes do ban.
    let fast = ip("198.51.100.2");
    for n in 0..5 {
        g.failed(fast, &attempt("ivan", false, 100 + n), &p, n * 2 * MIN);
    }
    assert!(g.banned(fast, 8 * MIN));
    // The sweep forgets what left the window.
    g.expire(&p, t + 10 * MIN);
    assert!(!g.banned(slow, t + 10 * MIN));
}

#[test]
fn a_retransmitted_response_counts_once() {
    let g = Guard::default();
    let p = policy();
    let a = ip("192.0.2.1");
    for _ in 0..10 {
        assert!(g.failed(a, &attempt("ivan", false, 42), &p, 1000).answer);
    }
    assert!(!g.banned(a, 1000));
}

#[test]
fn unknown_users_and_wrong_passwords_count_alike() {
    let g = Guard::default();
    let p = policy();
    let a = ip("192.0.2.1");
    for (n, user) in ["ivan", "nobody", "root", "ivan", "admin"]
        .iter()
        .enumerate()
    {
        g.failed(a, &attempt(user, false, n as u64), &p, 1000);
    }
    assert!(g.banned(a, 1000));
}

#[test]
fn policy_trusts_its_networks() {
    let p = policy();
    assert!(p.trusts(ip("10.20.30.40")));
    assert!(p.trusts(ip("::ffff:10.1.1.1")));
    assert!(!p.trusts(ip("203.0.113.5")));
}

#[test]
fn a_ban_lifted_by_hand_or_by_trust_ends_at_once() {
    let g = Guard::default();
    let p = policy();
    let a = ip("192.0.2.1");
    let b = ip("10.9.9.9");
    for n in 0..5 {
        g.failed(a, &attempt("ivan", false, n), &p, 0);
        g.failed(b, &attempt("ivan", false, 10 + n), &p, 0);
    }
    assert!(g.banned(a, 1) && g.banned(b, 1));
    assert_eq!(g.lift(a).map(|b| b.failures), Some(5));
    assert!(!g.banned(a, 1));
    assert!(g.lift(a).is_none(), "lifted once");
    assert_eq!(
        g.forgive(|ip| p.trusts(ip)),
        [Event::Unbanned { source: b }]
    );
    assert!(!g.banned(b, 1));
    assert!(g.bans(1).is_empty());
    // Nothing left to sweep.
    assert!(g.expire(&p, 20 * MIN).is_empty());
}

#[test]
fn a_storm_of_legitimate_phones_behind_one_address_triggers_nothing() {
    // 500 phones behind one NAT address re-register at once: each is challenged (not a
    // response: the guard never hears of it) and then authenticates.
    let g = Guard::default();
    let office = ip("198.51.100.7");
    for n in 0..500 {
        g.succeeded(office, "acme.example", &format!("user{n}"));
    }
    assert!(!g.banned(office, 0));
    assert!(g.bans(0).is_empty());
    // One of them mistyped — four failures later the office is still fine.
    let p = policy();
    for n in 0..4 {
        assert!(g.failed(office, &attempt("user7", false, n), &p, n).answer);
    }
    assert!(!g.banned(office, 10));
}

#[test]
fn an_account_attacked_from_many_addresses_is_slowed_but_its_owner_goes_on() {
    let g = Guard::default();
    let p = policy();
    let owner = ip("198.51.100.7");
    g.succeeded(owner, "acme.example", "ivan");
    // A botnet: every address guesses twice — under the per-address limit.
    let mut n = 0;
    let mut events = Vec::new();
    for host in 1..=10u8 {
        let bot = IpAddr::from([203, 0, 113, host]);
        for _ in 0..2 {
            n += 1;
            let j = g.failed(bot, &attempt("ivan", false, n), &p, n * 100);
            assert!(j.answer, "the first 20 failures are answered");
            events.extend(j.events);
        }
    }
    assert!(!events
        .iter()
        .any(|e| matches!(e, Event::UnderAttack { .. })));
    // The 21st failure: the account is under attack; a new address goes unanswered and counts
    // double, so it is banned after three failures instead of five.
    let bot = ip("203.0.113.50");
    let j = g.failed(bot, &attempt("ivan", false, 1000), &p, 3000);
    assert!(!j.answer, "a stranger's failure goes unanswered");
    let attack = j
        .events
        .iter()
        .find(|e| matches!(e, Event::UnderAttack { .. }))
        .expect("reported once")
        .to_string();
    assert!(
        attack.starts_with("security: account \"ivan\" at acme.example under attack (21 failed"),
        "{attack}"
    );
    g.failed(bot, &attempt("ivan", false, 1001), &p, 3001);
    assert!(!g.banned(bot, 3001));
    let j = g.failed(bot, &attempt("ivan", false, 1002), &p, 3002);
    assert_eq!(
        banned_events(&j.events),
        1,
        "banned after 3 (counted double)"
    );
    assert!(!j
        .events
        .iter()
        .any(|e| matches!(e, Event::UnderAttack { .. })));
    // The owner's phone mistypes: answered as usual, counted once.
    for k in 0..4 {
        let j = g.failed(owner, &attempt("ivan", false, 2000 + k), &p, 3100 + k);
        assert!(j.answer, "the owner is answered");
    }
    assert!(!g.banned(owner, 3200));
    // Another account is not under attack: a stranger's failure for it is answered.
    let j = g.failed(ip("192.0.2.99"), &attempt("maria", false, 3000), &p, 3300);
    assert!(j.answer);
    // Once the failures leave the window, the account is calm again.
    g.expire(&p, 3300 + 10 * MIN);
    let j = g.failed(
        ip("192.0.2.100"),
        &attempt("ivan", false, 4000),
        &p,
        3300 + 10 * MIN,
    );
    assert!(j.answer);
}

#[test]
fn log_lines_escape_what_an_attacker_wrote() {
    let e = Event::Failed {
        source: ip("192.0.2.1"),
        user: "x\"\nsecurity: unbanned 1.2.3.4".into(),
        domain: "a".repeat(200),
    };
    let line = e.to_string();
    assert!(!line.contains('\n'), "{line}");
    assert!(line.contains("x\\\"\\nsecurity"), "{line}");
    assert!(line.len() < 200, "{line}");
}
