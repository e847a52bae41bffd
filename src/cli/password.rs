//! `pbx password reset TENANT LOGIN`: rotates a staff member's generated password on a running
//! server (`--server`) or in a stopped server's state directory (`--state`), and prints the new
//! one once. With `--notify` (and `--server`) the server also mails it in a welcome letter.

use super::client::Client;
use super::exit;
use crate::credentials::{generate_password, ha1};
use crate::serve::applier::now_ms;
use crate::store::Applies;
use crate::store::Store;
use serde_json::{json, Value};
use std::path::PathBuf;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Generate a new password for a staff member.
    Reset(ResetArgs),
}

#[derive(Debug, clap::Args)]
pub struct ResetArgs {
    /// Tenant id.
    tenant: String,
    /// The staff member's login.
    login: String,
    /// A running server's admin API.
    #[arg(long, conflicts_with = "state", required_unless_present = "state")]
    server: Option<String>,
    /// A stopped server's state directory.
    #[arg(long)]
    state: Option<PathBuf>,
    /// Also mail the new password to the member in a welcome letter (with --server; the
    /// member needs an e-mail address in the config).
    #[arg(long, requires = "server")]
    notify: bool,
    /// Environment variable holding the admin token for --server.
    #[arg(long, default_value = "PBX_ADMIN_TOKEN")]
    token_env: String,
}

pub fn run(command: Command) -> u8 {
    let Command::Reset(args) = command;
    if let Some(url) = &args.server {
        let path = format!(
            "/api/v1/tenants/{}/staff/{}/password",
            args.tenant, args.login
        );
        let body = json!({ "notify": args.notify });
        return match Client::new(url, &args.token_env).post(&path, &body) {
            Ok(answer) => {
                let password = answer.get("password").and_then(Value::as_str).unwrap_or("");
                println!(
                    "New password for {}/{}: {password}",
                    args.tenant, args.login
                );
                match answer.get("notified").and_then(Value::as_bool) {
                    Some(true) => {
                        eprintln!("pbx password reset: a welcome letter with it is on its way")
                    }
                    _ if args.notify => eprintln!(
                        "pbx password reset: no letter: {}/{} has no e-mail address",
                        args.tenant, args.login
                    ),
                    _ => {}
                }
                exit::OK
            }
            Err(e) => {
                eprintln!("pbx password reset: {e}");
                e.exit_code()
            }
        };
    }
    let dir = args.state.expect("clap requires --server or --state");
    let store = match Store::open(&dir) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("pbx password reset: {e}");
            return exit::IO;
        }
    };
    let states = match store.staff_states(&args.tenant) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("pbx password reset: {e}");
            return exit::IO;
        }
    };
    let Some((identity, state)) = states
        .into_iter()
        .find(|(_, s)| s.login == args.login && s.password.is_some())
    else {
        eprintln!(
            "pbx password reset: {}/{} has no generated password in {}",
            args.tenant,
            args.login,
            dir.display()
        );
        return exit::INVALID;
    };
    let password = generate_password();
    match store.set_password(
        &args.tenant,
        &identity,
        ha1(&state.login, &state.realm, &password),
        crate::credentials::web_password(
            &state.login,
            &state.realm,
            &password,
            crate::credentials::WebCost::Generated,
        ),
        now_ms(),
        None,
    ) {
        Ok(_) => {
            println!(
                "New password for {}/{}: {password}",
                args.tenant, args.login
            );
            exit::OK
        }
        Err(e) => {
            eprintln!("pbx password reset: {e}");
            exit::IO
        }
    }
}
