//! Step Functions' `StartExecution` (AWS JSON 1.0, `X-Amz-Target:
//! AWSStepFunctions.StartExecution`, SigV4 for `states`), as CDK's Provider
//! framework calls it to start its waiter. Executions are recorded, and nothing
//! runs: the test plays the waiter.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use hyper::body::Incoming;
use hyper::{Method, Request};
use serde_json::{Value, json};

use crate::http::{self, Reply};
use crate::server::{self, Listen, Server, Shared};
use crate::sigv4;

const CONTENT_TYPE: &str = "application/x-amz-json-1.0";
const START_EXECUTION: &str = "AWSStepFunctions.StartExecution";
const ADMIN_EXECUTIONS: &str = "/_sfn/executions";

/// One execution started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Execution {
    pub state_machine_arn: String,
    /// The name given, or the one made up when none was.
    pub name: String,
    /// The `input` string, when given.
    pub input: Option<String>,
    pub execution_arn: String,
}

impl Execution {
    fn to_json(&self) -> Value {
        json!({
            "stateMachineArn": self.state_machine_arn,
            "name": self.name,
            "input": self.input,
            "executionArn": self.execution_arn,
        })
    }
}

#[derive(Default)]
struct State {
    executions: Vec<Execution>,
}

/// The Step Functions stand-in. Cheap to clone; the server stops when the last clone is dropped.
#[derive(Clone, Debug)]
pub struct StepFunctionsStandIn {
    server: Server<State>,
}

impl StepFunctionsStandIn {
    /// Starts on `127.0.0.1:0`. Panics if it cannot bind.
    pub async fn start() -> StepFunctionsStandIn {
        server::start_on_loopback("Step Functions stand-in", Self::start_on).await
    }

    pub async fn start_on(listen: impl Into<Listen>) -> std::io::Result<StepFunctionsStandIn> {
        let server = Server::start("sfn", listen.into(), State::default(), handle)?;
        Ok(StepFunctionsStandIn { server })
    }

    /// `http://127.0.0.1:PORT` (or `https://`).
    pub fn endpoint(&self) -> String {
        self.server.endpoint()
    }

    /// Every execution started, in order.
    pub fn executions(&self) -> Vec<Execution> {
        self.server.lock().executions.clone()
    }

    /// Waits until at least `count` executions were started; `None` on timeout.
    pub async fn wait_for_executions(&self, count: usize, timeout: Duration) -> Option<Vec<Execution>> {
        let deadline = tokio::time::Instant::now() + timeout;
        let started = |st: &mut State| (st.executions.len() >= count).then(|| st.executions.clone());
        self.server.shared().wait_until(Some(deadline), started).await
    }
}

fn error(code: &str, message: &str) -> Reply {
    let body = json!({"__type": code, "message": message});
    Ok(http::aws_error(400, CONTENT_TYPE, code, &body))
}

async fn handle(shared: Arc<Shared<State>>, req: Request<Incoming>) -> Reply {
    if req.method() == Method::GET && req.uri().path() == ADMIN_EXECUTIONS {
        let executions: Vec<Value> = shared.lock().executions.iter().map(Execution::to_json).collect();
        return Ok(http::json_response(200, &Value::Array(executions)));
    }
    if let Err(message) = sigv4::auth_region(req.headers(), "states") {
        return error("MissingAuthenticationTokenException", &message);
    }
    let target = http::header(req.headers(), "x-amz-target").unwrap_or("").to_owned();
    if target != START_EXECUTION {
        return error("UnknownOperationException", &format!("Unknown operation {target}"));
    }
    let body: Value = serde_json::from_slice(&http::read_body(req.into_body()).await).unwrap_or(Value::Null);
    let Some(state_machine_arn) = body["stateMachineArn"].as_str() else {
        return error(
            "ValidationException",
            "1 validation error detected: Value null at 'stateMachineArn' failed to satisfy constraint: Member must not be null",
        );
    };
    let Some((prefix, machine)) = state_machine_arn
        .strip_prefix("arn:aws:states:")
        .and_then(|rest| rest.split_once(":stateMachine:"))
    else {
        return error("InvalidArn", &format!("Invalid Arn: '{state_machine_arn}'"));
    };
    let name = body["name"].as_str().map_or_else(http::new_id, str::to_owned);
    let execution = Execution {
        state_machine_arn: state_machine_arn.to_owned(),
        execution_arn: format!("arn:aws:states:{prefix}:execution:{machine}:{name}"),
        name,
        input: body["input"].as_str().map(str::to_owned),
    };
    let answer = json!({"executionArn": execution.execution_arn, "startDate": http::epoch_secs(SystemTime::now())});
    shared.lock().executions.push(execution);
    shared.changed.notify_waiters();
    Ok(http::response(
        200,
        &[("content-type", CONTENT_TYPE), ("x-amzn-requestid", &http::new_id())],
        serde_json::to_vec(&answer).unwrap_or_default(),
    ))
}
