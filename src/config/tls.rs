//! A TLS listener's certificate chain and private key, read from PEM files: what `pbx validate`
//! checks (`E0150 tls-files`) and what the server loads — at start and at every reload, so a
//! renewed certificate is served without a restart. Each failure says which file and what is
//! wrong with it.

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};

/// The largest PEM file read (a chain of a few certificates is a few KiB).
const MAX_FILE: u64 = 1024 * 1024;

/// Why the files cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TlsError {
    #[error("cannot read {}: {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },
    #[error("{} holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)", path.display())]
    NoCertificate { path: PathBuf },
    #[error("{} holds no PEM private key (PKCS#8, PKCS#1 or SEC1)", path.display())]
    NoKey { path: PathBuf },
    #[error("the key in {} does not belong to the certificate in {} ({reason})", key.display(), certificate.display())]
    Mismatch {
        certificate: PathBuf,
        key: PathBuf,
        reason: String,
    },
}

/// A certificate chain and its key, ready for rustls.
#[derive(Debug)]
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

/// Reads the chain in `certificate` and the key in `key` and checks they go together.
pub fn load(certificate: &Path, key: &Path) -> Result<Identity, TlsError> {
    let chain_pem = read(certificate)?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&chain_pem)
        .filter_map(Result::ok)
        .collect();
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: certificate.to_path_buf(),
        });
    }
    let key_pem = read(key)?;
    let key_der = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| TlsError::NoKey {
        path: key.to_path_buf(),
    })?;
    let identity = Identity {
        chain,
        key: key_der,
    };
    identity
        .certified()
        .and_then(|c| c.keys_match())
        .map_err(|e| TlsError::Mismatch {
            certificate: certificate.to_path_buf(),
            key: key.to_path_buf(),
            reason: e.to_string(),
        })?;
    Ok(identity)
}

impl Identity {
    /// The chain and a signing key for it, as rustls serves them.
    pub fn certified(&self) -> Result<rustls::sign::CertifiedKey, rustls::Error> {
        let provider = rustls::crypto::ring::default_provider();
        let key = provider
            .key_provider
            .load_private_key(self.key.clone_key())?;
        Ok(rustls::sign::CertifiedKey::new(self.chain.clone(), key))
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    use std::io::Read;
    let unreadable = |reason: String| TlsError::Unreadable {
        path: path.to_path_buf(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|e| unreadable(e.to_string()))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| unreadable(e.to_string()))?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(unreadable("larger than 1 MiB".into()));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/tls")
            .join(name)
    }

    #[test]
    fn a_certificate_and_its_key_load() {
        let identity = load(&data("a-cert.pem"), &data("a-key.pem")).unwrap();
        assert_eq!(identity.chain.len(), 1);
        assert!(identity.certified().is_ok());
    }

    #[test]
    fn each_unusable_file_is_named_with_what_is_wrong() {
        let mismatch = load(&data("a-cert.pem"), &data("b-key.pem")).unwrap_err();
        assert!(matches!(mismatch, TlsError::Mismatch { .. }), "{mismatch}");
        assert!(mismatch.to_string().contains("b-key.pem"), "{mismatch}");
        // A key where the certificate should be, and the other way round.
        let no_cert = load(&data("a-key.pem"), &data("a-key.pem")).unwrap_err();
        assert_eq!(
            no_cert,
            TlsError::NoCertificate {
                path: data("a-key.pem")
            }
        );
        let no_key = load(&data("a-cert.pem"), &data("a-cert.pem")).unwrap_err();
        assert_eq!(
            no_key,
            TlsError::NoKey {
                path: data("a-cert.pem")
            }
        );
        let missing = load(&data("none.pem"), &data("a-key.pem")).unwrap_err();
        assert!(matches!(missing, TlsError::Unreadable { .. }), "{missing}");
    }
}
