//! The RFC 3261 §25 lexical rules every parser in this module shares: token characters,
//! white space, quoted strings, %-escapes, decimal scalars, and splitting a header value at
//! its top-level commas (never inside a quoted string or `<...>`). Everything here works on
//! bytes of a `&str` and never slices through a multi-byte character, so no input can panic.

use std::borrow::Cow;

/// Whether `b` may appear in a `token` (RFC 3261 §25.1).
pub(crate) fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
        )
}

/// Whether `s` is a non-empty `token`.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_byte)
}

/// Whether `b` is SP or HTAB.
pub(crate) fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Whether `b` is `unreserved` (alphanumeric or a `mark`).
pub(crate) fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')'
        )
}

/// Whether every byte of `s` is either allowed by `allowed` or part of a well-formed
/// `%HH` escape.
pub(crate) fn is_escaped_text(s: &str, allowed: fn(u8) -> bool) -> bool {
    let bytes = s.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return false;
            }
            i += 3;
        } else if allowed(b) {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

/// Decodes `%HH` escapes; a `%` not followed by two hex digits is kept as it is.
pub fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = bytes.get(i + 1).and_then(|h| (*h as char).to_digit(16));
            let lo = bytes.get(i + 2).and_then(|h| (*h as char).to_digit(16));
            if let (Some(hi), Some(lo)) = (hi, lo) {
                // Two hex digits are at most 0xFF.
                out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'%'));
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

/// Parses `1*DIGIT` (leading zeros allowed) into a value no greater than `max`.
pub(crate) fn parse_decimal(s: &str, max: u64) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for b in s.bytes() {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
        if value > max {
            return None;
        }
    }
    Some(value)
}

/// Writes `s` as a `quoted-string`: `"` and `\` and control characters are escaped; CR and
/// LF, which no quoted-pair can carry, become spaces.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\r' | '\n' => out.push(' '),
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\t' => out.push(c),
            c if c.is_ascii_control() => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Removes the quotes and quoted-pairs of a `quoted-string`; other text is returned as is.
pub(crate) fn unquote(s: &str) -> Cow<'_, str> {
    if s.starts_with('"') {
        let mut cursor = Cursor::new(s);
        if let Ok((_, text)) = cursor.quoted() {
            if cursor.at_end() {
                return Cow::Owned(text);
            }
        }
    }
    Cow::Borrowed(s)
}

/// Splits a header value at commas that are outside quoted strings and `<...>`, trimming
/// white space around each element. Elements may be empty (the caller decides whether that
/// is an error).
pub(crate) fn split_list(value: &str) -> Vec<&str> {
    let bytes = value.as_bytes();
    let mut parts = Vec::new();
    let mut start = 0;
    let mut in_quotes = false;
    let mut in_angle = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if in_quotes {
            match b {
                b'\\' => i += 1,
                b'"' => in_quotes = false,
                _ => {}
            }
        } else if in_angle {
            if b == b'>' {
                in_angle = false;
            }
        } else {
            match b {
                b'"' => in_quotes = true,
                b'<' => in_angle = true,
                b',' => {
                    parts.push(value.get(start..i).unwrap_or("").trim_matches(is_wsp_char));
                    start = i + 1;
                }
                _ => {}
            }
        }
        i += 1;
    }
    parts.push(value.get(start..).unwrap_or("").trim_matches(is_wsp_char));
    parts
}

/// `char` form of [`is_wsp`], for `trim_matches`.
pub(crate) fn is_wsp_char(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Truncates attacker-controlled text to a length fit for an error message.
pub(crate) fn clip(s: &str) -> String {
    const MAX: usize = 40;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", s.get(..end).unwrap_or(""))
}

/// A read position in a header value. Every method stops only at ASCII bytes or at the end,
/// so the slices it hands out are always on character boundaries.
pub(crate) struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `s`.
    pub(crate) fn new(s: &'a str) -> Cursor<'a> {
        Cursor { s, pos: 0 }
    }

    /// The next byte, if any.
    pub(crate) fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    /// Whether everything has been read.
    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    /// What is left to read.
    pub(crate) fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or("")
    }

    /// Skips SP and HTAB; whether anything was skipped.
    pub(crate) fn skip_ws(&mut self) -> bool {
        let start = self.pos;
        while self.peek().is_some_and(is_wsp) {
            self.pos += 1;
        }
        self.pos > start
    }

    /// Consumes `b` if it is next.
    pub(crate) fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Consumes the longest run of bytes matching `pred`. `pred` must give the same answer
    /// for every byte >= 0x80 so the run ends on a character boundary.
    pub(crate) fn take_while(&mut self, pred: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&pred) {
            self.pos += 1;
        }
        self.s.get(start..self.pos).unwrap_or("")
    }

    /// Consumes a non-empty token.
    pub(crate) fn token(&mut self) -> Option<&'a str> {
        let t = self.take_while(is_token_byte);
        (!t.is_empty()).then_some(t)
    }

    /// Consumes a quoted string (the cursor must be at its `"`); returns the raw text with
    /// its quotes, and the unescaped content.
    pub(crate) fn quoted(&mut self) -> Result<(&'a str, String), &'static str> {
        let start = self.pos;
        if !self.eat(b'"') {
            return Err("expected a quoted string");
        }
        let mut text = Vec::new();
        loop {
            match self.peek() {
                None => return Err("unterminated quoted string"),
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        None => return Err("unterminated quoted string"),
                        Some(b'\r' | b'\n') => return Err("invalid quoted-pair"),
                        Some(b) => {
                            text.push(b);
                            self.pos += 1;
                        }
                    }
                }
                Some(b) if b != b'\t' && b.is_ascii_control() => {
                    return Err("control character in a quoted string")
                }
                Some(b) => {
                    text.push(b);
                    self.pos += 1;
                }
            }
        }
        let raw = self.s.get(start..self.pos).unwrap_or("");
        // Only ASCII bytes were dropped, so the rest is still UTF-8.
        let text = String::from_utf8(text).map_err(|_| "quoted string is not UTF-8")?;
        Ok((raw, text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_list_respects_quotes_and_angle_brackets() {
        assert_eq!(
            split_list(r#""a, \"b" <sip:x;a=1,2>;p, c ,d"#),
            vec![r#""a, \"b" <sip:x;a=1,2>;p"#, "c", "d"]
        );
        assert_eq!(split_list("a,,b"), vec!["a", "", "b"]);
        assert_eq!(split_list(""), vec![""]);
    }

    #[test]
    fn quoted_strings_round_trip() {
        let text = "J \"R\" \\ \u{7} é";
        let q = quote(text);
        let mut c = Cursor::new(&q);
        assert_eq!(c.quoted().unwrap().1, text);
        assert!(c.at_end());
        assert!(Cursor::new("\"abc").quoted().is_err());
        assert_eq!(unquote("\"a\\\"b\""), "a\"b");
        assert_eq!(unquote("token"), "token");
    }

    #[test]
    fn escapes_and_decimals() {
        assert_eq!(percent_decode("a%41%4g%"), b"aA%4g%".to_vec());
        assert!(is_escaped_text("a%20b", is_unreserved));
        assert!(!is_escaped_text("a%2", is_unreserved));
        assert!(!is_escaped_text("a b", is_unreserved));
        assert_eq!(parse_decimal("0068", 255), Some(68));
        assert_eq!(parse_decimal("300", 255), None);
        assert_eq!(parse_decimal("36893488147419103232", u64::MAX), None);
        assert_eq!(parse_decimal("-1", 255), None);
        assert_eq!(parse_decimal("", 255), None);
    }

    #[test]
    fn clip_respects_char_boundaries() {
        let long = "é".repeat(50);
        assert!(clip(&long).ends_with("..."));
        assert_eq!(clip("short"), "short");
    }
}
