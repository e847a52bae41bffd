//! Parsing one message from bytes: the start line (request or status line), the header
//! section (line folding, names, compact forms, list splitting), the parse-time header checks
//! (`validate`), and the body framed by Content-Length. The input is a whole datagram or one
//! message cut out of a stream by [`StreamFramer`](super::StreamFramer).
//!
//! Datagram rules (RFC 3261 §18.3): bytes beyond Content-Length are ignored (RFC 4475
//! `dblreq`); fewer is an error; without Content-Length the body is the rest of the datagram.
//! Leading CRLFs are skipped. Lines may end in CRLF or a bare LF. Every step is a single pass
//! over the input, so long headers and many Vias cost linear time.

use std::borrow::Cow;

use super::error::{syntax, Defect, ParseError};
use super::headers::parse_content_length;
use super::headers::{canonical, Headers};
use super::lex::{clip, is_token, is_wsp, is_wsp_char, split_list};
use super::method::Method;
use super::status::StatusCode;
use super::uri::Uri;
use super::validate;
use super::{Message, Request, Response, MAX_MESSAGE_SIZE};

/// Parses one message (see the module documentation for the framing rules).
pub(crate) fn parse(input: &[u8]) -> Result<Message, ParseError> {
    if input.len() > MAX_MESSAGE_SIZE {
        return Err(ParseError::TooLarge {
            len: input.len(),
            limit: MAX_MESSAGE_SIZE,
        });
    }
    let input = skip_leading_newlines(input);
    if input.is_empty() {
        return Err(ParseError::Empty);
    }
    let (first, rest_at, _) = line_at(input, 0);
    match start_line(first)? {
        StartLine::Request(line) => {
            let (method, uri) = line.map_err(ParseError::Request)?;
            let (headers, body) =
                head_and_body(input, rest_at, Some(&method)).map_err(ParseError::Request)?;
            Ok(Message::Request(Request {
                method,
                uri,
                headers,
                body,
            }))
        }
        StartLine::Response(line) => {
            let (code, reason) = line.map_err(ParseError::Response)?;
            let (headers, body) =
                head_and_body(input, rest_at, None).map_err(ParseError::Response)?;
            Ok(Message::Response(Response {
                code,
                reason,
                headers,
                body,
            }))
        }
    }
}

/// `input` without the CR and LF bytes in front of the start line.
pub(crate) fn skip_leading_newlines(input: &[u8]) -> &[u8] {
    let start = input
        .iter()
        .position(|b| *b != b'\r' && *b != b'\n')
        .unwrap_or(input.len());
    input.get(start..).unwrap_or(&[])
}

/// The line starting at `pos` without its terminator (CRLF, LF, or the end of input), where
/// the next line starts, and whether the line ended with LF.
pub(crate) fn line_at(input: &[u8], pos: usize) -> (&[u8], usize, bool) {
    let rest = input.get(pos..).unwrap_or(&[]);
    let (line, next, terminated) = match rest.iter().position(|b| *b == b'\n') {
        Some(nl) => (rest.get(..nl).unwrap_or(&[]), pos + nl + 1, true),
        None => (rest, input.len(), false),
    };
    (line.strip_suffix(b"\r").unwrap_or(line), next, terminated)
}

/// Whether a first line is a request or a response line; the inner result says whether it
/// is well formed.
pub(crate) enum StartLine {
    Request(Result<(Method, Uri), Defect>),
    Response(Result<(StatusCode, String), Defect>),
}

/// Classifies and parses the first line: `SIP/...` starts a response; a line whose last
/// element is `SIP/...` is a request; anything else is not SIP.
pub(crate) fn start_line(line: &[u8]) -> Result<StartLine, ParseError> {
    if line
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"SIP/"))
    {
        return Ok(StartLine::Response(status_line(line)));
    }
    let trimmed_len = line.iter().rposition(|b| !is_wsp(*b)).map_or(0, |i| i + 1);
    let trimmed = line.get(..trimmed_len).unwrap_or(&[]);
    let last = trimmed
        .iter()
        .rposition(|b| *b == b' ')
        .and_then(|i| trimmed.get(i + 1..))
        .unwrap_or(&[]);
    if last
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"SIP/"))
    {
        Ok(StartLine::Request(request_line(line)))
    } else {
        Err(ParseError::NotSip(
            "the first line is neither a request line nor a status line",
        ))
    }
}

fn request_line(line: &[u8]) -> Result<(Method, Uri), Defect> {
    let text = std::str::from_utf8(line).map_err(|_| Defect::RequestLine("not UTF-8"))?;
    let parts: Vec<&str> = text.split(' ').collect();
    if parts.iter().any(|p| p.is_empty()) || text.ends_with('\t') {
        return Err(Defect::RequestLine("extra space between or after elements"));
    }
    let [method, uri, version] = parts.as_slice() else {
        return Err(Defect::RequestLine(
            "expected Method SP Request-URI SP SIP-Version (white space in the Request-URI?)",
        ));
    };
    check_version(version, Defect::RequestLine("malformed SIP-Version"))?;
    let method: Method = method
        .parse()
        .map_err(|_| Defect::RequestLine("the method is not a token"))?;
    let uri = Uri::parse_raw(uri).map_err(|reason| syntax("Request-URI", reason))?;
    if uri.as_sip().is_some_and(|u| !u.headers.is_empty()) {
        return Err(syntax(
            "Request-URI",
            "headers (`?...`) are not allowed in a Request-URI",
        ));
    }
    Ok((method, uri))
}

fn status_line(line: &[u8]) -> Result<(StatusCode, String), Defect> {
    let text = std::str::from_utf8(line).map_err(|_| Defect::StatusLine("not UTF-8"))?;
    let (version, rest) = text.split_once(' ').unwrap_or((text, ""));
    check_version(version, Defect::StatusLine("malformed SIP-Version"))?;
    let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    let code = (code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()))
        .then(|| code.parse().ok())
        .flatten()
        .and_then(StatusCode::new)
        .ok_or(Defect::StatusLine(
            "the status code is not three digits from 100 to 699",
        ))?;
    if reason.chars().any(|c| c != '\t' && c.is_control()) {
        return Err(Defect::StatusLine("control character in the reason phrase"));
    }
    Ok((code, reason.to_owned()))
}

/// `SIP/2.0` passes; another well-formed `SIP/x.y` is [`Defect::Version`] (505 for a
/// request); anything else is `malformed`.
fn check_version(version: &str, malformed: Defect) -> Result<(), Defect> {
    if version.eq_ignore_ascii_case("SIP/2.0") {
        return Ok(());
    }
    let numbers = version.get(4..).and_then(|v| v.split_once('.'));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match numbers {
        Some((major, minor)) if digits(major) && digits(minor) => {
            Err(Defect::Version(clip(version)))
        }
        _ => Err(malformed),
    }
}

/// One unfolded header field as read from the header section.
pub(crate) struct Field<'a> {
    /// The name as written (trimmed).
    pub(crate) name: &'a str,
    /// The value, folds joined with one space, trimmed.
    pub(crate) value: String,
}

/// The header section after the start line.
pub(crate) struct Head<'a> {
    /// The fields that were readable.
    pub(crate) fields: Vec<Field<'a>>,
    /// Where the body starts: just after the empty line; `None` if there was none.
    pub(crate) body_start: Option<usize>,
    /// The first unreadable line, if any (those lines are skipped).
    pub(crate) error: Option<Defect>,
}

/// Reads the header section of `input` starting at `pos` (the line after the start line).
/// Never fails: unreadable lines are skipped and the first one is reported in `error`.
pub(crate) fn scan_head(input: &[u8], mut pos: usize) -> Head<'_> {
    let mut head = Head {
        fields: Vec::new(),
        body_start: None,
        error: None,
    };
    let mut line_no = 1;
    // Whether a continuation line may extend the last field (not after a skipped line).
    let mut extendable = false;
    while pos < input.len() {
        let (line, next, terminated) = line_at(input, pos);
        pos = next;
        line_no += 1;
        if line.is_empty() && terminated {
            head.body_start = Some(next);
            break;
        }
        let mut fail = |reason: &'static str| {
            if head.error.is_none() {
                head.error = Some(Defect::HeaderLine {
                    line: line_no,
                    reason,
                });
            }
        };
        if line.contains(&b'\r') {
            fail("stray CR");
            extendable = false;
            continue;
        }
        let Ok(text) = std::str::from_utf8(line) else {
            fail("not UTF-8");
            extendable = false;
            continue;
        };
        if text.starts_with([' ', '\t']) {
            match head.fields.last_mut() {
                Some(field) if extendable => {
                    let more = text.trim_matches(is_wsp_char);
                    if !more.is_empty() {
                        if !field.value.is_empty() {
                            field.value.push(' ');
                        }
                        field.value.push_str(more);
                    }
                }
                _ => fail("continuation line without a header field"),
            }
            continue;
        }
        let Some((name, value)) = text.split_once(':') else {
            fail("not a header field (no `:`)");
            extendable = false;
            continue;
        };
        let name = name.trim_end_matches(is_wsp_char);
        if !is_token(name) {
            fail("the header name is not a token");
            extendable = false;
            continue;
        }
        head.fields.push(Field {
            name,
            value: value.trim_matches(is_wsp_char).to_owned(),
        });
        extendable = true;
    }
    head
}

/// Builds the headers (canonical names, list values split) from scanned fields; an empty
/// element in a comma-separated list (RFC 4475 `badinv01`) is an error.
pub(crate) fn build_headers(fields: Vec<Field<'_>>) -> Result<Headers, Defect> {
    let mut headers = Headers::new();
    for field in fields {
        let (name, list) = canonical(field.name);
        if list && field.value.contains(',') {
            let parts = split_list(&field.value);
            if parts.iter().any(|p| p.is_empty()) {
                let what = match name {
                    Cow::Borrowed(n) => n,
                    Cow::Owned(_) => "header",
                };
                return Err(syntax(what, "empty element in a comma-separated list"));
            }
            for part in parts {
                headers.push_parsed(name.clone(), part.to_owned());
            }
        } else {
            headers.push_parsed(name, field.value);
        }
    }
    Ok(headers)
}

fn head_and_body(
    input: &[u8],
    pos: usize,
    method: Option<&Method>,
) -> Result<(Headers, Vec<u8>), Defect> {
    let head = scan_head(input, pos);
    if let Some(error) = head.error {
        return Err(error);
    }
    let headers = build_headers(head.fields)?;
    validate::check(&headers, method)?;
    let body_start = head.body_start.ok_or(Defect::Unterminated)?;
    let available = input.get(body_start..).unwrap_or(&[]);
    // Several Content-Length values (RFC 4475 `mcl01`) frame by the first; the application
    // sees the repetition through `Headers::content_length`.
    let body = match headers.get("Content-Length").and_then(parse_content_length) {
        Some(len) => available.get(..len).ok_or(Defect::BodyTruncated {
            expected: len,
            available: available.len(),
        })?,
        None => available,
    };
    Ok((headers, body.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(text: &str) -> Result<Message, ParseError> {
        parse(text.as_bytes())
    }

    const OK: &str = "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCSeq: 1 OPTIONS\r\n";

    #[test]
    fn request_line_rules() {
        let ok = format!("OPTIONS sip:a@b SIP/2.0\r\n{OK}\r\n");
        assert!(req(&ok).is_ok());
        for (line, status) in [
            ("OPTIONS  sip:a@b SIP/2.0", Some(400)),
            ("OPTIONS sip:a@b SIP/2.0 ", Some(400)),
            ("OPTIONS sip:a@b; lr SIP/2.0", Some(400)),
            ("OPTIONS <sip:a@b> SIP/2.0", Some(400)),
            ("OPTIONS sip:a@b?X=y SIP/2.0", Some(400)),
            ("OPTIONS sip:a@b SIP/7.0", Some(505)),
            ("OPTIONS sip:a@b SIP/2.0\t", Some(400)),
            ("OPTIONS sip:a@b SIP/2.x", Some(400)),
            ("OPTIONS sip:a@b SIP/", Some(400)),
            ("OPT\"IONS sip:a@b SIP/2.0", Some(400)),
            ("GET / HTTP/1.1", None),
            ("\u{0}\u{1}", None),
        ] {
            let text = format!("{line}\r\n{OK}\r\n");
            assert_eq!(req(&text).unwrap_err().status(), status, "{line}");
        }
    }

    #[test]
    fn status_line_rules() {
        let msg = |line: &str| parse(format!("{line}\r\nCSeq: 1 INVITE\r\n\r\n").as_bytes());
        let Ok(Message::Response(r)) = msg("SIP/2.0 100 ") else {
            panic!()
        };
        assert_eq!((r.code().as_u16(), r.reason()), (100, ""));
        assert!(msg("SIP/2.0 180").is_ok());
        assert!(msg("SIP/2.0 200 OK  ").is_ok());
        for bad in [
            "SIP/2.0 4294967301 x",
            "SIP/2.0 099 x",
            "SIP/2.0 20 x",
            "SIP/3.0 200 OK",
            "SIP/2.0 200 a\u{1}",
        ] {
            let e = msg(bad).unwrap_err();
            assert!(matches!(e, ParseError::Response(_)), "{bad}: {e}");
            assert_eq!(e.status(), None);
        }
    }

    #[test]
    fn folding_compact_forms_and_lists() {
        let text = "INVITE sip:a@b SIP/2.0\r\nv: SIP/2.0/UDP a;branch=z9hG4bK1,\r\n SIP/2.0/UDP b\r\nSubject:\r\n  one\r\n\ttwo  \r\nX-Odd : ;;,,;\r\ncseq: 0009\r\n  INVITE\r\nl: 0\r\n\r\n";
        let Ok(Message::Request(r)) = req(text) else {
            panic!()
        };
        let h = r.headers();
        assert_eq!(h.count("Via"), 2);
        assert_eq!(h.get("Subject"), Some("one two"));
        assert_eq!(h.get("x-odd"), Some(";;,,;"));
        assert_eq!(h.cseq().unwrap().seq, 9);
    }

    #[test]
    fn header_section_errors() {
        for bad in [
            "OPTIONS sip:a@b SIP/2.0\r\n continuation\r\n\r\n",
            "OPTIONS sip:a@b SIP/2.0\r\nno colon\r\n\r\n",
            "OPTIONS sip:a@b SIP/2.0\r\nBad Name: x\r\n\r\n",
            "OPTIONS sip:a@b SIP/2.0\r\nX: a\rb\r\n\r\n",
            "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP a,,SIP/2.0/UDP b\r\n\r\n",
            "OPTIONS sip:a@b SIP/2.0\r\nl: 0\r\n",
        ] {
            assert_eq!(req(bad).unwrap_err().status(), Some(400), "{bad:?}");
        }
        let non_utf8 = b"OPTIONS sip:a@b SIP/2.0\r\nX: \xff\r\n\r\n";
        assert_eq!(parse(non_utf8).unwrap_err().status(), Some(400));
    }

    #[test]
    fn body_framing() {
        let base = format!("OPTIONS sip:a@b SIP/2.0\r\n{OK}");
        let Ok(m) = req(&format!("{base}l: 3\r\n\r\nabcdef")) else {
            panic!()
        };
        assert_eq!(m.body(), b"abc");
        let Ok(m) = req(&format!("{base}\r\nabcdef")) else {
            panic!()
        };
        assert_eq!(m.body(), b"abcdef");
        assert!(matches!(
            req(&format!("{base}l: 9\r\n\r\nabc")),
            Err(ParseError::Request(Defect::BodyTruncated {
                expected: 9,
                available: 3
            }))
        ));
        assert!(req(&format!("{base}l: -1\r\n\r\n")).is_err());
        assert!(req(&format!("{base}l: x\r\n\r\n")).is_err());
        let Ok(m) = req(&format!("\r\n\r\n{base}\nab")) else {
            panic!()
        };
        assert_eq!(m.body(), b"ab");
    }

    #[test]
    fn size_limit_and_empty() {
        assert_eq!(parse(b"\r\n\r\n"), Err(ParseError::Empty));
        let huge = vec![b'a'; MAX_MESSAGE_SIZE + 1];
        assert!(matches!(parse(&huge), Err(ParseError::TooLarge { .. })));
    }
}
