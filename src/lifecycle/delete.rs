//! Delete: the version named by the physical id, until it is gone; and the
//! removal of a replacement that failed.

use tracing::{info, warn};

use super::{Done, Halt, Lifecycle, LifecycleError, Waiting};
use crate::sagemaker::{ErrorKind, ImageVersionArn, ImageVersions, Regions, VersionStatus};

impl<R: Regions> Lifecycle<'_, R> {
    /// Delete: the version in `physical_id`, answered once it is gone.
    pub(crate) async fn delete(&self, physical_id: &str, image_name: Option<&str>) -> Result<Done, Halt> {
        let done = Done::with_id(physical_id);
        let Some(arn) = ImageVersionArn::parse(physical_id) else {
            info!(
                physical_id,
                "not an image version ARN: nothing was created, nothing to delete"
            );
            return Ok(done);
        };
        let image = arn.image_name_for(image_name);
        let api = self.regions.api(&arn.region).await;
        let arn_text = arn.to_string();
        self.progress.update(|p| p.version_arn = Some(arn_text.clone()));
        let state = self.progress.snapshot();
        // An earlier invocation sent the delete, unless it was refused as
        // busy: see where it is before sending another.
        let mut deleting = false;
        if state.resumed && state.busy.is_none() {
            match self
                .retry("DescribeImageVersion", || api.describe(image, arn.version))
                .await
            {
                Err(e) if e.kind == ErrorKind::NotFound => {
                    info!("the version or its image is already gone");
                    return Ok(done);
                }
                Ok(state) => deleting = state.status == VersionStatus::Deleting,
                Err(e) => return Err(e.into()),
            }
        }
        let mut attempt = 0;
        while !deleting {
            self.calling("DeleteImageVersion");
            match api.delete(image, arn.version).await {
                Ok(()) => {
                    self.no_longer_busy("DeleteImageVersion");
                    break;
                }
                Err(e) if e.kind == ErrorKind::NotFound => {
                    info!("the version or its image is already gone");
                    return Ok(done);
                }
                Err(e) if e.kind == ErrorKind::InUse => match self
                    .retry("DescribeImageVersion", || api.describe(image, arn.version))
                    .await
                {
                    Ok(state) if state.status == VersionStatus::Deleting => deleting = true,
                    Ok(_) => self.note_and_back_off(&e, &mut attempt).await?,
                    Err(e) if e.kind == ErrorKind::NotFound => return Ok(done),
                    Err(e) => return Err(e.into()),
                },
                Err(e) if e.is_retryable() => self.note_and_back_off(&e, &mut attempt).await?,
                Err(e) => return Err(e.into()),
            }
        }
        self.progress.update(|p| p.waiting_for = Some(Waiting::Deleted));
        let (api, arn_text) = (&api, &arn_text);
        let gone = move || async move {
            match api.describe(image, arn.version).await {
                Err(e) if e.kind == ErrorKind::NotFound => Some(Ok(())),
                Ok(state) if state.status == VersionStatus::DeleteFailed => {
                    Some(Err(Halt::Failed(LifecycleError::DeleteFailed {
                        arn: arn_text.clone(),
                        reason: state
                            .failure_reason
                            .unwrap_or_else(|| "no FailureReason given".to_owned()),
                    })))
                }
                Ok(_) => None,
                Err(e) if e.is_retryable() => {
                    self.progress.update(|p| p.last_error = Some(e.to_string()));
                    None
                }
                Err(e) => Some(Err(e.into())),
            }
        };
        // Just read as DELETING: the next read is a poll interval away.
        if deleting {
            self.poll_after_a_pause(gone).await?;
        } else {
            self.poll(gone).await?;
        }
        info!("version deleted");
        Ok(done)
    }

    /// Deletes a version no answer names (a failed Update's new version: the
    /// FAILED answer keeps the old id, so CloudFormation never deletes it), as
    /// far as SageMaker lets us; but not one `CREATED` from `base_image`,
    /// which another delivery of the same request may answer with.
    pub(crate) async fn discard(&self, arn: &ImageVersionArn, image: &str, base_image: Option<&str>) -> Discarded {
        let api = self.regions.api(&arn.region).await;
        // Throttling, 5xx and a busy image are retried, until the caller's
        // bound: a version left here is left for good.
        match self
            .retry("DescribeImageVersion", || api.describe(image, arn.version))
            .await
        {
            Ok(state) if state.status == VersionStatus::Created && Some(state.base_image.as_str()) == base_image => {
                info!(version_arn = %arn, "a version another delivery may answer with is left in place");
                return Discarded::Answerable;
            }
            Err(e) if e.kind == ErrorKind::NotFound => return Discarded::Deleting,
            _ => {}
        }
        match self
            .retry("DeleteImageVersion", || api.delete(image, arn.version))
            .await
        {
            Ok(()) => {
                info!(version_arn = %arn, "version nobody answers for deleted");
                Discarded::Deleting
            }
            Err(e) if e.kind == ErrorKind::NotFound => Discarded::Deleting,
            Err(e) => {
                warn!(version_arn = %arn, error = %e, "version nobody answers for left in place");
                Discarded::Refused
            }
        }
    }
}

/// What became of a version no answer names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Discarded {
    Deleting,
    /// `CREATED` from the template: another delivery may answer with it.
    Answerable,
    /// SageMaker refused, or kept it busy (still `CREATING`) until the
    /// answer was due.
    Refused,
}
