//! `Proposal`: a desired config checked and planned against what a server runs.
//!
//! The same steps serve `pbx plan` (against a server's state fetched over HTTP, a local state
//! directory, or another file), `pbx apply` on the server side, and a hot reload: validate the
//! desired bundle, fill in generated values from what was generated before, and diff against
//! the running config. Pure: what was generated before and the password generator are passed
//! in.

use super::bundle::Bundle;
use super::diagnostic::Diagnostic;
use super::generated::{resolve, Known, Resolution};
use super::load::{load_bundle, Sources};
use super::model::Config;
use super::plan::{diff, Plan, Side};
use super::validate::{validate, Options};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// What a server runs, as far as planning needs it: the applied revision, its files, and what
/// was generated for each staff member (never password hashes).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunningState {
    pub revision: u64,
    pub bundle: Option<Bundle>,
    pub known: Vec<KnownStaff>,
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
    pub current: Option<Config>,
}

/// Why a proposal could not be made.
pub enum Rejection {
    /// The desired config is invalid: every diagnostic, and the sources to render them.
    Invalid {
        diagnostics: Vec<Diagnostic>,
        sources: Sources,
    },
    /// The bundle's file names are unsafe or its main file is missing.
    Bundle(super::bundle::BundleError),
}

/// Validates `desired` (audio files looked for under `base`), fills in generated values from
/// `state`, and plans it against the config in `state` (validated without audio checks: it is
/// already running). `current` may pass an already validated running config to skip that.
pub fn propose(
    desired: &Bundle,
    base: &Path,
    check_audio: bool,
    state: &RunningState,
    current: Option<Config>,
    new_password: &mut dyn FnMut() -> String,
) -> Result<Proposal, Rejection> {
    desired.check().map_err(Rejection::Bundle)?;
    let (outcome, sources) = validate(load_bundle(desired, base), Options { check_audio });
    let Some(config) = outcome.config else {
        return Err(Rejection::Invalid {
            diagnostics: outcome.diagnostics,
            sources,
        });
    };
    Ok(plan_against(
        config,
        outcome.diagnostics,
        base,
        state,
        current,
        new_password,
    ))
}

/// Plans an already validated `config` against `state` (see `propose`).
pub fn plan_against(
    config: Config,
    warnings: Vec<Diagnostic>,
    base: &Path,
    state: &RunningState,
    current: Option<Config>,
    new_password: &mut dyn FnMut() -> String,
) -> Proposal {
    let mut known = state.known_map();
    let current = current.or_else(|| {
        let bundle = state.bundle.as_ref()?;
        validate(load_bundle(bundle, base), Options { check_audio: false })
            .0
            .config
    });
    // The running config's generated values are what is known now. Against a plain file
    // (nothing stored), what that file would get generated counts as known, so the plan
    // shows only what the edit itself changes.
    let current_resolution = current
        .as_ref()
        .map(|c| resolve(c, &known, &mut String::new));
    for r in current_resolution.iter().flat_map(|r| &r.records) {
        known
            .entry((r.tenant.clone(), r.identity.clone()))
            .or_insert_with(|| Known {
                login: r.login.clone(),
                extension: r.extension.clone(),
                password_for: Some((r.login.clone(), r.realm.clone())),
            });
    }
    let current_resolution = current
        .as_ref()
        .map(|c| resolve(c, &known, &mut String::new));
    let resolution = resolve(&config, &known, new_password);
    let plan = {
        let before = current.as_ref().map(|c| Side {
            config: c,
            generated: current_resolution.as_ref(),
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
        current,
    }
}
