//! `pbx validate [FILES]`: offline check of config files, every problem reported at once.

use super::exit;
use crate::config::diagnostic::Diagnostic;
use crate::config::report::{render, render_json, Checked, Format};
use crate::config::tenant_file::Scope;
use crate::config::validate::{check_any_file, Options};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Config files to check. Default: pbx.yaml. A tenant file (tenant keys, no `version:`) is
    /// checked with the config that includes it (looked for in its directory and up to two
    /// above), or alone when none does.
    files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

pub fn run(args: Args) -> u8 {
    let files = if args.files.is_empty() {
        vec![PathBuf::from("pbx.yaml")]
    } else {
        args.files
    };
    let mut code = exit::OK;
    // For `json`, every file's result, printed as one document at the end.
    let mut checked: Vec<(String, Result<Vec<Diagnostic>, String>)> = Vec::new();
    for file in &files {
        match check_any_file(file, Options::default()) {
            Ok((mut outcome, sources, scope)) => {
                match &scope {
                    Scope::Config => {}
                    Scope::IncludedBy(main) => eprintln!(
                        "pbx validate: {} is a tenant file included by {}: checked as part of that config",
                        file.display(),
                        main.display()
                    ),
                    Scope::Alone => eprintln!(
                        "pbx validate: {} is a tenant file that no config in its directory or the two above includes: checked alone (default server settings; trunks it names but does not define are taken to be shared ones)",
                        file.display()
                    ),
                }
                if outcome.errors() > 0 {
                    code = code.max(exit::INVALID);
                }
                if args.format == Format::Json {
                    let diagnostics = std::mem::take(&mut outcome.diagnostics);
                    checked.push((file.display().to_string(), Ok(diagnostics)));
                } else {
                    print!("{}", render(args.format, &outcome.diagnostics, &sources));
                }
                // The process ends right after: freeing a 10,000-staff model piece by piece
                // would only add to the wall time a CI job waits for.
                std::mem::forget((outcome, sources));
            }
            Err(e) => {
                eprintln!("pbx validate: {e}");
                code = exit::IO;
                checked.push((file.display().to_string(), Err(e.to_string())));
            }
        }
    }
    if args.format == Format::Json {
        let checked: Vec<Checked> = checked
            .iter()
            .map(|(file, result)| Checked {
                file,
                result: result.as_deref().map_err(String::as_str),
            })
            .collect();
        print!("{}", render_json(&checked));
    }
    code
}

/// The validated config at `path` for the subcommands that only read it (audio files are not
/// checked); on failure prints why (the diagnostics as `pbx validate` shows them) and returns
/// the exit code.
pub fn validated(path: &std::path::Path) -> Result<crate::config::model::Config, u8> {
    let loaded = crate::config::load::load(path).map_err(|e| {
        eprintln!("pbx: {e}");
        exit::IO
    })?;
    let (outcome, sources) =
        crate::config::validate::validate(loaded, Options { check_audio: false });
    outcome.config.ok_or_else(|| {
        eprint!("{}", render(Format::Human, &outcome.diagnostics, &sources));
        exit::INVALID
    })
}
