//! What a plan must say in words, beyond its field changes: generated values that move from
//! one person to another.
//!
//! - **Namesakes told apart by order.** People of the same name without a written `login:`
//!   are known by their order among that name (`generated::identities`: `name:<name>#<k>`).
//!   When their number changes, or one of them is moved, the k-th of that name in the file
//!   gets what the k-th had — login, extension, password — whoever they are now. The note
//!   says who keeps what and who is removed, and when the other fields (e-mail, mobile,
//!   position, role, written extension) show that a person now takes another's place, it says
//!   that too, with the `login:` to write to prevent it.
//! - **A generated extension taken in the config.** When the config now writes a number that
//!   the server had generated for someone, that person is renumbered: the note names them,
//!   the old and the new number, and who took it.
//!
//! Pure: computed from the two sides of a plan.

use super::generated::{Effective, Resolution};
use super::model::{Config, Staff, Tenant};
use serde::Serialize;
use std::collections::BTreeMap;

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
    for (ai, at) in after.config.tenants.iter().enumerate() {
        let Some(bi) = before.config.tenants.iter().position(|t| t.id == at.id) else {
            continue;
        };
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
        let generated: Option<&Vec<Effective>> = side.generated.and_then(|g| g.staff.get(index));
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

    /// What tells a person apart from a namesake, when anything does.
    fn signature(&self) -> Option<String> {
        let s = self.staff;
        let parts = [
            s.email.as_ref().map(|e| format!("email {e}")),
            s.mobile.as_ref().map(|m| format!("mobile {}", m.number)),
            s.position.as_ref().map(|p| format!("position {p}")),
            s.extension.as_ref().map(|x| format!("extension {x}")),
        ];
        let parts: Vec<String> = parts.into_iter().flatten().collect();
        (!parts.is_empty()).then(|| format!("{} {}", s.role.word(), parts.join(" ")))
    }
}

fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn namesakes(old: &Members, new: &Members, out: &mut Vec<Note>) {
    let before = old.namesakes();
    let after = new.namesakes();
    for (name, now) in &after {
        let Some(was) = before.get(name) else {
            continue;
        };
        let (nb, na) = (was.len(), now.len());
        // Whose place each one now takes, where the other fields tell.
        let mut shifts = Vec::new();
        for (k, p) in now.iter().enumerate().take(nb) {
            let Some(sig) = p.signature() else {
                continue;
            };
            if was[k].signature().as_ref() == Some(&sig) {
                continue;
            }
            let matches: Vec<usize> = (0..nb)
                .filter(|&j| j != k && was[j].signature().as_ref() == Some(&sig))
                .collect();
            if let [j] = matches[..] {
                shifts.push(format!(
                    "The {} `{name}` in the file is, by e-mail, mobile, position and extension, \
                     the one who had {}, yet gets {} and that password: write `login: {}` for \
                     them to keep theirs.",
                    ordinal(k + 1),
                    was[j].describe(),
                    was[k].describe(),
                    was[j].login
                ));
            }
        }
        let mut sentences = Vec::new();
        if nb != na {
            let kept = nb.min(na);
            let keeps: Vec<String> = was[..kept].iter().map(|p| p.describe()).collect();
            let first = if kept == 1 {
                format!("the 1st in the file gets {} and its password", keeps[0])
            } else {
                format!(
                    "the first {kept} in the file get {}, in that order, and their passwords",
                    list(&keeps)
                )
            };
            sentences.push(format!(
                "{nb} staff named `{name}` without a `login:` before, {na} now. They are told \
                 apart only by their order: {first}"
            ));
            if nb > na {
                let gone: Vec<String> = was[kept..].iter().map(|p| p.describe()).collect();
                let last = sentences.pop().expect("just pushed");
                sentences.push(format!(
                    "{last}, and {} {} removed with {} password.",
                    list(&gone),
                    if gone.len() == 1 { "is" } else { "are" },
                    if gone.len() == 1 { "its" } else { "their" }
                ));
                if shifts.is_empty() {
                    sentences.push(format!(
                        "If the one who left was not the last `{name}` in the file, a person \
                         who stays takes over the leaver's login, extension and password \
                         instead: write each remaining `{name}`'s login (`login: ...`) first."
                    ));
                }
            } else {
                let last = sentences.pop().expect("just pushed");
                sentences.push(format!(
                    "{last}; the new {} after them get{} new values.",
                    if na - nb == 1 { "one" } else { "ones" },
                    if na - nb == 1 { "s" } else { "" }
                ));
                if shifts.is_empty() {
                    sentences.push(format!(
                        "If a new `{name}` was written before an existing one, it takes over \
                         that person's login, extension and password: write the existing \
                         ones' logins (`login: ...`) first."
                    ));
                }
            }
        }
        sentences.extend(shifts);
        if !sentences.is_empty() {
            out.push(Note {
                kind: "namesakes",
                tenant: new.tenant.id.clone(),
                message: sentences.join(" "),
            });
        }
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
    fn removing_the_first_namesake_says_who_takes_whose_login() {
        let notes = notes_of(
            TWO_IVANS,
            "      - { name: Иван Петров, email: second@a.example }\n      - { name: Oleg }\n",
        );
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].starts_with(
                "namesakes a: 2 staff named `Иван Петров` without a `login:` before, 1 now."
            ),
            "{notes:?}"
        );
        assert!(notes[0].contains("the 1st in the file gets ivan.petrov (extension 200) and its password, and ivan.petrov2 (extension 201) is removed with its password."), "{notes:?}");
        assert!(notes[0].contains("is, by e-mail, mobile, position and extension, the one who had ivan.petrov2 (extension 201), yet gets ivan.petrov (extension 200) and that password: write `login: ivan.petrov2`"), "{notes:?}");
        assert!(!notes[0].contains("second@"), "no personal data: {notes:?}");
    }

    #[test]
    fn removing_the_last_namesake_still_warns_that_order_decides() {
        let notes = notes_of(
            TWO_IVANS,
            "      - { name: Иван Петров, email: first@a.example }\n      - { name: Oleg }\n",
        );
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].contains("If the one who left was not the last `Иван Петров` in the file"),
            "{notes:?}"
        );
        assert!(!notes[0].contains("yet gets"), "{notes:?}");
    }

    #[test]
    fn swapped_namesakes_are_named() {
        let notes = notes_of(
            TWO_IVANS,
            "      - { name: Иван Петров, email: second@a.example }\n      - { name: Иван Петров, email: first@a.example }\n      - { name: Oleg }\n",
        );
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains("The 1st `Иван Петров` in the file is, by e-mail, mobile, position and extension, the one who had ivan.petrov2 (extension 201)"), "{notes:?}");
        assert!(notes[0].contains("The 2nd `Иван Петров` in the file is, by e-mail, mobile, position and extension, the one who had ivan.petrov (extension 200)"), "{notes:?}");
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
