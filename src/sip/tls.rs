//! The TLS side of SIP over TLS: the server configuration rustls needs, with a certificate that
//! can be replaced while the server runs (`Certificate::set`: a reload reads the files again),
//! so new handshakes get the renewed certificate and connections up keep theirs. Sockets stay
//! in `transport`.

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::sync::{Arc, RwLock};

/// The certificate a TLS listener presents now.
#[derive(Debug)]
pub struct Certificate {
    current: RwLock<Arc<CertifiedKey>>,
}

impl Certificate {
    pub fn new(key: CertifiedKey) -> Arc<Certificate> {
        Arc::new(Certificate {
            current: RwLock::new(Arc::new(key)),
        })
    }

    /// Presents `key` from the next handshake on.
    pub fn set(&self, key: CertifiedKey) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(key);
    }

    /// The rustls server configuration presenting this certificate (TLS 1.2 and 1.3, no
    /// client certificates).
    pub fn server_config(self: &Arc<Certificate>) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("the ring provider supports the default versions")
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        Arc::new(config)
    }
}

impl ResolvesServerCert for Certificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        )
    }
}
