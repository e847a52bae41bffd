//! `pbx plan`: what applying the config would change — against a running server
//! (`--server`), a local state directory (`--state`), or another config file (`--against`).

use super::client::Client;
use super::exit;
use crate::config::bundle::Bundle;
use crate::config::load::load;
use crate::config::model::Config;
use crate::config::plan_report::{render, PlanFormat};
use crate::config::proposal::{plan_against, Proposal, RunningState};
use crate::config::report::{render as render_diagnostics, Format};
use crate::config::validate::{validate, Options};
use crate::serve::applier::state_from_store;
use crate::store::Store;
use std::path::{Path, PathBuf};

/// Where the current state comes from.
#[derive(Debug, clap::Args)]
#[group(multiple = false)]
pub struct Against {
    /// Plan against a running server's admin API, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    pub server: Option<String>,
    /// Plan against a state directory (a stopped server's data_dir).
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Plan against another config file, e.g. the main branch's pbx.yaml.
    #[arg(long)]
    pub against: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The desired config.
    #[arg(long, default_value = "pbx.yaml")]
    pub config: PathBuf,
    #[command(flatten)]
    pub against: Against,
    /// Environment variable holding the admin token for --server.
    #[arg(long, default_value = "PBX_ADMIN_TOKEN")]
    pub token_env: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Human)]
    pub format: PlanFormat,
    /// Show mobile numbers and e-mail addresses unmasked.
    #[arg(long)]
    pub show_sensitive: bool,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

/// The desired config, validated, and the state it is planned against.
pub struct Prepared {
    pub bundle: Bundle,
    pub state: RunningState,
    pub proposal: Proposal,
}

/// Reads and validates the desired config and fetches the state; on failure prints why and
/// returns the exit code.
pub fn prepare(config: &Path, against: &Against, token_env: &str) -> Result<Prepared, u8> {
    let loaded = load(config).map_err(|e| {
        eprintln!("pbx: {e}");
        exit::IO
    })?;
    let bundle = loaded.sources.bundle();
    let (outcome, sources) = validate(loaded, Options::default());
    let Some(desired) = outcome.config else {
        eprint!(
            "{}",
            render_diagnostics(Format::Human, &outcome.diagnostics, &sources)
        );
        return Err(exit::INVALID);
    };
    let (state, current) = fetch_state(against, token_env)?;
    let base = config.parent().map(Path::to_path_buf).unwrap_or_default();
    let proposal = plan_against(
        desired,
        outcome.diagnostics,
        &base,
        &state,
        current.map(std::sync::Arc::new),
        &mut String::new,
    );
    Ok(Prepared {
        bundle,
        state,
        proposal,
    })
}

/// The state to plan against, and the running config when it is already validated here.
fn fetch_state(against: &Against, token_env: &str) -> Result<(RunningState, Option<Config>), u8> {
    let fail = |e: &dyn std::fmt::Display, code: u8| {
        eprintln!("pbx: {e}");
        code
    };
    if let Some(url) = &against.server {
        let state = Client::new(url, token_env)
            .state()
            .map_err(|e| fail(&e, e.exit_code()))?;
        return Ok((state, None));
    }
    if let Some(dir) = &against.state {
        if !dir.exists() {
            return Err(fail(
                &format!("state directory {} does not exist", dir.display()),
                exit::IO,
            ));
        }
        let store = Store::open(dir).map_err(|e| fail(&e, exit::IO))?;
        return Ok((
            state_from_store(&store).map_err(|e| fail(&e, exit::IO))?,
            None,
        ));
    }
    if let Some(other) = &against.against {
        let loaded = load(other).map_err(|e| fail(&e, exit::IO))?;
        let bundle = loaded.sources.bundle();
        let (outcome, sources) = validate(loaded, Options { check_audio: false });
        let Some(current) = outcome.config else {
            eprint!(
                "{}",
                render_diagnostics(Format::Human, &outcome.diagnostics, &sources)
            );
            return Err(fail(
                &format!(
                    "{} is invalid: there is nothing to plan against",
                    other.display()
                ),
                exit::INVALID,
            ));
        };
        let state = RunningState {
            revision: 0,
            bundle: Some(bundle),
            known: Vec::new(),
            own_settings: Vec::new(),
        };
        return Ok((state, Some(current)));
    }
    Ok((RunningState::default(), None))
}

/// The letters applying `proposal` would send, one line each (no secrets; addresses masked
/// unless `show_sensitive`), for the human plan.
fn letters(proposal: &Proposal, show_sensitive: bool) -> String {
    let letters = crate::mail::payload::welcome_letters(&proposal.config, &proposal.resolution);
    if letters.is_empty() {
        return String::new();
    }
    let mut out = format!("\nLetters this apply sends ({}):\n", letters.len());
    for (_, payload) in &letters {
        out.push_str(&format!(
            "  welcome letter to {} ({}/{}): login, password, extension\n",
            {
                let email = payload["email"].as_str().unwrap_or("-");
                if show_sensitive {
                    email.to_owned()
                } else {
                    crate::config::plan_report::mask(email)
                }
            },
            payload["tenant"].as_str().unwrap_or("-"),
            payload["login"].as_str().unwrap_or("-"),
        ));
    }
    out
}

/// What staff set for themselves in the cabinet, kept by the server over the config: listed
/// apart, for the human plan (the config does not hold it, so it is never a change).
fn own_settings(state: &RunningState) -> String {
    let set: Vec<String> = state
        .own_settings
        .iter()
        .filter_map(|o| {
            let mut what = Vec::new();
            if let Some(forwarding) = o.forwarding.as_deref() {
                let delay = o
                    .delay_ms
                    .map_or(String::new(), |ms| format!(" after {}s", ms / 1000));
                what.push(format!("forwarding {forwarding}{delay}"));
            }
            if let Some(ms) = o.greeting_ms {
                what.push(format!(
                    "voicemail greeting uploaded ({}s)",
                    ms.div_ceil(1000)
                ));
            }
            (!what.is_empty()).then(|| format!("  {}/{}: {}\n", o.tenant, o.login, what.join(", ")))
        })
        .collect();
    if set.is_empty() {
        return String::new();
    }
    format!(
        "\nSet by staff in the cabinet, kept over the config (not changed by this plan; the tenant's self_service decides whether it applies):\n{}",
        set.concat()
    )
}

pub fn run(args: Args) -> u8 {
    let prepared = match prepare(&args.config, &args.against, &args.token_env) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let plan = &prepared.proposal.plan;
    print!("{}", render(plan, args.format, args.show_sensitive));
    // Against another file nothing is known of what was generated (every password would look
    // new), so only a plan against a server, a state or nothing lists letters.
    if args.format == PlanFormat::Human && args.against.against.is_none() {
        print!("{}", letters(&prepared.proposal, args.show_sensitive));
        print!("{}", own_settings(&prepared.state));
    }
    let code = if args.detailed_exitcode && !plan.is_empty() {
        exit::CHANGES
    } else {
        exit::OK
    };
    // The process ends right after: freeing two 10,000-staff models piece by piece would only
    // add to the wall time.
    std::mem::forget(prepared);
    code
}
