//! Every sound a config can ask the PBX to play, decoded and encoded once, kept in memory and
//! shared by every call (rtpengine's player cache): `Prompts`, built when a config is applied
//! and swapped with it. A call holds the `Arc<Audio>`s it plays, so a reload never changes
//! what a call in progress hears, and an old config's audio is freed with its last call.
//!
//! Rules:
//! - An `Audio` is one sound encoded for both G.711 laws, ready to be cut into packets: the
//!   PCM is not kept (playback never needs it), so a sound costs two bytes per sample.
//! - The built-in prompts of every language are embedded in the binary (`include_bytes!` of
//!   `assets/prompts/<lang>/<stem>.wav`) and decoded once per process, as are the beep and the
//!   default ringback; every `Prompts` shares them.
//! - The files a config names (tenants' replacements of built-ins, menus' prompts, numbers'
//!   greetings, voicemail greetings, impatient-caller offers) are read when the config is
//!   applied. A path named many times is read once and shared; an unreadable or invalid file
//!   makes the whole load an error naming every such file.
//! - Ringback is one rendered cycle (it ends in silence, so it loops seamlessly) per distinct
//!   cadence among the tenants' countries; countries ringing alike share one `Audio`.
//! - Lookup (`sound`): a built-in resolves to the tenant's replacement file when it has one,
//!   else to the built-in in the tenant's language; a file to that file (`None` if the config
//!   did not name it); ringback to the tenant's country's cycle; the beep to the beep.

use crate::config::model::{self, Config, Language, Tenant};
use crate::media::g711::{self, Law};
use crate::media::sound::{Builtin, Sound, Tone};
use crate::media::{tone, wav};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// One sound, encoded for each law: the payload bytes to send, 8000 per second.
#[derive(PartialEq, Eq)]
pub struct Audio {
    mu: Box<[u8]>,
    a: Box<[u8]>,
}

impl Audio {
    /// Encodes 8 kHz linear PCM for both laws.
    pub fn from_pcm(pcm: &[i16]) -> Audio {
        let encode = |law| {
            let mut bytes = Vec::with_capacity(pcm.len());
            g711::encode_into(law, pcm, &mut bytes);
            bytes.into_boxed_slice()
        };
        Audio {
            mu: encode(Law::Mu),
            a: encode(Law::A),
        }
    }

    /// The sound in `law`, one byte per sample.
    pub fn bytes(&self, law: Law) -> &[u8] {
        match law {
            Law::Mu => &self.mu,
            Law::A => &self.a,
        }
    }

    /// Its length in samples (8000 a second).
    pub fn samples(&self) -> usize {
        self.mu.len()
    }
}

impl std::fmt::Debug for Audio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Audio")
            .field("samples", &self.samples())
            .finish_non_exhaustive()
    }
}

/// The built-in prompts of one language as `(file stem, WAV bytes)`, embedded.
macro_rules! embed {
    ($lang:literal: $($stem:literal),* $(,)?) => {
        [$((
            $stem,
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"), "/assets/prompts/", $lang, "/", $stem, ".wav"
            )).as_slice(),
        )),*]
    };
}

type Embedded = [(&'static str, &'static [u8]); 20];

const EN: Embedded = embed!("en":
    "voicemail_greeting", "after_hours", "invalid_choice", "please_hold", "impatient_offer",
    "callback_confirmed", "callback_number", "callback_confirm", "callback_enter",
    "callback_announce", "digit_0", "digit_1", "digit_2", "digit_3", "digit_4", "digit_5",
    "digit_6", "digit_7", "digit_8", "digit_9",
);

const RU: Embedded = embed!("ru":
    "voicemail_greeting", "after_hours", "invalid_choice", "please_hold", "impatient_offer",
    "callback_confirmed", "callback_number", "callback_confirm", "callback_enter",
    "callback_announce", "digit_0", "digit_1", "digit_2", "digit_3", "digit_4", "digit_5",
    "digit_6", "digit_7", "digit_8", "digit_9",
);

/// What every `Prompts` of the process shares: the decoded built-ins and the fixed tones.
#[derive(Debug)]
struct Shared {
    /// Per language, in the order of `Builtin::ALL`.
    en: Vec<Arc<Audio>>,
    ru: Vec<Arc<Audio>>,
    beep: Arc<Audio>,
    /// The ITU-T E.180 ringback (425 Hz, 1 s on, 4 s off), which most countries use.
    default_ringback: (tone::Cadence, Arc<Audio>),
}

impl Shared {
    fn builtin(&self, language: Language, builtin: Builtin) -> Option<Arc<Audio>> {
        let all = match language {
            Language::En => &self.en,
            Language::Ru => &self.ru,
        };
        let index = Builtin::ALL.iter().position(|b| *b == builtin)?;
        all.get(index).cloned()
    }
}

/// The shared audio, decoded on first use; an error names the built-in that does not decode
/// (a packaging bug the tests catch).
fn shared() -> Result<&'static Shared, String> {
    static SHARED: OnceLock<Result<Shared, String>> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            let decode = |lang: &str, files: &Embedded| -> Result<Vec<Arc<Audio>>, String> {
                Builtin::ALL
                    .iter()
                    .map(|b| {
                        let stem = b.file_stem();
                        let (_, bytes) =
                            files.iter().find(|(s, _)| *s == stem).ok_or_else(|| {
                                format!("built-in prompt {lang}/{stem}.wav is not embedded")
                            })?;
                        let pcm = wav::read(bytes)
                            .map_err(|e| format!("built-in prompt {lang}/{stem}.wav: {e}"))?;
                        Ok(Arc::new(Audio::from_pcm(&pcm)))
                    })
                    .collect()
            };
            let cadence = tone::ringback("");
            let ringback = Arc::new(Audio::from_pcm(&tone::render_cycle(&cadence)));
            Ok(Shared {
                en: decode(Language::En.word(), &EN)?,
                ru: decode(Language::Ru.word(), &RU)?,
                beep: Arc::new(Audio::from_pcm(&tone::beep())),
                default_ringback: (cadence, ringback),
            })
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Every sound one config can ask for, ready to play.
#[derive(Clone, Debug)]
pub struct Prompts {
    shared: &'static Shared,
    /// The files the config names, one `Audio` per path.
    files: HashMap<PathBuf, Arc<Audio>>,
    /// The ringback of each tenant country whose cadence is not the default.
    ringback: HashMap<String, Arc<Audio>>,
}

impl Prompts {
    /// The built-ins and the tones only (no config files): for tests, and until a config is
    /// applied.
    ///
    /// # Panics
    /// If a built-in prompt embedded in the binary does not decode, which
    /// `tests::every_builtin_decodes` rules out.
    pub fn empty() -> Prompts {
        let shared = shared().unwrap_or_else(|e| panic!("{e}"));
        Prompts {
            shared,
            files: HashMap::new(),
            ringback: HashMap::new(),
        }
    }

    /// Reads and encodes every audio file `config` names (paths already resolved against the
    /// config's directory) and renders its tenants' ringback tones. An error names every file
    /// that could not be read or is not 8 kHz mono 16-bit PCM WAV, one per line.
    pub fn load(config: &Config) -> Result<Prompts, String> {
        let shared = shared()?;
        let mut files = HashMap::new();
        let mut problems = Vec::new();
        for path in named_files(config) {
            match read(path) {
                Ok(audio) => {
                    files.insert(path.to_path_buf(), Arc::new(audio));
                }
                Err(e) => problems.push(e),
            }
        }
        if !problems.is_empty() {
            return Err(problems.join("\n"));
        }
        let mut ringback = HashMap::new();
        let mut rendered: Vec<(tone::Cadence, Arc<Audio>)> = Vec::new();
        for t in &config.tenants {
            if ringback.contains_key(&t.country) {
                continue;
            }
            let cadence = tone::ringback(&t.country);
            if cadence == shared.default_ringback.0 {
                continue;
            }
            let audio = match rendered.iter().find(|(c, _)| *c == cadence) {
                Some((_, audio)) => audio.clone(),
                None => {
                    let audio = Arc::new(Audio::from_pcm(&tone::render_cycle(&cadence)));
                    rendered.push((cadence, audio.clone()));
                    audio
                }
            };
            ringback.insert(t.country.clone(), audio);
        }
        Ok(Prompts {
            shared,
            files,
            ringback,
        })
    }

    /// The audio of `sound` for a caller of `tenant`; `None` for a file this config does not
    /// name (or a digit prompt past 9).
    pub fn sound(&self, tenant: &Tenant, sound: &Sound) -> Option<Arc<Audio>> {
        match sound {
            Sound::Builtin(builtin) => replacement(&tenant.prompts, *builtin)
                .and_then(|path| self.files.get(path).cloned())
                .or_else(|| self.shared.builtin(tenant.language, *builtin)),
            Sound::File(path) => self.files.get(path).cloned(),
            Sound::Tone(Tone::Ringback) => Some(
                self.ringback
                    .get(&tenant.country)
                    .unwrap_or(&self.shared.default_ringback.1)
                    .clone(),
            ),
            Sound::Tone(Tone::Beep) => Some(self.shared.beep.clone()),
        }
    }

    /// Adds (or replaces) the audio known as `path`: a staff member's uploaded greeting,
    /// which the config layered for calls names by that path.
    pub fn insert(&mut self, path: PathBuf, audio: Arc<Audio>) {
        self.files.insert(path, audio);
    }

    /// How many distinct files this config's audio holds.
    pub fn files(&self) -> usize {
        self.files.len()
    }
}

/// The tenant's replacement file of a built-in, if it has one.
fn replacement(prompts: &model::Prompts, builtin: Builtin) -> Option<&Path> {
    match builtin {
        Builtin::VoicemailGreeting => prompts.voicemail_greeting.as_deref(),
        Builtin::ImpatientOffer => prompts.impatient_offer.as_deref(),
        Builtin::AfterHours => prompts.after_hours.as_deref(),
        Builtin::InvalidChoice => prompts.invalid_choice.as_deref(),
        Builtin::CallbackConfirmed => prompts.callback_confirmed.as_deref(),
        Builtin::PleaseHold
        | Builtin::CallbackNumber
        | Builtin::CallbackConfirm
        | Builtin::CallbackEnter
        | Builtin::CallbackAnnounce
        | Builtin::Digit(_) => None,
    }
}

/// Every audio file `config` names, each once, in path order.
fn named_files(config: &Config) -> BTreeSet<&Path> {
    let mut files = BTreeSet::new();
    for t in &config.tenants {
        let p = &t.prompts;
        let replacements = [
            &p.voicemail_greeting,
            &p.impatient_offer,
            &p.after_hours,
            &p.invalid_choice,
            &p.callback_confirmed,
        ];
        files.extend(replacements.into_iter().flatten().map(PathBuf::as_path));
        files.extend(
            t.staff
                .iter()
                .filter_map(|s| s.voicemail_greeting.as_deref()),
        );
        for d in &t.departments {
            files.extend(d.voicemail_greeting.as_deref());
            files.extend(
                d.impatient_callers
                    .as_ref()
                    .and_then(|i| i.prompt.as_deref()),
            );
        }
        files.extend(t.numbers.iter().filter_map(|n| n.greeting.as_deref()));
        files.extend(t.menus.iter().map(|m| m.prompt.as_path()));
    }
    files
}

/// One file read and encoded, or what is wrong with it.
fn read(path: &Path) -> Result<Audio, String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    crate::config::audio::open_regular(path)
        .and_then(|f| {
            f.take(crate::config::audio::MAX_AUDIO_BYTES)
                .read_to_end(&mut bytes)
        })
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let pcm = wav::read(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Audio::from_pcm(&pcm))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::validate::validate_text;

    const YAML: &str = "version: 1
tenants:
  - id: a
    name: A
    domain: a.example
    max_users: 10
    staff:
      - { name: Maria, login: maria }
";

    fn config() -> Config {
        validate_text(YAML).unwrap_or_else(|d| panic!("{d:?}"))
    }

    fn wav_file(dir: &Path, name: &str, pcm: &[i16]) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, wav::write(pcm)).expect("write a test file");
        path
    }

    #[test]
    fn every_builtin_decodes() {
        let prompts = Prompts::empty();
        let mut config = config();
        for language in [Language::Ru, Language::En] {
            std::sync::Arc::make_mut(&mut config.tenants[0]).language = language;
            for b in Builtin::ALL {
                let audio = prompts
                    .sound(&config.tenants[0], &Sound::Builtin(b))
                    .unwrap_or_else(|| panic!("{language:?} {b:?} missing"));
                assert!(audio.samples() > 800, "{language:?} {b:?} is nearly empty");
                assert_eq!(audio.bytes(Law::Mu).len(), audio.bytes(Law::A).len());
            }
        }
        let en = prompts.shared.builtin(Language::En, Builtin::AfterHours);
        let ru = prompts.shared.builtin(Language::Ru, Builtin::AfterHours);
        assert_ne!(en, ru, "the languages are different recordings");
        assert_eq!(
            prompts.shared.builtin(Language::En, Builtin::Digit(10)),
            None
        );
    }

    #[test]
    fn audio_holds_both_laws() {
        let pcm = tone::beep();
        let audio = Audio::from_pcm(&pcm);
        assert_eq!(audio.samples(), pcm.len());
        for law in [Law::Mu, Law::A] {
            let mut want = Vec::new();
            g711::encode_into(law, &pcm, &mut want);
            assert_eq!(audio.bytes(law), want.as_slice());
        }
    }

    #[test]
    fn tones() {
        let prompts = Prompts::empty();
        let mut config = config();
        let beep = prompts.sound(&config.tenants[0], &Sound::Tone(Tone::Beep));
        assert_eq!(beep.map(|b| b.samples()), Some(tone::beep().len()));
        // Russia rings the default: 1 s on, 4 s off.
        std::sync::Arc::make_mut(&mut config.tenants[0]).country = "RU".into();
        let ru = prompts.sound(&config.tenants[0], &Sound::Tone(Tone::Ringback));
        assert_eq!(ru.map(|r| r.samples()), Some(40_000));
        // A loaded config renders its countries' own cadences, shared between alike countries.
        std::sync::Arc::make_mut(&mut config.tenants[0]).country = "US".into();
        let mut other = (*config.tenants[0]).clone();
        other.id = "b".into();
        other.domain = "b.example".into();
        other.country = "CA".into();
        config.tenants.push(Arc::new(other));
        let loaded = Prompts::load(&config).expect("no files to read");
        let us = loaded.sound(&config.tenants[0], &Sound::Tone(Tone::Ringback));
        let ca = loaded.sound(&config.tenants[1], &Sound::Tone(Tone::Ringback));
        assert_eq!(us.as_ref().map(|r| r.samples()), Some(48_000));
        assert!(matches!((&us, &ca), (Some(u), Some(c)) if Arc::ptr_eq(u, c)));
    }

    #[test]
    fn a_tenants_replacement_wins_and_files_are_shared() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let own = wav_file(dir.path(), "closed.wav", &[1000; 1600]);
        let menu = wav_file(dir.path(), "menu.wav", &[-1000; 800]);
        let mut config = config();
        let t = Arc::make_mut(&mut config.tenants[0]);
        t.language = Language::En;
        t.prompts.after_hours = Some(own.clone());
        t.staff[0].voicemail_greeting = Some(own.clone());
        let prompts = Prompts::load(&config).expect("both files read");
        assert_eq!(prompts.files(), 1, "one Audio per path");
        let t = &config.tenants[0];
        let after_hours = prompts.sound(t, &Sound::Builtin(Builtin::AfterHours));
        let file = prompts.sound(t, &Sound::File(own.clone()));
        assert_eq!(after_hours.as_ref().map(|a| a.samples()), Some(1600));
        assert!(matches!((&after_hours, &file), (Some(x), Some(y)) if Arc::ptr_eq(x, y)));
        // Built-ins it does not replace stay the shipped ones.
        let invalid = prompts.sound(t, &Sound::Builtin(Builtin::InvalidChoice));
        assert_eq!(
            invalid,
            prompts.shared.builtin(Language::En, Builtin::InvalidChoice)
        );
        // A file the config does not name is unknown.
        assert_eq!(prompts.sound(t, &Sound::File(menu)), None);
        assert_eq!(prompts.sound(t, &Sound::File("nowhere.wav".into())), None);
    }

    #[test]
    fn a_missing_or_invalid_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let missing = dir.path().join("missing.wav");
        let text = dir.path().join("text.wav");
        std::fs::write(&text, "not audio").expect("write a test file");
        let mut config = config();
        std::sync::Arc::make_mut(&mut config.tenants[0])
            .prompts
            .invalid_choice = Some(missing.clone());
        std::sync::Arc::make_mut(&mut config.tenants[0]).staff[0].voicemail_greeting =
            Some(text.clone());
        let err = Prompts::load(&config).expect_err("two bad files");
        assert!(err.contains(&missing.display().to_string()), "{err}");
        assert!(err.contains(&text.display().to_string()), "{err}");
        assert_eq!(err.lines().count(), 2, "{err}");
    }
}
