//! `Directory`: who may register, in which tenant, with which digest hashes — the SIP layer's
//! view of the running config, rebuilt whenever a config is applied or a password rotated.
//!
//! Tenants are found by SIP domain (case-insensitive); staff by login, with their digest HA1s
//! from the store (generated passwords) or from the config (`{env}`, `{file}`, a literal, or
//! `{ha1: ...}`), and by extension.

use crate::config::generated::Resolution;
use crate::config::model::{Config, PasswordSource};
use crate::credentials::{ha1, DigestHashes};
use crate::store::StaffState;
use std::collections::{BTreeMap, HashMap};

/// One staff member as SIP sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub login: String,
    pub extension: Option<String>,
    /// `None` when no password is known (a `{env}` that is not set): nobody can log in as them.
    pub hashes: Option<DigestHashes>,
}

/// One tenant as SIP sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tenant {
    pub id: String,
    pub domain: String,
    pub users: HashMap<String, User>,
    /// Extension -> login.
    pub extensions: HashMap<String, String>,
}

/// Every tenant, by SIP domain, and the digest algorithms to challenge with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Directory {
    by_domain: HashMap<String, Tenant>,
    pub digest: Vec<crate::sip::auth::Algorithm>,
}

impl Directory {
    /// Builds the directory of `config` with its generated values and the stored states
    /// (keyed by tenant id and identity).
    pub fn build(
        config: &Config,
        resolution: &Resolution,
        stored: &BTreeMap<(String, String), StaffState>,
    ) -> Directory {
        let mut by_domain = HashMap::new();
        for (ti, t) in config.tenants.iter().enumerate() {
            let mut tenant = Tenant {
                id: t.id.clone(),
                domain: t.domain.clone(),
                ..Tenant::default()
            };
            for (si, s) in t.staff.iter().enumerate() {
                let Some(e) = resolution.staff.get(ti).and_then(|r| r.get(si)) else {
                    continue;
                };
                let hashes = match &s.password {
                    Some(PasswordSource::Hash { md5, sha256 }) => Some(DigestHashes {
                        md5: md5.clone().unwrap_or_default(),
                        sha256: sha256.clone().unwrap_or_default(),
                    }),
                    Some(PasswordSource::Secret(secret)) => crate::credentials::reveal(secret)
                        .map(|password| ha1(&e.login, &t.domain, &password)),
                    None => stored
                        .get(&(t.id.clone(), e.identity.clone()))
                        .filter(|st| st.login == e.login && st.realm == t.domain)
                        .and_then(|st| st.password.clone()),
                };
                if let Some(x) = &e.extension {
                    tenant.extensions.insert(x.clone(), e.login.clone());
                }
                tenant.users.insert(
                    e.login.clone(),
                    User {
                        login: e.login.clone(),
                        extension: e.extension.clone(),
                        hashes,
                    },
                );
            }
            by_domain.insert(t.domain.to_ascii_lowercase(), tenant);
        }
        let digest = config
            .server
            .digest_algorithms
            .iter()
            .map(|a| match a {
                crate::config::model::DigestAlgorithm::Md5 => crate::sip::auth::Algorithm::Md5,
                crate::config::model::DigestAlgorithm::Sha256 => {
                    crate::sip::auth::Algorithm::Sha256
                }
            })
            .collect();
        Directory { by_domain, digest }
    }

    /// The tenant whose SIP domain is `domain`.
    pub fn tenant(&self, domain: &str) -> Option<&Tenant> {
        self.by_domain.get(&domain.to_ascii_lowercase())
    }
}
