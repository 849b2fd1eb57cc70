//! Production is https on every side: SageMaker, Lambda (the hand-off) and
//! the ResponseURL. Here each is served with a throw-away CA, handed to the
//! function as an operator would (`SSL_CERT_FILE`, `AWS_CA_BUNDLE`); a side
//! whose certificate comes from a CA the function was not handed is refused
//! (verification stays on), and the request ends as that side's failure says.
//! Every harness checks its logs for secrets when dropped.

use std::time::{Duration, Instant};

use standins::{Deadline, TestCa};

use crate::harness::{Harness, IMAGE, Listens, any_port, props, version_arn};

/// The function's timeout: a build of twice this outlasts one invocation.
const TIMEOUT: Duration = Duration::from_secs(3);

/// What rustls says of a certificate whose issuer the function does not trust.
const UNTRUSTED: &str = "UnknownIssuer";

/// A side the function calls over https.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    SageMaker,
    Lambda,
    ResponseUrl,
}

/// A CA of its own for `test`, its PEM in the tests' scratch directory.
fn ca(test: &str, which: &str) -> TestCa {
    let dir = env!("CARGO_TARGET_TMPDIR");
    let path = format!("{dir}/contract-tls-{}-{test}-{which}.pem", std::process::id());
    TestCa::create(path).expect("cannot write the test CA")
}

/// Every side on https with the CA handed to the function, but `untrusted`,
/// served with a CA the function never sees.
async fn harness(test: &str, untrusted: Option<Side>) -> Harness {
    let (handed_over, withheld) = (ca(test, "handed-over"), ca(test, "withheld"));
    let listen = |side| {
        let ca = if untrusted == Some(side) {
            &withheld
        } else {
            &handed_over
        };
        ca.listen(any_port())
    };
    let listens = Listens {
        sagemaker: listen(Side::SageMaker),
        receiver: listen(Side::ResponseUrl),
        lambda: listen(Side::Lambda),
    };
    let env = handed_over.client_env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let h = Harness::start_on(listens, TIMEOUT, &env).await;
    // Each serves https only: whatever reaches it came over TLS.
    for endpoint in [h.sagemaker.endpoint(), h.receiver.endpoint(), h.lambda.endpoint()] {
        assert!(endpoint.starts_with("https://"), "{endpoint}");
    }
    h
}

#[tokio::test]
async fn over_https_with_the_ca_handed_over_a_build_outlasting_one_invocation_answers_success_once() {
    let h = harness("success", None).await;
    let (event, answer) = h.create_timed_ok(TIMEOUT * 2).await;
    answer.assert_well_formed(&event);
    assert_eq!(answer.physical_id(), version_arn(1));
    assert!(h.hand_offs() >= 1, "the build outlasted one invocation");
    assert_eq!(h.sagemaker.versions(IMAGE).len(), 1);
}

#[tokio::test]
async fn a_sagemaker_certificate_from_a_ca_withheld_is_refused_and_the_request_fails_at_once_naming_it() {
    let h = harness("sagemaker", Some(Side::SageMaker)).await;
    // No retry can make the certificate trusted: the request is neither
    // retried to its deadline nor handed on until `ServiceTimeout`.
    let answer = h
        .invoke_with(&h.create_event(props()), Deadline::In(Duration::from_secs(30)))
        .await;
    answer
        .assert_failed_with("SageMaker CreateImageVersion failed: CertificateRefused")
        .assert_failed_with(UNTRUSTED);
    assert!(!answer.reason().contains("timed out"), "{}", answer.reason());
    assert!(h.sagemaker.calls().is_empty(), "no request reached SageMaker");
    assert_eq!(h.hand_offs(), 0, "a refused certificate is not handed on");
}

#[tokio::test]
async fn a_lambda_certificate_from_a_ca_withheld_fails_the_hand_off_at_once_naming_it() {
    let h = harness("lambda", Some(Side::Lambda)).await;
    h.sagemaker
        .set_delays(Duration::from_secs(60), Duration::from_millis(200));
    let started = Instant::now();
    let answer = h.invoke_timed(&h.create_event(props())).await;
    answer
        .assert_failed_with("could not hand the request on")
        .assert_failed_with(UNTRUSTED);
    assert!(
        answer.put.at - started < TIMEOUT,
        "answered within the first invocation"
    );
    assert_eq!(answer.physical_id(), version_arn(1), "the rollback Delete removes it");
    assert!(h.lambda.invokes().is_empty(), "no request reached Lambda");
}

#[tokio::test]
async fn a_response_url_certificate_from_a_ca_withheld_gets_no_put_and_is_logged_without_the_query() {
    let h = harness("response-url", Some(Side::ResponseUrl)).await;
    let event = h.quick_delete_event();
    let outcome = h
        .invoke_raw(serde_json::to_vec(&event).unwrap(), Deadline::In(TIMEOUT))
        .await;
    assert!(outcome.is_response(), "Ok to Lambda: {outcome:?}");
    assert!(h.receiver.puts().is_empty(), "no PUT reached the receiver");
    let url = event["ResponseURL"].as_str().unwrap();
    let path = url[h.receiver.endpoint().len()..].split_once('?').unwrap().0;
    // The logged URL keeps its path and drops its query.
    let logged = format!("{path}?[redacted]");
    assert!(
        h.function
            .wait_for_log("answer not delivered", Duration::from_secs(5))
            .await,
        "{}",
        h.function.logs()
    );
    assert!(
        h.function.logs().contains(&logged),
        "no {logged:?} in:\n{}",
        h.function.logs()
    );
}
