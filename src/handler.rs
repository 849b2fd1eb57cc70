//! One invocation, start to finish: take the event apart, run its lifecycle
//! under the deadline and a panic guard, and answer exactly once.

use std::sync::Arc;

use lambda_runtime::LambdaEvent;
use serde_json::Value;
use serde_json::value::RawValue;
use tracing::{Instrument, error, info, warn};

use crate::cloudformation::event;
use crate::cloudformation::{Answer, Envelope, EventError, ResponseSender, Status, placeholder_id};
use crate::deadline::Budget;
use crate::lifecycle::{Ended, Engine, LifecycleError, Pacing, Progress, Work};
use crate::sagemaker::Regions;
use crate::sagemaker::sdk::SdkRegions;

pub(crate) struct Handler<R> {
    engine: Arc<Engine<R>>,
    sender: ResponseSender,
}

impl Handler<SdkRegions> {
    /// The handler as Lambda runs it: SageMaker through the SDK's default
    /// chain, answers as the environment allows.
    pub(crate) fn from_env() -> Arc<Self> {
        Handler::new(SdkRegions::default(), ResponseSender::from_env(), Pacing::default())
    }
}

impl<R: Regions + 'static> Handler<R> {
    pub(crate) fn new(regions: R, sender: ResponseSender, pacing: Pacing) -> Arc<Self> {
        Arc::new(Handler {
            engine: Arc::new(Engine { regions, pacing }),
            sender,
        })
    }

    /// Answers the event and returns `Ok` whatever happened: an `Err` would
    /// only make Lambda run the request again.
    pub(crate) async fn handle(
        self: Arc<Self>,
        event: LambdaEvent<Box<RawValue>>,
    ) -> Result<(), lambda_runtime::Error> {
        let (payload, context) = event.into_parts();
        let budget = Budget::from_deadline_ms(context.deadline);
        let (envelope, payload) = event::read(payload.get());
        let span = event::span(&envelope);
        self.answer(payload, envelope, budget).instrument(span).await;
        Ok(())
    }

    async fn answer(&self, payload: Result<Value, EventError>, envelope: Envelope, budget: Budget) {
        info!(budget_seconds = budget.total.as_secs(), "request received");
        let url = match self.sender.check(envelope.response_url.as_deref()) {
            Ok(url) => url,
            Err(e) => {
                error!(error = %e, "this event cannot be answered: no usable ResponseURL");
                return;
            }
        };
        let answer = match payload.and_then(|payload| event::parse(payload, &envelope)) {
            Ok(work) => self.run(work, &envelope, budget).await,
            Err(e) => Answer::failed(&envelope, kept_or_placeholder(&envelope), e.to_string()),
        };
        match answer.status {
            Status::Success => info!(physical_resource_id = %answer.physical_resource_id, "SUCCESS"),
            Status::Failed => warn!(
                physical_resource_id = %answer.physical_resource_id,
                reason = answer.reason.as_deref().unwrap_or_default(),
                "FAILED"
            ),
        }
        match self.sender.send(&url, answer.body(), budget.answer_until).await {
            Ok(status) => info!(status, url = %url.redacted(), "answer delivered"),
            Err(e) => error!(error = %e, "answer not delivered"),
        }
    }

    async fn run(&self, work: Work, envelope: &Envelope, budget: Budget) -> Answer {
        let progress = Progress::default();
        let is_create = matches!(work, Work::Create { .. });
        let failed_id = || match progress.snapshot().version_arn {
            Some(arn) if is_create => arn,
            _ => kept_or_placeholder(envelope),
        };
        match self.engine.run(work, &progress, budget.work_until).await {
            Ended::Done(done) => Answer::success(envelope, done.physical_resource_id, done.data),
            Ended::Failed(e) => {
                let id = match &e {
                    LifecycleError::CreateFailed { arn, .. } if is_create => arn.clone(),
                    _ => failed_id(),
                };
                Answer::failed(envelope, id, e.to_string())
            }
            Ended::Panicked(detail) => Answer::failed(
                envelope,
                failed_id(),
                format!("internal error in the handler (panic: {detail})"),
            ),
            Ended::OutOfTime => Answer::failed(envelope, failed_id(), timed_out(&progress, budget)),
        }
    }
}

/// The request's own id, or for a Create that never got a version, one that
/// is not an ARN.
fn kept_or_placeholder(envelope: &Envelope) -> String {
    envelope
        .physical_resource_id
        .clone()
        .unwrap_or_else(|| placeholder_id(&envelope.request_id))
}

fn timed_out(progress: &Progress, budget: Budget) -> String {
    let state = progress.snapshot();
    let mut reason = format!(
        "timed out: the Lambda function's time ({:.0}s) ran out",
        budget.total.as_secs_f64()
    );
    if let Some(waiting) = state.waiting_for {
        reason += &format!(" waiting for {waiting}");
    }
    if let Some(arn) = state.version_arn {
        reason += &format!(" (image version {arn})");
    }
    if let Some(error) = state.last_error {
        reason += &format!("; last error: {error}");
    }
    reason + "; raise the function's Timeout (below the resource's ServiceTimeout) or retry the stack operation"
}

#[cfg(test)]
mod tests;
