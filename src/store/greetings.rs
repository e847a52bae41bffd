//! Voicemail greetings staff uploaded in the cabinet (`Greetings`), kept by tenant and login
//! as the WAV file the engine plays (8000 Hz mono 16-bit PCM, already checked and converted),
//! flushed before an upload is acknowledged. Like the other profile settings the config never
//! sees them: the server lays them over the config's `voicemail_greeting` where the tenant's
//! `self_service.greeting` allows.
//!
//! | tree        | key                       | value           |
//! |-------------|---------------------------|-----------------|
//! | `greetings` | `tenant` NUL `login`      | the WAV's bytes |

use super::codec::{split_staff_key, staff_key};
use super::{storage, Store, StoreError};
use std::collections::BTreeMap;

/// Uploaded voicemail greetings.
pub trait Greetings {
    /// Every uploaded greeting, by (tenant id, login).
    fn greetings(&self) -> Result<BTreeMap<(String, String), Vec<u8>>, StoreError>;

    /// One member's greeting.
    fn greeting(&self, tenant: &str, login: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Replaces one member's greeting (`None` removes it, back to the config's), flushed
    /// before returning.
    fn set_greeting(&self, tenant: &str, login: &str, wav: Option<&[u8]>)
        -> Result<(), StoreError>;
}

impl Greetings for Store {
    fn greetings(&self) -> Result<BTreeMap<(String, String), Vec<u8>>, StoreError> {
        let tree = self.tree("greetings")?;
        tree.iter()
            .map(|entry| {
                let (key, value) = entry.map_err(storage("read greetings"))?;
                Ok((split_staff_key(&key)?, value.to_vec()))
            })
            .collect()
    }

    fn greeting(&self, tenant: &str, login: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let tree = self.tree("greetings")?;
        let value = tree
            .get(staff_key(tenant, login)?)
            .map_err(storage("read greeting"))?;
        Ok(value.map(|v| v.to_vec()))
    }

    fn set_greeting(
        &self,
        tenant: &str,
        login: &str,
        wav: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        let tree = self.tree("greetings")?;
        let key = staff_key(tenant, login)?;
        match wav {
            Some(bytes) => tree.insert(key, bytes).map(drop),
            None => tree.remove(key).map(drop),
        }
        .map_err(storage("write greeting"))?;
        self.sync("flush greetings")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greetings_survive_a_reopen_and_can_be_removed() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            store.set_greeting("acme", "anna", Some(b"RIFF1")).unwrap();
            store.set_greeting("acme", "oleg", Some(b"RIFF2")).unwrap();
            store
                .set_greeting("globex", "anna", Some(b"RIFF3"))
                .unwrap();
            store.set_greeting("acme", "oleg", None).unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let all = store.greetings().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[&("acme".into(), "anna".into())], b"RIFF1");
        assert_eq!(all[&("globex".into(), "anna".into())], b"RIFF3");
        assert_eq!(store.greeting("acme", "anna").unwrap().unwrap(), b"RIFF1");
        assert_eq!(store.greeting("acme", "oleg").unwrap(), None);
    }
}
