//! What a request answers, decided once for both modes: how it ended and
//! what it made become SUCCESS, not yet, or FAILED with the id to answer, the
//! Reason, and the deletion of a version no answer would name. The direct
//! mode and the provider mode only put the conclusion on their wire.
//!
//! | how it ended | answer | id of a FAILED answer | what is deleted |
//! |---|---|---|---|
//! | done | SUCCESS, the version's ARN | | nothing |
//! | not done, and the step may wait (a hand-off, `onEvent`, an `isComplete` not giving up) | not yet | | nothing |
//! | a Create's version failed, in `onEvent` | not yet: `isComplete` answers it with the ARN | | nothing |
//! | a Create failed after it made a version | FAILED | that version's ARN (direct mode) | nothing: the rollback Delete removes it |
//! | an Update failed after it made a version | FAILED | the old id | the new version, unless `CREATED` from the template |
//! | any other failure, or not done in time | FAILED | the request's id, else a placeholder | nothing |
//!
//! In provider mode the framework writes a FAILED answer's id: what
//! `onEvent` answered, or its marker for a Create `onEvent` failed; a
//! version that id does not name is deleted. "Made a version" includes a
//! `CreateImageVersion` cut short before its answer was read: the same token
//! and parameters give that version back.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tracing::{Instrument, info, warn};

use crate::cloudformation::{Answer, Envelope, kept_id};
use crate::lifecycle::{
    Discarded, Done, Ended, Engine, Lifecycle, LifecycleError, Pacing, Progress, ProgressState, Waiting, Work,
    client_token, new_version,
};
use crate::properties::ImageVersionProperties;
use crate::sagemaker::{ImageVersionArn, ImageVersions, Regions};

/// What ran out, when a request ends for time.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RanOut {
    /// The invocation's time, the function's `Timeout`.
    Function(Duration),
    /// The resource's `ServiceTimeout`, after this many hand-offs.
    ServiceTimeout { limit: Duration, hand_offs: u32 },
    /// The Provider framework's time for the request.
    Provider,
}

/// How a request ended, as its mode saw it.
#[derive(Debug)]
pub(crate) enum Ending {
    /// The lifecycle's end; one not done yet (pending, out of time) is over
    /// for time: what ran out says why.
    Lifecycle(Ended, RanOut),
    /// The hand-off to the next invocation failed.
    HandOffFailed(String),
}

/// The step that answers: it decides whether "not yet" is an answer and
/// who writes the id of a FAILED answer.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step<'a> {
    /// The direct mode, which writes the id by the table above; a request
    /// not done may go on when it `may_hand_on` to a new invocation.
    Direct { may_hand_on: bool },
    /// `onEvent`: a request not done goes on in `isComplete`.
    OnEvent,
    /// `isComplete`, whose failure the framework answers with the id
    /// `onEvent` `answered`; when `giving_up`, not done is FAILED.
    IsComplete { answered: Option<&'a str>, giving_up: bool },
}

/// A request to conclude.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request<'a> {
    pub(crate) work: &'a Work,
    pub(crate) request_id: &'a str,
    /// The id the request acts on (an Update's, a Delete's).
    pub(crate) physical_id: Option<&'a str>,
    pub(crate) step: Step<'a>,
}

#[derive(Debug)]
pub(crate) enum Conclusion {
    Success(Done),
    /// The request goes on in a later step: a hand-off, or `isComplete`.
    NotYet {
        /// The version a Create made, else the request's id.
        physical_resource_id: String,
        waiting_for: Option<Waiting>,
    },
    Failure {
        physical_resource_id: String,
        reason: Reason,
    },
}

/// A FAILED answer's Reason: what went wrong, where the request was, what
/// became of a version it made, and what to do.
#[derive(Debug, Clone)]
pub(crate) struct Reason {
    cause: Cause,
    state: ProgressState,
    note: Option<String>,
}

#[derive(Debug, Clone)]
enum Cause {
    Failed(String),
    Panicked(String),
    HandOffFailed(String),
    TimedOut(RanOut),
}

impl<R: Regions + 'static> Engine<R> {
    /// The answer to `request`, which ended so, with `progress` as far as it
    /// got; calls to SageMaker stop at `until`.
    pub(crate) async fn conclude(
        self: &Arc<Self>,
        request: Request<'_>,
        ending: Ending,
        progress: &ProgressState,
        until: Instant,
    ) -> Conclusion {
        let kept = kept_id(request.request_id, request.physical_id);
        let is_create = matches!(request.work, Work::Create { .. });
        let may_wait = match request.step {
            Step::Direct { may_hand_on } => may_hand_on,
            Step::OnEvent => true,
            Step::IsComplete { giving_up, .. } => !giving_up,
        };
        let cause = match ending {
            Ending::Lifecycle(Ended::Done(done), _) => return Conclusion::Success(done),
            Ending::Lifecycle(Ended::Pending | Ended::OutOfTime, _) if may_wait => {
                return not_yet(is_create, progress, kept);
            }
            Ending::Lifecycle(Ended::Failed(e @ LifecycleError::CreateFailed { .. }), _)
                if is_create && matches!(request.step, Step::OnEvent) =>
            {
                warn!(error = %e, "the version failed: isComplete answers it with its ARN");
                return not_yet(is_create, progress, kept);
            }
            Ending::Lifecycle(Ended::Failed(e), _) => Cause::Failed(e.to_string()),
            Ending::Lifecycle(Ended::Panicked(detail), _) => Cause::Panicked(detail),
            Ending::Lifecycle(Ended::Pending | Ended::OutOfTime, ran_out) => Cause::TimedOut(ran_out),
            Ending::HandOffFailed(e) => Cause::HandOffFailed(e),
        };
        let made = self.made_version(request.work, progress, until).await;
        let named = match request.step {
            Step::Direct { .. } if is_create => made.clone().or(Some(kept.clone())),
            Step::Direct { .. } => Some(kept.clone()),
            Step::OnEvent => request.physical_id.filter(|_| !is_create).map(str::to_owned),
            Step::IsComplete { answered, .. } => answered.map(str::to_owned),
        };
        let note = match made.filter(|made| Some(made) != named.as_ref()) {
            Some(made) => self.discard_replacement(&made, request.work.props(), until).await,
            None => None,
        };
        let reason = Reason {
            cause,
            state: progress.clone(),
            note,
        };
        warn!(reason = %reason, "FAILED");
        Conclusion::Failure {
            physical_resource_id: named.unwrap_or(kept),
            reason,
        }
    }

    /// The version `work` made: the one the progress names, or, when a
    /// `CreateImageVersion` went out and no answer was read (time ran out
    /// while it was in flight), the one the same token and parameters give
    /// back, asked before `until`. `None`: it made none.
    async fn made_version(self: &Arc<Self>, work: &Work, progress: &ProgressState, until: Instant) -> Option<String> {
        let kept = work.physical_id();
        if let Some(made) = progress.version_arn.as_deref().filter(|made| Some(*made) != kept) {
            return Some(made.to_owned());
        }
        let (Work::Create { request_id, props } | Work::Update { request_id, props, .. }) = work else {
            return None;
        };
        if !progress.create_sent {
            return None;
        }
        let props = props.clone();
        let token = client_token(request_id);
        let engine = self.clone();
        // In a task of its own, as the lifecycle runs: a panic here must not
        // keep the FAILED answer from going out.
        let asked = tokio::spawn(
            async move {
                let region = match props.region() {
                    Some(region) => region.to_owned(),
                    None => engine.regions.default_region().await.ok()?,
                };
                let api = engine.regions.api(&region).await;
                match api.create(&new_version(&props, &token)).await {
                    Ok(arn) => Some(arn),
                    Err(e) => {
                        warn!(error = %e, "a CreateImageVersion was cut short, and asking again under its token failed");
                        None
                    }
                }
            }
            .in_current_span(),
        );
        let arn = match tokio::time::timeout_at(until, asked).await {
            Ok(Ok(arn)) => arn?,
            Ok(Err(_)) | Err(_) => {
                warn!("a CreateImageVersion was cut short, and asking again under its token gave no answer");
                return None;
            }
        };
        info!(version_arn = %arn, "the version of a CreateImageVersion cut short, asked again under its token");
        Some(arn)
    }

    /// A version no answer names would be left behind, so it is deleted
    /// here, as far as SageMaker lets us before `until`, unless another
    /// delivery of the request may answer with it (it is `CREATED` from the
    /// template). The Reason's note on it.
    async fn discard_replacement(
        &self,
        made: &str,
        props: Option<&ImageVersionProperties>,
        until: Instant,
    ) -> Option<String> {
        let parsed = ImageVersionArn::parse(made)?;
        let image = parsed.image_name_for(props.map(ImageVersionProperties::image_name));
        let progress = Progress::default();
        let lifecycle = Lifecycle {
            regions: &self.regions,
            pacing: &Pacing::default(),
            progress: &progress,
            retries_until: None,
        };
        let discard = lifecycle.discard(&parsed, image, props.map(ImageVersionProperties::base_image));
        let discarded = tokio::time::timeout_at(until, discard)
            .await
            .unwrap_or(Discarded::Refused);
        Some(match discarded {
            Discarded::Deleting => format!("the new version {made} is being deleted"),
            Discarded::Answerable => format!(
                "the new version {made} is CREATED from the template and left in place: another delivery of \
                 this request may answer with it"
            ),
            Discarded::Refused => format!(
                "the new version {made} is not the resource's and could not be deleted before this answer was \
                 due: delete it once it leaves CREATING"
            ),
        })
    }
}

impl Conclusion {
    /// What the direct mode answers CloudFormation; `None` while the
    /// request is not done yet and goes on in a new invocation.
    pub(crate) fn answer(self, envelope: &Envelope) -> Option<Answer> {
        match self {
            Conclusion::Success(done) => Some(Answer::success(envelope, done.physical_resource_id, done.data)),
            Conclusion::Failure {
                physical_resource_id,
                reason,
            } => Some(Answer::failed(envelope, physical_resource_id, reason.to_string())),
            Conclusion::NotYet { .. } => None,
        }
    }
}

/// Not done yet, answered with the version a Create made, else `kept`.
fn not_yet(is_create: bool, progress: &ProgressState, kept: String) -> Conclusion {
    let made = progress.version_arn.clone().filter(|_| is_create);
    Conclusion::NotYet {
        physical_resource_id: made.unwrap_or(kept),
        waiting_for: progress.waiting_for.clone(),
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cause {
            Cause::Failed(message) => f.write_str(message)?,
            Cause::Panicked(detail) => write!(f, "internal error in the handler (panic: {detail})")?,
            Cause::HandOffFailed(error) => write!(
                f,
                "could not hand the request on to a new invocation of the function ({error}): grant the \
                 function lambda:InvokeFunction on itself, or set CFN_HAND_OFF=false and raise its Timeout"
            )?,
            Cause::TimedOut(ran_out) => {
                match ran_out {
                    RanOut::Function(total) => write!(
                        f,
                        "timed out: the Lambda function's time ({:.0}s) ran out",
                        total.as_secs_f64()
                    )?,
                    RanOut::ServiceTimeout { limit, hand_offs } => write!(
                        f,
                        "timed out: the resource's ServiceTimeout ({}s) ran out after {hand_offs} hand-offs to \
                         new invocations",
                        limit.as_secs()
                    )?,
                    RanOut::Provider => {
                        f.write_str("timed out: the Provider framework's time for this request ran out")?
                    }
                }
                if let Some(waiting) = &self.state.waiting_for {
                    write!(f, " waiting for {waiting}")?;
                }
                if let Some(arn) = &self.state.version_arn {
                    write!(f, " (image version {arn})")?;
                }
                if let Some(error) = &self.state.last_error {
                    write!(f, "; last error: {error}")?;
                }
            }
        }
        if let Some(note) = &self.note {
            write!(f, "; {note}")?;
        }
        if let Cause::TimedOut(ran_out) = &self.cause {
            f.write_str(match ran_out {
                RanOut::Function(_) => {
                    "; raise the function's Timeout (below the resource's ServiceTimeout) or retry the stack operation"
                }
                RanOut::ServiceTimeout { .. } => {
                    "; raise the resource's ServiceTimeout (at most 3600) or retry the stack operation"
                }
                RanOut::Provider => "; raise the provider's totalTimeout or retry the stack operation",
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
