//! Create: one version per request, answered once it is CREATED.

mod common;

use common::*;
use serde_json::json;

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
    assert!(answer.data("ImageArn").ends_with(":image/test-image"));

    let create = &h.sagemaker.calls_of("CreateImageVersion")[0].body;
    assert_eq!(create["ClientToken"], event["RequestId"]);
    assert_eq!(create["BaseImage"], BASE_IMAGE);
    assert_eq!(create["Aliases"], json!(["latest", "stable"]));
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
    let body = String::from_utf8(answer.put.body.clone()).unwrap();
    assert_eq!(
        answer.put.header("content-length"),
        Some(body.len().to_string().as_str())
    );
    assert_eq!(answer.put.header("content-type").unwrap_or_default(), "");
    assert!(answer.put.header("transfer-encoding").is_none());
}
