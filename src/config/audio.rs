//! Checking an audio file named in the config before the engine has to play it: the file
//! exists, is a WAV file, is in the one format the engine plays (8000 Hz, mono, 16-bit PCM),
//! holds some audio, is not longer than its use allows ([`Use::limit`]), and holds all the
//! samples its header promises.
//!
//! Errors describe the file, not where it is: the caller prints the path and the config location
//! in front of the message ("`prompts/welcome.wav` is 44100 Hz, stereo, ..."). How to fix one
//! ([`AudioError::fix`]) names the real file: the exact `sox` command that converts or shortens
//! it.

use super::clock::format_duration;
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::time::Duration;

/// The sample rate the engine plays, in Hz.
pub const ENGINE_SAMPLE_RATE: u32 = 8000;

/// The channel count the engine plays.
pub const ENGINE_CHANNELS: u16 = 1;

/// The bits per sample the engine plays (signed PCM).
pub const ENGINE_BITS_PER_SAMPLE: u16 = 16;

/// The longest audio file any use accepts ([`check_prompt`] stops there without reading the
/// samples).
pub const MAX_PROMPT_DURATION: Duration = Duration::from_secs(5 * 60);

/// What an audio file named in the config is played as; each use has its own length limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Use {
    /// A menu's `prompt`, replayed while the caller chooses: at most 5 minutes.
    MenuPrompt,
    /// A number's `greeting`, played instead of ringback: at most 5 minutes.
    NumberGreeting,
    /// A voicemail greeting (a person's, a department's, or the tenant's): at most 2 minutes.
    VoicemailGreeting,
    /// A replacement for another built-in prompt (after hours, invalid choice, the impatient
    /// callers' offer, callback confirmed): at most 2 minutes.
    Prompt,
}

impl Use {
    /// The longest file this use accepts.
    pub fn limit(self) -> Duration {
        match self {
            Use::MenuPrompt | Use::NumberGreeting => MAX_PROMPT_DURATION,
            Use::VoicemailGreeting | Use::Prompt => Duration::from_secs(2 * 60),
        }
    }

    /// The use in words, e.g. "a menu prompt".
    pub fn words(self) -> &'static str {
        match self {
            Use::MenuPrompt => "a menu prompt",
            Use::NumberGreeting => "a number's greeting",
            Use::VoicemailGreeting => "a voicemail greeting",
            Use::Prompt => "a prompt",
        }
    }
}

/// How samples are encoded in a WAV file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SampleKind {
    /// Integer PCM.
    Pcm,
    /// IEEE floating point.
    Float,
}

/// What a WAV file holds, as read from its header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AudioInfo {
    /// Samples per second, per channel.
    pub sample_rate: u32,
    /// Number of channels.
    pub channels: u16,
    /// Bits per sample.
    pub bits_per_sample: u16,
    /// Integer PCM or float.
    pub format: SampleKind,
    /// Play time.
    pub duration: Duration,
}

impl AudioInfo {
    /// Whether this is the format the engine plays (length aside).
    pub fn is_engine_format(&self) -> bool {
        self.sample_rate == ENGINE_SAMPLE_RATE
            && self.channels == ENGINE_CHANNELS
            && self.bits_per_sample == ENGINE_BITS_PER_SAMPLE
            && self.format == SampleKind::Pcm
    }

    /// What differs from the engine format, e.g. "the sample rate and channels differ".
    fn differences(&self) -> String {
        let mut wrong = Vec::new();
        if self.sample_rate != ENGINE_SAMPLE_RATE {
            wrong.push("sample rate");
        }
        if self.channels != ENGINE_CHANNELS {
            wrong.push("channels");
        }
        if self.bits_per_sample != ENGINE_BITS_PER_SAMPLE {
            wrong.push("bit depth");
        }
        if self.format != SampleKind::Pcm {
            wrong.push("sample encoding");
        }
        match wrong.split_last() {
            Some((last, [])) => format!("the {last} differs"),
            Some((last, rest)) => format!("the {} and {last} differ", rest.join(", ")),
            None => "nothing differs".to_owned(),
        }
    }
}

/// `44100 Hz, stereo, 16-bit PCM` (the duration is not shown).
impl fmt::Display for AudioInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} Hz, ", self.sample_rate)?;
        match self.channels {
            1 => f.write_str("mono")?,
            2 => f.write_str("stereo")?,
            n => write!(f, "{n} channels")?,
        }
        let kind = match self.format {
            SampleKind::Pcm => "PCM",
            SampleKind::Float => "float",
        };
        write!(f, ", {}-bit {kind}", self.bits_per_sample)
    }
}

/// Why a prompt file cannot be played. Messages describe the file without naming it, as a
/// predicate: "is not a WAV file ...".
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AudioError {
    /// The file does not exist.
    #[error("does not exist")]
    Missing,
    /// The file exists but reading it failed; holds the I/O error text.
    #[error("cannot be read: {0}")]
    Unreadable(String),
    /// The file is not a WAV file hound can read. `detail` is `None` when the RIFF/WAVE header is
    /// missing, otherwise what is wrong inside the WAV structure.
    #[error("{}", not_wav_message(.detail.as_deref()))]
    NotWav { detail: Option<String> },
    /// A readable WAV file in a format other than 8000 Hz mono 16-bit PCM.
    #[error(
        "is {found}, but the engine plays 8000 Hz mono 16-bit PCM ({})",
        found.differences()
    )]
    WrongFormat { found: AudioInfo },
    /// A WAV file with no samples.
    #[error("holds no audio (zero samples); record or export it again")]
    Empty,
    /// A file longer than its use allows.
    #[error(
        "is {} long, and {} may be at most {}",
        format_duration(*.duration),
        .used_as.words(),
        format_duration(.used_as.limit())
    )]
    TooLong { duration: Duration, used_as: Use },
    /// The data chunk holds fewer samples than the header says (a cut-off copy or upload).
    #[error(
        "is cut short: its header promises {expected} samples but the file holds {found}; copy or \
         export it again"
    )]
    Truncated { expected: u32, found: u32 },
}

impl AudioError {
    /// A stable kebab-case name for this kind of error, e.g. `audio-format`.
    pub fn code(&self) -> &'static str {
        match self {
            AudioError::Missing => "audio-missing",
            AudioError::Unreadable(_) => "audio-unreadable",
            AudioError::NotWav { .. } => "audio-not-wav",
            AudioError::WrongFormat { .. } => "audio-format",
            AudioError::Empty => "audio-empty",
            AudioError::TooLong { .. } => "audio-too-long",
            AudioError::Truncated { .. } => "audio-truncated",
        }
    }

    /// How to fix it, naming the real file: `file` is where it was looked for and `written`
    /// how the config names it. `None` when there is no command to give (a missing, empty or
    /// cut-short file).
    pub fn fix(&self, file: &Path, written: &str) -> Option<String> {
        let beside = |suffix: &str| {
            let stem = file
                .file_stem()
                .map_or_else(|| "audio".into(), |s| s.to_string_lossy());
            let name = format!("{stem}{suffix}.wav");
            (
                file.with_file_name(&name),
                Path::new(written).with_file_name(&name),
            )
        };
        match self {
            AudioError::WrongFormat { .. } | AudioError::NotWav { .. } => {
                let (out, out_written) = beside("-8k");
                let hint = match self {
                    AudioError::NotWav { detail: None } => {
                        " (if it is audio in another format such as MP3; sox reads MP3 with the \
                         libsox-fmt-mp3 package)"
                    }
                    _ => "",
                };
                Some(format!(
                    "convert it{hint}: sox {} -r 8000 -c 1 -b 16 -e signed-integer {} — then \
                     name `{}` here",
                    shell_quote(file),
                    shell_quote(&out),
                    out_written.display()
                ))
            }
            AudioError::TooLong { used_as, .. } => {
                let (out, out_written) = beside("-short");
                let limit = used_as.limit().as_secs();
                Some(format!(
                    "shorten it, e.g. keep the first {}: sox {} {} trim 0 {}:{:02} — then name \
                     `{}` here",
                    format_duration(used_as.limit()),
                    shell_quote(file),
                    shell_quote(&out),
                    limit / 60,
                    limit % 60,
                    out_written.display()
                ))
            }
            AudioError::Missing
            | AudioError::Unreadable(_)
            | AudioError::Empty
            | AudioError::Truncated { .. } => None,
        }
    }
}

/// `path` as one shell word: as it is when that is safe, otherwise in single quotes.
fn shell_quote(path: &Path) -> String {
    let text = path.to_string_lossy();
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@%=".contains(c));
    if plain {
        text.into_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// The largest audio file opened (five minutes of the engine's format is about 4.8 MB).
pub const MAX_AUDIO_BYTES: u64 = 64 * 1024 * 1024;

/// Opens `path` for reading if it is a regular file of at most [`MAX_AUDIO_BYTES`]: opened
/// without blocking (a FIFO named as a prompt would otherwise hang whoever opens it) and checked
/// on the open file, so what is read is what was checked.
pub fn open_regular(path: &Path) -> io::Result<File> {
    let (file, meta) = super::load::open_nonblocking(path)?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "it is not a regular file (a directory, FIFO, socket or device)",
        ));
    }
    if meta.len() > MAX_AUDIO_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "it is {} bytes, more than audio may be (64 MiB)",
                meta.len()
            ),
        ));
    }
    Ok(file)
}

fn not_wav_message(detail: Option<&str>) -> String {
    match detail {
        None => "is not a WAV file (RIFF/WAVE header not found)".to_owned(),
        Some(d) => format!("is not a WAV file the engine can read ({d})"),
    }
}

/// Checks that `path` is audio the engine can play: an existing, readable WAV file of
/// 8000 Hz mono 16-bit PCM, with at least one sample, at most [`MAX_PROMPT_DURATION`] long (the
/// longest any use allows: see [`check_use`] for the use's own limit), and not cut short.
/// Problems are reported in that order, the first one found only.
pub fn check_prompt(path: &Path) -> Result<AudioInfo, AudioError> {
    let unreadable = |e: io::Error| AudioError::Unreadable(e.to_string());
    let mut file = open_regular(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => AudioError::Missing,
        _ => unreadable(e),
    })?;
    if !has_wave_header(&mut file).map_err(unreadable)? {
        return Err(AudioError::NotWav { detail: None });
    }
    file.seek(SeekFrom::Start(0)).map_err(unreadable)?;
    let mut reader = hound::WavReader::new(BufReader::new(file)).map_err(hound_error)?;
    let spec = reader.spec();
    let frames = reader.duration();
    if spec.sample_rate == 0 {
        return Err(AudioError::NotWav {
            detail: Some("its sample rate is 0".to_owned()),
        });
    }
    let info = AudioInfo {
        sample_rate: spec.sample_rate,
        channels: spec.channels,
        bits_per_sample: spec.bits_per_sample,
        format: match spec.sample_format {
            hound::SampleFormat::Int => SampleKind::Pcm,
            hound::SampleFormat::Float => SampleKind::Float,
        },
        duration: Duration::from_nanos(
            u64::from(frames) * 1_000_000_000 / u64::from(spec.sample_rate),
        ),
    };
    if reader.len() == 0 {
        return Err(AudioError::Empty);
    }
    if !info.is_engine_format() {
        return Err(AudioError::WrongFormat { found: info });
    }
    if info.duration > MAX_PROMPT_DURATION {
        // Reported as too long for the most generous use; `check_use` names the real one.
        return Err(AudioError::TooLong {
            duration: info.duration,
            used_as: Use::MenuPrompt,
        });
    }
    let expected = reader.len();
    let mut found = 0u32;
    for sample in reader.samples::<i16>() {
        match sample {
            Ok(_) => found += 1,
            Err(hound::Error::IoError(e)) if is_short_read(&e) => {
                return Err(AudioError::Truncated { expected, found });
            }
            Err(e) => return Err(hound_error(e)),
        }
    }
    Ok(info)
}

/// The verdict of [`check_prompt`] for a file put to `used_as`: its own length limit applied,
/// and a file too long for every use reported as too long for this one.
pub fn check_use(
    checked: &Result<AudioInfo, AudioError>,
    used_as: Use,
) -> Result<AudioInfo, AudioError> {
    match checked {
        Ok(info) if info.duration > used_as.limit() => Err(AudioError::TooLong {
            duration: info.duration,
            used_as,
        }),
        Ok(info) => Ok(*info),
        Err(AudioError::TooLong { duration, .. }) => Err(AudioError::TooLong {
            duration: *duration,
            used_as,
        }),
        Err(e) => Err(e.clone()),
    }
}

/// Whether the file starts with `RIFF`, a length, and `WAVE`.
fn has_wave_header(file: &mut File) -> io::Result<bool> {
    let mut header = Vec::with_capacity(12);
    file.take(12).read_to_end(&mut header)?;
    Ok(header.len() == 12 && &header[0..4] == b"RIFF" && &header[8..12] == b"WAVE")
}

/// Whether `e` is hound reaching the end of the file early (hound reports it as
/// `ErrorKind::Other` with a fixed message, not as `UnexpectedEof`).
fn is_short_read(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::UnexpectedEof
        || (e.kind() == io::ErrorKind::Other && e.to_string() == "Failed to read enough bytes.")
}

fn hound_error(e: hound::Error) -> AudioError {
    let detail = match e {
        hound::Error::IoError(e) if is_short_read(&e) => "its header is cut short".to_owned(),
        hound::Error::IoError(e) => return AudioError::Unreadable(e.to_string()),
        hound::Error::FormatError(reason) => reason.to_owned(),
        hound::Error::Unsupported => {
            "its encoding is neither PCM nor float, e.g. A-law, mu-law or ADPCM".to_owned()
        }
        other => other.to_string(),
    };
    AudioError::NotWav {
        detail: Some(detail),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hound::{SampleFormat, WavSpec, WavWriter};
    use std::path::PathBuf;

    fn spec(sample_rate: u32, channels: u16, bits: u16, format: SampleFormat) -> WavSpec {
        WavSpec {
            channels,
            sample_rate,
            bits_per_sample: bits,
            sample_format: format,
        }
    }

    /// Writes `frames` frames of silence with `spec` to `dir/name`.
    fn write_wav(dir: &Path, name: &str, spec: WavSpec, frames: u32) -> PathBuf {
        let path = dir.join(name);
        let mut w = WavWriter::create(&path, spec).unwrap();
        for _ in 0..frames * u32::from(spec.channels) {
            match (spec.sample_format, spec.bits_per_sample) {
                (SampleFormat::Float, _) => w.write_sample(0.0f32).unwrap(),
                (SampleFormat::Int, 8) => w.write_sample(0i8).unwrap(),
                (SampleFormat::Int, _) => w.write_sample(0i16).unwrap(),
            }
        }
        w.finalize().unwrap();
        path
    }

    /// Overwrites the data chunk's length field of the WAV file at `path`.
    fn set_data_len(path: &Path, len: u32) {
        let mut bytes = std::fs::read(path).unwrap();
        let at = bytes.windows(4).position(|w| w == b"data").unwrap() + 4;
        bytes[at..at + 4].copy_from_slice(&len.to_le_bytes());
        std::fs::write(path, bytes).unwrap();
    }

    fn engine_spec() -> WavSpec {
        spec(8000, 1, 16, SampleFormat::Int)
    }

    #[test]
    fn good_prompt() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_wav(dir.path(), "good.wav", engine_spec(), 12_000);
        let info = check_prompt(&path).unwrap();
        assert_eq!(
            info,
            AudioInfo {
                sample_rate: 8000,
                channels: 1,
                bits_per_sample: 16,
                format: SampleKind::Pcm,
                duration: Duration::from_millis(1500),
            }
        );
        assert_eq!(info.to_string(), "8000 Hz, mono, 16-bit PCM");
    }

    /// A FIFO named as a prompt is refused at once, not waited on (nobody writes to it), and
    /// so is a directory.
    #[cfg(unix)]
    #[test]
    fn a_fifo_or_a_directory_is_refused_without_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("prompt.wav");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        for path in [fifo.as_path(), dir.path()] {
            match check_prompt(path) {
                Err(AudioError::Unreadable(why)) => {
                    assert!(why.contains("not a regular file"), "{why}")
                }
                other => panic!("{}: {other:?}", path.display()),
            }
        }
    }

    #[test]
    fn wrong_formats_say_what_differs_and_how_to_convert() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (
                spec(44_100, 2, 16, SampleFormat::Int),
                "is 44100 Hz, stereo, 16-bit PCM, but the engine plays 8000 Hz mono 16-bit PCM \
                 (the sample rate and channels differ)",
            ),
            (
                spec(8000, 1, 8, SampleFormat::Int),
                "is 8000 Hz, mono, 8-bit PCM, but the engine plays 8000 Hz mono 16-bit PCM (the \
                 bit depth differs)",
            ),
            (
                spec(8000, 1, 32, SampleFormat::Float),
                "is 8000 Hz, mono, 32-bit float, but the engine plays 8000 Hz mono 16-bit PCM \
                 (the bit depth and sample encoding differ)",
            ),
        ];
        for (i, (spec, start)) in cases.into_iter().enumerate() {
            let path = write_wav(dir.path(), &format!("{i}.wav"), spec, 800);
            let err = check_prompt(&path).unwrap_err();
            assert_eq!(err.code(), "audio-format");
            let message = err.to_string();
            assert_eq!(message, start);
            let fix = err.fix(&path, &format!("prompts/{i}.wav")).unwrap();
            let out = dir.path().join(format!("{i}-8k.wav"));
            assert_eq!(
                fix,
                format!(
                    "convert it: sox {} -r 8000 -c 1 -b 16 -e signed-integer {} — then name \
                     `prompts/{i}-8k.wav` here",
                    path.display(),
                    out.display()
                )
            );
        }
    }

    #[test]
    fn commands_quote_paths_for_the_shell() {
        let err = AudioError::NotWav { detail: None };
        let fix = err
            .fix(Path::new("my prompts/it's.wav"), "my prompts/it's.wav")
            .unwrap();
        assert!(
            fix.starts_with(
                "convert it (if it is audio in another format such as MP3; sox reads MP3 with \
                 the libsox-fmt-mp3 package): sox 'my prompts/it'\\''s.wav' -r 8000"
            ),
            "{fix}"
        );
        assert!(fix.contains(" 'my prompts/it'\\''s-8k.wav' — then name `my prompts/it's-8k.wav`"));
        assert_eq!(AudioError::Missing.fix(Path::new("a.wav"), "a.wav"), None);
        assert_eq!(AudioError::Empty.fix(Path::new("a.wav"), "a.wav"), None);
    }

    #[test]
    fn empty_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_wav(dir.path(), "empty.wav", engine_spec(), 0);
        assert_eq!(check_prompt(&path), Err(AudioError::Empty));
        // An empty file in a wrong format is still reported as empty: converting won't help.
        let path = write_wav(
            dir.path(),
            "e2.wav",
            spec(44_100, 2, 16, SampleFormat::Int),
            0,
        );
        assert_eq!(check_prompt(&path).unwrap_err().code(), "audio-empty");
    }

    #[test]
    fn not_wav() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.wav");
        std::fs::write(&path, "these are not samples\n").unwrap();
        let err = check_prompt(&path).unwrap_err();
        assert_eq!(err, AudioError::NotWav { detail: None });
        assert_eq!(err.code(), "audio-not-wav");
        assert!(err
            .to_string()
            .starts_with("is not a WAV file (RIFF/WAVE header not found)"));
        std::fs::write(&path, "RIFF").unwrap();
        assert_eq!(check_prompt(&path).unwrap_err().code(), "audio-not-wav");
        std::fs::write(&path, b"RIFF\x04\0\0\0WAVE").unwrap();
        assert_eq!(
            check_prompt(&path),
            Err(AudioError::NotWav {
                detail: Some("its header is cut short".into())
            })
        );
    }

    #[test]
    fn missing_and_unreadable() {
        let dir = tempfile::tempdir().unwrap();
        let err = check_prompt(&dir.path().join("nope.wav")).unwrap_err();
        assert_eq!(err, AudioError::Missing);
        assert_eq!(err.to_string(), "does not exist");
        assert_eq!(
            check_prompt(dir.path()).unwrap_err().code(),
            "audio-unreadable"
        );
    }

    #[test]
    fn too_long() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_wav(dir.path(), "long.wav", engine_spec(), 10);
        set_data_len(&path, 8000 * 2 * 301);
        let err = check_prompt(&path).unwrap_err();
        assert_eq!(err.code(), "audio-too-long");
        // Over every limit: reported against the use it is put to.
        let err = check_use(&Err(err), Use::VoicemailGreeting).unwrap_err();
        assert_eq!(
            err,
            AudioError::TooLong {
                duration: Duration::from_secs(301),
                used_as: Use::VoicemailGreeting
            }
        );
        assert_eq!(
            err.to_string(),
            "is 5m1s long, and a voicemail greeting may be at most 2m"
        );
        assert_eq!(
            err.fix(&path, "long.wav").unwrap(),
            format!(
                "shorten it, e.g. keep the first 2m: sox {} {} trim 0 2:00 — then name \
                 `long-short.wav` here",
                path.display(),
                dir.path().join("long-short.wav").display()
            )
        );
        // Exactly five minutes is accepted as far as length goes (then found cut short).
        set_data_len(&path, 8000 * 2 * 300);
        assert_eq!(check_prompt(&path).unwrap_err().code(), "audio-truncated");
    }

    #[test]
    fn each_use_has_its_limit() {
        let info = |secs| AudioInfo {
            sample_rate: 8000,
            channels: 1,
            bits_per_sample: 16,
            format: SampleKind::Pcm,
            duration: Duration::from_secs(secs),
        };
        for (used_as, ok, too_long) in [
            (Use::MenuPrompt, 300, 301),
            (Use::NumberGreeting, 300, 301),
            (Use::VoicemailGreeting, 120, 121),
            (Use::Prompt, 120, 121),
        ] {
            assert!(check_use(&Ok(info(ok)), used_as).is_ok(), "{used_as:?}");
            assert_eq!(
                check_use(&Ok(info(too_long)), used_as).unwrap_err().code(),
                "audio-too-long",
                "{used_as:?}"
            );
        }
        assert_eq!(
            check_use(&Err(AudioError::Empty), Use::Prompt),
            Err(AudioError::Empty)
        );
    }

    #[test]
    fn truncated() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_wav(dir.path(), "cut.wav", engine_spec(), 100);
        set_data_len(&path, 300);
        assert_eq!(
            check_prompt(&path),
            Err(AudioError::Truncated {
                expected: 150,
                found: 100
            })
        );
    }
}
