//! `Directory`: who may register, in which tenant, with which digest hashes — the engine's
//! view of the running config, rebuilt whenever a config is applied or a password rotated.
//!
//! Tenants are found by SIP domain (case-insensitive); staff by login, with their digest HA1s
//! from the store (generated passwords) or from the config (`{env}`, `{file}`, a literal, or
//! `{ha1: ...}`), and by extension.

use crate::config::generated::Resolution;
use crate::config::model::{Config, DepartmentId, PasswordSource, Rewrite, StaffId, TrunkRef};
use crate::credentials::{ha1, DigestHashes};
use crate::media::prompt::Prompts;
use crate::store::StaffState;
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;

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
    /// The tenant's index in the config.
    pub index: usize,
    /// Each staff member's login, by `StaffId`.
    pub logins: Vec<String>,
    /// Department extension -> department.
    pub departments: HashMap<String, DepartmentId>,
    /// The trunks calls out go through, in order (indexes into `Directory::trunks`).
    pub outbound: Vec<usize>,
    /// The caller ID of calls out: the tenant's first number.
    pub caller_id: Option<String>,
    /// Where calls out may go, and how many at once (toll fraud).
    pub policy: crate::config::outbound::Outbound,
    /// Where its own trunks begin in `Directory::trunks` (`outbound` counts on it).
    own_trunks: usize,
}

impl Tenant {
    /// The staff member with `login`.
    pub fn staff(&self, login: &str) -> Option<StaffId> {
        self.logins.iter().position(|l| l == login).map(StaffId)
    }
}

/// A trunk as SIP uses it: where it is, who may call in through it, how numbers are rewritten.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trunk {
    pub id: String,
    /// Unique among all trunks: `id` for a shared trunk, `tenant/id` for a tenant's own.
    pub label: String,
    /// The gateway's host as configured (the domain of registrations).
    pub host: String,
    /// The gateway's address (`None` when its host did not resolve).
    pub addr: Option<SocketAddr>,
    /// UDP, or TCP (a connection the PBX opens).
    pub tcp: bool,
    /// Source addresses inbound calls are accepted from.
    pub sources: Vec<IpAddr>,
    /// The tenant owning it (index in the config); `None` for a shared trunk.
    pub tenant: Option<usize>,
    pub outbound_rewrite: Vec<Rewrite>,
    pub inbound_rewrite: Vec<Rewrite>,
    /// User name and password towards the gateway (`None` password: its secret is not set).
    pub auth: Option<(String, Option<String>)>,
    pub register: bool,
}

/// Every tenant, by SIP domain, the trunks, and the digest algorithms to challenge with.
#[derive(Clone, Debug)]
pub struct Directory {
    /// Shared, so a directory rebuilt for a config that changed other tenants keeps them.
    by_domain: HashMap<String, Arc<Tenant>>,
    pub digest: Vec<crate::sip::auth::Algorithm>,
    /// The config the directory was built from; calls hold it for their whole life.
    pub config: Arc<Config>,
    /// Shared trunks first, then each tenant's own.
    pub trunks: Vec<Trunk>,
    /// Company number -> (tenant domain, index in its `numbers`).
    numbers: HashMap<String, (String, usize)>,
    /// The sounds this config's calls can play, decoded and encoded when it was applied.
    pub prompts: Arc<Prompts>,
    /// Password-guessing rules (`server.security`).
    pub security: super::guard::Policy,
}

/// A directory built before, with what it was built from, for [`Directory::build_reusing`].
pub struct Previous<'a> {
    /// The config as applied (before staff's own settings were laid over it).
    pub applied: &'a Config,
    pub resolution: &'a Resolution,
    pub directory: &'a Directory,
}

impl crate::sip::auth::Accounts for Directory {
    fn digest_hashes(&self, realm: &str, user: &str) -> Option<&DigestHashes> {
        self.tenant(realm)?.users.get(user)?.hashes.as_ref()
    }
}

impl Directory {
    /// Builds the directory of `config` with its generated values and the stored states
    /// (keyed by tenant id and identity).
    pub fn build(
        config: Arc<Config>,
        resolution: &Resolution,
        stored: &BTreeMap<(String, String), StaffState>,
        prompts: Arc<Prompts>,
    ) -> Directory {
        Directory::build_reusing(config, resolution, stored, prompts, None)
    }

    /// [`Directory::build`], taking from `previous` every tenant that is the very same
    /// (`Arc`) in `previous.applied` and `applied` (this config as applied, before staff's own
    /// settings were laid over it) and in both resolutions, at the same place, whose passwords
    /// are not read from outside the config: nothing it is built from can have changed (an
    /// apply stores values only for the tenants it resolved).
    pub fn build_reusing(
        config: Arc<Config>,
        resolution: &Resolution,
        stored: &BTreeMap<(String, String), StaffState>,
        prompts: Arc<Prompts>,
        previous: Option<(&Config, Previous)>,
    ) -> Directory {
        let mut by_domain = HashMap::new();
        let mut trunks: Vec<Trunk> = config
            .trunks
            .iter()
            .map(|t| trunk(t, None, t.id.clone()))
            .collect();
        let mut numbers = HashMap::new();
        for (ti, t) in config.tenants.iter().enumerate() {
            let own = trunks.len();
            trunks.extend(
                t.trunks
                    .iter()
                    .map(|tr| trunk(tr, Some(ti), format!("{}/{}", t.id, tr.id))),
            );
            for (i, n) in t.numbers.iter().enumerate() {
                numbers.insert(n.number.to_string(), (t.domain.to_ascii_lowercase(), i));
            }
            let kept = previous.as_ref().and_then(|(applied, p)| {
                let same = Arc::ptr_eq(p.applied.tenants.get(ti)?, applied.tenants.get(ti)?)
                    && Arc::ptr_eq(p.resolution.staff.get(ti)?, resolution.staff.get(ti)?)
                    && !t.reads_secrets();
                let kept = p.directory.by_domain.get(&t.domain.to_ascii_lowercase())?;
                (same && kept.index == ti && kept.own_trunks == own).then(|| Arc::clone(kept))
            });
            if let Some(kept) = kept {
                by_domain.insert(t.domain.to_ascii_lowercase(), kept);
                continue;
            }
            let mut tenant = Tenant {
                id: t.id.clone(),
                domain: t.domain.clone(),
                index: ti,
                departments: t
                    .departments
                    .iter()
                    .enumerate()
                    .filter_map(|(i, d)| Some((d.extension.as_ref()?.to_string(), DepartmentId(i))))
                    .collect(),
                outbound: t
                    .outbound_trunks
                    .iter()
                    .map(|r| match r {
                        TrunkRef::Shared(i) => *i,
                        TrunkRef::Own(i) => own + i,
                    })
                    .collect(),
                caller_id: t.numbers.first().map(|n| n.number.to_string()),
                policy: t.outbound.clone(),
                own_trunks: own,
                ..Tenant::default()
            };
            for (si, s) in t.staff.iter().enumerate() {
                let Some(e) = resolution.staff.get(ti).and_then(|r| r.get(si)) else {
                    tenant.logins.push(String::new());
                    continue;
                };
                tenant.logins.push(e.login.clone());
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
            by_domain.insert(t.domain.to_ascii_lowercase(), Arc::new(tenant));
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
        Directory {
            by_domain,
            digest,
            security: super::guard::Policy::from(&config.server.security),
            config,
            trunks,
            numbers,
            prompts,
        }
    }

    /// The tenant whose SIP domain is `domain`.
    pub fn tenant(&self, domain: &str) -> Option<&Tenant> {
        // Calls look their tenant up by the lower-case domain on every event: no allocation.
        self.by_domain
            .get(domain)
            .or_else(|| self.by_domain.get(&domain.to_ascii_lowercase()))
            .map(|t| &**t)
    }

    /// The trunks whose gateway sends from `ip`.
    pub fn trunks_from(&self, ip: IpAddr) -> Vec<usize> {
        (0..self.trunks.len())
            .filter(|&i| self.trunks[i].sources.contains(&ip))
            .collect()
    }

    /// The tenant owning company number `number`, and the number's index in its list.
    pub fn number(&self, number: &str) -> Option<(&Tenant, usize)> {
        let (domain, i) = self.numbers.get(number)?;
        Some((self.by_domain.get(domain)?, *i))
    }
}

/// A trunk of the config as SIP uses it; its host is resolved now (a config apply), never
/// while a call is being set up.
fn trunk(t: &crate::config::model::Trunk, tenant: Option<usize>, label: String) -> Trunk {
    let addr = (t.host.as_str(), t.port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.find(SocketAddr::is_ipv4));
    let sources = if t.inbound_from.is_empty() {
        addr.map(|a| a.ip()).into_iter().collect()
    } else {
        t.inbound_from.clone()
    };
    Trunk {
        id: t.id.clone(),
        label,
        host: t.host.clone(),
        addr,
        tcp: t.transport == crate::config::model::Transport::Tcp,
        sources,
        tenant,
        outbound_rewrite: t.outbound_rewrite.clone(),
        inbound_rewrite: t.inbound_rewrite.clone(),
        auth: t
            .auth
            .as_ref()
            .map(|a| (a.username.clone(), crate::credentials::reveal(&a.password))),
        register: t.register,
    }
}
