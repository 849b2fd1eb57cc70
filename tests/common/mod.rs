//! The real binary under a Runtime API served by the test, against the
//! SageMaker stand-in and the response receiver, all on loopback.
#![allow(dead_code)] // each test file uses its own part of the harness

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use standins::{Deadline, FunctionProcess, Outcome, Put, ResponseReceiver, RuntimeApi, SageMakerStandIn};

pub const IMAGE: &str = "test-image";
pub const REGION: &str = "us-east-1";
pub const BASE_IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:1.0";
pub const SECRET_KEY: &str = "harness-secret-access-key-value";
pub const SESSION_TOKEN: &str = "harness-session-token-value";

/// What must never appear in a log line.
pub const SECRETS: [&str; 6] = [
    "X-Amz-Signature",
    "X-Amz-Credential",
    "Signature=",
    SECRET_KEY,
    SESSION_TOKEN,
    "AKIAIOSFODNN7EXAMPLE",
];

pub fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_sagemaker-image-version"))
}

pub struct Harness {
    pub sagemaker: SageMakerStandIn,
    pub receiver: ResponseReceiver,
    pub runtime: RuntimeApi,
    pub function: FunctionProcess,
}

/// A CloudFormation-like request id: unique, UUID-shaped.
pub fn request_id() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    format!(
        "{:08x}-0000-4000-8000-{:012x}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

pub fn props() -> Value {
    json!({
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:sagemaker-image-version",
        "ImageName": IMAGE,
        "BaseImage": BASE_IMAGE,
    })
}

pub fn with(mut props: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().expect("an object").clone() {
        if v.is_null() {
            props.as_object_mut().unwrap().remove(&k);
        } else {
            props[k] = v;
        }
    }
    props
}

impl Harness {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    pub async fn start_with(extra_env: &[(&str, &str)]) -> Self {
        let sagemaker = SageMakerStandIn::start().await;
        sagemaker.add_image(IMAGE);
        sagemaker.set_delays(Duration::from_millis(300), Duration::from_millis(200));
        let receiver = ResponseReceiver::start().await;
        let runtime = RuntimeApi::start().await;
        let env = function_env(&sagemaker, extra_env);
        let function = FunctionProcess::spawn(bin(), &runtime, &env);
        Harness {
            sagemaker,
            receiver,
            runtime,
            function,
        }
    }

    fn base_event(&self, request_type: &str) -> Value {
        let id = request_id();
        json!({
            "RequestType": request_type,
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:sagemaker-image-version",
            "ResponseURL": self.receiver.response_url(&id),
            "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/test/1a2b",
            "RequestId": id,
            "ResourceType": "Custom::SageMakerImageVersion",
            "LogicalResourceId": "ImageVersion",
        })
    }

    pub fn create_event(&self, props: Value) -> Value {
        with(self.base_event("Create"), json!({ "ResourceProperties": props }))
    }

    pub fn update_event(&self, physical_id: &str, props: Value, old_props: Value) -> Value {
        with(
            self.base_event("Update"),
            json!({ "PhysicalResourceId": physical_id, "ResourceProperties": props, "OldResourceProperties": old_props }),
        )
    }

    pub fn delete_event(&self, physical_id: &str, props: Value) -> Value {
        with(
            self.base_event("Delete"),
            json!({ "PhysicalResourceId": physical_id, "ResourceProperties": props }),
        )
    }

    /// Invokes with a minute to go and returns the one answer that arrived.
    pub async fn invoke(&self, event: &Value) -> Answer {
        self.invoke_with(event, Deadline::In(Duration::from_secs(60))).await
    }

    pub async fn invoke_with(&self, event: &Value, deadline: Deadline) -> Answer {
        let outcome = self.invoke_raw(serde_json::to_vec(event).unwrap(), deadline).await;
        assert!(
            outcome.is_response(),
            "the function must return Ok to Lambda: {outcome:?}"
        );
        self.answer_to(event["RequestId"].as_str().unwrap()).await
    }

    pub async fn invoke_raw(&self, payload: Vec<u8>, deadline: Deadline) -> Outcome {
        tokio::time::timeout(Duration::from_secs(120), self.runtime.invoke(payload, deadline))
            .await
            .unwrap_or_else(|_| panic!("no invocation result within 120 s; logs:\n{}", self.function.logs()))
    }

    /// The single accepted answer to `request_id`.
    pub async fn answer_to(&self, request_id: &str) -> Answer {
        let put = self
            .receiver
            .wait_for(request_id, Duration::from_secs(10))
            .await
            .unwrap_or_else(|| panic!("no answer for {request_id}; logs:\n{}", self.function.logs()));
        assert_eq!(
            self.receiver.accepted_count_for(request_id),
            1,
            "exactly one answer per request"
        );
        Answer::from(put)
    }

    /// Writes to SageMaker: what a bad input must never cause.
    pub fn writes(&self) -> usize {
        ["CreateImageVersion", "UpdateImageVersion", "DeleteImageVersion"]
            .iter()
            .map(|op| self.sagemaker.count(op))
            .sum()
    }

    pub fn assert_logs_hold_no_secret(&self) {
        let logs = self.function.logs();
        for secret in SECRETS {
            assert!(!logs.contains(secret), "the logs hold {secret:?}:\n{logs}");
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.assert_logs_hold_no_secret();
        }
    }
}

#[derive(Debug, Clone)]
pub struct Answer {
    pub put: Put,
    pub body: Value,
}

impl From<Put> for Answer {
    fn from(put: Put) -> Self {
        let body = put.body_json().expect("the answer is JSON");
        Answer { put, body }
    }
}

impl Answer {
    pub fn status(&self) -> &str {
        self.body["Status"].as_str().unwrap_or_default()
    }

    pub fn reason(&self) -> &str {
        self.body["Reason"].as_str().unwrap_or_default()
    }

    pub fn physical_id(&self) -> &str {
        self.body["PhysicalResourceId"].as_str().unwrap_or_default()
    }

    pub fn data(&self, key: &str) -> &str {
        self.body["Data"][key].as_str().unwrap_or_default()
    }

    pub fn assert_success(&self) -> &Self {
        assert_eq!(self.status(), "SUCCESS", "{:#}", self.body);
        self
    }

    pub fn assert_failed_with(&self, needle: &str) -> &Self {
        assert_eq!(self.status(), "FAILED", "{:#}", self.body);
        assert!(
            self.reason().contains(needle),
            "Reason {:?} lacks {needle:?}",
            self.reason()
        );
        self
    }
}

pub fn version_arn(version: u32) -> String {
    format!("arn:aws:sagemaker:{REGION}:123456789012:image-version/{IMAGE}/{version}")
}

// ---------------------------------------------------------------------------
// Helpers added for the contract suite.

/// The environment `Harness::start_with` gives the function, for extra
/// function processes against the same stand-ins.
pub fn function_env(sagemaker: &SageMakerStandIn, extra_env: &[(&str, &str)]) -> Vec<(String, String)> {
    let endpoint = sagemaker.endpoint();
    let mut env: Vec<(String, String)> = [
        ("AWS_ENDPOINT_URL_SAGEMAKER", endpoint.as_str()),
        ("AWS_REGION", REGION),
        ("AWS_ACCESS_KEY_ID", "AKIDHARNESS"),
        ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
        ("AWS_SESSION_TOKEN", SESSION_TOKEN),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("CFN_ALLOW_LOOPBACK_RESPONSE_URL", "true"),
        ("RUST_LOG", "info"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (key, value) in extra_env {
        env.retain(|(k, _)| k != key);
        env.push((key.to_string(), value.to_string()));
    }
    env
}

/// Another instance of the function (its own Runtime API and process) against
/// the harness's SageMaker stand-in and response receiver: what Lambda does
/// when several events arrive at once.
pub struct ExtraFunction {
    pub runtime: RuntimeApi,
    pub function: FunctionProcess,
}

impl ExtraFunction {
    /// Invokes with a minute to go and returns the function's outcome.
    pub async fn invoke_raw(&self, event: &Value) -> Outcome {
        tokio::time::timeout(
            Duration::from_secs(120),
            self.runtime.invoke(
                serde_json::to_vec(event).unwrap(),
                Deadline::In(Duration::from_secs(60)),
            ),
        )
        .await
        .unwrap_or_else(|_| panic!("no invocation result within 120 s; logs:\n{}", self.function.logs()))
    }
}

impl Drop for ExtraFunction {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let logs = self.function.logs();
            for secret in SECRETS {
                assert!(!logs.contains(secret), "the logs hold {secret:?}:\n{logs}");
            }
        }
    }
}

impl Harness {
    /// Spawns one more function process sharing this harness's stand-ins.
    pub async fn spawn_extra_function(&self) -> ExtraFunction {
        let runtime = RuntimeApi::start().await;
        let function = FunctionProcess::spawn(bin(), &runtime, &function_env(&self.sagemaker, &[]));
        ExtraFunction { runtime, function }
    }

    /// Invokes and returns the outcome without asserting on the answer, for
    /// events that must get no answer, or several answers to one URL.
    pub async fn invoke_event_raw(&self, event: &Value) -> Outcome {
        self.invoke_raw(
            serde_json::to_vec(event).unwrap(),
            Deadline::In(Duration::from_secs(60)),
        )
        .await
    }

    /// The accepted answers to `request_id`, in order of arrival.
    pub fn accepted_answers(&self, request_id: &str) -> Vec<Answer> {
        self.receiver
            .accepted()
            .into_iter()
            .filter(|p| p.is_for(request_id))
            .map(Answer::from)
            .collect()
    }

    /// Creates a version through the function and returns its SUCCESS answer.
    pub async fn create_ok(&self, props: Value) -> Answer {
        let answer = self.invoke(&self.create_event(props)).await;
        answer.assert_success();
        answer
    }
}

/// An image-version ARN in any region and image (names are lower case in ARNs).
pub fn arn_of(region: &str, image: &str, version: u32) -> String {
    format!(
        "arn:aws:sagemaker:{region}:123456789012:image-version/{}/{version}",
        image.to_lowercase()
    )
}

/// Asserts the answer is a well-formed CloudFormation answer to `event`: ids
/// copied verbatim, no nulls, byte Content-Length, empty Content-Type.
pub fn assert_well_formed(answer: &Answer, event: &Value) {
    for key in ["StackId", "RequestId", "LogicalResourceId"] {
        assert_eq!(answer.body[key], event[key], "{key} is copied verbatim");
    }
    String::from_utf8(answer.put.body.clone()).expect("the body is UTF-8");
    assert!(!holds_null(&answer.body), "no null values: {:#}", answer.body);
    assert!(answer.put.body.len() <= 4096, "at most 4096 bytes");
    assert_eq!(
        answer.put.header("content-length"),
        Some(answer.put.body.len().to_string().as_str())
    );
    assert_eq!(answer.put.header("content-type").unwrap_or_default(), "");
    assert!(answer.put.header("transfer-encoding").is_none());
    assert_eq!(answer.put.method, "PUT");
}

/// Whether a JSON value holds a `null` anywhere.
pub fn holds_null(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.iter().any(holds_null),
        Value::Object(map) => map.values().any(holds_null),
        _ => false,
    }
}
