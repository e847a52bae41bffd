//! Call routing on the wire: SIPp as the trunk (calling company numbers from 127.0.0.2, and
//! taking calls out there with digest authentication, over UDP and TCP, registering with it)
//! and as the members' phones, against a real `pbx serve`. These prove the sockets, the
//! transports and the store; who rings at which second — every strategy, fallback, race and
//! reload — is checked on virtual time by the engine's own scenarios (`src/engine/tests/`).

use crate::peers::{
    call_refused, credentials, finished, listening_peer, ok, phone, received, scenario_path, sipp,
    sipp_on,
};
use crate::support::Server;
use std::cell::RefCell;
use std::net::UdpSocket;
use std::path::Path;
use std::process::{Child, Output};
use std::time::Duration;

const ANNA: (&str, &str) = ("anna", "anna-secret-2024");
const BORIS: (&str, &str) = ("boris", "boris-secret-2024");
const VERA: (&str, &str) = ("vera", "vera-secret-2024");
const DID: &str = "+74950000001";
const CALLER_NUMBER: &str = "+79161112233";

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

fn log(dir: &Path, who: &str) -> std::path::PathBuf {
    dir.join(format!("{who}.log"))
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
fn a_call_through_the_trunk_rings_the_department_in_order_then_is_forwarded_out() {
    let scene = Scene::with_gateway(
        "",
        "    departments:\n      - id: support\n        strategy: in_order\n        step: 2s\n        ring_time: 6s\n        members: [anna, boris, vera]\n        no_answer: { forward: { number: \"+79990001122\", timeout: 10s } }\n    numbers:\n      - { number: \"+74950000001\", destination: { department: support } }\n",
        1,
        "u1",
        |yaml| yaml,
    );
    let ringing = "uas_ring.xml";
    scene.call_the_number(&[(ANNA, ringing), (BORIS, ringing), (VERA, ringing)], 500);
    let d = scene.dir();
    // Each member rang in turn and was cancelled; then the forward went out.
    let first = |who: &str, method: &str| received(&log(d, who), method).first().copied();
    let mut rang = Vec::new();
    for who in ["anna", "boris", "vera"] {
        rang.push(first(who, "INVITE").unwrap_or_else(|| panic!("{who} was not rung")));
        assert!(first(who, "CANCEL").is_some(), "{who} was not cancelled");
    }
    rang.push(first("gateway", "INVITE").expect("the forward reached the gateway"));
    assert!(rang.windows(2).all(|w| w[0] < w[1]), "{rang:?}");
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
fn a_call_follows_the_forwarding_its_callee_set_in_the_cabinet() {
    let scene = Scene::with_gateway(
        "",
        "    numbers:\n      - { number: \"+74950000001\", destination: { staff: anna } }\n",
        1,
        "u1",
        |yaml| {
            yaml.replace(
                "  http: {",
                "  cabinet: { listen: \"127.0.0.1:0\" }\n  http: {",
            )
            .replace(
                "password: \"anna-secret-2024\" }",
                "password: \"anna-secret-2024\", mobile: { number: \"+79990001122\" } }",
            )
        },
    );
    let log = scene.server.log();
    let cabinet = log
        .lines()
        .find_map(|l| l.split("cabinet on ").nth(1))
        .unwrap()
        .trim()
        .to_owned();
    // The config says off, and anna has no phone: only the forwarding she sets, in chromium on
    // her profile page (in Russian, the tenant's language), can reach her.
    let browser = crate::browser::Chromium::start();
    browser.sign_in(&cabinet, "acme.example", ANNA.0, ANNA.1);
    browser.wait_text("Вы вошли как anna");
    browser.open(&format!("{cabinet}/acme/profile"));
    browser.click("input[name=forwarding][value=instant]");
    browser.click("form[action$='/profile/forwarding'] button[type=submit]");
    browser.wait_text("Переадресация сохранена");
    let mut anna = crate::cabinet::Browser::new(&cabinet);
    assert_eq!(anna.sign_in("acme.example", ANNA.0, ANNA.1).status, 200);
    assert_eq!(
        anna.get("/api/acme/profile").json()["forwarding"],
        "instant"
    );
    ok(&call_in(&scene.server, scene.dir(), DID, 300), "the caller");
    scene.gateway_finished();
    let record = scene.record();
    assert_eq!(record["answered_by"], "anna", "{record}");
    assert!(
        record["answered_on"]
            .as_str()
            .unwrap()
            .contains("+79990001122"),
        "answered on her mobile: {record}"
    );
    // The config did not change: nothing to plan, and the plan lists her setting apart.
    let plan = std::process::Command::new(env!("CARGO_BIN_EXE_pbx"))
        .args(["plan", "--server", &scene.server.url, "--detailed-exitcode"])
        .current_dir(scene.server.dir.path())
        .env("PBX_ADMIN_TOKEN", crate::support::TOKEN)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&plan.stdout);
    assert_eq!(plan.status.code(), Some(0), "no drift: {text}");
    assert!(
        text.contains("Set by staff in the cabinet, kept over the config")
            && text.contains("  acme/anna: forwarding instant after 15s\n"),
        "{text}"
    );
}
