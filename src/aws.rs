//! The configuration every AWS client is built from: `aws-config`'s default
//! chain (region, credentials, `AWS_ENDPOINT_URL_*`, retries) over one HTTPS
//! client that trusts the process's roots, loaded once at start-up; and what
//! a failed call of any AWS client tells.

use std::error::Error;
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{AppName, BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::{self, TlsContext, rustls_provider::CryptoMode};
// Every SDK's error types are smithy's, re-exported: these serve Lambda's too.
use aws_sdk_sagemaker::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::tls::TrustRoots;

/// A hung connection must not use up the whole Lambda budget: each attempt
/// is cut short and retried by the SDK, then by the lifecycle.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// The configuration of every AWS client of the process.
pub(crate) async fn load(roots: &TrustRoots) -> SdkConfig {
    let tls = TlsContext::builder()
        .with_trust_store(roots.for_sdk())
        .build()
        .expect("a trust store of parsed roots and no extra names is a valid TLS context");
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(tls)
        .build_https();
    aws_config::defaults(BehaviorVersion::latest())
        .app_name(
            AppName::new(concat!("sagemaker-image-version-", env!("CARGO_PKG_VERSION")))
                .expect("the crate's name and semver version are an app name's characters"),
        )
        .http_client(http)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .build(),
        )
        .load()
        .await
}

/// What a failed AWS call tells of itself, read from its error's kind and
/// metadata, never from its message text.
#[derive(Debug)]
pub(crate) enum CallFailure {
    /// The service answered with an error.
    Answered { code: String, message: String, status: u16 },
    /// The SDK could not build the request: nothing was sent.
    NotBuilt(String),
    /// The service's TLS certificate was refused: no retry changes that (the
    /// CA bundle the function trusts does not vouch for the endpoint).
    CertificateRefused(String),
    /// No answer came: a timeout or a broken connection.
    NoAnswer(String),
}

impl CallFailure {
    pub(crate) fn of<E>(err: &SdkError<E>) -> Self
    where
        E: ProvideErrorMetadata + Error + 'static,
    {
        let chain = || DisplayErrorContext(err).to_string();
        match err {
            SdkError::ServiceError(context) => CallFailure::Answered {
                code: context.err().code().unwrap_or("Unknown").to_owned(),
                message: context.err().message().unwrap_or("(no message)").to_owned(),
                status: context.raw().status().as_u16(),
            },
            SdkError::ConstructionFailure(_) => CallFailure::NotBuilt(chain()),
            _ if refuses_a_certificate(err) => CallFailure::CertificateRefused(chain()),
            _ => CallFailure::NoAnswer(chain()),
        }
    }

    /// The code a Reason names: the service's, or ours when it sent none.
    pub(crate) fn code(&self) -> &str {
        match self {
            CallFailure::Answered { code, .. } => code,
            CallFailure::NotBuilt(_) => "RequestNotBuilt",
            CallFailure::CertificateRefused(_) => "CertificateRefused",
            CallFailure::NoAnswer(_) => "NoResponse",
        }
    }

    pub(crate) fn message(&self) -> &str {
        match self {
            CallFailure::Answered { message, .. }
            | CallFailure::NotBuilt(message)
            | CallFailure::CertificateRefused(message)
            | CallFailure::NoAnswer(message) => message,
        }
    }
}

/// Whether rustls refused the peer's certificate somewhere down `err`'s
/// chain. An `io::Error` hides the error it wraps from `source()`, so it is
/// opened with `get_ref()` instead.
fn refuses_a_certificate(err: &(dyn Error + 'static)) -> bool {
    fn next<'a>(e: &&'a (dyn Error + 'static)) -> Option<&'a (dyn Error + 'static)> {
        let e: &'a (dyn Error + 'static) = *e;
        match e.downcast_ref::<std::io::Error>() {
            Some(io) => io.get_ref().map(|inner| inner as &(dyn Error + 'static)),
            None => e.source(),
        }
    }
    std::iter::successors(Some(err), next).any(|e| {
        matches!(
            e.downcast_ref::<rustls::Error>(),
            Some(rustls::Error::InvalidCertificate(_))
        )
    })
}

#[cfg(test)]
mod tests {
    use std::io;

    use aws_sdk_sagemaker::error::ConnectorError;
    use aws_sdk_sagemaker::operation::describe_image::DescribeImageError;

    use super::*;

    /// A dispatch failure as the SDK's connector reports `cause`: wrapped in
    /// an `io::Error` of its own, as hyper-rustls does.
    fn no_answer(cause: io::Error) -> CallFailure {
        let connector = ConnectorError::io(Box::new(io::Error::other(cause)));
        CallFailure::of(&SdkError::<DescribeImageError>::dispatch_failure(connector))
    }

    #[test]
    fn a_certificate_refused_by_rustls_is_told_from_a_broken_connection() {
        let refused = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let refused = no_answer(io::Error::new(io::ErrorKind::InvalidData, refused));
        assert!(matches!(refused, CallFailure::CertificateRefused(_)), "{refused:?}");
        assert!(refused.message().contains("UnknownIssuer"), "{refused:?}");
        let reset = no_answer(io::ErrorKind::ConnectionReset.into());
        assert!(matches!(reset, CallFailure::NoAnswer(_)), "{reset:?}");
        assert_eq!(reset.code(), "NoResponse");
    }
}
