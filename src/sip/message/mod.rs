//! SIP messages (RFC 3261 §7, §20, §25): our own parser and printer, sans-io — bytes in,
//! [`Message`] out, and back. No sockets, no async: the transport driver hands a datagram
//! (or a message cut from a stream by [`StreamFramer`]) to [`Message::parse`], and sends
//! what [`Message::to_bytes`] returns.
//!
//! This file owns the message types: [`Message`], [`Request`], [`Response`], the size limit,
//! and [`Message::response_to`] (RFC 3261 §8.2.6). Headers live in [`Headers`] as text; typed
//! views ([`Via`], [`NameAddr`], [`CSeq`], [`AuthHeader`], [`MediaType`], [`Uri`]) are read
//! from it on demand. Parsing checks the syntax of the headers the core relies on, so those
//! accessors only fail with `Missing`/`Duplicate` on a parsed message.
//!
//! Invariants: parsing never panics and is linear in the input; `parse(print(m)) == m` for
//! every parsed message `m` but for Content-Length, which the printer always writes (a
//! datagram may come without one); a request error carries `status()` 400 or 505 and a response
//! error none (responses are dropped). Conformance: `conformance_tests.rs` runs all 49
//! RFC 4475 torture messages from `tests/data/rfc4475/`.

mod auth;
mod cseq;
mod error;
mod framing;
mod headers;
mod lex;
mod media_type;
mod method;
mod name_addr;
mod params;
mod parse;
mod print;
mod reject;
mod status;
mod uri;
mod validate;
mod via;

#[cfg(test)]
mod conformance_tests;
#[cfg(test)]
mod property_tests;
#[cfg(test)]
mod robustness_tests;

use std::fmt;

pub use auth::{AuthHeader, AuthParam};
pub use cseq::CSeq;
pub use error::{Defect, ParseError};
pub use framing::{Frame, StreamFramer};
pub use headers::Headers;
pub use lex::{percent_decode, quote};
pub use media_type::MediaType;
pub use method::Method;
pub use name_addr::NameAddr;
pub use params::{Param, Params};
pub use reject::reject;
pub use status::StatusCode;
pub use uri::{Host, OtherUri, SipUri, Uri};
pub use via::{Rport, Transport, Via};

/// The largest message accepted, in bytes (a UDP datagram's maximum payload is smaller;
/// RFC 4475 `longreq` is 3.5 KB).
pub const MAX_MESSAGE_SIZE: usize = 65_535;

/// A SIP request or response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

/// A request: method, Request-URI, headers, body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    method: Method,
    uri: Uri,
    headers: Headers,
    body: Vec<u8>,
}

/// A response: status code, reason phrase, headers, body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    code: StatusCode,
    reason: String,
    headers: Headers,
    body: Vec<u8>,
}

impl Message {
    /// Parses a datagram or one framed stream message. Bytes beyond Content-Length are
    /// ignored; fewer are an error; without Content-Length the body is the rest of the input.
    pub fn parse(input: &[u8]) -> Result<Message, ParseError> {
        parse::parse(input)
    }

    /// The wire form (see [`Request::to_bytes`]).
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Message::Request(r) => r.to_bytes(),
            Message::Response(r) => r.to_bytes(),
        }
    }

    /// The headers.
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => &r.headers,
            Message::Response(r) => &r.headers,
        }
    }

    /// The headers, mutably.
    pub fn headers_mut(&mut self) -> &mut Headers {
        match self {
            Message::Request(r) => &mut r.headers,
            Message::Response(r) => &mut r.headers,
        }
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        match self {
            Message::Request(r) => &r.body,
            Message::Response(r) => &r.body,
        }
    }

    /// A response to `request` (RFC 3261 §8.2.6): its Vias (all, in order), From, To,
    /// Call-ID and CSeq copied, plus Timestamp for a 100. The UAS adds the To tag (with
    /// [`NameAddr::set_tag`] and [`Headers::set`]), Contact, Record-Route where it applies,
    /// and any body.
    pub fn response_to(request: &Request, code: StatusCode, reason: &str) -> Response {
        let mut response = Response::new(code, reason);
        let mut copy = |name: &str| {
            for value in request.headers.get_all(name) {
                let (name, _) = headers::canonical(name);
                response.headers.push_parsed(name, value.to_owned());
            }
        };
        copy("Via");
        copy("From");
        copy("To");
        copy("Call-ID");
        copy("CSeq");
        if code == StatusCode::TRYING {
            copy("Timestamp");
        }
        response
    }

    /// The request, if it is one.
    pub fn as_request(&self) -> Option<&Request> {
        match self {
            Message::Request(r) => Some(r),
            Message::Response(_) => None,
        }
    }

    /// The response, if it is one.
    pub fn as_response(&self) -> Option<&Response> {
        match self {
            Message::Response(r) => Some(r),
            Message::Request(_) => None,
        }
    }
}

impl Request {
    /// A request with no headers and no body. Add headers with
    /// `headers_mut().push(name, value)` (typed values print with `to_string()`), and a body
    /// with [`Request::set_body`]. A SIP URI's headers (`?name=value`) are dropped: they are
    /// never allowed in a Request-URI (RFC 3261 §19.1.1), though a Contact — a dialog's remote
    /// target, a registered binding — may carry them.
    pub fn new(method: Method, uri: Uri) -> Request {
        Request {
            method,
            uri: request_uri(uri),
            headers: Headers::new(),
            body: Vec::new(),
        }
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The Request-URI.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// Replaces the Request-URI (its headers dropped, as in [`Request::new`]).
    pub fn set_uri(&mut self, uri: Uri) {
        self.uri = request_uri(uri);
    }

    /// The headers.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The headers, mutably.
    pub fn headers_mut(&mut self) -> &mut Headers {
        &mut self.headers
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Replaces the body and sets Content-Length to its length (set Content-Type yourself).
    pub fn set_body(&mut self, body: impl Into<Vec<u8>>) {
        self.body = body.into();
        self.headers
            .set("Content-Length", self.body.len().to_string());
    }

    /// The wire form: canonical RFC 3261 text with Content-Length matching the body.
    pub fn to_bytes(&self) -> Vec<u8> {
        print::request(self)
    }
}

/// `uri` without the headers part a Request-URI may not have (the parser refuses a request
/// with one: 400).
fn request_uri(mut uri: Uri) -> Uri {
    if let Uri::Sip(sip) = &mut uri {
        sip.headers.clear();
    }
    uri
}

impl Response {
    /// A response with no headers and no body (see [`Message::response_to`] to answer a
    /// request). `reason` may be empty; [`StatusCode::canonical_reason`] gives the usual one.
    pub fn new(code: StatusCode, reason: &str) -> Response {
        Response {
            code,
            reason: reason.to_owned(),
            headers: Headers::new(),
            body: Vec::new(),
        }
    }

    /// The status code.
    pub fn code(&self) -> StatusCode {
        self.code
    }

    /// The reason phrase (possibly empty, possibly non-ASCII UTF-8).
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The headers.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The headers, mutably.
    pub fn headers_mut(&mut self) -> &mut Headers {
        &mut self.headers
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Replaces the body and sets Content-Length to its length (set Content-Type yourself).
    pub fn set_body(&mut self, body: impl Into<Vec<u8>>) {
        self.body = body.into();
        self.headers
            .set("Content-Length", self.body.len().to_string());
    }

    /// The wire form: canonical RFC 3261 text with Content-Length matching the body.
    pub fn to_bytes(&self) -> Vec<u8> {
        print::response(self)
    }
}

/// The wire form as text, for logs (a non-UTF-8 body is shown lossily).
impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}

/// The wire form as text, for logs (a non-UTF-8 body is shown lossily).
impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}

/// The wire form as text, for logs (a non-UTF-8 body is shown lossily).
impl fmt::Display for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}

impl From<Request> for Message {
    fn from(r: Request) -> Message {
        Message::Request(r)
    }
}

impl From<Response> for Message {
    fn from(r: Response) -> Message {
        Message::Response(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_to_copies_the_rfc_8_2_6_headers() {
        let text = "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP p1;branch=z9hG4bK1\r\nVia: SIP/2.0/UDP p2;branch=z9hG4bK2\r\nMax-Forwards: 70\r\nFrom: <sip:c@d>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x@y\r\nCSeq: 2 INVITE\r\nTimestamp: 54\r\nContent-Length: 0\r\n\r\n";
        let Ok(Message::Request(req)) = Message::parse(text.as_bytes()) else {
            panic!()
        };
        let mut resp = Message::response_to(&req, StatusCode::TRYING, "Trying");
        let names: Vec<_> = resp.headers().iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            ["Via", "Via", "From", "To", "Call-ID", "CSeq", "Timestamp"]
        );
        let mut to = resp.headers().to().unwrap();
        to.set_tag("abc");
        resp.headers_mut().set("To", to.to_string());
        let back = Message::parse(&resp.to_bytes()).unwrap();
        let back = back.as_response().unwrap();
        assert_eq!(back.headers().to().unwrap().tag(), Some("abc"));
        assert_eq!(back.headers().top_via().unwrap().branch(), Some("z9hG4bK1"));
        let ok = Message::response_to(&req, StatusCode::OK, "OK");
        assert!(!ok.headers().contains("Timestamp"));
    }

    #[test]
    fn a_request_uri_made_from_a_contact_drops_its_headers() {
        // Found by the `sip_message` fuzz target on RFC 4475's `regescrt`: a dialog whose
        // remote target is a Contact with `?Route=...` sent a BYE its peer (and our own parser)
        // refuses, since headers are not allowed in a Request-URI.
        let contact = Uri::parse("sip:user@example.com?Route=%3Csip:sip.example.com%3E").unwrap();
        let mut req = Request::new(Method::Bye, contact.clone());
        assert_eq!(req.uri().to_string(), "sip:user@example.com");
        req.set_uri(contact);
        assert_eq!(req.uri().as_sip().unwrap().headers, []);
        req.set_body(Vec::new());
        let msg = Message::from(req);
        assert_eq!(Message::parse(&msg.to_bytes()).unwrap(), msg);
    }

    #[test]
    fn builders_round_trip() {
        let mut req = Request::new(
            Method::Invite,
            Uri::Sip(SipUri::new(Host::Name("example.com".into()))),
        );
        let mut via = Via::new(Transport::Udp, Host::V4([192, 0, 2, 1].into()), Some(5060));
        via.params.set("branch", Some("z9hG4bKx"));
        via.params.set("rport", None);
        req.headers_mut().push("Via", via.to_string());
        req.headers_mut().push("Max-Forwards", "70");
        req.headers_mut()
            .push("CSeq", CSeq::new(1, Method::Invite).to_string());
        req.headers_mut().push("Content-Type", "application/sdp");
        req.set_body(&b"v=0\r\n"[..]);
        let msg = Message::from(req);
        assert_eq!(Message::parse(&msg.to_bytes()).unwrap(), msg);
        assert!(msg
            .to_string()
            .ends_with("Content-Length: 5\r\n\r\nv=0\r\n"));
    }
}
