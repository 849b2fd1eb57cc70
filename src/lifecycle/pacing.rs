//! How often to ask SageMaker and how long to back off, and what a request
//! has learnt so far: the waiting half of the lifecycle.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use tracing::warn;

use super::{Halt, Lifecycle};
use crate::sagemaker::{ApiError, ErrorKind, Regions};

/// How often to ask SageMaker, and how long to back off.
#[derive(Debug, Clone)]
pub(crate) struct Pacing {
    /// Between polls of `DescribeImageVersion` (the first is at once, so
    /// that a redelivered event or a quick SageMaker is answered at once):
    /// answers within about this long of the change, at one call a second.
    poll_every: Duration,
    /// Backoff of retried calls: half to all of `retry_base * 2^attempt`,
    /// up to `retry_cap`.
    retry_base: Duration,
    retry_cap: Duration,
    /// `ResourceInUse` on a write means another version of the image is
    /// being built: the longer this request has waited, the longer the queue
    /// ahead of it tends to be, so its ceiling grows to half the time waited,
    /// up to this. N waiters that each retried every few seconds would cost
    /// SageMaker about N/2 calls a build.
    busy_cap: Duration,
    /// Whether to wait at all. Without waits the lifecycle takes one step:
    /// a poll not yet done, or a call to retry, ends it as pending, and the
    /// next step (CDK's next `isComplete`) starts again, idempotently.
    waits: bool,
}

impl Default for Pacing {
    fn default() -> Self {
        Pacing {
            poll_every: Duration::from_secs(1),
            retry_base: Duration::from_millis(250),
            retry_cap: Duration::from_secs(3),
            busy_cap: Duration::from_secs(30),
            waits: true,
        }
    }
}

impl Pacing {
    /// One step, no waiting: what each call of CDK's Provider framework does.
    pub(crate) fn one_step() -> Self {
        Pacing {
            waits: false,
            ..Pacing::default()
        }
    }

    /// A jittered wait before try `attempt + 1`; `busy_for`: how long the
    /// image has been busy for this request, when that is the error.
    fn backoff(&self, attempt: u32, busy_for: Option<Duration>) -> Duration {
        let ramp = self.retry_base.saturating_mul(1 << attempt.min(16)).min(self.retry_cap);
        let ceiling = busy_for.map_or(ramp, |waited| ramp.max(waited / 2).min(self.busy_cap));
        ceiling.mul_f64(0.5 + fastrand::f64() / 2.0)
    }
}

/// What the lifecycle has learnt so far, kept outside it so that an answer
/// sent at the deadline can still name the version and the last error.
#[derive(Debug, Clone, Default)]
pub(crate) struct Progress(Arc<Mutex<ProgressState>>);

#[derive(Debug, Clone, Default)]
pub(crate) struct ProgressState {
    /// An earlier invocation ran this request (a link before this one, or
    /// `onEvent` before this `isComplete`): its writes may have gone through.
    pub(crate) resumed: bool,
    pub(crate) version_arn: Option<String>,
    /// A `CreateImageVersion` went out, in this invocation or an earlier
    /// one: a version may exist even if no answer named it yet.
    pub(crate) create_sent: bool,
    pub(crate) waiting_for: Option<Waiting>,
    pub(crate) last_error: Option<String>,
    pub(crate) busy: Option<Busy>,
}

/// A write refused with `ResourceInUse`, and when to try it again: carried
/// from link to link, so that a new invocation goes on with the backoff
/// instead of calling at once and starting again from its base.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Busy {
    pub(crate) operation: String,
    /// When this request first found the image busy.
    #[serde(with = "crate::deadline::epoch_ms", rename = "SinceMs")]
    pub(crate) since: SystemTime,
    #[serde(with = "crate::deadline::epoch_ms", rename = "NextTryMs")]
    pub(crate) next_try: SystemTime,
}

/// What a request is waiting for: a call, or SageMaker itself. Either can go
/// on in another invocation: every step is safe to run again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Waiting {
    Call(String),
    /// The next try of a call that was throttled, failed with a 5xx, or got
    /// no answer (the last error says which).
    Retry(String),
    Created,
    Deleted,
    /// `ResourceInUse`: another version of the image is being created or
    /// deleted, or this one is.
    Busy,
}

impl std::fmt::Display for Waiting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Waiting::Call(operation) => write!(f, "SageMaker {operation} to answer"),
            Waiting::Retry(operation) => write!(f, "the next try of SageMaker {operation}"),
            Waiting::Created => f.write_str("the version to be CREATED (polling DescribeImageVersion)"),
            Waiting::Deleted => f.write_str("the version to be deleted (polling DescribeImageVersion)"),
            Waiting::Busy => {
                f.write_str("the image to be free (ResourceInUse: another version is being built or deleted)")
            }
        }
    }
}

impl Progress {
    /// The progress of a request an earlier invocation handed on.
    pub(crate) fn resumed(version_arn: Option<String>, busy: Option<Busy>, create_sent: bool) -> Self {
        Progress(Arc::new(Mutex::new(ProgressState {
            resumed: true,
            version_arn,
            create_sent,
            waiting_for: busy.as_ref().map(|_| Waiting::Busy),
            busy,
            ..ProgressState::default()
        })))
    }

    pub(crate) fn snapshot(&self) -> ProgressState {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(super) fn update(&self, change: impl FnOnce(&mut ProgressState)) {
        change(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()));
    }
}

impl<R: Regions> Lifecycle<'_, R> {
    /// Calls `check` on the poll schedule until it has an answer.
    pub(super) async fn poll<T, F, Fut>(&self, mut check: F) -> Result<T, Halt>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<Result<T, Halt>>>,
    {
        if !self.pacing.waits {
            return check().await.unwrap_or(Err(Halt::Pending));
        }
        loop {
            if let Some(outcome) = check().await {
                return outcome;
            }
            tokio::time::sleep(self.pacing.poll_every).await;
        }
    }

    /// [`Self::poll`] when the state was just read: the first check comes a
    /// poll interval later, or one step at a time, in the next step.
    pub(super) async fn poll_after_a_pause<T, F, Fut>(&self, check: F) -> Result<T, Halt>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<Result<T, Halt>>>,
    {
        if !self.pacing.waits {
            return Err(Halt::Pending);
        }
        tokio::time::sleep(self.pacing.poll_every).await;
        self.poll(check).await
    }

    /// Retries throttling, 5xx and `ResourceInUse` with jittered backoff.
    /// There is no attempt limit: the handler's deadline ends the request.
    /// Without waits, the retryable error is returned for the next step.
    pub(super) async fn retry<T, F, Fut>(&self, operation: &str, mut call: F) -> Result<T, ApiError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let mut attempt = 0;
        loop {
            self.calling(operation);
            match call().await {
                Err(e) if e.is_retryable() => self.note_and_back_off(&e, &mut attempt).await?,
                Ok(done) => {
                    self.no_longer_busy(operation);
                    return Ok(done);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// `operation` is in flight: named in the Reason if the deadline comes
    /// while it hangs.
    pub(super) fn calling(&self, operation: &str) {
        self.progress
            .update(|p| p.waiting_for = Some(Waiting::Call(operation.to_owned())));
    }

    /// `operation` went through: the image is no longer busy for it.
    pub(super) fn no_longer_busy(&self, operation: &str) {
        self.progress.update(|p| {
            if p.busy.as_ref().is_some_and(|b| b.operation == operation) {
                p.busy = None;
            }
        });
    }

    /// A request handed on while the image was busy waits for the try the
    /// last invocation had scheduled before it calls SageMaker again.
    pub(super) async fn wait_for_the_next_try(&self) {
        let next_try = self.progress.snapshot().busy.map(|b| b.next_try);
        if let Some(wait) = next_try.and_then(|at| at.duration_since(SystemTime::now()).ok())
            && self.pacing.waits
        {
            self.wait_before_retrying(wait).await;
        }
    }

    /// Sleeps `wait`, or for good when the retry would start too close to
    /// the deadline: the request is then handed on while it waits.
    async fn wait_before_retrying(&self, wait: Duration) {
        match self.retries_until {
            Some(until) if tokio::time::Instant::now() + wait > until => std::future::pending().await,
            _ => tokio::time::sleep(wait).await,
        }
    }

    /// Backs off before another try of a retryable call; without waits,
    /// hands the error back instead.
    pub(super) async fn note_and_back_off(&self, error: &ApiError, attempt: &mut u32) -> Result<(), ApiError> {
        let now = SystemTime::now();
        let busy_since =
            (error.kind == ErrorKind::InUse).then(|| self.progress.snapshot().busy.map_or(now, |b| b.since));
        let busy_for = busy_since.map(|since| now.duration_since(since).unwrap_or_default());
        let wait = self.pacing.backoff(*attempt, busy_for);
        self.progress.update(|p| {
            p.last_error = Some(error.to_string());
            p.waiting_for = Some(match busy_since {
                Some(_) => Waiting::Busy,
                None => Waiting::Retry(error.operation.to_owned()),
            });
            if let Some(since) = busy_since {
                p.busy = Some(Busy {
                    operation: error.operation.to_owned(),
                    since,
                    next_try: now + wait,
                });
            }
        });
        if !self.pacing.waits {
            return Err(error.clone());
        }
        warn!(error = %error, attempt = *attempt + 1, "retrying");
        self.wait_before_retrying(wait).await;
        *attempt += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn between(wait: Duration, low_secs: f64, high_secs: f64) -> bool {
        (low_secs..=high_secs).contains(&wait.as_secs_f64())
    }

    #[test]
    fn retries_back_off_from_the_base_up_to_the_cap() {
        let pacing = Pacing::default();
        assert!(between(pacing.backoff(0, None), 0.125, 0.25));
        assert!(between(pacing.backoff(10, None), 1.5, 3.0));
    }

    #[test]
    fn retries_are_jittered_so_that_waiters_spread_out() {
        let pacing = Pacing::default();
        let draws: std::collections::BTreeSet<Duration> = (0..50).map(|_| pacing.backoff(10, None)).collect();
        assert!(draws.len() > 1, "{draws:?}");
    }

    #[test]
    fn a_busy_image_is_retried_less_often_the_longer_it_has_been_busy() {
        let pacing = Pacing::default();
        let busy = |secs| pacing.backoff(10, Some(Duration::from_secs(secs)));
        assert!(between(busy(2), 1.5, 3.0), "a new wait ramps up like any retry");
        assert!(between(busy(40), 10.0, 20.0), "half the time waited");
        assert!(between(busy(600), 15.0, 30.0), "capped");
        assert!(between(pacing.backoff(0, Some(Duration::ZERO)), 0.125, 0.25));
    }
}
