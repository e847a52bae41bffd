//! `pbx graph`: the picture of a tenant's call flow — each number, its schedule, who it rings,
//! and where an unanswered call goes next — as Mermaid or Graphviz DOT text, or SVG (drawn by
//! Graphviz's `dot`). Offline: it reads the config, nothing else.

use super::exit;
use crate::routing::graph::Graph;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    Mermaid,
    Dot,
    Svg,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The config.
    #[arg(long, default_value = "pbx.yaml")]
    pub config: PathBuf,
    /// The tenant (needed when the config has several, unless --number names one).
    #[arg(long)]
    pub tenant: Option<String>,
    /// Only this number's flow.
    #[arg(long)]
    pub number: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
    pub format: GraphFormat,
}

pub fn run(args: Args) -> u8 {
    let config = match super::validate::validated(&args.config) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let usage = |message: String| {
        eprintln!("pbx graph: {message}");
        exit::USAGE
    };
    let tenant = match (&args.tenant, &args.number) {
        (Some(id), _) => config.tenants.iter().find(|t| &t.id == id),
        (None, Some(number)) => config
            .tenants
            .iter()
            .find(|t| t.numbers.iter().any(|n| n.number.as_str() == number)),
        (None, None) if config.tenants.len() == 1 => config.tenants.first(),
        (None, None) => return usage("the config has several tenants: name one (--tenant)".into()),
    };
    let Some(tenant) = tenant else {
        return usage(match (&args.tenant, &args.number) {
            (Some(id), _) => format!("no tenant `{id}` in the config"),
            (None, number) => format!(
                "no tenant has the number {}",
                number.as_deref().unwrap_or("")
            ),
        });
    };
    if let Some(number) = &args.number {
        if !tenant.numbers.iter().any(|n| n.number.as_str() == number) {
            return usage(format!("tenant `{}` has no number {number}", tenant.id));
        }
    }
    let graph = Graph::of(tenant, args.number.as_deref());
    match args.format {
        GraphFormat::Mermaid => print!("{}", graph.mermaid()),
        GraphFormat::Dot => print!("{}", graph.dot()),
        GraphFormat::Svg => match svg(&graph.dot()) {
            Ok(svg) => {
                let _ = std::io::stdout().write_all(&svg);
            }
            Err(message) => {
                eprintln!("pbx graph: {message}");
                return exit::IO;
            }
        },
    }
    exit::OK
}

/// `dot` drawn as SVG by Graphviz.
fn svg(dot: &str) -> Result<Vec<u8>, String> {
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            format!("SVG is drawn by Graphviz's `dot`, which could not be run ({e}); install graphviz, or use --format dot or mermaid")
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(dot.as_bytes())
            .map_err(|e| format!("writing to dot: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("running dot: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "dot failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(out.stdout)
}
