//! `ExistingVersion`: Create takes over a version made outside the stack
//! (Terraform's import) instead of creating one.

use std::time::Duration;

use serde_json::json;
use standins::local::REGION;

use crate::harness::{BASE_IMAGE, Harness, IMAGE, props, version_arn, with};

/// Version 1 of the image, made by hand: an alias and no metadata.
fn made_by_hand(h: &Harness) -> u32 {
    h.sagemaker
        .create_version_out_of_band(REGION, IMAGE, BASE_IMAGE, &["by-hand"])
}

fn adopting(version: u32) -> serde_json::Value {
    with(props(), json!({ "ExistingVersion": version.to_string() }))
}

#[tokio::test]
async fn an_existing_version_is_taken_over_and_brought_to_the_template_without_a_create() {
    let h = Harness::start().await;
    let version = made_by_hand(&h);
    let props = with(
        adopting(version),
        json!({"Aliases": ["stable"], "JobType": "TRAINING", "ReleaseNotes": "taken over"}),
    );
    let answer = h.invoke(&h.create_event(props)).await;
    answer.assert_success();
    assert_eq!(answer.physical_id(), version_arn(version));
    assert_eq!(answer.data("Version"), version.to_string());
    assert_eq!(h.sagemaker.count("CreateImageVersion"), 0);
    assert_eq!(
        h.sagemaker.count("UpdateImageVersion"),
        1,
        "one update brings it to the template"
    );
    let adopted = h.sagemaker.version(IMAGE, version).unwrap();
    assert_eq!(adopted.aliases, ["stable"]);
    assert_eq!(adopted.job_type.as_deref(), Some("TRAINING"));
    assert_eq!(adopted.release_notes.as_deref(), Some("taken over"));
}

#[tokio::test]
async fn an_existing_version_with_another_base_image_fails_naming_both_and_writes_nothing() {
    let h = Harness::start().await;
    let version = made_by_hand(&h);
    let other = "123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:2.0";
    let answer = h
        .invoke(&h.create_event(with(adopting(version), json!({ "BaseImage": other }))))
        .await;
    answer.assert_failed_with(BASE_IMAGE).assert_failed_with(other);
    assert!(!answer.physical_id().starts_with("arn:"), "{}", answer.physical_id());
    assert_eq!(h.writes(), 0);
}

#[tokio::test]
async fn a_missing_existing_version_fails_with_a_placeholder_whose_rollback_calls_nothing() {
    let h = Harness::start().await;
    let answer = h.invoke(&h.create_event(adopting(7))).await;
    answer.assert_failed_with("does not exist");
    assert!(
        answer.physical_id().starts_with("no-image-version-"),
        "{}",
        answer.physical_id()
    );
    h.sagemaker.clear_calls();
    h.invoke(&h.delete_event(answer.physical_id(), adopting(7)))
        .await
        .assert_success();
    assert!(h.sagemaker.calls().is_empty(), "{:?}", h.sagemaker.operations());
}

#[tokio::test]
async fn an_existing_version_still_creating_is_waited_for() {
    let h = Harness::start().await;
    h.sagemaker
        .set_delays(Duration::from_secs(2), Duration::from_millis(200));
    let builder = h.another_instance().await;
    let build = builder.create_event(props());
    let building = tokio::spawn(async move {
        builder.invoke(&build).await.assert_success();
    });
    while h.sagemaker.version(IMAGE, 1).is_none() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(h.sagemaker.version(IMAGE, 1).unwrap().status, "CREATING");
    let answer = h.invoke(&h.create_event(adopting(1))).await;
    answer.assert_success();
    assert_eq!(answer.physical_id(), version_arn(1));
    building.await.unwrap();
}

#[tokio::test]
async fn deleting_a_taken_over_version_deletes_it() {
    let h = Harness::start().await;
    let version = made_by_hand(&h);
    let answer = h.create_ok(adopting(version)).await;
    h.invoke(&h.delete_event(answer.physical_id(), adopting(version)))
        .await
        .assert_success();
    assert!(h.sagemaker.version(IMAGE, version).is_none());
}

#[tokio::test]
async fn an_update_that_changes_existing_version_fails_and_leaves_the_version_alone() {
    let h = Harness::start().await;
    let version = made_by_hand(&h);
    made_by_hand(&h);
    let arn = h.create_ok(adopting(version)).await.physical_id().to_owned();
    h.sagemaker.clear_calls();
    let answer = h
        .invoke(&h.update_event(&arn, adopting(version + 1), adopting(version)))
        .await;
    answer.assert_failed_with("new logical id");
    assert_eq!(answer.physical_id(), arn, "a FAILED Update keeps its id");
    assert!(h.sagemaker.calls().is_empty(), "{:?}", h.sagemaker.operations());
}

#[tokio::test]
async fn an_update_that_removes_existing_version_changes_nothing() {
    let h = Harness::start().await;
    let version = made_by_hand(&h);
    let adopted = with(adopting(version), json!({"Aliases": ["by-hand"]}));
    let arn = h.create_ok(adopted.clone()).await.physical_id().to_owned();
    let removed = with(adopted.clone(), json!({ "ExistingVersion": null }));
    let answer = h.invoke(&h.update_event(&arn, removed, adopted)).await;
    answer.assert_success();
    assert_eq!(answer.physical_id(), arn);
    assert_eq!(h.writes(), 0);
}
