//! What was applied: the running config and its revision, the apply history, and each staff
//! member's generated values (`StaffState`), behind the `Applies` trait.
//!
//! `record_apply` and `set_password` commit in one transaction and flush to disk before
//! returning: once they return `Ok`, a `kill -9` cannot lose the write. An apply's letters
//! (welcome letters with new passwords) go into the outbox in that same transaction: an apply
//! is never recorded without its letters, nor a letter without its apply — and likewise a
//! rotated password and the letter mailing it (`pbx password reset --notify`).

use super::codec::{
    self, decode, decode_u64, encode, CURRENT_FILES_KEY, CURRENT_KEY, REVISION_KEY,
};
use super::{abort, now_ms, storage, transaction_error, Store, StoreError};
use crate::credentials::{DigestHashes, WebPassword};
use serde::{Deserialize, Serialize};
use sled::transaction::Transactional;
use std::collections::BTreeMap;

/// What one tenant's staff member got generated; never changes once written (only rotation
/// changes the password hashes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffState {
    /// The SIP login the member registers with.
    pub login: String,
    /// The extension generated for the member, when one was.
    pub extension: Option<String>,
    /// The digest hashes of the member's password, when one was generated.
    pub password: Option<DigestHashes>,
    /// The digest realm the hashes were computed for.
    pub realm: String,
    /// When the password was set, in milliseconds since the Unix epoch.
    pub password_set_at_ms: u64,
    /// What the web cabinet checks a sign-in against: an argon2id hash of the same password
    /// (generated, rotated, or a plaintext one of the config), absent for a password the
    /// config gives only as digest hashes, and in states written before the cabinet existed.
    #[serde(default)]
    pub web: Option<WebPassword>,
    /// For staff without a `login:`: what the config said of them besides their name
    /// (`config::generated::signature`), which tells namesakes apart. Absent in states written
    /// before it was kept.
    #[serde(default)]
    pub signature: Option<String>,
}

/// The config that is running, as the files it came from (file name -> YAML text).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// The revision this apply created; the first apply is 1.
    pub revision: u64,
    /// The config files, file name -> YAML text.
    pub files: BTreeMap<String, String>,
    /// [`config_digest`] of `files`.
    pub digest: String,
    /// When it was applied, in milliseconds since the Unix epoch.
    pub applied_at_ms: u64,
    /// Who applied it.
    pub actor: String,
    /// A one-line description of the change.
    pub summary: String,
}

/// [`Applied`] as the `meta` tree keeps it: each file by the digest its text is kept under in
/// the `config_files` tree, so an apply that changes one file of many writes that file only.
#[derive(Serialize, Deserialize)]
struct AppliedFiles {
    revision: u64,
    /// File name -> [`codec::file_digest`] of its text.
    files: BTreeMap<String, String>,
    digest: String,
    applied_at_ms: u64,
    actor: String,
    summary: String,
}

/// One entry of the apply history (no file contents).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyRecord {
    /// The revision the apply created.
    pub revision: u64,
    /// When it was applied, in milliseconds since the Unix epoch.
    pub applied_at_ms: u64,
    /// Who applied it.
    pub actor: String,
    /// [`config_digest`] of the files applied.
    pub digest: String,
    /// A one-line description of the change.
    pub summary: String,
}

/// Everything one apply writes, committed atomically.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewApply {
    /// The config files, file name -> YAML text.
    pub files: BTreeMap<String, String>,
    /// Who applies it.
    pub actor: String,
    /// A one-line description of the change.
    pub summary: String,
    /// Generated values written or updated by this apply: (tenant id, identity, state).
    pub staff: Vec<(String, String, StaffState)>,
    /// Outbox entries this apply writes (kind, payload), e.g. `welcome_letter`s; due at once.
    pub letters: Vec<(String, serde_json::Value)>,
}

/// The config history of a server.
pub trait Applies {
    /// The running config, or `None` when nothing was applied yet.
    fn current(&self) -> Result<Option<Applied>, StoreError>;

    /// The revision of the running config; 0 when nothing was applied.
    fn revision(&self) -> Result<u64, StoreError>;

    /// Records an apply atomically (one transaction over the revision counter, the current
    /// config, the history entry, the staff states and the outbox letters) and flushes to disk before returning:
    /// once this returns `Ok`, a `kill -9` cannot lose it. `expected_revision`: if `Some(r)`
    /// and the current revision is not `r`, fails with [`StoreError::Conflict`] and changes
    /// nothing.
    fn record_apply(
        &self,
        apply: NewApply,
        expected_revision: Option<u64>,
    ) -> Result<Applied, StoreError>;

    /// The latest `limit` entries of the apply history, newest first.
    fn history(&self, limit: usize) -> Result<Vec<ApplyRecord>, StoreError>;

    /// The stored staff states of one tenant, by identity.
    fn staff_states(&self, tenant: &str) -> Result<BTreeMap<String, StaffState>, StoreError>;

    /// Every stored staff state, by (tenant id, identity).
    fn all_staff_states(&self) -> Result<BTreeMap<(String, String), StaffState>, StoreError>;

    /// One staff member's stored state, if any.
    fn staff_state(&self, tenant: &str, identity: &str) -> Result<Option<StaffState>, StoreError>;

    /// Replaces one staff member's password hashes (rotation) and its cabinet hash and, when
    /// `letter` is given (kind, payload: the welcome letter mailing the new password), writes
    /// it to the outbox, due at `at_ms`, in the same transaction; flushed before returning.
    /// Returns the new state and the letter's outbox id. [`StoreError::NotFound`] if the
    /// identity has no state (and then no letter is written).
    fn set_password(
        &self,
        tenant: &str,
        identity: &str,
        password: DigestHashes,
        web: WebPassword,
        at_ms: u64,
        letter: Option<(&str, serde_json::Value)>,
    ) -> Result<(StaffState, Option<u64>), StoreError>;

    /// Replaces one staff member's cabinet hash only (a password the config sets in plaintext,
    /// hashed when it changed), flushed before returning. [`StoreError::NotFound`] if the
    /// identity has no state.
    fn set_web_password(
        &self,
        tenant: &str,
        identity: &str,
        web: Option<WebPassword>,
    ) -> Result<StaffState, StoreError>;
}

impl Applies for Store {
    /// The running config, or `None` when nothing was applied yet.
    fn current(&self) -> Result<Option<Applied>, StoreError> {
        let trees = self.trees()?;
        const READ: &str = "read current config";
        let Some(value) = trees.meta.get(CURRENT_FILES_KEY).map_err(storage(READ))? else {
            let value = trees.meta.get(CURRENT_KEY).map_err(storage(READ))?;
            return value.map(|v| decode("meta current", &v)).transpose();
        };
        let stored: AppliedFiles = decode("meta current files", &value)?;
        let texts = self.tree("config_files")?;
        let mut files = BTreeMap::new();
        for (name, digest) in stored.files {
            let Some(text) = texts.get(digest.as_bytes()).map_err(storage(READ))? else {
                return Err(StoreError::Corrupt {
                    what: format!("config file {name}"),
                    detail: format!("no text under digest {digest}"),
                });
            };
            let text = String::from_utf8(text.to_vec()).map_err(|e| StoreError::Corrupt {
                what: format!("config file {name}"),
                detail: e.to_string(),
            })?;
            files.insert(name, text);
        }
        Ok(Some(Applied {
            revision: stored.revision,
            files,
            digest: stored.digest,
            applied_at_ms: stored.applied_at_ms,
            actor: stored.actor,
            summary: stored.summary,
        }))
    }

    /// The revision of the running config; 0 when nothing was applied.
    fn revision(&self) -> Result<u64, StoreError> {
        let value = self
            .trees()?
            .meta
            .get(REVISION_KEY)
            .map_err(storage("read revision"))?;
        value.map_or(Ok(0), |v| decode_u64("meta revision", &v))
    }

    /// Records an apply atomically (one transaction over the revision counter, the current
    /// config, the history entry, the staff states and the outbox letters) and flushes to disk before returning:
    /// once this returns `Ok`, a `kill -9` cannot lose it. `expected_revision`: if `Some(r)`
    /// and the current revision is not `r`, fails with [`StoreError::Conflict`] and changes
    /// nothing.
    fn record_apply(
        &self,
        apply: NewApply,
        expected_revision: Option<u64>,
    ) -> Result<Applied, StoreError> {
        let mut staff = Vec::with_capacity(apply.staff.len());
        for (tenant, identity, state) in &apply.staff {
            let key = codec::staff_key(tenant, identity)?;
            let value = encode(&codec::staff_what(&key), state)?;
            staff.push((key, value));
        }
        let digest = codec::config_digest(&apply.files);
        let file_digests: BTreeMap<String, String> = apply
            .files
            .iter()
            .map(|(name, text)| (name.clone(), codec::file_digest(text)))
            .collect();
        let applied_at_ms = now_ms();
        // Ids are taken before the transaction (a retried or aborted one leaves a gap, which
        // is fine: ids only need to grow).
        let mut letters = Vec::with_capacity(apply.letters.len());
        for (kind, payload) in &apply.letters {
            let id = self
                .trees()?
                .db
                .generate_id()
                .map_err(storage("outbox id"))?;
            let entry = super::outbox::new_entry(id, kind, payload.clone(), applied_at_ms);
            letters.push((id.to_be_bytes(), encode("outbox entry", &entry)?));
        }
        let outbox = self.tree("outbox")?;
        let texts = self.tree("config_files")?;
        // Only texts not kept yet are written (a file unchanged since an earlier revision is).
        let mut new_texts = Vec::new();
        for (name, d) in &file_digests {
            if !texts
                .contains_key(d.as_bytes())
                .map_err(storage("read config files"))?
            {
                new_texts.push((d.clone(), apply.files[name].clone()));
            }
        }
        let trees = self.trees()?;
        let applied = (&trees.meta, &trees.history, &trees.staff, &outbox, &texts)
            .transaction(|(meta, history, staff_tree, outbox_tree, texts_tree)| {
                let actual = match meta.get(REVISION_KEY)? {
                    Some(v) => match decode_u64("meta revision", &v) {
                        Ok(r) => r,
                        Err(e) => return abort(e),
                    },
                    None => 0,
                };
                if let Some(expected) = expected_revision {
                    if expected != actual {
                        return abort(StoreError::Conflict { expected, actual });
                    }
                }
                let Some(revision) = actual.checked_add(1) else {
                    return abort(StoreError::Corrupt {
                        what: "meta revision".to_owned(),
                        detail: "at u64::MAX".to_owned(),
                    });
                };
                let applied = Applied {
                    revision,
                    files: apply.files.clone(),
                    digest: digest.clone(),
                    applied_at_ms,
                    actor: apply.actor.clone(),
                    summary: apply.summary.clone(),
                };
                let record = ApplyRecord {
                    revision,
                    applied_at_ms,
                    actor: apply.actor.clone(),
                    digest: digest.clone(),
                    summary: apply.summary.clone(),
                };
                let stored = AppliedFiles {
                    revision,
                    files: file_digests.clone(),
                    digest: digest.clone(),
                    applied_at_ms,
                    actor: apply.actor.clone(),
                    summary: apply.summary.clone(),
                };
                let (current, record) = match (
                    encode("meta current files", &stored),
                    encode(&format!("history {revision}"), &record),
                ) {
                    (Ok(c), Ok(r)) => (c, r),
                    (Err(e), _) | (_, Err(e)) => return abort(e),
                };
                for (key, value) in &staff {
                    staff_tree.insert(key.as_slice(), value.as_slice())?;
                }
                for (key, value) in &letters {
                    outbox_tree.insert(&key[..], value.as_slice())?;
                }
                for (d, text) in &new_texts {
                    texts_tree.insert(d.as_bytes(), text.as_bytes())?;
                }
                history.insert(&revision.to_be_bytes()[..], record)?;
                meta.insert(CURRENT_FILES_KEY, current)?;
                meta.remove(CURRENT_KEY)?;
                meta.insert(REVISION_KEY, &revision.to_be_bytes()[..])?;
                Ok(applied)
            })
            .map_err(transaction_error("record apply"))?;
        self.flush()?;
        Ok(applied)
    }

    /// The latest `limit` entries of the apply history, newest first.
    fn history(&self, limit: usize) -> Result<Vec<ApplyRecord>, StoreError> {
        self.trees()?
            .history
            .iter()
            .rev()
            .take(limit)
            .map(|entry| {
                let (key, value) = entry.map_err(storage("read history"))?;
                let revision = decode_u64("history key", &key)?;
                decode(&format!("history {revision}"), &value)
            })
            .collect()
    }

    /// The stored staff states of one tenant, by identity.
    fn staff_states(&self, tenant: &str) -> Result<BTreeMap<String, StaffState>, StoreError> {
        let prefix = codec::staff_prefix(tenant)?;
        self.trees()?
            .staff
            .scan_prefix(&prefix)
            .map(|entry| {
                let (key, value) = entry.map_err(storage("read staff states"))?;
                let (_, identity) = codec::split_staff_key(&key)?;
                Ok((identity, decode(&codec::staff_what(&key), &value)?))
            })
            .collect()
    }

    /// Every stored staff state, by (tenant id, identity).
    fn all_staff_states(&self) -> Result<BTreeMap<(String, String), StaffState>, StoreError> {
        self.trees()?
            .staff
            .iter()
            .map(|entry| {
                let (key, value) = entry.map_err(storage("read staff states"))?;
                let ids = codec::split_staff_key(&key)?;
                Ok((ids, decode(&codec::staff_what(&key), &value)?))
            })
            .collect()
    }

    fn staff_state(&self, tenant: &str, identity: &str) -> Result<Option<StaffState>, StoreError> {
        let key = codec::staff_key(tenant, identity)?;
        let value = self
            .trees()?
            .staff
            .get(&key)
            .map_err(storage("read staff state"))?;
        value
            .map(|v| decode(&codec::staff_what(&key), &v))
            .transpose()
    }

    /// Replaces one staff member's password hashes (rotation) and its cabinet hash and, when
    /// `letter` is given (kind, payload: the welcome letter mailing the new password), writes
    /// it to the outbox, due at `at_ms`, in the same transaction; flushed before returning.
    /// Returns the new state and the letter's outbox id. [`StoreError::NotFound`] if the
    /// identity has no state (and then no letter is written).
    fn set_password(
        &self,
        tenant: &str,
        identity: &str,
        password: DigestHashes,
        web: WebPassword,
        at_ms: u64,
        letter: Option<(&str, serde_json::Value)>,
    ) -> Result<(StaffState, Option<u64>), StoreError> {
        let key = codec::staff_key(tenant, identity)?;
        let what = codec::staff_what(&key);
        // The id is taken before the transaction, as `record_apply` does (a gap is fine).
        let letter = match letter {
            Some((kind, payload)) => {
                let id = self
                    .trees()?
                    .db
                    .generate_id()
                    .map_err(storage("outbox id"))?;
                let entry = super::outbox::new_entry(id, kind, payload, at_ms);
                Some((id, encode("outbox entry", &entry)?))
            }
            None => None,
        };
        let outbox = self.tree("outbox")?;
        let trees = self.trees()?;
        let state = (&trees.staff, &outbox)
            .transaction(|(tx, outbox_tree)| {
                let Some(value) = tx.get(&key)? else {
                    return abort(StoreError::NotFound {
                        tenant: tenant.to_owned(),
                        identity: identity.to_owned(),
                    });
                };
                let mut state: StaffState = match decode(&what, &value) {
                    Ok(s) => s,
                    Err(e) => return abort(e),
                };
                state.password = Some(password.clone());
                state.web = Some(web.clone());
                state.password_set_at_ms = at_ms;
                match encode(&what, &state) {
                    Ok(v) => tx.insert(key.as_slice(), v)?,
                    Err(e) => return abort(e),
                };
                if let Some((id, entry)) = &letter {
                    outbox_tree.insert(&id.to_be_bytes()[..], entry.as_slice())?;
                }
                Ok(state)
            })
            .map_err(transaction_error("set password"))?;
        self.flush()?;
        Ok((state, letter.map(|(id, _)| id)))
    }

    fn set_web_password(
        &self,
        tenant: &str,
        identity: &str,
        web: Option<WebPassword>,
    ) -> Result<StaffState, StoreError> {
        update_staff(self, tenant, identity, "set web password", |state| {
            state.web = web.clone();
        })
    }
}

/// Changes one stored staff state in a transaction and flushes.
fn update_staff(
    store: &Store,
    tenant: &str,
    identity: &str,
    doing: &'static str,
    change: impl Fn(&mut StaffState),
) -> Result<StaffState, StoreError> {
    let key = codec::staff_key(tenant, identity)?;
    let what = codec::staff_what(&key);
    let state = store
        .trees()?
        .staff
        .transaction(|tx| {
            let Some(value) = tx.get(&key)? else {
                return abort(StoreError::NotFound {
                    tenant: tenant.to_owned(),
                    identity: identity.to_owned(),
                });
            };
            let mut state: StaffState = match decode(&what, &value) {
                Ok(s) => s,
                Err(e) => return abort(e),
            };
            change(&mut state);
            match encode(&what, &state) {
                Ok(v) => tx.insert(key.as_slice(), v)?,
                Err(e) => return abort(e),
            };
            Ok(state)
        })
        .map_err(transaction_error(doing))?;
    store.flush()?;
    Ok(state)
}
