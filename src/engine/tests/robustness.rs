//! What the network and the operator do to calls, on virtual time: lost and duplicated
//! datagrams, CANCEL crossing an answer, a provisional answer that comes late, an ACK that
//! never comes, stopping the server (draining), and calls spread over several shards.

use super::*;
use crate::engine::io::Input;
use crate::sip::link::Link;
use crate::store::CallOutcome;
use std::net::SocketAddr;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn lost_invites_and_answers_are_retransmitted() {
    let (mut w, anna, boris) = two();
    // The first INVITE towards anna and the first 200 towards boris are lost.
    w.fault(addr("10.0.0.1:5060"), "INVITE", Fault::Drop, 1);
    w.fault(addr("10.0.0.2:5060"), "SIP/2.0 200", Fault::Drop, 1);
    let t0 = w.secs();
    w.dial(boris, "210", Some(2.0), None);
    w.run(6.0);
    // Timer A: the INVITE again after T1 (0.5 s).
    w.arrives(anna, "INVITE", t0, 0.5);
    // The caller's 200 again after T1, until the ACK.
    let oks: Vec<f64> = w
        .trace
        .iter()
        .filter(|t| {
            t.to == addr("10.0.0.2:5060")
                && t.line.starts_with("SIP/2.0 200")
                && t.text.contains("INVITE")
        })
        .map(|t| t.at)
        .collect();
    assert_eq!(oks.len(), 1, "one 200 got through: {oks:?}");
    at("the retransmitted 200", oks.first(), t0, 1.0);
    assert_eq!(w.record().outcome, CallOutcome::Answered);
    assert_eq!(w.records.len(), 1);
}

#[test]
fn duplicated_datagrams_make_one_call() {
    let (mut w, anna, boris) = two();
    w.fault(addr(super::world::PBX), "INVITE", Fault::Duplicate, 3);
    w.fault(addr(super::world::PBX), "SIP/2.0 180", Fault::Duplicate, 1);
    w.fault(addr(super::world::PBX), "SIP/2.0 200", Fault::Duplicate, 1);
    w.dial(boris, "210", Some(1.0), None);
    w.run(4.0);
    assert_eq!(w.received(anna, "INVITE").len(), 1);
    assert_eq!(w.records.len(), 1);
    assert_eq!(w.record().outcome, CallOutcome::Answered);
    assert_eq!(w.calls(), 0);
}

#[test]
fn a_leg_is_cancelled_only_once_it_answered_provisionally() {
    let mut w = World::new(&config(&format!(
        "    departments:\n      - {{ id: support, strategy: in_order, step: 1s, ring_time: 20s, members: [anna, boris] }}\n    numbers:\n      - {{ number: \"{DID}\", destination: {{ department: support }} }}\n"
    )));
    let anna = registered(&mut w, ANNA, "10.0.0.1:5060", Answer::Ring);
    let boris = registered(&mut w, BORIS, "10.0.0.2:5060", Answer::pick());
    // anna's first two 180s are lost (the second answers the INVITE's retransmission at
    // 0.5 s): when the step moves on at 1 s she has said nothing the PBX heard.
    w.fault(addr(super::world::PBX), "SIP/2.0 180", Fault::Drop, 2);
    let caller = outside_caller(&mut w);
    let t0 = w.secs();
    w.dial(caller, DID, Some(3.0), None);
    w.run(6.0);
    w.arrives(boris, "INVITE", t0, 1.0);
    // The CANCEL goes once her 180 arrives (answering the INVITE's retransmission at 1.5 s),
    // not before.
    let heard = w
        .trace
        .iter()
        .find(|t| {
            t.from == addr("10.0.0.1:5060")
                && t.to == addr(super::world::PBX)
                && t.line.starts_with("SIP/2.0 180")
        })
        .map(|t| t.at)
        .unwrap();
    at("anna's 180 heard", Some(&heard), t0, 1.502);
    w.arrives(anna, "CANCEL", heard, 0.001);
    assert_eq!(w.record().answered_by.as_deref(), Some("boris"));
    let answered_cancel = w
        .trace
        .iter()
        .any(|t| t.from == addr("10.0.0.1:5060") && t.line.starts_with("SIP/2.0 487"));
    assert!(answered_cancel, "anna's INVITE ended 487");
}

#[test]
fn a_leg_that_only_said_trying_is_cancelled_when_routing_moves_on() {
    let mut w = World::new(&config(&format!(
        "    departments:\n      - {{ id: support, strategy: in_order, step: 1s, ring_time: 20s, members: [anna, boris] }}\n    numbers:\n      - {{ number: \"{DID}\", destination: {{ department: support }} }}\n"
    )));
    let anna = registered(&mut w, ANNA, "10.0.0.1:5060", Answer::Trying);
    let boris = registered(&mut w, BORIS, "10.0.0.2:5060", Answer::pick());
    let caller = outside_caller(&mut w);
    let t0 = w.secs();
    w.dial(caller, DID, Some(1.0), None);
    w.run(3.0);
    // 100 Trying is a provisional answer (RFC 3261 §9.1): the CANCEL goes at the step.
    w.arrives(anna, "CANCEL", t0, 1.0);
    w.arrives(boris, "INVITE", t0, 1.0);
    assert_eq!(w.record().answered_by.as_deref(), Some("boris"));
}

#[test]
fn an_answer_crossing_the_cancel_is_acked_and_hung_up() {
    let (mut w, anna, boris) = two();
    w.phone_mut(anna).default_answer = Answer::pick_after(2.0);
    // boris hangs up at 2 s, just as anna picks up; the CANCEL reaches her after her 200 left.
    w.fault(
        addr("10.0.0.1:5060"),
        "CANCEL",
        Fault::Delay(std::time::Duration::from_millis(50)),
        1,
    );
    w.dial(boris, "210", Some(1.0), Some(1.999));
    w.run(5.0);
    let lines = w.lines_to(anna);
    let ack = lines.iter().position(|l| l.starts_with("ACK"));
    let bye = lines.iter().position(|l| l.starts_with("BYE"));
    assert!(ack.is_some() && bye > ack, "{lines:?}");
    assert_eq!(w.record().outcome, CallOutcome::Cancelled);
    assert_eq!(w.calls(), 0);
    assert_eq!(w.held().0, 0, "the late leg is settled and forgotten");
}

#[test]
fn a_cancel_that_loses_the_race_with_the_answer_leaves_the_call_up() {
    let (mut w, anna, boris) = two();
    w.phone_mut(anna).default_answer = Answer::pick_after(1.0);
    // boris's CANCEL reaches the PBX after anna's answer was passed to him.
    w.fault(
        addr(super::world::PBX),
        "CANCEL",
        Fault::Delay(std::time::Duration::from_millis(20)),
        1,
    );
    w.dial(boris, "210", Some(1.0), Some(0.995));
    w.run(4.0);
    // The PBX answers the CANCEL 200 and changes nothing; boris takes the call and hangs up.
    assert_eq!(w.records.len(), 1);
    assert_eq!(w.record().outcome, CallOutcome::Answered);
    assert!(w.received(anna, "CANCEL").is_empty());
    assert_eq!(w.received(anna, "BYE").len(), 1);
}

#[test]
fn an_answer_never_acknowledged_ends_the_call_on_both_sides() {
    let (mut w, anna, boris) = two();
    // Every ACK from boris is lost.
    w.fault(addr(super::world::PBX), "ACK", Fault::Drop, 100);
    let t0 = w.secs();
    w.dial(boris, "210", None, None);
    w.run(40.0);
    // 64·T1 = 32 s after the answer, a BYE to both.
    w.arrives(anna, "BYE", t0, 32.002);
    assert_eq!(w.received(boris, "BYE").len(), 1);
    let r = w.record();
    assert_eq!(
        r.note.as_deref(),
        Some("the caller never acknowledged the answer")
    );
    assert_eq!(w.calls(), 0);
}

#[test]
fn a_stop_refuses_new_calls_and_ends_the_rest_properly() {
    let (mut w, anna, boris) = two();
    let vera = registered(&mut w, VERA, "10.0.0.3:5060", Answer::Ring);
    w.dial(boris, "210", None, None);
    w.dial(anna, "212", None, None);
    w.run(1.0);
    assert_eq!(w.calls(), 2);
    w.tell_all(|_| Input::Drain);
    // New calls get 503 with Retry-After; the calls in progress go on.
    w.dial(vera, "211", None, None);
    w.run(1.0);
    let refusal = w
        .texts_to(vera)
        .into_iter()
        .rfind(|t| t.starts_with("SIP/2.0 503"))
        .expect("503 for a new call");
    assert!(refusal.contains("Retry-After: 60"), "{refusal}");
    assert_eq!(w.calls(), 2);
    // The grace is over: answered calls get a BYE on both sides, ringing ones CANCEL + 503.
    w.tell_all(Input::EndCalls);
    w.run(1.0);
    assert_eq!(w.received(anna, "BYE").len(), 1);
    assert_eq!(w.received(boris, "BYE").len(), 1);
    assert_eq!(w.received(vera, "CANCEL").len(), 1);
    assert_eq!(w.finals_to(anna).last(), Some(&503));
    assert_eq!(w.calls(), 0);
    assert_eq!(w.records.len(), 2);
    assert!(w
        .records
        .iter()
        .any(|r| r.note.as_deref() == Some("the server stopped")));
}

#[test]
fn calls_spread_over_shards_find_their_way_back() {
    let mut w = World::sharded(&config(""), 3);
    let anna = registered(&mut w, ANNA, "10.0.0.1:5060", Answer::pick());
    let boris = registered(&mut w, BORIS, "10.0.0.2:5060", Answer::pick());
    let vera = registered(&mut w, VERA, "10.0.0.3:5060", Answer::pick());
    // Twelve calls: their Call-IDs land on every shard; the legs' answers come back to the
    // shard that holds the call, and registrations made on one shard serve calls on another.
    for i in 0..12 {
        let (from, to) = [(anna, "211"), (boris, "212"), (vera, "210")][i % 3];
        w.dial(from, to, Some(0.5), None);
        w.run(2.0);
    }
    assert_eq!(w.records.len(), 12);
    assert!(w.records.iter().all(|r| r.outcome == CallOutcome::Answered));
    assert_eq!(w.calls(), 0);
    let _ = Link::Udp(0);
}
