//! `NameAddr`: the value of From, To, Contact, Route and Record-Route (RFC 3261 §20.10,
//! §25.1): an optional display name (a quoted string, or tokens separated by white space), a
//! URI in `<...>` or as a bare addr-spec, and header parameters (`tag`, `expires`, `q`, ...).
//! A bare addr-spec ends at the first `;` — everything after it is a header parameter — and
//! may not contain `?` or `,` (RFC 3261 §20: such a URI must be enclosed in `<>`).

use std::fmt;
use std::str::FromStr;

use super::error::{syntax, Defect};
use super::lex::{is_token_byte, is_wsp, is_wsp_char, parse_decimal, quote, Cursor};
use super::params::Params;
use super::uri::Uri;

/// `[display-name] <uri> *(;param)` or `addr-spec *(;param)`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NameAddr {
    /// The display name, unquoted and unescaped (token sequences joined by one space).
    pub display_name: Option<String>,
    /// The URI.
    pub uri: Uri,
    /// Header parameters after the URI.
    pub params: Params,
}

impl NameAddr {
    /// A name-addr with no display name and no parameters.
    pub fn new(uri: Uri) -> NameAddr {
        NameAddr {
            display_name: None,
            uri,
            params: Params::new(),
        }
    }

    /// Parses one value (one element of a comma-separated Contact or Route header).
    pub fn parse(text: &str) -> Result<NameAddr, Defect> {
        NameAddr::parse_raw(text).map_err(|reason| syntax("name-addr", reason))
    }

    fn parse_raw(text: &str) -> Result<NameAddr, &'static str> {
        let mut c = Cursor::new(text);
        c.skip_ws();
        let display_name = if c.peek() == Some(b'"') {
            let (_, name) = c.quoted()?;
            c.skip_ws();
            if c.peek() != Some(b'<') {
                return Err("a quoted display name must be followed by `<`");
            }
            Some(name)
        } else if c.rest().bytes().find(|b| matches!(b, b'<' | b'"' | b';')) == Some(b'<') {
            let words = c.take_while(|b| b != b'<');
            let words = words.trim_matches(is_wsp_char);
            if words.is_empty() {
                None
            } else if words.bytes().all(|b| is_token_byte(b) || is_wsp(b)) {
                Some(
                    words
                        .split([' ', '\t'])
                        .filter(|w| !w.is_empty())
                        .collect::<Vec<_>>()
                        .join(" "),
                )
            } else {
                return Err("display name is neither a quoted string nor tokens");
            }
        } else {
            None
        };
        let uri = if c.eat(b'<') {
            let inner = c.take_while(|b| b != b'>');
            if !c.eat(b'>') {
                return Err("missing `>`");
            }
            if inner.starts_with([' ', '\t']) || inner.ends_with([' ', '\t']) {
                return Err("white space inside `<>`");
            }
            Uri::parse_raw(inner)?
        } else {
            let spec = c.take_while(|b| b != b';');
            let spec = spec.trim_end_matches(is_wsp_char);
            if spec.contains(['?', ',']) {
                return Err("a URI with `?` or `,` must be enclosed in `<>`");
            }
            Uri::parse_raw(spec)?
        };
        let params = Params::parse_header(&mut c)?;
        Ok(NameAddr {
            display_name,
            uri,
            params,
        })
    }

    /// The `tag` parameter.
    pub fn tag(&self) -> Option<&str> {
        self.params.value("tag")
    }

    /// Sets the `tag` parameter.
    pub fn set_tag(&mut self, tag: &str) {
        self.params.set("tag", Some(tag));
    }

    /// The `expires` parameter of a Contact, when it is a valid delta-seconds (a malformed
    /// or overlarge value reads as `None`; RFC 3261 §20.19 suggests treating it as 3600).
    pub fn expires(&self) -> Option<u32> {
        let v = self.params.value("expires")?;
        parse_decimal(v, u64::from(u32::MAX)).and_then(|v| u32::try_from(v).ok())
    }

    /// The `q` parameter of a Contact, as written (`0.33`).
    pub fn q(&self) -> Option<&str> {
        self.params.value("q")
    }
}

impl FromStr for NameAddr {
    type Err = Defect;

    fn from_str(s: &str) -> Result<NameAddr, Defect> {
        NameAddr::parse(s)
    }
}

impl fmt::Display for NameAddr {
    /// Always the `<uri>` form; a display name is always quoted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = &self.display_name {
            write!(f, "{} ", quote(name))?;
        }
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_name_forms() {
        let n = NameAddr::parse(
            r#""J Rosenberg \\\""       <sip:jdrosen@example.com> ; tag = 98asjd8"#,
        )
        .unwrap();
        assert_eq!(n.display_name.as_deref(), Some("J Rosenberg \\\""));
        assert_eq!(n.tag(), Some("98asjd8"));
        let n = NameAddr::parse("caller<sip:caller@example.com>;tag=323").unwrap();
        assert_eq!(n.display_name.as_deref(), Some("caller"));
        let n =
            NameAddr::parse("token1~` token2'+_   token3*%!.- <sip:mundane@example.com>").unwrap();
        assert_eq!(
            n.display_name.as_deref(),
            Some("token1~` token2'+_ token3*%!.-")
        );
        let n = NameAddr::parse("<sip:a@b>").unwrap();
        assert_eq!(n.display_name, None);
    }

    #[test]
    fn bare_addr_spec_ends_at_semicolon() {
        let n = NameAddr::parse("sip:+19725552222@gw1.example.net;unknownparam").unwrap();
        assert_eq!(n.uri.to_string(), "sip:+19725552222@gw1.example.net");
        assert!(n.params.contains("unknownparam"));
        let n =
            NameAddr::parse("sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n").unwrap();
        assert_eq!(n.tag(), Some("1918181833n"));
        assert!(NameAddr::parse("isbn:2983792873").is_ok());
        let n = NameAddr::parse("sip:a@b;+sip.instance=\"<urn:uuid:1>\"").unwrap();
        assert_eq!(n.params.len(), 1);
    }

    #[test]
    fn contact_params() {
        let n = NameAddr::parse("<sip:u@h>;expires=280297596632815;q=0.5").unwrap();
        assert_eq!(n.expires(), None);
        assert_eq!(n.q(), Some("0.5"));
        assert_eq!(
            NameAddr::parse("<sip:u@h>;expires=60").unwrap().expires(),
            Some(60)
        );
    }

    #[test]
    fn rejects_rfc4475_invalid_forms() {
        for bad in [
            "\"Mr. J. User <sip:j.user@example.com>",
            "Bell, Alexander <sip:a.g.bell@example.com>;tag=43",
            "\"Watson, Thomas\" < sip:t.watson@example.org >",
            "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
            "\"Joe\" <sip:joe@example.org>;;;;",
            "<sip:a@b",
            "sip:a@b<",
            "\"x\" sip:a@b",
            "",
        ] {
            assert!(NameAddr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn display_round_trips() {
        let n = NameAddr::parse("\"a \\\"b\\\\\" <sip:x@y;lr>;tag=1").unwrap();
        assert_eq!(NameAddr::parse(&n.to_string()).unwrap(), n);
        let n = NameAddr::parse("sip:x@y;tag=1").unwrap();
        assert_eq!(n.to_string(), "<sip:x@y>;tag=1");
    }
}
