//! Typed views of [`Headers`]: Via, From/To/Contact/Route, Call-ID, CSeq, Max-Forwards,
//! Expires, Content-Length, Content-Type, Accept and the authentication headers, each read
//! from the stored text on demand. For a message that came out of `Message::parse` the syntax
//! of these headers has already been checked, so the only errors left are
//! [`Defect::Missing`] and [`Defect::Duplicate`] — exactly the RFC 4475 `insuf`, `multi01`
//! and `mcl01` cases an application answers with 400.

use super::auth::AuthHeader;
use super::cseq::CSeq;
use super::error::{syntax, Defect};
use super::headers::Headers;
use super::lex::{is_wsp_char, parse_decimal};
use super::media_type::MediaType;
use super::name_addr::NameAddr;
use super::via::Via;

impl Headers {
    /// The only value of `name`: `Missing` or `Duplicate` otherwise.
    pub fn single(&self, name: &'static str) -> Result<&str, Defect> {
        let mut values = self.get_all(name);
        let first = values.next().ok_or(Defect::Missing(name))?;
        match values.next() {
            Some(_) => Err(Defect::Duplicate(name)),
            None => Ok(first),
        }
    }

    /// The only value of `name` if present: `Duplicate` if repeated.
    pub fn optional(&self, name: &'static str) -> Result<Option<&str>, Defect> {
        match self.single(name) {
            Ok(v) => Ok(Some(v)),
            Err(Defect::Missing(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every Via, top first; `Missing` if there is none.
    pub fn vias(&self) -> Result<Vec<Via>, Defect> {
        let vias = self
            .get_all("Via")
            .map(Via::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if vias.is_empty() {
            return Err(Defect::Missing("Via"));
        }
        Ok(vias)
    }

    /// The top Via.
    pub fn top_via(&self) -> Result<Via, Defect> {
        Via::parse(self.get("Via").ok_or(Defect::Missing("Via"))?)
    }

    /// The From header.
    pub fn from(&self) -> Result<NameAddr, Defect> {
        NameAddr::parse(self.single("From")?).map_err(|d| d.relabel("From"))
    }

    /// The To header.
    pub fn to(&self) -> Result<NameAddr, Defect> {
        NameAddr::parse(self.single("To")?).map_err(|d| d.relabel("To"))
    }

    /// Every Contact, in order (none for `Contact: *`, see [`Headers::contact_is_wildcard`]).
    pub fn contacts(&self) -> Result<Vec<NameAddr>, Defect> {
        self.name_addrs("Contact")
    }

    /// Whether the request says `Contact: *` (remove every binding).
    pub fn contact_is_wildcard(&self) -> bool {
        self.get_all("Contact").any(|v| v == "*")
    }

    /// Every Route, in order.
    pub fn routes(&self) -> Result<Vec<NameAddr>, Defect> {
        self.name_addrs("Route")
    }

    /// Every Record-Route, in order.
    pub fn record_routes(&self) -> Result<Vec<NameAddr>, Defect> {
        self.name_addrs("Record-Route")
    }

    /// The Call-ID.
    pub fn call_id(&self) -> Result<&str, Defect> {
        self.single("Call-ID")
    }

    /// The CSeq.
    pub fn cseq(&self) -> Result<CSeq, Defect> {
        CSeq::parse(self.single("CSeq")?)
    }

    /// Max-Forwards (0–255), `None` when absent (RFC 2543 peers omit it).
    pub fn max_forwards(&self) -> Result<Option<u8>, Defect> {
        self.optional("Max-Forwards")?
            .map(|v| {
                parse_decimal(v.trim_matches(is_wsp_char), 255)
                    .and_then(|n| u8::try_from(n).ok())
                    .ok_or(syntax("Max-Forwards", "not a number from 0 to 255"))
            })
            .transpose()
    }

    /// Expires in seconds, `None` when absent.
    pub fn expires(&self) -> Result<Option<u32>, Defect> {
        self.delta_seconds("Expires")
    }

    /// Min-Expires in seconds, `None` when absent.
    pub fn min_expires(&self) -> Result<Option<u32>, Defect> {
        self.delta_seconds("Min-Expires")
    }

    /// Content-Length, `None` when absent (the parsed body is authoritative; this is for
    /// checking that a request carries exactly one).
    pub fn content_length(&self) -> Result<Option<usize>, Defect> {
        self.optional("Content-Length")?
            .map(|v| parse_content_length(v).ok_or(syntax("Content-Length", "not a number")))
            .transpose()
    }

    /// Content-Type, `None` when absent.
    pub fn content_type(&self) -> Result<Option<MediaType>, Defect> {
        self.optional("Content-Type")?
            .map(|v| MediaType::parse(v).map_err(|d| d.relabel("Content-Type")))
            .transpose()
    }

    /// Every Accept element (an empty `Accept:` gives none).
    pub fn accept(&self) -> Result<Vec<MediaType>, Defect> {
        self.get_all("Accept")
            .filter(|v| !v.is_empty())
            .map(|v| MediaType::parse(v).map_err(|d| d.relabel("Accept")))
            .collect()
    }

    /// Every Authorization header (one per realm).
    pub fn authorization(&self) -> Result<Vec<AuthHeader>, Defect> {
        self.auth_headers("Authorization")
    }

    /// Every Proxy-Authorization header.
    pub fn proxy_authorization(&self) -> Result<Vec<AuthHeader>, Defect> {
        self.auth_headers("Proxy-Authorization")
    }

    /// Every WWW-Authenticate challenge.
    pub fn www_authenticate(&self) -> Result<Vec<AuthHeader>, Defect> {
        self.auth_headers("WWW-Authenticate")
    }

    /// Every Proxy-Authenticate challenge.
    pub fn proxy_authenticate(&self) -> Result<Vec<AuthHeader>, Defect> {
        self.auth_headers("Proxy-Authenticate")
    }

    fn name_addrs(&self, name: &'static str) -> Result<Vec<NameAddr>, Defect> {
        self.get_all(name)
            .filter(|v| *v != "*" || name != "Contact")
            .map(|v| NameAddr::parse(v).map_err(|d| d.relabel(name)))
            .collect()
    }

    fn delta_seconds(&self, name: &'static str) -> Result<Option<u32>, Defect> {
        self.optional(name)?
            .map(|v| parse_delta_seconds(v).ok_or(syntax(name, "not a 32-bit number of seconds")))
            .transpose()
    }

    fn auth_headers(&self, name: &'static str) -> Result<Vec<AuthHeader>, Defect> {
        self.get_all(name)
            .map(|v| AuthHeader::parse(v).map_err(|d| d.relabel(name)))
            .collect()
    }
}

/// `delta-seconds` that fits 32 bits.
pub(crate) fn parse_delta_seconds(text: &str) -> Option<u32> {
    parse_decimal(text.trim_matches(is_wsp_char), u64::from(u32::MAX))
        .and_then(|n| u32::try_from(n).ok())
}

/// A Content-Length value: digits only (so `-999` fails), at most `u32::MAX`.
pub(crate) fn parse_content_length(text: &str) -> Option<usize> {
    parse_decimal(text.trim_matches(is_wsp_char), u64::from(u32::MAX))
        .and_then(|n| usize::try_from(n).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Headers {
        let mut h = Headers::new();
        for (n, v) in pairs {
            h.push(n, v);
        }
        h
    }

    #[test]
    fn missing_and_duplicate_single_headers() {
        let h = headers(&[
            ("CSeq", "5 INVITE"),
            ("CSeq", "59 INVITE"),
            ("l", "13"),
            ("l", "5"),
        ]);
        assert_eq!(h.cseq(), Err(Defect::Duplicate("CSeq")));
        assert_eq!(h.content_length(), Err(Defect::Duplicate("Content-Length")));
        assert_eq!(h.call_id(), Err(Defect::Missing("Call-ID")));
        assert_eq!(h.max_forwards(), Ok(None));
        assert_eq!(h.top_via(), Err(Defect::Missing("Via")));
    }

    #[test]
    fn typed_values() {
        let h = headers(&[
            ("v", "SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/TCP b"),
            ("f", "\"A\" <sip:a@x>;tag=1"),
            ("t", "sip:b@x"),
            ("m", "<sip:a@1.2.3.4>;expires=60, <sip:a@5.6.7.8>"),
            ("Max-Forwards", "0068"),
            ("Expires", "3600"),
            ("c", "application/sdp"),
            ("Accept", "application/sdp, text/plain"),
            ("Authorization", "Digest username=\"a\", realm=\"r\""),
        ]);
        assert_eq!(h.vias().unwrap().len(), 2);
        assert_eq!(h.top_via().unwrap().branch(), Some("z9hG4bK1"));
        assert_eq!(h.from().unwrap().tag(), Some("1"));
        assert_eq!(h.to().unwrap().tag(), None);
        assert_eq!(h.contacts().unwrap()[0].expires(), Some(60));
        assert_eq!(h.max_forwards(), Ok(Some(68)));
        assert_eq!(h.expires(), Ok(Some(3600)));
        assert!(h.content_type().unwrap().unwrap().is("application", "sdp"));
        assert_eq!(h.accept().unwrap().len(), 2);
        assert_eq!(h.authorization().unwrap()[0].param("realm"), Some("r"));
        assert!(!h.contact_is_wildcard());
        let w = headers(&[("Contact", "*")]);
        assert!(w.contact_is_wildcard());
        assert_eq!(w.contacts(), Ok(vec![]));
    }

    #[test]
    fn scalar_limits() {
        assert_eq!(parse_content_length("-999"), None);
        assert_eq!(parse_content_length(" 150 "), Some(150));
        assert_eq!(parse_delta_seconds("4294967296"), None);
        let h = headers(&[("Max-Forwards", "300")]);
        assert!(h.max_forwards().is_err());
    }
}
