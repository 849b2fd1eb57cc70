//! Sending the answer: a PUT to the pre-signed `ResponseURL`, the only way
//! anything reaches CloudFormation.
//!
//! The URL's query string is a write capability for the stack's answer: it
//! is never logged, and neither is any error text that could carry it.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use reqwest::header::CONTENT_TYPE;
use reqwest::{Client, Url, redirect};
use tokio::time::Instant;
use tracing::warn;

use crate::tls::TrustRoots;

/// Pre-signed S3 URLs are well under this; anything longer is not one.
const MAX_URL_BYTES: usize = 8192;
const MIN_ATTEMPTS: u32 = 3;
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
const BACKOFF_BASE: Duration = Duration::from_millis(200);
const BACKOFF_CAP: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum UrlError {
    #[error("the event has no ResponseURL")]
    Missing,
    #[error("the ResponseURL is {0} bytes long, more than {MAX_URL_BYTES}")]
    TooLong(usize),
    #[error("the ResponseURL is not a valid URL")]
    Invalid,
    #[error(
        "the ResponseURL must be https (http only to a loopback address with CFN_ALLOW_LOOPBACK_RESPONSE_URL=true): {0}"
    )]
    NotHttps(Redacted),
    #[error("the ResponseURL must not carry user credentials: {0}")]
    UserInfo(Redacted),
    #[error("the ResponseURL points at the Lambda Runtime API: {0}")]
    RuntimeApi(Redacted),
    #[error("the ResponseURL would not be sent byte for byte: {0}")]
    NotVerbatim(Redacted),
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum SendError {
    #[error("the response bucket refused the answer with HTTP {status} (not retried) at {url}")]
    Refused { status: u16, url: Redacted },
    #[error("the answer could not be delivered to {url} after {attempts} attempts: {last}")]
    GaveUp { attempts: u32, url: Redacted, last: String },
}

/// A URL shown without its query string: safe to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Redacted(String);

impl fmt::Display for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A `ResponseURL` that passed the checks, ready to PUT to.
#[derive(Clone)]
pub(crate) struct ResponseUrl {
    url: Url,
}

impl ResponseUrl {
    pub(crate) fn redacted(&self) -> Redacted {
        redact(&self.url)
    }
}

impl fmt::Debug for ResponseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResponseUrl({})", self.redacted())
    }
}

fn redact(url: &Url) -> Redacted {
    let query = if url.query().is_some() { "?[redacted]" } else { "" };
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    Redacted(format!(
        "{}://{}{port}{}{query}",
        url.scheme(),
        url.host_str().unwrap_or(""),
        url.path()
    ))
}

/// Sends answers; one per process, so that its connections are reused.
pub(crate) struct ResponseSender {
    client: Client,
    allow_loopback_http: bool,
    runtime_api: Option<String>,
}

impl ResponseSender {
    /// `allow_loopback_http` is `CFN_ALLOW_LOOPBACK_RESPONSE_URL=true` (local
    /// runs); `runtime_api` is `AWS_LAMBDA_RUNTIME_API`, never a valid target.
    pub(crate) fn new(roots: &TrustRoots, allow_loopback_http: bool, runtime_api: Option<String>) -> Self {
        let client = Client::builder()
            .tls_certs_only(roots.for_reqwest())
            .redirect(redirect::Policy::none())
            .connect_timeout(Duration::from_secs(3))
            .http1_only()
            .build()
            .expect("roots that parsed and a static TLS configuration make a client");
        ResponseSender {
            client,
            allow_loopback_http,
            runtime_api,
        }
    }

    /// Checks a `ResponseURL` before anything is sent to it.
    pub(crate) fn check(&self, raw: Option<&str>) -> Result<ResponseUrl, UrlError> {
        let raw = raw.ok_or(UrlError::Missing)?;
        if raw.len() > MAX_URL_BYTES {
            return Err(UrlError::TooLong(raw.len()));
        }
        let url = Url::parse(raw).map_err(|_| UrlError::Invalid)?;
        let redacted = redact(&url);
        if !url.username().is_empty() || url.password().is_some() {
            return Err(UrlError::UserInfo(redacted));
        }
        let loopback = match url.host() {
            Some(url::Host::Domain(host)) => host.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
            None => return Err(UrlError::Invalid),
        };
        match url.scheme() {
            "https" => {}
            "http" if loopback && self.allow_loopback_http => {}
            _ => return Err(UrlError::NotHttps(redacted)),
        }
        let authority = format!(
            "{}:{}",
            url.host_str().unwrap_or(""),
            url.port_or_known_default().unwrap_or(0)
        );
        if loopback
            && self
                .runtime_api
                .as_deref()
                .is_some_and(|api| same_authority(api, &authority))
        {
            return Err(UrlError::RuntimeApi(redacted));
        }
        // The signature covers the path as CloudFormation encoded it.
        let sent = &url[url::Position::BeforePath..];
        if !raw.ends_with(sent) {
            return Err(UrlError::NotVerbatim(redacted));
        }
        Ok(ResponseUrl { url })
    }

    /// PUTs `body`: connection errors, timeouts and 5xx are retried with
    /// backoff (at least three tries, while `until` allows), 4xx are not.
    pub(crate) async fn send(&self, url: &ResponseUrl, body: Vec<u8>, until: Instant) -> Result<u16, SendError> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let left = until.saturating_duration_since(Instant::now());
            let last = match self
                .client
                .put(url.url.clone())
                .header(CONTENT_TYPE, "")
                .body(body.clone())
                .timeout(attempt_timeout(left, attempts))
                .send()
                .await
            {
                Ok(response) if response.status().is_success() => return Ok(response.status().as_u16()),
                Ok(response) if !response.status().is_server_error() => {
                    return Err(SendError::Refused {
                        status: response.status().as_u16(),
                        url: url.redacted(),
                    });
                }
                Ok(response) => format!("HTTP {}", response.status().as_u16()),
                // Without the URL: reqwest's message would carry the query.
                Err(e) => e.without_url().to_string(),
            };
            let backoff = BACKOFF_BASE.saturating_mul(1 << attempts.min(8)).min(BACKOFF_CAP);
            let out_of_time = Instant::now() + backoff >= until;
            if out_of_time && attempts >= MIN_ATTEMPTS {
                return Err(SendError::GaveUp {
                    attempts,
                    url: url.redacted(),
                    last,
                });
            }
            warn!(attempt = attempts, error = %last, url = %url.redacted(), "answer not delivered, retrying");
            // Past the deadline, the guaranteed tries go out without delay.
            if !out_of_time {
                tokio::time::sleep(backoff.mul_f64(0.5 + fastrand::f64() / 2.0)).await;
            }
        }
    }
}

/// A share of the time left, so that one hung attempt cannot leave the
/// guaranteed tries only an instant each.
fn attempt_timeout(left: Duration, attempt: u32) -> Duration {
    let tries_left = (MIN_ATTEMPTS + 1).saturating_sub(attempt).max(1);
    (left / tries_left).min(ATTEMPT_TIMEOUT).max(Duration::from_millis(100))
}

fn same_authority(runtime_api: &str, authority: &str) -> bool {
    let normalize = |a: &str| a.to_ascii_lowercase().replace("localhost", "127.0.0.1");
    normalize(runtime_api) == normalize(authority)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sender(allow: bool) -> ResponseSender {
        ResponseSender::new(&TrustRoots::load(), allow, Some("127.0.0.1:9001".into()))
    }

    const S3: &str = "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/\
        arn%3Aaws%3Acloudformation%3Aus-east-1%3A1%3Astack/s/1%7CRes%7Cr?X-Amz-Signature=secret";

    #[test]
    fn https_urls_are_kept_byte_for_byte() {
        let url = sender(false).check(Some(S3)).unwrap();
        assert_eq!(url.url.as_str(), S3);
    }

    #[test]
    fn plain_http_needs_loopback_and_the_opt_in() {
        let local = "http://127.0.0.1:9002/r?X-Amz-Signature=secret";
        assert!(matches!(sender(false).check(Some(local)), Err(UrlError::NotHttps(_))));
        assert!(sender(true).check(Some(local)).is_ok());
        let remote = "http://example.com/r?X-Amz-Signature=secret";
        assert!(matches!(sender(true).check(Some(remote)), Err(UrlError::NotHttps(_))));
    }

    #[test]
    fn hostile_urls_are_refused_and_errors_hide_the_query() {
        let cases = [
            "https://user:pw@example.com/r?X-Amz-Signature=secret".to_owned(),
            "http://127.0.0.1:9001/2018-06-01/runtime/invocation/x/response?X-Amz-Signature=secret".to_owned(),
            format!("https://example.com/{}?X-Amz-Signature=secret", "a".repeat(100_000)),
            "ftp://example.com/r?X-Amz-Signature=secret".to_owned(),
        ];
        for raw in cases {
            let err = sender(true).check(Some(&raw)).unwrap_err().to_string();
            assert!(!err.contains("secret"), "{err}");
        }
    }

    #[test]
    fn each_guaranteed_try_gets_a_share_of_the_time_left() {
        let left = Duration::from_secs(6);
        assert_eq!(attempt_timeout(left, 1), Duration::from_secs(2));
        assert_eq!(attempt_timeout(left, 2), Duration::from_secs(3));
        assert_eq!(attempt_timeout(left, 3), left);
        assert_eq!(attempt_timeout(Duration::from_secs(60), 1), ATTEMPT_TIMEOUT);
    }

    #[test]
    fn redacted_urls_have_no_query() {
        let url = sender(false).check(Some(S3)).unwrap();
        let shown = url.redacted().to_string();
        assert!(!shown.contains("secret") && shown.ends_with("?[redacted]"), "{shown}");
    }

    #[test]
    fn redacted_urls_keep_scheme_host_and_port() {
        let url = sender(true)
            .check(Some("http://127.0.0.1:9002/bucket/key?X-Amz-Signature=secret"))
            .unwrap();
        assert_eq!(
            url.redacted().to_string(),
            "http://127.0.0.1:9002/bucket/key?[redacted]"
        );
    }
}
