//! `MediaType`: the value of Content-Type and of each Accept element (RFC 3261 §20.15, §20.1):
//! `type/subtype` with header parameters (`multipart/mixed;boundary=x`). Accept's `*/*` and
//! `application/*` parse too, since `*` is a token character.

use std::fmt;
use std::str::FromStr;

use super::error::{syntax, Defect};
use super::lex::Cursor;
use super::params::Params;

/// `type/subtype *(;param)`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MediaType {
    /// The type (`application`), as written.
    pub kind: String,
    /// The subtype (`sdp`), as written.
    pub subtype: String,
    /// The parameters.
    pub params: Params,
}

impl MediaType {
    /// A media type without parameters.
    pub fn new(kind: &str, subtype: &str) -> MediaType {
        MediaType {
            kind: kind.to_owned(),
            subtype: subtype.to_owned(),
            params: Params::new(),
        }
    }

    /// Whether this is `kind/subtype`, ignoring ASCII case and parameters.
    pub fn is(&self, kind: &str, subtype: &str) -> bool {
        self.kind.eq_ignore_ascii_case(kind) && self.subtype.eq_ignore_ascii_case(subtype)
    }

    /// Parses `type/subtype` with parameters.
    pub fn parse(text: &str) -> Result<MediaType, Defect> {
        MediaType::parse_raw(text).map_err(|reason| syntax("media type", reason))
    }

    fn parse_raw(text: &str) -> Result<MediaType, &'static str> {
        let mut c = Cursor::new(text);
        c.skip_ws();
        let kind = c.token().ok_or("missing type")?;
        c.skip_ws();
        if !c.eat(b'/') {
            return Err("expected `/` after the type");
        }
        c.skip_ws();
        let subtype = c.token().ok_or("missing subtype")?;
        let params = Params::parse_header(&mut c)?;
        Ok(MediaType {
            kind: kind.to_owned(),
            subtype: subtype.to_owned(),
            params,
        })
    }
}

impl FromStr for MediaType {
    type Err = Defect;

    fn from_str(s: &str) -> Result<MediaType, Defect> {
        MediaType::parse(s)
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}{}", self.kind, self.subtype, self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_types_and_params() {
        let m = MediaType::parse("multipart/mixed;boundary=7a9cbec02ceef655").unwrap();
        assert!(m.is("MULTIPART", "Mixed"));
        assert_eq!(m.params.value("boundary"), Some("7a9cbec02ceef655"));
        assert_eq!(m.to_string(), "multipart/mixed;boundary=7a9cbec02ceef655");
        assert!(MediaType::parse("*/*").is_ok());
        for bad in ["", "application", "application/", "/sdp", "a/b c", "a/b;"] {
            assert!(MediaType::parse(bad).is_err(), "{bad}");
        }
    }
}
