//! What each fuzz target does with its input: the same entry points the server uses on bytes
//! from the network or a config author, plus the invariants their documentation promises,
//! checked with `assert!` so a broken promise is a crash libFuzzer keeps.
//!
//! Shared by the cargo-fuzz targets (`fuzz_targets/*.rs`) and the main crate's regression test
//! (`tests/it/fuzz.rs` includes this file by path and runs every input kept under
//! `tests/data/fuzz/<target>/`), so `cargo test` replays old crashes without cargo-fuzz.
//! Only `pbx`, `axum` and `serde_json` are used: what the main crate's tests have too.

use pbx::config::bundle::Bundle;
use pbx::config::load::load_bundle;
use pbx::config::proposal::{plan_against, RunningState};
use pbx::config::report::{render, Format};
use pbx::config::validate::{validate, Options};
use pbx::engine::dispatch::{dispatch, overloaded, Dispatch};
use pbx::http::admin::{rotate_notify, ApplyRequest};
use pbx::media::{sdes, sdp};
use pbx::sip::auth::{Credentials, DigestAuth, Verdict};
use pbx::sip::dialog::Dialog;
use pbx::sip::link::{Link, Peer};
use pbx::sip::message::{Frame, Message, Method, ParseError, StatusCode, StreamFramer};
use pbx::sip::uas;
use std::net::SocketAddr;
use std::path::Path;

/// Shards the dispatcher picks from.
const SHARDS: usize = 4;

/// Where the fuzzed datagram comes from.
fn source() -> Peer {
    Peer {
        addr: SocketAddr::from(([192, 0, 2, 7], 5070)),
        link: Link::Udp(0),
    }
}

/// `sip_message`: `data` as a datagram through the engine's way in (`dispatch`), every typed
/// view of a message that parsed, the answers built from it, and `data` as a TCP stream.
pub fn sip_message(data: &[u8]) {
    let from = source();
    match dispatch(data, from, SHARDS) {
        Dispatch::KeepAlive => {}
        Dispatch::Malformed(answer) => {
            let error = Message::parse(data).expect_err("dispatch said it does not parse");
            let _ = error.to_string();
            if let Some(answer) = answer {
                // Only a request is answered, and only with the status its error names.
                let code = error
                    .status()
                    .expect("an answer to an error that has no status");
                let head = answer.bytes.split(|&b| b == b'\n').next().unwrap_or(&[]);
                assert!(
                    head.starts_with(format!("SIP/2.0 {code} ").as_bytes()),
                    "answered {:?} for {error:?}",
                    String::from_utf8_lossy(head)
                );
            }
        }
        Dispatch::Shard { shard, message } => {
            assert!(shard < SHARDS);
            views(&message, from);
        }
    }
    stream(data);
}

/// Everything read from a parsed message, and the invariants of the printer and the UAS.
fn views(m: &Message, from: Peer) {
    // parse(print(m)) is m with a Content-Length stating its body's length (the printer
    // always writes one; a datagram may come without), and printing is stable.
    let printed = m.to_bytes();
    let again = Message::parse(&printed).unwrap_or_else(|e| {
        panic!(
            "our print of a parsed message does not parse ({e}):\n{}",
            String::from_utf8_lossy(&printed)
        )
    });
    let mut expected = m.clone();
    expected
        .headers_mut()
        .set("Content-Length", m.body().len().to_string());
    assert_eq!(again, expected, "parse(print(m)) is not m");
    assert_eq!(again.to_bytes(), printed, "printing is not stable");
    let _ = m.to_string();

    let h = m.headers();
    let _ = (h.vias(), h.from(), h.to(), h.routes(), h.record_routes());
    let _ = (h.call_id(), h.cseq(), h.max_forwards(), h.expires());
    let _ = (
        h.min_expires(),
        h.content_length(),
        h.content_type(),
        h.accept(),
    );
    let _ = (h.www_authenticate(), h.proxy_authenticate());
    let _ = h.contact_is_wildcard();
    if let Ok(contacts) = h.contacts() {
        for c in contacts {
            let _ = (c.expires(), c.q(), c.tag(), c.to_string());
        }
    }
    if let Ok(via) = h.top_via() {
        let _ = (via.branch(), via.received(), via.rport(), via.maddr());
        let _ = (
            via.ttl(),
            via.sent_by(),
            uas::response_address(&via, from.addr),
        );
    }
    for a in h.authorization().into_iter().chain(h.proxy_authorization()) {
        for a in a {
            let _ = (a.is_scheme("Digest"), a.param("nonce"), a.to_string());
        }
    }
    if let Some(overloaded) = overloaded(m, from) {
        reparses(&overloaded.bytes, "the stateless 503");
    }
    let Message::Request(r) = m else {
        return;
    };
    if let Some(u) = r.uri().as_sip() {
        let _ = (u.user_decoded(), u.host_port(), uas::host_text(&u.host));
    }
    let _ = uas::user_of(r.uri());
    if let Some(answer) = uas::check_request(r, "fz1") {
        reparses(&answer.to_bytes(), "check_request's answer");
    }
    let ok = uas::respond(r, StatusCode::OK, "OK", "fz1");
    reparses(&ok.to_bytes(), "a 200 to a parsed request");
    let _ = Message::response_to(r, StatusCode::TRYING, "Trying").to_bytes();

    // The Via a UAS stamps is the one the request then carries.
    if let Ok(via) = h.top_via() {
        let mut stamped = r.clone();
        let (via, _) = uas::stamp_received(&mut stamped, &via, from);
        let back = reparses(&stamped.to_bytes(), "a request with received/rport stamped");
        assert_eq!(
            back.headers().top_via().ok(),
            Some(via),
            "the stamped Via is not the top Via"
        );
    }
    // A dialog made from the request builds in-dialog requests that parse.
    if let Some(mut dialog) = Dialog::as_uas(r, "fz1", from) {
        let bye = dialog.request(Method::Bye, "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKfz");
        reparses(
            &bye.to_bytes(),
            "a BYE in a dialog made from a parsed request",
        );
        let _ = dialog.next_hop();
    }
    // Digest credentials: read, and never accepted for an account that does not exist.
    let auth = DigestAuth::new([7; 32]);
    for name in ["Authorization", "Proxy-Authorization"] {
        for value in h.get_all(name) {
            if let Some(c) = Credentials::parse(value) {
                let verdict = auth.verify(&c, r.method().as_str(), &c.realm, None, 0);
                assert_ne!(verdict, Verdict::Ok, "an unknown user authenticated");
            }
        }
    }
}

/// Parses bytes the PBX made itself, which must parse.
fn reparses(bytes: &[u8], what: &str) -> Message {
    Message::parse(bytes).unwrap_or_else(|e| {
        panic!(
            "{what} does not parse ({e}):\n{}",
            String::from_utf8_lossy(bytes)
        )
    })
}

/// What a framer hands out, errors reduced to their kind (a size error's length depends on
/// how much had arrived).
#[derive(Debug, PartialEq)]
enum Framed {
    Frame(Frame),
    Error(Option<u16>, std::mem::Discriminant<ParseError>),
}

/// The frames of `chunks` pushed one after another, up to the first error.
fn frames<'a>(chunks: impl Iterator<Item = &'a [u8]>) -> Vec<Framed> {
    let mut framer = StreamFramer::new();
    let mut out = Vec::new();
    for chunk in chunks {
        framer.push(chunk);
        loop {
            match framer.next_frame() {
                Ok(Some(frame)) => out.push(Framed::Frame(frame)),
                Ok(None) => break,
                Err(e) => {
                    let _ = framer.buffered();
                    out.push(Framed::Error(e.status(), std::mem::discriminant(&e)));
                    return out;
                }
            }
        }
    }
    out
}

/// `data` as a TCP stream: framed the same however it is cut into reads, each frame within
/// the size limit and dispatched like a datagram.
fn stream(data: &[u8]) {
    let whole = frames(std::iter::once(data));
    // Cut into reads of 1-64 bytes, the sizes taken from the data itself.
    let mut cuts = Vec::new();
    let mut rest = data;
    let mut i = 0;
    while !rest.is_empty() {
        let n = (1 + usize::from(data[i % data.len()] % 64)).min(rest.len());
        cuts.push(&rest[..n]);
        rest = &rest[n..];
        i += 1;
    }
    let pieces = frames(cuts.into_iter());
    assert_eq!(whole, pieces, "framing depends on how the stream was read");
    for f in whole {
        if let Framed::Frame(Frame::Message(bytes)) = f {
            assert!(bytes.len() <= pbx::sip::message::MAX_MESSAGE_SIZE);
            if let Dispatch::Shard { message, .. } = dispatch(&bytes, source(), SHARDS) {
                views(&message, source());
            }
        }
    }
}

/// The first `m=audio` line's formats, read independently of `pbx::media::sdp`.
fn audio_formats(text: &str) -> Option<Vec<&str>> {
    text.lines().find_map(|line| {
        let mut parts = line.strip_prefix("m=")?.split_whitespace();
        (parts.next() == Some("audio")).then(|| parts.skip(2).collect())
    })
}

/// `sdp`: a body as the engine reads one (UTF-8 or not SDP at all) through every SDP function,
/// with the relay's promises: pointing an SDP at the relay moves its audio there and keeps its
/// codecs; narrowing to the served codec leaves only it; the PBX's own answer says what it was
/// made from.
pub fn sdp(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let v4 = SocketAddr::from(([203, 0, 113, 9], 20002));
    let v6: SocketAddr = "[2001:db8::9]:20004".parse().expect("an address");
    let endpoint = sdp::audio_endpoint(text);
    let codec = sdp::choose(text);
    for to in [v4, v6] {
        let pointed = sdp::point_at(text, to);
        // The engine points an SDP at the relay only when it has an audio endpoint.
        if endpoint.is_some() {
            assert_eq!(
                sdp::audio_endpoint(&pointed),
                Some(to),
                "point_at did not move the audio:\n{pointed}"
            );
            assert_eq!(sdp::choose(&pointed), codec, "point_at changed the codecs");
        }
    }
    if let Some(codec) = codec {
        let narrowed = sdp::only(text, &codec);
        assert_eq!(
            sdp::choose(&narrowed),
            Some(codec),
            "narrowing changed the choice"
        );
        assert_eq!(
            sdp::audio_endpoint(&narrowed),
            endpoint,
            "narrowing moved the audio"
        );
        let kept: Vec<u8> = audio_formats(&narrowed)
            .unwrap_or_default()
            .iter()
            .filter_map(|f| f.parse().ok())
            .collect();
        assert!(
            kept.iter()
                .all(|&pt| pt == codec.payload_type || Some(pt) == codec.event_type),
            "narrowed to {codec:?}, still offers {kept:?}:\n{narrowed}"
        );
        for at in [v4, v6] {
            let answer = sdp::answer(&codec, at, 7);
            assert_eq!(sdp::audio_endpoint(&answer), Some(at));
            assert_eq!(
                sdp::choose(&answer),
                Some(codec),
                "our answer reads back otherwise"
            );
        }
    }
    let _ = sdp::offer(v4, 1);
    // SDES: a party's key read back; the plain and secured forms keep the audio where it was
    // and only the secured one carries a key — ours.
    let offered = sdes::offered(text);
    let plain = sdes::plain(text);
    assert_eq!(
        sdes::offered(&plain),
        None,
        "a plain SDP still offers a key:\n{plain}"
    );
    assert_eq!(
        sdp::audio_endpoint(&plain),
        endpoint,
        "plain moved the audio"
    );
    if endpoint.is_some() {
        let ours = sdes::Crypto {
            tag: offered.as_ref().map_or(1, |c| c.tag),
            suite: pbx::media::srtp::Suite::AesCm128HmacSha1_80,
            key: [9; pbx::media::srtp::KEY_LEN],
        };
        let secured = sdes::secured(&plain, &ours);
        assert_eq!(
            sdp::audio_endpoint(&secured),
            endpoint,
            "secured moved the audio"
        );
        if matches!(sdp_profile(&plain).as_deref(), Some("RTP/AVP" | "RTP/AVPF")) {
            assert_eq!(
                sdes::offered(&secured),
                Some(ours),
                "our key does not read back:\n{secured}"
            );
        }
    }
}

/// The profile of the first audio stream of `sdp`.
fn sdp_profile(sdp: &str) -> Option<String> {
    sdp.lines()
        .find_map(|l| l.trim_end().strip_prefix("m=audio "))
        .and_then(|m| m.split_whitespace().nth(1).map(str::to_string))
}

/// Marks a file boundary in a `config` input: `#=== <name>` on a line of its own starts the
/// file `<name>`; what comes before the first marker is `pbx.yaml`.
const FILE_MARK: &str = "#=== ";

/// The bundle a `config` input describes.
pub fn bundle_of(text: &str) -> Bundle {
    let mut files = std::collections::BTreeMap::new();
    let mut name = "pbx.yaml".to_string();
    let mut body = String::new();
    for line in text.split_inclusive('\n') {
        if let Some(next) = line.strip_prefix(FILE_MARK) {
            files.insert(std::mem::take(&mut name), std::mem::take(&mut body));
            name = next.trim_end().to_string();
        } else {
            body.push_str(line);
        }
    }
    files.insert(name, body);
    Bundle {
        main: "pbx.yaml".into(),
        files,
    }
}

/// `config`: the files of a config (see [`bundle_of`]) loaded and validated as `pbx apply`
/// has the server do it (audio and TLS files not opened: the fuzzer must not read the
/// disk), every diagnostic rendered in the three formats, and a valid config planned against
/// itself, which changes nothing.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check_bundle(&bundle_of(text));
}

/// A bundle checked, loaded, validated, rendered and planned (see [`config`]).
fn check_bundle(bundle: &Bundle) {
    if bundle.check().is_err() {
        return;
    }
    let base = Path::new(".");
    let (outcome, sources) = validate(load_bundle(bundle, base), Options { check_audio: false });
    let _ = render(Format::Human, &outcome.diagnostics, &sources);
    let _ = render(Format::Github, &outcome.diagnostics, &sources);
    let json = render(Format::Json, &outcome.diagnostics, &sources);
    // The applier reads the JSON rendering back to answer the admin API.
    serde_json::from_str::<serde_json::Value>(&json).expect("the JSON rendering is JSON");
    let Some(config) = outcome.config else {
        return;
    };
    assert!(!outcome.diagnostics.iter().any(|d| d.is_error()));
    let state = RunningState {
        revision: 1,
        bundle: Some(bundle.clone()),
        known: Vec::new(),
        own_settings: Vec::new(),
    };
    let proposal = plan_against(config, Vec::new(), base, &state, None, &mut || {
        "fuzzfuzzfuzzfuzz".to_string()
    });
    assert!(
        proposal.plan.is_empty() && proposal.plan.restart_required.is_empty(),
        "a config planned against itself changes something: {:?}",
        proposal.plan
    );
}

/// `admin_body`: `data` as the body of `POST /api/v1/apply` (read by axum's `Json`, as the
/// handler reads it; the bundle then goes through what the applier does before its store
/// write) and of a password rotation.
pub fn admin_body(data: &[u8]) {
    if let Ok(axum::Json(request)) = axum::Json::<ApplyRequest>::from_bytes(data) {
        let _ = (request.force, request.expected_revision);
        if let Some(p) = request.max_removal_percent {
            let _ = (0.0..=100.0).contains(&p);
        }
        check_bundle(&request.bundle);
    }
    let _ = rotate_notify(data);
}
