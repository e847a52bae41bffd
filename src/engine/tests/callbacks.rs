//! Impatient callers and callbacks on virtual time: the offer while the department rings,
//! the callback ordered with the caller's keys (the media driver's reports injected), the
//! queue keeping it (`World::callbacks`, as `serve::callbacks` does), and the callback the PBX
//! makes — a member rung with the PBX's own offer, told who is called back, the caller's
//! number rung through the trunk, the two bridged — with its record and the queue's verdict.

use super::*;
use crate::media::anchor::{MediaCommand, MediaEvent};
use crate::media::dtmf::Via;
use crate::routing::queue::Attempt;
use crate::store::CallOutcome;

fn sales() -> String {
    format!(
        "    departments:\n      - id: sales\n        strategy: all_at_once\n        ring_time: 60s\n        members: [anna, boris]\n        impatient_callers:\n          after: 20s\n          callback: {{ ring_time: 30s, retry_after: 1m, attempts: 2 }}\n    numbers:\n      - {{ number: \"{DID}\", destination: {{ department: sales }} }}\n"
    )
}

fn key(w: &mut World, digit: char) {
    let relay = w.served_relay();
    w.media_event(MediaEvent::Digit {
        relay,
        digit,
        via: Via::Rfc4733,
    });
}

fn played(w: &mut World) {
    let relay = w.served_relay();
    w.media_event(MediaEvent::PlayDone(relay));
}

/// The caller waits 20 s, presses 1, hears their number and confirms with 1: ordered.
fn order_callback(w: &mut World, caller: PhoneId) {
    w.dial(caller, DID, None, None);
    w.run(20.5);
    assert_eq!(
        w.finals_to(caller),
        [200],
        "the PBX answers to make the offer"
    );
    key(w, '1');
    played(w);
    key(w, '1');
    played(w);
    w.run(1.0);
    assert_eq!(w.received(caller, "BYE").len(), 1, "the PBX hangs up");
    let r = w.record();
    assert_eq!(r.outcome, CallOutcome::CallbackRequested);
    assert_eq!(r.departments, ["sales"]);
}

#[test]
fn a_callback_is_ordered_then_a_free_member_calls_the_caller_back_through_the_trunk() {
    let mut w = World::new(&config(&sales()));
    let anna = registered(&mut w, ANNA, "10.0.0.1:5060", Answer::Ring);
    // The caller picks up after 2 s and talks for 10 s.
    let gw = gateway(
        &mut w,
        Answer::Pick {
            after: std::time::Duration::from_secs(2),
            hold: Some(std::time::Duration::from_secs(10)),
        },
    );
    let caller = outside_caller(&mut w);
    order_callback(&mut w, caller);
    assert_eq!(
        w.received(anna, "CANCEL").len(),
        1,
        "the department stopped ringing"
    );
    let queued = w.callbacks.entries();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].number, "+79161112233");
    assert_eq!(queued[0].dialled.as_deref(), Some(DID));

    // Anna is free (her phone picks up now): the callback starts.
    w.phone_mut(anna).default_answer = Answer::pick_after(1.0);
    let mark = w.media.len();
    let started = w.start_callbacks();
    assert_eq!(started.len(), 1);
    w.run(1.5);
    let invites: Vec<String> = w
        .texts_to(anna)
        .into_iter()
        .filter(|t| t.starts_with("INVITE "))
        .collect();
    let invite = invites.last().expect("anna's phone rings");
    assert!(
        invite.contains("\"Callback\" <sip:+79161112233@"),
        "{invite}"
    );
    assert!(
        invite.contains("RTP/AVP 0 8 101"),
        "the PBX's own offer: {invite}"
    );
    // She answered: served by the PBX, told who is called back.
    let told: Vec<&MediaCommand> = w.media[mark..].iter().collect();
    assert!(
        told.iter().any(|c| matches!(c, MediaCommand::Serve { .. })),
        "{told:?}"
    );
    assert!(
        told.iter().any(
            |c| matches!(c, MediaCommand::Play { clips, looped: false, .. } if clips.len() == 12)
        ),
        "the announcement and the 11 digits: {told:?}"
    );
    assert!(
        w.received(gw, "INVITE").is_empty(),
        "not before the announcement ends"
    );
    played(&mut w);
    w.run(3.0);
    let to_gateway: Vec<String> = w
        .texts_to(gw)
        .into_iter()
        .filter(|t| t.starts_with("INVITE "))
        .collect();
    let out = to_gateway.last().expect("the trunk is called");
    assert!(out.starts_with("INVITE sip:89161112233@"), "{out}");
    assert!(
        out.contains(&format!("From: <sip:{DID}@")),
        "the company's number: {out}"
    );
    assert!(
        out.contains("RTP/AVP 0 101"),
        "only the member's codec: {out}"
    );
    assert!(
        w.media.iter().any(|c| matches!(c, MediaCommand::Bridge(_))),
        "member and caller bridged"
    );
    assert!(w.callbacks.entries()[0].calling);
    w.run(11.0);
    assert_eq!(
        w.received(anna, "BYE").len(),
        1,
        "the caller hung up: so is the member"
    );
    let r = w.record();
    assert_eq!(r.outcome, CallOutcome::CallbackCompleted);
    assert_eq!(r.answered_by.as_deref(), Some("anna"));
    assert_eq!(r.caller, "+79161112233");
    assert_eq!(r.number.as_deref(), Some(DID));
    assert!(r.talk_ms >= 10_000, "{r:?}");
    assert!(
        r.note.as_deref().unwrap_or("").starts_with("called back "),
        "{r:?}"
    );
    assert_eq!(w.attempts, [(started[0], Attempt::Completed)]);
    assert!(w.callbacks.is_empty(), "completed: out of the queue");
}

#[test]
fn a_failed_attempt_waits_for_the_retry_and_the_last_one_gives_up() {
    let mut w = World::new(&config(&sales()));
    let anna = registered(&mut w, ANNA, "10.0.0.1:5060", Answer::Ring);
    let caller = outside_caller(&mut w);
    order_callback(&mut w, caller);
    // Anna is free but does not answer: the department's ring time passes.
    let id = w.start_callbacks()[0];
    w.run(61.0);
    assert_eq!(
        w.attempts,
        [(
            id,
            Attempt::Failed("no member of the department answered the callback".into())
        )]
    );
    let r = w.record();
    assert_eq!(r.outcome, CallOutcome::CallbackFailed);
    assert_eq!(r.offered, ["anna"]);
    // Not again before retry_after (1 m after the failure).
    assert!(w.start_callbacks().is_empty());
    w.run(60.0);
    assert_eq!(w.start_callbacks(), [id]);
    // The member answers now, but the caller's number never does (no gateway there): the
    // second and last attempt fails when the callback's ring time ends.
    w.phone_mut(anna).default_answer = Answer::pick();
    w.hang_up(anna);
    w.run(1.0);
    played(&mut w);
    w.run(31.0);
    assert_eq!(w.attempts.len(), 2, "{:?}", w.attempts);
    assert_eq!(
        w.attempts[1].1,
        Attempt::Failed("the caller's number did not answer the callback".into())
    );
    assert!(w.callbacks.is_empty(), "two attempts made: given up");
    assert_eq!(w.record().outcome, CallOutcome::CallbackFailed);
    assert_eq!(w.received(anna, "BYE").len(), 1, "the member is hung up on");
}

#[test]
fn keep_waiting_returns_to_the_ringback_and_a_member_answering_is_bridged() {
    let mut w = World::new(&config(&sales()));
    let anna = registered(&mut w, ANNA, "10.0.0.1:5060", Answer::pick_after(30.0));
    let caller = outside_caller(&mut w);
    w.dial(caller, DID, None, None);
    w.run(20.5);
    assert_eq!(w.finals_to(caller), [200]);
    let mark = w.media.len();
    key(&mut w, '2');
    assert!(
        matches!(&w.media[mark..], [MediaCommand::Play { looped: true, .. }]),
        "the ringback again: {:?}",
        &w.media[mark..]
    );
    w.run(15.0);
    assert!(w.media.iter().any(|c| matches!(c, MediaCommand::Bridge(_))));
    assert_eq!(w.finals_to(caller), [200], "no second 200");
    w.hang_up(caller);
    w.run(1.0);
    let r = w.record();
    assert_eq!(r.outcome, CallOutcome::Answered);
    assert_eq!(r.answered_by.as_deref(), Some("anna"));
    assert!(w.received(anna, "INVITE").len() == 1);
}

#[test]
fn voicemail_from_the_offer_goes_to_the_departments_box() {
    let mut w = World::new(&config(&sales()));
    let anna = registered(&mut w, ANNA, "10.0.0.1:5060", Answer::Ring);
    let caller = outside_caller(&mut w);
    w.dial(caller, DID, None, None);
    w.run(20.5);
    key(&mut w, '3');
    w.run(0.5);
    assert_eq!(w.received(anna, "CANCEL").len(), 1);
    played(&mut w);
    assert!(w.media.iter().any(
        |c| matches!(c, MediaCommand::Record { into, .. } if into.mailbox == "department:sales")
    ));
}
