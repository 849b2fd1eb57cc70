//! How a request leaves an invocation: not done, to the next link of the
//! chain; done, by its answer's PUT, or, when the PUT keeps failing, by the
//! next link, which sends the same body again.

use std::time::SystemTime;

use serde_json::Value;
use tokio::time::Instant;
use tracing::{error, info, warn};

use super::{Chain, HandOff, RESEND_FOR};
use crate::cloudformation::{ResponseSender, ResponseUrl, SendError};
use crate::deadline::Budget;
use crate::lifecycle::ProgressState;

/// Where an undelivered answer may go on: this chain's next link, invoked
/// as this one was.
pub(crate) struct Onward<'a> {
    pub(crate) hand_off: &'a HandOff,
    pub(crate) chain: &'a Chain,
    pub(crate) event: &'a Value,
    pub(crate) function_arn: &'a str,
}

impl Onward<'_> {
    /// Hands the request, not done, `progress` as far as it got, on to the
    /// next link; the Invoke stops at `until`. The error is the Reason's.
    pub(crate) async fn hand_on(&self, progress: &ProgressState, until: Instant) -> Result<(), String> {
        let next = self.chain.next_event(self.event, progress, None);
        match tokio::time::timeout_at(until, self.hand_off.invoke(self.function_arn, next)).await {
            Ok(Ok(())) => {
                let (hand_offs, waiting_for) = (self.chain.hand_offs + 1, &progress.waiting_for);
                info!(hand_offs, ?waiting_for, "handed on to a new invocation");
                Ok(())
            }
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("Lambda Invoke did not answer in time".to_owned()),
        }
    }
}

/// Sends `body` to `url`; an answer whose PUT keeps failing (5xx, no
/// connection) goes `onward` while the chain allows: left here, it is lost.
pub(crate) async fn deliver(
    sender: &ResponseSender,
    url: &ResponseUrl,
    body: Vec<u8>,
    budget: Budget,
    onward: Option<Onward<'_>>,
) {
    // A link that sends an earlier link's answer tries no longer than that
    // link could, whether or not the answer may go on once more.
    let resending = onward.as_ref().is_some_and(|o| o.chain.answer.is_some());
    let onward = onward.filter(|o| o.chain.can_hand_on_answer() && !o.chain.time_left(SystemTime::now()).is_zero());
    let mut until = match onward {
        Some(_) => budget.hand_on_until(),
        None => budget.answer_until,
    };
    if resending {
        until = until.min(Instant::now() + RESEND_FOR);
    }
    let error = match sender.send(url, body.clone(), until).await {
        Ok(status) => return info!(status, url = %url.redacted(), "answer delivered"),
        Err(e) => e,
    };
    let Some(Onward {
        hand_off,
        chain,
        event,
        function_arn,
    }) = onward.filter(|_| matches!(error, SendError::GaveUp { .. }))
    else {
        return error!(error = %error, "answer not delivered");
    };
    let next = chain.next_event(event, &ProgressState::default(), Some(&body));
    match tokio::time::timeout_at(budget.answer_until, hand_off.invoke(function_arn, next)).await {
        Ok(Ok(())) => warn!(error = %error, "answer not delivered: handed on to a new invocation"),
        Ok(Err(e)) => error!(error = %error, hand_off = %e, "answer not delivered, nor handed on"),
        Err(_) => error!(error = %error, "answer not delivered, nor handed on in time"),
    }
}
