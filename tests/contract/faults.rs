//! Fault matrix: every SageMaker operation the handler calls × every fault the
//! stand-in can inject, and the faults of the response bucket.
//!
//! Documented outcomes (README, "Reliability"):
//! - throttling, HTTP 500 and a reset connection, injected into the next two
//!   calls of an operation, are retried inside the deadline: the request
//!   succeeds, with one version and one answer;
//! - a call that hangs for longer than the deadline allows ends in one FAILED
//!   answer, "timed out ...", sent before the Lambda deadline (the SDK's 10 s
//!   attempt timeout is longer than the 7 s the test gives);
//! - a call that hangs for less than the time left is cut by the 10 s attempt
//!   timeout and retried to success;
//! - the answer's PUT: 500 is retried, 403 is not, a hung PUT is cut and
//!   retried within the deadline, a refused connection still returns `Ok` to
//!   Lambda and logs an error without the URL's query, a redirect is not
//!   followed.
//!
//! The matrix's operations are checked against the `client.<op>()` calls in
//! src/ (see least_privilege), so that a new call cannot go untested.
//!
//! `AWS_MAX_ATTEMPTS=1` turns the SDK's own retries off, so that every retry
//! seen here is the lifecycle's.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use standins::{Deadline, Fault};

use crate::answer::Answer;
use crate::harness::{Harness, IMAGE, props, version_arn, with};
use crate::least_privilege::called_sagemaker_operations;

/// The deadline of the cells where a call hangs: shorter than the SDK's
/// attempt timeout (10 s), so only the handler's deadline can end the request.
const SHORT: Duration = Duration::from_secs(7);

/// How many times a transient fault is injected before the call succeeds.
const TRANSIENT_COUNT: u32 = 2;

async fn harness() -> Harness {
    Harness::start_with(&[("AWS_MAX_ATTEMPTS", "1")]).await
}

/// Aliases make the Create path call `ListAliases` too.
fn create_props() -> serde_json::Value {
    with(props(), json!({ "Aliases": ["stable"], "ReleaseNotes": "one" }))
}

/// Runs the request whose path calls `op`, with `fault` injected `count`
/// times into `op` only once the setup is done; returns the answer, when the
/// request started, and the physical id a FAILED answer must carry.
async fn run_cell(h: &Harness, op: &str, fault: Fault, count: u32, deadline: Deadline) -> (Answer, Instant, String) {
    let (event, kept_id) = match op {
        "CreateImageVersion" | "DescribeImageVersion" | "ListAliases" => (h.create_event(create_props()), None),
        "UpdateImageVersion" => {
            let id = h.create_ok(create_props()).await.physical_id().to_owned();
            let changed = with(create_props(), json!({ "ReleaseNotes": "two" }));
            (h.update_event(&id, changed, create_props()), Some(id))
        }
        "DeleteImageVersion" => {
            let id = h.create_ok(create_props()).await.physical_id().to_owned();
            (h.delete_event(&id, create_props()), Some(id))
        }
        other => panic!("no scenario for {other}"),
    };
    h.sagemaker.clear_calls();
    h.sagemaker.inject(Some(op), fault, count);
    let started = Instant::now();
    let answer = h.invoke_with(&event, deadline).await;
    let expected_failed_id = kept_id.unwrap_or_default();
    (answer, started, expected_failed_id)
}

/// A transient fault: retried until the call goes through.
async fn transient_cell(op: &str, fault: Fault) {
    let h = harness().await;
    let (answer, _, _) = run_cell(&h, op, fault, TRANSIENT_COUNT, Deadline::In(Duration::from_secs(60))).await;
    answer.assert_success();
    let faulted = h.sagemaker.calls_of(op).iter().filter(|c| c.fault.is_some()).count();
    assert_eq!(faulted, TRANSIENT_COUNT as usize, "every injected fault was hit");
    assert!(
        h.sagemaker.calls_of(op).len() > TRANSIENT_COUNT as usize,
        "{op} was retried past its faults"
    );
    assert_eq!(h.sagemaker.pending_faults(), 0);
    let request_id = answer.body["RequestId"].as_str().unwrap();
    for create in h.sagemaker.calls_of("CreateImageVersion") {
        assert_eq!(
            create.body["ClientToken"], request_id,
            "a retried create keeps its ClientToken"
        );
    }
    match op {
        "DeleteImageVersion" => assert!(h.sagemaker.versions(IMAGE).is_empty(), "the version is gone"),
        "UpdateImageVersion" => {
            assert_eq!(answer.physical_id(), version_arn(1));
            let version = h.sagemaker.version(IMAGE, 1).expect("version 1");
            assert_eq!(version.release_notes.as_deref(), Some("two"));
        }
        _ => {
            assert_eq!(answer.physical_id(), version_arn(1));
            let versions = h.sagemaker.versions(IMAGE);
            assert_eq!(versions.len(), 1, "retries create one version: {versions:?}");
            assert_eq!(versions[0].aliases, vec!["stable".to_owned()]);
        }
    }
    assert_one_put(&h, request_id).await;
}

/// A hang longer than the deadline: one FAILED "timed out" answer before it.
/// Without hand-offs: a hang while polling counts as waiting on SageMaker,
/// and would go on in a new invocation (`hand_off::`).
async fn hang_cell(op: &str) {
    let h = Harness::start_with(&[("AWS_MAX_ATTEMPTS", "1"), ("CFN_HAND_OFF", "false")]).await;
    let (answer, started, kept_id) = run_cell(&h, op, Fault::Hang, 1, Deadline::In(SHORT)).await;
    answer.assert_failed_with("timed out");
    let took = answer.put.at.duration_since(started);
    assert!(took < SHORT, "answered {took:?} after the start, deadline {SHORT:?}");
    assert!(
        took > SHORT - Duration::from_secs(3),
        "the answer came at the work deadline, not at once: {took:?}"
    );
    assert!(
        answer.reason().contains("raise the function's Timeout"),
        "{}",
        answer.reason()
    );
    assert!(
        answer.reason().contains(op),
        "the Reason names the call that hung: {}",
        answer.reason()
    );
    match op {
        // The version exists once CreateImageVersion answered: the rollback
        // Delete must get its ARN.
        "DescribeImageVersion" => {
            assert_eq!(answer.physical_id(), version_arn(1));
            assert!(answer.reason().contains(&version_arn(1)), "{}", answer.reason());
            assert!(answer.reason().contains("waiting for the version to be CREATED"));
        }
        "ListAliases" => {
            assert_eq!(answer.physical_id(), version_arn(1), "aliases follow once CREATED");
        }
        // A create cut short may have made the version: asked again under
        // its token, it is named, so that the rollback Delete removes it.
        "CreateImageVersion" => {
            assert_eq!(answer.physical_id(), version_arn(1));
            let creates = h.sagemaker.calls_of(op);
            assert!(creates.windows(2).all(|w| w[0].body == w[1].body), "{creates:?}");
        }
        _ => assert_eq!(answer.physical_id(), kept_id),
    }
    assert_one_put(&h, answer.body["RequestId"].as_str().unwrap()).await;
}

/// Exactly one PUT, even a while after the answer.
async fn assert_one_put(h: &Harness, request_id: &str) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(h.receiver.count_for(request_id), 1, "one PUT: {:?}", h.receiver.puts());
}

macro_rules! fault_matrix {
    ($($op_name:ident => $op:literal;)*) => {
        /// The operations of the matrix.
        const OPERATIONS: &[&str] = &[$($op),*];

        $(
            mod $op_name {
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn throttle_is_retried_to_success() {
                    transient_cell($op, Fault::Throttle).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn http_500_is_retried_to_success() {
                    transient_cell($op, Fault::ServerError).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn reset_connection_is_retried_to_success() {
                    transient_cell($op, Fault::Reset).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn hang_past_the_deadline_answers_failed_in_time() {
                    hang_cell($op).await;
                }
            }
        )*
    };
}

fault_matrix! {
    create_image_version => "CreateImageVersion";
    describe_image_version => "DescribeImageVersion";
    update_image_version => "UpdateImageVersion";
    delete_image_version => "DeleteImageVersion";
    list_aliases => "ListAliases";
}

#[test]
fn the_matrix_covers_every_operation_the_code_calls() {
    let matrix: BTreeSet<String> = OPERATIONS.iter().map(|op| op.to_string()).collect();
    assert_eq!(matrix, called_sagemaker_operations());
}

/// A hang shorter than the time left: the SDK's 10 s attempt timeout cuts the
/// call and the retry succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hang_shorter_than_the_deadline_is_cut_and_retried() {
    let h = harness().await;
    let (answer, started, _) = run_cell(
        &h,
        "CreateImageVersion",
        Fault::Hang,
        1,
        Deadline::In(Duration::from_secs(30)),
    )
    .await;
    answer.assert_success();
    assert_eq!(answer.physical_id(), version_arn(1));
    let took = answer.put.at.duration_since(started);
    assert!(
        (Duration::from_secs(9)..Duration::from_secs(20)).contains(&took),
        "cut by the 10 s attempt timeout: {took:?}"
    );
    assert_eq!(h.sagemaker.versions(IMAGE).len(), 1);
}

// --- The response bucket ---

/// Sends `event`, whose answer the bucket will not take: the function still
/// returns Ok to Lambda and logs the failure. Then waits a little longer, for
/// any retry it would wrongly make to show.
async fn send_undelivered(h: &Harness, event: &Value) {
    let outcome = h.send(event).await;
    assert!(outcome.is_response(), "returns Ok to Lambda: {outcome:?}");
    assert!(
        h.function
            .wait_for_log("answer not delivered", Duration::from_secs(2))
            .await
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5xx_from_the_response_url_is_retried_until_accepted() {
    let h = Harness::start().await;
    h.receiver.fail_next(1, 500);
    let event = h.quick_delete_event();
    let answer = h.invoke(&event).await;
    answer.assert_success();
    answer.assert_well_formed(&event);
    let id = event["RequestId"].as_str().unwrap();
    let puts: Vec<_> = h.receiver.puts().into_iter().filter(|p| p.is_for(id)).collect();
    let statuses: Vec<u16> = puts.iter().map(|p| p.status).collect();
    assert_eq!(statuses, [500, 200], "two attempts, one accepted");
    assert_eq!(puts[0].body, answer.put.body, "the same answer is sent again");
    assert!(h.function.logs().contains("answer not delivered, retrying"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_4xx_from_the_response_url_is_not_retried_and_is_logged() {
    let h = Harness::start().await;
    h.receiver.fail_next(1, 403);
    let event = h.quick_delete_event();
    send_undelivered(&h, &event).await;
    let id = event["RequestId"].as_str().unwrap();
    assert_eq!(h.receiver.count_for(id), 1, "a 4xx is not retried");
    assert_eq!(h.receiver.accepted_count_for(id), 0);
    let logs = h.function.logs();
    assert!(logs.contains("refused the answer with HTTP 403"), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_response_url_attempt_is_cut_short_and_retried_before_the_deadline() {
    let h = Harness::start().await;
    h.receiver.hang_next(1);
    h.runtime
        .wait_first_poll(Duration::from_secs(10))
        .await
        .expect("the function polls");
    let event = h.quick_delete_event();
    let deadline = Duration::from_secs(6);
    let started = Instant::now();
    let answer = h.invoke_with(&event, Deadline::In(deadline)).await;
    answer.assert_success();
    let took = answer.put.at.duration_since(started);
    assert!(took < deadline, "accepted {took:?} after a {deadline:?} deadline");
    let id = event["RequestId"].as_str().unwrap();
    let statuses: Vec<u16> = h
        .receiver
        .puts()
        .iter()
        .filter(|p| p.is_for(id))
        .map(|p| p.status)
        .collect();
    assert_eq!(statuses, [0, 200], "the hung attempt, then the accepted one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_still_returns_ok_and_logs_no_query() {
    let h = Harness::start().await;
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let secret = "refusedconnectionsignature0123456789";
    let mut event = h.quick_delete_event();
    event["ResponseURL"] = json!(format!(
        "http://127.0.0.1:{closed_port}/bucket/key?X-Amz-Date=20261127T000000Z&X-Amz-Signature={secret}"
    ));
    let started = Instant::now();
    let outcome = h
        .invoke_raw(
            serde_json::to_vec(&event).unwrap(),
            Deadline::In(Duration::from_secs(4)),
        )
        .await;
    assert!(outcome.is_response(), "returns Ok to Lambda: {outcome:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "gave up at the deadline");
    let logs = h.function.logs();
    assert!(logs.contains("answer not delivered"), "{logs}");
    assert!(
        logs.matches("answer not delivered, retrying").count() >= 2,
        "at least three tries: {logs}"
    );
    let shown = format!("http://127.0.0.1:{closed_port}/bucket/key?[redacted]");
    assert!(logs.contains(&shown), "scheme, host and port are kept: {logs}");
    assert!(!logs.contains(secret) && !logs.contains("X-Amz-Date"), "{logs}");
}

/// A bucket that answers every request with a redirect to the receiver.
async fn redirecting_bucket(to: String) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let requests = Arc::new(AtomicUsize::new(0));
    let seen = requests.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            let mut buffer = vec![0; 64 * 1024];
            let _ = stream.read(&mut buffer).await;
            let reply = format!(
                "HTTP/1.1 307 Temporary Redirect\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            let _ = stream.write_all(reply.as_bytes()).await;
        }
    });
    (
        format!("http://{address}/bucket/answer?X-Amz-Signature=redirected"),
        requests,
    )
}

#[tokio::test]
async fn a_redirect_from_the_response_url_is_not_followed() {
    let h = Harness::start().await;
    let mut event = h.quick_delete_event();
    let id = event["RequestId"].as_str().unwrap().to_owned();
    let (url, requests) = redirecting_bucket(h.receiver.response_url(&id)).await;
    event["ResponseURL"] = json!(url);
    send_undelivered(&h, &event).await;
    assert_eq!(
        requests.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one attempt, not retried"
    );
    assert_eq!(h.receiver.count_for(&id), 0, "the redirect was not followed");
}
