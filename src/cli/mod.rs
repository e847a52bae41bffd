//! The command line: one file per subcommand, each a small function over resolved settings.
//! Data goes to stdout, messages about the run to stderr. Exit codes are stable and listed in
//! `exit` (and in the README).

mod schema;
mod validate;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Exit codes shared by every subcommand.
pub mod exit {
    /// Success: the config is valid (warnings allowed).
    pub const OK: u8 = 0;
    /// The config is invalid.
    pub const INVALID: u8 = 1;
    /// The command line is wrong (clap's own code).
    pub const USAGE: u8 = 2;
    /// A file could not be read or written.
    pub const IO: u8 = 3;
}

/// Telephony as code: a virtual PBX configured from YAML in git.
#[derive(Debug, Parser)]
#[command(name = "pbx", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check config files offline and report every problem at once.
    Validate(validate::Args),
    /// Print the JSON Schema of pbx.yaml (or of an included tenant file).
    Schema(schema::Args),
}

/// Parses the command line and runs the subcommand.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    let code = match cli.command {
        Command::Validate(args) => validate::run(args),
        Command::Schema(args) => schema::run(args),
    };
    ExitCode::from(code)
}
