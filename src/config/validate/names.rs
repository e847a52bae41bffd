//! `Names`: what a tenant's references resolve against — its staff by login, departments,
//! menus and schedules by id — built once per tenant (`tenant.rs`) and used by the checks of
//! staff and routing (and the tenant's `outbound` rules, which external numbers are checked
//! against).

use crate::config::model::{DepartmentId, MenuId, ScheduleId, StaffId};
use crate::config::outbound::Outbound;
use std::collections::HashMap;

/// The names a tenant's references resolve against.
pub(super) struct Names<'r> {
    pub(super) staff: HashMap<String, StaffId>,
    pub(super) departments: HashMap<&'r str, DepartmentId>,
    pub(super) menus: HashMap<&'r str, MenuId>,
    pub(super) schedules: HashMap<&'r str, ScheduleId>,
    /// Whether staff may reach external numbers (an outbound trunk is configured).
    pub(super) has_outbound: bool,
    /// The tenant's rules for calls out (`None` when they have errors).
    pub(super) outbound: Option<Outbound>,
}
