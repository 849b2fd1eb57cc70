//! A long queue: N versions of one image created at once. SageMaker builds
//! one version of an image at a time (the others get `ResourceInUse` and
//! retry with backoff), each build takes `build`, and the function's timeout
//! is far shorter than the queue, so most requests outlast their invocation
//! and are handed on to new ones. Each request goes to its own function
//! instance (its own Runtime API, Lambda Invoke API and process), as Lambda
//! runs concurrent asynchronous invocations. Rust only: the Python handler
//! cannot go on past its invocation.

use std::collections::BTreeSet;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use standins::{Deadline, FunctionProcess, LambdaApi, Put, ResponseReceiver, RuntimeApi, SageMakerStandIn};

use crate::Result;
use crate::harness::{self, Events, IMAGE, Subject};
use crate::table::{self, duration, ratio};

/// How long the queue runs.
#[derive(Debug, Clone, Copy)]
pub struct QueuePlan {
    /// The queue lengths measured, N.
    pub sizes: &'static [usize],
    /// D: the stand-in's create delay, the build time of each version.
    pub build: Duration,
    /// The function's timeout, for CloudFormation's invocation and the handed-on ones.
    pub timeout: Duration,
}

/// The targets of the issue, printed beside the figures (never enforced).
const TARGET_WALL: f64 = 1.15;
const TARGET_CALLS: f64 = 2.0;

/// One queue of N.
pub struct Queue {
    pub n: usize,
    /// The first Create sent → the last answer.
    pub wall: Duration,
    /// The Creates sent → the first build started.
    pub to_first_build: Duration,
    /// Sum of the gaps between one build's end and the next one's start.
    pub idle: Duration,
    /// The last build's end → the last answer.
    pub tail: Duration,
    pub operations: Vec<String>,
    /// Runtime API invocations, hand-offs included.
    pub invocations: usize,
    pub hand_offs: usize,
    /// Requests answered SUCCESS once with a version of their own.
    pub succeeded: usize,
    /// Answers other than one SUCCESS per request with a distinct version.
    pub problems: Vec<String>,
}

pub struct Queues {
    pub plan: QueuePlan,
    /// One request alone, same build time and timeout: the reference.
    pub lone: Queue,
    pub queues: Vec<Queue>,
}

impl Queues {
    /// Every functional problem of every queue: the bench fails on these.
    pub fn problems(&self) -> Vec<String> {
        self.queues
            .iter()
            .flat_map(|q| q.problems.iter().map(move |p| format!("queue of {}: {p}", q.n)))
            .collect()
    }
}

/// One function instance: what Lambda runs for one concurrent invocation.
struct Instance {
    runtime: RuntimeApi,
    lambda: LambdaApi,
    function: FunctionProcess,
}

impl Instance {
    async fn start(subject: &Subject, sagemaker: &SageMakerStandIn, plan: QueuePlan) -> Result<Instance> {
        let runtime = RuntimeApi::start().await;
        let lambda = LambdaApi::start(&runtime).await.with_timeout(plan.timeout);
        let function = harness::spawn(subject, &runtime, sagemaker, &[lambda.endpoint_env()])?;
        harness::wait_polling(subject, &runtime, &function).await?;
        Ok(Instance {
            runtime,
            lambda,
            function,
        })
    }

    fn hand_offs(&self) -> usize {
        self.lambda
            .invokes()
            .iter()
            .filter(|i| i.invocation_type == "Event")
            .count()
    }
}

/// A Create of a version with no aliases: versions of one image that all
/// claim the same aliases would measure the aliases' moves, not the queue.
fn create(events: &Events<'_>) -> Value {
    let mut event = events.create(0);
    if let Some(props) = event["ResourceProperties"].as_object_mut() {
        props.remove("Aliases");
    }
    event
}

pub async fn measure(subject: &Subject, plan: QueuePlan) -> Result<Queues> {
    eprintln!(
        "bench: {}: a lone Create (build {} s, timeout {} s)",
        subject.name,
        plan.build.as_secs_f64(),
        plan.timeout.as_secs_f64()
    );
    let lone = measure_queue(subject, plan, 1).await?;
    if let Some(problem) = lone.problems.first() {
        return Err(format!("a lone Create: {problem}"));
    }
    let mut queues = Vec::new();
    for &n in plan.sizes {
        eprintln!("bench: {}: {n} Creates of one image at once", subject.name);
        queues.push(measure_queue(subject, plan, n).await?);
    }
    Ok(Queues { plan, lone, queues })
}

async fn measure_queue(subject: &Subject, plan: QueuePlan, n: usize) -> Result<Queue> {
    let sagemaker = SageMakerStandIn::start().await;
    sagemaker.add_image(IMAGE);
    sagemaker.set_delays(plan.build, Duration::ZERO);
    let receiver = ResponseReceiver::start().await;
    let mut instances = Vec::with_capacity(n);
    for _ in 0..n {
        instances.push(Instance::start(subject, &sagemaker, plan).await?);
    }
    let events = Events::new(&receiver);
    let requests: Vec<Value> = (0..n).map(|_| create(&events)).collect();
    let (started, started_at) = (Instant::now(), SystemTime::now());
    // CloudFormation's invocations: each instance answers Lambda at once
    // (hand-off) or when done; the answers come through the receiver.
    let mut sent = tokio::task::JoinSet::new();
    for (instance, event) in instances.iter().zip(&requests) {
        let (runtime, event, timeout) = (instance.runtime.clone(), event.clone(), plan.timeout);
        sent.spawn(async move { runtime.invoke_json(&event, Deadline::In(timeout)).await });
    }
    let mut problems = Vec::new();
    while let Some(outcome) = sent.join_next().await {
        match outcome {
            Ok(outcome) if outcome.is_response() => {}
            Ok(outcome) => problems.push(format!(
                "an invocation reported an error: {}",
                String::from_utf8_lossy(outcome.bytes())
            )),
            Err(e) => return Err(format!("an invocation task failed: {e}")),
        }
    }
    // Three times the serial minimum, and a minute: longer means lost.
    let patience = plan.build * 3 * n as u32 + Duration::from_secs(60);
    let mut answers = Vec::with_capacity(n);
    for (event, instance) in requests.iter().zip(&instances) {
        let id = event["RequestId"].as_str().unwrap_or_default();
        match receiver.wait_for(id, patience.saturating_sub(started.elapsed())).await {
            Some(put) => answers.push(put),
            None => {
                return Err(format!(
                    "queue of {n}: no answer to {id} after {patience:?}\n{}",
                    instance.function.logs()
                ));
            }
        }
    }
    for instance in &instances {
        // The last link's Runtime API response follows its answer.
        instance.runtime.wait_idle(Duration::from_secs(10)).await;
    }
    let (succeeded, wrong) = check_answers(&receiver, &requests, &answers);
    problems.extend(wrong);

    let builds = build_starts(&sagemaker, started_at);
    let last_answer = answers.iter().map(|p| p.at).max().unwrap_or(started);
    let last_built = builds.last().map(|b| *b + plan.build).unwrap_or_default();
    Ok(Queue {
        n,
        wall: last_answer - started,
        to_first_build: builds.first().copied().unwrap_or_default(),
        idle: builds.windows(2).map(|w| w[1].saturating_sub(w[0] + plan.build)).sum(),
        tail: (last_answer - started).saturating_sub(last_built),
        operations: sagemaker.operations(),
        invocations: instances.iter().map(|i| i.runtime.invocations().len()).sum(),
        hand_offs: instances.iter().map(Instance::hand_offs).sum(),
        succeeded,
        problems,
    })
}

/// Each request must have exactly one answer, SUCCESS, naming a version no
/// other answer names. Returns how many did, and what was wrong.
fn check_answers(receiver: &ResponseReceiver, requests: &[Value], answers: &[Put]) -> (usize, Vec<String>) {
    let mut problems = Vec::new();
    let mut versions = BTreeSet::new();
    let (mut failed, mut succeeded) = (0, 0);
    for (event, put) in requests.iter().zip(answers) {
        let id = event["RequestId"].as_str().unwrap_or_default();
        let count = receiver.accepted_count_for(id);
        if count != 1 {
            problems.push(format!("{id}: {count} answers"));
        }
        let body = put.body_json().unwrap_or_default();
        if body["Status"] != "SUCCESS" {
            failed += 1;
            if failed == 1 {
                problems.push(format!("{id}: answered {} ({})", body["Status"], body["Reason"]));
            }
            continue;
        }
        let version = body["PhysicalResourceId"].as_str().unwrap_or_default().to_owned();
        if !versions.insert(version.clone()) {
            problems.push(format!("{id}: version {version} answered twice"));
        } else if count == 1 {
            succeeded += 1;
        }
    }
    if failed > 0 {
        problems.push(format!("{failed} of {} requests answered FAILED", requests.len()));
    }
    (succeeded, problems)
}

/// When each version's build started, after `started_at`, in order.
fn build_starts(sagemaker: &SageMakerStandIn, started_at: SystemTime) -> Vec<Duration> {
    let origin = started_at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64();
    let mut starts: Vec<Duration> = sagemaker
        .versions(IMAGE)
        .iter()
        .map(|v| Duration::from_secs_f64((v.creation_time - origin).max(0.0)))
        .collect();
    starts.sort();
    starts
}

fn per_version(count: usize, n: usize) -> f64 {
    count as f64 / n as f64
}

fn count_of(operations: &[String], operation: &str) -> usize {
    operations.iter().filter(|o| *o == operation).count()
}

impl Queues {
    /// The queue's table in Markdown: one column per N, the target last.
    pub fn render(&self) -> String {
        let (build, timeout) = (self.plan.build.as_secs_f64(), self.plan.timeout.as_secs_f64());
        let lone_calls = self.lone.operations.len() as f64;
        let mut header = vec![format!(
            "N Creates of one image at once (build D = {build} s each, function timeout {timeout} s)"
        )];
        header.extend(self.queues.iter().map(|q| format!("N = {}", q.n)));
        header.push("target".into());
        let mut rows = vec![header];
        let mut row = |figure: &str, cell: &dyn Fn(&Queue) -> String, target: &str| {
            let mut r = vec![figure.to_owned()];
            r.extend(self.queues.iter().map(cell));
            r.push(target.to_owned());
            rows.push(r);
        };
        row(
            "wall: first Create → last answer (× N·D)",
            &|q| {
                let serial = self.plan.build * q.n as u32;
                // Two decimals: the target is 1.15.
                format!(
                    "{} ({:.2}×)",
                    duration(q.wall),
                    q.wall.as_secs_f64() / serial.as_secs_f64()
                )
            },
            &format!("≤ {TARGET_WALL} × N·D at N = 20"),
        );
        row(
            "  Creates sent → first build starts",
            &|q| duration(q.to_first_build),
            "",
        );
        row("  image idle between builds (sum)", &|q| duration(q.idle), "");
        row("  last build done → last answer", &|q| duration(q.tail), "");
        row(
            "SageMaker calls per version (× a lone Create's)",
            &|q| {
                let calls = per_version(q.operations.len(), q.n);
                format!("{calls:.1} ({}×)", ratio(calls, lone_calls))
            },
            &format!("≤ {TARGET_CALLS} × lone"),
        );
        for operation in ["CreateImageVersion", "DescribeImageVersion"] {
            row(
                &format!("  {operation} per version"),
                &|q| format!("{:.1}", per_version(count_of(&q.operations, operation), q.n)),
                "",
            );
        }
        row(
            "Runtime API invocations per version (hand-offs included)",
            &|q| format!("{:.1}", per_version(q.invocations, q.n)),
            "",
        );
        row("hand-offs (all requests)", &|q| q.hand_offs.to_string(), "");
        row(
            "requests answered SUCCESS once, each a distinct version",
            &|q| format!("{}/{}", q.succeeded, q.n),
            "all (functional)",
        );
        format!(
            "{}\nA lone Create (same D and timeout): SageMaker calls {}; {} invocation(s).\n",
            table::markdown(&rows),
            crate::calls::summary(&self.lone.operations),
            self.lone.invocations
        )
    }
}
