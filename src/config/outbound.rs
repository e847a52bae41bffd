//! `Outbound`: which numbers a tenant's calls may reach through its trunks, and how many may be
//! out at once — the toll-fraud rules. Also the two small tables its defaults come from:
//! `DIAL_PLANS` (a country's calling code and the prefixes its people dial before national and
//! international numbers, so `8 809 ...` is recognised as `+7809...`) and `PREMIUM` (premium-rate
//! and high-cost ranges, denied unless a tenant sets `premium: true`).
//!
//! A number is judged in E.164 form. The longest matching prefix among the tenant's `allow`
//! and `deny` and (unless `premium: true`) the `PREMIUM` table decides; at equal length the
//! tenant's own entry wins over the table, and `deny` over `allow`. A number no entry matches
//! is allowed inside the tenant's country, and outside it only with `international: true`.
//! A number without `+` is judged in every way it could be read (after the
//! international prefix, after the national one, whole): denied when any reading is.
//! Pure: no I/O; the engine asks `check` before any leg goes to a trunk.

use std::fmt;

/// How a country's people dial: its calling code and the prefixes before national and
/// international numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DialPlan {
    /// The country calling code with its `+`, e.g. `+7`.
    pub code: &'static str,
    /// The national (trunk) prefix, e.g. `8` in Russia, `0` in Germany; empty when numbers are
    /// dialled whole (Italy, Spain, Poland).
    pub national: &'static str,
    /// International prefixes, e.g. `810` and `00` in Russia.
    pub international: &'static [&'static str],
}

/// Countries whose numbers `outbound` can tell apart (ISO 3166-1 alpha-2 -> plan). Calling codes
/// from ITU-T E.164 (the list of assigned country codes); national and international prefixes
/// from the ITU's national numbering plans (ITU-T E.164 Annex to the Operational Bulletin).
/// A tenant in a country not listed gets warning W0710: every `+` number is international to it.
pub const DIAL_PLANS: &[(&str, DialPlan)] = &[
    ("AM", plan("+374", "0", &["00"])),
    ("AT", plan("+43", "0", &["00"])),
    ("AZ", plan("+994", "0", &["00"])),
    ("BY", plan("+375", "80", &["810", "00"])),
    ("CA", plan("+1", "1", &["011"])),
    ("CH", plan("+41", "0", &["00"])),
    ("CN", plan("+86", "0", &["00"])),
    ("DE", plan("+49", "0", &["00"])),
    ("ES", plan("+34", "", &["00"])),
    ("FI", plan("+358", "0", &["00"])),
    ("FR", plan("+33", "0", &["00"])),
    ("GB", plan("+44", "0", &["00"])),
    ("GE", plan("+995", "0", &["00"])),
    ("IL", plan("+972", "0", &["00"])),
    ("IN", plan("+91", "0", &["00"])),
    ("IT", plan("+39", "", &["00"])),
    ("KZ", plan("+7", "8", &["810", "00"])),
    ("NL", plan("+31", "0", &["00"])),
    ("PL", plan("+48", "", &["00"])),
    ("RU", plan("+7", "8", &["810", "00"])),
    ("SE", plan("+46", "0", &["00"])),
    ("TR", plan("+90", "0", &["00"])),
    ("UA", plan("+380", "0", &["00"])),
    ("US", plan("+1", "1", &["011"])),
];

const fn plan(
    code: &'static str,
    national: &'static str,
    international: &'static [&'static str],
) -> DialPlan {
    DialPlan {
        code,
        national,
        international,
    }
}

/// Premium-rate and high-cost ranges (E.164 prefix, what it is), denied unless the tenant sets
/// `premium: true`. Sources: Russia — the Russian numbering plan (Мининформсвязи order
/// No. 142 of 17.11.2006): codes 803 and 809 are services paid extra by the caller ("8-809");
/// Germany — Bundesnetzagentur, (0)900 premium services; the United Kingdom — Ofcom, 09
/// premium rate; ITU-T E.164 assignments — 870 Inmarsat, 881 the Global Mobile Satellite
/// System, 882 and 883 international networks, 979 the International Premium Rate Service.
pub const PREMIUM: &[(&str, &str)] = &[
    ("+7803", "Russian paid services (8-803)"),
    ("+7809", "Russian premium rate (8-809)"),
    ("+49900", "German premium rate (0900)"),
    ("+449", "UK premium rate (09)"),
    ("+870", "Inmarsat satellite"),
    ("+881", "satellite (GMSS)"),
    ("+882", "international networks"),
    ("+883", "international networks"),
    ("+979", "international premium rate"),
];

/// The dial plan of `country` (ISO 3166-1 alpha-2, upper case), when the table has it.
pub fn dial_plan(country: &str) -> Option<DialPlan> {
    DIAL_PLANS
        .iter()
        .find(|(c, _)| *c == country)
        .map(|(_, p)| *p)
}

/// An E.164 prefix: `+` and 1 to 15 digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prefix(String);

impl Prefix {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a prefix was refused (a fragment the validator puts at the value's place).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an E.164 prefix: write `+`, then 1 to 15 digits, such as `+7809`")]
pub struct PrefixError(pub String);

impl PrefixError {
    /// How to fix it: a national form rewritten for Russia, when it looks like one.
    pub fn help(&self) -> String {
        let digits: String = self.0.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        match digits.strip_prefix('8') {
            Some(rest) if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()) => {
                format!(
                    "prefixes are compared in international form: `{}` in Russia is `+7{rest}`",
                    self.0
                )
            }
            _ => {
                "prefixes are compared in international form, e.g. `+7809` for 8-809 numbers".into()
            }
        }
    }
}

impl TryFrom<&str> for Prefix {
    type Error = PrefixError;

    fn try_from(s: &str) -> Result<Prefix, PrefixError> {
        let ok = s
            .strip_prefix('+')
            .is_some_and(|d| (1..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()));
        if ok {
            Ok(Prefix(s.to_string()))
        } else {
            Err(PrefixError(s.to_string()))
        }
    }
}

/// A tenant's rules for calls out through its trunks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outbound {
    /// Prefixes opened even where the defaults close them (a premium range, a country).
    pub allow: Vec<Prefix>,
    /// Prefixes closed.
    pub deny: Vec<Prefix>,
    /// Numbers outside the tenant's country may be called.
    pub international: bool,
    /// The `PREMIUM` ranges may be called.
    pub premium: bool,
    /// At most this many calls out at once (calls with a leg through a trunk); `None`: no cap.
    pub max_calls: Option<u32>,
    /// At most this many minutes of calls out in any 60 minutes; `None`: no cap.
    pub max_minutes_per_hour: Option<u32>,
    /// The rules of the staff whose role or own `outbound` changes them, for the calls they
    /// dial (the caps stay the tenant's), by the person's index in the tenant's `staff`.
    pub per_staff: std::collections::BTreeMap<usize, Outbound>,
    /// How the tenant's people dial (from its `country`); `None`: not in `DIAL_PLANS`.
    pub plan: Option<DialPlan>,
}

impl Default for Outbound {
    /// The rules of a Russian tenant that wrote none.
    fn default() -> Outbound {
        Outbound {
            allow: Vec::new(),
            deny: Vec::new(),
            international: false,
            premium: false,
            max_calls: None,
            max_minutes_per_hour: None,
            per_staff: Default::default(),
            plan: dial_plan("RU"),
        }
    }
}

/// Why a number may not be called.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Barred {
    /// The tenant's `deny` has this prefix.
    Denied(Prefix),
    /// A `PREMIUM` range (its prefix and what it is).
    Premium(&'static str, &'static str),
    /// Outside the tenant's country (`international: false`).
    International,
}

impl fmt::Display for Barred {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Barred::Denied(p) => write!(f, "the destination is not allowed ({p} is denied)"),
            Barred::Premium(p, what) => write!(
                f,
                "the destination is not allowed ({p}: {what}; premium-rate numbers are denied)"
            ),
            Barred::International => write!(
                f,
                "the destination is not allowed (international calls are denied)"
            ),
        }
    }
}

impl Outbound {
    /// `number` (as dialled or configured: `+` and digits, or digits in the tenant's national
    /// or international format) in E.164 form — every way it could be read, as a gateway might
    /// read it: after an international prefix, after the national prefix, and whole as a
    /// national number (so `8095551234` is also `+78095551234`). Without a dial plan a number
    /// without `+` stays as it is.
    pub fn readings(&self, number: &str) -> Vec<String> {
        let Some(plan) = self.plan.filter(|_| !number.starts_with('+')) else {
            return vec![number.to_string()];
        };
        let mut out = Vec::new();
        let mut international: Vec<&str> = plan.international.to_vec();
        international.sort_by_key(|p| std::cmp::Reverse(p.len()));
        if let Some(rest) = international.iter().find_map(|p| number.strip_prefix(p)) {
            out.push(format!("+{rest}"));
        }
        if let Some(rest) = number.strip_prefix(plan.national) {
            out.push(format!("{}{rest}", plan.code));
        }
        out.push(format!("{}{number}", plan.code));
        out.dedup();
        out
    }

    /// Whether `number` may be called; why not when it may not.
    pub fn check(&self, number: &str) -> Result<(), Barred> {
        self.readings(number).iter().try_for_each(|n| self.judge(n))
    }

    /// The verdict on `n`, one reading of a number.
    fn judge(&self, n: &str) -> Result<(), Barred> {
        // (prefix length, rank, verdict): the longest prefix wins; at equal length the higher
        // rank — the tenant's deny, then its allow, then the table.
        let mut best: Option<(usize, u8, Result<(), Barred>)> = None;
        let mut consider = |len: usize, rank: u8, verdict: Result<(), Barred>| {
            if best.as_ref().is_none_or(|(l, r, _)| (len, rank) > (*l, *r)) {
                best = Some((len, rank, verdict));
            }
        };
        for p in self.allow.iter().filter(|p| n.starts_with(p.as_str())) {
            consider(p.0.len(), 1, Ok(()));
        }
        for p in self.deny.iter().filter(|p| n.starts_with(p.as_str())) {
            consider(p.0.len(), 2, Err(Barred::Denied(p.clone())));
        }
        if !self.premium {
            for (p, what) in PREMIUM.iter().filter(|(p, _)| n.starts_with(p)) {
                consider(p.len(), 0, Err(Barred::Premium(p, what)));
            }
        }
        if let Some((_, _, verdict)) = best {
            return verdict;
        }
        let abroad = n.starts_with('+') && self.plan.is_none_or(|p| !n.starts_with(p.code));
        if abroad && !self.international {
            return Err(Barred::International);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefixes(list: &[&str]) -> Vec<Prefix> {
        list.iter().map(|p| Prefix::try_from(*p).unwrap()).collect()
    }

    #[test]
    fn prefixes_are_a_plus_and_digits() {
        for ok in ["+7", "+7809", "+123456789012345"] {
            assert!(Prefix::try_from(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "+",
            "7809",
            "8809",
            "+7 809",
            "+78o9",
            "+1234567890123456",
        ] {
            assert!(Prefix::try_from(bad).is_err(), "{bad}");
        }
        assert!(PrefixError("8809".into()).help().contains("`+7809`"));
    }

    #[test]
    fn national_and_international_forms_are_judged_as_e164() {
        let o = Outbound::default();
        assert_eq!(o.readings("+79161234567"), ["+79161234567"]);
        assert_eq!(o.readings("89161234567"), ["+79161234567", "+789161234567"]);
        assert_eq!(o.readings("81044201234567")[0], "+44201234567");
        assert_eq!(o.readings("0044201234567")[0], "+44201234567");
        assert!(o
            .readings("8095551234")
            .contains(&"+78095551234".to_string()));
        assert_eq!(o.readings("112"), ["+7112"]);
        let de = Outbound {
            plan: dial_plan("DE"),
            ..Outbound::default()
        };
        assert_eq!(de.readings("030123456"), ["+4930123456", "+49030123456"]);
        assert_eq!(de.readings("0033123")[0], "+33123");
        let unknown = Outbound {
            plan: None,
            ..Outbound::default()
        };
        assert_eq!(unknown.readings("0800"), ["0800"]);
    }

    #[test]
    fn the_defaults_deny_premium_and_international() {
        let o = Outbound::default();
        assert_eq!(o.check("+79161234567"), Ok(()));
        assert_eq!(o.check("89161234567"), Ok(()));
        assert_eq!(o.check("112"), Ok(()));
        for premium in ["+78095551234", "88095551234", "88035551234", "8095551234"] {
            assert!(
                matches!(o.check(premium), Err(Barred::Premium(..))),
                "{premium}"
            );
        }
        for abroad in ["+44201234567", "81044201234567", "0037529123"] {
            assert_eq!(o.check(abroad), Err(Barred::International), "{abroad}");
        }
        let open = Outbound {
            international: true,
            ..Outbound::default()
        };
        assert_eq!(open.check("+44201234567"), Ok(()));
        // Premium ranges abroad stay closed with international calls open.
        assert!(matches!(open.check("+449012345"), Err(Barred::Premium(..))));
        let premium = Outbound {
            premium: true,
            ..Outbound::default()
        };
        assert_eq!(premium.check("+78095551234"), Ok(()));
    }

    #[test]
    fn the_longest_prefix_decides_and_the_tenant_beats_the_table() {
        let o = Outbound {
            allow: prefixes(&["+7", "+375", "+78095550000"]),
            deny: prefixes(&["+7495", "+3752"]),
            ..Outbound::default()
        };
        assert_eq!(o.check("+79161234567"), Ok(()));
        assert!(matches!(o.check("+78095551234"), Err(Barred::Premium(..))));
        assert_eq!(o.check("+78095550000"), Ok(()));
        assert!(matches!(o.check("+74951234567"), Err(Barred::Denied(_))));
        assert_eq!(o.check("+375171234567"), Ok(()));
        assert!(matches!(o.check("+375291234567"), Err(Barred::Denied(_))));
        let same = Outbound {
            allow: prefixes(&["+7809"]),
            ..Outbound::default()
        };
        assert_eq!(same.check("+78091234567"), Ok(()));
    }

    #[test]
    fn without_a_dial_plan_every_plus_number_is_international() {
        let o = Outbound {
            plan: None,
            allow: prefixes(&["+54"]),
            ..Outbound::default()
        };
        assert_eq!(o.check("+541112345678"), Ok(()));
        assert_eq!(o.check("+4930123"), Err(Barred::International));
        assert_eq!(o.check("01112345678"), Ok(()));
    }
}
