//! What a user-agent server does to every request, whoever handles it (RFC 3261 §8.2): the
//! checks before its method is looked at (mandatory headers, URI scheme, `Require`, content
//! type), the responses it builds (our To tag, `Server`), where they go (RFC 3261 §18.2.2 and
//! RFC 3581 `rport`, with `received=` stamped for phones behind NAT), and the answer to a
//! message that does not parse. Pure functions: tags come from the caller.

use super::link::{Link, Peer, Transmit};
use super::message::{
    reject, Headers, Host, Message, Method, ParseError, Request, Response, Rport, StatusCode, Uri,
    Via,
};
use std::net::{IpAddr, SocketAddr};

/// Methods this server answers; listed in `Allow`.
pub const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO";

/// The answer to a message that did not parse: 400 (or 505) when it can be answered, `None`
/// when it cannot (no usable Via, a response).
pub fn reject_malformed(bytes: &[u8], error: &ParseError, from: Peer) -> Option<Transmit> {
    let response = reject(bytes, error)?;
    let addr = match (from.link, response.headers().top_via()) {
        (Link::Udp(_), Ok(via)) => response_address(&via, from.addr),
        _ => from.addr,
    };
    Some(Transmit {
        to: Peer {
            addr,
            link: from.link,
        },
        bytes: response.to_bytes(),
    })
}

/// The checks every request gets before its method is looked at; `Some` is the answer
/// (built with To tag `tag`).
pub fn check_request(request: &Request, tag: &str) -> Option<Response> {
    let h = request.headers();
    let first_defect = [
        h.from().err(),
        h.to().err(),
        h.call_id().err(),
        h.cseq().err(),
        h.max_forwards().err(),
        h.content_length().err(),
        h.expires().err(),
    ]
    .into_iter()
    .flatten()
    .next();
    if let Some(defect) = first_defect {
        let reason = format!("Bad Request ({defect})");
        return Some(respond(request, StatusCode::BAD_REQUEST, &reason, tag));
    }
    if let Uri::Other(_) = request.uri() {
        return Some(respond(
            request,
            StatusCode::UNSUPPORTED_URI_SCHEME,
            "Unsupported URI Scheme",
            tag,
        ));
    }
    let unsupported: Vec<String> = h
        .get_all("Require")
        .chain(h.get_all("Proxy-Require"))
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    if !unsupported.is_empty() {
        let mut r = respond(request, StatusCode::BAD_EXTENSION, "Bad Extension", tag);
        r.headers_mut().push("Unsupported", unsupported.join(", "));
        return Some(r);
    }
    if *request.method() == Method::Invite {
        if !request.body().is_empty() {
            let sdp = h
                .content_type()
                .ok()
                .flatten()
                .is_some_and(|t| t.is("application", "sdp"));
            if !sdp {
                let mut r = respond(
                    request,
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "Unsupported Media Type",
                    tag,
                );
                r.headers_mut().push("Accept", "application/sdp");
                return Some(r);
            }
        }
        if let Ok(accept) = h.accept() {
            let takes_sdp = accept
                .iter()
                .any(|t| t.is("application", "sdp") || t.is("application", "*") || t.is("*", "*"));
            if !accept.is_empty() && !takes_sdp {
                let mut r = respond(request, StatusCode::NOT_ACCEPTABLE, "Not Acceptable", tag);
                r.headers_mut().push("Accept", "application/sdp");
                return Some(r);
            }
        }
    }
    None
}

/// A response to `request` with our To tag `tag` (RFC 3261 §8.2.6.2; a 100 gets none, and a
/// To that already has a tag keeps it).
pub fn respond(request: &Request, code: StatusCode, reason: &str, tag: &str) -> Response {
    let mut r = Message::response_to(request, code, reason);
    if code != StatusCode::TRYING {
        set_to_tag(r.headers_mut(), tag);
    }
    r.headers_mut()
        .push("Server", concat!("pbx/", env!("CARGO_PKG_VERSION")));
    r
}

/// The answer to a request for a call or transaction: 200, or 481 when there is none.
pub fn found_or_481(request: &Request, found: bool, tag: &str) -> Response {
    if found {
        respond(request, StatusCode::OK, "OK", tag)
    } else {
        respond(
            request,
            StatusCode::CALL_DOES_NOT_EXIST,
            "Call/Transaction Does Not Exist",
            tag,
        )
    }
}

/// 405 or 501 with `Allow`, for a method we do not take.
pub fn not_allowed(request: &Request, tag: &str) -> Response {
    let (code, reason) = match request.method() {
        Method::Extension(_) => (StatusCode::NOT_IMPLEMENTED, "Not Implemented"),
        _ => (StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed"),
    };
    let mut r = respond(request, code, reason, tag);
    r.headers_mut().push("Allow", ALLOW);
    r
}

fn set_to_tag(headers: &mut Headers, tag: &str) {
    if let Ok(mut to) = headers.to() {
        if to.tag().is_none() {
            to.set_tag(tag);
            headers.set("To", to.to_string());
        }
    }
}

/// Adds `received=` (and fills in `rport`) on the top Via when the request came from another
/// address than it says (RFC 3261 §18.2.1, RFC 3581); returns the stamped Via and where
/// responses go: over TCP the connection it came on, over UDP as RFC 3261 §18.2.2 says.
pub fn stamp_received(request: &mut Request, via: &Via, from: Peer) -> (Via, Peer) {
    let mut stamped = via.clone();
    let sent_by_ip: Option<IpAddr> = match &via.host {
        Host::V4(a) => Some(IpAddr::V4(*a)),
        Host::V6(a) => Some(IpAddr::V6(*a)),
        Host::Name(_) => None,
    };
    let rport = via.rport();
    if sent_by_ip != Some(from.addr.ip()) || rport.is_some() {
        stamped
            .params
            .set("received", Some(&from.addr.ip().to_string()));
    }
    if rport.is_some() {
        stamped
            .params
            .set("rport", Some(&from.addr.port().to_string()));
    }
    if stamped != *via {
        let headers = request.headers_mut();
        let first = headers.remove_first("Via");
        let rest = first.as_deref().and_then(|v| split_first_value(v).1);
        if let Some(rest) = rest {
            headers.push_front("Via", rest);
        }
        headers.push_front("Via", stamped.to_string());
    }
    let addr = match from.link {
        Link::Udp(_) => response_address(&stamped, from.addr),
        Link::Tcp | Link::Tls => from.addr,
    };
    (
        stamped,
        Peer {
            addr,
            link: from.link,
        },
    )
}

/// The first comma-separated Via value and the rest, if the header line held several.
fn split_first_value(value: &str) -> (&str, Option<&str>) {
    let mut in_quotes = false;
    for (i, c) in value.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            ',' if !in_quotes => return (&value[..i], Some(value[i + 1..].trim())),
            _ => {}
        }
    }
    (value, None)
}

/// Where responses to a request with this (stamped) top Via go: the source with `rport`,
/// otherwise the source address with the Via's port (RFC 3261 §18.2.2).
pub fn response_address(via: &Via, from: SocketAddr) -> SocketAddr {
    match via.rport() {
        Some(Rport::Port(p)) => SocketAddr::new(from.ip(), p),
        Some(Rport::Requested) => from,
        None => SocketAddr::new(from.ip(), via.port.unwrap_or(5060)),
    }
}

/// A host as text, a name lower-cased (how tenants are looked up by domain).
pub fn host_text(host: &Host) -> String {
    match host {
        Host::Name(n) => n.to_ascii_lowercase(),
        other => other.to_string(),
    }
}

/// The user part of a SIP URI (empty for anything else).
pub fn user_of(uri: &Uri) -> String {
    match uri {
        Uri::Sip(u) => u.user.clone().unwrap_or_default(),
        Uri::Other(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(text: &str) -> Request {
        match Message::parse(text.replace('\n', "\r\n").as_bytes()).unwrap() {
            Message::Request(r) => r,
            Message::Response(_) => panic!("a request"),
        }
    }

    const OPTIONS: &str = "OPTIONS sip:pbx@10.0.0.9 SIP/2.0\nVia: SIP/2.0/UDP 192.168.1.5:5062;branch=z9hG4bKa;rport\nFrom: <sip:a@x>;tag=1\nTo: <sip:pbx@x>\nCall-ID: o1\nCSeq: 1 OPTIONS\nMax-Forwards: 70\nContent-Length: 0\n\n";

    #[test]
    fn a_phone_behind_nat_is_answered_where_it_really_is() {
        let mut r = request(OPTIONS);
        let via = r.headers().top_via().unwrap();
        let from = Peer {
            addr: "203.0.113.7:40000".parse().unwrap(),
            link: Link::Udp(0),
        };
        let (stamped, reply) = stamp_received(&mut r, &via, from);
        assert_eq!(reply.addr, from.addr);
        assert_eq!(stamped.received(), Some("203.0.113.7"));
        assert_eq!(
            r.headers().top_via().unwrap().rport(),
            Some(Rport::Port(40000))
        );
        let answer = respond(&r, StatusCode::OK, "OK", "t1");
        assert!(answer.to_string().contains("received=203.0.113.7"));
        assert_eq!(answer.headers().to().unwrap().tag(), Some("t1"));
        // Without rport: the Via's port, at the source address.
        let plain = request(&OPTIONS.replace(";rport", ""));
        let via = plain.headers().top_via().unwrap();
        assert_eq!(
            response_address(&via, from.addr),
            "203.0.113.7:5062".parse().unwrap()
        );
    }

    #[test]
    fn requests_we_cannot_take_are_refused_before_their_method() {
        let r =
            request(&OPTIONS.replace("CSeq: 1 OPTIONS\n", "Require: 100rel\nCSeq: 1 OPTIONS\n"));
        let answer = check_request(&r, "t").unwrap();
        assert_eq!(answer.code(), StatusCode::BAD_EXTENSION);
        assert_eq!(answer.headers().get("Unsupported"), Some("100rel"));
        assert!(check_request(&request(OPTIONS), "t").is_none());
        let info = request(&OPTIONS.replace("OPTIONS", "INFO"));
        assert_eq!(
            not_allowed(&info, "t").code(),
            StatusCode::METHOD_NOT_ALLOWED
        );
    }
}
