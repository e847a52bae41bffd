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
/// `impatient_callers.repeat`: 5s to 10m.
pub(crate) const IMPATIENT_REPEAT: Range<Duration> = secs(5, 10 * MINUTE);
/// `impatient_callers.callback.retry_after`: 1m to 1 day.
pub(crate) const CALLBACK_RETRY: Range<Duration> = secs(MINUTE, DAY);
/// `impatient_callers.callback.expires`: 1h to 30 days.
pub(crate) const CALLBACK_EXPIRES: Range<Duration> = secs(HOUR, 30 * DAY);
/// `impatient_callers.callback.ring_time`: 5s to 5m.
pub(crate) const CALLBACK_RING: Range<Duration> = secs(5, 5 * MINUTE);
/// A menu's `timeout`: 1s to 60s.
pub(crate) const MENU_TIMEOUT: Range<Duration> = secs(1, MINUTE);
/// `server.security.window`: 1s to 1 day.
pub(crate) const SECURITY_WINDOW: Range<Duration> = secs(1, DAY);
/// `server.security.ban`: 1s to 30 days.
pub(crate) const SECURITY_BAN: Range<Duration> = secs(1, 30 * DAY);
/// `server.smtp.keep_sent`: 1h to 30 days (the default).
pub(crate) const KEEP_SENT: Range<Duration> = secs(HOUR, 30 * DAY);
/// `server.cabinet.session_idle`: 5m to 7 days.
pub(crate) const SESSION_IDLE: Range<Duration> = secs(5 * MINUTE, 7 * DAY);

/// `impatient_callers.max_offers`: 1 to 10.
pub(crate) const MAX_OFFERS: Range<u32> = Range { min: 1, max: 10 };
/// `impatient_callers.callback.attempts`: 1 to 10.
pub(crate) const CALLBACK_ATTEMPTS: Range<u32> = Range { min: 1, max: 10 };
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
/// `server.limits.calls`: 0 (no limit) to 1000000.
pub(crate) const CALLS: Range<u32> = Range {
    min: 0,
    max: 1_000_000,
};
/// `server.limits.transactions`: 1000 to 10000000.
pub(crate) const TRANSACTIONS: Range<u32> = Range {
    min: 1000,
    max: 10_000_000,
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
            IMPATIENT_REPEAT,
            CALLBACK_RETRY,
            CALLBACK_EXPIRES,
            CALLBACK_RING,
            MENU_TIMEOUT,
            SECURITY_WINDOW,
            SECURITY_BAN,
            KEEP_SENT,
        ] {
            assert!(r.min >= Duration::from_secs(1) && r.min < r.max, "{r:?}");
        }
        assert!(STEP.min >= crate::routing::hunt::MIN_STEP);
    }
}
