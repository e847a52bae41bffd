//! SRTP (RFC 3711) for one side of a relay, pure: the session keys derived from an SDES master
//! key and salt (RFC 4568's `inline:` key, 30 bytes), and per-direction contexts that protect
//! RTP packets going out and unprotect those coming in — AES-128 in counter mode for the
//! payload, HMAC-SHA1 for the authentication tag (80 or 32 bits: the suites
//! `AES_CM_128_HMAC_SHA1_80` and `_32`), the rollover counter kept per direction (the PBX's
//! packets towards a party carry one SSRC per call; the party's packets are tracked as they
//! come), and a 64-packet replay window. RTCP is not relayed by the PBX, so SRTCP is not here.
//!
//! Sockets and SDP are elsewhere: `sdp` reads and writes the `a=crypto` line, the relay calls
//! `protect`/`unprotect` on the packets it carries.

use aes::cipher::{BlockEncrypt, KeyInit};
use aes::Aes128;

/// The length of an SDES key: a 16-byte master key followed by a 14-byte master salt.
pub const KEY_LEN: usize = 30;

/// A crypto suite the PBX speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Suite {
    /// AES-128 counter mode, HMAC-SHA1 with an 80-bit tag.
    AesCm128HmacSha1_80,
    /// AES-128 counter mode, HMAC-SHA1 with a 32-bit tag.
    AesCm128HmacSha1_32,
}

impl Suite {
    /// The suite's name in SDP.
    pub fn name(self) -> &'static str {
        match self {
            Suite::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            Suite::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
        }
    }

    /// The suite named `name` in SDP, if the PBX speaks it.
    pub fn from_name(name: &str) -> Option<Suite> {
        match name {
            "AES_CM_128_HMAC_SHA1_80" => Some(Suite::AesCm128HmacSha1_80),
            "AES_CM_128_HMAC_SHA1_32" => Some(Suite::AesCm128HmacSha1_32),
            _ => None,
        }
    }

    fn tag_len(self) -> usize {
        match self {
            Suite::AesCm128HmacSha1_80 => 10,
            Suite::AesCm128HmacSha1_32 => 4,
        }
    }
}

/// Why an incoming packet was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// Too short to be an RTP packet with its tag.
    Short,
    /// The tag does not match: tampered with, or another key.
    Tag,
    /// Seen already, or too old for the replay window.
    Replayed,
}

/// The keys of one direction, derived from a master key and salt (RFC 3711 §4.3, key
/// derivation rate 0).
#[derive(Clone)]
struct SessionKeys {
    cipher: Aes128,
    salt: [u8; 14],
    auth: ring::hmac::Key,
}

impl SessionKeys {
    fn derive(master: &[u8; KEY_LEN]) -> SessionKeys {
        let (key, salt) = master.split_at(16);
        let prf = Aes128::new_from_slice(key).expect("16 bytes");
        let derive = |label: u8, out: &mut [u8]| {
            let mut x = [0u8; 16];
            x[..14].copy_from_slice(salt);
            x[7] ^= label;
            keystream(&prf, &x, out);
        };
        let mut cipher_key = [0u8; 16];
        derive(0x00, &mut cipher_key);
        let mut auth_key = [0u8; 20];
        derive(0x01, &mut auth_key);
        let mut session_salt = [0u8; 14];
        derive(0x02, &mut session_salt);
        SessionKeys {
            cipher: Aes128::new_from_slice(&cipher_key).expect("16 bytes"),
            salt: session_salt,
            auth: ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &auth_key),
        }
    }
}

/// XORs `out` with the AES counter-mode keystream starting at block `iv` (the counter in its
/// last two bytes), or fills it with the keystream when `out` is zeros.
fn keystream(cipher: &Aes128, iv: &[u8; 16], out: &mut [u8]) {
    for (i, chunk) in out.chunks_mut(16).enumerate() {
        let mut block = *iv;
        let counter = u16::from_be_bytes([iv[14], iv[15]]).wrapping_add(i as u16);
        block[14..].copy_from_slice(&counter.to_be_bytes());
        let mut block = aes::Block::from(block);
        cipher.encrypt_block(&mut block);
        for (o, k) in chunk.iter_mut().zip(block.iter()) {
            *o ^= k;
        }
    }
}

/// Where the RTP payload starts (after the fixed header, the CSRCs and any extension).
fn payload_start(packet: &[u8]) -> Option<usize> {
    if packet.len() < 12 || packet[0] >> 6 != 2 {
        return None;
    }
    let mut at = 12 + 4 * usize::from(packet[0] & 0x0f);
    if packet[0] & 0x10 != 0 {
        let words = u16::from_be_bytes([*packet.get(at + 2)?, *packet.get(at + 3)?]);
        at += 4 + 4 * usize::from(words);
    }
    (at <= packet.len()).then_some(at)
}

/// One direction of SRTP: the keys, and what is known of the packet index.
#[derive(Clone)]
pub struct Context {
    suite: Suite,
    keys: SessionKeys,
    /// The rollover counter and the highest sequence number seen (`None` before the first).
    roc: u32,
    highest: Option<u16>,
    /// Packets seen below the highest index, as bits (bit 0: the highest itself).
    window: u64,
}

impl Context {
    /// A context for `suite` with the SDES key `master` (master key then salt).
    pub fn new(suite: Suite, master: &[u8; KEY_LEN]) -> Context {
        Context {
            suite,
            keys: SessionKeys::derive(master),
            roc: 0,
            highest: None,
            window: 0,
        }
    }

    /// `packet` (RTP) encrypted and tagged in place, for sending.
    pub fn protect(&mut self, packet: &mut Vec<u8>) {
        let Some(start) = payload_start(packet) else {
            return;
        };
        let seq = u16::from_be_bytes([packet[2], packet[3]]);
        if let Some(h) = self.highest {
            if seq < h && h - seq > 0x8000 {
                self.roc = self.roc.wrapping_add(1);
            }
        }
        self.highest = Some(seq);
        let index = (u64::from(self.roc) << 16) | u64::from(seq);
        self.crypt(packet, start, index);
        let tag = self.tag(packet, self.roc);
        packet.extend_from_slice(&tag[..self.suite.tag_len()]);
    }

    /// The RTP packet inside the SRTP `packet`, checked (tag, replay) and decrypted in place.
    pub fn unprotect(&mut self, packet: &mut Vec<u8>) -> Result<(), Refused> {
        let tag_len = self.suite.tag_len();
        if packet.len() < 12 + tag_len {
            return Err(Refused::Short);
        }
        let body = packet.len() - tag_len;
        let start = payload_start(&packet[..body]).ok_or(Refused::Short)?;
        let seq = u16::from_be_bytes([packet[2], packet[3]]);
        let roc = self.estimate(seq);
        let expected = self.tag(&packet[..body], roc);
        if !constant_time_eq(&expected[..tag_len], &packet[body..]) {
            return Err(Refused::Tag);
        }
        let index = (u64::from(roc) << 16) | u64::from(seq);
        self.accept(index)?;
        packet.truncate(body);
        self.crypt(packet, start, index);
        Ok(())
    }

    /// The rollover counter a packet with `seq` belongs to (RFC 3711 Appendix A).
    fn estimate(&self, seq: u16) -> u32 {
        let Some(s_l) = self.highest else {
            return self.roc;
        };
        if s_l < 0x8000 {
            if seq > s_l && seq - s_l > 0x8000 {
                self.roc.wrapping_sub(1)
            } else {
                self.roc
            }
        } else if s_l - 0x8000 > seq {
            self.roc.wrapping_add(1)
        } else {
            self.roc
        }
    }

    /// Records `index` as received, unless it was seen or is too old.
    fn accept(&mut self, index: u64) -> Result<(), Refused> {
        let highest = self
            .highest
            .map(|s| (u64::from(self.roc) << 16) | u64::from(s));
        match highest {
            Some(h) if index <= h => {
                let back = h - index;
                if back >= 64 || self.window & (1 << back) != 0 {
                    return Err(Refused::Replayed);
                }
                self.window |= 1 << back;
            }
            Some(h) => {
                let ahead = index - h;
                self.window = if ahead >= 64 { 0 } else { self.window << ahead };
                self.window |= 1;
                self.roc = (index >> 16) as u32;
                self.highest = Some(index as u16);
            }
            None => {
                self.window = 1;
                self.roc = (index >> 16) as u32;
                self.highest = Some(index as u16);
            }
        }
        Ok(())
    }

    /// Encrypts or decrypts the payload of `packet` (from `start`) with packet index `index`.
    fn crypt(&self, packet: &mut [u8], start: usize, index: u64) {
        let ssrc = [packet[8], packet[9], packet[10], packet[11]];
        let mut iv = [0u8; 16];
        iv[..14].copy_from_slice(&self.keys.salt);
        for (i, b) in ssrc.iter().enumerate() {
            iv[4 + i] ^= b;
        }
        for (i, b) in index.to_be_bytes()[2..].iter().enumerate() {
            iv[8 + i] ^= b;
        }
        keystream(&self.keys.cipher, &iv, &mut packet[start..]);
    }

    /// HMAC-SHA1 over `authenticated` and the rollover counter.
    fn tag(&self, authenticated: &[u8], roc: u32) -> [u8; 20] {
        let mut ctx = ring::hmac::Context::with_key(&self.keys.auth);
        ctx.update(authenticated);
        ctx.update(&roc.to_be_bytes());
        let mut out = [0u8; 20];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn master(key: &str, salt: &str) -> [u8; KEY_LEN] {
        let mut m = [0u8; KEY_LEN];
        m[..16].copy_from_slice(&hex(key));
        m[16..].copy_from_slice(&hex(salt));
        m
    }

    /// RFC 3711 Appendix B.3: the session keys derived from a master key and salt.
    #[test]
    fn session_keys_are_derived_as_rfc_3711_b3_says() {
        let m = master(
            "E1F97A0D3E018BE0D64FA32C06DE4139",
            "0EC675AD498AFEEBB6960B3AABE6",
        );
        let (key, salt) = m.split_at(16);
        let prf = Aes128::new_from_slice(key).unwrap();
        let derive = |label: u8, n: usize| {
            let mut x = [0u8; 16];
            x[..14].copy_from_slice(salt);
            x[7] ^= label;
            let mut out = vec![0u8; n];
            keystream(&prf, &x, &mut out);
            out
        };
        assert_eq!(derive(0, 16), hex("C61E7A93744F39EE10734AFE3FF7A087"));
        assert_eq!(derive(2, 14), hex("30CBBC08863D8C85D49DB34A9AE1"));
        assert_eq!(
            derive(1, 32),
            hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA48F0A0ACF3C34E2359E6CDBCE")
        );
    }

    /// RFC 3711 Appendix B.2: the AES counter-mode keystream.
    #[test]
    fn the_keystream_is_aes_counter_mode_as_rfc_3711_b2_says() {
        let cipher = Aes128::new_from_slice(&hex("2B7E151628AED2A6ABF7158809CF4F3C")).unwrap();
        let iv: [u8; 16] = hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000").try_into().unwrap();
        let mut out = vec![0u8; 48];
        keystream(&cipher, &iv, &mut out);
        assert_eq!(
            out,
            hex("E03EAD0935C95E80E166B16DD92B4EB4D23513162B02D0F72A43A2FE4A5F97AB41E95B3BB0A2E8DD477901E4FCA894C0")
        );
    }

    fn rtp(seq: u16, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0x80, 0, 0, 0, 0, 0, 0, 160, 0x12, 0x34, 0x56, 0x78];
        p[2..4].copy_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(payload);
        p
    }

    #[test]
    fn protected_packets_come_back_as_they_were_sent_across_a_rollover() {
        let key = master(
            "00112233445566778899AABBCCDDEEFF",
            "0102030405060708090A0B0C0D0E",
        );
        for suite in [Suite::AesCm128HmacSha1_80, Suite::AesCm128HmacSha1_32] {
            let (mut tx, mut rx) = (Context::new(suite, &key), Context::new(suite, &key));
            for seq in (65_530u16..=65_535).chain(0..10) {
                let plain = rtp(seq, &[seq as u8; 160]);
                let mut packet = plain.clone();
                tx.protect(&mut packet);
                assert_eq!(packet.len(), plain.len() + suite.tag_len());
                assert_ne!(packet[12..172], plain[12..], "the payload is encrypted");
                assert_eq!(packet[..12], plain[..12], "the header is not");
                rx.unprotect(&mut packet).unwrap();
                assert_eq!(packet, plain, "{suite:?} seq {seq}");
            }
            assert_eq!(rx.roc, 1, "the rollover was followed");
        }
    }

    #[test]
    fn tampered_replayed_and_foreign_packets_are_refused() {
        let key = master(
            "00112233445566778899AABBCCDDEEFF",
            "0102030405060708090A0B0C0D0E",
        );
        let suite = Suite::AesCm128HmacSha1_80;
        let (mut tx, mut rx) = (Context::new(suite, &key), Context::new(suite, &key));
        let mut first = rtp(100, b"hello");
        tx.protect(&mut first);
        let mut tampered = first.clone();
        tampered[14] ^= 1;
        assert_eq!(rx.unprotect(&mut tampered), Err(Refused::Tag));
        let mut again = first.clone();
        rx.unprotect(&mut first).unwrap();
        assert_eq!(rx.unprotect(&mut again), Err(Refused::Replayed));
        // Out of order within the window is fine; once only.
        let mut later = rtp(103, b"x");
        let mut earlier = rtp(102, b"y");
        tx.protect(&mut earlier);
        tx.protect(&mut later);
        let mut earlier_again = earlier.clone();
        rx.unprotect(&mut later).unwrap();
        rx.unprotect(&mut earlier).unwrap();
        assert_eq!(rx.unprotect(&mut earlier_again), Err(Refused::Replayed));
        let other = master(
            "FF112233445566778899AABBCCDDEEFF",
            "0102030405060708090A0B0C0D0E",
        );
        let mut foreign = rtp(104, b"z");
        Context::new(suite, &other).protect(&mut foreign);
        assert_eq!(rx.unprotect(&mut foreign), Err(Refused::Tag));
        assert_eq!(rx.unprotect(&mut vec![0x80; 8]), Err(Refused::Short));
    }
}
