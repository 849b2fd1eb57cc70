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
use crate::cloudformation::{Answer, Envelope, EventError, ResponseSender, Status, kept_id};
use crate::conclusion::{Conclusion, Ending, Names, RanOut, Request};
use crate::config::{Config, ConfigError};
use crate::deadline::Budget;
use crate::handoff::{Chain, HandOff, Onward, deliver};
use crate::lifecycle::{Ended, Engine, Pacing, Work};
use crate::sagemaker::Regions;
use crate::sagemaker::sdk::SdkRegions;

pub(crate) struct Handler<R> {
    engine: Arc<Engine<R>>,
    sender: ResponseSender,
    hand_off: Option<HandOff>,
    /// A configuration the function cannot run with: every request is
    /// answered FAILED with it.
    refusal: Option<ConfigError>,
}

impl Handler<SdkRegions> {
    /// The handler as Lambda runs it: SageMaker and Lambda through the SDK's
    /// default chain, answers as the configuration allows.
    pub(crate) fn with(config: &Config, refusal: Option<ConfigError>) -> Arc<Self> {
        let aws = AwsConfig::default();
        let runtime_api = std::env::var("AWS_LAMBDA_RUNTIME_API").ok();
        Handler::new(
            SdkRegions::new(aws.clone()),
            ResponseSender::new(config.allow_loopback_response_url, runtime_api),
            config.hand_off.then(|| HandOff::new(aws)),
            refusal,
        )
    }
}

impl<R: Regions + 'static> Handler<R> {
    pub(crate) fn new(
        regions: R,
        sender: ResponseSender,
        hand_off: Option<HandOff>,
        refusal: Option<ConfigError>,
    ) -> Arc<Self> {
        Arc::new(Handler {
            engine: Arc::new(Engine {
                regions,
                pacing: Pacing::default(),
            }),
            sender,
            hand_off,
            refusal,
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
        // A configuration the function cannot run with fails every request.
        let parsed = match &self.refusal {
            Some(refusal) => Err(refusal.to_string()),
            None => payload
                .and_then(|payload| Ok((event::parse(&payload, &envelope, None)?, payload)))
                .map_err(|e| e.to_string()),
        };
        let (work, event) = match parsed {
            Ok(parsed) => parsed,
            Err(reason) => {
                let id = kept_id(&envelope.request_id, envelope.physical_resource_id.as_deref());
                if let Some(body) = body(&Answer::failed(&envelope, id, reason)) {
                    deliver(&self.sender, &url, body, budget, None).await;
                }
                return;
            }
        };
        let chain = Chain::of(&event, SystemTime::now());
        let answer = match &chain.answer {
            Some(body) => {
                info!(
                    hand_offs = chain.hand_offs,
                    "sending the answer an earlier invocation could not deliver"
                );
                body.clone().into_bytes()
            }
            None => match self.run(work, &event, &chain, &envelope, budget, function_arn).await {
                Some(answer) => match body(&answer) {
                    Some(body) => body,
                    None => return,
                },
                None => return,
            },
        };
        let onward = self.hand_off.as_ref().map(|hand_off| Onward {
            hand_off,
            chain: &chain,
            event: &event,
            function_arn,
        });
        deliver(&self.sender, &url, answer, budget, onward).await;
    }

    /// The answer, or `None` when the request went on in a new invocation.
    async fn run(
        &self,
        work: Work,
        event: &Value,
        chain: &Chain,
        envelope: &Envelope,
        budget: Budget,
        function_arn: &str,
    ) -> Option<Answer> {
        let answer_by = Instant::now() + chain.time_left(SystemTime::now());
        let until = budget.work_until.min(answer_by);
        if chain.hand_offs > 0 {
            info!(
                hand_offs = chain.hand_offs,
                "resuming a request handed on by an earlier invocation"
            );
        }
        let progress = chain.progress();
        let ended = self.engine.run(work.clone(), &progress, until).await;
        let ran_out = if answer_by <= budget.work_until {
            RanOut::ServiceTimeout {
                limit: chain.service_timeout,
                hand_offs: chain.hand_offs,
            }
        } else {
            RanOut::Function(budget.total)
        };
        let ending = match (ended, &self.hand_off) {
            (Ended::OutOfTime, Some(hand_off)) if matches!(ran_out, RanOut::Function(_)) && chain.can_hand_off() => {
                let state = progress.snapshot();
                let next = chain.next_event(event, &state, None);
                let invoked = tokio::time::timeout_at(budget.last_call_until(), hand_off.invoke(function_arn, next));
                match invoked.await {
                    Ok(Ok(())) => {
                        info!(hand_offs = chain.hand_offs + 1, waiting_for = ?state.waiting_for, "handed on to a new invocation");
                        return None;
                    }
                    Ok(Err(e)) => Ending::HandOffFailed(e.to_string()),
                    Err(_) => Ending::HandOffFailed("Lambda Invoke did not answer in time".to_owned()),
                }
            }
            (ended, _) => Ending::Lifecycle(ended, ran_out),
        };
        let request = Request {
            work: &work,
            request_id: &envelope.request_id,
            physical_id: envelope.physical_resource_id.as_deref(),
            names: &Names::Ours,
        };
        let conclusion = self
            .engine
            .conclude(request, ending, &progress.snapshot(), budget.last_call_until())
            .await;
        Some(match conclusion {
            Conclusion::Success(done) => Answer::success(envelope, done.physical_resource_id, done.data),
            Conclusion::Failure {
                physical_resource_id,
                reason,
            } => Answer::failed(envelope, physical_resource_id, reason.to_string()),
        })
    }
}

/// The answer's body, logged; `None` when no body CloudFormation takes can
/// be made of it.
fn body(answer: &Answer) -> Option<Vec<u8>> {
    match answer.status {
        Status::Success => info!(physical_resource_id = %answer.physical_resource_id, "SUCCESS"),
        Status::Failed => warn!(
            physical_resource_id = %answer.physical_resource_id,
            reason = answer.reason.as_deref().unwrap_or_default(),
            "FAILED"
        ),
    }
    answer
        .body()
        .inspect_err(|e| error!(error = %e, "this event cannot be answered"))
        .ok()
}

#[cfg(test)]
mod tests;
