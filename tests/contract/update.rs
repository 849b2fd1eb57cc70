//! Update: in place when only in-place properties changed (sending what
//! differs), a new version when ImageName, BaseImage or Region changed.

use serde_json::{Value, json};
use standins::local::REGION;
use standins::sagemaker::image_version_arn;

use crate::answer::Answer;
use crate::harness::{BASE_IMAGE, Harness, IMAGE, props, version_arn, with};

const NEW_BASE_IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:2.0";

fn full_props() -> Value {
    with(
        props(),
        json!({
            "Aliases": ["latest", "stable"],
            "JobType": "TRAINING",
            "Processor": "CPU",
            "ReleaseNotes": "first",
        }),
    )
}

/// A harness whose stand-in holds the version created through the function
/// from `props`, and that version's physical id; the calls it recorded
/// start after the Create.
async fn created(props: &Value) -> (Harness, String) {
    let h = Harness::start().await;
    let id = h.create_ok(props.clone()).await.physical_id().to_owned();
    h.sagemaker.clear_calls();
    (h, id)
}

/// Sends the Update of `id` from `old` to `new`: the event and its answer,
/// SUCCESS and well formed.
async fn update_ok(h: &Harness, id: &str, new: &Value, old: &Value) -> (Value, Answer) {
    let event = h.update_event(id, new.clone(), old.clone());
    let answer = h.invoke(&event).await;
    answer.assert_success();
    answer.assert_well_formed(&event);
    (event, answer)
}

/// A version created from `old`, then updated to `new`.
struct Updated {
    h: Harness,
    /// The created version's physical id.
    id: String,
    old: Value,
    new: Value,
    event: Value,
    answer: Answer,
}

/// [`Updated`], `new` being `old` with `changes`.
async fn updated(old: Value, changes: Value) -> Updated {
    let (h, id) = created(&old).await;
    let new = with(old.clone(), changes);
    let (event, answer) = update_ok(&h, &id, &new, &old).await;
    Updated {
        h,
        id,
        old,
        new,
        event,
        answer,
    }
}

/// The UpdateImageVersion request bodies, in order.
fn updates(h: &Harness) -> Vec<Value> {
    h.sagemaker
        .calls_of("UpdateImageVersion")
        .into_iter()
        .map(|c| c.body)
        .collect()
}

fn keys(body: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn in_place_update_sends_only_what_differs_and_keeps_the_physical_id() {
    let changes = json!({"Aliases": ["stable", "v2"], "Processor": "GPU", "Horovod": "true"});
    let Updated { h, id, answer, .. } = updated(full_props(), changes).await;
    assert_eq!(answer.physical_id(), id);
    assert_eq!(answer.data("Arn"), id);
    assert_eq!(answer.data("Version"), "1");

    let updates = updates(&h);
    assert_eq!(updates.len(), 1, "{updates:#?}");
    let update = &updates[0];
    assert_eq!(
        keys(update),
        [
            "AliasesToAdd",
            "AliasesToDelete",
            "Horovod",
            "ImageName",
            "Processor",
            "Version"
        ],
        "only what differs: {update:#}"
    );
    assert_eq!(update["ImageName"], IMAGE);
    assert_eq!(update["Version"], 1);
    assert_eq!(update["AliasesToAdd"], json!(["v2"]));
    assert_eq!(update["AliasesToDelete"], json!(["latest"]));
    assert_eq!(update["Processor"], "GPU");
    assert_eq!(update["Horovod"], json!(true));
    assert_eq!(h.sagemaker.count("CreateImageVersion"), 0, "no new version");
    for describe in h.sagemaker.calls_of("DescribeImageVersion") {
        assert_eq!(describe.body["Version"], 1, "never describe the latest version");
    }
    let version = h.sagemaker.version(IMAGE, 1).unwrap();
    assert_eq!(version.aliases, ["stable", "v2"]);
    assert_eq!(version.processor.as_deref(), Some("GPU"));
    assert_eq!(version.job_type.as_deref(), Some("TRAINING"));
    assert_eq!(version.release_notes.as_deref(), Some("first"));
}

#[tokio::test]
async fn an_update_that_changes_nothing_writes_nothing() {
    let old = with(full_props(), json!({"Horovod": "true"}));
    // The same values, in native JSON and in another order: still no change.
    let changes = json!({"Horovod": true, "Aliases": ["stable", "latest"], "ServiceTimeout": "600"});
    let Updated { h, id, answer, .. } = updated(old, changes).await;
    assert_eq!(answer.physical_id(), id);
    assert_eq!(h.sagemaker.count("UpdateImageVersion"), 0);
    assert_eq!(h.sagemaker.count("CreateImageVersion"), 0);
    assert_eq!(h.sagemaker.count("DeleteImageVersion"), 0);
}

#[tokio::test]
async fn changing_base_image_creates_a_new_version_moves_the_aliases_and_leaves_the_old_one_for_cleanup() {
    let Updated {
        h,
        id: old_id,
        old,
        event,
        answer,
        ..
    } = updated(full_props(), json!({"BaseImage": NEW_BASE_IMAGE})).await;
    assert_eq!(answer.physical_id(), version_arn(2), "the new version's ARN");
    assert_eq!(answer.data("Version"), "2");

    let creates = h.sagemaker.calls_of("CreateImageVersion");
    assert_eq!(creates.len(), 1);
    assert_eq!(creates[0].body["BaseImage"], NEW_BASE_IMAGE);
    assert_eq!(creates[0].body["ClientToken"], event["RequestId"]);
    let old_version = h.sagemaker.version(IMAGE, 1).expect("the old version is left in place");
    assert_eq!(old_version.status, "CREATED");
    assert!(old_version.aliases.is_empty(), "aliases moved away: {old_version:?}");
    let new_version = h.sagemaker.version(IMAGE, 2).unwrap();
    assert_eq!(new_version.base_image, NEW_BASE_IMAGE);
    assert_eq!(new_version.aliases, ["latest", "stable"]);
    assert_eq!(h.sagemaker.count("DeleteImageVersion"), 0);

    // CloudFormation's cleanup deletes the old id, and only that.
    let cleanup = h.delete_event(&old_id, old);
    let deleted = h.invoke(&cleanup).await;
    deleted.assert_success();
    assert_eq!(deleted.physical_id(), old_id);
    let deletes = h.sagemaker.calls_of("DeleteImageVersion");
    assert_eq!(deletes.len(), 1);
    assert_eq!(deletes[0].body["Version"], 1);
    let left: Vec<u32> = h.sagemaker.versions(IMAGE).iter().map(|v| v.version).collect();
    assert_eq!(left, [2]);
}

#[tokio::test]
async fn changing_image_name_to_another_registered_image_creates_a_version_of_that_image() {
    let old = full_props();
    let (h, old_id) = created(&old).await;
    h.sagemaker.add_image("other-image");
    let new = with(old.clone(), json!({"ImageName": "other-image"}));
    let (_, answer) = update_ok(&h, &old_id, &new, &old).await;
    assert_eq!(answer.physical_id(), image_version_arn(REGION, "other-image", 1));
    assert_eq!(
        h.sagemaker.calls_of("CreateImageVersion")[0].body["ImageName"],
        "other-image"
    );
    assert_eq!(h.sagemaker.versions("other-image")[0].aliases, ["latest", "stable"]);
    assert_eq!(
        h.sagemaker.version(IMAGE, 1).unwrap().status,
        "CREATED",
        "the old one is left"
    );

    // The cleanup Delete: the name in the properties is not the ARN's, so the ARN's is used.
    let deleted = h.invoke(&h.delete_event(&old_id, new)).await;
    deleted.assert_success();
    let deletes = h.sagemaker.calls_of("DeleteImageVersion");
    assert_eq!(deletes.len(), 1);
    assert_eq!(deletes[0].body["ImageName"], IMAGE);
    assert_eq!(deletes[0].body["Version"], 1);
    assert!(h.sagemaker.versions(IMAGE).is_empty());
    assert_eq!(h.sagemaker.versions("other-image").len(), 1);
}

#[tokio::test]
async fn changing_region_creates_a_version_in_the_new_region() {
    let Updated {
        h,
        id: old_id,
        new,
        answer,
        ..
    } = updated(full_props(), json!({"Region": "eu-west-1"})).await;
    assert_eq!(answer.physical_id(), image_version_arn("eu-west-1", IMAGE, 1));
    let creates = h.sagemaker.calls_of("CreateImageVersion");
    assert_eq!(creates[0].region, "eu-west-1");
    let moved = h.sagemaker.versions_in("eu-west-1", IMAGE);
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].aliases, ["latest", "stable"]);
    assert_eq!(h.sagemaker.versions_in(REGION, IMAGE).len(), 1, "the old one is left");

    // Properties that name the other region: the ARN decides.
    let deleted = h.invoke(&h.delete_event(&old_id, new)).await;
    deleted.assert_success();
    let deletes = h.sagemaker.calls_of("DeleteImageVersion");
    assert_eq!(deletes.len(), 1);
    assert_eq!(deletes[0].region, REGION, "region from the ARN");
    assert!(h.sagemaker.versions_in(REGION, IMAGE).is_empty());
    assert_eq!(h.sagemaker.versions_in("eu-west-1", IMAGE).len(), 1);
}

#[tokio::test]
async fn a_rollback_update_with_old_and_new_properties_swapped_restores_the_version() {
    let changes = json!({"Aliases": ["v2"], "Processor": "GPU", "ReleaseNotes": "second"});
    let Updated { h, id, old, new, .. } = updated(full_props(), changes).await;

    let (_, answer) = update_ok(&h, &id, &old, &new).await;
    assert_eq!(answer.physical_id(), id);
    let updates = updates(&h);
    assert_eq!(updates.len(), 2, "{updates:#?}");
    let back = &updates[1];
    assert_eq!(back["Version"], 1);
    assert_eq!(back["AliasesToAdd"], json!(["latest", "stable"]));
    assert_eq!(back["AliasesToDelete"], json!(["v2"]));
    assert_eq!(back["Processor"], "CPU");
    assert_eq!(back["ReleaseNotes"], "first");
    assert!(back.get("JobType").is_none(), "unchanged: {back:#}");
    let version = h.sagemaker.version(IMAGE, 1).unwrap();
    assert_eq!(version.aliases, ["latest", "stable"]);
    assert_eq!(version.processor.as_deref(), Some("CPU"));
    assert_eq!(h.sagemaker.count("CreateImageVersion"), 0);
}

#[tokio::test]
async fn a_replacement_that_fails_keeps_the_old_id_and_deletes_its_new_version() {
    let h = Harness::start().await;
    let created = h.create_ok(props()).await.physical_id().to_owned();
    h.sagemaker
        .fail_next_creation("ClientError: the base image could not be pulled");
    let new = with(
        props(),
        json!({"BaseImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:2.0"}),
    );
    let event = h.update_event(&created, new, props());
    let answer = h.invoke(&event).await;
    answer
        .assert_failed_with("ClientError: the base image could not be pulled")
        .assert_failed_with(&format!("the new version {} is being deleted", version_arn(2)));
    answer.assert_well_formed(&event);
    assert_eq!(answer.physical_id(), created, "a FAILED Update keeps the old id");
    let deletes = h.sagemaker.calls_of("DeleteImageVersion");
    assert_eq!(deletes.len(), 1, "the failed new version is deleted, once");
    assert_eq!(deletes[0].body["Version"], 2, "the resource's version stays");
}

#[tokio::test]
async fn a_rollback_of_a_replacement_creates_a_version_with_the_old_properties() {
    let Updated {
        h,
        old,
        new,
        answer: replaced,
        ..
    } = updated(full_props(), json!({"BaseImage": NEW_BASE_IMAGE})).await;

    let (_, answer) = update_ok(&h, replaced.physical_id(), &old, &new).await;
    assert_eq!(answer.physical_id(), version_arn(3));
    let version = h.sagemaker.version(IMAGE, 3).unwrap();
    assert_eq!(version.base_image, BASE_IMAGE);
    assert_eq!(version.aliases, ["latest", "stable"]);
    assert!(h.sagemaker.version(IMAGE, 2).unwrap().aliases.is_empty());
}

#[tokio::test]
async fn drifted_aliases_are_repaired_against_list_aliases_across_pages() {
    let template = with(props(), json!({"Aliases": ["a", "b", "c"]}));
    let (h, id) = created(&template).await;
    h.sagemaker.set_alias_page_size(1);
    assert!(h.sagemaker.remove_alias_out_of_band(IMAGE, "b"));
    assert!(h.sagemaker.add_alias_out_of_band(IMAGE, 1, "x"));
    h.sagemaker.clear_calls();

    // The template did not change: only SageMaker's state tells what to repair.
    let (_, answer) = update_ok(&h, &id, &template, &template).await;
    assert_eq!(answer.physical_id(), id);
    let updates = updates(&h);
    assert_eq!(updates.len(), 1, "{updates:#?}");
    assert_eq!(updates[0]["AliasesToAdd"], json!(["b"]));
    assert_eq!(updates[0]["AliasesToDelete"], json!(["x"]));
    assert_eq!(h.sagemaker.version(IMAGE, 1).unwrap().aliases, ["a", "b", "c"]);

    let version_pages: Vec<Value> = h
        .sagemaker
        .calls_of("ListAliases")
        .into_iter()
        .map(|c| c.body)
        .filter(|b| b["Version"] == 1)
        .collect();
    assert_eq!(
        version_pages.len(),
        3,
        "one page per alias (a, c, x): {version_pages:#?}"
    );
    assert!(version_pages[0].get("NextToken").is_none());
    assert!(version_pages[1..].iter().all(|b| b["NextToken"].is_string()));
}

#[tokio::test]
async fn a_version_that_no_longer_exists_is_created_again_with_a_new_arn() {
    let old = full_props();
    let (h, id) = created(&old).await;
    assert!(h.sagemaker.delete_version_out_of_band(IMAGE, 1));
    let new = with(old.clone(), json!({"ReleaseNotes": "second"}));
    let (event, answer) = update_ok(&h, &id, &new, &old).await;
    assert_eq!(answer.physical_id(), version_arn(2));
    let create = &h.sagemaker.calls_of("CreateImageVersion")[0].body;
    assert_eq!(create["ClientToken"], event["RequestId"]);
    assert_eq!(create["ReleaseNotes"], "second");
    let left = h.sagemaker.versions(IMAGE);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].version, 2);
    assert_eq!(left[0].aliases, ["latest", "stable"]);
}

#[tokio::test]
async fn removing_a_metadata_property_leaves_sagemakers_value_and_logs_a_warning() {
    let Updated { h, id, answer, .. } = updated(full_props(), json!({"ReleaseNotes": null})).await;
    assert_eq!(answer.physical_id(), id);
    assert_eq!(h.sagemaker.count("UpdateImageVersion"), 0, "nothing else changed");
    assert_eq!(
        h.sagemaker.version(IMAGE, 1).unwrap().release_notes.as_deref(),
        Some("first")
    );
    assert!(
        h.function
            .wait_for_log("ReleaseNotes", std::time::Duration::from_secs(2))
            .await
    );
    let logs = h.function.logs();
    assert!(
        logs.lines().any(|l| l.contains("WARN") && l.contains("ReleaseNotes")),
        "a warning names the removed property:\n{logs}"
    );
}
