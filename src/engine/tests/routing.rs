//! Call routing end to end on virtual time: a call from outside through the trunk to the
//! company number, the department's members ringing as the strategy says (checked to the
//! millisecond from what each phone received), fallbacks, schedules, presence — and what the
//! history record says.

use super::*;
use crate::store::CallOutcome;

fn department(
    strategy: &str,
    step: &str,
    ring_time: &str,
    members: &str,
    no_answer: &str,
) -> String {
    format!(
        "    departments:\n      - {{ id: support, strategy: {strategy}, step: {step}, ring_time: {ring_time}, members: [{members}]{no_answer} }}\n    numbers:\n      - {{ number: \"{DID}\", destination: {{ department: support }} }}\n"
    )
}

/// The three staff phones, registered, answering as given.
fn phones(w: &mut World, answers: [Answer; 3]) -> [PhoneId; 3] {
    let [a, b, c] = answers;
    [
        registered(w, ANNA, "10.0.0.1:5060", a),
        registered(w, BORIS, "10.0.0.2:5060", b),
        registered(w, VERA, "10.0.0.3:5060", c),
    ]
}

#[test]
fn in_order_rings_each_member_for_its_step_then_forwards_through_the_trunk() {
    let mut w = World::new(&config(&department(
        "in_order",
        "2s",
        "6s",
        "anna, boris, vera",
        ", no_answer: { forward: { number: \"+79990001122\", timeout: 10s } }",
    )));
    let staff = phones(&mut w, [Answer::Ring, Answer::Ring, Answer::Ring]);
    let gw = gateway(&mut w, Answer::pick());
    let caller = outside_caller(&mut w);
    let t0 = w.secs();
    w.dial(caller, DID, Some(0.5), None);
    w.run(10.0);
    for (i, phone) in staff.into_iter().enumerate() {
        let step = 2.0 * i as f64;
        at("INVITE", w.received(phone, "INVITE").first(), t0, step);
        at(
            "CANCEL",
            w.received(phone, "CANCEL").first(),
            t0,
            step + 2.0,
        );
    }
    // At the ring time, the forward: through the trunk, the number rewritten for it, challenged
    // once and answered with the trunk's credentials, the outside caller's number kept.
    let invites: Vec<String> = w
        .texts_to(gw)
        .into_iter()
        .filter(|t| t.starts_with("INVITE"))
        .collect();
    assert_eq!(invites.len(), 2, "challenged, then with credentials");
    w.arrives(gw, "INVITE", t0, 6.0);
    assert!(
        invites[1].starts_with("INVITE sip:89990001122@127.0.0.2"),
        "{}",
        invites[1]
    );
    assert!(
        invites[1].contains("From: <sip:+79161112233@127.0.0.1:5060>"),
        "{}",
        invites[1]
    );
    assert!(invites[1].contains("Proxy-Authorization: Digest username=\"trunkuser\""));
    let r = w.record();
    assert_eq!(r.outcome, CallOutcome::Forwarded);
    assert_eq!(r.caller, "+79161112233");
    assert_eq!(r.number.as_deref(), Some(DID));
    assert_eq!(r.departments, ["support"]);
    assert_eq!(r.offered, ["anna", "boris", "vera", "+79990001122"]);
    assert_eq!(r.answered_on.as_deref(), Some("+79990001122"));
    assert!((5_990..=6_050).contains(&r.ring_ms), "{r:?}");
    assert!((490..=520).contains(&r.talk_ms), "{r:?}");
}

#[test]
fn a_refusal_moves_on_at_once_and_the_no_answer_transfer_follows() {
    let mut w = World::new(&config(&department(
        "in_order",
        "2s",
        "2s",
        "anna, boris",
        ", no_answer: { transfer: { staff: vera } }",
    )));
    let [_, boris, vera] = phones(&mut w, [Answer::Refuse(486), Answer::Ring, Answer::pick()]);
    let caller = outside_caller(&mut w);
    let t0 = w.secs();
    w.dial(caller, DID, Some(0.3), None);
    w.run(5.0);
    // anna is busy: boris rings at once, not after the step.
    w.arrives(boris, "INVITE", t0, 0.0);
    w.arrives(boris, "CANCEL", t0, 2.0);
    w.arrives(vera, "INVITE", t0, 2.0);
    let r = w.record();
    assert_eq!(r.outcome, CallOutcome::Transferred);
    assert_eq!(r.answered_by.as_deref(), Some("vera"));
    assert_eq!(r.offered, ["anna", "boris", "vera"]);
}

#[test]
fn all_at_once_rings_everyone_and_the_first_answer_cancels_the_rest() {
    let mut w = World::new(&config(&department(
        "all_at_once",
        "1s",
        "20s",
        "anna, boris, vera",
        "",
    )));
    let [anna, boris, vera] = phones(
        &mut w,
        [Answer::Ring, Answer::pick_after(1.0), Answer::Refuse(486)],
    );
    let caller = outside_caller(&mut w);
    let t0 = w.secs();
    w.dial(caller, DID, Some(0.3), None);
    w.run(3.0);
    w.arrives(boris, "INVITE", t0, 0.0);
    w.arrives(vera, "INVITE", t0, 0.0);
    // boris answers at 1 s; anna is cancelled then, not at the end of the ring time.
    w.arrives(anna, "CANCEL", t0, 1.0);
    let r = w.record();
    assert_eq!(r.outcome, CallOutcome::Answered);
    assert_eq!(r.answered_by.as_deref(), Some("boris"));
    assert_eq!(r.offered, ["anna", "boris", "vera"]);
}

#[test]
fn increasing_adds_a_member_each_step_and_cancels_nobody_until_the_answer() {
    let mut w = World::new(&config(&department(
        "increasing",
        "1500ms",
        "20s",
        "anna, boris, vera",
        "",
    )));
    let [anna, boris, vera] = phones(&mut w, [Answer::Ring, Answer::Ring, Answer::pick()]);
    let caller = outside_caller(&mut w);
    let t0 = w.secs();
    w.dial(caller, DID, Some(0.3), None);
    w.run(5.0);
    w.arrives(anna, "INVITE", t0, 0.0);
    w.arrives(boris, "INVITE", t0, 1.5);
    w.arrives(vera, "INVITE", t0, 3.0);
    w.arrives(anna, "CANCEL", t0, 3.0);
    w.arrives(boris, "CANCEL", t0, 3.0);
    assert_eq!(w.record().answered_by.as_deref(), Some("vera"));
}

#[test]
fn evenly_starts_with_who_waited_longest_across_a_restart() {
    let mut w = World::new(&config(&department(
        "evenly",
        "5s",
        "20s",
        "anna, boris",
        "",
    )));
    let anna = registered(&mut w, ANNA, "10.0.0.1:5060", Answer::pick());
    let boris = registered(&mut w, BORIS, "10.0.0.2:5060", Answer::pick());
    let caller = outside_caller(&mut w);
    // Neither has received a call: the listed order.
    w.dial(caller, DID, Some(0.2), None);
    w.run(2.0);
    assert_eq!(w.record().answered_by.as_deref(), Some("anna"));
    // After a restart boris, who has waited longer, rings first; then anna again.
    w.restart();
    w.dial(caller, DID, Some(0.2), None);
    w.run(2.0);
    assert_eq!(w.record().answered_by.as_deref(), Some("boris"));
    w.dial(caller, DID, Some(0.2), None);
    w.run(2.0);
    assert_eq!(w.record().answered_by.as_deref(), Some("anna"));
    assert_eq!(w.received(anna, "INVITE").len(), 2);
    assert_eq!(w.received(boris, "INVITE").len(), 1);
}

#[test]
fn a_member_on_a_call_is_skipped() {
    let mut w = World::new(&config(&format!(
        "    departments:\n      - {{ id: sales, strategy: all_at_once, ring_time: 10s, members: [anna, boris] }}\n    numbers:\n      - {{ number: \"{DID}\", destination: {{ department: sales }} }}\n      - {{ number: \"+74950000002\", destination: {{ staff: anna }} }}\n"
    )));
    let anna = registered(&mut w, ANNA, "10.0.0.1:5060", Answer::pick());
    let boris = registered(&mut w, BORIS, "10.0.0.2:5060", Answer::pick());
    let first = outside_caller(&mut w);
    let second = w.peer(
        "second caller",
        "127.0.0.2:5071",
        crate::sip::link::Link::Udp(0),
        Answer::Silent,
    );
    // anna takes a direct call and stays on it ...
    w.dial(first, "+74950000002", Some(5.0), None);
    w.run(1.0);
    // ... meanwhile the department is called: only boris rings.
    w.dial(second, DID, Some(0.5), None);
    w.run(6.0);
    assert_eq!(w.received(anna, "INVITE").len(), 1, "anna was on a call");
    let department_call = w
        .records
        .iter()
        .find(|r| r.number.as_deref() == Some(DID))
        .unwrap();
    assert_eq!(department_call.offered, ["boris"]);
    assert_eq!(department_call.answered_by.as_deref(), Some("boris"));
    assert_eq!(w.received(boris, "INVITE").len(), 1);
}

#[test]
fn outside_working_hours_the_after_hours_destination_takes_the_call() {
    // The world's day (2026-11-25, Vladivostok) is a holiday.
    let mut w = World::new(&config(&format!(
        "    schedules:\n      - {{ id: office, hours: {{ weekdays: [\"00:00-24:00\"], saturday: [\"00:00-24:00\"], sunday: [\"00:00-24:00\"] }}, holidays: [\"2026-11-25\"] }}\n    numbers:\n      - {{ number: \"{DID}\", schedule: office, destination: {{ staff: anna }}, after_hours: {{ staff: boris }} }}\n      - {{ number: \"+74950000002\", schedule: office, destination: {{ staff: anna }} }}\n      - {{ number: \"+74950000003\", destination: {{ staff: anna }} }}\n"
    )));
    let anna = registered(&mut w, ANNA, "10.0.0.1:5060", Answer::pick());
    let boris = registered(&mut w, BORIS, "10.0.0.2:5060", Answer::pick());
    let caller = outside_caller(&mut w);
    w.dial(caller, DID, Some(0.2), None);
    w.run(2.0);
    assert_eq!(w.record().answered_by.as_deref(), Some("boris"));
    assert!(w.record().after_hours);
    assert!(w.received(anna, "INVITE").is_empty());
    // No after-hours destination: the PBX answers, plays the after-hours prompt, hangs up.
    w.dial(caller, "+74950000002", None, None);
    w.run(2.0);
    assert_eq!(w.finals_to(caller).last(), Some(&200));
    let relay = w.served_relay();
    w.media_event(crate::media::anchor::MediaEvent::PlayDone(relay));
    w.run(1.0);
    assert_eq!(w.received(caller, "BYE").len(), 1);
    let r = w.record();
    assert_eq!(r.outcome, CallOutcome::Closed);
    assert!(r.after_hours);
    assert!(
        r.note.as_deref().unwrap().contains("outside working hours"),
        "{r:?}"
    );
    // No schedule: 24/7.
    w.dial(caller, "+74950000003", Some(0.2), None);
    w.run(2.0);
    assert_eq!(w.record().answered_by.as_deref(), Some("anna"));
    let _ = boris;
}

#[test]
fn delayed_forwarding_rings_the_mobile_through_the_trunk_after_the_delay() {
    let mut w = World::new(&config_with(
        "      - { name: gleb, login: gleb, ring_time: 20s, mobile: { number: \"+79160000001\", forwarding: delayed, delay: 2s }, password: \"gleb-secret-2024\" }\n",
        &format!("    numbers:\n      - {{ number: \"{DID}\", destination: {{ staff: gleb }} }}\n"),
    ));
    let gleb = registered(
        &mut w,
        ("gleb", "gleb-secret-2024"),
        "10.0.0.4:5060",
        Answer::Ring,
    );
    let gw = gateway(&mut w, Answer::pick());
    let caller = outside_caller(&mut w);
    let t0 = w.secs();
    w.dial(caller, DID, Some(0.3), None);
    w.run(4.0);
    w.arrives(gw, "INVITE", t0, 2.0);
    // The mobile answers (after the trunk's challenge): the phone stops ringing.
    w.arrives(gleb, "CANCEL", t0, 2.0);
    let r = w.record();
    assert_eq!(r.answered_by.as_deref(), Some("gleb"));
    assert_eq!(r.answered_on.as_deref(), Some("gleb (mobile +79160000001)"));
    assert_eq!(r.outcome, CallOutcome::Answered);
}

#[test]
fn a_no_answer_forward_that_is_not_answered_goes_to_voicemail() {
    let mut w = World::new(&config(&department(
        "all_at_once",
        "1s",
        "3s",
        "anna",
        ", no_answer: { forward: { number: \"+79990001122\", timeout: 5s } }",
    )));
    let anna = registered(&mut w, ANNA, "10.0.0.1:5060", Answer::Ring);
    let gw = gateway(&mut w, Answer::Ring);
    let caller = outside_caller(&mut w);
    let t0 = w.secs();
    w.dial(caller, DID, Some(0.3), None);
    w.run(12.0);
    w.arrives(anna, "CANCEL", t0, 3.0);
    w.arrives(gw, "CANCEL", t0, 8.0);
    // The voicemail answers; the caller hangs up during the greeting.
    assert_eq!(w.finals_to(caller).last(), Some(&200));
    let r = w.record();
    assert_eq!(r.outcome, CallOutcome::Missed);
}

#[test]
fn staff_dialling_a_company_number_reach_its_flow_without_the_trunk() {
    let mut w = World::new(&config(&format!(
        "    numbers:\n      - {{ number: \"{DID}\", destination: {{ staff: boris }} }}\n"
    )));
    let anna = registered(&mut w, ANNA, "10.0.0.1:5060", Answer::pick());
    let boris = registered(&mut w, BORIS, "10.0.0.2:5060", Answer::pick());
    w.dial(anna, DID, Some(0.3), None);
    w.run(2.0);
    let r = w.record();
    assert_eq!(r.number.as_deref(), Some(DID));
    assert_eq!(r.caller, "anna");
    assert_eq!(r.answered_by.as_deref(), Some("boris"));
    assert_eq!(w.received(boris, "INVITE").len(), 1);
}

#[test]
fn calling_your_own_department_does_not_ring_you() {
    let mut w = World::new(&config(
        "    departments:\n      - { id: sales, extension: \"300\", strategy: all_at_once, members: [anna, boris] }\n",
    ));
    let annas_desk = registered(&mut w, ANNA, "10.0.0.1:5060", Answer::pick());
    let annas_mobile_app = w.phone(ANNA.0, ANNA.1, "10.0.0.11:5060", Answer::pick());
    let boris = registered(&mut w, BORIS, "10.0.0.2:5060", Answer::pick());
    w.dial(annas_mobile_app, "300", Some(0.3), None);
    w.run(2.0);
    assert!(
        w.received(annas_desk, "INVITE").is_empty(),
        "anna's own phone rang"
    );
    assert_eq!(w.received(boris, "INVITE").len(), 1);
    let r = w.record();
    assert_eq!(r.offered, ["boris"]);
    assert_eq!(r.answered_by.as_deref(), Some("boris"));
}

#[test]
fn a_call_keeps_the_config_it_started_with_across_a_reload() {
    let yaml = config(&department("in_order", "2s", "20s", "anna, boris", ""));
    let mut w = World::new(&yaml);
    let [anna, boris, vera] = phones(&mut w, [Answer::Ring, Answer::pick(), Answer::pick()]);
    let caller = outside_caller(&mut w);
    let t0 = w.secs();
    w.dial(caller, DID, Some(0.3), None);
    w.run(0.5);
    // While anna rings, the department is changed to vera alone.
    let edited = yaml.replace("members: [anna, boris]", "members: [vera]");
    assert_ne!(edited, yaml);
    w.reload(&edited);
    w.run(3.0);
    // The call in progress went on with the old members: boris after the step.
    w.arrives(boris, "INVITE", t0, 2.0);
    assert!(
        w.received(vera, "INVITE").is_empty(),
        "vera was not in that call's config"
    );
    assert_eq!(w.record().answered_by.as_deref(), Some("boris"));
    // The next call sees the new config.
    w.dial(caller, DID, Some(0.3), None);
    w.run(2.0);
    assert_eq!(w.record().answered_by.as_deref(), Some("vera"));
    assert_eq!(w.received(anna, "INVITE").len(), 1);
}
