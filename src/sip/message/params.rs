//! `Params`: the ordered `;name[=value]` list that URIs, Via, name-addr and media types carry.
//! Names are matched case-insensitively; values are kept as written (a quoted-string keeps its
//! quotes, see [`Param::unquoted`]). Two grammars read them: header parameters (white space
//! allowed around `;` and `=`, values are tokens, hosts or quoted strings) and URI parameters
//! (no white space, `paramchar`s with %-escapes).

use std::borrow::Cow;
use std::fmt;

use super::lex::{is_escaped_text, is_token_byte, is_unreserved, unquote, Cursor};

/// One `name[=value]` parameter.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Param {
    /// The name, as written.
    pub name: String,
    /// The value as written (quotes included for a quoted string); `None` for a flag.
    pub value: Option<String>,
}

impl Param {
    /// The value with quotes and quoted-pairs removed.
    pub fn unquoted(&self) -> Option<Cow<'_, str>> {
        self.value.as_deref().map(unquote)
    }
}

/// An ordered list of parameters; lookups ignore ASCII case of names.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Params(Vec<Param>);

impl Params {
    /// An empty list.
    pub fn new() -> Params {
        Params(Vec::new())
    }

    /// Whether there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many parameters there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The parameters in order.
    pub fn iter(&self) -> impl Iterator<Item = &Param> {
        self.0.iter()
    }

    /// The first parameter called `name`.
    pub fn get(&self, name: &str) -> Option<&Param> {
        self.0.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// Whether a parameter called `name` is present (with or without a value).
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The value of the first parameter called `name`, as written; `None` when absent or a
    /// flag.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|p| p.value.as_deref())
    }

    /// Sets `name` to `value` in place of its first occurrence (dropping any others), or
    /// appends it. The value must be a token, host or quoted string (see
    /// [`quote`](super::quote)); it is not checked.
    pub fn set(&mut self, name: &str, value: Option<&str>) {
        let value = value.map(str::to_owned);
        match self
            .0
            .iter()
            .position(|p| p.name.eq_ignore_ascii_case(name))
        {
            Some(i) => {
                if let Some(p) = self.0.get_mut(i) {
                    p.value = value;
                }
                let mut seen = 0;
                self.0.retain(|p| {
                    if p.name.eq_ignore_ascii_case(name) {
                        seen += 1;
                        seen == 1
                    } else {
                        true
                    }
                });
            }
            None => self.push(name, value.as_deref()),
        }
    }

    /// Appends a parameter (even if one of that name exists).
    pub fn push(&mut self, name: &str, value: Option<&str>) {
        self.0.push(Param {
            name: name.to_owned(),
            value: value.map(str::to_owned),
        });
    }

    /// Removes every parameter called `name`; how many were removed.
    pub fn remove(&mut self, name: &str) -> usize {
        let before = self.0.len();
        self.0.retain(|p| !p.name.eq_ignore_ascii_case(name));
        before - self.0.len()
    }

    /// Reads header parameters: `*( SWS ";" SWS token [ SWS "=" SWS gen-value ] )` up to the
    /// end of the cursor's text.
    pub(crate) fn parse_header(cursor: &mut Cursor<'_>) -> Result<Params, &'static str> {
        let mut params = Params::new();
        loop {
            cursor.skip_ws();
            if cursor.at_end() {
                return Ok(params);
            }
            if !cursor.eat(b';') {
                return Err("expected `;` before a parameter");
            }
            cursor.skip_ws();
            let name = cursor.token().ok_or("empty or invalid parameter name")?;
            cursor.skip_ws();
            let value = if cursor.eat(b'=') {
                cursor.skip_ws();
                Some(gen_value(cursor)?)
            } else {
                None
            };
            params.push(name, value);
        }
    }

    /// Reads URI parameters from `text`, the part after the first `;` up to `?` or the end
    /// (`name[=value]` separated by `;`, no white space).
    pub(crate) fn parse_uri(text: &str) -> Result<Params, &'static str> {
        let mut params = Params::new();
        for item in text.split(';') {
            let (name, value) = match item.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (item, None),
            };
            if name.is_empty() || !is_escaped_text(name, is_paramchar) {
                return Err("empty or invalid URI parameter name");
            }
            if let Some(v) = value {
                if v.is_empty() || !is_escaped_text(v, is_paramchar) {
                    return Err("empty or invalid URI parameter value");
                }
            }
            params.push(name, value);
        }
        Ok(params)
    }
}

/// A header parameter value: a quoted string, a bracketed IPv6 reference, or a run of token
/// characters and colons (a token, a host, or an unbracketed IPv6 `received`).
fn gen_value<'a>(cursor: &mut Cursor<'a>) -> Result<&'a str, &'static str> {
    if cursor.peek() == Some(b'"') {
        return cursor.quoted().map(|(raw, _)| raw);
    }
    let value = cursor.take_while(|b| is_token_byte(b) || matches!(b, b':' | b'[' | b']'));
    if value.is_empty() {
        Err("missing parameter value after `=`")
    } else {
        Ok(value)
    }
}

/// `param-unreserved / unreserved` (the `%` of `escaped` is handled by the caller).
fn is_paramchar(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'[' | b']' | b'/' | b':' | b'&' | b'+' | b'$')
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.0 {
            write!(f, ";{}", p.name)?;
            if let Some(v) = &p.value {
                write!(f, "={v}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_params_allow_white_space_and_quotes() {
        let mut c = Cursor::new(" ;   tag    = 1918181833n ; q = 0.33;flag;x=\"a;b\"");
        let p = Params::parse_header(&mut c).unwrap();
        assert_eq!(p.value("TAG"), Some("1918181833n"));
        assert_eq!(p.value("q"), Some("0.33"));
        assert!(p.contains("flag") && p.value("flag").is_none());
        assert_eq!(p.get("x").unwrap().unquoted().unwrap(), "a;b");
        assert_eq!(p.to_string(), ";tag=1918181833n;q=0.33;flag;x=\"a;b\"");
    }

    #[test]
    fn header_params_reject_empty_names_and_values() {
        for bad in [";;", ";", "; =x", ";a=", ";a b", "x"] {
            assert!(
                Params::parse_header(&mut Cursor::new(bad)).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn uri_params() {
        let p = Params::parse_uri("lr;%6C%72;n%61me=v%61lue%25%34%31;maddr=[::1]").unwrap();
        assert_eq!(p.len(), 4);
        assert!(Params::parse_uri("").is_err());
        assert!(Params::parse_uri("a=").is_err());
        assert!(Params::parse_uri("a b").is_err());
        assert!(Params::parse_uri("a=%zz").is_err());
    }

    #[test]
    fn set_replaces_and_removes_duplicates() {
        let mut p = Params::parse_uri("a=1;b;A=2").unwrap();
        p.set("a", Some("3"));
        assert_eq!(p.to_string(), ";a=3;b");
        p.set("c", None);
        assert_eq!(p.to_string(), ";a=3;b;c");
        assert_eq!(p.remove("B"), 1);
    }
}
