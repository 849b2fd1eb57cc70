//! Lambda's `Invoke` API (REST-JSON, `POST /2015-03-31/functions/{FunctionName}/invocations`,
//! SigV4 for `lambda`) in front of a [`RuntimeApi`]: both invocation types
//! queue on the Runtime API's one queue, so the function may invoke itself
//! (`Event`) while it is busy. An `Event` invoke is an asynchronous
//! invocation ([`RuntimeApi::invoke_event`]): retried and delivered twice as
//! the Runtime API's `AsyncSemantics` say. Every invoke is recorded; tests may
//! arm faults, or let a seeded draw throttle invokes as Lambda does under
//! load ([`LambdaApi::throttle_randomly`]).

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use serde_json::{Value, json};

use crate::function::FUNCTION_NAME;
use crate::http::{self, Body, Reply};
use crate::runtime_api::{Deadline, FUNCTION_ARN, Outcome, RuntimeApi};
use crate::server::{self, Armed, Listen, Server, Shared};
use crate::sigv4;

/// Lambda's payload limits: asynchronous (`Event`) and synchronous invocations.
const EVENT_PAYLOAD_LIMIT: usize = 256 * 1024;
const REQUEST_RESPONSE_PAYLOAD_LIMIT: usize = 6 * 1024 * 1024;

/// The longest a Lambda function may run: the default timeout.
const MAX_TIMEOUT: Duration = Duration::from_secs(900);

const PATH_PREFIX: &str = "/2015-03-31/functions/";
const ADMIN_INVOKES: &str = "/_lambda/invokes";

/// A fault a test arms for the next invokes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LambdaFault {
    /// HTTP 403 `AccessDeniedException` (the caller's role may not invoke).
    AccessDenied,
    /// HTTP 429 `TooManyRequestsException` (a throttle, which SDKs retry).
    TooManyRequests,
}

/// One `Invoke` call, as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invoke {
    /// The path's function name, decoded (a name, or an ARN, possibly with a qualifier).
    pub function_name: String,
    /// The `Qualifier` query parameter.
    pub qualifier: Option<String>,
    /// `X-Amz-Invocation-Type` (`RequestResponse` when absent).
    pub invocation_type: String,
    pub payload: Vec<u8>,
    /// The status answered (a `RequestResponse` invoke: 200 once queued).
    pub status: u16,
    /// The Runtime API's request id of the invocation, when it was queued
    /// (see [`RuntimeApi::invocations`] for its outcome).
    pub request_id: Option<String>,
}

struct State {
    timeout: Duration,
    invokes: Vec<Invoke>,
    faults: Armed<LambdaFault>,
    random_throttle: Option<RandomThrottle>,
}

/// Throttles drawn from a seeded generator, at most `in_a_row` times in a
/// row for one invoke: an SDK resends the same request on a throttle, and
/// its retries (3 tries by default) must be able to get through.
struct RandomThrottle {
    rng: fastrand::Rng,
    probability: f64,
    in_a_row: u32,
    /// Throttles in a row, by the hash of (function name, payload).
    streaks: HashMap<u64, u32>,
}

impl RandomThrottle {
    fn draw(&mut self, function_name: &str, payload: &[u8]) -> bool {
        let mut hasher = DefaultHasher::new();
        (function_name, payload).hash(&mut hasher);
        let key = hasher.finish();
        let drawn = self.rng.f64() < self.probability;
        let streak = self.streaks.entry(key).or_default();
        if drawn && *streak < self.in_a_row {
            *streak += 1;
            true
        } else {
            self.streaks.remove(&key);
            false
        }
    }
}

/// The Lambda `Invoke` API. Cheap to clone; the server stops when the last clone is dropped.
#[derive(Clone, Debug)]
pub struct LambdaApi {
    server: Server<State>,
    runtime: RuntimeApi,
}

impl LambdaApi {
    /// Starts on `127.0.0.1:0`, in front of `runtime`. Panics if it cannot bind.
    pub async fn start(runtime: &RuntimeApi) -> LambdaApi {
        server::start_on_loopback("Lambda stand-in", |addr| Self::start_on(addr, runtime)).await
    }

    pub async fn start_on(listen: impl Into<Listen>, runtime: &RuntimeApi) -> std::io::Result<LambdaApi> {
        let state = State {
            timeout: MAX_TIMEOUT,
            invokes: Vec::new(),
            faults: Armed::default(),
            random_throttle: None,
        };
        let queue = runtime.clone();
        let server = Server::start("lambda", listen.into(), state, move |shared, req| {
            handle(shared, queue.clone(), req)
        })?;
        Ok(LambdaApi {
            server,
            runtime: runtime.clone(),
        })
    }

    /// The function's timeout: each invocation's deadline is this long after the
    /// function picks it up (default 900 s, Lambda's maximum).
    pub fn with_timeout(self, timeout: Duration) -> LambdaApi {
        self.server.lock().timeout = timeout;
        self
    }

    /// `http://127.0.0.1:PORT` (or `https://`).
    pub fn endpoint(&self) -> String {
        self.server.endpoint()
    }

    /// `AWS_ENDPOINT_URL_LAMBDA` pointing at this stand-in, for the function's environment.
    pub fn endpoint_env(&self) -> (String, String) {
        ("AWS_ENDPOINT_URL_LAMBDA".to_owned(), self.endpoint())
    }

    /// The Runtime API the invocations queue on.
    pub fn runtime(&self) -> &RuntimeApi {
        &self.runtime
    }

    /// The next `n` invokes answer `fault` (faults armed earlier are drawn first).
    pub fn fail_next(&self, n: u32, fault: LambdaFault) {
        self.server.lock().faults.arm(fault, n);
    }

    /// Every invoke received, in order.
    pub fn invokes(&self) -> Vec<Invoke> {
        self.server.lock().invokes.clone()
    }

    /// From now on, each invoke (after any armed fault) is throttled
    /// (429 `TooManyRequestsException`) with `probability`, drawn from a
    /// generator seeded with `seed`, but never more than `in_a_row` times in a
    /// row for the same function name and payload (an SDK's retries of one
    /// invoke). A `probability` of 0 stops it.
    pub fn throttle_randomly(&self, seed: u64, probability: f64, in_a_row: u32) {
        self.server.lock().random_throttle = (probability > 0.0).then(|| RandomThrottle {
            rng: fastrand::Rng::with_seed(seed ^ 0x4c41_4d42_4441_5448),
            probability,
            in_a_row,
            streaks: HashMap::new(),
        });
    }

    /// How many invokes were throttled (429), armed or drawn.
    pub fn throttled(&self) -> usize {
        self.server.lock().invokes.iter().filter(|i| i.status == 429).count()
    }
}

/// The `FunctionName` forms Lambda resolves: `NAME`, `ACCOUNT:function:NAME` and
/// `arn:aws:lambda:REGION:ACCOUNT:function:NAME`, each with an optional
/// `:QUALIFIER`. Returns the bare name and the qualifier.
fn name_and_qualifier(function_name: &str) -> (&str, Option<&str>) {
    let rest = function_name
        .strip_prefix("arn:aws:lambda:")
        .and_then(|r| r.split_once(':'))
        .map_or(function_name, |(_, r)| r);
    let rest = rest.split_once(":function:").map_or(rest, |(_, r)| r);
    match rest.split_once(':') {
        Some((name, qualifier)) => (name, Some(qualifier)),
        None => (rest, None),
    }
}

fn bare_name(function_name: &str) -> &str {
    name_and_qualifier(function_name).0
}

/// The ARN of function `name`, in the account and region of [`FUNCTION_ARN`].
fn function_arn(name: &str) -> String {
    let prefix = FUNCTION_ARN.strip_suffix(FUNCTION_NAME).unwrap_or(FUNCTION_ARN);
    format!("{prefix}{name}")
}

/// The ARN the function is told it was invoked as, whichever form was
/// called, with the version or alias named in it or in the `Qualifier`
/// parameter.
fn invoked_arn(function_name: &str, qualifier: Option<&str>) -> String {
    let (name, in_name) = name_and_qualifier(function_name);
    match in_name.or(qualifier) {
        Some(qualifier) => format!("{}:{qualifier}", function_arn(name)),
        None => function_arn(name),
    }
}

/// Lambda's REST-JSON error: the code in `x-amzn-ErrorType`, `Type` and `message` in the body.
fn error(status: u16, code: &str, message: &str) -> Reply {
    let body = json!({"Type": "User", "message": message});
    Ok(http::aws_error(status, "application/json", code, &body))
}

async fn handle(shared: Arc<Shared<State>>, runtime: RuntimeApi, req: Request<Incoming>) -> Reply {
    let path = req.uri().path().to_owned();
    if req.method() == Method::GET && path == ADMIN_INVOKES {
        return Ok(admin_invokes(&shared));
    }
    let Some(function_name) = path
        .strip_prefix(PATH_PREFIX)
        .and_then(|rest| rest.strip_suffix("/invocations"))
        .filter(|_| req.method() == Method::POST)
        .map(http::percent_decode)
    else {
        return error(404, "UnknownOperationException", &format!("Unknown operation {path}"));
    };
    if let Err(message) = sigv4::auth_region(req.headers(), "lambda") {
        return error(403, "MissingAuthenticationTokenException", &message);
    }
    let invocation_type = http::header(req.headers(), "x-amz-invocation-type")
        .unwrap_or("RequestResponse")
        .to_owned();
    let qualifier = http::query_param(req.uri().query(), "Qualifier");
    let payload = http::read_body(req.into_body()).await.to_vec();

    let (refusal, timeout) = {
        let mut st = shared.lock();
        let refusal = refusal(&mut st, &function_name, &invocation_type, &payload);
        (refusal, st.timeout)
    };
    let mut invoke = Invoke {
        function_name,
        qualifier,
        invocation_type,
        payload,
        status: 0,
        request_id: None,
    };
    if let Some((status, code, message)) = refusal {
        invoke.status = status;
        shared.lock().invokes.push(invoke);
        return error(status, code, &message);
    }
    let invoked_as = invoked_arn(&invoke.function_name, invoke.qualifier.as_deref());
    if invoke.invocation_type == "Event" {
        let id = runtime.invoke_event_as(&invoked_as, invoke.payload.clone(), Deadline::In(timeout));
        invoke.status = 202;
        invoke.request_id = Some(id.clone());
        shared.lock().invokes.push(invoke);
        return Ok(http::response(202, &[("x-amzn-requestid", &id)], ""));
    }
    let (id, outcome) = runtime.enqueue(invoked_as, invoke.payload.clone(), Deadline::In(timeout));
    invoke.status = 200;
    invoke.request_id = Some(id.clone());
    shared.lock().invokes.push(invoke);
    let mut headers = vec![
        ("content-type", "application/json"),
        ("x-amzn-requestid", id.as_str()),
        ("x-amz-executed-version", "$LATEST"),
    ];
    let outcome = outcome.await;
    if let Outcome::Error(_) = outcome {
        headers.push(("x-amz-function-error", "Unhandled"));
    }
    Ok(http::response(200, &headers, outcome.bytes().to_vec()))
}

/// Why Lambda would refuse this invoke (an armed fault first): (status, code, message).
fn refusal(
    st: &mut State,
    function_name: &str,
    invocation_type: &str,
    payload: &[u8],
) -> Option<(u16, &'static str, String)> {
    let payload_len = payload.len();
    let fault = st.faults.draw().or_else(|| {
        st.random_throttle
            .as_mut()
            .is_some_and(|t| t.draw(function_name, payload))
            .then_some(LambdaFault::TooManyRequests)
    });
    if let Some(fault) = fault {
        return Some(match fault {
            LambdaFault::AccessDenied => (
                403,
                "AccessDeniedException",
                format!(
                    "User is not authorized to perform: lambda:InvokeFunction on resource: {}",
                    function_arn(bare_name(function_name))
                ),
            ),
            LambdaFault::TooManyRequests => (429, "TooManyRequestsException", "Rate Exceeded.".to_owned()),
        });
    }
    let name = bare_name(function_name);
    if name != FUNCTION_NAME {
        return Some((
            404,
            "ResourceNotFoundException",
            format!("Function not found: {}", function_arn(name)),
        ));
    }
    match invocation_type {
        "Event" if payload_len > EVENT_PAYLOAD_LIMIT => Some((
            413,
            "RequestEntityTooLargeException",
            format!(
                "{payload_len} byte payload is too large for the Event invocation type (limit {EVENT_PAYLOAD_LIMIT} bytes)"
            ),
        )),
        "RequestResponse" if payload_len > REQUEST_RESPONSE_PAYLOAD_LIMIT => Some((
            413,
            "RequestEntityTooLargeException",
            format!(
                "Request must be smaller than {REQUEST_RESPONSE_PAYLOAD_LIMIT} bytes for the InvokeFunction operation"
            ),
        )),
        "Event" | "RequestResponse" => None,
        other => Some((
            400,
            "InvalidParameterValueException",
            format!("Unsupported invocation type {other} (the stand-in knows Event and RequestResponse)"),
        )),
    }
}

/// `GET /_lambda/invokes`: the invokes, for scripts running `standins serve`.
fn admin_invokes(shared: &Shared<State>) -> Response<Body> {
    let invokes: Vec<Value> = shared
        .lock()
        .invokes
        .iter()
        .map(|i| {
            json!({
                "FunctionName": i.function_name,
                "Qualifier": i.qualifier,
                "InvocationType": i.invocation_type,
                "Payload": String::from_utf8_lossy(&i.payload),
                "Status": i.status,
                "RequestId": i.request_id,
            })
        })
        .collect();
    http::json_response(200, &Value::Array(invokes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_name_form_resolves_to_the_bare_name() {
        for given in [
            "sagemaker-image-version",
            "sagemaker-image-version:$LATEST",
            "123456789012:function:sagemaker-image-version",
            "arn:aws:lambda:us-east-1:123456789012:function:sagemaker-image-version",
            "arn:aws:lambda:us-east-1:123456789012:function:sagemaker-image-version:live",
        ] {
            assert_eq!(bare_name(given), "sagemaker-image-version", "{given}");
        }
        assert_eq!(bare_name("other"), "other");
    }

    #[test]
    fn every_function_name_form_is_told_as_its_full_arn_with_its_qualifier() {
        let live = format!("{FUNCTION_ARN}:live");
        for (given, qualifier, told) in [
            ("sagemaker-image-version", None, FUNCTION_ARN),
            ("123456789012:function:sagemaker-image-version", None, FUNCTION_ARN),
            (FUNCTION_ARN, None, FUNCTION_ARN),
            ("sagemaker-image-version", Some("live"), live.as_str()),
            (
                "123456789012:function:sagemaker-image-version:live",
                None,
                live.as_str(),
            ),
            (live.as_str(), None, live.as_str()),
        ] {
            assert_eq!(invoked_arn(given, qualifier), told, "{given} {qualifier:?}");
        }
    }
}
