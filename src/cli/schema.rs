//! `pbx schema`: prints the JSON Schema generated from the config types.

use crate::config::schema::{text, Document};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the schema of a tenant file (one named by `include:`) instead of a whole config.
    #[arg(long)]
    tenant: bool,
}

pub fn run(args: Args) -> u8 {
    let doc = if args.tenant {
        Document::Tenant
    } else {
        Document::Config
    };
    print!("{}", text(doc));
    super::exit::OK
}
