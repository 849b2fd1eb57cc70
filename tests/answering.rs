//! Always answer, once, in time, and on the wire as S3 and CloudFormation
//! expect it.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};
use standins::{Deadline, Outcome};

const PLACEHOLDER: &str = "no-image-version-answering";

#[tokio::test]
async fn a_5xx_from_the_response_url_is_retried_until_accepted() {
    let h = Harness::start().await;
    h.receiver.fail_next(1, 500);
    let event = h.delete_event(PLACEHOLDER, props());
    let answer = h.invoke(&event).await;
    answer.assert_success();
    assert_well_formed(&answer, &event);
    let id = event["RequestId"].as_str().unwrap();
    let puts: Vec<u16> = h
        .receiver
        .puts()
        .iter()
        .filter(|p| p.is_for(id))
        .map(|p| p.status)
        .collect();
    assert_eq!(puts, [500, 200], "two attempts, one accepted");
    let first = &h.receiver.puts()[0];
    assert_eq!(first.body, answer.put.body, "the same answer is sent again");
}

#[tokio::test]
async fn a_4xx_from_the_response_url_is_not_retried_and_is_logged() {
    let h = Harness::start().await;
    h.receiver.fail_next(1, 403);
    let event = h.delete_event(PLACEHOLDER, props());
    let outcome = h.invoke_event_raw(&event).await;
    assert!(outcome.is_response(), "{outcome:?}");
    let id = event["RequestId"].as_str().unwrap();
    assert!(
        h.function
            .wait_for_log("answer not delivered", Duration::from_secs(2))
            .await
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(h.receiver.count_for(id), 1, "exactly one attempt");
    assert_eq!(h.receiver.accepted_count_for(id), 0);
    let logs = h.function.logs();
    assert!(logs.contains("403"), "the refusal is logged:\n{logs}");
}

#[tokio::test]
async fn a_long_non_ascii_reason_is_shortened_to_fit_4096_bytes_at_a_character_boundary() {
    let h = Harness::start().await;
    let reason = "é\"\u{1F600}\n\\ü".repeat(1000);
    assert!(reason.len() >= 10_000);
    h.sagemaker.fail_next_creation(reason.clone());
    let event = h.create_event(props());
    let answer = h.invoke(&event).await;
    assert_eq!(answer.status(), "FAILED");
    assert_well_formed(&answer, &event);
    let body = &answer.put.body;
    assert!(body.len() <= 4096, "{} bytes", body.len());
    assert!(body.len() > 3500, "the Reason keeps what fits: {} bytes", body.len());
    std::str::from_utf8(body).expect("valid UTF-8");
    let shown = answer.reason();
    assert!(shown.starts_with("SageMaker could not create image version"), "{shown}");
    assert!(shown.contains("é\"\u{1F600}\n\\ü"), "the reason is kept as text");
    assert_eq!(answer.physical_id(), version_arn(1));
}

#[tokio::test]
async fn a_request_running_into_the_deadline_answers_failed_timed_out_with_the_version_arn_before_it() {
    let h = Harness::start().await;
    h.sagemaker
        .set_delays(Duration::from_secs(60), Duration::from_millis(200));
    h.runtime
        .wait_first_poll(Duration::from_secs(10))
        .await
        .expect("the function polls");
    let event = h.create_event(props());
    let start = Instant::now();
    let answer = h.invoke_with(&event, Deadline::In(Duration::from_secs(4))).await;
    answer.assert_failed_with("timed out");
    assert_well_formed(&answer, &event);
    assert!(answer.reason().contains(&version_arn(1)), "{}", answer.reason());
    assert_eq!(answer.physical_id(), version_arn(1));
    let took = answer.put.at - start;
    assert!(took < Duration::from_secs(4), "answered {took:?} after a 4 s deadline");
    assert!(
        took > Duration::from_secs(2),
        "worked until near the deadline: {took:?}"
    );
}

#[tokio::test]
async fn a_deadline_already_passed_on_arrival_still_lets_the_request_complete() {
    let h = Harness::start().await;
    let event = h.create_event(props());
    let answer = h.invoke_with(&event, Deadline::AtEpochMs(1)).await;
    answer.assert_success();
    assert_eq!(answer.physical_id(), version_arn(1));
    assert_eq!(h.sagemaker.version(IMAGE, 1).unwrap().status, "CREATED");
}

#[tokio::test]
async fn an_unknown_request_type_fails_naming_it() {
    let h = Harness::start().await;
    let event = with(h.create_event(props()), json!({"RequestType": "Upsert"}));
    let answer = h.invoke(&event).await;
    answer.assert_failed_with("Upsert");
    assert_well_formed(&answer, &event);
    assert!(
        answer.reason().contains("Create, Update or Delete"),
        "{}",
        answer.reason()
    );
    assert!(
        answer.physical_id().starts_with("no-image-version-"),
        "{}",
        answer.physical_id()
    );
    assert!(h.sagemaker.calls().is_empty());
}

#[tokio::test]
async fn properties_that_are_not_an_object_fail() {
    let h = Harness::start().await;
    for properties in [json!(["ImageName", IMAGE]), json!("ImageName=test-image")] {
        let event = h.create_event(properties);
        let answer = h.invoke(&event).await;
        answer.assert_failed_with("must be a JSON object");
        assert_well_formed(&answer, &event);
    }
    let update = h.update_event(&version_arn(1), json!(42), props());
    let answer = h.invoke(&update).await;
    answer.assert_failed_with("must be a JSON object");
    assert_eq!(answer.physical_id(), version_arn(1));
    assert!(h.sagemaker.calls().is_empty());
}

#[tokio::test]
async fn an_event_the_typed_parse_rejects_still_gets_a_failed_answer() {
    let h = Harness::start().await;
    let event = with(h.create_event(props()), json!({"ResourceType": 7, "StackId": "stack"}));
    let answer = h.invoke(&event).await;
    answer.assert_failed_with("not a valid CloudFormation custom resource request");
    assert_well_formed(&answer, &event);
    assert!(h.sagemaker.calls().is_empty());
}

#[tokio::test]
async fn an_event_without_a_usable_response_url_returns_ok_and_puts_nothing() {
    let h = Harness::start().await;
    let no_url = with(h.create_event(props()), json!({"ResponseURL": null}));
    let not_text = with(h.create_event(props()), json!({"ResponseURL": 17}));
    let payloads: Vec<Vec<u8>> = vec![
        b"[1, 2, 3]".to_vec(),
        b"\"Create\"".to_vec(),
        b"42".to_vec(),
        b"{}".to_vec(),
        serde_json::to_vec(&no_url).unwrap(),
        serde_json::to_vec(&not_text).unwrap(),
    ];
    for payload in payloads {
        let outcome = h
            .invoke_raw(payload.clone(), Deadline::In(Duration::from_secs(60)))
            .await;
        assert!(
            matches!(outcome, Outcome::Response(_)),
            "{}: {outcome:?}",
            String::from_utf8_lossy(&payload)
        );
    }
    assert!(h.receiver.puts().is_empty());
    assert!(
        h.sagemaker.calls().is_empty(),
        "nothing is done that cannot be answered"
    );
}

#[tokio::test]
async fn the_answer_is_put_to_the_response_url_byte_for_byte() {
    let h = Harness::start().await;
    // A logical id that makes the percent-encoded path easy to get wrong.
    let logical_id = "Image Version/ü+%:|";
    let id = request_id();
    let url = h.receiver.response_url_for(logical_id, &id);
    let event = with(
        h.delete_event(PLACEHOLDER, props()),
        json!({"RequestId": id, "LogicalResourceId": logical_id, "ResponseURL": url}),
    );
    let answer = h.invoke(&event).await;
    answer.assert_success();
    assert_well_formed(&answer, &event);
    let (path, query) = url
        .strip_prefix(&h.receiver.endpoint())
        .unwrap()
        .split_once('?')
        .unwrap();
    assert_eq!(answer.put.path, path);
    assert_eq!(answer.put.query, query);
    assert_eq!(h.receiver.count_for(&id), 1, "accepted at the first try");
}

#[tokio::test]
async fn a_plain_http_response_url_is_refused_without_the_loopback_opt_in() {
    let h = Harness::start_with(&[("CFN_ALLOW_LOOPBACK_RESPONSE_URL", "false")]).await;
    let event = h.delete_event(PLACEHOLDER, props());
    let outcome = h.invoke_event_raw(&event).await;
    assert!(outcome.is_response(), "{outcome:?}");
    assert!(h.function.wait_for_log("must be https", Duration::from_secs(2)).await);
    assert!(h.receiver.puts().is_empty());
    assert!(h.sagemaker.calls().is_empty());
}

#[tokio::test]
async fn json_logs_carry_the_request_type_logical_id_request_id_and_physical_id() {
    let h = Harness::start_with(&[("AWS_LAMBDA_LOG_FORMAT", "JSON")]).await;
    let event = h.delete_event(PLACEHOLDER, props());
    h.invoke(&event).await.assert_success();
    let request_id = event["RequestId"].as_str().unwrap();
    assert!(
        h.function
            .wait_for_log("answer delivered", Duration::from_secs(2))
            .await
    );
    let logs = h.function.logs();
    let lines: Vec<Value> = logs
        .lines()
        .filter(|l| l.contains(request_id))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    assert!(!lines.is_empty(), "{logs}");
    let tagged = |line: &Value| {
        let text = line.to_string();
        [
            "\"request_type\":\"Delete\"",
            "\"logical_resource_id\":\"ImageVersion\"",
            &format!("\"request_id\":\"{request_id}\""),
            &format!("\"physical_resource_id\":\"{PLACEHOLDER}\""),
        ]
        .iter()
        .all(|needle| text.contains(needle))
    };
    assert!(
        lines
            .iter()
            .any(|l| l.to_string().contains("answer delivered") && tagged(l)),
        "{logs}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.to_string().contains("request received") && tagged(l)),
        "{logs}"
    );
}

#[tokio::test]
async fn a_hung_response_url_attempt_is_cut_short_and_retried_before_the_deadline() {
    let h = Harness::start().await;
    h.receiver.hang_next(1);
    h.runtime
        .wait_first_poll(Duration::from_secs(10))
        .await
        .expect("the function polls");
    let event = h.delete_event(PLACEHOLDER, props());
    let start = Instant::now();
    let answer = h.invoke_with(&event, Deadline::In(Duration::from_secs(6))).await;
    answer.assert_success();
    let id = event["RequestId"].as_str().unwrap();
    assert_eq!(h.receiver.count_for(id), 2, "the hung attempt, then the accepted one");
    let took = answer.put.at - start;
    assert!(took < Duration::from_secs(6), "accepted {took:?} after a 6 s deadline");
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
    let mut event = h.delete_event(PLACEHOLDER, props());
    let id = event["RequestId"].as_str().unwrap().to_owned();
    let (url, requests) = redirecting_bucket(h.receiver.response_url(&id)).await;
    event["ResponseURL"] = json!(url);
    let outcome = h.invoke_event_raw(&event).await;
    assert!(outcome.is_response(), "{outcome:?}");
    assert!(
        h.function
            .wait_for_log("answer not delivered", Duration::from_secs(2))
            .await
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        requests.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one attempt, not retried"
    );
    assert_eq!(h.receiver.count_for(&id), 0, "the redirect was not followed");
}
