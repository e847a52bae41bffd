//! `Proposal`: a desired config checked and planned against what a server runs.
//!
//! The same step serves `pbx plan` (against a server's state fetched over HTTP, a local state
//! directory, or another file), `pbx apply` on the server side, and a hot reload: fill in the
//! validated config's generated values from what was generated before, and diff it against the
//! running config. Pure: what was generated before and the password generator are passed in.

use super::bundle::Bundle;
use super::diagnostic::Diagnostic;
use super::generated::{resolve, resolve_reusing, Known, Resolution};
use super::load::load_bundle;
use super::model::Config;
use super::plan::{diff, Plan, Side};
use super::validate::{validate, Options};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// What a server runs, as far as planning needs it: the applied revision, its files, and what
/// was generated for each staff member (never password hashes).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunningState {
    pub revision: u64,
    pub bundle: Option<Bundle>,
    pub known: Vec<KnownStaff>,
    /// What staff set for themselves in the cabinet, kept over the config: listed by `pbx
    /// plan` apart from the changes, never compared with the config.
    #[serde(default)]
    pub own_settings: Vec<OwnSetting>,
}

/// One staff member's own settings (the cabinet's profile), as sent over the admin API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnSetting {
    pub tenant: String,
    pub login: String,
    /// Their forwarding to the mobile (`off`, `instant`, `delayed`), if they set it.
    pub forwarding: Option<String>,
    /// For `delayed`, in ms, if they set it.
    pub delay_ms: Option<u64>,
    /// The length of the voicemail greeting they uploaded, in ms, if they did.
    #[serde(default)]
    pub greeting_ms: Option<u64>,
}

/// One staff member's generated values, as sent over the admin API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownStaff {
    pub tenant: String,
    pub identity: String,
    pub login: String,
    pub extension: Option<String>,
    /// Login and realm the stored password was made for, if one is stored.
    pub password_for: Option<(String, String)>,
    /// What tells them apart from a namesake (`generated::signature`), as stored.
    #[serde(default)]
    pub signature: Option<String>,
}

impl RunningState {
    /// The generated values keyed as `generated::resolve` wants them.
    pub fn known_map(&self) -> BTreeMap<(String, String), Known> {
        self.known
            .iter()
            .map(|k| {
                (
                    (k.tenant.clone(), k.identity.clone()),
                    Known {
                        login: k.login.clone(),
                        extension: k.extension.clone(),
                        password_for: k.password_for.clone(),
                        signature: k.signature.clone(),
                    },
                )
            })
            .collect()
    }
}

/// A desired config, validated, resolved and planned.
pub struct Proposal {
    pub config: Config,
    pub resolution: Resolution,
    pub plan: Plan,
    /// Warnings found while validating (errors make `propose` fail instead).
    pub warnings: Vec<Diagnostic>,
    /// The running config the plan is against, when there is one.
    pub current: Option<Arc<Config>>,
}

/// Plans an already validated `config` (audio files looked for under `base`) against
/// `state`: fills in generated values from what was generated before and diffs against the
/// running config — `current` when the caller has it validated already, otherwise the one in
/// `state`, validated here without audio checks (it is already running).
pub fn plan_against(
    config: Config,
    warnings: Vec<Diagnostic>,
    base: &Path,
    state: &RunningState,
    current: Option<Arc<Config>>,
    new_password: &mut dyn FnMut() -> String,
) -> Proposal {
    let mut known = state.known_map();
    let current = current.or_else(|| {
        let bundle = state.bundle.as_ref()?;
        validate(load_bundle(bundle, base), Options { check_audio: false })
            .0
            .config
            .map(Arc::new)
    });
    // The running config's generated values are what is known now. Against a plain file
    // (nothing stored), what that file would get generated counts as known, so the plan
    // shows only what the edit itself changes.
    let mut current_resolution = current
        .as_ref()
        .map(|c| resolve(c, &known, &mut String::new));
    if let Some(cr) = &mut current_resolution {
        for r in std::mem::take(&mut cr.records) {
            known
                .entry((r.tenant.clone(), r.identity.clone()))
                .or_insert_with(|| Known {
                    password_for: Some((r.login.clone(), r.realm.clone())),
                    login: r.login,
                    extension: r.extension,
                    signature: r.signature,
                });
        }
    }
    // Counted as known, their passwords read as generated earlier.
    let current_resolution = current_resolution.map(Resolution::stored);
    let current = current.map(|c| {
        let resolution = current_resolution.map(Arc::new).unwrap_or_default();
        (c, resolution)
    });
    plan_on(config, warnings, base, &known, current, new_password)
}

/// Plans `config` against a running config whose generated values are stored (`current`: the
/// config and its resolution, what a server runs), `known` holding what is stored for at least
/// every tenant that is not the very same (`Arc`) as the running one: those are taken as they
/// are, so planning costs what the changed tenants cost.
pub fn plan_on(
    config: Config,
    warnings: Vec<Diagnostic>,
    base: &Path,
    known: &BTreeMap<(String, String), Known>,
    current: Option<(Arc<Config>, Arc<Resolution>)>,
    new_password: &mut dyn FnMut() -> String,
) -> Proposal {
    let resolution = resolve_reusing(
        &config,
        known,
        new_password,
        current.as_ref().map(|(c, r)| (&**c, &**r)),
    );
    let plan = {
        let before = current.as_ref().map(|(c, r)| Side {
            config: c,
            generated: Some(r),
            base,
        });
        diff(
            before.as_ref(),
            &Side {
                config: &config,
                generated: Some(&resolution),
                base,
            },
        )
    };
    Proposal {
        config,
        resolution,
        plan,
        warnings,
        current: current.map(|(c, _)| c),
    }
}
