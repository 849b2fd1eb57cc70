//! The real binary under a Runtime API served by the test, against the
//! SageMaker stand-in and the response receiver, all on loopback; and the
//! template properties and events the suites send it.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use standins::local::{ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, SESSION_TOKEN, function_env};
use standins::runtime_api::{AsyncSemantics, FUNCTION_ARN};
use standins::sagemaker::{ACCOUNT_ID, image_version_arn};
use standins::{
    Deadline, FunctionPool, FunctionProcess, LambdaApi, Listen, Outcome, PoolConfig, ResponseReceiver, RuntimeApi,
    SageMakerStandIn, StandInConfig,
};

use crate::answer::Answer;

/// The image every harness's stand-in knows.
pub const IMAGE: &str = "test-image";
pub const BASE_IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:1.0";

/// What no log line may hold: the credentials the function signs with, and
/// what marks a pre-signed URL's query.
pub const SECRETS: [&str; 6] = [
    "X-Amz-Signature",
    "X-Amz-Credential",
    "Signature=",
    ACCESS_KEY_ID,
    SECRET_ACCESS_KEY,
    SESSION_TOKEN,
];

/// The minimal valid properties, as CloudFormation sends them.
pub fn props() -> Value {
    json!({
        "ServiceToken": format!("arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:sagemaker-image-version"),
        "ImageName": IMAGE,
        "BaseImage": BASE_IMAGE,
    })
}

/// `object` with the fields of `changes` set, or removed where they are `null`.
pub fn with(mut object: Value, changes: Value) -> Value {
    for (key, value) in changes.as_object().expect("an object").clone() {
        if value.is_null() {
            object.as_object_mut().unwrap().remove(&key);
        } else {
            object[key] = value;
        }
    }
    object
}

/// An id that is not an image-version ARN, as a Create that failed early
/// answers: a Delete of it is answered at once, without SageMaker.
pub const PLACEHOLDER_ID: &str = "no-image-version-placeholder";

/// A CloudFormation-like request id: unique, UUID-shaped.
pub fn request_id() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    format!(
        "{:08x}-0000-4000-8000-{:012x}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The ARN of version `n` of [`IMAGE`] in the function's region.
pub fn version_arn(n: u32) -> String {
    image_version_arn(REGION, IMAGE, n)
}

/// Where the stand-ins the function calls listen: each on a free loopback
/// port, plain http unless given an https `Listen` (`TestCa::listen`).
#[derive(Clone, Debug)]
pub struct Listens {
    pub sagemaker: Listen,
    pub receiver: Listen,
    pub lambda: Listen,
}

/// A free port on loopback.
pub fn any_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

impl Default for Listens {
    fn default() -> Self {
        Listens {
            sagemaker: any_port().into(),
            receiver: any_port().into(),
            lambda: any_port().into(),
        }
    }
}

pub struct Harness {
    pub sagemaker: SageMakerStandIn,
    pub receiver: ResponseReceiver,
    pub runtime: RuntimeApi,
    /// Lambda's Invoke API in front of `runtime`: where the function hands
    /// a request on to a new invocation of itself.
    pub lambda: LambdaApi,
    pub function: FunctionProcess,
    env: Vec<(String, String)>,
    timeout: Duration,
    lambda_listen: Listen,
}

impl Harness {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// With `extra_env` set over the function's local environment.
    pub async fn start_with(extra_env: &[(&str, &str)]) -> Self {
        Self::start_timed(Duration::from_secs(900), extra_env).await
    }

    /// A function whose invocations last `timeout` when Lambda starts them
    /// (the hand-offs), with `extra_env` set over its local environment.
    pub async fn start_timed(timeout: Duration, extra_env: &[(&str, &str)]) -> Self {
        Self::start_on(Listens::default(), timeout, extra_env).await
    }

    /// [`Harness::start_timed`] with the stand-ins listening as `listens` says.
    pub async fn start_on(listens: Listens, timeout: Duration, extra_env: &[(&str, &str)]) -> Self {
        let sagemaker = SageMakerStandIn::start_on(listens.sagemaker, StandInConfig::default())
            .await
            .expect("cannot start the SageMaker stand-in");
        sagemaker.add_image(IMAGE);
        sagemaker.set_delays(Duration::from_millis(300), Duration::from_millis(200));
        let mut env = function_env(&sagemaker.endpoint());
        env.push(("RUST_LOG".to_owned(), "info".to_owned()));
        for (key, value) in extra_env {
            env.retain(|(k, _)| k != key);
            env.push((key.to_string(), value.to_string()));
        }
        let receiver = ResponseReceiver::start_on(listens.receiver)
            .await
            .expect("cannot start the response receiver");
        Self::with_function(sagemaker, receiver, env, timeout, listens.lambda).await
    }

    /// Another instance of the function (its own Runtime API and process, the
    /// same environment) against these stand-ins: what Lambda runs when
    /// several events arrive at once.
    pub async fn another_instance(&self) -> Harness {
        Self::with_function(
            self.sagemaker.clone(),
            self.receiver.clone(),
            self.env.clone(),
            self.timeout,
            self.lambda_listen.clone(),
        )
        .await
    }

    async fn with_function(
        sagemaker: SageMakerStandIn,
        receiver: ResponseReceiver,
        env: Vec<(String, String)>,
        timeout: Duration,
        lambda_listen: Listen,
    ) -> Self {
        let runtime = RuntimeApi::start().await;
        let lambda = LambdaApi::start_on(lambda_listen.clone(), &runtime)
            .await
            .expect("cannot start the Lambda stand-in")
            .with_timeout(timeout);
        let mut env = env;
        env.push(lambda.endpoint_env());
        let bin = Path::new(env!("CARGO_BIN_EXE_sagemaker-image-version"));
        let function = FunctionProcess::spawn(bin, &runtime, &env);
        env.pop();
        Harness {
            sagemaker,
            receiver,
            runtime,
            lambda,
            function,
            env,
            timeout,
            lambda_listen,
        }
    }

    fn event(&self, request_type: &str, fields: Value) -> Value {
        let id = request_id();
        let envelope = json!({
            "RequestType": request_type,
            "ServiceToken": props()["ServiceToken"],
            "ResponseURL": self.receiver.response_url(&id),
            "StackId": format!("arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/test/1a2b"),
            "RequestId": id,
            "ResourceType": "Custom::SageMakerImageVersion",
            "LogicalResourceId": "ImageVersion",
        });
        with(envelope, fields)
    }

    pub fn create_event(&self, props: Value) -> Value {
        self.event("Create", json!({ "ResourceProperties": props }))
    }

    pub fn update_event(&self, physical_id: &str, props: Value, old_props: Value) -> Value {
        self.event(
            "Update",
            json!({ "PhysicalResourceId": physical_id, "ResourceProperties": props, "OldResourceProperties": old_props }),
        )
    }

    pub fn delete_event(&self, physical_id: &str, props: Value) -> Value {
        self.event(
            "Delete",
            json!({ "PhysicalResourceId": physical_id, "ResourceProperties": props }),
        )
    }

    /// The quickest request there is: a Delete of [`PLACEHOLDER_ID`].
    pub fn quick_delete_event(&self) -> Value {
        self.delete_event(PLACEHOLDER_ID, props())
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

    /// Invokes as CloudFormation does, with the function's whole timeout, and
    /// waits for the one answer, however many invocations the request takes.
    pub async fn invoke_timed(&self, event: &Value) -> Answer {
        self.invoke_timed_as(FUNCTION_ARN, event).await
    }

    /// [`Harness::invoke_timed`] through another ARN of the function, such
    /// as an alias's (the stack's `ServiceToken`).
    pub async fn invoke_timed_as(&self, function_arn: &str, event: &Value) -> Answer {
        let payload = serde_json::to_vec(event).unwrap();
        let first = self
            .invoke_raw_as(function_arn, payload, Deadline::In(self.timeout))
            .await;
        assert!(first.is_response(), "the function must return Ok to Lambda: {first:?}");
        self.answer_within(event["RequestId"].as_str().unwrap(), Duration::from_secs(60))
            .await
    }

    /// The requests handed on to a new invocation (asynchronous invokes).
    pub fn hand_offs(&self) -> usize {
        self.lambda
            .invokes()
            .iter()
            .filter(|i| i.invocation_type == "Event")
            .count()
    }

    /// Creates a version through the function and returns its SUCCESS answer.
    pub async fn create_ok(&self, props: Value) -> Answer {
        let answer = self.invoke(&self.create_event(props)).await;
        answer.assert_success();
        answer
    }

    /// With builds taking `build`, creates a version as CloudFormation invokes
    /// ([`Harness::invoke_timed`]): the event and its SUCCESS answer.
    pub async fn create_timed_ok(&self, build: Duration) -> (Value, Answer) {
        self.sagemaker.set_delays(build, Duration::from_millis(200));
        let event = self.create_event(props());
        let answer = self.invoke_timed(&event).await;
        answer.assert_success();
        (event, answer)
    }

    /// Invokes with a minute to go and returns what the function told Lambda,
    /// reading no answer: for events that get none, or several.
    pub async fn send(&self, event: &Value) -> Outcome {
        let payload = serde_json::to_vec(event).unwrap();
        self.invoke_raw(payload, Deadline::In(Duration::from_secs(60))).await
    }

    pub async fn invoke_raw(&self, payload: Vec<u8>, deadline: Deadline) -> Outcome {
        self.invoke_raw_as(FUNCTION_ARN, payload, deadline).await
    }

    async fn invoke_raw_as(&self, function_arn: &str, payload: Vec<u8>, deadline: Deadline) -> Outcome {
        tokio::time::timeout(
            Duration::from_secs(120),
            self.runtime.invoke_as(function_arn, payload, deadline),
        )
        .await
        .unwrap_or_else(|_| panic!("no invocation result within 120 s; logs:\n{}", self.function.logs()))
    }

    /// The single accepted answer to `request_id`.
    pub async fn answer_to(&self, request_id: &str) -> Answer {
        self.answer_within(request_id, Duration::from_secs(10)).await
    }

    /// The single accepted answer to `request_id`, waiting up to `wait` for
    /// it: a request handed on is answered by a later invocation.
    pub async fn answer_within(&self, request_id: &str, wait: Duration) -> Answer {
        let put = self
            .receiver
            .wait_for(request_id, wait)
            .await
            .unwrap_or_else(|| panic!("no answer for {request_id}; logs:\n{}", self.function.logs()));
        assert_eq!(
            self.receiver.accepted_count_for(request_id),
            1,
            "exactly one answer per request"
        );
        Answer::from(put)
    }

    /// Delivers `event` once more, as Lambda may, and returns every accepted
    /// answer to its request, in order of arrival.
    pub async fn deliver_again(&self, event: &Value) -> Vec<Answer> {
        let again = self
            .invoke_raw(
                serde_json::to_vec(event).unwrap(),
                Deadline::In(Duration::from_secs(60)),
            )
            .await;
        assert!(again.is_response(), "the function must return Ok to Lambda: {again:?}");
        self.accepted_answers(event["RequestId"].as_str().unwrap())
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

    /// Writes to SageMaker: what a bad input must never cause.
    pub fn writes(&self) -> usize {
        ["CreateImageVersion", "UpdateImageVersion", "DeleteImageVersion"]
            .iter()
            .map(|op| self.sagemaker.count(op))
            .sum()
    }

    /// The process is alive and answers a plain request.
    pub async fn assert_still_serving(&self) {
        assert!(
            self.function.is_running(),
            "the function process died:\n{}",
            self.function.logs()
        );
        self.invoke(&self.quick_delete_event()).await.assert_success();
    }
}

impl Drop for Harness {
    /// Whatever the test did, its function logged no secret.
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let logs = self.function.logs();
            for secret in SECRETS {
                assert!(!logs.contains(secret), "the logs hold {secret:?}:\n{logs}");
            }
        }
    }
}

/// A CloudFormation event of `request_type` with `request_id`, answered to
/// `receiver`, with `fields` set over the envelope.
pub fn cfn_event(receiver: &ResponseReceiver, request_type: &str, request_id: &str, fields: Value) -> Value {
    let envelope = json!({
        "RequestType": request_type,
        "ServiceToken": props()["ServiceToken"],
        "ResponseURL": receiver.response_url(request_id),
        "StackId": format!("arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/test/1a2b"),
        "RequestId": request_id,
        "ResourceType": "Custom::SageMakerImageVersion",
        "LogicalResourceId": "ImageVersion",
    });
    with(envelope, fields)
}

/// What no log line may hold of `event`'s `ResponseURL`: its query, and its
/// signature alone (what `secrets` forbids for every URL it hands over).
pub fn response_url_secrets(event: &Value) -> Vec<String> {
    let url = event["ResponseURL"].as_str().unwrap_or_default();
    let Some((_, query)) = url.split_once('?') else {
        return Vec::new();
    };
    let mut secrets = vec![query.to_owned()];
    secrets.extend(
        query
            .split('&')
            .filter_map(|pair| pair.strip_prefix("X-Amz-Signature="))
            .map(str::to_owned),
    );
    secrets
}

/// The function as Lambda runs it for asynchronous events: a pool of
/// execution environments (processes) on one Runtime API queue, with
/// Lambda's retries and at-least-once delivery as `semantics` say, its
/// Invoke API for the hand-offs (with the same timeout), against the
/// SageMaker stand-in and the response receiver. Unlike [`Harness`], it does
/// not check its logs when dropped: [`PoolHarness::leaks`] says what leaked.
pub struct PoolHarness {
    pub sagemaker: SageMakerStandIn,
    pub receiver: ResponseReceiver,
    pub runtime: RuntimeApi,
    pub lambda: LambdaApi,
    pub pool: FunctionPool,
}

impl PoolHarness {
    /// Starts the stand-ins (SageMaker knowing `images`) and `pool.size`
    /// environments whose invocations last `pool.timeout`, with `extra_env`
    /// set over the function's local environment.
    pub async fn start(
        images: &[&str],
        semantics: AsyncSemantics,
        pool: PoolConfig,
        extra_env: &[(&str, &str)],
    ) -> Self {
        let sagemaker = SageMakerStandIn::start_on(any_port(), StandInConfig::default())
            .await
            .expect("cannot start the SageMaker stand-in");
        for image in images {
            sagemaker.add_image(image);
        }
        let receiver = ResponseReceiver::start().await;
        let runtime = RuntimeApi::start().await;
        runtime.set_async(semantics);
        let lambda = LambdaApi::start(&runtime).await.with_timeout(pool.timeout);
        let mut env = function_env(&sagemaker.endpoint());
        env.push(("RUST_LOG".to_owned(), "info".to_owned()));
        for (key, value) in extra_env {
            env.retain(|(k, _)| k != key);
            env.push((key.to_string(), value.to_string()));
        }
        env.push(lambda.endpoint_env());
        let bin = Path::new(env!("CARGO_BIN_EXE_sagemaker-image-version"));
        let size = pool.size;
        let pool = FunctionPool::start(bin, &runtime, &env, pool).expect("cannot start the function pool");
        assert!(
            runtime.wait_polls(size, Duration::from_secs(30)).await,
            "the environments did not poll:\n{}",
            pool.logs()
        );
        PoolHarness {
            sagemaker,
            receiver,
            runtime,
            lambda,
            pool,
        }
    }

    /// A CloudFormation event with `request_id` (see [`cfn_event`]).
    pub fn event(&self, request_type: &str, request_id: &str, fields: Value) -> Value {
        cfn_event(&self.receiver, request_type, request_id, fields)
    }

    /// Invokes asynchronously, as CloudFormation does; returns the Lambda request id.
    pub fn send(&self, event: &Value) -> String {
        self.pool.invoke_event(serde_json::to_vec(event).unwrap())
    }

    /// Every log line of every environment (prefixed `[env N]`) that holds
    /// one of [`SECRETS`] or of `forbidden`.
    pub fn leaks(&self, forbidden: &[String]) -> Vec<String> {
        let mut leaks = Vec::new();
        for (env, _, logs) in self.pool.logs_by_environment() {
            for line in logs.lines() {
                if SECRETS.iter().any(|s| line.contains(s)) || forbidden.iter().any(|s| line.contains(s.as_str())) {
                    leaks.push(format!("[env {env}] {line}"));
                }
            }
        }
        leaks
    }
}
