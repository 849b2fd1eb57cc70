//! Delete: the version named by the PhysicalResourceId, answered once it is
//! gone; anything already gone, or never made, is success.

use std::time::Duration;

use serde_json::json;
use standins::local::REGION;
use standins::sagemaker::image_version_arn;

use crate::harness::{BASE_IMAGE, Harness, IMAGE, props, version_arn, with};

#[tokio::test]
async fn delete_waits_until_the_version_is_gone_then_answers_success() {
    let h = Harness::start().await;
    let delete_delay = Duration::from_millis(1500);
    h.sagemaker.set_delays(Duration::from_millis(300), delete_delay);
    let n = h
        .sagemaker
        .create_version_out_of_band(REGION, IMAGE, BASE_IMAGE, &["latest"]);
    let answer = delete_succeeds(&h, &version_arn(n)).await;

    let deletes = h.sagemaker.calls_of("DeleteImageVersion");
    assert_eq!(deletes.len(), 1);
    assert_eq!(deletes[0].body, json!({"ImageName": IMAGE, "Version": n}));
    let gone_at = deletes[0].at + delete_delay;
    assert!(answer.put.at >= gone_at, "answered while the version was DELETING");
    let late = answer.put.at - gone_at;
    assert!(
        late <= Duration::from_millis(1500),
        "answered {late:?} after it was gone"
    );
    assert!(h.sagemaker.versions(IMAGE).is_empty());
    for describe in h.sagemaker.calls_of("DescribeImageVersion") {
        assert_eq!(describe.body["Version"], n);
    }
}

#[tokio::test]
async fn delete_of_a_version_already_gone_succeeds() {
    let h = Harness::start().await;
    let n = h.sagemaker.create_version_out_of_band(REGION, IMAGE, BASE_IMAGE, &[]);
    assert!(h.sagemaker.delete_version_out_of_band(IMAGE, n));
    delete_succeeds(&h, &version_arn(n)).await;
    assert_eq!(h.sagemaker.count("DeleteImageVersion"), 1);
}

#[tokio::test]
async fn delete_when_the_whole_image_is_gone_succeeds() {
    let h = Harness::start().await;
    let id = image_version_arn(REGION, "deleted-image", 4);
    let event = h.delete_event(&id, with(props(), json!({"ImageName": "deleted-image"})));
    let deletes = deleted_once(&h, &event, &id).await;
    assert_eq!(deletes[0].body["ImageName"], "deleted-image");
    assert_eq!(deletes[0].body["Version"], 4);
}

#[tokio::test]
async fn delete_of_an_id_that_is_not_an_image_version_arn_succeeds_without_calling_sagemaker() {
    let h = Harness::start().await;
    for id in [
        "no-image-version-0000-4000-8000-000000000001",
        // What CloudFormation makes up for a Create cancelled before it answered.
        "test-ImageVersion-1A2B3C4D5E6F7",
        "arn:aws:sagemaker:us-east-1:123456789012:image/test-image",
    ] {
        let event = h.delete_event(id, props());
        let answer = h.invoke(&event).await;
        answer.assert_success();
        answer.assert_well_formed(&event);
        assert_eq!(answer.physical_id(), id);
    }
    assert!(h.sagemaker.calls().is_empty(), "{:?}", h.sagemaker.operations());
}

#[tokio::test]
async fn delete_failed_answers_failed_with_sagemakers_reason() {
    let h = Harness::start().await;
    let n = h.sagemaker.create_version_out_of_band(REGION, IMAGE, BASE_IMAGE, &[]);
    h.sagemaker
        .fail_next_deletion("InternalFailure: the version is in use by app studio-1");
    let id = version_arn(n);
    let event = h.delete_event(&id, props());
    let answer = h.invoke(&event).await;
    answer.assert_failed_with("the version is in use by app studio-1");
    answer.assert_well_formed(&event);
    assert_eq!(answer.physical_id(), id);
    assert_eq!(h.sagemaker.version(IMAGE, n).unwrap().status, "DELETE_FAILED");
}

#[tokio::test]
async fn the_answer_keeps_the_requests_physical_resource_id_byte_for_byte() {
    let h = Harness::start().await;
    let n = h.sagemaker.create_version_out_of_band(REGION, IMAGE, BASE_IMAGE, &[]);
    // An ARN spelled with the image name as the template has it.
    let id = format!("arn:aws:sagemaker:{REGION}:123456789012:image-version/Test-Image/{n}");
    let event = h.delete_event(&id, props());
    let answer = h.invoke(&event).await;
    answer.assert_success();
    assert_eq!(answer.physical_id(), id);
    assert_eq!(h.sagemaker.calls_of("DeleteImageVersion")[0].body["ImageName"], IMAGE);
    assert!(h.sagemaker.versions(IMAGE).is_empty());

    let odd = "no-image-version-ÄÖ \"quoted\" \\ é";
    let answer = h.invoke(&h.delete_event(odd, props())).await;
    answer.assert_success();
    assert_eq!(answer.physical_id(), odd);
}

#[tokio::test]
async fn delete_sends_the_image_name_from_the_properties_when_it_matches_the_arn_case_insensitively() {
    let h = Harness::start().await;
    let n = h
        .sagemaker
        .create_version_out_of_band(REGION, "MyImage", BASE_IMAGE, &[]);
    let id = image_version_arn(REGION, "MyImage", n);
    assert!(id.contains("/myimage/"), "{id}");
    let event = h.delete_event(&id, with(props(), json!({"ImageName": "MyImage"})));
    let deletes = deleted_once(&h, &event, &id).await;
    assert_eq!(deletes[0].body["ImageName"], "MyImage");
    assert!(h.sagemaker.versions("MyImage").is_empty(), "the version is really gone");
}

#[tokio::test]
async fn delete_sends_the_image_name_from_the_arn_when_the_properties_name_another_image() {
    let h = Harness::start().await;
    let n = h.sagemaker.create_version_out_of_band(REGION, IMAGE, BASE_IMAGE, &[]);
    let id = version_arn(n);
    let event = h.delete_event(&id, with(props(), json!({"ImageName": "another-image"})));
    h.invoke(&event).await.assert_success();
    let deletes = h.sagemaker.calls_of("DeleteImageVersion");
    assert_eq!(deletes.len(), 1);
    assert_eq!(deletes[0].body["ImageName"], IMAGE);
    assert!(h.sagemaker.versions(IMAGE).is_empty());
}

#[tokio::test]
async fn a_delete_that_finds_the_version_already_deleting_waits_for_it_to_go() {
    let h = Harness::start().await;
    h.sagemaker
        .set_delays(Duration::from_millis(300), Duration::from_millis(1500));
    let n = h.sagemaker.create_version_out_of_band(REGION, IMAGE, BASE_IMAGE, &[]);
    let id = version_arn(n);
    let other = h.another_instance().await;
    // The same Delete delivered twice at once: the second finds it DELETING.
    let event = h.delete_event(&id, props());
    let first = h.send(&event);
    let second = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        other.send(&event).await
    };
    let (a, b) = tokio::join!(first, second);
    assert!(a.is_response() && b.is_response());
    let answers = h.accepted_answers(event["RequestId"].as_str().unwrap());
    assert_eq!(answers.len(), 2);
    let deletes = h.sagemaker.calls_of("DeleteImageVersion");
    assert_eq!(deletes.len(), 2, "{:?}", h.sagemaker.operations());
    let gone_at = deletes[0].at + Duration::from_millis(1500);
    for answer in &answers {
        answer.assert_success();
        assert_eq!(answer.physical_id(), id);
        assert!(answer.put.at >= gone_at, "DELETING is progress, not done");
    }
    assert!(h.sagemaker.versions(IMAGE).is_empty());
}

/// Sends `event`, a Delete of `id`: SUCCESS keeping `id`, after exactly one
/// `DeleteImageVersion`, whose calls are returned.
async fn deleted_once(h: &Harness, event: &serde_json::Value, id: &str) -> Vec<standins::Call> {
    let answer = h.invoke(event).await;
    answer.assert_success();
    assert_eq!(answer.physical_id(), id);
    let deletes = h.sagemaker.calls_of("DeleteImageVersion");
    assert_eq!(deletes.len(), 1);
    deletes
}

/// A Delete of `id` with the usual properties: one well-formed SUCCESS that
/// keeps `id`.
async fn delete_succeeds(h: &Harness, id: &str) -> crate::answer::Answer {
    let event = h.delete_event(id, props());
    let answer = h.invoke(&event).await;
    answer.assert_success();
    answer.assert_well_formed(&event);
    assert_eq!(answer.physical_id(), id);
    answer
}
