//! Call routing end to end: SIPp as the trunk (calling company numbers from 127.0.0.2, and
//! taking calls out there with digest authentication) and as the members' phones (registered
//! SIPp instances that ring, answer or refuse). Each test checks, from the phones' own message
//! traces, who got an INVITE and a CANCEL at which second — within a tolerance — and what the
//! history record says.

use crate::peers::{
    call_refused, credentials, finished, listening_peer, ok, phone, received, register_from,
    scenario_path, sipp, sipp_on,
};
use crate::support::Server;
use std::cell::RefCell;
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Child, Output};
use std::time::Duration;

const ANNA: (&str, &str) = ("anna", "anna-secret-2024");
const BORIS: (&str, &str) = ("boris", "boris-secret-2024");
const VERA: (&str, &str) = ("vera", "vera-secret-2024");
const DID: &str = "+74950000001";
const CALLER_NUMBER: &str = "+79161112233";
/// How far from the planned second an INVITE or CANCEL may land (the machine is shared).
const TOLERANCE: f64 = 0.6;

/// Tenant acme with anna, boris and vera, trunk `gw` on 127.0.0.2:`trunk_port` (with
/// credentials, `+7` dialled as `8`), and `extra` (departments, numbers, ...).
fn config(trunk_port: u16, staff_extra: &str, extra: &str) -> String {
    let staff: String = [ANNA, BORIS, VERA]
        .iter()
        .enumerate()
        .map(|(i, (login, password))| {
            format!("      - {{ name: {login}, login: {login}, extension: \"21{i}\", password: \"{password}\" }}\n")
        })
        .collect();
    format!(
        "version: 1\nserver:\n  http: {{ listen: \"127.0.0.1:0\" }}\n  sip:\n    listen: [{{ transport: udp, address: \"127.0.0.1:0\" }}]\ntenants:\n  - id: acme\n    name: Acme\n    domain: acme.example\n    max_users: 100\n    timezone: Asia/Vladivostok\n    trunks:\n      - id: gw\n        host: 127.0.0.2\n        port: {trunk_port}\n        outbound_rewrite: [{{ prefix: \"+7\", replace: \"8\" }}]\n        auth: {{ username: trunkuser, password: trunk-secret }}\n    outbound_trunks: [gw]\n    staff:\n{staff}{staff_extra}{extra}"
    )
}

/// The gateway's side of calls out, over SIPp transport `transport` (`u1` UDP, `t1` TCP):
/// challenges, checks the credentials, answers, `calls` times. Started before the server (its
/// port goes into the config), tracing to gateway.log in `dir`: (SIPp, its port).
fn gateway(dir: &Path, calls: u32, transport: &str) -> (Child, u16) {
    listening_peer(
        "127.0.0.2",
        dir,
        "uas_trunk_challenge.xml",
        transport,
        &log(dir, "gateway"),
        &["-m", &calls.to_string()],
    )
}

/// A trunk address where nothing answers: a socket on 127.0.0.2 that is kept (so the port
/// stays ours) and never read.
fn silent_trunk() -> (UdpSocket, u16) {
    let socket = UdpSocket::bind("127.0.0.2:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    (socket, port)
}

/// A call from the telephone network to `number` through the trunk, held `hold_ms` once
/// answered.
fn call_in(server: &Server, dir: &Path, number: &str, hold_ms: u32) -> Output {
    let trace = dir.join(format!("caller{number}.log"));
    sipp_on(
        "127.0.0.2",
        server.sip.unwrap(),
        dir,
        scenario_path("trunk_call.xml").to_str().unwrap(),
        &[
            "-s",
            number,
            "-key",
            "from_number",
            CALLER_NUMBER,
            "-d",
            &hold_ms.to_string(),
            "-trace_msg",
            "-message_file",
            trace.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap()
}

/// Asserts `at - t0` is `want` seconds, within the tolerance.
fn at_second(what: &str, at: Option<&f64>, t0: f64, want: f64) {
    let at = at.unwrap_or_else(|| panic!("{what}: never happened"));
    let got = at - t0;
    assert!(
        (got - want).abs() <= TOLERANCE,
        "{what}: at {got:.2}s, expected {want}s ± {TOLERANCE}s"
    );
}

fn log(dir: &Path, who: &str) -> std::path::PathBuf {
    dir.join(format!("{who}.log"))
}

/// Asserts the first `method` request reached `who` (by their trace in `dir`) `want` seconds
/// after `t0`, within the tolerance.
fn arrives(dir: &Path, who: &str, method: &str, t0: f64, want: f64) {
    let what = format!("{who}'s {method}");
    at_second(&what, received(&log(dir, who), method).first(), t0, want);
}

/// A server for tenant acme with `extra` config and its trunk: a SIPp gateway, or a silent one.
struct Scene {
    server: Server,
    dir: tempfile::TempDir,
    /// The SIPp gateway behind the trunk, until it is finished.
    gateway: RefCell<Option<Child>>,
    /// The silent trunk's socket, kept for the scene's life.
    _silent: Option<UdpSocket>,
}

impl Scene {
    /// A scene whose trunk never answers.
    fn new(staff_extra: &str, extra: &str) -> Scene {
        let (silent, port) = silent_trunk();
        let yaml = config(port, staff_extra, extra);
        Scene::start(tempfile::tempdir().unwrap(), &yaml, None, Some(silent))
    }

    /// A scene whose trunk is a SIPp gateway taking `calls` calls out over `transport` (SIPp's
    /// `u1` or `t1`), started before the server; its config is `config(...)` changed by `edit`.
    fn with_gateway(
        staff_extra: &str,
        extra: &str,
        calls: u32,
        transport: &str,
        edit: impl FnOnce(String) -> String,
    ) -> Scene {
        let dir = tempfile::tempdir().unwrap();
        let (gw, port) = gateway(dir.path(), calls, transport);
        let yaml = edit(config(port, staff_extra, extra));
        Scene::start(dir, &yaml, Some(gw), None)
    }

    fn start(
        dir: tempfile::TempDir,
        yaml: &str,
        gateway: Option<Child>,
        silent: Option<UdpSocket>,
    ) -> Scene {
        Scene {
            server: Server::start(yaml),
            dir,
            gateway: RefCell::new(gateway),
            _silent: silent,
        }
    }

    /// Waits for the gateway to have taken its calls.
    fn gateway_finished(&self) {
        let gw = self.gateway.borrow_mut().take().expect("a gateway");
        finished(gw, "the gateway");
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// One call from outside to the company number, held `hold_ms` once answered: `phones`
    /// (person, scenario) ring as their scenarios say; the scene's gateway, if it has one,
    /// takes its calls out. Returns when the first phone got its INVITE.
    fn call_the_number(&self, phones: &[((&str, &str), &str)], hold_ms: u32) -> f64 {
        let d = self.dir();
        let running: Vec<_> = phones
            .iter()
            .map(|(who, scenario)| (phone(&self.server, d, *who, scenario, 1), who.0))
            .collect();
        ok(&call_in(&self.server, d, DID, hold_ms), "the caller");
        for (p, who) in running {
            p.finished(who);
        }
        if self.gateway.borrow().is_some() {
            self.gateway_finished();
        }
        let first = phones[0].0 .0;
        received(&log(d, first), "INVITE")[0]
    }

    /// `who` (a staff member) dials `number` from a SIPp phone; answered, held 200 ms.
    fn staff_calls(&self, who: (&str, &str), number: &str) -> Output {
        let csv = credentials(self.dir(), who);
        sipp(
            self.server.sip.unwrap(),
            self.dir(),
            scenario_path("uac_call.xml").to_str().unwrap(),
            &["-inf", &csv, "-s", number, "-d", "200"],
        )
        .output()
        .unwrap()
    }

    /// The newest call record.
    fn record(&self) -> serde_json::Value {
        self.server.history("acme", 1)[0].clone()
    }
}

impl Drop for Scene {
    /// A gateway a failed test left behind is not left running.
    fn drop(&mut self) {
        if let Some(mut gw) = self.gateway.borrow_mut().take() {
            let _ = gw.kill();
            let _ = gw.wait();
        }
    }
}

#[test]
fn in_order_rings_each_member_for_its_step_then_forwards_through_the_trunk() {
    let scene = Scene::with_gateway(
        "",
        "    departments:\n      - id: support\n        strategy: in_order\n        step: 2s\n        ring_time: 6s\n        members: [anna, boris, vera]\n        no_answer: { forward: { number: \"+79990001122\", timeout: 10s } }\n    numbers:\n      - { number: \"+74950000001\", destination: { department: support } }\n",
        1,
        "u1",
        |yaml| yaml,
    );
    let ringing = "uas_ring.xml";
    let t0 = scene.call_the_number(&[(ANNA, ringing), (BORIS, ringing), (VERA, ringing)], 500);
    let d = scene.dir();
    for (i, who) in ["anna", "boris", "vera"].into_iter().enumerate() {
        let step = 2.0 * i as f64;
        arrives(d, who, "INVITE", t0, step);
        arrives(d, who, "CANCEL", t0, step + 2.0);
    }
    // At the ring time, the forward: through the trunk, the number rewritten for it.
    arrives(d, "gateway", "INVITE", t0, 6.0);
    let first = crate::peers::trace(&log(d, "gateway"))
        .into_iter()
        .find(|t| t.received && t.line.starts_with("INVITE"))
        .unwrap();
    assert!(
        first.line.starts_with("INVITE sip:89990001122@127.0.0.2"),
        "{}",
        first.line
    );

    // The forward keeps the outside caller's number, from the PBX's address.
    let text = std::fs::read_to_string(log(d, "gateway")).unwrap();
    assert!(
        text.contains("From: <sip:+79161112233@127.0.0.1:"),
        "{text}"
    );
    let record = scene.record();
    assert_eq!(record["outcome"], "forwarded", "{record}");
    assert_eq!(record["caller"], CALLER_NUMBER);
    assert_eq!(record["number"], DID);
    assert_eq!(record["departments"], serde_json::json!(["support"]));
    assert_eq!(
        record["offered"],
        serde_json::json!(["anna", "boris", "vera", "+79990001122"])
    );
    assert_eq!(record["answered_on"], "+79990001122");
    assert!(record["ring_ms"].as_u64().unwrap() >= 5_500, "{record}");
    assert!(record["talk_ms"].as_u64().unwrap() >= 400, "{record}");
}

#[test]
fn a_refusal_moves_on_at_once_and_the_no_answer_transfer_follows() {
    let scene = Scene::new(
        "",
        "    departments:\n      - id: support\n        strategy: in_order\n        step: 2s\n        ring_time: 2s\n        members: [anna, boris]\n        no_answer: { transfer: { staff: vera } }\n    numbers:\n      - { number: \"+74950000001\", destination: { department: support } }\n",
    );
    let t0 = scene.call_the_number(
        &[
            (ANNA, "uas_busy.xml"),
            (BORIS, "uas_ring.xml"),
            (VERA, "uas_answer.xml"),
        ],
        300,
    );
    let d = scene.dir();
    // anna is busy: boris rings at once, not after the step.
    arrives(d, "boris", "INVITE", t0, 0.0);
    arrives(d, "boris", "CANCEL", t0, 2.0);
    arrives(d, "vera", "INVITE", t0, 2.0);
    let record = scene.record();
    assert_eq!(record["outcome"], "transferred", "{record}");
    assert_eq!(record["answered_by"], "vera");
    assert_eq!(
        record["offered"],
        serde_json::json!(["anna", "boris", "vera"])
    );
}

#[test]
fn all_at_once_rings_everyone_and_the_first_answer_cancels_the_rest() {
    let scene = Scene::new(
        "",
        "    departments:\n      - { id: sales, strategy: all_at_once, ring_time: 20s, members: [anna, boris, vera] }\n    numbers:\n      - { number: \"+74950000001\", destination: { department: sales } }\n",
    );
    let t0 = scene.call_the_number(
        &[
            (ANNA, "uas_ring.xml"),
            (BORIS, "uas_answer.xml"),
            (VERA, "uas_busy.xml"),
        ],
        300,
    );
    let d = scene.dir();
    arrives(d, "boris", "INVITE", t0, 0.0);
    arrives(d, "vera", "INVITE", t0, 0.0);
    // boris answers at once; anna is cancelled then, not at the end of the ring time.
    arrives(d, "anna", "CANCEL", t0, 0.0);
    let record = scene.record();
    assert_eq!(record["outcome"], "answered", "{record}");
    assert_eq!(record["answered_by"], "boris");
    assert_eq!(
        record["offered"],
        serde_json::json!(["anna", "boris", "vera"])
    );
}

#[test]
fn a_member_on_a_call_is_skipped() {
    let scene = Scene::new(
        "",
        "    departments:\n      - { id: sales, strategy: all_at_once, ring_time: 10s, members: [anna, boris] }\n    numbers:\n      - { number: \"+74950000001\", destination: { department: sales } }\n      - { number: \"+74950000002\", destination: { staff: anna } }\n",
    );
    let (server, d) = (&scene.server, scene.dir().to_path_buf());
    let anna = phone(server, &d, ANNA, "uas_answer.xml", 1);
    let boris = phone(server, &d, BORIS, "uas_answer.xml", 1);
    // anna takes a direct call and stays on it for 3 s ...
    let first = std::thread::scope(|scope| {
        let first = scope.spawn(|| call_in(server, &d, "+74950000002", 3000));
        server.wait_until(
            "anna to be on the direct call",
            Duration::from_secs(10),
            || !received(&log(&d, "anna"), "ACK").is_empty(),
        );
        // ... meanwhile the department is called: only boris rings.
        ok(&call_in(server, &d, DID, 200), "the second caller");
        first.join().unwrap()
    });
    ok(&first, "the first caller");
    anna.finished("anna");
    boris.finished("boris");
    assert_eq!(
        received(&log(&d, "anna"), "INVITE").len(),
        1,
        "anna was on a call"
    );
    let records = server.history("acme", 2);
    let department_call = records.iter().find(|r| r["number"] == DID).unwrap();
    assert_eq!(
        department_call["offered"],
        serde_json::json!(["boris"]),
        "{department_call}"
    );
    assert_eq!(department_call["answered_by"], "boris");
}

#[test]
fn increasing_adds_a_member_each_step_and_cancels_nobody_until_the_answer() {
    let scene = Scene::new(
        "",
        "    departments:\n      - { id: sales, strategy: increasing, step: 1500ms, ring_time: 20s, members: [anna, boris, vera] }\n    numbers:\n      - { number: \"+74950000001\", destination: { department: sales } }\n",
    );
    let t0 = scene.call_the_number(
        &[
            (ANNA, "uas_ring.xml"),
            (BORIS, "uas_ring.xml"),
            (VERA, "uas_answer.xml"),
        ],
        300,
    );
    let d = scene.dir();
    arrives(d, "boris", "INVITE", t0, 1.5);
    arrives(d, "vera", "INVITE", t0, 3.0);
    arrives(d, "anna", "CANCEL", t0, 3.0);
    arrives(d, "boris", "CANCEL", t0, 3.0);
    assert_eq!(scene.record()["answered_by"], "vera");
}

#[test]
fn evenly_order_survives_a_restart() {
    let (_silent, trunk_port) = silent_trunk();
    let server = Server::start(&config(
        trunk_port,
        "",
        "    departments:\n      - { id: sales, strategy: evenly, step: 5s, ring_time: 20s, members: [anna, boris] }\n    numbers:\n      - { number: \"+74950000001\", destination: { department: sales } }\n",
    ));
    let first_call = |server: &Server, tag: &str| -> String {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let anna = phone(server, d, ANNA, "uas_answer.xml", 1);
        let boris = phone(server, d, BORIS, "uas_answer.xml", 1);
        ok(
            &call_in(server, d, DID, 200),
            &format!("the caller ({tag})"),
        );
        // Whoever was not rung still waits: stop them.
        let mut answered = String::new();
        for (p, who) in [(anna, "anna"), (boris, "boris")] {
            if received(&log(d, who), "INVITE").is_empty() {
                p.stop();
            } else {
                p.finished(who);
                answered = who.to_string();
            }
        }
        answered
    };
    // Neither has received a call: the listed order.
    assert_eq!(first_call(&server, "first"), "anna");
    assert_eq!(server.history("acme", 1)[0]["answered_by"], "anna");
    // After a restart boris, who has waited longer, rings first.
    let dir = server.stop();
    let server = Server::start_in(dir);
    assert_eq!(first_call(&server, "after the restart"), "boris");
    assert_eq!(first_call(&server, "third"), "anna");
}

#[test]
fn outside_working_hours_the_after_hours_destination_takes_the_call() {
    // Today, in the tenant's zone (Vladivostok, UTC+10, not the server's), is a holiday.
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::get("Asia/Vladivostok").unwrap())
        .date();
    let scene = Scene::new(
        "",
        &format!("    schedules:\n      - {{ id: office, hours: {{ weekdays: [\"00:00-24:00\"], saturday: [\"00:00-24:00\"], sunday: [\"00:00-24:00\"] }}, holidays: [\"{today}\"] }}\n    numbers:\n      - {{ number: \"+74950000001\", schedule: office, destination: {{ staff: anna }}, after_hours: {{ staff: boris }} }}\n      - {{ number: \"+74950000002\", schedule: office, destination: {{ staff: anna }} }}\n      - {{ number: \"+74950000003\", destination: {{ staff: anna }} }}\n"),
    );
    scene.call_the_number(&[(BORIS, "uas_answer.xml")], 200);
    let record = scene.record();
    assert_eq!(record["answered_by"], "boris");
    assert_eq!(record["after_hours"], true);
    let (server, d) = (&scene.server, scene.dir());

    // No after-hours destination: the prompt needs media; refused, and the log says why.
    ok(
        &call_refused(server, d, "127.0.0.2", "+74950000002", 480),
        "the caller after hours",
    );
    server.wait_for_log("outside working hours");
    // No schedule: 24/7.
    let anna = phone(server, d, ANNA, "uas_answer.xml", 1);
    ok(
        &call_in(server, d, "+74950000003", 200),
        "the caller, any time",
    );
    anna.finished("anna");
}

#[test]
fn only_trunks_and_authenticated_staff_reach_numbers_and_the_trunk() {
    let scene = Scene::with_gateway(
        "",
        "    numbers:\n      - { number: \"+74950000001\", destination: { staff: anna } }\n",
        1,
        "u1",
        |yaml| yaml,
    );
    let (server, d) = (&scene.server, scene.dir());
    // Not from the trunk's address: challenged like any unknown caller, never put through.
    ok(
        &call_refused(server, d, "127.0.0.1", DID, 407),
        "a stranger",
    );
    ok(
        &call_refused(server, d, "127.0.0.1", "+79990001122", 407),
        "a stranger calling out",
    );
    // From the trunk, a number that is not the company's is not taken either.
    ok(
        &call_refused(server, d, "127.0.0.2", "+74959999999", 407),
        "the trunk, wrong number",
    );

    // A staff member calls out: through the trunk, which challenges; the PBX answers with the
    // trunk's credentials, dials the number rewritten, and presents the company's number.
    let out = scene.staff_calls(ANNA, "+79990001122");
    ok(&out, "anna calling out");
    scene.gateway_finished();
    let invites: Vec<String> = crate::peers::trace(&log(d, "gateway"))
        .into_iter()
        .filter(|t| t.received && t.line.starts_with("INVITE"))
        .map(|t| t.line)
        .collect();
    assert_eq!(
        invites.len(),
        2,
        "challenged once, then with credentials: {invites:?}"
    );
    assert!(
        invites[1].starts_with("INVITE sip:89990001122@127.0.0.2"),
        "{invites:?}"
    );
    let text = std::fs::read_to_string(log(d, "gateway")).unwrap();
    assert!(
        text.contains("From: <sip:+74950000001@127.0.0.1"),
        "caller ID is the company number:\n{text}"
    );
    let record = &server.history("acme", 1)[0];
    assert_eq!(record["caller"], "anna");
    assert_eq!(record["answered_on"], "+79990001122");
    assert_eq!(record["outcome"], "answered");
}

#[test]
fn a_failing_gateway_hands_calls_out_to_the_next_trunk() {
    let dir = tempfile::tempdir().unwrap();
    let down_trace = log(dir.path(), "down");
    let (down, down_port) = listening_peer(
        "127.0.0.2",
        dir.path(),
        "uas_unavailable.xml",
        "u1",
        &down_trace,
        &[],
    );
    let (gw, trunk_port) = gateway(dir.path(), 1, "u1");
    let yaml = config(trunk_port, "", "").replace(
        "    outbound_trunks: [gw]\n",
        &format!("      - {{ id: down, host: 127.0.0.2, port: {down_port} }}\n    outbound_trunks: [down, gw]\n"),
    );
    let scene = Scene::start(dir, &yaml, Some(gw), None);
    let server = &scene.server;
    let out = scene.staff_calls(ANNA, "+79990001122");
    ok(&out, "anna calling out");
    finished(down, "the gateway out of service");
    scene.gateway_finished();
    let record = &server.history("acme", 1)[0];
    assert_eq!(record["answered_on"], "+79990001122", "{record}");
    assert_eq!(record["offered"], serde_json::json!(["+79990001122"]));
}

#[test]
fn delayed_forwarding_rings_the_mobile_through_the_trunk_after_the_delay() {
    let scene = Scene::with_gateway(
        "      - { name: gleb, login: gleb, ring_time: 20s, mobile: { number: \"+79160000001\", forwarding: delayed, delay: 2s }, password: \"gleb-secret-2024\" }\n",
        "    numbers:\n      - { number: \"+74950000001\", destination: { staff: gleb } }\n",
        1,
        "u1",
        |yaml| yaml,
    );
    let t0 = scene.call_the_number(&[(("gleb", "gleb-secret-2024"), "uas_ring.xml")], 300);
    let d = scene.dir();
    arrives(d, "gateway", "INVITE", t0, 2.0);
    // The mobile answers (after the trunk's challenge): the phone stops ringing.
    arrives(d, "gleb", "CANCEL", t0, 2.0);
    let record = scene.record();
    assert_eq!(record["answered_by"], "gleb", "{record}");
    assert_eq!(record["answered_on"], "gleb (mobile +79160000001)");
    assert_eq!(record["outcome"], "answered");
}

#[test]
fn a_trunk_registers_refreshes_and_unregisters_when_taken_out_of_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let trace = log(d, "registrar");
    // The registrar listens before the server starts (its port goes into the config).
    let (registrar, registrar_port) =
        listening_peer("127.0.0.2", d, "uas_trunk_registrar.xml", "u1", &trace, &[]);
    let yaml = config(registrar_port, "", "").replace(
        "        auth: { username: trunkuser, password: trunk-secret }\n",
        "        auth: { username: trunkuser, password: trunk-secret }\n        register: true\n",
    );
    assert!(yaml.contains("register: true"));
    let server = Server::start(&yaml);
    server.wait_for_log("trunk acme/gw registered with 127.0.0.2");
    // The registration and its refresh; then the trunk stops registering.
    server.wait_until(
        "the registration and its refresh (4 REGISTERs)",
        Duration::from_secs(10),
        || received(&trace, "REGISTER").len() >= 4,
    );
    std::fs::write(
        server.dir.path().join("pbx.yaml"),
        yaml.replace("register: true", "register: false"),
    )
    .unwrap();
    finished(registrar, "the registrar (three challenged rounds)");
    server.wait_for_log("trunk acme/gw: unregistered from 127.0.0.2");
    let registers: Vec<f64> = received(&trace, "REGISTER");
    assert_eq!(registers.len(), 6, "three rounds of challenge and answer");
    // Refreshed at 80 % of the 2 s granted.
    at_second("the refresh", registers.get(2), registers[1], 1.6);
    let text = std::fs::read_to_string(&trace).unwrap();
    assert!(text.contains("To: <sip:trunkuser@127.0.0.2>"), "{text}");
    assert!(
        text.contains("Contact: <sip:trunkuser@127.0.0.1:"),
        "{text}"
    );
    let last = text.rsplit("REGISTER sip:").next().unwrap();
    assert!(
        last.contains("Expires: 0"),
        "the last REGISTER unregisters: {last}"
    );
}

#[test]
fn a_trunk_over_tcp_gets_a_connection_from_the_pbx() {
    // The gateway listens on TCP before the server starts.
    let scene = Scene::with_gateway("", "", 1, "t1", |yaml| {
        yaml.replace("        port: ", "        transport: tcp\n        port: ")
            .replace(
                "listen: [{ transport: udp, address: \"127.0.0.1:0\" }]",
                "listen: [{ transport: udp, address: \"127.0.0.1:0\" }, { transport: tcp, address: \"127.0.0.1:0\" }]",
            )
    });
    let (server, d) = (&scene.server, scene.dir());
    let out = scene.staff_calls(ANNA, "+79990001122");
    ok(&out, "anna calling out");
    scene.gateway_finished();
    let text = std::fs::read_to_string(log(d, "gateway")).unwrap();
    assert!(text.contains("TCP message received"), "{text}");
    assert!(text.contains("Via: SIP/2.0/TCP 127.0.0.1:"), "{text}");
    assert_eq!(server.history("acme", 1)[0]["answered_on"], "+79990001122");
}

#[test]
fn staff_dialling_a_company_number_reach_its_flow_without_the_trunk() {
    let scene = Scene::new(
        "",
        "    numbers:\n      - { number: \"+74950000001\", destination: { staff: boris } }\n",
    );
    let (server, d) = (&scene.server, scene.dir());
    let boris = phone(server, d, BORIS, "uas_answer.xml", 1);
    let out = scene.staff_calls(ANNA, DID);
    ok(&out, "anna calling the company's number");
    boris.finished("boris");
    let record = scene.record();
    assert_eq!(record["number"], DID, "{record}");
    assert_eq!(record["caller"], "anna");
    assert_eq!(record["answered_by"], "boris");
}

/// A phone on a raw socket, for what SIPp cannot be made to do: answer late on purpose. Its
/// socket (and the one its SDP names for media) are bound to port 0 and kept.
struct RawPhone {
    socket: UdpSocket,
    media: UdpSocket,
    /// Requests received and not yet taken, with their senders.
    inbox: RefCell<Vec<(String, SocketAddr)>>,
}

impl RawPhone {
    /// Registers `who` from a socket of its own.
    fn register(server: &Server, who: (&str, &str)) -> RawPhone {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let local = socket.local_addr().unwrap();
        let contact = format!("<sip:{}@{local}>", who.0);
        let status = register_from(&socket, server.sip.unwrap(), who, &contact, 300);
        assert_eq!(status, 200, "registering {}:\n{}", who.0, server.log());
        socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        RawPhone {
            socket,
            media: UdpSocket::bind("127.0.0.1:0").unwrap(),
            inbox: RefCell::new(Vec::new()),
        }
    }

    /// Reads what arrives within the socket's read timeout (20 ms) into the inbox.
    fn read(&self) {
        let mut buf = [0u8; 65535];
        if let Ok((n, from)) = self.socket.recv_from(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            self.inbox.borrow_mut().push((text, from));
        }
    }

    /// The first `method` request not yet taken, waiting up to `within` for it; the requests
    /// before it stay in the inbox. Fails loudly, with what did arrive, after `within`.
    fn expect(&self, method_name: &str, within: Duration) -> (String, SocketAddr) {
        let deadline = std::time::Instant::now() + within;
        loop {
            let found = self
                .inbox
                .borrow()
                .iter()
                .position(|(m, _)| method(m) == method_name);
            if let Some(i) = found {
                return self.inbox.borrow_mut().remove(i);
            }
            let methods: Vec<String> = self
                .inbox
                .borrow()
                .iter()
                .map(|(m, _)| method(m).to_string())
                .collect();
            assert!(
                std::time::Instant::now() < deadline,
                "no {method_name} within {within:?}; got {methods:?}"
            );
            self.read();
        }
    }

    /// Every request not yet taken, and whatever arrives within `window`. The window is there
    /// on purpose: the callers check that something does *not* arrive in it.
    fn receive_for(&self, window: Duration) -> Vec<(String, SocketAddr)> {
        let end = std::time::Instant::now() + window;
        while std::time::Instant::now() < end {
            self.read();
        }
        std::mem::take(&mut *self.inbox.borrow_mut())
    }

    /// A response `status` to `request`, with our To tag.
    fn answer(&self, request: &str, to: SocketAddr, status: &str, sdp: bool) {
        let mut text = format!("SIP/2.0 {status}\r\n");
        for line in request.lines() {
            let name = line.split(':').next().unwrap_or("").to_ascii_lowercase();
            match name.as_str() {
                "via" | "from" | "call-id" | "cseq" => text.push_str(&format!("{line}\r\n")),
                "to" if line.contains("tag=") => text.push_str(&format!("{line}\r\n")),
                "to" => text.push_str(&format!("{line};tag=rawphone\r\n")),
                _ => {}
            }
        }
        let local = self.socket.local_addr().unwrap();
        text.push_str(&format!("Contact: <sip:anna@{local}>\r\n"));
        let body = if sdp {
            let media = self.media.local_addr().unwrap().port();
            format!("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {media} RTP/AVP 0\r\n")
        } else {
            String::new()
        };
        if sdp {
            text.push_str("Content-Type: application/sdp\r\n");
        }
        text.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        self.socket.send_to(text.as_bytes(), to).unwrap();
    }
}

fn method(message: &str) -> &str {
    message.split(' ').next().unwrap_or("")
}

#[test]
fn a_leg_is_cancelled_only_once_it_rang_and_a_late_answer_is_hung_up() {
    let scene = Scene::new(
        "",
        "    departments:\n      - { id: support, strategy: in_order, step: 1s, ring_time: 20s, members: [anna, boris] }\n    numbers:\n      - { number: \"+74950000001\", destination: { department: support } }\n",
    );
    let (server, d) = (&scene.server, scene.dir());
    let anna = RawPhone::register(server, ANNA);
    let boris = phone(server, d, BORIS, "uas_answer.xml", 1);
    std::thread::scope(|scope| {
        let caller = scope.spawn(|| call_in(server, d, DID, 3000));
        // anna's phone gets the INVITE and says nothing; at the step (1 s) boris rings and
        // answers, but anna gets no CANCEL: she has not answered provisionally.
        let (invite, pbx) = anna.expect("INVITE", Duration::from_secs(10));
        server.wait_until("boris to answer", Duration::from_secs(10), || {
            !received(&boris.trace, "ACK").is_empty()
        });
        // A CANCEL would have followed boris's answer at once: none in what came so far, nor
        // in the 300 ms after it.
        let first = anna.receive_for(Duration::from_millis(300));
        assert!(
            first.iter().all(|(m, _)| method(m) == "INVITE"),
            "nothing but the INVITE (and its retransmissions) before anna rang: {first:?}"
        );
        // Now anna's phone rings: the CANCEL follows at once.
        anna.answer(&invite, pbx, "180 Ringing", false);
        let cancel = anna.expect("CANCEL", Duration::from_secs(5));
        anna.answer(&cancel.0, pbx, "200 OK", false);
        // She picks up anyway (her 200 crossed the CANCEL): the PBX takes it and hangs up.
        anna.answer(&invite, pbx, "200 OK", true);
        anna.expect("ACK", Duration::from_secs(5));
        let bye = anna.expect("BYE", Duration::from_secs(5));
        anna.answer(&bye.0, pbx, "200 OK", false);
        ok(&caller.join().unwrap(), "the caller");
    });
    boris.finished("boris");
    assert_eq!(scene.record()["answered_by"], "boris");
}

#[test]
fn an_answer_after_the_caller_hung_up_is_acked_and_hung_up() {
    let scene = Scene::new("", "");
    let (server, d) = (&scene.server, scene.dir());
    let anna = RawPhone::register(server, ANNA);
    std::thread::scope(|scope| {
        // boris calls anna (extension 210) and hangs up while it rings.
        let caller = scope.spawn(|| {
            let csv = credentials(d, BORIS);
            sipp(
                server.sip.unwrap(),
                d,
                scenario_path("uac_cancel.xml").to_str().unwrap(),
                &["-inf", &csv, "-s", "210"],
            )
            .output()
            .unwrap()
        });
        let (invite, pbx) = anna.expect("INVITE", Duration::from_secs(10));
        anna.answer(&invite, pbx, "180 Ringing", false);
        let cancel = anna.expect("CANCEL", Duration::from_secs(10));
        anna.answer(&cancel.0, pbx, "200 OK", false);
        ok(&caller.join().unwrap(), "boris, hanging up");
        // anna picks up all the same: her 200 is ACKed and the call she got is hung up.
        anna.answer(&invite, pbx, "200 OK", true);
        anna.expect("ACK", Duration::from_secs(5));
        anna.expect("BYE", Duration::from_secs(5));
    });
    assert_eq!(scene.record()["outcome"], "cancelled");
}

#[test]
fn a_call_keeps_the_config_it_started_with_across_a_reload() {
    let department = |members: &str| {
        format!("    departments:\n      - {{ id: sales, strategy: in_order, step: 2s, ring_time: 20s, members: [{members}] }}\n    numbers:\n      - {{ number: \"+74950000001\", destination: {{ department: sales }} }}\n")
    };
    let scene = Scene::new("", &department("anna, boris"));
    let (server, d) = (&scene.server, scene.dir());
    let yaml = std::fs::read_to_string(server.dir.path().join("pbx.yaml")).unwrap();
    let revision = server.revision();
    let anna = phone(server, d, ANNA, "uas_ring.xml", 1);
    let boris = phone(server, d, BORIS, "uas_answer.xml", 1);
    let vera = phone(server, d, VERA, "uas_answer.xml", 1);
    std::thread::scope(|scope| {
        let caller = scope.spawn(|| call_in(server, d, DID, 300));
        server.wait_until("anna's phone to ring", Duration::from_secs(10), || {
            !received(&log(d, "anna"), "INVITE").is_empty()
        });
        // While anna rings, the department is changed to vera alone.
        let edited = yaml.replace("members: [anna, boris]", "members: [vera]");
        assert_ne!(edited, yaml);
        std::fs::write(server.dir.path().join("pbx.yaml"), edited).unwrap();
        server.wait_for_revision(revision + 1);
        ok(&caller.join().unwrap(), "the caller");
    });
    anna.finished("anna");
    boris.finished("boris");
    // The call in progress went on with the old members: boris after the step.
    let t0 = received(&log(d, "anna"), "INVITE")[0];
    arrives(d, "boris", "INVITE", t0, 2.0);
    assert!(
        received(&log(d, "vera"), "INVITE").is_empty(),
        "vera was not in that call's config"
    );
    // The next call sees the new config.
    ok(&call_in(server, d, DID, 200), "the next caller");
    vera.finished("vera");
    assert_eq!(scene.record()["answered_by"], "vera");
}

#[test]
fn calling_your_own_department_does_not_ring_you() {
    let scene = Scene::new(
        "",
        "    departments:\n      - { id: sales, extension: \"300\", strategy: all_at_once, members: [anna, boris] }\n",
    );
    let (server, d) = (&scene.server, scene.dir());
    let annas_desk = RawPhone::register(server, ANNA);
    let boris = phone(server, d, BORIS, "uas_answer.xml", 1);
    // anna calls her department from another device.
    ok(&scene.staff_calls(ANNA, "300"), "anna calling sales");
    boris.finished("boris");
    // Nothing reached her desk phone during the call, nor in the 300 ms after it.
    let got = annas_desk.receive_for(Duration::from_millis(300));
    assert!(got.is_empty(), "anna's own phone rang: {got:?}");
    let record = scene.record();
    assert_eq!(record["offered"], serde_json::json!(["boris"]), "{record}");
    assert_eq!(record["answered_by"], "boris");
}
