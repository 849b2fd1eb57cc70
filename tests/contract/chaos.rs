//! Lambda's asynchronous semantics and SageMaker's faults at once, seeded and
//! bounded: several resources on several images go through their lifecycle
//! at the same time (Create with aliases, Updates in place, replacements with
//! their cleanup Delete, CloudFormation's rollbacks, Delete), each request
//! sent as CloudFormation sends it (an asynchronous invoke) to a pool of
//! execution environments (`standins::pool`) that Lambda's faults hit:
//!
//! * an event delivered twice, to two environments at once;
//! * an environment killed (`SIGKILL`) mid-invocation, replaced, the event
//!   delivered again (Lambda's retries: here after 250 and 500 ms);
//! * a response counted as a function error, and delivered again;
//! * an environment killed when it outlives its invocation's deadline;
//! * the Invoke API throttling the hand-offs (429, at most twice in a row
//!   for one invoke, so that the SDK's three tries get through);
//!
//! and the stand-ins' faults: SageMaker throttling, 500s and reset
//! connections (bursts of one or two), builds and deletions of changing
//! length (0.3 to 3.5 s builds under a 3 s function timeout: hand-offs are
//! common), one armed `CREATE_FAILED` per seed (a permanent failure, whose
//! FAILED answer and rollback are expected), and 5xx answers to the
//! response PUTs (bursts of one or two, a function timeout apart). Every
//! injected failure stays within what the contract absorbs: an invocation
//! takes at most one crash or function error, and only while a retry is
//! left, so that no fault drops an event by itself; a throttle or a 5xx
//! burst never outlasts the tries the function makes.
//!
//! What it checks, per request (each test is one rule, over every seed):
//! answered before its `ServiceTimeout`; every PUT of one request the same
//! (Status, PhysicalResourceId, Data); no FAILED but the armed
//! `CREATE_FAILED`; after each request, once no delivery of it is left, the
//! resource's versions, aliases, base image and metadata as its template
//! says; at the end, no version left and at most one version per request
//! (`ClientToken`); no secret in any environment's log.
//!
//! A seed fixes the plan (the resources' templates and steps, the fault
//! schedule of the stand-ins, the draws of the pool and the Runtime API);
//! threads and timing decide which delivery meets which draw, so a run is
//! as reproducible as the order of events allows. Each seed runs once per
//! test binary and every rule's test reads its report; a seed prints one
//! summary line (`-- --nocapture` shows it: requests, answers, deliveries,
//! hand-offs, retries, each fault injected, violations, wall time) and
//! writes every violation in full (the answers, the deliveries, the log
//! lines naming the request) to `target/tmp/chaos-seed-<seed>.txt`. A seed
//! takes 10 to 30 s on 2 cores when every request is answered; each
//! request left unanswered adds its `ServiceTimeout` (30 s).
//!
//! Longer runs: `CHAOS_SEEDS` (a list, `4,5,6`, or a range, `1..20`) and
//! `CHAOS_REQUESTS` (requests per seed, default 24), `CHAOS_RESOURCES`
//! (resources per seed, default 4), e.g.
//! `CHAOS_SEEDS=1..11 CHAOS_REQUESTS=60 cargo test --test contract chaos:: -- --nocapture`.
//! A failure names the seed: `CHAOS_SEEDS=<seed>` replays it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures::future::join_all;
use serde_json::{Value, json};
use standins::runtime_api::{AsyncSemantics, Ended};
use standins::{Fault, PoolConfig, Put, VersionView};

use crate::answer::Answer;
use crate::harness::{PoolHarness, props, response_url_secrets};

/// The seeds `cargo test` runs.
const FIXED_SEEDS: [u64; 3] = [1, 2, 3];
const DEFAULT_REQUESTS: usize = 24;
const DEFAULT_RESOURCES: usize = 4;
/// The resources share these images (two resources on one image queue
/// behind each other: SageMaker builds one version of an image at a time).
const IMAGES: usize = 3;
/// The function's timeout: builds of up to 3.5 s take a hand-off or two.
const TIMEOUT: Duration = Duration::from_secs(3);
/// Each resource's `ServiceTimeout`: a lifecycle step takes a few seconds,
/// two builds queued on one image with faults less than 15.
const SERVICE_TIMEOUT: Duration = Duration::from_secs(30);
const POOL_SIZE: usize = 6;
/// Lambda's retries of a failed delivery, shortened (Lambda: 1 and 2 minutes).
const RETRY_DELAYS: [Duration; 2] = [Duration::from_millis(250), Duration::from_millis(500)];
/// The failure reason of the one armed `CREATE_FAILED` of a seed.
const CREATE_FAILED_REASON: &str = "chaos: the base image could not be pulled";
const ALIASES: [&str; 4] = ["blue", "green", "stable", "canary"];
/// Bursts of PUT failures are this far apart: longer than the tries of
/// one answer take (the function tries three times, within its deadline).
const PUT_FAILURES_APART: Duration = TIMEOUT;

// ---------------------------------------------------------------- the rules

/// One test per rule, named for it.
macro_rules! rules {
    ($($test:ident => $rule:ident,)*) => {
        $(
            #[test]
            fn $test() {
                check(Rule::$rule);
            }
        )*
    };
}

rules! {
    every_request_is_answered_before_its_service_timeout => AnsweredInTime,
    every_answer_to_one_request_has_the_same_status_id_and_data => SameAnswers,
    no_request_answers_failed_under_transient_faults => NoFailure,
    after_each_request_the_versions_and_aliases_are_what_the_templates_say => MatchesTemplates,
    no_version_is_left_behind_and_no_request_makes_two => NoOrphan,
    no_log_line_of_any_environment_holds_a_secret => NoSecret,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rule {
    AnsweredInTime,
    SameAnswers,
    NoFailure,
    MatchesTemplates,
    NoOrphan,
    NoSecret,
}

impl Rule {
    fn says(self) -> &'static str {
        match self {
            Rule::AnsweredInTime => "every request is answered before its ServiceTimeout",
            Rule::SameAnswers => "all answers of one request are identical (Status, PhysicalResourceId, Data)",
            Rule::NoFailure => "no FAILED under transient faults",
            Rule::MatchesTemplates => "the state matches the templates",
            Rule::NoOrphan => "no orphan version, at most one version per request",
            Rule::NoSecret => "no secret in any log",
        }
    }
}

#[derive(Clone, Debug)]
struct Violation {
    rule: Rule,
    seed: u64,
    /// Which request (or `end of run`).
    request: String,
    detail: String,
}

#[derive(Debug)]
struct Report {
    summary: String,
    violations: Vec<Violation>,
}

/// Every seed's report, run on first use.
fn check(rule: Rule) {
    let settings = settings();
    let mut found = Vec::new();
    let mut summaries = Vec::new();
    for &seed in &settings.seeds {
        let report = report(seed, settings);
        summaries.push(report.summary.clone());
        found.extend(report.violations.iter().filter(|v| v.rule == rule).cloned());
    }
    if found.is_empty() {
        return;
    }
    const SHOWN: usize = 12;
    let mut text = format!("{} violation(s) of \"{}\":\n", found.len(), rule.says());
    for v in found.iter().take(SHOWN) {
        text.push_str(&format!(
            "\n=== seed {}, {}: {}\n{}\n",
            v.seed,
            v.request,
            rule.says(),
            v.detail
        ));
    }
    if found.len() > SHOWN {
        text.push_str(&format!("\n... and {} more\n", found.len() - SHOWN));
    }
    text.push_str(&format!("\n{}\n", summaries.join("\n")));
    let seeds: BTreeSet<u64> = found.iter().map(|v| v.seed).collect();
    text.push_str(&format!(
        "\nreplay: CHAOS_SEEDS={} cargo test --test contract chaos:: -- --nocapture\n",
        seeds.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
    ));
    panic!("{text}");
}

struct Settings {
    seeds: Vec<u64>,
    requests: usize,
    resources: usize,
}

fn settings() -> &'static Settings {
    static SETTINGS: OnceLock<Settings> = OnceLock::new();
    SETTINGS.get_or_init(|| {
        let number = |name: &str, default: usize| {
            std::env::var(name)
                .ok()
                .map(|v| {
                    v.trim()
                        .parse()
                        .unwrap_or_else(|_| panic!("{name}={v:?} is not a number"))
                })
                .unwrap_or(default)
        };
        let seeds = match std::env::var("CHAOS_SEEDS") {
            Ok(v) => parse_seeds(&v),
            Err(_) => FIXED_SEEDS.to_vec(),
        };
        Settings {
            seeds,
            requests: number("CHAOS_REQUESTS", DEFAULT_REQUESTS),
            resources: number("CHAOS_RESOURCES", DEFAULT_RESOURCES).max(1),
        }
    })
}

/// `4,5,6` or `1..20` (20 excluded).
fn parse_seeds(v: &str) -> Vec<u64> {
    let bad = || panic!("CHAOS_SEEDS={v:?}: a list (4,5,6) or a range (1..20)");
    if let Some((from, to)) = v.split_once("..") {
        let (from, to) = (
            from.trim().parse::<u64>().unwrap_or_else(|_| bad()),
            to.trim().parse::<u64>().unwrap_or_else(|_| bad()),
        );
        return (from..to).collect();
    }
    v.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse().unwrap_or_else(|_| bad()))
        .collect()
}

fn report(seed: u64, settings: &'static Settings) -> Arc<Report> {
    /// Each seed's run, once: the first test to ask runs it, the others wait.
    type Run = Arc<OnceLock<Arc<Report>>>;
    static RUNS: OnceLock<Mutex<HashMap<u64, Run>>> = OnceLock::new();
    let cell = RUNS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(seed)
        .or_default()
        .clone();
    cell.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        Arc::new(runtime.block_on(run(seed, settings)))
    })
    .clone()
}

// ----------------------------------------------------------------- the plan

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// An in-place Update.
    InPlace,
    /// An in-place Update, then CloudFormation's rollback of it (another
    /// resource failed): the same Update with old and new swapped.
    InPlaceRolledBack,
    /// A replacement Update, then the cleanup Delete of the old id.
    Replacement,
    /// A replacement Update, then the rollback: a Delete of the new id.
    ReplacementRolledBack,
}

impl Step {
    fn requests(self) -> usize {
        if self == Step::InPlace { 1 } else { 2 }
    }
}

/// One resource's life: its template at Create, then each step's.
struct Plan {
    resource: usize,
    image: String,
    templates: Vec<Value>,
    steps: Vec<Step>,
}

/// The steps and templates of one resource. A template's `BaseImage` is
/// set when its step runs: an in-place step keeps the resource's, a
/// replacement takes a new one (a rollback may have put the resource back).
fn plan(rng: &mut fastrand::Rng, resource: usize, budget: usize) -> Plan {
    let image = image_name(resource % IMAGES);
    let mut templates = vec![template(rng, resource, &image, 1)];
    let mut steps = Vec::new();
    let mut requests = 2;
    loop {
        let step = match rng.u8(0..8) {
            0..=2 => Step::InPlace,
            3 => Step::InPlaceRolledBack,
            4..=6 => Step::Replacement,
            _ => Step::ReplacementRolledBack,
        };
        if requests + step.requests() > budget {
            break;
        }
        requests += step.requests();
        templates.push(template(rng, resource, &image, 1));
        steps.push(step);
    }
    Plan {
        resource,
        image,
        templates,
        steps,
    }
}

fn image_name(i: usize) -> String {
    format!("chaos-{i}")
}

fn base_image(resource: usize, base: u32) -> String {
    format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/chaos-r{resource}:{base}.0")
}

/// A template for `resource`: its own aliases (a random subset of its four)
/// and random metadata, as CloudFormation sends them (strings).
fn template(rng: &mut fastrand::Rng, resource: usize, image: &str, base: u32) -> Value {
    let mut t = json!({
        "ServiceToken": props()["ServiceToken"],
        "ServiceTimeout": SERVICE_TIMEOUT.as_secs().to_string(),
        "ImageName": image,
        "BaseImage": base_image(resource, base),
    });
    let aliases: Vec<String> = ALIASES
        .iter()
        .filter(|_| rng.bool())
        .map(|a| format!("r{resource}-{a}"))
        .collect();
    if !aliases.is_empty() {
        t["Aliases"] = json!(aliases);
    }
    let pick = |rng: &mut fastrand::Rng, from: &[&str]| from[rng.usize(..from.len())].to_owned();
    if rng.bool() {
        t["ReleaseNotes"] = json!(format!("r{resource} release {}", rng.u32(1..1000)));
    }
    if rng.bool() {
        t["JobType"] = json!(pick(rng, &["TRAINING", "INFERENCE", "NOTEBOOK_KERNEL"]));
    }
    if rng.bool() {
        t["Processor"] = json!(pick(rng, &["CPU", "GPU"]));
    }
    if rng.bool() {
        t["Horovod"] = json!(pick(rng, &["true", "false"]));
    }
    if rng.bool() {
        t["VendorGuidance"] = json!(pick(rng, &["NOT_PROVIDED", "STABLE", "TO_BE_ARCHIVED", "ARCHIVED"]));
    }
    t
}

fn aliases_of(template: &Value) -> BTreeSet<String> {
    template["Aliases"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

fn version_of(arn: &str) -> Option<u32> {
    arn.contains(":image-version/")
        .then(|| arn.rsplit('/').next()?.parse().ok())
        .flatten()
}

// ------------------------------------------------------------------ the run

/// How one request sent was answered (its first accepted answer).
struct Sent {
    answer: Option<Answer>,
}

struct Chaos {
    seed: u64,
    h: PoolHarness,
    started: Instant,
    violations: Mutex<Vec<Violation>>,
    forbidden: Mutex<Vec<String>>,
    sent: Mutex<Vec<Sent>>,
    /// Request id → its label and when it was sent, for every request.
    labels: Mutex<HashMap<String, (String, Instant)>>,
    /// Every version seen: (image, version) → its last view.
    seen: Mutex<BTreeMap<(String, u32), VersionView>>,
    create_failures: AtomicU32,
    next_request: AtomicU32,
    stop: AtomicBool,
}

/// Where one resource stands, as CloudFormation sees it.
struct Resource {
    physical: String,
    template: Value,
    /// The aliases its version holds: the template's, but after the rollback
    /// of a replacement, those that moved to the deleted version are gone.
    aliases: BTreeSet<String>,
    /// The request ids that may have made a version of it (its `ClientToken`s).
    tokens: BTreeSet<String>,
    /// Those that answered FAILED: a version of theirs may still be DELETING.
    failed: BTreeSet<String>,
    /// Off after the first mismatch, so that one fault is reported once.
    checking: bool,
    /// The last `BaseImage` number given: each replacement takes the next.
    base: u32,
    /// The last request sent: its id and when.
    last: Option<(String, Instant)>,
}

async fn run(seed: u64, settings: &Settings) -> Report {
    let images: Vec<String> = (0..IMAGES.min(settings.resources)).map(image_name).collect();
    let semantics = AsyncSemantics {
        retry_delays: RETRY_DELAYS.to_vec(),
        seed,
        duplicate: 0.15,
        function_error: 0.05,
        failures_per_invocation: 1,
    };
    let pool = PoolConfig {
        size: POOL_SIZE,
        timeout: TIMEOUT,
        seed,
        crash: 0.08,
        ..PoolConfig::default()
    };
    let image_refs: Vec<&str> = images.iter().map(String::as_str).collect();
    let h = PoolHarness::start(&image_refs, semantics, pool, &[]).await;
    h.lambda.throttle_randomly(seed, 0.1, 2);
    h.sagemaker
        .set_delays(Duration::from_millis(1500), Duration::from_millis(500));
    let mut rng = fastrand::Rng::with_seed(seed);
    let per_resource = settings.requests.div_ceil(settings.resources).max(2);
    let plans: Vec<Plan> = (0..settings.resources)
        .map(|r| plan(&mut rng, r, per_resource))
        .collect();
    let chaos = Arc::new(Chaos {
        seed,
        h,
        started: Instant::now(),
        violations: Mutex::default(),
        forbidden: Mutex::default(),
        sent: Mutex::default(),
        labels: Mutex::default(),
        seen: Mutex::default(),
        create_failures: AtomicU32::new(0),
        next_request: AtomicU32::new(1),
        stop: AtomicBool::new(false),
    });
    let monitor = tokio::spawn({
        let (chaos, images) = (chaos.clone(), images.clone());
        async move { chaos.monitor(&images).await }
    });
    let faults = tokio::spawn({
        let chaos = chaos.clone();
        async move { chaos.faults().await }
    });
    join_all(plans.iter().map(|p| chaos.drive(p))).await;
    chaos.stop.store(true, Ordering::SeqCst);
    let _ = faults.await;
    let idle = chaos.h.runtime.wait_idle(SERVICE_TIMEOUT).await;
    // The versions a FAILED replacement discards go on DELETING for a moment.
    let settled_by = Instant::now() + Duration::from_secs(5);
    while images.iter().any(|i| !chaos.h.sagemaker.versions(i).is_empty()) && Instant::now() < settled_by {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = monitor.await;
    chaos.record_versions(&images);
    chaos.end_checks(&images, idle);
    chaos.report()
}

impl Chaos {
    fn violation(&self, rule: Rule, request: &str, detail: String) {
        self.violations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Violation {
                rule,
                seed: self.seed,
                request: request.to_owned(),
                detail,
            });
    }

    /// Samples every image's versions, so that no version goes unseen
    /// (a version is `CREATING` for 300 ms at least).
    async fn monitor(&self, images: &[String]) {
        while !self.stop.load(Ordering::SeqCst) {
            self.record_versions(images);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn record_versions(&self, images: &[String]) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        for image in images {
            for v in self.h.sagemaker.versions(image) {
                seen.insert((image.clone(), v.version), v);
            }
        }
    }

    /// The stand-ins' faults, on a seeded schedule, every 200 ms: SageMaker
    /// bursts of throttles, 500s and resets, changing build and deletion
    /// times, one `CREATE_FAILED`, and 5xx answers to the response PUTs.
    async fn faults(&self) {
        let mut rng = fastrand::Rng::with_seed(self.seed ^ 0xfa_017);
        let ops = [
            None,
            Some("CreateImageVersion"),
            Some("DescribeImageVersion"),
            Some("UpdateImageVersion"),
            Some("DeleteImageVersion"),
            Some("ListAliases"),
        ];
        let create_failure_at = rng.u32(5..40);
        let mut puts_armed = 0;
        for tick in 0.. {
            if self.stop.load(Ordering::SeqCst) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            let sagemaker = &self.h.sagemaker;
            if sagemaker.pending_faults() == 0 && rng.f64() < 0.5 {
                let fault = [Fault::Throttle, Fault::ServerError, Fault::Reset][rng.usize(..3)];
                sagemaker.inject(ops[rng.usize(..ops.len())], fault, rng.u32(1..=2));
            }
            // One burst of one or two PUT failures at a time, the next one
            // well after the last failure: the three tries of one answer get through.
            let failed: Vec<Instant> = self
                .h
                .receiver
                .puts()
                .iter()
                .filter(|p| p.status >= 500)
                .map(|p| p.at)
                .collect();
            let quiet = failed.last().is_none_or(|at| at.elapsed() > PUT_FAILURES_APART);
            if failed.len() >= puts_armed && quiet && rng.f64() < 0.25 {
                let n = rng.u32(1..=2);
                self.h.receiver.fail_next(n, [500, 503][rng.usize(..2)]);
                puts_armed += n as usize;
            }
            if rng.f64() < 0.15 {
                sagemaker.set_delays(
                    Duration::from_millis(rng.u64(300..3500)),
                    Duration::from_millis(rng.u64(100..1500)),
                );
            }
            if tick == create_failure_at {
                sagemaker.fail_next_creation(CREATE_FAILED_REASON);
                self.create_failures.fetch_add(1, Ordering::SeqCst);
            }
        }
    }

    /// Plays CloudFormation for one resource: sends each request, waits for
    /// its answer, and goes on as CloudFormation would (a FAILED Create is
    /// rolled back by a Delete, a FAILED Update by the swapped Update).
    async fn drive(&self, plan: &Plan) {
        let first = plan.templates[0].clone();
        let mut r = Resource {
            physical: String::new(),
            aliases: aliases_of(&first),
            template: first.clone(),
            tokens: BTreeSet::new(),
            failed: BTreeSet::new(),
            checking: true,
            base: 1,
            last: None,
        };
        let created = self
            .request(plan, &mut r, "Create", "Create", json!({"ResourceProperties": first}))
            .await;
        match created {
            Some(a) if a.status() == "SUCCESS" => {
                r.physical = a.physical_id().to_owned();
                self.check_state(plan, &mut r, "Create", &[]);
            }
            other => {
                // CloudFormation rolls a failed (or timed-out) Create back with
                // a Delete of the id answered (one it makes up when none came).
                let id = other.map_or_else(
                    || format!("ImageVersion-chaos-{}", plan.resource),
                    |a| a.physical_id().to_owned(),
                );
                let fields = json!({"PhysicalResourceId": id, "ResourceProperties": r.template});
                self.request(plan, &mut r, "Delete (rollback of the Create)", "Delete", fields)
                    .await;
                r.physical.clear();
                self.check_gone(plan, &mut r, "Delete (rollback of the Create)");
                return;
            }
        }
        for (k, step) in plan.steps.iter().enumerate() {
            let mut new = plan.templates[k + 1].clone();
            new["BaseImage"] = if *step == Step::InPlace || *step == Step::InPlaceRolledBack {
                r.template["BaseImage"].clone()
            } else {
                r.base += 1;
                json!(base_image(plan.resource, r.base))
            };
            match step {
                Step::InPlace | Step::InPlaceRolledBack => self.in_place(plan, &mut r, new, *step).await,
                Step::Replacement | Step::ReplacementRolledBack => self.replace(plan, &mut r, new, *step).await,
            }
        }
        let fields = json!({"PhysicalResourceId": r.physical, "ResourceProperties": r.template});
        let deleted = self.request(plan, &mut r, "Delete", "Delete", fields).await;
        if deleted.is_some_and(|a| a.status() == "SUCCESS") {
            self.check_gone(plan, &mut r, "Delete");
        }
    }

    fn update_fields(id: &str, new: &Value, old: &Value) -> Value {
        json!({"PhysicalResourceId": id, "ResourceProperties": new, "OldResourceProperties": old})
    }

    async fn in_place(&self, plan: &Plan, r: &mut Resource, new: Value, step: Step) {
        let (old, id) = (r.template.clone(), r.physical.clone());
        let fields = Self::update_fields(&id, &new, &old);
        let answer = self.request(plan, r, "Update (in place)", "Update", fields).await;
        if answer.as_ref().is_none_or(|a| a.status() != "SUCCESS") {
            self.roll_back_update(plan, r, &new, &old).await;
            return;
        }
        self.expect_same_id(plan, r, "Update (in place)", answer.as_ref());
        r.template = new.clone();
        r.aliases = aliases_of(&new);
        self.check_state(plan, r, "Update (in place)", &[]);
        if step == Step::InPlaceRolledBack {
            self.roll_back_update(plan, r, &old, &new).await;
        }
    }

    /// CloudFormation's rollback of an Update to `to` from `from`: the same
    /// id, the properties swapped.
    async fn roll_back_update(&self, plan: &Plan, r: &mut Resource, from: &Value, to: &Value) {
        let label = "Update (rollback)";
        let fields = Self::update_fields(&r.physical.clone(), to, from);
        let answer = self.request(plan, r, label, "Update", fields).await;
        r.template = to.clone();
        r.aliases = aliases_of(to);
        if answer.as_ref().is_some_and(|a| a.status() == "SUCCESS") {
            self.expect_same_id(plan, r, label, answer.as_ref());
            self.check_state(plan, r, label, &[]);
        }
    }

    async fn replace(&self, plan: &Plan, r: &mut Resource, new: Value, step: Step) {
        let (old, old_id, old_aliases) = (r.template.clone(), r.physical.clone(), r.aliases.clone());
        let label = "Update (replacement)";
        let fields = Self::update_fields(&old_id, &new, &old);
        let answer = self.request(plan, r, label, "Update", fields).await;
        let Some(answer) = answer.filter(|a| a.status() == "SUCCESS") else {
            // A FAILED Update keeps the old id; CloudFormation rolls it back.
            self.roll_back_update(plan, r, &new, &old).await;
            return;
        };
        let new_id = answer.physical_id().to_owned();
        if new_id == old_id {
            self.mismatch(plan, r, label, format!("a replacement answered the old id {old_id}"));
        }
        let old_version = version_of(&old_id);
        r.physical = new_id.clone();
        r.template = new.clone();
        r.aliases = aliases_of(&new);
        self.check_state(plan, r, label, &old_version.into_iter().collect::<Vec<_>>());
        if step == Step::Replacement {
            // The cleanup Delete of the old id, with the old properties.
            let label = "Delete (cleanup of the replaced version)";
            let fields = json!({"PhysicalResourceId": old_id, "ResourceProperties": old});
            if self
                .request(plan, r, label, "Delete", fields)
                .await
                .is_some_and(|a| a.status() == "SUCCESS")
            {
                self.check_state(plan, r, label, &[]);
            }
        } else {
            // The stack failed later: the rollback deletes the new id and
            // keeps the old one, without the aliases that moved away.
            let label = "Delete (rollback of the replacement)";
            let fields = json!({"PhysicalResourceId": new_id, "ResourceProperties": new});
            let deleted = self.request(plan, r, label, "Delete", fields).await;
            r.physical = old_id;
            r.aliases = &old_aliases - &aliases_of(&new);
            r.template = old;
            if deleted.is_some_and(|a| a.status() == "SUCCESS") {
                self.check_state(plan, r, label, &[]);
            }
        }
    }

    fn expect_same_id(&self, plan: &Plan, r: &mut Resource, label: &str, answer: Option<&Answer>) {
        if let Some(a) = answer
            && a.physical_id() != r.physical
        {
            let detail = format!(
                "an in-place Update answered {} for the resource {}",
                a.physical_id(),
                r.physical
            );
            self.mismatch(plan, r, label, detail);
        }
    }

    fn resource_label(&self, plan: &Plan, label: &str) -> String {
        format!("R{} ({}) after {label}", plan.resource, plan.image)
    }

    fn mismatch(&self, plan: &Plan, r: &mut Resource, label: &str, detail: String) {
        if r.checking {
            r.checking = false;
            let last = r.last.as_ref().map_or(String::new(), |(id, sent_at)| {
                let puts: Vec<Put> = self.h.receiver.puts().into_iter().filter(|p| p.is_for(id)).collect();
                format!(
                    "\n  the request: {}\n{}",
                    id,
                    self.explain(id, &plan.image, *sent_at, &puts)
                )
            });
            let detail = format!("{detail}{last}\n(later checks of R{} are skipped)", plan.resource);
            self.violation(Rule::MatchesTemplates, &self.resource_label(plan, label), detail);
        }
    }

    /// The resource's versions (those its requests made), but a version of a
    /// FAILED request that is being deleted.
    fn versions_of(&self, plan: &Plan, r: &Resource) -> Vec<VersionView> {
        self.h
            .sagemaker
            .versions(&plan.image)
            .into_iter()
            .filter(|v| r.tokens.contains(&v.client_token))
            .filter(|v| !(v.status == "DELETING" && r.failed.contains(&v.client_token)))
            .collect()
    }

    /// After a request: the resource's current version holds what its
    /// template says, and besides it only `also` (the replaced version,
    /// before its cleanup) exists.
    fn check_state(&self, plan: &Plan, r: &mut Resource, label: &str, also: &[u32]) {
        if !r.checking {
            return;
        }
        let versions = self.versions_of(plan, r);
        let Some(current) = version_of(&r.physical) else {
            return self.mismatch(plan, r, label, format!("the resource's id {} is no ARN", r.physical));
        };
        let mut problems = Vec::new();
        let expected: BTreeSet<u32> = also.iter().copied().chain([current]).collect();
        let actual: BTreeSet<u32> = versions.iter().map(|v| v.version).collect();
        if actual != expected {
            problems.push(format!("versions {actual:?}, expected {expected:?}"));
        }
        match versions.iter().find(|v| v.version == current) {
            None => problems.push(format!("version {current} does not exist")),
            Some(v) => problems.extend(differences(v, &r.template, &r.aliases)),
        }
        if !problems.is_empty() {
            let views = versions.iter().map(describe_version).collect::<Vec<_>>().join("\n  ");
            let detail = format!(
                "{}\n  template: {}\n  the resource's versions:\n  {views}",
                problems.join("; "),
                r.template
            );
            self.mismatch(plan, r, label, detail);
        }
    }

    /// After the resource's last Delete: none of its versions is left.
    fn check_gone(&self, plan: &Plan, r: &mut Resource, label: &str) {
        let left = self.versions_of(plan, r);
        if !left.is_empty() {
            let views = left.iter().map(describe_version).collect::<Vec<_>>().join("\n  ");
            self.mismatch(plan, r, label, format!("versions left after the Delete:\n  {views}"));
        }
    }

    /// Sends one request as CloudFormation does, waits for its answer and
    /// until no delivery of it is left, and checks its answers.
    async fn request(
        &self,
        plan: &Plan,
        r: &mut Resource,
        label: &str,
        request_type: &str,
        fields: Value,
    ) -> Option<Answer> {
        let n = self.next_request.fetch_add(1, Ordering::SeqCst);
        let id = format!(
            "{:08x}-{:04x}-4000-8000-{:012x}",
            self.seed & 0xffff_ffff,
            plan.resource,
            n
        );
        let label = format!("R{} ({}) {label}, RequestId {id}", plan.resource, plan.image);
        r.tokens.insert(id.clone());
        let event = self.h.event(request_type, &id, fields);
        self.forbidden
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(response_url_secrets(&event));
        let sent_at = Instant::now();
        self.labels
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), (label.clone(), sent_at));
        r.last = Some((id.clone(), sent_at));
        self.h.send(&event);
        let first = self
            .h
            .receiver
            .wait_for(&id, SERVICE_TIMEOUT + Duration::from_secs(1))
            .await;
        // Every delivery of it (second ones, retries, hand-offs) ends before the next request.
        let quiet_by = sent_at + SERVICE_TIMEOUT + Duration::from_secs(30);
        while self.h.runtime.pending_deliveries_of(&id) > 0 && Instant::now() < quiet_by {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let puts: Vec<Put> = self.h.receiver.puts().into_iter().filter(|p| p.is_for(&id)).collect();
        let answer = first.map(Answer::from);
        let why = || self.explain(&id, &plan.image, sent_at, &puts);
        match &answer {
            None => self.violation(
                Rule::AnsweredInTime,
                &label,
                format!("no answer within ServiceTimeout ({SERVICE_TIMEOUT:?})\n{}", why()),
            ),
            Some(a) if a.put.at.duration_since(sent_at) > SERVICE_TIMEOUT => self.violation(
                Rule::AnsweredInTime,
                &label,
                format!(
                    "answered {:.1?} after it was sent, past ServiceTimeout ({SERVICE_TIMEOUT:?})\n{}",
                    a.put.at.duration_since(sent_at),
                    why()
                ),
            ),
            Some(_) => {}
        }
        let distinct: BTreeSet<String> = puts.iter().filter_map(gist).collect();
        if distinct.len() > 1 {
            self.violation(
                Rule::SameAnswers,
                &label,
                format!("{} different answers in {} PUTs\n{}", distinct.len(), puts.len(), why()),
            );
        }
        if answer.as_ref().is_some_and(|a| a.status() == "FAILED") {
            r.failed.insert(id.clone());
        }
        // Any FAILED sent, first or not, unless the request drew the armed
        // CREATE_FAILED (only the request whose version drew it can name its
        // reason): then FAILED is its answer, and `SameAnswers` holds its
        // deliveries to one.
        let failures: BTreeSet<String> = puts
            .iter()
            .filter_map(|p| p.body_json().ok())
            .filter(|b| b["Status"] == "FAILED")
            .filter_map(|b| b["Reason"].as_str().map(str::to_owned))
            .collect();
        if !failures.is_empty() && !failures.iter().any(|reason| reason.contains(CREATE_FAILED_REASON)) {
            let reasons = failures.into_iter().collect::<Vec<_>>().join("\n  FAILED: ");
            self.violation(Rule::NoFailure, &label, format!("FAILED: {reasons}\n{}", why()));
        }
        self.sent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Sent { answer: answer.clone() });
        answer
    }

    /// Every PUT of request `id`, every delivery of it, and its log lines.
    fn explain(&self, id: &str, image: &str, sent_at: Instant, puts: &[Put]) -> String {
        let at = |t: Instant| format!("+{:.2}s", t.saturating_duration_since(sent_at).as_secs_f64());
        let mut text = format!("  answers ({} PUTs):\n", puts.len());
        for p in puts {
            let body = p.body_json().unwrap_or(Value::Null);
            text.push_str(&format!(
                "    {} HTTP {} {} {} Data={} Reason={:?}\n",
                at(p.at),
                p.status,
                body["Status"].as_str().unwrap_or("?"),
                body["PhysicalResourceId"].as_str().unwrap_or("?"),
                body["Data"],
                body["Reason"].as_str().unwrap_or("")
            ));
        }
        let deliveries = self.h.runtime.deliveries_of(id);
        text.push_str(&format!("  deliveries ({}):\n", deliveries.len()));
        for d in &deliveries {
            let ended = d
                .ended
                .map_or("running".to_owned(), |(how, t)| format!("{how:?} at {}", at(t)));
            text.push_str(&format!(
                "    invocation {} attempt {}{} env {} from {}: {ended}\n",
                &d.request_id[..8.min(d.request_id.len())],
                d.attempt,
                if d.duplicate { " (second delivery)" } else { "" },
                d.environment.map_or("-".to_owned(), |e| e.to_string()),
                at(d.started_at)
            ));
        }
        // The faults SageMaker answered on the image meanwhile (another
        // resource of the image may have drawn some).
        let until = deliveries
            .iter()
            .map(|d| d.ended.map_or_else(Instant::now, |(_, t)| t))
            .max()
            .unwrap_or_else(Instant::now);
        let faults: Vec<String> = self
            .h
            .sagemaker
            .calls()
            .into_iter()
            .filter(|c| c.at >= sent_at && c.at <= until && c.fault.is_some())
            .filter(|c| c.body["ImageName"].as_str() == Some(image))
            .map(|c| {
                format!(
                    "    {} {}{} answered {}\n",
                    at(c.at),
                    c.operation,
                    c.body["Version"]
                        .as_u64()
                        .map_or(String::new(), |v| format!(" version {v}")),
                    c.fault.unwrap_or_default()
                )
            })
            .collect();
        text.push_str(&format!(
            "  SageMaker faults on {image} meanwhile ({}):\n",
            faults.len()
        ));
        text.extend(faults);
        let lines: Vec<String> = self
            .h
            .pool
            .logs_by_environment()
            .into_iter()
            .flat_map(|(env, _, logs)| {
                logs.lines()
                    .filter(|l| l.contains(id) && telling(l))
                    .map(|l| format!("    [env {env}] {}", log_line(l)))
                    .collect::<Vec<_>>()
            })
            .collect();
        const LINES: usize = 40;
        text.push_str(&format!(
            "  log lines naming it ({}{}):\n",
            lines.len(),
            if lines.len() > LINES { ", the last 40" } else { "" }
        ));
        for line in &lines[lines.len().saturating_sub(LINES)..] {
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    /// At the end: no version left, none made twice by one request or by
    /// an unknown one, no secret in any log, nothing left running.
    fn end_checks(&self, images: &[String], idle: bool) {
        let labels = self.labels.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let label = |token: &str| {
            labels
                .get(token)
                .map_or_else(|| format!("unknown ClientToken {token}"), |(l, _)| l.clone())
        };
        // The request that made a version, in full.
        let story = |token: &str, image: &str| {
            labels.get(token).map_or(String::new(), |(_, sent_at)| {
                let puts: Vec<Put> = self.h.receiver.puts().into_iter().filter(|p| p.is_for(token)).collect();
                format!("\n{}", self.explain(token, image, *sent_at, &puts))
            })
        };
        for image in images {
            for v in self.h.sagemaker.versions(image) {
                self.violation(
                    Rule::NoOrphan,
                    "end of run",
                    format!(
                        "left behind: {}\n  made by {}{}",
                        describe_version(&v),
                        label(&v.client_token),
                        story(&v.client_token, &v.image_name)
                    ),
                );
            }
        }
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut by_token: BTreeMap<String, Vec<&VersionView>> = BTreeMap::new();
        for v in seen.values() {
            by_token.entry(v.client_token.clone()).or_default().push(v);
        }
        for (token, versions) in by_token {
            if !labels.contains_key(&token) {
                let views = versions.iter().map(|v| describe_version(v)).collect::<Vec<_>>();
                self.violation(
                    Rule::NoOrphan,
                    "end of run",
                    format!("versions made by an unknown ClientToken {token}: {views:?}"),
                );
            } else if versions.len() > 1 {
                let views = versions
                    .iter()
                    .map(|v| describe_version(v))
                    .collect::<Vec<_>>()
                    .join("\n  ");
                self.violation(
                    Rule::NoOrphan,
                    &label(&token),
                    format!(
                        "{} versions under one ClientToken:\n  {views}{}",
                        versions.len(),
                        story(&token, &versions[0].image_name)
                    ),
                );
            }
        }
        if !idle {
            let running: Vec<String> = self
                .h
                .runtime
                .deliveries()
                .iter()
                .filter(|d| d.ended.is_none())
                .map(|d| format!("{} attempt {} env {:?}", d.request_id, d.attempt, d.environment))
                .collect();
            self.violation(
                Rule::AnsweredInTime,
                "end of run",
                format!("invocations still running {SERVICE_TIMEOUT:?} after the last answer: {running:?}"),
            );
        }
        let forbidden = self.forbidden.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let leaks = self.h.leaks(&forbidden);
        if !leaks.is_empty() {
            let shown: Vec<String> = leaks.iter().take(12).map(|l| l.chars().take(400).collect()).collect();
            self.violation(
                Rule::NoSecret,
                "end of run",
                format!(
                    "{} log lines hold a secret, e.g.:\n  {}",
                    leaks.len(),
                    shown.join("\n  ")
                ),
            );
        }
    }

    fn report(&self) -> Report {
        let deliveries = self.h.runtime.deliveries();
        let count = |f: &dyn Fn(&standins::runtime_api::Delivery) -> bool| deliveries.iter().filter(|d| f(d)).count();
        let ended = |how: Ended| count(&|d| d.ended.is_some_and(|(e, _)| e == how));
        let sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        let status = |s: &str| {
            sent.iter()
                .filter(|x| x.answer.as_ref().is_some_and(|a| a.status() == s))
                .count()
        };
        let unanswered = sent.iter().filter(|x| x.answer.is_none()).count();
        let stats = self.h.pool.stats();
        let duplicates = count(&|d| d.duplicate);
        let function_errors = ended(Ended::InjectedError);
        let throttles = self.h.lambda.throttled();
        let sagemaker_faults = self.h.sagemaker.calls().iter().filter(|c| c.fault.is_some()).count();
        let put_failures = self.h.receiver.puts().iter().filter(|p| p.status >= 500).count();
        let create_failures = self.create_failures.load(Ordering::SeqCst) as usize;
        let hand_offs = self
            .h
            .lambda
            .invokes()
            .iter()
            .filter(|i| i.invocation_type == "Event" && i.status == 202)
            .count();
        let violations = std::mem::take(&mut *self.violations.lock().unwrap_or_else(|e| e.into_inner()));
        let injected = duplicates
            + stats.crashes
            + function_errors
            + throttles
            + sagemaker_faults
            + put_failures
            + create_failures;
        let summary = format!(
            "chaos seed {}: {} requests, answers SUCCESS {} FAILED {} none {}; {} deliveries, {} hand-offs, {} retries; \
             faults injected {injected}: {duplicates} duplicates, {} crashes, {function_errors} function errors, \
             {throttles} Lambda throttles, {sagemaker_faults} SageMaker faults, {create_failures} CREATE_FAILED armed, \
             {put_failures} PUT failures; {} environments killed at a deadline; {} violations; {:.1} s",
            self.seed,
            sent.len(),
            status("SUCCESS"),
            status("FAILED"),
            unanswered,
            deliveries.len(),
            hand_offs,
            count(&|d| d.attempt > 0),
            stats.crashes,
            stats.timeouts,
            violations.len(),
            self.started.elapsed().as_secs_f64()
        );
        // Every violation in full, whichever rule's test reads them.
        let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("chaos-seed-{}.txt", self.seed));
        let mut full = format!("{summary}\n");
        for v in &violations {
            full.push_str(&format!(
                "\n=== seed {}, {}: {}\n{}\n",
                v.seed,
                v.request,
                v.rule.says(),
                v.detail
            ));
        }
        let written = std::fs::write(&path, full).is_ok();
        println!("{summary}");
        for v in &violations {
            println!("  seed {}: {}: {}", v.seed, v.rule.says(), v.request);
        }
        if written && !violations.is_empty() {
            println!("  every violation in full: {}", path.display());
        }
        Report { summary, violations }
    }
}

/// Whether a log line explains a request: the handler's lines, and the
/// SDK's backoffs (its other debug lines say little).
fn telling(line: &str) -> bool {
    let level = line.split_whitespace().next().unwrap_or("");
    !matches!(level, "DEBUG" | "TRACE") || line.contains("delaying for")
}

/// A text log line without its spans (the request's ids, which the
/// violation names already), with the Lambda invocation's short id and the
/// last part of the target: `inv 5b798437 WARN handler: FAILED ...`.
fn log_line(line: &str) -> String {
    let level = line.split_whitespace().next().unwrap_or("");
    let invocation = line
        .split_once("requestId=\"")
        .map_or("", |(_, rest)| &rest[..8.min(rest.len())]);
    let message = after_spans(line).unwrap_or(line);
    let message = match message.split_once(": ") {
        Some((target, rest)) if !target.contains(' ') => {
            format!("{}: {rest}", target.rsplit("::").next().unwrap_or(target))
        }
        _ => message.to_owned(),
    };
    format!(
        "inv {invocation} {level} {}",
        message.chars().take(600).collect::<String>()
    )
}

/// What follows the `custom_resource{...}` span and any field-less span
/// after it (`:try_op`), in tracing's text format.
fn after_spans(line: &str) -> Option<&str> {
    let start = line.find("custom_resource{")? + "custom_resource".len();
    let (mut depth, mut quoted, mut end) = (0, false, None);
    for (i, c) in line[start..].char_indices() {
        match c {
            '"' => quoted = !quoted,
            '{' if !quoted => depth += 1,
            '}' if !quoted => {
                depth -= 1;
                if depth == 0 {
                    end = Some(start + i + 1);
                    break;
                }
            }
            _ => {}
        }
    }
    let mut rest = &line[end?..];
    while let Some(more) = rest.strip_prefix(':')
        && !more.starts_with(' ')
        && let Some((span, after)) = more.split_once(':')
        && !span.contains(' ')
    {
        rest = after;
    }
    Some(rest.trim_start_matches(':').trim_start())
}

/// What CloudFormation reads of an answer: Status, PhysicalResourceId, Data.
fn gist(put: &Put) -> Option<String> {
    let body = put.body_json().ok()?;
    Some(format!(
        "{} {} {}",
        body["Status"].as_str().unwrap_or("?"),
        body["PhysicalResourceId"].as_str().unwrap_or("?"),
        body["Data"]
    ))
}

fn describe_version(v: &VersionView) -> String {
    format!(
        "version {} of {} {} aliases {:?} base {} ClientToken {}",
        v.version, v.image_name, v.status, v.aliases, v.base_image, v.client_token
    )
}

/// How version `v` differs from `template` (aliases: `aliases`).
fn differences(v: &VersionView, template: &Value, aliases: &BTreeSet<String>) -> Vec<String> {
    let mut out = Vec::new();
    if v.status != "CREATED" {
        out.push(format!("version {} is {}", v.version, v.status));
    }
    let held: BTreeSet<String> = v.aliases.iter().cloned().collect();
    if &held != aliases {
        out.push(format!("aliases {held:?}, expected {aliases:?}"));
    }
    if Some(v.base_image.as_str()) != template["BaseImage"].as_str() {
        out.push(format!(
            "BaseImage {}, expected {}",
            v.base_image, template["BaseImage"]
        ));
    }
    let fields: [(&str, Option<String>); 5] = [
        ("ReleaseNotes", v.release_notes.clone()),
        ("JobType", v.job_type.clone()),
        ("Processor", v.processor.clone()),
        ("VendorGuidance", v.vendor_guidance.clone()),
        ("Horovod", v.horovod.map(|h| h.to_string())),
    ];
    for (name, actual) in fields {
        if let Some(wanted) = template[name].as_str()
            && actual.as_deref().map(str::to_ascii_lowercase) != Some(wanted.to_ascii_lowercase())
        {
            out.push(format!("{name} {actual:?}, expected {wanted:?}"));
        }
    }
    out
}
