//! G.711: the two 8-bit logarithmic codecs every SIP phone speaks, μ-law (PCMU, RTP payload
//! type 0) and A-law (PCMA, 8), to and from 16-bit linear PCM at 8 kHz.
//!
//! Rules (ITU-T G.711, in the classic segment form of Sun's reference `g711.c`):
//! - μ-law works on 14 bits (the two low bits of an `i16` are dropped), biased by 33, in 8
//!   segments of 16 steps; every code is inverted on the wire. Decoded values span ±32 124.
//! - A-law works on 13 bits (three low bits dropped), in 8 segments of 16 steps (the first two
//!   share one step size); the even bits are inverted (XOR 0x55). Decoded values span ±32 256.
//! - Decoding gives the middle of the code's interval, so a round trip is off by at most half a
//!   step of the segment (plus the dropped low bits); louder than the top segment clips.
//! - Silence is the code of zero: 0xFF (μ-law), 0xD5 (A-law).
//!
//! Decoding reads one of two 256-entry tables built at compile time; encoding finds the
//! segment with a leading-zeros count, no table.

/// Which G.711 law.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Law {
    /// μ-law, PCMU (North America, Japan).
    Mu,
    /// A-law, PCMA (the rest of the world).
    A,
}

impl Law {
    /// The static RTP payload type (RFC 3551): PCMU 0, PCMA 8.
    pub fn payload_type(self) -> u8 {
        match self {
            Law::Mu => 0,
            Law::A => 8,
        }
    }

    /// The SDP encoding name: `PCMU` or `PCMA`.
    pub fn name(self) -> &'static str {
        match self {
            Law::Mu => "PCMU",
            Law::A => "PCMA",
        }
    }

    /// The code of silence (linear zero).
    pub fn silence(self) -> u8 {
        match self {
            Law::Mu => 0xFF,
            Law::A => 0xD5,
        }
    }
}

/// One linear sample to one code.
pub fn encode(law: Law, sample: i16) -> u8 {
    match law {
        Law::Mu => encode_mu(sample),
        Law::A => encode_a(sample),
    }
}

/// One code to one linear sample.
pub fn decode(law: Law, byte: u8) -> i16 {
    match law {
        Law::Mu => MU_TO_LINEAR[byte as usize],
        Law::A => A_TO_LINEAR[byte as usize],
    }
}

/// Appends the codes of `pcm` to `out`.
pub fn encode_into(law: Law, pcm: &[i16], out: &mut Vec<u8>) {
    out.reserve(pcm.len());
    match law {
        Law::Mu => out.extend(pcm.iter().map(|&s| encode_mu(s))),
        Law::A => out.extend(pcm.iter().map(|&s| encode_a(s))),
    }
}

/// Appends the samples of `bytes` to `out`.
pub fn decode_into(law: Law, bytes: &[u8], out: &mut Vec<i16>) {
    let table = match law {
        Law::Mu => &MU_TO_LINEAR,
        Law::A => &A_TO_LINEAR,
    };
    out.extend(bytes.iter().map(|&b| table[b as usize]));
}

/// μ-law: the largest 14-bit magnitude coded (the top of segment 7 minus the bias).
const MU_CLIP: i32 = 8159;
/// μ-law: the bias added before finding the segment, in 14-bit units (0x84 >> 2).
const MU_BIAS: i32 = 33;

fn encode_mu(sample: i16) -> u8 {
    let v = i32::from(sample) >> 2;
    let (magnitude, mask) = if v < 0 { (-v, 0x7F) } else { (v, 0xFF) };
    // 33..=8191 (the clip lands on the top code): the leading bit is bit 5 to bit 12.
    let biased = (magnitude.min(MU_CLIP) + MU_BIAS).min(0x1FFF);
    // Segment s holds biased values in [32 << s, 64 << s).
    let segment = (31 - biased.leading_zeros() as i32) - 5;
    let step = (biased >> (segment + 1)) & 0x0F;
    (((segment << 4) | step) as u8) ^ mask
}

fn encode_a(sample: i16) -> u8 {
    let v = i32::from(sample) >> 3;
    let (magnitude, mask) = if v < 0 { (-v - 1, 0x55) } else { (v, 0xD5) };
    if magnitude > 0x0FFF {
        return 0x7F ^ mask;
    }
    // Segment 0 holds 0..32, segment s >= 1 holds [16 << s, 32 << s).
    let segment = 32 - (magnitude >> 5).leading_zeros() as i32;
    let step = if segment < 2 {
        (magnitude >> 1) & 0x0F
    } else {
        (magnitude >> segment) & 0x0F
    };
    (((segment << 4) | step) as u8) ^ mask
}

const fn decode_mu(byte: u8) -> i16 {
    let u = !byte;
    let t = ((((u & 0x0F) as i32) << 3) + 0x84) << ((u & 0x70) >> 4);
    if u & 0x80 != 0 {
        (0x84 - t) as i16
    } else {
        (t - 0x84) as i16
    }
}

const fn decode_a(byte: u8) -> i16 {
    let a = byte ^ 0x55;
    let mut t = ((a & 0x0F) as i32) << 4;
    let segment = (a & 0x70) >> 4;
    t += if segment == 0 { 8 } else { 0x108 };
    if segment > 1 {
        t <<= segment - 1;
    }
    if a & 0x80 != 0 {
        t as i16
    } else {
        -t as i16
    }
}

const fn table(law: Law) -> [i16; 256] {
    let mut out = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        out[i] = match law {
            Law::Mu => decode_mu(i as u8),
            Law::A => decode_a(i as u8),
        };
        i += 1;
    }
    out
}

static MU_TO_LINEAR: [i16; 256] = table(Law::Mu);
static A_TO_LINEAR: [i16; 256] = table(Law::A);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_payload_types_and_silence() {
        assert_eq!((Law::Mu.name(), Law::Mu.payload_type()), ("PCMU", 0));
        assert_eq!((Law::A.name(), Law::A.payload_type()), ("PCMA", 8));
        for law in [Law::Mu, Law::A] {
            assert_eq!(encode(law, 0), law.silence());
            assert!(decode(law, law.silence()).abs() <= 8);
        }
    }

    /// Code points of ITU-T G.711 (tables 1a/2a), scaled to 16 bits.
    #[test]
    fn known_code_points() {
        let cases: &[(Law, u8, i16)] = &[
            (Law::Mu, 0xFF, 0),
            (Law::Mu, 0x80, 32124),
            (Law::Mu, 0x00, -32124),
            (Law::Mu, 0xFE, 8),
            (Law::Mu, 0x7E, -8),
            (Law::Mu, 0xEF, 132),
            (Law::Mu, 0xDF, 396),
            (Law::Mu, 0x9F, 8316),
            (Law::A, 0xD5, 8),
            (Law::A, 0x55, -8),
            (Law::A, 0xAA, 32256),
            (Law::A, 0x2A, -32256),
            (Law::A, 0xD4, 24),
            (Law::A, 0xC5, 264),
            (Law::A, 0xF5, 528),
            (Law::A, 0xA5, 16896),
        ];
        for &(law, code, linear) in cases {
            assert_eq!(decode(law, code), linear, "{law:?} {code:#04x}");
            assert_eq!(encode(law, linear), code, "{law:?} {linear}");
        }
        assert_eq!(decode(Law::Mu, 0x7F), 0, "μ-law's negative zero");
    }

    /// Every code decodes to a value that encodes back to the same code (both zeros aside).
    #[test]
    fn decode_then_encode_is_identity() {
        for law in [Law::Mu, Law::A] {
            for code in 0..=255u8 {
                let back = encode(law, decode(law, code));
                let negative_zero = law == Law::Mu && code == 0x7F;
                assert!(
                    back == code || negative_zero,
                    "{law:?} {code:#04x} -> {back:#04x}"
                );
            }
        }
    }

    /// Half a step of the code's segment, plus the low bits the law drops.
    fn bound(law: Law, code: u8) -> i32 {
        match law {
            Law::Mu => {
                let segment = i32::from((!code & 0x70) >> 4);
                (4 << (segment + 1)) / 2 + 3
            }
            Law::A => {
                let segment = i32::from(((code ^ 0x55) & 0x70) >> 4);
                (8 << segment.max(1)) / 2 + 7
            }
        }
    }

    #[test]
    fn round_trip_error_is_within_half_a_step_of_the_segment() {
        for law in [Law::Mu, Law::A] {
            let top = i32::from(decode(law, if law == Law::Mu { 0x80 } else { 0xAA }));
            for x in i16::MIN..=i16::MAX {
                let code = encode(law, x);
                let error = (i32::from(decode(law, code)) - i32::from(x)).abs();
                let clipped = (i32::from(x).abs() - top).max(0);
                assert!(
                    error <= bound(law, code) + clipped,
                    "{law:?} {x} -> {code:#04x} off by {error}"
                );
            }
        }
    }

    #[test]
    fn slices_code_like_samples() {
        let pcm: Vec<i16> = (-40..40).map(|i| i * 800).collect();
        for law in [Law::Mu, Law::A] {
            let mut bytes = vec![0xAB];
            encode_into(law, &pcm, &mut bytes);
            assert_eq!(bytes.len(), 81);
            assert!(pcm
                .iter()
                .zip(&bytes[1..])
                .all(|(&s, &b)| encode(law, s) == b));
            let mut back = Vec::new();
            decode_into(law, &bytes[1..], &mut back);
            assert!(back
                .iter()
                .zip(&bytes[1..])
                .all(|(&s, &b)| decode(law, b) == s));
        }
    }
}
