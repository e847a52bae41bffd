//! `Uri`: a SIP or SIPS URI (RFC 3261 §19.1) broken into scheme, user (with its %-escapes kept
//! as written, decodable with [`SipUri::user_decoded`]), password, host (IPv4, bracketed IPv6
//! or a name), port, parameters and headers — or any other absolute URI (`tel:`, `http:`,
//! `nobodyKnowsThisScheme:...`), kept opaque so that the application can answer 416.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use super::error::{syntax, Defect};
use super::lex::{is_escaped_text, is_unreserved, percent_decode};
use super::params::Params;

/// A URI as found in a Request-URI or inside a name-addr.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Uri {
    /// `sip:` or `sips:`.
    Sip(SipUri),
    /// Any other scheme.
    Other(OtherUri),
}

/// A URI with a scheme this module does not interpret.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OtherUri {
    /// The scheme as written (`tel`, `http`).
    pub scheme: String,
    /// Everything after the first `:`.
    pub opaque: String,
}

/// A `sip:` or `sips:` URI. User, password, parameters and headers keep their %-escapes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SipUri {
    /// `sips:` rather than `sip:`.
    pub secure: bool,
    /// The user part, escapes kept (`sips%3Auser%40example.com`).
    pub user: Option<String>,
    /// The password after `user:`.
    pub password: Option<String>,
    /// The host.
    pub host: Host,
    /// The port, when written.
    pub port: Option<u16>,
    /// `;name[=value]` URI parameters (`transport`, `lr`, `maddr`, `user`, ...).
    pub params: Params,
    /// `?name=value&...` headers, escapes kept. Never allowed in a Request-URI.
    pub headers: Vec<(String, String)>,
}

/// The host of a URI or Via.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Host {
    /// A domain name, case as written.
    Name(String),
    /// A dotted IPv4 address.
    V4(Ipv4Addr),
    /// An IPv6 address (written in brackets).
    V6(Ipv6Addr),
}

impl Uri {
    /// Parses a URI: the text must be exactly the URI, without `<>` or white space.
    pub fn parse(text: &str) -> Result<Uri, Defect> {
        Uri::parse_raw(text).map_err(|reason| syntax("URI", reason))
    }

    pub(crate) fn parse_raw(text: &str) -> Result<Uri, &'static str> {
        let (scheme, rest) = text.split_once(':').ok_or("no scheme")?;
        let mut bytes = scheme.bytes();
        let valid_scheme = bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
            && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        if !valid_scheme {
            return Err("invalid scheme");
        }
        if scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips") {
            let secure = scheme.len() == 4;
            return SipUri::parse_after_scheme(secure, rest).map(Uri::Sip);
        }
        let opaque_ok = !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_graphic() && !matches!(b, b'<' | b'>' | b'"'));
        if !opaque_ok {
            return Err("invalid characters after the scheme");
        }
        Ok(Uri::Other(OtherUri {
            scheme: scheme.to_owned(),
            opaque: rest.to_owned(),
        }))
    }

    /// The scheme: `sip`, `sips`, or as written for others.
    pub fn scheme(&self) -> &str {
        match self {
            Uri::Sip(u) if u.secure => "sips",
            Uri::Sip(_) => "sip",
            Uri::Other(o) => &o.scheme,
        }
    }

    /// The SIP URI, if it is one.
    pub fn as_sip(&self) -> Option<&SipUri> {
        match self {
            Uri::Sip(u) => Some(u),
            Uri::Other(_) => None,
        }
    }

    /// The SIP URI, mutably, if it is one.
    pub fn as_sip_mut(&mut self) -> Option<&mut SipUri> {
        match self {
            Uri::Sip(u) => Some(u),
            Uri::Other(_) => None,
        }
    }
}

impl FromStr for Uri {
    type Err = Defect;

    fn from_str(s: &str) -> Result<Uri, Defect> {
        Uri::parse(s)
    }
}

impl From<SipUri> for Uri {
    fn from(uri: SipUri) -> Uri {
        Uri::Sip(uri)
    }
}

impl SipUri {
    /// `sip:host` with nothing else.
    pub fn new(host: Host) -> SipUri {
        SipUri {
            secure: false,
            user: None,
            password: None,
            host,
            port: None,
            params: Params::new(),
            headers: Vec::new(),
        }
    }

    /// The user part with %-escapes decoded (bytes: `%00` and non-UTF-8 are possible).
    pub fn user_decoded(&self) -> Option<Vec<u8>> {
        self.user.as_deref().map(percent_decode)
    }

    /// The value of URI parameter `name`, as written.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.value(name)
    }

    /// `host[:port]`.
    pub fn host_port(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.host),
            None => self.host.to_string(),
        }
    }

    fn parse_after_scheme(secure: bool, rest: &str) -> Result<SipUri, &'static str> {
        let (userinfo, hostpart) = match rest.split_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(info) => {
                let (user, password) = match info.split_once(':') {
                    Some((u, p)) => (u, Some(p)),
                    None => (info, None),
                };
                if user.is_empty() || !is_escaped_text(user, is_user_char) {
                    return Err("invalid user part");
                }
                if let Some(p) = password {
                    if !is_escaped_text(p, is_password_char) {
                        return Err("invalid password");
                    }
                }
                (Some(user.to_owned()), password.map(str::to_owned))
            }
        };
        let (hostport, headers) = match hostpart.split_once('?') {
            Some((hp, h)) => (hp, Some(h)),
            None => (hostpart, None),
        };
        let (hostport, params) = match hostport.split_once(';') {
            Some((hp, p)) => (hp, Some(p)),
            None => (hostport, None),
        };
        let (host, port) = split_host_port(hostport)?;
        let params = match params {
            Some(p) => Params::parse_uri(p)?,
            None => Params::new(),
        };
        let headers = match headers {
            Some(h) => parse_uri_headers(h)?,
            None => Vec::new(),
        };
        Ok(SipUri {
            secure,
            user,
            password,
            host,
            port,
            params,
            headers,
        })
    }
}

/// Splits `host[:port]` (with a bracketed IPv6 host) and parses both.
pub(crate) fn split_host_port(text: &str) -> Result<(Host, Option<u16>), &'static str> {
    let (host, port) = if text.starts_with('[') {
        let (host, after) = match text.find(']') {
            Some(i) => (
                text.get(..=i).unwrap_or(""),
                text.get(i + 1..).unwrap_or(""),
            ),
            None => return Err("unterminated IPv6 reference"),
        };
        match after {
            "" => (host, None),
            _ => (
                host,
                Some(after.strip_prefix(':').ok_or("junk after IPv6 reference")?),
            ),
        }
    } else {
        match text.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (text, None),
        }
    };
    let host = Host::parse_raw(host)?;
    let port = match port {
        Some(p) => Some(parse_port(p).ok_or("invalid port")?),
        None => None,
    };
    Ok((host, port))
}

/// A port: 1 to 5 digits, at most 65535.
pub(crate) fn parse_port(text: &str) -> Option<u16> {
    if text.is_empty() || text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn parse_uri_headers(text: &str) -> Result<Vec<(String, String)>, &'static str> {
    text.split('&')
        .map(|item| {
            let (name, value) = item.split_once('=').ok_or("URI header without `=`")?;
            if name.is_empty()
                || !is_escaped_text(name, is_hnv_char)
                || !is_escaped_text(value, is_hnv_char)
            {
                return Err("invalid URI header");
            }
            Ok((name.to_owned(), value.to_owned()))
        })
        .collect()
}

fn is_user_char(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'&' | b'=' | b'+' | b'$' | b',' | b';' | b'?' | b'/')
}

fn is_password_char(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'&' | b'=' | b'+' | b'$' | b',')
}

fn is_hnv_char(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'[' | b']' | b'/' | b'?' | b':' | b'+' | b'$')
}

impl Host {
    /// Parses a host: `[IPv6]`, dotted IPv4, or a domain name (letters, digits, `-`, `.`,
    /// `_`, starting with a letter or digit).
    pub fn parse(text: &str) -> Result<Host, Defect> {
        Host::parse_raw(text).map_err(|reason| syntax("host", reason))
    }

    pub(crate) fn parse_raw(text: &str) -> Result<Host, &'static str> {
        if let Some(inner) = text.strip_prefix('[') {
            let inner = inner
                .strip_suffix(']')
                .ok_or("unterminated IPv6 reference")?;
            return inner
                .parse::<Ipv6Addr>()
                .map(Host::V6)
                .map_err(|_| "invalid IPv6 address");
        }
        if let Ok(v4) = text.parse::<Ipv4Addr>() {
            return Ok(Host::V4(v4));
        }
        let mut bytes = text.bytes();
        let valid = bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
            && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
        if valid {
            Ok(Host::Name(text.to_owned()))
        } else {
            Err("invalid host")
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(n) => f.write_str(n),
            Host::V4(a) => write!(f, "{a}"),
            Host::V6(a) => write!(f, "[{a}]"),
        }
    }
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.secure { "sips:" } else { "sip:" })?;
        if let Some(user) = &self.user {
            f.write_str(user)?;
            if let Some(password) = &self.password {
                write!(f, ":{password}")?;
            }
            f.write_str("@")?;
        }
        write!(f, "{}", self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        write!(f, "{}", self.params)?;
        for (i, (name, value)) in self.headers.iter().enumerate() {
            let sep = if i == 0 { '?' } else { '&' };
            write!(f, "{sep}{name}={value}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Uri::Sip(u) => u.fmt(f),
            Uri::Other(o) => write!(f, "{}:{}", o.scheme, o.opaque),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sip(text: &str) -> SipUri {
        match Uri::parse(text) {
            Ok(Uri::Sip(u)) => u,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn parses_every_part() {
        let u = sip("sips:alice:secret@[2001:db8::1]:5061;transport=tcp;lr?subject=hi&x=");
        assert!(u.secure);
        assert_eq!(u.user.as_deref(), Some("alice"));
        assert_eq!(u.password.as_deref(), Some("secret"));
        assert_eq!(u.host, Host::V6("2001:db8::1".parse().unwrap()));
        assert_eq!(u.port, Some(5061));
        assert_eq!(u.param("TRANSPORT"), Some("tcp"));
        assert!(u.params.contains("lr"));
        assert_eq!(u.headers.len(), 2);
        assert_eq!(
            u.to_string(),
            "sips:alice:secret@[2001:db8::1]:5061;transport=tcp;lr?subject=hi&x="
        );
    }

    #[test]
    fn escapes_are_kept_and_decodable() {
        let u = sip("sip:sips%3Auser%40example.com@example.net");
        assert_eq!(u.user.as_deref(), Some("sips%3Auser%40example.com"));
        assert_eq!(u.user_decoded().unwrap(), b"sips:user@example.com");
        assert_eq!(sip("sip:%00@h").user_decoded().unwrap(), vec![0]);
        let u = sip("sip:user;par=u%40example.net@example.com");
        assert_eq!(u.user.as_deref(), Some("user;par=u%40example.net"));
        assert_eq!(u.host, Host::Name("example.com".into()));
    }

    #[test]
    fn unusual_user_and_password_characters() {
        let text = "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com";
        let u = sip(text);
        assert_eq!(
            u.user.as_deref(),
            Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
        );
        assert_eq!(u.to_string(), text);
    }

    #[test]
    fn other_schemes_are_opaque() {
        let u = Uri::parse("soap.beep://192.0.2.103:3002").unwrap();
        assert_eq!(u.scheme(), "soap.beep");
        assert_eq!(u.to_string(), "soap.beep://192.0.2.103:3002");
        assert!(Uri::parse("isbn:2983792873").is_ok());
    }

    #[test]
    fn rejects_malformed_uris() {
        for bad in [
            "<sip:user@example.com>",
            " sip:a@b",
            "sip:a@b ",
            "sip:@host",
            "sip:a@",
            "sip:host:",
            "sip:host:99999",
            "sip:host;",
            "sip:host?x",
            "sip:[::1",
            "sip:a b@host",
            "sip:a%zz@host",
            "nocolon",
            "1x:foo",
            "tel:",
            "x:a b",
        ] {
            assert!(Uri::parse(bad).is_err(), "{bad}");
        }
    }
}
