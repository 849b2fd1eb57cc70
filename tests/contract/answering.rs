//! Always answer, once, in time, and on the wire as S3 and CloudFormation
//! expect it.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use standins::Deadline;

use crate::harness::{Harness, IMAGE, PLACEHOLDER_ID, props, request_id, version_arn, with};

#[tokio::test]
async fn a_long_non_ascii_reason_is_shortened_to_fit_4096_bytes_at_a_character_boundary() {
    let h = Harness::start().await;
    let reason = "é\"\u{1F600}\n\\ü".repeat(1000);
    assert!(reason.len() >= 10_000);
    h.sagemaker.fail_next_creation(reason.clone());
    let event = h.create_event(props());
    let answer = h.invoke(&event).await;
    assert_eq!(answer.status(), "FAILED");
    answer.assert_well_formed(&event);
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
async fn without_the_hand_off_a_request_running_into_the_deadline_answers_failed_timed_out_with_the_version_arn_before_it()
 {
    let h = Harness::start_with(&[("CFN_HAND_OFF", "false")]).await;
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
    answer.assert_well_formed(&event);
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
async fn a_replacement_that_runs_out_of_time_tries_to_delete_its_new_version_and_names_it() {
    let h = Harness::start_with(&[("CFN_HAND_OFF", "false")]).await;
    let created = h.create_ok(props()).await.physical_id().to_owned();
    h.sagemaker
        .set_delays(Duration::from_secs(60), Duration::from_millis(200));
    let new = with(
        props(),
        json!({"BaseImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:2.0"}),
    );
    let event = h.update_event(&created, new, props());
    let answer = h.invoke_with(&event, Deadline::In(Duration::from_secs(4))).await;
    answer.assert_failed_with("timed out");
    assert_eq!(answer.physical_id(), created, "a FAILED Update keeps the old id");
    let reason = answer.reason();
    assert!(
        reason.contains(&format!("the new version {} is not the resource's", version_arn(2))),
        "{reason}"
    );
    // SageMaker refuses while it is CREATING: tried again until the answer is due.
    let deletes = h.sagemaker.calls_of("DeleteImageVersion");
    assert!(!deletes.is_empty(), "the new version was tried");
    assert!(deletes.iter().all(|d| d.body["Version"] == 2), "{deletes:?}");
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
    answer.assert_well_formed(&event);
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
async fn an_event_the_typed_parse_rejects_still_gets_a_failed_answer() {
    let h = Harness::start().await;
    let event = with(
        h.create_event(props()),
        json!({"PhysicalResourceId": 7, "StackId": "stack"}),
    );
    let answer = h.invoke(&event).await;
    answer.assert_failed_with("not a valid CloudFormation custom resource request");
    answer.assert_well_formed(&event);
    assert!(h.sagemaker.calls().is_empty());
}

#[tokio::test]
async fn an_event_without_a_usable_response_url_returns_ok_and_puts_nothing() {
    let h = Harness::start().await;
    let no_url = with(h.create_event(props()), json!({"ResponseURL": null}));
    let not_text = with(h.create_event(props()), json!({"ResponseURL": 17}));
    let payloads: Vec<Vec<u8>> = vec![
        b"null".to_vec(),
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
            outcome.is_response(),
            "{}: {outcome:?}",
            String::from_utf8_lossy(&payload)
        );
    }
    assert!(h.receiver.puts().is_empty());
    assert!(
        h.sagemaker.calls().is_empty(),
        "nothing is done that cannot be answered"
    );
    h.assert_still_serving().await;
}

#[tokio::test]
async fn the_answer_is_put_to_the_response_url_byte_for_byte() {
    let h = Harness::start().await;
    // A logical id that makes the percent-encoded path easy to get wrong.
    let logical_id = "Image Version/ü+%:|";
    let id = request_id();
    let url = h.receiver.response_url_for(logical_id, &id);
    let event = with(
        h.quick_delete_event(),
        json!({"RequestId": id, "LogicalResourceId": logical_id, "ResponseURL": url}),
    );
    let answer = h.invoke(&event).await;
    answer.assert_success();
    answer.assert_well_formed(&event);
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
    let event = h.quick_delete_event();
    let outcome = h.send(&event).await;
    assert!(outcome.is_response(), "{outcome:?}");
    assert!(h.function.wait_for_log("must be https", Duration::from_secs(2)).await);
    assert!(h.receiver.puts().is_empty());
    assert!(h.sagemaker.calls().is_empty());
}

#[tokio::test]
async fn json_logs_carry_the_request_type_logical_id_request_id_and_physical_id() {
    let h = Harness::start_with(&[("AWS_LAMBDA_LOG_FORMAT", "JSON")]).await;
    let event = h.quick_delete_event();
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
            &format!("\"physical_resource_id\":\"{PLACEHOLDER_ID}\""),
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

/// A setting the function cannot run with is not guessed at: every request
/// is answered FAILED naming the variable, and SageMaker hears nothing.
#[tokio::test]
async fn a_bad_setting_fails_every_request_naming_the_variable() {
    let h = Harness::start_with(&[("CFN_HAND_OFF", "no")]).await;
    let answer = h.invoke(&h.create_event(props())).await;
    answer.assert_failed_with("CFN_HAND_OFF=\"no\"");
    answer.assert_failed_with("true or false");
    assert!(
        answer.physical_id().starts_with("no-image-version-"),
        "{}",
        answer.physical_id()
    );
    assert!(h.sagemaker.calls().is_empty());
    assert!(h.function.logs().contains("until the configuration is fixed"));
}
