//! One invocation, start to finish: take the event apart, run its lifecycle
//! under the deadline and a panic guard, and answer exactly once.

use std::sync::Arc;
use std::time::SystemTime;

use lambda_runtime::LambdaEvent;
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::time::Instant;
use tracing::{Instrument, error, info, warn};

use crate::aws::AwsConfig;
use crate::cloudformation::event;
use crate::cloudformation::{Answer, Envelope, EventError, ResponseSender, Status, placeholder_id};
use crate::deadline::Budget;
use crate::handoff::{Chain, HandOff};
use crate::lifecycle::{Ended, Engine, Pacing, ProgressState, Work};
use crate::sagemaker::Regions;
use crate::sagemaker::sdk::SdkRegions;

pub(crate) struct Handler<R> {
    engine: Arc<Engine<R>>,
    sender: ResponseSender,
    hand_off: Option<HandOff>,
}

impl Handler<SdkRegions> {
    /// The handler as Lambda runs it: SageMaker and Lambda through the SDK's
    /// default chain, answers as the environment allows.
    pub(crate) fn from_env() -> Arc<Self> {
        let config = AwsConfig::default();
        Handler::new(
            SdkRegions::new(config.clone()),
            ResponseSender::from_env(),
            HandOff::from_env(config),
        )
    }
}

impl<R: Regions + 'static> Handler<R> {
    pub(crate) fn new(regions: R, sender: ResponseSender, hand_off: Option<HandOff>) -> Arc<Self> {
        Arc::new(Handler {
            engine: Arc::new(Engine {
                regions,
                pacing: Pacing::default(),
            }),
            sender,
            hand_off,
        })
    }

    /// Answers the event (or hands it on) and returns `Ok` whatever
    /// happened: an `Err` would only make Lambda run the request again.
    pub(crate) async fn handle(
        self: Arc<Self>,
        event: LambdaEvent<Box<RawValue>>,
    ) -> Result<(), lambda_runtime::Error> {
        let (payload, context) = event.into_parts();
        let budget = Budget::from_deadline_ms(context.deadline);
        let (envelope, payload) = event::read(payload.get());
        let span = event::span(&envelope);
        self.answer(payload, envelope, budget, &context.invoked_function_arn)
            .instrument(span)
            .await;
        Ok(())
    }

    async fn answer(&self, payload: Result<Value, EventError>, envelope: Envelope, budget: Budget, function_arn: &str) {
        info!(budget_seconds = budget.total.as_secs(), "request received");
        let url = match self.sender.check(envelope.response_url.as_deref()) {
            Ok(url) => url,
            Err(e) => {
                error!(error = %e, "this event cannot be answered: no usable ResponseURL");
                return;
            }
        };
        let answer = match payload.and_then(|payload| Ok((event::parse(&payload, &envelope)?, payload))) {
            Ok((work, event)) => match self.run(work, &event, &envelope, budget, function_arn).await {
                Some(answer) => answer,
                None => return,
            },
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
        let body = match answer.body() {
            Ok(body) => body,
            Err(e) => {
                error!(error = %e, "this event cannot be answered");
                return;
            }
        };
        match self.sender.send(&url, body, budget.answer_until).await {
            Ok(status) => info!(status, url = %url.redacted(), "answer delivered"),
            Err(e) => error!(error = %e, "answer not delivered"),
        }
    }

    /// The answer, or `None` when the request went on in a new invocation.
    async fn run(
        &self,
        work: Work,
        event: &Value,
        envelope: &Envelope,
        budget: Budget,
        function_arn: &str,
    ) -> Option<Answer> {
        let now = SystemTime::now();
        let chain = Chain::of(event, now);
        let answer_by = Instant::now() + chain.time_left(now);
        let until = budget.work_until.min(answer_by);
        if chain.hand_offs > 0 {
            info!(
                hand_offs = chain.hand_offs,
                "resuming a request handed on by an earlier invocation"
            );
        }
        let progress = chain.progress();
        let (reason, advice) = match self.engine.run(work.clone(), &progress, until).await {
            Ended::Done(done) => return Some(Answer::success(envelope, done.physical_resource_id, done.data)),
            Ended::Failed(e) => (e.to_string(), ""),
            Ended::Panicked(detail) => (format!("internal error in the handler (panic: {detail})"), ""),
            Ended::OutOfTime => {
                let state = progress.snapshot();
                let ran_out = if answer_by <= budget.work_until {
                    RanOut::ServiceTimeout(&chain)
                } else {
                    RanOut::Function(budget)
                };
                match &self.hand_off {
                    Some(hand_off) if matches!(ran_out, RanOut::Function(_)) && chain.can_hand_off() => {
                        let next = chain.next_event(event, &state);
                        let invoked =
                            tokio::time::timeout_at(budget.last_call_until(), hand_off.invoke(function_arn, next));
                        match invoked.await {
                            Ok(Ok(())) => {
                                info!(hand_offs = chain.hand_offs + 1, waiting_for = ?state.waiting_for, "handed on to a new invocation");
                                return None;
                            }
                            Ok(Err(e)) => (hand_off_failed(&e), ""),
                            Err(_) => (hand_off_failed(&"Lambda Invoke did not answer in time"), ""),
                        }
                    }
                    _ => (timed_out(&state, &ran_out), ran_out_advice(&ran_out)),
                }
            }
        };
        let until = budget.last_call_until();
        let made = self.engine.made_version(&work, &progress.snapshot(), until).await;
        let (id, note) = match (&work, made) {
            (Work::Create { .. }, Some(made)) => (made, None),
            (Work::Update { .. }, Some(made)) => (
                kept_or_placeholder(envelope),
                self.engine.discard_replacement(&made, work.properties(), until).await,
            ),
            _ => (kept_or_placeholder(envelope), None),
        };
        let note = note.map(|n| format!("; {n}")).unwrap_or_default();
        Some(Answer::failed(envelope, id, format!("{reason}{note}{advice}")))
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

fn hand_off_failed(error: &dyn std::fmt::Display) -> String {
    format!(
        "could not hand the request on to a new invocation of the function ({error}): grant the function \
         lambda:InvokeFunction on itself, or set CFN_HAND_OFF=false and raise its Timeout"
    )
}

/// What a request ran out of.
enum RanOut<'a> {
    Function(Budget),
    ServiceTimeout(&'a Chain),
}

/// The Reason of a request that ran out of time, but for the advice.
fn timed_out(state: &ProgressState, ran_out: &RanOut<'_>) -> String {
    let mut reason = match ran_out {
        RanOut::Function(budget) => {
            format!(
                "timed out: the Lambda function's time ({:.0}s) ran out",
                budget.total.as_secs_f64()
            )
        }
        RanOut::ServiceTimeout(chain) => format!(
            "timed out: the resource's ServiceTimeout ({}s) ran out after {} hand-offs to new invocations",
            chain.service_timeout.as_secs(),
            chain.hand_offs
        ),
    };
    if let Some(waiting) = &state.waiting_for {
        reason += &format!(" waiting for {waiting}");
    }
    if let Some(arn) = &state.version_arn {
        reason += &format!(" (image version {arn})");
    }
    if let Some(error) = &state.last_error {
        reason += &format!("; last error: {error}");
    }
    reason
}

fn ran_out_advice(ran_out: &RanOut<'_>) -> &'static str {
    match ran_out {
        RanOut::Function(_) => {
            "; raise the function's Timeout (below the resource's ServiceTimeout) or retry the stack operation"
        }
        RanOut::ServiceTimeout(_) => {
            "; raise the resource's ServiceTimeout (at most 3600) or retry the stack operation"
        }
    }
}

#[cfg(test)]
mod tests;
