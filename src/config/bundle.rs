//! `Bundle`: a config as the set of its files' texts — the main file and the tenant files it
//! includes, keyed by their names relative to the main file's directory.
//!
//! It is what `pbx apply` sends, what the store keeps as the running revision, and what
//! `pbx plan` compares against. Names are checked before a bundle is trusted: relative, no
//! `..`, no absolute paths, so a bundle can be written into a directory safely.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Store key under which the main file's name is kept (never a valid file name).
const MAIN_KEY: &str = ".main";

/// A config as file texts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundle {
    /// Name of the main file (a key of `files`).
    pub main: String,
    /// File name -> text.
    pub files: BTreeMap<String, String>,
}

/// A bundle that cannot be accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BundleError {
    #[error("the main file `{0}` is not among the files")]
    MissingMain(String),
    #[error("file name `{0}` is not allowed: use a relative path without `..`")]
    UnsafeName(String),
    #[error("the stored config has no main file marker")]
    NoMainMarker,
}

impl Bundle {
    /// Checks the names: the main file is present and every name is a safe relative path.
    pub fn check(&self) -> Result<(), BundleError> {
        if !self.files.contains_key(&self.main) {
            return Err(BundleError::MissingMain(self.main.clone()));
        }
        for name in self.files.keys() {
            if !safe_name(name) {
                return Err(BundleError::UnsafeName(name.clone()));
            }
        }
        Ok(())
    }

    /// Hex SHA-256 over the files in name order (name, NUL, text, NUL), the main name first.
    pub fn digest(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.main.as_bytes());
        h.update([0]);
        for (name, text) in &self.files {
            h.update(name.as_bytes());
            h.update([0]);
            h.update(text.as_bytes());
            h.update([0]);
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The flat map the store keeps: the files plus the main file's name under `.main`.
    pub fn to_store_files(&self) -> BTreeMap<String, String> {
        let mut files = self.files.clone();
        files.insert(MAIN_KEY.to_string(), self.main.clone());
        files
    }

    /// The inverse of `to_store_files`.
    pub fn from_store_files(mut files: BTreeMap<String, String>) -> Result<Bundle, BundleError> {
        let main = files.remove(MAIN_KEY).ok_or(BundleError::NoMainMarker)?;
        Ok(Bundle { main, files })
    }
}

/// A relative path of plain components: no root, no `..`, no `.`, no empty parts, no
/// backslashes or NULs.
fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('/')
        && !name.contains(['\\', '\0'])
        && name
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle(names: &[&str]) -> Bundle {
        Bundle {
            main: names[0].to_string(),
            files: names
                .iter()
                .map(|n| (n.to_string(), format!("# {n}\n")))
                .collect(),
        }
    }

    #[test]
    fn names_must_be_safe() {
        assert_eq!(bundle(&["pbx.yaml", "tenants/a.yaml"]).check(), Ok(()));
        for bad in [
            "../x.yaml",
            "/etc/passwd",
            "a/../../b",
            "a//b",
            "./a",
            "a\\b",
        ] {
            assert_eq!(
                bundle(&["pbx.yaml", bad]).check(),
                Err(BundleError::UnsafeName(bad.into())),
                "{bad}"
            );
        }
        let mut b = bundle(&["pbx.yaml"]);
        b.main = "other.yaml".into();
        assert!(matches!(b.check(), Err(BundleError::MissingMain(_))));
    }

    #[test]
    fn store_round_trip_and_digest() {
        let b = bundle(&["pbx.yaml", "tenants/a.yaml"]);
        assert_eq!(Bundle::from_store_files(b.to_store_files()), Ok(b.clone()));
        let mut c = b.clone();
        c.files.insert("tenants/a.yaml".into(), "changed".into());
        assert_ne!(b.digest(), c.digest());
        assert_eq!(b.digest(), b.clone().digest());
    }
}
