//! The stand-ins over https, with a throw-away CA.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde_json::json;
use standins::{
    LambdaApi, ResponseReceiver, RuntimeApi, SageMakerStandIn, StandInConfig, StepFunctionsStandIn, TestCa,
};

use crate::client::*;

/// A CA whose PEM goes to a file of its own for this test.
fn test_ca(test: &str) -> TestCa {
    TestCa::create(pem_path(test)).unwrap()
}

fn pem_path(test: &str) -> PathBuf {
    std::env::temp_dir().join(format!("standins-ca-{}-{test}.pem", std::process::id()))
}

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// A response receiver on https with a CA of its own for `test`, its address,
/// and a PUT it accepts.
async fn https_receiver(test: &str) -> (TestCa, ResponseReceiver, String, Vec<u8>) {
    let ca = test_ca(test);
    let rx = ResponseReceiver::start_on(ca.listen(any_port())).await.unwrap();
    let addr = host_of(&rx.endpoint());
    let put = build_request("PUT", &addr, "/x/req", &[], b"{}");
    (ca, rx, addr, put)
}

#[tokio::test]
async fn every_stand_in_serves_https_when_started_with_the_test_ca() {
    let ca = test_ca("every");
    let tls = trusting(ca.ca_pem());
    let sm = SageMakerStandIn::start_on(ca.listen(any_port()), StandInConfig::default())
        .await
        .unwrap();
    sm.add_image("img");
    let rx = ResponseReceiver::start_on(ca.listen(any_port())).await.unwrap();
    let lambda = LambdaApi::start_on(ca.listen(any_port()), &RuntimeApi::start().await)
        .await
        .unwrap();
    let sfn = StepFunctionsStandIn::start_on(ca.listen(any_port())).await.unwrap();
    for endpoint in [sm.endpoint(), rx.endpoint(), lambda.endpoint(), sfn.endpoint()] {
        assert!(endpoint.starts_with("https://127.0.0.1:"), "{endpoint}");
    }

    let auth = auth_for("us-east-1", "sagemaker");
    let headers = [
        ("X-Amz-Target", "SageMaker.ListAliases"),
        ("Authorization", auth.as_str()),
    ];
    let body = serde_json::to_vec(&json!({"ImageName": "img"})).unwrap();
    let r = request_tls(&tls, &sm.endpoint(), "POST", "/", &headers, &body).await;
    assert_eq!(r.status, 200, "{}", r.text());

    let url = rx.response_url("req-tls");
    let target = url.strip_prefix(&rx.endpoint()).expect("an https URL on the receiver");
    let r = request_tls(&tls, &rx.endpoint(), "PUT", target, &[], b"{}").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(rx.accepted_count_for("req-tls"), 1);

    let auth = auth_for("us-east-1", "lambda");
    let headers = [("X-Amz-Invocation-Type", "Event"), ("Authorization", auth.as_str())];
    let invocations = "/2015-03-31/functions/sagemaker-image-version/invocations";
    let r = request_tls(&tls, &lambda.endpoint(), "POST", invocations, &headers, b"{}").await;
    assert_eq!(r.status, 202, "{}", r.text());

    let auth = auth_for("us-east-1", "states");
    let headers = [
        ("X-Amz-Target", "AWSStepFunctions.StartExecution"),
        ("Authorization", auth.as_str()),
    ];
    let body = br#"{"stateMachineArn":"arn:aws:states:us-east-1:123456789012:stateMachine:w"}"#;
    let r = request_tls(&tls, &sfn.endpoint(), "POST", "/", &headers, body).await;
    assert_eq!(r.status, 200, "{}", r.text());
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_ca_fails_the_handshake() {
    let (ca, rx, addr, raw) = https_receiver("untrusted").await;
    let another = test_ca("another");
    let refused = send_raw_tls(&trusting(another.ca_pem()), "127.0.0.1", &addr, &raw).await;
    let error = refused.expect_err("a certificate from an unknown CA is refused");
    assert!(error.to_string().contains("UnknownIssuer"), "{error}");
    // The server keeps serving the clients that trust it.
    let trusted = send_raw_tls(&trusting(ca.ca_pem()), "127.0.0.1", &addr, &raw).await;
    assert_eq!(parse_response(&trusted.unwrap()).status, 200);
    assert_eq!(rx.puts().len(), 1);
}

#[tokio::test]
async fn the_server_certificate_is_valid_for_localhost_too() {
    let (ca, _rx, addr, raw) = https_receiver("localhost").await;
    let answer = send_raw_tls(&trusting(ca.ca_pem()), "localhost", &addr, &raw).await;
    assert_eq!(parse_response(&answer.unwrap()).status, 200);
    let wrong_name = send_raw_tls(&trusting(ca.ca_pem()), "example.com", &addr, &raw).await;
    assert!(wrong_name.is_err(), "the certificate names only the local host");
}

#[test]
fn the_ca_pem_is_written_for_the_clients_client_env_names() {
    let path = pem_path("written");
    let ca = TestCa::create(&path).unwrap();
    let pem = std::fs::read_to_string(&path).unwrap();
    assert_eq!(pem, ca.ca_pem());
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    let path = path.display().to_string();
    let env = ca.client_env();
    for name in ["SSL_CERT_FILE", "AWS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"] {
        assert!(env.contains(&(name.to_owned(), path.clone())), "{name} in {env:?}");
    }
}
