//! What staff set for themselves in the cabinet, layered over the config at run time
//! (`Profiles`): how calls are forwarded to their mobile, and the length of the voicemail
//! greeting they uploaded (the audio itself is in `greetings.rs`). Kept by tenant and login,
//! flushed before a change is acknowledged. The config never sees it: `pbx plan` compares
//! configs, so a profile is never drift.
//!
//! | tree       | key                       | value            |
//! |------------|---------------------------|------------------|
//! | `profiles` | `tenant` NUL `login`      | JSON [`Profile`] |

use super::codec::{decode, encode};
use super::{storage, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One staff member's own settings; `None` fields follow the config.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// Forwarding to the mobile: `off`, `instant` or `delayed` (the config's words).
    #[serde(default)]
    pub forwarding: Option<String>,
    /// For `delayed`: how long the phones ring alone, in ms.
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// The length of the voicemail greeting they uploaded (`Greetings`), in ms.
    #[serde(default)]
    pub greeting_ms: Option<u64>,
}

/// Staff members' own settings.
pub trait Profiles {
    /// Every stored profile, by (tenant id, login).
    fn profiles(&self) -> Result<BTreeMap<(String, String), Profile>, StoreError>;

    /// One member's profile (the default when they set nothing).
    fn profile(&self, tenant: &str, login: &str) -> Result<Profile, StoreError>;

    /// Replaces one member's profile, flushed before returning.
    fn set_profile(&self, tenant: &str, login: &str, profile: &Profile) -> Result<(), StoreError>;
}

impl Profiles for Store {
    fn profiles(&self) -> Result<BTreeMap<(String, String), Profile>, StoreError> {
        let tree = self.tree("profiles")?;
        tree.iter()
            .map(|entry| {
                let (key, value) = entry.map_err(storage("read profiles"))?;
                let ids = super::codec::split_staff_key(&key)?;
                Ok((ids, decode("profile", &value)?))
            })
            .collect()
    }

    fn profile(&self, tenant: &str, login: &str) -> Result<Profile, StoreError> {
        let tree = self.tree("profiles")?;
        let key = super::codec::staff_key(tenant, login)?;
        match tree.get(key).map_err(storage("read profile"))? {
            Some(value) => decode("profile", &value),
            None => Ok(Profile::default()),
        }
    }

    fn set_profile(&self, tenant: &str, login: &str, profile: &Profile) -> Result<(), StoreError> {
        let tree = self.tree("profiles")?;
        let key = super::codec::staff_key(tenant, login)?;
        tree.insert(key, encode("profile", profile)?)
            .map_err(storage("write profile"))?;
        self.sync("flush profiles")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_survive_a_reopen_by_tenant_and_login() {
        let dir = tempfile::tempdir().unwrap();
        let instant = Profile {
            forwarding: Some("instant".into()),
            delay_ms: None,
            greeting_ms: Some(1500),
        };
        {
            let store = Store::open(dir.path()).unwrap();
            store
                .set_profile("acme", "anna", &Profile::default())
                .unwrap();
            store.set_profile("acme", "anna", &instant).unwrap();
            store
                .set_profile("globex", "anna", &Profile::default())
                .unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let all = store.profiles().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[&("acme".to_owned(), "anna".to_owned())], instant);
        assert_eq!(
            all[&("globex".to_owned(), "anna".to_owned())],
            Profile::default()
        );
        assert_eq!(store.profile("acme", "anna").unwrap(), instant);
        assert_eq!(store.profile("acme", "nobody").unwrap(), Profile::default());
    }
}
