//! The round-trip property `parse(print(m)) == m`, on randomly generated messages: a seeded
//! xorshift generator (deterministic, no dependency) builds requests and responses through
//! the public builders with random methods, URIs, Vias, display names that need quoting,
//! parameters, extension headers and binary bodies. The same messages, concatenated and cut
//! into random chunks, must come back out of the stream framer one by one.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::*;

/// xorshift64*: small, fast, and the same sequence on every machine.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub(super) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n > 0`).
    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `percent`/100.
    pub(super) fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub(super) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A string of 1..=max characters drawn from `alphabet`.
    fn string(&mut self, alphabet: &str, max: usize) -> String {
        let chars: Vec<char> = alphabet.chars().collect();
        let len = 1 + self.below(max);
        (0..len).map(|_| *self.pick(&chars)).collect()
    }
}

const ALNUM: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const TOKEN: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~";
const USER: &str = "abcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()&=+$,;?/";
const PARAM: &str = "abcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()[]/:&+$";
const TEXT: &str = "abc XYZ 019 \"\\<>,;:=@?% \té中😀\u{1}\u{7f}\u{0}";
const VALUE: &str = "abc XYZ 019 \"\\<>,;:=@?%()[]{}/é中😀\t";

fn token(rng: &mut Rng) -> String {
    rng.string(TOKEN, 12)
}

fn host(rng: &mut Rng) -> Host {
    match rng.below(3) {
        0 => Host::V4(Ipv4Addr::from(rng.next() as u32)),
        1 => Host::V6(Ipv6Addr::from(
            u128::from(rng.next()) << 64 | u128::from(rng.next()),
        )),
        _ => {
            let labels: Vec<String> = (0..1 + rng.below(4))
                .map(|_| {
                    let mut label = rng.string(ALNUM, 1);
                    if rng.chance(50) {
                        label.push_str(&rng.string("abc-9", 10));
                        label.push_str(&rng.string(ALNUM, 1));
                    }
                    label
                })
                .collect();
            Host::Name(labels.join("."))
        }
    }
}

fn escaped(rng: &mut Rng, alphabet: &str) -> String {
    let mut s = rng.string(alphabet, 10);
    if rng.chance(30) {
        s.push_str(&format!("%{:02X}", rng.below(256)));
    }
    s
}

fn sip_uri(rng: &mut Rng) -> SipUri {
    let mut uri = SipUri::new(host(rng));
    uri.secure = rng.chance(20);
    if rng.chance(80) {
        uri.user = Some(escaped(rng, USER));
        if rng.chance(20) {
            uri.password = Some(escaped(rng, "abc123&=+$,"));
        }
    }
    if rng.chance(50) {
        uri.port = Some(rng.next() as u16);
    }
    for _ in 0..rng.below(3) {
        let value = rng.chance(60).then(|| escaped(rng, PARAM));
        uri.params.push(&escaped(rng, PARAM), value.as_deref());
    }
    uri
}

fn uri(rng: &mut Rng) -> Uri {
    if rng.chance(10) {
        Uri::Other(OtherUri {
            scheme: rng.pick(&["tel", "urn", "x-y.z+w"]).to_string(),
            opaque: rng.string("+0123456789abc:/.-;=", 15),
        })
    } else {
        Uri::Sip(sip_uri(rng))
    }
}

/// A header-parameter value: a token, or a quoted string of awkward text.
fn gen_value(rng: &mut Rng) -> Option<String> {
    match rng.below(3) {
        0 => None,
        1 => Some(token(rng)),
        _ => Some(quote(&rng.string(TEXT, 12))),
    }
}

fn via(rng: &mut Rng) -> Via {
    let transport = match rng.below(7) {
        0 => Transport::Other(rng.string("ABCXYZ", 6)),
        n => Transport::from_token(["UDP", "TCP", "TLS", "SCTP", "WS", "WSS"][n - 1]),
    };
    let port = rng.chance(50).then(|| rng.next() as u16);
    let mut via = Via::new(transport, host(rng), port);
    via.params
        .push("branch", Some(&format!("z9hG4bK{}", token(rng))));
    match rng.below(3) {
        0 => via.params.push("rport", None),
        1 => via
            .params
            .push("rport", Some(&(rng.next() as u16).to_string())),
        _ => {}
    }
    if rng.chance(30) {
        via.params.push(
            "received",
            Some(&Ipv4Addr::from(rng.next() as u32).to_string()),
        );
    }
    if rng.chance(30) {
        via.params
            .push(&format!("x{}", token(rng)), gen_value(rng).as_deref());
    }
    via
}

fn name_addr(rng: &mut Rng) -> NameAddr {
    let mut n = NameAddr::new(uri(rng));
    n.display_name = match rng.below(3) {
        0 => None,
        1 => Some(token(rng)),
        _ => Some(rng.string(TEXT, 20)),
    };
    if rng.chance(60) {
        n.set_tag(&token(rng));
    }
    for _ in 0..rng.below(3) {
        n.params
            .push(&format!("p{}", token(rng)), gen_value(rng).as_deref());
    }
    n
}

fn common_headers(rng: &mut Rng, headers: &mut Headers, method: &Method) {
    for _ in 0..1 + rng.below(4) {
        headers.push("Via", via(rng).to_string());
    }
    headers.push("Max-Forwards", rng.below(256).to_string());
    headers.push("From", name_addr(rng).to_string());
    headers.push("To", name_addr(rng).to_string());
    let call_id = rng.string("abcXYZ019-.!%*_+`'~()<>:\\\"/[]?{}", 20);
    headers.push("Call-ID", format!("{call_id}@{}", rng.string(ALNUM, 8)));
    headers.push(
        "CSeq",
        CSeq::new(rng.next() as u32, method.clone()).to_string(),
    );
    for _ in 0..rng.below(3) {
        headers.push("Contact", name_addr(rng).to_string());
    }
    if rng.chance(30) {
        headers.push("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS");
    }
    for _ in 0..rng.below(4) {
        let value = rng.string(VALUE, 30);
        headers.push(
            &format!("X-{}", token(rng)),
            value.trim_matches([' ', '\t']),
        );
    }
    if rng.chance(20) {
        headers.push(
            "WWW-Authenticate",
            AuthHeader::new("Digest")
                .quoted("realm", &rng.string(TEXT, 10))
                .quoted("nonce", &token(rng))
                .token("algorithm", "MD5")
                .to_string(),
        );
    }
}

fn body(rng: &mut Rng) -> Vec<u8> {
    let len = if rng.chance(40) { 0 } else { rng.below(300) };
    (0..len).map(|_| rng.next() as u8).collect()
}

fn method(rng: &mut Rng) -> Method {
    let name = if rng.chance(70) {
        rng.pick(&[
            "INVITE", "ACK", "BYE", "CANCEL", "REGISTER", "OPTIONS", "INFO", "REFER",
        ])
        .to_string()
    } else {
        token(rng)
    };
    name.parse().unwrap()
}

/// A random request or response.
fn message(rng: &mut Rng) -> Message {
    let body = body(rng);
    if rng.chance(50) {
        let method = method(rng);
        let mut r = Request::new(method.clone(), uri(rng));
        common_headers(rng, r.headers_mut(), &method);
        if !body.is_empty() {
            r.headers_mut()
                .push("Content-Type", "application/octet-stream");
        }
        r.set_body(body);
        Message::Request(r)
    } else {
        let code = StatusCode::new(100 + rng.below(600) as u16).unwrap();
        let reason = match rng.below(3) {
            0 => String::new(),
            1 => code.canonical_reason().to_string(),
            _ => rng.string(VALUE, 30),
        };
        let mut r = Response::new(code, &reason);
        let cseq_method = method(rng);
        common_headers(rng, r.headers_mut(), &cseq_method);
        r.set_body(body);
        Message::Response(r)
    }
}

#[test]
fn random_messages_round_trip() {
    let mut rng = Rng::new(0x5EED_4475);
    for i in 0..1000 {
        let m = message(&mut rng);
        let bytes = m.to_bytes();
        match Message::parse(&bytes) {
            Ok(back) => assert_eq!(back, m, "message {i} changed:\n{m}"),
            Err(e) => panic!("message {i} does not parse ({e}):\n{m}"),
        }
    }
}

#[test]
fn random_messages_come_back_out_of_a_stream() {
    let mut rng = Rng::new(42);
    let messages: Vec<Message> = (0..200).map(|_| message(&mut rng)).collect();
    let mut stream = Vec::new();
    for m in &messages {
        if rng.chance(10) {
            stream.extend_from_slice(b"\r\n");
        }
        stream.extend_from_slice(&m.to_bytes());
    }
    let mut framer = StreamFramer::new();
    let mut out = Vec::new();
    let mut at = 0;
    while at < stream.len() {
        let n = (1 + rng.below(1500)).min(stream.len() - at);
        framer.push(&stream[at..at + n]);
        at += n;
        while let Some(frame) = framer.next_frame().unwrap() {
            if let Frame::Message(bytes) = frame {
                out.push(Message::parse(&bytes).unwrap());
            }
        }
    }
    assert_eq!(out, messages);
}
