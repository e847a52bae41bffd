//! The byte encodings of the store: how keys are built and split, how values become JSON or
//! big-endian integers and back, and the digest of a config's files. No sled here: these are
//! plain functions over bytes, so the layout documented in `store/mod.rs` is one place.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::StoreError;

/// Key of the revision counter in the `meta` tree.
pub(super) const REVISION_KEY: &[u8] = b"revision";
/// Key of the running config in the `meta` tree, as its files' texts (written before the
/// files were kept apart; still read).
pub(super) const CURRENT_KEY: &[u8] = b"current";
/// Key of the running config in the `meta` tree, as its files' digests: each text is in the
/// `config_files` tree under its digest, written once however many revisions keep it.
pub(super) const CURRENT_FILES_KEY: &[u8] = b"current-files";

/// Hex SHA-256 of one file's text: its key in the `config_files` tree.
pub(super) fn file_digest(text: &str) -> String {
    crate::credentials::hex(&Sha256::digest(text.as_bytes()))
}

/// Separates tenant and identity in a staff key.
const SEP: u8 = 0;

/// Hex SHA-256 over the files in name order: for each file its name, NUL, its text, NUL.
pub(super) fn config_digest(files: &BTreeMap<String, String>) -> String {
    let mut h = Sha256::new();
    for (name, text) in files {
        h.update(name.as_bytes());
        h.update([0]);
        h.update(text.as_bytes());
        h.update([0]);
    }
    crate::credentials::hex(&h.finalize())
}

/// The staff key `tenant \0 identity`; neither part may contain NUL.
pub(super) fn staff_key(tenant: &str, identity: &str) -> Result<Vec<u8>, StoreError> {
    let mut key = staff_prefix(tenant)?;
    check_part(identity)?;
    key.extend_from_slice(identity.as_bytes());
    Ok(key)
}

/// The prefix `tenant \0` shared by every staff key of one tenant.
pub(super) fn staff_prefix(tenant: &str) -> Result<Vec<u8>, StoreError> {
    check_part(tenant)?;
    let mut key = Vec::with_capacity(tenant.len() + 1);
    key.extend_from_slice(tenant.as_bytes());
    key.push(SEP);
    Ok(key)
}

fn check_part(part: &str) -> Result<(), StoreError> {
    if part.as_bytes().contains(&SEP) {
        return Err(StoreError::InvalidKey {
            key: part.escape_debug().to_string(),
            reason: "contains a NUL character",
        });
    }
    Ok(())
}

/// Splits a staff key into (tenant, identity).
pub(super) fn split_staff_key(key: &[u8]) -> Result<(String, String), StoreError> {
    let corrupt = |detail: &str| StoreError::Corrupt {
        what: format!("staff key {}", String::from_utf8_lossy(key).escape_debug()),
        detail: detail.to_owned(),
    };
    let at = key
        .iter()
        .position(|&b| b == SEP)
        .ok_or_else(|| corrupt("no NUL between tenant and identity"))?;
    let part = |bytes: &[u8]| String::from_utf8(bytes.to_vec()).map_err(|_| corrupt("not UTF-8"));
    Ok((part(&key[..at])?, part(&key[at + 1..])?))
}

/// How a staff key is named in errors: `staff acme/ivan.petrov`.
pub(super) fn staff_what(key: &[u8]) -> String {
    match split_staff_key(key) {
        Ok((tenant, identity)) => format!("staff {tenant}/{identity}"),
        Err(_) => format!("staff key {}", String::from_utf8_lossy(key).escape_debug()),
    }
}

/// A value as JSON bytes.
pub(super) fn encode<T: Serialize>(what: &str, value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|source| StoreError::Encode {
        what: what.to_owned(),
        source,
    })
}

/// A value from JSON bytes; `what` names the key in the error.
pub(super) fn decode<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        what: what.to_owned(),
        detail: e.to_string(),
    })
}

/// A u64 from its 8 big-endian bytes.
pub(super) fn decode_u64(what: &str, bytes: &[u8]) -> Result<u64, StoreError> {
    let array: [u8; 8] = bytes.try_into().map_err(|_| StoreError::Corrupt {
        what: what.to_owned(),
        detail: format!("expected 8 bytes (big-endian u64), found {}", bytes.len()),
    })?;
    Ok(u64::from_be_bytes(array))
}
