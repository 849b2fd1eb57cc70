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

use aws_config::SdkConfig;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use tracing::{Instrument, info};

use crate::cloudformation::event::{self, Envelope, Received};
use crate::conclusion::{Conclusion, Ending, RanOut, Request, Step};
use crate::config::{Config, ConfigError};
use crate::deadline::Budget;
use crate::handoff::Handover;
use crate::lifecycle::{Engine, Pacing, Progress, Work};
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
    pub(crate) fn with(config: &Config, aws: &SdkConfig, refusal: Option<ConfigError>) -> Arc<Self> {
        Arc::new(Provider {
            engine: Engine::new(SdkRegions::new(aws.clone()), Pacing::one_step()),
            give_up_after: config.give_up_after,
            refusal,
        })
    }
}

impl<R: Regions + 'static> Provider<R> {
    pub(crate) async fn handle(self: Arc<Self>, invocation: LambdaEvent<Box<RawValue>>) -> Result<Value, Failed> {
        let (received, span) = Received::of(invocation);
        // Boxed: inline, the step's future is too deep for the compiler's
        // layout query once the runtime wraps it.
        Box::pin(self.step(received).instrument(span)).await
    }

    async fn step(&self, received: Received) -> Result<Value, Failed> {
        let (envelope, budget) = (&received.envelope, received.budget);
        if let Some(refusal) = &self.refusal {
            return Err(Failed(refusal.to_string()));
        }
        let value = received.event.map_err(|e| Failed(e.to_string()))?;
        event::check_request_type(envelope).map_err(|e| Failed(e.to_string()))?;
        let handover = Handover::of(&value).map_err(|e| Failed(e.to_string()))?;
        let original_id = match &handover {
            Some(h) => h.physical_resource_id.clone(),
            None => envelope.physical_resource_id.clone(),
        };
        let work = event::parse(&value, envelope, original_id.clone()).map_err(|e| Failed(e.to_string()))?;
        let step = match &handover {
            None => Step::OnEvent,
            Some(Handover { complete: true, .. }) => return Ok(json!({ "IsComplete": true })),
            Some(h) => Step::IsComplete {
                answered: envelope.physical_resource_id.as_deref(),
                giving_up: h.gives_up(self.give_up_after),
            },
        };
        info!("{}", if handover.is_none() { "onEvent" } else { "isComplete" });
        // onEvent answers a version it made as the resource's id even when
        // not done, so that a later failure answers its ARN and the rollback
        // Delete removes it.
        match (self.conclude(&work, envelope, step, budget).await, step) {
            (Conclusion::Failure { reason, .. }, _) => Err(Failed(reason.to_string())),
            (Conclusion::Success(done), Step::OnEvent) => Ok(Handover::result(
                &done.physical_resource_id,
                Some(&done.data),
                original_id,
            )),
            (
                Conclusion::NotYet {
                    physical_resource_id,
                    waiting_for,
                },
                Step::OnEvent,
            ) => {
                info!(%physical_resource_id, ?waiting_for, "not complete yet: isComplete goes on");
                Ok(Handover::result(&physical_resource_id, None, original_id))
            }
            (Conclusion::Success(done), _) => Ok(json!({
                "IsComplete": true,
                "PhysicalResourceId": done.physical_resource_id,
                "Data": done.data,
            })),
            (Conclusion::NotYet { .. }, _) => Ok(json!({ "IsComplete": false })),
        }
    }

    /// Runs `work` once, from the start, and concludes it for `step`: when
    /// it is the last `isComplete` before the framework gives up, a request
    /// not done FAILS.
    async fn conclude(&self, work: &Work, envelope: &Envelope, step: Step<'_>, budget: Budget) -> Conclusion {
        // isComplete knows only that onEvent ran first: SageMaker holds the rest.
        let progress = match step {
            Step::IsComplete { .. } => Progress::resumed(None, None, false),
            _ => Progress::default(),
        };
        let ended = self.engine.run(work.clone(), &progress, budget.work_until).await;
        let request = Request {
            work,
            request_id: &envelope.request_id,
            physical_id: work.physical_id(),
            step,
        };
        let ending = Ending::Lifecycle(ended, RanOut::Provider);
        self.engine
            .conclude(request, ending, &progress.snapshot(), budget.last_call_until())
            .await
    }
}
