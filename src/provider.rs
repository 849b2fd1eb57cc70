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
use std::time::Duration;

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use tracing::{Instrument, info, warn};

use crate::cloudformation::event::{self, Envelope};
use crate::cloudformation::kept_id;
use crate::conclusion::{Conclusion, Ending, Names, RanOut, Request};
use crate::config::{Config, ConfigError};
use crate::deadline::Budget;
use crate::handoff::Handover;
use crate::lifecycle::{Done, Ended, Engine, LifecycleError, Pacing, Progress, Work};
use crate::sagemaker::Regions;
use crate::sagemaker::sdk::SdkRegions;

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
    /// How long after `onEvent` an `isComplete` gives up
    /// (`PROVIDER_GIVE_UP_SECONDS`, which the construct sets a little under
    /// the framework's `totalTimeout`): then the request FAILS, and a
    /// replacement's new version is deleted, before the framework's own
    /// timeout would answer for it and leave that version behind.
    give_up_after: Option<Duration>,
    /// A configuration the function cannot run with: every call fails with it.
    refusal: Option<ConfigError>,
}

impl Provider<SdkRegions> {
    pub(crate) fn with(config: &Config, refusal: Option<ConfigError>) -> Arc<Self> {
        Arc::new(Provider {
            engine: Arc::new(Engine {
                regions: SdkRegions::new(crate::aws::AwsConfig::default()),
                pacing: Pacing::one_step(),
            }),
            give_up_after: config.give_up_after,
            refusal,
        })
    }
}

impl<R: Regions + 'static> Provider<R> {
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
        if let Some(refusal) = &self.refusal {
            return Err(Failed(refusal.to_string()));
        }
        let value = value.map_err(|e| Failed(e.to_string()))?;
        event::check_request_type(&envelope).map_err(|e| Failed(e.to_string()))?;
        let handover = Handover::of(&value).map_err(|e| Failed(e.to_string()))?;
        let original_id = match &handover {
            Some(h) => h.physical_resource_id.clone(),
            None => envelope.physical_resource_id.clone(),
        };
        let work = event::parse(&value, &envelope, original_id).map_err(|e| Failed(e.to_string()))?;
        match handover {
            None => {
                info!("onEvent");
                self.on_event(work, &envelope, budget).await
            }
            Some(Handover { complete: true, .. }) => Ok(json!({ "IsComplete": true })),
            Some(h) => {
                info!("isComplete");
                let giving_up = h.gives_up(self.give_up_after);
                self.is_complete(work, &envelope, budget, giving_up).await
            }
        }
    }

    /// Starts the work. A version this step created is answered as the
    /// resource's id even when the step cannot finish, so that a later
    /// failure answers its ARN and the rollback Delete removes it.
    async fn on_event(&self, work: Work, envelope: &Envelope, budget: Budget) -> Result<Value, Failed> {
        let original_id = envelope.physical_resource_id.clone();
        let progress = Progress::default();
        let is_create = matches!(work, Work::Create { .. });
        let pending = |progress: &Progress| {
            let created = progress.snapshot().version_arn.filter(|_| is_create);
            let id = created.unwrap_or_else(|| kept_id(&envelope.request_id, original_id.as_deref()));
            info!(physical_resource_id = %id, "not complete yet: isComplete goes on");
            Handover::result(&id, None, original_id.clone())
        };
        let ended = match self.engine.run(work.clone(), &progress, budget.work_until).await {
            Ended::Pending | Ended::OutOfTime => return Ok(pending(&progress)),
            // A failed onEvent's id is the framework's marker, not the
            // version's: isComplete reports the failure with the ARN.
            Ended::Failed(e @ LifecycleError::CreateFailed { .. }) if is_create => {
                warn!(error = %e, "the version failed: isComplete reports it with its ARN");
                return Ok(pending(&progress));
            }
            ended => ended,
        };
        let names = Names::Framework(original_id.clone().filter(|_| !is_create));
        let done = self
            .conclude(&work, envelope, &names, ended, &progress, &budget)
            .await?;
        Ok(Handover::result(
            &done.physical_resource_id,
            Some(&done.data),
            original_id,
        ))
    }

    /// One poll of the work `onEvent` started. When `giving_up`, the step
    /// is the last before the framework gives up: a step not done then FAILS.
    async fn is_complete(
        &self,
        work: Work,
        envelope: &Envelope,
        budget: Budget,
        giving_up: bool,
    ) -> Result<Value, Failed> {
        let progress = Progress::resumed(None, None, false);
        let ended = match self.engine.run(work.clone(), &progress, budget.work_until).await {
            Ended::Pending | Ended::OutOfTime if !giving_up => return Ok(json!({ "IsComplete": false })),
            ended => ended,
        };
        // The framework answers a failure with the id onEvent answered.
        let names = Names::Framework(envelope.physical_resource_id.clone());
        let done = self
            .conclude(&work, envelope, &names, ended, &progress, &budget)
            .await?;
        Ok(json!({
            "IsComplete": true,
            "PhysicalResourceId": done.physical_resource_id,
            "Data": done.data,
        }))
    }

    async fn conclude(
        &self,
        work: &Work,
        envelope: &Envelope,
        names: &Names,
        ended: Ended,
        progress: &Progress,
        budget: &Budget,
    ) -> Result<Done, Failed> {
        let request = Request {
            work,
            request_id: &envelope.request_id,
            physical_id: work.physical_id(),
            names,
        };
        let ending = Ending::Lifecycle(ended, RanOut::Provider);
        match self
            .engine
            .conclude(request, ending, &progress.snapshot(), budget.last_call_until())
            .await
        {
            Conclusion::Success(done) => Ok(done),
            Conclusion::Failure { reason, .. } => Err(Failed(reason.to_string())),
        }
    }
}
