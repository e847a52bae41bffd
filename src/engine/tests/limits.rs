//! `server.limits` on virtual time: the eleventh device of a person refused with 403 while a
//! refresh goes through; a tenant at its call cap refusing the next call with 503 until a call
//! ends (on several shards, and after a drain's `EndCalls`); a person at their cap getting and
//! causing 486; each refusal one `limit:` notice.

use super::*;
use crate::engine::io::{Input, Limit, Notice};
use crate::store::CallOutcome;

/// `config("")` with `server.limits` set to `limits` (a YAML flow mapping).
fn limited(limits: &str) -> String {
    config("").replacen(
        "version: 1\n",
        &format!("version: 1\nserver:\n  limits: {limits}\n"),
        1,
    )
}

fn limits(w: &World) -> Vec<Limit> {
    w.notices
        .iter()
        .filter_map(|n| match n {
            Notice::Limit(l) => Some(l.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn the_eleventh_device_is_refused_and_a_refresh_still_goes_through() {
    let mut w = World::new(&config(""));
    let phones: Vec<PhoneId> = (1..=11)
        .map(|i| w.phone(ANNA.0, ANNA.1, &format!("10.0.1.{i}:5060"), Answer::pick()))
        .collect();
    for &p in &phones[..10] {
        w.register(p);
        assert_eq!(w.phone_ref(p).register_answers, [200]);
    }
    w.register(phones[10]);
    assert_eq!(w.phone_ref(phones[10]).register_answers, [403]);
    let refusal = w
        .texts_to(phones[10])
        .into_iter()
        .rfind(|t| t.starts_with("SIP/2.0 403"))
        .expect("a 403");
    assert!(
        refusal.contains("Warning: 399 acme.example \"Too many registered devices: at most 10\""),
        "{refusal}"
    );
    assert_eq!(
        limits(&w),
        [Limit::Contacts {
            tenant: "acme".into(),
            login: "anna".into(),
            limit: 10,
            source: "10.0.1.11:5060".parse().unwrap(),
        }]
    );
    let line = Notice::Limit(limits(&w)[0].clone()).to_string();
    assert!(line.starts_with("limit: anna@acme: REGISTER"), "{line}");
    let aor = crate::sip::registrar::Aor::new("acme", "anna");
    assert_eq!(w.stored[&aor].len(), 10);
    // A device already registered refreshes; one that leaves makes room for the eleventh.
    w.register(phones[0]);
    assert_eq!(w.phone_ref(phones[0]).register_answers, [200, 200]);
    w.register_for(phones[1], 0);
    w.register(phones[10]);
    assert_eq!(w.phone_ref(phones[10]).register_answers, [403, 200]);
    assert_eq!(w.stored[&aor].len(), 10);
    assert_eq!(limits(&w).len(), 1, "only the refusal was logged");
}

#[test]
fn a_lower_contact_limit_from_the_config_applies() {
    let mut w = World::new(&limited("{ contacts_per_person: 1 }"));
    let desk = registered(&mut w, ANNA, "10.0.0.1:5060", Answer::pick());
    let soft = w.phone(ANNA.0, ANNA.1, "10.0.0.9:5060", Answer::pick());
    w.register(soft);
    assert_eq!(w.phone_ref(soft).register_answers, [403]);
    w.register(desk);
    assert_eq!(w.phone_ref(desk).register_answers, [200, 200]);
}

#[test]
fn a_tenant_at_its_call_cap_refuses_the_next_call_until_one_ends() {
    let mut w = World::sharded(&limited("{ calls_per_tenant: 1 }"), 2);
    let anna = registered(&mut w, ANNA, "10.0.0.1:5060", Answer::pick());
    let boris = registered(&mut w, BORIS, "10.0.0.2:5060", Answer::pick());
    let vera = registered(&mut w, VERA, "10.0.0.3:5060", Answer::pick());
    w.dial(boris, "210", Some(5.0), None);
    w.run(1.0);
    assert_eq!(w.calls(), 1);
    w.dial(vera, "210", Some(1.0), None);
    w.run(1.0);
    let refusal = w
        .texts_to(vera)
        .into_iter()
        .rfind(|t| t.starts_with("SIP/2.0 503"))
        .expect("503 for the call over the cap");
    assert!(refusal.contains("Retry-After: 5"), "{refusal}");
    assert!(refusal.contains("Reason: SIP;cause=503"), "{refusal}");
    assert_eq!(
        w.received(anna, "INVITE").len(),
        1,
        "the refused call rang nobody"
    );
    assert_eq!(
        limits(&w),
        [Limit::TenantCalls {
            tenant: "acme".into(),
            limit: 1
        }]
    );
    let refused = w.records.last().expect("the refused call's record");
    assert_eq!(
        (refused.outcome, refused.status),
        (CallOutcome::Unavailable, Some(503))
    );
    // The first call ends: the tenant takes calls again.
    w.run(6.0);
    assert_eq!(w.calls(), 0);
    w.dial(vera, "210", Some(1.0), None);
    w.run(3.0);
    assert_eq!(w.record().outcome, CallOutcome::Answered);
    assert_eq!(w.finals_to(vera).last(), Some(&200));
    // A call ended by a drain gives its place back too.
    w.phone_mut(anna).default_answer = Answer::Ring;
    w.dial(boris, "210", None, None);
    w.run(1.0);
    w.tell_all(Input::EndCalls);
    w.run(1.0);
    assert_eq!(w.calls(), 0);
    w.phone_mut(anna).default_answer = Answer::pick();
    w.dial(vera, "210", Some(1.0), None);
    w.run(3.0);
    assert_eq!(w.record().outcome, CallOutcome::Answered);
    assert_eq!(limits(&w).len(), 1);
}

#[test]
fn a_person_at_their_cap_is_busy_as_callee_and_as_caller() {
    let mut w = World::new(&limited("{ calls_per_person: 1 }"));
    let anna = registered(&mut w, ANNA, "10.0.0.1:5060", Answer::pick());
    let boris = registered(&mut w, BORIS, "10.0.0.2:5060", Answer::pick());
    let boris_soft = registered(&mut w, BORIS, "10.0.0.4:5060", Answer::Silent);
    let vera = registered(&mut w, VERA, "10.0.0.3:5060", Answer::pick());
    w.dial(boris, "210", Some(5.0), None);
    w.run(1.0);
    // Anna is on a call she took: a call to her gets 486 without ringing her.
    w.dial(vera, "210", Some(1.0), None);
    w.run(1.0);
    assert_eq!(w.finals_to(vera).last(), Some(&486));
    assert_eq!(w.received(anna, "INVITE").len(), 1);
    // Boris is on the call he made: his other phone cannot make another.
    w.dial(boris_soft, "212", Some(1.0), None);
    w.run(1.0);
    assert_eq!(w.finals_to(boris_soft).last(), Some(&486));
    assert!(w.received(vera, "INVITE").is_empty());
    assert_eq!(
        limits(&w),
        [
            Limit::PersonCalls {
                tenant: "acme".into(),
                login: "anna".into(),
                limit: 1,
                calling: false
            },
            Limit::PersonCalls {
                tenant: "acme".into(),
                login: "boris".into(),
                limit: 1,
                calling: true
            }
        ]
    );
    assert_eq!(w.records.last().map(|r| r.outcome), Some(CallOutcome::Busy));
    // Once the call is over both are free again.
    w.run(6.0);
    w.dial(vera, "210", Some(1.0), None);
    w.run(3.0);
    assert_eq!(w.record().outcome, CallOutcome::Answered);
    w.dial(boris_soft, "212", Some(1.0), None);
    w.run(3.0);
    assert_eq!(w.record().outcome, CallOutcome::Answered);
}

#[test]
fn a_department_skips_a_member_at_their_cap() {
    let extra = "    departments:\n      - { id: sales, extension: \"300\", strategy: all_at_once, ring_time: 10s, members: [anna, boris] }\n";
    let config = config(extra).replacen(
        "version: 1\n",
        "version: 1\nserver:\n  limits: { calls_per_person: 1 }\n",
        1,
    );
    let mut w = World::new(&config);
    let anna = registered(&mut w, ANNA, "10.0.0.1:5060", Answer::pick());
    let boris = registered(&mut w, BORIS, "10.0.0.2:5060", Answer::Ring);
    let vera = registered(&mut w, VERA, "10.0.0.3:5060", Answer::pick());
    // Anna's own call rings boris: she is at her cap, he is not (a callee counts once he answers).
    w.dial(anna, "211", None, Some(5.0));
    w.run(1.0);
    w.dial(vera, "300", None, Some(2.0));
    w.run(1.0);
    assert!(w.received(anna, "INVITE").is_empty(), "anna is at her cap");
    assert_eq!(w.received(boris, "INVITE").len(), 2, "boris rings for both");
}

#[test]
fn calls_beyond_the_servers_limit_get_503_and_one_notice_a_second() {
    let mut w = World::new(&limited("{ calls: 1 }"));
    let anna = registered(&mut w, ANNA, "10.0.0.1:5060", Answer::pick());
    let boris = registered(&mut w, BORIS, "10.0.0.2:5060", Answer::pick());
    let vera = registered(&mut w, VERA, "10.0.0.3:5060", Answer::pick());
    w.dial(anna, "211", Some(10.0), None);
    w.run(1.0);
    for _ in 0..3 {
        w.dial(vera, "210", None, None);
    }
    w.run(1.0);
    assert_eq!(
        w.finals_to(vera)[2..],
        [503, 503, 503],
        "after her REGISTER's 401 and 200"
    );
    let refusal = w
        .texts_to(vera)
        .into_iter()
        .rfind(|t| t.starts_with("SIP/2.0 503"))
        .unwrap();
    assert!(refusal.contains("Retry-After:"), "{refusal}");
    assert!(refusal.contains("the server is at its limit"), "{refusal}");
    // One notice for the burst (the first refusal), the rest counted into the next.
    assert_eq!(
        limits(&w),
        [Limit::Calls {
            limit: 1,
            refused: 1
        }]
    );
    assert!(w.received(boris, "INVITE").len() == 1);
    // The call ends: room again.
    w.run(10.0);
    w.dial(vera, "210", Some(0.5), None);
    w.run(2.0);
    assert_eq!(w.finals_to(vera).last(), Some(&200));
}

#[test]
fn requests_beyond_the_transaction_table_get_503_without_being_kept() {
    let mut w = World::new(&limited("{ transactions: 1000 }"));
    let flood = w.peer(
        "flood",
        "10.9.9.9:5060",
        crate::sip::link::Link::Udp(0),
        Answer::Silent,
    );
    // OPTIONS each make a transaction that lives 32 s after its answer (UDP).
    for i in 0..1005 {
        let options = format!(
            "OPTIONS sip:acme.example SIP/2.0\r\nVia: SIP/2.0/UDP 10.9.9.9:5060;branch=z9hG4bKflood{i}\r\nMax-Forwards: 70\r\nFrom: <sip:flood@acme.example>;tag=f{i}\r\nTo: <sip:acme.example>\r\nCall-ID: flood-{i}@10.9.9.9\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        );
        w.send_raw(flood, options.into_bytes());
    }
    w.run(1.0);
    let answers = w.finals_to(flood);
    assert_eq!(answers.len(), 1005);
    assert_eq!(answers[..1000].iter().filter(|c| **c == 200).count(), 1000);
    assert_eq!(answers[1000..], [503; 5], "the table holds 1000");
    assert!(w.held().1 <= 1000, "{:?}", w.held());
    assert!(matches!(
        limits(&w)[..],
        [Limit::Transactions {
            limit: 1000,
            refused: 1
        }]
    ));
    // 32 s later the table has room again.
    w.run(33.0);
    let options = "OPTIONS sip:acme.example SIP/2.0\r\nVia: SIP/2.0/UDP 10.9.9.9:5060;branch=z9hG4bKlater\r\nMax-Forwards: 70\r\nFrom: <sip:flood@acme.example>;tag=l\r\nTo: <sip:acme.example>\r\nCall-ID: later@10.9.9.9\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
    w.send_raw(flood, options.as_bytes().to_vec());
    w.run(1.0);
    assert_eq!(w.finals_to(flood).last(), Some(&200));
}
