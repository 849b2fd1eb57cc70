//! Per-event overhead and memory: Create → in-place Update → Delete cycles
//! against a stand-in that creates and deletes instantly, timed from the
//! invoke to the function's Runtime API response.

use std::time::{Duration, Instant};

use crate::Result;
use crate::harness::{Invocation, Stage, Subject};
use crate::memory::{self, Memory};
use crate::stats;

/// The event kinds of a cycle, in order.
pub const KINDS: [&str; 3] = ["Create", "Update", "Delete"];

#[derive(Default)]
struct Samples {
    took: Vec<Duration>,
    to_first_call: Vec<Duration>,
    after_last_call: Vec<Duration>,
}

pub struct KindFigures {
    pub median: Duration,
    pub p99: Duration,
    /// Invoke → the first SageMaker call (median).
    pub to_first_call: Duration,
    /// The last SageMaker call → the Runtime API response (median).
    pub after_last_call: Duration,
}

pub struct Overhead {
    /// In [`KINDS`] order.
    pub kinds: Vec<KindFigures>,
    /// Invoke → the first SageMaker call of the first event after start-up.
    pub first_event_to_first_call: Duration,
    pub after_init: Memory,
    /// After the first half of the invocations: the peak then against the
    /// peak at the end shows whether memory grows with use.
    pub at_half: Memory,
    pub after_all: Memory,
}

pub async fn measure(subject: &Subject, invocations: usize) -> Result<Overhead> {
    let stage = Stage::start(subject).await?;
    let pid = stage.function.pid();
    let after_init = memory::read(pid)?;
    let mut samples: Vec<Samples> = KINDS.iter().map(|_| Samples::default()).collect();
    let mut first_event_to_first_call = None;
    let mut physical_id = String::new();
    let mut at_half = after_init;
    for i in 0..invocations {
        let events = stage.events();
        let kind = i % KINDS.len();
        let event = match kind {
            0 => events.create(0),
            1 => events.update(&physical_id, 0, 1),
            _ => events.delete(&physical_id, 1),
        };
        let invocation = stage.invoke(&event).await?;
        physical_id.clone_from(&invocation.physical_id);
        let (first, last) = call_span(&stage, &invocation)?;
        first_event_to_first_call.get_or_insert(first - invocation.started);
        let s = &mut samples[kind];
        s.took.push(invocation.took());
        s.to_first_call.push(first - invocation.started);
        s.after_last_call.push(invocation.ended - last);
        stage.sagemaker.clear_calls();
        if i + 1 == invocations / 2 {
            at_half = memory::read(pid)?;
        }
    }
    let after_all = memory::read(pid)?;
    Ok(Overhead {
        kinds: samples
            .iter()
            .map(|s| KindFigures {
                median: stats::median(&s.took),
                p99: stats::percentile(&s.took, 99.0),
                to_first_call: stats::median(&s.to_first_call),
                after_last_call: stats::median(&s.after_last_call),
            })
            .collect(),
        first_event_to_first_call: first_event_to_first_call.unwrap_or_default(),
        after_init,
        at_half,
        after_all,
    })
}

/// When the first and the last SageMaker call of `invocation` arrived.
fn call_span(stage: &Stage, invocation: &Invocation) -> Result<(Instant, Instant)> {
    let calls = stage.sagemaker.calls();
    match (calls.first(), calls.last()) {
        (Some(first), Some(last)) => Ok((first.at, last.at)),
        _ => Err(format!(
            "{}: answered without calling SageMaker",
            invocation.physical_id
        )),
    }
}
