//! A request's lifecycle run in its own task: a panic becomes a failure and
//! a deadline cuts it short, so that whoever called can still answer.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::{Instant, sleep_until};
use tracing::{Instrument, error};

use super::{Done, Halt, Lifecycle, LifecycleError, Pacing, Progress};
use crate::properties::ImageVersionProperties;
use crate::sagemaker::Regions;

/// What one request asks for, however it arrived, its properties checked.
#[derive(Debug, Clone)]
pub(crate) enum Work {
    Create {
        request_id: String,
        props: ImageVersionProperties,
    },
    Update {
        request_id: String,
        physical_id: String,
        props: ImageVersionProperties,
        /// Accepted once; `None` when they no longer parse.
        old: Option<ImageVersionProperties>,
    },
    /// A Delete looks at no property but the image's name (the ARN has it
    /// in lower case): the properties of a failed Create must not keep its
    /// rollback from succeeding.
    Delete {
        physical_id: String,
        image_name: Option<String>,
    },
}

impl Work {
    /// The id the request arrived with; a Create has none.
    pub(crate) fn physical_id(&self) -> Option<&str> {
        match self {
            Work::Create { .. } => None,
            Work::Update { physical_id, .. } | Work::Delete { physical_id, .. } => Some(physical_id),
        }
    }

    /// What a Create or an Update asks for.
    pub(crate) fn props(&self) -> Option<&ImageVersionProperties> {
        match self {
            Work::Create { props, .. } | Work::Update { props, .. } => Some(props),
            Work::Delete { .. } => None,
        }
    }
}

/// How a guarded run ended.
#[derive(Debug)]
pub(crate) enum Ended {
    Done(Done),
    /// One step at a time: not done yet, nothing failed.
    Pending,
    Failed(LifecycleError),
    Panicked(String),
    /// The deadline came first; the progress says how far it got.
    OutOfTime,
}

/// The lifecycle's parts that outlive one request: SageMaker by region and
/// how to pace the calls.
pub(crate) struct Engine<R> {
    pub(crate) regions: R,
    pub(crate) pacing: Pacing,
}

impl<R: Regions + 'static> Engine<R> {
    pub(crate) fn new(regions: R, pacing: Pacing) -> Arc<Self> {
        Arc::new(Engine { regions, pacing })
    }

    pub(crate) async fn run(self: &Arc<Self>, work: Work, progress: &Progress, until: Instant) -> Ended {
        let mut task = {
            let (engine, progress) = (self.clone(), progress.clone());
            tokio::spawn(async move { engine.lifecycle(work, &progress, until).await }.in_current_span())
        };
        let joined = tokio::select! {
            joined = &mut task => joined,
            () = sleep_until(until) => {
                task.abort();
                return Ended::OutOfTime;
            }
        };
        match joined {
            Ok(Ok(done)) => Ended::Done(done),
            Ok(Err(Halt::Pending)) => Ended::Pending,
            Ok(Err(Halt::Failed(e))) => Ended::Failed(e),
            Err(join_error) => {
                let detail = match join_error.try_into_panic() {
                    Ok(panic) => panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "no message".to_owned()),
                    Err(e) => e.to_string(),
                };
                error!(panic = %detail, "the handler panicked");
                Ended::Panicked(detail)
            }
        }
    }

    async fn lifecycle(&self, work: Work, progress: &Progress, until: Instant) -> Result<Done, Halt> {
        let lifecycle = Lifecycle {
            regions: &self.regions,
            pacing: &self.pacing,
            progress,
            retries_until: Some(until - call_margin(until)),
        };
        lifecycle.wait_for_the_next_try().await;
        match work {
            Work::Create { request_id, props } => lifecycle.create(&request_id, &props).await,
            Work::Update {
                request_id,
                physical_id,
                props,
                old,
            } => lifecycle.update(&request_id, &physical_id, &props, old.as_ref()).await,
            Work::Delete {
                physical_id,
                image_name,
            } => lifecycle.delete(&physical_id, image_name.as_deref()).await,
        }
    }
}

/// How long before the deadline a retry may still start: a tenth of the
/// time left, 250 ms to 2 s, the time a SageMaker call takes and then some.
fn call_margin(until: Instant) -> Duration {
    (until.saturating_duration_since(Instant::now()) / 10).clamp(Duration::from_millis(250), Duration::from_secs(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_retry_keeps_a_tenth_of_the_time_left_between_250_ms_and_2_s() {
        let margin = |left| call_margin(Instant::now() + Duration::from_millis(left));
        assert_eq!(margin(10_000), Duration::from_secs(1));
        assert_eq!(margin(1_000), Duration::from_millis(250));
        assert_eq!(margin(60_000), Duration::from_secs(2));
    }
}
