//! A request's lifecycle run in its own task: a panic becomes a failure and
//! a deadline cuts it short, so that whoever called can still answer.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::time::{Instant, sleep_until};
use tracing::{Instrument, error, info, warn};

use super::delete::Discarded;
use super::{Done, Lifecycle, LifecycleError, Pacing, Progress, ProgressState, client_token, new_version};
use crate::properties::ImageVersionProperties;
use crate::sagemaker::{ImageVersionArn, ImageVersions, Regions};

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

    /// The id the request arrived with; a Create has none.
    pub(crate) fn physical_id(&self) -> Option<&str> {
        match self {
            Work::Create { .. } => None,
            Work::Update { physical_id, .. } | Work::Delete { physical_id, .. } => Some(physical_id),
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

    /// The version `work` made, for its FAILED answer: the one the progress
    /// names, or, when a `CreateImageVersion` went out and no answer was read
    /// (time ran out while it was in flight), the one the same token and
    /// parameters give back, asked before `until`. `None`: it made none.
    pub(crate) async fn made_version(
        self: &Arc<Self>,
        work: &Work,
        progress: &ProgressState,
        until: Instant,
    ) -> Option<String> {
        let kept = work.physical_id();
        if let Some(made) = progress.version_arn.as_deref().filter(|made| Some(*made) != kept) {
            return Some(made.to_owned());
        }
        let (Work::Create { request_id, properties }
        | Work::Update {
            request_id, properties, ..
        }) = work
        else {
            return None;
        };
        if !progress.create_sent {
            return None;
        }
        let props = ImageVersionProperties::parse(properties).ok()?;
        let token = client_token(request_id);
        let engine = self.clone();
        // In a task of its own, as the lifecycle runs: a panic here must not
        // keep the FAILED answer from going out.
        let asked = tokio::spawn(
            async move {
                let region = match props.region() {
                    Some(region) => region.to_owned(),
                    None => engine.regions.default_region().await.ok()?,
                };
                let api = engine.regions.api(&region).await;
                match api.create(&new_version(&props, &token)).await {
                    Ok(arn) => Some(arn),
                    Err(e) => {
                        warn!(error = %e, "a CreateImageVersion was cut short, and asking again under its token failed");
                        None
                    }
                }
            }
            .in_current_span(),
        );
        let arn = match tokio::time::timeout_at(until, asked).await {
            Ok(Ok(arn)) => arn?,
            Ok(Err(_)) | Err(_) => {
                warn!("a CreateImageVersion was cut short, and asking again under its token gave no answer");
                return None;
            }
        };
        info!(version_arn = %arn, "the version of a CreateImageVersion cut short, asked again under its token");
        Some(arn)
    }

    /// A FAILED Update keeps the resource's id: a new version it made (a
    /// replacement's) would be left behind, so it is deleted here, as far as
    /// SageMaker lets us before `until`, unless another delivery of the
    /// request may answer with it (it is `CREATED` from the template). The
    /// Reason's note on it; `None` when the request made none.
    pub(crate) async fn discard_replacement(&self, made: &str, properties: &Value, until: Instant) -> Option<String> {
        let parsed = ImageVersionArn::parse(made)?;
        let props = ImageVersionProperties::parse(properties).ok();
        let image = parsed.image_name_for(props.as_ref().map(ImageVersionProperties::image_name));
        let progress = Progress::default();
        let lifecycle = Lifecycle {
            regions: &self.regions,
            pacing: &self.pacing,
            progress: &progress,
            retries_until: None,
        };
        let discard = lifecycle.discard(&parsed, image, props.as_ref().map(ImageVersionProperties::base_image));
        let discarded = tokio::time::timeout_at(until, discard)
            .await
            .unwrap_or(Discarded::Refused);
        Some(match discarded {
            Discarded::Deleting => format!("the new version {made} is being deleted"),
            Discarded::Answerable => format!(
                "the new version {made} is CREATED from the template and left in place: another delivery of \
                 this request may answer with it"
            ),
            Discarded::Refused => {
                format!("the new version {made} is not the resource's: delete it once it leaves CREATING")
            }
        })
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
