//! Lambda's execution environments: a pool of function processes
//! ([`FunctionProcess`]), each on its own [`Environment`] of one
//! [`RuntimeApi`] queue, supervised as Lambda supervises them. An environment
//! whose process exits (a crash) is retired and replaced by a fresh one; one
//! that outlives its invocation's deadline is killed (`SIGKILL`) and
//! replaced; either way the delivery it held ends as a failure, which the
//! Runtime API retries as its [`crate::runtime_api::AsyncSemantics`] say.
//! A seeded fault kills an environment at a random moment of an
//! invocation, as a crash of the sandbox would.
//!
//! `fastrand::Rng::with_seed` is the seeded generator every stand-in's random faults draw
//! from, so that a run's draws follow from its seed.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::function::{FunctionProcess, Logs};
use crate::runtime_api::{Deadline, Ended, Environment, EnvironmentId, FUNCTION_ARN, RuntimeApi};

/// How the pool runs.
#[derive(Clone, Debug, PartialEq)]
pub struct PoolConfig {
    /// How many environments run at once.
    pub size: usize,
    /// The function's timeout: the deadline of the events [`FunctionPool::invoke_event`]
    /// queues (give the Lambda Invoke API the same, `LambdaApi::with_timeout`).
    /// The pool kills an environment at its delivery's deadline, whatever the
    /// event's: an event queued with a deadline already past
    /// (`Deadline::AtEpochMs(1)`) is killed at once.
    pub timeout: Duration,
    /// Seeds the crash draws.
    pub seed: u64,
    /// The probability that an environment is killed (`SIGKILL`) at a random
    /// moment of a delivery before its deadline, when the Runtime API lets
    /// the invocation take an injected failure ([`RuntimeApi::claim_failure`]).
    pub crash: f64,
    /// Where the processes' logs go.
    pub logs: Logs,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            size: 2,
            timeout: Duration::from_secs(900),
            seed: 0,
            crash: 0.0,
            logs: Logs::Captured,
        }
    }
}

/// What the pool did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Environments started, the first `size` included.
    pub started: usize,
    /// Environments killed by an injected crash.
    pub crashes: usize,
    /// Environments killed at a deadline.
    pub timeouts: usize,
    /// Processes that exited by themselves.
    pub exits: usize,
}

/// How often the supervisor looks at the environments.
const TICK: Duration = Duration::from_millis(10);

struct Slot {
    environment: Environment,
    process: FunctionProcess,
    /// The delivery last seen held, and when the injected crash kills it.
    plan: Option<(usize, Option<Instant>)>,
}

/// A retired environment: its process (dead), kept for its logs.
struct Retired {
    id: EnvironmentId,
    process: FunctionProcess,
    why: Ended,
}

struct PoolState {
    bin: PathBuf,
    env: Vec<(String, String)>,
    logs: Logs,
    crash: f64,
    rng: fastrand::Rng,
    armed_crashes: u32,
    slots: Vec<Option<Slot>>,
    retired: Vec<Retired>,
    stats: PoolStats,
}

struct PoolShared {
    state: Mutex<PoolState>,
    stop: AtomicBool,
}

impl PoolShared {
    fn lock(&self) -> MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A pool of function processes on one Runtime API queue; every process is
/// killed when it is dropped.
pub struct FunctionPool {
    runtime: RuntimeApi,
    timeout: Duration,
    shared: Arc<PoolShared>,
    supervisor: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for FunctionPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FunctionPool").field("stats", &self.stats()).finish()
    }
}

impl FunctionPool {
    /// Starts `config.size` environments running `bin` with the Lambda
    /// environment plus `env`, against `runtime`'s queue.
    pub fn start(
        bin: &Path,
        runtime: &RuntimeApi,
        env: &[(String, String)],
        config: PoolConfig,
    ) -> std::io::Result<FunctionPool> {
        let mut state = PoolState {
            bin: bin.to_owned(),
            env: env.to_vec(),
            logs: config.logs,
            crash: config.crash,
            rng: fastrand::Rng::with_seed(config.seed ^ 0x504f_4f4c_4352_4153),
            armed_crashes: 0,
            slots: Vec::new(),
            retired: Vec::new(),
            stats: PoolStats::default(),
        };
        for _ in 0..config.size {
            let slot = spawn(&mut state, runtime)?;
            state.slots.push(Some(slot));
        }
        let shared = Arc::new(PoolShared {
            state: Mutex::new(state),
            stop: AtomicBool::new(false),
        });
        let supervisor = {
            let (shared, runtime) = (shared.clone(), runtime.clone());
            std::thread::Builder::new()
                .name("function-pool".into())
                .spawn(move || supervise(&shared, &runtime))?
        };
        Ok(FunctionPool {
            runtime: runtime.clone(),
            timeout: config.timeout,
            shared,
            supervisor: Some(supervisor),
        })
    }

    pub fn runtime(&self) -> &RuntimeApi {
        &self.runtime
    }

    /// Queues `payload` as an asynchronous invocation of [`FUNCTION_ARN`] with
    /// the pool's timeout, as CloudFormation invokes; returns its request id.
    pub fn invoke_event(&self, payload: Vec<u8>) -> String {
        self.runtime
            .invoke_event_as(FUNCTION_ARN, payload, Deadline::In(self.timeout))
    }

    /// The next `n` deliveries that may take an injected failure crash their
    /// environment at a random moment before their deadline.
    pub fn crash_next(&self, n: u32) {
        self.shared.lock().armed_crashes += n;
    }

    pub fn stats(&self) -> PoolStats {
        self.shared.lock().stats
    }

    /// The environments running now.
    pub fn environments(&self) -> Vec<EnvironmentId> {
        let st = self.shared.lock();
        st.slots.iter().flatten().map(|s| s.environment.id()).collect()
    }

    /// Every environment's logs so far, the retired ones first: (environment, pid, logs).
    pub fn logs_by_environment(&self) -> Vec<(EnvironmentId, u32, String)> {
        let st = self.shared.lock();
        let mut all: Vec<(EnvironmentId, u32, String)> = st
            .retired
            .iter()
            .map(|r| (r.id, r.process.pid(), r.process.logs()))
            .collect();
        all.extend(
            st.slots
                .iter()
                .flatten()
                .map(|s| (s.environment.id(), s.process.pid(), s.process.logs())),
        );
        all.sort_by_key(|(id, _, _)| *id);
        all
    }

    /// Every environment's logs, each under a header line naming it.
    pub fn logs(&self) -> String {
        self.logs_by_environment()
            .into_iter()
            .map(|(id, pid, logs)| format!("--- environment {id} (pid {pid}) ---\n{logs}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Why each retired environment went: (environment, [`Ended::Crashed`] or [`Ended::TimedOut`]).
    pub fn retired(&self) -> Vec<(EnvironmentId, Ended)> {
        self.shared.lock().retired.iter().map(|r| (r.id, r.why)).collect()
    }
}

impl Drop for FunctionPool {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(supervisor) = self.supervisor.take() {
            let _ = supervisor.join();
        }
        let mut st = self.shared.lock();
        for slot in st.slots.iter().flatten() {
            slot.process.kill();
        }
        st.slots.clear();
    }
}

fn spawn(st: &mut PoolState, runtime: &RuntimeApi) -> std::io::Result<Slot> {
    let environment = runtime.environment()?;
    let process = FunctionProcess::try_spawn_at(&st.bin, &environment.address(), &st.env, st.logs)?;
    st.stats.started += 1;
    Ok(Slot {
        environment,
        process,
        plan: None,
    })
}

fn supervise(shared: &PoolShared, runtime: &RuntimeApi) {
    while !shared.stop.load(Ordering::SeqCst) {
        {
            let mut st = shared.lock();
            for i in 0..st.slots.len() {
                tend(&mut st, i, runtime);
            }
        }
        std::thread::sleep(TICK);
    }
}

/// One look at slot `i`: replace what died, kill what outlived its deadline
/// or drew a crash.
fn tend(st: &mut PoolState, i: usize, runtime: &RuntimeApi) {
    let Some(slot) = st.slots[i].as_mut() else {
        // A spawn failed on an earlier tick: try again.
        match spawn(st, runtime) {
            Ok(slot) => st.slots[i] = Some(slot),
            Err(e) => eprintln!("function pool: cannot start an environment: {e}"),
        }
        return;
    };
    let now = Instant::now();
    let id = slot.environment.id();
    let end = if !slot.process.is_running() {
        st.stats.exits += 1;
        Some(Ended::Crashed)
    } else if let Some(held) = runtime.held_by(id) {
        if slot.plan.is_none_or(|(number, _)| number != held.number) {
            // A new delivery: does it crash, and when?
            let drawn = st.rng.f64() < st.crash;
            let wanted = st.armed_crashes > 0 || drawn;
            let crash_at = (wanted && runtime.claim_failure(held.number)).then(|| {
                st.armed_crashes = st.armed_crashes.saturating_sub(1);
                let window = held.deadline_at.saturating_duration_since(held.started_at);
                // Early moments (calls in flight, the first answer) are the
                // interesting ones: squared, the draw leans towards them.
                let f = st.rng.f64();
                held.started_at + window.mul_f64(f * f)
            });
            slot.plan = Some((held.number, crash_at));
        }
        if now >= held.deadline_at {
            st.stats.timeouts += 1;
            Some(Ended::TimedOut)
        } else if slot.plan.is_some_and(|(_, at)| at.is_some_and(|at| now >= at)) {
            st.stats.crashes += 1;
            Some(Ended::Crashed)
        } else {
            None
        }
    } else {
        None
    };
    let Some(why) = end else {
        return;
    };
    // Retired first, so that a poll still pending from the process takes nothing.
    runtime.retire(id, why);
    let slot = st.slots[i].take().expect("checked above");
    slot.process.kill();
    st.retired.push(Retired {
        id,
        process: slot.process,
        why,
    });
    drop(slot.environment);
    match spawn(st, runtime) {
        Ok(slot) => st.slots[i] = Some(slot),
        Err(e) => eprintln!("function pool: cannot start an environment: {e}"),
    }
}
