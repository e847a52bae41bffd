//! SIP against a real `pbx serve` on loopback: REGISTER with digest auth (from a hand-rolled
//! phone and from SIPp), no user enumeration, unregistering, Min-Expires, retransmissions,
//! OPTIONS, and SIP over TCP. The RFC 4475 torture messages have their own module, `rfc4475.rs`.

use crate::support::{root, server_config, Server};
use md5::{Digest, Md5};
use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

pub(crate) const PASSWORD: &str = "ivan-secret-2024";

pub(crate) fn server() -> Server {
    Server::start(&server_config(&format!(
        "      - {{ name: Ivan, login: ivan, password: \"{PASSWORD}\" }}\n      - {{ name: Maria, login: maria }}\n"
    )))
}

/// A SIP phone on a UDP socket of its own.
pub(crate) struct Phone {
    socket: UdpSocket,
    server: SocketAddr,
    cseq: u32,
}

impl Phone {
    pub(crate) fn new(server: SocketAddr) -> Phone {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(3)))
            .unwrap();
        Phone {
            socket,
            server,
            cseq: 0,
        }
    }

    pub(crate) fn port(&self) -> u16 {
        self.socket.local_addr().unwrap().port()
    }

    /// Sends `text` and returns the response (or `None` after 3 s).
    pub(crate) fn exchange(&self, text: &str) -> Option<String> {
        self.socket.send_to(text.as_bytes(), self.server).unwrap();
        self.receive()
    }

    pub(crate) fn receive(&self) -> Option<String> {
        let mut buf = [0u8; 65535];
        let (n, _) = self.socket.recv_from(&mut buf).ok()?;
        Some(String::from_utf8_lossy(&buf[..n]).into_owned())
    }

    fn register(&mut self, user: &str, extra: &str, branch: &str) -> String {
        self.cseq += 1;
        let branch = format!("{branch}c{}", self.cseq);
        let port = self.port();
        format!(
            "REGISTER sip:acme.example SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{branch};rport\r\nMax-Forwards: 70\r\nFrom: <sip:{user}@acme.example>;tag=f{port}\r\nTo: <sip:{user}@acme.example>\r\nCall-ID: reg-{user}-{port}\r\nCSeq: {} REGISTER\r\nContact: <sip:{user}@127.0.0.1:{port}>\r\n{extra}Content-Length: 0\r\n\r\n",
            self.cseq
        )
    }
}

pub(crate) fn status(response: &str) -> u16 {
    response
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

pub(crate) fn header<'a>(response: &'a str, name: &str) -> Vec<&'a str> {
    response
        .lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .collect()
}

fn param<'a>(challenge: &'a str, name: &str) -> &'a str {
    let start = challenge.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
    let rest = &challenge[start..];
    &rest[..rest.find('"').unwrap()]
}

fn md5_hex(s: &str) -> String {
    Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The Authorization header answering `challenge` for `user` with `password`.
fn authorization(challenge: &str, user: &str, password: &str, nc: u32) -> String {
    let realm = param(challenge, "realm");
    let nonce = param(challenge, "nonce");
    let ha1 = md5_hex(&format!("{user}:{realm}:{password}"));
    let ha2 = md5_hex("REGISTER:sip:acme.example");
    let nc = format!("{nc:08x}");
    let response = md5_hex(&format!("{ha1}:{nonce}:{nc}:c0ffee:auth:{ha2}"));
    format!(
        "Authorization: Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"sip:acme.example\", response=\"{response}\", algorithm=MD5, qop=auth, nc={nc}, cnonce=\"c0ffee\"\r\n"
    )
}

/// Registers `user` with `password` in two steps; returns (challenge, final response).
pub(crate) fn register(
    phone: &mut Phone,
    user: &str,
    password: &str,
    extra: &str,
) -> (String, String) {
    let request = phone.register(user, extra, "a1");
    let first = phone.exchange(&request).expect("an answer");
    assert_eq!(status(&first), 401, "{first}");
    let challenge = header(&first, "WWW-Authenticate")[0].to_string();
    let auth = authorization(&challenge, user, password, 1);
    let request = phone.register(user, &format!("{auth}{extra}"), "a2");
    (first, phone.exchange(&request).expect("an answer"))
}

#[test]
fn register_with_digest_auth() {
    let server = server();
    let mut phone = Phone::new(server.sip.unwrap());
    let (challenge, ok) = register(&mut phone, "ivan", PASSWORD, "Expires: 600\r\n");
    let offered = header(&challenge, "WWW-Authenticate");
    assert_eq!(offered.len(), 2, "MD5 and SHA-256: {challenge}");
    assert!(offered[0].contains("algorithm=MD5") && offered[1].contains("algorithm=SHA-256"));
    assert!(offered
        .iter()
        .all(|c| c.contains("qop=\"auth\"") && c.contains("realm=\"acme.example\"")));
    assert_eq!(status(&ok), 200, "{ok}");
    let contact = header(&ok, "Contact");
    assert_eq!(
        contact,
        [format!("<sip:ivan@127.0.0.1:{}>;expires=600", phone.port())]
    );
    let via = header(&ok, "Via")[0];
    assert!(
        via.contains(&format!("rport={}", phone.port())) && via.contains("received=127.0.0.1"),
        "{via}"
    );
}

#[test]
fn unknown_user_and_wrong_password_get_the_same_answer() {
    let server = server();
    let shape = |r: &str| -> (u16, Vec<String>) {
        let names = r
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .map(|(n, _)| n.to_string())
            .collect();
        (status(r), names)
    };
    let mut a = Phone::new(server.sip.unwrap());
    let (_, wrong) = register(&mut a, "ivan", "not-the-password", "");
    let mut b = Phone::new(server.sip.unwrap());
    let (_, unknown) = register(&mut b, "nobody", "whatever", "");
    assert_eq!(status(&wrong), 401, "{wrong}");
    assert_eq!(
        shape(&wrong),
        shape(&unknown),
        "wrong password:\n{wrong}\nunknown user:\n{unknown}"
    );
}

#[test]
fn replayed_credentials_are_refused() {
    let server = server();
    let mut phone = Phone::new(server.sip.unwrap());
    let request = phone.register("ivan", "", "r1");
    let first = phone.exchange(&request).unwrap();
    let auth = authorization(header(&first, "WWW-Authenticate")[0], "ivan", PASSWORD, 1);
    let request = phone.register("ivan", &auth, "r2");
    assert_eq!(status(&phone.exchange(&request).unwrap()), 200);
    // The same nonce and nonce count again, in a new transaction: a replay.
    let replay = phone.register("ivan", &auth, "r3");
    assert_eq!(status(&phone.exchange(&replay).unwrap()), 401);
}

#[test]
fn unregister_and_min_expires() {
    let server = server();
    let mut phone = Phone::new(server.sip.unwrap());
    let (_, ok) = register(&mut phone, "ivan", PASSWORD, "");
    assert_eq!(status(&ok), 200);
    let (_, brief) = register(&mut phone, "ivan", PASSWORD, "Expires: 10\r\n");
    assert_eq!(status(&brief), 423, "{brief}");
    assert_eq!(header(&brief, "Min-Expires"), ["60"]);
    let (_, gone) = register(&mut phone, "ivan", PASSWORD, "Expires: 0\r\n");
    assert_eq!(status(&gone), 200, "{gone}");
    assert!(header(&gone, "Contact").is_empty(), "{gone}");
}

#[test]
fn retransmissions_get_the_same_response() {
    let server = server();
    let mut phone = Phone::new(server.sip.unwrap());
    let options = format!(
        "OPTIONS sip:acme.example SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{p};branch=z9hG4bKopt\r\nMax-Forwards: 70\r\nFrom: <sip:maria@acme.example>;tag=1\r\nTo: <sip:acme.example>\r\nCall-ID: opt-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
        p = phone.port()
    );
    let first = phone.exchange(&options).unwrap();
    let again = phone.exchange(&options).unwrap();
    assert_eq!(
        first, again,
        "a retransmitted request is answered from its transaction"
    );
    assert_eq!(status(&first), 200, "{first}");
    assert!(header(&first, "Allow").contains(&"REGISTER"), "{first}");
    // A challenge is stateless: a retransmitted REGISTER without credentials is challenged
    // again, with a fresh nonce.
    let request = phone.register("maria", "", "same");
    let first = phone.exchange(&request).unwrap();
    let again = phone.exchange(&request).unwrap();
    assert_eq!((status(&first), status(&again)), (401, 401));
}

/// Runs SIPp's digest REGISTER scenario `count` times against `target` (`t1`: TCP, `u1`: UDP).
fn sipp_register(target: SocketAddr, transport: &str, count: u32) {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("users.csv");
    std::fs::write(
        &csv,
        format!(
            "SEQUENTIAL\nivan;[authentication username=ivan password={PASSWORD}];{PASSWORD};\n"
        ),
    )
    .unwrap();
    let scenario = root().join("bench/sip/sipp/register_auth.xml");
    let count = count.to_string();
    let out = std::process::Command::new("sipp")
        .arg(target.to_string())
        .args([
            "-t",
            transport,
            "-sf",
            scenario.to_str().unwrap(),
            "-inf",
            csv.to_str().unwrap(),
        ])
        .args([
            "-key",
            "domain",
            "acme.example",
            "-key",
            "expires",
            "300",
            "-m",
            &count,
            "-r",
            &count,
        ])
        .args([
            "-i",
            "127.0.0.1",
            "-p",
            "0",
            "-nostdin",
            "-timeout",
            "20s",
            "-timeout_error",
        ])
        .current_dir(dir.path())
        .output()
        .expect("sipp is installed (Debian package sip-tester; ci/test.sh installs it)");
    assert_eq!(
        out.status.code(),
        Some(0),
        "sipp ({transport}) failed:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn sipp_registers_with_digest_auth() {
    let server = server();
    sipp_register(server.sip.unwrap(), "u1", 5);
}

/// Reads one SIP message (headers, then Content-Length bytes of body) from a TCP stream.
fn read_message(stream: &mut std::net::TcpStream) -> Option<String> {
    use std::io::Read;
    let mut data = Vec::new();
    let mut byte = [0u8; 1];
    while !data.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        data.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&data).into_owned();
    let length: usize = header(&head, "Content-Length")
        .first()
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).ok()?;
    Some(head + &String::from_utf8_lossy(&body))
}

#[test]
fn register_over_tcp() {
    use std::io::{Read, Write};
    let server = server();
    let mut stream = std::net::TcpStream::connect(server.sip_tcp.expect("SIP on TCP")).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let port = stream.local_addr().unwrap().port();
    let request = |auth: &str, cseq: u32| {
        format!(
            "REGISTER sip:acme.example SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:{port};branch=z9hG4bKtcp{cseq}\r\nMax-Forwards: 70\r\nFrom: <sip:ivan@acme.example>;tag=t\r\nTo: <sip:ivan@acme.example>\r\nCall-ID: tcp-{port}\r\nCSeq: {cseq} REGISTER\r\nContact: <sip:ivan@127.0.0.1:{port};transport=tcp>\r\n{auth}Content-Length: 0\r\n\r\n"
        )
    };
    stream.write_all(request("", 1).as_bytes()).unwrap();
    let challenge = read_message(&mut stream).expect("a 401 on the same connection");
    assert_eq!(status(&challenge), 401, "{challenge}");
    let auth = authorization(
        header(&challenge, "WWW-Authenticate")[0],
        "ivan",
        PASSWORD,
        1,
    );
    stream.write_all(request(&auth, 2).as_bytes()).unwrap();
    let ok = read_message(&mut stream).unwrap();
    assert_eq!(status(&ok), 200, "{ok}");
    // A keep-alive ping is answered with a pong.
    stream.write_all(b"\r\n\r\n").unwrap();
    let mut pong = [0u8; 2];
    stream.read_exact(&mut pong).unwrap();
    assert_eq!(&pong, b"\r\n");
    // A stream that cannot be framed is answered 400 and closed.
    stream
        .write_all(
            request("", 3)
                .replace("Content-Length: 0", "Content-Length: -5")
                .as_bytes(),
        )
        .unwrap();
    let bad = read_message(&mut stream).unwrap();
    assert_eq!(status(&bad), 400, "{bad}");
    assert!(
        read_message(&mut stream).is_none(),
        "the connection is closed"
    );
}

#[test]
fn sipp_registers_over_tcp() {
    let server = server();
    sipp_register(server.sip_tcp.unwrap(), "t1", 3);
}
