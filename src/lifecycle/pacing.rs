//! How often to ask SageMaker and how long to back off, and what a request
//! has learnt so far: the waiting half of the lifecycle.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing::warn;

use super::{Lifecycle, LifecycleError};
use crate::sagemaker::{ApiError, ErrorKind, Regions};

/// How often to ask SageMaker, and how long to back off.
#[derive(Debug, Clone)]
pub(crate) struct Pacing {
    /// Before the first `DescribeImageVersion` after a create or delete.
    /// None: a redelivered event, or a quick SageMaker, is answered at once.
    pub(crate) first_poll: Duration,
    /// Between later polls: answers within about this long of the change,
    /// at about one call a second.
    pub(crate) poll_every: Duration,
    /// Backoff of retried calls: full jitter up to `retry_base * 2^attempt`,
    /// capped.
    pub(crate) retry_base: Duration,
    pub(crate) retry_cap: Duration,
    /// Whether to wait at all. Without waits the lifecycle takes one step:
    /// a poll not yet done, or a call to retry, ends it as pending, and the
    /// next step (CDK's next `isComplete`) starts again, idempotently.
    pub(crate) waits: bool,
}

impl Default for Pacing {
    fn default() -> Self {
        Pacing {
            first_poll: Duration::ZERO,
            poll_every: Duration::from_secs(1),
            retry_base: Duration::from_millis(250),
            retry_cap: Duration::from_secs(3),
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

    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self.retry_base.saturating_mul(1 << attempt.min(16)).min(self.retry_cap);
        ceiling.mul_f64(0.5 + fastrand::f64() / 2.0)
    }
}

/// What the lifecycle has learnt so far, kept outside it so that an answer
/// sent at the deadline can still name the version and the last error.
#[derive(Debug, Clone, Default)]
pub(crate) struct Progress(Arc<Mutex<ProgressState>>);

#[derive(Debug, Clone, Default)]
pub(crate) struct ProgressState {
    pub(crate) version_arn: Option<String>,
    pub(crate) waiting_for: Option<Waiting>,
    pub(crate) last_error: Option<String>,
}

/// What a request is waiting for: a call, or SageMaker itself. Only a wait
/// on SageMaker can go on in another invocation: a call in flight is cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Waiting {
    Call(String),
    Created,
    Deleted,
    /// `ResourceInUse`: another version of the image is being created or
    /// deleted, or this one is.
    Busy,
}

impl Waiting {
    /// Whether the wait can be handed to a new invocation.
    pub(crate) fn is_on_sagemaker(&self) -> bool {
        !matches!(self, Waiting::Call(_))
    }
}

impl std::fmt::Display for Waiting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Waiting::Call(operation) => write!(f, "SageMaker {operation} to answer"),
            Waiting::Created => f.write_str("the version to be CREATED (polling DescribeImageVersion)"),
            Waiting::Deleted => f.write_str("the version to be deleted (polling DescribeImageVersion)"),
            Waiting::Busy => {
                f.write_str("the image to be free (ResourceInUse: another version is being built or deleted)")
            }
        }
    }
}

impl Progress {
    pub(crate) fn snapshot(&self) -> ProgressState {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(super) fn update(&self, change: impl FnOnce(&mut ProgressState)) {
        change(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()));
    }
}

impl<R: Regions> Lifecycle<'_, R> {
    /// Calls `check` on the poll schedule until it has an answer.
    pub(super) async fn poll<T, F, Fut>(&self, mut check: F) -> Result<T, LifecycleError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<Result<T, LifecycleError>>>,
    {
        if !self.pacing.waits {
            let waiting_for = || {
                let waiting = self.progress.snapshot().waiting_for;
                waiting.map(|w| w.to_string()).unwrap_or_default()
            };
            return check()
                .await
                .unwrap_or_else(|| Err(LifecycleError::Pending(waiting_for())));
        }
        tokio::time::sleep(self.pacing.first_poll).await;
        loop {
            if let Some(outcome) = check().await {
                return outcome;
            }
            tokio::time::sleep(self.pacing.poll_every).await;
        }
    }

    /// Retries throttling, 5xx and `ResourceInUse` with jittered backoff.
    /// There is no attempt limit: the handler's deadline ends the request.
    /// Without waits, the retryable error is returned for the next step.
    pub(super) async fn retry<T, F, Fut>(&self, operation: &str, mut call: F) -> Result<T, ApiError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        // Named in the Reason if the deadline comes while the call hangs.
        self.progress
            .update(|p| p.waiting_for = Some(Waiting::Call(operation.to_owned())));
        let mut attempt = 0;
        loop {
            match call().await {
                Err(e) if e.is_retryable() => self.note_and_back_off(&e, &mut attempt).await?,
                other => return other,
            }
        }
    }

    /// Backs off before another try of a retryable call; without waits,
    /// hands the error back instead.
    pub(super) async fn note_and_back_off(&self, error: &ApiError, attempt: &mut u32) -> Result<(), ApiError> {
        self.progress.update(|p| {
            p.last_error = Some(error.to_string());
            if error.kind == ErrorKind::InUse {
                p.waiting_for = Some(Waiting::Busy);
            }
        });
        if !self.pacing.waits {
            return Err(error.clone());
        }
        warn!(error = %error, attempt = *attempt + 1, "retrying");
        tokio::time::sleep(self.pacing.backoff(*attempt)).await;
        *attempt += 1;
        Ok(())
    }
}
