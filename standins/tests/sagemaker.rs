mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use standins::{Fault, SageMakerStandIn};

const BASE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:1.0";

async fn standin(create_ms: u64, delete_ms: u64) -> SageMakerStandIn {
    let sm = SageMakerStandIn::start().await;
    sm.add_image("my-image");
    sm.set_delays(Duration::from_millis(create_ms), Duration::from_millis(delete_ms));
    sm
}

fn create_body(token: &str, aliases: &[&str]) -> Value {
    json!({"ImageName": "my-image", "BaseImage": BASE, "ClientToken": token, "Aliases": aliases})
}

async fn create_ok(sm: &SageMakerStandIn, token: &str, aliases: &[&str]) -> String {
    let out = assert_ok(&sm_req(sm, "CreateImageVersion", create_body(token, aliases)).await);
    out["ImageVersionArn"].as_str().unwrap().to_string()
}

async fn sm_req(sm: &SageMakerStandIn, op: &str, body: Value) -> RawResponse {
    call(&sm.endpoint(), op, body).await
}

async fn describe(sm: &SageMakerStandIn, version: u32) -> RawResponse {
    sm_req(
        sm,
        "DescribeImageVersion",
        json!({"ImageName": "my-image", "Version": version}),
    )
    .await
}

async fn wait_status(sm: &SageMakerStandIn, version: u32, status: &str) {
    for _ in 0..200 {
        if sm.version("my-image", version).map(|v| v.status) == Some(status.to_string()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!(
        "version {version} never reached {status}: {:?}",
        sm.version("my-image", version)
    );
}

#[tokio::test]
async fn unsigned_requests_are_rejected_and_not_logged() {
    let sm = standin(10, 10).await;
    let addr = host_of(&sm.endpoint());
    let body = br#"{"ImageName":"my-image"}"#;
    let base = [
        ("Content-Type", "application/x-amz-json-1.1"),
        ("X-Amz-Target", "SageMaker.DescribeImage"),
    ];
    // missing
    let r = request(&addr, "POST", "/", &base, body).await;
    assert_error(&r, 400, "MissingAuthenticationTokenException");
    // malformed
    let mut h = base.to_vec();
    h.push(("Authorization", "Bearer abc"));
    let r = request(&addr, "POST", "/", &h, body).await;
    assert_error(&r, 400, "MissingAuthenticationTokenException");
    // wrong service
    let auth = auth_for("us-east-1", "s3");
    let mut h = base.to_vec();
    h.push(("Authorization", &auth));
    let r = request(&addr, "POST", "/", &h, body).await;
    let msg = assert_error(&r, 400, "MissingAuthenticationTokenException");
    assert!(msg.contains("sagemaker"), "{msg}");
    // no signature
    let mut h = base.to_vec();
    h.push((
        "Authorization",
        "AWS4-HMAC-SHA256 Credential=AK/20261127/us-east-1/sagemaker/aws4_request, SignedHeaders=host",
    ));
    let r = request(&addr, "POST", "/", &h, body).await;
    assert_error(&r, 400, "MissingAuthenticationTokenException");
    assert!(sm.calls().is_empty());
    // signed works
    let auth = auth_for("us-east-1", "sagemaker");
    let mut h = base.to_vec();
    h.push(("Authorization", &auth));
    let r = request(&addr, "POST", "/", &h, body).await;
    let out = assert_ok(&r);
    assert_eq!(
        out["ImageArn"],
        "arn:aws:sagemaker:us-east-1:123456789012:image/my-image"
    );
    assert_eq!(out["ImageStatus"], "CREATED");
    assert!(out["CreationTime"].is_number());
    assert!(
        out["RoleArn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:iam::123456789012:role/")
    );
    assert_eq!(sm.count("DescribeImage"), 1);
}

#[tokio::test]
async fn unknown_operation_and_bad_json() {
    let sm = standin(10, 10).await;
    let r = sm_req(&sm, "CreateImage", json!({})).await;
    assert_error(&r, 400, "UnknownOperationException");
    assert_eq!(sm.count("CreateImage"), 1);

    let addr = host_of(&sm.endpoint());
    let auth = auth_for("us-east-1", "sagemaker");
    let r = request(
        &addr,
        "POST",
        "/",
        &[
            ("X-Amz-Target", "SageMaker.DescribeImage"),
            ("Content-Type", "application/x-amz-json-1.1"),
            ("Authorization", &auth),
        ],
        b"{not json",
    )
    .await;
    assert_error(&r, 400, "SerializationException");
}

#[tokio::test]
async fn region_comes_from_the_credential_scope() {
    let sm = standin(10, 10).await;
    let r = sm_in(
        &sm.endpoint(),
        "eu-west-1",
        "CreateImageVersion",
        create_body("tok-eu", &[]),
    )
    .await;
    let out = assert_ok(&r);
    assert_eq!(
        out["ImageVersionArn"],
        "arn:aws:sagemaker:eu-west-1:123456789012:image-version/my-image/1"
    );
    assert_eq!(sm.calls()[0].region, "eu-west-1");
    // state is per region: us-east-1 has no version yet
    let r = describe(&sm, 1).await;
    assert_error(&r, 400, "ResourceNotFound");
    assert_eq!(sm.versions_in("eu-west-1", "my-image").len(), 1);
}

#[tokio::test]
async fn validation_rules() {
    let sm = standin(10, 10).await;
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        // (operation, body, expected code, member named in the message)
        (
            "CreateImageVersion",
            json!({"ImageName": "my-image", "ClientToken": "t"}),
            "ValidationException",
            "BaseImage",
        ),
        (
            "CreateImageVersion",
            json!({"ImageName": "my-image", "BaseImage": BASE}),
            "ValidationException",
            "ClientToken",
        ),
        (
            "CreateImageVersion",
            json!({"BaseImage": BASE, "ClientToken": "t"}),
            "ValidationException",
            "ImageName",
        ),
        (
            "CreateImageVersion",
            json!({"ImageName": "my-image", "BaseImage": "", "ClientToken": "t"}),
            "ValidationException",
            "BaseImage",
        ),
        (
            "CreateImageVersion",
            json!({"ImageName": "my-image", "BaseImage": "x".repeat(256), "ClientToken": "t"}),
            "ValidationException",
            "BaseImage",
        ),
        (
            "CreateImageVersion",
            json!({"ImageName": "my-image", "BaseImage": BASE, "ClientToken": "bad_token"}),
            "ValidationException",
            "ClientToken",
        ),
        (
            "CreateImageVersion",
            json!({"ImageName": "my-image", "BaseImage": BASE, "ClientToken": "t".repeat(37)}),
            "ValidationException",
            "ClientToken",
        ),
        (
            "CreateImageVersion",
            json!({"ImageName": "my--image", "BaseImage": BASE, "ClientToken": "t"}),
            "ValidationException",
            "ImageName",
        ),
        (
            "CreateImageVersion",
            json!({"ImageName": "a".repeat(64), "BaseImage": BASE, "ClientToken": "t"}),
            "ValidationException",
            "ImageName",
        ),
        (
            "CreateImageVersion",
            json!({"ImageName": "my-image", "BaseImage": BASE, "ClientToken": "t", "Aliases": [".hidden"]}),
            "ValidationException",
            "Aliases",
        ),
        (
            "CreateImageVersion",
            json!({"ImageName": "my-image", "BaseImage": BASE, "ClientToken": "t", "Aliases": ["-dash"]}),
            "ValidationException",
            "Aliases",
        ),
        (
            "CreateImageVersion",
            json!({"ImageName": "my-image", "BaseImage": BASE, "ClientToken": "t", "Aliases": ["sp ace"]}),
            "ValidationException",
            "Aliases",
        ),
        (
            "CreateImageVersion",
            json!({"ImageName": "my-image", "BaseImage": BASE, "ClientToken": "t", "Aliases": ["a".repeat(129)]}),
            "ValidationException",
            "Aliases",
        ),
        (
            "CreateImageVersion",
            json!({"ImageName": "my-image", "BaseImage": BASE, "ClientToken": "t", "Aliases": ["dup", "dup"]}),
            "ValidationException",
            "dup",
        ),
        (
            "CreateImageVersion",
            json!({"ImageName": "my-image", "BaseImage": BASE, "ClientToken": "t", "MLFramework": "PyTorch"}),
            "ValidationException",
            "MLFramework",
        ),
        (
            "CreateImageVersion",
            json!({"ImageName": "my-image", "BaseImage": BASE, "ClientToken": "t", "ProgrammingLang": "Python 3"}),
            "ValidationException",
            "ProgrammingLang",
        ),
        (
            "CreateImageVersion",
            json!({"ImageName": "my-image", "BaseImage": BASE, "ClientToken": "t", "ReleaseNotes": ""}),
            "ValidationException",
            "ReleaseNotes",
        ),
        (
            "CreateImageVersion",
            json!({"ImageName": "my-image", "BaseImage": BASE, "ClientToken": "t", "ReleaseNotes": "n".repeat(256)}),
            "ValidationException",
            "ReleaseNotes",
        ),
        (
            "CreateImageVersion",
            json!({"ImageName": "my-image", "BaseImage": BASE, "ClientToken": "t", "JobType": "BATCH"}),
            "ValidationException",
            "JobType",
        ),
        (
            "CreateImageVersion",
            json!({"ImageName": "my-image", "BaseImage": BASE, "ClientToken": "t", "Processor": "TPU"}),
            "ValidationException",
            "Processor",
        ),
        (
            "CreateImageVersion",
            json!({"ImageName": "my-image", "BaseImage": BASE, "ClientToken": "t", "VendorGuidance": "OLD"}),
            "ValidationException",
            "VendorGuidance",
        ),
        (
            "CreateImageVersion",
            json!({"ImageName": "my-image", "BaseImage": BASE, "ClientToken": "t", "Horovod": "yes"}),
            "SerializationException",
            "Horovod",
        ),
        (
            "CreateImageVersion",
            json!({"ImageName": 5, "BaseImage": BASE, "ClientToken": "t"}),
            "SerializationException",
            "ImageName",
        ),
        (
            "CreateImageVersion",
            json!({"ImageName": "my-image", "BaseImage": BASE, "ClientToken": "t", "Aliases": "one"}),
            "SerializationException",
            "Aliases",
        ),
        (
            "DescribeImageVersion",
            json!({"ImageName": "my-image", "Version": 0}),
            "ValidationException",
            "Version",
        ),
        (
            "DescribeImageVersion",
            json!({"ImageName": "my-image", "Version": "1"}),
            "SerializationException",
            "Version",
        ),
        (
            "DescribeImageVersion",
            json!({"ImageName": "my-image", "Alias": ".x"}),
            "ValidationException",
            "Alias",
        ),
        (
            "UpdateImageVersion",
            json!({"ImageName": "my-image", "Version": 1, "AliasesToAdd": ["a", "a"]}),
            "ValidationException",
            "AliasesToAdd",
        ),
        (
            "UpdateImageVersion",
            json!({"ImageName": "my-image", "Version": 1, "AliasesToDelete": ["-a"]}),
            "ValidationException",
            "AliasesToDelete",
        ),
        (
            "UpdateImageVersion",
            json!({"ImageName": "my-image", "Version": 1, "JobType": "x"}),
            "ValidationException",
            "JobType",
        ),
        (
            "DeleteImageVersion",
            json!({"ImageName": "my-image", "Version": -1}),
            "ValidationException",
            "Version",
        ),
        (
            "ListAliases",
            json!({"ImageName": "my-image", "MaxResults": 0}),
            "ValidationException",
            "MaxResults",
        ),
        (
            "ListAliases",
            json!({"ImageName": "my-image", "MaxResults": 101}),
            "ValidationException",
            "MaxResults",
        ),
        (
            "ListAliases",
            json!({"ImageName": "my-image", "NextToken": "garbage"}),
            "ValidationException",
            "NextToken",
        ),
        (
            "ListImageVersions",
            json!({"ImageName": "my-image", "MaxResults": 500}),
            "ValidationException",
            "MaxResults",
        ),
        (
            "ListImageVersions",
            json!({"ImageName": "my-image", "SortBy": "NAME"}),
            "ValidationException",
            "SortBy",
        ),
        ("DescribeImage", json!({}), "ValidationException", "ImageName"),
    ];
    for (op, body, code, member) in cases {
        let r = sm_req(&sm, op, body.clone()).await;
        let msg = assert_error(&r, 400, code);
        assert!(
            msg.contains(member),
            "{op} {body}: message {msg:?} should name {member}"
        );
    }
    // nothing was created by any of these
    assert!(sm.versions("my-image").is_empty());
    // valid metadata is accepted
    let mut body = create_body("meta", &["_under", "v1.0"]);
    body["MLFramework"] = json!("PyTorch 2.1.0");
    body["ProgrammingLang"] = json!("Python3.10");
    body["JobType"] = json!("TRAINING");
    body["Processor"] = json!("GPU");
    body["VendorGuidance"] = json!("STABLE");
    body["Horovod"] = json!(true);
    body["ReleaseNotes"] = json!("notes");
    assert_ok(&sm_req(&sm, "CreateImageVersion", body).await);
    let v = sm.version("my-image", 1).unwrap();
    assert_eq!(v.ml_framework.as_deref(), Some("PyTorch 2.1.0"));
    assert_eq!(v.horovod, Some(true));
    assert_eq!(v.aliases, vec!["_under", "v1.0"]);
}

#[tokio::test]
async fn unknown_image_is_resource_not_found() {
    let sm = standin(10, 10).await;
    let mut body = create_body("t", &[]);
    body["ImageName"] = json!("My-Image"); // names compare exactly
    let msg = assert_error(&sm_req(&sm, "CreateImageVersion", body).await, 400, "ResourceNotFound");
    assert_eq!(msg, "Image My-Image does not exist");
    let r = sm_req(&sm, "DescribeImage", json!({"ImageName": "other"})).await;
    assert_error(&r, 400, "ResourceNotFound");
}

#[tokio::test]
async fn creating_becomes_created_after_the_delay() {
    let sm = standin(150, 10).await;
    let arn = create_ok(&sm, "tok-1", &["latest"]).await;
    assert_eq!(arn, "arn:aws:sagemaker:us-east-1:123456789012:image-version/my-image/1");
    let d = assert_ok(&describe(&sm, 1).await);
    assert_eq!(d["ImageVersionStatus"], "CREATING");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let d = assert_ok(&describe(&sm, 1).await);
    assert_eq!(d["ImageVersionStatus"], "CREATED");
    assert_eq!(d["Version"], 1);
    assert_eq!(d["BaseImage"], BASE);
    assert_eq!(d["ImageVersionArn"], arn);
    assert_eq!(d["ImageArn"], "arn:aws:sagemaker:us-east-1:123456789012:image/my-image");
    let container = d["ContainerImage"].as_str().unwrap();
    assert!(container.starts_with("123456789012.dkr.ecr.us-east-1.amazonaws.com/repo@sha256:"));
    assert_eq!(container.rsplit(':').next().unwrap().len(), 64);
    assert!(d["CreationTime"].is_number() && d["LastModifiedTime"].is_number());
    assert!(d["LastModifiedTime"].as_f64() > d["CreationTime"].as_f64());
    // no nulls, no optional members that were not set, no aliases
    let obj = d.as_object().unwrap();
    assert!(obj.values().all(|v| !v.is_null()), "{d}");
    for absent in ["FailureReason", "JobType", "Horovod", "Aliases", "MLFramework"] {
        assert!(!obj.contains_key(absent), "{absent} in {d}");
    }
    // by alias and latest
    let d = assert_ok(
        &sm_req(
            &sm,
            "DescribeImageVersion",
            json!({"ImageName": "my-image", "Alias": "latest"}),
        )
        .await,
    );
    assert_eq!(d["Version"], 1);
    let d = assert_ok(&sm_req(&sm, "DescribeImageVersion", json!({"ImageName": "my-image"})).await);
    assert_eq!(d["Version"], 1);
    let r = sm_req(
        &sm,
        "DescribeImageVersion",
        json!({"ImageName": "my-image", "Alias": "nope"}),
    )
    .await;
    assert_error(&r, 400, "ResourceNotFound");
    let r = describe(&sm, 7).await;
    let msg = assert_error(&r, 400, "ResourceNotFound");
    assert!(msg.contains("does not exist"));
}

#[tokio::test]
async fn armed_creation_failure() {
    let sm = standin(20, 10).await;
    sm.fail_next_creation("Image pull failed");
    create_ok(&sm, "tok-1", &[]).await;
    wait_status(&sm, 1, "CREATE_FAILED").await;
    let d = assert_ok(&describe(&sm, 1).await);
    assert_eq!(d["ImageVersionStatus"], "CREATE_FAILED");
    assert_eq!(d["FailureReason"], "Image pull failed");
    // only the next one fails
    create_ok(&sm, "tok-2", &[]).await;
    wait_status(&sm, 2, "CREATED").await;
    assert_eq!(sm.version("my-image", 2).unwrap().failure_reason, None);
}

#[tokio::test]
async fn concurrent_create_is_resource_in_use_but_client_token_is_idempotent() {
    let sm = standin(200, 10).await;
    let arn = create_ok(&sm, "tok-1", &[]).await;
    let r = sm_req(&sm, "CreateImageVersion", create_body("tok-2", &[])).await;
    let msg = assert_error(&r, 400, "ResourceInUse");
    assert_eq!(msg, "Resource was modified concurrently");
    // same token: same ARN, nothing created
    let again = create_ok(&sm, "tok-1", &[]).await;
    assert_eq!(again, arn);
    assert_eq!(sm.versions("my-image").len(), 1);
    wait_status(&sm, 1, "CREATED").await;
    assert_eq!(create_ok(&sm, "tok-1", &[]).await, arn);
    let arn2 = create_ok(&sm, "tok-2", &[]).await;
    assert!(arn2.ends_with("/my-image/2"));
    // a token is per image+version, failed versions still answer idempotently
    sm.fail_next_creation("boom");
    wait_status(&sm, 2, "CREATED").await;
    let arn3 = create_ok(&sm, "tok-3", &[]).await;
    wait_status(&sm, 3, "CREATE_FAILED").await;
    assert_eq!(create_ok(&sm, "tok-3", &[]).await, arn3);
}

#[tokio::test]
async fn aliases_are_unique_per_image() {
    let sm = standin(10, 10).await;
    create_ok(&sm, "tok-1", &["stable", "v1"]).await;
    wait_status(&sm, 1, "CREATED").await;
    let r = sm_req(&sm, "CreateImageVersion", create_body("tok-2", &["stable"])).await;
    let msg = assert_error(&r, 400, "ValidationException");
    assert_eq!(
        msg,
        "Alias stable is already associated with version 1 of image my-image"
    );
    assert_eq!(sm.versions("my-image").len(), 1);
    create_ok(&sm, "tok-2", &["v2"]).await;
    wait_status(&sm, 2, "CREATED").await;
    // update: adding an alias held by another version fails
    let r = sm_req(
        &sm,
        "UpdateImageVersion",
        json!({"ImageName": "my-image", "Version": 2, "AliasesToAdd": ["stable"]}),
    )
    .await;
    assert_error(&r, 400, "ValidationException");
    // adding one it holds is fine; deleting one it does not hold fails
    let out = assert_ok(
        &sm_req(
            &sm,
            "UpdateImageVersion",
            json!({"ImageName": "my-image", "Version": 2, "AliasesToAdd": ["v2"]}),
        )
        .await,
    );
    assert!(out["ImageVersionArn"].as_str().unwrap().ends_with("/my-image/2"));
    let r = sm_req(
        &sm,
        "UpdateImageVersion",
        json!({"ImageName": "my-image", "Version": 2, "AliasesToDelete": ["stable"]}),
    )
    .await;
    assert_error(&r, 400, "ValidationException");
    // move "stable": delete from 1, then add to 2; metadata set only when present
    assert_ok(
        &sm_req(
            &sm,
            "UpdateImageVersion",
            json!({"ImageName": "my-image", "Alias": "stable", "AliasesToDelete": ["stable"], "JobType": "INFERENCE"}),
        )
        .await,
    );
    assert_ok(
        &sm_req(
            &sm,
            "UpdateImageVersion",
            json!({"ImageName": "my-image", "Version": 2, "AliasesToAdd": ["stable"], "Processor": "CPU"}),
        )
        .await,
    );
    let v1 = sm.version("my-image", 1).unwrap();
    let v2 = sm.version("my-image", 2).unwrap();
    assert_eq!(v1.aliases, vec!["v1"]);
    assert_eq!(v1.job_type.as_deref(), Some("INFERENCE"));
    assert_eq!(v2.aliases, vec!["stable", "v2"]);
    assert_eq!(v2.processor.as_deref(), Some("CPU"));
    assert_ok(
        &sm_req(
            &sm,
            "UpdateImageVersion",
            json!({"ImageName": "my-image", "Version": 1, "ReleaseNotes": "r"}),
        )
        .await,
    );
    assert_eq!(
        sm.version("my-image", 1).unwrap().job_type.as_deref(),
        Some("INFERENCE")
    );
    // deleted versions free their aliases
    assert_ok(
        &sm_req(
            &sm,
            "DeleteImageVersion",
            json!({"ImageName": "my-image", "Version": 2}),
        )
        .await,
    );
    wait_status_gone(&sm, 2).await;
    create_ok(&sm, "tok-3", &["stable"]).await;
    assert_eq!(sm.version("my-image", 3).unwrap().aliases, vec!["stable"]);
}

async fn wait_status_gone(sm: &SageMakerStandIn, version: u32) {
    for _ in 0..200 {
        if sm.version("my-image", version).is_none() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("version {version} never went away");
}

#[tokio::test]
async fn update_requires_created() {
    let sm = standin(200, 10).await;
    create_ok(&sm, "tok-1", &[]).await;
    let r = sm_req(
        &sm,
        "UpdateImageVersion",
        json!({"ImageName": "my-image", "Version": 1, "ReleaseNotes": "x"}),
    )
    .await;
    assert_error(&r, 400, "ResourceInUse");
    let r = sm_req(
        &sm,
        "DeleteImageVersion",
        json!({"ImageName": "my-image", "Version": 1}),
    )
    .await;
    assert_error(&r, 400, "ResourceInUse");
}

#[tokio::test]
async fn list_aliases_paginates() {
    let sm = standin(10, 10).await;
    create_ok(&sm, "tok-1", &["a1", "a2", "a3"]).await;
    wait_status(&sm, 1, "CREATED").await;
    create_ok(&sm, "tok-2", &["b1", "b2"]).await;
    sm.set_alias_page_size(2);
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut body = json!({"ImageName": "my-image"});
        if let Some(t) = &token {
            body["NextToken"] = json!(t);
        }
        let out = assert_ok(&sm_req(&sm, "ListAliases", body).await);
        pages += 1;
        for a in out["SageMakerImageVersionAliases"].as_array().unwrap() {
            all.push(a.as_str().unwrap().to_string());
        }
        match out.get("NextToken") {
            Some(t) => token = Some(t.as_str().unwrap().to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(all, vec!["a1", "a2", "a3", "b1", "b2"]);
    // by version; MaxResults below the page size
    let out = assert_ok(
        &sm_req(
            &sm,
            "ListAliases",
            json!({"ImageName": "my-image", "Version": 1, "MaxResults": 1}),
        )
        .await,
    );
    assert_eq!(out["SageMakerImageVersionAliases"], json!(["a1"]));
    assert!(out["NextToken"].is_string());
    let out = assert_ok(&sm_req(&sm, "ListAliases", json!({"ImageName": "my-image", "Version": 2})).await);
    assert_eq!(out["SageMakerImageVersionAliases"], json!(["b1", "b2"]));
    assert!(out.get("NextToken").is_none());
    // by alias
    let out = assert_ok(&sm_req(&sm, "ListAliases", json!({"ImageName": "my-image", "Alias": "b2"})).await);
    assert_eq!(out["SageMakerImageVersionAliases"], json!(["b2"]));
    let out = assert_ok(&sm_req(&sm, "ListAliases", json!({"ImageName": "my-image", "Alias": "zz"})).await);
    assert_eq!(out["SageMakerImageVersionAliases"], json!([]));
    let r = sm_req(&sm, "ListAliases", json!({"ImageName": "my-image", "Version": 9})).await;
    assert_error(&r, 400, "ResourceNotFound");
}

#[tokio::test]
async fn list_image_versions_sorts_and_paginates() {
    let sm = standin(0, 10).await;
    for t in ["t1", "t2", "t3"] {
        create_ok(&sm, t, &[]).await;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    sm.fail_next_creation("nope");
    create_ok(&sm, "t4", &[]).await;
    tokio::time::sleep(Duration::from_millis(2)).await;
    let out = assert_ok(&sm_req(&sm, "ListImageVersions", json!({"ImageName": "my-image"})).await);
    let versions: Vec<u64> = out["ImageVersions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["Version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, vec![4, 3, 2, 1]);
    assert_eq!(out["ImageVersions"][0]["FailureReason"], "nope");
    assert_eq!(out["ImageVersions"][0]["ImageVersionStatus"], "CREATE_FAILED");
    assert!(out["ImageVersions"][1].get("FailureReason").is_none());
    assert!(out["ImageVersions"][1].get("BaseImage").is_none());
    let out = assert_ok(
        &sm_req(
            &sm,
            "ListImageVersions",
            json!({"ImageName": "my-image", "SortBy": "VERSION", "SortOrder": "ASCENDING", "MaxResults": 3}),
        )
        .await,
    );
    assert_eq!(out["ImageVersions"].as_array().unwrap().len(), 3);
    assert_eq!(out["ImageVersions"][0]["Version"], 1);
    let token = out["NextToken"].as_str().unwrap().to_string();
    let out = assert_ok(&sm_req(&sm, "ListImageVersions", json!({"ImageName": "my-image", "SortBy": "VERSION", "SortOrder": "ASCENDING", "MaxResults": 3, "NextToken": token})).await);
    assert_eq!(out["ImageVersions"].as_array().unwrap().len(), 1);
    assert_eq!(out["ImageVersions"][0]["Version"], 4);
    assert!(out.get("NextToken").is_none());
}

#[tokio::test]
async fn delete_goes_through_deleting_then_gone() {
    let sm = standin(0, 150).await;
    create_ok(&sm, "tok-1", &["keep"]).await;
    let out = assert_ok(
        &sm_req(
            &sm,
            "DeleteImageVersion",
            json!({"ImageName": "my-image", "Version": 1}),
        )
        .await,
    );
    assert_eq!(out, json!({}));
    let d = assert_ok(&describe(&sm, 1).await);
    assert_eq!(d["ImageVersionStatus"], "DELETING");
    let r = sm_req(
        &sm,
        "DeleteImageVersion",
        json!({"ImageName": "my-image", "Version": 1}),
    )
    .await;
    let msg = assert_error(&r, 400, "ResourceInUse");
    assert!(msg.contains("is being deleted"), "{msg}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let msg = assert_error(&describe(&sm, 1).await, 400, "ResourceNotFound");
    assert!(
        msg.starts_with("Image version") && msg.ends_with("does not exist"),
        "{msg}"
    );
    // numbers are never reused
    let arn = create_ok(&sm, "tok-2", &["keep"]).await;
    assert!(arn.ends_with("/my-image/2"), "{arn}");
}

#[tokio::test]
async fn armed_deletion_failure() {
    let sm = standin(0, 20).await;
    create_ok(&sm, "tok-1", &[]).await;
    sm.fail_next_deletion("Deletion blocked");
    assert_ok(
        &sm_req(
            &sm,
            "DeleteImageVersion",
            json!({"ImageName": "my-image", "Version": 1}),
        )
        .await,
    );
    wait_status(&sm, 1, "DELETE_FAILED").await;
    let d = assert_ok(&describe(&sm, 1).await);
    assert_eq!(d["FailureReason"], "Deletion blocked");
    // can be deleted again
    assert_ok(
        &sm_req(
            &sm,
            "DeleteImageVersion",
            json!({"ImageName": "my-image", "Alias": null, "Version": 1}),
        )
        .await,
    );
    wait_status_gone(&sm, 1).await;
}

#[tokio::test]
async fn fault_throttle_and_server_error() {
    let sm = standin(0, 10).await;
    sm.inject(Some("DescribeImage"), Fault::Throttle, 1);
    sm.inject(None, Fault::ServerError, 1);
    // the scoped throttle does not hit ListAliases; the unscoped 500 does
    let r = sm_req(&sm, "ListAliases", json!({"ImageName": "my-image"})).await;
    assert_error(&r, 500, "InternalFailure");
    let r = sm_req(&sm, "DescribeImage", json!({"ImageName": "my-image"})).await;
    assert_error(&r, 400, "ThrottlingException");
    assert_ok(&sm_req(&sm, "DescribeImage", json!({"ImageName": "my-image"})).await);
    let faults: Vec<Option<String>> = sm.calls().iter().map(|c| c.fault.clone()).collect();
    assert_eq!(faults, vec![Some("500".into()), Some("throttle".into()), None]);
    assert_eq!(sm.pending_faults(), 0);
    sm.clear_calls();
    assert!(sm.calls().is_empty());
}

#[tokio::test]
async fn fault_reset_closes_without_response() {
    let sm = standin(0, 10).await;
    sm.inject(Some("CreateImageVersion"), Fault::Reset, 2);
    let addr = host_of(&sm.endpoint());
    for _ in 0..2 {
        let raw = sagemaker_request(&addr, "us-east-1", "CreateImageVersion", &create_body("tok", &[]));
        let got = send_raw(&addr, &raw).await.unwrap_or_default();
        assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
    }
    // nothing created; the third call goes through
    assert!(sm.versions("my-image").is_empty());
    create_ok(&sm, "tok", &[]).await;
    assert_eq!(sm.calls_of("CreateImageVersion").len(), 3);
    assert_eq!(sm.calls_of("CreateImageVersion")[0].fault.as_deref(), Some("reset"));
}

#[tokio::test]
async fn fault_hang_never_answers() {
    let sm = standin(0, 10).await;
    sm.inject(None, Fault::Hang, 1);
    let addr = host_of(&sm.endpoint());
    let raw = sagemaker_request(&addr, "us-east-1", "DescribeImage", &json!({"ImageName": "my-image"}));
    let waited = tokio::time::timeout(Duration::from_millis(300), send_raw(&addr, &raw)).await;
    assert!(waited.is_err(), "a hung call must not be answered: {waited:?}");
    assert_eq!(sm.calls()[0].fault.as_deref(), Some("hang"));
    assert_ok(&sm_req(&sm, "DescribeImage", json!({"ImageName": "my-image"})).await);
}

#[tokio::test]
async fn keep_alive_serves_several_requests_on_one_connection() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let sm = standin(0, 10).await;
    let addr = host_of(&sm.endpoint());
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    for _ in 0..3 {
        let raw = sagemaker_request(&addr, "us-east-1", "DescribeImage", &json!({"ImageName": "my-image"}));
        let raw = String::from_utf8(raw).unwrap().replace("Connection: close\r\n", "");
        stream.write_all(raw.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = stream.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    }
    assert_eq!(sm.count("DescribeImage"), 3);
}

#[tokio::test]
async fn out_of_band_mutations() {
    let sm = standin(0, 10).await;
    create_ok(&sm, "tok-1", &["a"]).await;
    let n = sm.create_version_out_of_band("us-east-1", "my-image", "repo:2", &["b"]);
    assert_eq!(n, 2);
    assert!(sm.remove_alias_out_of_band("my-image", "a"));
    assert!(sm.add_alias_out_of_band("my-image", 1, "b"));
    assert_eq!(sm.version("my-image", 1).unwrap().aliases, vec!["b"]);
    assert!(sm.version("my-image", 2).unwrap().aliases.is_empty());
    assert!(sm.delete_version_out_of_band("my-image", 1));
    assert_error(&describe(&sm, 1).await, 400, "ResourceNotFound");
    assert!(!sm.delete_version_out_of_band("my-image", 1));
}

#[tokio::test]
async fn admin_over_http() {
    let sm = SageMakerStandIn::start().await;
    let addr = host_of(&sm.endpoint());
    let post = |path: &'static str, body: Value| {
        let addr = addr.clone();
        async move {
            request(
                &addr,
                "POST",
                path,
                &[("Content-Type", "application/json")],
                body.to_string().as_bytes(),
            )
            .await
        }
    };
    assert_eq!(post("/_standin/images", json!({"ImageName": "adm"})).await.status, 200);
    assert_eq!(
        post(
            "/_standin/config",
            json!({"CreateDelayMs": 0, "DeleteDelayMs": 0, "AliasPageSize": 1})
        )
        .await
        .status,
        200
    );
    assert_eq!(
        post(
            "/_standin/faults",
            json!({"Operation": "CreateImageVersion", "Fault": "throttle", "Count": 1})
        )
        .await
        .status,
        200
    );
    assert_eq!(
        post("/_standin/fail-next-creation", json!({"Reason": "why"}))
            .await
            .status,
        200
    );
    assert_eq!(post("/_standin/faults", json!({"Fault": "bogus"})).await.status, 400);
    let body = json!({"ImageName": "adm", "BaseImage": "x:1", "ClientToken": "t", "Aliases": ["p", "q"]});
    assert_error(
        &call(&sm.endpoint(), "CreateImageVersion", body.clone()).await,
        400,
        "ThrottlingException",
    );
    assert_ok(&call(&sm.endpoint(), "CreateImageVersion", body).await);
    let out = assert_ok(&call(&sm.endpoint(), "ListAliases", json!({"ImageName": "adm"})).await);
    assert_eq!(out["SageMakerImageVersionAliases"].as_array().unwrap().len(), 1);
    let calls = request(&addr, "GET", "/_standin/calls", &[], b"").await.json();
    assert_eq!(calls.as_array().unwrap().len(), 3);
    assert_eq!(calls[0]["Operation"], "CreateImageVersion");
    assert_eq!(calls[0]["Fault"], "throttle");
    assert_eq!(calls[0]["Region"], "us-east-1");
    assert_eq!(calls[1]["Body"]["ClientToken"], "t");
    assert!(calls[1]["Fault"].is_null());
    let versions = request(&addr, "GET", "/_standin/versions?image=adm", &[], b"")
        .await
        .json();
    assert_eq!(versions[0]["Status"], "CREATE_FAILED");
    assert_eq!(versions[0]["FailureReason"], "why");
    assert_eq!(versions[0]["Aliases"], json!(["p", "q"]));
    assert_eq!(
        post("/_standin/fail-next-deletion", json!({"Reason": "no"}))
            .await
            .status,
        200
    );
    assert_ok(
        &call(
            &sm.endpoint(),
            "DeleteImageVersion",
            json!({"ImageName": "adm", "Version": 1}),
        )
        .await,
    );
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(sm.version("adm", 1).unwrap().status, "DELETE_FAILED");
    assert_eq!(post("/_standin/calls/clear", json!({})).await.status, 200);
    assert!(sm.calls().is_empty());
    assert_eq!(request(&addr, "GET", "/_standin/nothing", &[], b"").await.status, 404);
}
