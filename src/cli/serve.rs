//! `pbx serve`: runs the server on a config file until SIGINT or SIGTERM.

use super::exit;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The config file to run and watch.
    #[arg(long, default_value = "pbx.yaml")]
    config: PathBuf,
}

pub fn run(args: Args) -> u8 {
    match crate::serve::run(&args.config) {
        Ok(()) => exit::OK,
        Err(e @ crate::serve::ServeError::Invalid(_)) => {
            eprintln!("pbx serve: {e}");
            exit::INVALID
        }
        Err(e) => {
            eprintln!("pbx serve: {e}");
            exit::IO
        }
    }
}
