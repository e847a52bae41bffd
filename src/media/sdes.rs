//! SDES (RFC 4568): SRTP keys carried in SDP — the `a=crypto` line a party offers with an
//! `RTP/SAVP` audio stream (`offered`), the same description turned into plain RTP for the
//! other side of the relay (`plain`), and a description turned into SRTP with the PBX's own key
//! for the party that offered it (`secured`). Only the first audio stream (wherever it stands)
//! is touched; lines of other streams pass through.

use super::srtp::{Suite, KEY_LEN};
use base64::Engine as _;

/// A crypto attribute: its tag, suite and key (master key then salt).
#[derive(Clone, PartialEq, Eq)]
pub struct Crypto {
    pub tag: u32,
    pub suite: Suite,
    pub key: [u8; KEY_LEN],
}

impl std::fmt::Debug for Crypto {
    /// The key is never written to a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Crypto({} {:?})", self.tag, self.suite)
    }
}

/// Splits `sdp` into its lines, each with its line ending, marking those of the first audio
/// stream.
fn lines(sdp: &str) -> impl Iterator<Item = (&str, &str, bool)> {
    let mut section = 0; // 0 before the first audio stream, 1 in it, 2 after it
    sdp.split_inclusive('\n').map(move |line| {
        let body = line.trim_end_matches(['\r', '\n']);
        if let Some(m) = body.strip_prefix("m=") {
            let audio = m.split_whitespace().next() == Some("audio");
            section = match section {
                0 if audio => 1,
                0 => 0,
                _ => 2,
            };
        }
        (body, &line[body.len()..], section == 1)
    })
}

/// The profile of the first audio stream (`RTP/AVP`, `RTP/SAVP`...).
fn profile(sdp: &str) -> Option<&str> {
    lines(sdp)
        .find(|(body, _, audio)| *audio && body.starts_with("m="))
        .and_then(|(body, _, _)| body.split_whitespace().nth(2))
}

/// The first `a=crypto` of the first audio stream the PBX can use — a suite it speaks, an
/// `inline:` key of the right length, no MKI — when that stream is SRTP (`RTP/SAVP`,
/// `RTP/SAVPF`).
pub fn offered(sdp: &str) -> Option<Crypto> {
    if !matches!(profile(sdp)?, "RTP/SAVP" | "RTP/SAVPF") {
        return None;
    }
    lines(sdp)
        .filter(|(_, _, audio)| *audio)
        .filter_map(|(body, _, _)| body.strip_prefix("a=crypto:"))
        .find_map(|attr| {
            let mut parts = attr.split_whitespace();
            let tag = parts.next()?.parse().ok()?;
            let suite = Suite::from_name(parts.next()?)?;
            let params = parts.next()?.strip_prefix("inline:")?;
            let mut fields = params.split('|');
            let encoded = fields.next()?;
            // A key with an MKI is not supported: skip it for another line.
            if fields.any(|f| f.contains(':')) {
                return None;
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .ok()?;
            let key: [u8; KEY_LEN] = bytes.try_into().ok()?;
            Some(Crypto { tag, suite, key })
        })
}

/// `sdp` with its first audio stream as plain RTP: `RTP/SAVP` becomes `RTP/AVP` (`SAVPF`,
/// `AVPF`) and its `a=crypto` lines go.
pub fn plain(sdp: &str) -> String {
    rewrite(sdp, None)
}

/// `sdp` with its first audio stream as SRTP keyed by `crypto` (the PBX's key, with the tag
/// and suite of the line the party offered): `RTP/AVP` becomes `RTP/SAVP`, and `crypto` is its
/// only `a=crypto` line.
pub fn secured(sdp: &str, crypto: &Crypto) -> String {
    rewrite(sdp, Some(crypto))
}

fn rewrite(sdp: &str, crypto: Option<&Crypto>) -> String {
    let mut out = String::with_capacity(sdp.len() + 80);
    for (body, ending, audio) in lines(sdp) {
        if !audio {
            out.push_str(body);
            out.push_str(ending);
            continue;
        }
        if body.starts_with("a=crypto:") {
            continue;
        }
        if let Some(m) = body.strip_prefix("m=") {
            // m=audio PORT PROFILE FORMATS...
            let mut parts: Vec<&str> = m.split_whitespace().collect();
            if let Some(p) = parts.get_mut(2) {
                *p = match (*p, crypto.is_some()) {
                    ("RTP/AVP" | "RTP/SAVP", true) => "RTP/SAVP",
                    ("RTP/AVPF" | "RTP/SAVPF", true) => "RTP/SAVPF",
                    ("RTP/SAVP", false) => "RTP/AVP",
                    ("RTP/SAVPF", false) => "RTP/AVPF",
                    (other, _) => other,
                };
            }
            out.push_str("m=");
            out.push_str(&parts.join(" "));
            match crypto {
                Some(c) => {
                    // The key's line right after, the m= line ended (with a line feed: readers
                    // split lines there) even when it was the last or ended in a bare CR.
                    let key = base64::engine::general_purpose::STANDARD.encode(c.key);
                    out.push_str(if ending.contains('\n') {
                        ending
                    } else {
                        "\r\n"
                    });
                    out.push_str(&format!(
                        "a=crypto:{} {} inline:{key}",
                        c.tag,
                        c.suite.name()
                    ));
                    out.push_str(ending);
                }
                None => out.push_str(ending),
            }
            continue;
        }
        out.push_str(body);
        out.push_str(ending);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As baresip offers SRTP (`mediaenc srtp`): several lines, 80-bit tag first.
    const OFFER: &str = "v=0\r\no=- 1 2 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\nm=audio 40000 RTP/SAVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WnD7c1ksDGs+dIefCEo8omPg4uO8DYIinNGL5yxQ|2^48|1:32\r\na=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:WnD7c1ksDGs+dIefCEo8omPg4uO8DYIinNGL5yxQ\r\na=crypto:3 AES_CM_128_HMAC_SHA1_32 inline:d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj\r\na=sendrecv\r\nm=video 40002 RTP/AVP 31\r\n";

    #[test]
    fn the_first_usable_crypto_line_is_taken() {
        // Line 1 has an MKI: skipped.
        let c = offered(OFFER).unwrap();
        assert_eq!((c.tag, c.suite), (2, Suite::AesCm128HmacSha1_80));
        assert_eq!(c.key[0], 0x5a);
        assert_eq!(offered(&plain(OFFER)), None, "plain RTP offers no key");
        let avp = OFFER.replace("RTP/SAVP 0", "RTP/AVP 0");
        assert_eq!(offered(&avp), None, "a=crypto on RTP/AVP does not count");
    }

    #[test]
    fn the_audio_stream_is_found_after_a_video_one() {
        let video_first = "v=0\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\nm=video 40002 RTP/SAVP 31\r\na=crypto:9 AES_CM_128_HMAC_SHA1_80 inline:d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj\r\nm=audio 40000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WnD7c1ksDGs+dIefCEo8omPg4uO8DYIinNGL5yxQ\r\n";
        assert_eq!(offered(video_first).map(|c| c.tag), Some(1));
        let p = plain(video_first);
        assert!(p.contains("m=video 40002 RTP/SAVP 31\r\na=crypto:9"), "{p}");
        assert!(p.contains("m=audio 40000 RTP/AVP 0\r\n"), "{p}");
    }

    #[test]
    fn plain_and_secured_rewrite_only_the_audio_stream() {
        let p = plain(OFFER);
        assert!(p.contains("m=audio 40000 RTP/AVP 0 101\r\n"), "{p}");
        assert!(!p.contains("a=crypto"), "{p}");
        assert!(p.contains("m=video 40002 RTP/AVP 31\r\n"));
        let ours = Crypto {
            tag: 2,
            suite: Suite::AesCm128HmacSha1_80,
            key: [7; KEY_LEN],
        };
        let s = secured(&p, &ours);
        assert!(
            s.contains(
                "m=audio 40000 RTP/SAVP 0 101\r\na=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:"
            ),
            "{s}"
        );
        assert_eq!(offered(&s), Some(ours));
        assert_eq!(s.matches("a=crypto").count(), 1);
    }
}
