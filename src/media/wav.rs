//! WAV in the one format the media side speaks: 8000 Hz, mono, 16-bit little-endian PCM.
//! [`read`] takes a whole file's bytes to its samples — walking the RIFF chunks (skipping
//! `LIST`, `fact` and any other chunk, odd-sized chunks padded to even), accepting format 1 or
//! `WAVE_FORMAT_EXTENSIBLE` with the PCM subformat — and says exactly what is wrong with
//! anything else ([`WavError`]); it never panics on any input. [`write`] makes the canonical
//! 44-byte-header file that [`read`] (and every player) reads back.
//!
//! `config::audio` keeps its own checker for prompt files named in a config (it reports
//! durations and a sox command); this module is for audio the server makes and plays.

use std::fmt;

/// The sample rate, in Hz.
pub const SAMPLE_RATE: u32 = 8000;
/// The channel count.
pub const CHANNELS: u16 = 1;
/// Bits per sample.
pub const BITS_PER_SAMPLE: u16 = 16;

/// `WAVE_FORMAT_PCM`.
const FORMAT_PCM: u16 = 1;
/// `WAVE_FORMAT_EXTENSIBLE`: the real format is the first two bytes of the subformat GUID.
const FORMAT_EXTENSIBLE: u16 = 0xFFFE;
/// The tail shared by every `KSDATAFORMAT_SUBTYPE_*` GUID after its first two bytes.
const SUBFORMAT_TAIL: [u8; 14] = [
    0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
];

/// Why bytes are not a WAV file in our format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WavError {
    /// Fewer than 12 bytes, or not `RIFF....WAVE`.
    NotRiffWave,
    /// A chunk header or body runs past the end of the bytes.
    Truncated {
        /// The chunk, e.g. `fmt ` or `data`.
        chunk: String,
        /// The bytes it says it holds.
        declared: u64,
        /// The bytes there are.
        available: u64,
    },
    /// No `fmt ` chunk before the `data` chunk.
    NoFormat,
    /// The `fmt ` chunk is too short for what it declares.
    BadFormatChunk {
        /// Its size.
        size: u32,
    },
    /// Not integer PCM (format code, or the extensible subformat's code).
    NotPcm {
        /// The format code found.
        format: u16,
    },
    /// Wrong sample rate, channel count or sample size.
    WrongShape {
        /// Samples per second.
        sample_rate: u32,
        /// Channels.
        channels: u16,
        /// Bits per sample.
        bits_per_sample: u16,
    },
    /// No `data` chunk.
    NoData,
    /// The `data` chunk holds an odd number of bytes (half a sample).
    OddData {
        /// Its size.
        size: u32,
    },
}

impl fmt::Display for WavError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WavError::NotRiffWave => write!(f, "not a WAV file (no RIFF/WAVE header)"),
            WavError::Truncated {
                chunk,
                declared,
                available,
            } => write!(
                f,
                "truncated WAV file: the {chunk:?} chunk declares {declared} bytes, only {available} are there"
            ),
            WavError::NoFormat => write!(f, "WAV file without a \"fmt \" chunk before its data"),
            WavError::BadFormatChunk { size } => {
                write!(f, "WAV \"fmt \" chunk of {size} bytes is too short")
            }
            WavError::NotPcm { format } => write!(
                f,
                "WAV file is not integer PCM (format code {format:#06x}); expected 8000 Hz mono 16-bit PCM"
            ),
            WavError::WrongShape {
                sample_rate,
                channels,
                bits_per_sample,
            } => write!(
                f,
                "WAV file is {sample_rate} Hz, {channels} channel(s), {bits_per_sample}-bit; expected 8000 Hz mono 16-bit PCM"
            ),
            WavError::NoData => write!(f, "WAV file without a \"data\" chunk"),
            WavError::OddData { size } => {
                write!(f, "WAV data chunk of {size} bytes ends mid-sample")
            }
        }
    }
}

impl std::error::Error for WavError {}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Checks a `fmt ` chunk's body: PCM (plain or extensible), 8000 Hz, mono, 16-bit.
fn check_format(body: &[u8]) -> Result<(), WavError> {
    let size = u32::try_from(body.len()).unwrap_or(u32::MAX);
    let short = || WavError::BadFormatChunk { size };
    let format = u16_at(body, 0).ok_or_else(short)?;
    let channels = u16_at(body, 2).ok_or_else(short)?;
    let sample_rate = u32_at(body, 4).ok_or_else(short)?;
    let bits_per_sample = u16_at(body, 14).ok_or_else(short)?;
    let format = if format == FORMAT_EXTENSIBLE {
        // cbSize (2) validBits (2) channelMask (4) subformat GUID (16), after the 16 bytes.
        let guid = body.get(24..40).ok_or_else(short)?;
        let code = u16::from_le_bytes([guid[0], guid[1]]);
        if guid[2..] != SUBFORMAT_TAIL {
            return Err(WavError::NotPcm {
                format: FORMAT_EXTENSIBLE,
            });
        }
        code
    } else {
        format
    };
    if format != FORMAT_PCM {
        return Err(WavError::NotPcm { format });
    }
    if sample_rate != SAMPLE_RATE || channels != CHANNELS || bits_per_sample != BITS_PER_SAMPLE {
        return Err(WavError::WrongShape {
            sample_rate,
            channels,
            bits_per_sample,
        });
    }
    Ok(())
}

/// The samples of a WAV file in our format (8000 Hz, mono, 16-bit PCM); a [`WavError`] saying
/// what is wrong otherwise. Chunks other than `fmt ` and `data` are skipped. Bytes after the
/// RIFF size, or after the `data` chunk, are ignored.
pub fn read(bytes: &[u8]) -> Result<Vec<i16>, WavError> {
    if bytes.get(0..4) != Some(b"RIFF") || bytes.get(8..12) != Some(b"WAVE") {
        return Err(WavError::NotRiffWave);
    }
    // The RIFF size bounds the chunks; a larger claim than the bytes is held to the bytes
    // (writers that streamed leave it 0 or too large), so chunk sizes decide truncation.
    let riff_end = u32_at(bytes, 4)
        .and_then(|n| usize::try_from(n).ok())
        .and_then(|n| n.checked_add(8))
        .filter(|&end| end >= 12 && end <= bytes.len())
        .unwrap_or(bytes.len());
    let mut at = 12usize;
    let mut format_seen = false;
    while at < riff_end {
        let name = bytes.get(at..at + 4).unwrap_or_default();
        let name_text = String::from_utf8_lossy(name).into_owned();
        let Some(size) = u32_at(bytes, at + 4) else {
            return Err(WavError::Truncated {
                chunk: name_text,
                declared: 8,
                available: (bytes.len() - at) as u64,
            });
        };
        let start = at + 8;
        let available = bytes.len().saturating_sub(start);
        let body = usize::try_from(size)
            .ok()
            .and_then(|n| bytes.get(start..start.checked_add(n)?));
        match name {
            b"fmt " => {
                let body = body.ok_or(WavError::Truncated {
                    chunk: name_text,
                    declared: u64::from(size),
                    available: available as u64,
                })?;
                check_format(body)?;
                format_seen = true;
            }
            b"data" => {
                if !format_seen {
                    return Err(WavError::NoFormat);
                }
                let body = body.ok_or(WavError::Truncated {
                    chunk: name_text,
                    declared: u64::from(size),
                    available: available as u64,
                })?;
                if body.len() % 2 != 0 {
                    return Err(WavError::OddData { size });
                }
                return Ok(body
                    .chunks_exact(2)
                    .map(|s| i16::from_le_bytes([s[0], s[1]]))
                    .collect());
            }
            _ => {}
        }
        // Chunks are padded to an even size.
        let padded = u64::from(size) + u64::from(size % 2);
        at = match usize::try_from(padded)
            .ok()
            .and_then(|p| start.checked_add(p))
        {
            Some(next) => next,
            None => break,
        };
    }
    Err(if format_seen {
        WavError::NoData
    } else {
        WavError::NoFormat
    })
}

/// `pcm` as a WAV file: the canonical 44-byte header (RIFF, `fmt ` PCM 8000 Hz mono 16-bit,
/// `data`) and the samples little-endian. A recording too long for a RIFF size (over 2^31
/// samples, 74 hours) is cut to what fits.
pub fn write(pcm: &[i16]) -> Vec<u8> {
    const MAX_SAMPLES: usize = (u32::MAX as usize - 36) / 2;
    let pcm = &pcm[..pcm.len().min(MAX_SAMPLES)];
    let data_len = (pcm.len() * 2) as u32;
    let byte_rate = SAMPLE_RATE * u32::from(CHANNELS) * u32::from(BITS_PER_SAMPLE / 8);
    let block_align = CHANNELS * (BITS_PER_SAMPLE / 8);
    let mut out = Vec::with_capacity(44 + pcm.len() * 2);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVE");
    out.extend_from_slice(b"fmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&FORMAT_PCM.to_le_bytes());
    out.extend_from_slice(&CHANNELS.to_le_bytes());
    out.extend_from_slice(&SAMPLE_RATE.to_le_bytes());
    out.extend_from_slice(&byte_rate.to_le_bytes());
    out.extend_from_slice(&block_align.to_le_bytes());
    out.extend_from_slice(&BITS_PER_SAMPLE.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in pcm {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<i16> {
        (0..1000i32)
            .map(|i| ((i * 77) % 65536 - 32768) as i16)
            .chain([i16::MIN, -1, 0, 1, i16::MAX])
            .collect()
    }

    /// A file with the given `fmt ` body and extra chunks before `data`.
    fn file(fmt: &[u8], before_data: &[(&[u8; 4], &[u8])], pcm: &[i16]) -> Vec<u8> {
        let mut chunks = Vec::new();
        let mut chunk = |name: &[u8; 4], body: &[u8]| {
            chunks.extend_from_slice(name);
            chunks.extend_from_slice(&(body.len() as u32).to_le_bytes());
            chunks.extend_from_slice(body);
            if body.len() % 2 == 1 {
                chunks.push(0);
            }
        };
        chunk(b"fmt ", fmt);
        for (name, body) in before_data {
            chunk(name, body);
        }
        let data: Vec<u8> = pcm.iter().flat_map(|s| s.to_le_bytes()).collect();
        chunk(b"data", &data);
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&(4 + chunks.len() as u32).to_le_bytes());
        out.extend_from_slice(b"WAVE");
        out.extend_from_slice(&chunks);
        out
    }

    fn fmt_body(format: u16, channels: u16, rate: u32, bits: u16) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&format.to_le_bytes());
        b.extend_from_slice(&channels.to_le_bytes());
        b.extend_from_slice(&rate.to_le_bytes());
        b.extend_from_slice(&(rate * u32::from(channels) * u32::from(bits / 8)).to_le_bytes());
        b.extend_from_slice(&(channels * bits / 8).to_le_bytes());
        b.extend_from_slice(&bits.to_le_bytes());
        b
    }

    fn extensible(subformat: u16) -> Vec<u8> {
        let mut b = fmt_body(FORMAT_EXTENSIBLE, 1, 8000, 16);
        b.extend_from_slice(&22u16.to_le_bytes());
        b.extend_from_slice(&16u16.to_le_bytes());
        b.extend_from_slice(&4u32.to_le_bytes());
        b.extend_from_slice(&subformat.to_le_bytes());
        b.extend_from_slice(&SUBFORMAT_TAIL);
        b
    }

    #[test]
    fn write_then_read_gives_the_samples_back_with_a_canonical_header() {
        let pcm = samples();
        let bytes = write(&pcm);
        assert_eq!(bytes.len(), 44 + pcm.len() * 2);
        assert_eq!(&bytes[..4], b"RIFF");
        assert_eq!(&bytes[36..40], b"data");
        assert_eq!(bytes, file(&fmt_body(1, 1, 8000, 16), &[], &pcm));
        assert_eq!(read(&bytes).unwrap(), pcm);
        assert_eq!(read(&write(&[])).unwrap(), Vec::<i16>::new());
    }

    #[test]
    fn what_hound_writes_reads_back() {
        let pcm = samples();
        let mut cursor = std::io::Cursor::new(Vec::new());
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::new(&mut cursor, spec).unwrap();
        for s in &pcm {
            w.write_sample(*s).unwrap();
        }
        w.finalize().unwrap();
        assert_eq!(read(cursor.get_ref()).unwrap(), pcm);
    }

    #[test]
    fn other_chunks_are_skipped_with_odd_padding_and_extensible_pcm_is_pcm() {
        let pcm = samples();
        let fmt = fmt_body(1, 1, 8000, 16);
        let bytes = file(
            &fmt,
            &[(b"LIST", b"INFOISFT\x03\0\0\0ab\0"), (b"fact", b"abc")],
            &pcm,
        );
        assert_eq!(read(&bytes).unwrap(), pcm);
        // An 18-byte fmt (cbSize 0), as some writers make.
        let mut fmt18 = fmt.clone();
        fmt18.extend_from_slice(&[0, 0]);
        assert_eq!(read(&file(&fmt18, &[], &pcm)).unwrap(), pcm);
        assert_eq!(read(&file(&extensible(1), &[], &pcm)).unwrap(), pcm);
        assert_eq!(
            read(&file(&extensible(3), &[], &pcm)),
            Err(WavError::NotPcm { format: 3 })
        );
        // Trailing bytes after the data chunk are ignored.
        let mut trailing = write(&pcm);
        trailing.extend_from_slice(b"junk");
        assert_eq!(read(&trailing).unwrap(), pcm);
    }

    #[test]
    fn every_other_format_is_refused_with_a_clear_error() {
        let pcm = [1i16, 2, 3];
        let cases: Vec<(Vec<u8>, WavError, &str)> = vec![
            (
                b"OggS....".to_vec(),
                WavError::NotRiffWave,
                "not a WAV file",
            ),
            (
                file(&fmt_body(3, 1, 8000, 32), &[], &pcm),
                WavError::NotPcm { format: 3 },
                "not integer PCM",
            ),
            (
                file(&fmt_body(6, 1, 8000, 8), &[], &pcm),
                WavError::NotPcm { format: 6 },
                "format code 0x0006",
            ),
            (
                file(&fmt_body(1, 2, 8000, 16), &[], &pcm),
                WavError::WrongShape {
                    sample_rate: 8000,
                    channels: 2,
                    bits_per_sample: 16,
                },
                "2 channel(s)",
            ),
            (
                file(&fmt_body(1, 1, 44100, 16), &[], &pcm),
                WavError::WrongShape {
                    sample_rate: 44100,
                    channels: 1,
                    bits_per_sample: 16,
                },
                "44100 Hz",
            ),
            (
                file(&fmt_body(1, 1, 8000, 8), &[], &pcm),
                WavError::WrongShape {
                    sample_rate: 8000,
                    channels: 1,
                    bits_per_sample: 8,
                },
                "8-bit",
            ),
            (
                file(&fmt_body(1, 1, 8000, 16)[..10], &[], &pcm),
                WavError::BadFormatChunk { size: 10 },
                "too short",
            ),
        ];
        for (bytes, expected, words) in cases {
            let e = read(&bytes).unwrap_err();
            assert_eq!(e, expected);
            assert!(e.to_string().contains(words), "{e}");
        }
        // data before fmt, no data at all
        let mut no_data = write(&pcm);
        no_data.truncate(36);
        no_data[4..8].copy_from_slice(&28u32.to_le_bytes());
        assert_eq!(read(&no_data), Err(WavError::NoData));
        let mut data_first = b"RIFF\x0e\0\0\0WAVEdata\x02\0\0\0\x01\0".to_vec();
        assert_eq!(read(&data_first), Err(WavError::NoFormat));
        data_first.truncate(12);
        assert_eq!(read(&data_first), Err(WavError::NoFormat));
        // odd data
        let mut odd = write(&pcm);
        odd[40..44].copy_from_slice(&5u32.to_le_bytes());
        assert_eq!(read(&odd), Err(WavError::OddData { size: 5 }));
    }

    #[test]
    fn truncated_data_is_an_error_naming_the_chunk() {
        let bytes = write(&samples());
        let cut = &bytes[..bytes.len() - 3];
        let e = read(cut).unwrap_err();
        assert!(
            matches!(&e, WavError::Truncated { chunk, declared, .. } if chunk == "data" && *declared == 2010),
            "{e:?}"
        );
        assert!(e.to_string().contains("truncated"), "{e}");
    }

    #[test]
    fn every_prefix_and_garbage_never_panics() {
        let good = file(&extensible(1), &[(b"LIST", b"odd")], &samples()[..50]);
        for n in 0..good.len() {
            let _ = read(&good[..n]);
        }
        // Every byte flipped, every size field maxed.
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0xFF;
            let _ = read(&bad);
        }
        let mut huge = good.clone();
        huge[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        huge[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(read(&huge), Err(WavError::Truncated { .. })));
        // Pseudo-random garbage behind a valid RIFF/WAVE header.
        let mut x: u32 = 0x1234_5678;
        for len in [0usize, 3, 12, 13, 20, 64, 300] {
            for _ in 0..200 {
                let mut bytes = b"RIFF\0\0\0\0WAVE".to_vec();
                for _ in 0..len {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    bytes.push(x as u8);
                }
                let _ = read(&bytes);
            }
        }
    }
}
