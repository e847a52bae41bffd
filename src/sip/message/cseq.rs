//! `CSeq`: the command sequence header (RFC 3261 §20.16): a 32-bit sequence number and the
//! method. Overlarge numbers (RFC 4475 `scalar02`, `scalarlg`) are rejected.

use std::fmt;
use std::str::FromStr;

use super::error::{syntax, Defect};
use super::lex::{parse_decimal, Cursor};
use super::method::Method;

/// `CSeq: number method`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CSeq {
    /// The sequence number.
    pub seq: u32,
    /// The method.
    pub method: Method,
}

impl CSeq {
    /// A CSeq value.
    pub fn new(seq: u32, method: Method) -> CSeq {
        CSeq { seq, method }
    }

    /// Parses `1*DIGIT LWS Method`.
    pub fn parse(text: &str) -> Result<CSeq, Defect> {
        let mut c = Cursor::new(text);
        c.skip_ws();
        let digits = c.take_while(|b| b.is_ascii_digit());
        let seq = parse_decimal(digits, u64::from(u32::MAX))
            .and_then(|n| u32::try_from(n).ok())
            .ok_or(syntax("CSeq", "sequence number is not a 32-bit number"))?;
        if !c.skip_ws() {
            return Err(syntax("CSeq", "expected white space after the number"));
        }
        let method = c.token().ok_or(syntax("CSeq", "missing method"))?;
        c.skip_ws();
        if !c.at_end() {
            return Err(syntax("CSeq", "junk after the method"));
        }
        Ok(CSeq {
            seq,
            method: method.parse().map_err(|d: Defect| d.relabel("CSeq"))?,
        })
    }
}

impl FromStr for CSeq {
    type Err = Defect;

    fn from_str(s: &str) -> Result<CSeq, Defect> {
        CSeq::parse(s)
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        assert_eq!(
            CSeq::parse("0009 INVITE").unwrap(),
            CSeq::new(9, Method::Invite)
        );
        assert_eq!(CSeq::parse("4294967295 BYE").unwrap().seq, u32::MAX);
        for bad in [
            "36893488147419103232 REGISTER",
            "4294967296 BYE",
            "INVITE",
            "1",
            "1INVITE",
            "1 INVITE x",
            "-1 INVITE",
        ] {
            assert!(CSeq::parse(bad).is_err(), "{bad}");
        }
    }
}
