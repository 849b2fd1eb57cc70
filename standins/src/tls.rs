//! TLS with a throw-away CA: production is https on every side, so the
//! stand-ins can serve https with a certificate for `127.0.0.1` and `localhost`
//! signed by a CA made for the run, whose PEM file the clients are told to trust.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::aws_lc_rs;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::server::Listen;

/// The names the server certificate holds: every way a local client reaches a stand-in.
const SERVER_NAMES: [&str; 2] = ["127.0.0.1", "localhost"];

/// The environment variables through which clients trust an extra CA file:
/// rustls-native-certs (so the AWS SDK for Rust and reqwest) and OpenSSL read
/// `SSL_CERT_FILE`, botocore and the AWS CLI `AWS_CA_BUNDLE`, Node `NODE_EXTRA_CA_CERTS`.
const CA_FILE_VARIABLES: [&str; 3] = ["SSL_CERT_FILE", "AWS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"];

/// A CA made for one run, and the server configuration of a certificate it signed.
#[derive(Clone)]
pub struct TestCa {
    pem_path: PathBuf,
    ca_pem: String,
    server: Arc<ServerConfig>,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa").field("pem_path", &self.pem_path).finish()
    }
}

impl TestCa {
    /// Makes a CA and a server certificate for `127.0.0.1` and `localhost`, and
    /// writes the CA certificate (PEM) to `pem_path`.
    pub fn create(pem_path: impl Into<PathBuf>) -> std::io::Result<TestCa> {
        let pem_path = pem_path.into();
        let (ca_pem, chain, key) = certificates().map_err(std::io::Error::other)?;
        let server = ServerConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, key))
            .map_err(std::io::Error::other)?;
        std::fs::write(&pem_path, &ca_pem)?;
        Ok(TestCa {
            pem_path,
            ca_pem,
            server: Arc::new(server),
        })
    }

    /// The CA certificate, PEM.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Listen on `addr` with https.
    pub fn listen(&self, addr: SocketAddr) -> Listen {
        Listen::https(addr, self.server.clone())
    }

    /// The environment that makes a client process trust this CA (and only it,
    /// for the clients reading `SSL_CERT_FILE`).
    pub fn client_env(&self) -> Vec<(String, String)> {
        let path = self.pem_path.display().to_string();
        CA_FILE_VARIABLES
            .iter()
            .map(|name| (name.to_string(), path.clone()))
            .collect()
    }
}

/// The CA's PEM, and the server certificate chain and key.
fn certificates() -> Result<(String, Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), rcgen::Error> {
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    // A name of its own: verifiers find a certificate's issuer by name.
    ca.distinguished_name.push(
        DnType::CommonName,
        format!("standins throw-away CA {}", crate::http::new_id()),
    );
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, ca_key);

    let mut server = CertificateParams::new(SERVER_NAMES.map(String::from).to_vec())?;
    server.distinguished_name.push(DnType::CommonName, SERVER_NAMES[0]);
    server.use_authority_key_identifier_extension = true;
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_key = KeyPair::generate()?;
    let server_cert = server.signed_by(&server_key, &issuer)?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    Ok((ca_cert.pem(), vec![server_cert.der().clone()], key))
}
