//! HTTPS for the server: TLS with ALPN offering `h2` and `http/1.1`.
//!
//! Cleartext is enough for most clients (the Rust SDK speaks HTTP/1.1 to `http://` endpoints, and its
//! SubscribeToShard works over it), but clients that insist on HTTP/2 negotiate it through TLS ALPN. With a
//! [`TlsConfig`] the listener terminates TLS and then serves exactly as over cleartext; the Rust SDK, which
//! offers `h2` first, then talks HTTP/2. [`TlsConfig::self_signed`] makes a certificate for the loopback
//! names on the spot; clients must be told to trust it ([`TlsConfig::cert_pem`]).

use std::fmt;
use std::sync::Arc;

use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use super::error::ServerError;

/// A server certificate and key, ready to terminate TLS.
#[derive(Clone)]
pub struct TlsConfig {
    cert_pem: String,
    acceptor: TlsAcceptor,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The private key stays out of logs.
        f.debug_struct("TlsConfig").finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// A fresh self-signed certificate for `localhost`, `127.0.0.1` and `::1`, plus `extra_names`.
    ///
    /// # Errors
    /// [`ServerError::Tls`] if a name is not a valid DNS name or IP address, or key generation fails.
    pub fn self_signed(extra_names: &[&str]) -> Result<Self, ServerError> {
        let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
        for name in extra_names {
            if !names.iter().any(|n| n == name) {
                names.push((*name).to_owned());
            }
        }
        let certified = rcgen::generate_simple_self_signed(names)
            .map_err(|e| ServerError::Tls(format!("cannot generate a self-signed certificate: {e}")))?;
        Self::from_pem(&certified.cert.pem(), &certified.signing_key.serialize_pem())
    }

    /// A certificate chain and private key in PEM.
    ///
    /// # Errors
    /// [`ServerError::Tls`] if either does not parse or they do not match.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, ServerError> {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|e| ServerError::Tls(format!("cannot read the certificate PEM: {e}")))?;
        if certs.is_empty() {
            return Err(ServerError::Tls(
                "the certificate PEM holds no certificate".into(),
            ));
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|e| ServerError::Tls(format!("cannot read the private key PEM: {e}")))?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ServerError::Tls(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| ServerError::Tls(format!("certificate and key do not fit: {e}")))?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Self {
            cert_pem: cert_pem.to_owned(),
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }

    /// The certificate (PEM) clients must trust.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    pub(crate) fn acceptor(&self) -> TlsAcceptor {
        self.acceptor.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_certificates_load_and_bad_pem_is_rejected() {
        let tls = TlsConfig::self_signed(&["emulator.test"]).unwrap();
        assert!(tls.cert_pem().starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(!format!("{tls:?}").contains("PRIVATE"));
        let err = TlsConfig::from_pem("not a pem", "not a key").unwrap_err();
        assert!(matches!(err, ServerError::Tls(_)));
        let other = rcgen::generate_simple_self_signed(vec!["x".to_owned()]).unwrap();
        let err = TlsConfig::from_pem(tls.cert_pem(), &other.signing_key.serialize_pem()).unwrap_err();
        assert!(matches!(err, ServerError::Tls(_)), "{err:?}");
    }
}
