//! The parse-time checks: which header fields the parser verifies before a message is handed
//! on, and by which rule. These are the headers the transaction, registrar and dialog layers
//! rely on (Via, From, To, Contact, Route, Record-Route, Call-ID, CSeq, Max-Forwards, Expires,
//! Min-Expires, Content-Length, Content-Type) plus Date (RFC 4475 `baddate`). A request whose
//! CSeq method differs from its method is refused (RFC 4475 `mismatch01`, `mismatch02`).
//!
//! Presence and repetition are NOT checked here: a request lacking To or repeating CSeq
//! (RFC 4475 `insuf`, `multi01`) parses, and the application answers 400 from the typed
//! accessors' `Missing`/`Duplicate`. Authorization headers are not checked either: malformed
//! credentials count as no credentials (a 401 challenge), not as a 400.

use super::cseq::CSeq;
use super::error::{syntax, Defect};
use super::headers::Headers;
use super::headers::{parse_content_length, parse_delta_seconds};
use super::lex::{clip, is_wsp_char, parse_decimal};
use super::media_type::MediaType;
use super::method::Method;
use super::name_addr::NameAddr;
use super::via::Via;

/// Checks every value of the headers listed above; `method` is the request method (`None`
/// for a response).
pub(crate) fn check(headers: &Headers, method: Option<&Method>) -> Result<(), Defect> {
    let mut contacts = 0usize;
    let mut wildcard = false;
    for (name, value) in headers.iter() {
        match name {
            "Via" => Via::parse(value).map(drop),
            "From" => name_addr(value, "From"),
            "To" => name_addr(value, "To"),
            "Route" => name_addr(value, "Route"),
            "Record-Route" => name_addr(value, "Record-Route"),
            "Contact" => {
                contacts += 1;
                wildcard |= value == "*";
                if value == "*" {
                    Ok(())
                } else {
                    name_addr(value, "Contact")
                }
            }
            "Call-ID" => ensure(is_call_id(value), "Call-ID", "not a word[@word]"),
            "CSeq" => cseq(value, method),
            "Max-Forwards" => ensure(
                parse_decimal(value.trim_matches(is_wsp_char), 255).is_some(),
                "Max-Forwards",
                "not a number from 0 to 255",
            ),
            "Expires" => ensure(
                parse_delta_seconds(value).is_some(),
                "Expires",
                "not a 32-bit number of seconds",
            ),
            "Min-Expires" => ensure(
                parse_delta_seconds(value).is_some(),
                "Min-Expires",
                "not a 32-bit number of seconds",
            ),
            "Content-Length" => ensure(
                parse_content_length(value).is_some(),
                "Content-Length",
                "not a non-negative number",
            ),
            "Content-Type" => MediaType::parse(value)
                .map(drop)
                .map_err(|d| d.relabel("Content-Type")),
            "Date" => ensure(
                is_rfc1123_date(value),
                "Date",
                "not an RFC 1123 date in GMT",
            ),
            _ => Ok(()),
        }?;
    }
    ensure(
        !(wildcard && contacts > 1),
        "Contact",
        "`*` must be the only Contact",
    )
}

fn ensure(ok: bool, what: &'static str, reason: &'static str) -> Result<(), Defect> {
    if ok {
        Ok(())
    } else {
        Err(syntax(what, reason))
    }
}

/// A valid CSeq whose method, in a request, is the request's.
fn cseq(value: &str, method: Option<&Method>) -> Result<(), Defect> {
    let cseq = CSeq::parse(value)?;
    match method {
        Some(method) if cseq.method != *method => Err(Defect::CSeqMismatch {
            method: clip(method.as_str()),
            cseq: clip(cseq.method.as_str()),
        }),
        _ => Ok(()),
    }
}

fn name_addr(value: &str, what: &'static str) -> Result<(), Defect> {
    NameAddr::parse(value)
        .map(drop)
        .map_err(|d| d.relabel(what))
}

/// `callid = word [ "@" word ]`.
fn is_call_id(value: &str) -> bool {
    let is_word = |w: &str| {
        !w.is_empty()
            && w.bytes().all(|b| {
                b.is_ascii_alphanumeric()
                    || matches!(
                        b,
                        b'-' | b'.'
                            | b'!'
                            | b'%'
                            | b'*'
                            | b'_'
                            | b'+'
                            | b'`'
                            | b'\''
                            | b'~'
                            | b'('
                            | b')'
                            | b'<'
                            | b'>'
                            | b':'
                            | b'\\'
                            | b'"'
                            | b'/'
                            | b'['
                            | b']'
                            | b'?'
                            | b'{'
                            | b'}'
                    )
            })
    };
    match value.split_once('@') {
        Some((a, b)) => is_word(a) && is_word(b),
        None => is_word(value),
    }
}

/// `wkday "," SP 2DIGIT SP month SP 4DIGIT SP HH:MM:SS SP "GMT"` (RFC 3261 §20.17).
fn is_rfc1123_date(value: &str) -> bool {
    const WKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let parts: Vec<&str> = value.split([' ', '\t']).filter(|p| !p.is_empty()).collect();
    let [wkday, day, month, year, time, zone] = parts.as_slice() else {
        return false;
    };
    let number = |s: &str, len: usize, max: u64| s.len() == len && parse_decimal(s, max).is_some();
    let time_ok = match time.split(':').collect::<Vec<_>>().as_slice() {
        [h, m, s] => number(h, 2, 23) && number(m, 2, 59) && number(s, 2, 60),
        _ => false,
    };
    wkday.strip_suffix(',').is_some_and(|d| WKDAYS.contains(&d))
        && number(day, 2, 31)
        && MONTHS.contains(month)
        && number(year, 4, 9999)
        && time_ok
        && zone.eq_ignore_ascii_case("GMT")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(name: &str, value: &str) -> Result<(), Defect> {
        let mut h = Headers::new();
        h.push(name, value);
        check(&h, Some(&Method::Options))
    }

    #[test]
    fn dates() {
        assert!(is_rfc1123_date("Sat, 15 Oct 2005 04:44:56 GMT"));
        assert!(!is_rfc1123_date("Fri, 01 Jan 2010 16:00:00 EST"));
        assert!(!is_rfc1123_date("Fri 01 Jan 2010 16:00:00 GMT"));
        assert!(!is_rfc1123_date("Fri, 1 Jan 2010 16:00:00 GMT"));
        assert!(!is_rfc1123_date("Fri, 01 Jan 2010 24:00:00 GMT"));
    }

    #[test]
    fn call_ids() {
        assert!(is_call_id("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"));
        assert!(!is_call_id("a b"));
        assert!(!is_call_id("a@b@c"));
        assert!(!is_call_id(""));
    }

    #[test]
    fn checks_each_rule() {
        assert!(one("CSeq", "1 OPTIONS").is_ok());
        assert!(matches!(
            one("CSeq", "1 INVITE"),
            Err(Defect::CSeqMismatch { .. })
        ));
        assert!(one("Max-Forwards", "300").is_err());
        assert!(one("Expires", "10000000000000000000000").is_err());
        assert!(one("l", "-999").is_err());
        assert!(one("c", "application").is_err());
        assert!(one("Date", "Fri, 01 Jan 2010 16:00:00 EST").is_err());
        assert!(one("Contact", "*").is_ok());
        assert!(one("Contact", "*, <sip:a@b>").is_err());
        assert!(one("Authorization", "garbage,,").is_ok());
        assert!(one("X-Anything", ";;,,").is_ok());
    }
}
