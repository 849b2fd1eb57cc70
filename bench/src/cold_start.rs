//! Cold start: from the process's spawn to its first `invocation/next`.

use std::time::Duration;

use standins::{RuntimeApi, SageMakerStandIn};

use crate::Result;
use crate::harness::{self, Subject};
use crate::stats;

pub struct ColdStart {
    pub median: Duration,
}

pub async fn measure(subject: &Subject, starts: usize) -> Result<ColdStart> {
    let sagemaker = SageMakerStandIn::start().await;
    let mut samples = Vec::with_capacity(starts);
    for _ in 0..starts {
        let runtime = RuntimeApi::start().await;
        let function = harness::spawn(subject, &runtime, &sagemaker, &[])?;
        let first_poll = harness::wait_polling(subject, &runtime, &function).await?;
        samples.push(first_poll - function.spawned_at());
        function.kill();
    }
    Ok(ColdStart {
        median: stats::median(&samples),
    })
}
