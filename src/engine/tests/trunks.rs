//! Trunks on virtual time: who may call in and out, digest towards the provider, failover to
//! the next trunk, the trunk's registration lifecycle, a trunk over TCP.

use super::*;
use crate::engine::io::Notice;
use crate::sip::link::Link;
use crate::store::CallOutcome;

#[test]
fn only_trunks_and_authenticated_staff_reach_numbers_and_the_trunk() {
    let mut w = World::new(&config(&format!(
        "    numbers:\n      - {{ number: \"{DID}\", destination: {{ staff: anna }} }}\n"
    )));
    let anna = registered(&mut w, ANNA, "10.0.0.1:5060", Answer::pick());
    let gw = gateway(&mut w, Answer::pick());
    // Not from the trunk's address: challenged like any unknown caller, never put through.
    let stranger = w.peer("stranger", "10.9.9.9:5060", Link::Udp(0), Answer::Silent);
    w.dial(stranger, DID, Some(0.3), None);
    w.dial(stranger, "+79990001122", Some(0.3), None);
    // From the trunk, a number that is not the company's is not taken either.
    let trunk_caller = outside_caller(&mut w);
    w.dial(trunk_caller, "+74959999999", Some(0.3), None);
    w.run(3.0);
    assert_eq!(w.finals_to(stranger), [407, 407]);
    assert_eq!(w.finals_to(trunk_caller), [407]);
    assert!(w.received(anna, "INVITE").is_empty());
    assert!(w.received(gw, "INVITE").is_empty());
    assert!(w.records.is_empty());
    // A staff member calls out: through the trunk, which challenges; the PBX answers with the
    // trunk's credentials, dials the number rewritten, and presents the company's number.
    w.dial(anna, "+79990001122", Some(0.3), None);
    w.run(3.0);
    let invites: Vec<String> = w
        .texts_to(gw)
        .into_iter()
        .filter(|t| t.starts_with("INVITE"))
        .collect();
    assert_eq!(invites.len(), 2, "challenged once, then with credentials");
    assert!(
        invites[1].starts_with("INVITE sip:89990001122@127.0.0.2"),
        "{}",
        invites[1]
    );
    assert!(
        invites[1].contains(&format!("From: <sip:{DID}@127.0.0.1")),
        "{}",
        invites[1]
    );
    let r = w.record();
    assert_eq!(r.caller, "anna");
    assert_eq!(r.answered_on.as_deref(), Some("+79990001122"));
    assert_eq!(r.outcome, CallOutcome::Answered);
}

#[test]
fn a_failing_gateway_hands_calls_out_to_the_next_trunk() {
    let yaml = config("").replace(
        "    outbound_trunks: [gw]\n",
        "      - { id: down, host: 127.0.0.3, port: 5060 }\n    outbound_trunks: [down, gw]\n",
    );
    let mut w = World::new(&yaml);
    let anna = registered(&mut w, ANNA, "10.0.0.1:5060", Answer::pick());
    let down = w.peer("down", "127.0.0.3:5060", Link::Udp(0), Answer::Refuse(503));
    let gw = gateway(&mut w, Answer::pick());
    w.dial(anna, "+79990001122", Some(0.3), None);
    w.run(3.0);
    assert_eq!(w.received(down, "INVITE").len(), 1);
    assert_eq!(
        w.received(gw, "INVITE").len(),
        2,
        "challenged, then answered"
    );
    let r = w.record();
    assert_eq!(r.answered_on.as_deref(), Some("+79990001122"));
    assert_eq!(r.offered, ["+79990001122"]);
}

#[test]
fn a_silent_gateway_times_out_and_the_next_trunk_takes_the_call() {
    let yaml = config("").replace(
        "    outbound_trunks: [gw]\n",
        "      - { id: down, host: 127.0.0.3, port: 5060 }\n    outbound_trunks: [down, gw]\n",
    );
    let mut w = World::new(&yaml);
    let anna = registered(&mut w, ANNA, "10.0.0.1:5060", Answer::pick());
    let down = w.peer("down", "127.0.0.3:5060", Link::Udp(0), Answer::Silent);
    let gw = gateway(&mut w, Answer::pick());
    let t0 = w.secs();
    w.dial(anna, "+79990001122", Some(0.3), None);
    w.run(40.0);
    // Retransmitted on timer A (0.5, 1, 2, 4, 8, 16 s), given up at timer B (32 s).
    let tries = w.received(down, "INVITE");
    assert_eq!(tries.len(), 7, "{tries:?}");
    w.arrives(gw, "INVITE", t0, 32.0);
    assert_eq!(w.record().outcome, CallOutcome::Answered);
}

#[test]
fn a_trunk_registers_refreshes_and_unregisters_when_taken_out_of_the_config() {
    let yaml = config("").replace(
        "        auth: { username: trunkuser, password: trunk-secret }\n",
        "        auth: { username: trunkuser, password: trunk-secret }\n        register: true\n",
    );
    let mut w = World::new(&yaml);
    let registrar = w.peer("registrar", GATEWAY, Link::Udp(0), Answer::Silent);
    w.phone_mut(registrar).registrar = Some(100);
    w.run(1.0);
    assert!(
        w.notices
            .iter()
            .any(|n| matches!(n, Notice::TrunkRegistered { granted: 100, .. })),
        "{:?}",
        w.notices
    );
    // Refreshed at 80 % of the 100 s granted.
    w.run(85.0);
    let registers = w.received(registrar, "REGISTER");
    assert_eq!(registers.len(), 4, "two challenged rounds: {registers:?}");
    at("the refresh", registers.get(2), registers[1], 80.0);
    let first = w
        .texts_to(registrar)
        .into_iter()
        .find(|t| t.starts_with("REGISTER"))
        .unwrap();
    assert!(first.contains("To: <sip:trunkuser@127.0.0.2>"), "{first}");
    assert!(
        first.contains("Contact: <sip:trunkuser@127.0.0.1:5060"),
        "{first}"
    );
    // Taken out of the config: it unregisters.
    w.reload(&yaml.replace("register: true", "register: false"));
    w.run(2.0);
    let last = w
        .texts_to(registrar)
        .into_iter()
        .rfind(|t| t.starts_with("REGISTER"))
        .unwrap();
    assert!(last.contains("Expires: 0"), "{last}");
    assert!(w
        .notices
        .iter()
        .any(|n| matches!(n, Notice::TrunkUnregistered { .. })));
}

#[test]
fn a_trunk_over_tcp_gets_its_calls_over_tcp() {
    let yaml = config("").replace(
        "        port: 5060\n",
        "        transport: tcp\n        port: 5060\n",
    );
    let mut w = World::new(&yaml);
    let anna = registered(&mut w, ANNA, "10.0.0.1:5060", Answer::pick());
    let gw = w.peer("gateway", GATEWAY, Link::Tcp, Answer::pick());
    w.phone_mut(gw).challenge_invites = Some(("trunkuser".into(), "trunk-secret".into()));
    w.dial(anna, "+79990001122", Some(0.3), None);
    w.run(3.0);
    let invite = w
        .texts_to(gw)
        .into_iter()
        .find(|t| t.starts_with("INVITE"))
        .unwrap();
    assert!(
        invite.contains("Via: SIP/2.0/TCP 127.0.0.1:5060"),
        "{invite}"
    );
    assert!(
        invite.starts_with("INVITE sip:89990001122@127.0.0.2:5060;transport=tcp"),
        "{invite}"
    );
    assert_eq!(w.record().answered_on.as_deref(), Some("+79990001122"));
}
