//! Whom the mail sender trusts when it talks TLS to its SMTP server (`server.smtp.ca_file`):
//! the PEM file read and checked — the same way by `pbx validate` and by the sender, so a file
//! that validates is one the sender can use — and the lettre `TlsParameters` built from it.
//! Without a `ca_file` the sender trusts the public roots compiled into lettre (webpki-roots,
//! Mozilla's list); with one it trusts the certificates of that file only, as `curl --cacert`
//! does. The host name (or IP address) of `server.smtp.host` is checked against the server's
//! certificate either way. No sockets here.

use crate::config::load::{read_regular, ReadError};
use lettre::transport::smtp::client::{Certificate, CertificateStore, TlsParameters};
use std::path::Path;

/// The PEM marker every certificate of a CA file starts with.
const BEGIN: &str = "-----BEGIN CERTIFICATE-----";

/// Why a CA file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CaProblem {
    /// It cannot be read as a regular text file of at most 16 MiB.
    #[error("cannot be read: {0}")]
    Unreadable(ReadError),
    /// It holds no `-----BEGIN CERTIFICATE-----` block.
    #[error("holds no PEM certificate (no `{BEGIN}` line)")]
    NoCertificate,
    /// A certificate block that does not decode, or that rustls refuses as a trust anchor.
    #[error("holds a certificate that cannot be used: {0}")]
    Malformed(String),
}

/// The certificates of a CA file, read and checked: parsed and accepted as trust anchors.
#[derive(Clone, Debug)]
pub struct TrustedCa {
    pem: String,
}

impl TrustedCa {
    /// Reads `path` (a regular file, as config files are read) and checks it.
    pub fn read(path: &Path) -> Result<TrustedCa, CaProblem> {
        let pem = read_regular(path).map_err(CaProblem::Unreadable)?;
        TrustedCa::parse(pem)
    }

    /// Checks PEM text: at least one certificate, every one usable as a trust anchor.
    pub fn parse(pem: String) -> Result<TrustedCa, CaProblem> {
        if !pem.contains(BEGIN) {
            return Err(CaProblem::NoCertificate);
        }
        let ca = TrustedCa { pem };
        // Building the parameters once runs what a connection will run: PEM decoding and
        // rustls's trust-anchor parsing of every certificate.
        ca.parameters("localhost")?;
        Ok(ca)
    }

    /// TLS parameters for a connection to `host` trusting these certificates only.
    fn parameters(&self, host: &str) -> Result<TlsParameters, CaProblem> {
        let certificate = Certificate::from_pem(self.pem.as_bytes())
            .map_err(|e| CaProblem::Malformed(tls_detail(&e)))?;
        TlsParameters::builder(host.to_owned())
            .certificate_store(CertificateStore::None)
            .add_root_certificate(certificate)
            .build_rustls()
            .map_err(|e| CaProblem::Malformed(tls_detail(&e)))
    }
}

/// The TLS parameters of a connection to `host`: trusting `ca` only when given, else the
/// public roots.
pub fn parameters(host: &str, ca: Option<&TrustedCa>) -> Result<TlsParameters, CaProblem> {
    match ca {
        Some(ca) => ca.parameters(host),
        None => TlsParameters::builder(host.to_owned())
            .build_rustls()
            .map_err(|e| CaProblem::Malformed(tls_detail(&e))),
    }
}

/// lettre's error with its sources, on one line.
fn tls_detail(e: &lettre::transport::smtp::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed certificate, valid for 100 years (made once with `openssl req -x509
    /// -newkey ec ...`); only its form matters here.
    const CA: &str = "-----BEGIN CERTIFICATE-----
MIIBlTCCATqgAwIBAgIUC51ywmX7sIbBJ6xzWRcaWL1Wj40wCgYIKoZIzj0EAwIw
FjEUMBIGA1UEAwwLcGJ4IHRlc3QgQ0EwIBcNMjYxMTMwMTYzMTA2WhgPMjEyNjEx
MDYxNjMxMDZaMBYxFDASBgNVBAMMC3BieCB0ZXN0IENBMFkwEwYHKoZIzj0CAQYI
KoZIzj0DAQcDQgAE4vtV6b4garQRb+v4eYVb9/ihmIdgDSMC/mz/DrT3rUbB+NXU
LFPW3cFJHpU365kXknBeVWCgDqSqNGoG/oP+5aNkMGIwHQYDVR0OBBYEFNaA1Hbe
1p04tv0BnMu1h/D7nx7BMB8GA1UdIwQYMBaAFNaA1Hbe1p04tv0BnMu1h/D7nx7B
MA8GA1UdEwEB/wQFMAMBAf8wDwYDVR0RBAgwBocEfwAAATAKBggqhkjOPQQDAgNJ
ADBGAiEA2tm6LX6N8eDoXMIayanjDxrKUXqwv8qZ/do/4fqej4ACIQD0589hfy+O
MD/tOoieyVBUH0N4IOl5zEV9852oCk7pbw==
-----END CERTIFICATE-----
";

    #[test]
    fn a_pem_certificate_is_trusted() {
        let ca = TrustedCa::parse(format!("a comment before it\n{CA}")).unwrap();
        assert_eq!(
            parameters("127.0.0.1", Some(&ca)).unwrap().domain(),
            "127.0.0.1"
        );
        assert!(parameters("smtp.example.com", None).is_ok());
    }

    #[test]
    fn a_file_without_a_certificate_is_refused() {
        assert!(matches!(
            TrustedCa::parse("hello\n".into()),
            Err(CaProblem::NoCertificate)
        ));
        assert!(matches!(
            TrustedCa::parse(String::new()),
            Err(CaProblem::NoCertificate)
        ));
    }

    #[test]
    fn a_broken_certificate_is_refused() {
        let broken = CA.replace("MIIBlTCCATqgAwIBAgIU", "MIIBlTCCATqgAwIB");
        assert!(
            matches!(TrustedCa::parse(broken), Err(CaProblem::Malformed(_))),
            "a truncated certificate"
        );
        let garbage = "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            TrustedCa::parse(garbage.into()),
            Err(CaProblem::Malformed(_))
        ));
    }

    #[test]
    fn an_unreadable_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            TrustedCa::read(&dir.path().join("absent.pem")),
            Err(CaProblem::Unreadable(_))
        ));
        assert!(matches!(
            TrustedCa::read(dir.path()),
            Err(CaProblem::Unreadable(_))
        ));
    }
}
