//! The small part of SDP (RFC 4566, offer/answer RFC 3264) the PBX needs, sans-io: where a
//! party wants its audio (the `c=` address and the `m=audio` port), and the same description
//! pointed at the relay — codecs and attributes pass through untouched, so two phones negotiate
//! codecs between themselves. When the PBX serves a caller's audio itself it answers the offer
//! (`answer`: the first of the caller's codecs it speaks — PCMU or PCMA — and telephone-event
//! on whatever payload type the caller gave it), and offers the legs it rings only that codec
//! (`only`), so the call can be bridged to whoever answers without renegotiating.

use super::endpoint::Codec;
use super::g711::Law;
use std::net::{IpAddr, SocketAddr};

/// The audio formats of the first `m=audio` of `sdp`, in the offerer's order: each payload
/// type with its encoding name and clock rate (static types 0 and 8 need no `rtpmap`).
fn audio_formats(sdp: &str) -> Option<Vec<(u8, String, u32)>> {
    let mut formats: Option<Vec<(u8, String, u32)>> = None;
    let mut in_audio = false;
    for line in sdp.lines().map(str::trim_end) {
        if let Some(m) = line.strip_prefix("m=") {
            if formats.is_some() {
                break;
            }
            let mut parts = m.split_whitespace();
            in_audio = parts.next() == Some("audio");
            if in_audio {
                let port = parts.next()?.split('/').next()?;
                if port == "0" {
                    return None; // a rejected stream
                }
                let _proto = parts.next()?;
                formats = Some(
                    parts
                        .filter_map(|f| f.parse::<u8>().ok())
                        .map(|pt| match pt {
                            0 => (pt, "PCMU".to_string(), 8000),
                            8 => (pt, "PCMA".to_string(), 8000),
                            9 => (pt, "G722".to_string(), 8000),
                            _ => (pt, String::new(), 0),
                        })
                        .collect(),
                );
            }
        } else if let (true, Some(map)) = (in_audio, line.strip_prefix("a=rtpmap:")) {
            let Some((pt, rest)) = map.split_once(' ') else {
                continue;
            };
            let (Ok(pt), Some(list)) = (pt.trim().parse::<u8>(), formats.as_mut()) else {
                continue;
            };
            let mut enc = rest.trim().split('/');
            let name = enc.next().unwrap_or("").to_string();
            let rate = enc.next().and_then(|r| r.parse().ok()).unwrap_or(0);
            if let Some(f) = list.iter_mut().find(|f| f.0 == pt) {
                f.1 = name;
                f.2 = rate;
            }
        }
    }
    formats
}

/// What the PBX can serve to the party that sent `offer`: the first of its audio formats that
/// is G.711 (PCMU or PCMA at 8 kHz), with its telephone-event type if it offered one. `None`
/// when it offers neither (or no audio).
pub fn choose(offer: &str) -> Option<Codec> {
    let formats = audio_formats(offer)?;
    let (payload_type, law) = formats.iter().find_map(|(pt, name, rate)| {
        let law = match (name.to_ascii_uppercase().as_str(), rate) {
            ("PCMU", 8000) => Law::Mu,
            ("PCMA", 8000) => Law::A,
            _ => return None,
        };
        Some((*pt, law))
    })?;
    let event_type = formats
        .iter()
        .find(|(_, name, rate)| name.eq_ignore_ascii_case("telephone-event") && *rate == 8000)
        .map(|f| f.0);
    Some(Codec {
        law,
        payload_type,
        event_type,
    })
}

/// The PBX's answer to an offer it serves with `codec`: its audio at `at`; `session` is the
/// `o=` session id (the same answer is repeated in a 183 and the 200 that follows it).
pub fn answer(codec: &Codec, at: SocketAddr, session: u64) -> String {
    let family = if at.is_ipv4() { "IP4" } else { "IP6" };
    let ip = at.ip();
    let pt = codec.payload_type;
    let mut formats = pt.to_string();
    let mut attributes = format!("a=rtpmap:{pt} {}/8000\r\n", codec.law.name());
    if let Some(te) = codec.event_type {
        formats.push_str(&format!(" {te}"));
        attributes.push_str(&format!(
            "a=rtpmap:{te} telephone-event/8000\r\na=fmtp:{te} 0-15\r\n"
        ));
    }
    format!(
        "v=0\r\no=pbx {session} {session} IN {family} {ip}\r\ns=pbx\r\nc=IN {family} {ip}\r\nt=0 0\r\n\
         m=audio {} RTP/AVP {formats}\r\n{attributes}a=ptime:20\r\na=sendrecv\r\n",
        at.port()
    )
}

/// The PBX's own offer, when it places a call itself (a callback): PCMU, PCMA and
/// telephone-event (101) at `at`.
pub fn offer(at: SocketAddr, session: u64) -> String {
    let family = if at.is_ipv4() { "IP4" } else { "IP6" };
    let ip = at.ip();
    format!(
        "v=0\r\no=pbx {session} {session} IN {family} {ip}\r\ns=pbx\r\nc=IN {family} {ip}\r\nt=0 0\r\n\
         m=audio {} RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n",
        at.port()
    )
}

/// `offer` with its first audio stream narrowed to `codec` (and its telephone-event): what
/// the legs of a call whose caller the PBX already answered are offered, so whoever answers
/// speaks what the caller was answered with.
pub fn only(offer: &str, codec: &Codec) -> String {
    let keep = |pt: u8| pt == codec.payload_type || Some(pt) == codec.event_type;
    let mut out = String::with_capacity(offer.len());
    // 0 before the first audio stream (which need not be the first stream: `choose` reads
    // the first `m=audio` wherever it is), 1 in it, 2 after it.
    let mut section = 0;
    for line in offer.split_inclusive('\n') {
        let body = line.trim_end_matches(['\r', '\n']);
        let ending = &line[body.len()..];
        if let Some(m) = body.strip_prefix("m=") {
            let mut parts = m.split_whitespace();
            if section == 0 && parts.next() == Some("audio") {
                section = 1;
                let head: Vec<&str> = m.split_whitespace().take(3).collect();
                let formats: Vec<&str> = m
                    .split_whitespace()
                    .skip(3)
                    .filter(|f| f.parse::<u8>().is_ok_and(keep))
                    .collect();
                out.push_str(&format!("m={} {}", head.join(" "), formats.join(" ")));
                out.push_str(ending);
                continue;
            }
            if section == 1 {
                section = 2;
            }
        } else if section == 1 {
            let pt = body
                .strip_prefix("a=rtpmap:")
                .or_else(|| body.strip_prefix("a=fmtp:"))
                .and_then(|r| r.split(' ').next()?.parse::<u8>().ok());
            if pt.is_some_and(|pt| !keep(pt)) {
                continue;
            }
        }
        out.push_str(line);
    }
    out
}

/// The address the audio of `sdp` should be sent to: the first `m=audio` stream's port at its
/// media-level `c=`, else the session-level one (a `c=` before any `m=`). `None` for a
/// rejected stream (port 0, RFC 3264 §6: nothing to send to, nothing to relay) and for a port
/// that does not read as one — the first audio stream is the one `choose` and `point_at` take,
/// so no later one stands in for it.
pub fn audio_endpoint(sdp: &str) -> Option<SocketAddr> {
    let mut session_addr: Option<IpAddr> = None;
    let mut media_addr: Option<IpAddr> = None;
    // The first audio stream's port, once its `m=` line was read.
    let mut audio_port: Option<Option<u16>> = None;
    let (mut in_media, mut in_audio) = (false, false);
    for line in sdp.lines().map(str::trim_end) {
        if let Some(m) = line.strip_prefix("m=") {
            if audio_port.is_some() {
                break;
            }
            in_media = true;
            let mut parts = m.split_whitespace();
            in_audio = parts.next() == Some("audio");
            if in_audio {
                audio_port = Some(parts.next().and_then(|p| p.split('/').next()?.parse().ok()));
            }
        } else if let Some(c) = line.strip_prefix("c=") {
            let addr = c
                .split_whitespace()
                .nth(2)
                .and_then(|a| a.split('/').next()?.parse().ok());
            if in_audio {
                media_addr = addr;
            } else if !in_media {
                session_addr = addr;
            }
        }
    }
    let port = audio_port.flatten().filter(|&p| p != 0)?;
    Some(SocketAddr::new(media_addr.or(session_addr)?, port))
}

/// `sdp` with every `c=` address replaced by `to`'s and the first `m=audio` port by its port.
/// The `m=` line is read as `audio_endpoint` and `choose` read it (fields split at any white
/// space) and written back with single spaces.
pub fn point_at(sdp: &str, to: SocketAddr) -> String {
    let family = if to.is_ipv4() { "IP4" } else { "IP6" };
    let mut out = String::with_capacity(sdp.len() + 16);
    let mut audio_done = false;
    for line in sdp.split_inclusive('\n') {
        let body = line.trim_end_matches(['\r', '\n']);
        let ending = &line[body.len()..];
        let audio = body
            .strip_prefix("m=")
            .filter(|m| m.split_whitespace().next() == Some("audio"));
        if body.starts_with("c=") {
            out.push_str(&format!("c=IN {family} {}", to.ip()));
        } else if let (Some(m), false) = (audio, audio_done) {
            audio_done = true;
            let rest: Vec<&str> = m.split_whitespace().skip(2).collect();
            out.push_str(&format!("m=audio {} {}", to.port(), rest.join(" ")));
        } else {
            out.push_str(body);
        }
        out.push_str(ending);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\no=a 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\nm=video 40002 RTP/AVP 31\r\n";

    #[test]
    fn finds_and_rewrites_the_audio_endpoint() {
        assert_eq!(
            audio_endpoint(OFFER),
            Some("10.0.0.5:40000".parse().unwrap())
        );
        let relay: SocketAddr = "127.0.0.1:20002".parse().unwrap();
        let rewritten = point_at(OFFER, relay);
        assert_eq!(audio_endpoint(&rewritten), Some(relay));
        assert!(rewritten.contains("m=audio 20002 RTP/AVP 0 8 101\r\n"));
        assert!(
            rewritten.contains("a=rtpmap:101 telephone-event/8000\r\n"),
            "codecs pass through"
        );
        assert!(
            rewritten.contains("m=video 40002 RTP/AVP 31\r\n"),
            "only the audio stream moves"
        );
        assert!(rewritten.contains("o=a 1 1 IN IP4 10.0.0.5"));
    }

    #[test]
    fn the_pbx_answers_with_the_first_g711_codec_and_the_offered_telephone_event() {
        let offer = "v=0\r\nc=IN IP4 10.0.0.5\r\nm=audio 4000 RTP/AVP 9 8 0 96\r\na=rtpmap:9 G722/8000\r\na=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-16\r\n";
        let codec = choose(offer).unwrap();
        assert_eq!(
            codec,
            Codec {
                law: Law::A,
                payload_type: 8,
                event_type: Some(96)
            }
        );
        let at: SocketAddr = "127.0.0.1:20000".parse().unwrap();
        let answer = answer(&codec, at, 7);
        assert_eq!(audio_endpoint(&answer), Some(at));
        assert!(
            answer.contains("m=audio 20000 RTP/AVP 8 96\r\n"),
            "{answer}"
        );
        assert!(answer.contains("a=rtpmap:96 telephone-event/8000\r\n"));
        assert_eq!(choose(&answer), Some(codec), "the answer says the same");
        // The legs are offered only that.
        let narrowed = only(offer, &codec);
        assert!(
            narrowed.contains("m=audio 4000 RTP/AVP 8 96\r\n"),
            "{narrowed}"
        );
        assert!(!narrowed.contains("G722"));
        assert_eq!(choose(&narrowed), Some(codec));
        // Dynamic PCMU, no telephone-event; nothing the PBX speaks; a rejected stream.
        let dynamic = "v=0\nc=IN IP4 1.2.3.4\nm=audio 5 RTP/AVP 97\na=rtpmap:97 pcmu/8000\n";
        assert_eq!(
            choose(dynamic),
            Some(Codec {
                law: Law::Mu,
                payload_type: 97,
                event_type: None
            })
        );
        assert_eq!(
            choose("v=0\nc=IN IP4 1.2.3.4\nm=audio 5 RTP/AVP 9 111\n"),
            None
        );
        assert_eq!(choose("v=0\nc=IN IP4 1.2.3.4\nm=audio 0 RTP/AVP 0\n"), None);
        assert_eq!(choose("garbage"), None);
    }

    #[test]
    fn narrows_the_audio_stream_that_is_not_the_first_stream() {
        // Found by the `sdp` fuzz target: `choose` reads the first `m=audio` wherever it is,
        // `only` narrowed it only when it was the very first stream, so a video-first offer
        // went to the legs with every codec and a leg could answer one the caller was not
        // served with.
        let offer = "v=0\r\nc=IN IP4 10.0.0.5\r\nm=video 4002 RTP/AVP 31\r\nm=audio 4000 RTP/AVP 9 0 101\r\na=rtpmap:9 G722/8000\r\na=rtpmap:101 telephone-event/8000\r\n";
        let codec = choose(offer).unwrap();
        assert_eq!(codec.payload_type, 0);
        let narrowed = only(offer, &codec);
        assert!(
            narrowed.contains("m=audio 4000 RTP/AVP 0 101\r\n"),
            "{narrowed}"
        );
        assert!(!narrowed.contains("G722"), "{narrowed}");
        assert!(
            narrowed.contains("m=video 4002 RTP/AVP 31\r\n"),
            "{narrowed}"
        );
        assert_eq!(choose(&narrowed), Some(codec));
    }

    #[test]
    fn points_an_audio_line_split_by_any_white_space() {
        // Found by the `sdp` fuzz target: `point_at` split the `m=` line at spaces only, while
        // `audio_endpoint` and `choose` split it at any white space, so a tab after the port
        // lost the codecs (and `m=audio\t...` was not moved to the relay at all).
        let relay: SocketAddr = "127.0.0.1:20002".parse().unwrap();
        for offer in [
            "v=0\r\nc=IN IP4 10.0.0.5\r\nm=audio 4000\tRTP/AVP 0 101\r\n",
            "v=0\r\nc=IN IP4 10.0.0.5\r\nm=audio\t4000  RTP/AVP\x0b0 101\r\n",
        ] {
            let pointed = point_at(offer, relay);
            assert_eq!(audio_endpoint(&pointed), Some(relay), "{pointed:?}");
            assert_eq!(choose(&pointed), choose(offer), "{pointed:?}");
            assert!(
                pointed.ends_with("m=audio 20002 RTP/AVP 0 101\r\n"),
                "{pointed:?}"
            );
        }
    }

    #[test]
    fn a_rejected_stream_has_no_endpoint() {
        // Found while fuzzing `sdp`: port 0 (a declined stream) read as an address to
        // relay to, and pointing the SDP at the relay turned the refusal into an acceptance.
        let declined = "v=0\r\nc=IN IP4 10.0.0.5\r\nm=audio 0 RTP/AVP 0\r\n";
        assert_eq!(audio_endpoint(declined), None);
        assert_eq!(choose(declined), None);
    }

    #[test]
    fn the_first_audio_stream_is_the_audio_stream() {
        // Found by the `sdp` fuzz target: a first `m=audio` whose port did not read made
        // `audio_endpoint` take a later one while `point_at` moved the first, so the relayed
        // SDP had no endpoint; and a `c=` of a video stream was taken as the session's.
        let relay: SocketAddr = "127.0.0.1:20002".parse().unwrap();
        let garbled =
            "v=0\r\nc=IN IP4 10.0.0.5\r\nm=audio x RTP/AVP 0\r\nm=audio 4000 RTP/AVP 0\r\n";
        assert_eq!(audio_endpoint(garbled), None);
        assert_eq!(audio_endpoint(&point_at(garbled, relay)), Some(relay));
        let video_first = "v=0\r\nc=IN IP4 10.0.0.5\r\nm=video 4002 RTP/AVP 31\r\nc=IN IP4 10.0.0.9\r\nm=audio 4000 RTP/AVP 0\r\n";
        assert_eq!(
            audio_endpoint(video_first),
            Some("10.0.0.5:4000".parse().unwrap())
        );
    }

    #[test]
    fn media_level_connection_wins() {
        let sdp = "v=0\nc=IN IP4 10.0.0.1\nm=audio 5004 RTP/AVP 0\nc=IN IP4 10.0.0.2\n";
        assert_eq!(audio_endpoint(sdp), Some("10.0.0.2:5004".parse().unwrap()));
        assert_eq!(audio_endpoint("v=0\nm=video 1 RTP/AVP 31\n"), None);
    }
}
