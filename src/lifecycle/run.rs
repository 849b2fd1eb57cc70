//! A request's lifecycle run in its own task: a panic becomes a failure and
//! a deadline cuts it short, so that whoever called can still answer.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::time::{Instant, sleep_until};
use tracing::{Instrument, error};

use super::{Done, Lifecycle, LifecycleError, Pacing, Progress};
use crate::sagemaker::{ImageVersionArn, Regions};

/// What one request asks for, however it arrived.
#[derive(Debug, Clone)]
pub(crate) enum Work {
    Create {
        request_id: String,
        properties: Value,
    },
    Update {
        request_id: String,
        physical_id: String,
        properties: Value,
        old_properties: Value,
    },
    Delete {
        physical_id: String,
        properties: Value,
    },
}

impl Work {
    /// The request's id; a Delete creates nothing and goes by its physical id.
    pub(crate) fn request_id(&self) -> &str {
        match self {
            Work::Create { request_id, .. } | Work::Update { request_id, .. } => request_id,
            Work::Delete { physical_id, .. } => physical_id,
        }
    }

    pub(crate) fn properties(&self) -> &Value {
        match self {
            Work::Create { properties, .. } | Work::Update { properties, .. } | Work::Delete { properties, .. } => {
                properties
            }
        }
    }
}

/// How a guarded run ended.
#[derive(Debug)]
pub(crate) enum Ended {
    Done(Done),
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
            Ok(Err(e)) => Ended::Failed(e),
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

    /// A FAILED Update keeps the resource's id, `kept`: a new version the
    /// request made (a replacement's) would be left behind, so it is deleted
    /// here, as far as SageMaker lets us before `until`. The Reason's note
    /// on it; empty when the request made none.
    pub(crate) async fn discard_replacement(
        &self,
        made: Option<&str>,
        kept: &str,
        properties: &Value,
        until: Instant,
    ) -> String {
        let Some((arn, parsed)) = made
            .filter(|made| *made != kept)
            .and_then(|made| Some((made, ImageVersionArn::parse(made)?)))
        else {
            return String::new();
        };
        let image = parsed.image_name_for(properties.get("ImageName").and_then(Value::as_str));
        let progress = Progress::default();
        let lifecycle = Lifecycle {
            regions: &self.regions,
            pacing: &self.pacing,
            progress: &progress,
            retries_until: None,
        };
        let discard = lifecycle.discard(&parsed, image);
        if tokio::time::timeout_at(until, discard).await.unwrap_or(false) {
            format!("; the new version {arn} is being deleted")
        } else {
            format!("; the new version {arn} is not the resource's: delete it once it leaves CREATING")
        }
    }

    async fn lifecycle(&self, work: Work, progress: &Progress, until: Instant) -> Result<Done, LifecycleError> {
        let lifecycle = Lifecycle {
            regions: &self.regions,
            pacing: &self.pacing,
            progress,
            retries_until: Some(until - call_margin(until)),
        };
        lifecycle.wait_for_the_next_try().await;
        match work {
            Work::Create { request_id, properties } => lifecycle.create(&request_id, &properties).await,
            Work::Update {
                request_id,
                physical_id,
                properties,
                old_properties,
            } => {
                lifecycle
                    .update(&request_id, &physical_id, &properties, &old_properties)
                    .await
            }
            Work::Delete {
                physical_id,
                properties,
            } => lifecycle.delete(&physical_id, &properties).await,
        }
    }
}

/// How long before the deadline a retry may still start: a tenth of the
/// time left, 250 ms to 2 s, the time a SageMaker call takes and then some.
fn call_margin(until: Instant) -> Duration {
    (until.saturating_duration_since(Instant::now()) / 10).clamp(Duration::from_millis(250), Duration::from_secs(2))
}
