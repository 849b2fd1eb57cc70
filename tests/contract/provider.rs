//! Provider mode (`PROVIDER_FRAMEWORK=cdk`): the binary as `onEvent` and
//! `isComplete` of CDK's Provider framework, driven here as the framework
//! drives it (the framework itself runs in `examples/cdk/test/`). It returns
//! what the framework expects, fails with the Reason as a function error, and
//! never PUTs: the framework answers CloudFormation.

use serde_json::{Value, json};
use standins::Outcome;

use crate::harness::{Harness, IMAGE, props, version_arn, with};

const FRAMEWORK_CREATE_FAILED: &str = "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED";

async fn provider() -> Harness {
    Harness::start_with(&[("PROVIDER_FRAMEWORK", "cdk")]).await
}

/// `onEvent`'s result, or the function error's message.
async fn call(h: &Harness, event: &Value) -> Result<Value, String> {
    match h.send(event).await {
        Outcome::Response(body) => Ok(serde_json::from_slice(&body).expect("JSON")),
        Outcome::Error(body) => {
            let error: Value = serde_json::from_slice(&body).expect("JSON");
            Err(error["errorMessage"].as_str().unwrap_or_default().to_owned())
        }
    }
}

/// What the framework gives `isComplete`: the event with `onEvent`'s result merged in.
fn merged(event: &Value, on_event: &Value) -> Value {
    let mut input = event.clone();
    for (k, v) in on_event.as_object().unwrap() {
        input[k] = v.clone();
    }
    input
}

/// Plays the framework's waiter: `isComplete` with the same input until done.
async fn until_complete(h: &Harness, input: &Value) -> Result<Value, String> {
    for _ in 0..100 {
        let result = call(h, input).await?;
        if result["IsComplete"] == true {
            return Ok(result);
        }
        assert!(result.get("Data").is_none(), "no Data while not complete: {result}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("never complete")
}

#[tokio::test]
async fn create_returns_the_version_from_on_event_and_its_attributes_once_complete() {
    let h = provider().await;
    let event = h.create_event(props());
    let started = call(&h, &event).await.unwrap();
    assert_eq!(started["PhysicalResourceId"], version_arn(1));
    let done = until_complete(&h, &merged(&event, &started)).await.unwrap();
    assert_eq!(done["PhysicalResourceId"], version_arn(1));
    assert_eq!(done["Data"]["Version"], "1");
    assert_eq!(done["Data"]["Arn"], version_arn(1));
    assert_eq!(
        h.sagemaker.versions(IMAGE).len(),
        1,
        "every step reuses the ClientToken"
    );
    assert!(h.receiver.puts().is_empty(), "the function never PUTs in provider mode");
}

#[tokio::test]
async fn an_in_place_update_completes_in_on_event_and_keeps_the_id() {
    let h = provider().await;
    let created = h.create_ok_through_provider().await;
    let old = props();
    let new = with(props(), json!({"ReleaseNotes": "second"}));
    let event = h.update_event(&created, new, old);
    let started = call(&h, &event).await.unwrap();
    assert_eq!(started["PhysicalResourceId"], created);
    assert_eq!(started["Data"]["Version"], "1");
    let done = until_complete(&h, &merged(&event, &started)).await.unwrap();
    assert_eq!(done["IsComplete"], true);
    assert_eq!(
        h.sagemaker.version(IMAGE, 1).unwrap().release_notes.as_deref(),
        Some("second")
    );
}

#[tokio::test]
async fn a_replacement_keeps_the_old_id_until_the_new_version_is_complete() {
    let h = provider().await;
    let created = h.create_ok_through_provider().await;
    let new = with(
        props(),
        json!({"BaseImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:2.0"}),
    );
    let event = h.update_event(&created, new, props());
    let started = call(&h, &event).await.unwrap();
    assert_eq!(
        started["PhysicalResourceId"], created,
        "a failure before CREATED keeps the old id"
    );
    let done = until_complete(&h, &merged(&event, &started)).await.unwrap();
    assert_eq!(done["PhysicalResourceId"], version_arn(2));
    assert!(
        h.sagemaker.version(IMAGE, 1).is_some(),
        "the old version is left for the cleanup Delete"
    );
}

#[tokio::test]
async fn delete_completes_once_the_version_is_gone_deleting_it_once() {
    let h = provider().await;
    let created = h.create_ok_through_provider().await;
    h.sagemaker
        .set_delays(std::time::Duration::from_millis(200), std::time::Duration::from_secs(1));
    let event = h.delete_event(&created, props());
    let started = call(&h, &event).await.unwrap();
    assert_eq!(started["PhysicalResourceId"], created, "a Delete keeps its id");
    until_complete(&h, &merged(&event, &started)).await.unwrap();
    assert!(h.sagemaker.version(IMAGE, 1).is_none());
    assert_eq!(
        h.sagemaker.count("DeleteImageVersion"),
        1,
        "isComplete polls, it does not delete again: {:?}",
        h.sagemaker.operations()
    );
}

#[tokio::test]
async fn bad_input_fails_on_event_with_the_reason_and_no_call() {
    let h = provider().await;
    let event = h.create_event(with(props(), json!({"JobType": "training"})));
    let reason = call(&h, &event).await.unwrap_err();
    assert!(
        reason.contains("property JobType has invalid value \"training\""),
        "{reason}"
    );
    assert!(h.sagemaker.calls().is_empty());
}

#[tokio::test]
async fn create_failed_fails_is_complete_with_sagemakers_reason() {
    let h = provider().await;
    h.sagemaker.fail_next_creation("the base image cannot be pulled");
    let event = h.create_event(props());
    let started = call(&h, &event).await.unwrap();
    assert_eq!(
        started["PhysicalResourceId"],
        version_arn(1),
        "the rollback Delete will remove it"
    );
    let reason = until_complete(&h, &merged(&event, &started)).await.unwrap_err();
    assert!(reason.contains("the base image cannot be pulled"), "{reason}");
}

#[tokio::test]
async fn delete_of_the_frameworks_create_failed_marker_calls_nothing() {
    let h = provider().await;
    let event = h.delete_event(FRAMEWORK_CREATE_FAILED, props());
    let started = call(&h, &event).await.unwrap();
    assert_eq!(started["PhysicalResourceId"], FRAMEWORK_CREATE_FAILED);
    until_complete(&h, &merged(&event, &started)).await.unwrap();
    assert!(h.sagemaker.calls().is_empty());
}

impl Harness {
    /// Version 1, created through onEvent and isComplete.
    async fn create_ok_through_provider(&self) -> String {
        let event = self.create_event(props());
        let started = call(self, &event).await.unwrap();
        let done = until_complete(self, &merged(&event, &started)).await.unwrap();
        self.sagemaker.clear_calls();
        done["PhysicalResourceId"].as_str().unwrap().to_owned()
    }
}

#[tokio::test]
async fn a_replacement_still_building_when_the_provider_gives_up_fails_naming_its_new_version() {
    let h = Harness::start_with(&[("PROVIDER_FRAMEWORK", "cdk"), ("PROVIDER_GIVE_UP_SECONDS", "1")]).await;
    let created = h.create_ok_through_provider().await;
    h.sagemaker.set_delays(
        std::time::Duration::from_secs(3600),
        std::time::Duration::from_millis(200),
    );
    let new = with(
        props(),
        json!({"BaseImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:2.0"}),
    );
    let event = h.update_event(&created, new, props());
    let started = call(&h, &event).await.unwrap();
    assert_eq!(started["PhysicalResourceId"], created);
    let reason = until_complete(&h, &merged(&event, &started)).await.unwrap_err();
    assert!(reason.starts_with("timed out"), "{reason}");
    assert!(reason.contains(&version_arn(2)), "the new version is named: {reason}");
}

#[tokio::test]
async fn a_handover_without_its_start_time_does_not_give_up() {
    let h = Harness::start_with(&[("PROVIDER_FRAMEWORK", "cdk"), ("PROVIDER_GIVE_UP_SECONDS", "1")]).await;
    h.sagemaker.set_delays(
        std::time::Duration::from_secs(3600),
        std::time::Duration::from_millis(200),
    );
    let event = h.create_event(props());
    let mut started = call(&h, &event).await.unwrap();
    let handover = started["SageMakerImageVersion"].as_object_mut().unwrap();
    assert!(handover.remove("StartedMs").is_some(), "onEvent records when it ran");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let result = call(&h, &merged(&event, &started)).await.unwrap();
    assert_eq!(result["IsComplete"], false, "{result}");
}

/// The events of `events/provider/` (`make invoke PROVIDER_FRAMEWORK=cdk`),
/// in order, return what the README's table says.
#[tokio::test]
async fn the_provider_events_return_what_the_readme_says() {
    let h = provider().await;
    h.sagemaker.add_image(standins::local::DEMO_IMAGE);
    let arn = |n| standins::local::demo_version_arn(n);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("events/provider");
    let event = |name: &str| -> Value {
        let text = std::fs::read_to_string(dir.join(format!("{name}.json"))).expect("the event file");
        serde_json::from_str(&text).expect("JSON")
    };
    let started = call(&h, &event("on-event-create")).await.unwrap();
    assert_eq!(started["PhysicalResourceId"], arn(1));
    let done = until_complete(&h, &event("is-complete-create")).await.unwrap();
    assert_eq!(done["PhysicalResourceId"], arn(1));
    assert_eq!(done["Data"]["Version"], "1");

    let in_place = call(&h, &event("on-event-update-in-place")).await.unwrap();
    assert_eq!(in_place["PhysicalResourceId"], arn(1));
    assert_eq!(in_place["SageMakerImageVersion"]["Complete"], true);
    assert_eq!(
        call(&h, &event("is-complete-update-in-place")).await.unwrap(),
        json!({"IsComplete": true})
    );

    let replacing = call(&h, &event("on-event-update-replacement")).await.unwrap();
    assert_eq!(
        replacing["PhysicalResourceId"],
        arn(1),
        "the old id until the new version is complete"
    );
    let replaced = until_complete(&h, &event("is-complete-update-replacement"))
        .await
        .unwrap();
    assert_eq!(replaced["PhysicalResourceId"], arn(2));

    let deleting = call(&h, &event("on-event-delete")).await.unwrap();
    assert_eq!(deleting["PhysicalResourceId"], arn(1));
    until_complete(&h, &event("is-complete-delete")).await.unwrap();
    assert!(h.sagemaker.version(standins::local::DEMO_IMAGE, 1).is_none());

    let reason = call(&h, &event("on-event-bad-input")).await.unwrap_err();
    assert!(reason.contains("Aliasses"), "{reason}");

    h.sagemaker.clear_calls();
    let marker = call(&h, &event("on-event-delete-marker")).await.unwrap();
    assert_eq!(marker["SageMakerImageVersion"]["Complete"], true);
    assert!(h.sagemaker.calls().is_empty());
}
