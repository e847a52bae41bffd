//! Generated values: the logins, extensions and passwords the server assigns to staff who were
//! given none, once, and keeps forever after.
//!
//! Each staff member has an identity that survives edits elsewhere in the file: `login:<login>`
//! when a login is written, otherwise `name:<name>#<k>` (the k-th person of that name without a
//! login). What was generated before is looked up by identity, so adding someone earlier in the
//! file renumbers nobody. A person who later gets their generated login written into the file
//! keeps their extension and password. Pure: the caller passes what the store knows and a
//! password generator.
//!
//! Namesakes (the same name, no `login:`) are told apart by what else the config says of them
//! ([`signature`]: e-mail, mobile, position, written extension), kept with what was generated:
//! one whose signature is exactly a stored namesake's takes that namesake's identity, wherever
//! they now are in the list; the others take the remaining ones in order, except one whose
//! stored signature shares nothing with theirs (clearly someone else), and new identities
//! after that. So removing or moving a namesake hands nobody another's login and password
//! when anything tells them apart; when nothing does, order decides, and the plan says so
//! (`plan_notes`).

use super::model::{Config, Staff, Tenant};
use super::values::{Extension, RESERVED_EXTENSIONS};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// What was generated for one staff member before (a view of the store's record).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Known {
    pub login: String,
    pub extension: Option<String>,
    /// The login and realm the stored password hashes were made for, if a password is stored.
    pub password_for: Option<(String, String)>,
    /// What the config said of them when it was stored ([`signature`]).
    pub signature: Option<String>,
}

/// Where a staff member's password comes from after resolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordState {
    /// Written in the config (a reference or hashes).
    Configured,
    /// Generated earlier and still valid (same login and realm).
    Kept,
    /// Generated now; shown once.
    New,
}

/// One staff member with generated values filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Effective {
    pub identity: String,
    pub login: String,
    pub login_generated: bool,
    pub extension: Option<String>,
    pub extension_generated: bool,
    pub password: PasswordState,
}

/// A value the store must record for one staff member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub tenant: String,
    pub identity: String,
    pub login: String,
    pub extension: Option<String>,
    /// A newly generated password (plaintext, to be hashed and shown once), if any.
    pub new_password: Option<String>,
    /// The realm the password belongs to.
    pub realm: String,
    /// What tells them apart from a namesake ([`signature`]), for staff without a `login:`.
    pub signature: Option<String>,
}

/// The outcome of resolving a config against what was generated before.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resolution {
    /// Per tenant (config order), per staff member (config order); shared, so a tenant that
    /// did not change keeps its resolution (see [`resolve_reusing`]).
    pub staff: Vec<Arc<Vec<Effective>>>,
    /// What changed and must be stored (new staff, new passwords, adopted identities).
    pub records: Vec<Record>,
}

impl Resolution {
    /// This resolution once its records are stored: the passwords generated now read as
    /// generated earlier (a tenant without new ones stays the same `Arc`).
    pub fn stored(mut self) -> Resolution {
        self.records.clear();
        for staff in &mut self.staff {
            if staff.iter().any(|e| e.password == PasswordState::New) {
                for e in Arc::make_mut(staff) {
                    if e.password == PasswordState::New {
                        e.password = PasswordState::Kept;
                    }
                }
            }
        }
        self
    }

    /// The effective login of staff member `staff` of tenant `tenant`.
    pub fn login(&self, tenant: usize, staff: usize) -> &str {
        &self.staff[tenant][staff].login
    }
}

/// Identities of a tenant's staff, in config order.
pub fn identities(t: &Tenant) -> Vec<String> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    t.staff
        .iter()
        .map(|s| {
            if s.login_generated {
                let k = seen.entry(s.name.as_str()).or_insert(0);
                *k += 1;
                format!("name:{}#{}", s.name, *k - 1)
            } else {
                format!("login:{}", s.login)
            }
        })
        .collect()
}

/// What the config says of a person besides their name — e-mail, mobile, position, written
/// extension, one `field=value` a line — or `None` when it says none of them.
pub fn signature(s: &Staff) -> Option<String> {
    let fields = [
        s.email.as_ref().map(|e| format!("email={e}")),
        s.mobile.as_ref().map(|m| format!("mobile={}", m.number)),
        s.position.as_ref().map(|p| format!("position={p}")),
        s.extension.as_ref().map(|x| format!("extension={x}")),
    ];
    let fields: Vec<String> = fields.into_iter().flatten().collect();
    (!fields.is_empty()).then(|| fields.join("\n"))
}

/// Whether two signatures share a field's value.
fn overlap(a: &str, b: &str) -> bool {
    a.lines().any(|f| b.lines().any(|g| f == g))
}

/// The identities of `t`'s staff against what is stored (`known`): [`identities`], with each
/// group of namesakes matched to the stored ones by signature (see the module doc).
fn identities_known(t: &Tenant, known: &BTreeMap<(String, String), Known>) -> Vec<String> {
    let mut ids = identities(t);
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, s) in t.staff.iter().enumerate() {
        if s.login_generated {
            groups.entry(s.name.as_str()).or_default().push(i);
        }
    }
    for (name, members) in groups {
        let prefix = format!("name:{name}#");
        let stored: Vec<(usize, Option<&str>)> = known
            .range((t.id.clone(), prefix.clone())..)
            .take_while(|((tid, id), _)| tid == &t.id && id.starts_with(&prefix))
            .filter_map(|((_, id), k)| {
                let n = id[prefix.len()..].parse::<usize>().ok()?;
                Some((n, k.signature.as_deref()))
            })
            .collect();
        if stored.is_empty() {
            continue; // all new: by order
        }
        let sigs: Vec<Option<String>> = members.iter().map(|&i| signature(&t.staff[i])).collect();
        let mut taken: HashSet<usize> = HashSet::new();
        let mut chosen: Vec<Option<usize>> = vec![None; members.len()];
        for (m, sig) in sigs.iter().enumerate() {
            let Some(sig) = sig else { continue };
            let twins = sigs.iter().filter(|s| s.as_ref() == Some(sig)).count();
            let same: Vec<usize> = stored
                .iter()
                .filter(|(_, s)| *s == Some(sig.as_str()))
                .map(|(n, _)| *n)
                .collect();
            if let (&[n], 1) = (&same[..], twins) {
                if taken.insert(n) {
                    chosen[m] = Some(n);
                }
            }
        }
        let mut fresh = stored.iter().map(|(n, _)| n + 1).max().unwrap_or(0);
        for m in 0..members.len() {
            if chosen[m].is_some() {
                continue;
            }
            let someone_else = |stored_sig: Option<&str>| match (stored_sig, sigs[m].as_deref()) {
                (Some(a), Some(b)) => !overlap(a, b),
                _ => false,
            };
            let free = stored
                .iter()
                .find(|(n, s)| !taken.contains(n) && !someone_else(*s))
                .map(|(n, _)| *n);
            let n = free.unwrap_or_else(|| {
                while taken.contains(&fresh) {
                    fresh += 1;
                }
                fresh
            });
            taken.insert(n);
            chosen[m] = Some(n);
        }
        for (m, &i) in members.iter().enumerate() {
            if let Some(n) = chosen[m] {
                ids[i] = format!("{prefix}{n}");
            }
        }
    }
    ids
}

/// Whether tenant `j` of one side and tenant `i` of the other are the very same values (`Arc`),
/// generated ones too: a config that changed other tenants reuses them (`config::reuse`,
/// [`resolve_reusing`]), so they need no comparing.
pub fn unchanged(
    before: &Config,
    before_generated: Option<&Resolution>,
    j: usize,
    after: &Config,
    after_generated: Option<&Resolution>,
    i: usize,
) -> bool {
    let generated = match (before_generated, after_generated) {
        (None, None) => true,
        (Some(b), Some(a)) => match (b.staff.get(j), a.staff.get(i)) {
            (Some(b), Some(a)) => Arc::ptr_eq(b, a),
            _ => false,
        },
        _ => false,
    };
    generated && Arc::ptr_eq(&before.tenants[j], &after.tenants[i])
}

/// First extension tried for allocation.
pub(crate) const FIRST_EXTENSION: u32 = 200;

/// Fills in generated values. `known` maps (tenant id, identity) to what was generated before;
/// `new_password` makes a fresh password.
pub fn resolve(
    config: &Config,
    known: &BTreeMap<(String, String), Known>,
    new_password: &mut dyn FnMut() -> String,
) -> Resolution {
    resolve_reusing(config, known, new_password, None)
}

/// [`resolve`], taking from `previous` (a config and its resolution, whose generated values
/// are stored since) the resolution of every tenant that is the very same (`Arc`) in both: its
/// values are what the store holds, so it needs no lookup and records nothing. Only the
/// changed tenants cost anything, and only their entries of `known` are looked at.
pub fn resolve_reusing(
    config: &Config,
    known: &BTreeMap<(String, String), Known>,
    new_password: &mut dyn FnMut() -> String,
    previous: Option<(&Config, &Resolution)>,
) -> Resolution {
    let mut out = Resolution::default();
    let earlier: HashMap<&str, (&Arc<Tenant>, &Arc<Vec<Effective>>)> = previous
        .map(|(c, r)| {
            c.tenants
                .iter()
                .zip(&r.staff)
                .map(|(t, s)| (t.id.as_str(), (t, s)))
                .collect()
        })
        .unwrap_or_default();
    for t in &config.tenants {
        if let Some((_, staff)) = earlier
            .get(t.id.as_str())
            .filter(|(before, _)| Arc::ptr_eq(before, t))
        {
            out.staff.push(Arc::clone(staff));
            continue;
        }
        let ids = identities_known(t, known);
        let lookup = |identity: &str, login: &str| -> Option<Known> {
            if let Some(k) = known.get(&(t.id.clone(), identity.to_string())) {
                return Some(k.clone());
            }
            // A generated login that is now written out keeps what it had.
            if identity.starts_with("login:") {
                let names = (t.id.clone(), "name:".to_string());
                return known
                    .range(names..)
                    .take_while(|((tid, id), _)| tid == &t.id && id.starts_with("name:"))
                    .find(|(_, k)| k.login == login)
                    .map(|(_, k)| k.clone());
            }
            None
        };
        let before: Vec<Option<Known>> = t
            .staff
            .iter()
            .zip(&ids)
            .map(|(s, id)| lookup(id, s.login.as_str()))
            .collect();

        // Logins: written ones, then stored generated ones, then the validator's suggestion,
        // made unique against everything taken.
        let mut taken: HashSet<String> = t
            .staff
            .iter()
            .filter(|s| !s.login_generated)
            .map(|s| s.login.to_string())
            .collect();
        let mut logins = Vec::with_capacity(t.staff.len());
        for (s, k) in t.staff.iter().zip(&before) {
            let login = if !s.login_generated {
                s.login.to_string()
            } else if let Some(k) = k.as_ref().filter(|k| !taken.contains(&k.login)) {
                k.login.clone()
            } else {
                unique(s.login.as_str(), &taken)
            };
            if s.login_generated {
                taken.insert(login.clone());
            }
            logins.push(login);
        }

        // Extensions: written ones and departments' are fixed; stored ones are kept; the rest
        // get the lowest free number.
        let mut used: HashSet<String> = t
            .staff
            .iter()
            .filter_map(|s| s.extension.as_ref().map(|e| e.to_string()))
            .chain(
                t.departments
                    .iter()
                    .filter_map(|d| d.extension.as_ref().map(|e| e.to_string())),
            )
            .collect();
        let mut extensions: Vec<(Option<String>, bool)> = Vec::with_capacity(t.staff.len());
        for (s, k) in t.staff.iter().zip(&before) {
            if let Some(e) = &s.extension {
                extensions.push((Some(e.to_string()), false));
            } else if let Some(e) = k
                .as_ref()
                .and_then(|k| k.extension.clone())
                .filter(|e| !used.contains(e))
            {
                used.insert(e.clone());
                extensions.push((Some(e), true));
            } else {
                extensions.push((None, true));
            }
        }
        let mut next = FIRST_EXTENSION;
        for slot in extensions.iter_mut().filter(|(e, _)| e.is_none()) {
            let e = loop {
                let candidate = next.to_string();
                next += 1;
                if !used.contains(&candidate)
                    && Extension::parse(&candidate).is_ok()
                    && !RESERVED_EXTENSIONS.contains(&candidate.as_str())
                {
                    break candidate;
                }
            };
            used.insert(e.clone());
            slot.0 = Some(e);
        }

        let mut effective = Vec::with_capacity(t.staff.len());
        for (i, s) in t.staff.iter().enumerate() {
            let login = logins[i].clone();
            let (extension, extension_generated) = extensions[i].clone();
            let k = &before[i];
            let password = if s.password.is_some() {
                PasswordState::Configured
            } else if k.as_ref().and_then(|k| k.password_for.as_ref())
                == Some(&(login.clone(), t.domain.clone()))
            {
                PasswordState::Kept
            } else {
                PasswordState::New
            };
            let signature = s.login_generated.then(|| signature(s)).flatten();
            let changed = match k {
                None => true,
                Some(k) => {
                    k.login != login
                        || k.extension != extension
                        || password == PasswordState::New
                        || k.signature != signature
                }
            };
            let adopted = k.is_some() && !known.contains_key(&(t.id.clone(), ids[i].clone()));
            if changed || adopted {
                out.records.push(Record {
                    tenant: t.id.clone(),
                    identity: ids[i].clone(),
                    login: login.clone(),
                    extension: extension.clone(),
                    new_password: (password == PasswordState::New).then(&mut *new_password),
                    realm: t.domain.clone(),
                    signature,
                });
            }
            effective.push(Effective {
                identity: ids[i].clone(),
                login,
                login_generated: s.login_generated,
                extension,
                extension_generated,
                password,
            });
        }
        out.staff.push(Arc::new(effective));
    }
    out
}

/// `base`, or `base2`, `base3`... whichever is free.
fn unique(base: &str, taken: &HashSet<String>) -> String {
    if !taken.contains(base) {
        return base.to_string();
    }
    (2..)
        .map(|n| format!("{base}{n}"))
        .find(|c| !taken.contains(c))
        .expect("an unbounded range finds a free name")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::validate::validate_text;

    fn config(staff: &str) -> Config {
        let yaml = format!("version: 1\ntenants:\n  - id: a\n    name: A\n    domain: a.example\n    max_users: 50\n    staff:\n{staff}");
        validate_text(&yaml).unwrap_or_else(|d| panic!("{d:?}"))
    }

    fn store(r: &Resolution, known: &mut BTreeMap<(String, String), Known>) {
        for rec in &r.records {
            let prev = known
                .get(&(rec.tenant.clone(), rec.identity.clone()))
                .cloned();
            let password_for = match &rec.new_password {
                Some(_) => Some((rec.login.clone(), rec.realm.clone())),
                None => prev.and_then(|p| p.password_for),
            };
            known.insert(
                (rec.tenant.clone(), rec.identity.clone()),
                Known {
                    login: rec.login.clone(),
                    extension: rec.extension.clone(),
                    password_for,
                    signature: rec.signature.clone(),
                },
            );
        }
    }

    fn passwords() -> impl FnMut() -> String {
        let mut n = 0;
        move || {
            n += 1;
            format!("pw{n}")
        }
    }

    #[test]
    fn values_are_generated_once_and_kept() {
        let mut known = BTreeMap::new();
        let mut pw = passwords();
        let c1 =
            config("      - name: Иван Петров\n      - name: Мария\n        extension: \"200\"\n");
        let r1 = resolve(&c1, &known, &mut pw);
        assert_eq!(r1.staff[0][0].login, "ivan.petrov");
        assert_eq!(
            r1.staff[0][0].extension.as_deref(),
            Some("201"),
            "200 is taken by Мария"
        );
        assert_eq!(r1.records.len(), 2);
        assert!(r1.records.iter().all(|r| r.new_password.is_some()));
        store(&r1, &mut known);

        // Someone added first, with the same generated login base: nobody is renumbered.
        let c2 = config("      - name: Иван Петров Младший\n        login: ivan.petrov.jr\n      - name: Олег\n      - name: Иван Петров\n      - name: Мария\n        extension: \"200\"\n");
        let r2 = resolve(&c2, &known, &mut pw);
        let ivan = &r2.staff[0][2];
        assert_eq!(
            (ivan.login.as_str(), ivan.extension.as_deref()),
            ("ivan.petrov", Some("201"))
        );
        assert_eq!(ivan.password, PasswordState::Kept);
        assert_eq!(
            r2.staff[0][0].extension.as_deref(),
            Some("202"),
            "new people get the next free ones"
        );
        assert_eq!(r2.staff[0][1].extension.as_deref(), Some("203"));
        assert_eq!(r2.staff[0][3].password, PasswordState::Kept);
        let new: Vec<&str> = r2.records.iter().map(|r| r.identity.as_str()).collect();
        assert_eq!(new, ["login:ivan.petrov.jr", "name:Олег#0"]);
        store(&r2, &mut known);

        // Nothing changes on a second identical resolve.
        assert!(resolve(&c2, &known, &mut pw).records.is_empty());
    }

    #[test]
    fn writing_out_a_generated_login_keeps_extension_and_password() {
        let mut known = BTreeMap::new();
        let mut pw = passwords();
        let r1 = resolve(&config("      - name: Иван Петров\n"), &known, &mut pw);
        store(&r1, &mut known);
        let r2 = resolve(
            &config("      - name: Иван Петров\n        login: ivan.petrov\n"),
            &known,
            &mut pw,
        );
        let ivan = &r2.staff[0][0];
        assert_eq!(ivan.extension.as_deref(), Some("200"));
        assert_eq!(ivan.password, PasswordState::Kept);
        assert_eq!(r2.records.len(), 1, "the new identity is recorded");
        assert_eq!(r2.records[0].new_password, None);
    }

    #[test]
    fn reserved_numbers_are_never_allocated() {
        let staff: String = (0..20)
            .map(|i| format!("      - name: Person {i}\n"))
            .collect();
        let r = resolve(&config(&staff), &BTreeMap::new(), &mut passwords());
        let exts: Vec<&str> = r.staff[0]
            .iter()
            .filter_map(|e| e.extension.as_deref())
            .collect();
        assert_eq!(exts.len(), 20);
        assert!(exts.iter().all(|e| !RESERVED_EXTENSIONS.contains(e)));
    }

    /// Logins and whether each kept its password, by name and position.
    fn who(r: &Resolution) -> Vec<(String, PasswordState)> {
        r.staff[0]
            .iter()
            .map(|e| (e.login.clone(), e.password))
            .collect()
    }

    #[test]
    fn removing_a_namesake_hands_nobody_anothers_login_when_something_tells_them_apart() {
        let mut known = BTreeMap::new();
        let mut pw = passwords();
        let both = "      - { name: Иван Петров, email: ivan.sales@acme.example }\n      - { name: Иван Петров, mobile: { number: \"+79160000002\" } }\n";
        let r1 = resolve(&config(both), &known, &mut pw);
        assert_eq!(who(&r1)[0].0, "ivan.petrov");
        assert_eq!(who(&r1)[1].0, "ivan.petrov2");
        let second_ext = r1.staff[0][1].extension.clone();
        store(&r1, &mut known);

        // The first leaves: the second keeps ivan.petrov2, its extension and password.
        let second = "      - { name: Иван Петров, mobile: { number: \"+79160000002\" } }\n";
        let r2 = resolve(&config(second), &known, &mut pw);
        assert_eq!(who(&r2), [("ivan.petrov2".to_owned(), PasswordState::Kept)]);
        assert_eq!(r2.staff[0][0].extension, second_ext);
        assert_eq!(r2.staff[0][0].identity, "name:Иван Петров#1");
        store(&r2, &mut known);

        // A new namesake with nothing in common with the one who left gets new values.
        let again = "      - { name: Иван Петров, mobile: { number: \"+79160000002\" } }\n      - { name: Иван Петров, email: another.ivan@acme.example }\n";
        let r3 = resolve(&config(again), &known, &mut pw);
        assert_eq!(
            who(&r3)[0],
            ("ivan.petrov2".to_owned(), PasswordState::Kept)
        );
        assert_eq!(r3.staff[0][1].identity, "name:Иван Петров#2");
        assert_eq!(r3.staff[0][1].password, PasswordState::New);
        assert_ne!(
            r3.staff[0][1].login, "ivan.petrov",
            "not the leaver's login"
        );
        assert_ne!(r3.staff[0][1].login, "ivan.petrov2");

        // Swapping the two in the file swaps nothing.
        store(&r3, &mut known);
        let swapped = "      - { name: Иван Петров, email: another.ivan@acme.example }\n      - { name: Иван Петров, mobile: { number: \"+79160000002\" } }\n";
        let r4 = resolve(&config(swapped), &known, &mut pw);
        assert_eq!(r4.staff[0][0].login, r3.staff[0][1].login);
        assert_eq!(r4.staff[0][1].login, "ivan.petrov2");
        assert!(r4.records.is_empty(), "{:?}", r4.records);
    }

    #[test]
    fn a_namesake_who_changes_one_field_keeps_their_values_and_identical_ones_go_by_order() {
        let mut known = BTreeMap::new();
        let mut pw = passwords();
        let two = "      - { name: Анна, position: Sales, email: anna.s@acme.example }\n      - { name: Анна, position: Support }\n";
        let r1 = resolve(&config(two), &known, &mut pw);
        store(&r1, &mut known);
        // The first's e-mail changes (her position stays): she is still the first.
        let edited = "      - { name: Анна, position: Sales, email: anna@acme.example }\n      - { name: Анна, position: Support }\n";
        let r2 = resolve(&config(edited), &known, &mut pw);
        assert_eq!(r2.staff[0][0].login, r1.staff[0][0].login);
        assert_eq!(r2.staff[0][1].login, r1.staff[0][1].login);
        assert!(r2.staff[0]
            .iter()
            .all(|e| e.password == PasswordState::Kept));
        assert_eq!(r2.records.len(), 1, "the new signature is stored");
        // Nothing tells them apart: order decides, as before (the plan says so).
        let mut known = BTreeMap::new();
        let same = "      - name: Олег\n      - name: Олег\n";
        let r = resolve(&config(same), &known, &mut pw);
        store(&r, &mut known);
        let r = resolve(&config("      - name: Олег\n"), &known, &mut pw);
        assert_eq!(r.staff[0][0].identity, "name:Олег#0");
    }
}
