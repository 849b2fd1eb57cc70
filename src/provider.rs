//! CDK's Provider framework (`PROVIDER_FRAMEWORK=cdk`): the same lifecycle
//! as the framework's `onEvent` and `isComplete` handler. The framework
//! answers CloudFormation, so nothing here PUTs; a failure is a function
//! error whose message is the Reason.
//!
//! Every call takes one step without waiting: the framework's waiter calls
//! `isComplete` again and again with the same input, so each call runs the
//! lifecycle again from the start, idempotently (`ClientToken` = `RequestId`),
//! and says whether the work is done.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_lambda_events::event::cloudformation::provider::CloudFormationCustomResourceRequest;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use tracing::{Instrument, info, warn};

use crate::cloudformation::event::{self, Envelope};
use crate::cloudformation::placeholder_id;
use crate::deadline::Budget;
use crate::lifecycle::{Ended, Engine, LifecycleError, Pacing, Progress, Work};
use crate::sagemaker::Regions;
use crate::sagemaker::sdk::SdkRegions;

/// The top-level field of `onEvent`'s result that the framework passes on to
/// `isComplete`, and by which an `isComplete` call is told from an `onEvent` one.
const HANDOVER: &str = "SageMakerImageVersion";

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Handover {
    /// The id the request arrived with: `isComplete`'s input carries
    /// `onEvent`'s instead (for a replacement, the new version's).
    physical_resource_id: Option<String>,
    /// `onEvent` finished the work: `isComplete` has nothing to ask.
    complete: bool,
    /// When `onEvent` ran. A handover without it (from an older version of
    /// the function) never gives up early.
    #[serde(default, with = "crate::deadline::epoch_ms::option", rename = "StartedMs")]
    started: Option<SystemTime>,
}

/// How long after `onEvent` an `isComplete` gives up (`PROVIDER_GIVE_UP_SECONDS`,
/// which the construct sets a little under the framework's `totalTimeout`):
/// then the request FAILS with a Reason, and a replacement's new version is
/// deleted, before the framework's own timeout would answer for it and leave
/// that version behind.
fn give_up_after() -> Option<Duration> {
    std::env::var("PROVIDER_GIVE_UP_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// Why the request FAILED: the framework sends this message to CloudFormation.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Failed(String);

impl From<Failed> for Diagnostic {
    fn from(failed: Failed) -> Self {
        Diagnostic {
            error_type: "SageMakerImageVersion.Failed".to_owned(),
            error_message: failed.0,
        }
    }
}

pub(crate) struct Provider<R> {
    engine: Arc<Engine<R>>,
    give_up_after: Option<Duration>,
}

impl Provider<SdkRegions> {
    pub(crate) fn from_env() -> Arc<Self> {
        Provider::new(SdkRegions::new(crate::aws::AwsConfig::default()), give_up_after())
    }
}

impl<R: Regions + 'static> Provider<R> {
    pub(crate) fn new(regions: R, give_up_after: Option<Duration>) -> Arc<Self> {
        Arc::new(Provider {
            engine: Arc::new(Engine {
                regions,
                pacing: Pacing::one_step(),
            }),
            give_up_after,
        })
    }

    pub(crate) async fn handle(self: Arc<Self>, event: LambdaEvent<Box<RawValue>>) -> Result<Value, Failed> {
        let (payload, context) = event.into_parts();
        let budget = Budget::from_deadline_ms(context.deadline);
        let (envelope, value) = event::read(payload.get());
        let span = event::span(&envelope);
        // Boxed: inline, the step's future is too deep for the compiler's
        // layout query once the runtime wraps it.
        Box::pin(self.step(value, envelope, budget).instrument(span)).await
    }

    async fn step(
        &self,
        value: Result<Value, event::EventError>,
        envelope: Envelope,
        budget: Budget,
    ) -> Result<Value, Failed> {
        let value = value.map_err(|e| Failed(e.to_string()))?;
        event::check_request_type(&envelope).map_err(|e| Failed(e.to_string()))?;
        let handover = match value.get(HANDOVER) {
            Some(h) => Some(
                serde_json::from_value::<Handover>(h.clone())
                    .map_err(|e| Failed(format!("the {HANDOVER} field of isComplete's input is not ours: {e}")))?,
            ),
            None => None,
        };
        let original_id = match &handover {
            Some(h) => h.physical_resource_id.clone(),
            None => envelope.physical_resource_id.clone(),
        };
        let work = work_of(value, original_id.clone())?;
        match handover {
            None => {
                info!("onEvent");
                self.on_event(work, original_id, budget).await
            }
            Some(Handover { complete: true, .. }) => Ok(json!({ "IsComplete": true })),
            Some(h) => {
                info!("isComplete");
                let give_up = self.give_up_after.zip(h.started).is_some_and(|(after, started)| {
                    SystemTime::now().duration_since(started).unwrap_or_default() >= after
                });
                self.is_complete(work, budget, h.physical_resource_id.as_deref(), give_up)
                    .await
            }
        }
    }

    /// Starts the work. A version this step created is answered as the
    /// resource's id even when the step cannot finish, so that a later
    /// failure answers its ARN and the rollback Delete removes it.
    async fn on_event(&self, work: Work, original_id: Option<String>, budget: Budget) -> Result<Value, Failed> {
        let progress = Progress::default();
        let is_create = matches!(work, Work::Create { .. });
        let properties = work.properties().clone();
        let replacing = Replacing::of(&work, original_id.as_deref(), &properties, &budget);
        let request_id = work.request_id().to_owned();
        let handover = |complete| {
            serde_json::to_value(Handover {
                physical_resource_id: original_id.clone(),
                complete,
                started: Some(SystemTime::now()),
            })
            .expect("a plain struct")
        };
        let pending = |progress: &Progress| {
            let created = progress.snapshot().version_arn.filter(|_| is_create);
            let id = created
                .or(original_id.clone())
                .unwrap_or_else(|| placeholder_id(&request_id));
            info!(physical_resource_id = %id, "not complete yet: isComplete goes on");
            json!({ "PhysicalResourceId": id, HANDOVER: handover(false) })
        };
        match self.engine.run(work, &progress, budget.work_until).await {
            Ended::Done(done) => Ok(json!({
                "PhysicalResourceId": done.physical_resource_id,
                "Data": done.data,
                HANDOVER: handover(true),
            })),
            Ended::Failed(e) if e.is_pending() => Ok(pending(&progress)),
            Ended::OutOfTime => Ok(pending(&progress)),
            Ended::Failed(e @ LifecycleError::CreateFailed { .. }) if is_create => {
                warn!(error = %e, "the version failed: isComplete reports it with its ARN");
                Ok(pending(&progress))
            }
            Ended::Failed(e) => Err(self.failed(e.to_string(), &progress, replacing).await),
            Ended::Panicked(detail) => Err(self.failed(panicked(&detail), &progress, replacing).await),
        }
    }

    /// One poll of the work `onEvent` started, for the request that arrived
    /// with `original_id`. When `giving_up`, the step is the last before the
    /// framework gives up: a step not done then FAILS.
    async fn is_complete(
        &self,
        work: Work,
        budget: Budget,
        original_id: Option<&str>,
        giving_up: bool,
    ) -> Result<Value, Failed> {
        let progress = Progress::resumed(None, None, false);
        let properties = work.properties().clone();
        let replacing = Replacing::of(&work, original_id, &properties, &budget);
        let not_complete = async |progress: &Progress| match giving_up {
            false => Ok(json!({ "IsComplete": false })),
            true => Err(self.give_up(progress, replacing).await),
        };
        match self.engine.run(work, &progress, budget.work_until).await {
            Ended::Done(done) => Ok(json!({
                "IsComplete": true,
                "PhysicalResourceId": done.physical_resource_id,
                "Data": done.data,
            })),
            Ended::Failed(e) if e.is_pending() => not_complete(&progress).await,
            Ended::OutOfTime => not_complete(&progress).await,
            Ended::Failed(e) => Err(self.failed(e.to_string(), &progress, replacing).await),
            Ended::Panicked(detail) => Err(self.failed(panicked(&detail), &progress, replacing).await),
        }
    }
}

impl<R: Regions + 'static> Provider<R> {
    /// The Reason of a request out of time.
    async fn give_up(&self, progress: &Progress, replacing: Option<Replacing<'_>>) -> Failed {
        let state = progress.snapshot();
        let mut reason = "timed out: the Provider framework's time for this request ran out".to_owned();
        if let Some(waiting) = &state.waiting_for {
            reason += &format!(" waiting for {waiting}");
        }
        if let Some(arn) = &state.version_arn {
            reason += &format!(" (image version {arn})");
        }
        let failed = self.failed(reason, progress, replacing).await;
        Failed(failed.0 + "; raise the provider's totalTimeout or retry the stack operation")
    }

    /// A FAILED answer: the framework answers the id `onEvent` gave, so an
    /// Update's new version that it does not name is deleted first.
    async fn failed(&self, reason: String, progress: &Progress, replacing: Option<Replacing<'_>>) -> Failed {
        let made = replacing.and_then(|r| Some((progress.snapshot().version_arn.filter(|m| m != r.kept)?, r)));
        let note = match made {
            Some((made, r)) => self.engine.discard_replacement(&made, r.properties, r.until).await,
            None => None,
        };
        let reason = match note {
            Some(note) => format!("{reason}; {note}"),
            None => reason,
        };
        warn!(reason = %reason, "FAILED");
        Failed(reason)
    }
}

/// An Update, whose FAILED answer keeps `kept`: what deleting a new version
/// it made needs.
#[derive(Clone, Copy)]
struct Replacing<'a> {
    kept: &'a str,
    properties: &'a Value,
    until: tokio::time::Instant,
}

impl<'a> Replacing<'a> {
    fn of(work: &Work, original_id: Option<&'a str>, properties: &'a Value, budget: &Budget) -> Option<Self> {
        match (work, original_id) {
            (Work::Update { .. }, Some(kept)) => Some(Replacing {
                kept,
                properties,
                until: budget.last_call_until(),
            }),
            _ => None,
        }
    }
}

fn work_of(value: Value, original_id: Option<String>) -> Result<Work, Failed> {
    let request: CloudFormationCustomResourceRequest<Value, Value> = serde_json::from_value(value).map_err(|e| {
        Failed(format!(
            "the event is not a CloudFormation custom resource request: {e}"
        ))
    })?;
    Ok(match request {
        CloudFormationCustomResourceRequest::Create(r) => Work::Create {
            request_id: r.common.request_id,
            properties: r.common.resource_properties,
        },
        CloudFormationCustomResourceRequest::Update(r) => Work::Update {
            request_id: r.common.request_id,
            physical_id: original_id.unwrap_or(r.physical_resource_id),
            properties: r.common.resource_properties,
            old_properties: r.old_resource_properties,
        },
        CloudFormationCustomResourceRequest::Delete(r) => Work::Delete {
            physical_id: original_id.unwrap_or(r.physical_resource_id),
            properties: r.common.resource_properties,
        },
        _ => {
            return Err(Failed(
                "unknown RequestType: expected Create, Update or Delete".to_owned(),
            ));
        }
    })
}

fn panicked(detail: &str) -> String {
    format!("internal error in the handler (panic: {detail})")
}
