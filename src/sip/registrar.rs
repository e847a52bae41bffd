//! The registrar (RFC 3261 §10): which devices each staff member has registered, until when.
//!
//! Pure rules over a [`Location`] (where bindings are kept — in memory, shared by the engine's
//! shards, and persisted by the server): the SIP layer authenticates the REGISTER, turns it
//! into a `Register`, and sends back what `register` answers; time is passed in. Several contacts per person are kept (a desk
//! phone and a softphone ring together), each with its own expiry; `Expires: 0` removes one,
//! `Contact: *` with `Expires: 0` removes all; requests asking for less than `min_expires` get
//! 423 with `Min-Expires`. A binding remembers the address the REGISTER came from, so a phone
//! behind NAT is reached where it really is.
//!
//! A person has at most `max_contacts` devices. A REGISTER that would add a device beyond it
//! is refused whole (`TooManyContacts`, sent as 403 with a Warning) and changes nothing; one
//! that only refreshes or removes devices already registered is always accepted (even when a
//! lowered limit leaves the person above it), and so is `Contact: *`. Refusing, rather than
//! replacing the oldest device as Kamailio's `max_contacts` can, keeps a working desk phone from
//! being silently pushed out by an eleventh softphone (or by someone holding a leaked password):
//! the device that asked for too much is the one that hears of it.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

/// Transport a binding was registered over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
}

/// One registered device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    /// The Contact URI as registered.
    pub contact: String,
    pub expires_at_ms: u64,
    pub call_id: String,
    pub cseq: u32,
    /// Where the REGISTER came from (the device's public address behind NAT).
    pub source: SocketAddr,
    pub transport: Transport,
}

/// A contact of a REGISTER, with its own `expires` parameter if it had one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactParam {
    pub uri: String,
    pub expires: Option<u32>,
}

/// What a REGISTER asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Contacts {
    /// No Contact header: a query of the current bindings.
    Query,
    /// `Contact: *` (only valid with `Expires: 0`).
    All,
    List(Vec<ContactParam>),
}

/// An authenticated REGISTER.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Register {
    pub tenant: String,
    pub login: String,
    pub contacts: Contacts,
    /// The Expires header.
    pub expires: Option<u32>,
    pub call_id: String,
    pub cseq: u32,
    pub source: SocketAddr,
    pub transport: Transport,
}

/// The answer to a REGISTER.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// 200: the current bindings with their remaining seconds.
    Ok(Vec<(String, u32)>),
    /// 423 Interval Too Brief.
    IntervalTooBrief { min_expires: u32 },
    /// 400 with a reason.
    BadRequest(&'static str),
    /// 500: an older or repeated CSeq for the same Call-ID (RFC 3261 §10.3 step 7).
    OutOfOrder,
    /// 403: the REGISTER would leave the person with more than `limit` devices.
    TooManyContacts { limit: usize },
}

/// Registration limits.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub min_expires: u32,
    pub max_expires: u32,
    pub default_expires: u32,
    /// Most devices one person may have registered.
    pub max_contacts: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            min_expires: 60,
            max_expires: 3600,
            default_expires: 3600,
            max_contacts: 10,
        }
    }
}

/// A staff member's address of record: whose devices a binding belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Aor {
    pub tenant: String,
    pub login: String,
}

impl Aor {
    pub fn new(tenant: &str, login: &str) -> Aor {
        Aor {
            tenant: tenant.to_string(),
            login: login.to_string(),
        }
    }
}

/// Where bindings are kept: shared by every shard of the engine, and behind a trait so that
/// a shared database can keep them for several servers.
pub trait Location: Send + Sync {
    /// The live bindings of `aor` at `now_ms`.
    fn lookup(&self, aor: &Aor, now_ms: u64) -> Vec<Binding>;
    /// Runs `change` on `aor`'s bindings (empty when it has none) as one step: nothing else
    /// touches them meanwhile. An empty list left behind forgets the AOR.
    fn change(&self, aor: &Aor, change: &mut dyn FnMut(&mut Vec<Binding>));
    /// Drops the bindings expired at `now_ms`; the AORs that lost some.
    fn expire(&self, now_ms: u64) -> Vec<Aor>;
    /// Whether no AOR has a binding.
    fn is_empty(&self) -> bool;
}

/// The registrar's rules over a [`Location`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Registrar {
    limits: Limits,
}

impl Registrar {
    pub fn new(limits: Limits) -> Registrar {
        Registrar { limits }
    }

    /// The same rules with at most `max` devices a person (at least 1).
    pub fn with_max_contacts(self, max: usize) -> Registrar {
        Registrar {
            limits: Limits {
                max_contacts: max.max(1),
                ..self.limits
            },
        }
    }

    /// Applies a REGISTER to `location`.
    pub fn register(&self, location: &dyn Location, r: Register, now_ms: u64) -> Outcome {
        let aor = Aor::new(&r.tenant, &r.login);
        let limits = self.limits;
        let list = match r.contacts {
            Contacts::Query => return Outcome::Ok(current(&location.lookup(&aor, now_ms), now_ms)),
            Contacts::All => {
                if r.expires != Some(0) {
                    return Outcome::BadRequest("Contact: * needs Expires: 0");
                }
                location.change(&aor, &mut |bindings| bindings.clear());
                return Outcome::Ok(Vec::new());
            }
            Contacts::List(list) => list,
        };
        // Check every contact before changing anything.
        for c in &list {
            let expires = c.expires.or(r.expires).unwrap_or(limits.default_expires);
            if expires != 0 && expires < limits.min_expires {
                return Outcome::IntervalTooBrief {
                    min_expires: limits.min_expires,
                };
            }
        }
        let mut outcome = Outcome::Ok(Vec::new());
        location.change(&aor, &mut |existing| {
            existing.retain(|b| b.expires_at_ms > now_ms);
            let out_of_order = list.iter().any(|c| {
                existing
                    .iter()
                    .any(|b| b.contact == c.uri && b.call_id == r.call_id && r.cseq <= b.cseq)
            });
            if out_of_order {
                outcome = Outcome::OutOfOrder;
                return;
            }
            if adds_beyond(existing, &list, r.expires, limits) {
                outcome = Outcome::TooManyContacts {
                    limit: limits.max_contacts,
                };
                return;
            }
            for c in &list {
                let expires = c
                    .expires
                    .or(r.expires)
                    .unwrap_or(limits.default_expires)
                    .min(limits.max_expires);
                existing.retain(|b| b.contact != c.uri);
                if expires == 0 {
                    continue;
                }
                existing.push(Binding {
                    contact: c.uri.clone(),
                    expires_at_ms: now_ms + u64::from(expires) * 1000,
                    call_id: r.call_id.clone(),
                    cseq: r.cseq,
                    source: r.source,
                    transport: r.transport,
                });
            }
            outcome = Outcome::Ok(current(existing, now_ms));
        });
        outcome
    }
}

/// Whether applying `list` to the live bindings `existing` adds a device and leaves more than
/// `max_contacts` (refreshes and removals never count against the limit).
fn adds_beyond(
    existing: &[Binding],
    list: &[ContactParam],
    expires: Option<u32>,
    limits: Limits,
) -> bool {
    let mut after: Vec<&str> = existing.iter().map(|b| b.contact.as_str()).collect();
    let mut adds = false;
    for c in list {
        let keep = c.expires.or(expires).unwrap_or(limits.default_expires) != 0;
        let known = after.contains(&c.uri.as_str());
        if keep && !known {
            after.push(&c.uri);
            adds = true;
        } else if !keep {
            after.retain(|u| *u != c.uri);
        }
    }
    adds && after.len() > limits.max_contacts
}

/// The live bindings with their remaining whole seconds.
fn current(list: &[Binding], now_ms: u64) -> Vec<(String, u32)> {
    list.iter()
        .filter(|b| b.expires_at_ms > now_ms)
        .map(|b| {
            (
                b.contact.clone(),
                ((b.expires_at_ms - now_ms) / 1000) as u32,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::location::MemoryLocation;

    const T0: u64 = 1_000_000;

    fn reg(contacts: Contacts, expires: Option<u32>, call_id: &str, cseq: u32) -> Register {
        Register {
            tenant: "acme".into(),
            login: "ivan".into(),
            contacts,
            expires,
            call_id: call_id.into(),
            cseq,
            source: "127.0.0.1:5062".parse().unwrap(),
            transport: Transport::Udp,
        }
    }

    fn one(uri: &str, expires: Option<u32>) -> Contacts {
        Contacts::List(vec![ContactParam {
            uri: uri.into(),
            expires,
        }])
    }

    #[test]
    fn several_devices_expire_on_time() {
        let (r, loc) = (Registrar::new(Limits::default()), MemoryLocation::default());
        assert_eq!(
            r.register(
                &loc,
                reg(one("sip:ivan@10.0.0.1", None), Some(120), "a", 1),
                T0
            ),
            Outcome::Ok(vec![("sip:ivan@10.0.0.1".into(), 120)])
        );
        let out = r.register(
            &loc,
            reg(one("sip:ivan@10.0.0.2", Some(600)), Some(120), "b", 1),
            T0 + 1000,
        );
        assert_eq!(
            out,
            Outcome::Ok(vec![
                ("sip:ivan@10.0.0.1".into(), 119),
                ("sip:ivan@10.0.0.2".into(), 600)
            ])
        );
        assert_eq!(loc.lookup(&Aor::new("acme", "ivan"), T0 + 119_999).len(), 2);
        assert_eq!(
            loc.lookup(&Aor::new("acme", "ivan"), T0 + 120_000).len(),
            1,
            "the first expires at 120 s exactly"
        );
        assert_eq!(loc.expire(T0 + 120_000), [Aor::new("acme", "ivan")]);
        assert_eq!(loc.lookup(&Aor::new("acme", "ivan"), T0).len(), 1);
        assert!(loc.lookup(&Aor::new("acme", "maria"), T0).is_empty());
    }

    #[test]
    fn refresh_unregister_and_star() {
        let (r, loc) = (Registrar::new(Limits::default()), MemoryLocation::default());
        r.register(
            &loc,
            reg(one("sip:ivan@10.0.0.1", None), Some(120), "a", 1),
            T0,
        );
        r.register(
            &loc,
            reg(one("sip:ivan@10.0.0.1", None), Some(300), "a", 2),
            T0 + 10_000,
        );
        assert_eq!(
            loc.lookup(&Aor::new("acme", "ivan"), T0 + 200_000).len(),
            1,
            "refreshed to 300 s"
        );
        assert_eq!(
            r.register(
                &loc,
                reg(one("sip:ivan@10.0.0.1", None), Some(0), "a", 3),
                T0 + 20_000
            ),
            Outcome::Ok(vec![])
        );
        r.register(&loc, reg(one("sip:ivan@10.0.0.1", None), None, "a", 4), T0);
        r.register(&loc, reg(one("sip:ivan@10.0.0.2", None), None, "a", 5), T0);
        assert_eq!(
            r.register(&loc, reg(Contacts::All, Some(60), "a", 6), T0),
            Outcome::BadRequest("Contact: * needs Expires: 0")
        );
        assert_eq!(
            r.register(&loc, reg(Contacts::All, Some(0), "a", 7), T0),
            Outcome::Ok(vec![])
        );
        assert!(loc.is_empty());
    }

    #[test]
    fn limits_and_ordering() {
        let (r, loc) = (Registrar::new(Limits::default()), MemoryLocation::default());
        assert_eq!(
            r.register(
                &loc,
                reg(one("sip:ivan@10.0.0.1", None), Some(30), "a", 1),
                T0
            ),
            Outcome::IntervalTooBrief { min_expires: 60 }
        );
        assert!(loc.is_empty(), "a refused REGISTER changes nothing");
        assert_eq!(
            r.register(
                &loc,
                reg(one("sip:ivan@10.0.0.1", None), Some(99_999), "a", 5),
                T0
            ),
            Outcome::Ok(vec![("sip:ivan@10.0.0.1".into(), 3600)])
        );
        assert_eq!(
            r.register(
                &loc,
                reg(one("sip:ivan@10.0.0.1", None), Some(60), "a", 5),
                T0
            ),
            Outcome::OutOfOrder
        );
        assert_eq!(
            r.register(&loc, reg(Contacts::Query, None, "a", 6), T0)
                .clone(),
            Outcome::Ok(vec![("sip:ivan@10.0.0.1".into(), 3600)])
        );
        for i in 0..15 {
            r.register(
                &loc,
                reg(
                    one(&format!("sip:ivan@10.0.1.{i}"), None),
                    Some(60 + i),
                    &format!("c{i}"),
                    1,
                ),
                T0,
            );
        }
        assert_eq!(
            loc.lookup(&Aor::new("acme", "ivan"), T0).len(),
            10,
            "at most 10 devices a person"
        );
    }

    fn list(items: &[(&str, Option<u32>)]) -> Contacts {
        Contacts::List(
            items
                .iter()
                .map(|(uri, expires)| ContactParam {
                    uri: uri.to_string(),
                    expires: *expires,
                })
                .collect(),
        )
    }

    /// What a row sends (contacts, Expires), the refusal expected if any, bindings left.
    type Row = (&'static str, Contacts, Option<u32>, Option<Outcome>, usize);

    /// Each row: a REGISTER against a person who already has `sip:a`, `sip:b` (limit 2).
    #[test]
    fn the_contact_limit_refuses_additions_only() {
        let add_c = Outcome::TooManyContacts { limit: 2 };
        let table: &[Row] = &[
            (
                "a third device",
                list(&[("sip:c", None)]),
                None,
                Some(add_c.clone()),
                2,
            ),
            ("a refresh", list(&[("sip:a", None)]), Some(600), None, 2),
            (
                "both refreshed",
                list(&[("sip:a", None), ("sip:b", None)]),
                None,
                None,
                2,
            ),
            ("one removed", list(&[("sip:a", Some(0))]), None, None, 1),
            (
                "one swapped for another",
                list(&[("sip:a", Some(0)), ("sip:c", None)]),
                None,
                None,
                2,
            ),
            (
                "a refresh and an addition",
                list(&[("sip:a", None), ("sip:c", None)]),
                None,
                Some(add_c),
                2,
            ),
            (
                "a new one with Expires: 0",
                list(&[("sip:c", None)]),
                Some(0),
                None,
                2,
            ),
            ("Contact: *", Contacts::All, Some(0), None, 0),
            ("a query", Contacts::Query, None, None, 2),
        ];
        let r = Registrar::default().with_max_contacts(2);
        for (what, contacts, expires, refused, left) in table {
            let loc = MemoryLocation::default();
            let first = r.register(
                &loc,
                reg(list(&[("sip:a", None), ("sip:b", None)]), None, "x", 1),
                T0,
            );
            assert!(
                matches!(first, Outcome::Ok(ref b) if b.len() == 2),
                "{what}: {first:?}"
            );
            let out = r.register(&loc, reg(contacts.clone(), *expires, "y", 1), T0);
            match refused {
                Some(o) => assert_eq!(&out, o, "{what}"),
                None => assert!(matches!(out, Outcome::Ok(_)), "{what}: {out:?}"),
            }
            assert_eq!(
                loc.lookup(&Aor::new("acme", "ivan"), T0).len(),
                *left,
                "{what}"
            );
        }
    }

    #[test]
    fn a_person_over_a_lowered_limit_still_refreshes_and_expired_devices_make_room() {
        let loc = MemoryLocation::default();
        let three = list(&[("sip:a", None), ("sip:b", None), ("sip:c", Some(60))]);
        let wide = Registrar::default();
        assert!(matches!(
            wide.register(&loc, reg(three, None, "x", 1), T0),
            Outcome::Ok(_)
        ));
        let narrow = wide.with_max_contacts(2);
        assert!(matches!(
            narrow.register(&loc, reg(list(&[("sip:b", None)]), None, "x", 2), T0),
            Outcome::Ok(ref b) if b.len() == 3
        ));
        assert_eq!(
            narrow.register(&loc, reg(list(&[("sip:d", None)]), None, "x", 3), T0),
            Outcome::TooManyContacts { limit: 2 }
        );
        // `sip:c` expired, two are left: a third is still one too many; removing `sip:b` makes room.
        let later = T0 + 61_000;
        narrow.register(&loc, reg(list(&[("sip:b", Some(0))]), None, "x", 4), later);
        assert!(matches!(
            narrow.register(&loc, reg(list(&[("sip:d", None)]), None, "x", 5), later),
            Outcome::Ok(ref b) if b.len() == 2
        ));
        assert_eq!(
            Registrar::default()
                .with_max_contacts(0)
                .limits
                .max_contacts,
            1
        );
    }
}
