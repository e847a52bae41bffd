//! The small part of SDP (RFC 4566) the relay needs, sans-io: where a party wants its audio
//! (the `c=` address and the `m=audio` port), and the same description pointed at the relay.
//! Everything else (codecs, telephone-event, attributes) passes through untouched, so the two
//! phones negotiate codecs between themselves.

use std::net::{IpAddr, SocketAddr};

/// The address the audio of `sdp` should be sent to: the media-level `c=` of the first
/// `m=audio`, else the session-level one, with that stream's port.
pub fn audio_endpoint(sdp: &str) -> Option<SocketAddr> {
    let mut session_addr: Option<IpAddr> = None;
    let mut audio_port: Option<u16> = None;
    let mut media_addr: Option<IpAddr> = None;
    let mut in_audio = false;
    for line in sdp.lines().map(str::trim_end) {
        if let Some(m) = line.strip_prefix("m=") {
            if audio_port.is_some() {
                break;
            }
            let mut parts = m.split_whitespace();
            in_audio = parts.next() == Some("audio");
            if in_audio {
                audio_port = parts.next().and_then(|p| p.split('/').next()?.parse().ok());
            }
        } else if let Some(c) = line.strip_prefix("c=") {
            let addr = c
                .split_whitespace()
                .nth(2)
                .and_then(|a| a.split('/').next()?.parse().ok());
            if in_audio {
                media_addr = addr;
            } else if audio_port.is_none() {
                session_addr = addr;
            }
        }
    }
    Some(SocketAddr::new(media_addr.or(session_addr)?, audio_port?))
}

/// `sdp` with every `c=` address replaced by `to`'s and the first `m=audio` port by its port.
pub fn point_at(sdp: &str, to: SocketAddr) -> String {
    let family = if to.is_ipv4() { "IP4" } else { "IP6" };
    let mut out = String::with_capacity(sdp.len() + 16);
    let mut audio_done = false;
    for line in sdp.split_inclusive('\n') {
        let body = line.trim_end_matches(['\r', '\n']);
        let ending = &line[body.len()..];
        if body.starts_with("c=") {
            out.push_str(&format!("c=IN {family} {}", to.ip()));
        } else if let (Some(m), false) = (body.strip_prefix("m=audio "), audio_done) {
            audio_done = true;
            let rest = m.split_once(' ').map_or("", |(_, r)| r);
            out.push_str(&format!("m=audio {} {rest}", to.port()));
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
    fn media_level_connection_wins() {
        let sdp = "v=0\nc=IN IP4 10.0.0.1\nm=audio 5004 RTP/AVP 0\nc=IN IP4 10.0.0.2\n";
        assert_eq!(audio_endpoint(sdp), Some("10.0.0.2:5004".parse().unwrap()));
        assert_eq!(audio_endpoint("v=0\nm=video 1 RTP/AVP 31\n"), None);
    }
}
