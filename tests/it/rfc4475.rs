//! The RFC 4475 torture messages (`tests/data/rfc4475/`) sent to a running `pbx serve`: every
//! message listed in EXPECTED.tsv gets exactly the answer its expectation allows — a status,
//! or silence — and none of them hurts the server. The parser's side of the same corpus is
//! `src/sip/message/conformance_tests.rs`.

use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::time::Duration;

use crate::sip::{header, register, server, status, Phone, PASSWORD};
use crate::support::root;

/// What the server may answer to one message: each entry is a status, or `None` for silence
/// (a dropped request or response). Where EXPECTED.tsv allows alternatives ("400 (or drop on
/// UDP)", "406 (or 488)") all of them are listed; where it says "parses" or "process", the
/// answer is the one any request of that method from a stranger gets here: a digest
/// challenge for INVITE (407) and REGISTER (401), 200 for OPTIONS, 405 for MESSAGE, 501 for
/// a method nobody knows, 481 for an INVITE inside a dialog that does not exist.
const ANSWERS: &[(&str, &[Option<u16>])] = &[
    // valid: must parse, then is handled normally (never 400). wsinv's To has a tag: a
    // re-INVITE for a dialog that does not exist (RFC 3261 §12.2.2).
    ("wsinv", &[Some(481)]),
    ("intmeth", &[Some(501), Some(405)]),
    ("esc01", &[Some(407)]),
    ("escnull", &[Some(401)]),
    ("esc02", &[Some(501), Some(405)]),
    ("lwsdisp", &[Some(200)]),
    ("longreq", &[Some(407)]),
    // Only the REGISTER is processed; `dblreq_answers_only_the_first_request` checks that
    // the INVITE after it gets nothing.
    ("dblreq", &[Some(401)]),
    ("semiuri", &[Some(200)]),
    ("transports", &[Some(200)]),
    ("mpart01", &[Some(405)]),
    // Responses that match no transaction of ours are dropped.
    ("unreason", &[None]),
    ("noreason", &[None]),
    // invalid: 400 (505 for the version), or dropped where the expectation says so.
    ("badinv01", &[Some(400)]),
    ("clerr", &[Some(400), None]),
    ("ncl", &[Some(400)]),
    ("scalar02", &[Some(400)]),
    ("scalarlg", &[None]),
    ("quotbal", &[Some(400)]),
    ("ltgtruri", &[Some(400)]),
    ("lwsruri", &[Some(400)]),
    ("lwsstart", &[Some(400)]),
    ("trws", &[Some(400)]),
    ("escruri", &[Some(400)]),
    ("baddate", &[Some(400), Some(407)]),
    ("regbadct", &[Some(400)]),
    ("badaspec", &[Some(400)]),
    ("baddn", &[Some(400)]),
    ("badvers", &[Some(505)]),
    ("mismatch01", &[Some(400)]),
    ("mismatch02", &[Some(400)]),
    ("bigcode", &[None]),
    // app: the answer the RFC's section asks of the application.
    ("badbranch", &[Some(200)]),
    ("insuf", &[Some(400)]),
    ("unkscm", &[Some(416)]),
    ("novelsc", &[Some(416)]),
    ("unksm2", &[Some(401)]),
    ("bext01", &[Some(420)]),
    ("invut", &[Some(415)]),
    ("regaut01", &[Some(401)]),
    ("multi01", &[Some(400)]),
    ("mcl01", &[Some(400)]),
    ("bcast", &[None]),
    ("zeromf", &[Some(200)]),
    ("cparam01", &[Some(401)]),
    ("cparam02", &[Some(401)]),
    ("regescrt", &[Some(401)]),
    ("sdp01", &[Some(406), Some(488)]),
    ("inv2543", &[Some(407)]),
];

/// The vendored corpus.
fn corpus() -> PathBuf {
    root().join("tests/data/rfc4475")
}

/// (name, class, expectation) of every line of EXPECTED.tsv.
fn expected() -> Vec<(String, String, String)> {
    let path = corpus().join("EXPECTED.tsv");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("the RFC 4475 list is missing at {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(
            |line| match line.split('\t').collect::<Vec<_>>().as_slice() {
                [name, class, _section, expectation] => {
                    (name.to_string(), class.to_string(), expectation.to_string())
                }
                _ => panic!("EXPECTED.tsv: malformed line {line:?}"),
            },
        )
        .collect()
}

/// The message `name`, with its top Via pointed at `port`. dblreq's second request (an
/// INVITE after the REGISTER's empty body, which must not be processed) is pointed too, so
/// an answer to it would come back here.
fn message(name: &str, port: u16) -> Vec<u8> {
    let path = corpus().join(format!("{name}.dat"));
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut pointed = point_via_at(&raw, 0, port);
    if name == "dblreq" {
        let second = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        pointed = pointed.and_then(|m| point_via_at(&m, second, port));
    }
    pointed.unwrap_or_else(|| panic!("{name}: no Via whose sent-by can be pointed at the test"))
}

/// A socket per message: the RFC's messages share branches, and one sent-by each keeps them
/// from matching each other's transactions.
fn socket() -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    socket
}

/// The next datagram on `socket` as text, or `None` when nothing came within its timeout.
fn receive(socket: &UdpSocket) -> Option<String> {
    let mut buf = [0u8; 65535];
    let (n, _) = socket.recv_from(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// Everything the server sends to `socket` before it answers an OPTIONS probe (number `n`)
/// sent now: the server handles one socket's datagrams in order, so an answer to an earlier
/// datagram that has not come by then was never sent. Panics if the probe gets no answer
/// (the server stalled or died).
fn answers_before_probe(socket: &UdpSocket, server: SocketAddr, n: u32) -> Vec<String> {
    let port = socket.local_addr().unwrap().port();
    let call_id = format!("rfc4475-probe-{port}-{n}");
    let probe = format!(
        "OPTIONS sip:acme.example SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKprobe{port}n{n};rport\r\nMax-Forwards: 70\r\nFrom: <sip:probe@acme.example>;tag=p{port}\r\nTo: <sip:acme.example>\r\nCall-ID: {call_id}\r\nCSeq: {n} OPTIONS\r\nContent-Length: 0\r\n\r\n"
    );
    socket.send_to(probe.as_bytes(), server).unwrap();
    let mut before = Vec::new();
    loop {
        let answer = receive(socket).expect("the server answers a probe after a torture message");
        if header(&answer, "Call-ID").first() == Some(&call_id.as_str()) {
            assert_eq!(status(&answer), 200, "{answer}");
            return before;
        }
        before.push(answer);
    }
}

#[test]
fn every_message_has_an_expected_answer() {
    let listed: Vec<String> = expected().into_iter().map(|(name, ..)| name).collect();
    let tabled: Vec<&str> = ANSWERS.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        listed, tabled,
        "ANSWERS and EXPECTED.tsv list different messages"
    );
    assert_eq!(listed.len(), 49, "RFC 4475 has 49 torture messages");
}

/// Each message, sent as it is except that the top Via's sent-by is pointed at the test's
/// socket (so answers come back here), gets one answer its expectation allows (a response
/// retransmitted as it was is still one answer) or, where silence is expected, none; the
/// server answers a probe after each, and still registers people at the end.
#[test]
fn rfc4475_messages_are_answered_as_expected() {
    let server = server();
    let sip = server.sip.unwrap();
    let mut failures = Vec::new();
    for (name, class, expectation) in expected() {
        let (_, allowed) = ANSWERS
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("{name} is in EXPECTED.tsv but not in ANSWERS"));
        let socket = socket();
        let port = socket.local_addr().unwrap().port();
        socket.send_to(&message(&name, port), sip).unwrap();
        // Where an answer is expected it is waited for (up to the socket's timeout); where
        // silence is, the probe's answer marks the end of the wait.
        let mut answers: Vec<String> = match allowed {
            [None] => Vec::new(),
            _ => receive(&socket).into_iter().collect(),
        };
        answers.extend(answers_before_probe(&socket, sip, 1));
        let answer = answers.first().map(|a| status(a));
        if !allowed.contains(&answer) {
            failures.push(format!(
                "{name} ({class}: {expectation}): got {answer:?}, want one of {allowed:?}"
            ));
        }
        if let Some(other) = answers.iter().skip(1).find(|a| *a != &answers[0]) {
            failures.push(format!("{name}: a second answer: {other}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Nothing of that hurt the server: it still registers people.
    let mut phone = Phone::new(sip);
    let (_, ok) = register(&mut phone, "ivan", PASSWORD, "");
    assert_eq!(status(&ok), 200);
}

/// Replaces the sent-by of the first Via header line at or after byte `from` — long or
/// compact name, any linear whitespace, folded — with 127.0.0.1:`port`; `None` when there
/// is no such header. Works on bytes: some messages are not UTF-8.
fn point_via_at(raw: &[u8], from: usize, port: u16) -> Option<Vec<u8>> {
    let is_lws = |b: u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let mut at = from;
    // The first byte after `Via:` (or `v:`) on a line of its own.
    let value = loop {
        at += raw[at..].windows(2).position(|w| w == b"\r\n")? + 2;
        let line = &raw[at..];
        let name_len = line
            .iter()
            .position(|&b| b == b':' || b == b' ' || b == b'\t')?;
        let name = &line[..name_len];
        let colon = name_len
            + line[name_len..]
                .iter()
                .position(|&b| b != b' ' && b != b'\t')?;
        if line[colon] == b':'
            && (name.eq_ignore_ascii_case(b"via") || name.eq_ignore_ascii_case(b"v"))
        {
            break at + colon + 1;
        }
    };
    // sent-protocol = "SIP" LWS "/" LWS version LWS "/" LWS transport, then LWS, then sent-by.
    let mut i = value;
    for part in 0..5 {
        while is_lws(*raw.get(i)?) {
            i += 1;
        }
        if part % 2 == 1 {
            (raw[i] == b'/').then_some(())?;
            i += 1;
        } else {
            while !is_lws(*raw.get(i)?) && raw[i] != b'/' {
                i += 1;
            }
        }
    }
    while is_lws(*raw.get(i)?) {
        i += 1;
    }
    let end = i + raw[i..]
        .iter()
        .position(|&b| matches!(b, b';' | b',') || is_lws(b))?;
    let mut out = raw[..i].to_vec();
    out.extend_from_slice(format!("127.0.0.1:{port}").as_bytes());
    out.extend_from_slice(&raw[end..]);
    Some(out)
}

#[test]
fn point_via_at_finds_folded_compact_and_spaced_vias() {
    let cases: [(&[u8], &[u8]); 4] = [
        (
            b"OPTIONS sip:a SIP/2.0\r\nVia: SIP/2.0/UDP h.example:5060;branch=z\r\n\r\n",
            b"OPTIONS sip:a SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z\r\n\r\n",
        ),
        (
            b"X sip:a SIP/2.0\r\nVia  : SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=3\r\n\r\n",
            b"X sip:a SIP/2.0\r\nVia  : SIP  /   2.0\r\n /UDP\r\n    127.0.0.1:9;branch=3\r\n\r\n",
        ),
        (
            b"X sip:a SIP/2.0\r\nVial: no\r\nv:     SIP/7.0/UDP c.example.com\r\n\r\n",
            b"X sip:a SIP/2.0\r\nVial: no\r\nv:     SIP/7.0/UDP 127.0.0.1:9\r\n\r\n",
        ),
        (
            b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a, SIP/2.0/UDP b\r\n\r\n",
            b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:9, SIP/2.0/UDP b\r\n\r\n",
        ),
    ];
    for (raw, want) in cases {
        let got = point_via_at(raw, 0, 9).expect("a Via");
        assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(want));
    }
    assert_eq!(
        point_via_at(b"OPTIONS sip:a SIP/2.0\r\nTo: <sip:a>\r\n\r\n", 0, 9),
        None
    );
}
