//! `AuthHeader`: the value of Authorization, Proxy-Authorization, WWW-Authenticate and
//! Proxy-Authenticate (RFC 3261 §20.7, §25.1): a scheme and comma-separated `name=value`
//! parameters whose values are tokens or quoted strings. Values are kept unescaped together
//! with whether they were quoted, so a challenge prints the way digest clients expect
//! (`realm="x", algorithm=MD5`). Unknown schemes parse like any other (RFC 4475 `regaut01`).

use std::fmt;
use std::str::FromStr;

use super::error::{syntax, Defect};
use super::lex::{quote, Cursor};

/// One `name=value` auth parameter.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AuthParam {
    /// The name, as written.
    pub name: String,
    /// The value, unquoted and unescaped.
    pub value: String,
    /// Whether the value is (to be) written as a quoted string.
    pub quoted: bool,
}

/// `scheme name=value, name="value", ...`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AuthHeader {
    /// The scheme (`Digest`), as written.
    pub scheme: String,
    /// The parameters in order.
    pub params: Vec<AuthParam>,
}

impl AuthHeader {
    /// A header with no parameters yet.
    pub fn new(scheme: &str) -> AuthHeader {
        AuthHeader {
            scheme: scheme.to_owned(),
            params: Vec::new(),
        }
    }

    /// Appends a parameter written as a quoted string (`realm`, `nonce`, `response`, ...).
    pub fn quoted(mut self, name: &str, value: &str) -> AuthHeader {
        self.params.push(AuthParam {
            name: name.to_owned(),
            value: value.to_owned(),
            quoted: true,
        });
        self
    }

    /// Appends a parameter written as a token (`algorithm`, `nc`, `stale`, ...).
    pub fn token(mut self, name: &str, value: &str) -> AuthHeader {
        self.params.push(AuthParam {
            name: name.to_owned(),
            value: value.to_owned(),
            quoted: false,
        });
        self
    }

    /// Whether the scheme is `name`, ignoring ASCII case.
    pub fn is_scheme(&self, name: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(name)
    }

    /// The unescaped value of the first parameter called `name` (ASCII case ignored).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .map(|p| p.value.as_str())
    }

    /// Parses a credentials or challenge value.
    pub fn parse(text: &str) -> Result<AuthHeader, Defect> {
        AuthHeader::parse_raw(text).map_err(|reason| syntax("authorization header", reason))
    }

    fn parse_raw(text: &str) -> Result<AuthHeader, &'static str> {
        let mut c = Cursor::new(text);
        c.skip_ws();
        let scheme = c.token().ok_or("missing scheme")?;
        let spaced = c.skip_ws();
        let mut params = Vec::new();
        if !c.at_end() && !spaced {
            return Err("expected white space after the scheme");
        }
        while !c.at_end() {
            if !params.is_empty() {
                if !c.eat(b',') {
                    return Err("expected `,` between parameters");
                }
                c.skip_ws();
            }
            let name = c.token().ok_or("empty or invalid parameter name")?;
            c.skip_ws();
            if !c.eat(b'=') {
                return Err("expected `=` after a parameter name");
            }
            c.skip_ws();
            let (value, quoted) = if c.peek() == Some(b'"') {
                (c.quoted()?.1, true)
            } else {
                (
                    c.token().ok_or("missing parameter value")?.to_owned(),
                    false,
                )
            };
            params.push(AuthParam {
                name: name.to_owned(),
                value,
                quoted,
            });
            c.skip_ws();
        }
        Ok(AuthHeader {
            scheme: scheme.to_owned(),
            params,
        })
    }
}

impl FromStr for AuthHeader {
    type Err = Defect;

    fn from_str(s: &str) -> Result<AuthHeader, Defect> {
        AuthHeader::parse(s)
    }
}

impl fmt::Display for AuthHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.scheme)?;
        for (i, p) in self.params.iter().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            if p.quoted {
                write!(f, "{sep}{}={}", p.name, quote(&p.value))?;
            } else {
                write!(f, "{sep}{}={}", p.name, p.value)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_credentials() {
        let a = AuthHeader::parse(
            "Digest username=\"bob\", realm=\"a, b\",nonce=\"x\\\"y\" , uri=\"sip:h\", response=\"0f\", algorithm=MD5, nc=00000001, qop=auth",
        )
        .unwrap();
        assert!(a.is_scheme("digest"));
        assert_eq!(a.param("realm"), Some("a, b"));
        assert_eq!(a.param("NONCE"), Some("x\"y"));
        assert_eq!(a.param("nc"), Some("00000001"));
        assert_eq!(AuthHeader::parse(&a.to_string()).unwrap(), a);
    }

    #[test]
    fn unknown_scheme_and_builder() {
        let a = AuthHeader::parse("NoOneKnowsThisScheme opaque-data=here").unwrap();
        assert_eq!(a.param("opaque-data"), Some("here"));
        let c = AuthHeader::new("Digest")
            .quoted("realm", "pbx")
            .quoted("nonce", "n1")
            .token("algorithm", "SHA-256");
        assert_eq!(
            c.to_string(),
            "Digest realm=\"pbx\", nonce=\"n1\", algorithm=SHA-256"
        );
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "Digest realm",
            "Digest realm=",
            "Digest a=b,,c=d",
            "Digest a=b c=d",
            "Digest a=\"b",
        ] {
            assert!(AuthHeader::parse(bad).is_err(), "{bad}");
        }
    }
}
