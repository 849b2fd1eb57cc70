//! Requests longer than one invocation: near its deadline a request still
//! waiting on SageMaker goes on in a new asynchronous invocation of the
//! function (Lambda's Invoke API in front of the harness's Runtime API); only
//! the last link answers, once; the chain ends at the resource's
//! `ServiceTimeout`. Every harness checks its logs for secrets when dropped:
//! the hand-off carries the ResponseURL.

use std::time::{Duration, Instant};

use futures::future::join_all;
use serde_json::json;
use standins::runtime_api::FUNCTION_ARN;
use standins::{Deadline, LambdaFault};

use crate::harness::{Harness, IMAGE, props, version_arn, with};

/// The function's timeout in these tests: every invocation, the first
/// (CloudFormation's) and the handed-on ones, gets this long.
const TIMEOUT: Duration = Duration::from_secs(3);

async fn harness() -> Harness {
    Harness::start_timed(TIMEOUT, &[]).await
}

#[tokio::test]
async fn a_build_three_times_the_function_timeout_answers_success_once_after_hand_offs() {
    let h = harness().await;
    let (event, answer) = h.create_timed_ok(TIMEOUT * 3).await;
    answer.assert_well_formed(&event);
    assert_eq!(answer.physical_id(), version_arn(1));
    assert!(h.hand_offs() >= 2, "{} hand-offs", h.hand_offs());
    assert_eq!(h.sagemaker.versions(IMAGE).len(), 1, "no second version");
}

#[tokio::test]
async fn a_request_is_handed_on_to_the_arn_it_was_invoked_as_qualifier_included() {
    let h = harness().await;
    h.sagemaker.set_delays(TIMEOUT * 2, Duration::from_millis(200));
    let alias = format!("{FUNCTION_ARN}:live");
    h.invoke_timed_as(&alias, &h.create_event(props()))
        .await
        .assert_success();
    assert!(h.hand_offs() >= 1, "{} hand-offs", h.hand_offs());
    for invoke in h.lambda.invokes() {
        assert_eq!(invoke.function_name, alias, "each link invokes the alias, verbatim");
    }
}

#[tokio::test]
async fn a_rollback_delete_arriving_while_the_version_is_creating_deletes_it_once_created() {
    let h = harness().await;
    h.sagemaker.set_delays(TIMEOUT * 2, Duration::from_millis(200));
    let builder = h.another_instance().await;
    let create = builder.create_event(props());
    let building = tokio::spawn(async move { builder.invoke(&create).await });
    while h.sagemaker.version(IMAGE, 1).is_none() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let answer = h.invoke_timed(&h.delete_event(&version_arn(1), props())).await;
    answer.assert_success();
    assert!(h.hand_offs() >= 1, "the Delete waited across invocations");
    assert!(h.sagemaker.version(IMAGE, 1).is_none());
    building.await.unwrap();
}

#[tokio::test]
async fn a_deletion_that_outlasts_one_invocation_answers_success_once_after_hand_offs() {
    let h = harness().await;
    let arn = h.create_ok(props()).await.physical_id().to_owned();
    h.sagemaker.set_delays(Duration::from_millis(200), TIMEOUT * 2);
    h.invoke_timed(&h.delete_event(&arn, props())).await.assert_success();
    assert!(h.hand_offs() >= 1, "the wait for the version to be gone went on");
    assert!(h.sagemaker.version(IMAGE, 1).is_none());
    assert_eq!(
        h.sagemaker.count("DeleteImageVersion"),
        1,
        "a later link polls, it does not delete again: {:?}",
        h.sagemaker.operations()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_versions_of_one_image_created_at_once_all_succeed() {
    let h = harness().await;
    h.sagemaker
        .set_delays(Duration::from_millis(400), Duration::from_millis(200));
    let mut instances = Vec::new();
    for _ in 0..20 {
        instances.push(h.another_instance().await);
    }
    let started = Instant::now();
    let answers = join_all(
        instances
            .iter()
            .map(|i| async { i.invoke_timed(&i.create_event(props())).await }),
    )
    .await;
    let mut arns: Vec<String> = answers
        .iter()
        .map(|a| {
            a.assert_success();
            a.physical_id().to_owned()
        })
        .collect();
    arns.sort();
    arns.dedup();
    assert_eq!(arns.len(), 20, "20 versions, one each");
    assert_eq!(h.sagemaker.versions(IMAGE).len(), 20);
    let handed_on: usize = instances.iter().map(Harness::hand_offs).sum();
    assert!(handed_on > 0, "the queue outlasted one invocation");
    println!("20 versions in {:?}, {handed_on} hand-offs", started.elapsed());
}

#[tokio::test]
async fn a_version_that_never_becomes_ready_fails_once_before_service_timeout() {
    let h = harness().await;
    h.sagemaker
        .set_delays(Duration::from_secs(3600), Duration::from_millis(200));
    let event = h.create_event(with(props(), json!({"ServiceTimeout": "30"})));
    let started = Instant::now();
    let answer = h.invoke_timed(&event).await;
    let took = answer.put.at - started;
    answer.assert_failed_with("ServiceTimeout (30s)");
    assert!(
        took < Duration::from_secs(30),
        "answered {took:?} after the first receipt"
    );
    assert!(
        took > Duration::from_secs(20),
        "worked until near ServiceTimeout: {took:?}"
    );
    assert_eq!(answer.physical_id(), version_arn(1), "the rollback Delete removes it");
    assert!(h.hand_offs() >= 5, "{} hand-offs", h.hand_offs());
}

#[tokio::test]
async fn a_denied_hand_off_answers_failed_at_once_naming_the_cause() {
    let h = harness().await;
    h.sagemaker
        .set_delays(Duration::from_secs(60), Duration::from_millis(200));
    h.lambda.fail_next(1, LambdaFault::AccessDenied);
    let answer = h.invoke_timed(&h.create_event(props())).await;
    answer
        .assert_failed_with("AccessDeniedException")
        .assert_failed_with("lambda:InvokeFunction");
    assert_eq!(answer.physical_id(), version_arn(1));
}

#[tokio::test]
async fn a_replacement_whose_hand_off_fails_keeps_the_old_id_and_deletes_its_new_version() {
    let h = harness().await;
    let created = h.create_ok(props()).await.physical_id().to_owned();
    h.sagemaker
        .set_delays(Duration::from_secs(60), Duration::from_millis(200));
    h.lambda.fail_next(1, LambdaFault::AccessDenied);
    let new = with(
        props(),
        json!({"BaseImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:2.0"}),
    );
    let answer = h.invoke_timed(&h.update_event(&created, new, props())).await;
    answer
        .assert_failed_with("AccessDeniedException")
        .assert_failed_with(&format!("the new version {}", version_arn(2)));
    assert_eq!(answer.physical_id(), created, "a FAILED Update keeps the old id");
    // SageMaker refuses while it is CREATING: tried again until the answer is due.
    let deletes = h.sagemaker.calls_of("DeleteImageVersion");
    assert!(!deletes.is_empty(), "the new version was tried");
    assert!(deletes.iter().all(|d| d.body["Version"] == 2), "{deletes:?}");
}

#[tokio::test]
async fn a_replacement_that_outlasts_one_invocation_succeeds_and_orphans_nothing() {
    let h = harness().await;
    let old = h.create_ok(props()).await.physical_id().to_owned();
    h.sagemaker.set_delays(TIMEOUT * 2, Duration::from_millis(200));
    let new = with(
        props(),
        json!({"BaseImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:2.0"}),
    );
    let answer = h.invoke_timed(&h.update_event(&old, new, props())).await;
    answer.assert_success();
    assert_eq!(answer.physical_id(), version_arn(2));
    assert!(h.hand_offs() >= 1);
    let versions: Vec<u32> = h.sagemaker.versions(IMAGE).iter().map(|v| v.version).collect();
    assert_eq!(
        versions,
        [1, 2],
        "the old one for CloudFormation's cleanup, the new one answered"
    );
}

#[tokio::test]
async fn a_redelivered_link_creates_no_second_version_and_answers_the_same() {
    let h = harness().await;
    let (event, _) = h.create_timed_ok(TIMEOUT * 2).await;
    let link = h
        .lambda
        .invokes()
        .into_iter()
        .find(|i| i.invocation_type == "Event")
        .expect("a hand-off");
    let id = event["RequestId"].as_str().unwrap();
    assert!(h.invoke_raw(link.payload, Deadline::In(TIMEOUT)).await.is_response());
    let answers = h.accepted_answers(id);
    assert_eq!(answers.len(), 2, "Lambda delivered the link twice");
    assert_eq!(answers[1].body, answers[0].body, "the same answer");
    assert_eq!(h.sagemaker.versions(IMAGE).len(), 1, "no second version");
}

/// A write in flight at the function's deadline is handed on like a wait:
/// the next link runs the request again (the same token, state read again)
/// and only `ServiceTimeout` could end it for time.
#[tokio::test]
async fn a_call_in_flight_at_the_deadline_is_handed_on_and_the_request_succeeds() {
    let h = Harness::start_timed(TIMEOUT, &[("AWS_MAX_ATTEMPTS", "1")]).await;
    h.sagemaker
        .set_delays(Duration::from_millis(200), Duration::from_millis(200));
    h.sagemaker.inject(Some("UpdateImageVersion"), standins::Fault::Hang, 1);
    let answer = h
        .invoke_timed(&h.create_event(with(props(), json!({"Aliases": ["stable"]}))))
        .await;
    answer.assert_success();
    assert!(h.hand_offs() >= 1, "{} hand-offs", h.hand_offs());
    assert_eq!(h.sagemaker.versions(IMAGE).len(), 1, "no second version");
    assert_eq!(h.sagemaker.version(IMAGE, 1).unwrap().aliases, vec!["stable"]);
}

/// An answer whose PUT keeps failing is handed on with the record, and the
/// next invocation sends it without running the request again.
#[tokio::test]
async fn an_answer_whose_put_keeps_failing_is_handed_on_and_sent_by_the_next_invocation() {
    let h = harness().await;
    h.sagemaker
        .set_delays(Duration::from_millis(200), Duration::from_millis(200));
    h.receiver.fail_next(6, 503);
    let answer = h.invoke_timed(&h.create_event(props())).await;
    answer.assert_success();
    assert_eq!(answer.physical_id(), version_arn(1));
    assert!(h.hand_offs() >= 1, "{} hand-offs", h.hand_offs());
    assert_eq!(h.sagemaker.count("CreateImageVersion"), 1, "the request ran once");
    assert!(
        h.function
            .logs()
            .contains("sending the answer an earlier invocation could not deliver")
    );
}
