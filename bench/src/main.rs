//! `make bench`: the Rust function against the Python handler people write
//! today (bench/baseline), on loopback against the local stand-ins.
//! Prints one table; fails only on functional errors, never on timing.

mod args;
mod calls;
mod cold_start;
mod harness;
mod latency;
mod memory;
mod overhead;
mod queue;
mod sizes;
mod stats;
mod table;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use args::Args;
use harness::Subject;
use queue::QueuePlan;
use table::Table;

/// A functional error: the bench stops and `make bench` fails.
pub type Result<T> = std::result::Result<T, String>;

/// How much of each measurement to run.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub cold_starts: usize,
    pub invocations: usize,
    pub create_delay_secs: u64,
    pub latency_samples: usize,
    pub queue: QueuePlan,
}

impl Plan {
    fn new(short: bool) -> Plan {
        if short {
            Plan {
                cold_starts: 3,
                invocations: 50,
                create_delay_secs: 1,
                latency_samples: 2,
                // Enough to keep the queue and its hand-offs working in CI.
                queue: QueuePlan {
                    sizes: &[3],
                    build: Duration::from_secs(1),
                    timeout: Duration::from_secs(3),
                },
            }
        } else {
            Plan {
                cold_starts: 20,
                invocations: 2000,
                create_delay_secs: 3,
                latency_samples: 5,
                // Builds of half a minute (real ones take about a minute):
                // at a few seconds the queue would measure the backoff's
                // ramp, not its pace. A build fits in one invocation (36 s
                // of work in a 40 s timeout), as a real one fits in 15
                // minutes, while the queue of 5-10 minutes outlasts 8-15.
                queue: QueuePlan {
                    sizes: &[10, 20],
                    build: Duration::from_secs(30),
                    timeout: Duration::from_secs(40),
                },
            }
        }
    }
}

/// Every figure of one subject.
pub struct Figures {
    pub cold_start: cold_start::ColdStart,
    pub overhead: overhead::Overhead,
    pub latency: latency::Latency,
    pub calls: calls::Calls,
    pub sizes: sizes::Sizes,
}

async fn measure(subject: &Subject, plan: Plan) -> Result<Figures> {
    eprintln!("bench: {}: cold start ({} starts)", subject.name, plan.cold_starts);
    let cold_start = cold_start::measure(subject, plan.cold_starts).await?;
    eprintln!("bench: {}: {} invocations", subject.name, plan.invocations);
    let overhead = overhead::measure(subject, plan.invocations).await?;
    eprintln!(
        "bench: {}: answer latency ({} creates, create delay {} s + 0-1 s)",
        subject.name, plan.latency_samples, plan.create_delay_secs
    );
    let latency = latency::measure(subject, plan).await?;
    eprintln!("bench: {}: SageMaker calls per request", subject.name);
    let calls = calls::measure(subject).await?;
    let sizes = subject.package.sizes()?;
    Ok(Figures {
        cold_start,
        overhead,
        latency,
        calls,
        sizes,
    })
}

async fn run(args: Args) -> Result<()> {
    let started = Instant::now();
    let mut plan = Plan::new(args.short);
    if let Some((build, timeout)) = args.queue {
        (plan.queue.build, plan.queue.timeout) = (build, timeout);
    }
    let (rust, python) = (args.rust(), args.python());
    if !args.queue_only {
        let rust_figures = measure(&rust, plan).await?;
        let python_figures = measure(&python, plan).await?;
        let table = Table::new(&rust_figures, &python_figures, args.build_seconds);
        println!("{}", table.render(plan, args.short));
    }
    let queues = queue::measure(&args.rust_in_the_queue(), plan.queue).await?;
    println!("{}", queues.render());
    eprintln!("bench: done in {:.0} s", started.elapsed().as_secs_f64());
    match queues.problems().as_slice() {
        [] => Ok(()),
        problems => Err(problems.join("\n")),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("bench: {e}\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}
