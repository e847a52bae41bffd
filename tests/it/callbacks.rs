//! Impatient callers and callbacks on the wire, with a restart in between: a caller from the
//! telephone network (SIPp through the trunk) waits for the sales department, hears the offer,
//! presses 1 and confirms their number by SIP INFO, and is hung up on; the callback waits
//! (outside its hours), survives a restart of the server, and is made when the hours open:
//! anna's SIPp phone rings and answers, the trunk (a SIPp UAS on 127.0.0.2, echoing audio)
//! gets an INVITE for the caller's number and answers, and audio flows both ways through the
//! relay until the caller hangs up.

use crate::audio;
use crate::peers::{listening_peer, ok, phone_with, received, scenario_path, sipp_on, trace};
use crate::support::{Server, TOKEN};
use std::time::Duration;

const ANNA: (&str, &str) = ("anna", "anna-secret-2024");
const DID: &str = "+74950000001";
const CALLER: &str = "+79161112233";

/// Sales (anna) on `DID`, offering a callback after 1 s; callbacks are made within
/// `callback_hours` (a schedule's YAML, or none: any time).
fn config(trunk_port: u16, callback_hours: Option<&str>) -> String {
    let (schedule, hours) = match callback_hours {
        Some(h) => (
            ", schedule: closed".to_string(),
            format!("    schedules:\n      - {h}\n"),
        ),
        None => (String::new(), String::new()),
    };
    format!(
        "version: 1\nserver:\n  http: {{ listen: \"127.0.0.1:0\" }}\n  cabinet: {{ listen: \"127.0.0.1:0\" }}\n  sip:\n    listen: [{{ transport: udp, address: \"127.0.0.1:0\" }}]\ntenants:\n  - id: acme\n    name: Acme\n    domain: acme.example\n    max_users: 10\n    timezone: Europe/Moscow\n    language: en\n    trunks:\n      - {{ id: gw, host: 127.0.0.2, port: {trunk_port} }}\n    outbound_trunks: [gw]\n    staff:\n      - {{ name: Anna, login: anna, extension: \"210\", password: \"{}\", role: admin }}\n    departments:\n      - id: sales\n        strategy: all_at_once\n        ring_time: 60s\n        members: [anna]\n        impatient_callers:\n          after: 1s\n          callback: {{ ring_time: 30s{schedule} }}\n{hours}    numbers:\n      - {{ number: \"{DID}\", destination: {{ department: sales }} }}\n",
        ANNA.1
    )
}

/// A schedule closed today (Moscow): holidays from yesterday to tomorrow.
fn closed_today() -> String {
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::get("Europe/Moscow").unwrap())
        .date();
    let day = |n: i64| today.checked_add(jiff::Span::new().days(n)).unwrap();
    format!(
        "{{ id: closed, hours: {{ weekdays: [\"00:00-24:00\"], saturday: [\"00:00-24:00\"], sunday: [\"00:00-24:00\"] }}, holidays: [\"{}..{}\"] }}",
        day(-1),
        day(1)
    )
}

fn callbacks(server: &Server) -> Vec<serde_json::Value> {
    let (status, body) = server.call("GET", "/api/v1/tenants/acme/callbacks", Some(TOKEN), None);
    assert_eq!(status, 200, "{body}");
    body.as_array().cloned().unwrap_or_default()
}

#[test]
fn a_callback_ordered_before_a_restart_is_made_after_it_with_audio_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The caller's side of the callback: answers, echoes the audio for 3 s, hangs up.
    let trunk_log = d.join("trunk.log");
    let (mut trunk, port) = listening_peer(
        "127.0.0.2",
        d,
        "uas_answer_talk.xml",
        "u1",
        &trunk_log,
        &["-m", "1", "-d", "3000", "-rtp_echo", "-timeout", "120s"],
    );
    let server = Server::start(&config(port, Some(&closed_today())));
    // Anna's phone: rings 4 s and answers unless cancelled, twice (the department's call,
    // cancelled when the caller leaves the queue; the callback, answered), sending a tone.
    let pcap = d.join("anna.pcap");
    audio::audio_pcap(&pcap, &audio::sine(440.0, 15_000, 0.3));
    let anna = phone_with(
        &server,
        d,
        ANNA,
        "uas_ring_or_answer.xml",
        2,
        &["-key", "pcap", pcap.to_str().unwrap(), "-timeout", "120s"],
    );
    // The caller: the offer comes after 1 s (the PBX answers); 1 orders a callback, 1 confirms
    // the number read back; the PBX says so and hangs up.
    let caller = sipp_on(
        "127.0.0.2",
        server.sip.unwrap(),
        d,
        scenario_path("trunk_call_keys.xml").to_str().unwrap(),
        &[
            "-s",
            DID,
            "-key",
            "from_number",
            CALLER,
            "-key",
            "first",
            "1",
            "-key",
            "second",
            "1",
        ],
    )
    .output()
    .unwrap();
    ok(&caller, "the caller");
    let record = &server.history("acme", 1)[0];
    assert_eq!(record["outcome"], "callback_requested", "{record}");
    assert_eq!(
        record["departments"],
        serde_json::json!(["sales"]),
        "{record}"
    );
    let queued = callbacks(&server);
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0]["number"], CALLER);
    assert_eq!(queued[0]["department"], "sales");
    assert_eq!(queued[0]["attempts"], 0, "outside its hours: not tried");
    // The administrator sees it waiting in the cabinet.
    let cabinet = server
        .log()
        .lines()
        .find_map(|l| l.split("cabinet on ").nth(1).map(|u| u.trim().to_owned()))
        .expect("the cabinet listens");
    let mut admin = crate::cabinet::Browser::new(&cabinet);
    assert_eq!(admin.sign_in("acme.example", ANNA.0, ANNA.1).status, 200);
    let overview = admin.get("/api/acme/admin").json();
    assert_eq!(overview["callbacks"][0]["number"], CALLER, "{overview}");
    assert_eq!(
        overview["callbacks"][0]["department"], "sales",
        "{overview}"
    );

    // The server stops; the callback's hours open in the config it starts with.
    let data = server.stop();
    std::fs::write(data.path().join("pbx.yaml"), config(port, None)).unwrap();
    let server = Server::start_in(data);
    server.wait_for_log("callback(s) waiting");
    // Made: anna answers, hears who is called back, the trunk is called and answers.
    anna.ended("anna took the department's call and the callback");
    let status = trunk.wait().unwrap();
    assert!(status.success(), "the trunk's side of the callback");
    let invites: Vec<_> = trace(&trunk_log)
        .into_iter()
        .filter(|t| t.received && t.line.starts_with("INVITE "))
        .collect();
    assert_eq!(invites.len(), 1, "{invites:?}");
    assert!(
        invites[0]
            .line
            .starts_with(&format!("INVITE sip:{CALLER}@127.0.0.2:{port}")),
        "{invites:?}"
    );
    assert_eq!(
        received(&trunk_log, "BYE").len(),
        0,
        "the trunk hung up itself"
    );
    let record = server.wait_for("the callback's record", Duration::from_secs(15), || {
        server
            .history("acme", 1)
            .into_iter()
            .find(|r| r["outcome"] == "callback_completed")
    });
    assert_eq!(record["answered_by"], "anna", "{record}");
    assert_eq!(record["caller"], CALLER, "{record}");
    assert_eq!(record["number"], DID, "{record}");
    assert!(
        record["rtp_caller_to_callee"].as_u64().unwrap_or(0) > 50
            && record["rtp_callee_to_caller"].as_u64().unwrap_or(0) > 50,
        "audio both ways through the relay: {record}"
    );
    assert!(callbacks(&server).is_empty(), "completed: out of the queue");
}
