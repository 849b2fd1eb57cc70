//! What one invocation tells the next: in direct mode the continuation
//! record of a chain of invocations (here), in provider mode the handover
//! from `onEvent` to `isComplete` (`handover.rs`).
//!
//! Requests longer than one invocation. Near its deadline, a request still
//! waiting on SageMaker (for CREATED, for the version to be gone, for the
//! image to be free) goes on in a fresh asynchronous invocation of the same
//! function, carrying the event and a continuation record. The whole chain is
//! bounded by the resource's `ServiceTimeout`, measured from the first receipt.
//!
//! The next link runs the lifecycle again, from what the record carries (the
//! version, a busy image's next try) and from where SageMaker is: every step
//! is idempotent (`ClientToken` = `RequestId`), so it finds the version where
//! the last link left it and never creates a second one.

mod delivery;
mod handover;
mod invoke;

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::time::Instant;

pub(crate) use delivery::{Onward, deliver};
pub(crate) use handover::Handover;
pub(crate) use invoke::HandOff;

use crate::conclusion::RanOut;
use crate::deadline::Budget;
use crate::lifecycle::{Busy, Progress, ProgressState};

/// The event's top-level field that carries the record from link to link.
const RECORD: &str = "SageMakerImageVersionContinuation";

/// CloudFormation's wait when the resource sets no `ServiceTimeout`.
const DEFAULT_SERVICE_TIMEOUT: Duration = Duration::from_secs(3600);

/// A guard rail against a chain that never ends, whatever the timeouts say.
const MAX_HAND_OFFS: u32 = 100;

/// How many times an undelivered answer is handed on.
const MAX_ANSWER_HAND_OFFS: u32 = 2;

/// How long a link that sends an earlier link's answer tries: as long as
/// the most that link's reserve gave it, not the whole invocation.
const RESEND_FOR: Duration = Duration::from_secs(10);

/// What one link tells the next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Record {
    #[serde(with = "crate::deadline::epoch_ms", rename = "FirstReceivedMs")]
    first_received: SystemTime,
    hand_offs: u32,
    /// The version the request made or acts on, when one exists.
    version_arn: Option<String>,
    /// What the last link was waiting for: for whoever reads a payload (the
    /// next link takes what it needs from `busy` and the version).
    waiting_for: Option<String>,
    /// The write the image was busy for, so that the next link keeps its pace.
    #[serde(default)]
    busy: Option<Busy>,
    /// A `CreateImageVersion` went out: if the chain fails before an answer
    /// named the version, the last link asks for it again under the token.
    #[serde(default)]
    create_sent: bool,
    /// The answer's body, when its PUT failed: the next link sends it again
    /// instead of running the request again.
    #[serde(default)]
    answer: Option<String>,
    /// How many links have handed the answer on so far.
    #[serde(default)]
    answer_hand_offs: u32,
}

/// A request's life across invocations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Chain {
    first_received: SystemTime,
    pub(crate) hand_offs: u32,
    pub(crate) service_timeout: Duration,
    /// The version an earlier link made or acted on.
    version_arn: Option<String>,
    /// The image an earlier link found busy, and when to try again.
    busy: Option<Busy>,
    create_sent: bool,
    /// The answer an earlier link could not deliver.
    pub(crate) answer: Option<String>,
    answer_hand_offs: u32,
}

impl Chain {
    /// The chain `event` belongs to: the record of an earlier link, or a new
    /// one received `now`.
    pub(crate) fn of(event: &Value, now: SystemTime) -> Self {
        let record = event.get(RECORD).and_then(|r| Record::deserialize(r).ok());
        Chain {
            first_received: record.as_ref().map_or(now, |r| r.first_received),
            hand_offs: record.as_ref().map_or(0, |r| r.hand_offs),
            service_timeout: service_timeout(event),
            busy: record.as_ref().and_then(|r| r.busy.clone()),
            create_sent: record.as_ref().is_some_and(|r| r.create_sent),
            answer: record.as_ref().and_then(|r| r.answer.clone()),
            answer_hand_offs: record.as_ref().map_or(0, |r| r.answer_hand_offs),
            version_arn: record.and_then(|r| r.version_arn),
        }
    }

    /// How long the chain may still work, at `now`: until a safe margin
    /// before `ServiceTimeout` from the first receipt, so that the FAILED
    /// "timed out" answer reaches CloudFormation before it gives up.
    pub(crate) fn time_left(&self, now: SystemTime) -> Duration {
        let margin = (self.service_timeout / 10).clamp(Duration::from_secs(2), Duration::from_secs(60));
        let answer_by = self.first_received + self.service_timeout.saturating_sub(margin);
        answer_by.duration_since(now).unwrap_or_default()
    }

    /// What the earlier links learnt, for this one to go on from: the
    /// version (so that a timeout still names it) and the busy image.
    pub(crate) fn progress(&self) -> Progress {
        if self.hand_offs == 0 {
            return Progress::default();
        }
        let hand_offs = self.hand_offs;
        tracing::info!(hand_offs, "resuming a request handed on by an earlier invocation");
        Progress::resumed(self.version_arn.clone(), self.busy.clone(), self.create_sent)
    }

    /// When this link stops working, and what has run out then: the
    /// chain's `ServiceTimeout` when it comes before the function's time.
    pub(crate) fn work_until(&self, budget: &Budget) -> (Instant, RanOut) {
        let answer_by = Instant::now() + self.time_left(SystemTime::now());
        if answer_by <= budget.work_until {
            let ran_out = RanOut::ServiceTimeout {
                limit: self.service_timeout,
                hand_offs: self.hand_offs,
            };
            (answer_by, ran_out)
        } else {
            (budget.work_until, RanOut::Function(budget.total))
        }
    }

    pub(crate) fn can_hand_off(&self) -> bool {
        self.hand_offs < MAX_HAND_OFFS
    }

    /// Whether an answer whose PUT failed may go on to another link: as
    /// often as Lambda retries a failed asynchronous event, so that a
    /// response bucket that stays down costs a few invocations, not a chain.
    pub(crate) fn can_hand_on_answer(&self) -> bool {
        self.can_hand_off() && self.answer_hand_offs < MAX_ANSWER_HAND_OFFS
    }

    /// The event for the next link: `event` with the record of this one,
    /// and the answer for it to send when this one could not.
    pub(crate) fn next_event(&self, event: &Value, progress: &ProgressState, answer: Option<&[u8]>) -> Vec<u8> {
        let record = Record {
            first_received: self.first_received,
            hand_offs: self.hand_offs + 1,
            version_arn: progress.version_arn.clone(),
            waiting_for: progress.waiting_for.as_ref().map(ToString::to_string),
            busy: progress.busy.clone(),
            create_sent: progress.create_sent,
            answer: answer.map(|body| String::from_utf8_lossy(body).into_owned()),
            answer_hand_offs: self.answer_hand_offs + u32::from(answer.is_some()),
        };
        let mut next = event.clone();
        next[RECORD] = serde_json::to_value(record).expect("a plain struct");
        serde_json::to_vec(&next).expect("JSON from JSON")
    }
}

/// The resource's `ServiceTimeout`, else CloudFormation's default of an
/// hour (an invalid one FAILS a Create or Update with the other properties).
fn service_timeout(event: &Value) -> Duration {
    event
        .get("ResourceProperties")
        .and_then(crate::properties::service_timeout)
        .unwrap_or(DEFAULT_SERVICE_TIMEOUT)
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use serde_json::json;

    use super::*;

    fn event(service_timeout: Value) -> Value {
        json!({"RequestId": "r", "ResourceProperties": {"ServiceTimeout": service_timeout}})
    }

    #[test]
    fn service_timeout_bounds_the_chain_with_a_safe_margin() {
        let now = SystemTime::now();
        let chain = Chain::of(&event(json!("30")), now);
        assert_eq!(chain.service_timeout, Duration::from_secs(30));
        assert_eq!(chain.time_left(now), Duration::from_secs(27));
        let hour = Chain::of(&event(json!(3600)), now);
        assert_eq!(hour.time_left(now), Duration::from_secs(3540));
    }

    #[test]
    fn without_a_valid_service_timeout_the_chain_has_an_hour() {
        for value in [Value::Null, json!("soon"), json!(0), json!(7200)] {
            assert_eq!(
                Chain::of(&event(value), SystemTime::now()).service_timeout,
                DEFAULT_SERVICE_TIMEOUT
            );
        }
    }

    #[test]
    fn the_next_link_keeps_the_first_receipt_and_counts_the_hand_off() {
        let first = SystemTime::now() - Duration::from_secs(100);
        let chain = Chain::of(&event(json!("300")), first);
        let progress = ProgressState {
            version_arn: Some("arn:aws:sagemaker:us-east-1:1:image-version/i/3".into()),
            ..ProgressState::default()
        };
        let next: Value = serde_json::from_slice(&chain.next_event(&event(json!("300")), &progress, None)).unwrap();
        let resumed = Chain::of(&next, SystemTime::now());
        assert_eq!(resumed.hand_offs, 1);
        assert_eq!(resumed.progress().snapshot().version_arn, progress.version_arn);
        let left = resumed.time_left(SystemTime::now());
        assert!(
            left <= Duration::from_secs(170) && left > Duration::from_secs(168),
            "{left:?}"
        );
        assert_eq!(next["RequestId"], "r", "the event itself travels on");
    }

    #[test]
    fn the_next_link_keeps_the_busy_image_and_when_to_try_again() {
        let busy = Busy {
            operation: "CreateImageVersion".to_owned(),
            since: UNIX_EPOCH + Duration::from_millis(1_790_000_000_000),
            next_try: UNIX_EPOCH + Duration::from_millis(1_790_000_042_500),
        };
        let progress = ProgressState {
            busy: Some(busy.clone()),
            ..ProgressState::default()
        };
        let chain = Chain::of(&event(json!("300")), SystemTime::now());
        let next: Value = serde_json::from_slice(&chain.next_event(&event(json!("300")), &progress, None)).unwrap();
        assert_eq!(
            Chain::of(&next, SystemTime::now()).progress().snapshot().busy,
            Some(busy)
        );
    }

    #[test]
    fn an_undelivered_answer_is_handed_on_at_most_twice() {
        let mut chain = Chain::of(&event(json!("300")), SystemTime::now());
        for _ in 0..MAX_ANSWER_HAND_OFFS {
            assert!(chain.can_hand_on_answer());
            let next: Value =
                serde_json::from_slice(&chain.next_event(&event(json!("300")), &ProgressState::default(), Some(b"{}")))
                    .unwrap();
            chain = Chain::of(&next, SystemTime::now());
            assert_eq!(chain.answer.as_deref(), Some("{}"));
        }
        assert!(!chain.can_hand_on_answer());
    }

    #[test]
    fn the_chain_stops_handing_off_at_the_guard_rail() {
        let mut chain = Chain::of(&event(Value::Null), SystemTime::now());
        chain.hand_offs = MAX_HAND_OFFS;
        assert!(!chain.can_hand_off());
    }
}
