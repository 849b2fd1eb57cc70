//! The Lambda Runtime API (`2018-06-01`), driven by the test: [`RuntimeApi::invoke`]
//! (or the Lambda `Invoke` API of [`crate::lambda`], on the same queue) queues an
//! event, the function long-polls `invocation/next`, and its `response`/`error`
//! POST completes the invocation.
//!
//! One queue, any number of execution environments: each poll takes the next
//! queued event, so every process polling holds one event at a time and
//! whatever arrives meanwhile (an invocation of itself included) waits in the
//! queue. The address of [`RuntimeApi::address`] serves every process that
//! polls it; an [`Environment`] ([`RuntimeApi::environment`]) is the
//! endpoint of one execution environment, as Lambda gives each sandbox its
//! own, so that two deliveries of one request id to two environments are told
//! apart, and an environment that goes away ([`RuntimeApi::retire`]: a crash,
//! a kill at the deadline) ends the delivery it held. [`crate::pool`] runs a
//! pool of processes on such environments.
//!
//! Asynchronous invocations ([`RuntimeApi::invoke_event`], `Event` invokes)
//! follow [`AsyncSemantics`] once set: a failed delivery (a function error, a
//! crash, a timeout) is delivered again after the retry delays (Lambda: two
//! retries, 1 and 2 minutes later), an event may be delivered twice at once
//! (at-least-once delivery), and a delivery the function answered may be
//! counted as a function error. By default there are no retries and no
//! faults: every invocation is delivered once.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
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
    /// Body of `POST .../error` (or a note if the Runtime API went away, the
    /// environment crashed or timed out).
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
    /// `None` while queued or running (or waiting for a retry).
    pub outcome: Option<Outcome>,
}

/// An execution environment's number, unique in one Runtime API.
pub type EnvironmentId = usize;

/// How Lambda treats asynchronous invocations: retries of a failed delivery,
/// and the faults of at-least-once delivery, drawn from a seeded generator.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AsyncSemantics {
    /// The delay before each retry of a failed delivery (a function error, a
    /// crash, a timeout): Lambda retries twice, 1 and 2 minutes later
    /// ([`AsyncSemantics::lambda`]). Empty: no retries.
    pub retry_delays: Vec<Duration>,
    /// Seeds the draws of `duplicate` and `function_error`.
    pub seed: u64,
    /// The probability that a delivery of an event is followed at once by a
    /// second delivery of the same event (same request id), at the front of
    /// the queue so that another environment takes it while the first runs.
    /// An event is duplicated at most once.
    pub duplicate: f64,
    /// The probability that a delivery the function answered with a response
    /// counts as a function error instead, and is retried.
    pub function_error: f64,
    /// The most injected failures (function errors here, crashes in
    /// [`crate::pool`]) one invocation may take; one is injected only while
    /// a retry is left, so that a fault never drops an event.
    pub failures_per_invocation: u32,
}

impl AsyncSemantics {
    /// Lambda's defaults: two retries, 1 and 2 minutes after a failure; no faults.
    pub fn lambda() -> AsyncSemantics {
        AsyncSemantics {
            retry_delays: vec![Duration::from_secs(60), Duration::from_secs(120)],
            ..AsyncSemantics::default()
        }
    }
}

/// How one delivery ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// The function posted its response.
    Response,
    /// The function posted an error.
    Error,
    /// The function posted its response, counted as a function error (injected).
    InjectedError,
    /// The environment holding it went away (a crash, a process exit).
    Crashed,
    /// The environment was killed at the invocation's deadline.
    TimedOut,
}

impl Ended {
    /// Whether Lambda counts this end as a failure (and retries an asynchronous invocation).
    pub fn is_failure(self) -> bool {
        !matches!(self, Ended::Response)
    }
}

/// One delivery of an invocation to the function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// Its index in [`RuntimeApi::deliveries`].
    pub number: usize,
    /// The Lambda request id, the same for every delivery of one invocation.
    pub request_id: String,
    /// 0 for the first delivery, then 1, 2 for Lambda's retries.
    pub attempt: u32,
    /// A second delivery of the same attempt (at-least-once delivery).
    pub duplicate: bool,
    /// The environment it went to (`None`: a process polling [`RuntimeApi::address`]).
    pub environment: Option<EnvironmentId>,
    pub started_at: Instant,
    /// The invocation's deadline, on this process's clock.
    pub deadline_at: Instant,
    pub ended: Option<(Ended, Instant)>,
}

/// One invocation: what every delivery of it carries, and where it stands.
struct Pending {
    invoked_as: String,
    deadline: Deadline,
    /// Its record in `State::invocations`.
    record: usize,
    /// A caller waiting for the outcome (a synchronous invoke): no retries, no faults.
    waiter: Option<oneshot::Sender<Outcome>>,
    asynchronous: bool,
    retries: u32,
    injected: u32,
    duplicated: bool,
    settled: bool,
}

struct Queued {
    id: String,
    attempt: u32,
    duplicate: bool,
}

struct EnvironmentState {
    alive: bool,
    polls: usize,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Queued>,
    /// Retries waiting for their time.
    delayed: Vec<(Instant, Queued)>,
    requests: HashMap<String, Pending>,
    deliveries: Vec<Delivery>,
    /// Indexes into `deliveries` of those running.
    in_flight: Vec<usize>,
    environments: HashMap<EnvironmentId, EnvironmentState>,
    next_environment: EnvironmentId,
    semantics: AsyncSemantics,
    rng: fastrand::Rng,
    armed_duplicates: u32,
    armed_function_errors: u32,
    polls: usize,
    first_poll_at: Option<Instant>,
    init_errors: Vec<String>,
    invocations: Vec<Invocation>,
}

impl State {
    fn payload_of(&self, id: &str) -> &[u8] {
        self.requests
            .get(id)
            .map_or(&[][..], |r| &self.invocations[r.record].payload)
    }

    /// Moves the retries that are due into the queue.
    fn promote_due(&mut self, now: Instant) {
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.delayed)
            .into_iter()
            .partition(|(at, _)| *at <= now);
        self.delayed = later;
        self.queue.extend(due.into_iter().map(|(_, q)| q));
    }

    fn next_due(&self) -> Option<Instant> {
        self.delayed.iter().map(|(at, _)| *at).min()
    }

    /// Whether a delivery of `id` is queued, waiting for a retry or running.
    fn is_live(&self, id: &str) -> bool {
        self.queue.iter().any(|q| q.id == id)
            || self.delayed.iter().any(|(_, q)| q.id == id)
            || self.in_flight.iter().any(|&d| self.deliveries[d].request_id == id)
    }

    fn draw_duplicate(&mut self) -> bool {
        let drawn = self.rng.f64() < self.semantics.duplicate;
        if self.armed_duplicates > 0 {
            self.armed_duplicates -= 1;
            return true;
        }
        drawn
    }

    /// Takes an injected failure for invocation `id`, if it may take one.
    fn claim_failure(&mut self, id: &str) -> bool {
        let (budget, retries) = (
            self.semantics.failures_per_invocation,
            self.semantics.retry_delays.len() as u32,
        );
        match self.requests.get_mut(id) {
            Some(r) if r.asynchronous && !r.settled && r.injected < budget && r.retries < retries => {
                r.injected += 1;
                true
            }
            _ => false,
        }
    }

    /// Hands the next queued event to a poll from `environment`.
    fn take_next(&mut self, environment: Option<EnvironmentId>) -> Option<(String, String, Vec<u8>, u64)> {
        let now = Instant::now();
        self.promote_due(now);
        if let Some(e) = environment
            && !self.environments.get(&e).is_some_and(|e| e.alive)
        {
            return None;
        }
        let q = self.queue.pop_front()?;
        let request = self.requests.get(&q.id).expect("a queued event has its request");
        let (deadline_ms, deadline_at) = match request.deadline {
            Deadline::In(d) => (http::epoch_ms(SystemTime::now()) + d.as_millis() as u64, now + d),
            Deadline::AtEpochMs(ms) => {
                let left = http::epoch_ms(SystemTime::now()).abs_diff(ms);
                let at = if ms >= http::epoch_ms(SystemTime::now()) {
                    now + Duration::from_millis(left)
                } else {
                    now.checked_sub(Duration::from_millis(left)).unwrap_or(now)
                };
                (ms, at)
            }
        };
        let (invoked_as, asynchronous, duplicated) =
            (request.invoked_as.clone(), request.asynchronous, request.duplicated);
        let payload = self.invocations[request.record].payload.clone();
        let number = self.deliveries.len();
        self.deliveries.push(Delivery {
            number,
            request_id: q.id.clone(),
            attempt: q.attempt,
            duplicate: q.duplicate,
            environment,
            started_at: now,
            deadline_at,
            ended: None,
        });
        self.in_flight.push(number);
        if asynchronous && !q.duplicate && !duplicated && self.draw_duplicate() {
            if let Some(r) = self.requests.get_mut(&q.id) {
                r.duplicated = true;
            }
            self.queue.push_front(Queued {
                id: q.id.clone(),
                attempt: q.attempt,
                duplicate: true,
            });
        }
        if let Some(e) = environment.and_then(|e| self.environments.get_mut(&e)) {
            e.polls += 1;
        }
        Some((q.id, invoked_as, payload, deadline_ms))
    }

    /// Ends delivery `number` as `ended`; `body` is what the function posted.
    fn finish(&mut self, number: usize, ended: Ended, body: Vec<u8>) {
        let now = Instant::now();
        self.in_flight.retain(|&d| d != number);
        let delivery = &mut self.deliveries[number];
        if delivery.ended.is_some() {
            return;
        }
        delivery.ended = Some((ended, now));
        let id = delivery.request_id.clone();
        let live = self.is_live(&id);
        let delays = self.semantics.retry_delays.clone();
        let Some(request) = self.requests.get_mut(&id) else {
            return;
        };
        if request.settled {
            return;
        }
        let outcome = match ended {
            Ended::Response => Outcome::Response(body),
            _ if live => return,
            _ if request.asynchronous && (request.retries as usize) < delays.len() => {
                let due = now + delays[request.retries as usize];
                request.retries += 1;
                let attempt = request.retries;
                self.delayed.push((
                    due,
                    Queued {
                        id,
                        attempt,
                        duplicate: false,
                    },
                ));
                return;
            }
            Ended::Error => Outcome::Error(body),
            other => Outcome::Error(format!("{{\"errorType\":\"Runtime.{other:?}\"}}").into_bytes()),
        };
        request.settled = true;
        let record = request.record;
        if let Some(waiter) = request.waiter.take() {
            // Nobody may be waiting any more: the record holds the outcome.
            let _ = waiter.send(outcome.clone());
        }
        self.invocations[record].outcome = Some(outcome);
    }
}

/// The Runtime API. Cheap to clone; the server stops when the last clone is dropped.
#[derive(Clone, Debug)]
pub struct RuntimeApi {
    server: Server<State>,
}

/// One execution environment's own Runtime API endpoint, on the queue of
/// its [`RuntimeApi`]; its server stops when dropped.
#[derive(Debug)]
pub struct Environment {
    id: EnvironmentId,
    server: Server<()>,
}

impl Environment {
    pub fn id(&self) -> EnvironmentId {
        self.id
    }

    /// `127.0.0.1:PORT`, for the environment's `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.server.addr().to_string()
    }
}

impl RuntimeApi {
    /// Starts on `127.0.0.1:0`. Panics if it cannot bind.
    pub async fn start() -> RuntimeApi {
        server::start_on_loopback("Runtime API", Self::start_on).await
    }

    pub async fn start_on(addr: SocketAddr) -> std::io::Result<RuntimeApi> {
        let server = Server::start("runtime-api", addr.into(), State::default(), |shared, req| async move {
            handle(&shared, None, req).await
        })?;
        Ok(RuntimeApi { server })
    }

    /// `127.0.0.1:PORT`, the form `AWS_LAMBDA_RUNTIME_API` takes.
    pub fn address(&self) -> String {
        self.server.addr().to_string()
    }

    /// A new execution environment's endpoint on this queue, on a free loopback port.
    pub fn environment(&self) -> std::io::Result<Environment> {
        let id = {
            let mut st = self.server.lock();
            let id = st.next_environment;
            st.next_environment += 1;
            st.environments.insert(id, EnvironmentState { alive: true, polls: 0 });
            id
        };
        let api = self.clone();
        let addr = SocketAddr::from(([127, 0, 0, 1], 0));
        let server = Server::start("runtime-env", addr.into(), (), move |_, req| {
            let api = api.clone();
            async move { handle(api.server.shared(), Some(id), req).await }
        })?;
        Ok(Environment { id, server })
    }

    /// Environment `id` went away (`Ended::Crashed`) or was killed at its
    /// deadline (`Ended::TimedOut`): it takes no more events, and the
    /// delivery it held ends so (and is retried as [`AsyncSemantics`] says).
    pub fn retire(&self, id: EnvironmentId, why: Ended) {
        {
            let mut st = self.server.lock();
            if let Some(e) = st.environments.get_mut(&id) {
                e.alive = false;
            }
            let held: Vec<usize> = st
                .in_flight
                .iter()
                .copied()
                .filter(|&d| st.deliveries[d].environment == Some(id))
                .collect();
            for number in held {
                st.finish(number, why, Vec::new());
            }
        }
        self.server.shared().changed.notify_waiters();
    }

    /// The delivery environment `id` holds, if any.
    pub fn held_by(&self, id: EnvironmentId) -> Option<Delivery> {
        let st = self.server.lock();
        st.in_flight
            .iter()
            .rev()
            .map(|&d| &st.deliveries[d])
            .find(|d| d.environment == Some(id))
            .cloned()
    }

    /// How many times environment `id` took an event.
    pub fn deliveries_to(&self, id: EnvironmentId) -> usize {
        self.server.lock().environments.get(&id).map_or(0, |e| e.polls)
    }

    /// Sets how asynchronous invocations are retried and which faults they draw.
    pub fn set_async(&self, semantics: AsyncSemantics) {
        let mut st = self.server.lock();
        st.rng = fastrand::Rng::with_seed(semantics.seed ^ 0x5255_4e54_494d_4501);
        st.semantics = semantics;
    }

    /// The next `n` asynchronous events delivered are each delivered a second time at once.
    pub fn duplicate_next(&self, n: u32) {
        self.server.lock().armed_duplicates += n;
    }

    /// The next `n` responses to asynchronous invocations that may take an
    /// injected failure (see [`AsyncSemantics::failures_per_invocation`])
    /// count as function errors.
    pub fn fail_next_responses(&self, n: u32) {
        self.server.lock().armed_function_errors += n;
    }

    /// Takes an injected failure (a crash) for delivery `number`'s
    /// invocation if it may take one: asynchronous, not answered yet, under
    /// [`AsyncSemantics::failures_per_invocation`], with a retry left.
    pub fn claim_failure(&self, number: usize) -> bool {
        let mut st = self.server.lock();
        let Some(id) = st.deliveries.get(number).map(|d| d.request_id.clone()) else {
            return false;
        };
        st.claim_failure(&id)
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

    /// Queues an asynchronous invocation of [`FUNCTION_ARN`], as CloudFormation
    /// invokes a custom resource (and the function hands a request on):
    /// nobody waits for it; it is retried and may be delivered twice as
    /// [`AsyncSemantics`] says. Returns its request id.
    pub fn invoke_event(&self, payload: Vec<u8>, deadline: Deadline) -> String {
        self.invoke_event_as(FUNCTION_ARN, payload, deadline)
    }

    /// [`RuntimeApi::invoke_event`] through another ARN, such as an alias's.
    pub fn invoke_event_as(&self, function_arn: &str, payload: Vec<u8>, deadline: Deadline) -> String {
        self.push(function_arn.to_owned(), payload, deadline, None)
    }

    /// Queues an invocation (FIFO): its request id, and its outcome to come.
    pub(crate) fn enqueue(
        &self,
        invoked_as: String,
        payload: Vec<u8>,
        deadline: Deadline,
    ) -> (String, impl Future<Output = Outcome>) {
        let (tx, rx) = oneshot::channel();
        let id = self.push(invoked_as, payload, deadline, Some(tx));
        let outcome = async {
            rx.await
                .unwrap_or_else(|_| Outcome::Error(b"the Runtime API stopped before the function answered".to_vec()))
        };
        (id, outcome)
    }

    fn push(
        &self,
        invoked_as: String,
        payload: Vec<u8>,
        deadline: Deadline,
        waiter: Option<oneshot::Sender<Outcome>>,
    ) -> String {
        let id = http::new_id();
        {
            let mut st = self.server.lock();
            let record = st.invocations.len();
            st.invocations.push(Invocation {
                request_id: id.clone(),
                payload,
                outcome: None,
            });
            st.requests.insert(
                id.clone(),
                Pending {
                    invoked_as,
                    deadline,
                    record,
                    asynchronous: waiter.is_none(),
                    waiter,
                    retries: 0,
                    injected: 0,
                    duplicated: false,
                    settled: false,
                },
            );
            st.queue.push_back(Queued {
                id: id.clone(),
                attempt: 0,
                duplicate: false,
            });
        }
        self.server.shared().changed.notify_waiters();
        id
    }

    /// Every invocation queued so far, in order, with the outcomes known.
    pub fn invocations(&self) -> Vec<Invocation> {
        self.server.lock().invocations.clone()
    }

    /// Every delivery so far, in the order they started.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.server.lock().deliveries.clone()
    }

    /// The deliveries of the invocations whose payload holds `needle` (such
    /// as a CloudFormation `RequestId`: the hand-offs of a request carry it too).
    pub fn deliveries_of(&self, needle: &str) -> Vec<Delivery> {
        let st = self.server.lock();
        st.deliveries
            .iter()
            .filter(|d| contains(st.payload_of(&d.request_id), needle.as_bytes()))
            .cloned()
            .collect()
    }

    /// How many deliveries of invocations whose payload holds `needle` are
    /// queued, waiting for a retry or running.
    pub fn pending_deliveries_of(&self, needle: &str) -> usize {
        let st = self.server.lock();
        let holds = |id: &str| contains(st.payload_of(id), needle.as_bytes());
        st.queue.iter().filter(|q| holds(&q.id)).count()
            + st.delayed.iter().filter(|(_, q)| holds(&q.id)).count()
            + st.in_flight
                .iter()
                .filter(|&&d| holds(&st.deliveries[d].request_id))
                .count()
    }

    /// Waits until every invocation queued has been answered and no delivery
    /// is queued, waiting for a retry or running (including those queued
    /// meanwhile, e.g. by the function invoking itself, and second
    /// deliveries); returns whether that happened within `timeout`.
    pub async fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        let idle = |st: &mut State| {
            (st.invocations.iter().all(|i| i.outcome.is_some())
                && st.queue.is_empty()
                && st.delayed.is_empty()
                && st.in_flight.is_empty())
            .then_some(())
        };
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

    /// Waits until `invocation/next` has been polled at least `n` times.
    pub async fn wait_polls(&self, n: usize, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        self.server
            .shared()
            .wait_until(Some(deadline), |st| (st.polls >= n).then_some(()))
            .await
            .is_some()
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

fn json_reply(status: u16, value: serde_json::Value) -> Response<Body> {
    http::json_response(status, &value)
}

async fn handle(inner: &Shared<State>, environment: Option<EnvironmentId>, req: Request<Incoming>) -> Reply {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let body = http::read_body(req.into_body()).await;
    let Some(rest) = path.strip_prefix("/2018-06-01/runtime/") else {
        return Ok(json_reply(404, json!({"errorType": "NotFound", "errorMessage": path})));
    };
    if method == Method::GET && rest == "invocation/next" {
        return Ok(next(inner, environment).await);
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
        let found = {
            let mut st = inner.lock();
            let number = st
                .in_flight
                .iter()
                .copied()
                .find(|&d| st.deliveries[d].request_id == id && st.deliveries[d].environment == environment);
            if let Some(number) = number {
                let probability = st.semantics.function_error;
                let drawn = st.rng.f64() < probability;
                let ended = if kind == "error" {
                    Ended::Error
                } else if (st.armed_function_errors > 0 || drawn) && st.claim_failure(id) {
                    st.armed_function_errors = st.armed_function_errors.saturating_sub(1);
                    Ended::InjectedError
                } else {
                    Ended::Response
                };
                st.finish(number, ended, body.to_vec());
            }
            number.is_some()
        };
        return Ok(if found {
            inner.changed.notify_waiters();
            json_reply(202, json!({"status": "OK"}))
        } else {
            json_reply(
                400,
                json!({"errorType": "InvalidRequestID", "errorMessage": format!("Invalid request ID: {id}")}),
            )
        });
    }
    Ok(json_reply(404, json!({"errorType": "NotFound", "errorMessage": path})))
}

async fn next(inner: &Shared<State>, environment: Option<EnvironmentId>) -> Response<Body> {
    {
        let mut st = inner.lock();
        st.polls += 1;
        st.first_poll_at.get_or_insert_with(Instant::now);
    }
    inner.changed.notify_waiters();
    let (id, invoked_as, payload, deadline_ms) = loop {
        // Wakes on every change, and when the next retry is due.
        let due = inner.lock().next_due().map(tokio::time::Instant::from_std);
        if let Some(found) = inner.wait_until(due, |st| st.take_next(environment)).await {
            break found;
        }
    };
    // A second delivery may have been queued for another environment.
    inner.changed.notify_waiters();
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
