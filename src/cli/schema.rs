//! `pbx schema`: prints the JSON Schema generated from the config types, the Markdown config
//! reference generated from it, or the web cabinet's OpenAPI document.

use crate::config::reference;
use crate::config::schema::{text, Document};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the schema of a tenant file (one named by `include:`) instead of a whole config.
    #[arg(long, conflicts_with_all = ["reference", "openapi"])]
    tenant: bool,
    /// Print the Markdown config reference (docs/config-reference.md) instead.
    #[arg(long, conflicts_with = "openapi")]
    reference: bool,
    /// Print the OpenAPI 3.1 document of the web cabinet's JSON API
    /// (docs/cabinet-openapi.json) instead.
    #[arg(long)]
    openapi: bool,
}

pub fn run(args: Args) -> u8 {
    if args.reference {
        print!("{}", reference::markdown());
    } else if args.openapi {
        use crate::http::cabinet::{api, openapi};
        print!("{}", openapi::text(&api::openapi()));
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
