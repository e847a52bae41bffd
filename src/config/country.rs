//! A tenant's `country`: an ISO 3166-1 alpha-2 code (`RU`, `KZ`, `DE`), checked against the
//! list of assigned codes and written in upper case. The engine picks the tones callers hear
//! (ringback) by it.

/// Every assigned ISO 3166-1 alpha-2 code, sorted (as in the tz database's `iso3166.tab`).
const ASSIGNED: &[&str] = &[
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// Why a country value was refused. The message is a fragment ("`RUS` is ...") that the
/// validator puts at the value's place.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CountryError {
    /// Not two latin letters.
    #[error("`{0}` is not a country code: write the ISO 3166-1 alpha-2 code, two latin letters such as `RU`")]
    Shape(String),
    /// Two letters, but no country has them.
    #[error("`{0}` is not an assigned ISO 3166-1 alpha-2 country code")]
    Unassigned(String),
}

impl CountryError {
    /// How to fix it, when something better than the message can be said.
    pub fn help(&self) -> Option<String> {
        match self {
            CountryError::Unassigned(c) if c == "UK" => {
                Some("the United Kingdom's code is `GB`".to_owned())
            }
            CountryError::Shape(c) if c.chars().count() == 3 => Some(
                "this looks like an alpha-3 code; use the two-letter one (`RUS` -> `RU`)"
                    .to_owned(),
            ),
            _ => {
                Some("the codes are listed at https://www.iso.org/obp/ui/#search/code/".to_owned())
            }
        }
    }
}

/// `text` as an upper-case ISO 3166-1 alpha-2 code (`ru` -> `RU`).
pub fn parse_country(text: &str) -> Result<String, CountryError> {
    let trimmed = text.trim();
    if trimmed.len() != 2 || !trimmed.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(CountryError::Shape(text.to_owned()));
    }
    let upper = trimmed.to_ascii_uppercase();
    if ASSIGNED.binary_search(&upper.as_str()).is_ok() {
        Ok(upper)
    } else {
        Err(CountryError::Unassigned(upper))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assigned_codes_in_any_case() {
        assert!(ASSIGNED.windows(2).all(|w| w[0] < w[1]), "sorted");
        assert_eq!(ASSIGNED.len(), 249);
        assert_eq!(parse_country("RU").as_deref(), Ok("RU"));
        assert_eq!(parse_country("kz").as_deref(), Ok("KZ"));
        assert_eq!(parse_country("De").as_deref(), Ok("DE"));
    }

    #[test]
    fn everything_else_is_refused_with_a_reason() {
        for bad in ["", "R", "RUS", "Russia", "R1", "РФ", "  "] {
            assert_eq!(
                parse_country(bad),
                Err(CountryError::Shape(bad.to_owned())),
                "{bad}"
            );
        }
        assert_eq!(
            parse_country("xx"),
            Err(CountryError::Unassigned("XX".into()))
        );
        assert_eq!(
            parse_country("uk").unwrap_err().help().as_deref(),
            Some("the United Kingdom's code is `GB`")
        );
        assert!(parse_country("RUS")
            .unwrap_err()
            .help()
            .unwrap()
            .contains("alpha-3"));
    }
}
