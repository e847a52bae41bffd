//! Calls between staff on virtual time: answered and hung up by either side, busy, cancelled,
//! unavailable, not found, authentication, several devices, re-INVITEs, separate dialogs, and
//! the media commands each call gives the relay.

use super::phone::Outcome;
use super::*;
use crate::media::anchor::MediaCommand;
use crate::store::CallOutcome;

#[test]
fn an_answered_call_hung_up_by_the_caller_leaves_its_record_and_frees_the_relay() {
    let (mut w, anna, boris) = two();
    w.phone_mut(anna).default_answer = Answer::pick_after(2.0);
    let t0 = w.secs();
    w.dial(boris, "210", Some(3.0), None);
    w.run(10.0);
    w.arrives(anna, "INVITE", t0, 0.0);
    w.arrives(anna, "BYE", t0, 5.0);
    assert_eq!(w.phone_ref(boris).outcome(0), Some(Outcome::Answered));
    let r = w.record();
    assert_eq!((r.caller.as_str(), r.callee.as_str()), ("boris", "anna"));
    assert_eq!(r.outcome, CallOutcome::Answered);
    assert_eq!(r.answered_by.as_deref(), Some("anna"));
    assert!((1990..=2020).contains(&r.ring_ms), "{r:?}");
    assert!((2990..=3020).contains(&r.talk_ms), "{r:?}");
    assert_eq!((r.rtp_caller_to_callee, r.rtp_callee_to_caller), (50, 50));
    // The relay: started, both sides expected/pointed, closed once.
    let starts = w
        .media
        .iter()
        .filter(|m| matches!(m, MediaCommand::Start(_)))
        .count();
    let closes = w
        .media
        .iter()
        .filter(|m| matches!(m, MediaCommand::Close(_)))
        .count();
    assert_eq!((starts, closes), (1, 1));
    assert_eq!(w.calls(), 0);
    assert_eq!(w.held().0, 0, "nothing lingers");
}

#[test]
fn the_callee_hangs_up() {
    let (mut w, anna, boris) = two();
    w.phone_mut(anna).default_answer = Answer::Pick {
        after: std::time::Duration::from_secs(1),
        hold: Some(std::time::Duration::from_secs(2)),
    };
    let t0 = w.secs();
    w.dial(boris, "210", None, None);
    w.run(6.0);
    w.arrives(boris, "BYE", t0, 3.0);
    assert_eq!(w.record().outcome, CallOutcome::Answered);
    assert_eq!(w.calls(), 0);
}

#[test]
fn a_busy_or_declining_callee_sends_the_caller_to_voicemail() {
    for code in [486, 603] {
        let (mut w, anna, boris) = two();
        w.phone_mut(anna).default_answer = Answer::Refuse(code);
        w.dial(boris, "210", Some(1.0), None);
        w.run(3.0);
        // The PBX answers with the voicemail greeting; boris hangs up without a message.
        assert_eq!(w.finals_to(boris).last(), Some(&200), "after {code}");
        assert!(
            w.media
                .iter()
                .any(|c| matches!(c, MediaCommand::Serve { .. })),
            "{:?}",
            w.media
        );
        assert_eq!(w.record().outcome, CallOutcome::Missed);
    }
}

#[test]
fn the_caller_cancels_while_it_rings() {
    let (mut w, anna, boris) = two();
    w.phone_mut(anna).default_answer = Answer::Ring;
    let t0 = w.secs();
    w.dial(boris, "210", Some(1.0), Some(2.0));
    w.run(5.0);
    w.arrives(anna, "CANCEL", t0, 2.0);
    assert!(w.finals_to(boris).contains(&487));
    assert_eq!(w.record().outcome, CallOutcome::Cancelled);
    assert_eq!(w.calls(), 0);
}

#[test]
fn nobody_registered_reaches_voicemail_and_an_unknown_extension_is_not_found() {
    let mut w = World::new(&config(""));
    let boris = registered(&mut w, BORIS, "10.0.0.2:5060", Answer::pick());
    w.dial(boris, "210", Some(1.0), None);
    w.run(2.0);
    // Anna has no phone: her voicemail answers at once (boris hangs up on it).
    assert_eq!(w.finals_to(boris).last(), Some(&200));
    assert_eq!(w.record().outcome, CallOutcome::Cancelled);
    w.dial(boris, "nosuchperson", Some(1.0), None);
    w.run(2.0);
    assert_eq!(
        w.finals_to(boris).last(),
        Some(&404),
        "{:#?}",
        w.lines_to(boris)
    );
    assert_eq!(w.record().outcome, CallOutcome::NotFound);
}

#[test]
fn a_caller_must_authenticate() {
    let (mut w, anna, _) = two();
    let impostor = w.phone("boris", "wrong-password", "10.0.0.9:5060", Answer::pick());
    w.dial(impostor, "210", Some(1.0), None);
    w.run(3.0);
    assert!(
        w.received(anna, "INVITE").is_empty(),
        "nobody rings for an impostor"
    );
    let finals = w.finals_to(impostor);
    assert_eq!(finals, [407, 407], "challenged, and challenged again");
    assert!(w.records.is_empty());
}

#[test]
fn every_device_of_a_person_rings_and_the_first_answer_wins() {
    let mut w = World::new(&config(""));
    let desk = registered(&mut w, ANNA, "10.0.0.1:5060", Answer::pick_after(2.0));
    let soft = registered(&mut w, ANNA, "10.0.0.11:5060", Answer::pick_after(1.0));
    let boris = registered(&mut w, BORIS, "10.0.0.2:5060", Answer::pick());
    let t0 = w.secs();
    w.dial(boris, "210", Some(1.0), None);
    w.run(5.0);
    w.arrives(desk, "INVITE", t0, 0.0);
    w.arrives(soft, "INVITE", t0, 0.0);
    w.arrives(desk, "CANCEL", t0, 1.0);
    assert!(w.received(soft, "CANCEL").is_empty());
    assert_eq!(w.record().answered_by.as_deref(), Some("anna"));
}

#[test]
fn a_hold_re_invite_passes_through_to_the_other_side() {
    let (mut w, anna, boris) = two();
    w.dial(boris, "210", None, None);
    w.run(1.0);
    // anna puts boris on hold: her re-INVITE reaches boris, pointed at the relay.
    w.reinvite(anna);
    w.run(1.0);
    let reinvite = w
        .texts_to(boris)
        .into_iter()
        .find(|t| t.starts_with("INVITE"))
        .expect("the re-INVITE reached boris");
    assert!(reinvite.contains("c=IN IP4 127.0.0.1"), "{reinvite}");
    assert!(w.finals_to(anna).contains(&200));
    let repoints = w
        .media
        .iter()
        .filter(|m| matches!(m, MediaCommand::Repoint { .. }))
        .count();
    assert!(repoints >= 2, "both sides' new audio: {:?}", w.media);
}

#[test]
fn a_re_invite_s_contact_is_where_the_sender_is_reached_after() {
    // RFC 3261 §12.2.2: a re-INVITE refreshes its sender's remote target.
    let (mut w, anna, boris) = two();
    w.dial(boris, "210", Some(3.0), None);
    w.run(1.0);
    w.reinvite(anna);
    w.run(5.0);
    let bye = w
        .texts_to(anna)
        .into_iter()
        .find(|t| t.starts_with("BYE"))
        .expect("boris's hang-up reached anna");
    assert!(
        bye.starts_with("BYE sip:anna@") && bye.contains(";line=2 SIP/2.0"),
        "{bye}"
    );
}

#[test]
fn each_side_is_its_own_dialog() {
    let (mut w, anna, boris) = two();
    let call_id = w.dial(boris, "210", Some(1.0), None);
    w.run(3.0);
    let to_anna = w.texts_to(anna).join("\n");
    assert!(
        !to_anna.contains(&call_id),
        "the caller's Call-ID leaked to the callee"
    );
    let boris_tag = w
        .texts_to(boris)
        .iter()
        .find(|t| t.starts_with("SIP/2.0 200"))
        .and_then(|t| t.lines().find(|l| l.starts_with("To:")).map(str::to_string))
        .unwrap();
    let tag = boris_tag.split("tag=").nth(1).unwrap();
    assert!(
        !to_anna.contains(tag),
        "the PBX's tag towards boris appears towards anna"
    );
}

#[test]
fn a_call_that_finds_no_relay_ports_is_refused_with_503_and_recorded() {
    let (mut w, anna, boris) = two();
    w.ports
        .exhausted
        .store(true, std::sync::atomic::Ordering::Relaxed);
    w.dial(boris, "210", Some(1.0), None);
    w.run(2.0);
    assert!(w.received(anna, "INVITE").is_empty());
    let refusal = w
        .texts_to(boris)
        .into_iter()
        .rfind(|t| t.starts_with("SIP/2.0 503"))
        .expect("503");
    assert!(refusal.contains("Retry-After: 5"), "{refusal}");
    let r = w.record();
    assert_eq!((r.outcome, r.status), (CallOutcome::Unavailable, Some(503)));
    assert!(w.notices.contains(&crate::engine::io::Notice::NoRelayPorts));
}

#[test]
fn a_call_in_progress_is_in_the_journal_until_its_record_is_written() {
    let (mut w, _anna, boris) = two();
    w.dial(boris, "210", Some(5.0), None);
    w.run(1.0);
    // Answered and up: the journal has it, answered by anna.
    assert_eq!(w.journal.len(), 1, "{:?}", w.journal);
    let open = w.journal.values().next().unwrap().clone();
    assert_eq!(open.answered_by.as_deref(), Some("anna"));
    assert_eq!(open.outcome, CallOutcome::Answered);
    assert!(open.answered_ms.is_some());
    w.run(6.0);
    assert!(w.journal.is_empty(), "the finished call left the journal");
    assert_eq!(
        w.record().journal,
        open.journal,
        "its record names the same entry"
    );
}
