//! Answer latency: from the version reaching CREATED (the stand-in's create
//! delay after the CreateImageVersion call) to the answer PUT, and the
//! DescribeImageVersion calls made while waiting.
//!
//! Each sample adds a different fraction of a second to the delay: a delay
//! in whole seconds would line up with a once-a-second poll and show a
//! latency no real version gets.

use std::time::Duration;

use crate::harness::{Stage, Subject};
use crate::{Plan, Result, stats};

pub struct Latency {
    pub median: Duration,
    pub describes: usize,
}

pub async fn measure(subject: &Subject, plan: Plan) -> Result<Latency> {
    let stage = Stage::start(subject).await?;
    let mut latencies = Vec::new();
    let mut describes = Vec::new();
    for sample in 0..plan.latency_samples {
        let offset = Duration::from_secs(1).mul_f64(sample as f64 / plan.latency_samples as f64);
        let delay = Duration::from_secs(plan.create_delay_secs) + offset;
        stage.sagemaker.set_delays(delay, Duration::ZERO);
        stage.sagemaker.clear_calls();
        let created = stage.invoke(&stage.events().create(0)).await?;
        let create_calls = stage.sagemaker.calls_of("CreateImageVersion");
        let [create_call] = create_calls.as_slice() else {
            return Err(format!(
                "{}: expected one CreateImageVersion call, saw {}",
                subject.name,
                create_calls.len()
            ));
        };
        let ready_at = create_call.at + delay;
        latencies.push(created.put.at.saturating_duration_since(ready_at));
        describes.push(stage.sagemaker.count("DescribeImageVersion"));
        // Leave the image as it was: the next Create takes the same aliases.
        stage.sagemaker.set_delays(Duration::ZERO, Duration::ZERO);
        stage.invoke(&stage.events().delete(&created.physical_id, 0)).await?;
    }
    Ok(Latency {
        median: stats::median(&latencies),
        describes: stats::median_count(&describes),
    })
}
