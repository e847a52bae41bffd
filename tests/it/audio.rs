//! Audio for the media tests on the wire: RTP streams written as pcap files for SIPp's
//! `play_pcap_audio` (a tone, in-band DTMF, RFC 4733 events), and what was heard or recorded
//! measured — the strength of a frequency (Goertzel), the main frequency (zero crossings), and
//! how long a tone lasted.

use pbx::media::g711::{self, Law};
use std::path::Path;

/// 8 kHz samples of a `freq` Hz sine at `amplitude` (0..1 of full scale) for `ms`.
pub fn sine(freq: f64, ms: u32, amplitude: f64) -> Vec<i16> {
    let n = (ms * 8) as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / 8000.0;
            (amplitude * 32767.0 * (2.0 * std::f64::consts::PI * freq * t).sin()) as i16
        })
        .collect()
}

/// `ms` of silence.
pub fn silence(ms: u32) -> Vec<i16> {
    vec![0; (ms * 8) as usize]
}

/// One RTP packet.
fn rtp(pt: u8, marker: bool, seq: u16, ts: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, pt | if marker { 0x80 } else { 0 }];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&0x5eed_u32.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// A pcap of RTP packets (each with its send time in ms), as SIPp replays them: Ethernet,
/// IPv4, UDP from 10.0.0.1:4000 to 10.0.0.2:5000 (SIPp sends only the payloads, to the
/// party's media address).
fn pcap(packets: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes()); // Ethernet
    for (at_ms, payload) in packets {
        let udp_len = 8 + payload.len();
        let ip_len = 20 + udp_len;
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[0x08, 0x00]);
        let mut ip = vec![
            0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        ip[2..4].copy_from_slice(&(ip_len as u16).to_be_bytes());
        let sum = ip
            .chunks(2)
            .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
            .sum::<u32>();
        let sum = !(((sum & 0xffff) + (sum >> 16)) as u16);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        frame.extend_from_slice(&ip);
        frame.extend_from_slice(&4000u16.to_be_bytes());
        frame.extend_from_slice(&5000u16.to_be_bytes());
        frame.extend_from_slice(&(udp_len as u16).to_be_bytes());
        frame.extend_from_slice(&0u16.to_be_bytes());
        frame.extend_from_slice(payload);
        out.extend_from_slice(&(at_ms / 1000).to_le_bytes());
        out.extend_from_slice(&((at_ms % 1000) * 1000).to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&frame);
    }
    out
}

/// Writes `pcm` as a PCMU RTP stream (20 ms packets, payload type 0) to `path`.
pub fn audio_pcap(path: &Path, pcm: &[i16]) {
    let mut packets = Vec::new();
    for (i, frame) in pcm.chunks(160).enumerate() {
        let mut payload = Vec::new();
        g711::encode_into(Law::Mu, frame, &mut payload);
        let i = i as u32;
        packets.push((i * 20, rtp(0, i == 0, i as u16, i * 160, &payload)));
    }
    std::fs::write(path, pcap(&packets)).unwrap();
}

/// Writes RFC 4733 presses of `digits` (payload type `pt`), one every 500 ms after `start_ms`,
/// each 100 ms long with its end packet sent three times, between PCMU silence, to `path`.
pub fn events_pcap(path: &Path, pt: u8, start_ms: u32, digits: &str) {
    let mut packets = Vec::new();
    let total = start_ms + 500 * digits.len() as u32 + 500;
    let silent = vec![0xFFu8; 160];
    let mut seq = 0u16;
    let mut t = 0;
    while t < total {
        let ts = t * 8;
        let press = (t >= start_ms)
            .then(|| ((t - start_ms) / 500, (t - start_ms) % 500))
            .and_then(|(i, into)| Some((digits.chars().nth(i as usize)?, into)));
        match press {
            Some((d, into)) if into < 120 => {
                let code = match d {
                    '*' => 10,
                    '#' => 11,
                    d => d.to_digit(10).unwrap() as u8,
                };
                let start_ts = (t - into) * 8;
                let end = into >= 100;
                let duration = ((into.min(100) + 20) * 8) as u16;
                let body = [
                    code,
                    if end { 0x80 | 10 } else { 10 },
                    (duration >> 8) as u8,
                    duration as u8,
                ];
                let copies = if end { 3 } else { 1 };
                for _ in 0..copies {
                    packets.push((t, rtp(pt, into == 0, seq, start_ts, &body)));
                    seq = seq.wrapping_add(1);
                }
            }
            _ => {
                packets.push((t, rtp(0, false, seq, ts, &silent)));
                seq = seq.wrapping_add(1);
            }
        }
        t += 20;
    }
    std::fs::write(path, pcap(&packets)).unwrap();
}

/// The power of `freq` in `pcm` relative to the signal's (0..1; a pure tone of `freq` ~1).
pub fn share_of(pcm: &[i16], freq: f64) -> f64 {
    if pcm.is_empty() {
        return 0.0;
    }
    let k = 2.0 * (2.0 * std::f64::consts::PI * freq / 8000.0).cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    let mut energy = 0.0;
    for &x in pcm {
        let x = f64::from(x);
        energy += x * x;
        let s0 = x + k * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - k * s1 * s2;
    if energy == 0.0 {
        0.0
    } else {
        2.0 * power / (energy * pcm.len() as f64)
    }
}

/// The main frequency of `pcm` from its zero crossings (for a clean tone).
pub fn frequency(pcm: &[i16]) -> f64 {
    let crossings = pcm.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
    crossings as f64 / 2.0 / (pcm.len() as f64 / 8000.0)
}

/// The stretch of `pcm` louder than silence (20 ms windows), as (start, end) sample indexes.
pub fn loud_span(pcm: &[i16]) -> Option<(usize, usize)> {
    let loud = |w: &[i16]| {
        let e: f64 = w.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>() / w.len() as f64;
        e.sqrt() > 500.0
    };
    let windows: Vec<bool> = pcm.chunks(160).map(loud).collect();
    let first = windows.iter().position(|&l| l)?;
    let last = windows.iter().rposition(|&l| l)?;
    Some((first * 160, ((last + 1) * 160).min(pcm.len())))
}
