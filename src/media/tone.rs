//! Tones the PBX generates, as 16-bit linear PCM at 8 kHz: the ringback of a country, the
//! beep before a recording, and the DTMF keypad (which the in-band detector's tests play).
//!
//! Rules:
//! - Levels are in dBm0, the level of a sine relative to the G.711 digital milliwatt (a 0 dBm0
//!   sine peaks at about 22 700 of 32 767). Call-progress tones sit at −10 dBm0 in all (one
//!   tone at −10, each of two mixed tones at −13); DTMF sends the low group at −8 dBm0 and the
//!   high group 2 dB louder, as phones do.
//! - A cadence is rendered as one whole cycle that ends in silence, so playing it in a loop is
//!   seamless. Every burst of a cadence and the beep rise and fall over 5 ms (raised cosine),
//!   so they do not click; DTMF bursts start and stop abruptly, as a keypad's do.
//! - Ringback by country follows ITU-T E.180 Supplement 2 ("Various tones used in national
//!   networks", as compiled in Asterisk's `indications.conf`), OST 45.223-2001 for Russia,
//!   BT SIN 350 for the United Kingdom. An unknown country gets the tone ITU-T E.180 recommends and
//!   CEPT countries use: 425 Hz, 1 s on, 4 s off.

use std::f64::consts::TAU;

/// Samples per second.
pub const RATE: u32 = 8000;

/// A repeating tone: which frequencies sound, and when.
#[derive(Clone, Debug, PartialEq)]
pub struct Cadence {
    /// One frequency, or two mixed, in Hz.
    pub freqs: (f32, Option<f32>),
    /// (on ms, off ms) pairs, played in order, then again from the first.
    pub pattern: Vec<(u32, u32)>,
}

/// The ringback tone (what a caller hears while the other side rings) of a country, by its
/// ISO 3166 alpha-2 code (case-insensitive).
pub fn ringback(country: &str) -> Cadence {
    match country.trim().to_ascii_uppercase().as_str() {
        // North American Precise Tone Plan.
        "US" | "CA" => cadence((440.0, Some(480.0)), &[(2000, 4000)]),
        // BT SIN 350; New Zealand (TNA 102) rings the same.
        "GB" | "NZ" => cadence((400.0, Some(450.0)), &[(400, 200), (400, 2000)]),
        "FR" => cadence((440.0, None), &[(1500, 3500)]),
        "ES" => cadence((425.0, None), &[(1500, 3000)]),
        "AT" => cadence((420.0, None), &[(1000, 5000)]),
        "SE" | "PT" => cadence((425.0, None), &[(1000, 5000)]),
        "BE" => cadence((425.0, None), &[(1000, 3000)]),
        "HU" => cadence((425.0, None), &[(1250, 3750)]),
        "CN" => cadence((450.0, None), &[(1000, 4000)]),
        // Russia (OST 45.223) and the CIS, Germany, Italy, the Netherlands, Switzerland, Poland,
        // the Nordics but Sweden, the Baltics, Czechia, Greece…, and the ITU default.
        _ => cadence((425.0, None), &[(1000, 4000)]),
    }
}

fn cadence(freqs: (f32, Option<f32>), pattern: &[(u32, u32)]) -> Cadence {
    Cadence {
        freqs,
        pattern: pattern.to_vec(),
    }
}

/// One whole cycle of `c`, to be played in a loop.
pub fn render_cycle(c: &Cadence) -> Vec<i16> {
    let tones: Vec<(f64, f64)> = match c.freqs {
        (f, None) => vec![(f64::from(f), amplitude(-10.0))],
        (f1, Some(f2)) => vec![
            (f64::from(f1), amplitude(-13.0)),
            (f64::from(f2), amplitude(-13.0)),
        ],
    };
    let mut out = Vec::new();
    for &(on, off) in &c.pattern {
        burst(&mut out, &tones, samples(on), samples(EDGE_MS));
        silence(&mut out, samples(off));
    }
    out
}

/// The beep before a recording: 1000 Hz at −10 dBm0 for 0.3 s, rising and falling over 5 ms.
pub fn beep() -> Vec<i16> {
    let mut out = Vec::new();
    burst(
        &mut out,
        &[(1000.0, amplitude(-10.0))],
        samples(300),
        samples(EDGE_MS),
    );
    out
}

/// The rows (low group) of the DTMF keypad, in Hz.
pub const DTMF_ROWS: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
/// The columns (high group) of the DTMF keypad, in Hz.
pub const DTMF_COLUMNS: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
/// The keypad: `DTMF_KEYPAD[row][column]`.
pub const DTMF_KEYPAD: [[char; 4]; 4] = [
    ['1', '2', '3', 'A'],
    ['4', '5', '6', 'B'],
    ['7', '8', '9', 'C'],
    ['*', '0', '#', 'D'],
];

/// The (row, column) frequencies of a DTMF digit (`a`–`d` taken as `A`–`D`).
pub fn dtmf_pair(digit: char) -> Option<(f32, f32)> {
    let digit = digit.to_ascii_uppercase();
    DTMF_KEYPAD.iter().enumerate().find_map(|(r, row)| {
        let c = row.iter().position(|&d| d == digit)?;
        Some((DTMF_ROWS[r], DTMF_COLUMNS[c]))
    })
}

/// A key press: the digit's two tones for `on_ms` (low group −8 dBm0, high group −6 dBm0),
/// then `off_ms` of silence. A character that is no DTMF digit gives silence all along.
pub fn dtmf(digit: char, on_ms: u32, off_ms: u32) -> Vec<i16> {
    let mut out = Vec::new();
    match dtmf_pair(digit) {
        Some((row, column)) => {
            let tones = [
                (f64::from(row), amplitude(-8.0)),
                (f64::from(column), amplitude(-6.0)),
            ];
            burst(&mut out, &tones, samples(on_ms), 0);
        }
        None => silence(&mut out, samples(on_ms)),
    }
    silence(&mut out, samples(off_ms));
    out
}

/// The peak of a 0 dBm0 sine in 16-bit PCM (the G.711 digital milliwatt).
const DBM0_PEAK: f64 = 22_700.0;
/// How long a cadence burst or the beep takes to rise and to fall.
const EDGE_MS: u32 = 5;

/// The peak amplitude of a sine at `dbm0`.
pub fn amplitude(dbm0: f64) -> f64 {
    DBM0_PEAK * 10f64.powf(dbm0 / 20.0)
}

fn samples(ms: u32) -> usize {
    (u64::from(ms) * u64::from(RATE) / 1000) as usize
}

fn silence(out: &mut Vec<i16>, len: usize) {
    out.resize(out.len() + len, 0);
}

/// Appends `len` samples of the sum of `tones` (frequency, peak amplitude), each starting at
/// phase 0, rising over the first `edge` samples and falling over the last `edge`.
fn burst(out: &mut Vec<i16>, tones: &[(f64, f64)], len: usize, edge: usize) {
    let edge = edge.min(len / 2);
    out.reserve(len);
    for n in 0..len {
        let t = n as f64 / f64::from(RATE);
        let mut v: f64 = tones.iter().map(|&(f, a)| a * (TAU * f * t).sin()).sum();
        let from_edge = n.min(len - 1 - n);
        if from_edge < edge {
            // Raised cosine from 0 to 1 over `edge` samples.
            v *= 0.5 - 0.5 * (std::f64::consts::PI * (from_edge as f64 + 0.5) / edge as f64).cos();
        }
        out.push(v.round().clamp(-32768.0, 32767.0) as i16);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The power of `f` in `pcm` relative to all of `pcm` (1.0: nothing else sounds).
    fn share_of(pcm: &[i16], f: f64) -> f64 {
        let (mut re, mut im, mut total) = (0.0, 0.0, 0.0);
        for (n, &s) in pcm.iter().enumerate() {
            let s = f64::from(s);
            let w = TAU * f * n as f64 / f64::from(RATE);
            re += s * w.cos();
            im += s * w.sin();
            total += s * s;
        }
        2.0 * (re * re + im * im) / pcm.len() as f64 / total
    }

    fn peak(pcm: &[i16]) -> i32 {
        pcm.iter().map(|&s| i32::from(s).abs()).max().unwrap_or(0)
    }

    #[test]
    fn ringback_by_country() {
        let cases = [
            ("RU", cadence((425.0, None), &[(1000, 4000)])),
            ("ru", cadence((425.0, None), &[(1000, 4000)])),
            ("KZ", cadence((425.0, None), &[(1000, 4000)])),
            ("DE", cadence((425.0, None), &[(1000, 4000)])),
            ("IT", cadence((425.0, None), &[(1000, 4000)])),
            ("NL", cadence((425.0, None), &[(1000, 4000)])),
            ("ES", cadence((425.0, None), &[(1500, 3000)])),
            ("FR", cadence((440.0, None), &[(1500, 3500)])),
            ("US", cadence((440.0, Some(480.0)), &[(2000, 4000)])),
            ("CA", cadence((440.0, Some(480.0)), &[(2000, 4000)])),
            (
                "GB",
                cadence((400.0, Some(450.0)), &[(400, 200), (400, 2000)]),
            ),
            ("ZZ", cadence((425.0, None), &[(1000, 4000)])),
            ("", cadence((425.0, None), &[(1000, 4000)])),
        ];
        for (country, expected) in cases {
            assert_eq!(ringback(country), expected, "{country}");
        }
    }

    #[test]
    fn a_cycle_is_the_whole_pattern_and_ends_silent() {
        for country in ["RU", "US", "GB", "FR"] {
            let c = ringback(country);
            let pcm = render_cycle(&c);
            let ms: u32 = c.pattern.iter().map(|&(on, off)| on + off).sum();
            assert_eq!(pcm.len(), samples(ms), "{country}");
            // Loops seamlessly: silent at both ends of the cycle.
            assert!(
                pcm.first() == Some(&0) && pcm.last() == Some(&0),
                "{country}"
            );
            let on = samples(c.pattern[0].0);
            let (f1, f2) = c.freqs;
            let share = share_of(&pcm[..on], f64::from(f1))
                + f2.map_or(0.0, |f| share_of(&pcm[..on], f64::from(f)));
            assert!(share > 0.95, "{country}: {share}");
            assert!(pcm[on..on + samples(c.pattern[0].1)]
                .iter()
                .all(|&s| s == 0));
        }
    }

    #[test]
    fn levels_are_about_minus_10_dbm0() {
        // One tone: peak 0.22 of full scale; two tones at −13 dBm0 each peak at 0.31 together.
        let single = peak(&render_cycle(&ringback("RU")));
        assert!((7100..=7250).contains(&single), "{single}");
        let dual = peak(&render_cycle(&ringback("US")));
        assert!((9900..=10200).contains(&dual), "{dual}");
        assert!(peak(&dtmf('D', 100, 0)) < 21_000);
    }

    #[test]
    fn the_beep_fades_in_and_out() {
        let pcm = beep();
        assert_eq!(pcm.len(), 2400);
        assert!(share_of(&pcm, 1000.0) > 0.95);
        let edge = samples(EDGE_MS);
        assert!(peak(&pcm[..4]) < 300 && peak(&pcm[pcm.len() - 4..]) < 300);
        assert!(peak(&pcm[..edge / 2]) < peak(&pcm[edge / 2..edge]));
        assert!(peak(&pcm[edge..pcm.len() - edge]) > 7000);
    }

    #[test]
    fn dtmf_plays_the_pair_then_silence() {
        for (r, row) in DTMF_KEYPAD.iter().enumerate() {
            for (c, &digit) in row.iter().enumerate() {
                assert_eq!(dtmf_pair(digit), Some((DTMF_ROWS[r], DTMF_COLUMNS[c])));
                let pcm = dtmf(digit, 100, 50);
                assert_eq!(pcm.len(), 1200);
                let share = share_of(&pcm[..800], f64::from(DTMF_ROWS[r]))
                    + share_of(&pcm[..800], f64::from(DTMF_COLUMNS[c]));
                assert!(share > 0.95, "{digit}: {share}");
                assert!(pcm[800..].iter().all(|&s| s == 0));
            }
        }
        assert_eq!(dtmf_pair('b'), dtmf_pair('B'));
        assert_eq!(dtmf_pair('x'), None);
        assert_eq!(dtmf('x', 10, 10), vec![0; 160]);
    }
}
