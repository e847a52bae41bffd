//! RTP packets (RFC 3550 §5.1) and the telephone-event payload that carries DTMF digits
//! (RFC 4733 §2.3), read and written as bytes.
//!
//! Rules:
//! - Only version 2 is read. CSRCs and a header extension are skipped, padding is removed;
//!   a packet too short for what its header claims is `None`, never a panic.
//! - Packets written carry the fixed 12-byte header: no padding, extension or CSRC.
//! - A telephone event is 4 bytes: event code, end bit, reserved bit, 6-bit volume (−dBm0),
//!   16-bit duration in timestamp units. Events 0–15 are the DTMF digits `0`–`9`, `*`, `#`,
//!   `A`–`D`; any other event (flash, fax tones, …) is not a digit and reads as `None`.

/// The fields of an RTP header the PBX uses (version, padding, extension and CSRCs are
/// handled by `parse`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub marker: bool,
    /// 7 bits.
    pub payload_type: u8,
    pub seq: u16,
    pub timestamp: u32,
    pub ssrc: u32,
}

const FIXED: usize = 12;

/// The header and the payload of an RTP packet; `None` if it is not a well-formed version 2
/// packet.
pub fn parse(packet: &[u8]) -> Option<(Header, &[u8])> {
    let fixed = packet.get(..FIXED)?;
    if fixed[0] >> 6 != 2 {
        return None;
    }
    let padding = fixed[0] & 0x20 != 0;
    let extension = fixed[0] & 0x10 != 0;
    let csrcs = usize::from(fixed[0] & 0x0F);
    let header = Header {
        marker: fixed[1] & 0x80 != 0,
        payload_type: fixed[1] & 0x7F,
        seq: u16::from_be_bytes([fixed[2], fixed[3]]),
        timestamp: u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]),
        ssrc: u32::from_be_bytes([fixed[8], fixed[9], fixed[10], fixed[11]]),
    };
    let mut start = FIXED + 4 * csrcs;
    if extension {
        // 16 bits profile-defined, 16 bits length in 32-bit words (not counting this word).
        let ext = packet.get(start..start + 4)?;
        start += 4 + 4 * usize::from(u16::from_be_bytes([ext[2], ext[3]]));
    }
    let mut end = packet.len();
    if padding {
        // The last byte counts the padding, itself included.
        let count = usize::from(*packet.last()?);
        if count == 0 {
            return None;
        }
        end = end.checked_sub(count)?;
    }
    let payload = packet.get(start..end)?;
    Some((header, payload))
}

/// Appends a packet: the 12-byte header, then `payload`.
pub fn write(header: &Header, payload: &[u8], out: &mut Vec<u8>) {
    out.reserve(FIXED + payload.len());
    out.push(2 << 6);
    out.push(u8::from(header.marker) << 7 | header.payload_type & 0x7F);
    out.extend_from_slice(&header.seq.to_be_bytes());
    out.extend_from_slice(&header.timestamp.to_be_bytes());
    out.extend_from_slice(&header.ssrc.to_be_bytes());
    out.extend_from_slice(payload);
}

/// One RFC 4733 telephone-event payload that is a DTMF digit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    /// `0`–`9`, `*`, `#`, `A`–`D`.
    pub digit: char,
    /// The end bit: the last packets of a press (sent three times).
    pub end: bool,
    /// The power level in −dBm0, 0–63.
    pub volume: u8,
    /// How long the press has lasted so far, in timestamp units (1/8000 s for G.711).
    pub duration: u16,
}

const DIGITS: [char; 16] = [
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#', 'A', 'B', 'C', 'D',
];

/// The DTMF digit of an RFC 4733 event code (0–15); `None` for any other event.
pub fn event_digit(code: u8) -> Option<char> {
    DIGITS.get(usize::from(code)).copied()
}

/// The RFC 4733 event code of a DTMF digit (`a`–`d` taken as `A`–`D`); `None` for any other
/// character.
pub fn digit_event(digit: char) -> Option<u8> {
    let digit = digit.to_ascii_uppercase();
    DIGITS
        .iter()
        .position(|&d| d == digit)
        .map(|code| code as u8)
}

/// The digit of a telephone-event payload; `None` if it is shorter than 4 bytes or its event
/// is no DTMF digit. Bytes past the first 4 are ignored.
pub fn parse_event(payload: &[u8]) -> Option<Event> {
    let bytes = payload.get(..4)?;
    Some(Event {
        digit: event_digit(bytes[0])?,
        end: bytes[1] & 0x80 != 0,
        volume: bytes[1] & 0x3F,
        duration: u16::from_be_bytes([bytes[2], bytes[3]]),
    })
}

/// Appends the 4-byte payload of `e` (volume masked to 6 bits). A `digit` that is no DTMF
/// digit (lower-case `a`–`d` are taken as `A`–`D`) writes nothing.
pub fn write_event(e: &Event, out: &mut Vec<u8>) {
    let Some(code) = digit_event(e.digit) else {
        return;
    };
    out.push(code);
    out.push(u8::from(e.end) << 7 | e.volume & 0x3F);
    out.extend_from_slice(&e.duration.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: Header = Header {
        marker: true,
        payload_type: 101,
        seq: 0xBEEF,
        timestamp: 0xDEAD_BEEF,
        ssrc: 0x1234_5678,
    };

    #[test]
    fn write_then_parse_gives_the_packet_back() {
        for header in [
            HEADER,
            Header {
                marker: false,
                payload_type: 0,
                ..HEADER
            },
        ] {
            for payload in [&b""[..], &[0xFF; 160][..]] {
                let mut out = Vec::new();
                write(&header, payload, &mut out);
                assert_eq!(out.len(), 12 + payload.len());
                assert_eq!(parse(&out), Some((header, payload)));
            }
        }
    }

    #[test]
    fn a_known_packet() {
        // V=2, M=1, PT=0, seq 1, ts 160, SSRC 0xCAFEBABE, payload 0xFF 0x7F.
        let bytes = [
            0x80, 0x80, 0x00, 0x01, 0x00, 0x00, 0x00, 0xA0, 0xCA, 0xFE, 0xBA, 0xBE, 0xFF, 0x7F,
        ];
        let (header, payload) = parse(&bytes).expect("valid");
        assert_eq!(
            header,
            Header {
                marker: true,
                payload_type: 0,
                seq: 1,
                timestamp: 160,
                ssrc: 0xCAFE_BABE
            }
        );
        assert_eq!(payload, [0xFF, 0x7F]);
    }

    /// A packet with the given flags and layout, written by hand.
    fn packet(csrcs: u8, extension_words: Option<u16>, payload: &[u8], padding: u8) -> Vec<u8> {
        let mut out = Vec::new();
        write(&HEADER, &[], &mut out);
        out[0] |= csrcs;
        out.extend(std::iter::repeat_n(0xCC, 4 * usize::from(csrcs)));
        if let Some(words) = extension_words {
            out[0] |= 0x10;
            out.extend_from_slice(&[0xBE, 0xDE]);
            out.extend_from_slice(&words.to_be_bytes());
            out.extend(std::iter::repeat_n(0xEE, 4 * usize::from(words)));
        }
        out.extend_from_slice(payload);
        if padding > 0 {
            out[0] |= 0x20;
            out.extend(std::iter::repeat_n(0, usize::from(padding) - 1));
            out.push(padding);
        }
        out
    }

    #[test]
    fn csrcs_extension_and_padding_are_skipped() {
        let payload = [1, 2, 3, 4, 5];
        for (csrcs, ext, pad) in [
            (0, None, 0),
            (2, None, 0),
            (0, Some(0), 0),
            (0, Some(3), 0),
            (1, Some(1), 0),
            (0, None, 1),
            (0, None, 3),
            (15, Some(2), 4),
        ] {
            let bytes = packet(csrcs, ext, &payload, pad);
            let (header, got) = parse(&bytes).expect("valid");
            assert_eq!(
                (header, got),
                (HEADER, &payload[..]),
                "{csrcs} {ext:?} {pad}"
            );
        }
    }

    #[test]
    fn malformed_packets_are_none() {
        // 12 + 8 (CSRCs) + 4 (extension header) + 4 (extension) + 4 (payload).
        let good = packet(2, Some(1), &[9; 4], 0);
        assert!(parse(&good).is_some());
        let mut cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty", vec![]),
            ("11 bytes", good[..11].to_vec()),
            ("CSRCs cut", good[..16].to_vec()),
            ("extension header cut", good[..22].to_vec()),
            ("extension cut", good[..27].to_vec()),
            ("padding longer than the packet", packet(0, None, &[], 0)),
            ("padding into the header", packet(0, None, &[1, 2], 0)),
            ("padding count 0", packet(0, None, &[1, 2], 0)),
        ];
        cases[5].1[0] |= 0x20;
        *cases[5].1.last_mut().expect("12 bytes") = 13;
        cases[6].1[0] |= 0x20;
        *cases[6].1.last_mut().expect("14 bytes") = 4;
        cases[7].1[0] |= 0x20;
        *cases[7].1.last_mut().expect("14 bytes") = 0;
        for version in [0u8, 1, 3] {
            let mut bytes = good.clone();
            bytes[0] = bytes[0] & 0x3F | version << 6;
            cases.push(("version", bytes));
        }
        for (what, bytes) in cases {
            assert_eq!(parse(&bytes), None, "{what}: {bytes:02x?}");
        }
    }

    /// Deterministic pseudo-random buffers of every length up to 80, biased to look like RTP
    /// (version 2, flags set): `parse` never panics and a payload it returns lies inside.
    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut state = 0x2545_F491_u32;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        for round in 0..20_000 {
            let len = round % 81;
            let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if let Some(first) = bytes.first_mut() {
                if round % 2 == 0 {
                    *first = *first & 0x3F | 0x80;
                }
            }
            if let Some((_, payload)) = parse(&bytes) {
                let start = payload.as_ptr() as usize - bytes.as_ptr() as usize;
                assert!(start >= 12 && start + payload.len() <= bytes.len());
            }
        }
    }

    #[test]
    fn events_read_and_write() {
        let cases: &[([u8; 4], Option<Event>)] = &[
            (
                [0, 0x0A, 0x00, 0xA0],
                Some(Event {
                    digit: '0',
                    end: false,
                    volume: 10,
                    duration: 160,
                }),
            ),
            (
                [9, 0x8A, 0x03, 0x20],
                Some(Event {
                    digit: '9',
                    end: true,
                    volume: 10,
                    duration: 800,
                }),
            ),
            (
                [10, 0x3F, 0, 0],
                Some(Event {
                    digit: '*',
                    end: false,
                    volume: 63,
                    duration: 0,
                }),
            ),
            (
                [11, 0xC0, 0xFF, 0xFF],
                Some(Event {
                    digit: '#',
                    end: true,
                    volume: 0,
                    duration: 65535,
                }),
            ),
            (
                [12, 0, 0, 1],
                Some(Event {
                    digit: 'A',
                    end: false,
                    volume: 0,
                    duration: 1,
                }),
            ),
            (
                [15, 0, 0, 1],
                Some(Event {
                    digit: 'D',
                    end: false,
                    volume: 0,
                    duration: 1,
                }),
            ),
            ([16, 0, 0, 1], None), // flash
            ([32, 0, 0, 1], None), // fax CED
            ([255, 0, 0, 1], None),
        ];
        for (bytes, event) in cases {
            assert_eq!(parse_event(bytes), *event, "{bytes:02x?}");
            if let Some(e) = event {
                let mut out = Vec::new();
                write_event(e, &mut out);
                // The reserved bit (0x40) is not written back.
                assert_eq!(out, [bytes[0], bytes[1] & 0xBF, bytes[2], bytes[3]]);
            }
        }
        assert_eq!(parse_event(&[1, 0, 0]), None);
        assert_eq!(parse_event(&[1, 0, 0, 5, 7, 7]).map(|e| e.digit), Some('1'));
        for digit in ['x', ' ', '\u{0}'] {
            let mut out = Vec::new();
            write_event(
                &Event {
                    digit,
                    end: false,
                    volume: 0,
                    duration: 0,
                },
                &mut out,
            );
            assert!(out.is_empty(), "{digit:?}");
        }
    }
}
