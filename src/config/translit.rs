//! Logins made from people's names: transliteration of Cyrillic (Russian, Ukrainian,
//! Belarusian) and accented Latin into a valid [`Login`](super::values::Login), and deterministic
//! numbering when two people would get the same login.
//!
//! The scheme is a common readable one (ж -> zh, х -> kh, щ -> shch, ю -> yu), not a reversible
//! standard: logins are for typing, not for recovering the name.

use super::values::{Login, LOGIN_MAX_LEN};
use std::collections::HashSet;

/// The login given when nothing usable is left of a name.
pub const FALLBACK_LOGIN: &str = "user";

/// Makes a login from a person's name: transliterated, lower case, words joined by `.`, hyphens
/// and underscores inside a word kept, everything else outside `a-z0-9` dropped, at most 64
/// characters. Returns [`FALLBACK_LOGIN`] when nothing is left (e.g. `"!!!"` or a Chinese name).
///
/// `"Иван Петров"` -> `ivan.petrov`; `"Юлия  Хорошая-Ёлкина"` -> `yuliya.khoroshaya-elkina`.
pub fn login_from_name(name: &str) -> String {
    let mut out = String::new();
    // A separator waiting to be written before the next letter: word breaks win over `-`/`_`.
    let mut pending: Option<char> = None;
    for c in name.chars().flat_map(char::to_lowercase) {
        match c {
            'a'..='z' | '0'..='9' => push_letters(&mut out, &mut pending, &c.to_string()),
            '-' | '_' => pending = Some(pending.unwrap_or(c)),
            '.' | ',' | ';' | '/' | '+' | '&' => pending = Some('.'),
            c if c.is_whitespace() => pending = Some('.'),
            c => {
                if let Some(latin) = transliterate(c) {
                    push_letters(&mut out, &mut pending, latin);
                }
            }
        }
    }
    truncate_login(&mut out, LOGIN_MAX_LEN);
    if out.is_empty() || Login::parse(&out).is_err() {
        return FALLBACK_LOGIN.to_owned();
    }
    out
}

fn push_letters(out: &mut String, pending: &mut Option<char>, letters: &str) {
    if letters.is_empty() {
        return;
    }
    if let Some(sep) = pending.take() {
        if !out.is_empty() {
            out.push(sep);
        }
    }
    out.push_str(letters);
}

/// Cuts `login` to at most `max` bytes (it is ASCII) and drops separators left at the end.
fn truncate_login(login: &mut String, max: usize) {
    login.truncate(max.min(login.len()));
    let kept = login.trim_end_matches(['.', '-', '_']).len();
    login.truncate(kept);
}

/// The Latin spelling of one lower-case letter, `Some("")` for letters that are dropped (ъ, ь),
/// `None` for characters with no spelling.
fn transliterate(c: char) -> Option<&'static str> {
    Some(match c {
        'а' => "a",
        'б' => "b",
        'в' => "v",
        'г' => "g",
        'д' => "d",
        'е' | 'ё' | 'э' => "e",
        'ж' => "zh",
        'з' => "z",
        'и' | 'і' => "i",
        'й' | 'ы' => "y",
        'к' => "k",
        'л' => "l",
        'м' => "m",
        'н' => "n",
        'о' => "o",
        'п' => "p",
        'р' => "r",
        'с' => "s",
        'т' => "t",
        'у' | 'ў' => "u",
        'ф' => "f",
        'х' => "kh",
        'ц' => "ts",
        'ч' => "ch",
        'ш' => "sh",
        'щ' => "shch",
        'ъ' | 'ь' => "",
        'ю' => "yu",
        'я' => "ya",
        'ї' => "yi",
        'є' => "ye",
        'ґ' => "g",
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ą' | 'ă' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'č' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' | 'ě' => "e",
        'ğ' => "g",
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'ı' => "i",
        'ł' | 'ľ' => "l",
        'ñ' | 'ń' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => "o",
        'œ' => "oe",
        'ř' => "r",
        'ś' | 'š' | 'ş' | 'ș' => "s",
        'ß' => "ss",
        'ť' | 'ţ' | 'ț' => "t",
        'þ' => "th",
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' => "u",
        'ý' | 'ÿ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        _ => return None,
    })
}

/// Gives each login in `wanted` a free one, in order: a login already in `taken`, or given
/// earlier in this walk, gets the smallest free numeric suffix from 2 (`ivan.petrov2`,
/// `ivan.petrov3`), the base shortened when needed to stay within 64 characters. The result has
/// the same length and order as `wanted`, and no two entries are equal.
pub fn unique_logins(taken: &HashSet<String>, wanted: &[String]) -> Vec<String> {
    let mut given: HashSet<String> = HashSet::new();
    let is_free =
        |login: &str, given: &HashSet<String>| !taken.contains(login) && !given.contains(login);
    wanted
        .iter()
        .map(|base| {
            let login = if is_free(base, &given) {
                base.clone()
            } else {
                (2u64..)
                    .map(|n| {
                        let suffix = n.to_string();
                        let mut stem = base.clone();
                        truncate_login(&mut stem, LOGIN_MAX_LEN - suffix.len());
                        stem + &suffix
                    })
                    .find(|candidate| is_free(candidate, &given))
                    .expect("some numeric suffix is free")
            };
            given.insert(login.clone());
            login
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_logins() {
        let cases = [
            ("Иван Петров", "ivan.petrov"),
            ("Пётр Щукин", "petr.shchukin"),
            ("Юлия  Хорошая-Ёлкина", "yuliya.khoroshaya-elkina"),
            ("Maria", "maria"),
            ("Zoë Smith", "zoe.smith"),
            ("Жанна Цой", "zhanna.tsoy"),
            ("Эдуард Объедков", "eduard.obedkov"),
            ("Майя Быкова", "mayya.bykova"),
            ("Олександр Її Єгоров Ґанок", "oleksandr.yiyi.yegorov.ganok"),
            ("Ўладзімір", "uladzimir"),
            ("Jürgen Weiß", "jurgen.weiss"),
            ("François Lefèvre", "francois.lefevre"),
            ("Conan O'Brien", "conan.obrien"),
            ("  Anna - Maria  ", "anna.maria"),
            ("J.R.R. Tolkien", "j.r.r.tolkien"),
            ("__init__", "init"),
            ("123", "user"),
            ("-- Иван --", "ivan"),
            ("Ivan!Petrov", "ivanpetrov"),
            ("!!!", "user"),
            ("王小明", "user"),
            ("", "user"),
            ("Ъ", "user"),
        ];
        for (name, login) in cases {
            assert_eq!(login_from_name(name), login, "{name:?}");
        }
    }

    #[test]
    fn a_name_of_digits_gets_no_digit_login() {
        // Such a login would answer calls dialled to that number.
        for name in ["112", "007", "2 01"] {
            let login = login_from_name(name);
            assert!(Login::parse(&login).is_ok(), "{name:?} -> {login:?}");
            assert!(!login.bytes().all(|b| b.is_ascii_digit()), "{login}");
        }
    }

    #[test]
    fn long_names_are_cut_without_a_trailing_separator() {
        let name = format!("{} {}", "a".repeat(63), "Петров");
        let login = login_from_name(&name);
        assert_eq!(login, "a".repeat(63));
        let login = login_from_name(&"Щука ".repeat(20));
        assert!(login.len() <= LOGIN_MAX_LEN, "{login}");
        assert!(Login::parse(&login).is_ok(), "{login}");
    }

    #[test]
    fn every_result_is_a_valid_login() {
        let names = [
            "Ä-.-Ö",
            "a..b",
            ". .a. .",
            "x-",
            "-_-x_-_",
            "Ёж ёж-ёж_ёж",
            "Ǆemal",
        ];
        for name in names {
            let login = login_from_name(name);
            assert!(Login::parse(&login).is_ok(), "{name:?} -> {login:?}");
        }
    }

    #[test]
    fn duplicates_get_numbers() {
        let taken: HashSet<String> = ["ivan.petrov", "maria2"].map(String::from).into();
        let wanted = [
            "ivan.petrov",
            "ivan.petrov",
            "maria",
            "maria",
            "oleg",
            "ivan.petrov2",
        ]
        .map(String::from);
        assert_eq!(
            unique_logins(&taken, &wanted),
            [
                "ivan.petrov2",
                "ivan.petrov3",
                "maria",
                "maria3",
                "oleg",
                "ivan.petrov22"
            ]
        );
    }

    #[test]
    fn suffixes_fit_in_64_characters() {
        let base = format!("{}.b", "a".repeat(62));
        let wanted = vec![base.clone(); 12];
        let logins = unique_logins(&HashSet::new(), &wanted);
        assert_eq!(logins[0], base);
        assert_eq!(logins[1], format!("{}2", "a".repeat(62)));
        assert_eq!(logins[11], format!("{}12", "a".repeat(62)));
        for login in &logins {
            assert!(Login::parse(login).is_ok(), "{login}");
        }
        let unique: HashSet<&String> = logins.iter().collect();
        assert_eq!(unique.len(), logins.len());
    }
}
