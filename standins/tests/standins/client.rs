//! A tiny raw HTTP/1.1 client (one request per connection), so that the tests
//! send exactly the bytes they mean to, and the SageMaker calls built on it.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::crypto::aws_lc_rs;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// `http://127.0.0.1:PORT` (or `https://`) → `127.0.0.1:PORT`
pub fn host_of(endpoint: &str) -> String {
    endpoint
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .split('/')
        .next()
        .unwrap()
        .to_string()
}

/// Writes `raw` and reads until the server closes; `Ok(bytes)`.
pub async fn send_raw(addr: &str, raw: &[u8]) -> std::io::Result<Vec<u8>> {
    exchange_on(TcpStream::connect(addr).await?, raw).await
}

async fn exchange_on(mut stream: impl AsyncRead + AsyncWrite + Unpin, raw: &[u8]) -> std::io::Result<Vec<u8>> {
    stream.write_all(raw).await?;
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await?;
    Ok(out)
}

/// A TLS client configuration that trusts the CA certificate `ca_pem` and nothing else.
pub fn trusting(ca_pem: &str) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap())
        .unwrap();
    let config = ClientConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// [`send_raw`] over TLS, checking the server's certificate for `server_name`.
pub async fn send_raw_tls(
    tls: &Arc<ClientConfig>,
    server_name: &str,
    addr: &str,
    raw: &[u8],
) -> std::io::Result<Vec<u8>> {
    let name = ServerName::try_from(server_name.to_owned()).map_err(std::io::Error::other)?;
    let stream = TcpStream::connect(addr).await?;
    let stream = TlsConnector::from(tls.clone()).connect(name, stream).await?;
    exchange_on(stream, raw).await
}

/// [`request`] over TLS to `endpoint` (`https://HOST:PORT`).
pub async fn request_tls(
    tls: &Arc<ClientConfig>,
    endpoint: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> RawResponse {
    let addr = host_of(endpoint);
    let host = addr.rsplit_once(':').unwrap().0;
    let raw = build_request(method, &addr, target, headers, body);
    let bytes = tokio::time::timeout(Duration::from_secs(10), send_raw_tls(tls, host, &addr, &raw))
        .await
        .expect("request timed out")
        .expect("request failed");
    parse_response(&bytes)
}

pub fn parse_response(bytes: &[u8]) -> RawResponse {
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(bytes)));
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status: u16 = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = bytes[split + 4..].to_vec();
    if let Some((_, len)) = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("content-length")) {
        body.truncate(len.parse().unwrap());
    }
    RawResponse { status, headers, body }
}

pub fn build_request(method: &str, host: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut raw = format!("{method} {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    let chunked = headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("transfer-encoding"));
    let no_length = headers.iter().any(|(k, _)| *k == "x-no-content-length");
    for (k, v) in headers {
        if *k != "x-no-content-length" {
            raw.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    if !chunked && !no_length {
        raw.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    raw.push_str("\r\n");
    let mut raw = raw.into_bytes();
    if chunked {
        if !body.is_empty() {
            raw.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
            raw.extend_from_slice(body);
            raw.extend_from_slice(b"\r\n");
        }
        raw.extend_from_slice(b"0\r\n\r\n");
    } else {
        raw.extend_from_slice(body);
    }
    raw
}

/// Sends `raw` and parses the answer (10 s at most).
async fn exchange(addr: &str, raw: &[u8]) -> RawResponse {
    let bytes = tokio::time::timeout(Duration::from_secs(10), send_raw(addr, raw))
        .await
        .expect("request timed out")
        .expect("request failed");
    parse_response(&bytes)
}

/// One request; `target` is the request target (path and query, sent verbatim).
pub async fn request(addr: &str, method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> RawResponse {
    exchange(addr, &build_request(method, addr, target, headers, body)).await
}

pub fn auth_for(region: &str, service: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=AKIDSTANDIN/20261127/{region}/{service}/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    )
}

pub fn sagemaker_request(addr: &str, region: &str, op: &str, body: &Value) -> Vec<u8> {
    let auth = auth_for(region, "sagemaker");
    let target = format!("SageMaker.{op}");
    build_request(
        "POST",
        addr,
        "/",
        &[
            ("Content-Type", "application/x-amz-json-1.1"),
            ("X-Amz-Target", &target),
            ("X-Amz-Date", "20261127T000000Z"),
            ("Authorization", &auth),
        ],
        serde_json::to_vec(body).unwrap().as_slice(),
    )
}

/// A signed SageMaker call in `us-east-1`.
pub async fn call(endpoint: &str, op: &str, body: Value) -> RawResponse {
    call_in(endpoint, "us-east-1", op, body).await
}

/// A signed SageMaker call in `region`.
pub async fn call_in(endpoint: &str, region: &str, op: &str, body: Value) -> RawResponse {
    let addr = host_of(endpoint);
    exchange(&addr, &sagemaker_request(&addr, region, op, &body)).await
}

/// Asserts an AWS JSON error and returns its message.
pub fn assert_error(resp: &RawResponse, status: u16, code: &str) -> String {
    assert_eq!(resp.status, status, "body: {}", resp.text());
    let body = resp.json();
    assert_eq!(body["__type"], code, "body: {body}");
    assert_eq!(resp.header("x-amzn-errortype"), Some(code));
    assert_eq!(resp.header("content-type"), Some("application/x-amz-json-1.1"));
    body["message"].as_str().unwrap().to_string()
}

pub fn assert_ok(resp: &RawResponse) -> Value {
    assert_eq!(resp.status, 200, "body: {}", resp.text());
    assert_eq!(resp.header("content-type"), Some("application/x-amz-json-1.1"));
    resp.json()
}
