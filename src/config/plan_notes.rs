//! What a plan must say in words, beyond its field changes: generated values that move from
//! one person to another.
//!
//! - **Namesakes.** People of the same name without a written `login:` are told apart by what
//!   else the config says of them, else by their order (`generated`). When their number or
//!   order changes, the note says who stays with which login, extension and password, who is
//!   removed and how many are new — and, when order decided for someone (nothing in the
//!   config tells them apart), that it did, with the `login:` to write to be sure.
//! - **A generated extension taken in the config.** When the config now writes a number that
//!   the server had generated for someone, that person is renumbered: the note names them,
//!   the old and the new number, and who took it.
//!
//! Pure: computed from the two sides of a plan.

use super::generated::{Effective, Resolution};
use super::model::{Config, Staff, Tenant};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// One thing the plan says in words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Note {
    /// `namesakes` or `renumbered`.
    pub kind: &'static str,
    pub tenant: String,
    pub message: String,
}

/// One side of a plan: a config and what was generated for it, when known.
#[derive(Clone, Copy)]
pub struct Generated<'a> {
    pub config: &'a Config,
    pub generated: Option<&'a Resolution>,
}

/// The notes for a plan from `before` to `after`.
pub fn notes(before: Option<Generated>, after: Generated) -> Vec<Note> {
    let Some(before) = before else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let index: HashMap<&str, usize> = before
        .config
        .tenants
        .iter()
        .enumerate()
        .map(|(i, t)| (t.id.as_str(), i))
        .collect();
    for (ai, at) in after.config.tenants.iter().enumerate() {
        let Some(&bi) = index.get(at.id.as_str()) else {
            continue;
        };
        if super::generated::unchanged(
            before.config,
            before.generated,
            bi,
            after.config,
            after.generated,
            ai,
        ) {
            continue;
        }
        let old = Members::of(&before, bi);
        let new = Members::of(&after, ai);
        namesakes(&old, &new, &mut out);
        renumbered(&old, &new, &mut out);
    }
    out
}

/// One tenant's staff on one side of the plan, with what was generated for them.
struct Members<'a> {
    tenant: &'a Tenant,
    staff: Vec<Person<'a>>,
}

struct Person<'a> {
    staff: &'a Staff,
    identity: Option<String>,
    login: String,
    extension: Option<String>,
    extension_generated: bool,
}

impl<'a> Members<'a> {
    fn of(side: &Generated<'a>, index: usize) -> Members<'a> {
        let tenant = &side.config.tenants[index];
        let generated: Option<&Vec<Effective>> = side
            .generated
            .and_then(|g| g.staff.get(index).map(|s| &**s));
        let staff = tenant
            .staff
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let e = generated.and_then(|g| g.get(i));
                Person {
                    staff: s,
                    identity: e.map(|e| e.identity.clone()),
                    login: e.map_or_else(|| s.login.to_string(), |e| e.login.clone()),
                    extension: e.map_or_else(
                        || s.extension.as_ref().map(ToString::to_string),
                        |e| e.extension.clone(),
                    ),
                    extension_generated: e.is_some_and(|e| e.extension_generated),
                }
            })
            .collect();
        Members { tenant, staff }
    }

    /// People without a written login, grouped by name, each group in file order.
    fn namesakes(&self) -> BTreeMap<&'a str, Vec<&Person<'a>>> {
        let mut groups: BTreeMap<&str, Vec<&Person>> = BTreeMap::new();
        for p in &self.staff {
            if p.staff.login_generated {
                groups.entry(p.staff.name.as_str()).or_default().push(p);
            }
        }
        groups
    }
}

impl Person<'_> {
    /// `ivan.petrov (extension 200)`.
    fn describe(&self) -> String {
        match &self.extension {
            Some(e) => format!("{} (extension {e})", self.login),
            None => self.login.clone(),
        }
    }
}

fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn namesakes(old: &Members, new: &Members, out: &mut Vec<Note>) {
    use super::generated::signature;
    let before = old.namesakes();
    let after = new.namesakes();
    for (name, now) in &after {
        let Some(was) = before.get(name) else {
            continue;
        };
        // Who now holds each identity held before, by identity (as resolved).
        let held = |p: &Person| {
            was.iter()
                .position(|w| w.identity.is_some() && w.identity == p.identity)
        };
        let same_places =
            was.len() == now.len() && now.iter().enumerate().all(|(k, p)| held(p) == Some(k));
        if same_places {
            continue;
        }
        let mut stays = Vec::new();
        let mut by_order = false;
        for p in now {
            if let Some(j) = held(p) {
                stays.push(was[j].describe());
                let (a, b) = (signature(p.staff), signature(was[j].staff));
                if a.is_none() || a != b {
                    by_order = true;
                }
            }
        }
        let fresh = now.iter().filter(|p| held(p).is_none()).count();
        let gone: Vec<String> = was
            .iter()
            .filter(|w| {
                !now.iter()
                    .any(|p| p.identity.is_some() && p.identity == w.identity)
            })
            .map(|w| w.describe())
            .collect();
        let mut parts = Vec::new();
        if !stays.is_empty() {
            parts.push(format!(
                "{} {} with {} login, extension and password",
                list(&stays),
                if stays.len() == 1 { "stays" } else { "stay" },
                if stays.len() == 1 { "its" } else { "their" }
            ));
        }
        if !gone.is_empty() {
            parts.push(format!(
                "{} {} removed with {} password",
                list(&gone),
                if gone.len() == 1 { "is" } else { "are" },
                if gone.len() == 1 { "its" } else { "their" }
            ));
        }
        if fresh > 0 {
            parts.push(format!(
                "{fresh} new {} new values",
                if fresh == 1 { "one gets" } else { "ones get" }
            ));
        }
        let mut message = format!(
            "{} staff named `{name}` without a `login:` before, {} now: {}.",
            was.len(),
            now.len(),
            parts.join("; ")
        );
        if by_order {
            message.push_str(&format!(
                " Nothing in the config (e-mail, mobile, position, extension) tells every \
                 `{name}` apart, so their order decided who keeps what: if that is not who \
                 they are, write each `{name}`'s login (`login: ...`) first."
            ));
        }
        out.push(Note {
            kind: "namesakes",
            tenant: new.tenant.id.clone(),
            message,
        });
    }
}

fn renumbered(old: &Members, new: &Members, out: &mut Vec<Note>) {
    for p in &new.staff {
        if !p.extension_generated {
            continue;
        }
        // The same person before: by identity, or by login (a generated login written out).
        let was = old
            .staff
            .iter()
            .find(|o| o.identity.is_some() && o.identity == p.identity)
            .or_else(|| old.staff.iter().find(|o| o.login == p.login));
        let Some(was) = was else {
            continue;
        };
        let (Some(from), true) = (&was.extension, was.extension_generated) else {
            continue;
        };
        if p.extension.as_ref() == Some(from) {
            continue;
        }
        let taker = new
            .staff
            .iter()
            .find(|o| {
                o.staff
                    .extension
                    .as_ref()
                    .is_some_and(|x| x.as_str() == from)
            })
            .map(|o| format!("staff member {}", o.login))
            .or_else(|| {
                new.tenant
                    .departments
                    .iter()
                    .find(|d| d.extension.as_ref().is_some_and(|x| x.as_str() == from))
                    .map(|d| format!("department {}", d.id))
            });
        let Some(taker) = taker else {
            continue;
        };
        out.push(Note {
            kind: "renumbered",
            tenant: new.tenant.id.clone(),
            message: format!(
                "{} is renumbered from {from} to {}: {from}, generated for {} earlier, is now \
                 written in the config for {taker}.",
                p.login,
                p.extension.as_deref().unwrap_or("(none)"),
                p.login
            ),
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::config::proposal::{plan_against, RunningState};
    use crate::config::validate::validate_text;
    use std::path::Path;
    use std::sync::Arc;

    fn config(staff: &str) -> crate::config::model::Config {
        let yaml = format!("version: 1\ntenants:\n  - id: a\n    name: A\n    domain: a.example\n    max_users: 50\n    staff:\n{staff}    departments:\n      - {{ id: sales, strategy: evenly, members: [oleg] }}\n");
        validate_text(&yaml).unwrap_or_else(|d| panic!("{d:?}"))
    }

    /// The notes of planning `after` against `before` (what `pbx plan --against` does).
    fn notes_of(before: &str, after: &str) -> Vec<String> {
        let p = plan_against(
            config(after),
            Vec::new(),
            Path::new("."),
            &RunningState::default(),
            Some(Arc::new(config(before))),
            &mut || "pw".to_string(),
        );
        p.plan
            .notes
            .iter()
            .map(|n| format!("{} {}: {}", n.kind, n.tenant, n.message))
            .collect()
    }

    const TWO_IVANS: &str = "      - { name: Иван Петров, email: first@a.example }\n      - { name: Иван Петров, email: second@a.example }\n      - { name: Oleg }\n";

    #[test]
    fn removing_the_first_namesake_leaves_the_second_theirs_and_says_so() {
        let notes = notes_of(
            TWO_IVANS,
            "      - { name: Иван Петров, email: second@a.example }\n      - { name: Oleg }\n",
        );
        assert_eq!(
            notes,
            ["namesakes a: 2 staff named `Иван Петров` without a `login:` before, 1 now: ivan.petrov2 (extension 201) stays with its login, extension and password; ivan.petrov (extension 200) is removed with its password."],
        );
    }

    #[test]
    fn swapped_or_removed_last_namesakes_keep_theirs() {
        let swapped = notes_of(
            TWO_IVANS,
            "      - { name: Иван Петров, email: second@a.example }\n      - { name: Иван Петров, email: first@a.example }\n      - { name: Oleg }\n",
        );
        assert!(
            swapped[0].contains("ivan.petrov2 (extension 201) and ivan.petrov (extension 200) stay with their login"),
            "{swapped:?}"
        );
        assert!(!swapped[0].contains("order decided"), "{swapped:?}");
        let last = notes_of(
            TWO_IVANS,
            "      - { name: Иван Петров, email: first@a.example }\n      - { name: Oleg }\n",
        );
        assert!(
            last[0].contains("ivan.petrov (extension 200) stays"),
            "{last:?}"
        );
        assert!(!last[0].contains("second@"), "no personal data: {last:?}");
    }

    #[test]
    fn namesakes_nothing_tells_apart_are_taken_by_order_and_the_note_says_so() {
        let notes = notes_of(
            "      - name: Иван Петров\n      - name: Иван Петров\n      - { name: Oleg }\n",
            "      - name: Иван Петров\n      - { name: Oleg }\n",
        );
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].contains("ivan.petrov (extension 200) stays"),
            "{notes:?}"
        );
        assert!(
            notes[0].contains("so their order decided who keeps what"),
            "{notes:?}"
        );
    }

    #[test]
    fn namesakes_with_written_logins_need_no_note() {
        let with_logins = "      - { name: Иван Петров, login: ivan }\n      - { name: Иван Петров, login: vanya }\n      - { name: Oleg }\n";
        assert!(notes_of(
            with_logins,
            "      - { name: Иван Петров, login: vanya }\n      - { name: Oleg }\n"
        )
        .is_empty());
        assert!(notes_of(TWO_IVANS, TWO_IVANS).is_empty());
    }

    #[test]
    fn a_generated_extension_taken_in_the_config_is_a_renumbering_note() {
        // Ivan 200, Ivan 201, Oleg 202 generated; then Maria is written with 202.
        let after = format!("{TWO_IVANS}      - {{ name: Maria, extension: \"202\" }}\n");
        let notes = notes_of(TWO_IVANS, &after);
        assert_eq!(
            notes,
            ["renumbered a: oleg is renumbered from 202 to 203: 202, generated for oleg earlier, is now written in the config for staff member maria."]
        );
        // A department taking it is named too.
        let yaml_dept = |ext: &str| {
            format!("version: 1\ntenants:\n  - id: a\n    name: A\n    domain: a.example\n    max_users: 50\n    staff:\n      - {{ name: Oleg }}\n    departments:\n      - {{ id: sales, strategy: evenly, members: [oleg]{ext} }}\n")
        };
        let p = plan_against(
            validate_text(&yaml_dept(", extension: \"200\"")).unwrap(),
            Vec::new(),
            Path::new("."),
            &RunningState::default(),
            Some(Arc::new(validate_text(&yaml_dept("")).unwrap())),
            &mut || "pw".to_string(),
        );
        assert_eq!(p.plan.notes.len(), 1, "{:?}", p.plan.notes);
        assert_eq!(
            p.plan.notes[0].message,
            "oleg is renumbered from 200 to 201: 200, generated for oleg earlier, is now written in the config for department sales."
        );
    }
}
