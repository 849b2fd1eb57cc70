//! Create with `ExistingVersion`: take over a version that already exists,
//! as Terraform's import does. Until the version is the stack's, every
//! failure answers without its ARN and changes nothing, so that the rollback
//! Delete cannot remove a version the stack never owned.

use tracing::info;

use super::{Done, Halt, Lifecycle, LifecycleError, Wanted};
use crate::sagemaker::{ErrorKind, ImageVersions, Regions, VersionStatus};

impl<R: Regions> Lifecycle<'_, R> {
    pub(super) async fn adopt(&self, wanted: Wanted<'_>, version: i32) -> Result<Done, Halt> {
        let Wanted { props, region, .. } = wanted;
        let api = self.regions.api(region).await;
        let image = props.image_name();
        let refused = |why: String| {
            Halt::Failed(LifecycleError::NotAdopted {
                image: image.to_owned(),
                region: region.to_owned(),
                version,
                why,
            })
        };
        let state = match self
            .retry("DescribeImageVersion", || api.describe(image, version))
            .await
        {
            Ok(state) => state,
            Err(e) if e.kind == ErrorKind::NotFound => {
                return Err(refused(format!("it does not exist (or the image does not) ({e})")));
            }
            Err(e) => return Err(e.into()),
        };
        let state = match state.status {
            VersionStatus::Created => state,
            VersionStatus::Creating => {
                info!(version_arn = %state.arn, "the version to take over is CREATING: waiting for CREATED");
                // Pending (one step at a time) is no refusal: the next step waits on.
                self.wait_created(&api, image, version, &state.arn)
                    .await
                    .map_err(|halt| match halt {
                        Halt::Failed(e) => refused(format!("it did not become CREATED: {e}")),
                        Halt::Pending => Halt::Pending,
                    })?
            }
            other => {
                let reason = state.failure_reason.map(|r| format!(": {r}")).unwrap_or_default();
                return Err(refused(format!(
                    "it is {other}{reason}; only a CREATED version can be taken over"
                )));
            }
        };
        if state.base_image != props.base_image() {
            return Err(Halt::Failed(LifecycleError::BaseImageMismatch {
                image: image.to_owned(),
                version,
                actual: state.base_image,
                wanted: props.base_image().to_owned(),
            }));
        }
        self.converge(&api, props, &state).await?;
        info!(version_arn = %state.arn, "existing version taken over");
        Ok(Done::version(&state))
    }
}
