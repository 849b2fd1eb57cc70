//! The SageMaker stand-in: what it answers on the wire, and what its control API sees.

use std::time::Duration;

use serde_json::{Value, json};
use standins::{Fault, SageMakerStandIn};

use crate::client::*;

const BASE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:1.0";

async fn standin(create_ms: u64, delete_ms: u64) -> SageMakerStandIn {
    let sm = SageMakerStandIn::start().await;
    sm.add_image("my-image");
    sm.set_delays(Duration::from_millis(create_ms), Duration::from_millis(delete_ms));
    sm
}

/// A valid `CreateImageVersion` body with `changes` merged in (`null` removes a member).
fn create_with(changes: Value) -> Value {
    let mut body = json!({"ImageName": "my-image", "BaseImage": BASE, "ClientToken": "t"});
    for (k, v) in changes.as_object().unwrap() {
        match v {
            Value::Null => body.as_object_mut().unwrap().remove(k),
            _ => body.as_object_mut().unwrap().insert(k.clone(), v.clone()),
        };
    }
    body
}

fn create_body(token: &str, aliases: &[&str]) -> Value {
    create_with(json!({"ClientToken": token, "Aliases": aliases}))
}

async fn sm_req(sm: &SageMakerStandIn, op: &str, body: Value) -> RawResponse {
    call(&sm.endpoint(), op, body).await
}

async fn create_ok(sm: &SageMakerStandIn, token: &str, aliases: &[&str]) -> String {
    let out = assert_ok(&sm_req(sm, "CreateImageVersion", create_body(token, aliases)).await);
    out["ImageVersionArn"].as_str().unwrap().to_string()
}

/// `{"ImageName": "my-image"}` and `members`.
fn my_image(members: Value) -> Value {
    let mut body = json!({"ImageName": "my-image"});
    body.as_object_mut()
        .unwrap()
        .extend(members.as_object().unwrap().clone());
    body
}

async fn on_my_image(sm: &SageMakerStandIn, op: &str, members: Value) -> RawResponse {
    sm_req(sm, op, my_image(members)).await
}

/// Sends each `(operation, body, member)` and asserts a 400 `code` naming `member`.
async fn assert_each_refused(sm: &SageMakerStandIn, code: &str, cases: Vec<(&str, Value, &str)>) {
    for (op, body, member) in cases {
        let msg = assert_error(&sm_req(sm, op, body.clone()).await, 400, code);
        assert!(msg.contains(member), "{op} {body}: {msg:?} should name {member}");
    }
}

async fn describe(sm: &SageMakerStandIn, version: u32) -> RawResponse {
    on_my_image(sm, "DescribeImageVersion", json!({"Version": version})).await
}

async fn update(sm: &SageMakerStandIn, members: Value) -> RawResponse {
    on_my_image(sm, "UpdateImageVersion", members).await
}

async fn delete(sm: &SageMakerStandIn, version: u32) -> RawResponse {
    on_my_image(sm, "DeleteImageVersion", json!({"Version": version})).await
}

async fn aliases_raw(sm: &SageMakerStandIn) -> RawResponse {
    on_my_image(sm, "ListAliases", json!({})).await
}

async fn aliases(sm: &SageMakerStandIn, members: Value) -> Value {
    assert_ok(&on_my_image(sm, "ListAliases", members).await)
}

/// Waits until version `n` of `my-image` is `status` (`None`: gone).
async fn wait_status(sm: &SageMakerStandIn, n: u32, status: Option<&str>) {
    for _ in 0..200 {
        if sm.version("my-image", n).map(|v| v.status).as_deref() == status {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("version {n} never reached {status:?}: {:?}", sm.version("my-image", n));
}

#[tokio::test]
async fn requests_without_a_well_formed_sagemaker_signature_are_refused_and_not_logged() {
    let sm = standin(10, 10).await;
    let addr = host_of(&sm.endpoint());
    let wrong_service = auth_for("us-east-1", "s3");
    let unsigned = "AWS4-HMAC-SHA256 Credential=AK/20261127/us-east-1/sagemaker/aws4_request, SignedHeaders=host";
    for auth in [None, Some("Bearer abc"), Some(wrong_service.as_str()), Some(unsigned)] {
        let mut headers = vec![
            ("Content-Type", "application/x-amz-json-1.1"),
            ("X-Amz-Target", "SageMaker.ListAliases"),
        ];
        headers.extend(auth.map(|a| ("Authorization", a)));
        let r = request(&addr, "POST", "/", &headers, br#"{"ImageName":"my-image"}"#).await;
        let msg = assert_error(&r, 400, "MissingAuthenticationTokenException");
        if auth == Some(wrong_service.as_str()) {
            assert!(msg.contains("sagemaker"), "{msg}");
        }
    }
    assert!(sm.calls().is_empty());
    assert_ok(&sm_req(&sm, "ListAliases", json!({"ImageName": "my-image"})).await);
}

#[tokio::test]
async fn operations_the_function_does_not_call_are_unknown_but_logged() {
    let sm = standin(10, 10).await;
    for op in ["CreateImage", "ListImageVersions", "DescribeImage"] {
        let r = sm_req(&sm, op, json!({"ImageName": "my-image"})).await;
        assert_error(&r, 400, "UnknownOperationException");
        assert_eq!(sm.count(op), 1);
    }
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_serialization_error() {
    let sm = standin(10, 10).await;
    let auth = auth_for("us-east-1", "sagemaker");
    let headers = [
        ("X-Amz-Target", "SageMaker.DescribeImageVersion"),
        ("Content-Type", "application/x-amz-json-1.1"),
        ("Authorization", auth.as_str()),
    ];
    let r = request(&host_of(&sm.endpoint()), "POST", "/", &headers, b"{not json").await;
    assert_error(&r, 400, "SerializationException");
}

#[tokio::test]
async fn state_is_per_region_named_by_the_credential_scope() {
    let sm = standin(10, 10).await;
    let r = call_in(
        &sm.endpoint(),
        "eu-west-1",
        "CreateImageVersion",
        create_body("tok-eu", &[]),
    )
    .await;
    assert_eq!(
        assert_ok(&r)["ImageVersionArn"],
        "arn:aws:sagemaker:eu-west-1:123456789012:image-version/my-image/1"
    );
    assert_eq!(sm.calls()[0].region, "eu-west-1");
    assert_error(&describe(&sm, 1).await, 400, "ResourceNotFound");
    assert_eq!(sm.versions_in("eu-west-1", "my-image").len(), 1);
}

/// `(operation, body, message)`: a request and what it must be answered.
type Case = (&'static str, Value, String);

fn create_case(changes: Value, message: String) -> Case {
    ("CreateImageVersion", create_with(changes), message)
}

fn my_image_case(op: &'static str, members: Value, message: String) -> Case {
    (op, my_image(members), message)
}

/// SageMaker's message for one violation of the model.
fn violation(value: &str, member: &str, must: &str) -> String {
    format!("1 validation error detected: Value {value} at '{member}' failed to satisfy constraint: Member must {must}")
}

/// [`violation`] for a value the message quotes.
fn quoted_violation(value: impl std::fmt::Display, member: &str, must: String) -> String {
    violation(&format!("'{value}'"), member, &must)
}

/// Sends each case and asserts a 400 `ValidationException` with exactly its message.
async fn assert_each_violates(sm: &SageMakerStandIn, cases: Vec<Case>) {
    for (op, body, message) in cases {
        let msg = assert_error(&sm_req(sm, op, body.clone()).await, 400, "ValidationException");
        assert_eq!(msg, message, "{op} {body}");
    }
    assert!(sm.versions("my-image").is_empty());
}

#[tokio::test]
async fn a_missing_required_member_is_refused_as_null() {
    let sm = standin(10, 10).await;
    let null = |member| violation("null", member, "not be null");
    let cases = vec![
        create_case(json!({"BaseImage": null}), null("baseImage")),
        create_case(json!({"ClientToken": null}), null("clientToken")),
        create_case(json!({"ImageName": null}), null("imageName")),
        ("DescribeImageVersion", json!({"Version": 1}), null("imageName")),
        ("UpdateImageVersion", json!({}), null("imageName")),
        ("DeleteImageVersion", json!({"Version": 1}), null("imageName")),
        ("ListAliases", json!({}), null("imageName")),
    ];
    assert_each_violates(&sm, cases).await;
}

#[tokio::test]
async fn a_string_longer_than_the_models_max_is_refused() {
    let sm = standin(10, 10).await;
    let long = |n: usize| "a".repeat(n);
    let over = |n, member, max| quoted_violation(long(n), member, format!("have length less than or equal to {max}"));
    let cases = vec![
        create_case(json!({"ReleaseNotes": long(256)}), over(256, "releaseNotes", 255)),
        create_case(json!({"BaseImage": long(256)}), over(256, "baseImage", 255)),
        create_case(json!({"ClientToken": long(37)}), over(37, "clientToken", 36)),
        create_case(json!({"Aliases": [long(129)]}), over(129, "aliases.1.member", 128)),
        my_image_case("ListAliases", json!({"Alias": long(129)}), over(129, "alias", 128)),
    ];
    assert_each_violates(&sm, cases).await;
}

#[tokio::test]
async fn a_string_shorter_than_the_models_min_is_refused() {
    let sm = standin(10, 10).await;
    let empty = |member| violation("''", member, "have length greater than or equal to 1");
    let cases = vec![
        create_case(json!({"ReleaseNotes": ""}), empty("releaseNotes")),
        create_case(json!({"BaseImage": ""}), empty("baseImage")),
        create_case(json!({"ClientToken": ""}), {
            // Too short, and short of the pattern's `+`.
            let pattern = "Value '' at 'clientToken' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9-]+";
            empty("clientToken").replace("1 validation error", "2 validation errors") + "; " + pattern
        }),
    ];
    assert_each_violates(&sm, cases).await;
}

#[tokio::test]
async fn release_notes_with_a_line_break_break_the_models_pattern() {
    let sm = standin(10, 10).await;
    let mut cases: Vec<Case> = ["first line\nsecond line", "carriage\rreturn", "line\u{2028}separator"]
        .into_iter()
        .map(|notes| {
            let message = violation(
                &format!("'{notes}'"),
                "releaseNotes",
                "satisfy regular expression pattern: .*",
            );
            create_case(json!({"ReleaseNotes": notes}), message)
        })
        .collect();
    let message = violation("'a\nb'", "releaseNotes", "satisfy regular expression pattern: .*");
    cases.push(my_image_case(
        "UpdateImageVersion",
        json!({"Version": 1, "ReleaseNotes": "a\nb"}),
        message,
    ));
    assert_each_violates(&sm, cases).await;
}

#[tokio::test]
async fn a_value_outside_the_models_pattern_is_refused() {
    let sm = standin(10, 10).await;
    let unlike = |value: &str, member, p: &str| {
        quoted_violation(value, member, format!("satisfy regular expression pattern: {p}"))
    };
    let alias = "(?!^[.-])^([a-zA-Z0-9-_.]+)";
    let framework = r"[a-zA-Z]+ ?\d+\.\d+(\.\d+)?";
    let image = "[a-zA-Z0-9]([-.]?[a-zA-Z0-9]){0,62}";
    let cases = vec![
        create_case(
            json!({"ClientToken": "bad_token"}),
            unlike("bad_token", "clientToken", "[a-zA-Z0-9-]+"),
        ),
        create_case(
            json!({"ImageName": "my--image"}),
            unlike("my--image", "imageName", image),
        ),
        create_case(
            json!({"Aliases": ["ok", ".hidden"]}),
            unlike(".hidden", "aliases.2.member", alias),
        ),
        create_case(
            json!({"Aliases": ["-dash"]}),
            unlike("-dash", "aliases.1.member", alias),
        ),
        create_case(
            json!({"Aliases": ["sp ace"]}),
            unlike("sp ace", "aliases.1.member", alias),
        ),
        create_case(
            json!({"MLFramework": "PyTorch"}),
            unlike("PyTorch", "mLFramework", framework),
        ),
        create_case(
            json!({"ProgrammingLang": "Python 3"}),
            unlike("Python 3", "programmingLang", framework),
        ),
        my_image_case(
            "DescribeImageVersion",
            json!({"Alias": ".x"}),
            unlike(".x", "alias", alias),
        ),
        my_image_case(
            "UpdateImageVersion",
            json!({"Version": 1, "AliasesToDelete": ["-a"]}),
            unlike("-a", "aliasesToDelete.1.member", alias),
        ),
    ];
    assert_each_violates(&sm, cases).await;
}

#[tokio::test]
async fn a_value_outside_the_models_enum_is_refused() {
    let sm = standin(10, 10).await;
    let not_in =
        |value: &str, member, set: &str| quoted_violation(value, member, format!("satisfy enum value set: [{set}]"));
    let job_types = "TRAINING, INFERENCE, NOTEBOOK_KERNEL";
    let guidance = "NOT_PROVIDED, STABLE, TO_BE_ARCHIVED, ARCHIVED";
    let cases = vec![
        create_case(json!({"JobType": "BATCH"}), not_in("BATCH", "jobType", job_types)),
        create_case(json!({"Processor": "TPU"}), not_in("TPU", "processor", "CPU, GPU")),
        create_case(
            json!({"VendorGuidance": "OLD"}),
            not_in("OLD", "vendorGuidance", guidance),
        ),
        my_image_case(
            "UpdateImageVersion",
            json!({"Version": 1, "JobType": "training"}),
            not_in("training", "jobType", job_types),
        ),
    ];
    assert_each_violates(&sm, cases).await;
}

#[tokio::test]
async fn an_integer_outside_the_models_range_is_refused() {
    let sm = standin(10, 10).await;
    let at_least =
        |n: i64, member, min| quoted_violation(n, member, format!("have value greater than or equal to {min}"));
    let cases = vec![
        my_image_case("ListAliases", json!({"MaxResults": 0}), at_least(0, "maxResults", 1)),
        my_image_case(
            "ListAliases",
            json!({"MaxResults": 101}),
            violation("'101'", "maxResults", "have value less than or equal to 100"),
        ),
        my_image_case("DeleteImageVersion", json!({"Version": -1}), at_least(-1, "version", 0)),
        my_image_case(
            "DescribeImageVersion",
            json!({"Version": -5}),
            at_least(-5, "version", 0),
        ),
    ];
    assert_each_violates(&sm, cases).await;
}

#[tokio::test]
async fn every_violation_of_a_request_is_reported_in_one_message() {
    let sm = standin(10, 10).await;
    let body = json!({"BaseImage": BASE, "ClientToken": "t", "JobType": "BATCH", "ReleaseNotes": ""});
    let msg = assert_error(
        &sm_req(&sm, "CreateImageVersion", body).await,
        400,
        "ValidationException",
    );
    let violations: Vec<&str> = msg
        .strip_prefix("3 validation errors detected: ")
        .unwrap_or_else(|| panic!("{msg}"))
        .split("; ")
        .collect();
    assert_eq!(violations.len(), 3, "{msg}");
    assert!(violations[0].starts_with("Value null at 'imageName'"), "{msg}");
    assert!(
        msg.contains("at 'jobType'") && msg.contains("at 'releaseNotes'"),
        "{msg}"
    );
}

#[tokio::test]
async fn a_request_the_model_allows_passes() {
    let sm = standin(0, 10).await;
    let body = create_with(json!({
        "Aliases": ["_under", "v1.0"], "MLFramework": "PyTorch 2.1.0", "ProgrammingLang": "Python3.10",
        "JobType": "NOTEBOOK_KERNEL", "Processor": "CPU", "VendorGuidance": "TO_BE_ARCHIVED", "Horovod": false,
        "ReleaseNotes": "Tabs\tand ünïcode are not line breaks", "ClientToken": "a".repeat(36),
        "BaseImage": "b".repeat(255),
    }));
    assert_ok(&sm_req(&sm, "CreateImageVersion", body).await);
    let members = json!({"MaxResults": 100, "Version": 1, "Alias": "v1.0", "NextToken": null});
    assert_ok(&on_my_image(&sm, "ListAliases", members).await);
    // The model's bound for Version is 0: a version that does not exist, not a malformed one.
    assert_error(&describe(&sm, 0).await, 400, "ResourceNotFound");
}

#[tokio::test]
async fn a_member_the_model_does_not_know_is_ignored_as_aws_does() {
    let sm = standin(0, 10).await;
    let body = create_with(json!({"Aliasses": ["typo"], "Unknown": {"nested": [1, 2]}}));
    assert_ok(&sm_req(&sm, "CreateImageVersion", body).await);
    assert!(sm.version("my-image", 1).unwrap().aliases.is_empty());
}

#[tokio::test]
async fn an_alias_listed_twice_is_refused() {
    let sm = standin(10, 10).await;
    let cases = vec![
        create_case(
            json!({"Aliases": ["dup", "dup"]}),
            "Duplicate alias 'dup' in Aliases".into(),
        ),
        my_image_case(
            "UpdateImageVersion",
            json!({"Version": 1, "AliasesToAdd": ["a", "a"]}),
            "Duplicate alias 'a' in AliasesToAdd".into(),
        ),
    ];
    assert_each_violates(&sm, cases).await;
}

#[tokio::test]
async fn a_next_token_the_stand_in_did_not_give_is_refused() {
    let sm = standin(10, 10).await;
    let message = "Invalid pagination token 'garbage' for NextToken".to_string();
    let cases = vec![my_image_case("ListAliases", json!({"NextToken": "garbage"}), message)];
    assert_each_violates(&sm, cases).await;
}

#[tokio::test]
async fn a_delete_names_a_version_or_an_alias() {
    let sm = standin(10, 10).await;
    let message = "Either Version or Alias must be specified".to_string();
    assert_each_violates(&sm, vec![my_image_case("DeleteImageVersion", json!({}), message)]).await;
}

#[tokio::test]
async fn members_of_the_wrong_json_type_are_serialization_errors_naming_the_member() {
    let sm = standin(10, 10).await;
    let cases = vec![
        (
            "CreateImageVersion",
            create_with(json!({"Horovod": "yes"})),
            "'horovod'",
        ),
        (
            "CreateImageVersion",
            create_with(json!({"ImageName": 5})),
            "'imageName'",
        ),
        (
            "CreateImageVersion",
            create_with(json!({"Aliases": "one"})),
            "'aliases'",
        ),
        (
            "CreateImageVersion",
            create_with(json!({"Aliases": ["a", 1]})),
            "'aliases.2.member'",
        ),
        ("DescribeImageVersion", my_image(json!({"Version": "1"})), "'version'"),
        ("DescribeImageVersion", my_image(json!({"Version": 1.5})), "'version'"),
        // An integer is 32 bits on the wire.
        (
            "DescribeImageVersion",
            my_image(json!({"Version": 1u64 << 31})),
            "'version'",
        ),
    ];
    assert_each_refused(&sm, "SerializationException", cases).await;
    assert!(sm.versions("my-image").is_empty());
}

#[tokio::test]
async fn valid_metadata_and_aliases_are_kept_as_given() {
    let sm = standin(10, 10).await;
    let body = create_with(json!({
        "Aliases": ["_under", "v1.0"], "MLFramework": "PyTorch 2.1.0", "ProgrammingLang": "Python3.10",
        "JobType": "TRAINING", "Processor": "GPU", "VendorGuidance": "STABLE", "Horovod": true, "ReleaseNotes": "notes",
    }));
    assert_ok(&sm_req(&sm, "CreateImageVersion", body).await);
    let v = sm.version("my-image", 1).unwrap();
    assert_eq!(v.ml_framework.as_deref(), Some("PyTorch 2.1.0"));
    assert_eq!(v.horovod, Some(true));
    assert_eq!(v.aliases, vec!["_under", "v1.0"]);
}

#[tokio::test]
async fn an_image_not_registered_is_resource_not_found() {
    let sm = standin(10, 10).await;
    let body = create_with(json!({"ImageName": "My-Image"})); // names compare exactly
    let msg = assert_error(&sm_req(&sm, "CreateImageVersion", body).await, 400, "ResourceNotFound");
    assert_eq!(msg, "Image My-Image does not exist");
    let r = sm_req(&sm, "ListAliases", json!({"ImageName": "other"})).await;
    assert_error(&r, 400, "ResourceNotFound");
}

#[tokio::test]
async fn a_new_version_is_creating_then_created_after_the_delay() {
    let sm = standin(150, 10).await;
    let arn = create_ok(&sm, "tok-1", &["latest"]).await;
    assert_eq!(arn, "arn:aws:sagemaker:us-east-1:123456789012:image-version/my-image/1");
    assert_eq!(assert_ok(&describe(&sm, 1).await)["ImageVersionStatus"], "CREATING");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let d = assert_ok(&describe(&sm, 1).await);
    assert_eq!(d["ImageVersionStatus"], "CREATED");
    assert!(d["LastModifiedTime"].as_f64() > d["CreationTime"].as_f64());
}

#[tokio::test]
async fn describe_answers_only_the_members_that_are_set() {
    let sm = standin(0, 10).await;
    let arn = create_ok(&sm, "tok-1", &["latest"]).await;
    let d = assert_ok(&describe(&sm, 1).await);
    assert_eq!(d["Version"], 1);
    assert_eq!(d["BaseImage"], BASE);
    assert_eq!(d["ImageVersionArn"], arn);
    assert_eq!(d["ImageArn"], "arn:aws:sagemaker:us-east-1:123456789012:image/my-image");
    let container = d["ContainerImage"].as_str().unwrap();
    assert!(container.starts_with("123456789012.dkr.ecr.us-east-1.amazonaws.com/repo@sha256:"));
    assert_eq!(container.rsplit(':').next().unwrap().len(), 64);
    assert!(d["CreationTime"].is_number() && d["LastModifiedTime"].is_number());
    let obj = d.as_object().unwrap();
    assert!(obj.values().all(|v| !v.is_null()), "{d}");
    for absent in ["FailureReason", "JobType", "Horovod", "Aliases", "MLFramework"] {
        assert!(!obj.contains_key(absent), "{absent} in {d}");
    }
}

#[tokio::test]
async fn describe_names_a_version_by_number_alias_or_latest() {
    let sm = standin(0, 10).await;
    create_ok(&sm, "tok-1", &["latest"]).await;
    for members in [json!({"Alias": "latest"}), json!({})] {
        let d = assert_ok(&on_my_image(&sm, "DescribeImageVersion", members).await);
        assert_eq!(d["Version"], 1);
    }
    let r = on_my_image(&sm, "DescribeImageVersion", json!({"Alias": "nope"})).await;
    assert_error(&r, 400, "ResourceNotFound");
    let msg = assert_error(&describe(&sm, 7).await, 400, "ResourceNotFound");
    assert!(msg.contains("does not exist"));
}

#[tokio::test]
async fn an_armed_creation_failure_fails_only_the_next_version() {
    let sm = standin(20, 10).await;
    sm.fail_next_creation("Image pull failed");
    create_ok(&sm, "tok-1", &[]).await;
    wait_status(&sm, 1, Some("CREATE_FAILED")).await;
    let d = assert_ok(&describe(&sm, 1).await);
    assert_eq!(d["ImageVersionStatus"], "CREATE_FAILED");
    assert_eq!(d["FailureReason"], "Image pull failed");
    create_ok(&sm, "tok-2", &[]).await;
    wait_status(&sm, 2, Some("CREATED")).await;
    assert_eq!(sm.version("my-image", 2).unwrap().failure_reason, None);
}

#[tokio::test]
async fn a_create_while_another_version_is_creating_is_resource_in_use() {
    let sm = standin(200, 10).await;
    create_ok(&sm, "tok-1", &[]).await;
    let r = sm_req(&sm, "CreateImageVersion", create_body("tok-2", &[])).await;
    let msg = assert_error(&r, 400, "ResourceInUse");
    assert_eq!(msg, "Resource was modified concurrently");
    assert_eq!(sm.versions("my-image").len(), 1);
}

#[tokio::test]
async fn a_client_token_reused_with_the_same_parameters_answers_the_same_arn() {
    let sm = standin(50, 10).await;
    let body = |aliases: &[&str]| {
        create_with(
            json!({"ClientToken": "tok-1", "Aliases": aliases, "JobType": "TRAINING", "Horovod": true, "ReleaseNotes": "r"}),
        )
    };
    let first = assert_ok(&sm_req(&sm, "CreateImageVersion", body(&["a", "b"])).await);
    let again = |aliases: &'static [&'static str]| {
        let sm = sm.clone();
        async move { assert_ok(&sm_req(&sm, "CreateImageVersion", body(aliases)).await) }
    };
    assert_eq!(again(&["a", "b"]).await, first, "while creating");
    wait_status(&sm, 1, Some("CREATED")).await;
    assert_eq!(
        again(&["b", "a"]).await,
        first,
        "once created, aliases in another order"
    );
    sm.fail_next_creation("boom");
    let failed = create_ok(&sm, "tok-2", &[]).await;
    wait_status(&sm, 2, Some("CREATE_FAILED")).await;
    assert_eq!(create_ok(&sm, "tok-2", &[]).await, failed, "once failed");
    assert_eq!(sm.versions("my-image").len(), 2);
}

#[tokio::test]
async fn a_client_token_reused_with_different_parameters_is_refused() {
    let sm = standin(0, 10).await;
    sm.add_image("other-image");
    let first = json!({
        "ClientToken": "tok-1", "Aliases": ["a", "b"], "Horovod": true, "JobType": "TRAINING",
        "MLFramework": "PyTorch 2.3", "ProgrammingLang": "Python 3.11", "Processor": "GPU",
        "ReleaseNotes": "r", "VendorGuidance": "STABLE",
    });
    let arn =
        assert_ok(&sm_req(&sm, "CreateImageVersion", create_with(first.clone())).await)["ImageVersionArn"].clone();
    let changes = [
        ("BaseImage", json!("repo:2")),
        ("ImageName", json!("other-image")),
        ("Aliases", json!(["a"])),
        ("Aliases", json!(null)),
        ("Horovod", json!(false)),
        ("Horovod", json!(null)),
        ("JobType", json!("INFERENCE")),
        ("MLFramework", json!("PyTorch 2.4")),
        ("ProgrammingLang", json!("Python 3.12")),
        ("Processor", json!("CPU")),
        ("ReleaseNotes", json!("other notes")),
        ("VendorGuidance", json!("ARCHIVED")),
    ];
    for (member, value) in changes {
        let mut body = first.clone();
        body[member] = value.clone();
        let msg = assert_error(
            &sm_req(&sm, "CreateImageVersion", create_with(body)).await,
            400,
            "ValidationException",
        );
        assert_eq!(
            msg,
            format!(
                "ClientToken 'tok-1' was already used with different parameters (in {member}) by the request that created {}",
                arn.as_str().unwrap()
            ),
            "{member} = {value}"
        );
    }
    assert_eq!(sm.versions("my-image").len(), 1);
    assert!(sm.versions("other-image").is_empty());
}

#[tokio::test]
async fn a_client_token_keeps_its_first_answer_once_its_version_is_gone() {
    let sm = standin(0, 0).await;
    let first = create_ok(&sm, "tok-1", &["a"]).await;
    assert_ok(&delete(&sm, 1).await);
    wait_status(&sm, 1, None).await;
    assert_eq!(create_ok(&sm, "tok-1", &["a"]).await, first, "no second version");
    let r = sm_req(&sm, "CreateImageVersion", create_body("tok-1", &[])).await;
    assert_error(&r, 400, "ValidationException");
    assert!(sm.versions("my-image").is_empty());
}

#[tokio::test]
async fn a_version_over_the_limit_is_resource_limit_exceeded() {
    let sm = standin(0, 10).await;
    sm.set_version_limit(Some(1));
    create_ok(&sm, "tok-1", &[]).await;
    let r = sm_req(&sm, "CreateImageVersion", create_body("tok-2", &[])).await;
    assert_error(&r, 400, "ResourceLimitExceeded");
    sm.set_version_limit(None);
    create_ok(&sm, "tok-2", &[]).await;
}

#[tokio::test]
async fn an_alias_belongs_to_one_version_of_an_image() {
    let sm = standin(0, 10).await;
    create_ok(&sm, "tok-1", &["stable", "v1"]).await;
    let r = sm_req(&sm, "CreateImageVersion", create_body("tok-2", &["stable"])).await;
    let msg = assert_error(&r, 400, "ValidationException");
    assert_eq!(
        msg,
        "Alias stable is already associated with version 1 of image my-image"
    );
    create_ok(&sm, "tok-2", &["v2"]).await;
    let r = update(&sm, json!({"Version": 2, "AliasesToAdd": ["stable"]})).await;
    assert_error(&r, 400, "ValidationException");
    let out = assert_ok(&update(&sm, json!({"Version": 2, "AliasesToAdd": ["v2"]})).await);
    assert!(out["ImageVersionArn"].as_str().unwrap().ends_with("/my-image/2"));
}

#[tokio::test]
async fn update_deletes_only_aliases_the_version_holds() {
    let sm = standin(0, 10).await;
    create_ok(&sm, "tok-1", &["stable"]).await;
    create_ok(&sm, "tok-2", &[]).await;
    let r = update(&sm, json!({"Version": 2, "AliasesToDelete": ["stable"]})).await;
    assert_error(&r, 400, "ValidationException");
    assert_eq!(sm.version("my-image", 1).unwrap().aliases, vec!["stable"]);
}

#[tokio::test]
async fn update_moves_aliases_and_sets_only_the_metadata_members_given() {
    let sm = standin(0, 10).await;
    create_ok(&sm, "tok-1", &["stable", "v1"]).await;
    create_ok(&sm, "tok-2", &["v2"]).await;
    let updates = [
        json!({"Alias": "stable", "AliasesToDelete": ["stable"], "JobType": "INFERENCE"}),
        json!({"Version": 2, "AliasesToAdd": ["stable"], "Processor": "CPU"}),
        json!({"Version": 1, "ReleaseNotes": "r"}),
    ];
    for members in updates {
        assert_ok(&update(&sm, members).await);
    }
    let (v1, v2) = (sm.version("my-image", 1).unwrap(), sm.version("my-image", 2).unwrap());
    assert_eq!(v1.aliases, vec!["v1"]);
    assert_eq!(v1.job_type.as_deref(), Some("INFERENCE"));
    assert_eq!(v1.release_notes.as_deref(), Some("r"));
    assert_eq!(v2.aliases, vec!["stable", "v2"]);
    assert_eq!(v2.processor.as_deref(), Some("CPU"));
}

#[tokio::test]
async fn a_deleted_version_frees_its_aliases() {
    let sm = standin(0, 0).await;
    create_ok(&sm, "tok-1", &["stable"]).await;
    assert_ok(&delete(&sm, 1).await);
    wait_status(&sm, 1, None).await;
    create_ok(&sm, "tok-2", &["stable"]).await;
    assert_eq!(sm.version("my-image", 2).unwrap().aliases, vec!["stable"]);
}

#[tokio::test]
async fn a_version_still_creating_can_be_neither_updated_nor_deleted() {
    let sm = standin(200, 10).await;
    create_ok(&sm, "tok-1", &[]).await;
    let r = update(&sm, json!({"Version": 1, "ReleaseNotes": "x"})).await;
    assert_error(&r, 400, "ResourceInUse");
    assert_error(&delete(&sm, 1).await, 400, "ResourceInUse");
}

#[tokio::test]
async fn list_aliases_pages_through_the_sorted_aliases_of_every_version() {
    let sm = standin(0, 10).await;
    create_ok(&sm, "tok-1", &["a3", "a1", "a2"]).await;
    create_ok(&sm, "tok-2", &["b1", "b2"]).await;
    sm.set_alias_page_size(2);
    let (mut all, mut pages, mut token) = (Vec::new(), 0, None::<String>);
    loop {
        let out = aliases(&sm, token.map_or(json!({}), |t| json!({"NextToken": t}))).await;
        pages += 1;
        all.extend(out["SageMakerImageVersionAliases"].as_array().unwrap().clone());
        token = out.get("NextToken").map(|t| t.as_str().unwrap().to_string());
        if token.is_none() {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(all, vec!["a1", "a2", "a3", "b1", "b2"]);
    let out = aliases(&sm, json!({"Version": 1, "MaxResults": 1})).await;
    assert_eq!(out["SageMakerImageVersionAliases"], json!(["a1"]));
    assert!(out["NextToken"].is_string(), "MaxResults below the page size pages too");
}

#[tokio::test]
async fn list_aliases_filters_by_version_or_alias() {
    let sm = standin(0, 10).await;
    create_ok(&sm, "tok-1", &["a1"]).await;
    create_ok(&sm, "tok-2", &["b1", "b2"]).await;
    let out = aliases(&sm, json!({"Version": 2})).await;
    assert_eq!(out["SageMakerImageVersionAliases"], json!(["b1", "b2"]));
    assert!(out.get("NextToken").is_none());
    let out = aliases(&sm, json!({"Alias": "b2"})).await;
    assert_eq!(out["SageMakerImageVersionAliases"], json!(["b2"]));
    let out = aliases(&sm, json!({"Alias": "zz"})).await;
    assert_eq!(out["SageMakerImageVersionAliases"], json!([]));
    let r = on_my_image(&sm, "ListAliases", json!({"Version": 9})).await;
    assert_error(&r, 400, "ResourceNotFound");
}

#[tokio::test]
async fn a_deleted_version_is_deleting_then_gone_and_its_number_is_not_reused() {
    let sm = standin(0, 150).await;
    create_ok(&sm, "tok-1", &["keep"]).await;
    assert_eq!(assert_ok(&delete(&sm, 1).await), json!({}));
    assert_eq!(assert_ok(&describe(&sm, 1).await)["ImageVersionStatus"], "DELETING");
    let msg = assert_error(&delete(&sm, 1).await, 400, "ResourceInUse");
    assert!(msg.contains("is being deleted"), "{msg}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let msg = assert_error(&describe(&sm, 1).await, 400, "ResourceNotFound");
    assert!(
        msg.starts_with("Image version") && msg.ends_with("does not exist"),
        "{msg}"
    );
    let arn = create_ok(&sm, "tok-2", &["keep"]).await;
    assert!(arn.ends_with("/my-image/2"), "{arn}");
}

#[tokio::test]
async fn an_armed_deletion_failure_leaves_the_version_delete_failed_and_deletable() {
    let sm = standin(0, 20).await;
    create_ok(&sm, "tok-1", &[]).await;
    sm.fail_next_deletion("Deletion blocked");
    assert_ok(&delete(&sm, 1).await);
    wait_status(&sm, 1, Some("DELETE_FAILED")).await;
    assert_eq!(assert_ok(&describe(&sm, 1).await)["FailureReason"], "Deletion blocked");
    let r = on_my_image(&sm, "DeleteImageVersion", json!({"Alias": null, "Version": 1})).await;
    assert_ok(&r);
    wait_status(&sm, 1, None).await;
}

#[tokio::test]
async fn injected_throttles_and_500s_hit_their_operation_first_come_first_served() {
    let sm = standin(0, 10).await;
    sm.inject(Some("DescribeImageVersion"), Fault::Throttle, 1);
    sm.inject(None, Fault::ServerError, 1);
    assert_eq!(sm.pending_faults(), 2);
    assert_error(&aliases_raw(&sm).await, 500, "InternalFailure");
    assert_error(&describe(&sm, 1).await, 400, "ThrottlingException");
    assert_error(&describe(&sm, 1).await, 400, "ResourceNotFound");
    let faults: Vec<Option<String>> = sm.calls().iter().map(|c| c.fault.clone()).collect();
    assert_eq!(faults, vec![Some("500".into()), Some("throttle".into()), None]);
    assert_eq!(sm.pending_faults(), 0);
    sm.clear_calls();
    assert!(sm.calls().is_empty());
}

#[tokio::test]
async fn an_injected_reset_closes_the_connection_without_an_answer_or_a_change() {
    let sm = standin(0, 10).await;
    sm.inject(Some("CreateImageVersion"), Fault::Reset, 2);
    let addr = host_of(&sm.endpoint());
    for _ in 0..2 {
        let raw = sagemaker_request(&addr, "us-east-1", "CreateImageVersion", &create_body("tok", &[]));
        let got = send_raw(&addr, &raw).await.unwrap_or_default();
        assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
    }
    assert!(sm.versions("my-image").is_empty());
    create_ok(&sm, "tok", &[]).await;
    assert_eq!(sm.calls_of("CreateImageVersion").len(), 3);
    assert_eq!(sm.calls_of("CreateImageVersion")[0].fault.as_deref(), Some("reset"));
}

#[tokio::test]
async fn an_injected_hang_never_answers() {
    let sm = standin(0, 10).await;
    sm.inject(None, Fault::Hang, 1);
    let addr = host_of(&sm.endpoint());
    let raw = sagemaker_request(&addr, "us-east-1", "ListAliases", &json!({"ImageName": "my-image"}));
    let waited = tokio::time::timeout(Duration::from_millis(300), send_raw(&addr, &raw)).await;
    assert!(waited.is_err(), "a hung call must not be answered: {waited:?}");
    assert_eq!(sm.calls()[0].fault.as_deref(), Some("hang"));
    assert_ok(&aliases_raw(&sm).await);
}

#[tokio::test]
async fn one_connection_serves_several_requests() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let sm = standin(0, 10).await;
    let addr = host_of(&sm.endpoint());
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    for _ in 0..3 {
        let raw = sagemaker_request(&addr, "us-east-1", "ListAliases", &json!({"ImageName": "my-image"}));
        let raw = String::from_utf8(raw).unwrap().replace("Connection: close\r\n", "");
        stream.write_all(raw.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = stream.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    }
    assert_eq!(sm.count("ListAliases"), 3);
}

#[tokio::test]
async fn an_out_of_band_version_is_created_at_once_and_takes_its_aliases() {
    let sm = standin(10_000, 10).await;
    create_ok(&sm, "tok-1", &["a", "b"]).await;
    let n = sm.create_version_out_of_band("us-east-1", "my-image", "repo:2", &["b"]);
    assert_eq!(n, 2);
    let v = sm.version("my-image", 2).unwrap();
    assert_eq!(
        (v.status.as_str(), v.aliases.as_slice()),
        ("CREATED", ["b".to_string()].as_slice())
    );
    assert_eq!(sm.version("my-image", 1).unwrap().aliases, vec!["a"]);
}

#[tokio::test]
async fn out_of_band_alias_moves_and_deletions_apply_at_once() {
    let sm = standin(0, 10).await;
    create_ok(&sm, "tok-1", &["a"]).await;
    sm.create_version_out_of_band("us-east-1", "my-image", "repo:2", &["b"]);
    assert!(sm.remove_alias_out_of_band("my-image", "a"));
    assert!(sm.add_alias_out_of_band("my-image", 1, "b"));
    assert_eq!(sm.version("my-image", 1).unwrap().aliases, vec!["b"]);
    assert!(sm.version("my-image", 2).unwrap().aliases.is_empty());
    assert!(sm.delete_version_out_of_band("my-image", 1));
    assert_error(&describe(&sm, 1).await, 400, "ResourceNotFound");
    assert!(!sm.delete_version_out_of_band("my-image", 1));
}

#[tokio::test]
async fn the_admin_api_lists_the_calls_and_the_versions_of_an_image() {
    let sm = standin(0, 10).await;
    sm.inject(None, Fault::Throttle, 1);
    let body = create_body("t", &["q", "p"]);
    assert_error(
        &sm_req(&sm, "CreateImageVersion", body.clone()).await,
        400,
        "ThrottlingException",
    );
    assert_ok(&sm_req(&sm, "CreateImageVersion", body).await);
    let addr = host_of(&sm.endpoint());
    let calls = request(&addr, "GET", "/_standin/calls", &[], b"").await.json();
    assert_eq!(calls.as_array().unwrap().len(), 2);
    assert_eq!(calls[0]["Operation"], "CreateImageVersion");
    assert_eq!(calls[0]["Fault"], "throttle");
    assert_eq!(calls[0]["Region"], "us-east-1");
    assert_eq!(calls[1]["Body"]["ClientToken"], "t");
    assert!(calls[1]["Fault"].is_null());
    let versions = request(&addr, "GET", "/_standin/versions?image=my-image", &[], b"")
        .await
        .json();
    assert_eq!(versions[0]["Version"], 1);
    assert_eq!(versions[0]["Status"], "CREATED");
    assert_eq!(versions[0]["Aliases"], json!(["p", "q"]));
}

#[tokio::test]
async fn the_admin_api_answers_404_to_any_other_route() {
    let sm = standin(0, 10).await;
    let addr = host_of(&sm.endpoint());
    assert_eq!(request(&addr, "GET", "/_standin/nothing", &[], b"").await.status, 404);
}
