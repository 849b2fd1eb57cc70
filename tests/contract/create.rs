//! Create: one version per request, answered once it is CREATED.

use std::time::Duration;

use serde_json::json;
use standins::local::REGION;
use standins::sagemaker::image_arn;

use crate::harness::{BASE_IMAGE, Harness, IMAGE, props, version_arn, with};

#[tokio::test]
async fn create_sends_every_property_and_answers_the_version_attributes() {
    let h = Harness::start().await;
    let props = with(
        props(),
        json!({
            "ServiceTimeout": "900",
            "Aliases": ["latest", "stable"],
            "Horovod": "true",
            "JobType": "TRAINING",
            "MLFramework": "PyTorch 2.3",
            "ProgrammingLang": "Python 3.11",
            "Processor": "GPU",
            "ReleaseNotes": "notes",
            "VendorGuidance": "STABLE",
        }),
    );
    let event = h.create_event(props);
    let answer = h.invoke(&event).await;
    answer.assert_success();
    assert_eq!(answer.physical_id(), version_arn(1));
    assert_eq!(answer.data("Arn"), version_arn(1));
    assert_eq!(answer.data("ImageVersionArn"), version_arn(1));
    assert_eq!(answer.data("Version"), "1");
    assert!(answer.data("ContainerImage").contains("@sha256:"));
    assert_eq!(answer.data("ImageArn"), image_arn(REGION, IMAGE));

    let create = &h.sagemaker.calls_of("CreateImageVersion")[0].body;
    assert_eq!(create["ClientToken"], event["RequestId"]);
    assert_eq!(create["BaseImage"], BASE_IMAGE);
    assert!(create.get("Aliases").is_none(), "aliases follow once CREATED: {create}");
    assert_eq!(create["Horovod"], json!(true));
    assert_eq!(create["JobType"], "TRAINING");
    assert_eq!(create["MLFramework"], "PyTorch 2.3");
    assert_eq!(create["ProgrammingLang"], "Python 3.11");
    assert_eq!(create["Processor"], "GPU");
    assert_eq!(create["ReleaseNotes"], "notes");
    assert_eq!(create["VendorGuidance"], "STABLE");
    for describe in h.sagemaker.calls_of("DescribeImageVersion") {
        assert_eq!(describe.body["Version"], 1, "never describe the latest version");
    }
    assert_eq!(h.sagemaker.version(IMAGE, 1).unwrap().aliases, ["latest", "stable"]);
    answer.assert_well_formed(&event);
}

#[tokio::test]
async fn every_create_image_version_under_one_token_sends_the_same_parameters() {
    let h = Harness::start().await;
    h.sagemaker
        .create_version_out_of_band(REGION, IMAGE, BASE_IMAGE, &["latest"]);
    let event = h.create_event(with(
        props(),
        json!({"Aliases": ["latest", "new"], "ReleaseNotes": "n"}),
    ));
    // Delivered, then delivered again once its aliases are in place: the
    // second try meets other aliases than the first, and sends the same.
    h.invoke(&event).await.assert_success();
    let answers = h.deliver_again(&event).await;
    assert_eq!(answers.len(), 2);
    assert_eq!(answers[0].physical_id(), answers[1].physical_id());
    let creates = h.sagemaker.calls_of("CreateImageVersion");
    assert_eq!(creates.len(), 2);
    assert_eq!(creates[0].body, creates[1].body);
}

#[tokio::test]
async fn create_answers_success_once_the_version_is_created_and_within_about_a_second_of_it() {
    let h = Harness::start().await;
    let create_delay = Duration::from_secs(2);
    h.sagemaker.set_delays(create_delay, Duration::from_millis(200));
    let event = h.create_event(props());
    let answer = h.invoke(&event).await;
    answer.assert_success();
    answer.assert_well_formed(&event);
    assert_eq!(answer.physical_id(), version_arn(1));

    let created_at = h.sagemaker.calls_of("CreateImageVersion")[0].at + create_delay;
    assert!(answer.put.at >= created_at, "answered before the version was CREATED");
    let late = answer.put.at - created_at;
    assert!(late <= Duration::from_millis(1500), "answered {late:?} after CREATED");
    let describes = h.sagemaker.calls_of("DescribeImageVersion");
    assert!(
        (2..=4).contains(&describes.len()),
        "about one DescribeImageVersion a second: {}",
        describes.len()
    );
    for describe in &describes {
        assert_eq!(describe.body["ImageName"], IMAGE);
        assert_eq!(describe.body["Version"], 1);
    }
    assert_eq!(h.sagemaker.version(IMAGE, 1).unwrap().status, "CREATED");
}

#[tokio::test]
async fn create_failed_answers_failed_with_the_failure_reason_and_the_version_arn_that_the_rollback_delete_removes() {
    let h = Harness::start().await;
    h.sagemaker
        .fail_next_creation("ClientError: the base image could not be pulled");
    let event = h.create_event(props());
    let answer = h.invoke(&event).await;
    answer.assert_failed_with("ClientError: the base image could not be pulled");
    answer.assert_well_formed(&event);
    assert_eq!(answer.physical_id(), version_arn(1));
    assert!(answer.body.get("Data").is_none(), "{:#}", answer.body);
    assert_eq!(h.sagemaker.version(IMAGE, 1).unwrap().status, "CREATE_FAILED");

    let rollback = h.delete_event(answer.physical_id(), props());
    let deleted = h.invoke(&rollback).await;
    deleted.assert_success();
    assert_eq!(deleted.physical_id(), version_arn(1));
    let delete = &h.sagemaker.calls_of("DeleteImageVersion")[0].body;
    assert_eq!(delete["ImageName"], IMAGE);
    assert_eq!(delete["Version"], 1);
    assert!(h.sagemaker.versions(IMAGE).is_empty(), "the failed version is gone");
}

#[tokio::test]
async fn create_on_an_image_that_does_not_exist_fails_naming_the_image_and_makes_no_version() {
    let h = Harness::start().await;
    let event = h.create_event(with(props(), json!({"ImageName": "no-such-image"})));
    let answer = h.invoke(&event).await;
    answer.assert_failed_with("no-such-image");
    assert!(answer.reason().contains("does not exist"), "{}", answer.reason());
    answer.assert_well_formed(&event);
    assert!(
        !answer.physical_id().is_empty() && !answer.physical_id().starts_with("arn:"),
        "a placeholder id, not an ARN: {}",
        answer.physical_id()
    );
    assert!(h.sagemaker.versions("no-such-image").is_empty());
    assert!(h.sagemaker.versions(IMAGE).is_empty());

    // The rollback Delete of the placeholder touches nothing.
    h.sagemaker.clear_calls();
    let rollback = h.delete_event(answer.physical_id(), event["ResourceProperties"].clone());
    h.invoke(&rollback).await.assert_success();
    assert!(h.sagemaker.calls().is_empty());
}

#[tokio::test]
async fn the_same_create_delivered_twice_makes_one_version_and_answers_the_same_arn_twice() {
    let h = Harness::start().await;
    let event = h.create_event(props());
    let request_id = event["RequestId"].as_str().unwrap();
    assert!(h.send(&event).await.is_response());
    assert!(h.send(&event).await.is_response());

    let answers = h.accepted_answers(request_id);
    assert_eq!(answers.len(), 2, "one answer per delivery");
    for answer in &answers {
        answer.assert_success();
        assert_eq!(answer.physical_id(), version_arn(1));
        answer.assert_well_formed(&event);
    }
    let creates = h.sagemaker.calls_of("CreateImageVersion");
    assert_eq!(creates.len(), 2);
    for create in &creates {
        assert_eq!(create.body["ClientToken"], request_id, "ClientToken = RequestId");
    }
    assert_eq!(h.sagemaker.versions(IMAGE).len(), 1, "one version");
}

#[tokio::test]
async fn concurrent_creates_on_one_image_make_distinct_versions_each_answered_with_its_own_arn() {
    let h = Harness::start().await;
    let (second, third) = (h.another_instance().await, h.another_instance().await);
    let events: Vec<_> = (0..3).map(|_| h.create_event(props())).collect();
    let (a, b, c) = tokio::join!(h.send(&events[0]), second.send(&events[1]), third.send(&events[2]),);
    assert!(a.is_response() && b.is_response() && c.is_response());

    let versions = h.sagemaker.versions(IMAGE);
    assert_eq!(versions.len(), 3, "three versions: {versions:#?}");
    let mut arns = Vec::new();
    for event in &events {
        let answer = h.answer_to(event["RequestId"].as_str().unwrap()).await;
        answer.assert_success();
        answer.assert_well_formed(event);
        let version = versions
            .iter()
            .find(|v| v.client_token == event["RequestId"].as_str().unwrap())
            .expect("a version per request");
        assert_eq!(version.status, "CREATED");
        assert_eq!(
            answer.physical_id(),
            version.arn,
            "each request answers its own version"
        );
        assert_eq!(answer.data("Version"), version.version.to_string());
        arns.push(answer.physical_id().to_owned());
    }
    arns.sort();
    arns.dedup();
    assert_eq!(arns.len(), 3, "distinct ARNs");
    // Creates that met another version CREATING got ResourceInUse and were retried.
    let creates = h.sagemaker.calls_of("CreateImageVersion").len();
    assert!(creates >= 3, "{creates} CreateImageVersion calls");
}

#[tokio::test]
async fn an_alias_held_by_another_version_is_moved_to_the_new_version() {
    let h = Harness::start().await;
    let old = h
        .sagemaker
        .create_version_out_of_band(REGION, IMAGE, BASE_IMAGE, &["latest", "kept"]);
    let event = h.create_event(with(props(), json!({"Aliases": ["latest", "new"]})));
    let answer = h.invoke(&event).await;
    answer.assert_success();
    assert_eq!(answer.physical_id(), version_arn(old + 1));

    assert_eq!(h.sagemaker.version(IMAGE, old).unwrap().aliases, ["kept"]);
    assert_eq!(h.sagemaker.version(IMAGE, old + 1).unwrap().aliases, ["latest", "new"]);
    let updates: Vec<_> = h
        .sagemaker
        .calls_of("UpdateImageVersion")
        .into_iter()
        .map(|c| c.body)
        .collect();
    assert_eq!(updates.len(), 2, "{updates:#?}");
    assert_eq!(updates[0]["Version"], old);
    assert_eq!(updates[0]["AliasesToDelete"], json!(["latest"]));
    assert!(updates[0].get("AliasesToAdd").is_none());
    assert_eq!(updates[1]["Version"], old + 1);
    assert_eq!(updates[1]["AliasesToAdd"], json!(["latest", "new"]));
    assert!(updates[1].get("AliasesToDelete").is_none());
}
