//! The allowed range of every duration and count in the config, in one table: each is checked
//! where its field is validated (`Ctx::duration`, `Ctx::count`), and an out-of-range value is
//! an error naming these bounds. The bounds keep one call's work finite (a zero `step` would
//! ring member after member without time passing) and catch typos (`ring_time: 3000`).

use std::time::Duration;

/// Both ends included.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Range<T> {
    pub min: T,
    pub max: T,
}

impl<T: PartialOrd> Range<T> {
    pub fn contains(&self, v: T) -> bool {
        self.min <= v && v <= self.max
    }
}

const fn secs(min: u64, max: u64) -> Range<Duration> {
    Range {
        min: Duration::from_secs(min),
        max: Duration::from_secs(max),
    }
}

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

/// A department's `step`: 1s to 10m.
pub(crate) const STEP: Range<Duration> = secs(1, 10 * MINUTE);
/// A department's or a person's `ring_time`: 1s to 1h.
pub(crate) const RING_TIME: Range<Duration> = secs(1, HOUR);
/// `no_answer.forward.timeout`: 1s to 10m.
pub(crate) const FORWARD_TIMEOUT: Range<Duration> = secs(1, 10 * MINUTE);
/// `mobile.delay`: 1s to 10m.
pub(crate) const MOBILE_DELAY: Range<Duration> = secs(1, 10 * MINUTE);
/// `impatient_callers.after`: 1s to 1h.
pub(crate) const IMPATIENT_AFTER: Range<Duration> = secs(1, HOUR);
/// A menu's `timeout`: 1s to 60s.
pub(crate) const MENU_TIMEOUT: Range<Duration> = secs(1, MINUTE);
/// `server.security.window`: 1s to 1 day.
pub(crate) const SECURITY_WINDOW: Range<Duration> = secs(1, DAY);
/// `server.security.ban`: 1s to 30 days.
pub(crate) const SECURITY_BAN: Range<Duration> = secs(1, 30 * DAY);
/// `server.cabinet.session_idle`: 5m to 7 days.
pub(crate) const SESSION_IDLE: Range<Duration> = secs(5 * MINUTE, 7 * DAY);

/// A menu's `repeat`: 0 to 10.
pub(crate) const MENU_REPEAT: Range<u32> = Range { min: 0, max: 10 };
/// A tenant's `max_users`: 1 to 100000.
pub(crate) const MAX_USERS: Range<u32> = Range {
    min: 1,
    max: 100_000,
};
/// A rewrite's `length`: 1 to 32 characters.
pub(crate) const REWRITE_LENGTH: Range<u32> = Range { min: 1, max: 32 };
/// `server.security.max_failures`: 1 to 1000.
pub(crate) const MAX_FAILURES: Range<u32> = Range { min: 1, max: 1000 };
/// `server.security.account_failures`: 1 to 100000.
pub(crate) const ACCOUNT_FAILURES: Range<u32> = Range {
    min: 1,
    max: 100_000,
};
/// `server.limits.contacts_per_person`: 1 to 100.
pub(crate) const CONTACTS_PER_PERSON: Range<u32> = Range { min: 1, max: 100 };
/// `server.limits.calls_per_tenant`: 0 (no limit) to 100000.
pub(crate) const CALLS_PER_TENANT: Range<u32> = Range {
    min: 0,
    max: 100_000,
};
/// `server.limits.calls_per_person`: 0 (no limit) to 1000.
pub(crate) const CALLS_PER_PERSON: Range<u32> = Range { min: 0, max: 1000 };

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_duration_range_starts_at_a_second_or_more() {
        for r in [
            STEP,
            RING_TIME,
            FORWARD_TIMEOUT,
            MOBILE_DELAY,
            IMPATIENT_AFTER,
            MENU_TIMEOUT,
            SECURITY_WINDOW,
            SECURITY_BAN,
        ] {
            assert!(r.min >= Duration::from_secs(1) && r.min < r.max, "{r:?}");
        }
        assert!(STEP.min >= crate::routing::hunt::MIN_STEP);
    }
}
