//! Calls the PBX answers itself, on virtual time: the caller's side served by the media
//! endpoint (what the engine tells the media driver, checked command by command; what the
//! driver reports, injected) — voicemail, a voice menu, a greeting as early media before the
//! department answers, keys by SIP INFO merged with the driver's, and a caller hanging up
//! while recording.

use super::*;
use crate::media::anchor::{MediaCommand, MediaEvent};
use crate::media::dtmf::Via;
use crate::store::CallOutcome;
use std::time::Duration;

/// A prompt file that exists (the menus and greetings below name it).
fn prompt() -> String {
    format!(
        "{}/assets/prompts/en/please_hold.wav",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// What the engine told the media driver since `from`, as short words.
fn said(w: &World, from: usize) -> Vec<String> {
    w.media[from..]
        .iter()
        .filter_map(|c| match c {
            MediaCommand::Serve { codec, .. } => Some(format!("serve {}", codec.law.name())),
            MediaCommand::Play { clips, looped, .. } => Some(format!(
                "play {} {}",
                clips.len(),
                if *looped { "loop" } else { "once" }
            )),
            MediaCommand::Record { into, .. } => Some(format!("record {}", into.mailbox)),
            MediaCommand::StopRecording(_) => Some("stop".into()),
            MediaCommand::Bridge(_) => Some("bridge".into()),
            MediaCommand::Close(_) => Some("close".into()),
            _ => None,
        })
        .collect()
}

fn number(destination: &str, greeting: bool) -> String {
    let greeting = if greeting {
        format!(", greeting: \"{}\"", prompt())
    } else {
        String::new()
    };
    format!(
        "    departments:\n      - {{ id: support, strategy: all_at_once, ring_time: 10s, members: [anna], no_answer: voicemail }}\n    menus:\n      - {{ id: main, prompt: \"{}\", options: {{ \"1\": {{ department: support }}, \"2\": {{ voicemail: anna }} }}, timeout: 5s, repeat: 2 }}\n    numbers:\n      - {{ number: \"{DID}\", destination: {destination}{greeting} }}\n",
        prompt()
    )
}

#[test]
fn a_department_nobody_answers_takes_a_voicemail_and_the_history_says_so() {
    let mut w = World::new(&config(&number("{ department: support }", false)));
    let anna = registered(&mut w, ANNA, "10.0.0.1:5060", Answer::Ring);
    let caller = outside_caller(&mut w);
    w.dial(caller, DID, None, None);
    w.run(10.5);
    assert_eq!(w.received(anna, "CANCEL").len(), 1, "the ring time ended");
    // The PBX answers with its own SDP: PCMU (the caller's first) and its telephone-event.
    let ok = w
        .texts_to(caller)
        .into_iter()
        .find(|t| t.starts_with("SIP/2.0 200"))
        .expect("the PBX answered");
    assert!(
        ok.contains("m=audio") && ok.contains("RTP/AVP 0 101"),
        "{ok}"
    );
    assert_eq!(said(&w, 0), ["serve PCMU", "play 1 once"]);
    let relay = w.served_relay();
    let mark = w.media.len();
    // The greeting ends: recording into anna's box; the caller presses # to end it.
    w.media_event(MediaEvent::PlayDone(relay));
    assert_eq!(said(&w, mark), ["record department:support"]);
    w.media_event(MediaEvent::Digit {
        relay,
        digit: '#',
        via: Via::Rfc4733,
    });
    assert_eq!(said(&w, mark + 1), ["stop"]);
    w.media_event(MediaEvent::Recorded {
        relay,
        duration: Duration::from_secs(7),
        kept: true,
    });
    w.run(1.0);
    assert_eq!(w.received(caller, "BYE").len(), 1, "the PBX hangs up");
    let r = w.record();
    assert_eq!(r.outcome, CallOutcome::Voicemail);
    assert_eq!(r.note.as_deref(), Some("the caller left a voicemail"));
}

#[test]
fn a_menu_choice_rings_the_department_and_the_answer_is_bridged_without_a_second_200() {
    let mut w = World::new(&config(&number("{ menu: main }", false)));
    let anna = registered(&mut w, ANNA, "10.0.0.1:5060", Answer::pick_after(3.0));
    let caller = outside_caller(&mut w);
    w.dial(caller, DID, Some(5.0), None);
    w.run(0.5);
    assert_eq!(w.finals_to(caller), [200], "the menu answers at once");
    assert_eq!(said(&w, 0), ["serve PCMU", "play 1 once"]);
    assert!(w.received(anna, "INVITE").is_empty());
    let relay = w.served_relay();
    let mark = w.media.len();
    // The same press, by INFO and by RFC 4733: one choice.
    w.info(caller, '1');
    w.run(0.1);
    w.media_event(MediaEvent::Digit {
        relay,
        digit: '1',
        via: Via::Rfc4733,
    });
    w.run(0.1);
    assert_eq!(
        said(&w, mark),
        ["play 1 loop"],
        "ringback while support rings"
    );
    assert_eq!(w.received(anna, "INVITE").len(), 1);
    let invite = w
        .texts_to(anna)
        .into_iter()
        .find(|t| t.starts_with("INVITE"))
        .unwrap();
    assert!(
        invite.contains("RTP/AVP 0 101\r\n"),
        "offered what the caller was answered with"
    );
    w.run(4.0);
    assert_eq!(said(&w, mark)[1..], ["bridge"]);
    let answers = w
        .texts_to(caller)
        .into_iter()
        .filter(|t| t.starts_with("SIP/2.0 200") && t.contains("INVITE\r\n"))
        .count();
    assert_eq!(answers, 1, "no second answer");
    w.run(6.0);
    let r = w.record();
    assert_eq!(r.outcome, CallOutcome::Answered);
    assert_eq!(r.answered_by.as_deref(), Some("anna"));
}

#[test]
fn a_greeting_plays_as_early_media_then_ringback_and_the_answer_keeps_its_sdp() {
    let mut w = World::new(&config(&number("{ department: support }", true)));
    let _anna = registered(&mut w, ANNA, "10.0.0.1:5060", Answer::pick_after(4.0));
    let caller = outside_caller(&mut w);
    w.dial(caller, DID, Some(2.0), None);
    w.run(0.5);
    let texts = w.texts_to(caller);
    let progress = texts
        .iter()
        .find(|t| t.starts_with("SIP/2.0 183"))
        .expect("early media");
    assert!(
        !texts.iter().any(|t| t.starts_with("SIP/2.0 180")),
        "the phone's 180 is not passed"
    );
    assert_eq!(said(&w, 0), ["serve PCMU", "play 1 once"]);
    let relay = w.served_relay();
    w.media_event(MediaEvent::PlayDone(relay));
    assert_eq!(
        said(&w, 0),
        ["serve PCMU", "play 1 once", "play 1 loop"],
        "then ringback"
    );
    w.run(4.0);
    assert_eq!(said(&w, 0)[3..], ["bridge"]);
    let ok = w
        .texts_to(caller)
        .into_iter()
        .find(|t| t.starts_with("SIP/2.0 200"))
        .expect("answered");
    let body = |t: &str| t.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    assert_eq!(
        body(&ok),
        body(progress),
        "the 200 repeats the 183's answer"
    );
    w.run(3.0);
    assert_eq!(w.record().outcome, CallOutcome::Answered);
}

#[test]
fn a_caller_who_hangs_up_while_recording_leaves_the_message() {
    let mut w = World::new(&config(&number("{ voicemail: anna }", false)));
    let caller = outside_caller(&mut w);
    w.dial(caller, DID, None, None);
    w.run(0.5);
    let relay = w.served_relay();
    w.media_event(MediaEvent::PlayDone(relay));
    assert!(said(&w, 0).contains(&"record staff:anna".to_string()));
    w.run(5.0);
    w.hang_up(caller);
    w.run(3.0);
    // The driver ends the recording as the relay closes, and reports it before `Closed`.
    assert!(said(&w, 0).ends_with(&["close".to_string()]));
    assert_eq!(w.received(caller, "BYE").len(), 0, "the caller hung up");
    let r = w.record();
    assert_eq!(r.outcome, CallOutcome::Voicemail);
    assert_eq!(r.note.as_deref(), Some("the caller left a voicemail"));
}

#[test]
fn a_caller_in_a_menu_that_sends_a_re_invite_gets_the_pbx_s_answer_again() {
    let mut w = World::new(&config(&number("{ menu: main }", false)));
    let caller = outside_caller(&mut w);
    w.dial(caller, DID, None, None);
    w.run(0.5);
    let first = w
        .texts_to(caller)
        .into_iter()
        .find(|t| t.starts_with("SIP/2.0 200"))
        .unwrap();
    w.reinvite(caller);
    w.run(0.5);
    let answers: Vec<String> = w
        .texts_to(caller)
        .into_iter()
        .filter(|t| t.starts_with("SIP/2.0 200") && t.contains("CSeq: 2 INVITE"))
        .collect();
    assert_eq!(answers.len(), 1, "{:#?}", w.lines_to(caller));
    let body = |t: &str| t.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    assert_eq!(body(&answers[0]), body(&first));
    assert!(w.calls() == 1, "the call goes on");
}

#[test]
fn a_caller_offering_srtp_gets_srtp_with_the_pbx_key_and_the_callee_plain_rtp() {
    let mut w = World::new(&config(""));
    let anna = registered(&mut w, ANNA, "10.0.0.1:5060", Answer::pick());
    let boris = registered(&mut w, BORIS, "10.0.0.2:5060", Answer::pick());
    w.phone_mut(boris).srtp = true;
    w.dial(boris, "210", Some(2.0), None);
    w.run(3.0);
    let invite = w
        .texts_to(anna)
        .into_iter()
        .find(|t| t.starts_with("INVITE "))
        .expect("anna rings");
    assert!(
        invite.contains("RTP/AVP 0 101") && !invite.contains("a=crypto"),
        "{invite}"
    );
    let ok = w
        .texts_to(boris)
        .into_iter()
        .find(|t| t.starts_with("SIP/2.0 200") && t.contains(" INVITE\r\n"))
        .expect("boris is answered");
    assert!(ok.contains("RTP/SAVP 0 101"), "{ok}");
    let line = ok
        .lines()
        .find(|l| l.starts_with("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"))
        .unwrap_or_else(|| panic!("the PBX's key for boris: {ok}"));
    assert!(
        !line.contains("WnD7c1ksDGs"),
        "the PBX's own key, not boris's"
    );
    let keys = w
        .media
        .iter()
        .find_map(|c| match c {
            MediaCommand::Secure {
                side: crate::media::anchor::Side::Caller,
                keys,
                ..
            } => Some(keys.clone()),
            _ => None,
        })
        .expect("the caller's side of the relay speaks SRTP");
    assert_eq!(
        keys.remote[..3],
        [0x5a, 0x70, 0xfb],
        "boris's key, from his offer"
    );
    assert_ne!(keys.local, keys.remote);
    assert_eq!(w.record().outcome, CallOutcome::Answered);
}
