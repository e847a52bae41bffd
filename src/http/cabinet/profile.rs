//! A staff member's own profile: who the config says they are (name, login, extension, mobile
//! and its forwarding, e-mail, role), their mobile forwarding (`set_forwarding`: kept by the
//! server over the config, `Applier::set_forwarding`; the next call follows it) and the
//! password change, each where the tenant's `self_service` allows. The change needs the current
//! password (wrong ones count towards the sign-in throttle of the account and the address),
//! a new one of 12 to 128 characters typed twice; it goes through
//! `Applier::change_password` (digest hashes and argon2id together; the phones must use it
//! from then on), ends the member's other sessions and keeps the one it was made in. A
//! password the config sets cannot be changed here.

use super::rights::Viewer;
use super::throttle::account_key;
use super::{signin, Cabinet, Problem};
use crate::serve::applier::{ProfileError, RotateError};
use serde::Serialize;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

/// The shortest and longest password a person may choose.
pub const MIN_LEN: usize = 12;
pub const MAX_LEN: usize = 128;

/// The profile page's data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Profile {
    pub name: String,
    pub login: String,
    pub extension: Option<String>,
    pub position: Option<String>,
    pub email: Option<String>,
    pub mobile: Option<String>,
    /// `off`, `instant` or `delayed`: what calls do now (their own setting over the config's).
    pub forwarding: Option<String>,
    /// For `delayed`: how long the phones ring alone, in seconds.
    pub delay_s: Option<u64>,
    /// They may change their forwarding here (`self_service.forwarding`, and a mobile).
    pub may_forward: bool,
    pub role: String,
    /// The config sets the password: it cannot be changed here.
    pub password_configured: bool,
    /// They may change their password here (`self_service.password`).
    pub may_change_password: bool,
    /// The length in seconds of the voicemail greeting they uploaded, if one plays.
    pub greeting_s: Option<u64>,
    /// They may upload a greeting here (`self_service.greeting`).
    pub may_upload_greeting: bool,
}

/// What `viewer`'s profile shows.
pub fn of(viewer: &Viewer) -> Profile {
    let s = &viewer.tenant().staff[viewer.staff_index];
    let e = &viewer.running.resolution.staff[viewer.tenant_index][viewer.staff_index];
    // What calls run with: the directory's config has the member's own settings laid over.
    let now = viewer
        .running
        .directory
        .config
        .tenants
        .get(viewer.tenant_index)
        .and_then(|t| t.staff.get(viewer.staff_index))
        .and_then(|s| s.mobile.clone());
    let self_service = viewer.tenant().self_service;
    Profile {
        name: s.name.clone(),
        login: e.login.clone(),
        extension: e.extension.clone(),
        position: s.position.clone(),
        email: s.email.as_ref().map(|m| m.to_string()),
        mobile: s.mobile.as_ref().map(|m| m.number.to_string()),
        forwarding: now.as_ref().map(|m| m.forwarding.word().to_owned()),
        delay_s: now.as_ref().map(|m| m.delay.as_secs()),
        may_forward: self_service.forwarding && s.mobile.is_some(),
        role: viewer.role.word().to_owned(),
        password_configured: s.password.is_some(),
        may_change_password: self_service.password,
        greeting_s: viewer
            .applier
            .greeting_length(&viewer.tenant().id, &e.login)
            .map(|d| d.as_secs_f64().ceil() as u64),
        may_upload_greeting: self_service.greeting,
    }
}

/// Why a password change was refused: the key of the message the page shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The current password is wrong.
    Wrong,
    /// The two new ones differ.
    Mismatch,
    /// Shorter than [`MIN_LEN`] or longer than [`MAX_LEN`] characters, or the login itself.
    Weak,
    /// The config sets this password.
    Configured,
    /// Too many wrong passwords for the account or from the address.
    Throttled,
    /// The tenant's `self_service` does not allow this.
    NotAllowed,
    /// No mobile in the config.
    NoMobile,
    /// A forwarding delay outside 1-600 s, or a mode that is not one.
    Delay,
    /// An uploaded greeting that cannot be played.
    Greeting(crate::media::resample::ConvertError),
    /// A greeting form without a file.
    NoFile,
    Failed(Problem),
}

impl Refusal {
    /// The strings table's key.
    pub fn key(&self) -> &'static str {
        match self {
            Refusal::Wrong => "password_wrong",
            Refusal::Mismatch => "password_mismatch",
            Refusal::Weak => "password_weak",
            Refusal::Configured => "password_configured",
            Refusal::Throttled => "throttled",
            Refusal::NotAllowed => "self_service_off",
            Refusal::NoMobile => "no_mobile",
            Refusal::Delay => "delay_range",
            Refusal::Greeting(e) => {
                use crate::media::resample::ConvertError;
                match e {
                    ConvertError::NotWav => "greeting_not_wav",
                    ConvertError::Unsupported(_) => "greeting_unsupported",
                    ConvertError::Empty => "greeting_empty",
                    ConvertError::TooLong { .. } => "greeting_too_long",
                    ConvertError::Truncated => "greeting_truncated",
                }
            }
            Refusal::NoFile => "greeting_no_file",
            Refusal::Failed(_) => "error",
        }
    }
}

impl From<ProfileError> for Refusal {
    fn from(e: ProfileError) -> Refusal {
        match e {
            ProfileError::NotAllowed => Refusal::NotAllowed,
            ProfileError::NoMobile => Refusal::NoMobile,
            ProfileError::Delay => Refusal::Delay,
            ProfileError::Audio(e) => Refusal::Greeting(e),
            ProfileError::NotFound => Refusal::Failed(Problem::NotFound),
            ProfileError::Store(e) => Refusal::Failed(Problem::Internal(e)),
        }
    }
}

/// Changes `viewer`'s password from `current` to `new` (typed twice: `repeat`), keeping the
/// session `session_id` signed in.
pub async fn change_password(
    cab: &Arc<Cabinet>,
    viewer: &Viewer,
    session_id: &str,
    source: IpAddr,
    current: &str,
    new: &str,
    repeat: &str,
) -> Result<(), Refusal> {
    let tenant = viewer.tenant();
    if !tenant.self_service.password {
        return Err(Refusal::NotAllowed);
    }
    if tenant.staff[viewer.staff_index].password.is_some() {
        return Err(Refusal::Configured);
    }
    if new != repeat {
        return Err(Refusal::Mismatch);
    }
    let length = new.chars().count();
    if !(MIN_LEN..=MAX_LEN).contains(&length) || new == viewer.login {
        return Err(Refusal::Weak);
    }
    let key = account_key(&tenant.domain, &viewer.login);
    if !cab.throttle.allows(&key, source, Instant::now()) {
        return Err(Refusal::Throttled);
    }
    let (running, applier) = (viewer.running.clone(), viewer.applier.clone());
    let (domain, login, current, new) = (
        tenant.domain.clone(),
        viewer.login.clone(),
        current.to_owned(),
        new.to_owned(),
    );
    let tenant_id = tenant.id.clone();
    let _turn = cab
        .hashing
        .acquire()
        .await
        .map_err(|_| Refusal::Failed(Problem::Internal("shutting down".into())))?;
    let outcome = tokio::task::spawn_blocking(move || {
        if signin::check(&running, applier.store(), &domain, &login, &current).is_err() {
            return Err(Refusal::Wrong);
        }
        applier
            .change_password(&tenant_id, &login, &new)
            .map_err(|e| match e {
                RotateError::Configured => Refusal::Configured,
                RotateError::NotFound => Refusal::Failed(Problem::NotFound),
                RotateError::Store(e) => Refusal::Failed(Problem::Internal(e)),
            })?;
        Ok(crate::credentials::ha1(&login, &domain, &new).sha256)
    })
    .await
    .unwrap_or_else(|e| Err(Refusal::Failed(Problem::Internal(e.to_string()))));
    match outcome {
        Ok(ha1_sha256) => {
            cab.throttle.succeeded(&key);
            cab.sessions.rebind(session_id, &ha1_sha256);
            eprintln!(
                "pbx serve: cabinet: {} of tenant {} changed their password",
                viewer.login, tenant.id
            );
            Ok(())
        }
        Err(Refusal::Wrong) => {
            cab.throttle.failed(&key, source, Instant::now());
            Err(Refusal::Wrong)
        }
        Err(r) => Err(r),
    }
}

/// Sets `viewer`'s forwarding to their mobile: `off`, `instant` or `delayed` (with `delay_s`,
/// 1-600; the config's delay when not given). Blocks (the store's flush): call it off the runtime.
pub fn set_forwarding(
    viewer: &Viewer,
    forwarding: &str,
    delay_s: Option<u64>,
) -> Result<(), Refusal> {
    let login = viewer.login.clone();
    set_forwarding_of(viewer, &login, forwarding, delay_s)
}

/// Sets the forwarding of `login` of the viewer's tenant (the viewer themselves, or anyone for
/// an administrator: the caller checks which).
pub fn set_forwarding_of(
    viewer: &Viewer,
    login: &str,
    forwarding: &str,
    delay_s: Option<u64>,
) -> Result<(), Refusal> {
    use crate::config::model::Forwarding;
    let mode: Forwarding =
        serde_json::from_value(serde_json::Value::String(forwarding.trim().to_owned()))
            .map_err(|_| Refusal::Delay)?;
    if delay_s.is_some_and(|d| !(1..=600).contains(&d)) {
        return Err(Refusal::Delay);
    }
    let delay = delay_s.map(std::time::Duration::from_secs);
    viewer
        .applier
        .set_forwarding(&viewer.tenant().id, login, mode, delay)?;
    let whose = if login == viewer.login {
        "their".to_owned()
    } else {
        format!("{login}'s")
    };
    eprintln!(
        "pbx serve: cabinet: {} of tenant {} set {whose} forwarding to {forwarding}{}",
        viewer.login,
        viewer.tenant().id,
        delay_s.map_or(String::new(), |d| format!(" after {d}s"))
    );
    Ok(())
}

/// Sets (or with `None`, removes) the greeting of `login`, the viewer's own without one (an
/// administrator may name another: the caller checks the role), off the runtime.
pub async fn set_greeting(
    v: &Viewer,
    login: Option<String>,
    wav: Option<Vec<u8>>,
) -> Result<(), Refusal> {
    let viewer = v.clone();
    tokio::task::spawn_blocking(move || {
        let login = login.unwrap_or_else(|| viewer.login.clone());
        set_greeting_of(&viewer, &login, wav.as_deref())
    })
    .await
    .unwrap_or_else(|e| Err(Refusal::Failed(Problem::Internal(e.to_string()))))
}

/// Replaces the voicemail greeting of `login` of the viewer's tenant (the viewer themselves, or
/// anyone for an administrator: the caller checks which) with the WAV file `wav`, converted to
/// the engine's format, or with `None` goes back to the config's. Blocks (conversion, the
/// store's flush): call it off the runtime.
pub fn set_greeting_of(viewer: &Viewer, login: &str, wav: Option<&[u8]>) -> Result<(), Refusal> {
    let length = viewer
        .applier
        .set_greeting(&viewer.tenant().id, login, wav)?;
    let whose = if login == viewer.login {
        "their".to_owned()
    } else {
        format!("{login}'s")
    };
    match length {
        Some(d) => eprintln!(
            "pbx serve: cabinet: {} of tenant {} uploaded {whose} voicemail greeting ({:.1} s)",
            viewer.login,
            viewer.tenant().id,
            d.as_secs_f64()
        ),
        None => eprintln!(
            "pbx serve: cabinet: {} of tenant {} removed {whose} uploaded voicemail greeting",
            viewer.login,
            viewer.tenant().id
        ),
    }
    Ok(())
}
