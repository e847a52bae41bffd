//! Voicemail in the cabinet: the messages of the boxes a viewer may open — their own
//! (`staff:<login>`), those of the departments they are a member of, every box of the tenant
//! for an administrator — listed, listened to or downloaded, marked heard, deleted. A message
//! of a box the viewer may not open is answered exactly like one that does not exist (404).
//! Deleting goes through `serve::voicemail::delete`, the admin API's way.

use super::period;
use super::rights::Viewer;
use super::Problem;
use crate::config::model::Role;
use crate::serve::voicemail::{delete, recording_path, VoicemailError};
use crate::store::{StoreError, Voicemail, VoicemailIndex};
use serde::Serialize;

/// Whether `viewer` may open the box `mailbox` of their tenant.
pub fn may_open(viewer: &Viewer, mailbox: &str) -> bool {
    if viewer.role == Role::Admin {
        return true;
    }
    if let Some(login) = mailbox.strip_prefix("staff:") {
        return login == viewer.login;
    }
    if let Some(id) = mailbox.strip_prefix("department:") {
        let me = crate::config::model::StaffId(viewer.staff_index);
        return viewer
            .tenant()
            .departments
            .iter()
            .any(|d| d.id == id && d.members.contains(&me));
    }
    false
}

/// A message as a page or the JSON API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Message {
    pub id: u64,
    pub mailbox: String,
    pub caller: String,
    pub number: Option<String>,
    pub received_ms: u64,
    /// When it arrived, in the tenant's time zone.
    pub received: String,
    pub duration_ms: u64,
    pub duration: String,
    pub heard: bool,
}

impl Message {
    fn new(m: Voicemail, tz: &jiff::tz::TimeZone) -> Message {
        Message {
            received: period::moment(m.received_ms, tz),
            duration: period::length(m.duration_ms),
            id: m.id,
            mailbox: m.mailbox,
            caller: m.caller,
            number: m.number,
            received_ms: m.received_ms,
            duration_ms: m.duration_ms,
            heard: m.heard,
        }
    }
}

fn store_problem(e: StoreError) -> Problem {
    match e {
        StoreError::InvalidKey { .. } => Problem::NotFound,
        e => Problem::Internal(e.to_string()),
    }
}

/// The messages of every box `viewer` may open, newest first. Reads the store: call it off the
/// async runtime.
pub fn list(viewer: &Viewer) -> Result<Vec<Message>, Problem> {
    let tenant = viewer.tenant();
    let tz = tenant.timezone.tz();
    let all = viewer
        .applier
        .store()
        .voicemails(&tenant.id, None)
        .map_err(store_problem)?;
    Ok(all
        .into_iter()
        .filter(|m| m.tenant == tenant.id && may_open(viewer, &m.mailbox))
        .map(|m| Message::new(m, &tz))
        .collect())
}

/// The message `id` if `viewer` may open its box.
fn find(viewer: &Viewer, id: &str) -> Result<Voicemail, Problem> {
    let id: u64 = id.parse().map_err(|_| Problem::NotFound)?;
    let tenant = &viewer.tenant().id;
    match viewer.applier.store().voicemail(tenant, id) {
        Ok(Some(m)) if &m.tenant == tenant && may_open(viewer, &m.mailbox) => Ok(m),
        Ok(_) => Err(Problem::NotFound),
        Err(e) => Err(store_problem(e)),
    }
}

/// The recording of message `id`: (id, WAV bytes).
pub fn audio(viewer: &Viewer, id: &str) -> Result<(u64, Vec<u8>), Problem> {
    let m = find(viewer, id)?;
    let path = recording_path(&viewer.running.config.server.data_dir, &m)
        .map_err(|e| Problem::Internal(e.to_string()))?;
    match std::fs::read(&path) {
        Ok(bytes) => Ok((m.id, bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Problem::NotFound),
        Err(e) => Err(Problem::Internal(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

/// Marks message `id` heard.
pub fn mark_heard(viewer: &Viewer, id: &str) -> Result<(), Problem> {
    let m = find(viewer, id)?;
    match viewer.applier.store().mark_heard(&m.tenant, m.id) {
        Ok(true) => Ok(()),
        Ok(false) => Err(Problem::NotFound),
        Err(e) => Err(store_problem(e)),
    }
}

/// Deletes message `id` and its recording.
pub fn remove(viewer: &Viewer, id: &str) -> Result<(), Problem> {
    let m = find(viewer, id)?;
    let data_dir = &viewer.running.config.server.data_dir;
    match delete(viewer.applier.store(), data_dir, &m.tenant, m.id) {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(Problem::NotFound),
        Err(VoicemailError::Store(e)) => Err(store_problem(e)),
        Err(e) => Err(Problem::Internal(e.to_string())),
    }
}
