//! The lifecycle: what Create, Update and Delete do with a version, written
//! against the [`Regions`] seam so that it runs the same on the real SDK and
//! on a fake.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tracing::{info, warn};

use crate::properties::{AliasDiff, ImageVersionProperties, InvalidProperties};
use crate::sagemaker::{
    ApiError, ErrorKind, ImageVersionArn, ImageVersions, NewVersion, NoRegion, Regions, VersionState, VersionStatus,
    VersionUpdate,
};

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
}

impl Default for Pacing {
    fn default() -> Self {
        Pacing {
            first_poll: Duration::ZERO,
            poll_every: Duration::from_secs(1),
            retry_base: Duration::from_millis(250),
            retry_cap: Duration::from_secs(3),
        }
    }
}

impl Pacing {
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
    pub(crate) waiting_for: Option<String>,
    pub(crate) last_error: Option<String>,
}

impl Progress {
    pub(crate) fn snapshot(&self) -> ProgressState {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn update(&self, change: impl FnOnce(&mut ProgressState)) {
        change(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()));
    }
}

/// A finished request: the id to answer and the attributes for `Fn::GetAtt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Done {
    pub(crate) physical_resource_id: String,
    pub(crate) data: BTreeMap<String, String>,
}

impl Done {
    fn with_id(physical_resource_id: &str) -> Self {
        Done {
            physical_resource_id: physical_resource_id.to_owned(),
            data: BTreeMap::new(),
        }
    }

    fn version(state: &VersionState) -> Self {
        let data = [
            ("Arn", state.arn.clone()),
            ("ImageVersionArn", state.arn.clone()),
            ("ImageArn", state.image_arn.clone()),
            ("Version", state.version.to_string()),
            ("ContainerImage", state.container_image.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        Done {
            physical_resource_id: state.arn.clone(),
            data,
        }
    }
}

/// Why a request FAILED; the message is the answer's Reason.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LifecycleError {
    #[error(transparent)]
    Properties(#[from] InvalidProperties),
    #[error(transparent)]
    NoRegion(#[from] NoRegion),
    #[error(
        "SageMaker image {image} does not exist in {region}: create the AWS::SageMaker::Image first \
         (reference it or use DependsOn) ({source})"
    )]
    ImageNotFound {
        image: String,
        region: String,
        source: ApiError,
    },
    #[error("SageMaker could not create image version {arn}: {reason}")]
    CreateFailed {
        arn: String,
        image: String,
        region: String,
        reason: String,
    },
    #[error("SageMaker could not delete image version {arn}: {reason}")]
    DeleteFailed { arn: String, reason: String },
    #[error("image version {arn} is {status} while it was being created")]
    Disappeared { arn: String, status: String },
    #[error("SageMaker returned {arn:?}, which is not an image version ARN")]
    UnexpectedArn { arn: String },
    #[error(transparent)]
    Api(#[from] ApiError),
}

/// One request's work against SageMaker.
pub(crate) struct Lifecycle<'a, R> {
    pub(crate) regions: &'a R,
    pub(crate) pacing: &'a Pacing,
    pub(crate) progress: &'a Progress,
}

impl<R: Regions> Lifecycle<'_, R> {
    /// Create: a new version, answered once it is `CREATED`.
    pub(crate) async fn create(&self, request_id: &str, properties: &Value) -> Result<Done, LifecycleError> {
        let props = ImageVersionProperties::parse(properties)?;
        let region = self.region_of(&props).await?;
        self.create_version(request_id, &props, &region).await
    }

    /// Update: a new version when `ImageName`, `BaseImage` or `Region`
    /// changed, else the version brought to the properties in place.
    pub(crate) async fn update(
        &self,
        request_id: &str,
        physical_id: &str,
        properties: &Value,
        old_properties: &Value,
    ) -> Result<Done, LifecycleError> {
        let updated = self
            .update_or_replace(request_id, physical_id, properties, old_properties)
            .await;
        if let Err(LifecycleError::CreateFailed { arn, image, region, .. }) = &updated
            && arn != physical_id
        {
            self.discard(arn, image, region).await;
        }
        updated
    }

    async fn update_or_replace(
        &self,
        request_id: &str,
        physical_id: &str,
        properties: &Value,
        old_properties: &Value,
    ) -> Result<Done, LifecycleError> {
        let props = ImageVersionProperties::parse(properties)?;
        // Old properties were accepted once; if they no longer parse, the
        // physical id alone decides what changed.
        let old = ImageVersionProperties::parse(old_properties).ok();
        let region = self.region_of(&props).await?;
        let Some(arn) = ImageVersionArn::parse(physical_id) else {
            info!(physical_id, "the resource has no image version yet: creating one");
            return self.create_version(request_id, &props, &region).await;
        };
        let mut changed = match &old {
            Some(old) => props.replacement_reasons(old, &self.regions.default_region().await?),
            None => Vec::new(),
        };
        if !arn.image_name.eq_ignore_ascii_case(props.image_name()) && !changed.contains(&"ImageName") {
            changed.push("ImageName");
        }
        if arn.region != region && !changed.contains(&"Region") {
            changed.push("Region");
        }
        if !changed.is_empty() {
            info!(changed = ?changed, "replacement: creating a new version, the old one is left for CloudFormation's cleanup");
            return self.create_version(request_id, &props, &region).await;
        }
        if let Some(old) = &old {
            let removed = props.metadata.removed_since(&old.metadata);
            if !removed.is_empty() {
                warn!(
                    removed = ?removed,
                    "properties removed from the template keep their value in SageMaker: the API cannot clear them"
                );
            }
        }
        self.update_in_place(request_id, &props, &arn, &region).await
    }

    /// Delete: the version in `physical_id`, answered once it is gone.
    pub(crate) async fn delete(&self, physical_id: &str, properties: &Value) -> Result<Done, LifecycleError> {
        let done = Done::with_id(physical_id);
        let Some(arn) = ImageVersionArn::parse(physical_id) else {
            info!(
                physical_id,
                "not an image version ARN: nothing was created, nothing to delete"
            );
            return Ok(done);
        };
        let image = arn.image_name_for(properties.get("ImageName").and_then(Value::as_str));
        let api = self.regions.api(&arn.region).await;
        let arn_text = arn.to_string();
        self.progress.update(|p| p.version_arn = Some(arn_text.clone()));
        self.progress
            .update(|p| p.waiting_for = Some("SageMaker DeleteImageVersion to answer".to_owned()));
        let mut attempt = 0;
        loop {
            match api.delete(image, arn.version).await {
                Ok(()) => break,
                Err(e) if e.kind == ErrorKind::NotFound => {
                    info!("the version or its image is already gone");
                    return Ok(done);
                }
                Err(e) if e.kind == ErrorKind::InUse => match self
                    .retry("DescribeImageVersion", || api.describe(image, arn.version))
                    .await
                {
                    Ok(state) if state.status == VersionStatus::Deleting => break,
                    Ok(_) => self.note_and_back_off(&e, &mut attempt).await,
                    Err(e) if e.kind == ErrorKind::NotFound => return Ok(done),
                    Err(e) => return Err(e.into()),
                },
                Err(e) if e.is_retryable() => self.note_and_back_off(&e, &mut attempt).await,
                Err(e) => return Err(e.into()),
            }
        }
        self.progress
            .update(|p| p.waiting_for = Some("the version to be deleted (polling DescribeImageVersion)".to_owned()));
        let (api, arn_text) = (&api, &arn_text);
        self.poll(move || async move {
            match api.describe(image, arn.version).await {
                Err(e) if e.kind == ErrorKind::NotFound => Some(Ok(())),
                Ok(state) if state.status == VersionStatus::DeleteFailed => Some(Err(LifecycleError::DeleteFailed {
                    arn: arn_text.clone(),
                    reason: state
                        .failure_reason
                        .unwrap_or_else(|| "no FailureReason given".to_owned()),
                })),
                Ok(_) => None,
                Err(e) if e.is_retryable() => {
                    self.progress.update(|p| p.last_error = Some(e.to_string()));
                    None
                }
                Err(e) => Some(Err(e.into())),
            }
        })
        .await?;
        info!("version deleted");
        Ok(done)
    }

    /// A FAILED Update keeps the old id, so CloudFormation never deletes a
    /// version that the Update created and that failed: remove it here, as
    /// far as SageMaker lets us.
    async fn discard(&self, arn: &str, image: &str, region: &str) {
        let Some(version) = ImageVersionArn::parse(arn).map(|a| a.version) else {
            return;
        };
        match self.regions.api(region).await.delete(image, version).await {
            Ok(()) => info!(version_arn = arn, "failed replacement version deleted"),
            Err(e) => warn!(version_arn = arn, error = %e, "failed replacement version left in place"),
        }
    }

    async fn region_of(&self, props: &ImageVersionProperties) -> Result<String, NoRegion> {
        match props.region() {
            Some(region) => Ok(region.to_owned()),
            None => self.regions.default_region().await,
        }
    }

    async fn create_version(
        &self,
        request_id: &str,
        props: &ImageVersionProperties,
        region: &str,
    ) -> Result<Done, LifecycleError> {
        let api = self.regions.api(region).await;
        let image = props.image_name();
        // An alias names one version at a time: those held by another version
        // stay there until the new one is ready, then move to it.
        let held = if props.aliases.is_empty() {
            BTreeSet::new()
        } else {
            let in_use = self
                .retry("ListAliases", || api.aliases(image, None))
                .await
                .map_err(|e| image_error(e, image, region))?;
            props.aliases.intersection(&in_use).cloned().collect()
        };
        let client_token = client_token(request_id);
        let new = NewVersion {
            image_name: image,
            base_image: props.base_image(),
            client_token: &client_token,
            aliases: props.aliases.difference(&held).cloned().collect(),
            metadata: &props.metadata,
        };
        let arn = self
            .retry("CreateImageVersion", || api.create(&new))
            .await
            .map_err(|e| image_error(e, image, region))?;
        self.progress.update(|p| p.version_arn = Some(arn.clone()));
        let version = ImageVersionArn::parse(&arn)
            .ok_or_else(|| LifecycleError::UnexpectedArn { arn: arn.clone() })?
            .version;
        info!(version_arn = %arn, "version requested, waiting for CREATED");
        let state = self.wait_created(&api, image, region, version, &arn).await?;
        let held: Vec<String> = held.into_iter().collect();
        self.release_aliases(&api, image, version, &held).await?;
        if !held.is_empty() {
            let update = VersionUpdate {
                aliases_to_add: held,
                ..VersionUpdate::default()
            };
            self.retry("UpdateImageVersion", || api.update(image, version, &update))
                .await?;
        }
        info!(version_arn = %arn, "version created");
        Ok(Done::version(&state))
    }

    async fn update_in_place(
        &self,
        request_id: &str,
        props: &ImageVersionProperties,
        arn: &ImageVersionArn,
        region: &str,
    ) -> Result<Done, LifecycleError> {
        let api = self.regions.api(region).await;
        let image = props.image_name();
        let arn_text = arn.to_string();
        self.progress.update(|p| p.version_arn = Some(arn_text.clone()));
        let state = match self
            .retry("DescribeImageVersion", || api.describe(image, arn.version))
            .await
        {
            Ok(state) => state,
            Err(e) if e.kind == ErrorKind::NotFound => {
                warn!(version_arn = %arn_text, "the version no longer exists: creating it again");
                return self.create_version(request_id, props, region).await;
            }
            Err(e) => return Err(e.into()),
        };
        let state = match state.status {
            VersionStatus::Created => state,
            VersionStatus::Creating => self.wait_created(&api, image, region, arn.version, &arn_text).await?,
            other => {
                warn!(version_arn = %arn_text, status = ?other, "the version is unusable: creating a new one");
                return self.create_version(request_id, props, region).await;
            }
        };
        let current = self
            .retry("ListAliases", || api.aliases(image, Some(arn.version)))
            .await?;
        let aliases = AliasDiff::between(&props.aliases, &current);
        self.release_aliases(&api, image, arn.version, &aliases.to_add).await?;
        let update = VersionUpdate {
            aliases_to_add: aliases.to_add,
            aliases_to_delete: aliases.to_delete,
            metadata: props.metadata.changes_from(&state.metadata),
        };
        if update.is_empty() {
            info!(version_arn = %arn_text, "the version already matches the properties: nothing to update");
        } else {
            self.retry("UpdateImageVersion", || api.update(image, arn.version, &update))
                .await?;
            info!(version_arn = %arn_text, "version updated in place");
        }
        Ok(Done::version(&state))
    }

    /// Takes each of `aliases` away from any other version of the image that
    /// holds it, so that `version` can have it.
    async fn release_aliases(
        &self,
        api: &R::Api,
        image: &str,
        version: i32,
        aliases: &[String],
    ) -> Result<(), LifecycleError> {
        if aliases.is_empty() {
            return Ok(());
        }
        let in_use = self.retry("ListAliases", || api.aliases(image, None)).await?;
        for alias in aliases.iter().filter(|a| in_use.contains(*a)) {
            let Some(holder) = self
                .retry("DescribeImageVersion", || api.holder_of(image, alias))
                .await?
            else {
                continue;
            };
            if holder != version {
                info!(alias = %alias, from = holder, to = version, "moving alias");
                let update = VersionUpdate {
                    aliases_to_delete: vec![alias.clone()],
                    ..VersionUpdate::default()
                };
                self.retry("UpdateImageVersion", || api.update(image, holder, &update))
                    .await?;
            }
        }
        Ok(())
    }

    async fn wait_created(
        &self,
        api: &R::Api,
        image: &str,
        region: &str,
        version: i32,
        arn: &str,
    ) -> Result<VersionState, LifecycleError> {
        self.progress
            .update(|p| p.waiting_for = Some("the version to be CREATED (polling DescribeImageVersion)".to_owned()));
        self.poll(move || async move {
            match api.describe(image, version).await {
                Ok(state) => match state.status {
                    VersionStatus::Created => Some(Ok(state)),
                    VersionStatus::CreateFailed => Some(Err(LifecycleError::CreateFailed {
                        arn: arn.to_owned(),
                        image: image.to_owned(),
                        region: region.to_owned(),
                        reason: state
                            .failure_reason
                            .unwrap_or_else(|| "no FailureReason given".to_owned()),
                    })),
                    VersionStatus::Deleting | VersionStatus::DeleteFailed => Some(Err(LifecycleError::Disappeared {
                        arn: arn.to_owned(),
                        status: format!("{:?}", state.status),
                    })),
                    VersionStatus::Creating | VersionStatus::Other(_) => None,
                },
                Err(e) if e.kind == ErrorKind::NotFound => Some(Err(LifecycleError::Disappeared {
                    arn: arn.to_owned(),
                    status: "gone".to_owned(),
                })),
                Err(e) if e.is_retryable() => {
                    self.progress.update(|p| p.last_error = Some(e.to_string()));
                    None
                }
                Err(e) => Some(Err(e.into())),
            }
        })
        .await
    }

    /// Calls `check` on the poll schedule until it has an answer.
    async fn poll<T, F, Fut>(&self, mut check: F) -> Result<T, LifecycleError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<Result<T, LifecycleError>>>,
    {
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
    async fn retry<T, F, Fut>(&self, operation: &str, mut call: F) -> Result<T, ApiError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        // Named in the Reason if the deadline comes while the call hangs.
        self.progress
            .update(|p| p.waiting_for = Some(format!("SageMaker {operation} to answer")));
        let mut attempt = 0;
        loop {
            match call().await {
                Err(e) if e.is_retryable() => self.note_and_back_off(&e, &mut attempt).await,
                other => return other,
            }
        }
    }

    async fn note_and_back_off(&self, error: &ApiError, attempt: &mut u32) {
        warn!(error = %error, attempt = *attempt + 1, "retrying");
        self.progress.update(|p| p.last_error = Some(error.to_string()));
        tokio::time::sleep(self.pacing.backoff(*attempt)).await;
        *attempt += 1;
    }
}

fn image_error(error: ApiError, image: &str, region: &str) -> LifecycleError {
    if error.kind == ErrorKind::NotFound {
        LifecycleError::ImageNotFound {
            image: image.to_owned(),
            region: region.to_owned(),
            source: error,
        }
    } else {
        error.into()
    }
}

/// The request's id as SageMaker's idempotency token, so that the same event
/// delivered twice creates one version. A CloudFormation RequestId (a UUID)
/// fits as it is; anything else is hashed into the token's alphabet.
pub(crate) fn client_token(request_id: &str) -> String {
    let fits =
        (1..=36).contains(&request_id.len()) && request_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if fits {
        return request_id.to_owned();
    }
    let fnv = |seed: u64| {
        request_id.bytes().fold(seed, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        })
    };
    format!("{:016x}{:016x}", fnv(0xcbf2_9ce4_8422_2325), fnv(0x6c62_272e_07bb_0142))
}

#[cfg(test)]
mod tests;
