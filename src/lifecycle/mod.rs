//! The lifecycle: what Create, Update and Delete do with a version, written
//! against the [`Regions`] seam so that it runs the same on the real SDK and
//! on a fake.

mod adopt;
mod delete;
mod outcome;
mod pacing;
mod run;

use tokio::time::Instant;
use tracing::{info, warn};

pub(crate) use delete::Discarded;
use outcome::image_error;
pub(crate) use outcome::{Done, Halt, LifecycleError};
pub(crate) use pacing::{Busy, Pacing, Progress, ProgressState, Waiting};
pub(crate) use run::{Ended, Engine, Work};

use crate::properties::{AliasDiff, ImageVersionProperties};
use crate::sagemaker::{
    ApiError, ErrorKind, ImageVersionArn, ImageVersions, NewVersion, NoRegion, Regions, VersionState, VersionStatus,
    VersionUpdate,
};

/// What a request wants: its properties, in the region they resolve to.
/// Its id is the `ClientToken` of any version it creates.
#[derive(Clone, Copy)]
struct Wanted<'a> {
    request_id: &'a str,
    props: &'a ImageVersionProperties,
    region: &'a str,
}

/// One request's work against SageMaker.
pub(crate) struct Lifecycle<'a, R> {
    pub(crate) regions: &'a R,
    pub(crate) pacing: &'a Pacing,
    pub(crate) progress: &'a Progress,
    /// A retry due after this waits for the deadline instead: a call cut
    /// short by it cannot be handed on, while a wait can. `None`: no
    /// deadline cuts this lifecycle.
    pub(crate) retries_until: Option<Instant>,
}

impl<R: Regions> Lifecycle<'_, R> {
    /// Create: a new version, answered once it is `CREATED`.
    pub(crate) async fn create(&self, request_id: &str, props: &ImageVersionProperties) -> Result<Done, Halt> {
        let region = self.region_of(props).await?;
        let wanted = Wanted {
            request_id,
            props,
            region: &region,
        };
        match props.existing_version() {
            Some(version) => self.adopt(wanted, version).await,
            None => self.create_version(wanted).await,
        }
    }

    /// Update: a new version when the version held is of another image or
    /// region, or of another `BaseImage`, else the version brought to the
    /// properties in place. The decision reads the version held, not
    /// `OldResourceProperties`: the rollback of a failed replacement sends the
    /// failed template as the old one, while the version held already matches.
    pub(crate) async fn update(
        &self,
        request_id: &str,
        physical_id: &str,
        props: &ImageVersionProperties,
        old: Option<&ImageVersionProperties>,
    ) -> Result<Done, Halt> {
        let held = ImageVersionArn::parse(physical_id);
        if let (Some(wanted), Some(held)) = (props.existing_version(), &held)
            && wanted != held.version
            && Some(wanted) != old.and_then(ImageVersionProperties::existing_version)
        {
            return Err(Halt::Failed(LifecycleError::ExistingVersionChanged {
                wanted,
                held: held.version,
            }));
        }
        let region = self.region_of(props).await?;
        let wanted = Wanted {
            request_id,
            props,
            region: &region,
        };
        let Some(arn) = held else {
            info!(physical_id, "the resource has no image version yet");
            return match props.existing_version() {
                Some(version) => self.adopt(wanted, version).await,
                None => self.replace(wanted).await,
            };
        };
        if !arn.image_name.eq_ignore_ascii_case(props.image_name()) || arn.region != region {
            info!(held = %arn, "replacement: the version held is of another image or region");
            return self.replace(wanted).await;
        }
        if let Some(old) = old {
            let removed = props.metadata.removed_since(&old.metadata);
            if !removed.is_empty() {
                warn!(
                    removed = ?removed,
                    "properties removed from the template keep their value in SageMaker: the API cannot clear them"
                );
            }
        }
        self.update_in_place(wanted, &arn).await
    }

    /// A new version for an Update. If it fails, the FAILED answer keeps the
    /// old id, and the answering side deletes the new one
    /// (`Engine::conclude`): nothing else would.
    async fn replace(&self, wanted: Wanted<'_>) -> Result<Done, Halt> {
        self.create_version(wanted).await
    }

    async fn region_of(&self, props: &ImageVersionProperties) -> Result<String, NoRegion> {
        match props.region() {
            Some(region) => Ok(region.to_owned()),
            None => self.regions.default_region().await,
        }
    }

    /// A new version. `CreateImageVersion` carries what the request alone
    /// decides (name, base image, metadata, the token), never the aliases:
    /// which of them another version holds changes once the first try went
    /// out, and a token re-sent with other parameters is refused. The aliases
    /// follow once the version is `CREATED`, as an in-place update does.
    async fn create_version(&self, wanted: Wanted<'_>) -> Result<Done, Halt> {
        let Wanted {
            request_id,
            props,
            region,
        } = wanted;
        let api = self.regions.api(region).await;
        let image = props.image_name();
        let client_token = client_token(request_id);
        let new = new_version(props, &client_token);
        self.progress.update(|p| p.create_sent = true);
        let arn = self
            .retry("CreateImageVersion", || api.create(&new))
            .await
            .map_err(|e| {
                // An answered error: nothing was made under the token.
                self.progress.update(|p| p.create_sent = false);
                image_error(e, image, region)
            })?;
        self.progress.update(|p| p.version_arn = Some(arn.clone()));
        let version = ImageVersionArn::parse(&arn)
            .ok_or_else(|| Halt::Failed(LifecycleError::UnexpectedArn { arn: arn.clone() }))?
            .version;
        info!(version_arn = %arn, "version requested, waiting for CREATED");
        let state = self.wait_created(&api, image, version, &arn).await?;
        self.converge(&api, props, &state).await?;
        info!(version_arn = %arn, "version created");
        Ok(Done::version(&state))
    }

    /// The version held, brought to the properties; a new version instead
    /// when it is of another `BaseImage`, gone or unusable.
    async fn update_in_place(&self, wanted: Wanted<'_>, arn: &ImageVersionArn) -> Result<Done, Halt> {
        let Wanted { props, region, .. } = wanted;
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
                return self.replace(wanted).await;
            }
            Err(e) => return Err(e.into()),
        };
        if state.base_image != props.base_image() {
            info!(version_arn = %arn_text, "replacement: the version held has another BaseImage");
            return self.replace(wanted).await;
        }
        let state = match state.status {
            VersionStatus::Created => state,
            VersionStatus::Creating => self.wait_created(&api, image, arn.version, &arn_text).await?,
            other => {
                warn!(version_arn = %arn_text, status = ?other, "the version is unusable: creating a new one");
                return self.replace(wanted).await;
            }
        };
        self.converge(&api, props, &state).await?;
        Ok(Done::version(&state))
    }

    /// Brings version `state` to the properties in place: the metadata that
    /// differs from its actual state, and its aliases diffed against
    /// `ListAliases` (so drift is repaired), moved from other versions. An
    /// alias change refused as out of date (the alias already moved, or
    /// already gone) is re-read and tried again: another delivery of the same
    /// request may have made it first.
    pub(super) async fn converge(
        &self,
        api: &R::Api,
        props: &ImageVersionProperties,
        state: &VersionState,
    ) -> Result<(), Halt> {
        let mut tries = 1;
        loop {
            match self.converge_once(api, props, state).await {
                Err(e) if tries < ALIAS_TRIES && e.is_out_of_date() => {
                    info!(error = %e, "an alias change was refused as out of date: reading the aliases again");
                    tries += 1;
                }
                done => return done.map_err(Halt::from),
            }
        }
    }

    async fn converge_once(
        &self,
        api: &R::Api,
        props: &ImageVersionProperties,
        state: &VersionState,
    ) -> Result<(), ApiError> {
        let (image, version, arn) = (props.image_name(), state.version, &state.arn);
        let current = self.retry("ListAliases", || api.aliases(image, Some(version))).await?;
        let aliases = AliasDiff::between(&props.aliases, &current);
        self.release_aliases(api, image, version, &aliases.to_add).await?;
        let update = VersionUpdate {
            aliases_to_add: aliases.to_add,
            aliases_to_delete: aliases.to_delete,
            metadata: props.metadata.changes_from(&state.metadata),
        };
        if update.is_empty() {
            info!(version_arn = %arn, "the version already matches the properties: nothing to update");
        } else {
            self.retry("UpdateImageVersion", || api.update(image, version, &update))
                .await?;
            info!(version_arn = %arn, "version updated in place");
        }
        Ok(())
    }

    /// Takes each of `aliases` away from any other version of the image that
    /// holds it, so that `version` can have it.
    async fn release_aliases(
        &self,
        api: &R::Api,
        image: &str,
        version: i32,
        aliases: &[String],
    ) -> Result<(), ApiError> {
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

    pub(super) async fn wait_created(
        &self,
        api: &R::Api,
        image: &str,
        version: i32,
        arn: &str,
    ) -> Result<VersionState, Halt> {
        self.progress.update(|p| p.waiting_for = Some(Waiting::Created));
        self.poll(move || async move {
            match api.describe(image, version).await {
                Ok(state) => match state.status {
                    VersionStatus::Created => Some(Ok(state)),
                    VersionStatus::CreateFailed => Some(Err(Halt::Failed(LifecycleError::CreateFailed {
                        arn: arn.to_owned(),
                        reason: state
                            .failure_reason
                            .unwrap_or_else(|| "no FailureReason given".to_owned()),
                    }))),
                    VersionStatus::Deleting | VersionStatus::DeleteFailed => {
                        Some(Err(Halt::Failed(LifecycleError::Disappeared {
                            arn: arn.to_owned(),
                            status: state.status.to_string(),
                        })))
                    }
                    VersionStatus::Creating | VersionStatus::Other(_) => None,
                },
                Err(e) if e.kind == ErrorKind::NotFound => Some(Err(Halt::Failed(LifecycleError::Disappeared {
                    arn: arn.to_owned(),
                    status: "gone".to_owned(),
                }))),
                Err(e) if e.is_retryable() => {
                    self.progress.update(|p| p.last_error = Some(e.to_string()));
                    None
                }
                Err(e) => Some(Err(e.into())),
            }
        })
        .await
    }
}

/// How many times [`Lifecycle::converge`] reads the aliases before an alias
/// change refused as out of date FAILS the request: more refusals than a
/// sibling delivery can cause mean another resource wants the same alias.
const ALIAS_TRIES: u32 = 3;

/// The input of `CreateImageVersion` for a request: from its properties and
/// token alone, so that every try under the token is the same request.
pub(crate) fn new_version<'a>(props: &'a ImageVersionProperties, client_token: &'a str) -> NewVersion<'a> {
    NewVersion {
        image_name: props.image_name(),
        base_image: props.base_image(),
        client_token,
        metadata: &props.metadata,
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
