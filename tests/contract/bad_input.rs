//! Bad input over the binary: a Create or Update with invalid properties FAILS
//! before any SageMaker call, with a Reason that names every problem; a Delete
//! does not look at them.
//!
//! What each property accepts, and what its Reason says, is tested value by
//! value in process, against the properties' parser; these few cases show
//! that the function wires that parser to each request type.

use serde_json::{Value, json};

use crate::harness::{BASE_IMAGE, Harness, IMAGE, props, version_arn, with};

/// Sends `properties` as a Create and as an in-place Update: both must FAIL
/// with a Reason holding every needle, and SageMaker must hear nothing.
async fn assert_refused(properties: Value, needles: &[&str]) {
    let h = Harness::start().await;
    let create = h.create_event(properties.clone());
    let answer = h.invoke(&create).await;
    for needle in needles {
        answer.assert_failed_with(needle);
    }
    answer.assert_well_formed(&create);
    assert!(
        answer.physical_id().starts_with("no-image-version-"),
        "a placeholder id that the rollback Delete ignores: {}",
        answer.physical_id()
    );

    let id = version_arn(1);
    let update = h.update_event(&id, properties, props());
    let answer = h.invoke(&update).await;
    for needle in needles {
        answer.assert_failed_with(needle);
    }
    answer.assert_well_formed(&update);
    assert_eq!(answer.physical_id(), id, "an Update keeps its id");

    assert!(
        h.sagemaker.calls().is_empty(),
        "no SageMaker call: {:?}",
        h.sagemaker.operations()
    );
}

#[tokio::test]
async fn a_bad_value_fails_naming_the_property_the_value_and_what_is_allowed() {
    assert_refused(
        with(props(), json!({"JobType": "training"})),
        &[
            "property JobType",
            "\"training\"",
            "INFERENCE, NOTEBOOK_KERNEL, TRAINING",
        ],
    )
    .await;
}

#[tokio::test]
async fn an_unknown_property_name_fails_and_is_named() {
    assert_refused(
        with(props(), json!({"Aliasses": ["latest"]})),
        &["unknown property", "Aliasses", "allowed properties are", "Aliases,"],
    )
    .await;
}

#[tokio::test]
async fn every_problem_is_reported_at_once() {
    assert_refused(
        with(
            props(),
            json!({"ImageName": null, "JobType": "x", "Processor": "y", "Aliasses": []}),
        ),
        &["ImageName", "required", "JobType", "Processor", "Aliasses"],
    )
    .await;
}

#[tokio::test]
async fn a_delete_does_not_validate_the_properties() {
    // Else a stack whose template went bad could never be deleted.
    let h = Harness::start().await;
    let n = h
        .sagemaker
        .create_version_out_of_band(standins::local::REGION, IMAGE, BASE_IMAGE, &[]);
    let bad = with(props(), json!({"Aliasses": 1, "JobType": "x", "BaseImage": null}));
    let event = h.delete_event(&version_arn(n), bad);
    let answer = h.invoke(&event).await;
    answer.assert_success();
    answer.assert_well_formed(&event);
    assert_eq!(answer.physical_id(), version_arn(n));
    assert_eq!(h.sagemaker.count("DeleteImageVersion"), 1);
    assert!(h.sagemaker.versions(IMAGE).is_empty(), "the version is gone");
}

#[tokio::test]
async fn a_service_timeout_outside_1_to_3600_seconds_fails_like_any_property() {
    for value in [json!("0"), json!("1e3"), json!(3601), json!({})] {
        assert_refused(
            with(props(), json!({ "ServiceTimeout": value })),
            &["property ServiceTimeout"],
        )
        .await;
    }
}

#[tokio::test]
async fn a_line_break_in_release_notes_fails_as_sagemakers_pattern_would() {
    assert_refused(
        with(props(), json!({"ReleaseNotes": "first line\nsecond line"})),
        &["property ReleaseNotes", "no line breaks"],
    )
    .await;
}
