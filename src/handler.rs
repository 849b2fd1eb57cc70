//! One invocation, start to finish: take the event apart, run its lifecycle
//! under the deadline and a panic guard, and answer exactly once.

use std::sync::Arc;

use lambda_runtime::LambdaEvent;
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::time::sleep_until;
use tracing::{Instrument, error, info, info_span, warn};

use crate::cloudformation::event::{self, Request};
use crate::cloudformation::{Answer, Envelope, EventError, ResponseSender, Status};
use crate::deadline::Budget;
use crate::lifecycle::{Done, Lifecycle, LifecycleError, Pacing, Progress};
use crate::sagemaker::Regions;
use crate::sagemaker::sdk::SdkRegions;

pub(crate) struct Handler<R> {
    regions: R,
    sender: ResponseSender,
    pacing: Pacing,
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
            regions,
            sender,
            pacing,
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
        let span = info_span!(
            "custom_resource",
            request_type = envelope.request_type.as_deref().unwrap_or("-"),
            logical_resource_id = %envelope.logical_resource_id,
            request_id = %envelope.request_id,
            physical_resource_id = envelope.physical_resource_id.as_deref().unwrap_or("-"),
        );
        self.answer(payload, envelope, budget).instrument(span).await;
        Ok(())
    }

    async fn answer(self: Arc<Self>, payload: Result<Value, EventError>, envelope: Envelope, budget: Budget) {
        info!(budget_seconds = budget.total.as_secs(), "request received");
        let url = match self.sender.check(envelope.response_url.as_deref()) {
            Ok(url) => url,
            Err(e) => {
                error!(error = %e, "this event cannot be answered: no usable ResponseURL");
                return;
            }
        };
        let answer = match payload.and_then(|payload| event::parse(payload, &envelope)) {
            Ok(request) => self.clone().run(request, &envelope, budget).await,
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

    /// Runs the lifecycle in its own task, so that a panic becomes a FAILED
    /// answer and the deadline can cut it short.
    async fn run(self: Arc<Self>, request: Request, envelope: &Envelope, budget: Budget) -> Answer {
        let progress = Progress::default();
        let is_create = matches!(request, Request::Create(_));
        let mut task = {
            let progress = progress.clone();
            tokio::spawn(async move { self.lifecycle(request, &progress).await }.in_current_span())
        };
        let failed_id = || match progress.snapshot().version_arn {
            Some(arn) if is_create => arn,
            _ => kept_or_placeholder(envelope),
        };
        let outcome = tokio::select! {
            joined = &mut task => joined,
            () = sleep_until(budget.work_until) => {
                task.abort();
                return Answer::failed(envelope, failed_id(), timed_out(&progress, budget));
            }
        };
        match outcome {
            Ok(Ok(done)) => Answer::success(envelope, done.physical_resource_id, done.data),
            Ok(Err(e)) => {
                let id = match &e {
                    LifecycleError::CreateFailed { arn, .. } if is_create => arn.clone(),
                    _ => failed_id(),
                };
                Answer::failed(envelope, id, e.to_string())
            }
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
                Answer::failed(
                    envelope,
                    failed_id(),
                    format!("internal error in the handler (panic: {detail})"),
                )
            }
        }
    }

    async fn lifecycle(&self, request: Request, progress: &Progress) -> Result<Done, LifecycleError> {
        let lifecycle = Lifecycle {
            regions: &self.regions,
            pacing: &self.pacing,
            progress,
        };
        match request {
            Request::Create(r) => lifecycle.create(&r.request_id, &r.resource_properties).await,
            Request::Update(r) => {
                lifecycle
                    .update(
                        &r.request_id,
                        &r.physical_resource_id,
                        &r.resource_properties,
                        &r.old_resource_properties,
                    )
                    .await
            }
            Request::Delete(r) => lifecycle.delete(&r.physical_resource_id, &r.resource_properties).await,
            _ => unreachable!("event::parse admits Create, Update and Delete only"),
        }
    }
}

/// The request's own id, or for a Create that never got a version, an id that
/// is not an ARN: the rollback Delete then succeeds without a SageMaker call.
fn kept_or_placeholder(envelope: &Envelope) -> String {
    envelope.physical_resource_id.clone().unwrap_or_else(|| {
        let request: String = envelope.request_id.chars().take(64).collect();
        format!("no-image-version-{request}")
    })
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
