//! Calls through the B2BUA between two staff members, with SIPp as both phones: answered and
//! hung up by the caller, busy (voicemail answers), cancelled while ringing, hung up by the callee; the caller
//! must authenticate; a phone stays reachable across a restart of the server; a `kill -9` in
//! the middle of a call load loses no completed call (the history after the restart holds at
//! least every call the callee saw end) and the phones are back; a new revision applied about
//! every second during a call load fails no call.

use crate::peers::{credentials, ok, phone, phone_with, scenario_path, sipp};
use crate::support::{root, server_config, Server, TOKEN};
use std::process::Output;
use std::time::Duration;

const CALLER: (&str, &str) = ("ivan", "ivan-secret-2024");
const CALLEE: (&str, &str) = ("maria", "maria-secret-2024");
const CALLEE_EXTENSION: &str = "202";

fn server() -> Server {
    Server::start(&server_config(&format!(
        "      - {{ name: Ivan, login: {}, extension: \"201\", password: \"{}\" }}\n      - {{ name: Maria, login: {}, extension: \"{CALLEE_EXTENSION}\", password: \"{}\" }}\n",
        CALLER.0, CALLER.1, CALLEE.0, CALLEE.1
    )))
}

fn caller(server: &Server, dir: &std::path::Path, scenario: &str) -> Output {
    let csv = credentials(dir, CALLER);
    let scenario = scenario_path(scenario);
    sipp(
        server.sip.unwrap(),
        dir,
        scenario.to_str().unwrap(),
        &["-inf", &csv, "-s", CALLEE_EXTENSION, "-d", "200"],
    )
    .output()
    .unwrap()
}

/// Runs one call: the callee's scenario answering, the caller's calling. Returns the server.
fn call(uas: &str, uac: &str) -> Server {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let uas = phone(&server, dir.path(), CALLEE, uas, 1);
    ok(&caller(&server, dir.path(), uac), "the caller");
    uas.finished("the callee");
    server
}

#[test]
fn answered_call_hung_up_by_the_caller() {
    let server = call("uas_answer.xml", "uac_call.xml");
    let records = server.history("acme", 1);
    assert_eq!(records.len(), 1, "{records:?}");
    let r = &records[0];
    assert_eq!(
        (
            r["caller"].as_str(),
            r["callee"].as_str(),
            r["outcome"].as_str()
        ),
        (Some("ivan"), Some("maria"), Some("answered"))
    );
    let (started, answered, ended) = (
        r["started_ms"].as_u64().unwrap(),
        r["answered_ms"].as_u64().unwrap(),
        r["ended_ms"].as_u64().unwrap(),
    );
    assert!(started <= answered && answered <= ended, "{r}");
}

#[test]
fn a_busy_callee_sends_the_caller_to_voicemail() {
    // The PBX answers with the voicemail greeting; the caller hangs up on it.
    let server = call("uas_busy.xml", "uac_call.xml");
    let records = server.history("acme", 1);
    assert_eq!(records[0]["outcome"], "missed", "{}", records[0]);
}

#[test]
fn caller_cancels_while_ringing() {
    let server = call("uas_ring.xml", "uac_cancel.xml");
    assert_eq!(server.history("acme", 1)[0]["outcome"], "cancelled");
}

#[test]
fn callee_hangs_up() {
    let server = call("uas_hangup.xml", "uac_called_hangs_up.xml");
    assert_eq!(server.history("acme", 1)[0]["outcome"], "answered");
}

#[test]
fn an_unregistered_callee_s_voicemail_answers_and_unknown_numbers_are_not_found() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    // Nobody is registered as maria: her voicemail answers.
    ok(
        &caller(&server, dir.path(), "uac_call.xml"),
        "calling an unregistered colleague",
    );
    let csv = credentials(dir.path(), CALLER);
    let scenario = root().join("tests/sipp/uac_expect_404.xml");
    let out = sipp(
        server.sip.unwrap(),
        dir.path(),
        scenario.to_str().unwrap(),
        &["-inf", &csv, "-s", "999"],
    )
    .output()
    .unwrap();
    ok(&out, "calling an extension nobody has");
}

#[test]
fn audio_is_relayed_both_ways() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    // One second of PCMU silence for the caller to stream; the callee echoes what it receives.
    // Both SIPps bind their own media ports.
    std::fs::write(dir.path().join("audio.ulaw"), vec![0xffu8; 8000]).unwrap();
    let callee = phone_with(
        &server,
        dir.path(),
        CALLEE,
        "uas_answer.xml",
        1,
        &["-rtp_echo"],
    );
    let csv = credentials(dir.path(), CALLER);
    let uac = root().join("tests/sipp/uac_call_rtp.xml");
    let caller_trace = dir.path().join("ivan.log");
    let out = sipp(
        server.sip.unwrap(),
        dir.path(),
        uac.to_str().unwrap(),
        &[
            "-inf",
            &csv,
            "-s",
            CALLEE_EXTENSION,
            "-d",
            "200",
            "-trace_msg",
            "-message_file",
            caller_trace.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    ok(&out, "the caller");
    let callee_trace = callee.trace.clone();
    callee.finished("the callee");
    let r = &server.history("acme", 1)[0];
    let (there, back) = (
        r["rtp_caller_to_callee"].as_u64().unwrap(),
        r["rtp_callee_to_caller"].as_u64().unwrap(),
    );
    assert!(
        there >= 40 && back >= 40,
        "1 s of 20 ms packets each way through the relay: {r}\nthe caller:\n{}\n{}\n{}\nthe callee:\n{}\nthe server:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(&caller_trace).unwrap_or_default(),
        std::fs::read_to_string(&callee_trace).unwrap_or_default(),
        server.log()
    );
}

#[test]
fn hold_re_invite_is_passed_through() {
    let server = call("uas_hold.xml", "uac_hold.xml");
    assert_eq!(server.history("acme", 1)[0]["outcome"], "answered");
}

/// The callee's device sees a dialog of the PBX's own: no Call-ID or tag of the caller's.
#[test]
fn each_leg_is_its_own_dialog() {
    use crate::sip::{header, register, status, Phone};
    let server = server();
    let mut device = Phone::new(server.sip.unwrap());
    let (_, ok) = register(&mut device, CALLEE.0, CALLEE.1, "");
    assert_eq!(status(&ok), 200, "{ok}");
    let dir = tempfile::tempdir().unwrap();
    // The caller (SIPp) gives up after a moment; what matters is the INVITE the device gets.
    let call = {
        let dir = dir.path().to_path_buf();
        let target = server.sip.unwrap();
        std::thread::spawn(move || {
            let csv = credentials(&dir, CALLER);
            let scenario = root().join("bench/sip/sipp/uac_call.xml");
            sipp(
                target,
                &dir,
                scenario.to_str().unwrap(),
                &["-inf", &csv, "-s", CALLEE_EXTENSION, "-timeout", "3s"],
            )
            .output()
            .unwrap()
        })
    };
    let invite = device.receive().expect("the device is called");
    let _ = call.join();
    assert!(
        invite.starts_with("INVITE sip:maria@127.0.0.1:"),
        "{invite}"
    );
    let caller_call_id = "@127.0.0.1"; // SIPp's Call-IDs are "<n>-<pid>@127.0.0.1"
    let call_id = header(&invite, "Call-ID")[0];
    assert!(
        !call_id.ends_with(caller_call_id),
        "the caller's Call-ID leaked: {call_id}"
    );
    let from = header(&invite, "From")[0];
    assert!(!from.contains("SIPpTag"), "the caller's tag leaked: {from}");
    let via = header(&invite, "Via");
    assert_eq!(via.len(), 1, "only the PBX's Via: {invite}");
}

#[test]
fn a_phone_registered_before_a_restart_is_reachable_after_it() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let callee = phone(&server, dir.path(), CALLEE, "uas_answer.xml", 1);
    // The server stops and starts again (on a new port); the phone does not register again.
    let data = server.stop();
    let server = Server::start_in(data);
    server.wait_for_log("restored 1 registration(s)");
    ok(
        &caller(&server, dir.path(), "uac_call.xml"),
        "the caller, after the restart",
    );
    callee.ended("the callee");
    assert_eq!(server.history("acme", 1)[0]["outcome"], "answered");
}

#[test]
fn a_call_up_when_the_server_is_killed_is_closed_in_the_history_at_the_next_start() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let callee = phone(&server, dir.path(), CALLEE, "uas_answer.xml", 1);
    let csv = credentials(dir.path(), CALLER);
    let scenario = scenario_path("uac_call.xml");
    // A call held for a minute: it is up when the server dies.
    let mut caller = sipp(
        server.sip.unwrap(),
        dir.path(),
        scenario.to_str().unwrap(),
        &["-inf", &csv, "-s", CALLEE_EXTENSION, "-d", "60000"],
    )
    .spawn()
    .unwrap();
    let open = server.wait_for(
        "the call in the journal, answered",
        Duration::from_secs(15),
        || {
            let (status, body) = server.call("GET", "/api/v1/calls/open", Some(TOKEN), None);
            assert_eq!(status, 200, "{body}");
            let calls = body.as_array().cloned().unwrap_or_default();
            calls
                .iter()
                .any(|c| c["answered_by"] == "maria")
                .then_some(calls)
        },
    );
    assert_eq!(open.len(), 1, "{open:?}");
    let data = server.kill();
    let _ = caller.kill();
    let _ = caller.wait();
    drop(callee); // the server it registered with is gone: nothing to unregister
    let restarted = Server::start_in(data);
    let records = restarted.history("acme", 1);
    assert_eq!(records.len(), 1, "{records:?}");
    let r = &records[0];
    assert_eq!(r["outcome"], "answered", "{r}");
    assert_eq!(r["answered_by"], "maria", "{r}");
    assert_eq!(
        r["note"], "the server stopped while the call was in progress",
        "{r}"
    );
    assert!(restarted.log().contains("closed 1 call(s) in the history"));
    let (_, open) = restarted.call("GET", "/api/v1/calls/open", Some(TOKEN), None);
    assert_eq!(open, serde_json::json!([]));
}

/// SIPp calling the callee `calls` times, 10 calls a second, each held 300 ms (running).
fn call_load(server: &Server, dir: &std::path::Path, calls: u32) -> std::process::Child {
    let csv = credentials(dir, CALLER);
    let scenario = scenario_path("uac_call.xml");
    sipp(
        server.sip.unwrap(),
        dir,
        scenario.to_str().unwrap(),
        &[
            "-inf",
            &csv,
            "-s",
            CALLEE_EXTENSION,
            "-d",
            "300",
            "-r",
            "10",
            "-m",
            &calls.to_string(),
        ],
    )
    .spawn()
    .unwrap()
}

#[test]
fn a_kill_under_call_load_loses_no_completed_call_and_the_phones_are_back() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    // The callee answers every call; the caller makes 10 calls a second, each held 300 ms.
    let callee = phone(&server, dir.path(), CALLEE, "uas_answer.xml", 1000);
    let mut load = call_load(&server, dir.path(), 1000);
    // Killed in the middle of the load, with calls completed, in progress and ringing.
    server.wait_until(
        "twenty calls in the history",
        Duration::from_secs(30),
        || {
            let (_, body) = server.call(
                "GET",
                "/api/v1/calls?tenant=acme&limit=100",
                Some(TOKEN),
                None,
            );
            body.as_array().is_some_and(|a| a.len() >= 20)
        },
    );
    let data = server.kill();
    let _ = load.kill();
    let _ = load.wait();
    drop(callee);
    // Every call the callee saw end (its BYE answered) was completed before the kill.
    let completed = crate::peers::received(&dir.path().join("maria.log"), "BYE").len();
    assert!(completed >= 20, "{completed}");
    let restarted = Server::start_in(data);
    restarted.wait_for_log("restored 1 registration(s)");
    let (status, body) = restarted.call(
        "GET",
        "/api/v1/calls?tenant=acme&limit=10000",
        Some(TOKEN),
        None,
    );
    assert_eq!(status, 200);
    let records = body.as_array().cloned().unwrap_or_default();
    let answered = records
        .iter()
        .filter(|r| r["outcome"] == "answered")
        .count();
    assert!(
        answered >= completed,
        "{completed} calls completed before the kill, {answered} answered records after it"
    );
}

#[test]
fn a_reload_every_second_under_a_call_load_fails_no_call() {
    let staff = format!(
        "      - {{ name: Ivan, login: {}, extension: \"201\", password: \"{}\" }}\n      - {{ name: Maria, login: {}, extension: \"{CALLEE_EXTENSION}\", password: \"{}\" }}\n",
        CALLER.0, CALLER.1, CALLEE.0, CALLEE.1
    );
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let callee = phone(&server, dir.path(), CALLEE, "uas_answer.xml", 50);
    // 50 calls, 10 a second, each held 300 ms: SIPp exits 0 only if every one succeeded.
    let load = call_load(&server, dir.path(), 50);
    // Meanwhile a new revision about every second: a third person comes and goes.
    let extra = "      - { name: Oleg, login: oleg, extension: \"203\" }\n";
    let mut revision = server.revision();
    for i in 0..5 {
        let yaml = server_config(&if i % 2 == 0 {
            format!("{staff}{extra}")
        } else {
            staff.clone()
        });
        let body =
            serde_json::json!({ "bundle": { "main": "pbx.yaml", "files": { "pbx.yaml": yaml } }, "force": true })
                .to_string();
        let (status, answer) = server.call("POST", "/api/v1/apply", Some(TOKEN), Some(&body));
        assert_eq!(status, 200, "{answer}");
        revision += 1;
        server.wait_for_revision(revision);
        // About a second of load (ten more calls reached the callee) before the next one.
        let trace = dir.path().join("maria.log");
        server.wait_until("ten more calls", Duration::from_secs(10), || {
            crate::peers::received(&trace, "INVITE").len() >= 10 * (i + 1)
        });
    }
    ok(&load.wait_with_output().unwrap(), "the caller's 50 calls");
    callee.finished("the callee took all 50");
    let (_, body) = server.call(
        "GET",
        "/api/v1/calls?tenant=acme&limit=100",
        Some(TOKEN),
        None,
    );
    let records = body.as_array().cloned().unwrap_or_default();
    assert_eq!(
        records
            .iter()
            .filter(|r| r["outcome"] == "answered")
            .count(),
        50
    );
}
