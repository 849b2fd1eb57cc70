//! The handler with a fake SageMaker, for what a real one cannot be made to
//! do: panic.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use standins::ResponseReceiver;

use super::*;
use crate::sagemaker::{ApiError, ImageVersions, NewVersion, NoRegion, VersionState, VersionUpdate};

const ARN_OF_VERSION_1: &str = "arn:aws:sagemaker:us-east-1:123456789012:image-version/test-image/1";

/// Where the fake panics.
#[derive(Clone, Copy)]
enum PanicIn {
    Create,
    Describe,
}

#[derive(Clone, Copy)]
struct PanickingSageMaker(PanicIn);

impl ImageVersions for PanickingSageMaker {
    async fn create(&self, new: &NewVersion<'_>) -> Result<String, ApiError> {
        match self.0 {
            PanicIn::Create => panic!("fake CreateImageVersion exploded"),
            PanicIn::Describe => Ok(ARN_OF_VERSION_1.replace("test-image", new.image_name)),
        }
    }

    async fn describe(&self, _: &str, _: i32) -> Result<VersionState, ApiError> {
        panic!("fake DescribeImageVersion exploded")
    }

    async fn holder_of(&self, _: &str, _: &str) -> Result<Option<i32>, ApiError> {
        Ok(None)
    }

    async fn update(&self, _: &str, _: i32, _: &VersionUpdate) -> Result<(), ApiError> {
        panic!("no update expected")
    }

    async fn delete(&self, _: &str, _: i32) -> Result<(), ApiError> {
        panic!("no delete expected")
    }

    async fn aliases(&self, _: &str, _: Option<i32>) -> Result<BTreeSet<String>, ApiError> {
        Ok(BTreeSet::new())
    }
}

impl Regions for PanickingSageMaker {
    type Api = PanickingSageMaker;

    async fn default_region(&self) -> Result<String, NoRegion> {
        Ok("us-east-1".to_owned())
    }

    async fn api(&self, _: &str) -> PanickingSageMaker {
        *self
    }
}

fn context(time_left: Duration) -> Context {
    let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + time_left;
    let mut context = Context::default();
    context.request_id = "lambda-request-1".to_owned();
    context.deadline = deadline.as_millis() as u64;
    context
}

fn create_event(receiver: &ResponseReceiver) -> Value {
    let id = "0f8e0a6e-1c2d-4b7a-9e01-000000000001";
    json!({
        "RequestType": "Create",
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:sagemaker-image-version",
        "ResponseURL": receiver.response_url(id),
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/test/1a2b",
        "RequestId": id,
        "ResourceType": "Custom::SageMakerImageVersion",
        "LogicalResourceId": "ImageVersion",
        "ResourceProperties": {"ImageName": "test-image", "BaseImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:1.0"},
    })
}

async fn run(fake: PanickingSageMaker) -> (ResponseReceiver, Value) {
    let receiver = ResponseReceiver::start().await;
    let handler = Handler::new(fake, ResponseSender::new(&TrustRoots::load(), true, None), None, None);
    let event = create_event(&receiver);
    let result = tokio::time::timeout(
        Duration::from_secs(20),
        handler.handle(LambdaEvent::new(
            serde_json::value::to_raw_value(&event).unwrap(),
            context(Duration::from_secs(60)),
        )),
    )
    .await
    .expect("the handler returns");
    assert!(result.is_ok(), "the handler returns Ok after a panic: {result:?}");
    (receiver, event)
}

/// The one answer of a Create whose SageMaker panics in `panic_in`: FAILED,
/// echoing the request. Its Reason and physical id.
async fn the_one_failed_answer(panic_in: PanicIn) -> (String, String) {
    let (receiver, event) = run(PanickingSageMaker(panic_in)).await;
    let id = event["RequestId"].as_str().unwrap();
    assert_eq!(receiver.count_for(id), 1, "one PUT");
    assert_eq!(receiver.accepted_count_for(id), 1, "one accepted answer");
    let answer = receiver.accepted()[0].body_json().unwrap();
    for key in ["StackId", "RequestId", "LogicalResourceId"] {
        assert_eq!(answer[key], event[key]);
    }
    assert_eq!(answer["Status"], "FAILED", "{answer:#}");
    let text = |key: &str| answer[key].as_str().unwrap().to_owned();
    (text("Reason"), text("PhysicalResourceId"))
}

#[tokio::test]
async fn a_panic_in_the_handler_answers_failed_naming_the_panic_and_returns_ok() {
    let (reason, id) = the_one_failed_answer(PanicIn::Create).await;
    assert!(reason.contains("panic"), "{reason}");
    assert!(reason.contains("fake CreateImageVersion exploded"), "{reason}");
    assert!(id.starts_with("no-image-version-"), "no version exists: {id}");
}

#[tokio::test]
async fn a_panic_after_the_version_was_requested_answers_failed_with_its_arn() {
    let (reason, id) = the_one_failed_answer(PanicIn::Describe).await;
    assert!(reason.contains("fake DescribeImageVersion exploded"), "{reason}");
    assert_eq!(
        id, ARN_OF_VERSION_1,
        "the rollback Delete must be able to remove the version"
    );
}
