//! `pbx apply`: plan against the running server, show the plan, ask, and send the config to
//! the admin API; the server validates again, applies atomically and answers with the new
//! revision and any credentials generated (shown once).

use super::client::{Client, ClientError};
use super::exit;
use super::plan::{prepare, Against};
use crate::config::plan::removal_violations;
use crate::config::plan_report::{render, PlanFormat};
use serde_json::{json, Value};
use std::io::{BufRead, Write};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The config to apply.
    #[arg(long, default_value = "pbx.yaml")]
    config: PathBuf,
    /// The server's admin API, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    server: String,
    /// Environment variable holding the admin token.
    #[arg(long, default_value = "PBX_ADMIN_TOKEN")]
    token_env: String,
    /// Do not ask for confirmation (for CI).
    #[arg(long)]
    auto_approve: bool,
    /// Apply even if it removes more than the allowed share of a tenant's staff or numbers.
    #[arg(long)]
    force: bool,
    /// The largest share (in percent) of a tenant's staff or numbers one apply may remove
    /// without --force, once the tenant has at least 10.
    #[arg(long, default_value_t = 30.0)]
    max_removal_percent: f64,
    /// Show mobile numbers and e-mail addresses unmasked in the plan.
    #[arg(long)]
    show_sensitive: bool,
}

pub fn run(args: Args) -> u8 {
    let against = Against {
        server: Some(args.server.clone()),
        state: None,
        against: None,
    };
    let prepared = match prepare(&args.config, &against, &args.token_env) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let plan = &prepared.proposal.plan;
    print!("{}", render(plan, PlanFormat::Human, args.show_sensitive));
    if plan.is_empty() {
        return exit::OK;
    }
    if !plan.restart_required.is_empty() {
        eprintln!(
            "pbx apply: refused: {} change only when the server restarts; change them in the server's file and restart it",
            plan.restart_required.join(", ")
        );
        return exit::REFUSED;
    }
    if let (Some(before), false) = (&prepared.proposal.current, args.force) {
        let violations = removal_violations(before, plan, args.max_removal_percent / 100.0, 10);
        if !violations.is_empty() {
            for v in &violations {
                eprintln!("pbx apply: refused by the mass-removal rule: {v}");
            }
            eprintln!("pbx apply: re-run with --force if this is intended");
            return exit::REFUSED;
        }
    }
    if !args.auto_approve && !confirm() {
        eprintln!("pbx apply: cancelled; nothing was changed");
        return exit::CANCELLED;
    }
    let client = Client::new(&args.server, &args.token_env);
    let body = json!({
        "bundle": prepared.bundle,
        "force": args.force,
        "expected_revision": prepared.state.revision,
        "max_removal_percent": args.max_removal_percent,
    });
    match client.post("/api/v1/apply", &body) {
        Ok(answer) => {
            print_applied(&answer);
            exit::OK
        }
        Err(ClientError::Status {
            status,
            message,
            body,
        }) => {
            let kind = body.get("error").and_then(Value::as_str).unwrap_or("");
            match kind {
                "invalid-config" => {
                    eprint!(
                        "{}",
                        body.get("rendered")
                            .and_then(Value::as_str)
                            .unwrap_or(&message)
                    );
                    exit::INVALID
                }
                "unsafe" | "restart-required" => {
                    eprintln!("pbx apply: refused by the server: {message}");
                    exit::REFUSED
                }
                "conflict" => {
                    eprintln!("pbx apply: {message}");
                    exit::CONFLICT
                }
                _ => {
                    eprintln!("pbx apply: the server answered {status}: {message}");
                    exit::INVALID
                }
            }
        }
        Err(e) => {
            eprintln!("pbx apply: {e}");
            e.exit_code()
        }
    }
}

fn confirm() -> bool {
    eprint!("\nApply these changes? Only 'yes' is accepted: ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).is_ok() && line.trim() == "yes"
}

fn print_applied(answer: &Value) {
    let revision = answer.get("revision").and_then(Value::as_u64).unwrap_or(0);
    if answer.get("unchanged").and_then(Value::as_bool) == Some(true) {
        println!("\nNo changes: the server already runs this config (revision {revision}).");
        return;
    }
    let count = |k: &str| {
        answer
            .pointer(&format!("/plan/summary/{k}"))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    println!(
        "\nApplied revision {revision}: {} added, {} changed, {} removed.",
        count("add"),
        count("change"),
        count("remove")
    );
    let creds = answer
        .get("credentials")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if !creds.is_empty() {
        println!("\nNew credentials (shown once; give each person theirs):");
        for c in creds {
            let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("-").to_string();
            println!(
                "  {}/{}  extension {}  password {}",
                s("tenant"),
                s("login"),
                s("extension"),
                s("password")
            );
        }
    }
}
