//! The command line: one file per subcommand, each a small function over resolved settings.
//! Data goes to stdout, messages about the run to stderr. Exit codes are stable and listed in
//! `exit` (and in the README).

mod apply;
mod client;
mod graph;
mod password;
mod plan;
mod schema;
mod serve;
mod simulate;
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
    /// A file could not be read or written (or the store could not be opened).
    pub const IO: u8 = 3;
    /// `pbx plan --detailed-exitcode`: there are changes. (Shares 2 with usage errors, as
    /// Terraform's does.)
    pub const CHANGES: u8 = 2;
    /// `pbx apply`: refused by the mass-removal rule or because a restart is needed.
    pub const REFUSED: u8 = 4;
    /// The server could not be reached.
    pub const UNREACHABLE: u8 = 5;
    /// The server refused the admin token.
    pub const UNAUTHORIZED: u8 = 6;
    /// `pbx apply`: not confirmed.
    pub const CANCELLED: u8 = 7;
    /// `pbx apply`: the server's revision changed since the plan was made.
    pub const CONFLICT: u8 = 8;
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
    /// Show what applying the config would change.
    Plan(plan::Args),
    /// Apply the config to a running server.
    Apply(apply::Args),
    /// Run the server: admin API, config watcher, embedded store.
    Serve(serve::Args),
    /// Who rings, when, if a number is called at a given time: a call played through the
    /// config's routing on a virtual clock.
    Simulate(simulate::Args),
    /// The picture of a tenant's call flow: Mermaid, Graphviz DOT or SVG.
    Graph(graph::Args),
    /// Manage staff passwords.
    #[command(subcommand)]
    Password(password::Command),
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
        Command::Plan(args) => plan::run(args),
        Command::Apply(args) => apply::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Graph(args) => graph::run(args),
        Command::Password(command) => password::run(command),
    };
    ExitCode::from(code)
}
