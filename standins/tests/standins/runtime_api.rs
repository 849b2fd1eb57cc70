//! The Lambda Runtime API and the function process run against it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;
use standins::{Deadline, FunctionProcess, Outcome, RuntimeApi};

use crate::client::*;

const NEXT: &str = "/2018-06-01/runtime/invocation/next";

async fn next(api: &RuntimeApi) -> RawResponse {
    request(&api.address(), "GET", NEXT, &[], b"").await
}

/// Posts `body` to the invocation's `kind` (`response` or `error`) route.
async fn answer(api: &RuntimeApi, invocation: &RawResponse, kind: &str, body: &[u8]) -> RawResponse {
    let id = invocation.header("lambda-runtime-aws-request-id").unwrap();
    let path = format!("/2018-06-01/runtime/invocation/{id}/{kind}");
    request(&api.address(), "POST", &path, &[], body).await
}

/// Invokes `payload` from another task, as the test's caller would.
fn invoke(api: &RuntimeApi, payload: &'static [u8], deadline: Deadline) -> tokio::task::JoinHandle<Outcome> {
    let api = api.clone();
    tokio::spawn(async move { api.invoke(payload.to_vec(), deadline).await })
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

#[tokio::test]
async fn an_invocation_is_delivered_with_lambda_headers_and_completed_by_its_response() {
    let api = RuntimeApi::start().await;
    assert!(api.address().starts_with("127.0.0.1:"));
    assert_eq!(api.polls(), 0);
    assert!(api.first_poll_at().is_none());
    let invocation = {
        let api = api.clone();
        tokio::spawn(async move {
            api.invoke_json(&json!({"RequestType": "Create"}), Deadline::In(Duration::from_secs(30)))
                .await
        })
    };
    let got = next(&api).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.json(), json!({"RequestType": "Create"}));
    let deadline: u64 = got.header("lambda-runtime-deadline-ms").unwrap().parse().unwrap();
    assert!(
        deadline > now_ms() + 25_000 && deadline <= now_ms() + 30_000,
        "{deadline}"
    );
    assert_eq!(
        got.header("lambda-runtime-invoked-function-arn"),
        Some("arn:aws:lambda:us-east-1:123456789012:function:sagemaker-image-version")
    );
    assert!(got.header("lambda-runtime-trace-id").unwrap().starts_with("Root=1-"));
    assert_eq!(answer(&api, &got, "response", b"\"done\"").await.status, 202);
    let outcome = tokio::time::timeout(Duration::from_secs(2), invocation)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outcome, Outcome::Response(b"\"done\"".to_vec()));
    assert_eq!(api.polls(), 1);
    assert!(api.first_poll_at().is_some());
    let id = got.header("lambda-runtime-aws-request-id").unwrap();
    assert_eq!(api.invocations()[0].request_id, id);
}

#[tokio::test]
async fn an_invocation_answered_twice_is_refused_the_second_time() {
    let api = RuntimeApi::start().await;
    let _invocation = invoke(&api, b"x", Deadline::In(Duration::from_secs(5)));
    let got = next(&api).await;
    assert_eq!(answer(&api, &got, "response", b"1").await.status, 202);
    assert_eq!(answer(&api, &got, "response", b"again").await.status, 400);
}

#[tokio::test]
async fn invocations_are_delivered_in_order_to_a_poll_already_waiting() {
    let api = RuntimeApi::start().await;
    let poller = {
        let api = api.clone();
        tokio::spawn(async move { next(&api).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let first = invoke(&api, b"one", Deadline::In(Duration::from_secs(5)));
    tokio::time::sleep(Duration::from_millis(20)).await;
    let second = invoke(&api, b"two", Deadline::In(Duration::from_secs(5)));
    let got = tokio::time::timeout(Duration::from_secs(2), poller)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.body, b"one");
    answer(&api, &got, "response", b"1").await;
    assert_eq!(first.await.unwrap(), Outcome::Response(b"1".to_vec()));
    let got = next(&api).await;
    assert_eq!(got.body, b"two");
    answer(&api, &got, "response", b"2").await;
    assert_eq!(second.await.unwrap(), Outcome::Response(b"2".to_vec()));
    assert_eq!(api.polls(), 2);
}

#[tokio::test]
async fn a_fixed_deadline_is_handed_over_as_is() {
    let api = RuntimeApi::start().await;
    let _invocation = invoke(&api, b"x", Deadline::AtEpochMs(1));
    assert_eq!(next(&api).await.header("lambda-runtime-deadline-ms"), Some("1"));
}

#[tokio::test]
async fn an_error_post_completes_the_invocation_as_an_error() {
    let api = RuntimeApi::start().await;
    let invocation = invoke(&api, b"x", Deadline::In(Duration::from_secs(5)));
    let got = next(&api).await;
    let r = answer(&api, &got, "error", br#"{"errorType":"Oops","errorMessage":"bad"}"#).await;
    assert_eq!(r.status, 202);
    let outcome = invocation.await.unwrap();
    assert!(!outcome.is_response());
    assert_eq!(outcome.json().unwrap()["errorType"], "Oops");
}

#[tokio::test]
async fn init_errors_are_recorded() {
    let api = RuntimeApi::start().await;
    let body = b"{\"errorType\":\"Init\"}";
    let r = request(&api.address(), "POST", "/2018-06-01/runtime/init/error", &[], body).await;
    assert_eq!(r.status, 202);
    assert_eq!(api.init_errors(), vec!["{\"errorType\":\"Init\"}".to_string()]);
}

#[tokio::test]
async fn a_poll_abandoned_by_its_client_does_not_steal_the_next_invocation() {
    let api = RuntimeApi::start().await;
    let raw = build_request("GET", &api.address(), NEXT, &[], b"");
    // a client that gives up (like a killed function)
    let abandoned = tokio::time::timeout(Duration::from_millis(100), send_raw(&api.address(), &raw)).await;
    assert!(abandoned.is_err());
    tokio::time::sleep(Duration::from_millis(50)).await;
    let invocation = invoke(&api, b"x", Deadline::In(Duration::from_secs(5)));
    let got = tokio::time::timeout(Duration::from_secs(2), next(&api))
        .await
        .expect("the live poll gets it");
    assert_eq!(got.body, b"x");
    answer(&api, &got, "response", b"ok").await;
    assert!(invocation.await.unwrap().is_response());
}

#[tokio::test]
async fn function_process_gets_a_lambda_environment() {
    let api = RuntimeApi::start().await;
    let dir = std::env::temp_dir().join(format!("standins-fn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("fake-function.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho \"api=$AWS_LAMBDA_RUNTIME_API name=$AWS_LAMBDA_FUNCTION_NAME mem=$AWS_LAMBDA_FUNCTION_MEMORY_SIZE ver=$AWS_LAMBDA_FUNCTION_VERSION extra=$EXTRA leaked=${CARGO:-none} group=$AWS_LAMBDA_LOG_GROUP_NAME\"\necho to-stderr >&2\nexec sleep 30\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let f = FunctionProcess::spawn(&script, &api, &[("EXTRA".to_string(), "yes".to_string())]);
    assert!(f.pid() > 0);
    assert!(
        f.wait_for_log("to-stderr", Duration::from_secs(5)).await,
        "{}",
        f.logs()
    );
    assert!(f.wait_for_log("group=", Duration::from_secs(5)).await, "{}", f.logs());
    let logs = f.logs();
    assert!(logs.contains(&format!("api={}", api.address())), "{logs}");
    assert!(
        logs.contains("name=sagemaker-image-version mem=128 ver=$LATEST extra=yes leaked=none"),
        "{logs}"
    );
    assert!(logs.contains("group=/aws/lambda/sagemaker-image-version"), "{logs}");
    assert!(f.is_running());
    assert!(f.spawned_at().elapsed() < Duration::from_secs(10));
    f.kill();
    assert!(!f.is_running());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn each_invocation_keeps_its_outcome_and_wait_idle_waits_for_every_one() {
    let api = RuntimeApi::start().await;
    assert!(api.wait_idle(Duration::from_millis(10)).await, "nothing queued");
    let invocation = invoke(&api, b"x", Deadline::In(Duration::from_secs(5)));
    let got = next(&api).await;
    let queued = api.invocations();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].payload, b"x");
    assert_eq!(
        Some(queued[0].request_id.as_str()),
        got.header("lambda-runtime-aws-request-id")
    );
    assert_eq!(queued[0].outcome, None);
    assert!(!api.wait_idle(Duration::from_millis(50)).await, "one is running");
    answer(&api, &got, "error", b"{\"errorType\":\"E\"}").await;
    assert!(api.wait_idle(Duration::from_secs(2)).await);
    let outcome = Some(Outcome::Error(b"{\"errorType\":\"E\"}".to_vec()));
    assert_eq!(api.invocations()[0].outcome, outcome);
    assert_eq!(Some(invocation.await.unwrap()), outcome);
}
