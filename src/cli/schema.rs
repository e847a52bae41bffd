//! `pbx schema`: prints the JSON Schema generated from the config types, or the Markdown
//! config reference generated from it.

use crate::config::reference;
use crate::config::schema::{text, Document};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the schema of a tenant file (one named by `include:`) instead of a whole config.
    #[arg(long, conflicts_with = "reference")]
    tenant: bool,
    /// Print the Markdown config reference (docs/config-reference.md) instead.
    #[arg(long)]
    reference: bool,
}

pub fn run(args: Args) -> u8 {
    if args.reference {
        print!("{}", reference::markdown());
    } else {
        let doc = if args.tenant {
            Document::Tenant
        } else {
            Document::Config
        };
        print!("{}", text(doc));
    }
    super::exit::OK
}
