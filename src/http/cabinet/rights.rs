//! Rights: who may open what in the cabinet, decided on the server for every page and JSON
//! endpoint from the running config (a role changed in the config applies to the next
//! request). `Viewer` is a signed-in staff member as the running config knows them; `Area`
//! is what a route shows; `Scope` is whose calls a viewer reads.
//!
//! | role | history | statistics | voicemail | profile | admin pages (config, apply history, password reset) |
//! |---|---|---|---|---|---|
//! | admin | the company's | the company's | every box | their own | yes |
//! | user | the company's | the company's | their own box, their departments' | their own | no |
//! | restricted | their own calls | their own | their own box, their departments' | their own | no |
//!
//! Every route names its tenant; a viewer of another tenant gets the answer an unknown tenant
//! gets (404), so one company cannot even learn another's id.

use crate::config::model::{Language, Role, Tenant};
use crate::serve::applier::Running;
use std::sync::Arc;

/// What a route shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Area {
    History,
    Statistics,
    /// Voicemail boxes (which ones: `voicemail::may_open`).
    Voicemail,
    /// Their own profile and password.
    Profile,
    /// The applied config, its apply history, password resets.
    Admin,
}

/// Whose calls a viewer reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Only calls this login made, was offered or answered.
    Own(String),
    /// Every call of the tenant.
    Company,
}

/// A signed-in staff member, as the running config knows them now.
#[derive(Clone)]
pub struct Viewer {
    /// The running config the request is answered from.
    pub running: Arc<Running>,
    /// The store and password rotation.
    pub applier: Arc<crate::serve::applier::Applier>,
    /// The tenant's index in `running.config.tenants`.
    pub tenant_index: usize,
    /// The staff member's index in the tenant's `staff`.
    pub staff_index: usize,
    pub login: String,
    pub role: Role,
    /// The session's CSRF token, for the forms a page shows.
    pub csrf: String,
}

impl Viewer {
    /// The viewer's tenant.
    pub fn tenant(&self) -> &Tenant {
        &self.running.config.tenants[self.tenant_index]
    }

    /// The language of the pages: the tenant's.
    pub fn language(&self) -> Language {
        self.tenant().language
    }

    /// The viewer's name, as the config gives it.
    pub fn name(&self) -> &str {
        &self.tenant().staff[self.staff_index].name
    }

    /// Whether the viewer may open `area` at all.
    pub fn may(&self, area: Area) -> bool {
        may(self.role, area)
    }

    /// Whose calls the viewer reads in the history and the statistics.
    pub fn scope(&self) -> Scope {
        scope(self.role, &self.login)
    }
}

/// Whether `role` may open `area`.
pub fn may(role: Role, area: Area) -> bool {
    match area {
        Area::History | Area::Statistics | Area::Voicemail | Area::Profile => true,
        Area::Admin => role == Role::Admin,
    }
}

/// Whose calls `role` reads.
pub fn scope(role: Role, login: &str) -> Scope {
    match role {
        Role::Restricted => Scope::Own(login.to_owned()),
        Role::Admin | Role::User => Scope::Company,
    }
}

/// Why a request is not answered with what it asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denied {
    /// No live session: sign in (a page redirects, JSON gets 401).
    SignIn,
    /// Another tenant's route, or one that does not exist: 404.
    NotFound,
    /// The role may not open this: 403.
    Forbidden,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_roles_rights_follow_the_spec_table() {
        for role in [Role::Admin, Role::User, Role::Restricted] {
            assert!(may(role, Area::History));
            assert!(may(role, Area::Statistics));
            assert!(may(role, Area::Voicemail));
            assert!(may(role, Area::Profile));
            assert_eq!(may(role, Area::Admin), role == Role::Admin);
        }
        assert_eq!(scope(Role::Restricted, "ivan"), Scope::Own("ivan".into()));
        assert_eq!(scope(Role::User, "ivan"), Scope::Company);
        assert_eq!(scope(Role::Admin, "ivan"), Scope::Company);
    }
}
