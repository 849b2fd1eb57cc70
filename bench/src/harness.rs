//! What every measurement shares: the subject (a function to run), the
//! stage it runs on (SageMaker stand-in, response receiver, Runtime API)
//! and the events it is sent.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use standins::{Deadline, FunctionProcess, Put, ResponseReceiver, RuntimeApi, SageMakerStandIn};

use crate::Result;
use crate::sizes::Package;

/// The image every event names.
pub const IMAGE: &str = "bench-image";
const BASE_IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/bench:1.0";
/// The deadline handed to each invocation (Lambda's maximum).
const LAMBDA_TIMEOUT: Duration = Duration::from_secs(900);
/// How long after the Runtime API response the PUT may still be missing.
const PUT_GRACE: Duration = Duration::from_secs(5);

/// A function under test.
pub struct Subject {
    pub name: &'static str,
    pub program: PathBuf,
    /// Added to the environment both subjects share.
    pub envs: Vec<(String, String)>,
    pub package: Package,
}

/// The stand-ins one subject runs against, and the function process.
pub struct Stage {
    pub sagemaker: SageMakerStandIn,
    pub receiver: ResponseReceiver,
    pub runtime: RuntimeApi,
    pub function: FunctionProcess,
}

/// One invocation as the bench saw it.
pub struct Invocation {
    pub started: Instant,
    /// When the Runtime API got the function's response.
    pub ended: Instant,
    /// The answer PUT (already checked: accepted, `Status` SUCCESS).
    pub put: Put,
    /// `PhysicalResourceId` of the answer.
    pub physical_id: String,
}

impl Invocation {
    pub fn took(&self) -> Duration {
        self.ended - self.started
    }
}

impl Stage {
    /// Fresh stand-ins (the image registered, instant create and delete)
    /// and the function started and polling.
    pub async fn start(subject: &Subject) -> Result<Stage> {
        let sagemaker = SageMakerStandIn::start().await;
        sagemaker.add_image(IMAGE);
        sagemaker.set_delays(Duration::ZERO, Duration::ZERO);
        let receiver = ResponseReceiver::start().await;
        let runtime = RuntimeApi::start().await;
        let function = spawn(subject, &runtime, &sagemaker, &[])?;
        wait_polling(subject, &runtime, &function).await?;
        Ok(Stage {
            sagemaker,
            receiver,
            runtime,
            function,
        })
    }

    /// Sends `event` and checks that exactly what CloudFormation needs came
    /// back: a Runtime API response and a SUCCESS answer PUT.
    pub async fn invoke(&self, event: &Value) -> Result<Invocation> {
        let request_id = event["RequestId"].as_str().unwrap_or_default();
        let kind = event["RequestType"].as_str().unwrap_or_default();
        let started = Instant::now();
        let outcome = self.runtime.invoke_json(event, Deadline::In(LAMBDA_TIMEOUT)).await;
        let ended = Instant::now();
        let what = format!("{kind} {request_id}");
        if !outcome.is_response() {
            return Err(format!(
                "{what}: the function reported an error to the Runtime API: {}\n{}",
                String::from_utf8_lossy(outcome.bytes()),
                self.function.logs()
            ));
        }
        let put = self
            .receiver
            .wait_for(request_id, PUT_GRACE)
            .await
            .ok_or_else(|| format!("{what}: no answer PUT\n{}", self.function.logs()))?;
        self.receiver.clear();
        let body = put
            .body_json()
            .map_err(|e| format!("{what}: the answer is not JSON ({e}): {}", put.body_text()))?;
        if body["Status"] != "SUCCESS" {
            return Err(format!("{what}: answered {body}\n{}", self.function.logs()));
        }
        let physical_id = body["PhysicalResourceId"]
            .as_str()
            .ok_or_else(|| format!("{what}: no PhysicalResourceId in {body}"))?
            .to_owned();
        Ok(Invocation {
            started,
            ended,
            put,
            physical_id,
        })
    }

    pub fn events(&self) -> Events<'_> {
        Events::new(&self.receiver)
    }
}

/// Starts the function with the environment both subjects get, plus `extra`.
pub fn spawn(
    subject: &Subject,
    runtime: &RuntimeApi,
    sagemaker: &SageMakerStandIn,
    extra: &[(String, String)],
) -> Result<FunctionProcess> {
    let mut envs = standins::local::function_env(&sagemaker.endpoint());
    // botocore reads its region from here (AWS_REGION is the SDKs' and the runtime's).
    envs.push(("AWS_DEFAULT_REGION".to_owned(), standins::local::REGION.to_owned()));
    envs.extend(subject.envs.iter().chain(extra).cloned());
    FunctionProcess::try_spawn(&subject.program, runtime, &envs)
        .map_err(|e| format!("{}: cannot start {}: {e}", subject.name, subject.program.display()))
}

/// Waits for the first `invocation/next`; fails if the function died first.
pub async fn wait_polling(subject: &Subject, runtime: &RuntimeApi, function: &FunctionProcess) -> Result<Instant> {
    runtime.wait_first_poll(Duration::from_secs(30)).await.ok_or_else(|| {
        format!(
            "{}: never polled the Runtime API (init errors: {:?})\n{}",
            subject.name,
            runtime.init_errors(),
            function.logs()
        )
    })
}

/// CloudFormation events for [`IMAGE`], each with a new RequestId, answered
/// to one receiver.
pub struct Events<'a> {
    receiver: &'a ResponseReceiver,
}

/// Properties of the version: `revision` changes the release notes and adds
/// an alias, so that each revision is an in-place update of the previous one.
pub fn properties(revision: u32) -> Value {
    let mut aliases = vec![json!("latest"), json!("stable")];
    if revision > 0 {
        aliases.push(json!(format!("r{revision}")));
    }
    json!({
        "ServiceToken": standins::runtime_api::FUNCTION_ARN,
        "ServiceTimeout": "900",
        "ImageName": IMAGE,
        "BaseImage": BASE_IMAGE,
        "Aliases": aliases,
        "Horovod": "false",
        "JobType": "TRAINING",
        "MLFramework": "PyTorch 2.3",
        "ProgrammingLang": "Python 3.11",
        "Processor": "CPU",
        "ReleaseNotes": format!("Revision {revision}"),
        "VendorGuidance": "STABLE",
    })
}

impl<'a> Events<'a> {
    pub fn new(receiver: &'a ResponseReceiver) -> Events<'a> {
        Events { receiver }
    }

    fn base(&self, request_type: &str) -> Value {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let request_id = format!("b3e7c0de-0000-4000-8000-{n:012x}");
        json!({
            "RequestType": request_type,
            "ServiceToken": standins::runtime_api::FUNCTION_ARN,
            "ResponseURL": self.receiver.response_url(&request_id),
            "StackId": standins::receiver::STACK_ARN,
            "RequestId": request_id,
            "ResourceType": "Custom::SageMakerImageVersion",
            "LogicalResourceId": standins::receiver::DEFAULT_LOGICAL_ID,
        })
    }

    pub fn create(&self, revision: u32) -> Value {
        let mut event = self.base("Create");
        event["ResourceProperties"] = properties(revision);
        event
    }

    /// An Update from `old` to `new` (equal revisions: a no-op Update).
    pub fn update(&self, physical_id: &str, old: u32, new: u32) -> Value {
        let mut event = self.base("Update");
        event["PhysicalResourceId"] = json!(physical_id);
        event["ResourceProperties"] = properties(new);
        event["OldResourceProperties"] = properties(old);
        event
    }

    pub fn delete(&self, physical_id: &str, revision: u32) -> Value {
        let mut event = self.base("Delete");
        event["PhysicalResourceId"] = json!(physical_id);
        event["ResourceProperties"] = properties(revision);
        event
    }
}
