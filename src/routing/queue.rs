//! `Queue`: the callbacks callers ordered, waiting in their department's queue until the PBX
//! makes them — a pure state machine on milliseconds passed in. Its owner keeps every entry
//! durably (each change it returns is written before anything else happens to the entry) and
//! starts the calls it says are due.
//!
//! - **Order.** An entry's place is when the caller first called (`first_called_ms`); a caller
//!   who orders again while their callback waits (the same tenant, department and number)
//!   keeps their one entry and its earlier place.
//! - **Due.** A department makes callbacks while it can take a call: within the callback's
//!   hours (`callback.schedule`, else those of the number the caller called; any time without
//!   one), with as many members free (registered, not on a call) as callbacks it already has
//!   in progress plus one. Its oldest entries go first, at most one per free member, each not
//!   before its `next_ms`.
//! - **Retries and expiry.** A failed attempt (no member answered, the caller's number did not
//!   answer, a member hung up) is tried again `retry_after` later, until `attempts` were made;
//!   an entry not completed `expires` after it was ordered is given up (not while an attempt
//!   is in progress). A completed one leaves the queue.
//! - **Config.** The rules are read from the running config each time: a department whose
//!   `impatient_callers` went away keeps the defaults; an entry whose tenant or department
//!   no longer exists is given up.

use crate::config::model::{CallbackRules, Config, StaffId, Tenant};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// One callback in a department's queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Callback {
    pub id: u64,
    /// Tenant id.
    pub tenant: String,
    /// Department id.
    pub department: String,
    /// The number called back, E.164.
    pub number: String,
    /// The company number the caller called, if they called one.
    #[serde(default)]
    pub dialled: Option<String>,
    /// When the caller first called (ms since the epoch): the entry's place in the queue.
    pub first_called_ms: u64,
    /// When the callback was ordered.
    pub ordered_ms: u64,
    /// Attempts made so far.
    #[serde(default)]
    pub attempts: u32,
    /// Not tried before this.
    #[serde(default)]
    pub next_ms: u64,
    /// An attempt is in progress.
    #[serde(default)]
    pub calling: bool,
    /// Why the last attempt failed.
    #[serde(default)]
    pub last_failure: Option<String>,
}

/// A callback a caller ordered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Order {
    pub tenant: String,
    pub department: String,
    pub number: String,
    pub dialled: Option<String>,
    /// When the call that ordered it began.
    pub called_ms: u64,
}

/// How an attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// A member and the caller talked.
    Completed,
    /// It failed, for this reason.
    Failed(String),
}

/// What happened to an entry, for its owner to keep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// The entry is (now) this.
    Put(Callback),
    /// The entry left the queue: completed, or given up (why).
    Removed {
        callback: Callback,
        given_up: Option<String>,
    },
}

/// Whether a staff member of a tenant (by its index in the config) can take a call now.
pub trait Staffing {
    fn free(&self, tenant: usize, staff: StaffId) -> bool;
}

/// Every callback waiting, by id.
#[derive(Clone, Debug, Default)]
pub struct Queue {
    entries: BTreeMap<u64, Callback>,
    last_id: u64,
}

impl Queue {
    /// The queue as it was kept. Attempts that were in progress when the server stopped are
    /// over (their call ended with it): each is due again at once, counted as made.
    pub fn restore(entries: Vec<Callback>) -> (Queue, Vec<Change>) {
        let mut queue = Queue::default();
        let mut changes = Vec::new();
        for mut c in entries {
            queue.last_id = queue.last_id.max(c.id);
            if c.calling {
                c.calling = false;
                c.last_failure = Some("the server stopped during the attempt".into());
                changes.push(Change::Put(c.clone()));
            }
            queue.entries.insert(c.id, c);
        }
        (queue, changes)
    }

    /// Callbacks waiting or being made, in queue order (when the caller first called).
    pub fn entries(&self) -> Vec<&Callback> {
        let mut all: Vec<&Callback> = self.entries.values().collect();
        all.sort_by_key(|c| (c.first_called_ms, c.id));
        all
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Puts an order in its department's queue — or, when the caller has an entry there
    /// already, keeps that one (at the earlier of the two places).
    pub fn order(&mut self, order: Order, now_ms: u64) -> Change {
        let same = self.entries.values_mut().find(|c| {
            c.tenant == order.tenant && c.department == order.department && c.number == order.number
        });
        if let Some(c) = same {
            c.first_called_ms = c.first_called_ms.min(order.called_ms);
            return Change::Put(c.clone());
        }
        // Ids grow with time and never repeat, also across restarts.
        let id = (self.last_id + 1).max(now_ms.saturating_mul(1000));
        self.last_id = id;
        let c = Callback {
            id,
            tenant: order.tenant,
            department: order.department,
            number: order.number,
            dialled: order.dialled,
            first_called_ms: order.called_ms,
            ordered_ms: now_ms,
            attempts: 0,
            next_ms: now_ms,
            calling: false,
            last_failure: None,
        };
        self.entries.insert(id, c.clone());
        Change::Put(c)
    }

    /// The callbacks to start now (each marked as being made: its `Put` is among the
    /// changes), and the entries given up (expired, or their department gone).
    pub fn due(
        &mut self,
        now_ms: u64,
        config: &Config,
        staff: &dyn Staffing,
    ) -> (Vec<Callback>, Vec<Change>) {
        let mut changes = Vec::new();
        let mut start = Vec::new();
        // Entries that cannot stay.
        let ids: Vec<u64> = self.entries.keys().copied().collect();
        for id in ids {
            let c = &self.entries[&id];
            if c.calling {
                continue;
            }
            let why = match resolve(config, c) {
                None => Some("the department no longer exists".to_string()),
                Some((_, _, rules)) => (now_ms >= c.ordered_ms + ms(rules.expires)).then(|| {
                    format!(
                        "expired: not made within {}",
                        crate::config::clock::format_duration(rules.expires)
                    )
                }),
            };
            if let Some(why) = why {
                let callback = self.entries.remove(&id).expect("it is there");
                changes.push(Change::Removed {
                    callback,
                    given_up: Some(why),
                });
            }
        }
        // Per department, its oldest waiting entries, one per free member.
        let mut departments: BTreeMap<(String, String), Vec<u64>> = BTreeMap::new();
        for c in self.entries() {
            departments
                .entry((c.tenant.clone(), c.department.clone()))
                .or_default()
                .push(c.id);
        }
        for ids in departments.values() {
            let first = &self.entries[&ids[0]];
            let Some((t, tenant, rules)) = resolve(config, first) else {
                continue;
            };
            let dept = tenant
                .departments
                .iter()
                .find(|d| d.id == first.department)
                .expect("resolved");
            let free = dept.members.iter().filter(|m| staff.free(t, **m)).count();
            let calling = ids.iter().filter(|id| self.entries[id].calling).count();
            let mut room = free.saturating_sub(calling);
            for id in ids {
                if room == 0 {
                    break;
                }
                let c = self.entries.get_mut(id).expect("listed");
                // One outside its hours keeps its place and lets the next go.
                if c.calling
                    || c.next_ms > now_ms
                    || !open(tenant, &rules, c.dialled.as_deref(), now_ms)
                {
                    continue;
                }
                c.calling = true;
                c.attempts += 1;
                room -= 1;
                changes.push(Change::Put(c.clone()));
                start.push(c.clone());
            }
        }
        (start, changes)
    }

    /// An attempt ended: the entry leaves the queue (completed, or its attempts used up) or
    /// waits `retry_after`.
    pub fn ended(
        &mut self,
        id: u64,
        attempt: Attempt,
        now_ms: u64,
        config: &Config,
    ) -> Option<Change> {
        let mut c = self.entries.remove(&id)?;
        c.calling = false;
        let why = match attempt {
            Attempt::Completed => {
                return Some(Change::Removed {
                    callback: c,
                    given_up: None,
                })
            }
            Attempt::Failed(why) => why,
        };
        let rules = resolve(config, &c).map(|(_, _, r)| r).unwrap_or_default();
        if c.attempts >= rules.attempts {
            let given_up = format!("{why}; given up after {} attempt(s)", c.attempts);
            c.last_failure = Some(why);
            return Some(Change::Removed {
                callback: c,
                given_up: Some(given_up),
            });
        }
        c.last_failure = Some(why);
        c.next_ms = now_ms + ms(rules.retry_after);
        self.entries.insert(id, c.clone());
        Some(Change::Put(c))
    }

    /// When an entry next becomes due by time alone (its retry, its expiry); presence and
    /// opening hours change without a deadline, so the owner also looks every few seconds.
    pub fn next_deadline(&self, config: &Config) -> Option<u64> {
        self.entries
            .values()
            .filter(|c| !c.calling)
            .map(|c| {
                let expires =
                    resolve(config, c).map_or(0, |(_, _, r)| c.ordered_ms + ms(r.expires));
                c.next_ms.min(expires)
            })
            .min()
    }
}

impl Default for CallbackRules {
    /// The rules of a department that wrote none.
    fn default() -> CallbackRules {
        CallbackRules {
            attempts: 3,
            retry_after: Duration::from_secs(600),
            expires: Duration::from_secs(86_400),
            ring_time: Duration::from_secs(45),
            schedule: None,
        }
    }
}

/// The entry's tenant (index and model) and its department's rules, if both still exist.
fn resolve<'a>(config: &'a Config, c: &Callback) -> Option<(usize, &'a Tenant, CallbackRules)> {
    let (t, tenant) = config
        .tenants
        .iter()
        .enumerate()
        .find(|(_, t)| t.id == c.tenant)?;
    let dept = tenant.departments.iter().find(|d| d.id == c.department)?;
    let rules = dept
        .impatient_callers
        .as_ref()
        .map(|ic| ic.callback.clone())
        .unwrap_or_default();
    Some((t, tenant, rules))
}

/// Whether callbacks may be made at `now_ms` by `rules` (or the hours of `dialled`).
fn open(tenant: &Tenant, rules: &CallbackRules, dialled: Option<&str>, now_ms: u64) -> bool {
    let schedule = rules.schedule.or_else(|| {
        let number = tenant
            .numbers
            .iter()
            .find(|n| Some(n.number.as_str()) == dialled)?;
        number.schedule
    });
    let Some(s) = schedule else {
        return true;
    };
    let wall =
        jiff::Timestamp::from_millisecond(now_ms as i64).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    super::schedule::is_open(&tenant.schedules[s.0], wall)
}

fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::validate::validate_text;

    const YAML: &str = r#"version: 1
tenants:
  - id: acme
    name: Acme
    domain: acme.example
    max_users: 10
    timezone: Europe/Moscow
    staff:
      - { name: Anna, login: anna, extension: "201" }
      - { name: Boris, login: boris, extension: "202" }
    departments:
      - id: sales
        strategy: all_at_once
        members: [anna, boris]
        impatient_callers:
          callback: { attempts: 2, retry_after: 10m, expires: 72h }
      - id: support
        strategy: all_at_once
        members: [anna]
    schedules:
      - { id: office, hours: { weekdays: ["09:00-18:00"] } }
    numbers:
      - { number: "+74950000001", schedule: office, destination: { department: sales } }
      - { number: "+74950000002", destination: { department: support } }
"#;

    /// Monday 2026-11-23 10:00 Moscow (07:00 UTC), in ms.
    const MONDAY_10: u64 = 1_795_417_200_000;
    const MIN: u64 = 60_000;

    fn config() -> Config {
        validate_text(YAML).expect("valid")
    }

    /// Who is free: logins.
    struct Free(Vec<&'static str>);
    impl Staffing for (&Config, &Free) {
        fn free(&self, tenant: usize, staff: StaffId) -> bool {
            let login = self.0.tenants[tenant].staff[staff.0].login.to_string();
            self.1 .0.contains(&login.as_str())
        }
    }

    fn order(dept: &str, number: &str, called_ms: u64, dialled: &str) -> Order {
        Order {
            tenant: "acme".into(),
            department: dept.into(),
            number: number.into(),
            dialled: Some(dialled.into()),
            called_ms,
        }
    }

    fn numbers(started: &[Callback]) -> Vec<&str> {
        started.iter().map(|c| c.number.as_str()).collect()
    }

    #[test]
    fn callbacks_go_in_the_order_callers_first_called_one_per_free_member() {
        let config = config();
        let mut q = Queue::default();
        q.order(
            order("sales", "+79160000003", MONDAY_10 + 3, "+74950000001"),
            MONDAY_10 + 10,
        );
        q.order(
            order("sales", "+79160000001", MONDAY_10 + 1, "+74950000001"),
            MONDAY_10 + 11,
        );
        q.order(
            order("sales", "+79160000002", MONDAY_10 + 2, "+74950000001"),
            MONDAY_10 + 12,
        );
        // Nobody free: nothing starts.
        let (started, _) = q.due(MONDAY_10 + MIN, &config, &(&config, &Free(vec![])));
        assert!(started.is_empty());
        // One free member: the caller who called first.
        let (started, changes) = q.due(MONDAY_10 + MIN, &config, &(&config, &Free(vec!["anna"])));
        assert_eq!(numbers(&started), ["+79160000001"]);
        assert!(matches!(&changes[..], [Change::Put(c)] if c.calling && c.attempts == 1));
        // Still one free member, one callback in progress: no room.
        let (started, _) = q.due(MONDAY_10 + MIN, &config, &(&config, &Free(vec!["anna"])));
        assert!(started.is_empty());
        // Two free: the next in line.
        let free = Free(vec!["anna", "boris"]);
        let (started, _) = q.due(MONDAY_10 + MIN, &config, &(&config, &free));
        assert_eq!(numbers(&started), ["+79160000002"]);
    }

    #[test]
    fn a_caller_ordering_again_keeps_one_entry_at_the_earlier_place() {
        let config = config();
        let mut q = Queue::default();
        let first = q.order(
            order("sales", "+79160000001", MONDAY_10 + 5, "+74950000001"),
            MONDAY_10 + 6,
        );
        q.order(
            order("sales", "+79160000002", MONDAY_10 + 3, "+74950000001"),
            MONDAY_10 + 7,
        );
        let again = q.order(
            order("sales", "+79160000001", MONDAY_10 + 1, "+74950000001"),
            MONDAY_10 + 8,
        );
        let (Change::Put(a), Change::Put(b)) = (first, again) else {
            panic!("puts")
        };
        assert_eq!(a.id, b.id);
        assert_eq!(b.first_called_ms, MONDAY_10 + 1);
        assert_eq!(q.len(), 2);
        let (started, _) = q.due(MONDAY_10 + MIN, &config, &(&config, &Free(vec!["anna"])));
        assert_eq!(numbers(&started), ["+79160000001"]);
        // Another department's queue is another entry.
        q.order(
            order("support", "+79160000001", MONDAY_10, "+74950000002"),
            MONDAY_10 + 9,
        );
        assert_eq!(q.len(), 3);
    }

    #[test]
    fn a_failed_attempt_is_retried_after_the_interval_until_attempts_run_out() {
        let config = config();
        let free = Free(vec!["anna"]);
        let mut q = Queue::default();
        q.order(
            order("sales", "+79160000001", MONDAY_10, "+74950000001"),
            MONDAY_10,
        );
        let (started, _) = q.due(MONDAY_10, &config, &(&config, &free));
        let id = started[0].id;
        let change = q.ended(
            id,
            Attempt::Failed("no member answered".into()),
            MONDAY_10 + MIN,
            &config,
        );
        assert!(
            matches!(change, Some(Change::Put(ref c)) if c.next_ms == MONDAY_10 + 11 * MIN && !c.calling)
        );
        assert!(q
            .due(MONDAY_10 + 10 * MIN, &config, &(&config, &free))
            .0
            .is_empty());
        assert_eq!(q.next_deadline(&config), Some(MONDAY_10 + 11 * MIN));
        let (started, _) = q.due(MONDAY_10 + 11 * MIN, &config, &(&config, &free));
        assert_eq!(started[0].attempts, 2);
        // The second of two attempts fails: given up.
        let change = q.ended(
            id,
            Attempt::Failed("the caller's number did not answer".into()),
            MONDAY_10 + 12 * MIN,
            &config,
        );
        match change {
            Some(Change::Removed {
                given_up: Some(why),
                ..
            }) => {
                assert_eq!(
                    why,
                    "the caller's number did not answer; given up after 2 attempt(s)"
                )
            }
            other => panic!("{other:?}"),
        }
        assert!(q.is_empty());
    }

    #[test]
    fn a_completed_callback_leaves_the_queue() {
        let config = config();
        let mut q = Queue::default();
        q.order(
            order("sales", "+79160000001", MONDAY_10, "+74950000001"),
            MONDAY_10,
        );
        let (started, _) = q.due(MONDAY_10, &config, &(&config, &Free(vec!["boris"])));
        let change = q.ended(started[0].id, Attempt::Completed, MONDAY_10 + MIN, &config);
        assert!(matches!(
            change,
            Some(Change::Removed { given_up: None, .. })
        ));
        assert!(q.is_empty());
    }

    #[test]
    fn outside_the_numbers_hours_callbacks_wait_for_the_next_opening() {
        let config = config();
        let free = Free(vec!["anna", "boris"]);
        let mut q = Queue::default();
        // Ordered Monday 17:59 Moscow; the office closes at 18:00 and opens at 09:00.
        let late = MONDAY_10 + 7 * 60 * MIN + 59 * MIN;
        q.order(order("sales", "+79160000001", late, "+74950000001"), late);
        // The support number has no hours: its callbacks go any time.
        q.order(order("support", "+79160000002", late, "+74950000002"), late);
        let (started, _) = q.due(late + 2 * MIN, &config, &(&config, &free));
        assert_eq!(numbers(&started), ["+79160000002"]);
        let tuesday_9 = MONDAY_10 + 23 * 60 * MIN;
        let (started, _) = q.due(tuesday_9 - MIN, &config, &(&config, &free));
        assert!(started.is_empty(), "08:59 is before the office opens");
        let (started, _) = q.due(tuesday_9, &config, &(&config, &free));
        assert_eq!(numbers(&started), ["+79160000001"]);
    }

    #[test]
    fn a_callback_not_made_before_it_expires_is_given_up() {
        let config = config();
        let mut q = Queue::default();
        // Friday 17:59; it expires 72 h later, Monday 17:59 — nobody is free all Monday.
        let friday = MONDAY_10 - 3 * 24 * 60 * MIN + 7 * 60 * MIN + 59 * MIN;
        q.order(
            order("sales", "+79160000001", friday, "+74950000001"),
            friday,
        );
        let monday_18 = MONDAY_10 + 8 * 60 * MIN;
        let (_, changes) = q.due(monday_18 - 2 * MIN, &config, &(&config, &Free(vec![])));
        assert!(changes.is_empty());
        let (started, changes) = q.due(monday_18, &config, &(&config, &Free(vec!["anna"])));
        assert!(started.is_empty());
        assert!(
            matches!(&changes[..], [Change::Removed { callback, given_up: Some(why) }]
            if callback.number == "+79160000001" && why == "expired: not made within 72h")
        );
        assert!(q.is_empty());
    }

    #[test]
    fn one_outside_its_hours_lets_the_next_in_line_go() {
        let config = config();
        let free = Free(vec!["anna", "boris"]);
        let mut q = Queue::default();
        let saturday = MONDAY_10 + 5 * 24 * 60 * MIN;
        // First in line called the office number; the second a number without hours.
        q.order(
            order("sales", "+79160000001", saturday - 1, "+74950000001"),
            saturday,
        );
        q.order(
            order("sales", "+79160000002", saturday, "+74950000002"),
            saturday,
        );
        let (started, _) = q.due(saturday + MIN, &config, &(&config, &free));
        assert_eq!(numbers(&started), ["+79160000002"]);
        let monday = MONDAY_10 + 7 * 24 * 60 * MIN;
        let (started, _) = q.due(monday, &config, &(&config, &free));
        assert_eq!(numbers(&started), ["+79160000001"]);
    }

    #[test]
    fn attempts_in_progress_at_a_restart_are_due_again() {
        let config = config();
        let mut q = Queue::default();
        q.order(
            order("sales", "+79160000001", MONDAY_10, "+74950000001"),
            MONDAY_10,
        );
        let (started, _) = q.due(MONDAY_10, &config, &(&config, &Free(vec!["anna"])));
        let kept: Vec<Callback> = q.entries().into_iter().cloned().collect();
        assert!(kept[0].calling);
        let (mut q, changes) = Queue::restore(kept);
        assert_eq!(changes.len(), 1);
        let (again, _) = q.due(MONDAY_10 + MIN, &config, &(&config, &Free(vec!["anna"])));
        assert_eq!(again[0].id, started[0].id);
        assert_eq!(again[0].attempts, 2);
        // New ids keep growing past the restored ones.
        let Change::Put(c) = q.order(order("sales", "+79160000009", MONDAY_10, "+74950000001"), 0)
        else {
            panic!()
        };
        assert!(c.id > started[0].id);
    }
}
