//! Stopping the server without cutting calls short: after SIGTERM new calls get 503, calls in
//! progress go on and the server exits when they end; a second signal ends them properly (a
//! BYE to both sides). Either way every call leaves its history record.

use crate::peers::{
    call_refused, credentials, finished, ok, phone, received, scenario_path, sipp, Phone,
};
use crate::support::{server_config, Server};
use std::path::Path;
use std::process::Child;
use std::time::Duration;

const IVAN: (&str, &str) = ("ivan", "ivan-secret-2024");
const MARIA: (&str, &str) = ("maria", "maria-secret-2024");

fn server() -> Server {
    Server::start(&server_config(&format!(
        "      - {{ name: Ivan, login: ivan, extension: \"201\", password: \"{}\" }}\n      - {{ name: Maria, login: maria, extension: \"202\", password: \"{}\" }}\n",
        IVAN.1, MARIA.1
    )))
}

/// ivan calls maria (who answers) with `scenario`; returns once the call is up.
fn call_up(server: &Server, dir: &Path, scenario: &str, extra: &[&str]) -> (Child, Phone) {
    let maria = phone(server, dir, MARIA, "uas_answer.xml", 1);
    let csv = credentials(dir, IVAN);
    let mut args = vec!["-inf", csv.as_str(), "-s", "202"];
    args.extend_from_slice(extra);
    let ivan = sipp(
        server.sip.unwrap(),
        dir,
        scenario_path(scenario).to_str().unwrap(),
        &args,
    )
    .spawn()
    .unwrap();
    server.wait_until("the call to come up", Duration::from_secs(10), || {
        !received(&maria.trace, "ACK").is_empty()
    });
    (ivan, maria)
}

/// The call records in the directory of a stopped server.
fn records_after(dir: tempfile::TempDir) -> Vec<serde_json::Value> {
    let server = Server::start_in(dir);
    server.history("acme", 1)
}

#[test]
fn a_stop_waits_for_calls_in_progress_and_refuses_new_ones() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (ivan, maria) = call_up(&server, d, "uac_call.xml", &["-d", "2500"]);
    server.terminate();
    server.wait_for_log("stopping: new calls get 503");
    ok(
        &call_refused(&server, d, "127.0.0.1", "202", 503),
        "a new call while stopping",
    );
    finished(ivan, "ivan, hanging up after 2.5 s");
    maria.ended("maria");
    let (code, data) = server.exited(Duration::from_secs(10));
    assert_eq!(code, Some(0));
    let records = records_after(data);
    assert_eq!(records[0]["outcome"], "answered", "{records:?}");
    assert!(
        records[0]["talk_ms"].as_u64().unwrap() >= 2_000,
        "{records:?}"
    );
}

#[test]
fn a_second_signal_ends_the_calls_properly() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // ivan would hold on; the PBX hangs up on both sides.
    let (ivan, maria) = call_up(&server, d, "uac_called_hangs_up.xml", &[]);
    server.terminate();
    server.wait_for_log("stopping: new calls get 503");
    server.terminate();
    finished(ivan, "ivan, hung up by the PBX");
    maria.ended("maria, hung up by the PBX");
    let (code, data) = server.exited(Duration::from_secs(10));
    assert_eq!(code, Some(0));
    assert_eq!(records_after(data)[0]["outcome"], "answered");
}
