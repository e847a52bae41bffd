//! Audio someone uploads (a voicemail greeting in the cabinet) brought to the one format the
//! engine plays: [`convert`] reads a WAV file of any common shape — integer PCM of 8 to 32 bits
//! or 32-bit float, 4,000 to 192,000 Hz, one to eight channels — mixes the channels down and
//! resamples to 8000 Hz with a windowed-sinc low-pass (Blackman window, cut-off at 90 % of
//! the lower Nyquist frequency, 8 lobes a side, the kernel tabulated), then clips to 16 bits.
//!
//! Config files stay strict (`config::audio`: an operator converts them once with the `sox`
//! command it prints); a person uploading from a browser gets their file converted. The length
//! is checked from the header before a sample is read, so a huge claimed length costs nothing.

use std::io::Cursor;
use std::time::Duration;

/// The rate the engine plays.
const TARGET_RATE: u32 = 8000;
/// Accepted sample rates.
const RATES: std::ops::RangeInclusive<u32> = 4000..=192_000;
/// Zero crossings of the sinc on each side of the centre.
const LOBES: f64 = 8.0;
/// Kernel table entries per input sample.
const TABLE_STEPS: usize = 64;

/// Why an upload cannot be played.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    #[error("is not a WAV file")]
    NotWav,
    #[error("is a WAV file the server cannot read ({0})")]
    Unsupported(String),
    #[error("holds no audio")]
    Empty,
    #[error("is {} s long; at most {} s", .duration.as_secs(), .limit.as_secs())]
    TooLong { duration: Duration, limit: Duration },
    #[error("is cut short (fewer samples than its header says)")]
    Truncated,
}

/// The samples of the WAV file `bytes` as 8000 Hz mono 16-bit, for audio at most `limit` long.
pub fn convert(bytes: &[u8], limit: Duration) -> Result<Vec<i16>, ConvertError> {
    if bytes.get(0..4) != Some(b"RIFF") || bytes.get(8..12) != Some(b"WAVE") {
        return Err(ConvertError::NotWav);
    }
    let mut reader = hound::WavReader::new(Cursor::new(bytes)).map_err(|e| match e {
        hound::Error::IoError(_) => ConvertError::Truncated,
        other => ConvertError::Unsupported(other.to_string()),
    })?;
    let spec = reader.spec();
    if !RATES.contains(&spec.sample_rate) {
        return Err(ConvertError::Unsupported(format!(
            "{} Hz; from 4000 to 192000 Hz",
            spec.sample_rate
        )));
    }
    if !(1..=8).contains(&spec.channels) {
        return Err(ConvertError::Unsupported(format!(
            "{} channels; at most 8",
            spec.channels
        )));
    }
    let frames = reader.duration();
    if frames == 0 {
        return Err(ConvertError::Empty);
    }
    let duration =
        Duration::from_nanos(u64::from(frames) * 1_000_000_000 / u64::from(spec.sample_rate));
    if duration > limit {
        return Err(ConvertError::TooLong { duration, limit });
    }
    let samples: Vec<f32> = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Float, 32) => reader
            .samples::<f32>()
            .collect::<Result<_, _>>()
            .map_err(read_error)?,
        (hound::SampleFormat::Int, bits @ 8..=32) => {
            let scale = 1.0 / (1u64 << (bits - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.map(|s| s as f32 * scale))
                .collect::<Result<_, _>>()
                .map_err(read_error)?
        }
        (format, bits) => {
            return Err(ConvertError::Unsupported(format!(
                "{bits}-bit {}",
                match format {
                    hound::SampleFormat::Float => "float",
                    hound::SampleFormat::Int => "integer",
                }
            )))
        }
    };
    let channels = usize::from(spec.channels);
    if samples.len() < channels {
        return Err(ConvertError::Truncated);
    }
    let mono: Vec<f32> = samples
        .chunks_exact(channels)
        .map(|frame| frame.iter().sum::<f32>() / channels as f32)
        .collect();
    Ok(resample(&mono, spec.sample_rate, TARGET_RATE)
        .into_iter()
        .map(|s| (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
        .collect())
}

fn read_error(e: hound::Error) -> ConvertError {
    match e {
        hound::Error::IoError(_) => ConvertError::Truncated,
        other => ConvertError::Unsupported(other.to_string()),
    }
}

/// `input` at `from` Hz as samples at `to` Hz (see the module doc).
pub fn resample(input: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to || input.is_empty() {
        return input.to_vec();
    }
    // Input samples per output sample, and the cut-off in cycles per input sample.
    let step = f64::from(from) / f64::from(to);
    let cutoff = 0.45 * (1.0f64).min(1.0 / step);
    let half = LOBES / (2.0 * cutoff);
    let table = kernel_table(cutoff, half);
    let reach = half.ceil() as i64;
    let out_len = ((input.len() as f64) / step).floor().max(1.0) as usize;
    let last = input.len() as i64 - 1;
    (0..out_len)
        .map(|n| {
            let x = n as f64 * step;
            let centre = x.floor() as i64;
            let (mut sum, mut weight) = (0.0f64, 0.0f64);
            for k in (centre - reach + 1).max(0)..=(centre + reach).min(last) {
                let d = (x - k as f64).abs();
                if d >= half {
                    continue;
                }
                let at = d * TABLE_STEPS as f64;
                let i = at as usize;
                let frac = at - i as f64;
                let w = table[i] + (table[i + 1] - table[i]) * frac;
                sum += f64::from(input[k as usize]) * w;
                weight += w;
            }
            if weight.abs() < 1e-9 {
                0.0
            } else {
                (sum / weight) as f32
            }
        })
        .collect()
}

/// The windowed sinc at distances 0, 1/TABLE_STEPS, … up to `half` input samples (and one
/// past, for interpolation).
fn kernel_table(cutoff: f64, half: f64) -> Vec<f64> {
    let len = (half * TABLE_STEPS as f64).ceil() as usize + 2;
    (0..len)
        .map(|i| {
            let d = i as f64 / TABLE_STEPS as f64;
            if d >= half {
                return 0.0;
            }
            let arg = 2.0 * cutoff * d;
            let sinc = if arg == 0.0 {
                1.0
            } else {
                (std::f64::consts::PI * arg).sin() / (std::f64::consts::PI * arg)
            };
            // Blackman, centred: 1 at d = 0, 0 at d = half.
            let t = std::f64::consts::PI * (d / half + 1.0);
            let window = 0.42 - 0.5 * t.cos() + 0.08 * (2.0 * t).cos();
            sinc * window
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(rate: u32, channels: u16, bits: u16, float: bool, frames: &[f32]) -> Vec<u8> {
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: bits,
            sample_format: if float {
                hound::SampleFormat::Float
            } else {
                hound::SampleFormat::Int
            },
        };
        let mut out = Cursor::new(Vec::new());
        {
            let mut w = hound::WavWriter::new(&mut out, spec).unwrap();
            for &s in frames {
                for _ in 0..channels {
                    if float {
                        w.write_sample(s).unwrap();
                    } else {
                        let max = ((1i64 << (bits - 1)) - 1) as f32;
                        w.write_sample((s * max) as i32).unwrap();
                    }
                }
            }
            w.finalize().unwrap();
        }
        out.into_inner()
    }

    fn tone(rate: u32, hz: f32, seconds: f32) -> Vec<f32> {
        (0..(rate as f32 * seconds) as usize)
            .map(|i| 0.5 * (2.0 * std::f32::consts::PI * hz * i as f32 / rate as f32).sin())
            .collect()
    }

    /// Amplitude of `hz` in `pcm` (8000 Hz), by correlation.
    fn level(pcm: &[i16], hz: f32) -> f32 {
        let (mut re, mut im) = (0.0f32, 0.0f32);
        for (i, &s) in pcm.iter().enumerate() {
            let p = 2.0 * std::f32::consts::PI * hz * i as f32 / 8000.0;
            re += f32::from(s) * p.cos();
            im += f32::from(s) * p.sin();
        }
        2.0 * (re * re + im * im).sqrt() / pcm.len() as f32 / 32768.0
    }

    #[test]
    fn a_stereo_44k_file_becomes_8k_mono_with_its_tone_kept() {
        let bytes = wav(44100, 2, 16, false, &tone(44100, 440.0, 1.0));
        let pcm = convert(&bytes, Duration::from_secs(120)).unwrap();
        assert_eq!(pcm.len(), 8000);
        let kept = level(&pcm[200..7800], 440.0);
        assert!((kept - 0.5).abs() < 0.02, "440 Hz at {kept}");
    }

    #[test]
    fn what_8k_cannot_carry_is_filtered_out_not_folded_back() {
        // 6 kHz at 48 kHz would alias to 2 kHz if decimated without the low-pass.
        let bytes = wav(48000, 1, 24, false, &tone(48000, 6000.0, 0.5));
        let pcm = convert(&bytes, Duration::from_secs(120)).unwrap();
        let alias = level(&pcm[200..3800], 2000.0);
        assert!(alias < 0.005, "2 kHz alias at {alias}");
    }

    #[test]
    fn float_and_8k_files_are_read_and_an_8k_file_is_unchanged() {
        let t = tone(8000, 1000.0, 0.25);
        let float = convert(
            &wav(16000, 1, 32, true, &tone(16000, 1000.0, 0.25)),
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(float.len(), 2000);
        let same = convert(&wav(8000, 1, 16, false, &t), Duration::from_secs(5)).unwrap();
        let expected: Vec<i16> = t.iter().map(|s| (s * 32767.0) as i16).collect();
        let off = same
            .iter()
            .zip(&expected)
            .map(|(a, b)| (a - b).abs())
            .max()
            .unwrap();
        assert!(off <= 1, "{off}");
    }

    #[test]
    fn bad_files_are_refused_with_their_reason() {
        let limit = Duration::from_secs(2);
        assert_eq!(convert(b"hello", limit), Err(ConvertError::NotWav));
        assert_eq!(
            convert(&wav(8000, 1, 16, false, &[]), limit),
            Err(ConvertError::Empty)
        );
        let long = wav(8000, 1, 16, false, &vec![0.0; 8000 * 3]);
        assert!(matches!(
            convert(&long, limit),
            Err(ConvertError::TooLong { .. })
        ));
        let mut cut = wav(8000, 1, 16, false, &vec![0.1; 8000]);
        cut.truncate(cut.len() - 100);
        assert_eq!(convert(&cut, limit), Err(ConvertError::Truncated));
        let slow = wav(2000, 1, 16, false, &[0.0; 100]);
        assert!(matches!(
            convert(&slow, limit),
            Err(ConvertError::Unsupported(_))
        ));
        // Every prefix of a good file is refused or read, never a panic.
        let good = wav(22050, 2, 16, false, &tone(22050, 300.0, 0.05));
        for end in 0..good.len() {
            let _ = convert(&good[..end], limit);
        }
    }
}
