//! Checking a sign-in: the tenant by its SIP domain, the staff member by login, the password
//! against the argon2id hash kept with their digest hashes (`StaffState::web`). Every way to
//! fail — no such domain, no such login, no cabinet hash, a wrong password — gives the person
//! signing in the same answer, after the same work (an unknown account verifies a dummy hash
//! of the highest cost, and the caller answers no sooner than [`FLOOR`] after the request), and
//! the operator's log the real reason (`Failure`).

use crate::config::model::PasswordSource;
use crate::credentials::{dummy_web_hash, verify_web};
use crate::serve::applier::Running;
use crate::store::{Applies, Store};
use std::time::Duration;

/// A sign-in is answered no sooner than this after it arrived, whatever happened: the work
/// of the different failures (and of the two hash costs) is hidden under it.
pub const FLOOR: Duration = Duration::from_millis(250);

/// Who signed in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The tenant's id.
    pub tenant: String,
    pub login: String,
    /// The SHA-256 HA1 of their password now (a session ends when it changes).
    pub ha1_sha256: String,
}

/// Why a sign-in failed: for the operator's log only.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    #[error("no tenant has this domain")]
    UnknownDomain,
    #[error("no such login in the tenant")]
    UnknownLogin,
    #[error("the staff member has no password (its secret is not set)")]
    NoPassword,
    #[error("the password is configured only as digest hashes ({{ha1: ...}}), which the cabinet cannot check a password against: give it as {{env}} or {{file}}, or remove it from the config so the server generates one")]
    DigestOnly,
    #[error("no cabinet hash is stored for the current password (set before the cabinet existed): reset the password")]
    NoWebHash,
    #[error("wrong password")]
    WrongPassword,
    #[error("the store failed: {0}")]
    Store(String),
}

/// Checks `password` for `login` at `domain` under the running config. Slow (argon2): call it
/// off the async runtime.
pub fn check(
    running: &Running,
    store: &Store,
    domain: &str,
    login: &str,
    password: &str,
) -> Result<Account, Failure> {
    let result = find(running, store, domain.trim(), login.trim());
    match result {
        Ok((account, phc)) => {
            if verify_web(password, &phc) {
                Ok(account)
            } else {
                Err(Failure::WrongPassword)
            }
        }
        Err(failure) => {
            // The same work as a known account's check.
            let _ = verify_web(password, dummy_web_hash());
            Err(failure)
        }
    }
}

/// The account and the hash to verify against.
fn find(
    running: &Running,
    store: &Store,
    domain: &str,
    login: &str,
) -> Result<(Account, String), Failure> {
    let directory = &running.directory;
    let tenant = directory.tenant(domain).ok_or(Failure::UnknownDomain)?;
    let user = tenant.users.get(login).ok_or(Failure::UnknownLogin)?;
    let hashes = user.hashes.as_ref().ok_or(Failure::NoPassword)?;
    let staff = tenant.staff(login).ok_or(Failure::UnknownLogin)?;
    let config_tenant = &running.config.tenants[tenant.index];
    if let Some(PasswordSource::Hash { .. }) = config_tenant.staff[staff.0].password {
        return Err(Failure::DigestOnly);
    }
    let identity = &running.resolution.staff[tenant.index][staff.0].identity;
    let state = store
        .staff_state(&tenant.id, identity)
        .map_err(|e| Failure::Store(e.to_string()))?;
    let web = state.and_then(|s| s.web).ok_or(Failure::NoWebHash)?;
    if web.ha1_sha256 != hashes.sha256 {
        return Err(Failure::NoWebHash);
    }
    Ok((
        Account {
            tenant: tenant.id.clone(),
            login: login.to_owned(),
            ha1_sha256: hashes.sha256.clone(),
        },
        web.argon2,
    ))
}
