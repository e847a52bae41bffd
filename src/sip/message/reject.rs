//! `reject`: the 400 or 505 answer to a request that did not parse. RFC 3261 §8.2.6 builds a
//! response from the request's Via, From, To, Call-ID and CSeq; when the request is malformed
//! those are recovered leniently from its header lines and copied verbatim (a malformed Via
//! is copied as it came). Without a Via there is nowhere to send an answer, so none is made.

use super::error::ParseError;
use super::headers::canonical;
use super::parse::{line_at, scan_head, skip_leading_newlines};
use super::status::StatusCode;
use super::Response;

/// The response to send for `error`, which [`Message::parse`](super::Message::parse) (or the
/// framer) returned for `input`: `None` when the error calls for a drop (`status()` is
/// `None`) or when the request has no Via, From, To, Call-ID or CSeq to copy. The reason
/// phrase is the standard one; the caller adds a To tag if it wants one.
pub fn reject(input: &[u8], error: &ParseError) -> Option<Response> {
    let code = StatusCode::new(error.status()?)?;
    let input = skip_leading_newlines(input);
    let (_, rest_at, _) = line_at(input, 0);
    let head = scan_head(input, rest_at);
    let mut response = Response::new(code, code.canonical_reason());
    for wanted in ["Via", "From", "To", "Call-ID", "CSeq"] {
        let mut found = false;
        for field in &head.fields {
            let (name, _) = canonical(field.name);
            if name == wanted {
                response
                    .headers_mut()
                    .push_parsed(name, field.value.clone());
                found = true;
                if wanted != "Via" {
                    break;
                }
            }
        }
        if !found {
            return None;
        }
    }
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::Message;

    #[test]
    fn answers_a_malformed_request_with_its_own_headers() {
        let input = b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.15;;,;,,\r\nv: SIP/2.0/UDP x\r\nf: <sip:c@d>;tag=1\r\nt: sip:a@b\r\ni: id\r\nCSeq: 8 INVITE\r\nCSeq: 9 INVITE\r\n\r\n";
        let err = Message::parse(input).unwrap_err();
        let r = reject(input, &err).unwrap();
        assert_eq!(r.code(), StatusCode::BAD_REQUEST);
        let h: Vec<_> = r.headers().iter().collect();
        assert_eq!(
            h,
            [
                ("Via", "SIP/2.0/UDP 192.0.2.15;;,;,,"),
                ("Via", "SIP/2.0/UDP x"),
                ("From", "<sip:c@d>;tag=1"),
                ("To", "sip:a@b"),
                ("Call-ID", "id"),
                ("CSeq", "8 INVITE"),
            ]
        );
    }

    #[test]
    fn version_and_drops() {
        let input = b"OPTIONS sip:a@b SIP/7.0\r\nVia: SIP/7.0/UDP h\r\nFrom: <sip:a@b>\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n";
        let err = Message::parse(input).unwrap_err();
        assert_eq!(reject(input, &err).unwrap().code().as_u16(), 505);
        let no_via = b"OPTIONS sip:a@b SIP/7.0\r\nFrom: <sip:a@b>\r\n\r\n";
        assert!(reject(no_via, &Message::parse(no_via).unwrap_err()).is_none());
        let response = b"SIP/2.0 999 x\r\nVia: SIP/2.0/UDP h\r\n\r\n";
        assert!(reject(response, &Message::parse(response).unwrap_err()).is_none());
    }
}
