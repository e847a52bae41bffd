//! SIP digest authentication (RFC 3261 §22, RFC 2617, RFC 7616, RFC 8760), as a pure core.
//!
//! Nonces are stateless and self-checking: issue time, random bytes and an HMAC-SHA256 tag
//! under a per-process secret, so any nonce the server issued can be verified without storing
//! it, expired ones are recognised (`stale=true`), and forged ones are not. Replays are caught by
//! the nonce count: for each nonce in use, `nc` must grow. Challenges offer MD5 and SHA-256 with
//! `qop="auth"`; MD5 is listed first because most deployed phones (and SIPp) take the first
//! challenge and know only MD5, while a client that prefers SHA-256 can pick it.
//!
//! An unknown user and a wrong password get exactly the same answer: the verifier computes a
//! response for unknown users too and reports `Verdict::Wrong` either way. `Wrong` (a response
//! that was checked against a password and lost — a guess) is told apart from `Fail` (nothing
//! was checked: a nonce we never issued or one from before a restart, malformed credentials, a
//! replayed count), so the engine counts guesses and only guesses.

use super::message::{Request, Response, StatusCode};
use super::uas::respond;
use crate::credentials::{constant_time_eq, DigestHashes};
use crate::striped::Striped;
use md5::Md5;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// How long a nonce stays valid.
pub const NONCE_TTL_MS: u64 = 5 * 60 * 1000;
/// After this many nonces remembered, the expired ones are forgotten.
const MAX_TRACKED_NONCES: usize = 100_000;

/// A digest algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    Md5,
    Sha256,
}

impl Algorithm {
    fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }

    /// The algorithm an `algorithm=` parameter names (absent: MD5); `None` for one we don't know.
    fn named(param: Option<&str>) -> Option<Algorithm> {
        match param {
            None => Some(Algorithm::Md5),
            Some(a) if a.eq_ignore_ascii_case("MD5") => Some(Algorithm::Md5),
            Some(a) if a.eq_ignore_ascii_case("SHA-256") => Some(Algorithm::Sha256),
            Some(_) => None,
        }
    }

    fn hash(self, data: &str) -> String {
        match self {
            Algorithm::Md5 => hex(&Md5::digest(data.as_bytes())),
            Algorithm::Sha256 => hex(&Sha256::digest(data.as_bytes())),
        }
    }
}

/// The parameters of an `Authorization` / `Proxy-Authorization` header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub realm: String,
    pub nonce: String,
    pub uri: String,
    pub response: String,
    pub algorithm: Option<String>,
    pub qop: Option<String>,
    pub nc: Option<String>,
    pub cnonce: Option<String>,
}

impl Credentials {
    /// Parses `Digest username="..", realm="..", ...`. `None` when it is not a digest header
    /// or a required parameter is missing.
    pub fn parse(value: &str) -> Option<Credentials> {
        let value = value.trim();
        let (scheme, rest) = value.split_once(char::is_whitespace)?;
        if !scheme.eq_ignore_ascii_case("digest") {
            return None;
        }
        let mut c = Credentials::default();
        for (k, v) in params(rest) {
            match k.to_ascii_lowercase().as_str() {
                "username" => c.username = v,
                "realm" => c.realm = v,
                "nonce" => c.nonce = v,
                "uri" => c.uri = v,
                "response" => c.response = v,
                "algorithm" => c.algorithm = Some(v),
                "qop" => c.qop = Some(v),
                "nc" => c.nc = Some(v),
                "cnonce" => c.cnonce = Some(v),
                _ => {}
            }
        }
        let complete = !c.username.is_empty()
            && !c.nonce.is_empty()
            && !c.uri.is_empty()
            && !c.response.is_empty();
        complete.then_some(c)
    }

    fn algorithm(&self) -> Option<Algorithm> {
        Algorithm::named(self.algorithm.as_deref())
    }
}

/// The client side of a 401 or 407: the header to add (`Authorization` or
/// `Proxy-Authorization`) and its value, answering the first digest challenge in `response`
/// that [`authorization`] can answer. `None` for any other response.
pub fn answer(
    response: &Response,
    method: &str,
    uri: &str,
    username: &str,
    password: &str,
) -> Option<(&'static str, String)> {
    let (challenge, answer) = match response.code().as_u16() {
        401 => ("WWW-Authenticate", "Authorization"),
        407 => ("Proxy-Authenticate", "Proxy-Authorization"),
        _ => return None,
    };
    let value = response
        .headers()
        .get_all(challenge)
        .find_map(|c| authorization(c, method, uri, username, password))?;
    Some((answer, value))
}

/// The client side: the `Authorization` value answering `challenge` (a `WWW-Authenticate` or
/// `Proxy-Authenticate` value) for `method` on `uri`. `None` when the challenge is not a digest
/// challenge with an algorithm we know, or offers a qop other than `auth`.
pub fn authorization(
    challenge: &str,
    method: &str,
    uri: &str,
    username: &str,
    password: &str,
) -> Option<String> {
    let (scheme, rest) = challenge.trim().split_once(char::is_whitespace)?;
    if !scheme.eq_ignore_ascii_case("digest") {
        return None;
    }
    let p: HashMap<String, String> = params(rest)
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    let realm = p.get("realm")?;
    let nonce = p.get("nonce")?;
    let algorithm = Algorithm::named(p.get("algorithm").map(String::as_str))?;
    let qop_auth = match p.get("qop") {
        None => false,
        Some(q) if q.split(',').any(|x| x.trim().eq_ignore_ascii_case("auth")) => true,
        Some(_) => return None,
    };
    let ha1 = algorithm.hash(&format!("{username}:{realm}:{password}"));
    let ha2 = algorithm.hash(&format!("{method}:{uri}"));
    let mut value = format!(
        "Digest username=\"{username}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", algorithm={}",
        algorithm.name()
    );
    let response = if qop_auth {
        let mut c = [0u8; 8];
        let _ = getrandom::fill(&mut c);
        let cnonce = hex(&c);
        value.push_str(&format!(", qop=auth, nc=00000001, cnonce=\"{cnonce}\""));
        algorithm.hash(&format!("{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}"))
    } else {
        algorithm.hash(&format!("{ha1}:{nonce}:{ha2}"))
    };
    value.push_str(&format!(", response=\"{response}\""));
    if let Some(opaque) = p.get("opaque") {
        value.push_str(&format!(", opaque=\"{opaque}\""));
    }
    Some(value)
}

/// `k=v, k="v, with comma"` pairs; quoted values unescaped.
fn params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        let key: String = chars
            .by_ref()
            .take_while(|c| *c != '=')
            .collect::<String>()
            .trim()
            .to_string();
        if key.is_empty() {
            return out;
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.peek().copied() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
            value = value.trim().to_string();
        }
        out.push((key, value));
    }
}

/// The outcome of checking credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Authenticated.
    Ok,
    /// The nonce was ours but has expired: challenge again with `stale=true`.
    Stale,
    /// The response was checked and is wrong: a wrong password, or an unknown user (checked
    /// against a throwaway hash). Challenge again, exactly as for `Fail`.
    Wrong,
    /// Nothing could be checked (a nonce we did not issue — forged, or from before a restart —
    /// malformed credentials, a replayed count, another realm): challenge again, the same way.
    Fail,
}

/// Where the digest hashes of users come from (the running config, for the engine).
pub trait Accounts {
    /// The stored HA1s of `user` in `realm`; `None` for an unknown user.
    fn digest_hashes(&self, realm: &str, user: &str) -> Option<&DigestHashes>;
}

/// The digest authenticator: issues nonces and checks responses. Clones share the secret and
/// the nonce counts, so every shard of the engine accepts the others' nonces and a replay is
/// caught whichever shard it reaches.
#[derive(Clone)]
pub struct DigestAuth {
    secret: [u8; 32],
    /// Highest nonce count seen per nonce, with the nonce's issue time.
    seen: Arc<Striped<String, (u32, u64)>>,
    /// Nonces remembered since the last pruning.
    remembered: Arc<AtomicUsize>,
}

impl DigestAuth {
    /// An authenticator whose nonces are signed with `secret`.
    pub fn new(secret: [u8; 32]) -> DigestAuth {
        DigestAuth {
            secret,
            seen: Arc::default(),
            remembered: Arc::default(),
        }
    }

    /// A fresh nonce issued at `now_ms`, made unique by `random`.
    pub fn nonce(&self, now_ms: u64, random: [u8; 8]) -> String {
        let mut body = Vec::with_capacity(16);
        body.extend_from_slice(&now_ms.to_be_bytes());
        body.extend_from_slice(&random);
        let tag = self.tag(&body);
        hex(&[body.as_slice(), &tag[..16]].concat())
    }

    fn tag(&self, data: &[u8]) -> [u8; 32] {
        hmac_sha256(&self.secret, data)
    }

    /// The values of the `WWW-Authenticate` (or `Proxy-Authenticate`) headers to send: one
    /// per algorithm of `offered`, in that order (MD5 alone when `offered` is empty).
    pub fn challenges(
        &self,
        realm: &str,
        stale: bool,
        offered: &[Algorithm],
        now_ms: u64,
        random: [u8; 8],
    ) -> Vec<String> {
        let nonce = self.nonce(now_ms, random);
        let offered = if offered.is_empty() {
            &[Algorithm::Md5][..]
        } else {
            offered
        };
        offered
            .iter()
            .copied()
            .map(|a| {
                let mut h = format!(
                    "Digest realm=\"{}\", nonce=\"{nonce}\", algorithm={}, qop=\"auth\"",
                    realm.replace('"', ""),
                    a.name()
                );
                if stale {
                    h.push_str(", stale=true");
                }
                h
            })
            .collect()
    }

    /// The 401 (or, for a proxy-style challenge, 407) answering `request` with our
    /// challenges for `realm`, with To tag `tag`.
    #[allow(clippy::too_many_arguments)]
    pub fn challenge(
        &self,
        request: &Request,
        realm: &str,
        stale: bool,
        proxy: bool,
        offered: &[Algorithm],
        now_ms: u64,
        random: [u8; 8],
        tag: &str,
    ) -> Response {
        let (code, reason, header) = if proxy {
            (
                StatusCode::PROXY_AUTHENTICATION_REQUIRED,
                "Proxy Authentication Required",
                "Proxy-Authenticate",
            )
        } else {
            (StatusCode::UNAUTHORIZED, "Unauthorized", "WWW-Authenticate")
        };
        let mut r = respond(request, code, reason, tag);
        for c in self.challenges(realm, stale, offered, now_ms, random) {
            r.headers_mut().push(header, c);
        }
        r
    }

    /// Checks `c` for a request with `method` in `realm` against the user's hashes in
    /// `accounts` (an unknown user is answered exactly like a wrong password).
    pub fn verify_account(
        &self,
        c: &Credentials,
        method: &str,
        realm: &str,
        accounts: &dyn Accounts,
        now_ms: u64,
    ) -> Verdict {
        let hashes = accounts.digest_hashes(realm, &c.username);
        self.verify(c, method, realm, hashes, now_ms)
    }

    /// Checks `c` for a request with `method` in `realm`; `hashes` are the user's stored HA1s,
    /// `None` for an unknown user (answered exactly like a wrong password).
    pub fn verify(
        &self,
        c: &Credentials,
        method: &str,
        realm: &str,
        hashes: Option<&DigestHashes>,
        now_ms: u64,
    ) -> Verdict {
        let Some(algorithm) = c.algorithm() else {
            return Verdict::Fail;
        };
        let issued = match self.nonce_time(&c.nonce) {
            Some(t) => t,
            None => return Verdict::Fail,
        };
        // Unknown users get a response computed against a throwaway hash, so the work done
        // (and the answer) is the same as for a wrong password.
        let ha1 = match (hashes, algorithm) {
            (Some(h), Algorithm::Md5) => h.md5.clone(),
            (Some(h), Algorithm::Sha256) => h.sha256.clone(),
            (None, a) => a.hash(&format!(
                "{}:{realm}:{}",
                c.username,
                hex(&self.secret[..8])
            )),
        };
        let ha2 = algorithm.hash(&format!("{method}:{}", c.uri));
        let (Some(qop), Some(nc), Some(cnonce)) = (&c.qop, &c.nc, &c.cnonce) else {
            return Verdict::Fail;
        };
        if !qop.eq_ignore_ascii_case("auth") {
            return Verdict::Fail;
        }
        let expected = algorithm.hash(&format!("{ha1}:{}:{nc}:{cnonce}:{qop}:{ha2}", c.nonce));
        let matches = constant_time_eq(
            expected.as_bytes(),
            c.response.to_ascii_lowercase().as_bytes(),
        );
        if !matches || hashes.is_none() {
            return Verdict::Wrong;
        }
        if c.realm != realm {
            return Verdict::Fail;
        }
        if now_ms.saturating_sub(issued) > NONCE_TTL_MS || issued > now_ms + 60_000 {
            return Verdict::Stale;
        }
        let Ok(count) = u32::from_str_radix(nc, 16) else {
            return Verdict::Fail;
        };
        self.remember(&c.nonce, count, issued, now_ms)
    }

    /// The issue time of a nonce this authenticator made; `None` for anything else.
    fn nonce_time(&self, nonce: &str) -> Option<u64> {
        let bytes = unhex(nonce)?;
        if bytes.len() != 32 {
            return None;
        }
        let tag = self.tag(&bytes[..16]);
        if !constant_time_eq(&tag[..16], &bytes[16..]) {
            return None;
        }
        Some(u64::from_be_bytes(bytes[..8].try_into().ok()?))
    }

    /// Accepts `count` for `nonce` only if it is higher than any seen before.
    fn remember(&self, nonce: &str, count: u32, issued: u64, now_ms: u64) -> Verdict {
        if self.remembered.fetch_add(1, Ordering::Relaxed) >= MAX_TRACKED_NONCES {
            self.remembered.store(0, Ordering::Relaxed);
            self.seen
                .retain(|_, (_, t)| now_ms.saturating_sub(*t) <= NONCE_TTL_MS);
        }
        self.seen.update(nonce.to_string(), |entry| match entry {
            Some((last, _)) if count <= *last => Verdict::Fail,
            Some((last, _)) => {
                *last = count;
                Verdict::Ok
            }
            None if count == 0 => Verdict::Fail,
            None => {
                *entry = Some((count, issued));
                Verdict::Ok
            }
        })
    }
}

fn hmac_sha256(key: &[u8; 32], data: &[u8]) -> [u8; 32] {
    let mut ipad = [0x36u8; 64];
    let mut opad = [0x5cu8; 64];
    for (i, k) in key.iter().enumerate() {
        ipad[i] ^= k;
        opad[i] ^= k;
    }
    let inner = Sha256::new()
        .chain_update(ipad)
        .chain_update(data)
        .finalize();
    Sha256::new()
        .chain_update(opad)
        .chain_update(inner)
        .finalize()
        .into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::ha1;

    const NOW: u64 = 1_800_000_000_000;

    /// What a client computes (RFC 2617 §3.2.2) for the first challenge.
    fn answer(
        user: &str,
        password: &str,
        realm: &str,
        nc: u32,
        algorithm: Algorithm,
        nonce: &str,
    ) -> Credentials {
        let ha1 = algorithm.hash(&format!("{user}:{realm}:{password}"));
        let ha2 = algorithm.hash("REGISTER:sip:acme.example");
        let nc = format!("{nc:08x}");
        Credentials {
            username: user.into(),
            realm: realm.into(),
            nonce: nonce.into(),
            uri: "sip:acme.example".into(),
            response: algorithm.hash(&format!("{ha1}:{nonce}:{nc}:abc:auth:{ha2}")),
            algorithm: Some(algorithm.name().into()),
            qop: Some("auth".into()),
            nc: Some(nc),
            cnonce: Some("abc".into()),
        }
    }

    #[test]
    fn accepts_md5_and_sha256_and_rejects_replays() {
        let auth = DigestAuth::new([7; 32]);
        let hashes = ha1("ivan", "acme.example", "s3cret");
        for (salt, algorithm) in [(1, Algorithm::Md5), (2, Algorithm::Sha256)] {
            let nonce = auth.nonce(NOW, [salt; 8]);
            let c = answer("ivan", "s3cret", "acme.example", 1, algorithm, &nonce);
            assert_eq!(
                auth.verify(&c, "REGISTER", "acme.example", Some(&hashes), NOW + 10),
                Verdict::Ok
            );
            assert_eq!(
                auth.verify(&c, "REGISTER", "acme.example", Some(&hashes), NOW + 20),
                Verdict::Fail,
                "replay"
            );
            let c2 = answer("ivan", "s3cret", "acme.example", 2, algorithm, &nonce);
            assert_eq!(
                auth.verify(&c2, "REGISTER", "acme.example", Some(&hashes), NOW + 30),
                Verdict::Ok
            );
        }
    }

    #[test]
    fn the_client_side_answers_our_own_challenges() {
        let auth = DigestAuth::new([7; 32]);
        let hashes = ha1("trunk", "gw.example", "pw");
        for (salt, algorithm) in [(1, Algorithm::Md5), (2, Algorithm::Sha256)] {
            for challenge in auth.challenges("gw.example", false, &[algorithm], NOW, [salt; 8]) {
                let value = authorization(&challenge, "INVITE", "sip:+7495@gw", "trunk", "pw")
                    .expect("a digest challenge");
                let c = Credentials::parse(&value).unwrap();
                assert_eq!(
                    auth.verify(&c, "INVITE", "gw.example", Some(&hashes), NOW + 1),
                    Verdict::Ok,
                    "{value}"
                );
                let wrong = authorization(&challenge, "INVITE", "sip:+7495@gw", "trunk", "no");
                let c = Credentials::parse(&wrong.unwrap()).unwrap();
                assert_eq!(
                    auth.verify(&c, "INVITE", "gw.example", Some(&hashes), NOW + 2),
                    Verdict::Wrong
                );
            }
        }
        // Without qop (RFC 2069 style) and with an unknown algorithm or scheme.
        let plain = authorization(
            r#"Digest realm="r", nonce="n""#,
            "INVITE",
            "sip:x@y",
            "u",
            "p",
        )
        .unwrap();
        let ha1 = Algorithm::Md5.hash("u:r:p");
        let ha2 = Algorithm::Md5.hash("INVITE:sip:x@y");
        assert!(plain.contains(&Algorithm::Md5.hash(&format!("{ha1}:n:{ha2}"))));
        assert!(authorization(
            r#"Digest realm="r", nonce="n", algorithm=SHA-512"#,
            "A",
            "u",
            "u",
            "p"
        )
        .is_none());
        assert!(authorization(r#"Basic realm="r""#, "A", "u", "u", "p").is_none());
    }

    #[test]
    fn unknown_user_and_wrong_password_look_the_same() {
        let auth = DigestAuth::new([7; 32]);
        let hashes = ha1("ivan", "acme.example", "s3cret");
        let nonce = auth.nonce(NOW, [1; 8]);
        let wrong = answer("ivan", "guess", "acme.example", 1, Algorithm::Md5, &nonce);
        let unknown = answer("nobody", "guess", "acme.example", 1, Algorithm::Md5, &nonce);
        assert_eq!(
            auth.verify(&wrong, "REGISTER", "acme.example", Some(&hashes), NOW),
            Verdict::Wrong
        );
        assert_eq!(
            auth.verify(&unknown, "REGISTER", "acme.example", None, NOW),
            Verdict::Wrong
        );
    }

    #[test]
    fn expired_nonces_are_stale_and_forged_ones_fail() {
        let auth = DigestAuth::new([7; 32]);
        let hashes = ha1("ivan", "acme.example", "s3cret");
        let nonce = auth.nonce(NOW, [1; 8]);
        let c = answer("ivan", "s3cret", "acme.example", 1, Algorithm::Md5, &nonce);
        assert_eq!(
            auth.verify(
                &c,
                "REGISTER",
                "acme.example",
                Some(&hashes),
                NOW + NONCE_TTL_MS + 1
            ),
            Verdict::Stale
        );
        let other = DigestAuth::new([8; 32]);
        let forged = other.nonce(NOW, [1; 8]);
        let c = answer("ivan", "s3cret", "acme.example", 1, Algorithm::Md5, &forged);
        assert_eq!(
            auth.verify(&c, "REGISTER", "acme.example", Some(&hashes), NOW),
            Verdict::Fail
        );
        let c = answer(
            "ivan",
            "s3cret",
            "other.example",
            1,
            Algorithm::Md5,
            &auth.nonce(NOW, [1; 8]),
        );
        assert_eq!(
            auth.verify(&c, "REGISTER", "acme.example", Some(&hashes), NOW),
            Verdict::Wrong,
            "a response computed for another realm is checked, and wrong"
        );
        // A nonce we never issued tests nothing, whatever the password.
        let c = answer("ivan", "guess", "acme.example", 1, Algorithm::Md5, &forged);
        assert_eq!(
            auth.verify(&c, "REGISTER", "acme.example", Some(&hashes), NOW),
            Verdict::Fail
        );
    }

    #[test]
    fn parses_authorization_headers() {
        let c = Credentials::parse(
            "Digest username=\"ivan\",realm=\"acme.example\", nonce=\"abc\", uri=\"sip:acme.example\", response=\"0123\", algorithm=MD5, cnonce=\"x,y\", qop=auth, nc=00000001",
        )
        .unwrap();
        assert_eq!(
            (c.username.as_str(), c.cnonce.as_deref(), c.nc.as_deref()),
            ("ivan", Some("x,y"), Some("00000001"))
        );
        assert_eq!(Credentials::parse("Basic abc"), None);
        assert_eq!(Credentials::parse("Digest username=\"ivan\""), None);
        assert_eq!(Credentials::parse("Digest"), None);
    }

    #[test]
    fn challenges_offer_both_algorithms() {
        let auth = DigestAuth::new([7; 32]);
        let c = auth.challenges(
            "acme.example",
            true,
            &[Algorithm::Md5, Algorithm::Sha256],
            NOW,
            [3; 8],
        );
        assert_eq!(c.len(), 2);
        assert!(
            c[0].contains("algorithm=MD5")
                && c[0].contains("qop=\"auth\"")
                && c[0].ends_with("stale=true")
        );
        assert!(c[1].contains("algorithm=SHA-256"));
    }
}
