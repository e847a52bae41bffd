//! Fuzz-ish robustness: every truncated prefix and thousands of deterministic random
//! mutations (bit flips, awkward bytes, deletions, duplications, folds) of every RFC 4475
//! message go through the parser, the printer, every typed accessor, `reject` and the stream
//! framer. Nothing may panic; `catch_unwind` names each input that did. Also checks that
//! inputs near the size limit with many Vias or one huge header are handled.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::conformance_tests::fixtures;
use super::property_tests::Rng;
use super::*;

/// Runs everything a server would run on `input`.
fn exercise(input: &[u8]) {
    match Message::parse(input) {
        Ok(m) => {
            let again = Message::parse(&m.to_bytes());
            if let Ok(again) = again {
                let _ = again.to_bytes();
            }
            let h = m.headers();
            let _ = (
                h.vias(),
                h.top_via(),
                h.from(),
                h.to(),
                h.contacts(),
                h.routes(),
            );
            let _ = (
                h.record_routes(),
                h.call_id(),
                h.cseq(),
                h.max_forwards(),
                h.expires(),
            );
            let _ = (
                h.content_length(),
                h.content_type(),
                h.accept(),
                h.authorization(),
            );
            let _ = (
                h.proxy_authorization(),
                h.www_authenticate(),
                h.proxy_authenticate(),
            );
            if let Ok(contacts) = h.contacts() {
                for c in contacts {
                    let _ = (c.expires(), c.q(), c.tag(), c.to_string());
                }
            }
            if let Message::Request(r) = &m {
                let _ = Message::response_to(r, StatusCode::OK, "OK").to_bytes();
                if let Some(u) = r.uri().as_sip() {
                    let _ = u.user_decoded();
                }
            }
            let _ = m.to_string();
        }
        Err(e) => {
            let _ = (e.to_string(), reject(input, &e).map(|r| r.to_bytes()));
        }
    }
    let mut framer = StreamFramer::new();
    for chunk in input.chunks(97) {
        framer.push(chunk);
        while let Ok(Some(_)) = framer.next_frame() {}
    }
}

const AWKWARD: &[u8] = b"\r\n \t\"<>,;:=%\\@/[]?*\x00\xff\xc3";

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        if out.is_empty() {
            out.push(b'x');
        }
        let at = rng.below(out.len());
        match rng.below(7) {
            0 => out[at] ^= 1 << rng.below(8),
            1 => out[at] = *rng.pick(AWKWARD),
            2 => out.insert(at, *rng.pick(AWKWARD)),
            3 => {
                let end = (at + 1 + rng.below(40)).min(out.len());
                out.drain(at..end);
            }
            4 => {
                let end = (at + 1 + rng.below(200)).min(out.len());
                let copy = out[at..end].to_vec();
                out.splice(at..at, copy);
            }
            5 => {
                out.splice(at..at, b"\r\n ".iter().copied());
            }
            _ => out.truncate(at),
        }
    }
    out
}

#[test]
fn truncations_and_mutations_never_panic() {
    let mut rng = Rng::new(0xF022);
    let mut cases = 0usize;
    let mut panics = Vec::new();
    let mut run = |input: Vec<u8>, label: String| {
        cases += 1;
        if catch_unwind(AssertUnwindSafe(|| exercise(&input))).is_err() {
            panics.push(format!("{label}: {:?}", String::from_utf8_lossy(&input)));
        }
    };
    for f in fixtures() {
        for len in 0..=f.bytes.len() {
            run(
                f.bytes[..len].to_vec(),
                format!("{} truncated to {len}", f.name),
            );
        }
        for i in 0..300 {
            let input = mutate(&mut rng, &f.bytes);
            run(input, format!("{} mutation {i}", f.name));
        }
    }
    println!("robustness: {cases} inputs, {} panics", panics.len());
    assert!(
        panics.is_empty(),
        "inputs that panicked:\n{}",
        panics.join("\n")
    );
    assert!(cases > 10_000);
}

#[test]
fn limits_and_long_inputs() {
    let head = "INVITE sip:a@b SIP/2.0\r\nCSeq: 1 INVITE\r\n";
    let via = "Via: SIP/2.0/TCP sip1.example.com;branch=z9hG4bK123\r\n";
    let mut text = head.to_string();
    while text.len() + via.len() < MAX_MESSAGE_SIZE - 40 {
        text.push_str(via);
    }
    text.push_str("l: 0\r\n\r\n");
    let m = Message::parse(text.as_bytes()).unwrap();
    assert!(m.headers().vias().unwrap().len() > 1000);

    let mut text = head.to_string();
    text.push_str("Accept: ");
    text.push_str(&"a/b, ".repeat(14_000));
    text.push_str("a/b\r\n\r\n");
    assert!(matches!(
        Message::parse(text.as_bytes()),
        Err(ParseError::TooLarge { .. })
    ));
    let long_value = format!("{head}X-Long: {}\r\n\r\n", "x".repeat(60_000));
    assert!(Message::parse(long_value.as_bytes()).is_ok());
    let quotes = format!("{head}To: {}\r\n\r\n", "\"".repeat(60_000));
    assert!(Message::parse(quotes.as_bytes()).is_err());
}
