//! What a finished request answers, decided once for both modes: how it
//! ended and what it made become SUCCESS, or FAILED with the id to answer,
//! the Reason, and the deletion of a version no answer would name. The
//! direct mode and the provider mode only put the conclusion on their wire.
//!
//! | how it ended | id of a FAILED answer | what is deleted |
//! |---|---|---|
//! | done | (SUCCESS: the version's ARN) | nothing |
//! | a Create failed after it made a version | that version's ARN | nothing: the rollback Delete removes it |
//! | an Update failed after it made a version | the old id | the new version, unless `CREATED` from the template |
//! | any other failure | the request's id, else a placeholder | nothing |
//!
//! "Made a version" includes a `CreateImageVersion` cut short before its
//! answer was read: the same token and parameters give that version back.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tracing::{Instrument, info, warn};

use crate::cloudformation::kept_id;
use crate::lifecycle::{
    Discarded, Done, Ended, Engine, Lifecycle, Pacing, Progress, ProgressState, Work, client_token, new_version,
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

/// Who writes the id of a FAILED answer.
#[derive(Debug, Clone)]
pub(crate) enum Names {
    /// This function, by the table above.
    Ours,
    /// CDK's framework, with this id (what `onEvent` answered), or with its
    /// marker for a Create `onEvent` failed: no version.
    Framework(Option<String>),
}

/// A request to conclude.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request<'a> {
    pub(crate) work: &'a Work,
    pub(crate) request_id: &'a str,
    /// The id the request acts on (an Update's, a Delete's).
    pub(crate) physical_id: Option<&'a str>,
    pub(crate) names: &'a Names,
}

#[derive(Debug)]
pub(crate) enum Conclusion {
    Success(Done),
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
        let cause = match ending {
            Ending::Lifecycle(Ended::Done(done), _) => return Conclusion::Success(done),
            Ending::Lifecycle(Ended::Failed(e), _) => Cause::Failed(e.to_string()),
            Ending::Lifecycle(Ended::Panicked(detail), _) => Cause::Panicked(detail),
            Ending::Lifecycle(Ended::Pending | Ended::OutOfTime, ran_out) => Cause::TimedOut(ran_out),
            Ending::HandOffFailed(e) => Cause::HandOffFailed(e),
        };
        let kept = kept_id(request.request_id, request.physical_id);
        let made = self.made_version(request.work, progress, until).await;
        let named = match (request.names, request.work) {
            (Names::Ours, Work::Create { .. }) => made.clone().or(Some(kept.clone())),
            (Names::Ours, _) => Some(kept.clone()),
            (Names::Framework(id), _) => id.clone(),
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
