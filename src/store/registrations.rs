//! Registrations behind the `Registrations` trait: each address of record's bindings, so that
//! phones registered before a restart are reachable after it without registering again. Written behind the
//! engine (coalesced per AOR, not flushed each time: a crash loses at most the last moments
//! of refreshes, which phones repeat anyway); read once at start.
//!
//! | tree            | key                      | value                  |
//! |-----------------|--------------------------|------------------------|
//! | `registrations` | `tenant` NUL `login`     | JSON `[Binding, ...]`  |

use super::{Store, StoreError};
use crate::sip::registrar::{Aor, Binding};

/// Where registrations are kept across restarts.
pub trait Registrations {
    /// Writes each AOR's bindings (an empty list forgets the AOR).
    fn save_bindings(&self, changes: &[(Aor, Vec<Binding>)]) -> Result<(), StoreError>;

    /// Every AOR's stored bindings (expired ones included: the caller drops them).
    fn bindings(&self) -> Result<Vec<(Aor, Vec<Binding>)>, StoreError>;
}

impl Registrations for Store {
    fn save_bindings(&self, changes: &[(Aor, Vec<Binding>)]) -> Result<(), StoreError> {
        let tree = self.tree("registrations")?;
        for (aor, bindings) in changes {
            let key = super::codec::staff_key(&aor.tenant, &aor.login)?;
            let result = if bindings.is_empty() {
                tree.remove(key).map(|_| ())
            } else {
                let value = super::codec::encode("registration", bindings)?;
                tree.insert(key, value).map(|_| ())
            };
            result.map_err(super::storage("write registration"))?;
        }
        Ok(())
    }

    fn bindings(&self) -> Result<Vec<(Aor, Vec<Binding>)>, StoreError> {
        let mut out = Vec::new();
        for item in self.tree("registrations")?.iter() {
            let (key, value) = item.map_err(super::storage("read registrations"))?;
            let (tenant, login) = super::codec::split_staff_key(&key)?;
            let bindings: Vec<Binding> =
                super::codec::decode(&format!("registration {tenant}/{login}"), &value)?;
            out.push((Aor { tenant, login }, bindings));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::registrar::Transport;

    #[test]
    fn bindings_survive_a_reopen_and_an_empty_list_forgets() {
        let dir = tempfile::tempdir().unwrap();
        let b = Binding {
            contact: "sip:anna@10.0.0.1".into(),
            expires_at_ms: 5000,
            call_id: "c".into(),
            cseq: 3,
            source: "10.0.0.1:5060".parse().unwrap(),
            transport: Transport::Tcp,
        };
        let anna = Aor::new("acme", "anna");
        let boris = Aor::new("acme", "boris");
        {
            let store = Store::open(dir.path()).unwrap();
            store
                .save_bindings(&[
                    (anna.clone(), vec![b.clone()]),
                    (boris.clone(), vec![b.clone()]),
                ])
                .unwrap();
            store.save_bindings(&[(boris, vec![])]).unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.bindings().unwrap(), vec![(anna, vec![b])]);
    }
}
