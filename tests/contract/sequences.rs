//! CloudFormation's sequences of requests, as it sends them for a stack
//! update, a rollback and a stack delete, each followed by a redelivery of
//! its last event (Lambda delivers asynchronous events at least once): every
//! delivery of one request answers the same.

use serde_json::{Value, json};

use crate::answer::Answer;
use crate::harness::{Harness, IMAGE, props, with};

const NEXT_BASE_IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:2.0";

/// The template a stack starts from.
fn first() -> Value {
    with(props(), json!({"Aliases": ["stable"], "ReleaseNotes": "first"}))
}

/// Sends `event`, then delivers it again: both answers must agree on what
/// CloudFormation keeps (Status, PhysicalResourceId, Data).
async fn delivered_twice(h: &Harness, event: &Value) -> Answer {
    let first = h.invoke(event).await;
    first.assert_well_formed(event);
    let answers = h.deliver_again(event).await;
    assert_eq!(answers.len(), 2, "{answers:?}");
    let kept = |a: &Answer| {
        (
            a.status().to_owned(),
            a.physical_id().to_owned(),
            a.body.get("Data").cloned(),
        )
    };
    assert_eq!(
        kept(&answers[0]),
        kept(&answers[1]),
        "a redelivery answered differently"
    );
    first
}

async fn created(h: &Harness) -> String {
    h.create_ok(first()).await.physical_id().to_owned()
}

/// Replaces the stack's version with one of the next base image: the new
/// template, and the new version's id.
async fn replaced(h: &Harness, id: &str) -> (Value, String) {
    let second = with(first(), json!({"BaseImage": NEXT_BASE_IMAGE}));
    let answer = delivered_twice(h, &h.update_event(id, second.clone(), first())).await;
    answer.assert_success();
    let new = answer.physical_id().to_owned();
    assert_ne!(new, id, "a replacement answers a new id");
    (second, new)
}

/// Deletes through `event`, delivered twice, and checks that only `left`
/// remains, CREATED.
async fn deleted_leaving(h: &Harness, event: &Value, left: u32) {
    delivered_twice(h, event).await.assert_success();
    assert_eq!(versions(h), vec![(left, "CREATED".to_owned())]);
}

fn versions(h: &Harness) -> Vec<(u32, String)> {
    h.sagemaker
        .versions(IMAGE)
        .into_iter()
        .map(|v| (v.version, v.status))
        .collect()
}

#[tokio::test]
async fn a_forward_update_in_place_keeps_the_arn() {
    let h = Harness::start().await;
    let id = created(&h).await;
    let second = with(first(), json!({"ReleaseNotes": "second"}));
    let answer = delivered_twice(&h, &h.update_event(&id, second, first())).await;
    answer.assert_success();
    assert_eq!(answer.physical_id(), id);
    assert_eq!(h.sagemaker.count("CreateImageVersion"), 1);
}

#[tokio::test]
async fn a_replacement_answers_a_new_arn_and_its_cleanup_delete_removes_the_old_version() {
    let h = Harness::start().await;
    let id = created(&h).await;
    replaced(&h, &id).await;
    assert_eq!(h.sagemaker.version(IMAGE, 2).unwrap().aliases, vec!["stable"]);
    deleted_leaving(&h, &h.delete_event(&id, first()), 2).await;
}

#[tokio::test]
async fn the_rollback_of_a_failed_in_place_update_restores_the_version_in_place() {
    let h = Harness::start().await;
    let id = created(&h).await;
    let failed = with(first(), json!({"ReleaseNotes": "second", "JobType": "NOT_A_JOB_TYPE"}));
    h.invoke(&h.update_event(&id, failed.clone(), first()))
        .await
        .assert_failed_with("JobType");
    let rollback = delivered_twice(&h, &h.update_event(&id, first(), failed)).await;
    rollback.assert_success();
    assert_eq!(rollback.physical_id(), id);
    assert_eq!(h.sagemaker.count("CreateImageVersion"), 1);
    assert_eq!(
        h.sagemaker.version(IMAGE, 1).unwrap().release_notes.as_deref(),
        Some("first")
    );
}

#[tokio::test]
async fn the_rollback_of_a_failed_replacement_keeps_the_held_version_and_creates_nothing() {
    let h = Harness::start().await;
    let id = created(&h).await;
    let failed = with(first(), json!({"BaseImage": NEXT_BASE_IMAGE}));
    h.sagemaker.fail_next_creation("the base image does not exist");
    let answer = h.invoke(&h.update_event(&id, failed.clone(), first())).await;
    answer.assert_failed_with("the base image does not exist");
    assert_eq!(answer.physical_id(), id, "a FAILED Update keeps the old id");
    let creates = h.sagemaker.count("CreateImageVersion");
    // CloudFormation rolls back: the old template, the failed one as "old".
    let rollback = delivered_twice(&h, &h.update_event(&id, first(), failed)).await;
    rollback.assert_success();
    assert_eq!(rollback.physical_id(), id, "a rollback restores, it does not renumber");
    assert_eq!(h.sagemaker.count("CreateImageVersion"), creates, "nothing created");
    assert_eq!(h.sagemaker.version(IMAGE, 1).unwrap().aliases, vec!["stable"]);
}

#[tokio::test]
async fn the_rollback_after_a_successful_replacement_deletes_the_new_version_only() {
    let h = Harness::start().await;
    let id = created(&h).await;
    let (second, new) = replaced(&h, &id).await;
    // Another resource failed: CloudFormation deletes the new id and keeps the old.
    deleted_leaving(&h, &h.delete_event(&new, second), 1).await;
}

#[tokio::test]
async fn the_rollback_of_a_failed_create_deletes_what_it_answered() {
    let h = Harness::start().await;
    h.sagemaker.fail_next_creation("the base image does not exist");
    let event = h.create_event(first());
    let failed = delivered_twice(&h, &event).await;
    failed.assert_failed_with("the base image does not exist");
    let answered = failed.physical_id().to_owned();
    assert!(answered.ends_with("/1"), "the version's ARN: {answered}");
    delivered_twice(&h, &h.delete_event(&answered, first()))
        .await
        .assert_success();
    assert_eq!(versions(&h), vec![]);
}

#[tokio::test]
async fn a_stack_delete_deletes_the_version_and_waits_until_it_is_gone() {
    let h = Harness::start().await;
    let id = created(&h).await;
    let answer = delivered_twice(&h, &h.delete_event(&id, first())).await;
    answer.assert_success();
    assert_eq!(answer.physical_id(), id);
    assert_eq!(versions(&h), vec![]);
}
