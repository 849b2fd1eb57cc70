//! One invocation, start to finish: take the event apart, run its lifecycle
//! under the deadline and a panic guard, and answer exactly once, or hand the
//! request on.

use std::sync::Arc;
use std::time::SystemTime;

use aws_config::SdkConfig;
use lambda_runtime::LambdaEvent;
use serde_json::value::RawValue;
use tracing::{Instrument, error, info};

use crate::cloudformation::event::{self, Received};
use crate::cloudformation::{Answer, Envelope, ResponseSender, kept_id};
use crate::conclusion::{Conclusion, Ending, RanOut, Request, Step};
use crate::config::{Config, ConfigError};
use crate::deadline::Budget;
use crate::handoff::{Chain, HandOff, Onward, deliver};
use crate::lifecycle::{Engine, Pacing, Work};
use crate::sagemaker::Regions;
use crate::sagemaker::sdk::SdkRegions;
use crate::tls::TrustRoots;

pub(crate) struct Handler<R> {
    engine: Arc<Engine<R>>,
    sender: ResponseSender,
    hand_off: Option<HandOff>,
    /// A configuration the function cannot run with: every request is
    /// answered FAILED with it.
    refusal: Option<ConfigError>,
}

impl Handler<SdkRegions> {
    /// The handler as Lambda runs it: SageMaker and Lambda through the SDK,
    /// answers as the configuration allows.
    pub(crate) fn with(
        config: &Config,
        roots: &TrustRoots,
        aws: &SdkConfig,
        refusal: Option<ConfigError>,
    ) -> Arc<Self> {
        let runtime_api = std::env::var("AWS_LAMBDA_RUNTIME_API").ok();
        Handler::new(
            SdkRegions::new(aws.clone()),
            ResponseSender::new(roots, config.allow_loopback_response_url, runtime_api),
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
            engine: Engine::new(regions, Pacing::default()),
            sender,
            hand_off,
            refusal,
        })
    }

    /// Answers the event (or hands it on) and returns `Ok` whatever
    /// happened: an `Err` would only make Lambda run the request again.
    pub(crate) async fn handle(
        self: Arc<Self>,
        invocation: LambdaEvent<Box<RawValue>>,
    ) -> Result<(), lambda_runtime::Error> {
        let (received, span) = Received::of(invocation);
        self.answer(received).instrument(span).await;
        Ok(())
    }

    async fn answer(&self, received: Received) {
        let (envelope, budget, function_arn) = (&received.envelope, received.budget, &received.function_arn);
        info!(budget_seconds = budget.total.as_secs(), "request received");
        let url = match self.sender.check(envelope.response_url.as_deref()) {
            Ok(url) => url,
            Err(e) => return error!(error = %e, "this event cannot be answered: no usable ResponseURL"),
        };
        // A configuration the function cannot run with fails every request.
        let parsed = match &self.refusal {
            Some(refusal) => Err(refusal.to_string()),
            None => (received.event)
                .and_then(|payload| Ok((event::parse(&payload, envelope, None)?, payload)))
                .map_err(|e| e.to_string()),
        };
        let (work, event) = match parsed {
            Ok(parsed) => parsed,
            Err(reason) => {
                let id = kept_id(&envelope.request_id, envelope.physical_resource_id.as_deref());
                if let Some(body) = Answer::failed(envelope, id, reason).logged_body() {
                    deliver(&self.sender, &url, body, budget, None).await;
                }
                return;
            }
        };
        let chain = Chain::of(&event, SystemTime::now());
        let onward = self.hand_off.as_ref().map(|hand_off| Onward {
            hand_off,
            chain: &chain,
            event: &event,
            function_arn,
        });
        let body = match &chain.answer {
            Some(body) => {
                info!(
                    hand_offs = chain.hand_offs,
                    "sending the answer an earlier invocation could not deliver"
                );
                body.clone().into_bytes()
            }
            None => {
                let answer = self.run(work, &chain, envelope, budget, onward.as_ref()).await;
                let Some(body) = answer.and_then(|answer| answer.logged_body()) else {
                    return;
                };
                body
            }
        };
        deliver(&self.sender, &url, body, budget, onward).await;
    }

    /// The answer, or `None` when the request went on in a new invocation.
    async fn run(
        &self,
        work: Work,
        chain: &Chain,
        envelope: &Envelope,
        budget: Budget,
        onward: Option<&Onward<'_>>,
    ) -> Option<Answer> {
        let (until, ran_out) = chain.work_until(&budget);
        let progress = chain.progress();
        let ended = self.engine.run(work.clone(), &progress, until).await;
        // Only the function's time is handed on: ServiceTimeout ends the chain.
        let hand_on = onward.filter(|_| chain.can_hand_off() && matches!(ran_out, RanOut::Function(_)));
        let may_hand_on = hand_on.is_some();
        let mut request = Request {
            work: &work,
            request_id: &envelope.request_id,
            physical_id: envelope.physical_resource_id.as_deref(),
            step: Step::Direct { may_hand_on },
        };
        let (state, last_call) = (progress.snapshot(), budget.last_call_until());
        let ending = Ending::Lifecycle(ended, ran_out);
        let conclusion = match (self.engine.conclude(request, ending, &state, last_call).await, hand_on) {
            (Conclusion::NotYet { .. }, Some(onward)) => {
                let error = onward.hand_on(&state, last_call).await.err()?;
                request.step = Step::Direct { may_hand_on: false };
                let ending = Ending::HandOffFailed(error);
                self.engine.conclude(request, ending, &state, last_call).await
            }
            (conclusion, _) => conclusion,
        };
        conclusion.answer(envelope)
    }
}

#[cfg(test)]
mod tests;
