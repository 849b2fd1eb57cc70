//! Lambda's `Invoke` API in front of the Runtime API: what the function's SDK
//! gets, what reaches the function, and what the tests read back.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;
use standins::runtime_api::{AsyncSemantics, FUNCTION_ARN};
use standins::{LambdaApi, LambdaFault, Outcome, RuntimeApi};

use crate::client::*;

const FUNCTION: &str = "sagemaker-image-version";
const NEXT: &str = "/2018-06-01/runtime/invocation/next";

async fn lambda() -> LambdaApi {
    LambdaApi::start(&RuntimeApi::start().await).await
}

/// The stand-in, retrying a failed asynchronous invocation once, `delay` after.
async fn retrying_once_after(delay: Duration) -> LambdaApi {
    let lambda = lambda().await;
    lambda.runtime().set_async(AsyncSemantics {
        retry_delays: vec![delay],
        ..AsyncSemantics::default()
    });
    lambda
}

/// The request target of an invoke of `function` (percent-encoded as the SDKs do).
fn target(function: &str) -> String {
    format!("/2015-03-31/functions/{}/invocations", function.replace(':', "%3A"))
}

/// A signed invoke of `function`; `invocation_type` `None` sends no header.
async fn invoke(lambda: &LambdaApi, function: &str, invocation_type: Option<&str>, payload: &[u8]) -> RawResponse {
    let auth = auth_for("us-east-1", "lambda");
    let mut headers = vec![("Authorization", auth.as_str())];
    if let Some(t) = invocation_type {
        headers.push(("X-Amz-Invocation-Type", t));
    }
    request(
        &host_of(&lambda.endpoint()),
        "POST",
        &target(function),
        &headers,
        payload,
    )
    .await
}

/// Invokes from another task (a synchronous invoke waits for the function).
fn invoke_in_background(
    lambda: &LambdaApi,
    invocation_type: Option<&'static str>,
    payload: &'static [u8],
) -> tokio::task::JoinHandle<RawResponse> {
    let lambda = lambda.clone();
    tokio::spawn(async move { invoke(&lambda, FUNCTION, invocation_type, payload).await })
}

/// Plays the function: takes the next invocation from the Runtime API.
async fn next(lambda: &LambdaApi) -> RawResponse {
    let addr = lambda.runtime().address();
    tokio::time::timeout(Duration::from_secs(5), request(&addr, "GET", NEXT, &[], b""))
        .await
        .expect("an invocation is delivered")
}

/// Plays the function: answers `invocation` on its `kind` route (`response` or `error`).
async fn answer(lambda: &LambdaApi, invocation: &RawResponse, kind: &str, body: &[u8]) {
    let id = invocation.header("lambda-runtime-aws-request-id").unwrap();
    let path = format!("/2018-06-01/runtime/invocation/{id}/{kind}");
    let r = request(&lambda.runtime().address(), "POST", &path, &[], body).await;
    assert_eq!(r.status, 202);
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// Asserts Lambda's REST-JSON error and returns its message.
fn assert_lambda_error(r: &RawResponse, status: u16, code: &str) -> String {
    assert_eq!(r.status, status, "{}", r.text());
    assert_eq!(r.header("x-amzn-errortype"), Some(code));
    let body = r.json();
    assert_eq!(body["Type"], "User", "{body}");
    body["message"].as_str().unwrap().to_owned()
}

/// [`assert_lambda_error`] whose message holds `says`.
fn assert_lambda_error_saying(r: &RawResponse, status: u16, code: &str, says: &str) {
    let message = assert_lambda_error(r, status, code);
    assert!(message.contains(says), "{message}");
}

#[tokio::test]
async fn an_event_invoke_is_queued_with_the_function_timeout_and_answered_202_at_once() {
    let lambda = lambda().await.with_timeout(Duration::from_secs(7));
    let r = invoke(&lambda, FUNCTION, Some("Event"), br#"{"n":1}"#).await;
    assert_eq!(r.status, 202);
    assert!(r.body.is_empty());
    let id = r.header("x-amzn-requestid").unwrap().to_owned();
    let got = next(&lambda).await;
    assert_eq!(got.body, br#"{"n":1}"#);
    assert_eq!(got.header("lambda-runtime-aws-request-id"), Some(id.as_str()));
    let deadline: u64 = got.header("lambda-runtime-deadline-ms").unwrap().parse().unwrap();
    assert!(
        deadline > now_ms() + 6_000 && deadline <= now_ms() + 7_000,
        "{deadline}"
    );
    let invokes = lambda.invokes();
    assert_eq!(invokes.len(), 1);
    assert_eq!(invokes[0].function_name, FUNCTION);
    assert_eq!(invokes[0].invocation_type, "Event");
    assert_eq!(invokes[0].payload, br#"{"n":1}"#);
    assert_eq!(invokes[0].status, 202);
    assert_eq!(invokes[0].request_id.as_deref(), Some(id.as_str()));
}

#[tokio::test]
async fn the_function_is_told_the_arn_it_was_invoked_as_qualifier_included() {
    let lambda = lambda().await;
    let by_alias = format!("{FUNCTION_ARN}:live");
    for (called, told) in [(FUNCTION, FUNCTION_ARN), (by_alias.as_str(), by_alias.as_str())] {
        assert_eq!(invoke(&lambda, called, Some("Event"), b"{}").await.status, 202);
        let got = next(&lambda).await;
        assert_eq!(got.header("lambda-runtime-invoked-function-arn"), Some(told));
        answer(&lambda, &got, "response", b"null").await;
    }
}

#[tokio::test]
async fn a_request_response_invoke_answers_the_functions_response() {
    let lambda = lambda().await;
    let call = invoke_in_background(&lambda, None, b"{}");
    let got = next(&lambda).await;
    answer(&lambda, &got, "response", br#"{"ok":true}"#).await;
    let r = call.await.unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"ok": true}));
    assert_eq!(r.header("x-amz-function-error"), None);
    assert_eq!(
        r.header("x-amzn-requestid"),
        got.header("lambda-runtime-aws-request-id")
    );
    assert_eq!(lambda.invokes()[0].invocation_type, "RequestResponse");
}

#[tokio::test]
async fn a_function_error_answers_200_with_x_amz_function_error_and_the_error_as_received() {
    let lambda = lambda().await;
    let call = invoke_in_background(&lambda, Some("RequestResponse"), b"{}");
    let got = next(&lambda).await;
    let error = br#"{"errorType":"Oops","errorMessage":"bad"}"#;
    answer(&lambda, &got, "error", error).await;
    let r = call.await.unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-amz-function-error"), Some("Unhandled"));
    assert_eq!(r.body, error);
}

#[tokio::test]
async fn an_event_payload_over_256_kib_is_refused_with_413() {
    let lambda = lambda().await;
    let limit = vec![b'x'; 256 * 1024];
    assert_eq!(invoke(&lambda, FUNCTION, Some("Event"), &limit).await.status, 202);
    let over = vec![b'x'; 256 * 1024 + 1];
    let r = invoke(&lambda, FUNCTION, Some("Event"), &over).await;
    assert_lambda_error_saying(
        &r,
        413,
        "RequestEntityTooLargeException",
        "262145 byte payload is too large for the Event invocation type",
    );
    assert_eq!(
        lambda.runtime().invocations().len(),
        1,
        "the refused payload is not queued"
    );
    assert_eq!(lambda.invokes()[1].status, 413);
    assert_eq!(lambda.invokes()[1].request_id, None);
}

#[tokio::test]
async fn a_request_response_payload_over_6_mb_is_refused_with_413() {
    let lambda = lambda().await;
    let over = vec![b'x'; 6 * 1024 * 1024 + 1];
    let r = invoke(&lambda, FUNCTION, None, &over).await;
    assert_lambda_error_saying(&r, 413, "RequestEntityTooLargeException", "6291456 bytes");
    assert!(lambda.runtime().invocations().is_empty());
}

#[tokio::test]
async fn an_invoke_needs_a_sigv4_authorization_scoped_to_lambda() {
    let lambda = lambda().await;
    let addr = host_of(&lambda.endpoint());
    let r = request(
        &addr,
        "POST",
        &target(FUNCTION),
        &[("X-Amz-Invocation-Type", "Event")],
        b"{}",
    )
    .await;
    assert_lambda_error(&r, 403, "MissingAuthenticationTokenException");
    let other = auth_for("us-east-1", "sagemaker");
    let headers = [("X-Amz-Invocation-Type", "Event"), ("Authorization", other.as_str())];
    let r = request(&addr, "POST", &target(FUNCTION), &headers, b"{}").await;
    assert_lambda_error_saying(&r, 403, "MissingAuthenticationTokenException", "'lambda'");
    assert!(lambda.runtime().invocations().is_empty());
}

#[tokio::test]
async fn armed_faults_answer_the_next_invokes_403_then_429_as_lambda_does() {
    let lambda = lambda().await;
    lambda.fail_next(1, LambdaFault::AccessDenied);
    lambda.fail_next(2, LambdaFault::TooManyRequests);
    let r = invoke(&lambda, FUNCTION, Some("Event"), b"{}").await;
    assert_lambda_error_saying(&r, 403, "AccessDeniedException", "lambda:InvokeFunction");
    for _ in 0..2 {
        let r = invoke(&lambda, FUNCTION, Some("Event"), b"{}").await;
        assert_lambda_error(&r, 429, "TooManyRequestsException");
    }
    assert_eq!(invoke(&lambda, FUNCTION, Some("Event"), b"{}").await.status, 202);
    let statuses: Vec<u16> = lambda.invokes().iter().map(|i| i.status).collect();
    assert_eq!(statuses, [403, 429, 429, 202]);
    assert_eq!(lambda.runtime().invocations().len(), 1);
}

#[tokio::test]
async fn the_function_name_is_recorded_as_given_and_another_function_is_not_found() {
    let lambda = lambda().await;
    let arn = "arn:aws:lambda:us-east-1:123456789012:function:sagemaker-image-version:live";
    let auth = auth_for("us-east-1", "lambda");
    let headers = [("X-Amz-Invocation-Type", "Event"), ("Authorization", auth.as_str())];
    let with_qualifier = format!("{}?Qualifier=live", target(arn));
    let r = request(&host_of(&lambda.endpoint()), "POST", &with_qualifier, &headers, b"{}").await;
    assert_eq!(r.status, 202, "{}", r.text());
    let r = invoke(&lambda, "another-function", Some("Event"), b"{}").await;
    assert_lambda_error_saying(&r, 404, "ResourceNotFoundException", "function:another-function");
    let invokes = lambda.invokes();
    assert_eq!(invokes[0].function_name, arn);
    assert_eq!(invokes[0].qualifier.as_deref(), Some("live"));
    assert_eq!(invokes[1].function_name, "another-function");
    assert_eq!(lambda.runtime().invocations().len(), 1);
}

#[tokio::test]
async fn an_event_invoke_by_the_busy_function_queues_behind_it_and_runs_next() {
    let lambda = lambda().await;
    let first = invoke_in_background(&lambda, None, b"\"first\"");
    let got_first = next(&lambda).await;
    // The function, busy with the first invocation, hands work to itself.
    let r = tokio::time::timeout(
        Duration::from_secs(2),
        invoke(&lambda, FUNCTION, Some("Event"), b"\"second\""),
    )
    .await
    .expect("an Event invoke does not wait for the busy function");
    assert_eq!(r.status, 202);
    answer(&lambda, &got_first, "response", b"\"handed over\"").await;
    assert_eq!(first.await.unwrap().status, 200);
    assert!(!lambda.runtime().wait_idle(Duration::from_millis(100)).await);
    let got_second = next(&lambda).await;
    assert_eq!(got_second.body, b"\"second\"");
    answer(&lambda, &got_second, "response", b"\"done\"").await;
    assert!(lambda.runtime().wait_idle(Duration::from_secs(2)).await);
    let outcomes: Vec<Option<Outcome>> = lambda.runtime().invocations().into_iter().map(|i| i.outcome).collect();
    assert_eq!(
        outcomes,
        [
            Some(Outcome::Response(b"\"handed over\"".to_vec())),
            Some(Outcome::Response(b"\"done\"".to_vec()))
        ]
    );
}

#[tokio::test]
async fn the_admin_route_lists_the_invokes() {
    let lambda = lambda().await;
    lambda.fail_next(1, LambdaFault::TooManyRequests);
    invoke(&lambda, FUNCTION, Some("Event"), b"{\"a\":1}").await;
    invoke(&lambda, FUNCTION, Some("Event"), b"{\"a\":2}").await;
    let r = request(&host_of(&lambda.endpoint()), "GET", "/_lambda/invokes", &[], b"").await;
    assert_eq!(r.status, 200);
    let invokes = r.json();
    assert_eq!(invokes[0]["Status"], 429);
    assert_eq!(invokes[0]["RequestId"], json!(null));
    assert_eq!(invokes[1]["FunctionName"], FUNCTION);
    assert_eq!(invokes[1]["InvocationType"], "Event");
    assert_eq!(invokes[1]["Payload"], "{\"a\":2}");
    assert_eq!(invokes[1]["Status"], 202);
}

#[tokio::test]
async fn seeded_throttles_refuse_one_invoke_at_most_in_a_row_times_so_that_sdk_retries_get_through() {
    let lambda = lambda().await;
    lambda.throttle_randomly(5, 0.9, 2);
    // An SDK resends the same request: never a third 429 in a row for it.
    let mut statuses = Vec::new();
    for _ in 0..30 {
        statuses.push(invoke(&lambda, FUNCTION, Some("Event"), b"{\"same\":1}").await.status);
    }
    assert!(statuses.contains(&429) && statuses.contains(&202), "{statuses:?}");
    assert!(
        !statuses.windows(3).any(|w| w == [429, 429, 429]),
        "three throttles in a row: {statuses:?}"
    );
    let r = invoke(&lambda, FUNCTION, Some("Event"), b"{\"other\":1}").await;
    if r.status == 429 {
        assert_lambda_error(&r, 429, "TooManyRequestsException");
    }
    assert_eq!(
        lambda.throttled(),
        lambda.invokes().iter().filter(|i| i.status == 429).count()
    );
    lambda.throttle_randomly(5, 0.0, 2);
    let before = lambda.throttled();
    for _ in 0..10 {
        assert_eq!(invoke(&lambda, FUNCTION, Some("Event"), b"{}").await.status, 202);
    }
    assert_eq!(lambda.throttled(), before, "off again");
}

#[tokio::test]
async fn the_same_seed_throttles_the_same_invokes() {
    async fn statuses(seed: u64) -> Vec<u16> {
        let lambda = lambda().await;
        lambda.throttle_randomly(seed, 0.3, 2);
        let mut statuses = Vec::new();
        for i in 0..20 {
            statuses.push(
                invoke(&lambda, FUNCTION, Some("Event"), format!("{i}").as_bytes())
                    .await
                    .status,
            );
        }
        statuses
    }
    assert_eq!(statuses(9).await, statuses(9).await);
}

#[tokio::test]
async fn an_event_invoke_is_an_asynchronous_invocation_retried_after_a_function_error() {
    let lambda = retrying_once_after(Duration::from_millis(20)).await;
    let r = invoke(&lambda, FUNCTION, Some("Event"), b"\"work\"").await;
    assert_eq!(r.status, 202);
    let id = r.header("x-amzn-requestid").unwrap().to_owned();
    let first = next(&lambda).await;
    answer(&lambda, &first, "error", b"{\"errorType\":\"E\"}").await;
    let again = next(&lambda).await;
    assert_eq!(again.header("lambda-runtime-aws-request-id"), Some(id.as_str()));
    assert_eq!(again.body, b"\"work\"");
    answer(&lambda, &again, "response", b"\"done\"").await;
    assert!(lambda.runtime().wait_idle(Duration::from_secs(2)).await);
    assert_eq!(
        lambda.runtime().invocations()[0].outcome,
        Some(Outcome::Response(b"\"done\"".to_vec()))
    );
    let attempts: Vec<u32> = lambda.runtime().deliveries().iter().map(|d| d.attempt).collect();
    assert_eq!(attempts, [0, 1]);
}

#[tokio::test]
async fn a_request_response_invoke_is_not_retried() {
    let lambda = retrying_once_after(Duration::from_millis(10)).await;
    let call = invoke_in_background(&lambda, None, b"{}");
    let got = next(&lambda).await;
    answer(&lambda, &got, "error", b"{\"errorType\":\"E\"}").await;
    let r = call.await.unwrap();
    assert_eq!(r.header("x-amz-function-error"), Some("Unhandled"));
    assert!(lambda.runtime().wait_idle(Duration::from_millis(200)).await);
    assert_eq!(lambda.runtime().deliveries().len(), 1);
}
