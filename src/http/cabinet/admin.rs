//! What an administrator sees of their company: the applied revision and its apply history,
//! the tenant's staff, departments and numbers as the running config has them (never the
//! config files — they hold every tenant, and maybe secrets), and the password reset, which
//! goes through the admin API's rotation (`Applier::rotate_password`).
//!
//! The apply history shows revision, time, who and digest; not the plan summary, which counts
//! the changes of every tenant of the server.

use super::period;
use super::rights::Viewer;
use super::Problem;
use crate::serve::applier::RotateError;
use crate::store::{Applies, CallbackQueue};
use serde::Serialize;

/// One apply, as an administrator sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Apply {
    pub revision: u64,
    pub applied_at_ms: u64,
    /// When, in the tenant's time zone.
    pub at: String,
    pub actor: String,
    pub digest: String,
}

/// A staff member, as an administrator sees them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Member {
    pub name: String,
    pub login: String,
    pub extension: Option<String>,
    pub role: String,
    pub email: Option<String>,
    /// The config sets the password (it cannot be reset here).
    pub configured: bool,
    /// They can sign in to the cabinet: the server holds a hash of their password made for it
    /// (not so for a password generated before the cabinet existed — a reset gives one — or
    /// one the config gives only as digest hashes).
    pub signs_in: bool,
    /// Where the page's reset form posts.
    pub reset_url: String,
    /// Their forwarding to the mobile as calls run it now (`None`: no mobile).
    pub forwarding: Option<String>,
    pub delay_s: Option<u64>,
    /// Where the page's forwarding form posts.
    pub forwarding_url: String,
    /// The length in seconds of the voicemail greeting they uploaded, if one plays.
    pub greeting_s: Option<u64>,
    /// Where the page's greeting forms post (`…/greeting`, `…/greeting/delete`).
    pub greeting_url: String,
}

/// A department, as an administrator sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Department {
    pub id: String,
    pub name: String,
    pub extension: Option<String>,
    pub strategy: String,
    pub members: Vec<String>,
}

/// A company number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Number {
    pub number: String,
    pub name: Option<String>,
}

/// The admin page's data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Overview {
    /// The running revision.
    pub revision: u64,
    /// The apply that made it.
    pub applied: Option<Apply>,
    pub staff: Vec<Member>,
    pub departments: Vec<Department>,
    pub numbers: Vec<Number>,
    /// The newest 50 applies, newest first.
    pub history: Vec<Apply>,
    /// The callbacks waiting in the tenant's departments' queues, in queue order.
    pub callbacks: Vec<Callback>,
}

/// A callback waiting, as the admin page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Callback {
    pub department: String,
    /// The number called back.
    pub number: String,
    /// When the caller first called (their place), in the tenant's time zone.
    pub since: String,
    pub attempts: u32,
    /// An attempt is being made now.
    pub calling: bool,
    /// Why the last attempt failed.
    pub last_failure: Option<String>,
}

/// `text` made safe as one path segment of a URL.
pub fn path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The admin page's data for `viewer` (an administrator). Reads the store: call it off the
/// async runtime.
pub fn overview(viewer: &Viewer) -> Result<Overview, Problem> {
    let tenant = viewer.tenant();
    let tz = tenant.timezone.tz();
    let store = viewer.applier.store();
    let internal = |e: crate::store::StoreError| Problem::Internal(e.to_string());
    let apply = |revision, at_ms, actor: String, digest: String| Apply {
        revision,
        applied_at_ms: at_ms,
        at: period::moment(at_ms, &tz),
        actor,
        digest,
    };
    let applied = store
        .current()
        .map_err(internal)?
        .map(|a| apply(a.revision, a.applied_at_ms, a.actor, a.digest));
    let history = store
        .history(50)
        .map_err(internal)?
        .into_iter()
        .map(|a| apply(a.revision, a.applied_at_ms, a.actor, a.digest))
        .collect();
    let effective = &viewer.running.resolution.staff[viewer.tenant_index];
    let states = store.staff_states(&tenant.id).map_err(internal)?;
    let signs_in = |i: usize| {
        effective
            .get(i)
            .and_then(|e| states.get(&e.identity))
            .is_some_and(|s| s.web.is_some())
    };
    let login = |i: usize| effective.get(i).map_or(String::new(), |e| e.login.clone());
    let base = format!("/{}", path_segment(&tenant.id));
    // Forwarding as calls run it: staff's own settings laid over the config.
    let now = viewer
        .running
        .directory
        .config
        .tenants
        .get(viewer.tenant_index);
    let mobile_now = |i: usize| {
        tenant.self_service.forwarding.then_some(())?;
        now.and_then(|t| t.staff.get(i))
            .and_then(|s| s.mobile.as_ref())
    };
    Ok(Overview {
        revision: viewer.running.revision,
        applied,
        staff: tenant
            .staff
            .iter()
            .enumerate()
            .map(|(i, s)| Member {
                name: s.name.clone(),
                login: login(i),
                extension: effective.get(i).and_then(|e| e.extension.clone()),
                role: s.role.word().to_owned(),
                email: s.email.as_ref().map(|e| e.to_string()),
                configured: s.password.is_some(),
                signs_in: signs_in(i),
                reset_url: format!("{base}/admin/staff/{}/password", path_segment(&login(i))),
                forwarding: mobile_now(i).map(|m| m.forwarding.word().to_owned()),
                delay_s: mobile_now(i).map(|m| m.delay.as_secs()),
                forwarding_url: format!(
                    "{base}/admin/staff/{}/forwarding",
                    path_segment(&login(i))
                ),
                greeting_s: viewer
                    .applier
                    .greeting_length(&tenant.id, &login(i))
                    .map(|d| d.as_secs_f64().ceil() as u64),
                greeting_url: format!("{base}/admin/staff/{}/greeting", path_segment(&login(i))),
            })
            .collect(),
        departments: tenant
            .departments
            .iter()
            .map(|d| Department {
                id: d.id.clone(),
                name: d.name.clone(),
                extension: d.extension.as_ref().map(|e| e.to_string()),
                strategy: d.strategy.word().to_owned(),
                members: d.members.iter().map(|m| login(m.0)).collect(),
            })
            .collect(),
        numbers: tenant
            .numbers
            .iter()
            .map(|n| Number {
                number: n.number.to_string(),
                name: n.name.clone(),
            })
            .collect(),
        history,
        callbacks: store
            .callbacks(Some(&tenant.id))
            .map_err(internal)?
            .into_iter()
            .map(|c| Callback {
                department: c.department,
                number: c.number,
                since: period::moment(c.first_called_ms, &tz),
                attempts: c.attempts,
                calling: c.calling,
                last_failure: c.last_failure,
            })
            .collect(),
    })
}

/// A new password for `login` of the viewer's tenant: (their name, the password, shown once).
/// Blocks (the store's flush): call it off the async runtime.
pub fn reset(viewer: &Viewer, login: &str) -> Result<(String, String), Problem> {
    let tenant = viewer.tenant();
    let (credential, _) = viewer
        .applier
        .rotate_password(&tenant.id, login, false)
        .map_err(|e| match e {
            RotateError::NotFound => Problem::NotFound,
            RotateError::Configured => Problem::Conflict(e.to_string()),
            RotateError::Store(e) => Problem::Internal(e),
        })?;
    let name = viewer.running.resolution.staff[viewer.tenant_index]
        .iter()
        .position(|e| e.login == login)
        .map_or_else(String::new, |i| tenant.staff[i].name.clone());
    Ok((name, credential.password))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(path_segment("ivan.petrov"), "ivan.petrov");
        assert_eq!(path_segment("a/b c"), "a%2Fb%20c");
        assert_eq!(path_segment("я"), "%D1%8F");
    }
}
