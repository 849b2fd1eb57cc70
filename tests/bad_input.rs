//! Every invalid property FAILS before any SageMaker call, with a Reason that
//! names the property, the bad value (shortened) and what is allowed.

mod common;

use common::*;
use serde_json::{Value, json};

/// Sends `properties` as a Create and as an in-place Update: both must FAIL
/// with a Reason holding every needle, and SageMaker must hear nothing.
async fn assert_refused(properties: Value, needles: &[&str]) {
    let h = Harness::start().await;
    let create = h.create_event(properties.clone());
    let answer = h.invoke(&create).await;
    for needle in needles {
        answer.assert_failed_with(needle);
    }
    assert_well_formed(&answer, &create);
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
    assert_well_formed(&answer, &update);
    assert_eq!(answer.physical_id(), id, "an Update keeps its id");

    assert_eq!(h.writes(), 0);
    assert!(
        h.sagemaker.calls().is_empty(),
        "no SageMaker call: {:?}",
        h.sagemaker.operations()
    );
}

#[tokio::test]
async fn image_name_is_required() {
    assert_refused(with(props(), json!({"ImageName": null})), &["ImageName", "required"]).await;
}

#[tokio::test]
async fn base_image_is_required() {
    assert_refused(with(props(), json!({"BaseImage": null})), &["BaseImage", "required"]).await;
}

#[tokio::test]
async fn image_name_must_match_its_pattern_in_full() {
    for bad in ["my_image", "-image", "image-", "im--age", "im.-age", &"a".repeat(64)] {
        let shown = format!("{:?}", &bad[..bad.len().min(20)]);
        let shown = shown.trim_end_matches('"');
        assert_refused(
            with(props(), json!({"ImageName": bad})),
            &["property ImageName", shown, "[a-zA-Z0-9]([-.]?[a-zA-Z0-9]){0,62}"],
        )
        .await;
    }
}

#[tokio::test]
async fn base_image_must_be_1_to_255_characters() {
    let long = "x".repeat(256);
    let reason = ["property BaseImage", "1 to 255 characters", "xxxx\"...", "(got 256)"];
    assert_refused(with(props(), json!({"BaseImage": long})), &reason).await;
    assert_refused(
        with(props(), json!({"BaseImage": ""})),
        &["property BaseImage", "1 to 255"],
    )
    .await;
}

#[tokio::test]
async fn aliases_must_match_their_pattern() {
    for bad in [".hidden", "-dash", "with space", "slash/ed", &"a".repeat(129)] {
        assert_refused(
            with(props(), json!({"Aliases": ["ok", bad]})),
            &["property Aliases", "not starting with '-' or '.'"],
        )
        .await;
    }
}

#[tokio::test]
async fn aliases_must_not_repeat() {
    assert_refused(
        with(props(), json!({"Aliases": ["latest", "v1", "latest"]})),
        &["Aliases", "\"latest\"", "more than once"],
    )
    .await;
}

#[tokio::test]
async fn aliases_must_be_a_list_of_strings() {
    assert_refused(
        with(props(), json!({"Aliases": "latest"})),
        &["Aliases", "a list of strings", "not a string"],
    )
    .await;
    assert_refused(
        with(props(), json!({"Aliases": [{"Name": "latest"}]})),
        &["Aliases", "a list of strings", "not an object"],
    )
    .await;
}

#[tokio::test]
async fn horovod_must_be_true_or_false() {
    assert_refused(
        with(props(), json!({"Horovod": "yes"})),
        &["property Horovod", "\"yes\"", "true or false"],
    )
    .await;
}

#[tokio::test]
async fn job_type_must_be_one_of_its_values() {
    assert_refused(
        with(props(), json!({"JobType": "training"})),
        &[
            "property JobType",
            "\"training\"",
            "TRAINING, INFERENCE, NOTEBOOK_KERNEL",
        ],
    )
    .await;
}

#[tokio::test]
async fn ml_framework_must_be_a_name_and_a_version() {
    assert_refused(
        with(props(), json!({"MLFramework": "PyTorch"})),
        &[
            "property MLFramework",
            "\"PyTorch\"",
            "[a-zA-Z]+ ?\\d+\\.\\d+(\\.\\d+)?",
        ],
    )
    .await;
}

#[tokio::test]
async fn programming_lang_must_be_a_name_and_a_version() {
    assert_refused(
        with(props(), json!({"ProgrammingLang": "Python 3"})),
        &[
            "property ProgrammingLang",
            "\"Python 3\"",
            "[a-zA-Z]+ ?\\d+\\.\\d+(\\.\\d+)?",
        ],
    )
    .await;
}

#[tokio::test]
async fn processor_must_be_cpu_or_gpu() {
    assert_refused(
        with(props(), json!({"Processor": "TPU"})),
        &["property Processor", "\"TPU\"", "CPU, GPU"],
    )
    .await;
}

#[tokio::test]
async fn release_notes_must_be_1_to_255_characters() {
    assert_refused(
        with(props(), json!({"ReleaseNotes": "n".repeat(256)})),
        &["property ReleaseNotes", "1 to 255 characters"],
    )
    .await;
    assert_refused(
        with(props(), json!({"ReleaseNotes": ""})),
        &["property ReleaseNotes", "1 to 255 characters"],
    )
    .await;
}

#[tokio::test]
async fn vendor_guidance_must_be_one_of_its_values() {
    assert_refused(
        with(props(), json!({"VendorGuidance": "DEPRECATED"})),
        &[
            "property VendorGuidance",
            "\"DEPRECATED\"",
            "NOT_PROVIDED, STABLE, TO_BE_ARCHIVED, ARCHIVED",
        ],
    )
    .await;
}

#[tokio::test]
async fn region_must_be_an_aws_region_name() {
    for bad in ["US-EAST-1", "useast1", "mars"] {
        let shown = format!("{bad:?}");
        assert_refused(
            with(props(), json!({"Region": bad})),
            &["property Region", &shown, "an AWS region name"],
        )
        .await;
    }
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
async fn a_list_or_map_where_a_string_belongs_fails() {
    assert_refused(
        with(props(), json!({"ImageName": {"Ref": "Image"}, "ReleaseNotes": ["a"]})),
        &[
            "property ImageName must be a string, not an object",
            "property ReleaseNotes must be a string, not a list",
        ],
    )
    .await;
}

#[tokio::test]
async fn every_problem_is_reported_at_once() {
    assert_refused(
        with(props(), json!({"JobType": "x", "Processor": "y", "Aliasses": []})),
        &["JobType", "Processor", "Aliasses"],
    )
    .await;
}

#[tokio::test]
async fn long_bad_values_are_shortened_in_the_reason() {
    let h = Harness::start().await;
    let long = "é".repeat(1000);
    let answer = h
        .invoke(&h.create_event(with(props(), json!({"ReleaseNotes": long}))))
        .await;
    answer.assert_failed_with("ReleaseNotes");
    assert!(answer.reason().contains("..."), "{}", answer.reason());
    assert!(answer.reason().chars().count() < 400, "{}", answer.reason());
    assert!(h.sagemaker.calls().is_empty());
}
