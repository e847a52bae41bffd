//! Phone numbers on their way to and from a trunk: `Dialled` (what a staff member dialled, or
//! a number from the config) and `rewrite`, the trunk's normalisation rules.

use crate::config::model::Rewrite;
use crate::config::values::E164;
use std::fmt;

/// A phone number: an optional `+` and 3 to 20 digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Dialled(String);

impl Dialled {
    /// `None` when `s` is not a phone number.
    pub fn parse(s: &str) -> Option<Dialled> {
        let digits = s.strip_prefix('+').unwrap_or(s);
        let ok = (3..=20).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
        ok.then(|| Dialled(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<E164> for Dialled {
    fn from(n: E164) -> Dialled {
        Dialled(n.as_str().to_string())
    }
}

impl fmt::Display for Dialled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `number` after the first rule that matches it (its prefix, and its length when the rule
/// names one); unchanged when none does.
pub fn rewrite(rules: &[Rewrite], number: &str) -> String {
    for r in rules {
        let length_ok = r
            .length
            .is_none_or(|l| number.chars().count() == l as usize);
        if length_ok {
            if let Some(rest) = number.strip_prefix(r.prefix.as_str()) {
                return format!("{}{rest}", r.replace);
            }
        }
    }
    number.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(prefix: &str, replace: &str, length: Option<u32>) -> Rewrite {
        Rewrite {
            prefix: prefix.into(),
            replace: replace.into(),
            length,
        }
    }

    #[test]
    fn rewrites_take_the_first_match() {
        let rules = [
            rule("+7", "8", Some(12)),
            rule("8", "+7", Some(11)),
            rule("+", "00", None),
        ];
        let cases = [
            ("+79161234567", "89161234567"),
            ("89161234567", "+79161234567"),
            ("+4930123456", "004930123456"),
            ("8916", "8916"),
            ("+7916", "007916"),
            ("12345", "12345"),
        ];
        for (input, want) in cases {
            assert_eq!(rewrite(&rules, input), want, "{input}");
        }
        assert_eq!(rewrite(&[rule("9", "", None)], "9123"), "123");
    }

    #[test]
    fn dialled_numbers_are_digits_with_an_optional_plus() {
        for ok in ["+79161234567", "89161234567", "112", "+123"] {
            assert!(Dialled::parse(ok).is_some(), "{ok}");
        }
        for bad in [
            "",
            "12",
            "+",
            "abc",
            "12a4",
            "+7 916",
            "123456789012345678901",
        ] {
            assert!(Dialled::parse(bad).is_none(), "{bad}");
        }
    }
}
