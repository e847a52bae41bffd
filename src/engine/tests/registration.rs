//! Registration on virtual time: digest, expiry, the same answer for strangers, persistence
//! across a restart, TCP.

use super::*;
use crate::sip::link::Link;
use crate::store::CallOutcome;

#[test]
fn a_phone_registers_with_digest_and_its_binding_expires_on_time() {
    let mut w = World::new(&config(""));
    let anna = w.phone(ANNA.0, ANNA.1, "10.0.0.1:5060", Answer::pick());
    w.register_for(anna, 60);
    assert_eq!(w.phone_ref(anna).register_answers, [200]);
    assert!(w
        .lines_to(anna)
        .iter()
        .any(|l| l.starts_with("SIP/2.0 401")));
    // The store is told of the binding.
    let aor = crate::sip::registrar::Aor::new("acme", "anna");
    assert_eq!(w.stored[&aor].len(), 1);
    // Reachable now...
    let boris = registered(&mut w, BORIS, "10.0.0.2:5060", Answer::pick());
    w.dial(boris, "210", Some(1.0), None);
    w.run(3.0);
    assert_eq!(w.record().outcome, CallOutcome::Answered);
    // ... not once the minute is over, and the store forgets it.
    w.run(60.0);
    assert!(
        !w.stored.contains_key(&aor),
        "the expired binding is forgotten"
    );
    w.dial(boris, "210", Some(1.0), None);
    w.run(3.0);
    // Nobody to ring: voicemail.
    assert_eq!(w.record().outcome, CallOutcome::Cancelled);
    assert!(w.record().answered_by.is_none());
    assert_eq!(w.finals_to(boris).last(), Some(&200));
}

#[test]
fn an_unknown_user_and_a_wrong_password_get_the_same_answer() {
    let mut w = World::new(&config(""));
    let wrong = w.phone("anna", "not-her-password", "10.0.0.1:5060", Answer::pick());
    let stranger = w.phone("nobody", "whatever", "10.0.0.2:5060", Answer::pick());
    w.register(wrong);
    w.register(stranger);
    assert_eq!(w.phone_ref(wrong).register_answers, [401]);
    assert_eq!(w.phone_ref(stranger).register_answers, [401]);
    let shape = |texts: Vec<String>| -> Vec<String> {
        texts
            .iter()
            .map(|t| {
                t.lines()
                    .map(|l| l.split(':').next().unwrap_or("").to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect()
    };
    assert_eq!(shape(w.texts_to(wrong)), shape(w.texts_to(stranger)));
}

#[test]
fn registrations_survive_a_restart() {
    let mut w = World::new(&config(""));
    let anna = registered(&mut w, ANNA, "10.0.0.1:5060", Answer::pick());
    let boris = registered(&mut w, BORIS, "10.0.0.2:5060", Answer::pick());
    w.run(5.0);
    w.restart();
    // Nobody registers again: anna is reachable from what the store kept.
    w.dial(boris, "210", Some(1.0), None);
    w.run(3.0);
    assert_eq!(w.received(anna, "INVITE").len(), 1);
    assert_eq!(w.record().outcome, CallOutcome::Answered);
}

#[test]
fn a_phone_registered_over_tcp_takes_calls_over_tcp() {
    let mut w = World::new(&config(""));
    let anna = w.phone_on(ANNA.0, ANNA.1, "10.0.0.1:5062", Link::Tcp, Answer::pick());
    w.register(anna);
    let boris = registered(&mut w, BORIS, "10.0.0.2:5060", Answer::pick());
    w.dial(boris, "210", Some(0.5), None);
    w.run(2.0);
    let invite = w
        .texts_to(anna)
        .into_iter()
        .find(|t| t.starts_with("INVITE"))
        .expect("an INVITE");
    assert!(invite.contains("Via: SIP/2.0/TCP"), "{invite}");
    assert_eq!(w.record().outcome, CallOutcome::Answered);
}
