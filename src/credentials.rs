//! Credentials: generated SIP passwords, the digest hashes (HA1) stored instead of them,
//! reading a configured secret (environment variable or file), and constant-time comparison.
//!
//! A password is never stored: the store keeps `H(login:realm:password)` for MD5 (RFC 2617) and
//! SHA-256 (RFC 8760), which is all a digest-authenticating registrar needs, and an argon2id
//! hash of it for signing in to the web cabinet ([`web_hash`], [`WebPassword`]).

use md5::Md5;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Number of characters in a generated password.
pub const PASSWORD_LEN: usize = 20;

/// Characters a generated password is drawn from: letters and digits without the ambiguous
/// `0 O o 1 l I i`, plus symbols with no special meaning in a URI, a URL query or a shell
/// (`@ # % + & ?` are left out on purpose), so the password can be typed on a phone's
/// settings screen or pasted into a provisioning URL unchanged.
pub const PASSWORD_ALPHABET: &[u8] =
    b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789-_.!=";

/// Generates a random password of [`PASSWORD_LEN`] characters from [`PASSWORD_ALPHABET`] with at
/// least one lower-case letter, one upper-case letter and one digit.
///
/// Every character is drawn uniformly (rejection sampling, no modulo bias); a draw missing a
/// character class is discarded whole, so the result is uniform over all valid passwords.
///
/// # Panics
/// If the operating system's random number generator fails, which leaves no safe way to
/// make a secret.
pub fn generate_password() -> String {
    loop {
        let candidate = draw(PASSWORD_LEN);
        let has = |f: fn(&u8) -> bool| candidate.iter().any(f);
        if has(u8::is_ascii_lowercase) && has(u8::is_ascii_uppercase) && has(u8::is_ascii_digit) {
            // Every byte comes from the ASCII alphabet.
            return candidate.into_iter().map(char::from).collect();
        }
    }
}

/// Draws `len` characters uniformly from [`PASSWORD_ALPHABET`].
fn draw(len: usize) -> Vec<u8> {
    let n = PASSWORD_ALPHABET.len();
    // The largest multiple of the alphabet size that fits in a byte; bytes at or above it are
    // rejected so that `byte % n` is uniform.
    let limit = 256 - 256 % n;
    let mut out = Vec::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        getrandom::fill(&mut buf).expect("the OS random number generator failed");
        for &b in &buf {
            if (b as usize) < limit && out.len() < len {
                out.push(PASSWORD_ALPHABET[b as usize % n]);
            }
        }
    }
    out
}

/// The digest-authentication secrets of one account: `H(login:realm:password)` as lower-case
/// hex, for MD5 (RFC 2617) and SHA-256 (RFC 8760).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestHashes {
    /// MD5 of `login:realm:password`, 32 lower-case hex digits.
    pub md5: String,
    /// SHA-256 of `login:realm:password`, 64 lower-case hex digits.
    pub sha256: String,
}

/// Computes HA1 = `H(login:realm:password)` with MD5 and SHA-256.
pub fn ha1(login: &str, realm: &str, password: &str) -> DigestHashes {
    let input = format!("{login}:{realm}:{password}");
    DigestHashes {
        md5: hex(&Md5::digest(input.as_bytes())),
        sha256: hex(&Sha256::digest(input.as_bytes())),
    }
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0x0f) as usize] as char);
    }
    s
}

/// How costly a cabinet password hash is. The parameters ride in each PHC string, so a hash
/// verifies with the cost it was made with, whatever the cost of new ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebCost {
    /// A password the server generated: 20 characters of 60, 118 bits — no hash makes it
    /// guessable, and every new staff member costs one when a config is applied (10,000 on a
    /// first start), so argon2id at 512 KiB and 1 pass (well under a millisecond).
    Generated,
    /// A password people chose (a plaintext `{env}`, `{file}` or literal in the config):
    /// argon2id at OWASP's 19 MiB and 2 passes.
    Chosen,
}

impl WebCost {
    fn argon2(self) -> argon2::Argon2<'static> {
        let (memory_kib, passes) = match self {
            WebCost::Generated => (512, 1),
            WebCost::Chosen => (19 * 1024, 2),
        };
        let params = argon2::Params::new(memory_kib, passes, 1, None)
            .expect("constant argon2 parameters are valid");
        argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
    }
}

/// What the cabinet checks a password against: an argon2id hash (PHC string) of the same
/// password as the digest hashes, and the SHA-256 HA1 it was made with, so a password changed
/// since (a rotation, a new `{env}` value) is told apart from a wrong one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebPassword {
    /// `$argon2id$v=19$m=...,t=...,p=1$salt$hash`.
    pub argon2: String,
    /// [`DigestHashes::sha256`] of the same password, login and realm.
    pub ha1_sha256: String,
}

/// The argon2id hash of `password` with a fresh random salt, as a PHC string. Slow on purpose
/// (tens of milliseconds at [`WebCost::Chosen`]): call it off the async runtime.
///
/// # Panics
/// If the operating system's random number generator fails.
pub fn web_hash(password: &str, cost: WebCost) -> String {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).expect("the OS random number generator failed");
    let salt = SaltString::encode_b64(&salt).expect("16 bytes make a valid salt");
    cost.argon2()
        .hash_password(password.as_bytes(), &salt)
        .expect("hashing with valid parameters succeeds")
        .to_string()
}

/// The cabinet's secret for a password: its argon2id hash and the SHA-256 HA1 it matches.
pub fn web_password(login: &str, realm: &str, password: &str, cost: WebCost) -> WebPassword {
    WebPassword {
        argon2: web_hash(password, cost),
        ha1_sha256: ha1(login, realm, password).sha256,
    }
}

/// Whether `password` matches the PHC string `phc` (argon2; the comparison is constant-time).
/// A string that is not a PHC hash matches nothing.
pub fn verify_web(password: &str, phc: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    match PasswordHash::new(phc) {
        // The verifier takes the algorithm and cost from the PHC string itself.
        Ok(hash) => argon2::Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash no password matches in practice, made once at the highest cost: verified against
/// when a sign-in names nobody, so an unknown login does the work a known one does.
pub fn dummy_web_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| web_hash(&generate_password(), WebCost::Chosen))
}

/// The value of a secret read now: the literal, the environment variable, or the first line of
/// the file (trimmed); `None` when it is unset or empty.
pub fn reveal(secret: &crate::config::model::SecretRef) -> Option<String> {
    use crate::config::model::SecretRef;
    match secret {
        SecretRef::Literal(s) => Some(s.clone()),
        SecretRef::Env(name) => std::env::var(name).ok(),
        SecretRef::File(path) => std::fs::read_to_string(path)
            .ok()
            .and_then(|t| t.lines().next().map(str::to_string)),
    }
    .map(|s| s.trim().to_string())
    .filter(|s| !s.is_empty())
}

/// Compares two byte strings in time that depends only on their lengths, not on where they
/// differ. Lengths are not secret (a hex digest's length is public), so differing lengths
/// return `false` at once.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2617_example_md5() {
        let h = ha1("Mufasa", "testrealm@host.com", "Circle Of Life");
        assert_eq!(h.md5, "939e7578ed9e3c518a452acee763bce9");
    }

    #[test]
    fn sha256_known_values() {
        // Computed independently with python3 hashlib.
        let h = ha1("Mufasa", "testrealm@host.com", "Circle Of Life");
        assert_eq!(
            h.sha256,
            "3ba6cd94661c5ef34598040c868f13b8775df29109986be50ad35ae537dd3aa4"
        );
        let h = ha1("иван.петров", "acme", "pässword");
        assert_eq!(h.md5, "c9d8a0427713ffbe1fdee8c607b7d89c");
        assert_eq!(
            h.sha256,
            "15b4945b296733cad4f51913aca3847e05cb10a5f4410add8422017cb588593c"
        );
    }

    #[test]
    fn alphabet_has_no_ambiguous_or_unsafe_characters() {
        for c in b"0Oo1lIi\"' `\\@#%+&?" {
            assert!(!PASSWORD_ALPHABET.contains(c), "{}", *c as char);
        }
        let mut sorted = PASSWORD_ALPHABET.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(
            sorted.len(),
            PASSWORD_ALPHABET.len(),
            "duplicate characters bias the draw"
        );
    }

    #[test]
    fn passwords_have_length_alphabet_and_classes() {
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..1000 {
            let p = generate_password();
            assert_eq!(p.len(), PASSWORD_LEN);
            assert!(p.bytes().all(|c| PASSWORD_ALPHABET.contains(&c)), "{p}");
            assert!(p.bytes().any(|c| c.is_ascii_lowercase()), "{p}");
            assert!(p.bytes().any(|c| c.is_ascii_uppercase()), "{p}");
            assert!(p.bytes().any(|c| c.is_ascii_digit()), "{p}");
            seen.extend(p.bytes());
            assert!(seen.len() <= PASSWORD_ALPHABET.len());
        }
        // 20,000 uniform draws from 60 characters reach every one of them.
        assert_eq!(seen.len(), PASSWORD_ALPHABET.len());
    }

    #[test]
    fn passwords_differ() {
        let a: std::collections::BTreeSet<String> =
            (0..1000).map(|_| generate_password()).collect();
        assert_eq!(a.len(), 1000);
    }

    #[test]
    fn web_hashes_verify_the_password_only() {
        for (cost, prefix) in [
            (WebCost::Generated, "$argon2id$v=19$m=512,t=1,p=1$"),
            (WebCost::Chosen, "$argon2id$v=19$m=19456,t=2,p=1$"),
        ] {
            let started = std::time::Instant::now();
            let h = web_hash("Circle Of Life", cost);
            eprintln!("argon2id {cost:?}: {:?}", started.elapsed());
            assert!(h.starts_with(prefix), "{h}");
            assert!(verify_web("Circle Of Life", &h));
            assert!(!verify_web("Circle of Life", &h));
            assert_ne!(h, web_hash("Circle Of Life", cost), "salted");
        }
        assert!(!verify_web("Circle Of Life", "not a hash"));
        let w = web_password(
            "Mufasa",
            "testrealm@host.com",
            "Circle Of Life",
            WebCost::Generated,
        );
        assert_eq!(
            w.ha1_sha256,
            ha1("Mufasa", "testrealm@host.com", "Circle Of Life").sha256
        );
        assert!(!verify_web("anything", dummy_web_hash()));
    }

    #[test]
    fn constant_time_eq_matches_eq() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"xbc", b"abc"));
    }
}
