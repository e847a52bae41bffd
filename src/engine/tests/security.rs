//! Password guessing on virtual time: a guesser on one address gets at most `max_failures`
//! answers and then silence — even for the right password — until its ban ends, while
//! colleagues elsewhere register and call; trusted networks and a storm of legitimate phones
//! trigger nothing; an account attacked from many addresses keeps working for its owner.

use super::*;
use crate::engine::guard::Event;
use crate::engine::io::Notice;
use crate::store::CallOutcome;

/// `config_with(staff, extra)` with `server.security` set to `security` (YAML flow mapping).
fn secured(security: &str, staff: &str, extra: &str) -> String {
    config_with(staff, extra).replacen(
        "version: 1\n",
        &format!("version: 1\nserver:\n  security: {security}\n"),
        1,
    )
}

fn security_lines(w: &World) -> Vec<String> {
    w.notices
        .iter()
        .filter(|n| matches!(n, Notice::Security(_)))
        .map(ToString::to_string)
        .collect()
}

fn bans(w: &World) -> usize {
    w.notices
        .iter()
        .filter(|n| matches!(n, Notice::Security(Event::Banned { .. })))
        .count()
}

#[test]
fn a_guesser_gets_five_tries_then_silence_until_the_ban_ends() {
    let mut w = World::new(&secured("{ ban: 2m }", "", ""));
    let boris = registered(&mut w, BORIS, "198.51.100.2:5060", Answer::pick());
    let vera = registered(&mut w, VERA, "198.51.100.3:5060", Answer::pick());
    let guesser = w.phone("anna", "guess-1", "203.0.113.5:5060", Answer::pick());
    // Four wrong passwords: each challenged, each answered with a new challenge.
    for _ in 0..4 {
        w.register(guesser);
    }
    assert_eq!(w.phone_ref(guesser).register_answers, [401; 4]);
    assert_eq!(bans(&w), 0);
    // The fifth guess — an INVITE this time — is counted alike, bans, and gets no answer.
    w.dial(guesser, "211", None, None);
    w.run(40.0);
    assert_eq!(
        w.phone_ref(guesser).outcome(0),
        Some(crate::engine::tests::phone::Outcome::TimedOut)
    );
    let lines = security_lines(&w);
    assert!(
        lines.contains(&"security: banned 203.0.113.5 for 120 s after 5 failed digest responses (last: user \"anna\" at acme.example)".to_string()),
        "{lines:#?}"
    );
    // Answers to responses carrying credentials: four, then nothing.
    let answered_guesses = w
        .trace
        .iter()
        .filter(|t| t.to == w.phone_ref(guesser).addr && t.line.starts_with("SIP/2.0 40"))
        .count();
    assert_eq!(
        answered_guesses,
        4 * 2 + 1,
        "4 challenges + 4 failures + the INVITE's challenge"
    );
    // The right password from that address now: silence, however often it is sent.
    let owner_there = w.phone(ANNA.0, ANNA.1, "203.0.113.5:5062", Answer::pick());
    w.try_register(owner_there, 40.0);
    assert!(w.phone_ref(owner_there).register_answers.is_empty());
    assert!(w.lines_to(owner_there).is_empty(), "not even a challenge");
    assert!(w.stats().silenced > 0);
    // Meanwhile colleagues elsewhere register and call.
    w.register(boris);
    assert_eq!(w.phone_ref(boris).register_answers.last(), Some(&200));
    w.dial(boris, "212", Some(1.0), None);
    w.run(3.0);
    assert_eq!(w.record().outcome, CallOutcome::Answered);
    assert_eq!(w.received(vera, "INVITE").len(), 1);
    // Two minutes after the ban: unbanned, and the right password registers.
    w.run(60.0);
    assert!(security_lines(&w).contains(&"security: unbanned 203.0.113.5".to_string()));
    w.register(owner_there);
    assert_eq!(w.phone_ref(owner_there).register_answers.last(), Some(&200));
}

#[test]
fn trusted_networks_and_trunks_are_never_counted() {
    let yaml = secured("{ trusted: [\"203.0.113.0/24\"] }", "", "");
    let mut w = World::new(&yaml);
    let office = w.phone("anna", "typo", "203.0.113.9:5060", Answer::pick());
    let gateway = w.phone("anna", "typo", GATEWAY, Answer::pick());
    for _ in 0..8 {
        w.register(office);
        w.register(gateway);
    }
    assert_eq!(w.phone_ref(office).register_answers, [401; 8]);
    assert_eq!(w.phone_ref(gateway).register_answers, [401; 8]);
    assert!(security_lines(&w).is_empty(), "{:#?}", security_lines(&w));
}

#[test]
fn a_reload_that_trusts_a_banned_address_lifts_its_ban() {
    let plain = secured("{ max_failures: 3 }", "", "");
    let mut w = World::new(&plain);
    let guesser = w.phone("anna", "typo", "203.0.113.5:5060", Answer::pick());
    for _ in 0..2 {
        w.register(guesser);
    }
    w.try_register(guesser, 40.0);
    assert_eq!(bans(&w), 1);
    w.reload(&secured(
        "{ max_failures: 3, trusted: [\"203.0.113.5\"] }",
        "",
        "",
    ));
    w.run(0.1);
    assert!(security_lines(&w).contains(&"security: unbanned 203.0.113.5".to_string()));
    let owner = w.phone(ANNA.0, ANNA.1, "203.0.113.5:5061", Answer::pick());
    w.register(owner);
    assert_eq!(w.phone_ref(owner).register_answers, [200]);
}

#[test]
fn a_storm_of_phones_behind_one_address_registers_and_triggers_nothing() {
    let staff: String = (0..60)
        .map(|i| {
            format!("      - {{ name: u{i}, login: u{i}, extension: \"3{i:02}\", password: \"u{i}-secret-2024\" }}\n")
        })
        .collect();
    let mut w = World::sharded(&secured("{}", &staff, ""), 2);
    let phones: Vec<PhoneId> = (0..60)
        .map(|i| {
            let login = format!("u{i}");
            let password = format!("u{i}-secret-2024");
            w.phone(
                &login,
                &password,
                &format!("198.51.100.7:{}", 6000 + i),
                Answer::pick(),
            )
        })
        .collect();
    // All at once: every REGISTER leaves before any answer comes back.
    for &p in &phones {
        w.try_register(p, 0.0);
    }
    w.run(5.0);
    for &p in &phones {
        assert_eq!(
            w.phone_ref(p).register_answers,
            [200],
            "{}",
            w.phone_ref(p).name
        );
    }
    assert!(security_lines(&w).is_empty(), "{:#?}", security_lines(&w));
    assert_eq!(w.stats().registrations, 60);
}

#[test]
fn an_account_attacked_from_many_addresses_still_works_for_its_owner() {
    let mut w = World::new(&secured("{ account_failures: 6 }", "", ""));
    let anna = registered(&mut w, ANNA, "198.51.100.7:5060", Answer::pick());
    // Three bots, two guesses each: under the per-address limit, six for the account.
    for host in 1..=3 {
        let bot = w.phone(
            "anna",
            "guess",
            &format!("203.0.113.{host}:5060"),
            Answer::pick(),
        );
        w.register(bot);
        w.register(bot);
        assert_eq!(w.phone_ref(bot).register_answers, [401, 401]);
    }
    // The seventh: the account is under attack, and a new address's failure goes unanswered.
    let bot = w.phone("anna", "guess", "203.0.113.4:5060", Answer::pick());
    w.try_register(bot, 40.0);
    assert!(w.phone_ref(bot).register_answers.is_empty());
    let lines = security_lines(&w);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("security: account \"anna\" at acme.example under attack")),
        "{lines:#?}"
    );
    // Counted double: its third failure bans it (not its fifth).
    w.try_register(bot, 40.0);
    assert_eq!(bans(&w), 0);
    w.try_register(bot, 40.0);
    assert_eq!(bans(&w), 1, "{:#?}", security_lines(&w));
    // The owner's phone refreshes and takes calls; the owner from a new address with the
    // right password gets in too.
    w.register(anna);
    assert_eq!(w.phone_ref(anna).register_answers.last(), Some(&200));
    let roaming = w.phone(ANNA.0, ANNA.1, "192.0.2.44:5060", Answer::pick());
    w.register(roaming);
    assert_eq!(w.phone_ref(roaming).register_answers, [200]);
    let boris = registered(&mut w, BORIS, "198.51.100.2:5060", Answer::pick());
    w.dial(boris, "210", Some(1.0), None);
    w.run(3.0);
    assert_eq!(w.record().outcome, CallOutcome::Answered);
}
