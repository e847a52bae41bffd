//! Printing a message as canonical RFC 3261 text: the start line, every header under its
//! full name on its own line (list elements one per line), CRLF line ends, Content-Length
//! written to match the body (in place of the first Content-Length entry, or last), an empty
//! line, and the body. What a builder may have put into a value cannot break the framing:
//! CR and LF print as spaces and a header name prints with non-token bytes as `-`.

use super::headers::Headers;
use super::lex::is_token_byte;
use super::{Request, Response};

/// The wire form of a request.
pub(crate) fn request(r: &Request) -> Vec<u8> {
    let mut out = Vec::with_capacity(estimate(r.headers(), r.body().len()));
    clean(&mut out, r.method().as_str());
    out.push(b' ');
    clean(&mut out, &r.uri().to_string());
    out.extend_from_slice(b" SIP/2.0\r\n");
    head_and_body(&mut out, r.headers(), r.body());
    out
}

/// The wire form of a response.
pub(crate) fn response(r: &Response) -> Vec<u8> {
    let mut out = Vec::with_capacity(estimate(r.headers(), r.body().len()));
    out.extend_from_slice(b"SIP/2.0 ");
    out.extend_from_slice(r.code().as_u16().to_string().as_bytes());
    out.push(b' ');
    clean(&mut out, r.reason());
    out.extend_from_slice(b"\r\n");
    head_and_body(&mut out, r.headers(), r.body());
    out
}

fn estimate(headers: &Headers, body: usize) -> usize {
    let head: usize = headers.iter().map(|(n, v)| n.len() + v.len() + 4).sum();
    head + body + 128
}

fn head_and_body(out: &mut Vec<u8>, headers: &Headers, body: &[u8]) {
    let mut length_written = false;
    for (name, value) in headers.iter() {
        if name == "Content-Length" {
            if !length_written {
                content_length(out, body.len());
                length_written = true;
            }
            continue;
        }
        if name.is_empty() {
            out.push(b'-');
        }
        out.extend(
            name.bytes()
                .map(|b| if is_token_byte(b) { b } else { b'-' }),
        );
        out.extend_from_slice(b": ");
        clean(out, value);
        out.extend_from_slice(b"\r\n");
    }
    if !length_written {
        content_length(out, body.len());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

fn content_length(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(b"Content-Length: ");
    out.extend_from_slice(len.to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Writes `text` with CR and LF replaced by spaces.
fn clean(out: &mut Vec<u8>, text: &str) {
    out.extend(
        text.bytes()
            .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
}

#[cfg(test)]
mod tests {
    use super::super::{Message, Method, Request, Response, StatusCode, Uri};

    #[test]
    fn canonical_form() {
        let text = "OPTIONS sip:a@b SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1, SIP/2.0/UDP g\r\ni: x\r\nl: 2\r\nk: a\r\n\r\nhi";
        let m = Message::parse(text.as_bytes()).unwrap();
        assert_eq!(
            String::from_utf8(m.to_bytes()).unwrap(),
            "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nVia: SIP/2.0/UDP g\r\nCall-ID: x\r\nContent-Length: 2\r\nSupported: a\r\n\r\nhi"
        );
    }

    #[test]
    fn content_length_follows_the_body_and_values_cannot_inject() {
        let mut r = Request::new(Method::Bye, Uri::parse("sip:a@b").unwrap());
        r.headers_mut().push("Content-Length", "99");
        r.headers_mut().push("Content-Length", "98");
        r.headers_mut().push("Subject", "a\r\nVia: evil");
        r.headers_mut().push("Bad Name\r\n", "x");
        let text = String::from_utf8(r.to_bytes()).unwrap();
        assert_eq!(
            text,
            "BYE sip:a@b SIP/2.0\r\nContent-Length: 0\r\nSubject: a  Via: evil\r\nBad-Name--: x\r\n\r\n"
        );
        let resp = Response::new(StatusCode::OK, "fine\r\nX: y");
        assert_eq!(
            String::from_utf8(resp.to_bytes()).unwrap(),
            "SIP/2.0 200 fine  X: y\r\nContent-Length: 0\r\n\r\n"
        );
    }
}
