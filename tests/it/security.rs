//! Password guessing against a real `pbx serve`: a raw UDP socket pipelines wrong-password
//! REGISTERs; at most `max_failures` are answered, then nothing — not even the right password
//! — until the admin API lifts the ban it lists; then the right password registers. The
//! number of answered guesses is the figure the README quotes.

use crate::sip::{header, status, PASSWORD};
use crate::support::{server_config, Server, TOKEN};
use md5::{Digest, Md5};
use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

/// Guesses sent back to back.
const GUESSES: usize = 50;

fn md5_hex(s: &str) -> String {
    Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A REGISTER for ivan from `socket`, `n` making its branch and Call-ID its own.
fn register(socket: &UdpSocket, n: usize, auth: &str) -> String {
    let local = socket.local_addr().unwrap();
    format!(
        "REGISTER sip:acme.example SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKguess{n}\r\nMax-Forwards: 70\r\nFrom: <sip:ivan@acme.example>;tag=g{n}\r\nTo: <sip:ivan@acme.example>\r\nCall-ID: guess-{n}-{}\r\nCSeq: 1 REGISTER\r\nContact: <sip:ivan@{local}>\r\n{auth}Expires: 60\r\nContent-Length: 0\r\n\r\n",
        local.port()
    )
}

/// The Authorization header answering `challenge` (a WWW-Authenticate value) with `password`.
fn authorization(challenge: &str, password: &str) -> String {
    let param = |name: &str| {
        let start = challenge.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        challenge[start..].split('"').next().unwrap().to_string()
    };
    let (realm, nonce) = (param("realm"), param("nonce"));
    let ha1 = md5_hex(&format!("ivan:{realm}:{password}"));
    let ha2 = md5_hex("REGISTER:sip:acme.example");
    let response = md5_hex(&format!("{ha1}:{nonce}:00000001:c0ffee:auth:{ha2}"));
    format!(
        "Authorization: Digest username=\"ivan\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"sip:acme.example\", response=\"{response}\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"c0ffee\"\r\n"
    )
}

fn receive(socket: &UdpSocket) -> Option<String> {
    let mut buf = [0u8; 65535];
    let (n, _) = socket.recv_from(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf[..n]).into_owned())
}

fn socket(timeout: Duration) -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(timeout)).unwrap();
    socket
}

/// The MD5 challenge the server gives `socket` now (`None`: no answer).
fn challenge(socket: &UdpSocket, server: SocketAddr, n: usize) -> Option<String> {
    socket
        .send_to(register(socket, n, "").as_bytes(), server)
        .unwrap();
    let answer = receive(socket)?;
    assert_eq!(status(&answer), 401, "{answer}");
    header(&answer, "WWW-Authenticate")
        .into_iter()
        .find(|v| v.contains("MD5"))
        .map(str::to_string)
}

/// REGISTERs ivan with the right password from a fresh socket: the final status, `None` when
/// nothing answers within `timeout`.
fn register_right(server: SocketAddr, timeout: Duration) -> Option<u16> {
    let s = socket(timeout);
    let c = challenge(&s, server, 9000)?;
    s.send_to(
        register(&s, 9001, &authorization(&c, PASSWORD)).as_bytes(),
        server,
    )
    .unwrap();
    receive(&s).map(|a| status(&a))
}

/// `method path` on the admin API with the token: (status, body).
fn admin(server: &Server, method: &str, path: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!("{}{path}", server.url);
    let bearer = format!("Bearer {TOKEN}");
    let response = match method {
        "GET" => agent.get(&url).header("Authorization", &bearer).call(),
        "DELETE" => agent.delete(&url).header("Authorization", &bearer).call(),
        other => panic!("no {other} here"),
    };
    let mut response = response.expect("the admin API answers");
    let status = response.status().as_u16();
    (
        status,
        response.body_mut().read_to_string().unwrap_or_default(),
    )
}

#[test]
fn a_guesser_is_silenced_after_max_failures_until_the_admin_lifts_its_ban() {
    let yaml = server_config(&format!(
        "      - {{ name: Ivan, login: ivan, password: \"{PASSWORD}\" }}\n"
    ))
    .replacen(
        "server:\n",
        "server:\n  security: { max_failures: 5, window: 10m, ban: 30s }\n",
        1,
    );
    let server = Server::start(&yaml);
    let sip = server.sip.expect("SIP on UDP");
    // One challenge, then every guess pipelined with its nonce, as fast as the socket goes.
    let guesser = socket(Duration::from_millis(500));
    let offer = challenge(&guesser, sip, 0).expect("the first REGISTER is challenged");
    for n in 1..=GUESSES {
        let auth = authorization(&offer, &format!("guess-{n}"));
        guesser
            .send_to(register(&guesser, n, &auth).as_bytes(), sip)
            .unwrap();
    }
    server.wait_for_log("security: banned 127.0.0.1 for 30 s after 5 failed digest responses (last: user \"ivan\" at acme.example)");
    // Whatever was answered has arrived by the time nothing comes for half a second.
    let mut answered = 0;
    while let Some(a) = receive(&guesser) {
        assert_eq!(status(&a), 401, "{a}");
        answered += 1;
    }
    eprintln!("guesses sent: {GUESSES}, answered: {answered}");
    assert!(answered <= 5, "{answered} guesses were answered");
    // The right password from the banned address: no answer, not even a challenge.
    assert_eq!(register_right(sip, Duration::from_millis(1500)), None);
    // Without the token the bans are not shown.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let anonymous = agent
        .get(format!("{}/api/v1/security/bans", server.url))
        .call()
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    // The admin API lists the ban ...
    let (code, body) = admin(&server, "GET", "/api/v1/security/bans");
    assert_eq!(code, 200, "{body}");
    let bans: serde_json::Value = serde_json::from_str(&body).unwrap();
    let bans = bans.as_array().expect("a list");
    assert_eq!(bans.len(), 1, "{body}");
    assert_eq!(bans[0]["source"], "127.0.0.1");
    assert_eq!(bans[0]["failures"], 5);
    assert_eq!(bans[0]["last_user"], "ivan@acme.example");
    assert!(bans[0]["until"].as_str().unwrap().ends_with('Z'), "{body}");
    // ... and lifts it.
    assert_eq!(
        admin(&server, "DELETE", "/api/v1/security/bans/not-an-ip").0,
        400
    );
    assert_eq!(
        admin(&server, "DELETE", "/api/v1/security/bans/127.0.0.1").0,
        204
    );
    server.wait_for_log("security: unbanned 127.0.0.1");
    assert_eq!(
        admin(&server, "DELETE", "/api/v1/security/bans/127.0.0.1").0,
        404
    );
    assert_eq!(admin(&server, "GET", "/api/v1/security/bans").1, "[]");
    // Now the right password registers.
    assert_eq!(register_right(sip, Duration::from_secs(3)), Some(200));
}

/// One source floods OPTIONS at thousands a second from 127.0.0.2 while a colleague calls from
/// 127.0.0.1: the flooder is cut to its rate (the rest dropped unread, and said once in the
/// log), the calls all go through.
#[test]
fn a_flooding_source_is_cut_to_its_rate_while_another_caller_s_calls_all_succeed() {
    use crate::peers::{credentials, ok, phone, scenario_path, sipp, sipp_on};
    let staff = "      - { name: Ivan, login: ivan, extension: \"201\", password: \"ivan-secret-2024\" }\n      - { name: Maria, login: maria, extension: \"202\", password: \"maria-secret-2024\" }\n";
    let yaml = server_config(staff).replace("server:\n", "server:\n  security: { max_rate: 50 }\n");
    let server = Server::start(&yaml);
    let dir = tempfile::tempdir().unwrap();
    let calls = 5;
    let maria = phone(
        &server,
        dir.path(),
        ("maria", "maria-secret-2024"),
        "uas_answer.xml",
        calls,
    );
    let mut flood = sipp_on(
        "127.0.0.2",
        server.sip.unwrap(),
        dir.path(),
        scenario_path("options_flood.xml").to_str().unwrap(),
        &["-r", "3000", "-m", "12000"],
    )
    .spawn()
    .unwrap();
    server.wait_for_log("security: rate-limited 127.0.0.2");
    let csv = credentials(dir.path(), ("ivan", "ivan-secret-2024"));
    let out = sipp(
        server.sip.unwrap(),
        dir.path(),
        scenario_path("uac_call.xml").to_str().unwrap(),
        &[
            "-inf",
            &csv,
            "-s",
            "202",
            "-d",
            "100",
            "-m",
            &calls.to_string(),
            "-l",
            "1",
        ],
    )
    .output()
    .unwrap();
    ok(&out, "ivan's calls during the flood");
    maria.finished("maria took every call");
    let _ = flood.kill();
    let _ = flood.wait();
    let records = server.history("acme", calls as usize);
    assert!(
        records
            .iter()
            .take(calls as usize)
            .all(|r| r["outcome"] == "answered"),
        "{records:?}"
    );
}
