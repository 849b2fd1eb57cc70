//! The certificates every HTTPS client of the process trusts, read once at
//! start-up and handed to each client: the system's roots, or those of
//! `SSL_CERT_FILE` / `SSL_CERT_DIR` when set (a private CA, a test's
//! throw-away one). Each client would otherwise read and parse the whole
//! store itself, on the first event.

use aws_smithy_http_client::tls::TrustStore;
use rustls::pki_types::CertificateDer;
use tracing::warn;

pub(crate) struct TrustRoots(Vec<CertificateDer<'static>>);

impl TrustRoots {
    pub(crate) fn load() -> Self {
        let found = rustls_native_certs::load_native_certs();
        for error in &found.errors {
            warn!(error = %error, "a trusted certificate could not be read");
        }
        // Both clients refuse to start on a root they cannot parse, so only
        // the usable ones are handed on.
        let (usable, unusable): (Vec<_>, Vec<_>) = found
            .certs
            .into_iter()
            .partition(|der| rustls::RootCertStore::empty().add(der.clone()).is_ok());
        if !unusable.is_empty() {
            warn!(
                count = unusable.len(),
                "trusted certificates skipped: not usable as roots"
            );
        }
        if usable.is_empty() {
            warn!("no trusted certificate found: every HTTPS call will be refused (set SSL_CERT_FILE)");
        }
        TrustRoots(usable)
    }

    /// The roots for the answers' `reqwest` client, which then trusts these
    /// only.
    pub(crate) fn for_reqwest(&self) -> impl Iterator<Item = reqwest::Certificate> + '_ {
        self.0.iter().filter_map(|der| reqwest::Certificate::from_der(der).ok())
    }

    /// The roots for the AWS SDK's client, which takes them as PEM.
    pub(crate) fn for_sdk(&self) -> TrustStore {
        let pem: String = self
            .0
            .iter()
            .map(|der| {
                format!(
                    "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
                    aws_smithy_types::base64::encode(der)
                )
            })
            .collect();
        TrustStore::empty().with_native_roots(false).with_pem_certificate(pem)
    }
}
