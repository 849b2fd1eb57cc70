//! The Lambda Runtime API (`2018-06-01`), driven by the test: [`RuntimeApi::invoke`]
//! (or the Lambda `Invoke` API of [`crate::lambda`], on the same queue) queues an
//! event, the function long-polls `invocation/next`, and its `response`/`error`
//! POST completes the invocation. One function process takes one event at a
//! time: whatever arrives meanwhile (an invocation of itself included) waits in
//! the queue.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use serde_json::json;
use tokio::sync::oneshot;

use crate::http::{self, Body, Reply};
use crate::server::{self, Server, Shared};

/// The function's ARN: what [`RuntimeApi::invoke`] reports in
/// `Lambda-Runtime-Invoked-Function-Arn` (`invoke_as` reports another).
pub const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:sagemaker-image-version";

/// The invocation deadline handed to the function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deadline {
    /// This long after the function picks the invocation up.
    In(Duration),
    /// A fixed epoch-milliseconds value (`AtEpochMs(1)` mimics `cargo lambda watch`).
    AtEpochMs(u64),
}

/// How the function answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Body of `POST .../response`.
    Response(Vec<u8>),
    /// Body of `POST .../error` (or a note if the Runtime API went away).
    Error(Vec<u8>),
}

impl Outcome {
    pub fn is_response(&self) -> bool {
        matches!(self, Outcome::Response(_))
    }

    pub fn bytes(&self) -> &[u8] {
        match self {
            Outcome::Response(b) | Outcome::Error(b) => b,
        }
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::from_slice(self.bytes())
    }
}

/// One invocation queued, and how the function answered it once it has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation {
    /// The Lambda request id (`lambda-runtime-aws-request-id`).
    pub request_id: String,
    pub payload: Vec<u8>,
    /// `None` while queued or running.
    pub outcome: Option<Outcome>,
}

struct Pending {
    id: String,
    /// The ARN the function is told it was invoked as.
    invoked_as: String,
    payload: Vec<u8>,
    deadline: Deadline,
    tx: oneshot::Sender<Outcome>,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Pending>,
    in_flight: HashMap<String, oneshot::Sender<Outcome>>,
    polls: usize,
    first_poll_at: Option<Instant>,
    init_errors: Vec<String>,
    invocations: Vec<Invocation>,
}

/// The Runtime API. Cheap to clone; the server stops when the last clone is dropped.
#[derive(Clone, Debug)]
pub struct RuntimeApi {
    server: Server<State>,
}

impl RuntimeApi {
    /// Starts on `127.0.0.1:0`. Panics if it cannot bind.
    pub async fn start() -> RuntimeApi {
        server::start_on_loopback("Runtime API", Self::start_on).await
    }

    pub async fn start_on(addr: SocketAddr) -> std::io::Result<RuntimeApi> {
        let server = Server::start("runtime-api", addr.into(), State::default(), handle)?;
        Ok(RuntimeApi { server })
    }

    /// `127.0.0.1:PORT`, the form `AWS_LAMBDA_RUNTIME_API` takes.
    pub fn address(&self) -> String {
        self.server.addr().to_string()
    }

    /// Queues an invocation (FIFO) of [`FUNCTION_ARN`] and waits for the
    /// function's answer, with no timeout of its own.
    pub async fn invoke(&self, payload: Vec<u8>, deadline: Deadline) -> Outcome {
        self.invoke_as(FUNCTION_ARN, payload, deadline).await
    }

    /// [`RuntimeApi::invoke`] through another ARN, such as an alias's.
    pub async fn invoke_as(&self, function_arn: &str, payload: Vec<u8>, deadline: Deadline) -> Outcome {
        let (_, outcome) = self.enqueue(function_arn.to_owned(), payload, deadline);
        outcome.await
    }

    /// Queues an invocation (FIFO): its request id, and its outcome to come.
    pub(crate) fn enqueue(
        &self,
        invoked_as: String,
        payload: Vec<u8>,
        deadline: Deadline,
    ) -> (String, impl Future<Output = Outcome>) {
        let (tx, rx) = oneshot::channel();
        let id = http::new_id();
        {
            let mut st = self.server.lock();
            st.invocations.push(Invocation {
                request_id: id.clone(),
                payload: payload.clone(),
                outcome: None,
            });
            st.queue.push_back(Pending {
                id: id.clone(),
                invoked_as,
                payload,
                deadline,
                tx,
            });
        }
        self.server.shared().changed.notify_waiters();
        let outcome = async {
            rx.await
                .unwrap_or_else(|_| Outcome::Error(b"the Runtime API stopped before the function answered".to_vec()))
        };
        (id, outcome)
    }

    /// Every invocation queued so far, in order, with the outcomes known.
    pub fn invocations(&self) -> Vec<Invocation> {
        self.server.lock().invocations.clone()
    }

    /// Waits until every invocation queued has been answered (including those
    /// queued meanwhile, e.g. by the function invoking itself); returns whether
    /// that happened within `timeout`.
    pub async fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        let idle = |st: &mut State| st.invocations.iter().all(|i| i.outcome.is_some()).then_some(());
        self.server.shared().wait_until(Some(deadline), idle).await.is_some()
    }

    /// [`RuntimeApi::invoke`] with a JSON payload.
    pub async fn invoke_json(&self, payload: &serde_json::Value, deadline: Deadline) -> Outcome {
        self.invoke(serde_json::to_vec(payload).unwrap_or_default(), deadline)
            .await
    }

    /// When the function first polled `invocation/next`.
    pub fn first_poll_at(&self) -> Option<Instant> {
        self.server.lock().first_poll_at
    }

    /// How many times `invocation/next` was polled.
    pub fn polls(&self) -> usize {
        self.server.lock().polls
    }

    /// Bodies posted to `init/error`.
    pub fn init_errors(&self) -> Vec<String> {
        self.server.lock().init_errors.clone()
    }

    /// Waits until the function has polled `invocation/next` at least once.
    pub async fn wait_first_poll(&self, timeout: Duration) -> Option<Instant> {
        let deadline = tokio::time::Instant::now() + timeout;
        self.server
            .shared()
            .wait_until(Some(deadline), |st| st.first_poll_at)
            .await
    }
}

fn json_reply(status: u16, value: serde_json::Value) -> Response<Body> {
    http::json_response(status, &value)
}

async fn handle(inner: Arc<Shared<State>>, req: Request<Incoming>) -> Reply {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let body = http::read_body(req.into_body()).await;
    let Some(rest) = path.strip_prefix("/2018-06-01/runtime/") else {
        return Ok(json_reply(404, json!({"errorType": "NotFound", "errorMessage": path})));
    };
    if method == Method::GET && rest == "invocation/next" {
        return Ok(next(&inner).await);
    }
    if method == Method::POST && rest == "init/error" {
        inner
            .lock()
            .init_errors
            .push(String::from_utf8_lossy(&body).into_owned());
        return Ok(json_reply(202, json!({"status": "OK"})));
    }
    if method == Method::POST
        && let Some(rest) = rest.strip_prefix("invocation/")
        && let Some((id, kind)) = rest.split_once('/')
        && (kind == "response" || kind == "error")
    {
        let outcome = if kind == "response" {
            Outcome::Response(body.to_vec())
        } else {
            Outcome::Error(body.to_vec())
        };
        let tx = {
            let mut st = inner.lock();
            let tx = st.in_flight.remove(id);
            if tx.is_some()
                && let Some(record) = st.invocations.iter_mut().find(|i| i.request_id == id)
            {
                record.outcome = Some(outcome.clone());
            }
            tx
        };
        return Ok(match tx {
            Some(tx) => {
                // Nobody may be waiting (an `Event` invocation): the record holds the outcome.
                let _ = tx.send(outcome);
                inner.changed.notify_waiters();
                json_reply(202, json!({"status": "OK"}))
            }
            None => json_reply(
                400,
                json!({"errorType": "InvalidRequestID", "errorMessage": format!("Invalid request ID: {id}")}),
            ),
        });
    }
    Ok(json_reply(404, json!({"errorType": "NotFound", "errorMessage": path})))
}

async fn next(inner: &Shared<State>) -> Response<Body> {
    {
        let mut st = inner.lock();
        st.polls += 1;
        st.first_poll_at.get_or_insert_with(Instant::now);
    }
    inner.changed.notify_waiters();
    let next = |st: &mut State| {
        let p = st.queue.pop_front()?;
        st.in_flight.insert(p.id.clone(), p.tx);
        Some((p.id, p.invoked_as, p.payload, p.deadline))
    };
    let (id, invoked_as, payload, deadline) = inner.wait_until(None, next).await.expect("no deadline");
    let deadline_ms = match deadline {
        Deadline::In(d) => http::epoch_ms(SystemTime::now()) + d.as_millis() as u64,
        Deadline::AtEpochMs(ms) => ms,
    };
    let trace = format!(
        "Root=1-{:08x}-{};Parent={};Sampled=0",
        http::epoch_ms(SystemTime::now()) / 1000,
        &http::hex64(&id)[..24],
        &http::hex64(&id)[24..40]
    );
    http::response(
        200,
        &[
            ("content-type", "application/json"),
            ("lambda-runtime-aws-request-id", &id),
            ("lambda-runtime-deadline-ms", &deadline_ms.to_string()),
            ("lambda-runtime-invoked-function-arn", &invoked_as),
            ("lambda-runtime-trace-id", &trace),
        ],
        payload,
    )
}
