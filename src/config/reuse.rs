//! `Reuse`: what validating a config learned of each of its tenant files, kept by the server
//! between applies, so that the next validation of that config — the same main file, some
//! tenant files edited — reads and checks only the files that changed: a hot reload that
//! changes one tenant costs what that tenant costs, not what the whole config costs.
//!
//! Nothing is reused on a likeness. A tenant file is reused when its text is the same byte for
//! byte, at the same place in `include:`, under a main file that is the same byte for byte
//! (so the server settings and shared trunks its checks read are too), with the same options,
//! and every audio file it names has the same size and modification time as when it was
//! checked. Only files read without a diagnostic, of a config that validated, are kept: such a
//! file's tree, typed document, validated tenant and warnings are what reading and checking
//! it again would give. What spans tenants (ids, domains and numbers unique, routing loops
//! through other tenants' numbers) is checked again every time (`validate`).

use super::diagnostic::Diagnostic;
use super::load::{Earlier, SourceFile};
use super::model;
use super::raw;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

/// What a validation learned of its tenant files; see the module doc.
#[derive(Debug, Default)]
pub struct Reuse {
    /// The main file's text: nothing is reused under another.
    pub(super) main: String,
    /// Whether audio files were checked.
    pub(super) check_audio: bool,
    /// By the file's name relative to the main file (its bundle key).
    pub(super) files: HashMap<String, Arc<TenantFile>>,
}

/// One tenant file as read and checked.
#[derive(Debug)]
pub(super) struct TenantFile {
    pub source: Arc<SourceFile>,
    /// The tenant's place in the config (diagnostics name it).
    pub index: usize,
    pub raw: Arc<raw::Tenant>,
    pub tenant: Arc<model::Tenant>,
    /// What checking it warned of.
    pub warnings: Vec<Diagnostic>,
    /// Every audio file its checks read, as it was then.
    pub audio: Vec<(PathBuf, Option<Stamp>)>,
}

impl Earlier for Reuse {
    fn file(
        &self,
        main: &str,
        rel: &str,
        text: &str,
        index: usize,
    ) -> Option<(&Arc<SourceFile>, &Arc<raw::Tenant>)> {
        if self.main != main {
            return None;
        }
        self.files
            .get(rel)
            .filter(|f| f.index == index && f.source.text == text)
            .map(|f| (&f.source, &f.raw))
    }
}

/// An audio file's size and modification time (`None`: it could not be looked at).
pub(super) type Stamp = (u64, Option<SystemTime>);

/// `path`'s stamp now.
pub(super) fn stamp(path: &std::path::Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.len(), meta.modified().ok()))
}

impl Reuse {
    /// How many tenant files it holds.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The checked tenant of `raw` (a typed document this reuse handed out for the file
    /// `rel`) at `index`, if its audio files are as they were and the options the same.
    pub(super) fn tenant(
        &self,
        rel: &str,
        raw: &Arc<raw::Tenant>,
        index: usize,
        check_audio: bool,
    ) -> Option<&Arc<TenantFile>> {
        let f = self.files.get(rel)?;
        let same = check_audio == self.check_audio
            && f.index == index
            && Arc::ptr_eq(&f.raw, raw)
            && f.audio.iter().all(|(path, was)| stamp(path) == *was);
        same.then_some(f)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::load::load_reusing;
    use crate::config::model::Config;
    use crate::config::validate::{validate_reusing, Options, Outcome};
    use std::path::Path;
    use std::sync::Arc;

    use super::Reuse;

    const MAIN: &str = "version: 1\ntrunks:\n  - { id: up, host: 192.0.2.1 }\ninclude: [tenants/a.yaml, tenants/b.yaml, tenants/c.yaml]\n";

    fn tenant(id: &str, number: &str, extra: &str) -> String {
        format!(
            "id: {id}\nname: {id}\ndomain: {id}.example\nmax_users: 10\noutbound_trunks: [up]\nstaff:\n  - {{ name: Ivan, login: ivan }}\n  - {{ name: Maria, login: maria }}\nnumbers:\n  - {{ number: \"{number}\", destination: {{ staff: ivan }} }}\n{extra}"
        )
    }

    fn write(dir: &Path, files: &[(&str, &str)]) {
        for (name, text) in files {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
    }

    fn check(dir: &Path, reuse: Option<&Reuse>) -> (Outcome, Option<Reuse>) {
        let loaded = load_reusing(&dir.join("pbx.yaml"), reuse.map(|r| r as _)).unwrap();
        let (outcome, _, next) = validate_reusing(loaded, Options { check_audio: true }, reuse);
        (outcome, next)
    }

    fn config(outcome: &Outcome) -> &Config {
        outcome
            .config
            .as_ref()
            .unwrap_or_else(|| panic!("{:#?}", outcome.diagnostics))
    }

    /// A minimal 8 kHz mono 16-bit WAV of `samples` samples.
    fn wav(samples: usize) -> Vec<u8> {
        let data = (samples * 2) as u32;
        let mut v = b"RIFF".to_vec();
        v.extend((36 + data).to_le_bytes());
        v.extend(b"WAVEfmt ");
        v.extend(16u32.to_le_bytes());
        v.extend(1u16.to_le_bytes());
        v.extend(1u16.to_le_bytes());
        v.extend(8000u32.to_le_bytes());
        v.extend(16000u32.to_le_bytes());
        v.extend(2u16.to_le_bytes());
        v.extend(16u16.to_le_bytes());
        v.extend(b"data");
        v.extend(data.to_le_bytes());
        v.extend(std::iter::repeat_n(0u8, data as usize));
        v
    }

    #[test]
    fn unchanged_tenant_files_are_reused_and_the_outcome_is_what_a_full_check_gives() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(
            d,
            &[
                ("pbx.yaml", MAIN),
                ("tenants/a.yaml", &tenant("a", "+74950000001", "")),
                ("tenants/b.yaml", &tenant("b", "+74950000002", "")),
                ("tenants/c.yaml", &tenant("c", "+74950000003", "")),
            ],
        );
        let (first, reuse) = check(d, None);
        let reuse = reuse.expect("a valid config teaches");
        assert_eq!(reuse.len(), 3);
        // One tenant file edited (a warning added: a plaintext password).
        let edited = tenant("b", "+74950000002", "").replace(
            "login: maria }",
            "login: maria, password: \"s3cret-long-pass\" }",
        );
        write(d, &[("tenants/b.yaml", &edited)]);
        let (second, next) = check(d, Some(&reuse));
        let (full, _) = check(d, None);
        let (before, after) = (config(&first), config(&second));
        assert!(Arc::ptr_eq(&before.tenants[0], &after.tenants[0]));
        assert!(!Arc::ptr_eq(&before.tenants[1], &after.tenants[1]));
        assert!(Arc::ptr_eq(&before.tenants[2], &after.tenants[2]));
        assert_eq!(after, config(&full), "the same config as a full check");
        assert_eq!(second.diagnostics, full.diagnostics, "the same warnings");
        assert_eq!(second.diagnostics.len(), 1, "{:#?}", second.diagnostics);
        // Warnings of a reused tenant are given again.
        let next = next.unwrap();
        let (third, _) = check(d, Some(&next));
        assert_eq!(third.diagnostics, full.diagnostics);
        assert!(Arc::ptr_eq(&after.tenants[1], &config(&third).tenants[1]));
        // Another main file: nothing is reused.
        write(d, &[("pbx.yaml", &MAIN.replace("192.0.2.1", "192.0.2.2"))]);
        let (fourth, _) = check(d, Some(&next));
        assert!(!Arc::ptr_eq(&after.tenants[0], &config(&fourth).tenants[0]));
    }

    #[test]
    fn an_audio_file_that_changed_is_checked_again_though_its_tenant_file_did_not() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let a = tenant(
            "a",
            "+74950000001",
            "prompts:\n  after_hours: ../closed.wav\n",
        );
        write(
            d,
            &[
                ("pbx.yaml", MAIN),
                ("tenants/a.yaml", &a),
                ("tenants/b.yaml", &tenant("b", "+74950000002", "")),
                ("tenants/c.yaml", &tenant("c", "+74950000003", "")),
            ],
        );
        std::fs::write(d.join("closed.wav"), wav(800)).unwrap();
        let (first, reuse) = check(d, None);
        config(&first);
        std::fs::write(d.join("closed.wav"), b"not a wav at all").unwrap();
        write(d, &[("tenants/c.yaml", &tenant("c", "+74950000004", ""))]);
        let (second, next) = check(d, reuse.as_ref());
        assert!(second.config.is_none(), "the broken prompt is found");
        assert!(next.is_none(), "an invalid config teaches nothing");
        assert!(
            second
                .diagnostics
                .iter()
                .any(|d| d.message.contains("closed.wav")),
            "{:#?}",
            second.diagnostics
        );
    }

    #[test]
    fn a_loop_through_a_reused_tenant_is_found_from_the_changed_one() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // b forwards Maria's unanswered calls to +74950000001: outside, for now.
        let b = tenant("b", "+74950000002", "")
            .replace(
                "login: maria }",
                "login: maria, no_answer: { forward: { number: \"+74950000001\" } } }",
            )
            .replace("staff: ivan } }", "staff: maria } }");
        write(
            d,
            &[
                ("pbx.yaml", MAIN),
                ("tenants/a.yaml", &tenant("a", "+74950000009", "")),
                ("tenants/b.yaml", &b),
                ("tenants/c.yaml", &tenant("c", "+74950000003", "")),
            ],
        );
        let (first, reuse) = check(d, None);
        config(&first);
        // a now takes +74950000001 and forwards Ivan's unanswered calls to b's number.
        let a = tenant("a", "+74950000001", "").replace(
            "login: ivan }",
            "login: ivan, no_answer: { forward: { number: \"+74950000002\" } } }",
        );
        write(d, &[("tenants/a.yaml", &a)]);
        let (second, _) = check(d, reuse.as_ref());
        let (full, _) = check(d, None);
        assert!(second.config.is_none());
        assert_eq!(second.diagnostics, full.diagnostics);
        assert!(
            second
                .diagnostics
                .iter()
                .any(|d| d.code == crate::config::diagnostic::Code::RoutingLoop),
            "{:#?}",
            second.diagnostics
        );
    }
}
