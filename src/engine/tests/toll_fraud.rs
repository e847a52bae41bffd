//! Toll fraud on virtual time: the tenant's `outbound` rules and cap, enforced on every way a
//! call leaves through the trunk — a staff member dialling (403 or 503, the gateway never
//! hears of it), a no-answer forward (fails like an unreachable number: voicemail follows).

use super::*;
use crate::engine::io::Notice;
use crate::engine::outbound::Refused;
use crate::store::CallOutcome;

/// The INVITEs the gateway received (each call out is challenged once, so two per call).
fn invites(w: &World, gw: PhoneId) -> usize {
    w.received(gw, "INVITE").len()
}

fn refusals(w: &World) -> Vec<&Refused> {
    w.notices
        .iter()
        .filter_map(|n| match n {
            Notice::OutboundRefused { why, .. } => Some(why),
            _ => None,
        })
        .collect()
}

/// The final answer phone `id` received last, in full.
fn last_final(w: &World, id: PhoneId) -> String {
    w.texts_to(id)
        .into_iter()
        .rev()
        .find(|t| {
            t.strip_prefix("SIP/2.0 ")
                .and_then(|l| l.get(..3)?.parse::<u16>().ok())
                .is_some_and(|c| c >= 200)
        })
        .unwrap_or_default()
}

#[test]
fn an_allowed_number_goes_out_and_a_premium_one_gets_403_without_reaching_the_gateway() {
    let mut w = World::new(&config(""));
    let anna = registered(&mut w, ANNA, "10.0.0.1:5060", Answer::pick());
    let gw = gateway(&mut w, Answer::pick());
    w.dial(anna, "+79990001122", Some(0.3), None);
    w.run(3.0);
    assert_eq!(invites(&w, gw), 2, "challenged, then with credentials");
    assert_eq!(w.record().outcome, CallOutcome::Answered);

    // 8-809 in national form, and in international form: refused by the PBX itself.
    for premium in ["88095551234", "+78035551234"] {
        w.dial(anna, premium, None, None);
        w.run(3.0);
        assert_eq!(w.finals_to(anna).last(), Some(&403), "{premium}");
        let answer = last_final(&w, anna);
        assert!(answer.contains("Warning: 399 pbx \""), "{answer}");
        assert!(answer.contains("not allowed"), "{answer}");
        assert!(answer.contains("Reason: SIP;cause=403"), "{answer}");
        assert_eq!(w.record().status, Some(403));
        assert!(w.record().note.as_deref().unwrap_or("").contains("premium"));
    }
    assert_eq!(invites(&w, gw), 2, "the gateway never heard of them");
    // Logged once per call.
    let logged = refusals(&w);
    assert_eq!(logged.len(), 2, "{logged:?}");
    assert!(matches!(logged[0], Refused::Barred(_)));
}

#[test]
fn an_international_number_is_refused_by_default_and_goes_out_when_allowed() {
    let mut w = World::new(&config(""));
    let anna = registered(&mut w, ANNA, "10.0.0.1:5060", Answer::pick());
    let gw = gateway(&mut w, Answer::pick());
    for abroad in ["+442071234567", "81044201234567"] {
        w.dial(anna, abroad, None, None);
        w.run(3.0);
        assert_eq!(w.finals_to(anna).last(), Some(&403), "{abroad}");
        assert!(last_final(&w, anna).contains("international calls are denied"));
    }
    assert_eq!(invites(&w, gw), 0);

    let mut w = World::new(&config("    outbound: { international: true }\n"));
    let anna = registered(&mut w, ANNA, "10.0.0.1:5060", Answer::pick());
    let gw = gateway(&mut w, Answer::pick());
    w.dial(anna, "+442071234567", Some(0.3), None);
    w.run(3.0);
    assert_eq!(invites(&w, gw), 2);
    assert_eq!(w.record().outcome, CallOutcome::Answered);
    // A tenant's own deny still holds.
    let mut w = World::new(&config(
        "    outbound: { international: true, deny: [\"+44\"] }\n",
    ));
    let anna = registered(&mut w, ANNA, "10.0.0.1:5060", Answer::pick());
    let gw = gateway(&mut w, Answer::pick());
    w.dial(anna, "+442071234567", None, None);
    w.run(3.0);
    assert_eq!(w.finals_to(anna).last(), Some(&403));
    assert_eq!(invites(&w, gw), 0);
}

#[test]
fn a_no_answer_forward_to_a_denied_number_goes_to_voicemail() {
    let mut w = World::new(&config(&format!(
        "    departments:\n      - {{ id: support, strategy: all_at_once, step: 1s, ring_time: 3s, members: [anna], no_answer: {{ forward: {{ number: \"+78095551234\", timeout: 5s }} }} }}\n    numbers:\n      - {{ number: \"{DID}\", destination: {{ department: support }} }}\n"
    )));
    let anna = registered(&mut w, ANNA, "10.0.0.1:5060", Answer::Ring);
    let gw = gateway(&mut w, Answer::pick());
    let caller = outside_caller(&mut w);
    let t0 = w.secs();
    w.dial(caller, DID, Some(0.3), None);
    w.run(12.0);
    w.arrives(anna, "CANCEL", t0, 3.0);
    assert_eq!(invites(&w, gw), 0, "the forward never went out");
    // The voicemail answers at once instead of after the forward's timeout.
    assert_eq!(w.finals_to(caller).last(), Some(&200));
    assert_eq!(w.record().outcome, CallOutcome::Missed);
    assert_eq!(refusals(&w).len(), 1);
}

#[test]
fn calls_out_over_the_cap_get_503_across_shards_and_the_slot_comes_back() {
    let mut w = World::sharded(&config("    outbound: { max_calls: 1 }\n"), 2);
    let anna = registered(&mut w, ANNA, "10.0.0.1:5060", Answer::pick());
    let boris = registered(&mut w, BORIS, "10.0.0.2:5060", Answer::pick());
    let gw = gateway(&mut w, Answer::pick());
    w.dial(anna, "+79990001122", Some(10.0), None);
    w.run(2.0);
    assert_eq!(invites(&w, gw), 2);
    for _ in 0..3 {
        // Whichever shard takes it, boris is over the cap.
        w.dial(boris, "+79990003344", None, None);
        w.run(1.0);
        assert_eq!(w.finals_to(boris).last(), Some(&503));
        let answer = last_final(&w, boris);
        assert!(answer.contains("Retry-After:"), "{answer}");
    }
    assert_eq!(invites(&w, gw), 2);
    assert!(matches!(refusals(&w)[..], [Refused::Full(1), ..]));
    // Anna hangs up: the slot is free again.
    w.run(10.0);
    w.dial(boris, "+79990003344", Some(0.3), None);
    w.run(3.0);
    assert_eq!(invites(&w, gw), 4);
    assert_eq!(w.record().outcome, CallOutcome::Answered);
}

#[test]
fn a_forward_over_the_cap_fails_and_voicemail_follows() {
    let mut w = World::new(&config(&format!(
        "    outbound: {{ max_calls: 1 }}\n    departments:\n      - {{ id: support, strategy: all_at_once, step: 1s, ring_time: 3s, members: [boris], no_answer: {{ forward: {{ number: \"+79990005566\", timeout: 5s }} }} }}\n    numbers:\n      - {{ number: \"{DID}\", destination: {{ department: support }} }}\n"
    )));
    let anna = registered(&mut w, ANNA, "10.0.0.1:5060", Answer::pick());
    let boris = registered(&mut w, BORIS, "10.0.0.2:5060", Answer::Ring);
    let gw = gateway(&mut w, Answer::pick());
    w.dial(anna, "+79990001122", Some(20.0), None);
    w.run(1.0);
    let caller = outside_caller(&mut w);
    w.dial(caller, DID, Some(0.3), None);
    w.run(6.0);
    assert!(!w.received(boris, "CANCEL").is_empty());
    assert_eq!(invites(&w, gw), 2, "only anna's call went out");
    assert_eq!(w.finals_to(caller).last(), Some(&200), "voicemail answered");
}

#[test]
fn a_roles_rules_and_a_persons_own_replace_the_tenants_for_the_calls_they_dial() {
    // Restricted staff may not call mobiles (+79); vera is restricted but may call Minsk and
    // anywhere abroad; anna (a user) has the tenant's rules.
    let mut w = World::new(&config_with(
        "",
        "    outbound:\n      roles: { restricted: { deny: [\"+79\"] } }\n",
    )
    .replace(
        "- { name: vera, login: vera, extension: \"212\", password: \"vera-secret-2024\" }",
        "- { name: vera, login: vera, extension: \"212\", password: \"vera-secret-2024\", role: restricted, outbound: { international: true } }",
    )
    .replace(
        "- { name: boris, login: boris, extension: \"211\", password: \"boris-secret-2024\" }",
        "- { name: boris, login: boris, extension: \"211\", password: \"boris-secret-2024\", role: restricted }",
    ));
    let anna = registered(&mut w, ANNA, "10.0.0.1:5060", Answer::pick());
    let boris = registered(&mut w, BORIS, "10.0.0.2:5060", Answer::pick());
    let vera = registered(&mut w, VERA, "10.0.0.3:5060", Answer::pick());
    let gw = gateway(&mut w, Answer::pick());
    w.dial(boris, "+79990001122", None, None);
    w.run(2.0);
    assert_eq!(
        w.finals_to(boris).last(),
        Some(&403),
        "restricted: no mobiles"
    );
    assert_eq!(invites(&w, gw), 0);
    w.dial(anna, "+79990001122", Some(0.3), None);
    w.run(2.0);
    assert_eq!(invites(&w, gw), 2, "a user may");
    w.dial(anna, "+375171234567", None, None);
    w.run(2.0);
    assert_eq!(
        w.finals_to(anna).last(),
        Some(&403),
        "the tenant allows no calls abroad"
    );
    // vera: her role denies mobiles still; her own rule opens abroad.
    w.dial(vera, "+375171234567", Some(0.3), None);
    w.run(2.0);
    assert_eq!(invites(&w, gw), 4);
    w.dial(vera, "+79990001122", None, None);
    w.run(2.0);
    assert_eq!(w.finals_to(vera).last(), Some(&403));
    assert_eq!(invites(&w, gw), 4);
}

#[test]
fn minutes_out_over_the_hours_cap_get_503_until_the_hour_has_room_again() {
    let mut w = World::new(&config("    outbound: { max_minutes_per_hour: 2 }\n"));
    let anna = registered(&mut w, ANNA, "10.0.0.1:5060", Answer::pick());
    let gw = gateway(&mut w, Answer::pick());
    // 130 s of talk: over the two minutes.
    w.dial(anna, "+79990001122", Some(130.0), None);
    w.run(135.0);
    assert_eq!(invites(&w, gw), 2);
    w.dial(anna, "+79990003344", None, None);
    w.run(2.0);
    assert_eq!(w.finals_to(anna).last(), Some(&503));
    assert!(last_final(&w, anna).contains("talked 2 minutes in the last hour"));
    assert!(matches!(refusals(&w)[..], [Refused::Minutes(2)]));
    // An hour after that call ended, its minutes no longer count.
    w.run(3600.0);
    w.dial(anna, "+79990003344", Some(0.3), None);
    w.run(2.0);
    assert_eq!(invites(&w, gw), 4);
}
