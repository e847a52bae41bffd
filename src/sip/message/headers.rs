//! `Headers`: a message's header fields as an ordered multimap. Names compare ignoring ASCII
//! case; compact forms (`i`, `m`, `v`, ...) and known names are stored under their canonical
//! spelling (`Call-ID`, `CSeq`, `WWW-Authenticate`), unknown names as written. A value of a
//! list header (Via, Contact, Route, Allow, Supported, ...) is stored one element per entry,
//! split at top-level commas, so `Via: a, b` and two Via lines are the same thing. Values never
//! contain line breaks: folded lines are joined with one space by the parser.
//!
//! Content-Length entries are kept as received (so an application can see that a request
//! repeats it), but the body is authoritative: printing rewrites the first Content-Length to
//! the body's length and drops any other.
//!
//! Typed views read a header from the stored text on demand: Via, From/To/Contact/Route,
//! Call-ID, CSeq, Max-Forwards, Expires, Content-Length, Content-Type, Accept and the
//! authentication headers. For a message that came out of `Message::parse` the syntax of these
//! headers has already been checked, so the only errors left are [`Defect::Missing`] and
//! [`Defect::Duplicate`] — exactly the RFC 4475 `insuf`, `multi01` and `mcl01` cases an
//! application answers with 400.

use std::borrow::Cow;

use super::auth::AuthHeader;
use super::cseq::CSeq;
use super::error::{syntax, Defect};
use super::lex::{is_wsp_char, parse_decimal, split_list};
use super::media_type::MediaType;
use super::name_addr::NameAddr;
use super::via::Via;

/// Compact forms (RFC 3261 §7.3.3 and the registry).
const COMPACT: [(u8, &str); 20] = [
    (b'a', "Accept-Contact"),
    (b'b', "Referred-By"),
    (b'c', "Content-Type"),
    (b'd', "Request-Disposition"),
    (b'e', "Content-Encoding"),
    (b'f', "From"),
    (b'i', "Call-ID"),
    (b'j', "Reject-Contact"),
    (b'k', "Supported"),
    (b'l', "Content-Length"),
    (b'm', "Contact"),
    (b'n', "Identity-Info"),
    (b'o', "Event"),
    (b'r', "Refer-To"),
    (b's', "Subject"),
    (b't', "To"),
    (b'u', "Allow-Events"),
    (b'v', "Via"),
    (b'x', "Session-Expires"),
    (b'y', "Identity"),
];

/// Known names in canonical spelling, and whether each is a comma-separated list.
const KNOWN: [(&str, bool); 72] = [
    ("Accept", true),
    ("Accept-Contact", true),
    ("Accept-Encoding", true),
    ("Accept-Language", true),
    ("Alert-Info", true),
    ("Allow", true),
    ("Allow-Events", true),
    ("Authentication-Info", false),
    ("Authorization", false),
    ("Call-ID", false),
    ("Call-Info", true),
    ("Contact", true),
    ("Content-Disposition", false),
    ("Content-Encoding", true),
    ("Content-Language", true),
    ("Content-Length", false),
    ("Content-Type", false),
    ("CSeq", false),
    ("Date", false),
    ("Error-Info", true),
    ("Event", false),
    ("Expires", false),
    ("From", false),
    ("History-Info", true),
    ("Identity", false),
    ("Identity-Info", false),
    ("In-Reply-To", true),
    ("Max-Forwards", false),
    ("MIME-Version", false),
    ("Min-Expires", false),
    ("Min-SE", false),
    ("Organization", false),
    ("P-Asserted-Identity", true),
    ("P-Preferred-Identity", true),
    ("Path", true),
    ("Priority", false),
    ("Privacy", false),
    ("Proxy-Authenticate", false),
    ("Proxy-Authorization", false),
    ("Proxy-Require", true),
    ("RAck", false),
    ("Reason", true),
    ("Record-Route", true),
    ("Refer-To", false),
    ("Referred-By", false),
    ("Reject-Contact", true),
    ("Replaces", false),
    ("Reply-To", false),
    ("Request-Disposition", true),
    ("Require", true),
    ("Retry-After", false),
    ("Route", true),
    ("RSeq", false),
    ("Security-Client", true),
    ("Security-Server", true),
    ("Security-Verify", true),
    ("Server", false),
    ("Service-Route", true),
    ("Session-Expires", false),
    ("SIP-ETag", false),
    ("SIP-If-Match", false),
    ("Subject", false),
    ("Subscription-State", false),
    ("Supported", true),
    ("Timestamp", false),
    ("To", false),
    ("Unsupported", true),
    ("User-Agent", false),
    ("Via", true),
    ("Warning", true),
    ("WWW-Authenticate", false),
    ("Content-Transfer-Encoding", false),
];

/// The canonical spelling of a header name and whether its values form a comma-separated
/// list.
pub(crate) fn canonical(name: &str) -> (Cow<'static, str>, bool) {
    if let [b] = name.as_bytes() {
        let lower = b.to_ascii_lowercase();
        if let Some((_, full)) = COMPACT.iter().find(|(c, _)| *c == lower) {
            return canonical(full);
        }
    }
    match KNOWN.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
        Some((k, list)) => (Cow::Borrowed(k), *list),
        None => (Cow::Owned(name.to_owned()), false),
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    name: Cow<'static, str>,
    value: String,
}

/// The header fields of a message, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers {
    entries: Vec<Entry>,
}

impl Headers {
    /// No headers.
    pub fn new() -> Headers {
        Headers::default()
    }

    /// How many entries (list elements count one each).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// `(name, value)` pairs in order, names canonical.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|e| (&*e.name, e.value.as_str()))
    }

    /// The first value of `name` (any case, compact forms accepted).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_all(name).next()
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + 'a {
        let (name, _) = canonical(name);
        self.entries
            .iter()
            .filter(move |e| e.name.eq_ignore_ascii_case(&name))
            .map(|e| e.value.as_str())
    }

    /// How many values `name` has.
    pub fn count(&self, name: &str) -> usize {
        self.get_all(name).count()
    }

    /// Whether `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Appends `name: value`. Like the parser, this canonicalises the name, trims the value
    /// and, for a list header, stores each non-empty comma-separated element separately.
    pub fn push(&mut self, name: &str, value: impl AsRef<str>) {
        let at = self.entries.len();
        self.insert_at(at, name, value.as_ref());
    }

    /// Inserts `name: value` before every other header (a proxy's own Via, a Route).
    pub fn push_front(&mut self, name: &str, value: impl AsRef<str>) {
        self.insert_at(0, name, value.as_ref());
    }

    /// Replaces every value of `name` with `value`, at the position of the first one (or at
    /// the end).
    pub fn set(&mut self, name: &str, value: impl AsRef<str>) {
        let (canon, _) = canonical(name);
        let at = self
            .entries
            .iter()
            .position(|e| e.name.eq_ignore_ascii_case(&canon))
            .unwrap_or(self.entries.len());
        self.remove(name);
        self.insert_at(at, name, value.as_ref());
    }

    /// Removes every value of `name`; how many were removed.
    pub fn remove(&mut self, name: &str) -> usize {
        let (canon, _) = canonical(name);
        let before = self.entries.len();
        self.entries
            .retain(|e| !e.name.eq_ignore_ascii_case(&canon));
        before - self.entries.len()
    }

    /// Removes and returns the first value of `name` (the top Via, the first Route).
    pub fn remove_first(&mut self, name: &str) -> Option<String> {
        let (canon, _) = canonical(name);
        let i = self
            .entries
            .iter()
            .position(|e| e.name.eq_ignore_ascii_case(&canon))?;
        Some(self.entries.remove(i).value)
    }

    /// Appends an entry exactly as the parser produced it.
    pub(crate) fn push_parsed(&mut self, name: Cow<'static, str>, value: String) {
        self.entries.push(Entry { name, value });
    }

    fn insert_at(&mut self, at: usize, name: &str, value: &str) {
        let (canon, list) = canonical(name.trim_matches(is_wsp_char));
        let value = value.trim_matches(is_wsp_char);
        let mut parts: Vec<&str> = if list {
            split_list(value)
                .into_iter()
                .filter(|p| !p.is_empty())
                .collect()
        } else {
            Vec::new()
        };
        if parts.is_empty() {
            parts.push(value);
        }
        let at = at.min(self.entries.len());
        self.entries.splice(
            at..at,
            parts.into_iter().map(|v| Entry {
                name: canon.clone(),
                value: v.to_owned(),
            }),
        );
    }

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

    #[test]
    fn names_are_canonical_and_case_insensitive() {
        assert_eq!(canonical("i").0, "Call-ID");
        assert_eq!(canonical("V").0, "Via");
        assert_eq!(canonical("cseq").0, "CSeq");
        assert_eq!(canonical("www-authenticate").0, "WWW-Authenticate");
        assert_eq!(canonical("X-Custom").0, "X-Custom");
        assert!(canonical("accept").1);
        assert!(!canonical("Date").1);
        for (n, _) in KNOWN {
            assert_eq!(canonical(n).0, n);
        }
    }

    #[test]
    fn push_splits_lists_and_lookups_ignore_case() {
        let mut h = Headers::new();
        h.push("v", "SIP/2.0/UDP a, SIP/2.0/UDP b");
        h.push("Allow", "INVITE, ,ACK");
        h.push("Subject", " a, b ");
        h.push("Contact", "\"x, y\" <sip:a@b;p=1,2>");
        assert_eq!(h.count("VIA"), 2);
        assert_eq!(h.get_all("allow").collect::<Vec<_>>(), ["INVITE", "ACK"]);
        assert_eq!(h.get("s"), Some("a, b"));
        assert_eq!(h.count("m"), 1);
        h.push_front("Via", "SIP/2.0/TCP c");
        assert_eq!(h.get("Via"), Some("SIP/2.0/TCP c"));
        assert_eq!(h.remove_first("Via").as_deref(), Some("SIP/2.0/TCP c"));
        h.set("Via", "SIP/2.0/UDP z");
        assert_eq!(h.iter().next(), Some(("Via", "SIP/2.0/UDP z")));
        assert_eq!(h.count("Via"), 1);
        assert_eq!(h.remove("ALLOW"), 2);
        h.push("Supported", "");
        assert_eq!(h.get("k"), Some(""));
    }

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
